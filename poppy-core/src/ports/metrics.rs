//! Traffic metrics of a domain, for `GET /services/{id}/analytics` (§2.6.8).

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::PortError;
use crate::model::ProjectId;

/// The metrics of the original's analytics endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetricType {
    RequestCount,
    BandwidthOut,
    HttpResponseCode1xx,
    HttpResponseCode2xx,
    HttpResponseCode3xx,
    HttpResponseCode4xx,
    HttpResponseCode5xx,
}

impl MetricType {
    /// Every metric, in the original's order.
    pub const ALL: &'static [MetricType] = &[
        MetricType::RequestCount,
        MetricType::BandwidthOut,
        MetricType::HttpResponseCode1xx,
        MetricType::HttpResponseCode2xx,
        MetricType::HttpResponseCode3xx,
        MetricType::HttpResponseCode4xx,
        MetricType::HttpResponseCode5xx,
    ];

    /// The wire name (`requestCount`, `httpResponseCode_2XX`…).
    pub fn as_str(&self) -> &'static str {
        match self {
            MetricType::RequestCount => "requestCount",
            MetricType::BandwidthOut => "bandwidthOut",
            MetricType::HttpResponseCode1xx => "httpResponseCode_1XX",
            MetricType::HttpResponseCode2xx => "httpResponseCode_2XX",
            MetricType::HttpResponseCode3xx => "httpResponseCode_3XX",
            MetricType::HttpResponseCode4xx => "httpResponseCode_4XX",
            MetricType::HttpResponseCode5xx => "httpResponseCode_5XX",
        }
    }

    /// The status class of a response-code metric (`"2XX"`), `None` for
    /// the others.
    pub fn status_class(&self) -> Option<&'static str> {
        match self {
            MetricType::HttpResponseCode1xx => Some("1XX"),
            MetricType::HttpResponseCode2xx => Some("2XX"),
            MetricType::HttpResponseCode3xx => Some("3XX"),
            MetricType::HttpResponseCode4xx => Some("4XX"),
            MetricType::HttpResponseCode5xx => Some("5XX"),
            MetricType::RequestCount | MetricType::BandwidthOut => None,
        }
    }
}

impl std::fmt::Display for MetricType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MetricType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MetricType::ALL
            .iter()
            .copied()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let valid: Vec<&str> = MetricType::ALL.iter().map(|m| m.as_str()).collect();
                format!(
                    "unknown metricType '{s}', expected one of: {}",
                    valid.join(", ")
                )
            })
    }
}

/// One metric of one domain over a time window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsQuery {
    pub project_id: ProjectId,
    /// The provider serving the domain (its configured name).
    pub provider: String,
    pub domain: String,
    pub metric: MetricType,
    /// Window start and end, seconds since the Unix epoch (UTC), start ≤ end.
    pub start: i64,
    pub end: i64,
}

/// One value of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint {
    /// Seconds since the Unix epoch (UTC).
    pub timestamp: i64,
    pub value: f64,
}

/// Series by region (`North America`, `EMEA`…), each ascending by time.
pub type RegionSeries = BTreeMap<String, Vec<MetricPoint>>;

/// A time-series backend holding CDN traffic metrics.
///
/// # Contract
/// - `query` returns the points of `query.metric` for `query.domain` with
///   `start ≤ timestamp ≤ end`, grouped by region, ascending by time.
///   Regions without data may be absent or empty; a domain without data is
///   an empty map, not an error.
/// - A backend that is down or times out is `Unavailable`; a query the
///   backend refuses as malformed is `Invalid`.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait MetricsSource: Send + Sync + std::fmt::Debug + 'static {
    /// Name shown in logs (`prometheus`, `memory`…).
    fn name(&self) -> &str;
    async fn query(&self, query: &MetricsQuery) -> Result<RegionSeries, PortError>;
}
