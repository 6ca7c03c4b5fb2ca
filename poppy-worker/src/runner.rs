//! The claim → run → settle loop.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poppy_core::clock::after;
use poppy_core::flows::{self, Outcome, Progress};
use poppy_core::manager::reconcile;
use poppy_core::model::Claim;
use poppy_core::ports::PortError;
use poppy_core::Backends;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn, Instrument};

use crate::backoff::backoff_delay;
use crate::config::RunnerConfig;

/// What happened to one job run (returned by [`Runner::run_one`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobReport {
    Completed,
    /// Retried later after `delay`.
    Retried {
        delay: Duration,
        error: String,
    },
    /// Out of attempts: the service was marked failed and the job dropped.
    GaveUp {
        error: String,
    },
    /// Waiting for a provider rollout; asked again after `delay`.
    Polling {
        delay: Duration,
    },
    /// Another worker took the job over.
    Lost,
    /// Shutdown came first; the claim was released.
    Released,
}

impl JobReport {
    /// A short name of the outcome, for metrics and logs: `completed`,
    /// `retried`, `failed` (gave up), `polling`, `lost`, `released`.
    pub fn name(&self) -> &'static str {
        match self {
            JobReport::Completed => "completed",
            JobReport::Retried { .. } => "retried",
            JobReport::GaveUp { .. } => "failed",
            JobReport::Polling { .. } => "polling",
            JobReport::Lost => "lost",
            JobReport::Released => "released",
        }
    }
}

/// Told about every job the runner handles (metrics, audit). Calls are
/// synchronous and on the job's task: keep them cheap.
pub trait JobObserver: Send + Sync + 'static {
    /// A job of `flow` (`create_service`…) was claimed and is about to run.
    fn job_claimed(&self, flow: &'static str) {
        let _ = flow;
    }

    /// The run of a job of `flow` ended with `report` after `elapsed`.
    fn job_finished(&self, flow: &'static str, report: &JobReport, elapsed: Duration) {
        let _ = (flow, report, elapsed);
    }
}

/// The observer of a runner nobody watches.
struct Unobserved;

impl JobObserver for Unobserved {}

/// Runs jobs until shut down.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    backends: Backends,
    config: RunnerConfig,
    observer: Arc<dyn JobObserver>,
}

impl Runner {
    pub fn new(backends: Backends, config: RunnerConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                backends,
                config,
                observer: Arc::new(Unobserved),
            }),
        }
    }

    /// The same runner, reporting every job it handles to `observer`.
    pub fn with_observer(self, observer: Arc<dyn JobObserver>) -> Self {
        Self {
            inner: Arc::new(Inner {
                backends: self.inner.backends.clone(),
                config: self.inner.config.clone(),
                observer,
            }),
        }
    }

    pub fn config(&self) -> &RunnerConfig {
        &self.inner.config
    }

    /// Runs `concurrency` claim loops (and the reconciler, if configured)
    /// until `shutdown` resolves; then stops claiming, lets running flows
    /// finish within the grace period and releases the claims of the rest.
    pub async fn run(&self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let cfg = &self.inner.config;
        info!(worker = %cfg.worker_id, concurrency = cfg.concurrency, "worker started");
        let mut tasks = JoinSet::new();
        for slot in 0..cfg.concurrency.max(1) {
            let runner = self.clone();
            let stop = stop_rx.clone();
            tasks.spawn(
                async move { runner.claim_loop(stop).await }
                    .instrument(tracing::info_span!("slot", slot)),
            );
        }
        if let Some(every) = cfg.reconcile_every {
            if !self.inner.backends.store.writes_jobs() {
                let runner = self.clone();
                let stop = stop_rx.clone();
                tasks.spawn(async move { runner.reconcile_loop(every, stop).await });
            }
        }
        shutdown.await;
        info!(worker = %cfg.worker_id, "worker stopping: no new claims");
        let _ = stop_tx.send(true);
        while tasks.join_next().await.is_some() {}
        info!(worker = %cfg.worker_id, "worker stopped");
    }

    /// Claims and runs one job, if any is claimable (tests, tools).
    pub async fn run_one(&self) -> Result<Option<JobReport>, PortError> {
        let (_tx, rx) = watch::channel(false);
        let cfg = &self.inner.config;
        match self
            .inner
            .backends
            .jobs
            .claim(&cfg.worker_id, cfg.lease)
            .await?
        {
            Some(claim) => Ok(Some(self.process(claim, rx).await)),
            None => Ok(None),
        }
    }

    async fn claim_loop(&self, mut stop: watch::Receiver<bool>) {
        let cfg = &self.inner.config;
        let jobs = &self.inner.backends.jobs;
        while !*stop.borrow() {
            match jobs.claim(&cfg.worker_id, cfg.lease).await {
                Ok(Some(claim)) => {
                    self.process(claim, stop.clone()).await;
                }
                Ok(None) => {
                    tokio::select! {
                        _ = jobs.wait_for_work(cfg.idle_wait) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(error) => {
                    warn!(%error, "claiming a job failed; backing off");
                    tokio::select! {
                        _ = tokio::time::sleep(cfg.idle_wait) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
    }

    async fn reconcile_loop(&self, every: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            match reconcile(&self.inner.backends, self.inner.config.reconcile_min_age).await {
                Ok(report) if report.reposted > 0 => info!(?report, "reconciler pass"),
                Ok(report) => debug!(?report, "reconciler pass"),
                Err(error) => warn!(%error, "reconciler pass failed"),
            }
        }
    }

    /// Runs one claimed job and tells the observer about it.
    async fn process(&self, claim: Claim, stop: watch::Receiver<bool>) -> JobReport {
        let flow = claim.job.kind.name();
        let observer = &self.inner.observer;
        observer.job_claimed(flow);
        let started = Instant::now();
        let report = self.run_claimed(claim, stop).await;
        observer.job_finished(flow, &report, started.elapsed());
        report
    }

    /// Runs one claimed job: heartbeats its lease while the flow runs, and
    /// settles the job from the flow's outcome.
    async fn run_claimed(&self, claim: Claim, mut stop: watch::Receiver<bool>) -> JobReport {
        let cfg = &self.inner.config;
        let backends = &self.inner.backends;
        let job = &claim.job;
        let span = tracing::info_span!("job", job = %job.id, flow = job.kind.name(),
            service = %job.service_id, attempt = job.attempts);
        async {
            let started = Instant::now();
            debug!("job claimed");
            let flow = flows::run(backends, &claim, &cfg.flow);
            let heartbeat = self.heartbeat(&claim);
            let grace = async {
                while !*stop.borrow() {
                    if stop.changed().await.is_err() {
                        // The sender is gone: nobody will ask us to stop.
                        std::future::pending::<()>().await;
                    }
                }
                tokio::time::sleep(cfg.shutdown_grace).await;
            };
            let outcome = tokio::select! {
                outcome = flow => outcome,
                () = heartbeat => Outcome::Lost,
                () = grace => {
                    if let Err(error) = backends.jobs.release(&claim).await {
                        warn!(%error, "releasing the claim on shutdown failed; it lapses with its lease");
                    }
                    info!("shutdown: claim released");
                    return JobReport::Released;
                }
            };
            let report = self.settle(&claim, outcome).await;
            info!(elapsed_ms = started.elapsed().as_millis() as u64, ?report, "job run finished");
            report
        }
        .instrument(span)
        .await
    }

    /// Renews the lease every third of it; resolves only if the claim is lost.
    async fn heartbeat(&self, claim: &Claim) {
        let cfg = &self.inner.config;
        let every = (cfg.lease / 3).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(every).await;
            match self.inner.backends.jobs.heartbeat(claim, cfg.lease).await {
                Ok(_) => {}
                Err(PortError::Conflict(_)) | Err(PortError::NotFound(_)) => {
                    warn!("lease lost; another worker holds the job now");
                    return;
                }
                Err(error) => warn!(%error, "heartbeat failed; will try again"),
            }
        }
    }

    async fn settle(&self, claim: &Claim, outcome: Outcome) -> JobReport {
        let cfg = &self.inner.config;
        let backends = &self.inner.backends;
        let jobs = &backends.jobs;
        let job = &claim.job;
        let result = match outcome {
            Outcome::Done => jobs.complete(claim).await.map(|()| JobReport::Completed),
            Outcome::Lost => return JobReport::Lost,
            Outcome::Poll { after: delay } => jobs
                .retry(claim, after(delay), "waiting for a provider rollout")
                .await
                .map(|()| JobReport::Polling { delay }),
            Outcome::Retry { after: hint, error } => {
                let polls = Progress::load(&job.progress).polls;
                let failures = job.attempts.saturating_sub(polls);
                if failures >= cfg.max_attempts {
                    warn!(%error, failures, "out of attempts; marking the service failed");
                    if let Err(e) = flows::give_up(backends, job, &error).await {
                        // Leave the job for another try rather than lose the failure.
                        error!(error = %e, "recording the failure on the service failed");
                        let delay = backoff_delay(
                            failures,
                            cfg.backoff_base,
                            cfg.backoff_max,
                            None,
                            &mut rand::rng(),
                        );
                        return match jobs.retry(claim, after(delay), &e.to_string()).await {
                            Ok(()) => JobReport::Retried {
                                delay,
                                error: e.to_string(),
                            },
                            Err(_) => JobReport::Lost,
                        };
                    }
                    jobs.fail(claim, &error)
                        .await
                        .map(|()| JobReport::GaveUp { error })
                } else {
                    let delay = backoff_delay(
                        failures.max(1),
                        cfg.backoff_base,
                        cfg.backoff_max,
                        hint,
                        &mut rand::rng(),
                    );
                    warn!(%error, failures, delay_ms = delay.as_millis() as u64, "flow failed; retrying later");
                    jobs.retry(claim, after(delay), &error)
                        .await
                        .map(|()| JobReport::Retried { delay, error })
                }
            }
        };
        match result {
            Ok(report) => report,
            Err(PortError::Conflict(_)) => JobReport::Lost,
            Err(error) => {
                // The lease will lapse and the job be reclaimed; the flow's
                // steps are idempotent.
                warn!(%error, "settling the job failed");
                JobReport::Lost
            }
        }
    }
}
