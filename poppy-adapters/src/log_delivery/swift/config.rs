//! Configuration of the Swift log-delivery driver (`[log_delivery] driver
//! = "swift"`).

use serde::{Deserialize, Serialize};

/// Which Keystone API `identity_url` speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityVersion {
    /// `POST …/tokens` with `tenantName` and the token (the original's call).
    #[default]
    V2,
    /// `POST …/auth/tokens` with the token method, scoped to the project id.
    V3,
}

/// Settings of [`super::SwiftLogDelivery`]. None of them is a secret: the
/// credential is the tenant's own token, per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SwiftConfig {
    /// Keystone's URL (`https://keystone.example:5000/v2.0`, or `/v3`);
    /// `/tokens` (v2) or `/auth/tokens` (v3) is added unless it is there
    /// already (the original's `identity_url` named the tokens URL itself).
    pub identity_url: String,
    /// `"v2"` (default) or `"v3"`.
    pub identity_version: IdentityVersion,
    /// The container the logs go to.
    pub container_name: String,
    /// Regions the container may be made in, in no order: the first
    /// object-store endpoint of the catalog in one of them is used.
    pub preferred_dcs: Vec<String>,
    /// The region Poppy runs in (the original's `[DEFAULT] datacenter`):
    /// there the container is made through the endpoint's internal URL.
    pub datacenter: String,
    /// Longest time one Keystone or Swift request may take, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for SwiftConfig {
    fn default() -> Self {
        Self {
            identity_url: String::new(),
            identity_version: IdentityVersion::V2,
            container_name: ".CDN_ACCESS_LOGS".to_owned(),
            preferred_dcs: vec!["DC1".to_owned(), "DC2".to_owned()],
            datacenter: String::new(),
            timeout_ms: 10_000,
        }
    }
}

/// A Swift log-delivery configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SwiftConfigError {
    #[error("[log_delivery] swift: identity_url must be an http(s) URL, got {value:?}")]
    BadIdentityUrl { value: String },
    #[error(
        "[log_delivery] swift: container_name must be 1 to 256 characters without '/', got {value:?}"
    )]
    BadContainerName { value: String },
    #[error("[log_delivery] swift: preferred_dcs must name at least one region")]
    NoRegions,
    #[error("[log_delivery] swift: timeout_ms must be at least 1")]
    ZeroTimeout,
    #[error("[log_delivery] swift: cannot build the HTTP client: {message}")]
    Client { message: String },
}

impl SwiftConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), SwiftConfigError> {
        let url = self.identity_url.trim();
        let url_ok = (url.starts_with("http://") || url.starts_with("https://"))
            && url.len() > "https://".len()
            && !url.chars().any(char::is_whitespace);
        if !url_ok {
            return Err(SwiftConfigError::BadIdentityUrl {
                value: self.identity_url.clone(),
            });
        }
        let name = &self.container_name;
        if name.is_empty() || name.chars().count() > 256 || name.contains('/') {
            return Err(SwiftConfigError::BadContainerName {
                value: name.clone(),
            });
        }
        if self.preferred_dcs.iter().all(|dc| dc.trim().is_empty()) {
            return Err(SwiftConfigError::NoRegions);
        }
        if self.timeout_ms == 0 {
            return Err(SwiftConfigError::ZeroTimeout);
        }
        Ok(())
    }

    /// The URL tokens are asked for.
    pub fn tokens_url(&self) -> String {
        let base = self.identity_url.trim().trim_end_matches('/');
        let suffix = match self.identity_version {
            IdentityVersion::V2 => "/tokens",
            IdentityVersion::V3 => "/auth/tokens",
        };
        if base.ends_with(suffix) {
            base.to_owned()
        } else {
            format!("{base}{suffix}")
        }
    }
}
