//! A [`MetricsSource`] on the Prometheus HTTP query API (feature
//! `metrics-prometheus`): `GET <url>/api/v1/query_range` with a PromQL
//! query per metric, grouped by a region label.
//!
//! Default queries, for counters exported per CDN domain (by a log
//! pipeline or a vendor exporter) with `domain`, `region` and, for
//! responses, `status_class` labels:
//!
//! | metric | PromQL |
//! |---|---|
//! | `requestCount` | `sum by (region) (increase(poppy_cdn_requests_total{domain="…"}[step]))` |
//! | `bandwidthOut` | `sum by (region) (increase(poppy_cdn_bytes_out_total{domain="…"}[step]))` |
//! | `httpResponseCode_NXX` | `sum by (region) (increase(poppy_cdn_responses_total{domain="…",status_class="NXX"}[step]))` |
//!
//! Each can be replaced in the configuration (`queries`). Answers map to
//! port errors once: no answer, a timeout or a 5xx is `Unavailable`, 429
//! is `RateLimited`, 400/422 (a query Prometheus refuses) is `Invalid`.

mod config;

use std::time::Duration;

use async_trait::async_trait;
use poppy_core::ports::{
    MetricPoint, MetricType, MetricsQuery, MetricsSource, PortError, RegionSeries,
};
use reqwest::StatusCode;
use serde::Deserialize;

pub use config::{PrometheusConfig, PrometheusConfigError, RESOLUTIONS};

/// The driver name in configuration.
pub const NAME: &str = "prometheus";

/// The Prometheus metrics source.
#[derive(Clone)]
pub struct PrometheusMetrics {
    config: PrometheusConfig,
    token: Option<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for PrometheusMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusMetrics")
            .field("config", &self.config)
            .finish()
    }
}

/// `{"status", "data": {"resultType", "result": [...]}, "errorType", "error"}`.
#[derive(Debug, Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: Vec<Series>,
}

#[derive(Debug, Deserialize)]
struct Series {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, String>,
    /// `[[<unix seconds, float>, "<value>"], …]`.
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// The default PromQL of `metric`.
fn default_query(metric: MetricType) -> &'static str {
    match metric {
        MetricType::RequestCount => {
            r#"sum by ({region}) (increase(poppy_cdn_requests_total{domain="{domain}"}[{step}]))"#
        }
        MetricType::BandwidthOut => {
            r#"sum by ({region}) (increase(poppy_cdn_bytes_out_total{domain="{domain}"}[{step}]))"#
        }
        _ => {
            r#"sum by ({region}) (increase(poppy_cdn_responses_total{domain="{domain}",status_class="{class}"}[{step}]))"#
        }
    }
}

/// Escapes a value for a double-quoted PromQL string.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl PrometheusMetrics {
    /// A source with `config`, after checking it.
    pub fn build(config: PrometheusConfig) -> Result<Self, PrometheusConfigError> {
        Self::build_with_env(config, |name| std::env::var(name).ok())
    }

    /// [`Self::build`] with an injectable environment (tests).
    pub fn build_with_env(
        config: PrometheusConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, PrometheusConfigError> {
        config.validate()?;
        let token = match &config.bearer_token_env {
            Some(name) => Some(
                env(name)
                    .ok_or_else(|| PrometheusConfigError::MissingEnv { name: name.clone() })?,
            ),
            None => config.bearer_token.clone(),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| PrometheusConfigError::Client {
                message: e.to_string(),
            })?;
        Ok(Self {
            config,
            token,
            http,
        })
    }

    /// The PromQL for `query`.
    pub fn promql(&self, query: &MetricsQuery) -> String {
        let template = self
            .config
            .queries
            .get(query.metric.as_str())
            .map(String::as_str)
            .unwrap_or_else(|| default_query(query.metric));
        template
            .replace("{domain}", &escape(&query.domain))
            .replace("{provider}", &escape(&query.provider))
            .replace("{project}", &escape(query.project_id.as_str()))
            .replace("{class}", query.metric.status_class().unwrap_or(""))
            .replace("{step}", &format!("{}s", self.config.resolution_secs))
            .replace("{region}", &self.config.region_label)
    }

    fn unavailable(&self, message: String) -> PortError {
        PortError::unavailable(NAME, message)
    }
}

#[async_trait]
impl MetricsSource for PrometheusMetrics {
    fn name(&self) -> &str {
        NAME
    }

    async fn query(&self, query: &MetricsQuery) -> Result<RegionSeries, PortError> {
        let url = format!(
            "{}/api/v1/query_range",
            self.config.url.trim_end_matches('/')
        );
        let promql = self.promql(query);
        let mut request = self.http.get(&url).query(&[
            ("query", promql.clone()),
            ("start", query.start.to_string()),
            ("end", query.end.to_string()),
            ("step", self.config.resolution_secs.to_string()),
        ]);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| {
            let reason = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "request failed"
            };
            self.unavailable(format!("GET {url}: {reason}"))
        })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .text()
            .await
            .map_err(|e| self.unavailable(format!("reading the answer of {url}: {e}")))?;
        let answer: Option<Answer> = serde_json::from_str(&body).ok();
        let detail = answer
            .as_ref()
            .and_then(|a| a.error.clone())
            .unwrap_or_else(|| body.chars().take(200).collect());
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                return Err(PortError::RateLimited {
                    backend: NAME.to_owned(),
                    retry_after,
                })
            }
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                return Err(PortError::Invalid(format!(
                    "{NAME} refused the query {promql}: {detail}"
                )))
            }
            s if s.is_server_error() => {
                return Err(PortError::Unavailable {
                    backend: NAME.to_owned(),
                    message: format!("{url} answered {s}: {detail}"),
                    retry_after,
                })
            }
            s if !s.is_success() => {
                return Err(PortError::internal(
                    NAME,
                    format!("{url} answered {s}: {detail}"),
                ))
            }
            _ => {}
        }
        let Some(answer) = answer else {
            return Err(PortError::internal(
                NAME,
                format!("{url} answered something that is not the query API's JSON: {detail}"),
            ));
        };
        if answer.status != "success" {
            return Err(PortError::internal(
                NAME,
                format!(
                    "{url} answered status {} ({}): {detail}",
                    answer.status,
                    answer.error_type.unwrap_or_default()
                ),
            ));
        }
        let data = answer.data.ok_or_else(|| {
            PortError::internal(NAME, format!("{url} answered success without data"))
        })?;
        if data.result_type != "matrix" {
            return Err(PortError::Invalid(format!(
                "the query for {} gives a {} instead of a range vector: {promql}",
                query.metric, data.result_type
            )));
        }
        let mut out: RegionSeries = self
            .config
            .regions
            .iter()
            .map(|r| (r.clone(), Vec::new()))
            .collect();
        for series in data.result {
            let region = series
                .metric
                .get(&self.config.region_label)
                .cloned()
                .unwrap_or_else(|| "unknown".to_owned());
            let points = out.entry(region).or_default();
            for (at, value) in series.values {
                // Prometheus sends values as strings ("NaN", "+Inf" too).
                let Ok(value) = value.parse::<f64>() else {
                    continue;
                };
                if value.is_finite() {
                    points.push(MetricPoint {
                        timestamp: at.floor() as i64,
                        value,
                    });
                }
            }
            points.sort_by_key(|p| p.timestamp);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use poppy_core::model::ProjectId;

    use super::*;

    fn source(queries: &[(&str, &str)]) -> PrometheusMetrics {
        let config = PrometheusConfig {
            url: "http://127.0.0.1:9".into(),
            queries: queries
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..PrometheusConfig::default()
        };
        PrometheusMetrics::build(config).expect("valid")
    }

    fn query(metric: MetricType) -> MetricsQuery {
        MetricsQuery {
            project_id: ProjectId::new("p\"1"),
            provider: "akamai".into(),
            domain: "www.a.com".into(),
            metric,
            start: 0,
            end: 1,
        }
    }

    #[test]
    fn default_queries_name_the_domain_class_and_step() {
        let q = source(&[]).promql(&query(MetricType::HttpResponseCode4xx));
        assert_eq!(
            q,
            r#"sum by (region) (increase(poppy_cdn_responses_total{domain="www.a.com",status_class="4XX"}[86400s]))"#
        );
    }

    #[test]
    fn configured_queries_are_escaped() {
        let s = source(&[(
            "requestCount",
            r#"hits{project="{project}",cdn="{provider}"}"#,
        )]);
        assert_eq!(
            s.promql(&query(MetricType::RequestCount)),
            r#"hits{project="p\"1",cdn="akamai"}"#
        );
    }

    #[test]
    fn bad_configurations_name_the_key() {
        let bad = |c: PrometheusConfig| PrometheusMetrics::build(c).unwrap_err().to_string();
        let base = PrometheusConfig {
            url: "http://127.0.0.1:9090".into(),
            ..PrometheusConfig::default()
        };
        assert!(bad(PrometheusConfig::default()).contains("url"));
        assert!(bad(PrometheusConfig {
            resolution_secs: 7,
            ..base.clone()
        })
        .contains("resolution_secs"));
        let mut queries = std::collections::BTreeMap::new();
        queries.insert("hits".to_owned(), "x".to_owned());
        assert!(bad(PrometheusConfig {
            queries,
            ..base.clone()
        })
        .contains("hits"));
        let env = PrometheusConfig {
            bearer_token_env: Some("POPPY_TEST_NOPE".into()),
            ..base
        };
        let err = PrometheusMetrics::build_with_env(env, |_| None).unwrap_err();
        assert!(err.to_string().contains("POPPY_TEST_NOPE"));
    }
}
