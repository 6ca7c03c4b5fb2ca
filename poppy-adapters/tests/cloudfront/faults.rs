//! The CloudFront driver under the real worker: against moto behind the
//! fault proxy with 30% of its mutating requests failing (429 with
//! `Retry-After`, 500, 503, timeouts, connection resets) every service
//! deploys with exactly one distribution; a permanent 4xx fails the service
//! on its first attempt with CloudFront's message. And rollouts: against
//! the XML fake, a create and an update stay in progress while the
//! distribution reads `InProgress`, and the flows poll until `Deployed`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use poppy_adapters::provider::cloudfront::{CloudFrontConfig, CloudFrontProvider};
use poppy_core::model::{ProviderStatus, ServiceStatus};
use poppy_core::testkit::fixtures;

#[path = "../support/faults.rs"]
pub(crate) mod faults_support;

use faults_support::{
    assert_all_deployed, aws_error, services, FaultPlan, FaultProxy, Injected, Recorded, Rig,
    REJECTION, TRANSIENT,
};

/// Services driven through the faults. moto answers at most 100
/// distributions per list (and has no pagination), renders every one on
/// each list, and is shared with the other CloudFront tests: 40 keeps it
/// quick and the adoption of a retried create (which lists) exact.
const SERVICES: usize = 40;

fn moto() -> Option<String> {
    std::env::var("POPPY_TEST_MOTO").ok()
}

/// A driver through `proxy`, commenting its distributions with `prefix`.
fn driver(proxy: &FaultProxy, prefix: &str) -> CloudFrontProvider {
    let config = CloudFrontConfig {
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some("testing-secret-key".to_owned()),
        endpoint: Some(proxy.uri()),
        // Short, so that held answers time out quickly.
        timeout_secs: 1,
        connect_timeout_secs: 1,
        disable_poll_secs: 1,
        comment_prefix: prefix.to_owned(),
        ..CloudFrontConfig::default()
    };
    CloudFrontProvider::build(config).unwrap_or_else(|e| panic!("a valid config was refused: {e}"))
}

/// moto's distributions commented `prefix…`: comment → (id, caller reference).
async fn distributions(endpoint: &str, prefix: &str) -> Vec<(String, String, String)> {
    let client = crate::support::sdk(endpoint).await;
    let list = client
        .list_distributions()
        .send()
        .await
        .expect("list moto's distributions");
    let mut found = Vec::new();
    for summary in list
        .distribution_list()
        .map(|l| l.items())
        .unwrap_or_default()
    {
        if !summary.comment().starts_with(prefix) {
            continue;
        }
        let config = client
            .get_distribution_config()
            .id(summary.id())
            .send()
            .await
            .expect("read a distribution's config");
        let reference = config
            .distribution_config()
            .map(|c| c.caller_reference.clone())
            .unwrap_or_default();
        found.push((
            summary.comment().to_owned(),
            summary.id().to_owned(),
            reference,
        ));
    }
    found
}

/// Deletes what a test made in moto (moto deletes enabled distributions).
async fn clean_up(endpoint: &str, ids: &[String]) {
    let client = crate::support::sdk(endpoint).await;
    for id in ids {
        let _ = client
            .delete_distribution()
            .id(id)
            .if_match("any")
            .send()
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_faults_deploy_every_service_with_one_distribution() {
    let Some(endpoint) = moto() else { return };
    // Every service makes at least one covered request (its create), so
    // the first SERVICES draws are all taken.
    let plan = FaultPlan::thirty_percent(0xC1_0002, Duration::from_millis(1_500));
    plan.assert_every_kind_within(SERVICES);
    let proxy = FaultProxy::start(&endpoint, plan.clone(), aws_error()).await;
    let prefix = format!("poppy-faults-{}:", fixtures::unique_label());
    let provider = Recorded::new(Arc::new(driver(&proxy, &prefix)));
    let rig = Rig::new(provider.clone());
    let submitted = services(SERVICES);
    rig.submit(&submitted).await;
    let done = rig
        .run(Rig::runner_config(8, 60), Duration::from_secs(120))
        .await;

    assert_eq!(done.len(), SERVICES);
    assert_all_deployed(&done, "cloudfront");

    // Exactly one distribution per service: its caller reference is the
    // service id, its comment names it, and the service points at it.
    let held = distributions(&endpoint, &prefix).await;
    let ids: Vec<String> = held.iter().map(|(_, id, _)| id.clone()).collect();
    let by_reference: BTreeMap<&str, (&str, &str)> = held
        .iter()
        .map(|(comment, id, reference)| (reference.as_str(), (comment.as_str(), id.as_str())))
        .collect();
    assert_eq!(held.len(), SERVICES, "distributions held");
    assert_eq!(by_reference.len(), SERVICES, "one caller reference each");
    for service in &done {
        let key = service.id.to_string();
        let (comment, id) = by_reference
            .get(key.as_str())
            .unwrap_or_else(|| panic!("no distribution for service {key}"));
        assert_eq!(*comment, format!("{prefix}{key}"));
        assert_eq!(
            service.provider_details["cloudfront"]
                .provider_service_id
                .as_deref(),
            Some(*id)
        );
    }

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
        counts[&Injected::Throttled],
        "every injected 429 became a retry hint"
    );
    clean_up(&endpoint, &ids).await;
}

#[tokio::test]
async fn a_permanent_4xx_fails_the_service_on_its_first_attempt() {
    let Some(endpoint) = moto() else { return };
    let proxy = FaultProxy::start(&endpoint, FaultPlan::rejecting(3), aws_error()).await;
    let prefix = format!("poppy-faults-{}:", fixtures::unique_label());
    let provider = Recorded::new(Arc::new(driver(&proxy, &prefix)));
    let rig = Rig::new(provider.clone());
    rig.submit(&services(1)).await;
    let done = rig
        .run(Rig::runner_config(2, 60), Duration::from_secs(30))
        .await;

    let service = &done[0];
    assert_eq!(service.status, ServiceStatus::Failed);
    let detail = &service.provider_details["cloudfront"];
    assert_eq!(detail.status, ProviderStatus::Failed);
    let message = detail.error_message.as_deref().unwrap_or_default();
    assert!(
        message.contains(REJECTION) && message.contains("CreateDistribution"),
        "the tenant sees CloudFront's message and the operation: {message:?}"
    );
    let info = detail.error_info.as_deref().unwrap_or_default();
    assert!(
        info.contains("Invalid") && info.contains("InvalidArgument"),
        "error_info: {info:?}"
    );
    assert_eq!(provider.calls(&service.id), 1, "one attempt, no retry");
    let jobs = rig.jobs.completed();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].attempts, 1, "the job ran once");
    assert!(distributions(&endpoint, &prefix).await.is_empty());
    let mutating: Vec<String> = proxy
        .journal()
        .into_iter()
        .filter(|s| s.method != "GET")
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(mutating.len(), 1, "one mutating request: {mutating:?}");
}
