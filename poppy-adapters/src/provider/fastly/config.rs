//! Configuration of the Fastly driver (`[[providers]] name = "fastly"`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The environment variable the API key is read from when the
/// configuration has none.
pub const API_KEY_ENV: &str = "POPPY_FASTLY_API_KEY";

/// Settings of [`super::FastlyProvider`]. Every key is optional; the API key
/// comes from `api_key` or, when that is absent, from `POPPY_FASTLY_API_KEY`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FastlyConfig {
    /// Fastly API token (sent as the `Fastly-Key` header). Never logged.
    pub api_key: Option<String>,
    /// Base URL of the Fastly API (a contract server in tests).
    pub api_url: String,
    /// Bound on one API request, connection included.
    pub timeout_secs: u64,
    /// Bound on establishing a connection.
    pub connect_timeout_secs: u64,
    /// Access links of http domains are `<domain>.<http_link_suffix>`.
    pub http_link_suffix: String,
    /// Access links of https (shared certificate) domains are
    /// `<domain>.<https_link_suffix>`.
    pub https_link_suffix: String,
    /// Fastly services are named `<service_name_prefix><poppy service id>`,
    /// which is how a retried create finds the service it made.
    pub service_name_prefix: String,
}

impl Default for FastlyConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            api_url: "https://api.fastly.com".to_owned(),
            timeout_secs: 30,
            connect_timeout_secs: 10,
            http_link_suffix: "global.prod.fastly.net".to_owned(),
            https_link_suffix: "global.ssl.fastly.net".to_owned(),
            service_name_prefix: "poppy-".to_owned(),
        }
    }
}

impl fmt::Debug for FastlyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastlyConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_url", &self.api_url)
            .field("timeout_secs", &self.timeout_secs)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("http_link_suffix", &self.http_link_suffix)
            .field("https_link_suffix", &self.https_link_suffix)
            .field("service_name_prefix", &self.service_name_prefix)
            .finish()
    }
}

impl FastlyConfig {
    /// The API key: the configured one, else `POPPY_FASTLY_API_KEY`.
    pub(super) fn resolve_api_key(&self) -> Result<String, FastlyConfigError> {
        let key = match &self.api_key {
            Some(key) => key.clone(),
            None => std::env::var(API_KEY_ENV).map_err(|_| FastlyConfigError::MissingApiKey)?,
        };
        if key.trim().is_empty() {
            return Err(FastlyConfigError::MissingApiKey);
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(FastlyConfigError::BadApiKey);
        }
        Ok(key)
    }

    /// Checks what serde cannot.
    pub(super) fn validate(&self) -> Result<(), FastlyConfigError> {
        let url = reqwest::Url::parse(&self.api_url).map_err(|e| FastlyConfigError::BadApiUrl {
            value: self.api_url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(FastlyConfigError::BadApiUrl {
                value: self.api_url.clone(),
                reason: "must be an http(s) URL".to_owned(),
            });
        }
        if self.timeout_secs == 0 || self.connect_timeout_secs == 0 {
            return Err(FastlyConfigError::ZeroTimeout);
        }
        for (key, value) in [
            ("http_link_suffix", &self.http_link_suffix),
            ("https_link_suffix", &self.https_link_suffix),
        ] {
            if value.is_empty() || value.starts_with('.') || value.contains(char::is_whitespace) {
                return Err(FastlyConfigError::BadSuffix {
                    key,
                    value: value.clone(),
                });
            }
        }
        if self.service_name_prefix.contains(char::is_whitespace) {
            return Err(FastlyConfigError::BadPrefix {
                value: self.service_name_prefix.clone(),
            });
        }
        Ok(())
    }

    pub(super) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub(super) fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
}

/// A Fastly configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FastlyConfigError {
    #[error(
        "[providers] fastly: no API key; set api_key or the environment variable {API_KEY_ENV}"
    )]
    MissingApiKey,
    #[error("[providers] fastly: the API key must be printable ASCII without spaces")]
    BadApiKey,
    #[error("[providers] fastly: api_url {value:?} is not usable: {reason}")]
    BadApiUrl { value: String, reason: String },
    #[error("[providers] fastly: timeout_secs and connect_timeout_secs must be at least 1")]
    ZeroTimeout,
    #[error("[providers] fastly: {key} must be a domain suffix like 'global.prod.fastly.net', got {value:?}")]
    BadSuffix { key: &'static str, value: String },
    #[error("[providers] fastly: service_name_prefix must not contain spaces, got {value:?}")]
    BadPrefix { value: String },
    #[error("[providers] fastly: cannot build the HTTP client: {0}")]
    Client(String),
}
