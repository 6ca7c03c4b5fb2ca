//! The mock CDN provider: an in-memory stand-in for a real vendor.
//!
//! It is deterministic by default — the provider service id is a UUID v5 of
//! the Poppy service id, every domain gets the link
//! `<domain>.mock.poppycdn.net`, and configurations deploy at once — so it
//! is what the embedded default configuration, the examples and the tests
//! use. [`MockProviderConfig`] adds latency, injected failures and slow
//! rollouts to exercise retries and polling.
//!
//! Choices where the port contract leaves room:
//! - `create` of a service that already has a configuration replaces its
//!   definition and restarts its rollout; the table never holds two
//!   configurations for one service because the id is derived from it.
//! - `update` of an id that is not in the table is `NotFound` (it does not
//!   recreate: a real vendor cannot update a configuration it lost either,
//!   and the flow then knows to fall back to `create`).
//! - `purge` of a missing configuration is `NotFound`; `delete` of one is `Ok`.
//! - `is_alive` is always `true`; failures are injected only into the
//!   operations named by [`MockOperation`], and always before any state
//!   changes, so a retried call behaves as if the failed one never happened.

mod config;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use poppy_core::model::{
    CertStatus, CertificateType, Domain, ProjectId, Protocol, ProviderDeployment, ProviderLink,
    ProviderStatus, PurgeTarget, Service, ServiceId, ServiceSpec,
};
use poppy_core::ports::{CdnProvider, PortError, ProviderCapabilities};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

pub use config::{FailureKind, MockConfigError, MockOperation, MockProviderConfig};

/// The provider's name: in flavors, in provider details and in errors.
pub const NAME: &str = "mock";

/// The domain every mock access link ends with.
pub const LINK_SUFFIX: &str = "mock.poppycdn.net";

/// Namespace of the UUID v5 provider service ids, fixed so that ids are
/// stable across processes and versions.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6d6f_636b_2d70_726f_7669_6465_722d_6964);

/// One purge request the mock received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockPurge {
    pub target: PurgeTarget,
    pub hard: bool,
}

/// A configuration held by the mock, as the inspection API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockConfiguration {
    pub provider_service_id: String,
    pub service_id: ServiceId,
    pub project_id: ProjectId,
    /// The definition last pushed by `create` or `update`.
    pub spec: ServiceSpec,
    pub links: Vec<ProviderLink>,
    /// How many `create` / `update` calls pushed a definition.
    pub pushes: u64,
    /// Purges received since the configuration was created, oldest first.
    pub purges: Vec<MockPurge>,
    /// `status` calls left that report `deploy_in_progress`.
    pub polls_remaining: u32,
}

/// An in-memory CDN provider; see the [module documentation](self).
#[derive(Debug)]
pub struct MockProvider {
    config: MockProviderConfig,
    /// Locked only for short synchronous sections, never across an await.
    rng: Mutex<StdRng>,
    /// Keyed by provider service id.
    configurations: Mutex<HashMap<String, MockConfiguration>>,
}

impl Default for MockProvider {
    /// A provider with the default configuration: no latency, no failures,
    /// immediate deployment.
    fn default() -> Self {
        Self::with_valid_config(MockProviderConfig::default())
    }
}

impl MockProvider {
    /// A provider with `config`, after checking it.
    pub fn build(config: MockProviderConfig) -> Result<Self, MockConfigError> {
        config.validate()?;
        Ok(Self::with_valid_config(config))
    }

    fn with_valid_config(config: MockProviderConfig) -> Self {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            config,
            rng: Mutex::new(rng),
            configurations: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration this provider runs with.
    pub fn config(&self) -> &MockProviderConfig {
        &self.config
    }

    /// The provider service id the mock gives `service_id`'s configuration.
    pub fn provider_service_id(service_id: &ServiceId) -> String {
        Uuid::new_v5(&ID_NAMESPACE, service_id.as_uuid().as_bytes())
            .hyphenated()
            .to_string()
    }

    /// The access link host name the mock gives `domain`.
    pub fn link_for(domain: &str) -> String {
        format!("{domain}.{LINK_SUFFIX}")
    }

    /// How many configurations the mock holds.
    pub fn configuration_count(&self) -> usize {
        self.table().len()
    }

    /// A snapshot of every configuration, ordered by provider service id.
    pub fn configurations(&self) -> Vec<MockConfiguration> {
        let mut all: Vec<_> = self.table().values().cloned().collect();
        all.sort_by(|a, b| a.provider_service_id.cmp(&b.provider_service_id));
        all
    }

    /// A snapshot of one configuration.
    pub fn configuration(&self, provider_service_id: &str) -> Option<MockConfiguration> {
        self.table().get(provider_service_id).cloned()
    }

    fn table(&self) -> MutexGuard<'_, HashMap<String, MockConfiguration>> {
        // The table is only mutated by whole-entry inserts and removals, so
        // it stays consistent even if a holder panicked.
        self.configurations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies the configured latency, then fails if the dice say so. Runs
    /// before any state change so a failed call leaves no trace.
    async fn simulate(&self, operation: MockOperation) -> Result<(), PortError> {
        let cfg = &self.config;
        let (jitter_ms, fail) = {
            let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
            let jitter_ms = if cfg.jitter_ms > 0 {
                rng.random_range(0..=cfg.jitter_ms)
            } else {
                0
            };
            let fail = cfg.failure_rate > 0.0
                && cfg.injects_into(operation)
                && rng.random::<f64>() < cfg.failure_rate;
            (jitter_ms, fail)
        };
        let delay = cfg.latency_ms.saturating_add(jitter_ms);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if fail {
            Err(injected_error(cfg, operation))
        } else {
            Ok(())
        }
    }

    fn rollout_status(&self) -> ProviderStatus {
        if self.config.deploy_polls > 0 {
            ProviderStatus::DeployInProgress
        } else {
            ProviderStatus::Deployed
        }
    }

    /// Stores `service`'s definition under `provider_service_id`, keeping
    /// the history of an existing entry, and returns what `create` /
    /// `update` report. With `must_exist`, a missing entry is `NotFound`.
    /// One lock for read and write, so concurrent pushes never lose a count.
    fn push(
        &self,
        provider_service_id: &str,
        service: &Service,
        must_exist: bool,
    ) -> Result<ProviderDeployment, PortError> {
        let links: Vec<ProviderLink> = service.spec.domains.iter().map(link).collect();
        let mut table = self.table();
        let (pushes, purges) = match table.remove(provider_service_id) {
            Some(previous) => (previous.pushes, previous.purges),
            None if must_exist => return Err(not_found(provider_service_id)),
            None => (0, Vec::new()),
        };
        let configuration = MockConfiguration {
            provider_service_id: provider_service_id.to_owned(),
            service_id: service.id,
            project_id: service.project_id.clone(),
            spec: service.spec.clone(),
            links: links.clone(),
            pushes: pushes + 1,
            purges,
            polls_remaining: self.config.deploy_polls,
        };
        table.insert(provider_service_id.to_owned(), configuration);
        drop(table);
        Ok(ProviderDeployment {
            provider_service_id: provider_service_id.to_owned(),
            links,
            status: self.rollout_status(),
            domains_certificate_status: certificate_status(&service.spec.domains),
        })
    }
}

fn link(domain: &Domain) -> ProviderLink {
    ProviderLink {
        domain: domain.domain.clone(),
        href: MockProvider::link_for(&domain.domain),
        certificate: domain.certificate,
    }
}

/// SAN and SNI certificates are "provisioned" at once by the mock.
fn certificate_status(domains: &[Domain]) -> BTreeMap<String, CertStatus> {
    domains
        .iter()
        .filter(|d| {
            d.protocol == Protocol::Https
                && matches!(
                    d.certificate,
                    Some(CertificateType::San | CertificateType::Sni)
                )
        })
        .map(|d| (d.domain.clone(), CertStatus::Deployed))
        .collect()
}

/// The error an injected failure carries as its source.
#[derive(Debug, thiserror::Error)]
#[error("injected failure in mock provider operation '{operation}'")]
struct InjectedFailure {
    operation: MockOperation,
}

fn injected_error(cfg: &MockProviderConfig, operation: MockOperation) -> PortError {
    match cfg.failure_kind {
        FailureKind::Unavailable => PortError::Unavailable {
            backend: NAME.to_owned(),
            message: InjectedFailure { operation }.to_string(),
            retry_after: cfg.retry_after(),
        },
        FailureKind::RateLimited => PortError::RateLimited {
            backend: NAME.to_owned(),
            retry_after: cfg.retry_after(),
        },
        FailureKind::Invalid => PortError::Invalid(InjectedFailure { operation }.to_string()),
        FailureKind::Internal => PortError::internal(NAME, InjectedFailure { operation }),
    }
}

fn not_found(provider_service_id: &str) -> PortError {
    PortError::NotFound(format!("{NAME} configuration '{provider_service_id}'"))
}

#[async_trait]
impl CdnProvider for MockProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            purge_all: true,
            hard_purge: true,
            soft_purge: true,
            certificates: false,
        }
    }

    async fn is_alive(&self) -> bool {
        true
    }

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.simulate(MockOperation::Create).await?;
        let id = Self::provider_service_id(&service.id);
        self.push(&id, service, false)
    }

    async fn update(
        &self,
        provider_service_id: &str,
        service: &Service,
    ) -> Result<ProviderDeployment, PortError> {
        self.simulate(MockOperation::Update).await?;
        self.push(provider_service_id, service, true)
    }

    async fn delete(&self, provider_service_id: &str, _service: &Service) -> Result<(), PortError> {
        self.simulate(MockOperation::Delete).await?;
        self.table().remove(provider_service_id);
        Ok(())
    }

    async fn purge(
        &self,
        provider_service_id: &str,
        _service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        self.simulate(MockOperation::Purge).await?;
        let mut table = self.table();
        let configuration = table
            .get_mut(provider_service_id)
            .ok_or_else(|| not_found(provider_service_id))?;
        configuration.purges.push(MockPurge {
            target: target.clone(),
            hard,
        });
        Ok(())
    }

    async fn status(&self, provider_service_id: &str) -> Result<ProviderStatus, PortError> {
        self.simulate(MockOperation::Status).await?;
        let mut table = self.table();
        let configuration = table
            .get_mut(provider_service_id)
            .ok_or_else(|| not_found(provider_service_id))?;
        if configuration.polls_remaining > 0 {
            configuration.polls_remaining -= 1;
            Ok(ProviderStatus::DeployInProgress)
        } else {
            Ok(ProviderStatus::Deployed)
        }
    }
}
