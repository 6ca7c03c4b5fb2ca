//! Certificate flows (§5.7-5.10): create, recreate and delete a
//! certificate at the providers of its flavor, and the two background
//! flows of the SAN-mapping queue (attach host names, poll status).
//!
//! The certificate record is re-read before each write and every provider
//! step is recorded in the job's progress (`cert:<provider>`…) once its
//! result is stored, so a retried or reclaimed job resumes where it
//! stopped. Provider calls are idempotent by domain (the
//! [`CertificateProvider`] contract), which covers a crash between a call
//! and its checkpoint. Queue items written just before such a crash may be
//! written twice; reruns and background jobs drop duplicates.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;
use tracing::{info, warn};

use super::steps::{classify, Ctx, Stop};
use super::Outcome;
use crate::backends::Backends;
use crate::clock::now_ms;
use crate::model::{
    CertDetails, CertQueue, CertStatus, CertType, CertificateType, HostnameAction, Job, JobKind,
    ProviderLink, SanMappingItem, Service, SslCertificate,
};
use crate::ports::{
    CertProvisioning, CertificateProvider, CertificateStore, Notification, NotificationKind,
    PortError,
};

/// How often a write to a service re-reads after losing a version race.
const SERVICE_WRITE_ATTEMPTS: usize = 16;
/// How often a queue rewrite re-reads after a concurrent change.
const QUEUE_WRITE_ATTEMPTS: usize = 16;

/// The certificate store, or `None` (logged) when the deployment has none:
/// certificate jobs are only posted when it has one, so this is a job left
/// from another configuration.
fn store(backends: &Backends, job: &Job) -> Option<Arc<dyn CertificateStore>> {
    let store = backends.certificates.clone();
    if store.is_none() {
        warn!(job = %job.id, flow = job.kind.name(),
            "no certificate storage is configured; dropping the certificate job");
    }
    store
}

/// The provider's certificate capability, or why there is none.
fn capability(ctx: &Ctx<'_>, name: &str) -> Result<Arc<dyn CertificateProvider>, String> {
    let provider = ctx
        .provider(name)
        .ok_or_else(|| format!("provider '{name}' is not configured"))?;
    provider
        .certificates()
        .ok_or_else(|| format!("provider '{name}' does not provision certificates"))
}

fn to_value<T: serde::Serialize>(item: &T) -> Result<Value, Stop> {
    serde_json::to_value(item).map_err(|e| Stop::Retry {
        after: None,
        error: format!("cannot encode a certificate queue item: {e}"),
    })
}

/// `create_ssl_certificate`: the record exists (the manager wrote it).
pub(super) async fn create(ctx: &mut Ctx<'_>, domain: &str, submit: bool) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(store) = store(ctx.backends, &job) else {
        return Ok(Outcome::Done);
    };
    provision(ctx, &store, domain, submit).await
}

/// `recreate_ssl_certificate`: the record is made afresh, then submitted.
pub(super) async fn recreate(ctx: &mut Ctx<'_>, cert: &SslCertificate) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(store) = store(ctx.backends, &job) else {
        return Ok(Outcome::Done);
    };
    if !ctx.progress.done.contains("record") {
        store.delete(&cert.domain_name, &cert.project_id).await?;
        let fresh = SslCertificate::new(
            cert.project_id.clone(),
            cert.flavor_id.clone(),
            cert.domain_name.clone(),
            cert.cert_type,
            now_ms(),
        );
        match store.create(&fresh).await {
            // Another project holds a record for the domain: leave it.
            Ok(()) | Err(PortError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        ctx.progress.done.insert("record".to_owned());
        ctx.checkpoint().await?;
    }
    provision(ctx, &store, &cert.domain_name, true).await
}

async fn provision(
    ctx: &mut Ctx<'_>,
    store: &Arc<dyn CertificateStore>,
    domain: &str,
    submit: bool,
) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(cert) = store.get(domain).await? else {
        info!(job = %job.id, domain, "certificate record is gone; nothing to provision");
        return Ok(Outcome::Done);
    };
    if cert.project_id != job.project_id {
        info!(job = %job.id, domain, "the certificate now belongs to another project; leaving it");
        return Ok(Outcome::Done);
    }
    let providers = match ctx.backends.flavors.get(&cert.flavor_id).await? {
        Some(flavor) => flavor.providers.into_iter().map(|p| p.provider).collect(),
        None => {
            let failed = CertProvisioning::done(CertDetails::failed(format!(
                "flavor '{}' no longer exists",
                cert.flavor_id
            )));
            record(store, domain, &cert.flavor_id, failed).await?;
            Vec::new()
        }
    };
    for name in &providers {
        let step = format!("cert:{name}");
        if ctx.progress.done.contains(&step) {
            continue;
        }
        let outcome = match capability(ctx, name) {
            Err(reason) => CertProvisioning::done(CertDetails::failed(reason)),
            Ok(certificates) => match certificates.create_certificate(&cert, submit).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    let failure = classify(error, "certificate")?;
                    warn!(job = %job.id, provider = %name, domain, error = %failure.message,
                        "certificate request refused");
                    CertProvisioning::done(CertDetails::failed(failure.message))
                }
            },
        };
        if outcome.queue_for_retry {
            store
                .enqueue(name, CertQueue::Retry, &to_value(&cert.retry_item(true))?)
                .await?;
        }
        let track = outcome.track;
        let Some(updated) = record(store, domain, name, outcome).await? else {
            return Ok(Outcome::Done);
        };
        if track {
            store
                .enqueue(
                    name,
                    CertQueue::SanMapping,
                    &to_value(&updated.mapping_item())?,
                )
                .await?;
        }
        ctx.progress.done.insert(step);
        ctx.checkpoint().await?;
    }
    if !ctx.progress.done.contains("notify") {
        if let Some(cert) = store.get(domain).await? {
            info!(job = %job.id, domain, status = %cert.status, "certificate flow finished");
            notify_status(ctx.backends, &job, &cert, "").await;
        }
        ctx.progress.done.insert("notify".to_owned());
        ctx.checkpoint().await?;
    }
    Ok(Outcome::Done)
}

/// Stores a provider's answer into the current record; `None` when the
/// record is gone.
async fn record(
    store: &Arc<dyn CertificateStore>,
    domain: &str,
    provider: &str,
    outcome: CertProvisioning,
) -> Result<Option<SslCertificate>, Stop> {
    let Some(mut cert) = store.get(domain).await? else {
        return Ok(None);
    };
    cert.cert_details
        .insert(provider.to_owned(), outcome.details);
    cert.settle_status();
    cert.updated_at = now_ms();
    match store.update(&cert).await {
        Ok(()) => Ok(Some(cert)),
        Err(PortError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Tells the notifier how a certificate ended; in-progress requests are
/// not announced (the status check announces them when they finish).
async fn notify_status(backends: &Backends, job: &Job, cert: &SslCertificate, note: &str) {
    let kind = match cert.status {
        CertStatus::Deployed => NotificationKind::Deployed,
        CertStatus::Failed => NotificationKind::Failed,
        CertStatus::CreateInProgress | CertStatus::Cancelled => return,
    };
    let providers: Vec<&str> = cert.cert_details.keys().map(String::as_str).collect();
    let message = format!(
        "Project ID: {}, Provider: {}, Detail: certificate for {} is {}{note}",
        cert.project_id,
        providers.join(", "),
        cert.domain_name,
        cert.status
    );
    notify(backends, job, kind, message).await;
}

async fn notify(backends: &Backends, job: &Job, kind: NotificationKind, message: String) {
    let Some(notifier) = &backends.notifier else {
        return;
    };
    let notification = Notification {
        kind,
        project_id: job.project_id.clone(),
        service_id: job.service_id,
        flow: job.kind.name().to_owned(),
        message,
    };
    if let Err(error) = notifier.notify(&notification).await {
        warn!(job = %job.id, %error, "notification failed");
    }
}

/// `delete_ssl_certificate`: every provider that has the certificate lets
/// go of it, then the record is removed. A provider that refuses keeps the
/// record, `failed`, with the reason.
pub(super) async fn delete(ctx: &mut Ctx<'_>, cert: &SslCertificate) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(store) = store(ctx.backends, &job) else {
        return Ok(Outcome::Done);
    };
    let mut providers: Vec<String> = cert.cert_details.keys().cloned().collect();
    if providers.is_empty() {
        if let Some(flavor) = ctx.backends.flavors.get(&cert.flavor_id).await? {
            providers = flavor.providers.into_iter().map(|p| p.provider).collect();
        }
    }
    for name in &providers {
        let step = format!("cert-delete:{name}");
        if ctx.progress.done.contains(&step) || ctx.progress.failures.contains_key(name) {
            continue;
        }
        // A provider without the capability never held the certificate.
        if let Ok(certificates) = capability(ctx, name) {
            if let Err(error) = certificates.delete_certificate(cert).await {
                let failure = classify(error, "certificate")?;
                ctx.fail(name, failure).await?;
                continue;
            }
        }
        ctx.progress.done.insert(step);
        ctx.checkpoint().await?;
    }
    if ctx.progress.failures.is_empty() {
        store.delete(&cert.domain_name, &cert.project_id).await?;
        info!(job = %job.id, domain = %cert.domain_name, "certificate deleted");
        let message = format!(
            "Project ID: {}, Provider: {}, Detail: certificate for {} deleted",
            cert.project_id,
            providers.join(", "),
            cert.domain_name
        );
        notify(ctx.backends, &job, NotificationKind::Deleted, message).await;
        return Ok(Outcome::Done);
    }
    let failures = ctx.progress.failures.clone();
    if let Some(mut current) = store.get(&cert.domain_name).await? {
        if current.project_id == cert.project_id {
            for (name, failure) in &failures {
                let details = current.cert_details.entry(name.clone()).or_default();
                details.extra_info.status = CertStatus::Failed;
                details.extra_info.error = Some(format!("delete failed: {}", failure.message));
            }
            current.settle_status();
            current.updated_at = now_ms();
            match store.update(&current).await {
                Ok(()) | Err(PortError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
            notify_status(ctx.backends, &job, &current, " (deletion failed)").await;
        }
    }
    Ok(Outcome::Done)
}

/// `check_cert_status_and_update`: asks `provider` about a tracked
/// request. Still in progress: the item goes back on the SAN-mapping
/// queue. Finished: the record, and the certificate status of the domain
/// on the service holding it, take the answer; a deployed certificate gets
/// the domain's CNAME when the domain has none yet.
pub(super) async fn check_status(
    ctx: &mut Ctx<'_>,
    provider: &str,
    item: &SanMappingItem,
) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(store) = store(ctx.backends, &job) else {
        return Ok(Outcome::Done);
    };
    let domain = item.domain_name.as_str();
    let Some(cert) = store.get(domain).await? else {
        info!(job = %job.id, domain, "certificate record is gone; dropping its queue item");
        return Ok(Outcome::Done);
    };
    if !ctx.progress.done.contains("status") {
        let details = match capability(ctx, provider) {
            Err(reason) => CertDetails::failed(reason),
            Ok(certificates) => {
                let mut asked = item.certificate();
                asked.cert_details = cert.cert_details.clone();
                match certificates.certificate_status(&asked).await {
                    Ok(details) => details,
                    Err(error) => CertDetails::failed(classify(error, "certificate")?.message),
                }
            }
        };
        if details.status() == CertStatus::CreateInProgress {
            store
                .enqueue(provider, CertQueue::SanMapping, &to_value(item)?)
                .await?;
            info!(job = %job.id, domain, "certificate still in progress; back on the queue");
            return Ok(Outcome::Done);
        }
        record(&store, domain, provider, CertProvisioning::done(details)).await?;
        ctx.progress.done.insert("status".to_owned());
        ctx.checkpoint().await?;
    }
    let Some(cert) = store.get(domain).await? else {
        return Ok(Outcome::Done);
    };
    if !ctx.progress.done.contains("service") {
        update_service(ctx, provider, &cert).await?;
        ctx.progress.done.insert("service".to_owned());
        ctx.checkpoint().await?;
    }
    if !ctx.progress.done.contains("notify") {
        notify_status(ctx.backends, &job, &cert, "").await;
        ctx.progress.done.insert("notify".to_owned());
        ctx.checkpoint().await?;
    }
    Ok(Outcome::Done)
}

/// Records a finished certificate on the service that holds its domain
/// (same project): `domains_certificate_status`, and for a deployed
/// certificate with a `cert_domain`, the domain's access URL and CNAME.
async fn update_service(
    ctx: &mut Ctx<'_>,
    provider: &str,
    cert: &SslCertificate,
) -> Result<(), Stop> {
    let domain = cert.domain_name.as_str();
    let store = &ctx.backends.store;
    let details = cert.cert_details.get(provider);
    let status = details.map(|d| d.status()).unwrap_or(cert.status);
    let target = details
        .filter(|d| d.status() == CertStatus::Deployed)
        .and_then(|d| d.cert_domain.clone());
    for _ in 0..SERVICE_WRITE_ATTEMPTS {
        let Some(mut service) = store.find_by_domain(domain).await? else {
            return Ok(());
        };
        if service.project_id != cert.project_id {
            return Ok(());
        }
        let Some(detail) = service.provider_details.get(provider).cloned() else {
            return Ok(());
        };
        let mut detail = detail;
        detail
            .domains_certificate_status
            .insert(domain.to_owned(), status);
        let linked = detail
            .access_urls
            .iter()
            .any(|u| u.domain == domain && u.operator_url.is_some());
        if let (Some(href), false) = (&target, linked) {
            let link = ProviderLink {
                domain: domain.to_owned(),
                href: href.clone(),
                certificate: certificate_kind(&service, domain),
            };
            match ctx.backends.dns.create(&service, &[link]).await {
                Ok(urls) => {
                    detail.access_urls.retain(|u| u.domain != domain);
                    detail.access_urls.extend(urls);
                }
                Err(error) => {
                    let failure = classify(error, "dns")?;
                    warn!(domain, error = %failure.message, "could not create the CNAME of a deployed certificate");
                }
            }
        }
        service.provider_details.insert(provider.to_owned(), detail);
        service.updated_at = now_ms();
        match store.update(&service, None).await {
            Ok(_) => return Ok(()),
            Err(PortError::Conflict(_)) => continue,
            Err(PortError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(Stop::Retry {
        after: None,
        error: format!("the service holding {domain} kept changing"),
    })
}

fn certificate_kind(service: &Service, domain: &str) -> Option<CertificateType> {
    service
        .spec
        .domains
        .iter()
        .find(|d| d.domain == domain)
        .and_then(|d| d.certificate)
}

/// `update_certificate_hostnames`: attaches (or detaches) the host names of
/// the certificates of `domains` at `provider`, then marks their
/// SAN-mapping items `property_activated`.
pub(super) async fn update_hostnames(
    ctx: &mut Ctx<'_>,
    provider: &str,
    action: HostnameAction,
    cert_type: CertType,
    domains: &[String],
) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(store) = store(ctx.backends, &job) else {
        return Ok(Outcome::Done);
    };
    if !ctx.progress.done.contains("hostnames") {
        let mut certs = Vec::new();
        for domain in domains {
            if let Some(cert) = store.get(domain).await? {
                if cert.cert_type == cert_type {
                    certs.push(cert);
                }
            }
        }
        match capability(ctx, provider) {
            Err(reason) => {
                warn!(job = %job.id, provider, reason, "cannot update certificate host names");
                return Ok(Outcome::Done);
            }
            Ok(certificates) => {
                if let Err(error) = certificates.update_hostnames(&certs, action).await {
                    let failure = classify(error, "certificate")?;
                    warn!(job = %job.id, provider, error = %failure.message,
                        "the provider refused the host name update");
                    return Ok(Outcome::Done);
                }
            }
        }
        ctx.progress.done.insert("hostnames".to_owned());
        ctx.checkpoint().await?;
    }
    if action == HostnameAction::Add && !ctx.progress.done.contains("activated") {
        let wanted: BTreeSet<&str> = domains.iter().map(String::as_str).collect();
        mark_activated(&store, provider, &wanted).await?;
        ctx.progress.done.insert("activated".to_owned());
        ctx.checkpoint().await?;
    }
    info!(job = %job.id, provider, %action, hosts = domains.len(), "certificate host names updated");
    Ok(Outcome::Done)
}

/// Sets `property_activated` on the SAN-mapping items of `domains`, with a
/// compare-and-swap loop so items enqueued meanwhile are kept.
async fn mark_activated(
    store: &Arc<dyn CertificateStore>,
    provider: &str,
    domains: &BTreeSet<&str>,
) -> Result<(), Stop> {
    for _ in 0..QUEUE_WRITE_ATTEMPTS {
        let seen = store.queue(provider, CertQueue::SanMapping).await?;
        let updated: Vec<Value> = seen
            .iter()
            .map(|item| {
                let mut item = item.clone();
                let hit = item
                    .get("domain_name")
                    .and_then(Value::as_str)
                    .is_some_and(|d| domains.contains(d));
                if hit {
                    if let Some(obj) = item.as_object_mut() {
                        obj.insert("property_activated".to_owned(), Value::Bool(true));
                    }
                }
                item
            })
            .collect();
        let previous = store
            .replace_queue(provider, CertQueue::SanMapping, &updated)
            .await?;
        if previous == seen {
            return Ok(());
        }
        // Someone changed the queue between the read and the swap: put
        // back what they wrote and try again.
        store
            .replace_queue(provider, CertQueue::SanMapping, &previous)
            .await?;
    }
    Err(Stop::Retry {
        after: None,
        error: format!("the SAN-mapping queue of {provider} kept changing"),
    })
}

/// Queues the deletion of the project's certificates of `domains` once a
/// service let go of them (§5.3 step 6, §5.4 step 4). The jobs carry the
/// record, so they can run (the original's could not, §9.2 #5). Best
/// effort: a failure is logged and the certificate stays.
pub(super) async fn release(backends: &Backends, job: &Job, domains: &[&str]) {
    let Some(store) = &backends.certificates else {
        return;
    };
    for domain in domains {
        match store.get(domain).await {
            Ok(Some(cert)) if cert.project_id == job.project_id => {
                let delete = Job::new(
                    cert.project_id.clone(),
                    cert.job_key(),
                    JobKind::DeleteCertificate {
                        cert: Box::new(cert),
                    },
                    now_ms(),
                );
                if let Err(error) = backends.jobs.post(&delete).await {
                    warn!(job = %job.id, domain, %error, "could not queue the deletion of a released certificate");
                }
            }
            Ok(_) => {}
            Err(error) => {
                warn!(job = %job.id, domain, %error, "could not look up the certificate of a released domain");
            }
        }
    }
}

/// Records on the certificate that its job ran out of attempts. Called by
/// [`super::give_up`] for certificate jobs.
pub(super) async fn give_up(backends: &Backends, job: &Job, error: &str) -> Result<(), PortError> {
    let Some(store) = backends.certificates.clone() else {
        return Ok(());
    };
    let (domain, project) = match &job.kind {
        JobKind::CreateCertificate { domain, .. } => (domain.clone(), job.project_id.clone()),
        JobKind::RecreateCertificate { cert } | JobKind::DeleteCertificate { cert } => {
            (cert.domain_name.clone(), cert.project_id.clone())
        }
        JobKind::CheckCertificateStatus { provider, item } => {
            // Keep tracking it: the next background job run asks again.
            let value =
                serde_json::to_value(item.as_ref()).map_err(|e| PortError::internal("flow", e))?;
            store
                .enqueue(provider, CertQueue::SanMapping, &value)
                .await?;
            warn!(job = %job.id, domain = %item.domain_name, error, "status check gave up; item re-queued");
            return Ok(());
        }
        JobKind::UpdateCertificateHostnames { provider, .. } => {
            warn!(job = %job.id, provider = %provider, error, "giving up a certificate host name update");
            return Ok(());
        }
        _ => return Ok(()),
    };
    let Some(mut cert) = store.get(&domain).await? else {
        return Ok(());
    };
    if cert.project_id != project {
        return Ok(());
    }
    let message = format!("Failed after {} attempts: {error}", job.attempts);
    if cert.cert_details.is_empty() {
        cert.cert_details
            .insert(cert.flavor_id.clone(), CertDetails::failed(message.clone()));
    }
    for details in cert.cert_details.values_mut() {
        if details.status() != CertStatus::Deployed {
            details.extra_info.status = CertStatus::Failed;
            details.extra_info.error = Some(message.clone());
        }
    }
    cert.settle_status();
    if cert.status == CertStatus::CreateInProgress {
        cert.status = CertStatus::Failed;
    }
    cert.updated_at = now_ms();
    match store.update(&cert).await {
        Ok(()) | Err(PortError::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    info!(job = %job.id, domain = %domain, flow = job.kind.name(), "certificate marked failed after retries ran out");
    notify_status(backends, job, &cert, "").await;
    Ok(())
}
