//! Cassandra storage (feature `cassandra`): the service, flavor and
//! certificate stores of the distributed topology, where several stateless
//! servers and workers share one keyspace (and a ZooKeeper job board).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use poppy_adapters::storage::cassandra::{CassandraConfig, CassandraStore};
//!
//! let config = CassandraConfig {
//!     contact_points: vec!["127.0.0.1:9042".to_owned()],
//!     automatic_schema_migration: true,
//!     ..CassandraConfig::default()
//! };
//! let store = CassandraStore::connect(&config).await?;
//! # let _ = store;
//! # Ok(())
//! # }
//! ```
//!
//! Layout: [`queries`] holds everything that does not need a server (CQL
//! text, bind values, row decoding, answers of lightweight transactions,
//! the `uuid` order) and is unit-tested; [`CassandraStore`] sequences those
//! statements through the driver (`cdrs-tokio`), each prepared once when
//! the store starts.
//!
//! Ordering: service ids are `uuid` clustering columns, which Cassandra
//! orders by UUID version first and then by bytes (see
//! [`queries::uuid_order`]). For the random version-4 ids Poppy creates,
//! that is the byte order the SQLite store uses, so `list` pages the same
//! way on both; a marker of another version (the nil id, a version-1 UUID)
//! sorts before every version-4 id.

mod certificates;
mod config;
mod error;
mod migrations;
pub mod queries;
mod session;
mod store;

pub use certificates::CassandraCertificateStore;
pub use config::{
    parse_consistency, CassandraConfig, CassandraConfigError, CassandraSettings, Replication,
    ReplicationFactor, Secret, PASSWORD_ENV,
};
pub use error::{classify, CassandraError, Failure};
pub use migrations::{
    create_keyspace_cql, pending, statements, Migration, CREATE_MIGRATIONS_TABLE, MIGRATIONS,
};
pub use store::CassandraStore;

/// The driver's consistency levels, as used by [`CassandraSettings`].
pub use cdrs_tokio::consistency::Consistency;

/// The driver name in configuration and health reports.
pub const NAME: &str = "cassandra";
