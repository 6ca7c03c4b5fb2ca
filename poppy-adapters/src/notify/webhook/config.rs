//! Configuration of the webhook notifier (`[notifications] driver =
//! "webhook"`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Settings of [`super::WebhookNotifier`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where notifications are POSTed (`http://` or `https://`).
    pub url: String,
    /// The shared secret payloads are signed with (HMAC-SHA256).
    pub secret: Option<String>,
    /// Environment variable holding the secret (wins over `secret`).
    pub secret_env: Option<String>,
    /// Longest time one delivery attempt may take, in milliseconds.
    pub timeout_ms: u64,
    /// Attempts per notification before giving up (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt, doubled after each, in
    /// milliseconds; a `Retry-After` of the receiver is a floor.
    pub backoff_base_ms: u64,
    /// Longest backoff between attempts, in milliseconds.
    pub backoff_max_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            secret: None,
            secret_env: None,
            timeout_ms: 5_000,
            max_attempts: 5,
            backoff_base_ms: 250,
            backoff_max_ms: 10_000,
        }
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_env", &self.secret_env)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base_ms", &self.backoff_base_ms)
            .field("backoff_max_ms", &self.backoff_max_ms)
            .finish()
    }
}

/// A webhook configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookConfigError {
    #[error("[notifications] webhook: url must be an http(s) URL, got {value:?}")]
    BadUrl { value: String },
    #[error("[notifications] webhook: payloads are signed: set secret or secret_env")]
    NoSecret,
    #[error("[notifications] webhook: secret_env names {name}, which is not set or empty")]
    MissingEnv { name: String },
    #[error("[notifications] webhook: {key} must be at least 1")]
    Zero { key: &'static str },
    #[error("[notifications] webhook: cannot build the HTTP client: {message}")]
    Client { message: String },
}

impl WebhookConfig {
    /// Checks the values and resolves the secret from `env`.
    pub(super) fn secret_from(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<String, WebhookConfigError> {
        let url_ok = (self.url.starts_with("http://") || self.url.starts_with("https://"))
            && !self.url.chars().any(char::is_whitespace);
        if !url_ok {
            return Err(WebhookConfigError::BadUrl {
                value: self.url.clone(),
            });
        }
        for (key, value) in [
            ("timeout_ms", self.timeout_ms),
            ("max_attempts", u64::from(self.max_attempts)),
        ] {
            if value == 0 {
                return Err(WebhookConfigError::Zero { key });
            }
        }
        let secret = match &self.secret_env {
            Some(name) => env(name)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| WebhookConfigError::MissingEnv { name: name.clone() })?,
            None => self
                .secret
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or(WebhookConfigError::NoSecret)?,
        };
        Ok(secret)
    }
}
