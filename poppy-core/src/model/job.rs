//! Jobs: the asynchronous half of every write (§1.2 step 4, §5).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    CertType, HostnameAction, JobId, OperatorStatus, ProjectId, SanMappingItem, ServiceId,
    ServiceSpec, SslCertificate,
};
use crate::clock::Millis;

/// What to purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "target", content = "url", rename_all = "snake_case")]
pub enum PurgeTarget {
    All,
    Url(String),
}

/// Which flow a job runs, with what it needs beyond the stored service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case")]
pub enum JobKind {
    CreateService,
    UpdateService {
        /// The definition before the PATCH (removed domains are cleaned up).
        previous: Box<ServiceSpec>,
    },
    DeleteService,
    PurgeService {
        target: PurgeTarget,
        hard: bool,
    },
    /// Admin enable/disable: re-point the operator CNAMEs.
    SetOperatorStatus {
        status: OperatorStatus,
    },
    /// Requests the certificate of `domain` from the providers of its
    /// flavor (§5.7). `submit`: send it to providers that batch requests
    /// instead of parking it on their retry list.
    CreateCertificate {
        domain: String,
        submit: bool,
    },
    /// An operator's rerun of a retry-list request: the record is made
    /// afresh and submitted (§5.8).
    RecreateCertificate {
        cert: Box<SslCertificate>,
    },
    /// Removes a certificate from its providers, then its record (§5.9).
    /// Carries the record as it was, so the job can run even when the
    /// record is gone (the original's jobs lacked it, §9.2 #5).
    DeleteCertificate {
        cert: Box<SslCertificate>,
    },
    /// Asks `provider` how a tracked certificate request is doing and
    /// records the answer (§5.10 check_cert_status_and_update).
    CheckCertificateStatus {
        provider: String,
        item: Box<SanMappingItem>,
    },
    /// Attaches or detaches certificate host names at `provider`, then
    /// marks their SAN-mapping queue items activated (§5.10 update_property).
    UpdateCertificateHostnames {
        provider: String,
        action: HostnameAction,
        cert_type: CertType,
        domains: Vec<String>,
    },
}

impl JobKind {
    pub fn name(&self) -> &'static str {
        match self {
            JobKind::CreateService => "create_service",
            JobKind::UpdateService { .. } => "update_service",
            JobKind::DeleteService => "delete_service",
            JobKind::PurgeService { .. } => "purge_service",
            JobKind::SetOperatorStatus { .. } => "set_operator_status",
            JobKind::CreateCertificate { .. } => "create_ssl_certificate",
            JobKind::RecreateCertificate { .. } => "recreate_ssl_certificate",
            JobKind::DeleteCertificate { .. } => "delete_ssl_certificate",
            JobKind::CheckCertificateStatus { .. } => "check_cert_status_and_update",
            JobKind::UpdateCertificateHostnames { .. } => "update_certificate_hostnames",
        }
    }

    /// A certificate job: its `service_id` is a certificate key
    /// ([`crate::model::certificate_job_key`]), not a service.
    pub fn is_certificate(&self) -> bool {
        matches!(
            self,
            JobKind::CreateCertificate { .. }
                | JobKind::RecreateCertificate { .. }
                | JobKind::DeleteCertificate { .. }
                | JobKind::CheckCertificateStatus { .. }
                | JobKind::UpdateCertificateHostnames { .. }
        )
    }
}

/// A unit of asynchronous work on one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub project_id: ProjectId,
    pub service_id: ServiceId,
    pub kind: JobKind,
    /// How many times a worker has started it (the job board counts).
    #[serde(default)]
    pub attempts: u32,
    /// Not claimable before this time (retry backoff).
    #[serde(default)]
    pub not_before: Millis,
    /// The flow's persisted progress (see [`crate::flows`]); `null` at first.
    #[serde(default)]
    pub progress: serde_json::Value,
    /// The last retryable error, for operators.
    #[serde(default)]
    pub last_error: Option<String>,
    pub created_at: Millis,
    /// The requester's `X-Auth-Token`, carried only by jobs whose flow acts
    /// on the tenant's behalf elsewhere (the log-delivery container, §5.2
    /// step 3); gone with the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<AuthToken>,
}

/// A tenant's credential (the request's `X-Auth-Token`). `Debug` never
/// shows it, and there is no `Display`: read it with [`Self::expose`] only
/// where it is sent. It serialises as a plain string so that a job board
/// can hand it to the worker.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuthToken(String);

impl AuthToken {
    /// `None` for an empty or blank token.
    pub fn new(token: impl Into<String>) -> Option<Self> {
        let token = token.into();
        (!token.trim().is_empty()).then_some(Self(token))
    }

    /// The token itself, to put in a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

impl Job {
    pub fn new(project_id: ProjectId, service_id: ServiceId, kind: JobKind, now: Millis) -> Self {
        Self {
            id: JobId::new_random(),
            project_id,
            service_id,
            kind,
            attempts: 0,
            not_before: now,
            progress: serde_json::Value::Null,
            last_error: None,
            created_at: now,
            auth_token: None,
        }
    }
}

/// A worker's hold on a job until `lease_until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub job: Job,
    pub worker: String,
    /// Proves the claim is still ours; a lapsed and re-claimed job gets a new token.
    pub token: Uuid,
    pub lease_until: Millis,
}
