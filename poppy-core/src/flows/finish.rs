//! Writing a flow's outcome into the service, notifications, and giving up.

use tracing::{info, warn};

use super::progress::{Progress, StepFailure};
use super::steps::Stop;
use crate::backends::Backends;
use crate::clock::now_ms;
use crate::model::{Job, JobKind, ProviderDetail, ProviderStatus, Service, ServiceStatus};
use crate::ports::{Notification, NotificationKind, PortError};

/// How often a write-back re-reads after losing an optimistic-concurrency race.
const WRITE_ATTEMPTS: usize = 16;

/// Read-modify-write of the job's service with the version check; `None`
/// when the service is gone.
pub(super) async fn write_back(
    backends: &Backends,
    job: &Job,
    mut change: impl FnMut(&mut Service),
) -> Result<Option<Service>, PortError> {
    let mut last = None;
    for _ in 0..WRITE_ATTEMPTS {
        let Some(mut service) = backends.store.get(&job.project_id, &job.service_id).await? else {
            return Ok(None);
        };
        change(&mut service);
        service.updated_at = now_ms();
        match backends.store.update(&service, None).await {
            Ok(version) => {
                service.version = version;
                return Ok(Some(service));
            }
            Err(PortError::Conflict(message)) => last = Some(message),
            Err(e) => return Err(e),
        }
    }
    Err(PortError::Conflict(format!(
        "service {} kept changing while a flow wrote its result: {}",
        job.service_id,
        last.unwrap_or_default()
    )))
}

/// The provider detail a finished provider step leaves, on top of what the
/// provider had before (kept on failure, as the original did).
pub(super) fn detail_for(
    progress: &Progress,
    name: &str,
    previous: Option<&ProviderDetail>,
) -> Option<ProviderDetail> {
    if let Some(failure) = progress.failures.get(name) {
        let mut detail = previous
            .cloned()
            .unwrap_or_else(|| ProviderDetail::new(ProviderStatus::Failed));
        apply_failure(&mut detail, failure);
        return Some(detail);
    }
    let deployment = progress.deployments.get(name)?;
    let access_urls = progress.access_urls.get(name)?.clone();
    let mut detail = ProviderDetail::new(deployment.status);
    detail.provider_service_id = Some(deployment.provider_service_id.clone());
    detail.access_urls = access_urls;
    detail.domains_certificate_status = deployment.domains_certificate_status.clone();
    if let Some(prev) = previous {
        detail.log_delivery_urls = prev.log_delivery_urls.clone();
    }
    Some(detail)
}

pub(super) fn apply_failure(detail: &mut ProviderDetail, failure: &StepFailure) {
    detail.set_error(failure.message.clone(), failure.info.clone());
    detail.error_class = Some(failure.class.clone());
}

/// Tells the notifier, if any; its failures never fail a flow.
pub(super) async fn notify(
    backends: &Backends,
    job: &Job,
    kind: NotificationKind,
    message: String,
) {
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

/// The final status of a create/update: failed if any provider failed,
/// still in progress while a provider rolls out, deployed otherwise.
pub(super) fn settle(details: &[&ProviderDetail], in_progress: ServiceStatus) -> ServiceStatus {
    if details.iter().any(|d| d.status == ProviderStatus::Failed) {
        ServiceStatus::Failed
    } else if details
        .iter()
        .any(|d| d.status == ProviderStatus::DeployInProgress)
    {
        in_progress
    } else {
        ServiceStatus::Deployed
    }
}

impl From<Stop> for PortError {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Lost => PortError::Conflict("the job's claim was lost".to_owned()),
            Stop::Retry { error, .. } => PortError::unavailable("flow", error),
        }
    }
}

/// Records on the service that its job ran out of attempts: every provider
/// detail still in progress (or missing) becomes `failed` with `error`, and
/// the service `failed`. Called by the worker.
pub async fn give_up(backends: &Backends, job: &Job, error: &str) -> Result<(), PortError> {
    if job.kind.is_certificate() {
        return super::certificate::give_up(backends, job, error).await;
    }
    if matches!(job.kind, JobKind::SetOperatorStatus { .. }) {
        // Only DNS re-pointing; the operator status itself is already stored.
        warn!(job = %job.id, error, "giving up re-pointing DNS for an operator status change");
        return Ok(());
    }
    if matches!(job.kind, JobKind::PurgeService { hard: true, .. }) {
        // A hard purge never changed the service's state; record the error only.
        write_back(backends, job, |service| {
            for detail in service.provider_details.values_mut() {
                detail.error_message = Some(format!("purge failed: {error}"));
                detail.error_info = Some(error.to_owned());
            }
        })
        .await?;
        return Ok(());
    }
    let message = format!("Failed after {} attempts: {error}", job.attempts);
    let flavor_providers: Vec<String> = match &job.kind {
        JobKind::CreateService | JobKind::UpdateService { .. } => {
            let service = backends.store.get(&job.project_id, &job.service_id).await?;
            match service {
                Some(s) => backends
                    .flavors
                    .get(&s.spec.flavor_id)
                    .await?
                    .map(|f| f.providers.into_iter().map(|p| p.provider).collect())
                    .unwrap_or_default(),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    let updated = write_back(backends, job, |service| {
        for name in &flavor_providers {
            service
                .provider_details
                .entry(name.clone())
                .or_insert_with(|| ProviderDetail::new(ProviderStatus::Failed));
        }
        for detail in service.provider_details.values_mut() {
            if detail.status != ProviderStatus::Deployed || detail.error_message.is_some() {
                detail.set_error(message.clone(), error.to_owned());
            }
        }
        if service.status.is_in_progress() {
            service.status = ServiceStatus::Failed;
        }
    })
    .await?;
    if updated.is_some() {
        info!(job = %job.id, service = %job.service_id, flow = job.kind.name(), "service marked failed after retries ran out");
        notify(backends, job, NotificationKind::Failed, message).await;
    }
    Ok(())
}
