//! The mock provider's certificate provisioning
//! ([`CertificateProvider`]): in memory, deterministic, and able to play
//! the three ways a real vendor answers, so the certificate flows, queues
//! and background jobs can be exercised without one.
//!
//! - `immediate` (default): every request is deployed at once.
//! - `queued`: a first request is parked on the retry list (like Akamai's
//!   mod-SAN queue); an operator's rerun submits it, then it is tracked on
//!   the SAN-mapping queue until `polls` status checks have passed.
//! - `tracked`: every request is submitted and tracked as above.
//!
//! SAN requests are put on the first of `san_cert_cnames`, SNI requests on
//! the first of `sni_cert_cnames`. Domains listed in `refuse` are refused
//! with `Invalid`, to exercise failures.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use poppy_core::model::{
    CertConfigKind, CertDetails, CertStatus, CertType, HostnameAction, SslCertificate,
};
use poppy_core::ports::{CertProvisioning, CertificateProvider, PortError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{LINK_SUFFIX, NAME};

/// How the mock answers certificate requests (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateMode {
    #[default]
    Immediate,
    Queued,
    Tracked,
}

/// `certificates = { … }` of a mock provider's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockCertificateConfig {
    /// Whether the mock provisions certificates at all.
    pub enabled: bool,
    pub mode: CertificateMode,
    /// Status checks of a tracked request that answer `create_in_progress`
    /// before it is `deployed`.
    pub polls: u32,
    /// Shared SAN certificates an operator can configure.
    pub san_cert_cnames: Vec<String>,
    /// Shared SNI certificates an operator can configure.
    pub sni_cert_cnames: Vec<String>,
    /// Domains whose requests are refused (`Invalid`).
    pub refuse: Vec<String>,
}

impl Default for MockCertificateConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            mode: CertificateMode::Immediate,
            polls: 0,
            san_cert_cnames: vec![format!("san1.{LINK_SUFFIX}")],
            sni_cert_cnames: vec![format!("sni1.{LINK_SUFFIX}")],
            refuse: Vec::new(),
        }
    }
}

/// One certificate the mock was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockCertificate {
    pub cert_type: CertType,
    /// The shared certificate it is (to be) on.
    pub cert_name: String,
    /// Sent to the "vendor" (not parked on the retry list).
    pub submitted: bool,
    /// Status checks left before it is deployed.
    pub polls_left: u32,
    /// The request id the mock gave it.
    pub request_id: u64,
}

#[derive(Debug, Default)]
struct State {
    requests: BTreeMap<String, MockCertificate>,
    hostnames: BTreeSet<String>,
    next_request: u64,
}

/// The mock's [`CertificateProvider`]; shared by clones of the provider's
/// `Arc`.
#[derive(Debug)]
pub struct MockCertificates {
    config: MockCertificateConfig,
    state: Mutex<State>,
}

impl MockCertificates {
    pub fn new(config: MockCertificateConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Requests the mock holds, by domain.
    pub fn requests(&self) -> BTreeMap<String, MockCertificate> {
        self.state().requests.clone()
    }

    /// Host names attached by `update_hostnames`.
    pub fn attached_hostnames(&self) -> BTreeSet<String> {
        self.state().hostnames.clone()
    }

    fn cert_name(&self, cert: &SslCertificate) -> String {
        let first = |names: &[String], kind: &str| {
            names
                .first()
                .cloned()
                .unwrap_or_else(|| format!("{kind}.{LINK_SUFFIX}"))
        };
        match cert.cert_type {
            CertType::San => first(&self.config.san_cert_cnames, "san"),
            CertType::Sni => first(&self.config.sni_cert_cnames, "sni"),
            CertType::Custom | CertType::Dedicated => {
                format!("{}.custom.{LINK_SUFFIX}", cert.domain_name)
            }
        }
    }

    fn details(request: &MockCertificate, status: CertStatus) -> CertDetails {
        let mut details = CertDetails::with_status(status);
        match request.cert_type {
            CertType::Sni => details.extra_info.sni_cert = Some(request.cert_name.clone()),
            _ => details.extra_info.san_cert = Some(request.cert_name.clone()),
        }
        if request.submitted {
            details.extra_info.sps_id = Some(request.request_id);
        }
        if status == CertStatus::Deployed {
            details.cert_domain = Some(request.cert_name.clone());
        }
        details
    }
}

#[async_trait]
impl CertificateProvider for MockCertificates {
    async fn create_certificate(
        &self,
        cert: &SslCertificate,
        submit: bool,
    ) -> Result<CertProvisioning, PortError> {
        let domain = cert.domain_name.to_ascii_lowercase();
        if self
            .config
            .refuse
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&domain))
        {
            return Err(PortError::Invalid(format!(
                "{NAME} refuses certificates for {domain}"
            )));
        }
        let immediate = self.config.mode == CertificateMode::Immediate
            || matches!(cert.cert_type, CertType::Custom | CertType::Dedicated);
        let park = self.config.mode == CertificateMode::Queued && !submit && !immediate;
        let cert_name = self.cert_name(cert);
        let polls = self.config.polls;
        let mut state = self.state();
        let existing = state.requests.get(&domain).cloned();
        let request = match existing {
            // Idempotent by domain: a submitted request is not made twice.
            Some(request) if request.submitted || park => request,
            _ => {
                state.next_request += 1;
                let request = MockCertificate {
                    cert_type: cert.cert_type,
                    cert_name,
                    submitted: !park,
                    polls_left: if immediate { 0 } else { polls },
                    request_id: state.next_request,
                };
                state.requests.insert(domain, request.clone());
                request
            }
        };
        let status = if immediate {
            CertStatus::Deployed
        } else {
            CertStatus::CreateInProgress
        };
        Ok(CertProvisioning {
            details: Self::details(&request, status),
            queue_for_retry: park,
            track: !park && !immediate,
        })
    }

    async fn delete_certificate(&self, cert: &SslCertificate) -> Result<(), PortError> {
        let domain = cert.domain_name.to_ascii_lowercase();
        let mut state = self.state();
        state.requests.remove(&domain);
        state.hostnames.remove(&domain);
        Ok(())
    }

    async fn certificate_status(&self, cert: &SslCertificate) -> Result<CertDetails, PortError> {
        let domain = cert.domain_name.to_ascii_lowercase();
        let mut state = self.state();
        let request = state.requests.get_mut(&domain).ok_or_else(|| {
            PortError::NotFound(format!("{NAME} certificate request for {domain}"))
        })?;
        if request.polls_left > 0 {
            request.polls_left -= 1;
            return Ok(Self::details(request, CertStatus::CreateInProgress));
        }
        Ok(Self::details(request, CertStatus::Deployed))
    }

    async fn update_hostnames(
        &self,
        certs: &[SslCertificate],
        action: HostnameAction,
    ) -> Result<(), PortError> {
        let mut state = self.state();
        for cert in certs {
            let domain = cert.domain_name.to_ascii_lowercase();
            match action {
                HostnameAction::Add => state.hostnames.insert(domain),
                HostnameAction::Remove => state.hostnames.remove(&domain),
            };
        }
        Ok(())
    }

    fn certificate_names(&self, kind: CertConfigKind) -> Vec<String> {
        match kind {
            CertConfigKind::San => self.config.san_cert_cnames.clone(),
            CertConfigKind::Sni => self.config.sni_cert_cnames.clone(),
        }
    }

    /// Like Akamai, a new `spsId` brings its latest `jobId`; the mock's is
    /// `spsId * 10`.
    async fn complete_config(
        &self,
        _kind: CertConfigKind,
        _name: &str,
        mut config: Value,
    ) -> Result<Value, PortError> {
        if let Some(sps) = config.get("spsId").and_then(Value::as_u64) {
            if let Some(obj) = config.as_object_mut() {
                obj.insert("jobId".to_owned(), Value::from(sps.saturating_mul(10)));
            }
        }
        Ok(config)
    }
}
