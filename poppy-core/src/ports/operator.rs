//! Driving ports of the rest of the original API: tenant SSL certificates
//! (§2.8), analytics (§2.6.8) and the operator endpoints beyond
//! [`AdminApi`](super::AdminApi) (§2.9.4, §2.9.8, §2.9.9).
//!
//! As for the other driving ports, bodies and query strings come in raw so
//! that every rule, and its message, lives in the core.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use super::{MetricType, RegionSeries};
use crate::error::Result;
use crate::model::{CertConfigKind, ProjectId, SslCertificate};

/// Raw query of `GET /services/{id}/analytics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyticsQuery {
    pub domain: Option<String>,
    /// `startTime`, `YYYY-mm-ddTHH:MM:SS` (UTC).
    pub start_time: Option<String>,
    /// `endTime`, `YYYY-mm-ddTHH:MM:SS` (UTC).
    pub end_time: Option<String>,
    /// `metricType`.
    pub metric_type: Option<String>,
}

/// The metrics of one domain (§2.6.8).
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsReport {
    pub domain: String,
    pub metric: MetricType,
    /// Every region the metrics backend reports, plus the configured ones
    /// (empty when without data).
    pub series: RegionSeries,
    /// The provider serving the domain.
    pub provider: String,
    pub flavor: String,
}

/// What an operator's access-URL change did (§2.9.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessUrlChange {
    /// The CNAME was moved and the access URL stored (201).
    Changed,
    /// The access URL already was the one asked for (202).
    Unchanged,
}

/// A queue replaced by an operator: the new queue and the items it dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueUpdate {
    pub queue: Vec<Value>,
    pub deleted: Vec<Value>,
}

/// What a background job request did with the queue items (§2.9.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackgroundJobReport {
    /// Items a job was posted for.
    pub sent: Vec<Value>,
    /// Items left alone (not ready, invalid), each with the reason in
    /// `error_message` where there is one.
    pub ignored: Vec<Value>,
}

/// What a rerun of the retry list did (§2.9.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryRun {
    /// Requests a `recreate_ssl_certificate` job was posted for.
    pub processing: Vec<Value>,
    /// Requests that failed validation (those with `validate_service:
    /// false` are put back on the list).
    pub failed_validation: Vec<Value>,
}

/// What an update of a certificate setting did (§2.9.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigUpdate {
    /// A shared certificate's settings, as now stored (200).
    Updated(Value),
    /// A provider-wide setting was stored (202, empty).
    Accepted,
}

/// Tenant-facing SSL certificates (`/v1.0/ssl_certificate`). A tenant sees
/// and removes only its own project's certificates.
#[async_trait]
pub trait CertificateApi: Send + Sync + 'static {
    /// `{"flavor_id", "cert_type", "domain_name", "project_id"?}`: stores the
    /// request and queues `create_ssl_certificate`.
    async fn create_certificate(&self, project: &ProjectId, body: Value) -> Result<()>;
    /// The project's certificate of `domain` (404 for another project's).
    async fn get_certificate(&self, project: &ProjectId, domain: &str) -> Result<SslCertificate>;
    /// Queues `delete_ssl_certificate`; `cert_type` defaults to `san`.
    async fn delete_certificate(
        &self,
        project: &ProjectId,
        domain: &str,
        cert_type: Option<&str>,
    ) -> Result<()>;
}

/// `GET /services/{id}/analytics`.
#[async_trait]
pub trait AnalyticsApi: Send + Sync + 'static {
    async fn analytics(
        &self,
        project: &ProjectId,
        service_id: &str,
        query: AnalyticsQuery,
    ) -> Result<AnalyticsReport>;
}

/// Operator endpoints on access URLs and certificates (§2.9.4, §2.9.8,
/// §2.9.9). `provider` is the configured provider name of the
/// `/admin/provider/{provider}/…` paths (`akamai` in the original).
#[async_trait]
pub trait OperatorApi: Send + Sync + 'static {
    /// `PATCH /admin/services/{id}/provider_details`.
    async fn patch_provider_details(
        &self,
        service_id: &str,
        body: Value,
    ) -> Result<AccessUrlChange>;
    /// `GET /admin/certificates?status=` → domains.
    async fn certificates_by_status(&self, status: Option<&str>) -> Result<Vec<String>>;
    /// `PATCH /admin/certificates/{domain}` with a one-operation patch.
    async fn patch_certificate_status(&self, domain: &str, body: Value) -> Result<()>;
    /// `POST /admin/provider/{p}/service`: move a domain to another
    /// shared certificate.
    async fn migrate_domain(&self, provider: &str, body: Value) -> Result<()>;
    /// `POST /admin/provider/{p}/background_job`.
    async fn background_job(&self, provider: &str, body: Value) -> Result<BackgroundJobReport>;
    async fn san_mapping(&self, provider: &str) -> Result<Vec<Value>>;
    async fn replace_san_mapping(&self, provider: &str, body: Value) -> Result<QueueUpdate>;
    async fn retry_list(&self, provider: &str) -> Result<Vec<Value>>;
    async fn replace_retry_list(&self, provider: &str, body: Value) -> Result<QueueUpdate>;
    async fn rerun_retry_list(&self, provider: &str) -> Result<RetryRun>;
    /// `GET …/ssl_certificate/{config|sni_config}/{name}`.
    async fn certificate_config(
        &self,
        provider: &str,
        kind: CertConfigKind,
        name: &str,
    ) -> Result<Value>;
    /// `POST …/ssl_certificate/{config|sni_config}/{name}`.
    async fn update_certificate_config(
        &self,
        provider: &str,
        kind: CertConfigKind,
        name: &str,
        body: Value,
    ) -> Result<ConfigUpdate>;
}
