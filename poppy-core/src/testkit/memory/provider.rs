//! In-memory [`CdnProvider`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use uuid::Uuid;

use super::faults::{lock, FailureKind, Faults};
use crate::model::{
    ProjectId, ProviderDeployment, ProviderLink, ProviderStatus, PurgeTarget, Service, ServiceId,
};
use crate::ports::{CdnProvider, PortError, ProviderCapabilities};

/// Name of a [`MemoryProvider`] unless told otherwise.
pub const DEFAULT_PROVIDER_NAME: &str = "memory";
/// Access URLs are `<domain>.<suffix>` unless told otherwise.
pub const DEFAULT_LINK_SUFFIX: &str = "memory.cdn.test";

/// Operations of [`MemoryProvider`] that can be told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderOp {
    Create,
    Update,
    Delete,
    Purge,
    Status,
}

impl ProviderOp {
    fn name(self) -> &'static str {
        match self {
            ProviderOp::Create => "create",
            ProviderOp::Update => "update",
            ProviderOp::Delete => "delete",
            ProviderOp::Purge => "purge",
            ProviderOp::Status => "status",
        }
    }
}

/// One call made to a [`MemoryProvider`], failed ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderCall {
    Create {
        service_id: ServiceId,
    },
    Update {
        provider_service_id: String,
        service_id: ServiceId,
    },
    Delete {
        provider_service_id: String,
        service_id: ServiceId,
    },
    Purge {
        provider_service_id: String,
        service_id: ServiceId,
        target: PurgeTarget,
        hard: bool,
    },
    Status {
        provider_service_id: String,
    },
}

impl ProviderCall {
    pub fn op(&self) -> ProviderOp {
        match self {
            ProviderCall::Create { .. } => ProviderOp::Create,
            ProviderCall::Update { .. } => ProviderOp::Update,
            ProviderCall::Delete { .. } => ProviderOp::Delete,
            ProviderCall::Purge { .. } => ProviderOp::Purge,
            ProviderCall::Status { .. } => ProviderOp::Status,
        }
    }
}

/// A CDN configuration the provider holds for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfiguration {
    pub provider_service_id: String,
    pub project_id: ProjectId,
    pub service_id: ServiceId,
    /// The definition last pushed by `create` or `update`.
    pub service: Service,
    pub links: Vec<ProviderLink>,
    /// Purges applied to it, in order (`(target, hard)`).
    pub purges: Vec<(PurgeTarget, bool)>,
}

#[derive(Debug, Default)]
struct ProviderState {
    /// Keyed by the provider's own id.
    configurations: BTreeMap<String, ProviderConfiguration>,
    calls: Vec<ProviderCall>,
    in_progress_polls: u32,
}

impl ProviderState {
    fn id_for(&self, service_id: &ServiceId) -> Option<&str> {
        self.configurations
            .values()
            .find(|c| &c.service_id == service_id)
            .map(|c| c.provider_service_id.as_str())
    }

    fn rollout_status(&self) -> ProviderStatus {
        if self.in_progress_polls > 0 {
            ProviderStatus::DeployInProgress
        } else {
            ProviderStatus::Deployed
        }
    }
}

#[derive(Debug)]
struct ProviderInner {
    name: String,
    link_suffix: String,
    capabilities: ProviderCapabilities,
    state: Mutex<ProviderState>,
    faults: Faults<ProviderOp>,
    alive: AtomicBool,
}

/// A [`CdnProvider`] that keeps its configurations in memory, keyed by its
/// own provider service id (`mem-<uuid>`). `create` is idempotent by the
/// service's id. Every call is recorded (see [`MemoryProvider::calls`]).
/// Clones share the same configurations.
///
/// Knobs: [`fail_next`](Self::fail_next) makes the next calls of an
/// operation fail; [`report_in_progress`](Self::report_in_progress) makes
/// the next `status` polls report `DeployInProgress` (and `create`/`update`
/// return that status while polls remain).
#[derive(Debug, Clone)]
pub struct MemoryProvider {
    inner: Arc<ProviderInner>,
}

impl Default for MemoryProvider {
    fn default() -> Self {
        Self::new(DEFAULT_PROVIDER_NAME)
    }
}

impl MemoryProvider {
    /// A provider called `name` (the key flavors and provider details use),
    /// with every capability.
    pub fn new(name: impl Into<String>) -> Self {
        Self::build(
            name.into(),
            DEFAULT_LINK_SUFFIX.to_owned(),
            ProviderCapabilities {
                purge_all: true,
                hard_purge: true,
                soft_purge: true,
                certificates: true,
            },
        )
    }

    fn build(name: String, link_suffix: String, capabilities: ProviderCapabilities) -> Self {
        Self {
            inner: Arc::new(ProviderInner {
                name,
                link_suffix,
                capabilities,
                state: Mutex::new(ProviderState::default()),
                faults: Faults::default(),
                alive: AtomicBool::new(true),
            }),
        }
    }

    /// The same provider with other capabilities (and no configurations).
    pub fn with_capabilities(self, capabilities: ProviderCapabilities) -> Self {
        Self::build(
            self.inner.name.clone(),
            self.inner.link_suffix.clone(),
            capabilities,
        )
    }

    /// Access URLs become `<domain>.<suffix>` (and no configurations).
    pub fn with_link_suffix(self, suffix: impl Into<String>) -> Self {
        Self::build(
            self.inner.name.clone(),
            suffix.into(),
            self.inner.capabilities,
        )
    }

    /// The next `times` calls of `op` fail with `kind` (recorded, no effect).
    pub fn fail_next(&self, op: ProviderOp, times: u32, kind: FailureKind) {
        self.inner.faults.fail_next(op, times, kind);
    }

    /// Forgets every planned failure.
    pub fn clear_failures(&self) {
        self.inner.faults.clear();
    }

    /// The next `polls` calls of `status` report `DeployInProgress`.
    pub fn report_in_progress(&self, polls: u32) {
        lock(&self.inner.state).in_progress_polls = polls;
    }

    /// What `is_alive` reports (true by default).
    pub fn set_alive(&self, alive: bool) {
        self.inner.alive.store(alive, Ordering::SeqCst);
    }

    /// The access URL this provider gives `domain`.
    pub fn link_for(&self, domain: &str) -> String {
        format!("{domain}.{}", self.inner.link_suffix)
    }

    /// Every configuration, ordered by provider service id.
    pub fn configurations(&self) -> Vec<ProviderConfiguration> {
        lock(&self.inner.state)
            .configurations
            .values()
            .cloned()
            .collect()
    }

    /// The configurations made for one service (at most one if `create`
    /// is idempotent).
    pub fn configurations_for(&self, service_id: &ServiceId) -> Vec<ProviderConfiguration> {
        lock(&self.inner.state)
            .configurations
            .values()
            .filter(|c| &c.service_id == service_id)
            .cloned()
            .collect()
    }

    /// A configuration by the provider's id.
    pub fn configuration(&self, provider_service_id: &str) -> Option<ProviderConfiguration> {
        lock(&self.inner.state)
            .configurations
            .get(provider_service_id)
            .cloned()
    }

    /// Every call so far, failed ones included, in order.
    pub fn calls(&self) -> Vec<ProviderCall> {
        lock(&self.inner.state).calls.clone()
    }

    /// How many calls of `op` were made.
    pub fn call_count(&self, op: ProviderOp) -> usize {
        lock(&self.inner.state)
            .calls
            .iter()
            .filter(|c| c.op() == op)
            .count()
    }

    /// Records `call`, then fails it if a failure is planned for its operation.
    fn enter(&self, call: ProviderCall) -> Result<(), PortError> {
        let op = call.op();
        lock(&self.inner.state).calls.push(call);
        match self.inner.faults.take(op) {
            Some(kind) => Err(kind.to_error(&self.inner.name, op.name())),
            None => Ok(()),
        }
    }

    fn links(&self, service: &Service) -> Vec<ProviderLink> {
        service
            .spec
            .domains
            .iter()
            .map(|d| ProviderLink {
                domain: d.domain.clone(),
                href: self.link_for(&d.domain),
                certificate: d.certificate,
            })
            .collect()
    }

    fn not_found(&self, provider_service_id: &str) -> PortError {
        PortError::NotFound(format!(
            "{} configuration {provider_service_id}",
            self.inner.name
        ))
    }
}

#[async_trait]
impl CdnProvider for MemoryProvider {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn capabilities(&self) -> ProviderCapabilities {
        self.inner.capabilities
    }

    async fn is_alive(&self) -> bool {
        self.inner.alive.load(Ordering::SeqCst)
    }

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.enter(ProviderCall::Create {
            service_id: service.id,
        })?;
        let links = self.links(service);
        let mut state = lock(&self.inner.state);
        let id = match state.id_for(&service.id) {
            Some(existing) => existing.to_owned(),
            None => format!("mem-{}", Uuid::new_v4().simple()),
        };
        let purges = state
            .configurations
            .get(&id)
            .map(|c| c.purges.clone())
            .unwrap_or_default();
        state.configurations.insert(
            id.clone(),
            ProviderConfiguration {
                provider_service_id: id.clone(),
                project_id: service.project_id.clone(),
                service_id: service.id,
                service: service.clone(),
                links: links.clone(),
                purges,
            },
        );
        Ok(ProviderDeployment {
            provider_service_id: id,
            links,
            status: state.rollout_status(),
            domains_certificate_status: BTreeMap::new(),
        })
    }

    async fn update(
        &self,
        provider_service_id: &str,
        service: &Service,
    ) -> Result<ProviderDeployment, PortError> {
        self.enter(ProviderCall::Update {
            provider_service_id: provider_service_id.to_owned(),
            service_id: service.id,
        })?;
        let links = self.links(service);
        let mut state = lock(&self.inner.state);
        let status = state.rollout_status();
        let Some(config) = state.configurations.get_mut(provider_service_id) else {
            return Err(self.not_found(provider_service_id));
        };
        config.service = service.clone();
        config.links = links.clone();
        Ok(ProviderDeployment {
            provider_service_id: provider_service_id.to_owned(),
            links,
            status,
            domains_certificate_status: BTreeMap::new(),
        })
    }

    async fn delete(&self, provider_service_id: &str, service: &Service) -> Result<(), PortError> {
        self.enter(ProviderCall::Delete {
            provider_service_id: provider_service_id.to_owned(),
            service_id: service.id,
        })?;
        lock(&self.inner.state)
            .configurations
            .remove(provider_service_id);
        Ok(())
    }

    async fn purge(
        &self,
        provider_service_id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        self.enter(ProviderCall::Purge {
            provider_service_id: provider_service_id.to_owned(),
            service_id: service.id,
            target: target.clone(),
            hard,
        })?;
        let caps = self.inner.capabilities;
        let refused = match target {
            PurgeTarget::All if !caps.purge_all => Some("purge of all content"),
            _ if hard && !caps.hard_purge => Some("hard purge"),
            _ if !hard && !caps.soft_purge => Some("soft purge"),
            _ => None,
        };
        if let Some(what) = refused {
            return Err(PortError::Invalid(format!(
                "{} does not support {what}",
                self.inner.name
            )));
        }
        let mut state = lock(&self.inner.state);
        let Some(config) = state.configurations.get_mut(provider_service_id) else {
            return Err(self.not_found(provider_service_id));
        };
        config.purges.push((target.clone(), hard));
        Ok(())
    }

    async fn status(&self, provider_service_id: &str) -> Result<ProviderStatus, PortError> {
        self.enter(ProviderCall::Status {
            provider_service_id: provider_service_id.to_owned(),
        })?;
        let mut state = lock(&self.inner.state);
        if !state.configurations.contains_key(provider_service_id) {
            return Err(self.not_found(provider_service_id));
        }
        let status = state.rollout_status();
        state.in_progress_polls = state.in_progress_polls.saturating_sub(1);
        Ok(status)
    }
}
