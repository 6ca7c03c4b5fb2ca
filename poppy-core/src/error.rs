//! The one error type of the use cases, with a [`ErrorKind`] that transports
//! map to status codes.

use serde::Serialize;

use crate::ports::PortError;

/// One problem with one field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) of the offending value, e.g. `/domains/0/domain`.
    /// Empty for the document itself.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// What a caller (and a transport) can do about an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is wrong (HTTP 400): bad field, unknown flavor, wrong state…
    BadRequest,
    /// The thing asked for does not exist for this project (404).
    NotFound,
    /// A limit was reached (403), e.g. services per project.
    Forbidden,
    /// A concurrent writer changed the resource first (409); retrying may work.
    Conflict,
    /// A backend is down or overloaded (503); retrying later may work.
    Unavailable,
    /// A bug or an unexpected backend failure (500).
    Internal,
}

/// Errors of the use cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request body failed validation; every problem is listed.
    #[error("{}", summarise(.0))]
    Validation(Vec<FieldError>),
    /// A request that cannot be carried out as asked (400).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn summarise(errors: &[FieldError]) -> String {
    match errors {
        [] => "invalid request".to_owned(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more errors)", rest.len()),
    }
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Validation(_) | Error::BadRequest(_) => ErrorKind::BadRequest,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Forbidden(_) => ErrorKind::Forbidden,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The field errors of a validation failure (empty otherwise).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Error::Validation(errors) => errors,
            _ => &[],
        }
    }

    pub fn field(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(path, message)])
    }
}

/// Port errors that reach a use case unhandled: backends being down is a 503,
/// anything else unexpected is internal. Use cases map the kinds they expect
/// (`NotFound`, `Conflict`) themselves before this fallback.
impl From<PortError> for Error {
    fn from(e: PortError) -> Self {
        match e {
            PortError::NotFound(m) => Error::NotFound(m),
            PortError::Conflict(m) => Error::Conflict(m),
            PortError::Invalid(m) => Error::BadRequest(m),
            PortError::LimitReached(m) => Error::Forbidden(m),
            e @ (PortError::Unavailable { .. } | PortError::RateLimited { .. }) => {
                Error::Unavailable(e.to_string())
            }
            e @ PortError::Internal { .. } => Error::Internal(e.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
