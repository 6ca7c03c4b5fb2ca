//! The Fastly driver under the real worker with 30% of its mutating
//! requests failing (429 with `Retry-After`, 500, 503, timeouts, connection
//! resets) through the fault proxy: every service deploys, Fastly holds
//! exactly one service per Poppy service, retries honour `Retry-After`; a
//! permanent 4xx fails the service on its first attempt with Fastly's
//! message.

use std::sync::Arc;
use std::time::Duration;

use poppy_adapters::provider::fastly::{FastlyConfig, FastlyProvider};
use poppy_core::model::{ProviderStatus, ServiceStatus};

#[path = "../support/faults.rs"]
mod faults_support;

use crate::fake::FakeFastly;
use faults_support::{
    assert_all_deployed, fastly_error, services, FaultPlan, FaultProxy, Injected, Recorded, Rig,
    REJECTION, TRANSIENT,
};

const KEY: &str = "fault-test-key";
/// Services driven through the faults.
const SERVICES: usize = 300;

fn driver(proxy: &FaultProxy) -> FastlyProvider {
    let config = FastlyConfig {
        api_key: Some(KEY.to_owned()),
        api_url: proxy.uri(),
        // Short, so that held answers time out quickly.
        timeout_secs: 1,
        connect_timeout_secs: 1,
        ..FastlyConfig::default()
    };
    FastlyProvider::build(config).unwrap_or_else(|e| panic!("a valid config was refused: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_faults_deploy_every_service_exactly_once() {
    let fake = FakeFastly::start(KEY).await;
    // Every service makes at least one covered request (its create), so
    // the first SERVICES draws are all taken.
    let plan = FaultPlan::thirty_percent(0xFA57_0001, Duration::from_millis(1_500));
    plan.assert_every_kind_within(SERVICES);
    let proxy = FaultProxy::start(&fake.uri(), plan.clone(), fastly_error()).await;
    let provider = Recorded::new(Arc::new(driver(&proxy)));
    let rig = Rig::new(provider.clone());
    let submitted = services(SERVICES);
    rig.submit(&submitted).await;
    let done = rig
        .run(Rig::runner_config(32, 60), Duration::from_secs(120))
        .await;

    assert_eq!(done.len(), SERVICES);
    assert_all_deployed(&done, "fastly");

    // Exactly one Fastly service per Poppy service, named after it, its
    // active version serving the service's domain.
    assert_eq!(fake.service_count(), SERVICES, "Fastly services held");
    for service in &done {
        let id = service.provider_details["fastly"]
            .provider_service_id
            .clone()
            .unwrap_or_default();
        let fastly = fake
            .service(&id)
            .unwrap_or_else(|| panic!("service {}: Fastly has no {id}", service.id));
        assert!(
            fastly.name.ends_with(&service.id.to_string()),
            "{} is not named after {}",
            fastly.name,
            service.id
        );
        let active = fastly
            .active()
            .unwrap_or_else(|| panic!("{id} has no active version"));
        assert_eq!(
            active.names("domain"),
            vec![service.spec.domains[0].domain.clone()]
        );
    }

    // Every kind of fault was injected and retried through.
    let counts = proxy.counts();
    for kind in TRANSIENT {
        assert!(
            counts.get(&kind).copied().unwrap_or(0) > 0,
            "no {kind:?} injected: {counts:?}"
        );
    }
    // Each 429 reached the worker as a 1 s hint, and no call came sooner.
    let hinted = provider.assert_hints_honoured(Duration::from_secs(1));
    assert_eq!(
        hinted,
        counts[&Injected::Throttled],
        "every injected 429 became a retry hint"
    );
}

#[tokio::test]
async fn a_permanent_4xx_fails_the_service_on_its_first_attempt() {
    let fake = FakeFastly::start(KEY).await;
    let proxy = FaultProxy::start(&fake.uri(), FaultPlan::rejecting(7), fastly_error()).await;
    let provider = Recorded::new(Arc::new(driver(&proxy)));
    let rig = Rig::new(provider.clone());
    let submitted = services(1);
    rig.submit(&submitted).await;
    let done = rig
        .run(Rig::runner_config(2, 60), Duration::from_secs(30))
        .await;

    let service = &done[0];
    assert_eq!(service.status, ServiceStatus::Failed);
    let detail = &service.provider_details["fastly"];
    assert_eq!(detail.status, ProviderStatus::Failed);
    let message = detail.error_message.as_deref().unwrap_or_default();
    assert!(
        message.contains(REJECTION),
        "the tenant sees Fastly's message: {message:?}"
    );
    let info = detail.error_info.as_deref().unwrap_or_default();
    assert!(
        info.contains("Invalid") && info.contains(REJECTION),
        "error_info: {info:?}"
    );
    assert_eq!(provider.calls(&service.id), 1, "one attempt, no retry");
    let jobs = rig.jobs.completed();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].attempts, 1, "the job ran once");
    assert_eq!(fake.service_count(), 0, "nothing was made");
    let mutating = proxy
        .journal()
        .into_iter()
        .filter(|s| s.method != "GET")
        .count();
    assert_eq!(mutating, 1, "one mutating request: {:?}", proxy.journal());
}
