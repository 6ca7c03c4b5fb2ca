//! Poppy's REST transport: the API v1.0 of the reference (§2) on axum.
//!
//! [`router`] turns the driving ports ([`Api`]) into an axum [`Router`];
//! [`serve`] runs it on a listener until a shutdown future resolves, letting
//! in-flight requests finish; [`HttpTransport`] is the same behind the core's
//! [`Transport`] trait.
//!
//! # Behaviour shared by every endpoint
//!
//! - `X-Project-ID` is required everywhere except `GET /v1.0/ping`
//!   (400 `The Project ID must be provided.`).
//! - `/v1.0/123456/services` is `/v1.0/services`: an all-digit segment after
//!   `/v1.0` is dropped before routing; so are trailing slashes.
//! - Errors are `{"message": "..."}`, plus `"errors": [{"path", "message"}]`
//!   listing the field errors of a validation failure (the first 100; the
//!   message counts them all). Internal errors are
//!   logged and answered with an opaque message.
//! - Bodies are JSON: a `Content-Type` that is present and not JSON → 415;
//!   unparsable → 400 `Invalid JSON string`; larger than
//!   [`HttpConfig::body_limit`] → 413.
//! - Every response carries `x-request-id` (the client's, or a generated
//!   UUID), and each request is traced in a `http_request` span (method,
//!   path, request id, status, latency).
//! - A handler that panics gives 500; one that runs longer than
//!   [`HttpConfig::request_timeout`] gives 504.
//! - `GET /v1.0/openapi.json` is the OpenAPI 3.1 document of every route
//!   ([`openapi`]), `GET /metrics` the Prometheus metrics ([`metrics`]);
//!   neither needs `X-Project-ID`.
//!
//! Layer order, outermost first: request id → metrics → trace → catch-panic
//! → timeout → body limit → routing.
//!
//! # Links and mounting
//!
//! Links in bodies start with `scheme://Host` (the scheme from
//! `X-Forwarded-Proto` when a proxy sets it, else `http`), the prefix the
//! router is mounted under, and `/v1.0` (and `/<project>` with
//! [`HttpConfig::project_id_in_url`]). Nesting works, links included:
//!
//! ```ignore
//! let app = axum::Router::new().nest("/cdn", poppy_http::router(api, HttpConfig::default()));
//! // POST /cdn/v1.0/services → Location: http://host/cdn/v1.0/services/{id}
//! ```
//!
//! The router has a fallback (the JSON 404), so it can be merged only into
//! routers without one of their own (axum refuses two fallbacks); nesting
//! has no such limit.
//!
//! The prefix is found by comparing axum's `OriginalUri` with the path the
//! router sees; a middleware of the embedder that rewrites the URI before
//! the outer router breaks that comparison, and links then carry no prefix.
//!
//! # Operator endpoints
//!
//! The `/v1.0/admin/…` routes answer 403 to callers that
//! [`HttpConfig::operator`] does not recognise as operators (see
//! [`OperatorAuth`]: a role header such as Keystone's `X-Roles`, and/or an
//! operator token). [`HttpConfig::default`] lets every caller in, as the
//! reference did; the `poppy` server's default configuration asks for
//! `X-Roles: admin`.
//!
//! # Authentication hook
//!
//! Poppy leaves authentication to the deployment (the original expected a
//! proxy such as Repose in front). An embedder adds its own tower layer
//! either around the whole router, where it runs before request ids and
//! tracing:
//!
//! ```ignore
//! let app = poppy_http::router(api, config)
//!     .layer(axum::middleware::from_fn(require_token));
//! ```
//!
//! or with [`router_with_layer`], where it runs inside the stack (so its
//! rejections are traced, carry a request id and are bounded by the
//! timeout) but after routing, for every route and for unknown routes:
//!
//! ```ignore
//! async fn require_token(req: Request, next: Next) -> Response {
//!     match req.headers().get("x-auth-token") {
//!         Some(token) if valid(token) => next.run(req).await,
//!         _ => StatusCode::UNAUTHORIZED.into_response(),
//!     }
//! }
//! let app = poppy_http::router_with_layer(api, config, axum::middleware::from_fn(require_token));
//! ```

#![forbid(unsafe_code)]

mod config;
mod error;
mod extract;
mod layers;
pub mod metrics;
pub mod openapi;
mod operator;
mod render;
mod rendered;
mod routes;
mod server;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::Route;
use axum::Router;
use poppy_core::ports::{Api, Shutdown, Transport};
use tokio::net::TcpListener;
use tower::{Layer, Service};

pub use config::{
    HttpConfig, DEFAULT_BODY_LIMIT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_HEADERS,
    DEFAULT_MAX_HEADER_BYTES, DEFAULT_RENDER_CACHE, DEFAULT_REQUEST_TIMEOUT,
};
pub use metrics::Metrics;
pub use openapi::openapi;
pub use operator::OperatorAuth;

/// What every handler gets. Behind one `Arc`: extractors clone the state on
/// every request, and one reference count is cheaper than eight.
#[derive(Clone)]
pub(crate) struct AppState(Arc<AppStateInner>);

pub(crate) struct AppStateInner {
    pub(crate) api: Api,
    pub(crate) config: Arc<HttpConfig>,
    pub(crate) metrics: Metrics,
    pub(crate) rendered: rendered::RenderedServices,
}

impl AppState {
    fn new(api: Api, config: Arc<HttpConfig>, metrics: Metrics) -> Self {
        let rendered = rendered::RenderedServices::new(config.render_cache);
        Self(Arc::new(AppStateInner {
            api,
            config,
            metrics,
            rendered,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The API as a nestable axum [`Router`] (state inside, middleware stack
/// included).
pub fn router(api: Api, config: HttpConfig) -> Router {
    let config = Arc::new(config);
    let metrics = config.metrics.clone().unwrap_or_default();
    let routes = routes::routes(AppState::new(api, config.clone(), metrics.clone()));
    layers::wrap(routes, &config, metrics)
}

/// [`router`] with the embedder's `layer` (authentication, quotas, audit…)
/// applied inside the middleware stack, after routing, to every route and to
/// the unknown-route and wrong-method answers. See the crate docs.
pub fn router_with_layer<L>(api: Api, config: HttpConfig, layer: L) -> Router
where
    L: Layer<Route> + Clone + Send + Sync + 'static,
    L::Service: Service<Request> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Response: IntoResponse + 'static,
    <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
    let config = Arc::new(config);
    let metrics = config.metrics.clone().unwrap_or_default();
    let routes = routes::routes(AppState::new(api, config.clone(), metrics.clone())).layer(layer);
    layers::wrap(routes, &config, metrics)
}

/// Serves the API on `listener` (HTTP/1.1) until `shutdown` resolves, then
/// stops accepting connections and returns once in-flight requests have
/// finished. Slow and flooding clients are bounded by
/// [`HttpConfig::header_read_timeout`], [`HttpConfig::max_headers`] and
/// [`HttpConfig::max_header_bytes`] (431 or a closed connection).
pub async fn serve(
    listener: TcpListener,
    api: Api,
    config: HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "poppy http transport listening");
    }
    let app = router(api, config.clone());
    server::serve(listener, app, &config, shutdown).await
}

/// Serves any axum [`Router`] (an embedder's application with Poppy's
/// [`router`] nested in it) the way [`serve`] does: HTTP/1.1 with the
/// header timeout and header limits of `config`, graceful shutdown. Only
/// those fields of `config` are used here.
pub async fn serve_router(
    listener: TcpListener,
    app: Router,
    config: &HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(listener, app, config, shutdown).await
}

/// The HTTP transport as the core's [`Transport`]: owns a bound listener and
/// serves on it once.
#[derive(Debug)]
pub struct HttpTransport {
    /// Taken by the first `serve`.
    listener: Mutex<Option<TcpListener>>,
    local_addr: SocketAddr,
    config: HttpConfig,
}

impl HttpTransport {
    /// A transport that will serve on `listener`.
    pub fn new(listener: TcpListener, config: HttpConfig) -> std::io::Result<Self> {
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener: Mutex::new(Some(listener)),
            local_addr,
            config,
        })
    }

    /// Binds `addr` (port 0 picks a free port; see [`Self::local_addr`]).
    pub async fn bind(
        addr: impl tokio::net::ToSocketAddrs,
        config: HttpConfig,
    ) -> std::io::Result<Self> {
        Self::new(TcpListener::bind(addr).await?, config)
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The configuration requests are served with.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }
}

#[async_trait]
impl Transport for HttpTransport {
    /// Serves until `shutdown`; a second call fails, the listener being gone.
    async fn serve(&self, api: Api, shutdown: Shutdown) -> std::io::Result<()> {
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "HttpTransport on {} already served: its listener was taken by an earlier call",
                    self.local_addr
                ))
            })?;
        serve(listener, api, self.config.clone(), shutdown).await
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM. A signal handler that
/// cannot be installed is logged and never resolves, so a process is not
/// stopped by a failure to listen for stop requests.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
