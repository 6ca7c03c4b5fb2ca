//! Failure injection shared by the memory adapters.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::ports::PortError;

/// The kind of [`PortError`] an injected failure returns.
///
/// `PortError` is not `Clone` (it may carry a boxed source), so adapters are
/// told which *kind* to fail with and build a fresh error per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    NotFound,
    Conflict,
    LimitReached,
    Unavailable { retry_after: Option<Duration> },
    RateLimited { retry_after: Option<Duration> },
    Invalid,
    Internal,
}

impl FailureKind {
    /// `Unavailable` without a retry hint.
    pub fn unavailable() -> Self {
        FailureKind::Unavailable { retry_after: None }
    }

    /// `RateLimited` with a `Retry-After` hint.
    pub fn rate_limited(retry_after: Duration) -> Self {
        FailureKind::RateLimited {
            retry_after: Some(retry_after),
        }
    }

    /// The error an adapter named `backend` returns for `operation`.
    pub fn to_error(&self, backend: &str, operation: &str) -> PortError {
        let message = format!("injected failure of {backend} {operation}");
        match self {
            FailureKind::NotFound => PortError::NotFound(message),
            FailureKind::Conflict => PortError::Conflict(message),
            FailureKind::LimitReached => PortError::LimitReached(message),
            FailureKind::Unavailable { retry_after } => PortError::Unavailable {
                backend: backend.to_owned(),
                message,
                retry_after: *retry_after,
            },
            FailureKind::RateLimited { retry_after } => PortError::RateLimited {
                backend: backend.to_owned(),
                retry_after: *retry_after,
            },
            FailureKind::Invalid => PortError::Invalid(message),
            FailureKind::Internal => PortError::internal(backend, message),
        }
    }

    /// True if `error` is of this kind (ignoring messages and hints).
    pub fn matches(&self, error: &PortError) -> bool {
        matches!(
            (self, error),
            (FailureKind::NotFound, PortError::NotFound(_))
                | (FailureKind::Conflict, PortError::Conflict(_))
                | (FailureKind::LimitReached, PortError::LimitReached(_))
                | (
                    FailureKind::Unavailable { .. },
                    PortError::Unavailable { .. }
                )
                | (
                    FailureKind::RateLimited { .. },
                    PortError::RateLimited { .. }
                )
                | (FailureKind::Invalid, PortError::Invalid(_))
                | (FailureKind::Internal, PortError::Internal { .. })
        )
    }
}

/// Per-operation countdown of injected failures.
#[derive(Debug)]
pub(crate) struct Faults<Op> {
    planned: Mutex<HashMap<Op, (u32, FailureKind)>>,
}

impl<Op> Default for Faults<Op> {
    fn default() -> Self {
        Self {
            planned: Mutex::new(HashMap::new()),
        }
    }
}

impl<Op: Eq + Hash + Copy> Faults<Op> {
    fn planned(&self) -> MutexGuard<'_, HashMap<Op, (u32, FailureKind)>> {
        self.planned.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `times` calls of `op` fail with `kind` (replaces any plan for `op`).
    pub(crate) fn fail_next(&self, op: Op, times: u32, kind: FailureKind) {
        let mut planned = self.planned();
        if times == 0 {
            planned.remove(&op);
        } else {
            planned.insert(op, (times, kind));
        }
    }

    pub(crate) fn clear(&self) {
        self.planned().clear();
    }

    /// Consumes one planned failure of `op`, if any.
    pub(crate) fn take(&self, op: Op) -> Option<FailureKind> {
        let mut planned = self.planned();
        let (left, kind) = planned.get_mut(&op)?;
        *left -= 1;
        let kind = kind.clone();
        if *left == 0 {
            planned.remove(&op);
        }
        Some(kind)
    }
}

/// Locks a state mutex; a panic in another test thread must not cascade.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
