//! Settings of the HTTP transport.

use std::time::Duration;

use crate::metrics::Metrics;

/// Default largest request body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Default time a request may take before it is answered with 504.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Default longest time a client may take to send a request's line and
/// headers, and to start its next request on a kept-alive connection.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default most header fields in one request (hyper's own default).
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// Default largest request line plus headers, in bytes.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;

/// Default services whose rendered JSON is kept for the next read: about
/// 1.3 KB each (a typical service), ~20 MB in all.
pub const DEFAULT_RENDER_CACHE: usize = 16_384;

/// How the transport behaves; [`Default`] gives the values of the reference.
///
/// Build it with struct update syntax so new fields keep existing code compiling:
/// `HttpConfig { project_id_in_url: true, ..HttpConfig::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Largest accepted request body in bytes; larger bodies get 413.
    pub body_limit: usize,
    /// Longest time a request may take (reading its body included); a request
    /// still running then gets 504 and its handler is dropped.
    pub request_timeout: Duration,
    /// Append `/<X-Project-ID>` to the base URL of links (the original's
    /// `project_id_in_url`). `Location` headers of services never carry it.
    pub project_id_in_url: bool,
    /// Where request metrics are recorded and what `GET /metrics` exposes;
    /// `None` gives the router a registry of its own.
    pub metrics: Option<Metrics>,
    /// Who may call the operator endpoints (`/v1.0/admin/…`); others get
    /// 403. The default lets every caller in, as the reference did.
    pub operator: crate::operator::OperatorAuth,
    /// Used by [`crate::serve`]: a connection whose request line and headers
    /// do not arrive in full within this time (slowloris), or that stays
    /// idle this long between requests, is closed.
    pub header_read_timeout: Duration,
    /// Used by [`crate::serve`]: a request with more header fields gets 431
    /// and the connection is closed.
    pub max_headers: usize,
    /// Used by [`crate::serve`]: a request whose line and headers are
    /// larger (in bytes) gets 431 and the connection is closed.
    pub max_header_bytes: usize,
    /// Services whose rendered JSON is kept and served again while the
    /// store hands out the same snapshot of the service (0 turns it off);
    /// see `rendered.rs`. About 1.5 KB each for a small service.
    pub render_cache: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            project_id_in_url: false,
            metrics: None,
            operator: crate::operator::OperatorAuth::default(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_headers: DEFAULT_MAX_HEADERS,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            render_cache: DEFAULT_RENDER_CACHE,
        }
    }
}
