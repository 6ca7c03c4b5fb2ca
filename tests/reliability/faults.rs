//! Injected provider faults: retried with backoff that honours
//! `Retry-After`, never duplicating a configuration; permanent errors fail
//! fast with the provider's reason.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use poppy::adapters::provider::mock::{
    FailureKind, MockOperation, MockProvider, MockProviderConfig,
};
use poppy::core::clock::{now_ms, Millis};
use poppy::core::model::{
    Claim, Job, ProjectId, ProviderDeployment, ProviderStatus, PurgeTarget, Service, ServiceId,
    ServiceStatus,
};
use poppy::core::ports::{
    CdnProvider, CertificateProvider, JobBoard, JobStats, PortError, ProviderCapabilities,
};
use tokio::task::JoinSet;

use crate::support::{domain, project, service_body, Rig, RigSetup, DEADLINE, POLL};

/// What a [`Recorded`] provider saw, per service, in order.
#[derive(Debug, Clone)]
enum Event {
    /// A call began.
    Call { at: Millis },
    /// A call failed, with the error's retry hint.
    Failed {
        at: Millis,
        retry_after: Option<Duration>,
    },
}

/// A mock provider under another name that records when each call began
/// and when each failure came back, per service.
struct Recorded {
    name: String,
    inner: Arc<MockProvider>,
    events: Mutex<BTreeMap<ServiceId, Vec<Event>>>,
}

impl Recorded {
    fn new(name: &str, inner: Arc<MockProvider>) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_owned(),
            inner,
            events: Mutex::default(),
        })
    }

    fn push(&self, service: &ServiceId, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(*service)
            .or_default()
            .push(event);
    }

    fn watch<T>(&self, service: &ServiceId, result: Result<T, PortError>) -> Result<T, PortError> {
        if let Err(error) = &result {
            self.push(
                service,
                Event::Failed {
                    at: now_ms(),
                    retry_after: error.retry_after(),
                },
            );
        }
        result
    }

    fn events(&self) -> BTreeMap<ServiceId, Vec<Event>> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl std::fmt::Debug for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorded")
            .field("name", &self.name)
            .finish()
    }
}

#[async_trait]
impl CdnProvider for Recorded {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> ProviderCapabilities {
        self.inner.capabilities()
    }

    async fn is_alive(&self) -> bool {
        self.inner.is_alive().await
    }

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.push(&service.id, Event::Call { at: now_ms() });
        let result = self.inner.create(service).await;
        self.watch(&service.id, result)
    }

    async fn update(&self, id: &str, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.push(&service.id, Event::Call { at: now_ms() });
        let result = self.inner.update(id, service).await;
        self.watch(&service.id, result)
    }

    async fn delete(&self, id: &str, service: &Service) -> Result<(), PortError> {
        self.push(&service.id, Event::Call { at: now_ms() });
        let result = self.inner.delete(id, service).await;
        self.watch(&service.id, result)
    }

    async fn purge(
        &self,
        id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        self.push(&service.id, Event::Call { at: now_ms() });
        let result = self.inner.purge(id, service, target, hard).await;
        self.watch(&service.id, result)
    }

    async fn status(&self, id: &str) -> Result<ProviderStatus, PortError> {
        self.inner.status(id).await
    }

    fn certificates(&self) -> Option<Arc<dyn CertificateProvider>> {
        self.inner.certificates()
    }

    fn supports_log_delivery(&self) -> bool {
        self.inner.supports_log_delivery()
    }
}

/// One `retry` the worker asked of the job board.
#[derive(Debug, Clone)]
struct Retry {
    service: ServiceId,
    not_before: Millis,
}

/// A job board that records every `retry` (service, `not_before`) and
/// otherwise passes through.
#[derive(Debug)]
struct RetryLog {
    inner: Arc<dyn JobBoard>,
    retries: Mutex<Vec<Retry>>,
}

impl RetryLog {
    fn retries(&self) -> Vec<Retry> {
        self.retries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl JobBoard for RetryLog {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn is_alive(&self) -> bool {
        self.inner.is_alive().await
    }
    async fn post(&self, job: &Job) -> Result<(), PortError> {
        self.inner.post(job).await
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
        self.retries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Retry {
                service: claim.job.service_id,
                not_before,
            });
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
        self.inner.wait_for_work(timeout).await
    }
    async fn stats(&self) -> Result<Option<JobStats>, PortError> {
        self.inner.stats().await
    }
}

fn faulty(kind: FailureKind, retry_after_ms: Option<u64>, seed: u64) -> Arc<MockProvider> {
    Arc::new(
        MockProvider::build(MockProviderConfig {
            failure_rate: 0.3,
            failure_kind: kind,
            retry_after_ms,
            seed: Some(seed),
            ..MockProviderConfig::default()
        })
        .expect("a valid mock configuration"),
    )
}

/// Waits until no service is being created any more.
async fn until_created(rig: &Rig) {
    let start = tokio::time::Instant::now();
    loop {
        let left = rig
            .backends
            .store
            .list_by_status(ServiceStatus::CreateInProgress, None, 1000)
            .await
            .expect("list services by status");
        if left.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE * 2,
            "{} services still being created after {:?}",
            left.len(),
            DEADLINE * 2
        );
        tokio::time::sleep(POLL * 4).await;
    }
}

/// 500 services over HTTP on a flavor of two providers that each fail 30%
/// of their calls (one rate-limited with a 40 ms `Retry-After`, one
/// unavailable with a 25 ms hint): every service deploys, every provider
/// holds exactly one configuration per service pushed by exactly one
/// successful call, and no retry ran before its hint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_faults_still_deploy_500_services_without_duplicates() {
    const SERVICES: usize = 500;
    const PROJECTS: usize = 10;
    let hints = [("mock-a", 40_u64), ("mock-b", 25_u64)];
    let limited = faulty(FailureKind::RateLimited, Some(hints[0].1), 0x5eed_0001);
    let unavailable = faulty(FailureKind::Unavailable, Some(hints[1].1), 0x5eed_0002);
    let providers = [
        Recorded::new(hints[0].0, limited.clone()),
        Recorded::new(hints[1].0, unavailable.clone()),
    ];
    let retry_log: Arc<Mutex<Option<Arc<RetryLog>>>> = Arc::default();
    let keep = retry_log.clone();
    let mut setup = RigSetup::new(
        providers
            .iter()
            .map(|p| p.clone() as Arc<dyn CdnProvider>)
            .collect(),
    );
    setup.wrap_jobs = Some(Box::new(move |inner| {
        let log = Arc::new(RetryLog {
            inner,
            retries: Mutex::default(),
        });
        *keep.lock().unwrap_or_else(|e| e.into_inner()) = Some(log.clone());
        log as Arc<dyn JobBoard>
    }));
    setup.runner.concurrency = 16;
    // Two providers failing 30% each: a run fails about half the time, so
    // allow far more failed runs than a service will ever see.
    setup.runner.max_attempts = 40;
    setup.max_services_per_project = 100;
    let rig = Rig::start(setup).await;
    let retry_log = retry_log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .expect("the job board was wrapped");

    let projects: Vec<String> = (0..PROJECTS).map(|_| project()).collect();
    let mut creates = JoinSet::new();
    let mut accepted: BTreeSet<(String, String)> = BTreeSet::new();
    for i in 0..SERVICES {
        let client = rig.client.clone();
        let project = projects[i % PROJECTS].clone();
        creates.spawn(async move {
            let id = client
                .create(&project, &service_body(&format!("svc{i}"), &domain()))
                .await;
            (project, id)
        });
        if creates.len() >= 16 {
            if let Some(done) = creates.join_next().await {
                accepted.insert(done.expect("a create task"));
            }
        }
    }
    while let Some(done) = creates.join_next().await {
        accepted.insert(done.expect("a create task"));
    }
    assert_eq!(accepted.len(), SERVICES);
    until_created(&rig).await;

    // Every service reads back deployed over HTTP.
    for (project, id) in &accepted {
        let resp = rig
            .client
            .get(project, &format!("/v1.0/services/{id}"))
            .await;
        assert_eq!(resp.status, 200, "{resp}");
        assert_eq!(resp.json()["status"], "deployed", "service {id}: {resp}");
    }

    let ids: BTreeSet<ServiceId> = accepted
        .iter()
        .map(|(_, id)| id.parse().expect("a service id"))
        .collect();
    for (provider, mock) in [(&providers[0], &limited), (&providers[1], &unavailable)] {
        // Exactly one configuration per service, pushed once.
        let configurations = mock.configurations();
        assert_eq!(
            configurations.len(),
            SERVICES,
            "{}: configurations held",
            provider.name
        );
        let held: BTreeSet<ServiceId> = configurations.iter().map(|c| c.service_id).collect();
        assert_eq!(
            held, ids,
            "{}: one configuration per service",
            provider.name
        );
        for c in &configurations {
            assert_eq!(
                c.pushes, 1,
                "{}: service {} was pushed {} times",
                provider.name, c.service_id, c.pushes
            );
        }

        // Faults were injected, and no call after a failure came before
        // the failure's Retry-After had passed.
        let events = provider.events();
        let mut failures = 0;
        for (service, events) in &events {
            for pair in events.windows(2) {
                if let [Event::Failed { at, retry_after }, Event::Call { at: next }] = pair {
                    failures += 1;
                    let hint = retry_after.expect("the mock's failures carry a hint");
                    let hint_ms = i64::try_from(hint.as_millis()).expect("a small hint");
                    assert!(
                        *next >= at + hint_ms,
                        "{}: service {service} was called again {} ms after a failure \
                         that asked for {hint_ms} ms",
                        provider.name,
                        next - at
                    );
                }
            }
        }
        assert!(
            failures >= SERVICES / 10,
            "{}: only {failures} failures were retried; the injection did not work",
            provider.name
        );
    }

    // The job board side: a run stops at its first retryable failure, so
    // the n-th retry of a service answers its n-th failure, and must be
    // scheduled at least that failure's hint after it.
    let retries = retry_log.retries();
    assert!(!retries.is_empty(), "no retry was scheduled");
    let mut by_service: BTreeMap<ServiceId, Vec<Millis>> = BTreeMap::new();
    for retry in &retries {
        by_service
            .entry(retry.service)
            .or_default()
            .push(retry.not_before);
    }
    for (service, not_befores) in &by_service {
        let mut failures: Vec<(Millis, i64)> = providers
            .iter()
            .flat_map(|p| p.events().remove(service).unwrap_or_default())
            .filter_map(|e| match e {
                Event::Failed { at, retry_after } => Some((
                    at,
                    retry_after.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0)),
                )),
                Event::Call { .. } => None,
            })
            .collect();
        failures.sort();
        assert_eq!(
            failures.len(),
            not_befores.len(),
            "service {service}: one retry per failure: {failures:?} / {not_befores:?}"
        );
        for ((at, hint), not_before) in failures.iter().zip(not_befores) {
            assert!(
                *not_before >= at + hint,
                "service {service}: retry scheduled {} ms after a failure that asked for \
                 {hint} ms: {failures:?} / {not_befores:?}",
                not_before - at
            );
        }
    }
    rig.stop().await;
}

/// A permanent provider error (4xx-like `Invalid`) fails the service on the
/// first run, without retries, and says why.
#[tokio::test]
async fn a_permanent_provider_error_fails_on_the_first_run_with_its_reason() {
    let mock = Arc::new(
        MockProvider::build(MockProviderConfig {
            failure_rate: 1.0,
            failure_kind: FailureKind::Invalid,
            fail_operations: Some(vec![MockOperation::Create]),
            ..MockProviderConfig::default()
        })
        .expect("a valid mock configuration"),
    );
    let provider = Recorded::new("mock", mock.clone());
    let retry_log: Arc<Mutex<Option<Arc<RetryLog>>>> = Arc::default();
    let keep = retry_log.clone();
    let mut setup = RigSetup::new(vec![provider.clone() as Arc<dyn CdnProvider>]);
    setup.wrap_jobs = Some(Box::new(move |inner| {
        let log = Arc::new(RetryLog {
            inner,
            retries: Mutex::default(),
        });
        *keep.lock().unwrap_or_else(|e| e.into_inner()) = Some(log.clone());
        log as Arc<dyn JobBoard>
    }));
    let rig = Rig::start(setup).await;
    let p = project();
    let id = rig
        .client
        .create(&p, &service_body("doomed", &domain()))
        .await;

    let body = rig
        .client
        .settled(&p, &id)
        .await
        .expect("the service stays");
    assert_eq!(body["status"], "failed", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("injected failure") && message.contains("create"),
        "the tenant sees the provider's reason: {body}"
    );

    // Stored detail: the reason and the class of the failure.
    let service = rig
        .backends
        .store
        .get(&ProjectId::new(&p), &id.parse().expect("a service id"))
        .await
        .expect("read the store")
        .expect("the service is stored");
    let detail = &service.provider_details["mock"];
    assert_eq!(detail.status, ProviderStatus::Failed);
    let info = detail.error_info.as_deref().unwrap_or_default();
    assert!(
        info.contains("Invalid") && info.contains("create"),
        "error_info names the kind and the operation: {info:?}"
    );
    assert_eq!(detail.error_class.as_deref(), Some("provider"));

    // One call, no retry, no configuration.
    let events = provider.events();
    let calls = events
        .values()
        .flatten()
        .filter(|e| matches!(e, Event::Call { .. }))
        .count();
    assert_eq!(calls, 1, "the provider is called once: {events:?}");
    let retries = retry_log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|log| log.retries())
        .unwrap_or_default();
    assert!(retries.is_empty(), "no retry: {retries:?}");
    assert_eq!(mock.configuration_count(), 0);
    rig.stop().await;
}
