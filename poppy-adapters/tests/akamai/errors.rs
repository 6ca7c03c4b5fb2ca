//! Akamai's failures as port error kinds, and no secret in any of them.

use std::time::Duration;

use poppy_adapters::provider::akamai::Secret;
use poppy_core::model::{ProjectId, PurgeTarget};
use poppy_core::ports::{CdnProvider, PortError};
use poppy_core::testkit::fixtures;
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::fake::{Fake, ACCESS_TOKEN, CLIENT_SECRET, CLIENT_TOKEN};

/// Neither the error's message nor its debug form names a credential.
fn assert_no_secret(error: &PortError) {
    let shown = format!("{error} {error:?}");
    for secret in [CLIENT_SECRET, CLIENT_TOKEN, ACCESS_TOKEN] {
        assert!(!shown.contains(secret), "a credential leaked into {shown}");
    }
}

async fn search_answers(fake: &Fake, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/papi/v1/search/find-by-value"))
        .respond_with(response)
        .with_priority(1)
        .mount(&fake.server)
        .await;
}

#[tokio::test]
async fn throttling_is_rate_limited_with_the_retry_after_given() {
    let fake = Fake::start(0).await;
    search_answers(
        &fake,
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "7")
            .set_body_json(json!({"title": "Too Many Requests", "status": 429})),
    )
    .await;
    let err = fake
        .provider()
        .create(&fixtures::service(&ProjectId::random()))
        .await
        .expect_err("throttled");
    match &err {
        PortError::RateLimited {
            backend,
            retry_after,
        } => {
            assert_eq!(backend, "akamai");
            assert_eq!(*retry_after, Some(Duration::from_secs(7)));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_no_secret(&err);
}

#[tokio::test]
async fn server_errors_are_unavailable() {
    let fake = Fake::start(0).await;
    search_answers(
        &fake,
        ResponseTemplate::new(500)
            .set_body_json(json!({"title": "Internal Server Error", "detail": "try later"})),
    )
    .await;
    let err = fake
        .provider()
        .create(&fixtures::service(&ProjectId::random()))
        .await
        .expect_err("500");
    match &err {
        PortError::Unavailable {
            message,
            retry_after,
            ..
        } => {
            assert!(
                message.contains("HTTP 500") && message.contains("try later"),
                "{message}"
            );
            assert_eq!(*retry_after, None);
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_purge_refused_for_capacity_is_unavailable_with_its_retry_after() {
    let fake = Fake::start(0).await;
    Mock::given(method("POST"))
        .and(path("/ccu/v3/delete/url/staging"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "30"))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let service = fixtures::service(&ProjectId::random());
    let err = fake
        .provider()
        .purge(
            "prp_1",
            &service,
            &PurgeTarget::Url("/a.css".to_owned()),
            true,
        )
        .await
        .expect_err("503");
    assert!(
        matches!(err, PortError::Unavailable { retry_after: Some(d), .. } if d == Duration::from_secs(30)),
        "{err:?}"
    );
}

#[tokio::test]
async fn validation_problems_are_invalid_with_akamais_message() {
    let fake = Fake::start(0).await;
    Mock::given(method("POST"))
        .and(path("/papi/v1/properties"))
        .respond_with(
            ResponseTemplate::new(400).set_body_raw(
                json!({
                    "type": "https://problems.luna.akamaiapis.net/papi/v0/property-name-invalid",
                    "title": "Invalid property name",
                    "detail": "The property name contains characters that are not allowed",
                    "status": 400,
                })
                .to_string(),
                "application/problem+json",
            ),
        )
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let err = fake
        .provider()
        .create(&fixtures::service(&ProjectId::random()))
        .await
        .expect_err("400");
    match &err {
        PortError::Invalid(message) => assert!(
            message.contains(
                "Invalid property name: The property name contains characters that are not allowed"
            ),
            "{message}"
        ),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_no_secret(&err);
}

#[tokio::test]
async fn a_credential_echoed_by_the_server_is_not_repeated() {
    let fake = Fake::start(0).await;
    search_answers(
        &fake,
        ResponseTemplate::new(403).set_body_json(json!({
            "title": "Forbidden",
            "detail": format!("client token {CLIENT_TOKEN} and access token {ACCESS_TOKEN} lack access to the group"),
        })),
    )
    .await;
    let err = fake
        .provider()
        .create(&fixtures::service(&ProjectId::random()))
        .await
        .expect_err("403");
    match &err {
        PortError::Invalid(message) => {
            assert!(
                message.contains("client token <redacted> and access token <redacted>"),
                "{message}"
            )
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_no_secret(&err);
}

#[tokio::test]
async fn rule_tree_errors_papi_reports_are_invalid() {
    let fake = Fake::start(0).await;
    Mock::given(method("PUT"))
        .and(path_regex(r"/rules$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "rules": {},
            "errors": [{
                "type": "https://problems.luna.akamaiapis.net/papi/v0/validation/incompatible_condition",
                "errorLocation": "#/rules/children/1/criteria/0",
                "detail": "The userLocation match is not available to the product",
            }],
        })))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let err = fake
        .provider()
        .create(&fixtures::service(&ProjectId::random()))
        .await
        .expect_err("rule errors");
    match &err {
        PortError::Invalid(message) => assert!(
            message.contains("The userLocation match is not available to the product (at #/rules/children/1/criteria/0)"),
            "{message}"
        ),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_answer_is_unavailable_after_the_configured_timeout() {
    let fake = Fake::start(0).await;
    search_answers(
        &fake,
        ResponseTemplate::new(200)
            .set_body_json(json!({"versions": {"items": []}}))
            .set_delay(Duration::from_secs(30)),
    )
    .await;
    let mut config = fake.config();
    config.timeout_ms = 200;
    let err = fake
        .provider_with(config)
        .create(&fixtures::service(&ProjectId::random()))
        .await
        .expect_err("times out");
    match &err {
        PortError::Unavailable { message, .. } => {
            assert!(message.contains("timed out after 200 ms"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_no_secret(&err);
}

#[tokio::test]
async fn wrong_credentials_are_refused_without_showing_them() {
    let fake = Fake::start(0).await;
    let mut config = fake.config();
    config.client_secret = Some(Secret::new("bm90LXRoZS1yaWdodC1zZWNyZXQ="));
    let provider = fake.provider_with(config);
    assert!(!provider.is_alive().await);
    let err = provider
        .create(&fixtures::service(&ProjectId::random()))
        .await
        .expect_err("401");
    match &err {
        PortError::Invalid(message) => assert!(message.contains("HTTP 401"), "{message}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(!format!("{err:?}").contains("bm90LXRoZS1yaWdodC1zZWNyZXQ="));
    assert_no_secret(&err);
    assert!(
        fake.provider().is_alive().await,
        "the right credentials are accepted"
    );
}

#[tokio::test]
async fn an_unreachable_api_is_unavailable() {
    let fake = Fake::start(0).await;
    let mut config = fake.config();
    // A loopback port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    config.host = Some(format!("http://127.0.0.1:{port}"));
    let err = fake
        .provider_with(config)
        .status("prp_1")
        .await
        .expect_err("no server");
    assert!(matches!(err, PortError::Unavailable { .. }), "{err:?}");
    assert_no_secret(&err);
}

#[test]
fn the_provider_and_its_configuration_never_show_a_secret() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let fake = Fake::start(0).await;
        let config = fake.config();
        let provider = fake.provider_with(config.clone());
        for shown in [format!("{config:?}"), format!("{provider:?}")] {
            for secret in [CLIENT_SECRET, CLIENT_TOKEN, ACCESS_TOKEN] {
                assert!(!shown.contains(secret), "{shown}");
            }
        }
    });
}
