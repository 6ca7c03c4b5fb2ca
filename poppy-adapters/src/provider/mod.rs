//! CDN provider adapters ([`poppy_core::ports::CdnProvider`]), one module per
//! vendor, each behind the Cargo feature of its name.

#[cfg(feature = "mock-provider")]
pub mod mock;
