//! Provisioning flows (§5): what a worker does with a claimed job.
//!
//! A flow is a sequence of steps per provider (provider call, then DNS).
//! Each step's result is checkpointed into the job ([`Progress`]) before the
//! next step starts, so a retried or reclaimed job resumes where it stopped
//! instead of repeating side effects; the provider and DNS calls are
//! idempotent besides, so a crash between a call and its checkpoint is
//! harmless. The flow writes the outcome into the service (provider details
//! and status) with an optimistic-concurrency retry loop.
//!
//! Failures are classified per the port error kinds: `Unavailable`,
//! `RateLimited` and `Internal` retry the whole job later (the worker backs
//! off, honouring `Retry-After`); `Invalid` and the other kinds fail that
//! provider at once with its `error_info`.

mod certificate;
mod create;
mod delete;
mod finish;
pub(crate) mod log_delivery;
mod operator;
mod progress;
mod purge;
mod steps;
mod update;

use std::time::Duration;

use tracing::debug;

use crate::backends::Backends;
use crate::model::{Claim, JobKind};

pub use finish::give_up;
pub use progress::{Progress, StepFailure};

/// How long to wait before asking a provider again whether a rollout that
/// it reported in progress has finished.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// What the worker should do with the job after a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished (successfully or with failures recorded on the service).
    Done,
    /// A transient failure: run again later, after `after` at least if given.
    Retry {
        after: Option<Duration>,
        error: String,
    },
    /// A provider is still rolling out: ask again after `after`. Does not
    /// count as a failed attempt.
    Poll { after: Duration },
    /// The claim was lost (lease lapsed and someone else holds the job):
    /// stop without touching the job.
    Lost,
}

/// Settings of the flows.
#[derive(Debug, Clone)]
pub struct FlowSettings {
    pub poll_interval: Duration,
}

impl Default for FlowSettings {
    fn default() -> Self {
        Self {
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }
}

/// Runs the flow of a claimed job once.
pub async fn run(backends: &Backends, claim: &Claim, settings: &FlowSettings) -> Outcome {
    let job = &claim.job;
    let mut progress = Progress::load(&job.progress);
    debug!(job = %job.id, flow = job.kind.name(), attempt = job.attempts, "flow starting");
    let mut ctx = steps::Ctx {
        backends,
        claim,
        progress: &mut progress,
        settings,
    };
    let result = match &job.kind {
        JobKind::CreateService => create::run(&mut ctx).await,
        JobKind::UpdateService { previous } => update::run(&mut ctx, previous).await,
        JobKind::DeleteService => delete::run(&mut ctx).await,
        JobKind::PurgeService { target, hard } => purge::run(&mut ctx, target, *hard).await,
        JobKind::SetOperatorStatus { status } => operator::run(&mut ctx, *status).await,
        JobKind::CreateCertificate { domain, submit } => {
            certificate::create(&mut ctx, domain, *submit).await
        }
        JobKind::RecreateCertificate { cert } => certificate::recreate(&mut ctx, cert).await,
        JobKind::DeleteCertificate { cert } => certificate::delete(&mut ctx, cert).await,
        JobKind::CheckCertificateStatus { provider, item } => {
            certificate::check_status(&mut ctx, provider, item).await
        }
        JobKind::UpdateCertificateHostnames {
            provider,
            action,
            cert_type,
            domains,
        } => certificate::update_hostnames(&mut ctx, provider, *action, *cert_type, domains).await,
    };
    match result {
        Ok(outcome) => outcome,
        Err(steps::Stop::Lost) => Outcome::Lost,
        Err(steps::Stop::Retry { after, error }) => Outcome::Retry { after, error },
    }
}

#[cfg(test)]
mod tests;
