//! The middleware stack, outermost first:
//! request id → metrics → trace → catch-panic → timeout → body limit → path
//! normalisation → routes.
//!
//! The stack wraps the whole routing `Router` (rather than being added with
//! `Router::layer`, which runs after routing) so that unknown routes are
//! traced and limited too, and so the path can be rewritten before routing
//! (the optional numeric project segment).

use std::any::Any;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::uri::{PathAndQuery, Uri};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::Limited;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{MakeSpan, OnResponse, TraceLayer};
use tracing::Span;

use crate::config::HttpConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// The request id header, generated when absent and echoed in the response.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The path the router is mounted under when an embedder nests it
/// (`Router::new().nest("/cdn", poppy_http::router(..))` → `/cdn`), so links
/// and `Location` headers point back through the same prefix.
#[derive(Debug, Clone, Default)]
pub(crate) struct MountPrefix(pub(crate) String);

/// Wraps the routing `Router` in the stack and returns a `Router` again, so
/// embedders can nest, merge or layer it like any other.
pub(crate) fn wrap(routes: Router, config: &HttpConfig, metrics: Metrics) -> Router {
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        .layer(from_fn_with_state(metrics, crate::metrics::record))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(RequestSpan)
                .on_response(RecordResponse),
        )
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(from_fn_with_state(config.request_timeout, timeout))
        .layer(from_fn_with_state(config.body_limit, body_limit))
        .layer(from_fn(normalise_path))
        .service(routes);
    Router::new().fallback_service(stack)
}

/// One span per request: method, path, request id; status and latency are
/// recorded when the response is ready.
#[derive(Debug, Clone, Copy)]
struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> Span {
        let request_id = request
            .headers()
            .get(X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let path = request
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| request.uri().path(), |u| u.0.path());
        tracing::info_span!(
            "http_request",
            method = %request.method(),
            path = %path,
            request_id = %request_id,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct RecordResponse;

impl<B> OnResponse<B> for RecordResponse {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        let status = response.status().as_u16();
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        span.record("status", status);
        span.record("latency_ms", latency_ms);
        tracing::info!(parent: span, status, latency_ms, "request finished");
    }
}

/// A handler panicked: log what it said and answer the opaque 500.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = detail, "request handler panicked");
    ApiError::internal().into_response()
}

/// Requests still running after the configured time get 504; the handler's
/// future is dropped.
async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = limit.as_millis(), "request timed out");
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "The request did not complete within {} ms.",
                    limit.as_millis()
                ),
            )
            .into_response()
        }
    }
}

/// A declared `Content-Length` over the limit is refused at once; any other
/// body is wrapped so reading past the limit fails, which the JSON extractor
/// turns into the same 413.
async fn body_limit(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return ApiError::payload_too_large(limit).into_response();
    }
    let request = request.map(|body| Body::new(Limited::new(body, limit)));
    next.run(request).await
}

/// Records the mount prefix, then drops an all-digit project segment after
/// `/v1.0` (`/v1.0/123456/services` == `/v1.0/services`, as the original's
/// root controller) and trailing slashes, before routing.
async fn normalise_path(mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let prefix = request
        .extensions()
        .get::<OriginalUri>()
        .and_then(|original| original.0.path().strip_suffix(path.as_str()))
        .map(|p| p.trim_end_matches('/').to_owned())
        .unwrap_or_default();
    request.extensions_mut().insert(MountPrefix(prefix));

    let normalised = normalise(&path);
    if normalised != path {
        if let Some(uri) = with_path(request.uri(), &normalised) {
            *request.uri_mut() = uri;
        }
    }
    next.run(request).await
}

fn normalise(path: &str) -> String {
    let mut segments: Vec<&str> = path.split('/').collect();
    // ["", "v1.0", "123456", "services"]
    if segments.len() >= 3
        && segments[1] == "v1.0"
        && !segments[2].is_empty()
        && segments[2].bytes().all(|b| b.is_ascii_digit())
    {
        segments.remove(2);
    }
    let mut out = segments.join("/");
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

fn with_path(uri: &Uri, path: &str) -> Option<Uri> {
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_project_segment_and_trailing_slashes_are_dropped() {
        assert_eq!(normalise("/v1.0/123456/services"), "/v1.0/services");
        assert_eq!(normalise("/v1.0/123456/services/"), "/v1.0/services");
        assert_eq!(normalise("/v1.0/123"), "/v1.0");
        assert_eq!(normalise("/v1.0/"), "/v1.0");
        assert_eq!(normalise("/v1.0/abc/services"), "/v1.0/abc/services");
        assert_eq!(normalise("/v1.0/services/123"), "/v1.0/services/123");
        assert_eq!(normalise("/v2/123/services"), "/v2/123/services");
        assert_eq!(normalise("/"), "/");
    }

    #[test]
    fn with_path_keeps_the_query() {
        let uri: Uri = "/v1.0/1/services?limit=2".parse().unwrap();
        let uri = with_path(&uri, "/v1.0/services").unwrap();
        assert_eq!(uri.to_string(), "/v1.0/services?limit=2");
    }
}
