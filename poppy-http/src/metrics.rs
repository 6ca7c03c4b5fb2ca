//! Prometheus metrics of the transport, and the `/metrics` exposition.
//!
//! Metrics live in a [`prometheus::Registry`] owned by a [`Metrics`] value,
//! not in a process-global recorder: two Poppys embedded in one process (or
//! two tests running in parallel) keep their numbers apart, and an embedder
//! can hand in the registry of its own application so `/metrics` shows both.
//!
//! The transport records, per request:
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `poppy_http_requests_total` | counter | `method`, `route`, `status` |
//! | `poppy_http_request_duration_seconds` | histogram | `method`, `route`, `status` |
//!
//! `route` is the route template (`/v1.0/services/{service_id}`), never the
//! raw path, so no tenant data (ids, domains) reaches a label; requests that
//! match no route are `unmatched`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// The `Content-Type` of the Prometheus text exposition format.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `route` label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Buckets of the request latency histogram, in seconds: 1 ms to 30 s (the
/// default request timeout).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Work done right before each scrape (sampling a queue depth, say).
pub type ScrapeHook = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The registry the transport records into and `/metrics` exposes. Cheap to
/// clone; clones share everything.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    hooks: Mutex<Vec<ScrapeHook>>,
}

/// Why metrics could not be registered (a name already taken in the
/// registry, typically by a second `Metrics` on the same registry).
#[derive(Debug, thiserror::Error)]
#[error("cannot register the HTTP metrics in the Prometheus registry: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl Metrics {
    /// Metrics in a registry of their own.
    pub fn new() -> Self {
        match Self::with_registry(Registry::new()) {
            Ok(metrics) => metrics,
            // A fresh registry holds no names, so registering cannot clash;
            // should it fail anyway, record into unregistered collectors
            // rather than refuse to serve.
            Err(error) => {
                tracing::error!(%error, "HTTP metrics could not be registered");
                Self::unregistered(Registry::new())
            }
        }
    }

    /// Metrics registered in `registry` (the embedder's own, say).
    pub fn with_registry(registry: Registry) -> Result<Self, MetricsError> {
        let metrics = Self::unregistered(registry);
        let inner = &metrics.inner;
        inner.registry.register(Box::new(inner.requests.clone()))?;
        inner.registry.register(Box::new(inner.duration.clone()))?;
        Ok(metrics)
    }

    fn unregistered(registry: Registry) -> Self {
        let labels = &["method", "route", "status"];
        // Both constructors fail only on invalid names or labels, which are
        // constants here and covered by the tests.
        let requests = IntCounterVec::new(
            Opts::new(
                "poppy_http_requests_total",
                "HTTP requests answered, by method, route template and status code.",
            ),
            labels,
        );
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "poppy_http_request_duration_seconds",
                "Time to answer an HTTP request, by method, route template and status code.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            labels,
        );
        let (requests, duration) = match (requests, duration) {
            (Ok(r), Ok(d)) => (r, d),
            _ => unreachable_metrics(),
        };
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                duration,
                hooks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The registry: register more collectors in it and they show up at
    /// `/metrics` too.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Runs `hook` before every scrape (to sample a gauge, say).
    pub fn on_scrape(&self, hook: ScrapeHook) {
        self.inner
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(hook);
    }

    /// Runs the scrape hooks and encodes every metric of the registry in the
    /// Prometheus text format.
    pub async fn render(&self) -> String {
        let hooks: Vec<ScrapeHook> = self
            .inner
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for hook in hooks {
            hook().await;
        }
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.inner.registry.gather(), &mut buffer) {
            tracing::error!(%error, "encoding the metrics failed");
        }
        String::from_utf8(buffer)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    pub(crate) fn observe(&self, method: &Method, route: &str, status: StatusCode, seconds: f64) {
        let method = method_label(method);
        let status = status.as_str();
        let labels = [method, route, status];
        self.inner.requests.with_label_values(&labels).inc();
        self.inner
            .duration
            .with_label_values(&labels)
            .observe(seconds);
    }
}

/// Collector construction failed for constant names: a bug caught by the
/// tests, so there is nothing sensible to do at run time.
#[allow(clippy::panic)]
fn unreachable_metrics() -> ! {
    panic!("the HTTP metric definitions are invalid")
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Two handles are equal when they share one registry.
impl PartialEq for Metrics {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Metrics {}

/// Known methods by name; anything else is `other`, so a client cannot
/// create label values at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The route template a response was made by, left in the response's
/// extensions by the route guard for the outer stack, which records the
/// metrics once status and latency are known (routing happens inside it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteLabel(pub(crate) &'static str);

/// `GET /metrics`: the Prometheus text exposition.
pub(crate) async fn exposition(metrics: Metrics) -> Response {
    let body = metrics.render().await;
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))],
        body,
    )
        .into_response()
}
