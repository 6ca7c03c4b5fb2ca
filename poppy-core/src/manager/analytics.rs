//! `GET /services/{id}/analytics` (§2.6.8): the metrics of one domain of
//! the project, from the [`MetricsSource`](crate::ports::MetricsSource).
//!
//! Status codes improve on the original's: a wrong query is 400, a domain
//! the project does not serve (or that no provider serves yet) is 404, a
//! metrics backend that is down or not configured is 503; only an
//! unexpected backend answer is 500.

use async_trait::async_trait;

use super::Manager;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::model::ProjectId;
use crate::ports::{AnalyticsApi, AnalyticsQuery, AnalyticsReport, MetricsQuery, PortError};
use crate::validate;

#[async_trait]
impl AnalyticsApi for Manager {
    async fn analytics(
        &self,
        project: &ProjectId,
        service_id: &str,
        query: AnalyticsQuery,
    ) -> Result<AnalyticsReport> {
        validate::service_id(service_id)?;
        let now = now_ms().div_euclid(1000);
        let q = validate::analytics::query(&query, now).map_err(Error::Validation)?;
        let domain = q.domain.as_str();
        let service = self
            .backends
            .store
            .find_by_domain(domain)
            .await?
            .filter(|s| &s.project_id == project)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "Domain: {domain} was not found for project_id: {project}"
                ))
            })?;
        if service.provider_details.is_empty() {
            return Err(Error::NotFound(format!(
                "Provider details of service {} are not available yet",
                service.id
            )));
        }
        let provider = service
            .provider_details
            .iter()
            .find(|(_, d)| d.access_urls.iter().any(|u| u.domain == domain))
            .map(|(name, _)| name.clone())
            .ok_or_else(|| Error::NotFound(format!("Provider not found for Domain {domain}")))?;
        let source = self.backends.metrics.clone().ok_or_else(|| {
            Error::Unavailable(
                "analytics are not available: no metrics backend is configured ([metrics] driver)"
                    .to_owned(),
            )
        })?;
        let series = source
            .query(&MetricsQuery {
                project_id: project.clone(),
                provider: provider.clone(),
                domain: domain.to_owned(),
                metric: q.metric,
                start: q.start,
                end: q.end,
            })
            .await
            .map_err(|e| match e {
                e @ (PortError::Unavailable { .. } | PortError::RateLimited { .. }) => {
                    Error::Unavailable(format!("the metrics backend is unavailable: {e}"))
                }
                PortError::Invalid(m) => {
                    Error::BadRequest(format!("the metrics backend refused the query: {m}"))
                }
                other => Error::Internal(format!("the metrics backend failed: {other}")),
            })?;
        Ok(AnalyticsReport {
            domain: domain.to_owned(),
            metric: q.metric,
            series,
            provider,
            flavor: service.spec.flavor_id,
        })
    }
}
