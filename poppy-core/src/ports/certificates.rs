//! SSL certificates: where their records and queues are kept
//! ([`CertificateStore`]) and what a provider that provisions them offers
//! ([`CertificateProvider`]).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::PortError;
use crate::model::{
    CertConfigKind, CertDetails, CertQueue, CertStatus, HostnameAction, ProjectId, SslCertificate,
};

/// Certificate records, the status index, the per-provider operator queues
/// (retry list, SAN mapping) and per-provider certificate settings.
///
/// # Contract
/// - One record per domain name (lower-case), across projects: `create` of
///   a domain that has one fails with `Conflict` and changes nothing.
/// - `get` of a missing domain is `Ok(None)`; `update` of one is
///   `NotFound`; `update` replaces the record (details and status).
/// - `delete` removes the record only when it belongs to `project`; a
///   missing record, or one of another project, is left alone and is `Ok`.
/// - `list_by_status` returns the domains whose record has that status,
///   ascending; it follows every `create`, `update` and `delete`.
/// - Queues are per `(provider, queue)`, first in first out, survive
///   restarts and are shared by every process using the store:
///   `enqueue` appends; `queue` reads without consuming; `replace_queue`
///   swaps the whole queue and returns what it held; `take_queue` empties
///   it and returns what it held. `replace_queue` and `take_queue` are
///   atomic: an item enqueued concurrently is either returned or kept.
/// - Settings are JSON values per `(provider, key)`; `get_setting` of a
///   missing key is `Ok(None)`, `put_setting` overwrites.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait CertificateStore: Send + Sync + std::fmt::Debug + 'static {
    /// Name shown in logs (`sqlite`, `memory`…).
    fn name(&self) -> &str;

    async fn create(&self, cert: &SslCertificate) -> Result<(), PortError>;
    async fn get(&self, domain: &str) -> Result<Option<SslCertificate>, PortError>;
    async fn update(&self, cert: &SslCertificate) -> Result<(), PortError>;
    async fn delete(&self, domain: &str, project: &ProjectId) -> Result<(), PortError>;
    async fn list_by_status(&self, status: CertStatus) -> Result<Vec<String>, PortError>;

    async fn queue(&self, provider: &str, queue: CertQueue) -> Result<Vec<Value>, PortError>;
    async fn enqueue(
        &self,
        provider: &str,
        queue: CertQueue,
        item: &Value,
    ) -> Result<(), PortError>;
    async fn replace_queue(
        &self,
        provider: &str,
        queue: CertQueue,
        items: &[Value],
    ) -> Result<Vec<Value>, PortError>;
    async fn take_queue(&self, provider: &str, queue: CertQueue) -> Result<Vec<Value>, PortError>;

    async fn get_setting(&self, provider: &str, key: &str) -> Result<Option<Value>, PortError>;
    async fn put_setting(&self, provider: &str, key: &str, value: &Value) -> Result<(), PortError>;
}

/// What a provider did with a certificate request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertProvisioning {
    /// Stored as the certificate's `cert_details[provider]`; its status is
    /// the provider's view (`create_in_progress` while it works on it).
    pub details: CertDetails,
    /// The provider submits certificate changes in operator-driven batches:
    /// park the request on its retry list until an operator reruns it
    /// (the original's Akamai "mod-SAN" queue, with `enqueue=True`).
    pub queue_for_retry: bool,
    /// The request was submitted and takes time: track it on the
    /// SAN-mapping queue, where background jobs attach its host name and
    /// poll it until it is deployed.
    pub track: bool,
}

impl CertProvisioning {
    /// Provisioned (or refused) at once: nothing to queue.
    pub fn done(details: CertDetails) -> Self {
        Self {
            details,
            queue_for_retry: false,
            track: false,
        }
    }
}

/// Certificate provisioning of a provider (SAN/SNI/custom), reached through
/// [`CdnProvider::certificates`](super::CdnProvider::certificates).
///
/// The core keeps the records and the queues; a provider only talks to its
/// vendor. Akamai's SPS/CPS/PAPI calls belong here.
///
/// # Contract
/// - `create_certificate` with `submit == false` is a first request: a
///   provider that batches may answer `queue_for_retry` without calling
///   its vendor. With `submit == true` it submits. It is idempotent by
///   domain: asking again for a domain already requested does not make a
///   second request.
/// - `delete_certificate` of a certificate the vendor no longer has
///   succeeds.
/// - `certificate_status` reports the current details of a submitted
///   request (status `create_in_progress` while the vendor works).
/// - Refusals are `Invalid` (not retried), outages `Unavailable`,
///   throttling `RateLimited`.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait CertificateProvider: Send + Sync + std::fmt::Debug + 'static {
    async fn create_certificate(
        &self,
        cert: &SslCertificate,
        submit: bool,
    ) -> Result<CertProvisioning, PortError>;
    async fn delete_certificate(&self, cert: &SslCertificate) -> Result<(), PortError>;
    async fn certificate_status(&self, cert: &SslCertificate) -> Result<CertDetails, PortError>;

    /// Attaches (or detaches) the host names of `certs` to the provider's
    /// edge configuration and activates it (Akamai: a PAPI property
    /// version). The default has nothing to attach.
    async fn update_hostnames(
        &self,
        certs: &[SslCertificate],
        action: HostnameAction,
    ) -> Result<(), PortError> {
        let _ = (certs, action);
        Ok(())
    }

    /// Names of the shared certificates an operator may configure
    /// (Akamai: `san_cert_cnames` / `sni_cert_cnames`).
    fn certificate_names(&self, kind: CertConfigKind) -> Vec<String> {
        let _ = kind;
        Vec::new()
    }

    /// The full edge host name of a shared certificate an operator names
    /// when migrating a domain to it (Akamai appends `.edgekey.net` when it
    /// is missing). The default takes the name as given.
    fn edge_host_name(&self, cert_name: &str) -> String {
        cert_name.to_owned()
    }

    /// Completes an operator's change to a shared certificate's settings
    /// before it is stored (Akamai: for a new `spsId`, the latest `jobId`
    /// of that SPS request). The default stores the change as given.
    async fn complete_config(
        &self,
        kind: CertConfigKind,
        name: &str,
        config: Value,
    ) -> Result<Value, PortError> {
        let _ = (kind, name);
        Ok(config)
    }

    /// Gives the provider the certificate store, whose settings for
    /// `provider` (the provider's configured name) are the ones the
    /// operator endpoints write (`…/provider/{provider}/ssl_certificate/config`).
    /// The composition root calls it once, at start-up, so every process
    /// (server or worker) sees the operator's changes, not only the one
    /// that served the endpoint. The default keeps no settings.
    fn attach_store(&self, provider: &str, store: Arc<dyn CertificateStore>) {
        let _ = (provider, store);
    }
}
