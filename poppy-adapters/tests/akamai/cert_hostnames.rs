//! `update_hostnames` of the driver's certificate provisioning against the
//! contract server's PAPI: the host names of issued certificates are
//! attached to (detached from) the shared property on a new version, which
//! is activated and polled; a second identical call makes no version.

use poppy_adapters::provider::akamai::{AkamaiConfigError, AkamaiProvider};
use poppy_core::model::SslCertificate;
use poppy_core::model::{CertDetails, CertStatus, CertType, HostnameAction, ProjectId};
use poppy_core::ports::{CdnProvider, CertificateProvider, PortError};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::certificates::{cert_config, cert_fake, EXISTING_HOST, HOSTNAME_PROPERTY, SAN1, SNI1};
use crate::fake::{Fake, FakeActivation, FakeProperty, FakeVersion, State};

/// Puts the shared host name property in the fake: version 1, active on
/// staging, serving [`EXISTING_HOST`].
pub fn seed_hostname_property(state: &mut State) {
    state.properties.insert(
        HOSTNAME_PROPERTY.to_owned(),
        FakeProperty {
            id: HOSTNAME_PROPERTY.to_owned(),
            name: "san-cert-hostnames".to_owned(),
            versions: vec![FakeVersion {
                rules: json!({"name": "default", "behaviors": [], "children": []}),
                hostnames: json!([{"cnameType": "EDGE_HOSTNAME", "cnameFrom": EXISTING_HOST,
                    "cnameTo": format!("{SAN1}.edgekey.net"), "edgeHostnameId": "ehn_0"}]),
                staging_status: "ACTIVE".to_owned(),
                production_status: "INACTIVE".to_owned(),
            }],
            staging_version: Some(1),
            production_version: None,
        },
    );
    state.activations.push(FakeActivation {
        id: "atv_seed".to_owned(),
        property_id: HOSTNAME_PROPERTY.to_owned(),
        version: 1,
        network: "STAGING".to_owned(),
        kind: "ACTIVATE".to_owned(),
        status: "ACTIVE".to_owned(),
        polls_left: 0,
        submitted: 0,
    });
}

/// A certificate of `domain` issued on the shared certificate `on`.
fn issued(domain: &str, cert_type: CertType, on: &str) -> SslCertificate {
    let mut cert = SslCertificate::new(ProjectId::new("p1"), "premium", domain, cert_type, 1);
    let mut details = CertDetails::with_status(CertStatus::Deployed);
    match cert_type {
        CertType::Sni => details.extra_info.sni_cert = Some(on.to_owned()),
        _ => details.extra_info.san_cert = Some(on.to_owned()),
    }
    cert.cert_details.insert("akamai".to_owned(), details);
    cert.settle_status();
    cert
}

fn certificates(provider: &AkamaiProvider) -> std::sync::Arc<dyn CertificateProvider> {
    match provider.certificates() {
        Some(c) => c,
        None => panic!("the akamai provider provisions certificates"),
    }
}

/// `(cnameFrom, cnameTo)` of `version` of the shared property.
fn hosts(fake: &Fake, version: u32) -> Vec<(String, String)> {
    let property = fake.property(HOSTNAME_PROPERTY).expect("the property");
    let v = &property.versions[version as usize - 1];
    v.hostnames
        .as_array()
        .expect("a list")
        .iter()
        .map(|h| {
            (
                h["cnameFrom"].as_str().unwrap_or_default().to_owned(),
                h["cnameTo"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn versions(fake: &Fake) -> usize {
    fake.property(HOSTNAME_PROPERTY)
        .expect("the property")
        .versions
        .len()
}

/// Requests that change something at PAPI.
fn writes(fake: &Fake) -> Vec<String> {
    fake.lines()
        .into_iter()
        .filter(|l| !l.starts_with("GET "))
        .collect()
}

#[tokio::test]
async fn attaching_makes_a_version_with_the_hostnames_and_polls_its_activation() {
    let fake = cert_fake(0, 0).await;
    fake.state().activation_polls = 3;
    let provider = fake.provider_with(cert_config(&fake));
    let certs = certificates(&provider);
    let batch = [
        issued("a.example.org", CertType::San, SAN1),
        issued("b.example.org", CertType::Sni, SNI1),
    ];
    fake.clear_log();
    certs
        .update_hostnames(&batch, HostnameAction::Add)
        .await
        .expect("attach");

    assert_eq!(versions(&fake), 2, "a new version from the active one");
    let property = fake.property(HOSTNAME_PROPERTY).expect("property");
    assert_eq!(property.staging_version, Some(2), "version 2 is active");
    assert_eq!(
        hosts(&fake, 2),
        [
            (EXISTING_HOST.to_owned(), format!("{SAN1}.edgekey.net")),
            ("a.example.org".to_owned(), format!("{SAN1}.edgekey.net")),
            ("b.example.org".to_owned(), format!("{SNI1}.edgekey.net")),
        ]
    );
    assert_eq!(hosts(&fake, 1).len(), 1, "the active version is untouched");
    let log = fake.log();
    let put = log
        .iter()
        .find(|r| r.method == "PUT" && r.path.ends_with("/versions/2/hostnames"))
        .expect("the host names were put");
    let body = put.body.clone().unwrap_or(Value::Null);
    assert!(
        body.as_array()
            .is_some_and(|items| items.iter().all(|h| h["cnameType"] == "EDGE_HOSTNAME")),
        "{body}"
    );
    let activation = log
        .iter()
        .position(|r| r.method == "POST" && r.path.ends_with("/activations"))
        .expect("an activation");
    assert_eq!(
        log[activation].body.as_ref().map(|b| b["network"].clone()),
        Some(json!("STAGING"))
    );
    let polls = log[activation..]
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/activations"))
        .count();
    assert!(
        polls >= 3,
        "the activation was polled until active: {polls}"
    );

    // The same call again changes nothing.
    fake.clear_log();
    certs
        .update_hostnames(&batch, HostnameAction::Add)
        .await
        .expect("again");
    assert_eq!(versions(&fake), 2);
    assert!(writes(&fake).is_empty(), "{:?}", fake.lines());
}

#[tokio::test]
async fn detaching_removes_only_the_given_hostnames_once() {
    let fake = cert_fake(0, 0).await;
    let provider = fake.provider_with(cert_config(&fake));
    let certs = certificates(&provider);
    let a = issued("a.example.org", CertType::San, SAN1);
    let b = issued("b.example.org", CertType::San, SAN1);
    certs
        .update_hostnames(&[a.clone(), b.clone()], HostnameAction::Add)
        .await
        .expect("attach");
    assert_eq!(versions(&fake), 2);

    certs
        .update_hostnames(std::slice::from_ref(&a), HostnameAction::Remove)
        .await
        .expect("detach");
    assert_eq!(versions(&fake), 3);
    assert_eq!(
        fake.property(HOSTNAME_PROPERTY)
            .and_then(|p| p.staging_version),
        Some(3)
    );
    let names: Vec<String> = hosts(&fake, 3).into_iter().map(|(from, _)| from).collect();
    assert_eq!(names, [EXISTING_HOST, "b.example.org"]);

    fake.clear_log();
    certs
        .update_hostnames(&[a], HostnameAction::Remove)
        .await
        .expect("detach again");
    assert_eq!(versions(&fake), 3, "nothing to remove makes no version");
    assert!(writes(&fake).is_empty(), "{:?}", fake.lines());
    // Nothing at all to do calls nothing.
    certs
        .update_hostnames(&[], HostnameAction::Add)
        .await
        .expect("empty");
    assert!(fake.lines().iter().all(|l| l.starts_with("GET ")));
}

#[tokio::test]
async fn without_a_configured_property_the_update_is_refused() {
    let fake = cert_fake(0, 0).await;
    let mut config = cert_config(&fake);
    config.certificates.hostname_property = None;
    let provider = fake.provider_with(config);
    let certs = certificates(&provider);
    fake.clear_log();
    let err = certs
        .update_hostnames(
            &[issued("a.example.org", CertType::San, SAN1)],
            HostnameAction::Add,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PortError::Invalid(m) if m.contains("certificates.hostname_property")),
        "{err:?}"
    );
    assert!(fake.lines().is_empty(), "{:?}", fake.lines());

    // A property that does not exist is a refusal too, naming the key.
    let mut config = cert_config(&fake);
    config.certificates.hostname_property = Some("prp_404".to_owned());
    let err = certificates(&fake.provider_with(config))
        .update_hostnames(
            &[issued("a.example.org", CertType::San, SAN1)],
            HostnameAction::Add,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PortError::Invalid(m) if m.contains("certificates.hostname_property") && m.contains("prp_404")),
        "{err:?}"
    );

    // build() checks the key's shape.
    let mut bad = cert_config(&fake);
    bad.certificates.hostname_property = Some("my property".to_owned());
    assert!(matches!(
        AkamaiProvider::build_with_env(bad, |_| None).err(),
        Some(AkamaiConfigError::BadValue {
            key: "certificates.hostname_property",
            ..
        })
    ));
    let parsed: poppy_adapters::provider::akamai::AkamaiConfig =
        toml::from_str("[certificates]\nhostname_property = \"prp_173136\"\n").expect("parses");
    assert_eq!(
        parsed.certificates.hostname_property.as_deref(),
        Some("prp_173136")
    );
}

#[tokio::test]
async fn throttling_and_outages_map_and_a_retry_reuses_the_unactivated_version() {
    let fake = cert_fake(0, 0).await;
    let provider = fake.provider_with(cert_config(&fake));
    let certs = certificates(&provider);
    let batch = [issued("a.example.org", CertType::San, SAN1)];
    Mock::given(method("GET"))
        .and(path(format!("/papi/v1/properties/{HOSTNAME_PROPERTY}")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "9")
                .set_body_json(json!({"title": "Too Many Requests", "status": 429})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    match certs.update_hostnames(&batch, HostnameAction::Add).await {
        Err(PortError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(9)))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(versions(&fake), 1);

    Mock::given(method("PUT"))
        .and(path(format!(
            "/papi/v1/properties/{HOSTNAME_PROPERTY}/versions/2/hostnames"
        )))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream down"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let err = certs
        .update_hostnames(&batch, HostnameAction::Add)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, PortError::Unavailable { message, .. } if message.contains("503")),
        "{err:?}"
    );
    assert_eq!(
        fake.property(HOSTNAME_PROPERTY)
            .and_then(|p| p.staging_version),
        Some(1),
        "nothing was activated"
    );

    // Back again: the version made before the outage is used, not another.
    certs
        .update_hostnames(&batch, HostnameAction::Add)
        .await
        .expect("after the outage");
    assert_eq!(versions(&fake), 2);
    assert_eq!(
        fake.property(HOSTNAME_PROPERTY)
            .and_then(|p| p.staging_version),
        Some(2)
    );
    assert!(hosts(&fake, 2)
        .iter()
        .any(|(from, _)| from == "a.example.org"));
}
