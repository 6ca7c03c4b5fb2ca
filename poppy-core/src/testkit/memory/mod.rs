//! In-memory adapters for every driven port.
//!
//! Each adapter is `Clone` (clones share state, so keep one handle for
//! inspection and hand another to the code under test, or wrap it in an
//! `Arc`), records what it was asked to do, and can be told to fail the
//! next calls of an operation with a chosen [`FailureKind`].
//! Leases and `not_before` use the wall clock ([`crate::clock`]), so tests
//! that exercise lapsing leases must not pause tokio's clock.

mod certificates;
mod dns;
mod faults;
mod jobs;
mod log_delivery;
mod notify;
mod provider;
mod store;

pub use certificates::{CertStoreOp, MemoryCertificateStore};
pub use dns::{
    DnsCall, DnsOp, MemoryDns, DEFAULT_NOT_FOUND_TARGET, DEFAULT_SHARD_SUFFIX, DEFAULT_ZONE,
};
pub use faults::FailureKind;
pub use jobs::{JobOp, MemoryJobBoard};
pub use log_delivery::{LogDeliveryCall, MemoryLogDelivery, DEFAULT_CONTAINER_NAME};
pub use notify::MemoryNotifier;
pub use provider::{
    MemoryProvider, ProviderCall, ProviderConfiguration, ProviderOp, DEFAULT_LINK_SUFFIX,
    DEFAULT_PROVIDER_NAME,
};
pub use store::{MemoryFlavorStore, MemoryServiceStore, StoreOp};
