//! Driven adapters for Poppy's ports, each behind the Cargo feature of its name.

#![forbid(unsafe_code)]

pub mod dns;
pub mod jobs;
pub mod log_delivery;
pub mod metrics;
pub mod notify;
pub mod provider;
pub mod registry;
pub mod storage;

pub use registry::{Registry, RegistryError, Storage};
