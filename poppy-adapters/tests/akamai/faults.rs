//! The Akamai driver under the real worker with 30% of its mutating PAPI
//! requests failing (429 with `Retry-After`, 500, 503, timeouts, connection
//! resets) through the fault proxy: every service deploys (activations
//! polled to `ACTIVE`), the contract server holds exactly one property per
//! service, retries honour `Retry-After`; a permanent 4xx fails the service
//! on its first attempt with Akamai's problem detail.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use poppy_adapters::provider::akamai::AkamaiProvider;
use poppy_core::model::{ProviderStatus, ServiceStatus};

#[path = "../support/faults.rs"]
mod faults_support;

use crate::fake::Fake;
use faults_support::{
    akamai_error, assert_all_deployed, services, FaultPlan, FaultProxy, Recorded, Rig, REJECTION,
    TRANSIENT,
};

/// Services driven through the faults.
const SERVICES: usize = 300;
/// The driver's request timeout; held answers take longer.
const TIMEOUT_MS: u64 = 500;

fn driver(fake: &Fake, proxy: &FaultProxy) -> AkamaiProvider {
    let mut config = fake.config();
    config.host = Some(proxy.uri());
    config.timeout_ms = TIMEOUT_MS;
    fake.provider_with(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_faults_deploy_every_service_with_one_property() {
    // Activations stay pending for one read: the flows poll them.
    let fake = Fake::start(1).await;
    // Every service makes at least one covered request, so the first
    // SERVICES draws are all taken.
    let plan = FaultPlan::thirty_percent(0xA4A_0001, Duration::from_millis(TIMEOUT_MS * 2));
    plan.assert_every_kind_within(SERVICES);
    let proxy = FaultProxy::start(&fake.server.uri(), plan, akamai_error()).await;
    let provider = Recorded::new(Arc::new(driver(&fake, &proxy)));
    let rig = Rig::new(provider.clone());
    let submitted = services(SERVICES);
    rig.submit(&submitted).await;
    let done = rig
        .run(Rig::runner_config(32, 60), Duration::from_secs(120))
        .await;

    assert_eq!(done.len(), SERVICES);
    assert_all_deployed(&done, "akamai");

    // Exactly one property per service, the one the service points at,
    // with one version active on the network.
    let state = fake.state();
    assert_eq!(state.properties.len(), SERVICES, "properties held");
    let names: BTreeSet<&str> = state.properties.values().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), SERVICES, "one name each");
    for service in &done {
        let id = service.provider_details["akamai"]
            .provider_service_id
            .clone()
            .unwrap_or_default();
        let property = state
            .properties
            .get(&id)
            .unwrap_or_else(|| panic!("service {}: no property {id}", service.id));
        assert!(
            property.name.contains(&service.id.to_string()),
            "{} is not named after {}",
            property.name,
            service.id
        );
        assert!(
            property.staging_version.is_some() || property.production_version.is_some(),
            "{id} has no active version"
        );
    }
    drop(state);

    let counts = proxy.counts();
    for kind in TRANSIENT {
        assert!(
            counts.get(&kind).copied().unwrap_or(0) > 0,
            "no {kind:?} injected: {counts:?}"
        );
    }
    let hinted = provider.assert_hints_honoured(Duration::from_secs(1));
    assert_eq!(
        hinted,
        counts[&faults_support::Injected::Throttled],
        "every injected 429 became a retry hint"
    );
}

#[tokio::test]
async fn a_permanent_4xx_fails_the_service_on_its_first_attempt() {
    let fake = Fake::start(0).await;
    let proxy =
        FaultProxy::start(&fake.server.uri(), FaultPlan::rejecting(5), akamai_error()).await;
    let provider = Recorded::new(Arc::new(driver(&fake, &proxy)));
    let rig = Rig::new(provider.clone());
    rig.submit(&services(1)).await;
    let done = rig
        .run(Rig::runner_config(2, 60), Duration::from_secs(30))
        .await;

    let service = &done[0];
    assert_eq!(service.status, ServiceStatus::Failed);
    let detail = &service.provider_details["akamai"];
    assert_eq!(detail.status, ProviderStatus::Failed);
    let message = detail.error_message.as_deref().unwrap_or_default();
    assert!(
        message.contains(REJECTION) && message.contains("400"),
        "the tenant sees Akamai's detail and status: {message:?}"
    );
    let info = detail.error_info.as_deref().unwrap_or_default();
    assert!(info.contains("Invalid"), "error_info: {info:?}");
    assert_eq!(provider.calls(&service.id), 1, "one attempt, no retry");
    let jobs = rig.jobs.completed();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].attempts, 1, "the job ran once");
    assert!(fake.state().properties.is_empty(), "nothing was made");
    let mutating: Vec<String> = proxy
        .journal()
        .into_iter()
        .filter(|s| s.method != "GET")
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(mutating.len(), 1, "one mutating request: {mutating:?}");
}
