//! SQLite storage (feature `sqlite`): one database file shared by the
//! service store, the flavor store and the job board, so a service and its
//! job are written in one transaction (outbox).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use poppy_adapters::storage::sqlite::{SqliteDatabase, SqliteOptions};
//!
//! let db = SqliteDatabase::connect("poppy-data/poppy.db", SqliteOptions::default()).await?;
//! let store = db.store().with_outbox(true);
//! let jobs = db.job_board();
//! # let _ = (store, jobs);
//! # Ok(())
//! # }
//! ```
//!
//! Several processes (servers and workers) may open the same file: every
//! write is a `BEGIN IMMEDIATE` transaction and no correctness depends on
//! in-process state.

mod certificates;
mod database;
mod decoded;
mod error;
mod store;

pub use certificates::SqliteCertificateStore;
pub use database::{SqliteDatabase, SqliteOptions, SCHEMA_VERSION};
pub use error::SqliteError;
pub use store::{sql, SqliteStore};

pub(crate) use error::{corrupt, text, text_or_null, Fail};

/// The driver name in configuration and health reports.
pub const NAME: &str = "sqlite";
