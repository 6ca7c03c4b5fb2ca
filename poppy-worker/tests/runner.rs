//! The runner against the in-memory adapters: deploys, retries with
//! backoff, honours Retry-After, gives up into `failed`, reclaims the jobs
//! of a dead worker, and releases claims on shutdown.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use poppy_core::manager::{Manager, Settings};
use poppy_core::model::{
    ProjectId, ProviderDeployment, ProviderStatus, PurgeTarget, Service, ServiceId, ServiceStatus,
};
use poppy_core::ports::{CdnProvider, JobBoard, PortError, ProviderCapabilities, ServiceApi};
use poppy_core::testkit::fixtures;
use poppy_core::testkit::memory::{
    FailureKind, MemoryDns, MemoryFlavorStore, MemoryJobBoard, MemoryProvider, MemoryServiceStore,
    ProviderOp,
};
use poppy_core::{Backends, Providers};
use poppy_worker::{JobReport, Runner, RunnerConfig};
use serde_json::json;

struct World {
    store: MemoryServiceStore,
    jobs: MemoryJobBoard,
    provider: MemoryProvider,
    backends: Backends,
    manager: Manager,
    project: ProjectId,
}

fn world_with(provider: Arc<dyn CdnProvider>, memory: MemoryProvider) -> World {
    let store = MemoryServiceStore::new();
    let jobs = MemoryJobBoard::new();
    let backends = Backends {
        store: Arc::new(store.clone()),
        flavors: Arc::new(MemoryFlavorStore::with_flavors([fixtures::flavor_with(
            "standard",
            &["memory"],
        )])),
        jobs: Arc::new(jobs.clone()),
        dns: Arc::new(MemoryDns::new()),
        providers: Providers::new().with(provider),
        notifier: None,
        certificates: None,
        metrics: None,
        log_delivery: None,
    };
    World {
        store,
        jobs,
        provider: memory,
        manager: Manager::new(
            backends.clone(),
            Settings {
                max_services_per_project: 1000,
                ..Settings::default()
            },
        ),
        backends,
        project: ProjectId::random(),
    }
}

fn world() -> World {
    let provider = MemoryProvider::new("memory");
    world_with(Arc::new(provider.clone()), provider)
}

fn config() -> RunnerConfig {
    RunnerConfig {
        worker_id: "test-worker".into(),
        concurrency: 4,
        lease: Duration::from_secs(5),
        max_attempts: 3,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        idle_wait: Duration::from_millis(10),
        shutdown_grace: Duration::from_millis(50),
        ..RunnerConfig::default()
    }
}

impl World {
    async fn create(&self) -> ServiceId {
        let domain = fixtures::unique_domain();
        self.manager
            .create_service(
                &self.project,
                json!({"name": "svc", "domains": [{"domain": domain}],
                       "origins": [{"origin": "origin.example.com"}], "flavor_id": "standard"}),
            )
            .await
            .expect("created")
    }

    async fn service(&self, id: &ServiceId) -> Service {
        let service = self
            .manager
            .get_service(&self.project, id)
            .await
            .expect("service exists");
        std::sync::Arc::unwrap_or_clone(service)
    }

    /// Runs jobs one at a time until none is claimable for a while.
    async fn drain(&self, runner: &Runner) -> Vec<JobReport> {
        let mut reports = Vec::new();
        let mut idle = 0;
        while idle < 50 && reports.len() < 1000 {
            match runner.run_one().await.expect("claim") {
                Some(report) => {
                    reports.push(report);
                    idle = 0;
                }
                None => {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
        reports
    }
}

#[tokio::test]
async fn a_created_service_is_deployed_by_one_run() {
    let w = world();
    let id = w.create().await;
    let runner = Runner::new(w.backends.clone(), config());
    assert_eq!(
        runner.run_one().await.expect("claim"),
        Some(JobReport::Completed)
    );
    let service = w.service(&id).await;
    assert_eq!(service.status, ServiceStatus::Deployed);
    assert_eq!(w.provider.configurations_for(&id).len(), 1);
    assert_eq!(w.jobs.completed().len(), 1);
}

#[tokio::test]
async fn transient_failures_are_retried_until_deployed_without_duplicates() {
    let w = world();
    w.provider
        .fail_next(ProviderOp::Create, 2, FailureKind::unavailable());
    let id = w.create().await;
    let runner = Runner::new(w.backends.clone(), config());
    let reports = w.drain(&runner).await;
    let retries = reports
        .iter()
        .filter(|r| matches!(r, JobReport::Retried { .. }))
        .count();
    assert_eq!(retries, 2, "{reports:?}");
    assert_eq!(reports.last(), Some(&JobReport::Completed));
    assert_eq!(w.service(&id).await.status, ServiceStatus::Deployed);
    assert_eq!(w.provider.configurations_for(&id).len(), 1);
}

#[tokio::test]
async fn a_retry_after_hint_is_a_floor_for_the_backoff() {
    let w = world();
    w.provider.fail_next(
        ProviderOp::Create,
        1,
        FailureKind::rate_limited(Duration::from_millis(400)),
    );
    w.create().await;
    let runner = Runner::new(w.backends.clone(), config());
    let before = poppy_core::clock::now_ms();
    match runner.run_one().await.expect("claim") {
        Some(JobReport::Retried { delay, .. }) => {
            assert!(delay >= Duration::from_millis(400), "{delay:?}")
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    let job = &w.jobs.jobs()[0];
    assert!(
        job.not_before >= before + 400,
        "not_before {} < {}",
        job.not_before,
        before + 400
    );
    // Not claimable before the hint has passed.
    assert_eq!(runner.run_one().await.expect("claim"), None);
}

#[tokio::test]
async fn running_out_of_attempts_marks_the_service_failed_with_the_error() {
    let w = world();
    w.provider
        .fail_next(ProviderOp::Create, 100, FailureKind::unavailable());
    let id = w.create().await;
    let runner = Runner::new(w.backends.clone(), config());
    let reports = w.drain(&runner).await;
    assert!(
        matches!(reports.last(), Some(JobReport::GaveUp { .. })),
        "{reports:?}"
    );
    assert_eq!(reports.len(), 3, "max_attempts runs: {reports:?}");
    let service = w.service(&id).await;
    assert_eq!(service.status, ServiceStatus::Failed);
    let detail = &service.provider_details["memory"];
    assert_eq!(detail.status, ProviderStatus::Failed);
    assert!(
        detail
            .error_info
            .as_deref()
            .unwrap_or("")
            .contains("injected failure"),
        "{detail:?}"
    );
    assert_eq!(w.jobs.failed().len(), 1);
    assert!(w.jobs.jobs().is_empty(), "the job left the queue");
}

#[tokio::test]
async fn an_invalid_service_fails_on_the_first_run() {
    let w = world();
    w.provider
        .fail_next(ProviderOp::Create, 1, FailureKind::Invalid);
    let id = w.create().await;
    let runner = Runner::new(w.backends.clone(), config());
    assert_eq!(
        runner.run_one().await.expect("claim"),
        Some(JobReport::Completed)
    );
    let service = w.service(&id).await;
    assert_eq!(service.status, ServiceStatus::Failed);
    assert!(service.provider_details["memory"].error_message.is_some());
}

#[tokio::test]
async fn the_job_of_a_dead_worker_is_reclaimed_after_its_lease() {
    let w = world();
    let id = w.create().await;
    // A worker claims the job and dies without a word.
    let dead = w
        .jobs
        .claim("dead-worker", Duration::from_millis(100))
        .await
        .expect("claim")
        .expect("a job");
    let runner = Runner::new(w.backends.clone(), config());
    assert_eq!(runner.run_one().await.expect("claim"), None, "still leased");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        runner.run_one().await.expect("claim"),
        Some(JobReport::Completed)
    );
    assert_eq!(w.service(&id).await.status, ServiceStatus::Deployed);
    assert_eq!(w.provider.configurations_for(&id).len(), 1);
    // The dead worker's claim is worthless now.
    assert!(matches!(
        w.jobs.complete(&dead).await,
        Err(PortError::Conflict(_))
    ));
}

#[tokio::test]
async fn many_services_deploy_with_concurrent_slots_each_exactly_once() {
    let w = world();
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(w.create().await);
    }
    let runner = Runner::new(w.backends.clone(), config());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let runner = runner.clone();
        async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let deployed = w
            .store
            .services()
            .iter()
            .filter(|s| s.status == ServiceStatus::Deployed)
            .count();
        if deployed == ids.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {deployed} deployed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(());
    running.await.expect("runner stopped");
    for id in &ids {
        assert_eq!(w.provider.configurations_for(id).len(), 1);
    }
}

/// A provider whose create takes a long time (to stop the runner mid-flow).
#[derive(Debug)]
struct Slow(MemoryProvider);

#[async_trait]
impl CdnProvider for Slow {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn capabilities(&self) -> ProviderCapabilities {
        self.0.capabilities()
    }
    async fn is_alive(&self) -> bool {
        true
    }
    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        self.0.create(service).await
    }
    async fn update(&self, id: &str, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.0.update(id, service).await
    }
    async fn delete(&self, id: &str, service: &Service) -> Result<(), PortError> {
        self.0.delete(id, service).await
    }
    async fn purge(
        &self,
        id: &str,
        s: &Service,
        t: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        self.0.purge(id, s, t, hard).await
    }
    async fn status(&self, id: &str) -> Result<ProviderStatus, PortError> {
        self.0.status(id).await
    }
}

#[tokio::test]
async fn shutdown_releases_the_claims_of_flows_still_running() {
    let memory = MemoryProvider::new("memory");
    let w = world_with(Arc::new(Slow(memory.clone())), memory);
    let id = w.create().await;
    let runner = Runner::new(w.backends.clone(), config());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let runner = runner.clone();
        async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await
        }
    });
    let job_id = w.jobs.jobs()[0].id;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while w.jobs.holder(&job_id).is_none() {
        assert!(tokio::time::Instant::now() < deadline, "never claimed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the runner stops within the grace period")
        .expect("runner task");
    assert_eq!(w.jobs.holder(&job_id), None, "claim released");
    let job = w.jobs.job(&job_id).expect("job still queued");
    assert_eq!(
        job.attempts, 0,
        "a released run does not count as an attempt"
    );
    assert_eq!(w.service(&id).await.status, ServiceStatus::CreateInProgress);
}

#[tokio::test]
async fn the_reconciler_reposts_a_job_lost_between_the_store_and_the_board() {
    let w = world();
    w.jobs.fail_next(
        poppy_core::testkit::memory::JobOp::Post,
        1,
        FailureKind::unavailable(),
    );
    let id = w.create().await;
    assert!(w.jobs.jobs().is_empty(), "the post was lost");
    let runner = Runner::new(w.backends.clone(), config());
    assert_eq!(runner.run_one().await.expect("claim"), None);

    let report = poppy_core::manager::reconcile(&w.backends, Duration::ZERO)
        .await
        .expect("reconciled");
    assert_eq!(report.reposted, 1, "{report:?}");
    assert_eq!(
        runner.run_one().await.expect("claim"),
        Some(JobReport::Completed)
    );
    assert_eq!(w.service(&id).await.status, ServiceStatus::Deployed);

    // Nothing stuck any more: a second pass re-posts nothing.
    let again = poppy_core::manager::reconcile(&w.backends, Duration::ZERO)
        .await
        .expect("reconciled");
    assert_eq!(again.reposted, 0);
}
