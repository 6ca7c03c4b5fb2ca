//! Poppy's domain core.
//!
//! Everything here is pure: the service model, the validation rules of the
//! original Poppy API, the ports (traits) adapters implement, the use cases
//! ([`manager`]) and the provisioning [`flows`]. No database, HTTP or socket
//! crate is a dependency of this crate; the composition root (the `poppy`
//! facade) wires adapters into it.

#![forbid(unsafe_code)]

pub mod backends;
pub mod clock;
pub mod dns;
pub mod error;
pub mod flows;
pub mod manager;
pub mod model;
pub mod ports;
pub mod validate;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use backends::{Backends, Providers};
pub use error::{Error, ErrorKind, FieldError, Result};
