//! The certificate use cases and flows (§2.8, §2.9.8-2.9.9, §5.7-5.10)
//! over SQLite (store, job board, certificate store) and the mock
//! provider, jobs run one by one as a worker would.

use std::sync::Arc;
use std::time::Duration;

use poppy_adapters::provider::mock::{
    CertificateMode, MockCertificateConfig, MockProvider, MockProviderConfig,
};
use poppy_adapters::storage::sqlite::SqliteDatabase;
use poppy_core::flows::{self, FlowSettings, Outcome};
use poppy_core::manager::{Manager, Settings};
use poppy_core::model::{CertConfigKind, CertStatus, ProjectId};
use poppy_core::ports::{
    AccessUrlChange, CdnProvider, CertificateApi, CertificateStore, ConfigUpdate, FlavorStore,
    NotificationKind, OperatorApi, ServiceApi,
};
use poppy_core::testkit::fixtures;
use poppy_core::testkit::memory::{MemoryDns, MemoryNotifier};
use poppy_core::{Backends, ErrorKind, Providers};
use serde_json::{json, Value};

struct World {
    manager: Manager,
    backends: Backends,
    mock: Arc<MockProvider>,
    dns: MemoryDns,
    notifier: MemoryNotifier,
    certs: Arc<dyn CertificateStore>,
}

async fn world(certificates: MockCertificateConfig) -> World {
    let db = SqliteDatabase::open_in_memory().expect("open");
    let store = db.store().with_outbox(true);
    FlavorStore::create(&store, &fixtures::flavor_with("standard", &["mock"]))
        .await
        .expect("flavor");
    let mock = Arc::new(
        MockProvider::build(MockProviderConfig {
            certificates,
            ..MockProviderConfig::default()
        })
        .expect("mock"),
    );
    let dns = MemoryDns::new();
    let notifier = MemoryNotifier::new();
    let certs: Arc<dyn CertificateStore> = Arc::new(db.certificates());
    let backends = Backends {
        store: Arc::new(store.clone()),
        flavors: Arc::new(store),
        jobs: Arc::new(db.job_board()),
        dns: Arc::new(dns.clone()),
        providers: Providers::new().with(mock.clone() as Arc<dyn CdnProvider>),
        notifier: Some(Arc::new(notifier.clone())),
        certificates: Some(certs.clone()),
        metrics: None,
        log_delivery: None,
    };
    World {
        manager: Manager::new(backends.clone(), Settings::default()),
        backends,
        mock,
        dns,
        notifier,
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

    /// A deployed service of `project` with one https `san` domain.
    async fn san_service(&self, project: &ProjectId, domain: &str) {
        let body = json!({"name": "shop", "flavor_id": "standard",
            "domains": [{"domain": domain, "protocol": "https", "certificate": "san"}],
            "origins": [{"origin": "origin.example.com"}]});
        self.manager
            .create_service(project, body)
            .await
            .expect("create service");
        self.run_jobs().await;
    }

    async fn cert_status(&self, domain: &str) -> CertStatus {
        self.certs
            .get(domain)
            .await
            .expect("get")
            .expect("certificate exists")
            .status
    }
}

fn cert_body(domain: &str, cert_type: &str) -> Value {
    json!({"flavor_id": "standard", "cert_type": cert_type, "domain_name": domain})
}

#[tokio::test]
async fn a_certificate_is_provisioned_seen_only_by_its_project_and_deleted() {
    let w = world(MockCertificateConfig::default()).await;
    let (a, b) = (ProjectId::random(), ProjectId::random());
    let domain = fixtures::unique_domain();
    w.manager
        .create_certificate(&a, cert_body(&domain, "san"))
        .await
        .expect("create");
    assert_eq!(w.cert_status(&domain).await, CertStatus::CreateInProgress);
    assert_eq!(w.run_jobs().await, ["create_ssl_certificate"]);

    let cert = w.manager.get_certificate(&a, &domain).await.expect("get");
    assert_eq!(cert.status, CertStatus::Deployed);
    let details = &cert.cert_details["mock"];
    assert_eq!(
        details.cert_domain.as_deref(),
        Some("san1.mock.poppycdn.net")
    );
    assert_eq!(
        details.extra_info.san_cert.as_deref(),
        Some("san1.mock.poppycdn.net")
    );
    let notes = w.notifier.notifications();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].kind, NotificationKind::Deployed);
    assert_eq!(notes[0].flow, "create_ssl_certificate");
    assert!(notes[0].message.contains(&domain), "{}", notes[0].message);

    // Another project neither sees nor deletes it, nor requests it again.
    let err = w.manager.get_certificate(&b, &domain).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = w
        .manager
        .delete_certificate(&b, &domain, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = w
        .manager
        .create_certificate(&b, cert_body(&domain, "sni"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(
        err.to_string().contains("Certificate already exists"),
        "{err}"
    );
    // A body naming another project is refused.
    let mut foreign = cert_body(&fixtures::unique_domain(), "san");
    foreign["project_id"] = json!(b.as_str());
    let err = w.manager.create_certificate(&a, foreign).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    // The wrong type is not this certificate.
    let err = w
        .manager
        .delete_certificate(&a, &domain, Some("sni"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    w.manager
        .delete_certificate(&a, &domain, Some("san"))
        .await
        .expect("delete");
    assert_eq!(w.run_jobs().await, ["delete_ssl_certificate"]);
    assert!(w.certs.get(&domain).await.expect("get").is_none());
    assert!(w.mock.certificate_state().requests().is_empty());
    assert_eq!(
        w.notifier.notifications().last().map(|n| n.kind),
        Some(NotificationKind::Deleted)
    );
}

#[tokio::test]
async fn a_refused_request_fails_the_certificate_with_the_reason() {
    let domain = fixtures::unique_domain();
    let w = world(MockCertificateConfig {
        refuse: vec![domain.clone()],
        ..MockCertificateConfig::default()
    })
    .await;
    let p = ProjectId::random();
    w.manager
        .create_certificate(&p, cert_body(&domain, "sni"))
        .await
        .expect("create");
    w.run_jobs().await;
    let cert = w.manager.get_certificate(&p, &domain).await.expect("get");
    assert_eq!(cert.status, CertStatus::Failed);
    let error = cert.cert_details["mock"].extra_info.error.clone();
    assert!(error.is_some_and(|e| e.contains("refuses")), "{cert:?}");
    assert_eq!(
        w.notifier.notifications().last().map(|n| n.kind),
        Some(NotificationKind::Failed)
    );
    let failed = w
        .manager
        .certificates_by_status(Some("failed"))
        .await
        .expect("list");
    assert!(failed.contains(&domain), "{failed:?}");
}

#[tokio::test]
async fn a_batched_request_goes_through_the_retry_list_and_the_san_mapping_jobs() {
    let w = world(MockCertificateConfig {
        mode: CertificateMode::Queued,
        polls: 1,
        ..MockCertificateConfig::default()
    })
    .await;
    let p = ProjectId::random();
    let domain = fixtures::unique_domain();
    w.san_service(&p, &domain).await;

    // The first request is parked on the retry list.
    w.manager
        .create_certificate(&p, cert_body(&domain, "san"))
        .await
        .expect("create");
    w.run_jobs().await;
    assert_eq!(w.cert_status(&domain).await, CertStatus::CreateInProgress);
    let retry = w.manager.retry_list("mock").await.expect("retry list");
    assert_eq!(
        retry,
        vec![
            json!({"domain_name": domain, "project_id": p, "flavor_id": "standard",
                    "cert_type": "san", "validate_service": true})
        ]
    );

    // An operator reruns it: it is submitted and tracked.
    let run = w.manager.rerun_retry_list("mock").await.expect("rerun");
    assert_eq!(run.processing.len(), 1, "{run:?}");
    assert!(run.failed_validation.is_empty(), "{run:?}");
    assert!(w.manager.retry_list("mock").await.expect("list").is_empty());
    assert_eq!(w.run_jobs().await, ["recreate_ssl_certificate"]);
    assert!(w.mock.certificate_state().requests()[&domain].submitted);
    let mapping = w.manager.san_mapping("mock").await.expect("mapping");
    assert_eq!(mapping.len(), 1, "{mapping:?}");
    assert_eq!(mapping[0]["property_activated"], json!(false));

    // Not activated yet: the status check leaves it.
    let report = w
        .manager
        .background_job(
            "mock",
            json!({"job_type": "akamai_check_and_update_cert_status"}),
        )
        .await
        .expect("job");
    assert!(
        report.sent.is_empty() && report.ignored.len() == 1,
        "{report:?}"
    );
    assert!(w.run_jobs().await.is_empty());

    // Attaching the host name activates it.
    let report = w
        .manager
        .background_job(
            "mock",
            json!({"job_type": "akamai_update_papi_property_for_mod_san", "action": "add"}),
        )
        .await
        .expect("job");
    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert_eq!(w.run_jobs().await, ["update_certificate_hostnames"]);
    assert!(w
        .mock
        .certificate_state()
        .attached_hostnames()
        .contains(&domain));
    let mapping = w.manager.san_mapping("mock").await.expect("mapping");
    assert_eq!(mapping[0]["property_activated"], json!(true));

    // The first check finds it still in progress and puts it back.
    let check = json!({"job_type": "akamai_check_and_update_cert_status"});
    let report = w
        .manager
        .background_job("mock", check.clone())
        .await
        .expect("job");
    assert_eq!(report.sent.len(), 1, "{report:?}");
    w.run_jobs().await;
    assert_eq!(w.cert_status(&domain).await, CertStatus::CreateInProgress);
    assert_eq!(
        w.manager.san_mapping("mock").await.expect("mapping").len(),
        1
    );

    // The second finds it deployed and records it on the service.
    w.manager.background_job("mock", check).await.expect("job");
    assert_eq!(w.run_jobs().await, ["check_cert_status_and_update"]);
    assert_eq!(w.cert_status(&domain).await, CertStatus::Deployed);
    assert!(w
        .manager
        .san_mapping("mock")
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
    assert_eq!(
        service.provider_details["mock"].domains_certificate_status[&domain],
        CertStatus::Deployed
    );
    let deployed = w
        .manager
        .certificates_by_status(Some("deployed"))
        .await
        .expect("list");
    assert!(deployed.contains(&domain));
    let last = w.notifier.notifications().pop().expect("a notification");
    assert_eq!(
        (last.kind, last.flow.as_str()),
        (NotificationKind::Deployed, "check_cert_status_and_update")
    );

    // A deployed certificate cannot go back on the retry list.
    let again = json!([{"flavor_id": "standard", "domain_name": domain, "project_id": p}]);
    let err = w
        .manager
        .replace_retry_list("mock", again)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[tokio::test]
async fn retry_list_items_without_a_service_fail_validation_unless_told_not_to_check() {
    let w = world(MockCertificateConfig {
        mode: CertificateMode::Queued,
        ..MockCertificateConfig::default()
    })
    .await;
    let orphan = fixtures::unique_domain();
    let item = json!({"flavor_id": "standard", "domain_name": orphan, "project_id": "p1"});
    let err = w
        .manager
        .replace_retry_list("mock", json!([item.clone()]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(
        err.to_string().contains("does not exist on any service"),
        "{err}"
    );

    let mut forced = item.clone();
    forced["validate_service"] = json!(false);
    let update = w
        .manager
        .replace_retry_list("mock", json!([forced]))
        .await
        .expect("put");
    assert_eq!(update.queue.len(), 1);
    assert!(update.deleted.is_empty());
    let run = w.manager.rerun_retry_list("mock").await.expect("rerun");
    assert_eq!(run.processing.len(), 1, "{run:?}");
    assert_eq!(w.run_jobs().await, ["recreate_ssl_certificate"]);
    let cert = w.certs.get(&orphan).await.expect("get").expect("recreated");
    assert_eq!(cert.project_id, ProjectId::new("p1"));

    let err = w.manager.retry_list("nope").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn operators_set_certificate_statuses_and_settings() {
    let w = world(MockCertificateConfig::default()).await;
    let p = ProjectId::random();
    let domain = fixtures::unique_domain();
    w.manager
        .create_certificate(&p, cert_body(&domain, "san"))
        .await
        .expect("create");
    let patch = json!([{"op": "replace", "path": "status", "value": "cancelled"}]);
    w.manager
        .patch_certificate_status(&domain, patch.clone())
        .await
        .expect("patch");
    assert_eq!(w.cert_status(&domain).await, CertStatus::Cancelled);
    let err = w
        .manager
        .patch_certificate_status(&fixtures::unique_domain(), patch)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    let san = "san1.mock.poppycdn.net";
    assert_eq!(
        w.manager
            .certificate_config("mock", CertConfigKind::San, san)
            .await
            .expect("get"),
        json!({})
    );
    let updated = w
        .manager
        .update_certificate_config("mock", CertConfigKind::San, san, json!({"spsId": 5}))
        .await
        .expect("post");
    assert_eq!(
        updated,
        ConfigUpdate::Updated(json!({"spsId": 5, "jobId": 50}))
    );
    w.manager
        .update_certificate_config("mock", CertConfigKind::San, san, json!({"enabled": false}))
        .await
        .expect("post");
    assert_eq!(
        w.manager
            .certificate_config("mock", CertConfigKind::San, san)
            .await
            .expect("get"),
        json!({"spsId": 5, "jobId": 50, "enabled": false})
    );
    let limit = "san_cert_hostname_limit";
    assert_eq!(
        w.manager
            .certificate_config("mock", CertConfigKind::San, limit)
            .await
            .expect("get"),
        json!({"san_cert_hostname_limit": 80})
    );
    let accepted = w
        .manager
        .update_certificate_config("mock", CertConfigKind::San, limit, json!({limit: 120}))
        .await
        .expect("post");
    assert_eq!(accepted, ConfigUpdate::Accepted);
    assert_eq!(
        w.manager
            .certificate_config("mock", CertConfigKind::San, limit)
            .await
            .expect("get"),
        json!({"san_cert_hostname_limit": 120})
    );
    for (kind, name, body) in [
        (CertConfigKind::San, "not-a-cert", json!({"enabled": true})),
        (CertConfigKind::San, limit, json!({limit: 500})),
        (
            CertConfigKind::Sni,
            "sni1.mock.poppycdn.net",
            json!({"spsId": 1}),
        ),
    ] {
        let err = w
            .manager
            .update_certificate_config("mock", kind, name, body.clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadRequest, "{name} {body}: {err}");
    }
}

#[tokio::test]
async fn an_access_url_is_moved_and_a_domain_migrated_in_dns() {
    let w = world(MockCertificateConfig::default()).await;
    let p = ProjectId::random();
    let domain = fixtures::unique_domain();
    w.san_service(&p, &domain).await;
    let service = w
        .backends
        .store
        .find_by_domain(&domain)
        .await
        .expect("find")
        .expect("service");
    let url = service.provider_details["mock"].access_urls[0].clone();
    let (old, provider_url) = (
        url.operator_url.clone().expect("operator url"),
        url.provider_url.clone().expect("provider url"),
    );
    let moved = format!("{domain}.cdn9.example.net");
    let body = json!({"project_id": p, "domain_name": domain,
                      "operator_url": moved, "provider_url": provider_url});
    let id = service.id.to_string();
    assert_eq!(
        w.manager
            .patch_provider_details(&id, body.clone())
            .await
            .expect("patch"),
        AccessUrlChange::Changed
    );
    assert_eq!(w.dns.record(&moved), Some(provider_url.clone()));
    assert_eq!(w.dns.record(&old), None, "the old CNAME is gone");
    assert_eq!(
        w.manager
            .patch_provider_details(&id, body.clone())
            .await
            .expect("patch"),
        AccessUrlChange::Unchanged
    );
    let mut other_provider = body.clone();
    other_provider["operator_url"] = json!(format!("{domain}.cdn8.example.net"));
    other_provider["provider_url"] = json!("elsewhere.example.net");
    let err = w
        .manager
        .patch_provider_details(&id, other_provider)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("migrate domain"), "{err}");
    let mut bad = body.clone();
    bad["operator_url"] = json!("unrelated.example.net");
    let err = w
        .manager
        .patch_provider_details(&id, bad)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Invalid access_url/domain_name.");

    let migrate = json!({"project_id": p, "service_id": id, "domain_name": domain,
                         "new_cert": "san2.mock.poppycdn.net", "cert_status": "create_in_progress"});
    w.manager
        .migrate_domain("mock", migrate)
        .await
        .expect("migrate");
    assert_eq!(
        w.dns.record(&moved).as_deref(),
        Some("san2.mock.poppycdn.net")
    );
    let service = w
        .backends
        .store
        .find_by_domain(&domain)
        .await
        .expect("find")
        .expect("service");
    let detail = &service.provider_details["mock"];
    assert_eq!(
        detail.domains_certificate_status[&domain],
        CertStatus::CreateInProgress
    );
    assert_eq!(
        detail.access_urls[0].provider_url.as_deref(),
        Some("san2.mock.poppycdn.net")
    );
    let missing = json!({"project_id": p, "service_id": id,
                         "domain_name": fixtures::unique_domain(), "new_cert": "x"});
    let err = w.manager.migrate_domain("mock", missing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn certificates_of_domains_a_service_lets_go_of_are_deleted() {
    let w = world(MockCertificateConfig::default()).await;
    let p = ProjectId::random();
    let (kept, dropped) = (fixtures::unique_domain(), fixtures::unique_domain());
    let body = json!({"name": "shop", "flavor_id": "standard",
        "domains": [{"domain": kept, "protocol": "https", "certificate": "san"},
                    {"domain": dropped, "protocol": "https", "certificate": "san"}],
        "origins": [{"origin": "origin.example.com"}]});
    let id = w.manager.create_service(&p, body).await.expect("create");
    for d in [&kept, &dropped] {
        w.manager
            .create_certificate(&p, cert_body(d, "san"))
            .await
            .expect("certificate");
    }
    w.run_jobs().await;
    assert_eq!(w.cert_status(&dropped).await, CertStatus::Deployed);

    // A PATCH that removes a domain releases its certificate only.
    let patch = json!([{"op": "remove", "path": "/domains/1"}]);
    w.manager
        .patch_service(&p, &id, patch)
        .await
        .expect("patch");
    assert_eq!(
        w.run_jobs().await,
        ["update_service", "delete_ssl_certificate"]
    );
    assert!(w.certs.get(&dropped).await.expect("get").is_none());
    assert_eq!(w.cert_status(&kept).await, CertStatus::Deployed);

    // Deleting the service releases the rest.
    w.manager.delete_service(&p, &id).await.expect("delete");
    assert_eq!(
        w.run_jobs().await,
        ["delete_service", "delete_ssl_certificate"]
    );
    assert!(w.certs.get(&kept).await.expect("get").is_none());
}
