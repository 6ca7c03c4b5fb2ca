//! The Cassandra store: the query layer, configuration, migrations and
//! error mapping without a server (they run everywhere), and the `store`,
//! `flavor` and `certificates` conformance suites against a live Cassandra when
//! `POPPY_TEST_CASSANDRA=host:port` is set (skipped otherwise). One test
//! binary, a module per concern.

#![cfg(feature = "cassandra")]

#[path = "cassandra/certificates.rs"]
mod certificates;
#[path = "cassandra/config.rs"]
mod config;
#[path = "cassandra/errors.rs"]
mod errors;
#[path = "cassandra/live.rs"]
mod live;
#[path = "cassandra/migrations.rs"]
mod migrations;
#[path = "cassandra/queries.rs"]
mod queries;
#[path = "cassandra/rows.rs"]
mod rows;
