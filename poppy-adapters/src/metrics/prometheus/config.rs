//! Configuration of the Prometheus metrics source (`[metrics] driver =
//! "prometheus"`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The windows (steps) the original's BlueFlood driver knew
/// (`resolution_converter_seconds_to_enum`, less `FULL`).
pub const RESOLUTIONS: &[u64] = &[300, 1200, 3600, 14400, 86400];

/// Settings of [`super::PrometheusMetrics`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Base URL of the Prometheus HTTP API (or of anything that serves the
    /// same query API: Thanos, Cortex/Mimir, VictoriaMetrics, M3).
    pub url: String,
    /// Bearer token sent with every query, if the API needs one.
    pub bearer_token: Option<String>,
    /// Environment variable holding the bearer token (wins over
    /// `bearer_token`).
    pub bearer_token_env: Option<String>,
    /// Longest time a query may take, in milliseconds.
    pub timeout_ms: u64,
    /// Step of the returned series, in seconds: one of [`RESOLUTIONS`]
    /// (the original's `metrics_resolution`, default one day).
    pub resolution_secs: u64,
    /// Label holding the region of a series.
    pub region_label: String,
    /// Regions every answer lists, empty when without data.
    pub regions: Vec<String>,
    /// PromQL per metric (`requestCount`, `bandwidthOut`,
    /// `httpResponseCode_2XX`…), overriding the defaults. Placeholders:
    /// `{domain}`, `{provider}`, `{project}` (escaped for a PromQL string),
    /// `{class}` (the status class, `2XX`), `{step}` (`86400s`), and
    /// `{region}` (the region label).
    pub queries: BTreeMap<String, String>,
}

impl Default for PrometheusConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            bearer_token: None,
            bearer_token_env: None,
            timeout_ms: 10_000,
            resolution_secs: 86_400,
            region_label: "region".to_owned(),
            regions: crate::metrics::DEFAULT_REGIONS
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            queries: BTreeMap::new(),
        }
    }
}

impl fmt::Debug for PrometheusConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusConfig")
            .field("url", &self.url)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field("bearer_token_env", &self.bearer_token_env)
            .field("timeout_ms", &self.timeout_ms)
            .field("resolution_secs", &self.resolution_secs)
            .field("region_label", &self.region_label)
            .field("regions", &self.regions)
            .field("queries", &self.queries)
            .finish()
    }
}

/// A Prometheus configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrometheusConfigError {
    #[error("[metrics] prometheus: url must be an http(s) URL like 'http://127.0.0.1:9090', got {value:?}")]
    BadUrl { value: String },
    #[error("[metrics] prometheus: resolution_secs must be one of {RESOLUTIONS:?}, got {value}")]
    BadResolution { value: u64 },
    #[error("[metrics] prometheus: timeout_ms must be at least 1")]
    BadTimeout,
    #[error("[metrics] prometheus: region_label must be a Prometheus label name, got {value:?}")]
    BadLabel { value: String },
    #[error("[metrics] prometheus: queries has an entry for '{metric}', which is not a metric of the analytics API")]
    UnknownMetric { metric: String },
    #[error("[metrics] prometheus: bearer_token_env names {name}, which is not set")]
    MissingEnv { name: String },
    #[error("[metrics] prometheus: cannot build the HTTP client: {message}")]
    Client { message: String },
}

impl PrometheusConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), PrometheusConfigError> {
        let url_ok = (self.url.starts_with("http://") || self.url.starts_with("https://"))
            && self.url.len() > "https://".len()
            && !self.url.chars().any(char::is_whitespace);
        if !url_ok {
            return Err(PrometheusConfigError::BadUrl {
                value: self.url.clone(),
            });
        }
        if !RESOLUTIONS.contains(&self.resolution_secs) {
            return Err(PrometheusConfigError::BadResolution {
                value: self.resolution_secs,
            });
        }
        if self.timeout_ms == 0 {
            return Err(PrometheusConfigError::BadTimeout);
        }
        let label = &self.region_label;
        let label_ok = label
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !label_ok {
            return Err(PrometheusConfigError::BadLabel {
                value: label.clone(),
            });
        }
        for metric in self.queries.keys() {
            if metric.parse::<poppy_core::ports::MetricType>().is_err() {
                return Err(PrometheusConfigError::UnknownMetric {
                    metric: metric.clone(),
                });
            }
        }
        Ok(())
    }
}
