//! Storage adapters: [`ServiceStore`](poppy_core::ports::ServiceStore) and
//! [`FlavorStore`](poppy_core::ports::FlavorStore) implementations.

#[cfg(feature = "sqlite")]
pub mod sqlite;
