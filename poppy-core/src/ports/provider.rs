//! CDN providers (§6).

use std::sync::Arc;

use async_trait::async_trait;

use super::{CertificateProvider, PortError};
use crate::model::{ProviderDeployment, ProviderStatus, PurgeTarget, Service};

/// What a provider can do; the manager and the conformance suite consult it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProviderCapabilities {
    /// Purge everything (`all=true` / `/*`).
    pub purge_all: bool,
    /// Invalidate immediately (hard purge).
    pub hard_purge: bool,
    /// Mark stale / refresh on next request (soft purge).
    pub soft_purge: bool,
    /// Certificate provisioning for SAN/SNI domains.
    pub certificates: bool,
}

/// One CDN vendor.
///
/// # Contract
/// - `create` is idempotent by `service.id`: called again for the same
///   service (a retried or reclaimed job) it finds and returns the
///   configuration it made instead of making a second one.
/// - `update` pushes the whole service definition to the configuration
///   `provider_service_id`.
/// - `delete` of a configuration that is already gone succeeds.
/// - A definition the provider cannot express is refused with `Invalid`
///   naming the field; throttling is `RateLimited` (with `Retry-After`),
///   outages and timeouts `Unavailable`.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait CdnProvider: Send + Sync + std::fmt::Debug + 'static {
    /// The name flavors use (`mock`, `akamai`…); also the key of the
    /// service's provider details.
    fn name(&self) -> &str;
    fn capabilities(&self) -> ProviderCapabilities;
    async fn is_alive(&self) -> bool;

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError>;
    async fn update(
        &self,
        provider_service_id: &str,
        service: &Service,
    ) -> Result<ProviderDeployment, PortError>;
    async fn delete(&self, provider_service_id: &str, service: &Service) -> Result<(), PortError>;
    async fn purge(
        &self,
        provider_service_id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError>;
    /// Current rollout state of a configuration (`NotFound` if gone).
    async fn status(&self, provider_service_id: &str) -> Result<ProviderStatus, PortError>;

    /// Certificate provisioning (SAN/SNI/custom certificates of https
    /// domains), where the provider offers it; `None`, the default, when it
    /// does not. Decorators that wrap a provider must forward this.
    fn certificates(&self) -> Option<Arc<dyn CertificateProvider>> {
        None
    }

    /// The provider acts on the service's `log_delivery` setting (which
    /// every `create`/`update` receives in `service.spec.log_delivery`):
    /// it ships access logs when it is enabled. `false`, the default,
    /// means the setting is stored and shown but has no effect there.
    /// Decorators that wrap a provider must forward this.
    fn supports_log_delivery(&self) -> bool {
        false
    }
}
