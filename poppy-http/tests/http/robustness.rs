//! What every endpoint shares: the project header, bodies, unknown routes,
//! request ids, panics, timeouts, mounting and the embedder's layers.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use poppy_http::{router, router_with_layer, HttpConfig};
use serde_json::json;

use crate::fake::{Fake, CREATED_ID, SERVICE_ID};
use crate::support::{app, app_with, get, request, send, with_json, HOST};

const PROJECT_REQUIRED: &str = "The Project ID must be provided.";

/// Every routed endpoint but ping, with a body where it takes one.
fn endpoints() -> Vec<(Method, String, Option<serde_json::Value>)> {
    let id = SERVICE_ID;
    vec![
        (Method::GET, "/v1.0/".into(), None),
        (Method::GET, "/v1.0/health".into(), None),
        (Method::GET, "/v1.0/health/dns/default".into(), None),
        (Method::GET, "/v1.0/health/storage/sqlite".into(), None),
        (Method::GET, "/v1.0/health/provider/mock".into(), None),
        (
            Method::GET,
            "/v1.0/health/distributed_task/sqlite".into(),
            None,
        ),
        (Method::GET, "/v1.0/services".into(), None),
        (Method::POST, "/v1.0/services".into(), Some(json!({}))),
        (Method::GET, format!("/v1.0/services/{id}"), None),
        (
            Method::PATCH,
            format!("/v1.0/services/{id}"),
            Some(json!([])),
        ),
        (Method::DELETE, format!("/v1.0/services/{id}"), None),
        (Method::DELETE, format!("/v1.0/services/{id}/assets"), None),
        // A bad id still reports the missing header first.
        (Method::GET, "/v1.0/services/not-a-uuid".into(), None),
        (Method::GET, "/v1.0/flavors".into(), None),
        (Method::POST, "/v1.0/flavors".into(), Some(json!({}))),
        (Method::GET, "/v1.0/flavors/standard".into(), None),
        (Method::DELETE, "/v1.0/flavors/standard".into(), None),
        (
            Method::GET,
            "/v1.0/admin/services?status=deployed".into(),
            None,
        ),
        (
            Method::POST,
            "/v1.0/admin/services/action".into(),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/v1.0/admin/services/status".into(),
            Some(json!({})),
        ),
        (
            Method::GET,
            "/v1.0/admin/domains?provider_url=x".into(),
            None,
        ),
        (Method::GET, "/v1.0/admin/domains/www.x.com".into(), None),
        (Method::GET, "/v1.0/admin/limits/p1".into(), None),
        (
            Method::PUT,
            "/v1.0/admin/limits/p1".into(),
            Some(json!({"limit": 1})),
        ),
        (Method::GET, "/v1.0/123456/services".into(), None),
    ]
}

#[tokio::test]
async fn every_endpoint_but_ping_needs_the_project_header() {
    let fake = Fake::new();
    let app = app(&fake);
    for (method, uri, body) in endpoints() {
        let builder = axum::http::Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header("host", HOST);
        let request = match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .unwrap();
        let answer = send(&app, request).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{method} {uri}");
        assert_eq!(
            answer.json(),
            json!({"message": PROJECT_REQUIRED}),
            "{method} {uri}"
        );
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test]
async fn a_project_header_that_is_not_text_is_400() {
    let request = axum::http::Request::get("/v1.0/services")
        .header(
            "x-project-id",
            axum::http::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(&Fake::new()), request).await;
    answer.assert_error(
        StatusCode::BAD_REQUEST,
        "The Project ID must be printable ASCII text.",
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_whether_declared_or_streamed() {
    let fake = Fake::new();
    let config = HttpConfig {
        body_limit: 64,
        ..HttpConfig::default()
    };
    let app = app_with(&fake, config);
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(100));
    let message = "The request body is larger than the limit of 64 bytes.";

    let declared = request(Method::POST, "/v1.0/services")
        .header("content-type", "application/json")
        .header("content-length", big.len())
        .body(Body::from(big.clone()))
        .unwrap();
    send(&app, declared)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, message);

    // A declared length over the limit is refused even where no body is read.
    let unread = request(Method::GET, "/v1.0/services")
        .header("content-length", 100)
        .body(Body::from("x".repeat(100)))
        .unwrap();
    send(&app, unread)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, message);

    // No Content-Length: the limit applies while the body is read.
    let streamed = request(Method::POST, "/v1.0/services")
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    send(&app, streamed)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, message);
    assert!(fake.calls().is_empty());

    // At the limit is fine.
    let small = format!(r#"{{"n":"{}"}}"#, "x".repeat(64 - 8));
    assert_eq!(small.len(), 64);
    send(&app, with_json_text(Method::POST, "/v1.0/services", &small))
        .await
        .assert_empty(StatusCode::ACCEPTED);
}

fn with_json_text(method: Method, uri: &str, text: &str) -> axum::http::Request<Body> {
    request(method, uri)
        .header("content-type", "application/json")
        .body(Body::from(text.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn the_default_limit_is_one_mebibyte() {
    assert_eq!(HttpConfig::default().body_limit, 1024 * 1024);
    let fake = Fake::new();
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(1024 * 1024));
    let answer = send(
        &app(&fake),
        with_json_text(Method::POST, "/v1.0/services", &big),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer.json()["message"].is_string());
}

#[tokio::test]
async fn a_non_json_content_type_is_415() {
    let fake = Fake::new();
    let app = app(&fake);
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let request = request(Method::POST, "/v1.0/flavors")
            .header("content-type", content_type)
            .body(Body::from("{}"))
            .unwrap();
        send(&app, request).await.assert_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!(
                "Unsupported Content-Type '{content_type}': request bodies must be JSON (application/json)."
            ),
        );
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn invalid_json_is_400() {
    let fake = Fake::new();
    let app = app(&fake);
    for text in ["", "{", "not json", "{\"a\": 1,}", "\u{feff}{}"] {
        let uri = format!("/v1.0/services/{SERVICE_ID}");
        send(&app, with_json_text(Method::PATCH, &uri, text))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "Invalid JSON string");
    }
    let bytes = request(Method::POST, "/v1.0/services")
        .body(Body::from(vec![0xff, 0xfe, 0x00]))
        .unwrap();
    send(&app, bytes)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "Invalid JSON string");
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn any_json_value_reaches_the_core() {
    // Shape checks are the core's: the transport passes what parses.
    let fake = Fake::new();
    send(
        &app(&fake),
        with_json_text(Method::POST, "/v1.0/services", "[1, \"two\", null]"),
    )
    .await
    .assert_empty(StatusCode::ACCEPTED);
    assert_eq!(
        fake.last_call(),
        Some(crate::fake::Call::CreateService {
            project: crate::fake::PROJECT.into(),
            body: json!([1, "two", null])
        })
    );
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let app = app(&Fake::new());
    for uri in [
        "/",
        "/nothing",
        "/v1.0/nothing",
        "/v2.0/services",
        // (`/v1.0/ssl_certificate/{domain}` and `…/analytics` are routed now.)
        "/v1.0/ssl_certificates/www.x.com",
        "/v1.0/services/96c4e9ab-4d5e-4f63-9a0f-5d7f3a1b2c3d/analytics/x",
    ] {
        send(&app, get(uri))
            .await
            .assert_error(StatusCode::NOT_FOUND, "The resource could not be found.");
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_json() {
    let app = app(&Fake::new());
    let service = format!("/v1.0/services/{SERVICE_ID}");
    for (method, uri) in [
        (Method::PUT, "/v1.0/services"),
        (Method::POST, service.as_str()),
        (Method::DELETE, "/v1.0/ping"),
        (Method::PATCH, "/v1.0/flavors/standard"),
        (Method::GET, "/v1.0/admin/services/action"),
    ] {
        let request = request(method, uri).body(Body::empty()).unwrap();
        send(&app, request).await.assert_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "The method is not allowed for the requested URL.",
        );
    }
}

#[tokio::test]
async fn a_request_id_is_generated_when_absent_and_echoed_when_given() {
    let app = app(&Fake::new());
    let answer = send(&app, get("/v1.0/services")).await;
    let generated = answer.header("x-request-id").expect("generated request id");
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let other = send(&app, get("/v1.0/services")).await;
    assert_ne!(other.header("x-request-id"), Some(generated));

    for uri in ["/v1.0/services", "/nothing", "/v1.0/ping"] {
        let request = request(Method::GET, uri)
            .header("x-request-id", "req-42")
            .body(Body::empty())
            .unwrap();
        let answer = send(&app, request).await;
        assert_eq!(answer.header("x-request-id"), Some("req-42"), "{uri}");
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_json_answer() {
    let fake = Fake::new();
    fake.panic_on_get.store(true, Ordering::SeqCst);
    let app = app(&fake);
    let answer = send(&app, get(&format!("/v1.0/services/{SERVICE_ID}"))).await;
    answer.assert_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The server encountered an unexpected condition which prevented it from fulfilling the request.",
    );
    assert!(answer.header("x-request-id").is_some());
    // The router still serves afterwards.
    fake.panic_on_get.store(false, Ordering::SeqCst);
    let again = send(&app, get(&format!("/v1.0/services/{SERVICE_ID}"))).await;
    assert_eq!(again.status, StatusCode::OK);
}

#[tokio::test]
async fn a_request_running_past_the_timeout_is_504_json() {
    let fake = Fake::new();
    fake.hang_on_get.store(true, Ordering::SeqCst);
    let config = HttpConfig {
        request_timeout: Duration::from_millis(50),
        ..HttpConfig::default()
    };
    let answer = send(
        &app_with(&fake, config),
        get(&format!("/v1.0/services/{SERVICE_ID}")),
    )
    .await;
    answer.assert_error(
        StatusCode::GATEWAY_TIMEOUT,
        "The request did not complete within 50 ms.",
    );
    assert!(answer.header("x-request-id").is_some());
}

#[tokio::test]
async fn links_carry_the_project_with_project_id_in_url_but_location_does_not() {
    let fake = Fake::new();
    let config = HttpConfig {
        project_id_in_url: true,
        ..HttpConfig::default()
    };
    let app = app_with(&fake, config);
    let answer = send(&app, get(&format!("/v1.0/services/{SERVICE_ID}"))).await;
    assert_eq!(
        answer.json()["links"][0]["href"],
        format!("http://cdn.example.com/v1.0/000001/services/{SERVICE_ID}")
    );
    let created = send(&app, with_json(Method::POST, "/v1.0/services", &json!({}))).await;
    assert_eq!(
        created.header("location"),
        Some(format!("http://cdn.example.com/v1.0/services/{CREATED_ID}").as_str())
    );
}

#[tokio::test]
async fn links_follow_the_forwarded_scheme() {
    let request = request(Method::GET, &format!("/v1.0/services/{SERVICE_ID}"))
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(&Fake::new()), request).await;
    assert_eq!(
        answer.json()["links"][0]["href"],
        format!("https://cdn.example.com/v1.0/services/{SERVICE_ID}")
    );
}

#[tokio::test]
async fn a_nested_router_links_through_its_prefix() {
    let fake = Fake::new();
    let app = Router::new().nest("/cdn", router(fake.api(), HttpConfig::default()));

    let created = send(
        &app,
        with_json(Method::POST, "/cdn/v1.0/services", &json!({})),
    )
    .await;
    assert_eq!(created.status, StatusCode::ACCEPTED);
    assert_eq!(
        created.header("location"),
        Some(format!("http://cdn.example.com/cdn/v1.0/services/{CREATED_ID}").as_str())
    );

    let one = send(&app, get(&format!("/cdn/v1.0/123/services/{SERVICE_ID}/"))).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    assert_eq!(
        one.json()["links"][0]["href"],
        format!("http://cdn.example.com/cdn/v1.0/services/{SERVICE_ID}")
    );

    let unknown = send(&app, get("/cdn/v1.0/nothing")).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "The resource could not be found.");
    assert!(unknown.header("x-request-id").is_some());
}

async fn require_token(request: Request, next: Next) -> Response {
    match request.headers().get("x-auth-token") {
        Some(token) if token == "let-me-in" => next.run(request).await,
        _ => (StatusCode::UNAUTHORIZED, "no token").into_response(),
    }
}

#[tokio::test]
async fn an_embedder_can_wrap_the_router_in_its_own_layer() {
    let fake = Fake::new();
    let app = router(fake.api(), HttpConfig::default()).layer(from_fn(require_token));
    let denied = send(&app, get("/v1.0/services")).await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    let allowed = request(Method::GET, "/v1.0/services")
        .header("x-auth-token", "let-me-in")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, allowed).await.status, StatusCode::OK);
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn router_with_layer_runs_the_layer_inside_the_stack() {
    let fake = Fake::new();
    let app = router_with_layer(fake.api(), HttpConfig::default(), from_fn(require_token));
    let denied = send(&app, get("/v1.0/services")).await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    // Inside the stack: the rejection carries a request id.
    assert!(denied.header("x-request-id").is_some());
    // Unknown routes pass through it too.
    assert_eq!(
        send(&app, get("/nothing")).await.status,
        StatusCode::UNAUTHORIZED
    );

    let allowed = request(Method::GET, "/v1.0/123/services")
        .header("x-auth-token", "let-me-in")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, allowed).await.status, StatusCode::OK);
    assert_eq!(fake.calls().len(), 1);
}
