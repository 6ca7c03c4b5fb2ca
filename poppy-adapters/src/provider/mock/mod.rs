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
//! - With a `call_log`, the log is the state shared by every process that
//!   appends to it: `update`, `purge` and `status` of a configuration this
//!   process does not hold, but whose last logged change is a `create` or
//!   `update` (another worker made it), find it instead of `NotFound`. So a
//!   service created by one worker process can be patched by another, as
//!   with a real vendor.
//! - `is_alive` is always `true`; failures are injected only into the
//!   operations named by [`MockOperation`], and always before any state
//!   changes, so a retried call behaves as if the failed one never happened.

mod certificates;
mod config;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
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

pub use certificates::{CertificateMode, MockCertificate, MockCertificateConfig, MockCertificates};
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
    /// `config.call_log`, opened for appending.
    call_log: Option<Mutex<File>>,
    /// Certificate provisioning, shared with [`CdnProvider::certificates`].
    certificates: std::sync::Arc<MockCertificates>,
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
        let call_log = match &config.call_log {
            None => None,
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| MockConfigError::CallLog {
                        path: path.clone(),
                        message: e.to_string(),
                    })?,
            ),
        };
        let mut provider = Self::with_valid_config(config);
        provider.call_log = call_log.map(Mutex::new);
        Ok(provider)
    }

    fn with_valid_config(config: MockProviderConfig) -> Self {
        let certificates = std::sync::Arc::new(MockCertificates::new(config.certificates.clone()));
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            config,
            rng: Mutex::new(rng),
            certificates,
            configurations: Mutex::new(HashMap::new()),
            call_log: None,
        }
    }

    /// The certificate provisioning of this provider, for inspection.
    pub fn certificate_state(&self) -> &MockCertificates {
        &self.certificates
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

    /// Appends a line for a call that changed state to `call_log`. One
    /// `write` of a whole line on a file opened for appending, so lines of
    /// several processes do not interleave. A failed write is only logged:
    /// the log is a test aid, not the provider's state.
    fn record(&self, operation: MockOperation, service: &Service, provider_service_id: &str) {
        let Some(file) = &self.call_log else {
            return;
        };
        let mut line = serde_json::json!({
            "op": operation.as_str(),
            "service_id": service.id,
            "provider_service_id": provider_service_id,
            "pid": std::process::id(),
            "at_ms": poppy_core::clock::now_ms(),
        })
        .to_string();
        line.push('\n');
        let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = file.write_all(line.as_bytes()) {
            tracing::warn!(%error, "mock provider: cannot append to call_log");
        }
    }

    /// Whether `call_log` shows `provider_service_id` as live: its last
    /// logged change is a `create` or `update`. `false` without a log, or
    /// when it cannot be read (a test aid, never an error of the provider).
    fn live_in_call_log(&self, provider_service_id: &str) -> bool {
        let Some(path) = &self.config.call_log else {
            return false;
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let mut live = false;
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if entry["provider_service_id"].as_str() != Some(provider_service_id) {
                continue;
            }
            match entry["op"].as_str() {
                Some("create" | "update") => live = true,
                Some("delete") => live = false,
                _ => {}
            }
        }
        live
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
            None if must_exist && !self.live_in_call_log(provider_service_id) => {
                return Err(not_found(provider_service_id))
            }
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
            certificates: self.config.certificates.enabled,
        }
    }

    async fn is_alive(&self) -> bool {
        true
    }

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.simulate(MockOperation::Create).await?;
        let id = Self::provider_service_id(&service.id);
        let deployment = self.push(&id, service, false)?;
        self.record(MockOperation::Create, service, &id);
        Ok(deployment)
    }

    async fn update(
        &self,
        provider_service_id: &str,
        service: &Service,
    ) -> Result<ProviderDeployment, PortError> {
        self.simulate(MockOperation::Update).await?;
        let deployment = self.push(provider_service_id, service, true)?;
        self.record(MockOperation::Update, service, provider_service_id);
        Ok(deployment)
    }

    async fn delete(&self, provider_service_id: &str, service: &Service) -> Result<(), PortError> {
        self.simulate(MockOperation::Delete).await?;
        self.table().remove(provider_service_id);
        self.record(MockOperation::Delete, service, provider_service_id);
        Ok(())
    }

    async fn purge(
        &self,
        provider_service_id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        self.simulate(MockOperation::Purge).await?;
        {
            let mut table = self.table();
            if !table.contains_key(provider_service_id)
                && self.live_in_call_log(provider_service_id)
            {
                table.insert(
                    provider_service_id.to_owned(),
                    MockConfiguration {
                        provider_service_id: provider_service_id.to_owned(),
                        service_id: service.id,
                        project_id: service.project_id.clone(),
                        spec: service.spec.clone(),
                        links: service.spec.domains.iter().map(link).collect(),
                        pushes: 0,
                        purges: Vec::new(),
                        polls_remaining: 0,
                    },
                );
            }
            let configuration = table
                .get_mut(provider_service_id)
                .ok_or_else(|| not_found(provider_service_id))?;
            configuration.purges.push(MockPurge {
                target: target.clone(),
                hard,
            });
        }
        self.record(MockOperation::Purge, service, provider_service_id);
        Ok(())
    }

    async fn status(&self, provider_service_id: &str) -> Result<ProviderStatus, PortError> {
        self.simulate(MockOperation::Status).await?;
        let mut table = self.table();
        if !table.contains_key(provider_service_id) && self.live_in_call_log(provider_service_id) {
            // Another process made it; its rollout is that process's.
            return Ok(ProviderStatus::Deployed);
        }
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

    fn certificates(&self) -> Option<std::sync::Arc<dyn poppy_core::ports::CertificateProvider>> {
        self.config.certificates.enabled.then(|| {
            self.certificates.clone() as std::sync::Arc<dyn poppy_core::ports::CertificateProvider>
        })
    }

    fn supports_log_delivery(&self) -> bool {
        self.config.log_delivery
    }
}

#[cfg(test)]
mod tests {
    use poppy_core::testkit::fixtures;

    use super::*;

    #[tokio::test]
    async fn the_call_log_gets_a_line_per_state_change() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("calls.jsonl");
        let config = MockProviderConfig {
            call_log: Some(path.clone()),
            ..MockProviderConfig::default()
        };
        let provider = MockProvider::build(config.clone()).expect("builds");
        let service = fixtures::service(&ProjectId::random());
        let id = provider
            .create(&service)
            .await
            .expect("create")
            .provider_service_id;
        provider.status(&id).await.expect("status");
        provider.delete(&id, &service).await.expect("delete");
        // A second provider (another process, in a cluster) appends.
        let other = MockProvider::build(config).expect("builds");
        other.create(&service).await.expect("create");

        let text = std::fs::read_to_string(&path).expect("read log");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        let ops: Vec<&str> = lines
            .iter()
            .map(|l| l["op"].as_str().unwrap_or("?"))
            .collect();
        assert_eq!(
            ops,
            ["create", "delete", "create"],
            "status changes nothing"
        );
        for line in &lines {
            assert_eq!(line["service_id"], service.id.to_string());
            assert_eq!(line["provider_service_id"], id);
            assert_eq!(line["pid"], std::process::id());
        }
    }

    #[tokio::test]
    async fn a_configuration_another_process_logged_can_be_updated_and_purged() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = MockProviderConfig {
            call_log: Some(dir.path().join("calls.jsonl")),
            ..MockProviderConfig::default()
        };
        let creator = MockProvider::build(config.clone()).expect("builds");
        let service = fixtures::service(&ProjectId::random());
        let id = creator
            .create(&service)
            .await
            .expect("create")
            .provider_service_id;

        // Another worker process: an empty table, the same log.
        let other = MockProvider::build(config.clone()).expect("builds");
        other.update(&id, &service).await.expect("update finds it");
        assert_eq!(
            other.status(&id).await.expect("status"),
            ProviderStatus::Deployed
        );
        other
            .purge(&id, &service, &PurgeTarget::All, true)
            .await
            .expect("purge finds it");
        other.delete(&id, &service).await.expect("delete");

        // Deleted per the log: a third process does not find it.
        let third = MockProvider::build(config).expect("builds");
        let err = third.update(&id, &service).await.expect_err("gone");
        assert!(matches!(err, PortError::NotFound(_)), "{err:?}");
        // Without a log nothing is shared.
        let alone = MockProvider::default();
        assert!(alone.update(&id, &service).await.is_err());
    }

    #[test]
    fn an_unwritable_call_log_is_a_configuration_error() {
        let config = MockProviderConfig {
            call_log: Some(std::path::PathBuf::from("/nonexistent-dir/calls.jsonl")),
            ..MockProviderConfig::default()
        };
        let err = MockProvider::build(config).expect_err("cannot open");
        assert!(err.to_string().contains("call_log"), "{err}");
    }
}
