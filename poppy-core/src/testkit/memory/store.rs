//! In-memory [`ServiceStore`] and [`FlavorStore`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::faults::{lock, FailureKind, Faults};
use crate::model::{Flavor, Job, ProjectId, Service, ServiceId, ServiceStatus};
use crate::ports::{FlavorStore, PortError, ServiceStore};

const STORE: &str = "memory";

/// Operations of [`MemoryServiceStore`] that can be told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    Create,
    Get,
    List,
    Update,
    Delete,
    Count,
    FindByDomain,
    ListByStatus,
    DomainsByProviderUrl,
    GetLimit,
    SetLimit,
}

impl StoreOp {
    fn name(self) -> &'static str {
        match self {
            StoreOp::Create => "create",
            StoreOp::Get => "get",
            StoreOp::List => "list",
            StoreOp::Update => "update",
            StoreOp::Delete => "delete",
            StoreOp::Count => "count",
            StoreOp::FindByDomain => "find_by_domain",
            StoreOp::ListByStatus => "list_by_status",
            StoreOp::DomainsByProviderUrl => "domains_by_provider_url",
            StoreOp::GetLimit => "get_limit",
            StoreOp::SetLimit => "set_limit",
        }
    }
}

type Key = (ProjectId, ServiceId);

#[derive(Debug, Default)]
struct StoreState {
    services: BTreeMap<Key, Service>,
    /// Domain name → the service that holds it, across projects.
    domains: BTreeMap<String, Key>,
    limits: BTreeMap<ProjectId, u32>,
}

impl StoreState {
    /// The first domain of `service` held by a different service.
    fn taken_domain<'s>(&self, service: &'s Service, key: &Key) -> Option<&'s str> {
        service
            .domain_names()
            .find(|d| self.domains.get(*d).is_some_and(|holder| holder != key))
    }

    fn active_count(&self, project: &ProjectId) -> usize {
        self.services
            .iter()
            .filter(|((p, _), s)| p == project && s.status != ServiceStatus::DeleteInProgress)
            .count()
    }

    fn release_domains(&mut self, service: &Service, key: &Key) {
        for domain in service.domain_names() {
            if self.domains.get(domain) == Some(key) {
                self.domains.remove(domain);
            }
        }
    }

    fn claim_domains(&mut self, service: &Service, key: &Key) {
        for domain in service.domain_names() {
            self.domains.insert(domain.to_owned(), key.clone());
        }
    }
}

#[derive(Debug)]
struct StoreInner {
    state: Mutex<StoreState>,
    faults: Faults<StoreOp>,
    alive: AtomicBool,
}

/// A [`ServiceStore`] in memory. Domain claims, the limit check and the
/// version check happen under one lock, so they are atomic. Clones share
/// the same data. `writes_jobs()` is false: callers post jobs themselves.
#[derive(Debug, Clone)]
pub struct MemoryServiceStore {
    inner: Arc<StoreInner>,
}

impl Default for MemoryServiceStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryServiceStore {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(StoreInner {
                state: Mutex::new(StoreState::default()),
                faults: Faults::default(),
                alive: AtomicBool::new(true),
            }),
        }
    }

    /// The next `times` calls of `op` fail with `kind` and change nothing.
    pub fn fail_next(&self, op: StoreOp, times: u32, kind: FailureKind) {
        self.inner.faults.fail_next(op, times, kind);
    }

    /// Forgets every planned failure.
    pub fn clear_failures(&self) {
        self.inner.faults.clear();
    }

    /// What `is_alive` reports (true by default).
    pub fn set_alive(&self, alive: bool) {
        self.inner.alive.store(alive, Ordering::SeqCst);
    }

    /// Every stored service, ordered by project then id.
    pub fn services(&self) -> Vec<Service> {
        lock(&self.inner.state).services.values().cloned().collect()
    }

    /// Claimed domain names and the `(project, service)` holding each.
    pub fn claimed_domains(&self) -> BTreeMap<String, (ProjectId, ServiceId)> {
        lock(&self.inner.state).domains.clone()
    }

    /// Number of stored services (all projects).
    pub fn len(&self) -> usize {
        lock(&self.inner.state).services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores `service` as is, bypassing every check (test setup).
    pub fn insert_unchecked(&self, service: Service) {
        let key = (service.project_id.clone(), service.id);
        let mut state = lock(&self.inner.state);
        state.claim_domains(&service, &key);
        state.services.insert(key, service);
    }

    fn check(&self, op: StoreOp) -> Result<(), PortError> {
        match self.inner.faults.take(op) {
            Some(kind) => Err(kind.to_error(STORE, op.name())),
            None => Ok(()),
        }
    }
}

fn taken(domain: &str) -> PortError {
    PortError::Conflict(format!("Domain {domain} has already been taken"))
}

#[async_trait]
impl ServiceStore for MemoryServiceStore {
    fn name(&self) -> &str {
        STORE
    }

    async fn is_alive(&self) -> bool {
        self.inner.alive.load(Ordering::SeqCst)
    }

    async fn create(
        &self,
        service: &Service,
        max_services: u32,
        _job: Option<Job>,
    ) -> Result<(), PortError> {
        self.check(StoreOp::Create)?;
        let key = (service.project_id.clone(), service.id);
        let mut state = lock(&self.inner.state);
        if state.services.contains_key(&key) {
            return Err(PortError::Conflict(format!(
                "service {} already exists in project {}",
                service.id, service.project_id
            )));
        }
        if let Some(domain) = state.taken_domain(service, &key) {
            return Err(taken(domain));
        }
        let limit = usize::try_from(max_services).unwrap_or(usize::MAX);
        if state.active_count(&service.project_id) >= limit {
            return Err(PortError::LimitReached(format!(
                "Maximum services count of {max_services} reached for project {}",
                service.project_id
            )));
        }
        state.claim_domains(service, &key);
        state.services.insert(key, service.clone());
        Ok(())
    }

    async fn get(&self, project: &ProjectId, id: &ServiceId) -> Result<Option<Service>, PortError> {
        self.check(StoreOp::Get)?;
        let key = (project.clone(), *id);
        Ok(lock(&self.inner.state).services.get(&key).cloned())
    }

    async fn list(
        &self,
        project: &ProjectId,
        marker: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<Service>, PortError> {
        self.check(StoreOp::List)?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let state = lock(&self.inner.state);
        Ok(state
            .services
            .range((project.clone(), marker.unwrap_or_else(ServiceId::nil))..)
            .take_while(|((p, _), _)| p == project)
            .filter(|((_, id), _)| marker.is_none_or(|m| *id > m))
            .take(limit)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn update(&self, service: &Service, _job: Option<Job>) -> Result<u64, PortError> {
        self.check(StoreOp::Update)?;
        let key = (service.project_id.clone(), service.id);
        let mut state = lock(&self.inner.state);
        let Some(stored) = state.services.get(&key) else {
            return Err(PortError::NotFound(format!(
                "service {} of project {}",
                service.id, service.project_id
            )));
        };
        if stored.version != service.version {
            return Err(PortError::Conflict(format!(
                "service {} was changed by another writer (stored version {}, written version {})",
                service.id, stored.version, service.version
            )));
        }
        if let Some(domain) = state.taken_domain(service, &key) {
            return Err(taken(domain));
        }
        let previous = stored.clone();
        state.release_domains(&previous, &key);
        state.claim_domains(service, &key);
        let mut updated = service.clone();
        updated.version = service.version + 1;
        let version = updated.version;
        state.services.insert(key, updated);
        Ok(version)
    }

    async fn delete(&self, project: &ProjectId, id: &ServiceId) -> Result<(), PortError> {
        self.check(StoreOp::Delete)?;
        let key = (project.clone(), *id);
        let mut state = lock(&self.inner.state);
        if let Some(service) = state.services.remove(&key) {
            state.release_domains(&service, &key);
        }
        Ok(())
    }

    async fn count(&self, project: &ProjectId) -> Result<u64, PortError> {
        self.check(StoreOp::Count)?;
        let count = lock(&self.inner.state).active_count(project);
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }

    async fn find_by_domain(&self, domain: &str) -> Result<Option<Service>, PortError> {
        self.check(StoreOp::FindByDomain)?;
        let state = lock(&self.inner.state);
        Ok(state
            .domains
            .get(domain)
            .and_then(|key| state.services.get(key))
            .cloned())
    }

    async fn list_by_status(
        &self,
        status: ServiceStatus,
        after: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<(ProjectId, ServiceId)>, PortError> {
        self.check(StoreOp::ListByStatus)?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let state = lock(&self.inner.state);
        let mut found: Vec<(ProjectId, ServiceId)> = state
            .services
            .iter()
            .filter(|((_, id), s)| s.status == status && after.is_none_or(|a| *id > a))
            .map(|(key, _)| key.clone())
            .collect();
        found.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        found.truncate(limit);
        Ok(found)
    }

    async fn domains_by_provider_url(&self, provider_url: &str) -> Result<Vec<String>, PortError> {
        self.check(StoreOp::DomainsByProviderUrl)?;
        let state = lock(&self.inner.state);
        let domains: BTreeSet<String> = state
            .services
            .values()
            .flat_map(|s| s.provider_details.values())
            .flat_map(|d| d.access_urls.iter())
            .filter(|u| u.provider_url.as_deref() == Some(provider_url))
            .map(|u| u.domain.clone())
            .collect();
        Ok(domains.into_iter().collect())
    }

    async fn get_limit(&self, project: &ProjectId) -> Result<Option<u32>, PortError> {
        self.check(StoreOp::GetLimit)?;
        Ok(lock(&self.inner.state).limits.get(project).copied())
    }

    async fn set_limit(&self, project: &ProjectId, limit: u32) -> Result<(), PortError> {
        self.check(StoreOp::SetLimit)?;
        lock(&self.inner.state)
            .limits
            .insert(project.clone(), limit);
        Ok(())
    }
}

/// A [`FlavorStore`] in memory; clones share the same flavors.
#[derive(Debug, Clone, Default)]
pub struct MemoryFlavorStore {
    flavors: Arc<Mutex<BTreeMap<String, Flavor>>>,
}

impl MemoryFlavorStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that already holds `flavors` (later duplicates replace earlier ones).
    pub fn with_flavors(flavors: impl IntoIterator<Item = Flavor>) -> Self {
        let store = Self::new();
        {
            let mut map = lock(&store.flavors);
            for flavor in flavors {
                map.insert(flavor.id.clone(), flavor);
            }
        }
        store
    }

    /// Every flavor, ordered by id.
    pub fn flavors(&self) -> Vec<Flavor> {
        lock(&self.flavors).values().cloned().collect()
    }
}

#[async_trait]
impl FlavorStore for MemoryFlavorStore {
    async fn list(&self) -> Result<Vec<Flavor>, PortError> {
        Ok(self.flavors())
    }

    async fn get(&self, id: &str) -> Result<Option<Flavor>, PortError> {
        Ok(lock(&self.flavors).get(id).cloned())
    }

    async fn create(&self, flavor: &Flavor) -> Result<(), PortError> {
        let mut flavors = lock(&self.flavors);
        if flavors.contains_key(&flavor.id) {
            return Err(PortError::Conflict(format!(
                "flavor {} already exists",
                flavor.id
            )));
        }
        flavors.insert(flavor.id.clone(), flavor.clone());
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), PortError> {
        lock(&self.flavors).remove(id);
        Ok(())
    }
}
