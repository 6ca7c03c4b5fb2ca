//! The driver's certificate provisioning against the SPS and CPS of the
//! contract server: the exact requests, idempotency, busy certificates,
//! throttling and outages, and the settings an operator stores.

use std::sync::Arc;

use poppy_adapters::provider::akamai::certificates::{
    CPS_CHANGE_ID, CPS_ENROLLMENT, CPS_ENROLLMENT_STATUS,
};
use poppy_adapters::provider::akamai::{
    AkamaiConfig, AkamaiConfigError, AkamaiProvider, SanCertConfig, SniCertConfig,
};
use poppy_core::model::{
    CertConfigKind, CertStatus, CertType, CertificateType, Domain, ProjectId, Protocol,
    SslCertificate,
};
use poppy_core::ports::{
    CdnProvider, CertProvisioning, CertificateProvider, CertificateStore, PortError,
};
use poppy_core::testkit::memory::MemoryCertificateStore;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{Fake, CONTRACT, GROUP};
use crate::fake_certs::{FakeEnrollment, SPS_COMPLETE};

pub const SAN1: &str = "secure1.san1.example.com";
pub const SAN2: &str = "secure2.san1.example.com";
pub const SNI1: &str = "sni1.example.com";
pub const ENROLLMENT: u64 = 234;
/// The shared property certificate host names go on.
pub const HOSTNAME_PROPERTY: &str = "prp_777";
/// A host name the shared property serves before any test runs.
pub const EXISTING_HOST: &str = "existing.example.net";
const SPS_PATH: &str = "/config-secure-provisioning-service/v1/sps-requests";

/// The fake's configuration with two SAN certificates and one SNI
/// enrollment.
pub fn cert_config(fake: &Fake) -> AkamaiConfig {
    let mut config = fake.config();
    config.certificates.san_certs = vec![
        SanCertConfig {
            name: SAN1.to_owned(),
            ..SanCertConfig::default()
        },
        SanCertConfig {
            name: SAN2.to_owned(),
            issuer: "digicert".to_owned(),
            ..SanCertConfig::default()
        },
    ];
    config.certificates.hostname_property = Some(HOSTNAME_PROPERTY.to_owned());
    config.certificates.sni_certs = vec![SniCertConfig {
        name: SNI1.to_owned(),
        enrollment_id: Some(ENROLLMENT),
        ..SniCertConfig::default()
    }];
    config
}

/// A fake knowing the certificates of [`cert_config`].
pub async fn cert_fake(sps_polls: u32, cps_polls: u32) -> Fake {
    let fake = Fake::start(0).await;
    {
        let mut state = fake.state();
        state.sps_polls = sps_polls;
        state.cps_polls = cps_polls;
        state.san_certs.insert(SAN1.to_owned(), Vec::new());
        state.san_certs.insert(SAN2.to_owned(), Vec::new());
        state.enrollments.insert(
            ENROLLMENT,
            FakeEnrollment::new(ENROLLMENT, SNI1, &["a.example.org"]),
        );
        state
            .edge_hostnames
            .extend([format!("{SAN1}.edgekey.net"), format!("{SNI1}.edgekey.net")]);
        crate::cert_hostnames::seed_hostname_property(&mut state);
    }
    fake
}

fn cert(domain: &str, cert_type: CertType) -> SslCertificate {
    SslCertificate::new(ProjectId::new("p1"), "premium", domain, cert_type, 1)
}

/// `cert` as the flow stores it after `outcome`.
fn recorded(mut cert: SslCertificate, outcome: &CertProvisioning) -> SslCertificate {
    cert.cert_details
        .insert("akamai".to_owned(), outcome.details.clone());
    cert.settle_status();
    cert
}

fn certificates(provider: &AkamaiProvider) -> Arc<dyn CertificateProvider> {
    match provider.certificates() {
        Some(c) => c,
        None => panic!("the akamai provider provisions certificates"),
    }
}

async fn ok<T>(result: Result<T, PortError>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

#[tokio::test]
async fn a_first_request_is_parked_without_a_call_and_custom_is_refused() {
    let fake = cert_fake(0, 0).await;
    let provider = fake.provider_with(cert_config(&fake));
    assert!(provider.capabilities().certificates);
    let certs = certificates(&provider);
    fake.clear_log();
    let outcome = ok(
        certs
            .create_certificate(&cert("www.abc.com", CertType::San), false)
            .await,
        "first request",
    )
    .await;
    assert!(outcome.queue_for_retry && !outcome.track, "{outcome:?}");
    assert_eq!(outcome.details.status(), CertStatus::CreateInProgress);
    assert!(fake.lines().is_empty(), "{:?}", fake.lines());

    let err = certs
        .create_certificate(&cert("own.abc.com", CertType::Custom), true)
        .await
        .unwrap_err();
    let PortError::Invalid(message) = err else {
        panic!("custom must be Invalid, got {err:?}");
    };
    assert!(message.starts_with("cert_type:"), "{message}");
    assert!(message.contains("'custom'"), "{message}");
    assert_eq!(certs.certificate_names(CertConfigKind::San), [SAN1, SAN2]);
    assert_eq!(certs.certificate_names(CertConfigKind::Sni), [SNI1]);
    assert_eq!(certs.edge_host_name(SAN1), format!("{SAN1}.edgekey.net"));
    assert_eq!(
        certs.edge_host_name("x.edgekey.net"),
        "x.edgekey.net".to_owned()
    );
}

#[tokio::test]
async fn a_san_request_is_an_sps_mod_san_tracked_until_complete() {
    // One read is the idempotency check below; two are status checks.
    let fake = cert_fake(3, 0).await;
    let provider = fake.provider_with(cert_config(&fake));
    let certs = certificates(&provider);
    let request = cert("www.abc.com", CertType::San);
    fake.clear_log();
    let outcome = ok(certs.create_certificate(&request, true).await, "submit").await;
    assert!(outcome.track && !outcome.queue_for_retry, "{outcome:?}");
    let info = &outcome.details.extra_info;
    assert_eq!(info.status, CertStatus::CreateInProgress);
    assert_eq!(info.san_cert.as_deref(), Some(SAN1));
    assert_eq!(info.sps_id, Some(1000));
    assert_eq!(
        outcome.details.cert_domain.as_deref(),
        Some("secure1.san1.example.com.edgekey.net")
    );

    // Nothing was known of either certificate: one POST, form-encoded.
    let log = fake.log();
    assert_eq!(fake.lines(), [format!("POST {SPS_PATH}")]);
    let post = &log[0];
    assert_eq!(
        post.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        post.query.get("contractId").map(String::as_str),
        Some(CONTRACT)
    );
    assert_eq!(post.query.get("groupId").map(String::as_str), Some(GROUP));
    assert_eq!(
        post.body,
        Some(json!({
            "cnameHostname": SAN1, "issuer": "symantec", "createType": "modSan",
            "ipVersion": "ipv4", "slot-deployment.class": "esslType",
            "product": "ion_premier", "add.sans": "www.abc.com",
        }))
    );
    assert!(post.authorization.starts_with("EG1-HMAC-SHA256 "));

    // Asked again with the record: no second request.
    let stored = recorded(request.clone(), &outcome);
    fake.clear_log();
    let again = ok(certs.create_certificate(&stored, true).await, "again").await;
    assert_eq!(again.details.extra_info.sps_id, Some(1000));
    assert!(fake.lines().is_empty(), "{:?}", fake.lines());

    // Asked again without the record (its answer was lost): SPS's last
    // request of the certificate carries the domain, so none is made.
    fake.clear_log();
    let lost = ok(certs.create_certificate(&request, true).await, "lost").await;
    assert_eq!(lost.details.extra_info.sps_id, Some(1000));
    assert_eq!(lost.details.extra_info.san_cert.as_deref(), Some(SAN1));
    assert!(
        fake.lines().iter().all(|l| l.starts_with("GET ")),
        "{:?}",
        fake.lines()
    );

    // The job takes several polls.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let details = ok(certs.certificate_status(&stored).await, "status").await;
        statuses.push(details.status());
        if details.status() != CertStatus::CreateInProgress {
            assert_eq!(details.extra_info.sps_id, Some(1000));
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&CertStatus::Deployed), "{statuses:?}");
    assert!(
        statuses.len() >= 2,
        "the job completes after polls: {statuses:?}"
    );
    assert_eq!(fake.state().san_certs[SAN1], ["www.abc.com"]);
}

#[tokio::test]
async fn a_busy_certificate_is_skipped_and_no_room_parks_the_request() {
    let fake = cert_fake(5, 0).await;
    let provider = fake.provider_with(cert_config(&fake));
    let certs = certificates(&provider);
    let first = ok(
        certs
            .create_certificate(&cert("one.abc.com", CertType::San), true)
            .await,
        "first",
    )
    .await;
    assert_eq!(first.details.extra_info.san_cert.as_deref(), Some(SAN1));

    // SAN1's request is running: the next domain goes on SAN2, with its
    // own SPS fields; the job id of SAN1 is remembered.
    fake.clear_log();
    let second = ok(
        certs
            .create_certificate(&cert("two.abc.com", CertType::San), true)
            .await,
        "second",
    )
    .await;
    assert_eq!(second.details.extra_info.san_cert.as_deref(), Some(SAN2));
    assert_eq!(
        fake.lines(),
        [format!("GET {SPS_PATH}/1000"), format!("POST {SPS_PATH}")]
    );
    let post = &fake.log()[1];
    assert_eq!(
        post.body.as_ref().map(|b| b["issuer"].clone()),
        Some(json!("digicert"))
    );

    // Both busy: the request is parked on the retry list.
    let third = ok(
        certs
            .create_certificate(&cert("three.abc.com", CertType::San), true)
            .await,
        "third",
    )
    .await;
    assert!(third.queue_for_retry && !third.track, "{third:?}");
    assert_eq!(third.details.extra_info.san_cert, None);
    let action = third.details.extra_info.action.clone().unwrap_or_default();
    assert!(action.contains("No available san cert"), "{action}");
    assert_eq!(fake.state().sps.len(), 2);

    // Once SAN1's request completes, the next one carries its job id.
    fake.state().sps.values_mut().for_each(|r| {
        r.status = SPS_COMPLETE.to_owned();
    });
    fake.clear_log();
    let fourth = ok(
        certs
            .create_certificate(&cert("four.abc.com", CertType::San), true)
            .await,
        "fourth",
    )
    .await;
    assert_eq!(fourth.details.extra_info.san_cert.as_deref(), Some(SAN1));
    let post = fake
        .log()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("a modSan request");
    assert_eq!(
        post.body.as_ref().map(|b| b["jobId"].clone()),
        Some(json!("44000"))
    );
}

#[tokio::test]
async fn throttling_and_outages_are_rate_limited_and_unavailable() {
    let fake = cert_fake(0, 0).await;
    let provider = fake.provider_with(cert_config(&fake));
    let certs = certificates(&provider);
    Mock::given(method("POST"))
        .and(path(SPS_PATH))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "7")
                .set_body_json(json!({"title": "Too Many Requests", "status": 429})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let err = certs
        .create_certificate(&cert("www.abc.com", CertType::San), true)
        .await
        .unwrap_err();
    match err {
        PortError::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(7)))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    Mock::given(path_regex("^/cps/v2/enrollments/"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream down"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let err = certs
        .create_certificate(&cert("www.abc.com", CertType::Sni), true)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PortError::Unavailable { message, .. } if message.contains("503")),
        "{err:?}"
    );
    // Once the vendor is back the same calls go through, once.
    let outcome = ok(
        certs
            .create_certificate(&cert("www.abc.com", CertType::San), true)
            .await,
        "after 429",
    )
    .await;
    assert!(outcome.track);
    assert_eq!(fake.state().sps.len(), 1);
}

#[tokio::test]
async fn an_sni_request_modifies_the_enrollment_and_follows_its_change() {
    let fake = cert_fake(0, 2).await;
    let provider = fake.provider_with(cert_config(&fake));
    let certs = certificates(&provider);
    let request = cert("www.abc.com", CertType::Sni);
    fake.clear_log();
    let outcome = ok(certs.create_certificate(&request, true).await, "submit").await;
    assert!(outcome.track, "{outcome:?}");
    let info = &outcome.details.extra_info;
    assert_eq!(info.sni_cert.as_deref(), Some(SNI1));
    assert_eq!(
        info.change_url.as_deref(),
        Some("/cps/v2/enrollments/234/changes/10001")
    );
    assert_eq!(
        outcome.details.cert_domain.as_deref(),
        Some("sni1.example.com.edgekey.net")
    );
    let log = fake.log();
    assert_eq!(
        fake.lines(),
        ["GET /cps/v2/enrollments/234", "PUT /cps/v2/enrollments/234"]
    );
    assert_eq!(log[0].accept.as_deref(), Some(CPS_ENROLLMENT));
    assert_eq!(log[1].content_type.as_deref(), Some(CPS_ENROLLMENT));
    assert_eq!(log[1].accept.as_deref(), Some(CPS_ENROLLMENT_STATUS));
    let put = log[1].body.clone().unwrap_or(Value::Null);
    assert_eq!(put["csr"]["sans"], json!(["a.example.org", "www.abc.com"]));
    assert_eq!(
        put["networkConfiguration"]["sni"]["dnsNames"],
        json!(["a.example.org", "www.abc.com"])
    );

    // Idempotent: the domain is in the enrollment's SANs already.
    let again = ok(certs.create_certificate(&request, true).await, "again").await;
    assert_eq!(again.details.extra_info.change_url, info.change_url);
    assert!(fake.state().enrollments[&ENROLLMENT].pending.is_some());

    let stored = recorded(request, &outcome);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let details = ok(certs.certificate_status(&stored).await, "status").await;
        statuses.push(details.status());
        if details.status() != CertStatus::CreateInProgress {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&CertStatus::Deployed), "{statuses:?}");
    assert_eq!(
        fake.state().enrollments[&ENROLLMENT].deployed,
        ["a.example.org", "www.abc.com"]
    );

    // Delete takes the domain off the enrollment; again is a no-op.
    fake.clear_log();
    ok(certs.delete_certificate(&stored).await, "delete").await;
    let put = fake
        .log()
        .into_iter()
        .find(|r| r.method == "PUT")
        .and_then(|r| r.body)
        .unwrap_or(Value::Null);
    assert_eq!(put["csr"]["sans"], json!(["a.example.org"]));
    for _ in 0..3 {
        ok(certs.certificate_status(&stored).await.map(|_| ()), "tick").await;
    }
    assert_eq!(
        fake.state().enrollments[&ENROLLMENT].deployed,
        ["a.example.org"]
    );
    fake.clear_log();
    ok(certs.delete_certificate(&stored).await, "delete again").await;
    assert_eq!(fake.lines(), ["GET /cps/v2/enrollments/234"]);
}

#[tokio::test]
async fn deleting_a_pending_sni_request_cancels_its_change() {
    let fake = cert_fake(0, 5).await;
    let provider = fake.provider_with(cert_config(&fake));
    let certs = certificates(&provider);
    let request = cert("www.abc.com", CertType::Sni);
    let outcome = ok(certs.create_certificate(&request, true).await, "submit").await;
    let stored = recorded(request, &outcome);
    fake.clear_log();
    ok(certs.delete_certificate(&stored).await, "delete").await;
    let log = fake.log();
    assert_eq!(
        fake.lines(),
        [
            "GET /cps/v2/enrollments/234",
            "DELETE /cps/v2/enrollments/234/changes/10001"
        ]
    );
    assert_eq!(log[1].accept.as_deref(), Some(CPS_CHANGE_ID));
    assert!(fake.state().enrollments[&ENROLLMENT].pending.is_none());
    assert_eq!(
        fake.state().enrollments[&ENROLLMENT].sans,
        ["a.example.org"]
    );
}

#[tokio::test]
async fn deleting_a_san_certificate_sends_remove_sans_once() {
    let fake = cert_fake(0, 0).await;
    let provider = fake.provider_with(cert_config(&fake));
    let certs = certificates(&provider);
    let request = cert("www.abc.com", CertType::San);
    let outcome = ok(certs.create_certificate(&request, true).await, "submit").await;
    let stored = recorded(request.clone(), &outcome);
    assert_eq!(fake.state().san_certs[SAN1], ["www.abc.com"]);
    fake.clear_log();
    ok(certs.delete_certificate(&stored).await, "delete").await;
    let post = fake
        .log()
        .into_iter()
        .find(|r| r.method == "POST")
        .and_then(|r| r.body)
        .unwrap_or(Value::Null);
    assert_eq!(post["remove.sans"], json!("www.abc.com"));
    assert_eq!(post["cnameHostname"], json!(SAN1));
    assert_eq!(post["jobId"], json!("44000"));
    assert!(fake.state().san_certs[SAN1].is_empty());
    // Again: the last request of the certificate already removes it.
    fake.clear_log();
    ok(certs.delete_certificate(&stored).await, "delete again").await;
    assert!(fake.lines().iter().all(|l| l.starts_with("GET ")));
    // A record never put on a certificate has nothing to delete.
    fake.clear_log();
    ok(certs.delete_certificate(&request).await, "never placed").await;
    assert!(fake.lines().is_empty());
}

#[tokio::test]
async fn operator_settings_in_the_store_steer_provisioning() {
    let fake = cert_fake(0, 0).await;
    let provider = fake.provider_with(cert_config(&fake));
    let store = Arc::new(MemoryCertificateStore::new());
    assert!(provider.use_certificate_settings("akamai", store.clone()));
    let certs = certificates(&provider);
    // An operator disabled SAN1 and named SAN2's last SPS request.
    ok(
        store
            .put_setting("akamai", &format!("san:{SAN1}"), &json!({"enabled": false}))
            .await,
        "setting",
    )
    .await;
    fake.state().sps.insert(
        900,
        crate::fake_certs::FakeSps {
            id: 900,
            job_id: 4242,
            cert: SAN2.to_owned(),
            fields: serde_json::Map::new(),
            status: SPS_COMPLETE.to_owned(),
            workflow_progress: None,
            polls_left: 0,
        },
    );
    let completed = ok(
        certs
            .complete_config(CertConfigKind::San, SAN2, json!({"spsId": 900}))
            .await,
        "complete_config",
    )
    .await;
    assert_eq!(completed, json!({"spsId": 900, "jobId": 4242}));
    ok(
        store
            .put_setting("akamai", &format!("san:{SAN2}"), &completed)
            .await,
        "store it",
    )
    .await;
    let err = certs
        .complete_config(CertConfigKind::San, SAN2, json!({"spsId": 31337}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PortError::Invalid(m) if m.starts_with("spsId:")),
        "{err:?}"
    );
    let err = certs
        .complete_config(CertConfigKind::Sni, SNI1, json!({"enrollmentId": 999}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PortError::Invalid(m) if m.starts_with("enrollmentId:")),
        "{err:?}"
    );

    fake.clear_log();
    let outcome = ok(
        certs
            .create_certificate(&cert("www.abc.com", CertType::San), true)
            .await,
        "submit",
    )
    .await;
    assert_eq!(outcome.details.extra_info.san_cert.as_deref(), Some(SAN2));
    let post = fake
        .log()
        .into_iter()
        .find(|r| r.method == "POST")
        .and_then(|r| r.body)
        .unwrap_or(Value::Null);
    assert_eq!(post["cnameHostname"], json!(SAN2));
    assert_eq!(post["jobId"], json!("4242"));
    // The new request is the certificate's last one, in the store too.
    let stored = ok(
        store.get_setting("akamai", &format!("san:{SAN2}")).await,
        "read",
    )
    .await;
    let sps = outcome.details.extra_info.sps_id.expect("an spsId");
    assert_eq!(
        stored.as_ref().map(|s| s["spsId"].clone()),
        Some(json!(sps))
    );

    // The host name limit of the store bounds SNI enrollments.
    ok(
        store
            .put_setting("akamai", "san_cert_hostname_limit", &json!(1))
            .await,
        "limit",
    )
    .await;
    let parked = ok(
        certs
            .create_certificate(&cert("www.abc.com", CertType::Sni), true)
            .await,
        "full",
    )
    .await;
    assert!(parked.queue_for_retry, "{parked:?}");
}

#[tokio::test]
async fn secure_domains_point_at_the_certificates_edgekey_hostname() {
    let fake = cert_fake(0, 0).await;
    let provider = fake.provider_with(cert_config(&fake));
    let mut service = poppy_core::testkit::fixtures::service(&ProjectId::new("p1"));
    service.spec.domains = vec![
        Domain {
            domain: "shop.abc.com".to_owned(),
            protocol: Protocol::Https,
            certificate: Some(CertificateType::San),
        },
        Domain {
            domain: "sni.abc.com".to_owned(),
            protocol: Protocol::Https,
            certificate: Some(CertificateType::Sni),
        },
    ];
    let deployment = ok(provider.create(&service).await, "create").await;
    let links: Vec<(String, String)> = deployment
        .links
        .iter()
        .map(|l| (l.domain.clone(), l.href.clone()))
        .collect();
    assert_eq!(
        links,
        [
            ("shop.abc.com".to_owned(), format!("{SAN1}.edgekey.net")),
            ("sni.abc.com".to_owned(), format!("{SNI1}.edgekey.net")),
        ]
    );
    ok(
        provider
            .delete(&deployment.provider_service_id, &service)
            .await,
        "delete",
    )
    .await;
}

#[test]
fn certificate_settings_are_validated_by_name() {
    let fake_config = || {
        let mut config = AkamaiConfig {
            host: Some("http://127.0.0.1:9".to_owned()),
            contract_id: "ctr_1".to_owned(),
            group_id: "grp_1".to_owned(),
            product_id: "prd_1".to_owned(),
            activation_emails: vec!["a@example.com".to_owned()],
            client_token: Some(poppy_adapters::provider::akamai::Secret::new("t")),
            client_secret: Some(poppy_adapters::provider::akamai::Secret::new("s")),
            access_token: Some(poppy_adapters::provider::akamai::Secret::new("a")),
            ..AkamaiConfig::default()
        };
        config.certificates.san_certs = vec![SanCertConfig {
            name: SAN1.to_owned(),
            ..SanCertConfig::default()
        }];
        config
    };
    let build = |config: AkamaiConfig| AkamaiProvider::build_with_env(config, |_| None).err();
    assert!(build(fake_config()).is_none());
    let mut bad = fake_config();
    bad.certificates.san_certs[0].name = "not a host".to_owned();
    assert!(matches!(
        build(bad),
        Some(AkamaiConfigError::BadValue {
            key: "certificates.san_certs.name",
            ..
        })
    ));
    let mut dup = fake_config();
    dup.certificates.sni_certs = vec![SniCertConfig {
        name: SAN1.to_owned(),
        ..SniCertConfig::default()
    }];
    assert!(matches!(
        build(dup),
        Some(AkamaiConfigError::BadValue {
            key: "certificates.sni_certs.name",
            ..
        })
    ));
    let mut empty = fake_config();
    empty.certificates.san_certs[0].issuer = String::new();
    assert!(matches!(
        build(empty),
        Some(AkamaiConfigError::BadValue {
            key: "certificates.san_certs.issuer",
            ..
        })
    ));
    let mut limit = fake_config();
    limit.certificates.hostname_limit = 0;
    assert!(matches!(
        build(limit),
        Some(AkamaiConfigError::BadValue {
            key: "certificates.hostname_limit",
            ..
        })
    ));
    let parsed: AkamaiConfig = toml::from_str(
        r#"
        contract_id = "ctr_1"
        [certificates]
        hostname_limit = 90
        san_certs = [{ name = "secure1.san1.example.com", sps_id = 5, job_id = 6 }]
        sni_certs = [{ name = "sni1.example.com", enrollment_id = 234, enabled = false }]
        "#,
    )
    .expect("parses");
    assert_eq!(parsed.certificates.hostname_limit, 90);
    assert_eq!(parsed.certificates.san_certs[0].sps_id, Some(5));
    assert!(!parsed.certificates.sni_certs[0].enabled);
    assert!(toml::from_str::<AkamaiConfig>("[certificates]\nsan_cert = []").is_err());
    let shown = format!("{:?}", fake_config());
    assert!(shown.contains(SAN1) && !shown.contains("\"s\""), "{shown}");
}
