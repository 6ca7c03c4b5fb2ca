//! What providers and DNS report about a deployed service (§4.2).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CertStatus, CertificateType, ProviderStatus};

/// One access URL a provider gave for a domain, and the operator's CNAME to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessUrl {
    pub domain: String,
    /// The provider's host name (`www.x.com.edgesuite.net`).
    pub provider_url: Option<String>,
    /// The name the tenant points its CNAME at (in the operator's zone).
    pub operator_url: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_ssl_flag: bool,
    /// Kept while an http domain is being upgraded to https (SAN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_operator_url: Option<String>,
}

/// Per-provider state of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderDetail {
    /// The provider's own id for the configuration (`id` in the original).
    #[serde(rename = "id")]
    pub provider_service_id: Option<String>,
    #[serde(default)]
    pub access_urls: Vec<AccessUrl>,
    /// Log-delivery endpoints (`publicURL`), when log delivery is on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_delivery_urls: Vec<String>,
    pub status: ProviderStatus,
    #[serde(default)]
    pub domains_certificate_status: BTreeMap<String, CertStatus>,
    /// Human message, shown in the service's `errors`.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Detail for operators (never a secret).
    #[serde(default)]
    pub error_info: Option<String>,
    #[serde(default)]
    pub error_class: Option<String>,
}

impl ProviderDetail {
    pub fn new(status: ProviderStatus) -> Self {
        Self {
            provider_service_id: None,
            access_urls: Vec::new(),
            log_delivery_urls: Vec::new(),
            status,
            domains_certificate_status: BTreeMap::new(),
            error_message: None,
            error_info: None,
            error_class: None,
        }
    }

    pub fn clear_error(&mut self) {
        self.error_message = None;
        self.error_info = None;
        self.error_class = None;
    }

    pub fn set_error(&mut self, message: impl Into<String>, info: impl Into<String>) {
        self.status = ProviderStatus::Failed;
        self.error_message = Some(message.into());
        self.error_info = Some(info.into());
    }
}

/// One access link a provider returns for a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderLink {
    pub domain: String,
    /// The provider's host name for this domain.
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateType>,
}

/// What a provider's `create` / `update` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderDeployment {
    pub provider_service_id: String,
    pub links: Vec<ProviderLink>,
    /// `Deployed`, or `DeployInProgress` where the provider is still rolling out.
    pub status: ProviderStatus,
    #[serde(default)]
    pub domains_certificate_status: BTreeMap<String, CertStatus>,
}
