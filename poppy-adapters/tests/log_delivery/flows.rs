//! The create and update flows with a log-delivery port (§5.2 steps 3-5,
//! §5.3 step 3): the use cases and flows of poppy-core over the in-memory
//! adapters, with the port mocked or in memory, jobs run as a worker would.

use std::sync::Arc;
use std::time::Duration;

use poppy_core::clock::now_ms;
use poppy_core::flows::{self, FlowSettings, Outcome};
use poppy_core::manager::{Manager, Settings};
use poppy_core::model::{AuthToken, Job, ProjectId, Service, ServiceId, ServiceStatus};
use poppy_core::ports::{
    with_auth_token, CdnProvider, LogDelivery, LogDeliveryUrl, MockLogDelivery, PortError,
    ServiceApi,
};
use poppy_core::testkit::fixtures;
use poppy_core::testkit::memory::{
    FailureKind, MemoryDns, MemoryFlavorStore, MemoryJobBoard, MemoryLogDelivery, MemoryProvider,
    MemoryServiceStore, ProviderOp,
};
use poppy_core::{Backends, Providers};
use serde_json::{json, Value};

const SECRET: &str = "tenant-token-9f8e7d";

struct World {
    manager: Manager,
    backends: Backends,
    jobs: MemoryJobBoard,
    store: MemoryServiceStore,
    provider: MemoryProvider,
}

fn world(log_delivery: Option<Arc<dyn LogDelivery>>) -> World {
    let store = MemoryServiceStore::new();
    let jobs = MemoryJobBoard::new();
    let provider = MemoryProvider::new("mock");
    let backends = Backends {
        store: Arc::new(store.clone()),
        flavors: Arc::new(MemoryFlavorStore::with_flavors([fixtures::flavor_with(
            "standard",
            &["mock"],
        )])),
        jobs: Arc::new(jobs.clone()),
        dns: Arc::new(MemoryDns::new()),
        providers: Providers::new().with(Arc::new(provider.clone()) as Arc<dyn CdnProvider>),
        notifier: None,
        certificates: None,
        metrics: None,
        log_delivery,
    };
    World {
        manager: Manager::new(backends.clone(), Settings::default()),
        backends,
        jobs,
        store,
        provider,
    }
}

fn token() -> Option<AuthToken> {
    AuthToken::new(SECRET)
}

fn body(enabled: bool) -> Value {
    json!({"name": "site", "flavor_id": "standard",
        "domains": [{"domain": fixtures::unique_domain()}],
        "origins": [{"origin": "origin.example.com"}],
        "log_delivery": {"enabled": enabled}})
}

fn url(project: &ProjectId) -> LogDeliveryUrl {
    MemoryLogDelivery::container_url(project)
}

impl World {
    /// Runs queued jobs until none is left; a retry is re-queued at once.
    /// Returns the outcomes.
    async fn run_jobs(&self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        for _ in 0..20 {
            let claim = self
                .backends
                .jobs
                .claim("test-worker", Duration::from_secs(60))
                .await
                .expect("claim");
            let Some(claim) = claim else {
                return outcomes;
            };
            let outcome = flows::run(&self.backends, &claim, &FlowSettings::default()).await;
            match &outcome {
                Outcome::Done => self.backends.jobs.complete(&claim).await.expect("complete"),
                Outcome::Retry { error, .. } => self
                    .backends
                    .jobs
                    .retry(&claim, now_ms(), error)
                    .await
                    .expect("retry"),
                other => panic!("unexpected outcome {other:?}"),
            }
            outcomes.push(outcome);
        }
        panic!("jobs kept coming: {outcomes:?}");
    }

    async fn create(&self, project: &ProjectId, enabled: bool) -> ServiceId {
        with_auth_token(token(), self.manager.create_service(project, body(enabled)))
            .await
            .expect("create")
    }

    async fn patch(&self, project: &ProjectId, id: &ServiceId, patch: Value) {
        with_auth_token(token(), self.manager.patch_service(project, id, patch))
            .await
            .expect("patch");
    }

    async fn service(&self, project: &ProjectId, id: &ServiceId) -> Service {
        std::sync::Arc::unwrap_or_clone(self.manager.get_service(project, id).await.expect("get"))
    }

    /// The last job that ran.
    fn last_job(&self) -> Job {
        self.jobs.completed().last().cloned().expect("a job ran")
    }
}

fn log_urls(service: &Service) -> Vec<Vec<String>> {
    service
        .provider_details
        .values()
        .map(|d| d.log_delivery_urls.clone())
        .collect()
}

/// Nothing that is kept about the service holds the token.
fn assert_no_token_in(service: &Service) {
    let text = format!(
        "{} {service:?}",
        serde_json::to_string(service).expect("serialise")
    );
    assert!(!text.contains(SECRET), "the token is kept: {text}");
}

#[tokio::test]
async fn a_create_with_log_delivery_gets_the_container_url() {
    let project = ProjectId::random();
    let mut port = MockLogDelivery::new();
    let expected_project = project.clone();
    port.expect_ensure_container()
        .times(1)
        .withf(move |p, t| *p == expected_project && t.map(|t| t.expose()) == Some(SECRET))
        .returning(|p, _| Ok(vec![url(p)]));
    let w = world(Some(Arc::new(port)));
    let id = w.create(&project, true).await;
    assert_eq!(
        w.jobs.jobs()[0].auth_token,
        token(),
        "the job carries the request's token"
    );
    assert_eq!(w.run_jobs().await, [Outcome::Done]);

    let service = w.service(&project, &id).await;
    assert_eq!(service.status, ServiceStatus::Deployed);
    assert!(service.spec.log_delivery.enabled);
    assert_eq!(log_urls(&service), [vec![url(&project).public_url]]);
    assert_no_token_in(&service);
    for stored in w.store.services() {
        assert_no_token_in(&stored);
    }
}

#[tokio::test]
async fn without_a_container_log_delivery_is_turned_off() {
    for answer in [Ok(()), Err(())] {
        let mut port = MockLogDelivery::new();
        port.expect_ensure_container()
            .times(1)
            .returning(move |_, _| match answer {
                Ok(()) => Ok(Vec::new()),
                Err(()) => Err(PortError::Invalid("token refused".into())),
            });
        let w = world(Some(Arc::new(port)));
        let project = ProjectId::random();
        let id = w.create(&project, true).await;
        assert_eq!(w.run_jobs().await, [Outcome::Done]);
        let service = w.service(&project, &id).await;
        assert_eq!(service.status, ServiceStatus::Deployed, "{answer:?}");
        assert!(!service.spec.log_delivery.enabled, "{answer:?}");
        assert_eq!(log_urls(&service), [Vec::<String>::new()]);
    }
}

#[tokio::test]
async fn a_failed_provider_turns_log_delivery_off_without_making_a_container() {
    let port = MemoryLogDelivery::new();
    let w = world(Some(Arc::new(port.clone())));
    w.provider
        .fail_next(ProviderOp::Create, 1, FailureKind::Invalid);
    let project = ProjectId::random();
    let id = w.create(&project, true).await;
    assert_eq!(w.run_jobs().await, [Outcome::Done]);
    let service = w.service(&project, &id).await;
    assert_eq!(service.status, ServiceStatus::Failed);
    assert!(!service.spec.log_delivery.enabled);
    assert!(port.calls().is_empty(), "{:?}", port.calls());
}

#[tokio::test]
async fn an_object_store_outage_retries_the_job_without_redeploying() {
    let port = MemoryLogDelivery::new();
    port.fail_next(1, FailureKind::unavailable());
    let w = world(Some(Arc::new(port.clone())));
    let project = ProjectId::random();
    let id = w.create(&project, true).await;
    let outcomes = w.run_jobs().await;
    assert!(
        matches!(outcomes.as_slice(), [Outcome::Retry { .. }, Outcome::Done]),
        "{outcomes:?}"
    );
    assert_eq!(w.provider.call_count(ProviderOp::Create), 1, "checkpointed");
    let service = w.service(&project, &id).await;
    assert!(service.spec.log_delivery.enabled);
    assert_eq!(log_urls(&service), [vec![url(&project).public_url]]);
    let calls = port.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls.iter().all(|c| c.token.as_deref() == Some(SECRET)),
        "the retried job still has the token"
    );
}

#[tokio::test]
async fn an_update_makes_the_container_only_when_log_delivery_turns_on() {
    let port = MemoryLogDelivery::new();
    let w = world(Some(Arc::new(port.clone())));
    let project = ProjectId::random();
    let id = w.create(&project, false).await;
    w.run_jobs().await;
    assert!(port.calls().is_empty(), "off: no container");
    assert_eq!(w.last_job().auth_token, None, "nor a token in the job");

    let on = json!([{"op": "replace", "path": "/log_delivery/enabled", "value": true}]);
    w.patch(&project, &id, on.clone()).await;
    assert_eq!(w.jobs.jobs()[0].auth_token, token());
    w.run_jobs().await;
    let service = w.service(&project, &id).await;
    assert!(service.spec.log_delivery.enabled);
    assert_eq!(log_urls(&service), [vec![url(&project).public_url]]);
    assert_eq!(port.calls().len(), 1, "false -> true: one container");

    // Staying on: the container is kept, not made again.
    w.patch(
        &project,
        &id,
        json!([{"op": "replace", "path": "/name", "value": "renamed"}]),
    )
    .await;
    assert_eq!(w.jobs.jobs()[0].auth_token, None, "no token needed");
    w.run_jobs().await;
    let service = w.service(&project, &id).await;
    assert!(service.spec.log_delivery.enabled);
    assert_eq!(log_urls(&service), [vec![url(&project).public_url]]);
    assert_eq!(port.calls().len(), 1, "true -> true: nothing made");

    // Off drops the link; on again makes (ensures) the container again.
    w.patch(
        &project,
        &id,
        json!([{"op": "replace", "path": "/log_delivery/enabled", "value": false}]),
    )
    .await;
    w.run_jobs().await;
    assert_eq!(
        log_urls(&w.service(&project, &id).await),
        [Vec::<String>::new()]
    );
    w.patch(&project, &id, on).await;
    w.run_jobs().await;
    assert_eq!(port.calls().len(), 2);
    let service = w.service(&project, &id).await;
    assert!(service.spec.log_delivery.enabled);
    assert_no_token_in(&service);
}

#[tokio::test]
async fn without_a_log_delivery_service_the_setting_is_kept_as_given() {
    let w = world(None);
    let project = ProjectId::random();
    let id = w.create(&project, true).await;
    assert_eq!(
        w.jobs.jobs()[0].auth_token,
        None,
        "no token kept for nothing"
    );
    assert_eq!(w.run_jobs().await, [Outcome::Done]);
    let service = w.service(&project, &id).await;
    assert_eq!(service.status, ServiceStatus::Deployed);
    assert!(service.spec.log_delivery.enabled);
    assert_eq!(log_urls(&service), [Vec::<String>::new()]);
}

#[tokio::test]
async fn the_memory_adapter_meets_the_port_contract() {
    poppy_core::testkit::conformance::log_delivery::run_all(
        &MemoryLogDelivery::new(),
        &ProjectId::random(),
        &ProjectId::random(),
        &AuthToken::new("any").expect("a token"),
    )
    .await;
}
