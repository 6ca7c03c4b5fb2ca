//! SSL certificates (§4.6): what a tenant asks for
//! (`POST /ssl_certificate`), what providers report about it, and the two
//! operator queues of the original's Akamai driver (the "mod-SAN" retry
//! list and the SAN-mapping queue), kept in storage.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::status::string_enum;
use super::{CertStatus, ProjectId, ServiceId};
use crate::clock::Millis;

string_enum! {
    /// Kinds of certificate record (§4.6). Tenants request `san`, `sni`
    /// and `custom`; `dedicated` is readable for records of the original.
    CertType {
        San => "san",
        Sni => "sni",
        Custom => "custom",
        Dedicated => "dedicated",
    }
}

/// Namespace of [`certificate_job_key`]; fixed so keys are stable across
/// processes and versions.
const CERT_KEY_NAMESPACE: Uuid = Uuid::from_u128(0x7373_6c2d_6365_7274_2d6a_6f62_2d6b_6579);

/// The key certificate jobs of `domain` are queued under (a job's
/// `service_id`): a UUID v5 of the lower-case domain, so every job of one
/// certificate is handed out in post order, one at a time, like the jobs
/// of one service, and never collides with a service's random (v4) id.
pub fn certificate_job_key(domain: &str) -> ServiceId {
    let name = format!("ssl-certificate:{}", domain.to_ascii_lowercase());
    ServiceId::from_uuid(Uuid::new_v5(&CERT_KEY_NAMESPACE, name.as_bytes()))
}

fn create_in_progress() -> CertStatus {
    CertStatus::CreateInProgress
}

/// Provider-specific facts about a certificate request (`extra_info` of
/// the original). Known keys are typed; anything else a provider reports is
/// kept in `other` and shown as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertExtraInfo {
    #[serde(default = "create_in_progress")]
    pub status: CertStatus,
    /// The shared SAN certificate the domain was added to.
    #[serde(rename = "san cert", default, skip_serializing_if = "Option::is_none")]
    pub san_cert: Option<String>,
    /// The SNI certificate (enrollment) the domain was added to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni_cert: Option<String>,
    /// The provider's request id (Akamai SPS).
    #[serde(
        rename = "akamai_spsId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sps_id: Option<u64>,
    /// Where the provider tracks the change (Akamai CPS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Why the request failed at this provider, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl CertExtraInfo {
    /// Facts with only a status.
    pub fn with_status(status: CertStatus) -> Self {
        Self {
            status,
            san_cert: None,
            sni_cert: None,
            sps_id: None,
            change_url: None,
            created_at: None,
            action: None,
            error: None,
            other: serde_json::Map::new(),
        }
    }
}

impl Default for CertExtraInfo {
    fn default() -> Self {
        Self::with_status(CertStatus::CreateInProgress)
    }
}

/// What one provider reports about a certificate (`cert_details[provider]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CertDetails {
    /// The host name the certificate is served under at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_domain: Option<String>,
    #[serde(default)]
    pub extra_info: CertExtraInfo,
}

impl CertDetails {
    pub fn with_status(status: CertStatus) -> Self {
        Self {
            cert_domain: None,
            extra_info: CertExtraInfo::with_status(status),
        }
    }

    /// A provider refused or failed the request for good.
    pub fn failed(error: impl Into<String>) -> Self {
        let mut details = Self::with_status(CertStatus::Failed);
        details.extra_info.error = Some(error.into());
        details
    }

    pub fn status(&self) -> CertStatus {
        self.extra_info.status
    }
}

/// A certificate record: one per domain name, across projects (a domain
/// belongs to one service, so to one project).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SslCertificate {
    pub flavor_id: String,
    /// Lower-case.
    pub domain_name: String,
    pub cert_type: CertType,
    /// The project that owns it; only this project sees it through the
    /// tenant API.
    pub project_id: ProjectId,
    /// Keyed by the provider's configured name.
    #[serde(default)]
    pub cert_details: BTreeMap<String, CertDetails>,
    /// Overall status: see [`SslCertificate::settle_status`]. Set by the
    /// flows and by the operator (admin `PATCH`).
    #[serde(default = "create_in_progress")]
    pub status: CertStatus,
    #[serde(default)]
    pub created_at: Millis,
    #[serde(default)]
    pub updated_at: Millis,
}

impl SslCertificate {
    /// A new request in `create_in_progress`, with no provider details yet.
    pub fn new(
        project_id: ProjectId,
        flavor_id: impl Into<String>,
        domain_name: impl Into<String>,
        cert_type: CertType,
        now: Millis,
    ) -> Self {
        Self {
            flavor_id: flavor_id.into(),
            domain_name: domain_name.into().to_ascii_lowercase(),
            cert_type,
            project_id,
            cert_details: BTreeMap::new(),
            status: CertStatus::CreateInProgress,
            created_at: now,
            updated_at: now,
        }
    }

    /// The key this certificate's jobs are queued under.
    pub fn job_key(&self) -> ServiceId {
        certificate_job_key(&self.domain_name)
    }

    /// Derives [`Self::status`] from the providers' statuses: `failed` if
    /// any failed, `create_in_progress` while any is, `cancelled` when all
    /// were cancelled, `deployed` otherwise. With no provider details the
    /// status is left as it is. (The original took the first provider's
    /// status, which depended on map order.)
    pub fn settle_status(&mut self) {
        let statuses: Vec<CertStatus> = self.cert_details.values().map(|d| d.status()).collect();
        if statuses.is_empty() {
            return;
        }
        self.status = if statuses.contains(&CertStatus::Failed) {
            CertStatus::Failed
        } else if statuses.contains(&CertStatus::CreateInProgress) {
            CertStatus::CreateInProgress
        } else if statuses.iter().all(|s| *s == CertStatus::Cancelled) {
            CertStatus::Cancelled
        } else {
            CertStatus::Deployed
        };
    }

    /// Sets the status, and every provider's reported status with it (the
    /// operator's override, §2.9.8).
    pub fn force_status(&mut self, status: CertStatus) {
        self.status = status;
        for details in self.cert_details.values_mut() {
            details.extra_info.status = status;
        }
    }

    /// The queue item that asks for this certificate again (retry list).
    pub fn retry_item(&self, validate_service: bool) -> RetryItem {
        RetryItem {
            domain_name: self.domain_name.clone(),
            project_id: self.project_id.clone(),
            flavor_id: self.flavor_id.clone(),
            cert_type: self.cert_type,
            validate_service,
        }
    }

    /// The queue item that tracks this certificate's request at a
    /// provider until it is deployed (SAN-mapping queue).
    pub fn mapping_item(&self) -> SanMappingItem {
        SanMappingItem {
            domain_name: self.domain_name.clone(),
            flavor_id: self.flavor_id.clone(),
            project_id: self.project_id.clone(),
            cert_type: self.cert_type,
            cert_details: self.cert_details.clone(),
            property_activated: false,
        }
    }
}

fn yes() -> bool {
    true
}

/// A certificate request waiting on the retry list (the original's mod-SAN
/// queue): providers that submit certificate changes in operator-driven
/// batches park requests here until an operator reruns the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryItem {
    pub domain_name: String,
    pub project_id: ProjectId,
    pub flavor_id: String,
    pub cert_type: CertType,
    /// Whether a rerun checks that a service still holds the domain.
    #[serde(default = "yes")]
    pub validate_service: bool,
}

/// A submitted certificate request a provider is still working on (the
/// original's SAN-mapping queue): background jobs attach its host name to
/// the provider's edge configuration, then poll until it is deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SanMappingItem {
    pub domain_name: String,
    pub flavor_id: String,
    pub project_id: ProjectId,
    pub cert_type: CertType,
    #[serde(default)]
    pub cert_details: BTreeMap<String, CertDetails>,
    /// The host name is attached at the provider (set by the hostname
    /// background job, or by an operator).
    #[serde(default)]
    pub property_activated: bool,
}

impl SanMappingItem {
    /// The certificate the item tracks, as far as the item tells.
    pub fn certificate(&self) -> SslCertificate {
        let mut cert = SslCertificate::new(
            self.project_id.clone(),
            self.flavor_id.clone(),
            self.domain_name.clone(),
            self.cert_type,
            0,
        );
        cert.cert_details = self.cert_details.clone();
        cert.settle_status();
        cert
    }
}

string_enum! {
    /// The operator queues a provider's certificate requests go through:
    /// `Retry`, requests waiting for an operator to rerun them
    /// (`retry_list`); `SanMapping`, submitted requests being attached and
    /// polled (`san_mapping`).
    CertQueue {
        Retry => "retry_list",
        SanMapping => "san_mapping",
    }
}

string_enum! {
    /// Shared certificates an operator configures per provider (§2.9.9):
    /// SAN certificates (`config/{name}`) and SNI ones (`sni_config/{name}`).
    CertConfigKind {
        San => "san",
        Sni => "sni",
    }
}

string_enum! {
    /// Whether hostnames are attached to or detached from a provider's
    /// edge configuration.
    HostnameAction {
        Add => "add",
        Remove => "remove",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_keys_are_stable_per_domain_and_case_insensitive() {
        assert_eq!(
            certificate_job_key("www.A.com"),
            certificate_job_key("www.a.com")
        );
        assert_ne!(
            certificate_job_key("www.a.com"),
            certificate_job_key("www.b.com")
        );
    }

    #[test]
    fn status_settles_from_every_provider() {
        let mut cert = SslCertificate::new(ProjectId::new("p"), "f", "www.a.com", CertType::San, 0);
        cert.settle_status();
        assert_eq!(cert.status, CertStatus::CreateInProgress);
        cert.cert_details
            .insert("a".into(), CertDetails::with_status(CertStatus::Deployed));
        cert.cert_details.insert(
            "b".into(),
            CertDetails::with_status(CertStatus::CreateInProgress),
        );
        cert.settle_status();
        assert_eq!(cert.status, CertStatus::CreateInProgress);
        cert.cert_details
            .insert("b".into(), CertDetails::failed("no"));
        cert.settle_status();
        assert_eq!(cert.status, CertStatus::Failed);
        cert.force_status(CertStatus::Cancelled);
        cert.settle_status();
        assert_eq!(cert.status, CertStatus::Cancelled);
    }

    #[test]
    fn extra_info_keeps_the_original_key_names_and_unknown_keys() {
        let json = serde_json::json!({
            "cert_domain": "x.edgekey.net",
            "extra_info": {"status": "deployed", "san cert": "san1.example.net",
                           "akamai_spsId": 7, "custom": [1]}
        });
        let details: CertDetails = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            details.extra_info.san_cert.as_deref(),
            Some("san1.example.net")
        );
        assert_eq!(details.extra_info.sps_id, Some(7));
        assert_eq!(serde_json::to_value(&details).unwrap(), json);
    }
}
