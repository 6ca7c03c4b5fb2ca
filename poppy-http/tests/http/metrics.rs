//! `GET /metrics`: request counts and latencies by route template.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use poppy_http::{HttpConfig, Metrics};
use prometheus::{IntCounter, Registry};

use crate::fake::{Fake, PROJECT, SERVICE_ID};
use crate::support::{app_with, get, request, send};

/// The value of the sample `name{labels}` in an exposition, labels given in
/// the order the encoder writes them (alphabetical).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

async fn scrape(app: &axum::Router) -> String {
    let answer = send(app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    answer.text()
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status_without_tenant_data() {
    let fake = Fake::new();
    let app = app_with(&fake, HttpConfig::default());
    let service = format!("/v1.0/services/{SERVICE_ID}");
    send(&app, get(&service)).await;
    send(&app, get(&format!("/v1.0/123456/services/{SERVICE_ID}/"))).await;
    send(&app, get("/v1.0/no/such/route")).await;
    send(
        &app,
        request(Method::DELETE, "/v1.0/flavors/standard")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let text = scrape(&app).await;

    assert_eq!(
        sample(
            &text,
            r#"poppy_http_requests_total{method="GET",route="/v1.0/services/{service_id}",status="200"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"poppy_http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"poppy_http_request_duration_seconds_count{method="DELETE",route="/v1.0/flavors/{flavor_id}",status="204"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains("# TYPE poppy_http_request_duration_seconds histogram"));
    for tenant in [SERVICE_ID, PROJECT, "standard", "123456"] {
        assert!(!text.contains(tenant), "{tenant} leaked into {text}");
    }
}

#[tokio::test]
async fn an_embedders_registry_and_scrape_hooks_show_up() {
    let registry = Registry::new();
    let own = IntCounter::new("embedder_things_total", "Things.").unwrap();
    registry.register(Box::new(own.clone())).unwrap();
    own.inc_by(7);
    let metrics = Metrics::with_registry(registry).unwrap();
    let hooks = Arc::new(AtomicU32::new(0));
    let seen = hooks.clone();
    metrics.on_scrape(Arc::new(move || {
        let seen = seen.clone();
        Box::pin(async move {
            seen.fetch_add(1, Ordering::SeqCst);
        })
    }));
    let app = app_with(
        &Fake::new(),
        HttpConfig {
            metrics: Some(metrics.clone()),
            ..HttpConfig::default()
        },
    );
    send(&app, get("/v1.0/flavors")).await;
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "embedder_things_total"), Some(7.0), "{text}");
    assert_eq!(hooks.load(Ordering::SeqCst), 1);
    // The same registry backs `render`, so a second scrape sees the first.
    let again = metrics.render().await;
    assert_eq!(
        sample(
            &again,
            r#"poppy_http_requests_total{method="GET",route="/metrics",status="200"}"#
        ),
        Some(1.0),
        "{again}"
    );
    // Registering the HTTP metrics twice in one registry is refused.
    assert!(Metrics::with_registry(metrics.registry().clone()).is_err());
}

#[tokio::test]
async fn answers_of_the_stack_are_counted_with_their_route() {
    let fake = Fake::new();
    fake.panic_on_get.store(true, Ordering::SeqCst);
    let app = app_with(&fake, HttpConfig::default());
    let answer = send(&app, get(&format!("/v1.0/services/{SERVICE_ID}"))).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            r#"poppy_http_requests_total{method="GET",route="/v1.0/services/{service_id}",status="500"}"#
        ),
        Some(1.0),
        "{text}"
    );
}
