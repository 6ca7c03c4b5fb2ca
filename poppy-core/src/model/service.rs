//! A service: what the tenant asked for and what Poppy keeps about it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::status::string_enum;
use super::{
    OperatorStatus, ProjectId, ProviderDetail, ServiceId, ServiceStatus, DEFAULT_REQUEST_URL,
};
use crate::clock::Millis;

string_enum! {
    Protocol {
        Http => "http",
        Https => "https",
    }
}

string_enum! {
    /// Certificate kinds of an https domain (§3.2).
    CertificateType {
        Shared => "shared",
        San => "san",
        Sni => "sni",
        Custom => "custom",
    }
}

string_enum! {
    /// Which host header a provider sends to the origin.
    HostHeaderType {
        Domain => "domain",
        Origin => "origin",
        Custom => "custom",
    }
}

string_enum! {
    Access {
        Whitelist => "whitelist",
        Blacklist => "blacklist",
    }
}

/// One domain of a service. `domain` is lower-case; for a shared-certificate
/// domain it is the full name with its shard once the service is stored
/// (`secure.scdn3.secure.poppycdn.net`), the bare label in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub domain: String,
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateType>,
}

impl Domain {
    pub fn http(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            protocol: Protocol::Http,
            certificate: None,
        }
    }

    pub fn is_shared_ssl(&self) -> bool {
        self.protocol == Protocol::Https && self.certificate == Some(CertificateType::Shared)
    }
}

/// A path rule: where a setting applies, and for restrictions what it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub request_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography: Option<String>,
}

impl Rule {
    pub fn new(name: impl Into<String>, request_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            request_url: request_url.into(),
            referrer: None,
            http_host: None,
            client_ip: None,
            http_method: None,
            geography: None,
        }
    }

    /// `{"name": "default", "request_url": "/*"}`.
    pub fn default_rule() -> Self {
        Self::new("default", DEFAULT_REQUEST_URL)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub origin: String,
    pub port: u16,
    pub ssl: bool,
    pub rules: Vec<Rule>,
    pub hostheadertype: HostHeaderType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostheadervalue: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachingRule {
    pub name: String,
    pub ttl: u32,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    pub name: String,
    pub access: Access,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogDelivery {
    pub enabled: bool,
}

/// What the tenant describes: the validated, normalised body of a create,
/// or the result of a PATCH. Defaults are filled in (origin rules, the
/// default caching rule on create, restriction access).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub name: String,
    pub domains: Vec<Domain>,
    pub origins: Vec<Origin>,
    #[serde(default)]
    pub caching: Vec<CachingRule>,
    #[serde(default)]
    pub restrictions: Vec<Restriction>,
    pub flavor_id: String,
    #[serde(default)]
    pub log_delivery: LogDelivery,
}

/// A stored service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub project_id: ProjectId,
    pub spec: ServiceSpec,
    pub status: ServiceStatus,
    pub operator_status: OperatorStatus,
    /// Keyed by the provider's name as the flavor lists it (`mock`, `akamai`…).
    pub provider_details: BTreeMap<String, ProviderDetail>,
    /// Bumped on every write; writers pass the version they read
    /// (optimistic concurrency).
    pub version: u64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Service {
    /// A new service in `create_in_progress`, not yet stored.
    pub fn new(project_id: ProjectId, spec: ServiceSpec, now: Millis) -> Self {
        Self {
            id: ServiceId::new_random(),
            project_id,
            spec,
            status: ServiceStatus::CreateInProgress,
            operator_status: OperatorStatus::Enabled,
            provider_details: BTreeMap::new(),
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The names every domain of the service claims (lower-case, full names).
    pub fn domain_names(&self) -> impl Iterator<Item = &str> {
        self.spec.domains.iter().map(|d| d.domain.as_str())
    }

    /// The status the API shows: `disabled` overrides the service status.
    pub fn display_status(&self) -> &'static str {
        match self.operator_status {
            OperatorStatus::Disabled => "disabled",
            OperatorStatus::Enabled => self.status.as_str(),
        }
    }
}
