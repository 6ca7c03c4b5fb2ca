//! delete_service (§5.4): remove the configuration from every provider and
//! the operator's DNS records, then the service.
//!
//! Unlike the original (§9.2 #2), a service whose provider or DNS deletion
//! failed is not removed: it stays, `failed`, with the error on the
//! provider, so nothing is leaked and the tenant can DELETE it again.

use tracing::info;

use super::finish::{apply_failure, notify, write_back};
use super::steps::{classify, Ctx, Stop};
use super::Outcome;
use crate::model::ServiceStatus;
use crate::ports::NotificationKind;

pub(super) async fn run(ctx: &mut Ctx<'_>) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(service) = ctx.load_service().await? else {
        return Ok(Outcome::Done);
    };
    for (name, detail) in &service.provider_details {
        let step = format!("delete:{name}");
        if ctx.progress.done.contains(&step) || ctx.progress.failures.contains_key(name) {
            continue;
        }
        if let Some(id) = &detail.provider_service_id {
            match ctx.provider(name) {
                Some(provider) => {
                    if let Err(error) = provider.delete(id, &service).await {
                        let failure = classify(error, "provider")?;
                        ctx.fail(name, failure).await?;
                        continue;
                    }
                }
                None => {
                    let failure = super::progress::StepFailure {
                        message: format!("provider '{name}' is not configured; its configuration {id} was not deleted"),
                        info: "configure the provider again and DELETE the service again".to_owned(),
                        class: "configuration".to_owned(),
                    };
                    ctx.fail(name, failure).await?;
                    continue;
                }
            }
        }
        if let Err(error) = ctx.backends.dns.delete(&detail.access_urls).await {
            let failure = classify(error, "dns")?;
            ctx.fail(name, failure).await?;
            continue;
        }
        ctx.progress.done.insert(step);
        ctx.checkpoint().await?;
    }

    if ctx.progress.failures.is_empty() {
        ctx.backends
            .store
            .delete(&job.project_id, &job.service_id)
            .await?;
        info!(job = %job.id, service = %job.service_id, "service deleted");
        let domains: Vec<&str> = service.domain_names().collect();
        super::certificate::release(ctx.backends, &job, &domains).await;
        notify(
            ctx.backends,
            &job,
            NotificationKind::Deleted,
            "service deleted".to_owned(),
        )
        .await;
        return Ok(Outcome::Done);
    }

    let progress = ctx.progress.clone();
    write_back(ctx.backends, &job, |svc| {
        // Providers that let go are forgotten; the others keep their detail
        // with the error.
        svc.provider_details
            .retain(|name, _| !progress.done.contains(&format!("delete:{name}")));
        for (name, failure) in &progress.failures {
            if let Some(detail) = svc.provider_details.get_mut(name) {
                apply_failure(detail, failure);
            }
        }
        if svc.status == ServiceStatus::DeleteInProgress {
            svc.status = ServiceStatus::Failed;
        }
    })
    .await?;
    info!(job = %job.id, service = %job.service_id, failures = progress.failures.len(), "delete flow failed; service kept");
    notify(
        ctx.backends,
        &job,
        NotificationKind::Failed,
        "service deletion failed".to_owned(),
    )
    .await;
    Ok(Outcome::Done)
}
