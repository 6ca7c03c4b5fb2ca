//! Configuration of the Route53 DNS driver (`[dns] driver = "route53"`).

use std::fmt;

use poppy_core::dns::{ShardConfigError, ShardSettings};
use serde::{Deserialize, Serialize};

/// Settings of [`super::Route53Dns`]. The sharding keys are the original's
/// `[drivers:dns:rackspace]` ones (§7.4); the rest say how to reach Route53.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Route53Config {
    /// The operator's CDN domain tenants CNAME to (`poppycdn.net`); records
    /// are `<domain>.<shard_prefix><k>.<url>`. Required.
    #[serde(alias = "zone")]
    pub url: String,
    /// Label prefix of the record shards (`cdn`).
    pub shard_prefix: String,
    /// Number of record shards; `0` puts records straight under `url`.
    pub num_shards: u32,
    /// A shared-SSL shard with this many records is full.
    pub records_limit: u32,
    /// Zone of the shared-SSL shards (`secure.poppycdn.net`); empty turns
    /// shared-certificate domains off.
    pub shared_ssl_domain_suffix: String,
    /// Label prefix of the shared-SSL shards (`scdn`).
    pub shared_ssl_shard_prefix: String,
    /// Number of shared-SSL shards; `0` makes the suffix the only shard.
    pub shared_ssl_num_shards: u32,
    /// Where a disabled service's records point. Required.
    pub url_404: String,
    /// TTL of the CNAME records, in seconds.
    pub ttl: u32,

    /// The Route53 endpoint; unset means AWS itself (set it for moto).
    pub endpoint_url: Option<String>,
    /// Signing region (Route53 is global; `us-east-1` is its home).
    pub region: String,
    /// Static credentials; when unset, the AWS default chain (environment,
    /// profile, web identity, instance metadata) provides them.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Wait until a change is `INSYNC` on every Route53 name server before
    /// the call returns (polling `GetChange`).
    pub wait_for_sync: bool,
    /// Longest wait for `INSYNC`; beyond it the call fails as unavailable
    /// (a retry re-applies the idempotent change and waits again).
    pub sync_timeout_secs: u64,
    /// Pause between two `GetChange` polls.
    pub sync_poll_interval_ms: u64,
    /// Timeout of one Route53 operation, retries included.
    pub timeout_secs: u64,
    /// Attempts the SDK makes per request (its own retries of throttling
    /// and transient errors) before the error reaches the flow.
    pub max_attempts: u32,
}

impl Default for Route53Config {
    fn default() -> Self {
        let shards = ShardSettings::default();
        Self {
            url: String::new(),
            shard_prefix: shards.shard_prefix,
            num_shards: shards.num_shards,
            records_limit: shards.records_limit,
            shared_ssl_domain_suffix: shards.shared_ssl_domain_suffix,
            shared_ssl_shard_prefix: shards.shared_ssl_shard_prefix,
            shared_ssl_num_shards: shards.shared_ssl_num_shards,
            url_404: String::new(),
            ttl: shards.ttl,
            endpoint_url: None,
            region: "us-east-1".to_owned(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            wait_for_sync: false,
            sync_timeout_secs: 60,
            sync_poll_interval_ms: 2_000,
            timeout_secs: 30,
            max_attempts: 3,
        }
    }
}

impl fmt::Debug for Route53Config {
    /// Secrets are redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("Route53Config")
            .field("url", &self.url)
            .field("shard_prefix", &self.shard_prefix)
            .field("num_shards", &self.num_shards)
            .field("records_limit", &self.records_limit)
            .field("shared_ssl_domain_suffix", &self.shared_ssl_domain_suffix)
            .field("shared_ssl_shard_prefix", &self.shared_ssl_shard_prefix)
            .field("shared_ssl_num_shards", &self.shared_ssl_num_shards)
            .field("url_404", &self.url_404)
            .field("ttl", &self.ttl)
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("session_token", &redacted(&self.session_token))
            .field("wait_for_sync", &self.wait_for_sync)
            .field("sync_timeout_secs", &self.sync_timeout_secs)
            .field("sync_poll_interval_ms", &self.sync_poll_interval_ms)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl Route53Config {
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

    /// Checks what the sharding check does not: the connection settings.
    pub(super) fn validate(&self) -> Result<(), Route53ConfigError> {
        if self.region.trim().is_empty() {
            return Err(Route53ConfigError::Invalid(
                "region must not be empty (Route53 signs in us-east-1)".to_owned(),
            ));
        }
        if let Some(url) = &self.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Route53ConfigError::Invalid(format!(
                    "endpoint_url must be an http(s) URL, got {url:?}"
                )));
            }
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err(Route53ConfigError::Invalid(
                "access_key_id and secret_access_key go together (or leave both unset for the AWS default credential chain)"
                    .to_owned(),
            ));
        }
        if self.max_attempts == 0 || self.timeout_secs == 0 {
            return Err(Route53ConfigError::Invalid(
                "max_attempts and timeout_secs must be at least 1".to_owned(),
            ));
        }
        if self.wait_for_sync && (self.sync_timeout_secs == 0 || self.sync_poll_interval_ms == 0) {
            return Err(Route53ConfigError::Invalid(
                "with wait_for_sync, sync_timeout_secs and sync_poll_interval_ms must be at least 1"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

/// A Route53 configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Route53ConfigError {
    #[error("[dns] route53: {0}")]
    Sharding(#[from] ShardConfigError),
    #[error("[dns] route53: {0}")]
    Invalid(String),
}
