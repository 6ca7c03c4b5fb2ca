//! Configuration of the mock provider: deterministic by default, with knobs
//! that inject latency, failures and slow rollouts for tests and benches.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The provider operations a failure can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MockOperation {
    Create,
    Update,
    Delete,
    Purge,
    Status,
}

impl MockOperation {
    /// Every operation, in declaration order.
    pub const ALL: &'static [MockOperation] = &[
        MockOperation::Create,
        MockOperation::Update,
        MockOperation::Delete,
        MockOperation::Purge,
        MockOperation::Status,
    ];

    /// The configuration name of the operation (`create`, `purge`…).
    pub fn as_str(&self) -> &'static str {
        match self {
            MockOperation::Create => "create",
            MockOperation::Update => "update",
            MockOperation::Delete => "delete",
            MockOperation::Purge => "purge",
            MockOperation::Status => "status",
        }
    }
}

impl std::fmt::Display for MockOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which [`poppy_core::ports::PortError`] an injected failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// `PortError::Unavailable` (retryable, carries `retry_after_ms`).
    #[default]
    Unavailable,
    /// `PortError::RateLimited` (retryable, carries `retry_after_ms`).
    RateLimited,
    /// `PortError::Invalid` (not retryable).
    Invalid,
    /// `PortError::Internal` (not retryable).
    Internal,
}

/// Settings of [`super::MockProvider`]. Every field is optional in a
/// configuration file; the defaults make a fast, never-failing provider that
/// deploys at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockProviderConfig {
    /// Fixed latency added to every call, in milliseconds.
    pub latency_ms: u64,
    /// Extra random latency per call, uniform in `0..=jitter_ms` milliseconds.
    pub jitter_ms: u64,
    /// Probability in `0.0..=1.0` that a call in `fail_operations` fails.
    pub failure_rate: f64,
    /// The error an injected failure returns.
    pub failure_kind: FailureKind,
    /// `retry_after` of injected `unavailable` / `rate_limited` failures.
    pub retry_after_ms: Option<u64>,
    /// Operations failures are injected into; `None` (the default) means all.
    pub fail_operations: Option<Vec<MockOperation>>,
    /// How many `status` calls after a `create` / `update` report
    /// `deploy_in_progress` before `deployed`. When non-zero, `create` and
    /// `update` themselves return `deploy_in_progress`.
    pub deploy_polls: u32,
    /// Seed of the random generator (jitter and failures), for reproducible
    /// runs; `None` seeds from the operating system.
    pub seed: Option<u64>,
    /// Append one JSON line per call that changed the mock's state
    /// (`create`, `update`, `delete`, `purge`) to this file, shared safely
    /// by several processes: `{"op","service_id","provider_service_id",
    /// "pid","at_ms"}`. For multi-process tests, which cannot look inside
    /// each worker's in-memory table.
    pub call_log: Option<PathBuf>,
    /// Certificate provisioning (`certificates = { mode = "queued", … }`);
    /// see [`super::MockCertificateConfig`].
    pub certificates: super::MockCertificateConfig,
    /// Whether the mock says it acts on `log_delivery` (it only records the
    /// setting it receives with each `create`/`update`).
    pub log_delivery: bool,
}

impl Default for MockProviderConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            jitter_ms: 0,
            failure_rate: 0.0,
            failure_kind: FailureKind::Unavailable,
            retry_after_ms: None,
            fail_operations: None,
            deploy_polls: 0,
            seed: None,
            call_log: None,
            certificates: super::MockCertificateConfig::default(),
            log_delivery: true,
        }
    }
}

impl MockProviderConfig {
    /// Checks the values serde cannot: `failure_rate` must be a number in
    /// `0.0..=1.0`.
    pub fn validate(&self) -> Result<(), MockConfigError> {
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(MockConfigError::FailureRateOutOfRange {
                value: self.failure_rate,
            });
        }
        Ok(())
    }

    /// Whether failures are injected into `operation`.
    pub fn injects_into(&self, operation: MockOperation) -> bool {
        self.fail_operations
            .as_ref()
            .is_none_or(|ops| ops.contains(&operation))
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.retry_after_ms.map(Duration::from_millis)
    }
}

/// A mock provider configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MockConfigError {
    #[error("[providers] mock: failure_rate must be between 0.0 and 1.0, got {value}")]
    FailureRateOutOfRange { value: f64 },
    #[error("[providers] mock: cannot open call_log {path}: {message}")]
    CallLog { path: PathBuf, message: String },
}
