//! Errors of the Cassandra store, how driver errors are classified, and
//! their mapping to [`PortError`].

use std::time::Duration;

use cdrs_tokio::error::Error as DriverError;
use cdrs_tokio::frame::message_error::{ErrorType, WriteType};
use poppy_core::ports::PortError;

use super::config::CassandraConfigError;
use super::NAME;

/// Retry hint after the coordinator said too few replicas are alive.
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Retry hint after a node said it is overloaded or still starting.
const OVERLOADED_RETRY_AFTER: Duration = Duration::from_millis(200);
/// Retry hint after giving up on contended lightweight transactions.
const CONTENTION_RETRY_AFTER: Duration = Duration::from_millis(100);

/// What went wrong connecting to or using Cassandra.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassandraError {
    /// The configuration cannot work.
    #[error(transparent)]
    Config(#[from] CassandraConfigError),
    /// No session could be opened with the contact points.
    #[error("cassandra: cannot connect to {contact_points}: {message}")]
    Connect {
        contact_points: String,
        message: String,
    },
    /// Connecting took longer than `connect_timeout_ms`.
    #[error("cassandra: connecting to {contact_points} took longer than {timeout_ms} ms")]
    ConnectTimeout {
        contact_points: String,
        timeout_ms: u128,
    },
    /// A statement failed in the driver or on the server.
    #[error("cassandra: {op} failed: {source}")]
    Query {
        op: &'static str,
        #[source]
        source: Box<DriverError>,
    },
    /// A schema statement of a migration failed; the migration is not
    /// recorded and runs again next time.
    #[error(
        "cassandra: migration {name} failed on keyspace {keyspace} at `{statement}`: {source}"
    )]
    Migration {
        keyspace: String,
        name: &'static str,
        statement: String,
        #[source]
        source: Box<DriverError>,
    },
    /// Migrations are off and the keyspace lacks some.
    #[error(
        "cassandra: keyspace {keyspace} lacks migrations {missing:?}; start once with \
         automatic_schema_migration = true, or apply poppy-adapters/migrations/cassandra/*.cql \
         in order and record them in {keyspace}.schema_migrations"
    )]
    SchemaNotMigrated {
        keyspace: String,
        missing: Vec<&'static str>,
    },
    /// The keyspace was migrated by a newer build.
    #[error(
        "cassandra: keyspace {keyspace} has migrations {unknown:?} this build does not know; \
         upgrade poppy"
    )]
    SchemaTooNew {
        keyspace: String,
        unknown: Vec<String>,
    },
    /// A stored row could not be decoded (hand-edited or corrupt data).
    #[error("cassandra: {what} holds invalid data in column `{column}`: {message}")]
    CorruptRow {
        what: String,
        column: &'static str,
        message: String,
    },
    /// A value could not be encoded for storage.
    #[error("cassandra: cannot store {what}: {message}")]
    Encode { what: String, message: String },
    /// The server answered something this adapter does not expect.
    #[error("cassandra: {op}: unexpected answer: {message}")]
    UnexpectedAnswer { op: &'static str, message: String },
    /// Concurrent writers kept winning the lightweight transaction.
    #[error("cassandra: {op} gave up after {attempts} attempts lost to concurrent writers")]
    Contention { op: &'static str, attempts: u32 },
}

/// What a driver error says about the request and what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request was refused before it ran (too few replicas alive,
    /// overloaded, starting): nothing was written; retry later.
    Refused { retry_after: Option<Duration> },
    /// The request timed out or the connection broke: it may or may not
    /// have been applied. `cas` is true when the server said the timeout
    /// was in a lightweight transaction's Paxos phase.
    OutcomeUnknown { cas: bool },
    /// A bug, a schema mismatch or a setup error: retrying will not help.
    Permanent,
}

impl Failure {
    /// True for failures that a later attempt may not see.
    pub fn is_transient(&self) -> bool {
        !matches!(self, Failure::Permanent)
    }
}

/// Classifies a driver error.
pub fn classify(error: &DriverError) -> Failure {
    match error {
        DriverError::Server { body, .. } => match &body.ty {
            ErrorType::Unavailable(_) => Failure::Refused {
                retry_after: Some(UNAVAILABLE_RETRY_AFTER),
            },
            ErrorType::Overloaded | ErrorType::IsBootstrapping => Failure::Refused {
                retry_after: Some(OVERLOADED_RETRY_AFTER),
            },
            ErrorType::WriteTimeout(timeout) => Failure::OutcomeUnknown {
                cas: timeout.write_type == WriteType::Cas,
            },
            ErrorType::ReadTimeout(_) => Failure::OutcomeUnknown { cas: false },
            // The driver re-prepares by itself; one that still surfaces is a
            // race with a schema change: the next attempt prepares again.
            ErrorType::Unprepared(_) => Failure::Refused { retry_after: None },
            ErrorType::Truncate => Failure::Refused { retry_after: None },
            ErrorType::Server
            | ErrorType::Protocol
            | ErrorType::Authentication
            | ErrorType::ReadFailure(_)
            | ErrorType::FunctionFailure(_)
            | ErrorType::WriteFailure(_)
            | ErrorType::Syntax
            | ErrorType::Unauthorized
            | ErrorType::Invalid
            | ErrorType::Config
            | ErrorType::AlreadyExists(_) => Failure::Permanent,
            _ => Failure::Permanent,
        },
        DriverError::Io(_) | DriverError::Timeout(_) => Failure::OutcomeUnknown { cas: false },
        DriverError::InvalidProtocol(_) => Failure::Refused { retry_after: None },
        // The driver reports a lost connection, an empty node list or an
        // exhausted query plan as a general error.
        DriverError::General(message) if is_connection_message(message) => {
            Failure::OutcomeUnknown { cas: false }
        }
        _ => Failure::Permanent,
    }
}

fn is_connection_message(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "connection",
        "connect",
        "no nodes available",
        "write channel failure",
        "control connection",
        "broken pipe",
        "timed out",
        "unreachable",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

impl CassandraError {
    /// A failed statement of operation `op`.
    pub fn query(op: &'static str, source: DriverError) -> Self {
        CassandraError::Query {
            op,
            source: Box::new(source),
        }
    }

    /// The classification of the driver error inside, if any.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            CassandraError::Query { source, .. } => Some(classify(source)),
            _ => None,
        }
    }

    /// True when the statement may have been applied although it failed.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self.failure(), Some(Failure::OutcomeUnknown { .. }))
    }
}

impl From<CassandraError> for PortError {
    fn from(e: CassandraError) -> Self {
        let unavailable = |e: &CassandraError, retry_after| PortError::Unavailable {
            backend: NAME.to_owned(),
            message: e.to_string(),
            retry_after,
        };
        match &e {
            CassandraError::Query { source, .. } => match classify(source) {
                Failure::Refused { retry_after } => unavailable(&e, retry_after),
                Failure::OutcomeUnknown { .. } => unavailable(&e, None),
                Failure::Permanent => PortError::internal(NAME, e),
            },
            CassandraError::Connect { .. } | CassandraError::ConnectTimeout { .. } => {
                unavailable(&e, None)
            }
            CassandraError::Contention { .. } => unavailable(&e, Some(CONTENTION_RETRY_AFTER)),
            _ => PortError::internal(NAME, e),
        }
    }
}
