//! `GET /v1.0/services/{service_id}/analytics` (§2.6.8).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use poppy_core::ports::{AnalyticsQuery, AnalyticsReport};
use poppy_core::validate::analytics::format_timestamp;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::error::{json_response, ApiError};
use crate::extract::{PathParam, Project, QueryParams};
use crate::AppState;

/// `{"domain", "<metricType>": {"<region>": [{"timestamp", "count"}]},
/// "provider", "flavor"}`, keys in that order.
pub(crate) struct AnalyticsView<'a>(&'a AnalyticsReport);

#[derive(Serialize)]
struct Point {
    timestamp: String,
    count: f64,
}

impl Serialize for AnalyticsView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let series: std::collections::BTreeMap<&str, Vec<Point>> = report
            .series
            .iter()
            .map(|(region, points)| {
                let points = points
                    .iter()
                    .map(|p| Point {
                        timestamp: format_timestamp(p.timestamp),
                        count: p.value,
                    })
                    .collect();
                (region.as_str(), points)
            })
            .collect();
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("domain", &report.domain)?;
        map.serialize_entry(report.metric.as_str(), &series)?;
        map.serialize_entry("provider", &report.provider)?;
        map.serialize_entry("flavor", &report.flavor)?;
        map.end()
    }
}

/// `GET /services/{id}/analytics?domain=&metricType=&startTime=&endTime=`.
#[utoipa::path(get, path = "/v1.0/services/{service_id}/analytics", operation_id = "getServiceAnalytics", tag = "services",
    params(("service_id" = String, Path, description = "The service id (a UUID)"),
           ("domain" = String, Query, description = "A domain of the project"),
           ("metricType" = String, Query, description = "requestCount, bandwidthOut or httpResponseCode_1XX … httpResponseCode_5XX"),
           ("startTime" = Option<String>, Query, description = "YYYY-mm-ddTHH:MM:SS (UTC); default 24 hours before endTime's default"),
           ("endTime" = Option<String>, Query, description = "YYYY-mm-ddTHH:MM:SS (UTC); default now")),
    responses(
        (status = 200, description = "`{\"domain\", \"<metricType>\": {\"<region>\": [{\"timestamp\", \"count\"}]}, \"provider\", \"flavor\"}`", body = Object),
        (status = 400, description = "Invalid service id or query", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "The project serves no such domain, or no provider serves it yet", body = crate::openapi::schema::ErrorBody),
        (status = 503, description = "The metrics backend is down or not configured", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Project(project): Project,
    PathParam(service_id): PathParam,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let query = AnalyticsQuery {
        domain: query.get("domain"),
        start_time: query.get("startTime"),
        end_time: query.get("endTime"),
        metric_type: query.get("metricType"),
    };
    let report = state
        .api
        .analytics
        .analytics(&project, &service_id, query)
        .await?;
    Ok(json_response(StatusCode::OK, &AnalyticsView(&report)))
}
