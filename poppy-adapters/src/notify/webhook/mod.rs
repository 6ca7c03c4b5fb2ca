//! A [`Notifier`] that POSTs each notification as JSON to a webhook
//! (feature `notify-webhook`), signed and retried.
//!
//! # What the receiver gets
//!
//! `POST <url>` with `Content-Type: application/json` and the body
//!
//! ```json
//! {"delivery_id": "<uuid>", "kind": "deployed" | "failed" | "deleted",
//!  "project_id": "…", "service_id": "…", "flow": "create_service", "message": "…",
//!  "created_at": 1700000000}
//! ```
//!
//! and the headers
//!
//! - `X-Poppy-Delivery`: the delivery id (the same on every attempt, so a
//!   receiver can drop duplicates);
//! - `X-Poppy-Event`: the kind;
//! - `X-Poppy-Timestamp`: Unix seconds when the attempt was signed;
//! - `X-Poppy-Signature`: `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
//!
//! A receiver recomputes the signature over the raw body ([`verify`]) and
//! refuses old timestamps, so a captured request cannot be replayed later.
//!
//! # Retries
//!
//! No answer, a timeout, 408, 429 or a 5xx is retried up to
//! `max_attempts` times with exponential backoff (`backoff_base_ms`,
//! doubled, capped at `backoff_max_ms`, with jitter; a `Retry-After` in
//! seconds is a floor). Any other answer below 200 or from 300 up is final.
//! A notification that cannot be delivered is an error for the flow to log;
//! it never fails the flow.

mod config;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use poppy_core::ports::{Notification, Notifier, PortError};
use rand::Rng;
use reqwest::StatusCode;
use serde::Serialize;
use sha2::Sha256;

pub use config::{WebhookConfig, WebhookConfigError};

/// The driver name in configuration.
pub const NAME: &str = "webhook";

pub const DELIVERY_HEADER: &str = "X-Poppy-Delivery";
pub const EVENT_HEADER: &str = "X-Poppy-Event";
pub const TIMESTAMP_HEADER: &str = "X-Poppy-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Poppy-Signature";

/// The signed JSON body.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    delivery_id: String,
    #[serde(flatten)]
    notification: &'a Notification,
    created_at: u64,
}

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut message = timestamp.to_string().into_bytes();
    message.push(b'.');
    message.extend_from_slice(body);
    // HMAC takes keys of any length, so this never fails.
    let digest = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(&message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// Whether `signature` is [`sign`]`(secret, timestamp, body)`, compared in
/// constant time.
pub fn verify(secret: &str, timestamp: u64, body: &[u8], signature: &str) -> bool {
    let expected = sign(secret, timestamp, body);
    expected.len() == signature.len()
        && expected
            .bytes()
            .zip(signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Posts notifications to a webhook.
#[derive(Clone)]
pub struct WebhookNotifier {
    config: WebhookConfig,
    secret: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("config", &self.config)
            .finish()
    }
}

/// How one attempt ended.
enum Attempt {
    Delivered,
    /// Worth another attempt, not before `retry_after` if given.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    Refused(String),
}

impl WebhookNotifier {
    /// A notifier with `config`, after checking it.
    pub fn build(config: WebhookConfig) -> Result<Self, WebhookConfigError> {
        Self::build_with_env(config, |name| std::env::var(name).ok())
    }

    /// [`Self::build`] with an injectable environment (tests).
    pub fn build_with_env(
        config: WebhookConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, WebhookConfigError> {
        let secret = config.secret_from(env)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| WebhookConfigError::Client {
                message: e.to_string(),
            })?;
        Ok(Self {
            config,
            secret,
            http,
        })
    }

    fn backoff(&self, attempt: u32, floor: Option<Duration>) -> Duration {
        let base = self.config.backoff_base_ms;
        let cap = self.config.backoff_max_ms.max(base);
        let exp = base.saturating_mul(1u64 << attempt.min(30)).min(cap);
        // Jitter in [exp/2, exp], so retries of many notifications spread.
        let jittered = if exp > 1 {
            rand::rng().random_range(exp / 2..=exp)
        } else {
            exp
        };
        let wait = Duration::from_millis(jittered);
        match floor {
            Some(floor) => wait.max(floor.min(Duration::from_millis(cap))),
            None => wait,
        }
    }

    async fn attempt(&self, delivery: &str, event: &str, body: &[u8]) -> Attempt {
        let timestamp = unix_now();
        let response = self
            .http
            .post(&self.config.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(DELIVERY_HEADER, delivery)
            .header(EVENT_HEADER, event)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, sign(&self.secret, timestamp, body))
            .body(body.to_vec())
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                let reason = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "could not connect"
                } else {
                    "request failed"
                };
                return Attempt::Retry {
                    reason: reason.to_owned(),
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        if status.is_success() {
            return Attempt::Delivered;
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let retryable = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        if retryable {
            Attempt::Retry {
                reason: format!("answered {status}"),
                retry_after,
            }
        } else {
            Attempt::Refused(format!("answered {status}"))
        }
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    async fn notify(&self, notification: &Notification) -> Result<(), PortError> {
        let delivery = uuid::Uuid::new_v4().hyphenated().to_string();
        let payload = Payload {
            delivery_id: delivery.clone(),
            notification,
            created_at: unix_now(),
        };
        let body = serde_json::to_vec(&payload).map_err(|e| PortError::internal(NAME, e))?;
        let event = serde_json::to_value(notification.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let url = &self.config.url;
        let mut last = String::new();
        for attempt in 0..self.config.max_attempts {
            match self.attempt(&delivery, &event, &body).await {
                Attempt::Delivered => return Ok(()),
                Attempt::Refused(reason) => {
                    return Err(PortError::Invalid(format!(
                        "webhook {url} refused notification {delivery}: {reason}"
                    )))
                }
                Attempt::Retry {
                    reason,
                    retry_after,
                } => {
                    tracing::debug!(%url, delivery = %delivery, attempt = attempt + 1, %reason,
                        "webhook delivery failed; retrying");
                    last = reason;
                    if attempt + 1 < self.config.max_attempts {
                        tokio::time::sleep(self.backoff(attempt, retry_after)).await;
                    }
                }
            }
        }
        Err(PortError::unavailable(
            NAME,
            format!(
                "webhook {url}: notification {delivery} not delivered after {} attempts: {last}",
                self.config.max_attempts
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_timestamp_and_body() {
        let s = sign("k", 10, b"{}");
        assert!(s.starts_with("v1="));
        assert_eq!(s.len(), 3 + 64);
        assert!(verify("k", 10, b"{}", &s));
        assert!(!verify("k", 11, b"{}", &s));
        assert!(!verify("k", 10, b"{ }", &s));
        assert!(!verify("other", 10, b"{}", &s));
    }

    #[test]
    fn a_secret_is_required_and_never_shown() {
        let config = WebhookConfig {
            url: "http://127.0.0.1:9/hook".into(),
            ..WebhookConfig::default()
        };
        assert_eq!(
            WebhookNotifier::build(config.clone()).unwrap_err(),
            WebhookConfigError::NoSecret
        );
        let with_env = WebhookConfig {
            secret_env: Some("HOOK_SECRET".into()),
            ..config.clone()
        };
        let n = WebhookNotifier::build_with_env(with_env, |_| Some("s3cret".into())).unwrap();
        assert!(!format!("{n:?}").contains("s3cret"));
        let bad = WebhookConfig {
            url: "ftp://x".into(),
            secret: Some("k".into()),
            ..config
        };
        assert!(matches!(
            WebhookNotifier::build(bad).unwrap_err(),
            WebhookConfigError::BadUrl { .. }
        ));
    }
}
