//! DNS: the operator's CNAMEs that point at providers (§7).

use async_trait::async_trait;

use super::PortError;
use crate::model::{AccessUrl, ProviderLink, Service};

/// The operator's DNS zone.
///
/// # Contract
/// - `create` returns one [`AccessUrl`] per link (same order), with the
///   operator name it made point at the link's `href`. Re-creating a record
///   that already points at the same target succeeds.
/// - `update` makes the records match `links`: records of domains that are
///   no longer linked are removed, new ones created, common ones re-pointed.
/// - `delete` removes every record named by `operator_url`; a missing record
///   is not an error.
/// - `set_enabled(false)` points records at the operator's "not found"
///   target, `true` back at each `provider_url`.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait DnsManager: Send + Sync + std::fmt::Debug + 'static {
    /// Name shown by the health endpoint (`default`, `route53`…).
    fn name(&self) -> &str;
    async fn is_alive(&self) -> bool;

    async fn create(
        &self,
        service: &Service,
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError>;
    async fn update(
        &self,
        service: &Service,
        current: &[AccessUrl],
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError>;
    async fn delete(&self, access_urls: &[AccessUrl]) -> Result<(), PortError>;
    async fn set_enabled(&self, access_urls: &[AccessUrl], enabled: bool) -> Result<(), PortError>;

    /// Shared-SSL shard suffixes to try for a new shared domain, in order
    /// (`scdn3.secure.poppycdn.net`…).
    fn shared_ssl_shards(&self) -> Vec<String>;
    async fn is_shard_full(&self, shard: &str) -> Result<bool, PortError>;
}
