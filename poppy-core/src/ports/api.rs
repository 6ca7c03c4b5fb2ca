//! Driving ports: the use cases a transport calls. [`crate::manager::Manager`]
//! implements them; an embedder can wrap them (quotas, audit) without
//! touching the transport.
//!
//! Request bodies and query strings come in raw (`serde_json::Value`,
//! strings) so that every rule of the reference, and its messages, lives in
//! the core rather than in each transport.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::error::Result;
use crate::model::{Flavor, ProjectId, Service, ServiceId};
use crate::ports::{Current, Revision, Snapshot};

/// Raw query of `GET /services`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub marker: Option<String>,
    pub limit: Option<String>,
}

/// Raw query of `DELETE /services/{id}/assets`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeQuery {
    pub url: Option<String>,
    pub all: Option<String>,
    pub hard: Option<String>,
}

/// One page of services (shared snapshots with their revisions, see
/// [`crate::ports::ServiceStore::list_shared`]).
#[derive(Debug, Clone)]
pub struct ServicePage {
    pub services: Vec<Snapshot>,
    /// The limit the page was read with.
    pub limit: u32,
    /// Set iff the page is full: where the next page starts.
    pub next_marker: Option<ServiceId>,
}

/// A service named by project and id (admin listings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceRef {
    pub project_id: ProjectId,
    pub service_id: ServiceId,
}

/// Health of one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHealth {
    pub name: String,
    pub online: bool,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    pub storage: ComponentHealth,
    pub distributed_task: ComponentHealth,
    pub dns: ComponentHealth,
    pub providers: Vec<ComponentHealth>,
}

impl HealthReport {
    pub fn all_online(&self) -> bool {
        self.storage.online
            && self.distributed_task.online
            && self.dns.online
            && self.providers.iter().all(|p| p.online)
    }
}

/// What an admin status change did (§2.9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    /// Statuses were set (201).
    StatusSet,
    /// A stuck create was re-driven with an empty update (202).
    UpdateForced,
}

#[async_trait]
pub trait ServiceApi: Send + Sync + 'static {
    /// Validates `body`, stores the service and queues its deployment.
    async fn create_service(
        &self,
        project: &ProjectId,
        body: serde_json::Value,
    ) -> Result<ServiceId>;
    async fn list_services(&self, project: &ProjectId, query: ListQuery) -> Result<ServicePage>;
    /// The service as a shared snapshot (see
    /// [`crate::ports::ServiceStore::get_shared`]).
    async fn get_service(&self, project: &ProjectId, id: &ServiceId) -> Result<Arc<Service>>;
    /// The service unless it is still at revision `held` (see
    /// [`crate::ports::ServiceStore::get_if_changed`]); `NotFound` like
    /// [`ServiceApi::get_service`]. The default always reads it and has no
    /// revision.
    async fn get_service_if_changed(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        held: Option<Revision>,
    ) -> Result<Current> {
        let _ = held;
        Ok(Current::Changed(Snapshot {
            service: self.get_service(project, id).await?,
            revision: None,
        }))
    }
    /// Applies an RFC 6902 patch and queues the update.
    async fn patch_service(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        patch: serde_json::Value,
    ) -> Result<()>;
    async fn delete_service(&self, project: &ProjectId, id: &ServiceId) -> Result<()>;
    async fn purge_service(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        query: PurgeQuery,
    ) -> Result<()>;
    /// Storage and job board reachable.
    async fn ping(&self) -> bool;
    async fn health(&self) -> HealthReport;
}

#[async_trait]
pub trait FlavorApi: Send + Sync + 'static {
    async fn list_flavors(&self) -> Result<Vec<Flavor>>;
    async fn get_flavor(&self, id: &str) -> Result<Flavor>;
    async fn create_flavor(&self, body: serde_json::Value) -> Result<Flavor>;
    async fn delete_flavor(&self, id: &str) -> Result<()>;
}

/// Operator endpoints (`/v1.0/admin/…`) that need no provider-specific code.
#[async_trait]
pub trait AdminApi: Send + Sync + 'static {
    async fn services_by_status(&self, status: Option<&str>) -> Result<Vec<ServiceRef>>;
    /// `{"project_id"|"domain": …, "action": "delete"|"enable"|"disable"}`.
    async fn service_action(&self, body: serde_json::Value) -> Result<()>;
    /// `{"project_id", "service_id", "status": "deployed"|"failed"}`.
    async fn set_service_status(&self, body: serde_json::Value) -> Result<StatusOutcome>;
    async fn service_by_domain(&self, domain: &str) -> Result<Service>;
    async fn domains_by_provider_url(&self, provider_url: Option<&str>) -> Result<Vec<String>>;
    async fn get_limit(&self, project: &str) -> Result<u32>;
    async fn set_limit(&self, project: &str, body: serde_json::Value) -> Result<()>;
}

/// Everything a transport serves.
#[derive(Clone)]
pub struct Api {
    pub services: Arc<dyn ServiceApi>,
    pub flavors: Arc<dyn FlavorApi>,
    pub admin: Arc<dyn AdminApi>,
    /// Tenant SSL certificates.
    pub certificates: Arc<dyn super::CertificateApi>,
    /// Operator endpoints on access URLs, certificates and provider queues.
    pub operator: Arc<dyn super::OperatorApi>,
    pub analytics: Arc<dyn super::AnalyticsApi>,
}

impl Api {
    /// One implementation of them all (the [`crate::manager::Manager`]).
    pub fn from_one<T>(api: Arc<T>) -> Self
    where
        T: ServiceApi
            + FlavorApi
            + AdminApi
            + super::CertificateApi
            + super::OperatorApi
            + super::AnalyticsApi,
    {
        Self {
            services: api.clone(),
            flavors: api.clone(),
            admin: api.clone(),
            certificates: api.clone(),
            operator: api.clone(),
            analytics: api,
        }
    }
}
