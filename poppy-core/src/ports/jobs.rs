//! The job board: durable queue of flow runs, claimed by workers with leases.

use std::time::Duration;

use async_trait::async_trait;

use super::PortError;
use crate::clock::Millis;
use crate::model::{Claim, Job, ServiceId};

/// A snapshot of the queue, for metrics (queue depth, oldest job age).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobStats {
    /// Jobs still on the board (claimed or not): neither completed nor failed.
    pub queued: u64,
    /// Of those, jobs a worker holds a live lease on.
    pub claimed: u64,
    /// When the oldest of the queued jobs was posted; `None` when none is.
    pub oldest_created_at: Option<Millis>,
}

/// At-least-once job queue.
///
/// # Contract
/// - `post` is idempotent by `job.id`.
/// - `claim` hands out a job whose `not_before` has passed and that nobody
///   holds, increments its `attempts` and leases it to `worker` for `lease`.
///   Jobs of one service are handed out one at a time, in the order they
///   were posted: a job is not claimable while an older job of the same
///   service exists.
/// - A claim whose lease lapsed (the worker died) is claimable again; its
///   old holder's `heartbeat`, `checkpoint`, `complete`, `retry` and `fail`
///   then fail with `Conflict` (the token no longer matches).
/// - `complete` and `fail` remove the job from the queue; `retry` makes it
///   claimable again at `not_before`; `release` gives it back at once
///   without counting the attempt (graceful shutdown).
/// - `checkpoint` stores the flow's progress; the next claim of the job
///   carries it in `job.progress`.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait JobBoard: Send + Sync + std::fmt::Debug + 'static {
    /// Name shown by the health endpoint (`sqlite`, `zookeeper`…).
    fn name(&self) -> &str;
    async fn is_alive(&self) -> bool;

    async fn post(&self, job: &Job) -> Result<(), PortError>;
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, PortError>;
    /// Extends the lease; returns the claim with its new `lease_until`.
    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<Claim, PortError>;
    async fn checkpoint(
        &self,
        claim: &Claim,
        progress: &serde_json::Value,
    ) -> Result<(), PortError>;
    async fn complete(&self, claim: &Claim) -> Result<(), PortError>;
    async fn retry(&self, claim: &Claim, not_before: Millis, error: &str) -> Result<(), PortError>;
    async fn fail(&self, claim: &Claim, reason: &str) -> Result<(), PortError>;
    async fn release(&self, claim: &Claim) -> Result<(), PortError>;

    /// Jobs (claimed or not) still queued for a service. The reconciler
    /// re-posts the job of an in-progress service that has none.
    async fn pending_for(&self, service: &ServiceId) -> Result<usize, PortError>;

    /// Waits until a job may be claimable or `timeout` passes. Boards that
    /// can notify (in process) return early when a job is posted; the
    /// default just sleeps.
    async fn wait_for_work(&self, timeout: Duration) {
        tokio::time::sleep(timeout).await;
    }

    /// Queue depth and the oldest queued job, for metrics. `Ok(None)` (the
    /// default) means the board cannot tell cheaply.
    async fn stats(&self) -> Result<Option<JobStats>, PortError> {
        Ok(None)
    }
}
