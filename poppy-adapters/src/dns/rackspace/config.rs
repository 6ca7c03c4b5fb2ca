//! Configuration of the Rackspace Cloud DNS driver (`[dns] driver = "rackspace"`).

use std::fmt;

use poppy_core::dns::{ShardConfigError, ShardSettings};
use serde::{Deserialize, Serialize};

/// Rackspace's identity service (v2.0 API).
pub const DEFAULT_AUTH_ENDPOINT: &str = "https://identity.api.rackspacecloud.com/v2.0";

/// Settings of [`super::RackspaceDns`]: the original's
/// `[drivers:dns:rackspace]` options (§7.4), durations in explicit units.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RackspaceDnsConfig {
    /// Rackspace account user name. Required.
    pub username: String,
    /// API key of `username`. Required.
    pub api_key: String,
    /// Identity endpoint; the token comes from `POST <auth_endpoint>/tokens`.
    pub auth_endpoint: String,
    /// Cloud DNS endpoint including the account
    /// (`https://dns.api.rackspacecloud.com/v1.0/123456`); unset means the
    /// `rax:dns` endpoint of the token's service catalog.
    pub endpoint: Option<String>,
    /// Contact address Rackspace requires to create a zone (a shard zone is
    /// created on first use, as the original did).
    pub email: String,
    /// Timeout of one HTTP request.
    pub timeout_secs: u64,
    /// Longest wait for an asynchronous Cloud DNS job (the original's
    /// `timeout`); beyond it the call fails as unavailable and is retried.
    pub job_timeout_secs: u64,
    /// Pause between two job status polls (the original's `delay`).
    pub job_poll_interval_ms: u64,
    /// TTL of the zones this driver creates.
    pub zone_ttl: u32,

    /// The operator's CDN domain tenants CNAME to (`poppycdn.net`). Required.
    pub url: String,
    /// Label prefix of the record shards (`cdn`).
    pub shard_prefix: String,
    /// Number of record shards; `0` puts records straight under `url`.
    pub num_shards: u32,
    /// A shard (zone) with this many records is full.
    pub records_limit: u32,
    /// Zone of the shared-SSL shards; empty turns shared-certificate domains off.
    pub shared_ssl_domain_suffix: String,
    /// Label prefix of the shared-SSL shards (`scdn`).
    pub shared_ssl_shard_prefix: String,
    /// Number of shared-SSL shards; `0` makes the suffix the only shard.
    pub shared_ssl_num_shards: u32,
    /// Where a disabled service's records point. Required.
    pub url_404: String,
    /// TTL of the CNAME records, in seconds (Rackspace's minimum is 300).
    pub ttl: u32,
}

impl Default for RackspaceDnsConfig {
    fn default() -> Self {
        let shards = ShardSettings::default();
        Self {
            username: String::new(),
            api_key: String::new(),
            auth_endpoint: DEFAULT_AUTH_ENDPOINT.to_owned(),
            endpoint: None,
            email: String::new(),
            timeout_secs: 30,
            job_timeout_secs: 30,
            job_poll_interval_ms: 1_000,
            zone_ttl: 900,
            url: String::new(),
            shard_prefix: shards.shard_prefix,
            num_shards: shards.num_shards,
            records_limit: shards.records_limit,
            shared_ssl_domain_suffix: shards.shared_ssl_domain_suffix,
            shared_ssl_shard_prefix: shards.shared_ssl_shard_prefix,
            shared_ssl_num_shards: shards.shared_ssl_num_shards,
            url_404: String::new(),
            ttl: shards.ttl,
        }
    }
}

impl fmt::Debug for RackspaceDnsConfig {
    /// The API key is redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RackspaceDnsConfig")
            .field("username", &self.username)
            .field("api_key", &"<redacted>")
            .field("auth_endpoint", &self.auth_endpoint)
            .field("endpoint", &self.endpoint)
            .field("email", &self.email)
            .field("timeout_secs", &self.timeout_secs)
            .field("job_timeout_secs", &self.job_timeout_secs)
            .field("job_poll_interval_ms", &self.job_poll_interval_ms)
            .field("zone_ttl", &self.zone_ttl)
            .field("url", &self.url)
            .field("shard_prefix", &self.shard_prefix)
            .field("num_shards", &self.num_shards)
            .field("records_limit", &self.records_limit)
            .field("shared_ssl_domain_suffix", &self.shared_ssl_domain_suffix)
            .field("shared_ssl_shard_prefix", &self.shared_ssl_shard_prefix)
            .field("shared_ssl_num_shards", &self.shared_ssl_num_shards)
            .field("url_404", &self.url_404)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl RackspaceDnsConfig {
    /// The sharding part, for [`poppy_core::dns::Sharding::new`].
    pub fn shard_settings(&self) -> ShardSettings {
        ShardSettings {
            url: self.url.clone(),
            shard_prefix: self.shard_prefix.clone(),
            num_shards: self.num_shards,
            records_limit: self.records_limit,
            shared_ssl_shard_prefix: self.shared_ssl_shard_prefix.clone(),
            shared_ssl_num_shards: self.shared_ssl_num_shards,
            shared_ssl_domain_suffix: self.shared_ssl_domain_suffix.clone(),
            url_404: self.url_404.clone(),
            ttl: self.ttl,
        }
    }

    pub(super) fn validate(&self) -> Result<(), RackspaceDnsConfigError> {
        let invalid = |m: String| Err(RackspaceDnsConfigError::Invalid(m));
        if self.username.trim().is_empty() || self.api_key.trim().is_empty() {
            return invalid("username and api_key are required".to_owned());
        }
        for (key, url) in [
            ("auth_endpoint", Some(&self.auth_endpoint)),
            ("endpoint", self.endpoint.as_ref()),
        ] {
            if let Some(url) = url {
                if reqwest::Url::parse(url).is_err()
                    || !(url.starts_with("http://") || url.starts_with("https://"))
                {
                    return invalid(format!("{key} must be an http(s) URL, got {url:?}"));
                }
            }
        }
        if self.timeout_secs == 0 || self.job_timeout_secs == 0 || self.job_poll_interval_ms == 0 {
            return invalid(
                "timeout_secs, job_timeout_secs and job_poll_interval_ms must be at least 1"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// A Rackspace DNS configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RackspaceDnsConfigError {
    #[error("[dns] rackspace: {0}")]
    Sharding(#[from] ShardConfigError),
    #[error("[dns] rackspace: {0}")]
    Invalid(String),
}
