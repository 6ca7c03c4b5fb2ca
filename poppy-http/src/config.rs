//! Settings of the HTTP transport.

use std::time::Duration;

/// Default largest request body: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Default time a request may take before it is answered with 504.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

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
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            project_id_in_url: false,
        }
    }
}
