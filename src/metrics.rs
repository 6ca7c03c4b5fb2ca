//! Prometheus metrics of a whole Poppy: the transport's request metrics plus
//! jobs, flows, provider and DNS calls and the job queue, all in one
//! registry that `GET /metrics` exposes.
//!
//! Provider, DNS, store and job-board metrics are recorded by decorators
//! ([`MeteredProvider`], [`MeteredDns`], [`MeteredStore`],
//! [`MeteredJobBoard`]) that [`crate::assemble`] wraps around the adapters,
//! so no adapter needs to know about metrics. Labels carry configuration
//! names only (provider names, DNS driver, flow kinds, outcomes), never
//! tenant data such as project ids, service ids or domains.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `poppy_http_requests_total` | counter | `method`, `route`, `status` |
//! | `poppy_http_request_duration_seconds` | histogram | `method`, `route`, `status` |
//! | `poppy_jobs_posted_total` | counter | `flow` |
//! | `poppy_jobs_claimed_total` | counter | `flow` |
//! | `poppy_job_runs_total` | counter | `flow`, `outcome` (`completed`, `retried`, `failed`, `polling`, `lost`, `released`) |
//! | `poppy_job_run_duration_seconds` | histogram | `flow`, `outcome` |
//! | `poppy_provider_calls_total` | counter | `provider`, `operation`, `outcome` |
//! | `poppy_provider_call_duration_seconds` | histogram | `provider`, `operation` |
//! | `poppy_dns_calls_total` | counter | `driver`, `operation`, `outcome` |
//! | `poppy_dns_call_duration_seconds` | histogram | `driver`, `operation` |
//! | `poppy_job_queue_depth` | gauge | — |
//! | `poppy_job_queue_claimed` | gauge | — |
//! | `poppy_job_queue_oldest_age_seconds` | gauge | — |
//!
//! Call outcomes are `ok` or the kind of the port error: `not_found`,
//! `conflict`, `limit_reached`, `unavailable`, `rate_limited`, `invalid`,
//! `internal`. The queue gauges are sampled from
//! [`JobBoard::stats`] at each scrape; a board that cannot tell leaves them
//! at 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use poppy_core::clock::{now_ms, Millis};
use poppy_core::model::{
    AccessUrl, Claim, Job, ProjectId, ProviderDeployment, ProviderLink, ProviderStatus,
    PurgeTarget, Service, ServiceId, ServiceStatus,
};
use poppy_core::ports::{
    CdnProvider, Current, DnsManager, JobBoard, JobStats, PortError, ProviderCapabilities,
    Revision, ServiceStore, Snapshot,
};
use poppy_http::Metrics;
use poppy_worker::{JobObserver, JobReport};
use prometheus::{Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

/// Buckets of job runs and adapter calls, in seconds: 5 ms to 10 minutes
/// (CDN rollouts are slow).
const SLOW_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Why the metrics could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(transparent)]
    Http(#[from] poppy_http::metrics::MetricsError),
    #[error("cannot register Poppy's metric {name}: {source}")]
    Register {
        name: &'static str,
        #[source]
        source: prometheus::Error,
    },
}

/// Every metric of a Poppy. Cheap to clone; clones share the registry.
#[derive(Clone)]
pub struct PoppyMetrics {
    http: Metrics,
    jobs_posted: IntCounterVec,
    jobs_claimed: IntCounterVec,
    job_runs: IntCounterVec,
    job_run_duration: HistogramVec,
    provider_calls: IntCounterVec,
    provider_duration: HistogramVec,
    dns_calls: IntCounterVec,
    dns_duration: HistogramVec,
    queue_depth: IntGauge,
    queue_claimed: IntGauge,
    queue_oldest_age: Gauge,
}

impl std::fmt::Debug for PoppyMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoppyMetrics").finish_non_exhaustive()
    }
}

fn counter(
    registry: &Registry,
    name: &'static str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, MetricsError> {
    let register = |source| MetricsError::Register { name, source };
    let metric = IntCounterVec::new(Opts::new(name, help), labels).map_err(register)?;
    registry
        .register(Box::new(metric.clone()))
        .map_err(register)?;
    Ok(metric)
}

fn histogram(
    registry: &Registry,
    name: &'static str,
    help: &str,
    labels: &[&str],
) -> Result<HistogramVec, MetricsError> {
    let register = |source| MetricsError::Register { name, source };
    let metric = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(SLOW_BUCKETS.to_vec()),
        labels,
    )
    .map_err(register)?;
    registry
        .register(Box::new(metric.clone()))
        .map_err(register)?;
    Ok(metric)
}

impl PoppyMetrics {
    /// Every metric, in a registry of its own.
    pub fn new() -> Result<Self, MetricsError> {
        Self::with_registry(Registry::new())
    }

    /// Every metric, registered in `registry` (an embedder's own, say).
    pub fn with_registry(registry: Registry) -> Result<Self, MetricsError> {
        let http = Metrics::with_registry(registry.clone())?;
        let r = &registry;
        let gauge_err = |name| move |source| MetricsError::Register { name, source };
        let queue_depth = IntGauge::new(
            "poppy_job_queue_depth",
            "Jobs on the board (claimed or not), sampled at scrape time.",
        )
        .map_err(gauge_err("poppy_job_queue_depth"))?;
        let queue_claimed = IntGauge::new(
            "poppy_job_queue_claimed",
            "Jobs a worker holds a live lease on, sampled at scrape time.",
        )
        .map_err(gauge_err("poppy_job_queue_claimed"))?;
        let queue_oldest_age = Gauge::new(
            "poppy_job_queue_oldest_age_seconds",
            "Age of the oldest job on the board (0 when empty), sampled at scrape time.",
        )
        .map_err(gauge_err("poppy_job_queue_oldest_age_seconds"))?;
        r.register(Box::new(queue_depth.clone()))
            .map_err(gauge_err("poppy_job_queue_depth"))?;
        r.register(Box::new(queue_claimed.clone()))
            .map_err(gauge_err("poppy_job_queue_claimed"))?;
        r.register(Box::new(queue_oldest_age.clone()))
            .map_err(gauge_err("poppy_job_queue_oldest_age_seconds"))?;
        Ok(Self {
            http,
            jobs_posted: counter(
                r,
                "poppy_jobs_posted_total",
                "Jobs posted to the job board, by flow.",
                &["flow"],
            )?,
            jobs_claimed: counter(
                r,
                "poppy_jobs_claimed_total",
                "Jobs claimed by a worker of this process, by flow.",
                &["flow"],
            )?,
            job_runs: counter(
                r,
                "poppy_job_runs_total",
                "Job runs of this process's workers, by flow and outcome.",
                &["flow", "outcome"],
            )?,
            job_run_duration: histogram(
                r,
                "poppy_job_run_duration_seconds",
                "Time a job run took (one attempt of a flow), by flow and outcome.",
                &["flow", "outcome"],
            )?,
            provider_calls: counter(
                r,
                "poppy_provider_calls_total",
                "Calls to CDN providers, by provider, operation and outcome.",
                &["provider", "operation", "outcome"],
            )?,
            provider_duration: histogram(
                r,
                "poppy_provider_call_duration_seconds",
                "Time a call to a CDN provider took, by provider and operation.",
                &["provider", "operation"],
            )?,
            dns_calls: counter(
                r,
                "poppy_dns_calls_total",
                "Calls to the DNS driver, by driver, operation and outcome.",
                &["driver", "operation", "outcome"],
            )?,
            dns_duration: histogram(
                r,
                "poppy_dns_call_duration_seconds",
                "Time a call to the DNS driver took, by driver and operation.",
                &["driver", "operation"],
            )?,
            queue_depth,
            queue_claimed,
            queue_oldest_age,
        })
    }

    /// The transport's handle on the same registry (for `HttpConfig`).
    pub fn http(&self) -> &Metrics {
        &self.http
    }

    /// The registry every metric is in.
    pub fn registry(&self) -> &Registry {
        self.http.registry()
    }

    /// The text exposition, after sampling the queue gauges.
    pub async fn render(&self) -> String {
        self.http.render().await
    }

    /// Samples the queue gauges from `jobs` before every scrape.
    pub fn sample_queue_from(&self, jobs: Arc<dyn JobBoard>) {
        let metrics = self.clone();
        self.http.on_scrape(Arc::new(move || {
            let metrics = metrics.clone();
            let jobs = jobs.clone();
            Box::pin(async move {
                match jobs.stats().await {
                    Ok(Some(stats)) => metrics.set_queue(&stats, now_ms()),
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "cannot read job board stats for metrics"),
                }
            })
        }));
    }

    fn set_queue(&self, stats: &JobStats, now: Millis) {
        self.queue_depth
            .set(i64::try_from(stats.queued).unwrap_or(i64::MAX));
        self.queue_claimed
            .set(i64::try_from(stats.claimed).unwrap_or(i64::MAX));
        let age_ms = stats
            .oldest_created_at
            .map_or(0, |created| now.saturating_sub(created).max(0));
        // Millisecond counts of queue ages fit an f64 exactly.
        #[allow(clippy::cast_precision_loss)]
        self.queue_oldest_age.set(age_ms as f64 / 1000.0);
    }

    fn posted(&self, job: &Job) {
        self.jobs_posted.with_label_values(&[job.kind.name()]).inc();
    }

    /// `provider` wrapped so its calls are counted and timed.
    pub fn provider(&self, provider: Arc<dyn CdnProvider>) -> Arc<dyn CdnProvider> {
        Arc::new(MeteredProvider {
            inner: provider,
            metrics: self.clone(),
        })
    }

    /// `dns` wrapped so its calls are counted and timed.
    pub fn dns(&self, dns: Arc<dyn DnsManager>) -> Arc<dyn DnsManager> {
        Arc::new(MeteredDns {
            inner: dns,
            metrics: self.clone(),
        })
    }

    /// `jobs` wrapped so posted jobs are counted.
    pub fn job_board(&self, jobs: Arc<dyn JobBoard>) -> Arc<dyn JobBoard> {
        Arc::new(MeteredJobBoard {
            inner: jobs,
            metrics: self.clone(),
        })
    }

    /// `store` wrapped so jobs it writes with services (outbox) are counted.
    pub fn store(&self, store: Arc<dyn ServiceStore>) -> Arc<dyn ServiceStore> {
        Arc::new(MeteredStore {
            inner: store,
            metrics: self.clone(),
        })
    }
}

impl JobObserver for PoppyMetrics {
    fn job_claimed(&self, flow: &'static str) {
        self.jobs_claimed.with_label_values(&[flow]).inc();
    }

    fn job_finished(&self, flow: &'static str, report: &JobReport, elapsed: Duration) {
        let labels = [flow, report.name()];
        self.job_runs.with_label_values(&labels).inc();
        self.job_run_duration
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }
}

/// The outcome label of a port call.
fn outcome<T>(result: &Result<T, PortError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(PortError::NotFound(_)) => "not_found",
        Err(PortError::Conflict(_)) => "conflict",
        Err(PortError::LimitReached(_)) => "limit_reached",
        Err(PortError::Unavailable { .. }) => "unavailable",
        Err(PortError::RateLimited { .. }) => "rate_limited",
        Err(PortError::Invalid(_)) => "invalid",
        Err(PortError::Internal { .. }) => "internal",
        Err(_) => "error",
    }
}

// ---------------------------------------------------------------- providers

/// A [`CdnProvider`] whose calls are counted and timed per provider.
#[derive(Debug)]
pub struct MeteredProvider {
    inner: Arc<dyn CdnProvider>,
    metrics: PoppyMetrics,
}

impl MeteredProvider {
    fn record<T>(&self, operation: &str, started: Instant, result: &Result<T, PortError>) {
        let provider = self.inner.name();
        let m = &self.metrics;
        m.provider_calls
            .with_label_values(&[provider, operation, outcome(result)])
            .inc();
        m.provider_duration
            .with_label_values(&[provider, operation])
            .observe(started.elapsed().as_secs_f64());
    }
}

#[async_trait]
impl CdnProvider for MeteredProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> ProviderCapabilities {
        self.inner.capabilities()
    }

    async fn is_alive(&self) -> bool {
        self.inner.is_alive().await
    }

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        let started = Instant::now();
        let result = self.inner.create(service).await;
        self.record("create", started, &result);
        result
    }

    async fn update(
        &self,
        provider_service_id: &str,
        service: &Service,
    ) -> Result<ProviderDeployment, PortError> {
        let started = Instant::now();
        let result = self.inner.update(provider_service_id, service).await;
        self.record("update", started, &result);
        result
    }

    async fn delete(&self, provider_service_id: &str, service: &Service) -> Result<(), PortError> {
        let started = Instant::now();
        let result = self.inner.delete(provider_service_id, service).await;
        self.record("delete", started, &result);
        result
    }

    async fn purge(
        &self,
        provider_service_id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        let started = Instant::now();
        let result = self
            .inner
            .purge(provider_service_id, service, target, hard)
            .await;
        self.record("purge", started, &result);
        result
    }

    async fn status(&self, provider_service_id: &str) -> Result<ProviderStatus, PortError> {
        let started = Instant::now();
        let result = self.inner.status(provider_service_id).await;
        self.record("status", started, &result);
        result
    }

    fn certificates(&self) -> Option<Arc<dyn poppy_core::ports::CertificateProvider>> {
        self.inner.certificates()
    }

    fn supports_log_delivery(&self) -> bool {
        self.inner.supports_log_delivery()
    }
}

// ---------------------------------------------------------------------- dns

/// A [`DnsManager`] whose calls are counted and timed.
#[derive(Debug)]
pub struct MeteredDns {
    inner: Arc<dyn DnsManager>,
    metrics: PoppyMetrics,
}

impl MeteredDns {
    fn record<T>(&self, operation: &str, started: Instant, result: &Result<T, PortError>) {
        let driver = self.inner.name();
        let m = &self.metrics;
        m.dns_calls
            .with_label_values(&[driver, operation, outcome(result)])
            .inc();
        m.dns_duration
            .with_label_values(&[driver, operation])
            .observe(started.elapsed().as_secs_f64());
    }
}

#[async_trait]
impl DnsManager for MeteredDns {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn is_alive(&self) -> bool {
        self.inner.is_alive().await
    }

    async fn create(
        &self,
        service: &Service,
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError> {
        let started = Instant::now();
        let result = self.inner.create(service, links).await;
        self.record("create", started, &result);
        result
    }

    async fn update(
        &self,
        service: &Service,
        current: &[AccessUrl],
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError> {
        let started = Instant::now();
        let result = self.inner.update(service, current, links).await;
        self.record("update", started, &result);
        result
    }

    async fn delete(&self, access_urls: &[AccessUrl]) -> Result<(), PortError> {
        let started = Instant::now();
        let result = self.inner.delete(access_urls).await;
        self.record("delete", started, &result);
        result
    }

    async fn set_enabled(&self, access_urls: &[AccessUrl], enabled: bool) -> Result<(), PortError> {
        let started = Instant::now();
        let result = self.inner.set_enabled(access_urls, enabled).await;
        self.record("set_enabled", started, &result);
        result
    }

    fn shared_ssl_shards(&self) -> Vec<String> {
        self.inner.shared_ssl_shards()
    }

    async fn is_shard_full(&self, shard: &str) -> Result<bool, PortError> {
        let started = Instant::now();
        let result = self.inner.is_shard_full(shard).await;
        self.record("is_shard_full", started, &result);
        result
    }
}

// --------------------------------------------------------------------- jobs

/// A [`JobBoard`] that counts the jobs posted to it.
#[derive(Debug)]
pub struct MeteredJobBoard {
    inner: Arc<dyn JobBoard>,
    metrics: PoppyMetrics,
}

#[async_trait]
impl JobBoard for MeteredJobBoard {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn is_alive(&self) -> bool {
        self.inner.is_alive().await
    }

    async fn post(&self, job: &Job) -> Result<(), PortError> {
        let result = self.inner.post(job).await;
        if result.is_ok() {
            self.metrics.posted(job);
        }
        result
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, PortError> {
        self.inner.claim(worker, lease).await
    }

    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<Claim, PortError> {
        self.inner.heartbeat(claim, lease).await
    }

    async fn checkpoint(
        &self,
        claim: &Claim,
        progress: &serde_json::Value,
    ) -> Result<(), PortError> {
        self.inner.checkpoint(claim, progress).await
    }

    async fn complete(&self, claim: &Claim) -> Result<(), PortError> {
        self.inner.complete(claim).await
    }

    async fn retry(&self, claim: &Claim, not_before: Millis, error: &str) -> Result<(), PortError> {
        self.inner.retry(claim, not_before, error).await
    }

    async fn fail(&self, claim: &Claim, reason: &str) -> Result<(), PortError> {
        self.inner.fail(claim, reason).await
    }

    async fn release(&self, claim: &Claim) -> Result<(), PortError> {
        self.inner.release(claim).await
    }

    async fn pending_for(&self, service: &ServiceId) -> Result<usize, PortError> {
        self.inner.pending_for(service).await
    }

    async fn wait_for_work(&self, timeout: Duration) {
        self.inner.wait_for_work(timeout).await;
    }

    async fn stats(&self) -> Result<Option<JobStats>, PortError> {
        self.inner.stats().await
    }
}

/// A [`ServiceStore`] that counts the jobs it writes with services (the
/// outbox of stores that share a database with the job board).
#[derive(Debug)]
pub struct MeteredStore {
    inner: Arc<dyn ServiceStore>,
    metrics: PoppyMetrics,
}

impl MeteredStore {
    fn count_outbox<T>(&self, job: Option<&Job>, result: &Result<T, PortError>) {
        if let (Some(job), Ok(_)) = (job, result) {
            if self.inner.writes_jobs() {
                self.metrics.posted(job);
            }
        }
    }
}

#[async_trait]
impl ServiceStore for MeteredStore {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn is_alive(&self) -> bool {
        self.inner.is_alive().await
    }

    fn writes_jobs(&self) -> bool {
        self.inner.writes_jobs()
    }

    async fn create(
        &self,
        service: &Service,
        max_services: u32,
        job: Option<Job>,
    ) -> Result<(), PortError> {
        let counted = job.clone();
        let result = self.inner.create(service, max_services, job).await;
        self.count_outbox(counted.as_ref(), &result);
        result
    }

    async fn get(&self, project: &ProjectId, id: &ServiceId) -> Result<Option<Service>, PortError> {
        self.inner.get(project, id).await
    }

    async fn list(
        &self,
        project: &ProjectId,
        marker: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<Service>, PortError> {
        self.inner.list(project, marker, limit).await
    }

    // Forwarded, not left to the defaults: the inner store's shared
    // snapshots and revisions are what let the HTTP layer reuse rendered
    // bodies.
    async fn get_shared(
        &self,
        project: &ProjectId,
        id: &ServiceId,
    ) -> Result<Option<Arc<Service>>, PortError> {
        self.inner.get_shared(project, id).await
    }

    async fn list_shared(
        &self,
        project: &ProjectId,
        marker: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<Snapshot>, PortError> {
        self.inner.list_shared(project, marker, limit).await
    }

    async fn get_if_changed(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        held: Option<Revision>,
    ) -> Result<Option<Current>, PortError> {
        self.inner.get_if_changed(project, id, held).await
    }

    async fn update(&self, service: &Service, job: Option<Job>) -> Result<u64, PortError> {
        let counted = job.clone();
        let result = self.inner.update(service, job).await;
        self.count_outbox(counted.as_ref(), &result);
        result
    }

    async fn delete(&self, project: &ProjectId, id: &ServiceId) -> Result<(), PortError> {
        self.inner.delete(project, id).await
    }

    async fn count(&self, project: &ProjectId) -> Result<u64, PortError> {
        self.inner.count(project).await
    }

    async fn find_by_domain(&self, domain: &str) -> Result<Option<Service>, PortError> {
        self.inner.find_by_domain(domain).await
    }

    async fn list_by_status(
        &self,
        status: ServiceStatus,
        after: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<(ProjectId, ServiceId)>, PortError> {
        self.inner.list_by_status(status, after, limit).await
    }

    async fn domains_by_provider_url(&self, provider_url: &str) -> Result<Vec<String>, PortError> {
        self.inner.domains_by_provider_url(provider_url).await
    }

    async fn get_limit(&self, project: &ProjectId) -> Result<Option<u32>, PortError> {
        self.inner.get_limit(project).await
    }

    async fn set_limit(&self, project: &ProjectId, limit: u32) -> Result<(), PortError> {
        self.inner.set_limit(project, limit).await
    }
}
