//! SSL certificate use cases: the tenant endpoints (§2.8) and the
//! operator's certificate, queue and provider-setting endpoints (§2.9.8,
//! §2.9.9).
//!
//! Unlike the original (§9.2 #1, #16), a tenant sees and deletes only its
//! own project's certificates, a read always answers one record, and the
//! project of a new certificate is the caller's (a body naming another
//! project is refused).

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use tracing::warn;

use super::Manager;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::model::{
    CertConfigKind, CertQueue, CertStatus, CertType, CertificateType, Job, JobKind, OperatorStatus,
    Protocol, RetryItem, SanMappingItem, SslCertificate,
};
use crate::ports::{
    BackgroundJobReport, CertificateApi, CertificateProvider, CertificateStore, ConfigUpdate,
    PortError, QueueUpdate, RetryRun,
};
use crate::validate;
use crate::validate::certificate::{BackgroundJob, HOSTNAME_LIMIT};

/// `san_cert_hostname_limit` when an operator never set it (the
/// original's default).
pub const DEFAULT_SAN_HOSTNAME_LIMIT: u64 = 80;

fn create_failed(reason: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!(
        "Provisioning ssl certificate failed. Reason: {reason}"
    ))
}

fn to_value<T: serde::Serialize>(item: &T) -> Result<Value> {
    serde_json::to_value(item)
        .map_err(|e| Error::Internal(format!("cannot encode a certificate queue item: {e}")))
}

fn setting_key(kind: CertConfigKind, name: &str) -> String {
    format!("{kind}:{name}")
}

impl Manager {
    /// The certificate store, or 503 when the storage driver keeps none.
    pub(super) fn cert_store(&self) -> Result<Arc<dyn CertificateStore>> {
        self.backends.certificates.clone().ok_or_else(|| {
            Error::Unavailable(
                "certificate storage is not available: the configured storage driver keeps no \
                 certificates"
                    .to_owned(),
            )
        })
    }

    /// A configured provider's name, or 404.
    fn configured(&self, provider: &str) -> Result<()> {
        if self.backends.providers.get(provider).is_some() {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "Provider {provider} is not configured (configured: {})",
                self.backends.providers.names().join(", ")
            )))
        }
    }

    /// A configured provider's certificate capability.
    pub(super) fn cert_provider(&self, provider: &str) -> Result<Arc<dyn CertificateProvider>> {
        self.configured(provider)?;
        self.backends
            .providers
            .get(provider)
            .and_then(|p| p.certificates())
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "Provider {provider} does not provision certificates"
                ))
            })
    }

    /// Posts a certificate job. There is no reconciler for certificates, so
    /// a job that cannot be posted fails the request.
    async fn post_cert_job(&self, job: &Job) -> Result<()> {
        self.backends.jobs.post(job).await.map_err(|e| match e {
            e @ (PortError::Unavailable { .. } | PortError::RateLimited { .. }) => {
                Error::Unavailable(format!("the job board refused the job: {e}"))
            }
            e => Error::Internal(format!("posting a certificate job failed: {e}")),
        })
    }

    async fn queue_items<T: serde::de::DeserializeOwned>(
        &self,
        store: &Arc<dyn CertificateStore>,
        provider: &str,
        queue: CertQueue,
    ) -> Result<Vec<(Value, Option<T>)>> {
        Ok(store
            .queue(provider, queue)
            .await?
            .into_iter()
            .map(|v| {
                let parsed = serde_json::from_value(v.clone()).ok();
                (v, parsed)
            })
            .collect())
    }

    /// Checks that a retry-list request may run: a service holds the domain
    /// (unless `validate_service` is off), that service is not disabled, and
    /// the certificate is not deployed already. `Err` says why not.
    async fn retry_allowed(
        &self,
        store: &Arc<dyn CertificateStore>,
        item: &RetryItem,
    ) -> Result<std::result::Result<(), String>> {
        let service = self
            .backends
            .store
            .find_by_domain(&item.domain_name)
            .await?;
        match &service {
            None if item.validate_service => {
                return Ok(Err(format!(
                    "Domain {} does not exist on any service, are you sure you want to proceed \
                     request, {}? You can set validate_service to False to retry this san-retry \
                     request forcefully",
                    item.domain_name,
                    json!(item)
                )))
            }
            Some(s) if s.operator_status == OperatorStatus::Disabled => {
                return Ok(Err(format!(
                    "The service for domain {} is disabled; no certificates are created for \
                     service {} while it is disabled",
                    item.domain_name, s.id
                )))
            }
            _ => {}
        }
        if let Some(cert) = store.get(&item.domain_name).await? {
            if cert.status == CertStatus::Deployed {
                return Ok(Err(format!("Cert on {} already exists", item.domain_name)));
            }
        }
        Ok(Ok(()))
    }
}

#[async_trait]
impl CertificateApi for Manager {
    async fn create_certificate(
        &self,
        project: &crate::model::ProjectId,
        body: Value,
    ) -> Result<()> {
        let request = validate::certificate::create_body(&body).map_err(Error::Validation)?;
        if let Some(named) = &request.project_id {
            if named != project.as_str() {
                return Err(Error::Forbidden(format!(
                    "a certificate can only be requested for the caller's own project: the body \
                     names {named}, X-Project-ID is {project}"
                )));
            }
        }
        let store = self.cert_store()?;
        if self
            .backends
            .flavors
            .get(&request.flavor_id)
            .await?
            .is_none()
        {
            return Err(create_failed(format!(
                "Could not find a flavor with the id '{}'",
                request.flavor_id
            )));
        }
        let cert = SslCertificate::new(
            project.clone(),
            request.flavor_id,
            request.domain_name,
            request.cert_type,
            now_ms(),
        );
        match store.create(&cert).await {
            Ok(()) => {}
            Err(PortError::Conflict(_)) => {
                return Err(create_failed(format!(
                    "Certificate already exists for {}",
                    cert.domain_name
                )))
            }
            Err(e) => return Err(e.into()),
        }
        let job = Job::new(
            project.clone(),
            cert.job_key(),
            JobKind::CreateCertificate {
                domain: cert.domain_name.clone(),
                submit: false,
            },
            now_ms(),
        );
        if let Err(error) = self.post_cert_job(&job).await {
            // Nothing would ever provision it: take the record back so the
            // tenant can ask again.
            if let Err(e) = store.delete(&cert.domain_name, project).await {
                warn!(domain = %cert.domain_name, error = %e, "could not remove an unqueued certificate");
            }
            return Err(error);
        }
        Ok(())
    }

    async fn get_certificate(
        &self,
        project: &crate::model::ProjectId,
        domain: &str,
    ) -> Result<SslCertificate> {
        validate::domain_param(domain)?;
        let store = self.cert_store()?;
        let domain = domain.to_ascii_lowercase();
        store
            .get(&domain)
            .await?
            .filter(|c| &c.project_id == project)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "certificate could not be found for domain : {domain}"
                ))
            })
    }

    async fn delete_certificate(
        &self,
        project: &crate::model::ProjectId,
        domain: &str,
        cert_type: Option<&str>,
    ) -> Result<()> {
        let cert_type = validate::certificate::cert_type_param(cert_type)?;
        validate::domain_param(domain)?;
        let store = self.cert_store()?;
        let domain = domain.to_ascii_lowercase();
        let cert = store
            .get(&domain)
            .await?
            .filter(|c| &c.project_id == project && c.cert_type == cert_type)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "certificate of type {cert_type} could not be found for domain : {domain}"
                ))
            })?;
        let job = Job::new(
            project.clone(),
            cert.job_key(),
            JobKind::DeleteCertificate {
                cert: Box::new(cert),
            },
            now_ms(),
        );
        self.post_cert_job(&job).await
    }
}

/// Operator endpoints on certificates; the [`crate::ports::OperatorApi`]
/// implementation (in `operator.rs`) delegates here.
impl Manager {
    pub(super) async fn certificates_by_status_impl(
        &self,
        status: Option<&str>,
    ) -> Result<Vec<String>> {
        let status = validate::certificate::cert_status_param(status)?;
        Ok(self.cert_store()?.list_by_status(status).await?)
    }

    pub(super) async fn patch_certificate_status_impl(
        &self,
        domain: &str,
        body: Value,
    ) -> Result<()> {
        let status = validate::certificate::status_patch(&body).map_err(Error::Validation)?;
        validate::domain_param(domain)?;
        let store = self.cert_store()?;
        let domain = domain.to_ascii_lowercase();
        let mut cert = store.get(&domain).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "Certificate could not be found for domain: {domain}"
            ))
        })?;
        if cert.status == status && cert.cert_details.values().all(|d| d.status() == status) {
            return Ok(());
        }
        cert.force_status(status);
        cert.updated_at = now_ms();
        store.update(&cert).await.map_err(|e| match e {
            PortError::NotFound(_) => Error::NotFound(format!(
                "Certificate could not be found for domain: {domain}"
            )),
            other => Error::BadRequest(format!(
                "Updating the status of the certificate of {domain} failed: {other}"
            )),
        })
    }

    pub(super) async fn san_mapping_impl(&self, provider: &str) -> Result<Vec<Value>> {
        self.configured(provider)?;
        Ok(self
            .cert_store()?
            .queue(provider, CertQueue::SanMapping)
            .await?)
    }

    pub(super) async fn replace_san_mapping_impl(
        &self,
        provider: &str,
        body: Value,
    ) -> Result<QueueUpdate> {
        self.configured(provider)?;
        let items = validate::certificate::san_mapping(&body).map_err(Error::Validation)?;
        let store = self.cert_store()?;
        let queue = items.iter().map(to_value).collect::<Result<Vec<_>>>()?;
        let previous = store
            .replace_queue(provider, CertQueue::SanMapping, &queue)
            .await?;
        let deleted = previous
            .into_iter()
            .filter(|v| !queue.contains(v))
            .collect();
        Ok(QueueUpdate { queue, deleted })
    }

    pub(super) async fn retry_list_impl(&self, provider: &str) -> Result<Vec<Value>> {
        self.configured(provider)?;
        let store = self.cert_store()?;
        // Shown in the reference's shape; an item that does not parse is
        // shown as stored.
        Ok(self
            .queue_items::<RetryItem>(&store, provider, CertQueue::Retry)
            .await?
            .into_iter()
            .map(|(raw, parsed)| {
                parsed
                    .and_then(|p| serde_json::to_value(p).ok())
                    .unwrap_or(raw)
            })
            .collect())
    }

    pub(super) async fn replace_retry_list_impl(
        &self,
        provider: &str,
        body: Value,
    ) -> Result<QueueUpdate> {
        self.configured(provider)?;
        let items = validate::certificate::retry_list(&body).map_err(Error::Validation)?;
        let store = self.cert_store()?;
        for item in &items {
            if let Err(reason) = self.retry_allowed(&store, item).await? {
                return Err(Error::BadRequest(reason));
            }
        }
        let queue = items.iter().map(to_value).collect::<Result<Vec<_>>>()?;
        let previous = store
            .replace_queue(provider, CertQueue::Retry, &queue)
            .await?;
        let deleted = previous
            .into_iter()
            .filter(|v| !queue.contains(v))
            .collect();
        Ok(QueueUpdate { queue, deleted })
    }

    pub(super) async fn rerun_retry_list_impl(&self, provider: &str) -> Result<RetryRun> {
        self.configured(provider)?;
        let store = self.cert_store()?;
        let taken = store.take_queue(provider, CertQueue::Retry).await?;
        let mut seen = Vec::new();
        let mut run = RetryRun {
            processing: Vec::new(),
            failed_validation: Vec::new(),
        };
        for raw in taken {
            if seen.contains(&raw) {
                continue;
            }
            seen.push(raw.clone());
            let Ok(item) = serde_json::from_value::<RetryItem>(raw.clone()) else {
                warn!(provider, item = %raw, "dropping a retry-list item that does not parse");
                run.failed_validation.push(raw);
                continue;
            };
            let requeue = |item: &RetryItem| {
                let store = store.clone();
                let value = to_value(item);
                async move {
                    match value {
                        Ok(v) => store
                            .enqueue(provider, CertQueue::Retry, &v)
                            .await
                            .map_err(Error::from),
                        Err(e) => Err(e),
                    }
                }
            };
            let shown = to_value(&item)?;
            if let Err(reason) = self.retry_allowed(&store, &item).await? {
                warn!(provider, domain = %item.domain_name, reason, "retry-list item failed validation");
                if !item.validate_service {
                    requeue(&item).await?;
                }
                run.failed_validation.push(shown);
                continue;
            }
            if self.backends.flavors.get(&item.flavor_id).await?.is_none() {
                warn!(provider, domain = %item.domain_name, flavor = %item.flavor_id,
                    "retry-list item names a flavor that does not exist");
                requeue(&item).await?;
                run.failed_validation.push(shown);
                continue;
            }
            let cert = SslCertificate::new(
                item.project_id.clone(),
                item.flavor_id.clone(),
                item.domain_name.clone(),
                item.cert_type,
                now_ms(),
            );
            let job = Job::new(
                item.project_id.clone(),
                cert.job_key(),
                JobKind::RecreateCertificate {
                    cert: Box::new(cert),
                },
                now_ms(),
            );
            match self.post_cert_job(&job).await {
                Ok(()) => run.processing.push(shown),
                Err(error) => {
                    warn!(provider, domain = %item.domain_name, %error, "could not queue a rerun; item put back");
                    requeue(&item).await?;
                    run.failed_validation.push(shown);
                }
            }
        }
        Ok(run)
    }

    pub(super) async fn background_job_impl(
        &self,
        provider: &str,
        body: Value,
    ) -> Result<BackgroundJobReport> {
        let job = validate::certificate::background_job(&body)?;
        self.configured(provider)?;
        let store = self.cert_store()?;
        match job {
            BackgroundJob::CheckCertStatus { project_id } => {
                self.check_cert_status(&store, provider, project_id.as_deref())
                    .await
            }
            BackgroundJob::UpdateHostnames { cert_type, action } => {
                self.update_hostnames(&store, provider, cert_type, action)
                    .await
            }
        }
    }

    /// Consumes the SAN-mapping queue: an activated item gets a status
    /// check job, any other goes back on the queue.
    async fn check_cert_status(
        &self,
        store: &Arc<dyn CertificateStore>,
        provider: &str,
        project: Option<&str>,
    ) -> Result<BackgroundJobReport> {
        let taken = store.take_queue(provider, CertQueue::SanMapping).await?;
        let mut report = BackgroundJobReport {
            sent: Vec::new(),
            ignored: Vec::new(),
        };
        for raw in taken {
            let parsed = serde_json::from_value::<SanMappingItem>(raw.clone());
            let item = match parsed {
                Ok(item) => item,
                Err(e) => {
                    store.enqueue(provider, CertQueue::SanMapping, &raw).await?;
                    report.ignored.push(with_error(raw, &e.to_string()));
                    continue;
                }
            };
            let other_project = project.is_some_and(|p| p != item.project_id.as_str());
            if other_project || !item.property_activated {
                store.enqueue(provider, CertQueue::SanMapping, &raw).await?;
                if !other_project {
                    report.ignored.push(raw);
                }
                continue;
            }
            let job = Job::new(
                item.project_id.clone(),
                crate::model::certificate_job_key(&item.domain_name),
                JobKind::CheckCertificateStatus {
                    provider: provider.to_owned(),
                    item: Box::new(item),
                },
                now_ms(),
            );
            match self.post_cert_job(&job).await {
                Ok(()) => report.sent.push(raw),
                Err(e) => {
                    store.enqueue(provider, CertQueue::SanMapping, &raw).await?;
                    report.ignored.push(with_error(raw, &e.to_string()));
                }
            }
        }
        Ok(report)
    }

    /// Reads (without consuming) the SAN-mapping queue and posts one job
    /// attaching the host names of the items that are ready.
    async fn update_hostnames(
        &self,
        store: &Arc<dyn CertificateStore>,
        provider: &str,
        cert_type: CertType,
        action: crate::model::HostnameAction,
    ) -> Result<BackgroundJobReport> {
        let certificates = self.cert_provider(provider)?;
        let (kind, protocol_cert) = match cert_type {
            CertType::Sni => (CertConfigKind::Sni, CertificateType::Sni),
            _ => (CertConfigKind::San, CertificateType::San),
        };
        let names: BTreeSet<String> = certificates.certificate_names(kind).into_iter().collect();
        let mut report = BackgroundJobReport {
            sent: Vec::new(),
            ignored: Vec::new(),
        };
        let mut domains = Vec::new();
        for (raw, parsed) in self
            .queue_items::<SanMappingItem>(store, provider, CertQueue::SanMapping)
            .await?
        {
            let Some(item) = parsed else {
                report
                    .ignored
                    .push(with_error(raw, "the queue item does not parse"));
                continue;
            };
            if item.cert_type != cert_type {
                continue;
            }
            let reason = self
                .hostname_skip_reason(store, provider, &item, protocol_cert, &names)
                .await?;
            match reason {
                Some(reason) => report.ignored.push(with_error(raw, &reason)),
                None => {
                    if !domains.contains(&item.domain_name) {
                        domains.push(item.domain_name.clone());
                    }
                    report.sent.push(raw);
                }
            }
        }
        if !domains.is_empty() {
            let job = Job::new(
                crate::model::ProjectId::new("operator"),
                crate::model::certificate_job_key(&format!("hostnames.{provider}")),
                JobKind::UpdateCertificateHostnames {
                    provider: provider.to_owned(),
                    action,
                    cert_type,
                    domains,
                },
                now_ms(),
            );
            self.post_cert_job(&job).await?;
        }
        Ok(report)
    }

    /// Why a SAN-mapping item is not ready for a host name update, if it is
    /// not: its certificate is gone, it is already activated, no service of
    /// its project serves the domain over https with that certificate
    /// type, or it names a certificate the provider does not have.
    async fn hostname_skip_reason(
        &self,
        store: &Arc<dyn CertificateStore>,
        provider: &str,
        item: &SanMappingItem,
        protocol_cert: CertificateType,
        names: &BTreeSet<String>,
    ) -> Result<Option<String>> {
        let domain = &item.domain_name;
        let cert = store.get(domain).await?;
        let matches = cert.as_ref().is_some_and(|c| {
            c.project_id == item.project_id
                && c.flavor_id == item.flavor_id
                && c.cert_type == item.cert_type
        });
        if !matches {
            return Ok(Some(format!("certificate for {domain} does not exist")));
        }
        if item.property_activated {
            return Ok(Some(format!(
                "{domain} is already activated; set property_activated to false to activate it again"
            )));
        }
        let service = self.backends.store.find_by_domain(domain).await?;
        let served = service.as_ref().is_some_and(|s| {
            s.project_id == item.project_id
                && s.spec.domains.iter().any(|d| {
                    &d.domain == domain
                        && d.protocol == Protocol::Https
                        && d.certificate == Some(protocol_cert)
                })
        });
        if !served {
            return Ok(Some(format!(
                "no service of project {} serves {domain} over https with a {} certificate",
                item.project_id, item.cert_type
            )));
        }
        let info = item.cert_details.get(provider).map(|d| &d.extra_info);
        let named = match protocol_cert {
            CertificateType::Sni => info.and_then(|i| i.sni_cert.clone()),
            _ => info.and_then(|i| i.san_cert.clone()),
        };
        match named {
            Some(name) if names.contains(&name) => Ok(None),
            Some(name) => Ok(Some(format!(
                "Not a valid {} cert cname: {name}, valid cnames are: {:?}",
                item.cert_type, names
            ))),
            None => Ok(Some(format!(
                "the queue item names no {} certificate for provider {provider}",
                item.cert_type
            ))),
        }
    }

    pub(super) async fn certificate_config_impl(
        &self,
        provider: &str,
        kind: CertConfigKind,
        name: &str,
    ) -> Result<Value> {
        let certificates = self.cert_provider(provider)?;
        let store = self.cert_store()?;
        if kind == CertConfigKind::San && name == HOSTNAME_LIMIT {
            let limit = store
                .get_setting(provider, HOSTNAME_LIMIT)
                .await?
                .unwrap_or_else(|| json!(DEFAULT_SAN_HOSTNAME_LIMIT));
            return Ok(json!({ HOSTNAME_LIMIT: limit }));
        }
        check_cert_name(certificates.as_ref(), kind, name)?;
        Ok(store
            .get_setting(provider, &setting_key(kind, name))
            .await?
            .unwrap_or_else(|| Value::Object(Map::new())))
    }

    pub(super) async fn update_certificate_config_impl(
        &self,
        provider: &str,
        kind: CertConfigKind,
        name: &str,
        body: Value,
    ) -> Result<ConfigUpdate> {
        let certificates = self.cert_provider(provider)?;
        let mut change = validate::certificate::cert_config(kind, &body)?;
        let store = self.cert_store()?;
        if kind == CertConfigKind::San && name == HOSTNAME_LIMIT {
            let limit = change.remove(HOSTNAME_LIMIT).ok_or_else(|| {
                Error::field(
                    "/san_cert_hostname_limit",
                    "is required to set the host name limit",
                )
            })?;
            store.put_setting(provider, HOSTNAME_LIMIT, &limit).await?;
            return Ok(ConfigUpdate::Accepted);
        }
        check_cert_name(certificates.as_ref(), kind, name)?;
        if change.contains_key(HOSTNAME_LIMIT) {
            return Err(Error::field(
                "/san_cert_hostname_limit",
                "is a provider-wide setting: POST it to config/san_cert_hostname_limit",
            ));
        }
        let key = setting_key(kind, name);
        let mut config = match store.get_setting(provider, &key).await? {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        config.extend(change);
        let config = certificates
            .complete_config(kind, name, Value::Object(config))
            .await
            .map_err(|e| match e {
                e @ (PortError::Unavailable { .. } | PortError::RateLimited { .. }) => {
                    Error::from(e)
                }
                other => Error::BadRequest(format!(
                    "updating the configuration of {name} failed: {other}"
                )),
            })?;
        store.put_setting(provider, &key, &config).await?;
        Ok(ConfigUpdate::Updated(config))
    }
}

fn check_cert_name(
    certificates: &dyn CertificateProvider,
    kind: CertConfigKind,
    name: &str,
) -> Result<()> {
    let names = certificates.certificate_names(kind);
    if names.iter().any(|n| n == name) {
        Ok(())
    } else {
        Err(Error::BadRequest(format!(
            "{name} is not a valid {kind} cert, valid {kind} certs are: {names:?}"
        )))
    }
}

/// A queue item as shown in `ignored`, with why.
fn with_error(mut item: Value, reason: &str) -> Value {
    match item.as_object_mut() {
        Some(obj) => {
            obj.insert("error_message".to_owned(), Value::String(reason.to_owned()));
            item
        }
        None => json!({"item": item, "error_message": reason}),
    }
}
