//! Driven adapters for Poppy's ports, each behind the Cargo feature of its name.

#![forbid(unsafe_code)]

pub mod dns;
pub mod provider;
pub mod jobs;
pub mod storage;
pub mod registry;

pub use registry::{Registry, RegistryError, Storage};
