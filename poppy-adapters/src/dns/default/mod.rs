//! The default DNS driver: no DNS at all.
//!
//! It makes no records; each access URL's `operator_url` is the provider's
//! own host name, so tenants point their CNAMEs straight at the provider.
//! It is what the embedded default configuration uses, next to the mock
//! provider.
//!
//! Because there are no records, `delete` and `set_enabled` succeed without
//! doing anything. In particular an operator's disable has **no effect on
//! traffic** with this driver: there is no CNAME to re-point at a "not
//! found" target. The original driver lacked enable/disable altogether, so
//! the admin action failed (reference §9.2 #6); here it succeeds and the
//! service's operator status still changes in Poppy.

mod config;

use async_trait::async_trait;
use poppy_core::model::{AccessUrl, CertificateType, ProviderLink, Service};
use poppy_core::ports::{DnsManager, PortError};
use rand::seq::SliceRandom;

pub use config::{DefaultDnsConfig, DefaultDnsConfigError};

/// The driver's name, shown by the health endpoint.
pub const NAME: &str = "default";

/// The pass-through DNS driver; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct DefaultDns {
    config: DefaultDnsConfig,
}

impl Default for DefaultDns {
    /// Five shards `scdn1..scdn5.secure.defaultcdn.com`.
    fn default() -> Self {
        Self {
            config: DefaultDnsConfig::default(),
        }
    }
}

impl DefaultDns {
    /// A driver with `config`, after checking it.
    pub fn build(config: DefaultDnsConfig) -> Result<Self, DefaultDnsConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The configuration this driver runs with.
    pub fn config(&self) -> &DefaultDnsConfig {
        &self.config
    }

    /// Every shard, in order (`scdn1.…`, `scdn2.…`).
    fn all_shards(&self) -> Vec<String> {
        let cfg = &self.config;
        if cfg.shared_ssl_num_shards == 0 {
            return vec![cfg.shared_ssl_domain_suffix.clone()];
        }
        (1..=cfg.shared_ssl_num_shards)
            .map(|i| {
                format!(
                    "{}{i}.{}",
                    cfg.shared_ssl_shard_prefix, cfg.shared_ssl_domain_suffix
                )
            })
            .collect()
    }
}

/// One access URL per link, the operator name being the provider's.
fn access_urls(service: &Service, links: &[ProviderLink]) -> Vec<AccessUrl> {
    links
        .iter()
        .map(|link| {
            let shared_ssl_flag = service
                .spec
                .domains
                .iter()
                .find(|d| d.domain == link.domain)
                .map_or(link.certificate == Some(CertificateType::Shared), |d| {
                    d.is_shared_ssl()
                });
            AccessUrl {
                domain: link.domain.clone(),
                provider_url: Some(link.href.clone()),
                operator_url: Some(link.href.clone()),
                shared_ssl_flag,
                old_operator_url: None,
            }
        })
        .collect()
}

#[async_trait]
impl DnsManager for DefaultDns {
    fn name(&self) -> &str {
        NAME
    }

    async fn is_alive(&self) -> bool {
        true
    }

    async fn create(
        &self,
        service: &Service,
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError> {
        Ok(access_urls(service, links))
    }

    /// The access URLs of `links`; the old ones need no cleanup since no
    /// records exist.
    async fn update(
        &self,
        service: &Service,
        _current: &[AccessUrl],
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError> {
        Ok(access_urls(service, links))
    }

    /// Nothing to remove: no records were made.
    async fn delete(&self, _access_urls: &[AccessUrl]) -> Result<(), PortError> {
        Ok(())
    }

    /// Succeeds without effect: with no records there is nothing to
    /// re-point (see the module documentation).
    async fn set_enabled(
        &self,
        _access_urls: &[AccessUrl],
        _enabled: bool,
    ) -> Result<(), PortError> {
        Ok(())
    }

    /// Every shard once, in a fresh random order, so new shared domains
    /// spread over the shards.
    fn shared_ssl_shards(&self) -> Vec<String> {
        let mut shards = self.all_shards();
        shards.shuffle(&mut rand::rng());
        shards
    }

    /// Never full: there are no records to count.
    async fn is_shard_full(&self, _shard: &str) -> Result<bool, PortError> {
        Ok(false)
    }
}
