//! A small client of the Fastly REST API: authenticated requests with
//! bounded time, and every failure mapped to a [`PortError`] kind once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use poppy_core::ports::PortError;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::config::{FastlyConfig, FastlyConfigError};
use super::NAME;

/// Fastly's header for the API token.
const KEY_HEADER: &str = "Fastly-Key";
/// Fastly's header asking for a soft purge.
const SOFT_PURGE_HEADER: &str = "Fastly-Soft-Purge";
/// When Fastly's hourly write budget resets (epoch seconds), sent with 429s.
const RATE_LIMIT_RESET: &str = "Fastly-RateLimit-Reset";

/// The Fastly API, authenticated.
#[derive(Clone)]
pub(super) struct Client {
    http: reqwest::Client,
    base: Url,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The default headers hold the key: show only where requests go.
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish()
    }
}

/// Fastly's error body: `{"msg": "...", "detail": "..."}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

/// A failed call, before it becomes a [`PortError`]: callers look at the
/// status first (404 is often fine).
#[derive(Debug)]
pub(super) struct CallError {
    pub status: Option<StatusCode>,
    pub error: PortError,
}

impl CallError {
    pub fn is_not_found(&self) -> bool {
        self.status == Some(StatusCode::NOT_FOUND)
    }

    /// The service or version is locked or taken (a concurrent writer, or a
    /// leftover of an interrupted attempt).
    pub fn is_conflict(&self) -> bool {
        self.status == Some(StatusCode::CONFLICT)
    }
}

impl From<CallError> for PortError {
    fn from(e: CallError) -> Self {
        e.error
    }
}

/// A request that got no answer: retryable.
fn transport_error(what: &str, error: &reqwest::Error) -> CallError {
    let reason = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        // The innermost cause, without reqwest's own text (which repeats
        // the URL); the request line is in `what`.
        let mut source: &dyn std::error::Error = error;
        while let Some(next) = source.source() {
            source = next;
        }
        source.to_string()
    };
    CallError {
        status: None,
        error: PortError::Unavailable {
            backend: NAME.to_owned(),
            message: format!("{what}: {reason}"),
            retry_after: None,
        },
    }
}

/// `Retry-After` in seconds, else Fastly's rate-limit reset time.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(secs) = header(RETRY_AFTER.as_str()).and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    let reset = header(RATE_LIMIT_RESET).and_then(|v| v.trim().parse::<u64>().ok())?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
}

/// Maps an unsuccessful answer to the port's error kinds.
fn status_error(what: &str, status: StatusCode, headers: &HeaderMap, body: &str) -> CallError {
    let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let mut message = parsed.msg.unwrap_or_else(|| {
        let text: String = body.chars().take(200).collect();
        if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            text
        }
    });
    if let Some(detail) = parsed.detail.filter(|d| !d.is_empty()) {
        message = format!("{message} ({detail})");
    }
    let error = if status == StatusCode::TOO_MANY_REQUESTS {
        PortError::RateLimited {
            backend: NAME.to_owned(),
            retry_after: retry_after(headers),
        }
    } else if status.is_server_error() {
        PortError::Unavailable {
            backend: NAME.to_owned(),
            message: format!("{what}: {status}: {message}"),
            retry_after: retry_after(headers),
        }
    } else if status == StatusCode::NOT_FOUND {
        PortError::NotFound(format!("{NAME}: {what}: {message}"))
    } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        PortError::Invalid(format!(
            "Fastly refused the API key for {what} ({status}): {message}"
        ))
    } else if status.is_client_error() {
        PortError::Invalid(format!("Fastly rejected {what} ({status}): {message}"))
    } else {
        PortError::internal(
            NAME,
            format!("{what}: unexpected answer {status}: {message}"),
        )
    };
    CallError {
        status: Some(status),
        error,
    }
}

impl Client {
    pub fn new(config: &FastlyConfig) -> Result<Self, FastlyConfigError> {
        config.validate()?;
        let key = config.resolve_api_key()?;
        let mut key = HeaderValue::from_str(&key).map_err(|_| FastlyConfigError::BadApiKey)?;
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(KEY_HEADER, key);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout())
            .connect_timeout(config.connect_timeout())
            .user_agent(concat!("poppy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FastlyConfigError::Client(e.to_string()))?;
        let mut base = Url::parse(&config.api_url).map_err(|e| FastlyConfigError::BadApiUrl {
            value: config.api_url.clone(),
            reason: e.to_string(),
        })?;
        // Joining relative paths keeps a base path only with a trailing slash.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self { http, base })
    }

    /// `base` + `path` (given without a leading slash; segments already escaped).
    fn url(&self, path: &str) -> Result<Url, CallError> {
        self.base.join(path).map_err(|e| CallError {
            status: None,
            error: PortError::internal(NAME, format!("bad API path {path:?}: {e}")),
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&'static str, String)]>,
        headers: &[(&'static str, &'static str)],
    ) -> Result<String, CallError> {
        let what = format!("{method} /{path}");
        let mut request = self.http.request(method, self.url(path)?);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        tracing::debug!(provider = NAME, request = %what, "calling Fastly");
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&what, &e))?;
        let status = response.status();
        let response_headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| transport_error(&what, &e))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(status_error(&what, status, &response_headers, &body))
        }
    }

    fn parse<T: DeserializeOwned>(what: &str, body: &str) -> Result<T, CallError> {
        serde_json::from_str(body).map_err(|e| CallError {
            status: None,
            error: PortError::internal(NAME, format!("{what}: unexpected answer: {e}")),
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        let body = self.send(Method::GET, path, None, &[]).await?;
        Self::parse(&format!("GET /{path}"), &body)
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&'static str, String)],
    ) -> Result<T, CallError> {
        let body = self.send(Method::POST, path, Some(form), &[]).await?;
        Self::parse(&format!("POST /{path}"), &body)
    }

    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        form: Option<&[(&'static str, String)]>,
    ) -> Result<T, CallError> {
        let body = self.send(Method::PUT, path, form, &[]).await?;
        Self::parse(&format!("PUT /{path}"), &body)
    }

    pub async fn delete(&self, path: &str) -> Result<(), CallError> {
        self.send(Method::DELETE, path, None, &[]).await.map(drop)
    }

    /// `POST` without a body, soft when asked (purges).
    pub async fn purge(&self, path: &str, soft: bool) -> Result<(), CallError> {
        let headers: &[(&'static str, &'static str)] = if soft {
            &[(SOFT_PURGE_HEADER, "1")]
        } else {
            &[]
        };
        self.send(Method::POST, path, None, headers).await.map(drop)
    }

    /// Whether Fastly answers and accepts the key (`GET /current_customer`).
    pub async fn ping(&self) -> bool {
        self.get::<serde_json::Value>("current_customer")
            .await
            .is_ok()
    }
}

/// Escapes one path segment (names may hold spaces or slashes).
pub(super) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_prefers_the_header_then_the_rate_limit_reset() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let mut headers = HeaderMap::new();
        let soon = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() + 120)
            .unwrap_or_default();
        headers.insert(
            RATE_LIMIT_RESET,
            HeaderValue::from_str(&soon.to_string()).expect("ascii"),
        );
        let wait = retry_after(&headers).expect("a wait");
        assert!(
            wait <= Duration::from_secs(120) && wait >= Duration::from_secs(100),
            "{wait:?}"
        );
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn fastly_messages_are_kept_in_invalid_errors() {
        let e = status_error(
            "POST /service/x/version/1/backend",
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            r#"{"msg":"Bad request","detail":"Invalid port"}"#,
        );
        assert!(
            matches!(&e.error, PortError::Invalid(m) if m.contains("Bad request (Invalid port)")),
            "{:?}",
            e.error
        );
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(segment("poppy-origin 1/x"), "poppy-origin%201%2Fx");
    }
}
