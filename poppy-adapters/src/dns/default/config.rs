//! Configuration of the default DNS driver: only the shared-SSL shards.

use serde::{Deserialize, Serialize};

/// Settings of [`super::DefaultDns`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultDnsConfig {
    /// Zone under which shared-SSL shards live (`scdn3.<suffix>`).
    pub shared_ssl_domain_suffix: String,
    /// Label prefix of each shard.
    pub shared_ssl_shard_prefix: String,
    /// Number of shards, `<prefix>1` to `<prefix>N`; `0` makes the suffix
    /// itself the only shard (as the Rackspace driver does).
    pub shared_ssl_num_shards: u32,
}

impl Default for DefaultDnsConfig {
    fn default() -> Self {
        Self {
            shared_ssl_domain_suffix: "secure.defaultcdn.com".to_owned(),
            shared_ssl_shard_prefix: "scdn".to_owned(),
            shared_ssl_num_shards: 5,
        }
    }
}

impl DefaultDnsConfig {
    /// Checks what serde cannot: the suffix must be a non-empty domain name
    /// without a leading or trailing dot, the prefix a non-empty label.
    pub fn validate(&self) -> Result<(), DefaultDnsConfigError> {
        let suffix = &self.shared_ssl_domain_suffix;
        if suffix.is_empty()
            || suffix.starts_with('.')
            || suffix.ends_with('.')
            || suffix.contains("..")
            || suffix.chars().any(char::is_whitespace)
        {
            return Err(DefaultDnsConfigError::BadSuffix {
                value: suffix.clone(),
            });
        }
        let prefix = &self.shared_ssl_shard_prefix;
        if self.shared_ssl_num_shards > 0
            && (prefix.is_empty()
                || prefix.contains('.')
                || prefix.chars().any(char::is_whitespace))
        {
            return Err(DefaultDnsConfigError::BadPrefix {
                value: prefix.clone(),
            });
        }
        Ok(())
    }
}

/// A default DNS configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DefaultDnsConfigError {
    #[error("[dns] default: shared_ssl_domain_suffix must be a domain name like 'secure.example.com', got {value:?}")]
    BadSuffix { value: String },
    #[error("[dns] default: shared_ssl_shard_prefix must be a single non-empty label like 'scdn', got {value:?}")]
    BadPrefix { value: String },
}
