//! Errors of the SQLite adapters and their mapping to [`PortError`].

use std::path::PathBuf;
use std::time::Duration;

use poppy_core::ports::PortError;
use rusqlite::ErrorCode;

use super::NAME;

/// How long a caller should wait before retrying after the database was
/// busy: the busy timeout has already been spent waiting, so a short pause
/// is enough for the other writer to finish.
const BUSY_RETRY_AFTER: Duration = Duration::from_millis(50);

/// What went wrong opening or using a SQLite database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// The parent directory of the database file could not be created.
    #[error("sqlite: cannot create directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database file could not be opened or configured.
    #[error("sqlite: cannot open database {location}: {source}")]
    Open {
        location: String,
        #[source]
        source: rusqlite::Error,
    },
    /// A schema migration failed; the database is left at the previous version.
    #[error("sqlite: migration {name} failed on {location}: {source}")]
    Migration {
        location: String,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// The database was migrated by a newer build of Poppy.
    #[error(
        "sqlite: database {location} has schema version {found}, newer than the {known} \
         this build knows; upgrade poppy"
    )]
    SchemaTooNew {
        location: String,
        found: i64,
        known: i64,
    },
    /// A statement failed.
    #[error("sqlite: {op} failed: {source}")]
    Query {
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// A stored row could not be decoded (hand-edited or corrupt data).
    #[error("sqlite: {what} holds invalid data in column `{column}`: {message}")]
    CorruptRow {
        what: String,
        column: &'static str,
        message: String,
    },
    /// A value could not be encoded for storage.
    #[error("sqlite: cannot store {what}: {message}")]
    Encode { what: String, message: String },
    /// The blocking task running the statement died or the pool was closed.
    #[error("sqlite: {op} could not run: {message}")]
    Task { op: &'static str, message: String },
}

impl SqliteError {
    fn sqlite_code(&self) -> Option<ErrorCode> {
        match self {
            SqliteError::Open { source, .. }
            | SqliteError::Migration { source, .. }
            | SqliteError::Query { source, .. } => source.sqlite_error_code(),
            _ => None,
        }
    }

    /// The database was locked by another connection or process.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.sqlite_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    }
}

impl From<SqliteError> for PortError {
    fn from(e: SqliteError) -> Self {
        if e.is_busy() {
            return PortError::Unavailable {
                backend: NAME.to_owned(),
                message: e.to_string(),
                retry_after: Some(BUSY_RETRY_AFTER),
            };
        }
        if e.sqlite_code() == Some(ErrorCode::ConstraintViolation) {
            return PortError::Conflict(e.to_string());
        }
        PortError::internal(NAME, e)
    }
}

/// The failure of a closure run against a connection: a SQLite error still
/// to be labelled with its operation, an adapter error, or a contract
/// outcome (`Conflict`, `NotFound`, `LimitReached`) to hand back as is.
#[derive(Debug)]
pub(crate) enum Fail {
    Sql(rusqlite::Error),
    Adapter(SqliteError),
    Port(PortError),
}

impl Fail {
    /// The port error for a failure of operation `op`.
    pub(crate) fn into_port(self, op: &'static str) -> PortError {
        match self {
            Fail::Sql(source) => SqliteError::Query { op, source }.into(),
            Fail::Adapter(e) => e.into(),
            Fail::Port(e) => e,
        }
    }
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<SqliteError> for Fail {
    fn from(e: SqliteError) -> Self {
        Fail::Adapter(e)
    }
}

impl From<PortError> for Fail {
    fn from(e: PortError) -> Self {
        Fail::Port(e)
    }
}

/// A corrupt-row failure.
pub(crate) fn corrupt(
    what: impl Into<String>,
    column: &'static str,
    message: impl std::fmt::Display,
) -> Fail {
    Fail::Adapter(SqliteError::CorruptRow {
        what: what.into(),
        column,
        message: message.to_string(),
    })
}

/// True when `e` is a uniqueness/primary-key violation.
pub(crate) fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

/// Column `idx` of `row` as text, borrowed (no allocation on hot reads).
pub(crate) fn text<'r>(row: &'r rusqlite::Row<'_>, idx: usize) -> Result<&'r str, Fail> {
    row.get_ref(idx)?
        .as_str()
        .map_err(|e| conversion(idx, rusqlite::types::Type::Text, e))
}

/// Column `idx` of `row` as text or NULL.
pub(crate) fn text_or_null<'r>(
    row: &'r rusqlite::Row<'_>,
    idx: usize,
) -> Result<Option<&'r str>, Fail> {
    row.get_ref(idx)?
        .as_str_or_null()
        .map_err(|e| conversion(idx, rusqlite::types::Type::Text, e))
}

fn conversion(idx: usize, ty: rusqlite::types::Type, e: rusqlite::types::FromSqlError) -> Fail {
    Fail::Sql(rusqlite::Error::FromSqlConversionFailure(
        idx,
        ty,
        Box::new(e),
    ))
}
