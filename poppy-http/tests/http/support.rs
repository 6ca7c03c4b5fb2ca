//! Request helpers for `oneshot` tests.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use poppy_http::{router, HttpConfig};
use serde_json::Value;
use tower::ServiceExt;

use crate::fake::{Fake, PROJECT};

pub const HOST: &str = "cdn.example.com";
pub const BASE: &str = "http://cdn.example.com/v1.0";

pub fn app(fake: &Arc<Fake>) -> Router {
    router(fake.api(), HttpConfig::default())
}

pub fn app_with(fake: &Arc<Fake>, config: HttpConfig) -> Router {
    router(fake.api(), config)
}

/// A request with `Host` and `X-Project-ID` set.
pub fn request(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", HOST)
        .header("x-project-id", PROJECT)
}

pub fn get(uri: &str) -> Request<Body> {
    request(Method::GET, uri).body(Body::empty()).unwrap()
}

pub fn with_json(method: Method, uri: &str, body: &Value) -> Request<Body> {
    request(method, uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).expect("utf-8 body")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts an error answer: status, JSON content type, `{"message": m}`.
    pub fn assert_error(&self, status: StatusCode, message: &str) {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_eq!(self.json(), serde_json::json!({ "message": message }));
    }

    /// Asserts an empty-bodied answer.
    pub fn assert_empty(&self, status: StatusCode) {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert!(
            self.body.is_empty(),
            "expected no body, got {:?}",
            self.text()
        );
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// Removes the whitespace outside JSON strings, so an expected body can be
/// written readably and still compared byte for byte (key order included).
pub fn compact(pretty: &str) -> String {
    let mut out = String::with_capacity(pretty.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in pretty.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}
