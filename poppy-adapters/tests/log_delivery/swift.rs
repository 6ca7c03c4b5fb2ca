//! The Swift driver against the Keystone + Swift stand-in.

use std::time::Duration;

use poppy_adapters::log_delivery::swift::{
    parse_v2, IdentityVersion, SwiftConfig, SwiftLogDelivery,
};
use poppy_adapters::{Registry, RegistryError};
use poppy_core::model::{AuthToken, ProjectId};
use poppy_core::ports::{LogDelivery, LogDeliveryUrl, PortError};
use poppy_core::testkit::conformance;
use serde_json::json;

use super::fake::Fake;

const TOKEN: &str = "tenant-token-1234";

fn token() -> AuthToken {
    AuthToken::new(TOKEN).expect("a token")
}

fn driver(config: SwiftConfig) -> SwiftLogDelivery {
    SwiftLogDelivery::build(config).expect("a valid configuration")
}

async fn fake() -> Fake {
    let fake = Fake::start(&["ORD", "DC1", "DC2"]).await;
    fake.accept(TOKEN);
    fake
}

fn expected(fake: &Fake, region: &str, project: &ProjectId) -> LogDeliveryUrl {
    let uri = fake.server.uri();
    LogDeliveryUrl {
        public_url: format!("{uri}/public/{region}/v1/AUTH_{project}/.CDN_ACCESS_LOGS"),
        internal_url: format!("{uri}/internal/{region}/v1/AUTH_{project}/.CDN_ACCESS_LOGS"),
    }
}

#[tokio::test]
async fn the_driver_meets_the_port_contract_with_keystone_v2_and_v3() {
    for version in [IdentityVersion::V2, IdentityVersion::V3] {
        let fake = fake().await;
        let swift = driver(fake.config(version));
        conformance::log_delivery::run_all(
            &swift,
            &ProjectId::random(),
            &ProjectId::random(),
            &token(),
        )
        .await;
    }
}

#[tokio::test]
async fn v2_rescopes_the_tenants_token_and_puts_the_container_through_the_public_url() {
    let fake = fake().await;
    let swift = driver(fake.config(IdentityVersion::V2));
    let project = ProjectId::random();
    let urls = swift
        .ensure_container(&project, Some(&token()))
        .await
        .expect("container made");
    // ORD is first in the catalog but not preferred: DC1 is the first
    // preferred region; Poppy runs elsewhere, so the public URL is used.
    assert_eq!(urls, vec![expected(&fake, "DC1", &project)]);
    assert_eq!(
        fake.keystone_bodies().await,
        vec![json!({"auth": {"tenantName": project.as_str(), "token": {"id": TOKEN}}})]
    );
    assert_eq!(
        fake.puts().await,
        vec![(
            format!("/public/DC1/v1/AUTH_{project}/.CDN_ACCESS_LOGS"),
            format!("scoped-{project}")
        )],
        "one PUT, with the token Keystone scoped to the project"
    );
}

#[tokio::test]
async fn in_poppys_own_datacenter_the_internal_url_is_used() {
    let fake = fake().await;
    let swift = driver(SwiftConfig {
        preferred_dcs: vec!["DC2".into()],
        datacenter: "dc2".into(),
        container_name: "cdn logs".into(),
        ..fake.config(IdentityVersion::V3)
    });
    let project = ProjectId::random();
    let urls = swift
        .ensure_container(&project, Some(&token()))
        .await
        .expect("container made");
    let uri = fake.server.uri();
    assert_eq!(
        urls,
        vec![LogDeliveryUrl {
            public_url: format!("{uri}/public/DC2/v1/AUTH_{project}/cdn%20logs"),
            internal_url: format!("{uri}/internal/DC2/v1/AUTH_{project}/cdn%20logs"),
        }]
    );
    let puts = fake.puts().await;
    assert_eq!(puts.len(), 1);
    assert_eq!(
        puts[0].0,
        format!("/internal/DC2/v1/AUTH_{project}/cdn%20logs")
    );
    assert_eq!(
        fake.keystone_bodies().await,
        vec![json!({"auth": {
            "identity": {"methods": ["token"], "token": {"id": TOKEN}},
            "scope": {"project": {"id": project.as_str()}}}})]
    );
}

#[tokio::test]
async fn an_existing_container_is_fine() {
    let fake = fake().await;
    let swift = driver(fake.config(IdentityVersion::V2));
    let project = ProjectId::random();
    let first = swift.ensure_container(&project, Some(&token())).await;
    let second = swift.ensure_container(&project, Some(&token())).await;
    assert_eq!(first.expect("made"), second.expect("202 is success"));
    assert_eq!(fake.containers().len(), 1);
    assert_eq!(fake.puts().await.len(), 2);
}

#[tokio::test]
async fn no_preferred_region_means_no_container() {
    let fake = fake().await;
    let swift = driver(SwiftConfig {
        preferred_dcs: vec!["SYD".into(), "HKG".into()],
        ..fake.config(IdentityVersion::V2)
    });
    let urls = swift
        .ensure_container(&ProjectId::random(), Some(&token()))
        .await
        .expect("not an error");
    assert!(urls.is_empty(), "{urls:?}");
    assert!(fake.puts().await.is_empty(), "nothing was PUT");
}

#[test]
fn the_v2_catalog_is_read_in_order_and_other_services_are_ignored() {
    let body = json!({"access": {"token": {"id": "t"}, "serviceCatalog": [
        {"type": "compute", "endpoints": [{"region": "DC1", "publicURL": "http://compute"}]},
        {"type": "object-store", "endpoints": [
            {"region": "DC2", "publicURL": "http://p2", "internalURL": "http://i2"},
            {"region": "DC1", "publicURL": "http://p1"}]}]}});
    let (token, endpoints) = parse_v2(&body).expect("a catalog");
    assert_eq!(token.as_deref(), Some("t"));
    let regions: Vec<_> = endpoints.iter().map(|e| e.region.as_str()).collect();
    assert_eq!(regions, ["DC2", "DC1"]);
    assert_eq!(endpoints[1].internal_url, None);
    let swift = driver(SwiftConfig {
        identity_url: "http://127.0.0.1:1/v2.0".into(),
        preferred_dcs: vec!["DC1".into(), "DC2".into()],
        ..SwiftConfig::default()
    });
    assert_eq!(
        swift.choose(&endpoints).map(|e| e.region.as_str()),
        Some("DC2"),
        "catalog order, not preferred_dcs order (the original's)"
    );
    assert!(parse_v2(&json!({"error": "nope"})).is_none());
}

/// The error says what happened and never carries the token.
fn assert_invalid(error: &PortError, mentions: &str) {
    let text = format!("{error} {error:?}");
    assert!(matches!(error, PortError::Invalid(_)), "{text}");
    assert!(text.contains(mentions), "{text} should mention {mentions}");
    assert!(!text.contains(TOKEN), "the token leaked: {text}");
}

#[tokio::test]
async fn a_refused_or_missing_token_is_invalid() {
    let fake = fake().await;
    let swift = driver(fake.config(IdentityVersion::V2));
    let project = ProjectId::random();
    let stranger = AuthToken::new("not-a-known-token").expect("a token");
    let error = swift
        .ensure_container(&project, Some(&stranger))
        .await
        .expect_err("Keystone says 401");
    assert_invalid(&error, "Keystone refused the tenant's token");
    assert!(error.to_string().contains(project.as_str()));

    let error = swift
        .ensure_container(&project, None)
        .await
        .expect_err("no token");
    assert_invalid(&error, "X-Auth-Token");

    fake.force_swift(Some((403, None)));
    let error = swift
        .ensure_container(&project, Some(&token()))
        .await
        .expect_err("Swift says 403");
    assert_invalid(&error, "Swift refused");
}

#[tokio::test]
async fn outages_and_throttling_are_retryable_with_their_retry_after() {
    let fake = fake().await;
    let swift = driver(fake.config(IdentityVersion::V2));
    let project = ProjectId::random();

    fake.force_keystone(Some((503, Some(7))));
    let error = swift
        .ensure_container(&project, Some(&token()))
        .await
        .expect_err("503");
    assert!(matches!(error, PortError::Unavailable { .. }), "{error:?}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));

    fake.force_keystone(None);
    fake.force_swift(Some((429, Some(3))));
    let error = swift
        .ensure_container(&project, Some(&token()))
        .await
        .expect_err("429");
    assert!(matches!(error, PortError::RateLimited { .. }), "{error:?}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));

    fake.force_swift(Some((500, None)));
    let error = swift
        .ensure_container(&project, Some(&token()))
        .await
        .expect_err("500");
    assert!(error.is_retryable(), "{error:?}");
}

#[tokio::test]
async fn a_keystone_that_is_not_keystone_is_invalid_and_an_unreachable_one_unavailable() {
    let fake = fake().await;
    fake.garbage();
    let swift = driver(fake.config(IdentityVersion::V2));
    let error = swift
        .ensure_container(&ProjectId::random(), Some(&token()))
        .await
        .expect_err("not JSON");
    assert_invalid(&error, "identity_url");

    // A loopback port nobody listens on any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let config = SwiftConfig {
        identity_url: format!("http://{addr}/v2.0"),
        ..SwiftConfig::default()
    };
    let error = driver(config)
        .ensure_container(&ProjectId::random(), Some(&token()))
        .await
        .expect_err("nobody answers");
    assert!(matches!(error, PortError::Unavailable { .. }), "{error:?}");
    assert!(!format!("{error:?}").contains(TOKEN));
}

#[tokio::test]
async fn the_registry_builds_the_driver_from_its_section() {
    let fake = fake().await;
    let options: toml::Table = toml::from_str(&format!(
        r#"identity_url = "{}/v2.0"
preferred_dcs = ["DC2"]
container_name = "logs"
timeout_ms = 2000"#,
        fake.server.uri()
    ))
    .expect("TOML");
    let port = Registry::builtin()
        .log_delivery("swift", &options)
        .expect("built");
    let project = ProjectId::random();
    let urls = port
        .ensure_container(&project, Some(&token()))
        .await
        .expect("made");
    assert!(
        urls[0]
            .public_url
            .ends_with(&format!("/public/DC2/v1/AUTH_{project}/logs")),
        "{urls:?}"
    );

    let bad: toml::Table = toml::from_str(r#"identity_url = "keystone""#).expect("TOML");
    let error = Registry::builtin()
        .log_delivery("swift", &bad)
        .expect_err("refused");
    assert!(matches!(error, RegistryError::Options { .. }), "{error}");
    assert!(error.to_string().contains("identity_url"), "{error}");
    let unknown: toml::Table = toml::from_str(r#"identity_uri = "http://x""#).expect("TOML");
    assert!(Registry::builtin().log_delivery("swift", &unknown).is_err());
    assert!(matches!(
        Registry::builtin().log_delivery("s3", &toml::Table::new()),
        Err(RegistryError::UnknownDriver { .. })
    ));
}
