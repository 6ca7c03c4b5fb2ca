//! CDN provider adapters ([`poppy_core::ports::CdnProvider`]), one module per
//! vendor, each behind the Cargo feature of its name.

#[cfg(feature = "akamai")]
pub mod akamai;
#[cfg(feature = "cloudfront")]
pub mod cloudfront;
#[cfg(feature = "fastly")]
pub mod fastly;
#[cfg(feature = "mock-provider")]
pub mod mock;
