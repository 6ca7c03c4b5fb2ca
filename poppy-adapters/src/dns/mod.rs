//! DNS adapters ([`poppy_core::ports::DnsManager`]), one module per driver,
//! each behind the Cargo feature of its name.

#[cfg(feature = "dns-default")]
pub mod default;
#[cfg(feature = "dns-rackspace")]
pub mod rackspace;
#[cfg(feature = "dns-route53")]
pub mod route53;
