//! Job boards: [`JobBoard`](poppy_core::ports::JobBoard) implementations.

#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "zookeeper")]
pub mod zookeeper;
