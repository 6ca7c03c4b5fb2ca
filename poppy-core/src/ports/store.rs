//! Storage of services, flavors and per-project limits.

use std::sync::Arc;

use async_trait::async_trait;

use super::PortError;
use crate::model::{Flavor, Job, ProjectId, Service, ServiceId, ServiceStatus};

/// Which stored state of a service a [`Snapshot`] shows.
///
/// A store that keeps revisions gives a service a new revision on every
/// write, and never gives a service id a revision it had before, not even
/// after a delete and a create under the same id: equal revisions of one id
/// mean the same stored service. Opaque: compare and hash, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Revision(u128);

impl Revision {
    /// A store's revision value (the store decides what it encodes).
    pub const fn new(value: u128) -> Self {
        Self(value)
    }
}

/// A service as stored, shared and immutable, with its revision.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub service: Arc<Service>,
    /// `None` from a store that keeps no revisions.
    pub revision: Option<Revision>,
}

impl Snapshot {
    /// A snapshot without a revision (the port's defaults).
    pub fn unrevised(service: Service) -> Self {
        Self {
            service: Arc::new(service),
            revision: None,
        }
    }
}

/// What [`ServiceStore::get_if_changed`] found for a service that exists.
#[derive(Debug, Clone)]
pub enum Current {
    /// Still at the revision the caller holds.
    Unchanged,
    /// At another revision, or nothing was held: the service.
    Changed(Snapshot),
}

/// Services and their indexes (domains, status, provider URLs, limits).
///
/// # Contract
/// - Every read and write is scoped by `(project_id, service_id)`; nothing
///   of one project is visible through another (except the operator's
///   look-ups `find_by_domain`, `list_by_status`, `domains_by_provider_url`).
/// - A domain name belongs to at most one service across all projects:
///   `create` and `update` fail with `Conflict("Domain <d> has already been
///   taken")` and write nothing when any domain is held by another service.
///   The check and the claim are atomic.
/// - `create` fails with `LimitReached` and writes nothing when the project
///   already has `max_services` services that are not `delete_in_progress`;
///   check and insert are atomic.
/// - `update` replaces the stored service only if the stored `version`
///   equals `service.version`, and stores it as `service.version + 1`;
///   otherwise `Conflict`. `NotFound` if the service is gone.
/// - `list` returns services with id greater than `marker`, ascending by id,
///   at most `limit`.
/// - `delete` removes the service and releases its domains; deleting a
///   missing service succeeds.
/// - Outbox: when [`ServiceStore::writes_jobs`] is true the store writes the
///   `job` given to `create`/`update` in the same transaction as the service
///   (it shares a database with the job board). Otherwise it ignores it and
///   the caller posts the job itself.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait ServiceStore: Send + Sync + std::fmt::Debug + 'static {
    /// Name shown by the health endpoint (`sqlite`, `cassandra`…).
    fn name(&self) -> &str;
    async fn is_alive(&self) -> bool;
    /// True when `job` arguments are written with the service (outbox).
    fn writes_jobs(&self) -> bool {
        false
    }

    async fn create(
        &self,
        service: &Service,
        max_services: u32,
        job: Option<Job>,
    ) -> Result<(), PortError>;
    async fn get(&self, project: &ProjectId, id: &ServiceId) -> Result<Option<Service>, PortError>;
    async fn list(
        &self,
        project: &ProjectId,
        marker: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<Service>, PortError>;
    /// [`ServiceStore::get`] as a shared, immutable snapshot, for readers
    /// that only look at the service.
    ///
    /// A store that keeps decoded rows may hand out the same `Arc` while
    /// the stored row is unchanged (no copy per read), and never hands out
    /// an `Arc` of an older state. To cache what is derived from a service
    /// (a rendered response body, say), key it by the snapshot's
    /// [`Revision`] ([`ServiceStore::list_shared`],
    /// [`ServiceStore::get_if_changed`]). The default wraps `get` in a new
    /// `Arc` each time.
    async fn get_shared(
        &self,
        project: &ProjectId,
        id: &ServiceId,
    ) -> Result<Option<Arc<Service>>, PortError> {
        Ok(self.get(project, id).await?.map(Arc::new))
    }
    /// [`ServiceStore::list`] as shared snapshots (see
    /// [`ServiceStore::get_shared`]) with their revisions. The default has
    /// none.
    async fn list_shared(
        &self,
        project: &ProjectId,
        marker: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<Snapshot>, PortError> {
        Ok(self
            .list(project, marker, limit)
            .await?
            .into_iter()
            .map(Snapshot::unrevised)
            .collect())
    }
    /// The service unless it is still at revision `held` (a conditional
    /// read, like HTTP's `If-None-Match`): `None` when it does not exist,
    /// [`Current::Unchanged`] only when `held` is its current revision,
    /// else a snapshot of it (with its revision, if the store keeps them).
    ///
    /// A caller that keeps what it derived from a snapshot under the
    /// snapshot's revision can tell it is still current without the store
    /// reading, or the caller holding, the service itself. The default
    /// reads the service every time and has no revisions.
    async fn get_if_changed(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        held: Option<Revision>,
    ) -> Result<Option<Current>, PortError> {
        let _ = held;
        Ok(self
            .get(project, id)
            .await?
            .map(|service| Current::Changed(Snapshot::unrevised(service))))
    }
    /// Returns the new version.
    async fn update(&self, service: &Service, job: Option<Job>) -> Result<u64, PortError>;
    async fn delete(&self, project: &ProjectId, id: &ServiceId) -> Result<(), PortError>;
    /// Services of the project that are not `delete_in_progress`.
    async fn count(&self, project: &ProjectId) -> Result<u64, PortError>;

    /// The service holding `domain` (any project).
    async fn find_by_domain(&self, domain: &str) -> Result<Option<Service>, PortError>;
    /// `(project, service)` of every service in `status` (any project),
    /// ascending by service id after `after`, at most `limit`.
    async fn list_by_status(
        &self,
        status: ServiceStatus,
        after: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<(ProjectId, ServiceId)>, PortError>;
    /// Domains whose access URL at a provider is `provider_url`.
    async fn domains_by_provider_url(&self, provider_url: &str) -> Result<Vec<String>, PortError>;

    /// The per-project service limit set by an operator, if any.
    async fn get_limit(&self, project: &ProjectId) -> Result<Option<u32>, PortError>;
    async fn set_limit(&self, project: &ProjectId, limit: u32) -> Result<(), PortError>;
}

/// Flavors.
///
/// # Contract
/// `create` of an existing id fails with `Conflict` and changes nothing;
/// `get` of a missing id is `Ok(None)`; `delete` of a missing id succeeds;
/// `list` is ordered by id.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait FlavorStore: Send + Sync + std::fmt::Debug + 'static {
    async fn list(&self) -> Result<Vec<Flavor>, PortError>;
    async fn get(&self, id: &str) -> Result<Option<Flavor>, PortError>;
    async fn create(&self, flavor: &Flavor) -> Result<(), PortError>;
    async fn delete(&self, id: &str) -> Result<(), PortError>;
}
