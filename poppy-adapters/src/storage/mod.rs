//! Storage adapters: [`ServiceStore`](poppy_core::ports::ServiceStore) and
//! [`FlavorStore`](poppy_core::ports::FlavorStore) implementations.

#[cfg(feature = "cassandra")]
pub mod cassandra;
#[cfg(feature = "sqlite")]
pub mod sqlite;
