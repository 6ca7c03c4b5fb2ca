//! Certificate provisioning of the Akamai driver ([`CertificateProvider`]).
//!
//! - **SAN** certificates are shared certificates changed with Secure
//!   Provisioning Service (SPS) `modSan` requests. A first request
//!   (`submit == false`) is parked on the retry list, as the original's
//!   "mod-SAN queue" did, for an operator to rerun. A submitted one goes on
//!   the first configured SAN certificate that is enabled and whose last
//!   SPS request has finished (SPS takes one change per certificate at a
//!   time): `POST sps-requests` with `add.sans=<domain>`; the new `spsId`
//!   and `jobId` become the certificate's last request, and the answer is
//!   tracked (`create_in_progress`) until SPS reports it complete. When no
//!   certificate has room, the request goes back on the retry list.
//! - **SNI** certificates are CPS enrollments: the domain is added to the
//!   SANs of the first enabled enrollment without pending changes and
//!   below the host name limit (`PUT enrollments/{id}`); the change CPS
//!   opens is tracked until it leaves the enrollment's pending changes.
//! - **custom** (and `dedicated`) certificates are refused with `Invalid`.
//!
//! Requests are idempotent by domain: a record that already names its SPS
//! request or CPS change is not submitted again, and a domain that the
//! last SPS request of a certificate (or an enrollment's SANs) already
//! carries is not added twice.
//!
//! Host names of issued certificates are attached to (or detached from)
//! the shared PAPI property `certificates.hostname_property`
//! (`update_hostnames`): the latest version's host names get (or lose)
//! `cnameFrom = <domain>`, `cnameTo = <certificate's edgekey host name>`,
//! `cnameType = EDGE_HOSTNAME` entries, on a new version when the latest
//! was ever activated, which is then activated on the configured network
//! and polled (`poll` settings) until active. Nothing to change makes no
//! version; it only makes sure the latest is active. Without the key the
//! call is refused with `Invalid`.
//!
//! Per-certificate settings (`spsId`, `jobId`, `enabled`, `enrollmentId`,
//! `san_cert_hostname_limit`) come from the configuration, overlaid by
//! what this process learnt (operator changes seen by `complete_config`,
//! its own SPS requests) and, when a [`CertificateStore`] is attached with
//! [`AkamaiCertificates::use_settings_store`], by the operator's settings
//! kept there (`san:<name>`, `sni:<name>`), which the driver also updates
//! after each SPS request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use poppy_core::model::{
    CertConfigKind, CertDetails, CertStatus, CertType, HostnameAction, SslCertificate,
};
use poppy_core::ports::{CertProvisioning, CertificateProvider, CertificateStore, PortError};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value};
use tracing::{debug, info, warn};

use super::client::{Api, RawBody};
use super::config::{CertificatesConfig, SanCertConfig, Settings, SniCertConfig};
use super::error::{self, BACKEND};
use super::hostnames::secure_edge_hostname;
use super::papi::{newest_on, Papi};

/// The SPS API's requests.
const SPS_REQUESTS: &str = "/config-secure-provisioning-service/v1/sps-requests";
/// CPS media types: CPS versions its answers by `Accept`.
pub const CPS_ENROLLMENT: &str = "application/vnd.akamai.cps.enrollment.v11+json";
pub const CPS_ENROLLMENT_STATUS: &str = "application/vnd.akamai.cps.enrollment-status.v1+json";
pub const CPS_CHANGE: &str = "application/vnd.akamai.cps.change.v2+json";
pub const CPS_CHANGE_ID: &str = "application/vnd.akamai.cps.change-id.v1+json";
/// The operator setting that bounds host names per certificate.
const HOSTNAME_LIMIT: &str = "san_cert_hostname_limit";
/// When a certificate's last SPS request is still running, a delete is
/// asked to come back after this.
const BUSY_RETRY: Duration = Duration::from_secs(60);

/// SPS statuses (`requestList[].status`).
const SPS_COMPLETE: &str = "SPS Request Complete";
const SPS_EDGE_HOST_PENDING: &str = "edge host already created or pending";
const SPS_CANCELLED: &str = "CPS cancelled";

/// One SPS request as `GET sps-requests/{id}` shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpsRequest {
    #[serde(default)]
    sps_id: Option<u64>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    workflow_progress: Option<String>,
    #[serde(default)]
    job_id: Option<u64>,
    #[serde(default)]
    parameters: Vec<SpsParameter>,
}

#[derive(Debug, Clone, Deserialize)]
struct SpsParameter {
    name: String,
    #[serde(default)]
    value: Value,
}

impl SpsRequest {
    /// What the request means for a certificate on it.
    fn status(&self) -> CertStatus {
        match self.status.as_str() {
            SPS_COMPLETE => CertStatus::Deployed,
            SPS_EDGE_HOST_PENDING if self.has_error() => CertStatus::Failed,
            SPS_EDGE_HOST_PENDING => CertStatus::Deployed,
            SPS_CANCELLED => CertStatus::Cancelled,
            _ => CertStatus::CreateInProgress,
        }
    }

    fn has_error(&self) -> bool {
        self.workflow_progress
            .as_deref()
            .is_some_and(|p| p.to_ascii_lowercase().contains("error"))
    }

    /// Whether the certificate takes another change (SPS runs one at a
    /// time per certificate).
    fn is_finished(&self) -> bool {
        match self.status.as_str() {
            SPS_COMPLETE | SPS_CANCELLED => true,
            SPS_EDGE_HOST_PENDING => !self.has_error(),
            _ => false,
        }
    }

    /// Whether the request carries `name=domain` (`add.sans`/`remove.sans`,
    /// one name or a comma-separated list).
    fn carries(&self, name: &str, domain: &str) -> bool {
        self.parameters.iter().any(|p| {
            p.name == name
                && match &p.value {
                    Value::String(s) => s.split(',').any(|d| d.trim().eq_ignore_ascii_case(domain)),
                    Value::Array(items) => items
                        .iter()
                        .any(|d| d.as_str().is_some_and(|d| d.eq_ignore_ascii_case(domain))),
                    _ => false,
                }
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpsList {
    #[serde(default)]
    request_list: Vec<SpsRequest>,
}

#[derive(Debug, Deserialize)]
struct SpsResult {
    #[serde(rename = "jobID")]
    job_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct SpsData {
    results: Option<SpsResult>,
}

#[derive(Debug, Deserialize)]
struct SpsResults {
    #[serde(default)]
    data: Vec<SpsData>,
}

/// The answer to a `POST sps-requests`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpsSubmitted {
    sps_id: u64,
    #[serde(rename = "Results")]
    results: Option<SpsResults>,
}

/// A certificate's settings as the driver uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CertSettings {
    enabled: bool,
    sps_id: Option<u64>,
    job_id: Option<u64>,
    enrollment_id: Option<u64>,
}

fn setting_key(kind: CertConfigKind, name: &str) -> String {
    format!("{kind}:{name}")
}

fn id_of(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn encode(out: &mut String, text: &str) {
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    out.push(char::from(b))
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(&mut out, k);
        out.push('=');
        encode(&mut out, v);
    }
    out
}

/// The location of a CPS change, from the enrollment's `pendingChanges`
/// (objects with `location` in recent versions, bare strings in old ones).
fn change_location(item: &Value) -> Option<&str> {
    item.as_str()
        .or_else(|| item.get("location").and_then(Value::as_str))
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn has_domain(list: &[String], domain: &str) -> bool {
    list.iter().any(|d| d.eq_ignore_ascii_case(domain))
}

/// The Akamai driver's [`CertificateProvider`]; see the
/// [module documentation](self).
#[derive(Debug)]
pub struct AkamaiCertificates {
    api: Api,
    contract_id: String,
    group_id: String,
    https_suffix: String,
    config: CertificatesConfig,
    /// The provider's settings, for the PAPI calls on the shared host name
    /// property.
    settings: Settings,
    /// `(provider name, store)` of the operator's settings, when attached.
    store: OnceLock<(String, Arc<dyn CertificateStore>)>,
    /// Settings learnt by this process, by `san:<name>`/`sni:<name>`.
    learnt: Mutex<BTreeMap<String, Map<String, Value>>>,
}

impl AkamaiCertificates {
    pub(super) fn new(settings: &Settings, api: Api) -> Self {
        Self {
            api,
            contract_id: settings.contract_id.clone(),
            group_id: settings.group_id.clone(),
            https_suffix: settings.hostnames.https_suffix.clone(),
            config: settings.certificates.clone(),
            settings: settings.clone(),
            store: OnceLock::new(),
            learnt: Mutex::new(BTreeMap::new()),
        }
    }

    /// Reads (and updates) the operator's certificate settings in `store`,
    /// kept under the configured provider name `provider` — the settings
    /// the operator endpoints `…/provider/{provider}/ssl_certificate/config`
    /// write. Only the first call takes effect; `false` when one was
    /// attached already.
    pub fn use_settings_store(&self, provider: &str, store: Arc<dyn CertificateStore>) -> bool {
        self.store.set((provider.to_owned(), store)).is_ok()
    }

    fn learnt(&self) -> MutexGuard<'_, BTreeMap<String, Map<String, Value>>> {
        self.learnt.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn san_config(&self, name: &str) -> Option<&SanCertConfig> {
        self.config.san_certs.iter().find(|c| c.name == name)
    }

    fn sni_config(&self, name: &str) -> Option<&SniCertConfig> {
        self.config.sni_certs.iter().find(|c| c.name == name)
    }

    /// A certificate's settings: configuration < learnt < operator's store.
    async fn settings(&self, kind: CertConfigKind, name: &str) -> Result<CertSettings, PortError> {
        let mut merged = Map::new();
        match kind {
            CertConfigKind::San => {
                if let Some(c) = self.san_config(name) {
                    merged.insert("enabled".into(), Value::Bool(c.enabled));
                    if let Some(id) = c.sps_id {
                        merged.insert("spsId".into(), id.into());
                    }
                    if let Some(id) = c.job_id {
                        merged.insert("jobId".into(), id.into());
                    }
                }
            }
            CertConfigKind::Sni => {
                if let Some(c) = self.sni_config(name) {
                    merged.insert("enabled".into(), Value::Bool(c.enabled));
                    if let Some(id) = c.enrollment_id {
                        merged.insert("enrollmentId".into(), id.into());
                    }
                }
            }
        }
        let key = setting_key(kind, name);
        if let Some(learnt) = self.learnt().get(&key) {
            merged.extend(learnt.clone());
        }
        if let Some((provider, store)) = self.store.get() {
            if let Some(Value::Object(stored)) = store.get_setting(provider, &key).await? {
                merged.extend(stored);
            }
        }
        Ok(CertSettings {
            enabled: merged
                .get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            sps_id: id_of(merged.get("spsId")),
            job_id: id_of(merged.get("jobId")),
            enrollment_id: id_of(merged.get("enrollmentId")),
        })
    }

    async fn hostname_limit(&self) -> Result<u64, PortError> {
        if let Some((provider, store)) = self.store.get() {
            if let Some(limit) = id_of(store.get_setting(provider, HOSTNAME_LIMIT).await?.as_ref())
            {
                return Ok(limit);
            }
        }
        Ok(self.config.hostname_limit)
    }

    /// Records a SAN certificate's newest SPS request, here and in the
    /// operator's settings.
    async fn save_last_ids(&self, name: &str, sps_id: u64, job_id: Option<u64>) {
        let key = setting_key(CertConfigKind::San, name);
        let mut change = Map::new();
        change.insert("spsId".into(), sps_id.into());
        if let Some(job) = job_id {
            change.insert("jobId".into(), job.into());
        }
        self.learnt()
            .entry(key.clone())
            .or_default()
            .extend(change.clone());
        if let Some((provider, store)) = self.store.get() {
            let result = async {
                let mut stored = match store.get_setting(provider, &key).await? {
                    Some(Value::Object(map)) => map,
                    _ => Map::new(),
                };
                stored.extend(change);
                store
                    .put_setting(provider, &key, &Value::Object(stored))
                    .await
            }
            .await;
            // The request is made; the next one re-reads SPS if this is lost.
            if let Err(error) = result {
                warn!(cert = name, sps_id, %error, "could not store the SAN certificate's last SPS request");
            }
        }
    }

    fn scope(&self) -> [(&str, &str); 2] {
        [
            ("contractId", self.contract_id.as_str()),
            ("groupId", self.group_id.as_str()),
        ]
    }

    async fn sps_request(&self, sps_id: u64) -> Result<SpsRequest, PortError> {
        let path = format!("{SPS_REQUESTS}/{sps_id}");
        let answer = self
            .api
            .call_raw(Method::GET, &path, &self.scope(), None, None)
            .await?;
        let list: SpsList = answer.json()?;
        list.request_list
            .into_iter()
            .next()
            .ok_or_else(|| error::unreadable(&answer.what, "requestList is empty"))
    }

    /// Posts a `modSan` request of certificate `cert` with `change`
    /// (`add.sans`/`remove.sans` = `domain`); returns `(spsId, jobId)`.
    async fn mod_san(
        &self,
        cert: &SanCertConfig,
        job_id: Option<u64>,
        change: &str,
        domain: &str,
    ) -> Result<(u64, Option<u64>), PortError> {
        let job = job_id.map(|j| j.to_string());
        let mut pairs: Vec<(&str, &str)> = vec![("cnameHostname", cert.name.as_str())];
        if let Some(job) = &job {
            pairs.push(("jobId", job.as_str()));
        }
        pairs.extend([
            ("issuer", cert.issuer.as_str()),
            ("createType", "modSan"),
            ("ipVersion", cert.ip_version.as_str()),
            ("slot-deployment.class", cert.slot_deployment_class.as_str()),
            ("product", cert.product.as_str()),
            (change, domain),
        ]);
        let body = RawBody {
            content_type: "application/x-www-form-urlencoded",
            bytes: form_encode(&pairs).into_bytes(),
        };
        let answer = self
            .api
            .call_raw(Method::POST, SPS_REQUESTS, &self.scope(), Some(body), None)
            .await?;
        if answer.status != 202 && answer.is_success() {
            return Err(error::unreadable(
                &answer.what,
                format!("expected HTTP 202, got {}", answer.status),
            ));
        }
        let submitted: SpsSubmitted = answer.json()?;
        let job_id = submitted
            .results
            .and_then(|r| r.data.into_iter().next())
            .and_then(|d| d.results)
            .and_then(|r| r.job_id);
        info!(cert = %cert.name, domain, change, sps_id = submitted.sps_id, "SPS modSan request submitted");
        Ok((submitted.sps_id, job_id))
    }

    async fn enrollment(&self, id: u64) -> Result<Value, PortError> {
        let path = format!("/cps/v2/enrollments/{id}");
        let answer = self
            .api
            .call_raw(Method::GET, &path, &[], None, Some(CPS_ENROLLMENT))
            .await?;
        answer.json()
    }

    /// Puts a changed enrollment; returns the change CPS opened, if any.
    async fn put_enrollment(
        &self,
        id: u64,
        enrollment: &Value,
    ) -> Result<Option<String>, PortError> {
        let path = format!("/cps/v2/enrollments/{id}");
        let body = RawBody {
            content_type: CPS_ENROLLMENT,
            bytes: enrollment.to_string().into_bytes(),
        };
        let answer = self
            .api
            .call_raw(
                Method::PUT,
                &path,
                &[],
                Some(body),
                Some(CPS_ENROLLMENT_STATUS),
            )
            .await?;
        let status: Value = answer.json()?;
        Ok(status
            .get("changes")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// The details this driver reported for `cert` (the entry that names
    /// an Akamai request or certificate).
    fn reported(&self, cert: &SslCertificate) -> Option<CertDetails> {
        let own = self
            .store
            .get()
            .and_then(|(provider, _)| cert.cert_details.get(provider));
        own.or_else(|| {
            cert.cert_details.values().find(|d| {
                let i = &d.extra_info;
                i.sps_id.is_some()
                    || i.change_url.is_some()
                    || i.san_cert.is_some()
                    || i.sni_cert.is_some()
            })
        })
        .cloned()
    }

    fn details(
        &self,
        cert_type: CertType,
        cert_name: Option<&str>,
        status: CertStatus,
        action: String,
    ) -> CertDetails {
        let mut details = CertDetails::with_status(status);
        details.cert_domain = cert_name.map(|n| secure_edge_hostname(n, &self.https_suffix));
        match cert_type {
            CertType::Sni => details.extra_info.sni_cert = cert_name.map(str::to_owned),
            _ => details.extra_info.san_cert = cert_name.map(str::to_owned),
        }
        details.extra_info.action = Some(action);
        details
    }

    fn park(&self, cert: &SslCertificate, action: String) -> CertProvisioning {
        CertProvisioning {
            details: self.details(cert.cert_type, None, CertStatus::CreateInProgress, action),
            queue_for_retry: true,
            track: false,
        }
    }

    fn tracked(details: CertDetails) -> CertProvisioning {
        CertProvisioning {
            details,
            queue_for_retry: false,
            track: true,
        }
    }

    async fn create_san(&self, cert: &SslCertificate) -> Result<CertProvisioning, PortError> {
        let domain = cert.domain_name.as_str();
        // Every certificate's last request first: one of them may already
        // carry this domain (a request whose answer was not recorded).
        let mut candidates = Vec::new();
        for san in &self.config.san_certs {
            let settings = self.settings(CertConfigKind::San, &san.name).await?;
            let last = match settings.sps_id {
                Some(id) => match self.sps_request(id).await {
                    Ok(request) => Some(request),
                    // A request SPS forgot does not hold the certificate.
                    Err(PortError::NotFound(_)) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            if let Some(request) = &last {
                if request.carries("add.sans", domain) && request.status() != CertStatus::Cancelled
                {
                    let sps_id = request.sps_id.or(settings.sps_id);
                    debug!(domain, cert = %san.name, ?sps_id, "domain already requested on the SAN certificate");
                    let mut details = self.details(
                        CertType::San,
                        Some(&san.name),
                        CertStatus::CreateInProgress,
                        format!("Waiting for customer domain validation for {domain}"),
                    );
                    details.extra_info.sps_id = sps_id;
                    return Ok(Self::tracked(details));
                }
            }
            candidates.push((san, settings, last));
        }
        for (san, settings, last) in candidates {
            if !settings.enabled {
                debug!(cert = %san.name, "SAN certificate is disabled");
                continue;
            }
            if let Some(request) = &last {
                if !request.is_finished() {
                    debug!(cert = %san.name, status = %request.status, "SAN certificate has an SPS request running");
                    continue;
                }
            }
            let (sps_id, job_id) = self
                .mod_san(san, settings.job_id, "add.sans", domain)
                .await?;
            self.save_last_ids(&san.name, sps_id, job_id).await;
            let mut details = self.details(
                CertType::San,
                Some(&san.name),
                CertStatus::CreateInProgress,
                format!("Waiting for customer domain validation for {domain}"),
            );
            details.extra_info.sps_id = Some(sps_id);
            return Ok(Self::tracked(details));
        }
        Ok(self.park(
            cert,
            format!(
                "No available san cert for {domain} right now, or no san cert info available; \
                 the request waits on the retry list"
            ),
        ))
    }

    async fn create_sni(&self, cert: &SslCertificate) -> Result<CertProvisioning, PortError> {
        let domain = cert.domain_name.as_str();
        let limit = self.hostname_limit().await?;
        let mut free = Vec::new();
        for sni in &self.config.sni_certs {
            let settings = self.settings(CertConfigKind::Sni, &sni.name).await?;
            let Some(id) = settings.enrollment_id else {
                debug!(cert = %sni.name, "SNI certificate has no enrollment");
                continue;
            };
            let enrollment = self.enrollment(id).await?;
            let sans = string_list(enrollment.pointer("/csr/sans"));
            let pending: Vec<String> = enrollment
                .get("pendingChanges")
                .and_then(Value::as_array)
                .map(|c| {
                    c.iter()
                        .filter_map(change_location)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if has_domain(&sans, domain) {
                // Asked before: follow the change, or it is done.
                let status = if pending.is_empty() {
                    CertStatus::Deployed
                } else {
                    CertStatus::CreateInProgress
                };
                let mut details = self.details(
                    CertType::Sni,
                    Some(&sni.name),
                    status,
                    format!("{domain} is on SNI certificate {}", sni.name),
                );
                details.extra_info.change_url = pending.first().cloned();
                return Ok(if pending.is_empty() {
                    CertProvisioning::done(details)
                } else {
                    Self::tracked(details)
                });
            }
            if !settings.enabled {
                debug!(cert = %sni.name, "SNI certificate is disabled");
                continue;
            }
            if !pending.is_empty() {
                debug!(cert = %sni.name, "SNI enrollment has pending changes");
                continue;
            }
            if sans.len() as u64 >= limit {
                debug!(cert = %sni.name, hosts = sans.len(), limit, "SNI certificate is full");
                continue;
            }
            free.push((sni, id, enrollment));
        }
        let Some((sni, id, mut enrollment)) = free.into_iter().next() else {
            return Ok(self.park(
                cert,
                format!(
                    "No available sni cert for {domain} right now, or no sni cert info available; \
                     the request waits on the retry list"
                ),
            ));
        };
        for pointer in ["/csr/sans", "/networkConfiguration/sni/dnsNames"] {
            if let Some(list) = enrollment
                .pointer_mut(pointer)
                .and_then(Value::as_array_mut)
            {
                list.push(Value::String(domain.to_owned()));
            }
        }
        let change = self.put_enrollment(id, &enrollment).await?;
        info!(cert = %sni.name, enrollment = id, domain, ?change, "CPS enrollment modified");
        let mut details = self.details(
            CertType::Sni,
            Some(&sni.name),
            CertStatus::CreateInProgress,
            format!("Waiting for customer domain validation for {domain}"),
        );
        details.extra_info.change_url = change;
        Ok(Self::tracked(details))
    }

    async fn san_status(
        &self,
        domain: &str,
        mut details: CertDetails,
    ) -> Result<CertDetails, PortError> {
        let Some(sps_id) = details.extra_info.sps_id else {
            return Ok(details);
        };
        let request = self.sps_request(sps_id).await?;
        let status = request.status();
        details.extra_info.status = status;
        details.extra_info.action = Some(format!("SPS request {sps_id}: {}", request.status));
        if status == CertStatus::Failed {
            details.extra_info.error = Some(format!(
                "SPS request {sps_id} for {domain} failed: {}",
                request.workflow_progress.unwrap_or_default()
            ));
        }
        Ok(details)
    }

    async fn sni_status(
        &self,
        domain: &str,
        mut details: CertDetails,
    ) -> Result<CertDetails, PortError> {
        let Some(name) = details.extra_info.sni_cert.clone() else {
            return Ok(details);
        };
        let Some(id) = self
            .settings(CertConfigKind::Sni, &name)
            .await?
            .enrollment_id
        else {
            return Err(PortError::Invalid(format!(
                "sni_cert: SNI certificate {name} of {domain} has no enrollmentId"
            )));
        };
        let enrollment = self.enrollment(id).await?;
        let pending = enrollment
            .get("pendingChanges")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(change) = details.extra_info.change_url.clone() {
            if pending
                .iter()
                .any(|c| change_location(c) == Some(change.as_str()))
            {
                let answer = self
                    .api
                    .call_raw(Method::GET, &change, &[], None, Some(CPS_CHANGE))
                    .await?;
                let status: Value = answer.json()?;
                let info = status.get("statusInfo").cloned().unwrap_or(Value::Null);
                let state = info.get("state").and_then(Value::as_str).unwrap_or("");
                let description = info
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                details.extra_info.action =
                    Some(format!("CPS change {change}: {state} {description}"));
                if state == "error" {
                    details.extra_info.status = CertStatus::Failed;
                    details.extra_info.error = Some(format!(
                        "CPS change {change} for {domain} failed: {description}"
                    ));
                } else {
                    details.extra_info.status = CertStatus::CreateInProgress;
                }
                return Ok(details);
            }
        }
        let names = string_list(enrollment.pointer("/networkConfiguration/sni/dnsNames"));
        let sans = string_list(enrollment.pointer("/csr/sans"));
        if has_domain(&names, domain) || has_domain(&sans, domain) {
            details.extra_info.status = CertStatus::Deployed;
            details.extra_info.action = Some(format!("{domain} is on SNI certificate {name}"));
        } else {
            details.extra_info.status = CertStatus::Failed;
            details.extra_info.error = Some(format!(
                "the change of enrollment {id} finished without {domain}"
            ));
        }
        Ok(details)
    }

    async fn delete_san(&self, domain: &str, name: &str) -> Result<(), PortError> {
        let Some(san) = self.san_config(name) else {
            return Err(PortError::Invalid(format!(
                "san cert: {domain} is on SAN certificate {name}, which is not configured \
                 (certificates.san_certs)"
            )));
        };
        let settings = self.settings(CertConfigKind::San, name).await?;
        if let Some(id) = settings.sps_id {
            match self.sps_request(id).await {
                Ok(last) if last.carries("remove.sans", domain) => return Ok(()),
                Ok(last) if !last.is_finished() => {
                    return Err(PortError::Unavailable {
                        backend: BACKEND.to_owned(),
                        message: format!(
                            "SAN certificate {name} has SPS request {id} running ({}); \
                             {domain} is removed after it",
                            last.status
                        ),
                        retry_after: Some(BUSY_RETRY),
                    })
                }
                Ok(_) | Err(PortError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let (sps_id, job_id) = self
            .mod_san(san, settings.job_id, "remove.sans", domain)
            .await?;
        self.save_last_ids(name, sps_id, job_id).await;
        Ok(())
    }

    async fn delete_sni(
        &self,
        domain: &str,
        details: &CertDetails,
        name: &str,
    ) -> Result<(), PortError> {
        let Some(id) = self
            .settings(CertConfigKind::Sni, name)
            .await?
            .enrollment_id
        else {
            return Err(PortError::Invalid(format!(
                "sni_cert: SNI certificate {name} of {domain} has no enrollmentId"
            )));
        };
        let mut enrollment = match self.enrollment(id).await {
            Ok(e) => e,
            Err(PortError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let pending = enrollment
            .get("pendingChanges")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // Our own change still pending: cancelling it takes the domain back.
        if let Some(change) = &details.extra_info.change_url {
            if pending
                .iter()
                .any(|c| change_location(c) == Some(change.as_str()))
            {
                let answer = self
                    .api
                    .call_raw(Method::DELETE, change, &[], None, Some(CPS_CHANGE_ID))
                    .await?;
                return match answer.status {
                    s if (200..300).contains(&s) || s == 404 => Ok(()),
                    _ => Err(answer.error()),
                };
            }
        }
        let sans = string_list(enrollment.pointer("/csr/sans"));
        if !has_domain(&sans, domain) {
            return Ok(());
        }
        if !pending.is_empty() {
            return Err(PortError::Unavailable {
                backend: BACKEND.to_owned(),
                message: format!(
                    "enrollment {id} of SNI certificate {name} has pending changes; \
                     {domain} is removed after them"
                ),
                retry_after: Some(BUSY_RETRY),
            });
        }
        for pointer in ["/csr/sans", "/networkConfiguration/sni/dnsNames"] {
            if let Some(list) = enrollment
                .pointer_mut(pointer)
                .and_then(Value::as_array_mut)
            {
                list.retain(|d| !d.as_str().is_some_and(|d| d.eq_ignore_ascii_case(domain)));
            }
        }
        self.put_enrollment(id, &enrollment).await?;
        info!(
            cert = name,
            enrollment = id,
            domain,
            "domain removed from the CPS enrollment"
        );
        Ok(())
    }
}

/// The `cnameType` of a host name served through an edge host name.
const EDGE_HOSTNAME: &str = "EDGE_HOSTNAME";

fn cname_from(entry: &Value) -> &str {
    entry.get("cnameFrom").and_then(Value::as_str).unwrap_or("")
}

/// A listed host name as PAPI takes it back in a `PUT …/hostnames`.
fn put_shape(entry: &Value) -> Value {
    let mut out = Map::new();
    for key in [
        "cnameType",
        "cnameFrom",
        "cnameTo",
        "edgeHostnameId",
        "certProvisioningType",
    ] {
        if let Some(v) = entry.get(key).filter(|v| !v.is_null()) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

/// `current` with each `(domain, edge host name)` of `targets`; `None`
/// when every one is there already.
fn with_hostnames(current: &[Value], targets: &[(String, String)]) -> Option<Vec<Value>> {
    let mut list: Vec<Value> = current.iter().map(put_shape).collect();
    let mut changed = false;
    for (from, to) in targets {
        let entry =
            serde_json::json!({"cnameType": EDGE_HOSTNAME, "cnameFrom": from, "cnameTo": to});
        match list
            .iter_mut()
            .find(|h| cname_from(h).eq_ignore_ascii_case(from))
        {
            Some(h)
                if h.get("cnameTo")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case(to)) => {}
            Some(h) => {
                *h = entry;
                changed = true;
            }
            None => {
                list.push(entry);
                changed = true;
            }
        }
    }
    changed.then_some(list)
}

/// `current` without the host names `domains`; `None` when none is there.
fn without_hostnames(current: &[Value], domains: &[&str]) -> Option<Vec<Value>> {
    let list: Vec<Value> = current
        .iter()
        .filter(|h| {
            !domains
                .iter()
                .any(|d| cname_from(h).eq_ignore_ascii_case(d))
        })
        .map(put_shape)
        .collect();
    (list.len() != current.len()).then_some(list)
}

impl AkamaiCertificates {
    fn papi(&self) -> Papi<'_> {
        Papi {
            api: &self.api,
            settings: &self.settings,
        }
    }

    /// `(domain, edge host name)` of each certificate: the edgekey host
    /// name of the certificate the domain was put on.
    fn cname_targets(&self, certs: &[SslCertificate]) -> Result<Vec<(String, String)>, PortError> {
        certs
            .iter()
            .map(|cert| {
                let details = self.reported(cert);
                let name = details.as_ref().and_then(|d| match cert.cert_type {
                    CertType::Sni => d.extra_info.sni_cert.clone(),
                    _ => d.extra_info.san_cert.clone(),
                });
                let to = name
                    .map(|n| secure_edge_hostname(&n, &self.https_suffix))
                    .or_else(|| details.and_then(|d| d.cert_domain));
                to.map(|to| (cert.domain_name.clone(), to)).ok_or_else(|| {
                    PortError::Invalid(format!(
                        "cert_details: the {} certificate of {} names no akamai certificate yet;                          its host name cannot be attached",
                        cert.cert_type, cert.domain_name
                    ))
                })
            })
            .collect()
    }

    /// Attaches (`Add`) or detaches (`Remove`) the host names of `certs`
    /// on the shared property; see the module docs.
    async fn change_hostnames(
        &self,
        certs: &[SslCertificate],
        action: HostnameAction,
    ) -> Result<(), PortError> {
        if certs.is_empty() {
            return Ok(());
        }
        let Some(property) = self.config.hostname_property.as_deref() else {
            return Err(PortError::Invalid(
                "certificates.hostname_property: no shared PAPI property for certificate host                  names is configured for the akamai provider; set                  [providers] certificates.hostname_property = \"prp_…\""
                    .to_owned(),
            ));
        };
        let targets = match action {
            HostnameAction::Add => self.cname_targets(certs)?,
            HostnameAction::Remove => Vec::new(),
        };
        let papi = self.papi();
        let latest = match papi.get_property(property).await {
            Ok(p) => p.latest_version,
            Err(PortError::NotFound(_)) => {
                return Err(PortError::Invalid(format!(
                    "certificates.hostname_property: property {property} does not exist in                      contract {} group {}",
                    self.contract_id, self.group_id
                )))
            }
            Err(e) => return Err(e),
        };
        let current = papi.get_hostnames(property, latest).await?;
        let wanted = match action {
            HostnameAction::Add => with_hostnames(&current, &targets),
            HostnameAction::Remove => {
                let domains: Vec<&str> = certs.iter().map(|c| c.domain_name.as_str()).collect();
                without_hostnames(&current, &domains)
            }
        };
        let version = match wanted {
            None => {
                debug!(property, version = latest, %action, "host names already as asked");
                latest
            }
            Some(list) => {
                let info = papi.get_version(property, latest).await?;
                let version = if info.is_editable() {
                    latest
                } else {
                    papi.create_version(property, latest, info.etag.as_deref())
                        .await?
                };
                papi.put_hostnames(property, version, &Value::Array(list))
                    .await?;
                info!(property, version, %action, hosts = certs.len(), "certificate host names updated");
                version
            }
        };
        self.activate_hostnames(property, version, action).await
    }

    /// Activates `version` of the host name property on the network unless
    /// it is active, and polls until it is (`poll` settings); still pending
    /// after that is `Unavailable`, so the flow comes back.
    async fn activate_hostnames(
        &self,
        property: &str,
        version: u32,
        action: HostnameAction,
    ) -> Result<(), PortError> {
        let papi = self.papi();
        let network = self.settings.network.papi();
        let mut requested = false;
        for check in 1..=self.settings.poll_attempts {
            let activations = papi.activations(property).await?;
            let newest = newest_on(&activations, network).map(|a| {
                (
                    a.activation_type == "ACTIVATE" && a.property_version == version,
                    a.status.clone(),
                    a.is_pending(),
                )
            });
            match newest {
                Some((true, status, _)) if status == "ACTIVE" => {
                    debug!(property, version, network, "host name property active");
                    return Ok(());
                }
                // Ours, or another version's: PAPI takes one at a time.
                Some((_, _, true)) => {}
                Some((true, status, false)) if requested => {
                    return Err(PortError::Unavailable {
                        backend: BACKEND.to_owned(),
                        message: format!(
                            "the activation of version {version} of property {property} on                              {network} ended {status}"
                        ),
                        retry_after: Some(self.settings.poll_interval),
                    })
                }
                // Asked for, not listed yet.
                _ if requested => {}
                _ => {
                    let note = format!("poppy: certificate host names ({action})");
                    papi.activate(property, version, "ACTIVATE", &note).await?;
                    info!(property, version, network, "host name property activation requested");
                    requested = true;
                }
            }
            if check < self.settings.poll_attempts {
                tokio::time::sleep(self.settings.poll_interval).await;
            }
        }
        Err(PortError::Unavailable {
            backend: BACKEND.to_owned(),
            message: format!(
                "version {version} of property {property} is not active on {network} after {}                  checks",
                self.settings.poll_attempts
            ),
            retry_after: Some(self.settings.poll_interval),
        })
    }
}

fn refuse_type(cert: &SslCertificate) -> PortError {
    PortError::Invalid(format!(
        "cert_type: the akamai provider provisions 'san' and 'sni' certificates, not '{}' \
         (domain {})",
        cert.cert_type, cert.domain_name
    ))
}

#[async_trait]
impl CertificateProvider for AkamaiCertificates {
    async fn create_certificate(
        &self,
        cert: &SslCertificate,
        submit: bool,
    ) -> Result<CertProvisioning, PortError> {
        if matches!(cert.cert_type, CertType::Custom | CertType::Dedicated) {
            return Err(refuse_type(cert));
        }
        // A request this record already names is not made again.
        if let Some(details) = self.reported(cert) {
            let info = &details.extra_info;
            let submitted = match cert.cert_type {
                CertType::San => info.sps_id.is_some(),
                _ => info.change_url.is_some(),
            };
            if submitted && details.status() == CertStatus::CreateInProgress {
                return Ok(Self::tracked(details));
            }
        }
        if !submit {
            return Ok(self.park(
                cert,
                format!(
                    "{} cert request for {} has been enqueued",
                    cert.cert_type, cert.domain_name
                ),
            ));
        }
        match cert.cert_type {
            CertType::Sni => self.create_sni(cert).await,
            _ => self.create_san(cert).await,
        }
    }

    async fn delete_certificate(&self, cert: &SslCertificate) -> Result<(), PortError> {
        let domain = cert.domain_name.as_str();
        let Some(details) = self.reported(cert) else {
            // Never put on a certificate.
            return Ok(());
        };
        match cert.cert_type {
            CertType::San => match details.extra_info.san_cert.clone() {
                Some(name) => self.delete_san(domain, &name).await,
                None => Ok(()),
            },
            CertType::Sni => match details.extra_info.sni_cert.clone() {
                Some(name) => self.delete_sni(domain, &details, &name).await,
                None => Ok(()),
            },
            CertType::Custom | CertType::Dedicated => Ok(()),
        }
    }

    async fn certificate_status(&self, cert: &SslCertificate) -> Result<CertDetails, PortError> {
        let domain = cert.domain_name.as_str();
        let details = self.reported(cert).ok_or_else(|| {
            PortError::NotFound(format!("akamai certificate request for {domain}"))
        })?;
        match cert.cert_type {
            CertType::San => self.san_status(domain, details).await,
            CertType::Sni => self.sni_status(domain, details).await,
            CertType::Custom | CertType::Dedicated => Err(refuse_type(cert)),
        }
    }

    /// Attaches (detaches) the certificates' host names on the shared
    /// property `certificates.hostname_property`; see the module docs.
    async fn update_hostnames(
        &self,
        certs: &[SslCertificate],
        action: HostnameAction,
    ) -> Result<(), PortError> {
        self.change_hostnames(certs, action).await
    }

    fn certificate_names(&self, kind: CertConfigKind) -> Vec<String> {
        match kind {
            CertConfigKind::San => self
                .config
                .san_certs
                .iter()
                .map(|c| c.name.clone())
                .collect(),
            CertConfigKind::Sni => self
                .config
                .sni_certs
                .iter()
                .map(|c| c.name.clone())
                .collect(),
        }
    }

    fn edge_host_name(&self, cert_name: &str) -> String {
        secure_edge_hostname(cert_name, &self.https_suffix)
    }

    /// A new `spsId` brings the `jobId` of that SPS request; a new
    /// `enrollmentId` must name an enrollment. The result is also what
    /// this process uses from now on.
    async fn complete_config(
        &self,
        kind: CertConfigKind,
        name: &str,
        mut config: Value,
    ) -> Result<Value, PortError> {
        let Some(map) = config.as_object_mut() else {
            return Err(PortError::Invalid(
                "the certificate configuration must be an object".to_owned(),
            ));
        };
        match kind {
            CertConfigKind::San => {
                if let Some(id) = id_of(map.get("spsId")) {
                    let request = match self.sps_request(id).await {
                        Err(PortError::NotFound(_)) => {
                            return Err(PortError::Invalid(format!(
                                "spsId: SPS request {id} does not exist in contract {}",
                                self.contract_id
                            )))
                        }
                        other => other?,
                    };
                    match request.job_id {
                        Some(job) => {
                            map.insert("jobId".to_owned(), job.into());
                        }
                        None => {
                            map.remove("jobId");
                        }
                    }
                }
            }
            CertConfigKind::Sni => {
                if let Some(id) = id_of(map.get("enrollmentId")) {
                    match self.enrollment(id).await {
                        Err(PortError::NotFound(_)) => {
                            return Err(PortError::Invalid(format!(
                                "enrollmentId: CPS enrollment {id} does not exist"
                            )))
                        }
                        other => {
                            other?;
                        }
                    }
                }
            }
        }
        self.learnt().insert(setting_key(kind, name), map.clone());
        Ok(config)
    }

    /// Reads the operator's settings from `store` from now on, as
    /// [`AkamaiCertificates::use_settings_store`] does.
    fn attach_store(&self, provider: &str, store: Arc<dyn CertificateStore>) {
        if !self.use_settings_store(provider, store) {
            debug!(
                provider,
                "a certificate settings store was attached already; keeping it"
            );
        }
    }
}
