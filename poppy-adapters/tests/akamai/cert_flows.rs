//! The core's certificate use cases and flows (manager, jobs run one by one
//! as a worker would) over the testkit's memory stores, with the Akamai
//! driver pointed at the contract server's PAPI, SPS and CPS.

use std::sync::Arc;
use std::time::Duration;

use poppy_core::flows::{self, FlowSettings, Outcome};
use poppy_core::manager::{Manager, Settings};
use poppy_core::model::{CertStatus, ProjectId};
use poppy_core::ports::{
    CdnProvider, CertificateApi, CertificateStore, ConfigUpdate, FlavorStore, OperatorApi,
    ServiceApi,
};
use poppy_core::testkit::fixtures;
use poppy_core::testkit::memory::{
    MemoryCertificateStore, MemoryDns, MemoryFlavorStore, MemoryJobBoard, MemoryNotifier,
    MemoryServiceStore,
};
use poppy_core::{Backends, Providers};
use serde_json::{json, Value};

use crate::certificates::{cert_config, cert_fake, HOSTNAME_PROPERTY, SAN1, SNI1};
use crate::fake::Fake;

const PROVIDER: &str = "akamai";
const CHECK: &str = "akamai_check_and_update_cert_status";
const ATTACH: &str = "akamai_update_papi_property_for_mod_san";
const ATTACH_SNI: &str = "akamai_update_papi_property_for_mod_sni";

struct World {
    fake: Fake,
    manager: Manager,
    backends: Backends,
    certs: Arc<dyn CertificateStore>,
}

/// SPS requests stay running for `sps_polls` reads, CPS changes pending
/// for `cps_polls`.
async fn world(sps_polls: u32, cps_polls: u32) -> World {
    world_with(sps_polls, cps_polls, true).await
}

/// [`world`], with or without `certificates.hostname_property`.
async fn world_with(sps_polls: u32, cps_polls: u32, hostname_property: bool) -> World {
    let fake = cert_fake(sps_polls, cps_polls).await;
    let mut config = cert_config(&fake);
    if !hostname_property {
        config.certificates.hostname_property = None;
    }
    let provider = Arc::new(fake.provider_with(config));
    let certs: Arc<dyn CertificateStore> = Arc::new(MemoryCertificateStore::new());
    assert!(provider.use_certificate_settings(PROVIDER, certs.clone()));
    let flavors = MemoryFlavorStore::new();
    FlavorStore::create(&flavors, &fixtures::flavor_with("premium", &[PROVIDER]))
        .await
        .expect("flavor");
    let backends = Backends {
        store: Arc::new(MemoryServiceStore::new()),
        flavors: Arc::new(flavors),
        jobs: Arc::new(MemoryJobBoard::new()),
        dns: Arc::new(MemoryDns::new()),
        providers: Providers::new().with(provider as Arc<dyn CdnProvider>),
        notifier: Some(Arc::new(MemoryNotifier::new())),
        certificates: Some(certs.clone()),
        metrics: None,
        log_delivery: None,
    };
    World {
        fake,
        manager: Manager::new(backends.clone(), Settings::default()),
        backends,
        certs,
    }
}

impl World {
    /// Runs queued jobs until none is left; returns the flows that ran.
    async fn run_jobs(&self) -> Vec<String> {
        let mut ran = Vec::new();
        for _ in 0..50 {
            let claim = self
                .backends
                .jobs
                .claim("test-worker", Duration::from_secs(60))
                .await
                .expect("claim");
            let Some(claim) = claim else {
                return ran;
            };
            ran.push(claim.job.kind.name().to_owned());
            match flows::run(&self.backends, &claim, &FlowSettings::default()).await {
                Outcome::Done => self.backends.jobs.complete(&claim).await.expect("complete"),
                other => panic!("job {} did not finish: {other:?}", claim.job.kind.name()),
            }
        }
        panic!("jobs kept coming: {ran:?}");
    }

    /// A deployed service of `project` serving `domain` over https with a
    /// `cert_type` certificate.
    async fn service(&self, project: &ProjectId, domain: &str, cert_type: &str) {
        let body = json!({"name": format!("shop-{}", fixtures::unique_label()), "flavor_id": "premium",
            "domains": [{"domain": domain, "protocol": "https", "certificate": cert_type}],
            "origins": [{"origin": "origin.example.com"}]});
        self.manager
            .create_service(project, body)
            .await
            .expect("create service");
        assert_eq!(self.run_jobs().await, ["create_service"]);
    }

    async fn cert_status(&self, domain: &str) -> CertStatus {
        self.certs
            .get(domain)
            .await
            .expect("get")
            .expect("certificate exists")
            .status
    }

    async fn background(&self, job: Value) -> (usize, usize) {
        let report = self
            .manager
            .background_job(PROVIDER, job)
            .await
            .expect("background job");
        (report.sent.len(), report.ignored.len())
    }

    /// Asks for the certificate, reruns the retry list it is parked on and
    /// attaches its host name: it is then tracked and activated.
    async fn submit(&self, project: &ProjectId, domain: &str, cert_type: &str) {
        self.manager
            .create_certificate(
                project,
                json!({"flavor_id": "premium", "cert_type": cert_type, "domain_name": domain}),
            )
            .await
            .expect("create certificate");
        self.fake.clear_log();
        assert_eq!(self.run_jobs().await, ["create_ssl_certificate"]);
        assert!(
            self.fake.lines().is_empty(),
            "a first request calls no vendor API: {:?}",
            self.fake.lines()
        );
        assert_eq!(self.cert_status(domain).await, CertStatus::CreateInProgress);
        let retry = self.manager.retry_list(PROVIDER).await.expect("retry list");
        assert_eq!(
            retry,
            [
                json!({"domain_name": domain, "project_id": project, "flavor_id": "premium",
                    "cert_type": cert_type, "validate_service": true})
            ]
        );

        let run = self
            .manager
            .rerun_retry_list(PROVIDER)
            .await
            .expect("rerun");
        assert_eq!(run.processing.len(), 1, "{run:?}");
        assert_eq!(self.run_jobs().await, ["recreate_ssl_certificate"]);
        assert!(self
            .manager
            .retry_list(PROVIDER)
            .await
            .expect("list")
            .is_empty());
        let mapping = self.manager.san_mapping(PROVIDER).await.expect("mapping");
        assert_eq!(mapping.len(), 1, "{mapping:?}");

        let job_type = if cert_type == "sni" {
            ATTACH_SNI
        } else {
            ATTACH
        };
        let (sent, ignored) = self
            .background(json!({"job_type": job_type, "action": "add"}))
            .await;
        assert_eq!((sent, ignored), (1, 0));
        assert_eq!(self.run_jobs().await, ["update_certificate_hostnames"]);
    }

    /// Runs status checks until the certificate is no longer in progress;
    /// returns how many checks it took.
    async fn poll_until_done(&self, domain: &str) -> usize {
        for checks in 1..=10 {
            let (sent, _) = self.background(json!({"job_type": CHECK})).await;
            assert_eq!(sent, 1, "the tracked item is checked");
            assert_eq!(self.run_jobs().await, ["check_cert_status_and_update"]);
            if self.cert_status(domain).await != CertStatus::CreateInProgress {
                return checks;
            }
        }
        panic!("{domain} stayed in progress");
    }
}

#[tokio::test]
async fn a_san_certificate_is_parked_rerun_submitted_polled_deployed_and_deleted() {
    let w = world(2, 0).await;
    let p = ProjectId::random();
    let domain = fixtures::unique_domain();
    w.service(&p, &domain, "san").await;
    w.submit(&p, &domain, "san").await;

    let cert = w.certs.get(&domain).await.expect("get").expect("record");
    let info = &cert.cert_details[PROVIDER].extra_info;
    assert_eq!(info.san_cert.as_deref(), Some(SAN1));
    let sps_id = info.sps_id.expect("the SPS request is recorded");
    let posts: Vec<Value> = w
        .fake
        .log()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.contains("sps-requests"))
        .filter_map(|r| r.body)
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["add.sans"], json!(domain));
    // The driver recorded the certificate's newest SPS request where the
    // operator's settings are.
    let setting = w
        .manager
        .certificate_config(PROVIDER, poppy_core::model::CertConfigKind::San, SAN1)
        .await
        .expect("config");
    assert_eq!(setting["spsId"], json!(sps_id));

    let checks = w.poll_until_done(&domain).await;
    assert!(
        checks >= 2,
        "the SPS job takes several polls, took {checks}"
    );
    assert_eq!(w.cert_status(&domain).await, CertStatus::Deployed);
    assert!(w
        .manager
        .san_mapping(PROVIDER)
        .await
        .expect("mapping")
        .is_empty());
    let service = w
        .backends
        .store
        .find_by_domain(&domain)
        .await
        .expect("find")
        .expect("service");
    let detail = &service.provider_details[PROVIDER];
    assert_eq!(
        detail.domains_certificate_status[&domain],
        CertStatus::Deployed
    );
    assert_eq!(
        w.fake.state().san_certs[SAN1],
        std::slice::from_ref(&domain)
    );
    // The domain is served by the shared host name property, active.
    let property = w
        .fake
        .property(HOSTNAME_PROPERTY)
        .expect("the shared property");
    let latest = property.versions.last().expect("a version");
    assert!(
        latest
            .hostnames
            .as_array()
            .is_some_and(|h| h.iter().any(|h| {
                h["cnameFrom"] == json!(domain)
                    && h["cnameTo"] == json!(format!("{SAN1}.edgekey.net"))
            })),
        "{}",
        latest.hostnames
    );
    assert_eq!(
        property.staging_version,
        Some(property.versions.len() as u32)
    );

    // Delete: the domain leaves the SAN certificate, the record goes.
    w.manager
        .delete_certificate(&p, &domain, Some("san"))
        .await
        .expect("delete");
    assert_eq!(w.run_jobs().await, ["delete_ssl_certificate"]);
    assert!(w.certs.get(&domain).await.expect("get").is_none());
    let removal = w
        .fake
        .log()
        .into_iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| r.body)
        .find(|b| b.get("remove.sans").is_some());
    assert_eq!(
        removal.map(|b| b["remove.sans"].clone()),
        Some(json!(domain))
    );
}

#[tokio::test]
async fn a_san_request_with_no_free_certificate_goes_back_on_the_retry_list() {
    let w = world(0, 0).await;
    // Both SAN certificates disabled by the operator.
    for name in [SAN1, crate::certificates::SAN2] {
        let update = w
            .manager
            .update_certificate_config(
                PROVIDER,
                poppy_core::model::CertConfigKind::San,
                name,
                json!({"enabled": false}),
            )
            .await
            .expect("disable");
        assert!(matches!(update, ConfigUpdate::Updated(_)), "{update:?}");
    }
    let p = ProjectId::random();
    let domain = fixtures::unique_domain();
    w.service(&p, &domain, "san").await;
    w.manager
        .create_certificate(
            &p,
            json!({"flavor_id": "premium", "cert_type": "san", "domain_name": domain}),
        )
        .await
        .expect("create");
    w.run_jobs().await;
    w.manager.rerun_retry_list(PROVIDER).await.expect("rerun");
    assert_eq!(w.run_jobs().await, ["recreate_ssl_certificate"]);
    assert_eq!(w.cert_status(&domain).await, CertStatus::CreateInProgress);
    assert_eq!(
        w.manager.retry_list(PROVIDER).await.expect("list").len(),
        1,
        "parked again"
    );
    assert!(w.fake.state().sps.is_empty());

    // The operator enables one; the next rerun submits it.
    w.manager
        .update_certificate_config(
            PROVIDER,
            poppy_core::model::CertConfigKind::San,
            SAN1,
            json!({"enabled": true}),
        )
        .await
        .expect("enable");
    w.manager.rerun_retry_list(PROVIDER).await.expect("rerun");
    assert_eq!(w.run_jobs().await, ["recreate_ssl_certificate"]);
    assert!(w
        .manager
        .retry_list(PROVIDER)
        .await
        .expect("list")
        .is_empty());
    assert_eq!(w.fake.state().sps.len(), 1);
    let cert = w.certs.get(&domain).await.expect("get").expect("record");
    assert_eq!(
        cert.cert_details[PROVIDER].extra_info.san_cert.as_deref(),
        Some(SAN1)
    );
}

#[tokio::test]
async fn an_sni_certificate_is_provisioned_through_a_cps_change() {
    let w = world(0, 2).await;
    let p = ProjectId::random();
    let domain = fixtures::unique_domain();
    w.service(&p, &domain, "sni").await;
    w.submit(&p, &domain, "sni").await;
    let cert = w.certs.get(&domain).await.expect("get").expect("record");
    let info = &cert.cert_details[PROVIDER].extra_info;
    assert_eq!(info.sni_cert.as_deref(), Some(SNI1));
    assert!(info.change_url.is_some(), "{info:?}");

    w.poll_until_done(&domain).await;
    assert_eq!(w.cert_status(&domain).await, CertStatus::Deployed);
    let sans = w.fake.state().enrollments[&crate::certificates::ENROLLMENT]
        .deployed
        .clone();
    assert!(sans.contains(&domain), "{sans:?}");

    w.manager
        .delete_certificate(&p, &domain, Some("sni"))
        .await
        .expect("delete");
    assert_eq!(w.run_jobs().await, ["delete_ssl_certificate"]);
    assert!(w.certs.get(&domain).await.expect("get").is_none());
    let pending = w.fake.state().enrollments[&crate::certificates::ENROLLMENT]
        .pending
        .clone()
        .expect("a change removing the domain");
    assert!(!pending.sans.contains(&domain), "{pending:?}");
}

#[tokio::test]
async fn a_custom_certificate_fails_with_the_reason() {
    let w = world(0, 0).await;
    let p = ProjectId::random();
    let domain = fixtures::unique_domain();
    w.manager
        .create_certificate(
            &p,
            json!({"flavor_id": "premium", "cert_type": "custom", "domain_name": domain}),
        )
        .await
        .expect("create");
    w.run_jobs().await;
    let cert = w.certs.get(&domain).await.expect("get").expect("record");
    assert_eq!(cert.status, CertStatus::Failed);
    let error = cert.cert_details[PROVIDER]
        .extra_info
        .error
        .clone()
        .unwrap_or_default();
    assert!(
        error.contains("cert_type") && error.contains("custom"),
        "{error}"
    );
}

#[tokio::test]
async fn without_a_hostname_property_the_items_are_not_marked_activated() {
    let w = world_with(0, 0, false).await;
    let p = ProjectId::random();
    let domain = fixtures::unique_domain();
    w.service(&p, &domain, "san").await;
    w.submit(&p, &domain, "san").await;
    let mapping = w.manager.san_mapping(PROVIDER).await.expect("mapping");
    assert_eq!(mapping.len(), 1, "{mapping:?}");
    assert_ne!(
        mapping[0].get("property_activated"),
        Some(&json!(true)),
        "{mapping:?}"
    );
    assert_eq!(
        w.fake.property(HOSTNAME_PROPERTY).map(|p| p.versions.len()),
        Some(1),
        "the shared property is untouched"
    );
}
