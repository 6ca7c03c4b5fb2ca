//! The error every driven port returns.

use std::time::Duration;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong in an adapter, classified by what the caller can do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// The thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness or version check failed (domain taken, stale version,
    /// duplicate flavor, lost job lease). The message names what conflicted.
    #[error("{0}")]
    Conflict(String),
    /// A quota was reached (services per project).
    #[error("{0}")]
    LimitReached(String),
    /// The backend is down or timed out: retry, after `retry_after` if given.
    #[error("{backend} unavailable: {message}")]
    Unavailable {
        backend: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The backend throttled us: retry after `retry_after` if given.
    #[error("{backend} rate limited")]
    RateLimited {
        backend: String,
        retry_after: Option<Duration>,
    },
    /// The backend refused the request as invalid: do not retry.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Anything else: a bug or an unexpected answer. Not retried by default.
    #[error("{backend} failed: {source}")]
    Internal {
        backend: String,
        #[source]
        source: BoxError,
    },
}

impl PortError {
    pub fn unavailable(backend: impl Into<String>, message: impl Into<String>) -> Self {
        PortError::Unavailable {
            backend: backend.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn internal(backend: impl Into<String>, source: impl Into<BoxError>) -> Self {
        PortError::Internal {
            backend: backend.into(),
            source: source.into(),
        }
    }

    /// Worth retrying later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PortError::Unavailable { .. } | PortError::RateLimited { .. }
        )
    }

    /// The backend's own hint for when to retry (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PortError::Unavailable { retry_after, .. }
            | PortError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
