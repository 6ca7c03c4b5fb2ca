//! The middleware stack, as one service: request id → metrics → trace →
//! catch-panic → timeout → body limit → path normalisation → routes.
//!
//! The stack wraps the whole routing `Router` (rather than being added with
//! `Router::layer`, which runs after routing) so that unknown routes are
//! traced and limited too, and so the path can be rewritten before routing
//! (the optional numeric project segment).
//!
//! It is one hand-written service rather than a tower stack of eight layers:
//! each `from_fn` layer boxed a future and cloned its state per request, and
//! the stack together cost more than the `GET /services/{id}` handler
//! itself (see the README's performance section).

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::{OriginalUri, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::uri::{PathAndQuery, Uri};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::FutureExt;
use http_body_util::Limited;
use tower::Service;
use tracing::Instrument;

use crate::config::HttpConfig;
use crate::error::ApiError;
use crate::metrics::{Metrics, RouteLabel, UNMATCHED_ROUTE};

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
    let envelope = Envelope {
        routes,
        settings: Arc::new(Settings {
            request_timeout: config.request_timeout,
            body_limit: config.body_limit,
            metrics,
        }),
    };
    Router::new().fallback_service(envelope)
}

struct Settings {
    request_timeout: Duration,
    body_limit: usize,
    metrics: Metrics,
}

/// The whole stack around the routes (see the module docs).
#[derive(Clone)]
struct Envelope {
    routes: Router,
    settings: Arc<Settings>,
}

impl Service<Request> for Envelope {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A `Router` is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let routes = self.routes.clone();
        let settings = self.settings.clone();
        Box::pin(async move { Ok(handle(routes, &settings, request).await) })
    }
}

async fn handle(mut routes: Router, settings: &Settings, mut request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let request_id = match request.headers().get(&X_REQUEST_ID) {
        Some(id) => id.clone(),
        None => {
            let id = new_request_id();
            request.headers_mut().insert(X_REQUEST_ID, id.clone());
            id
        }
    };
    let span = tracing::info_span!(
        "http_request",
        method = %method,
        path = %original_path(&request),
        request_id = %String::from_utf8_lossy(request_id.as_bytes()),
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    normalise_path(&mut request);

    let mut response = match limit_body(request, settings.body_limit) {
        Err(TooLarge) => ApiError::payload_too_large(settings.body_limit).into_response(),
        Ok(request) => {
            let routed = tokio::time::timeout(settings.request_timeout, routes.call(request));
            match AssertUnwindSafe(routed)
                .catch_unwind()
                .instrument(span.clone())
                .await
            {
                Ok(Ok(Ok(response))) => response,
                Ok(Ok(Err(never))) => match never {},
                Ok(Err(_elapsed)) => timed_out(settings.request_timeout),
                Err(panic) => panic_response(panic),
            }
        }
    };

    if !response.headers().contains_key(&X_REQUEST_ID) {
        response.headers_mut().insert(X_REQUEST_ID, request_id);
    }
    let latency = started.elapsed();
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or(UNMATCHED_ROUTE, |label| label.0);
    let status = response.status();
    settings
        .metrics
        .observe(&method, route, status, latency.as_secs_f64());
    let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    span.record("status", status.as_u16());
    span.record("latency_ms", latency_ms);
    tracing::info!(parent: &span, status = status.as_u16(), latency_ms, "request finished");
    response
}

/// A random (version 4) UUID, as the request id of a request without one.
fn new_request_id() -> HeaderValue {
    let mut buffer = uuid::Uuid::encode_buffer();
    let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
    // A hyphenated UUID is ASCII hex and hyphens: always a valid value.
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The path the client asked for, before the mount prefix was stripped.
fn original_path(request: &Request) -> &str {
    request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path(), |u| u.0.path())
}

/// A handler panicked: log what it said and answer the opaque 500.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
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
fn timed_out(limit: Duration) -> Response {
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

/// The declared body is over the limit.
struct TooLarge;

/// A declared `Content-Length` over the limit is refused at once; any other
/// body that may carry data is wrapped so reading past the limit fails,
/// which the JSON extractor turns into the same 413.
fn limit_body(request: Request, limit: usize) -> Result<Request, TooLarge> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(TooLarge);
    }
    if request.body().is_end_stream() {
        return Ok(request);
    }
    Ok(request.map(|body| Body::new(Limited::new(body, limit))))
}

/// Records the mount prefix, then drops an all-digit project segment after
/// `/v1.0` (`/v1.0/123456/services` == `/v1.0/services`, as the original's
/// root controller) and trailing slashes, before routing.
fn normalise_path(request: &mut Request) {
    let path = request.uri().path();
    let prefix = request
        .extensions()
        .get::<OriginalUri>()
        .and_then(|original| original.0.path().strip_suffix(path))
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    let normalised = needs_normalising(path).then(|| normalise(path));
    if let Some(prefix) = prefix {
        request.extensions_mut().insert(MountPrefix(prefix));
    }
    if let Some(uri) = normalised.and_then(|path| with_path(request.uri(), &path)) {
        *request.uri_mut() = uri;
    }
}

/// Whether [`normalise`] would change `path` (checked without allocating,
/// since almost no request needs it).
fn needs_normalising(path: &str) -> bool {
    if path.len() > 1 && path.ends_with('/') {
        return true;
    }
    let mut segments = path.split('/');
    let (_, version, third) = (segments.next(), segments.next(), segments.next());
    version == Some("v1.0")
        && third.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
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
    fn needs_normalising_agrees_with_normalise() {
        for path in [
            "/v1.0/123456/services",
            "/v1.0/123456/services/",
            "/v1.0/123",
            "/v1.0/",
            "/v1.0/abc/services",
            "/v1.0/services/123",
            "/v2/123/services",
            "/",
            "/v1.0",
            "/v1.0//services",
            "//",
        ] {
            assert_eq!(needs_normalising(path), normalise(path) != path, "{path}");
        }
    }

    #[test]
    fn with_path_keeps_the_query() {
        let uri: Uri = "/v1.0/1/services?limit=2".parse().unwrap();
        let uri = with_path(&uri, "/v1.0/services").unwrap();
        assert_eq!(uri.to_string(), "/v1.0/services?limit=2");
    }
}
