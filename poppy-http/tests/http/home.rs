use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};

use crate::fake::{Call, Fake};
use crate::support::{app, compact, get, send};

const HOME: &str = r#"
{"resources": {
  "rel/services": {"href-template": "/services{?marker,limit}",
                   "href-vars": {"marker": "param/marker", "limit": "param/limit"},
                   "hints": {"allow": ["GET","POST"], "formats": {"application/json": {}}}},
  "rel/flavors":  {"href-template": "/flavors/{flavor_id}",
                   "href-vars": {"marker": "param/flavor_id"},
                   "hints": {"allow": ["GET","POST","DELETE"], "formats": {"application/json": {}}}},
  "rel/health":   {"href-template": "/health", "href-vars": {"subsystem": "param/subsystem"},
                   "hints": {"allow": ["GET"], "formats": {"application/json": {}}}},
  "rel/ping":     {"href-template": "/ping",
                   "hints": {"allow": ["GET"], "formats": {"application/json": {}}}}}}
"#;

#[tokio::test]
async fn home_document_is_the_reference_one_in_order() {
    let app = app(&Fake::new());
    for path in ["/v1.0/", "/v1.0", "/v1.0/123456/", "/v1.0/123456"] {
        let answer = send(&app, get(path)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(answer.text(), compact(HOME), "{path}");
    }
}

#[tokio::test]
async fn ping_needs_no_project_and_is_204_when_up() {
    let fake = Fake::new();
    let request = Request::get("/v1.0/ping").body(Body::empty()).unwrap();
    let answer = send(&app(&fake), request).await;
    answer.assert_empty(StatusCode::NO_CONTENT);
    assert_eq!(fake.calls(), vec![Call::Ping]);
}

#[tokio::test]
async fn ping_is_503_and_empty_when_a_backend_is_down() {
    let fake = Fake::new();
    fake.ping_ok.store(false, Ordering::SeqCst);
    let answer = send(&app(&fake), get("/v1.0/ping")).await;
    answer.assert_empty(StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn ping_accepts_head_and_the_numeric_project_segment() {
    let fake = Fake::new();
    let request = Request::builder()
        .method(Method::HEAD)
        .uri("/v1.0/42/ping")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(&fake), request).await;
    answer.assert_empty(StatusCode::NO_CONTENT);
}
