//! An in-memory [`MetricsSource`]: series are recorded by the test (or
//! demo) that owns it; queries filter them by domain, metric and window.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use poppy_core::ports::{
    MetricPoint, MetricType, MetricsQuery, MetricsSource, PortError, RegionSeries,
};

/// The driver name in configuration.
pub const NAME: &str = "memory";

type Key = (String, MetricType);

#[derive(Debug, Default)]
struct State {
    series: BTreeMap<Key, RegionSeries>,
    /// Queries left that fail with `Unavailable`.
    down: u32,
    queries: Vec<MetricsQuery>,
}

/// Metrics kept in memory. Clones share the data.
#[derive(Debug, Clone, Default)]
pub struct MemoryMetrics {
    state: Arc<Mutex<State>>,
}

impl MemoryMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds points of `metric` for `domain` in `region` (kept sorted by time).
    pub fn record(&self, domain: &str, metric: MetricType, region: &str, points: &[MetricPoint]) {
        let mut state = self.state();
        let series = state
            .series
            .entry((domain.to_ascii_lowercase(), metric))
            .or_default()
            .entry(region.to_owned())
            .or_default();
        series.extend_from_slice(points);
        series.sort_by_key(|p| p.timestamp);
    }

    /// The next `times` queries fail with `Unavailable` (a backend outage).
    pub fn fail_next(&self, times: u32) {
        self.state().down = times;
    }

    /// Queries received, oldest first.
    pub fn queries(&self) -> Vec<MetricsQuery> {
        self.state().queries.clone()
    }
}

#[async_trait]
impl MetricsSource for MemoryMetrics {
    fn name(&self) -> &str {
        NAME
    }

    async fn query(&self, query: &MetricsQuery) -> Result<RegionSeries, PortError> {
        let mut state = self.state();
        state.queries.push(query.clone());
        if state.down > 0 {
            state.down -= 1;
            return Err(PortError::unavailable(NAME, "injected metrics outage"));
        }
        let key = (query.domain.to_ascii_lowercase(), query.metric);
        Ok(state
            .series
            .get(&key)
            .map(|regions| {
                regions
                    .iter()
                    .map(|(region, points)| {
                        let window = points
                            .iter()
                            .copied()
                            .filter(|p| (query.start..=query.end).contains(&p.timestamp))
                            .collect();
                        (region.clone(), window)
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use poppy_core::model::ProjectId;

    use super::*;

    fn query(start: i64, end: i64) -> MetricsQuery {
        MetricsQuery {
            project_id: ProjectId::new("p"),
            provider: "mock".into(),
            domain: "www.a.com".into(),
            metric: MetricType::RequestCount,
            start,
            end,
        }
    }

    #[tokio::test]
    async fn queries_see_the_window_and_outages_are_unavailable() {
        let m = MemoryMetrics::new();
        let point = |t| MetricPoint {
            timestamp: t,
            value: 1.0,
        };
        m.record(
            "www.a.com",
            MetricType::RequestCount,
            "EMEA",
            &[point(30), point(10)],
        );
        let got = m.query(&query(0, 20)).await.unwrap();
        assert_eq!(got["EMEA"], vec![point(10)]);
        assert!(m.query(&query(0, 5)).await.unwrap()["EMEA"].is_empty());
        m.fail_next(1);
        assert!(m.query(&query(0, 20)).await.unwrap_err().is_retryable());
        assert_eq!(m.queries().len(), 3);
    }
}
