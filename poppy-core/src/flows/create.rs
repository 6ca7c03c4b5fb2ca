//! create_service (§5.2): each provider of the flavor gets the service, then
//! DNS gets a record for each access URL; the results become the service's
//! provider details.

use tracing::info;

use super::finish::{detail_for, notify, settle, write_back};
use super::progress::StepFailure;
use super::steps::{Ctx, Deploy, Stop};
use super::Outcome;
use crate::model::{ProviderDetail, ProviderStatus, ServiceStatus};
use crate::ports::NotificationKind;

pub(super) async fn run(ctx: &mut Ctx<'_>) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(service) = ctx.load_service().await? else {
        info!(job = %job.id, service = %job.service_id, "service is gone; nothing to create");
        return Ok(Outcome::Done);
    };
    let providers = match ctx.flavor_providers(&service).await? {
        Some(providers) => providers,
        None => {
            let failure = StepFailure {
                message: format!("flavor '{}' no longer exists", service.spec.flavor_id),
                info: "the flavor was deleted after the service was accepted".to_owned(),
                class: "configuration".to_owned(),
            };
            // Record it under every provider the service already knows, or a
            // placeholder, so the tenant sees why.
            let names: Vec<String> = if service.provider_details.is_empty() {
                vec![service.spec.flavor_id.clone()]
            } else {
                service.provider_details.keys().cloned().collect()
            };
            for name in &names {
                ctx.fail(name, failure.clone()).await?;
            }
            names
        }
    };

    for name in &providers {
        ctx.deploy(name, &service, Deploy::Create, &[]).await?;
    }

    // Providers still rolling out are asked again until they finish.
    for name in &providers {
        let Some(deployment) = ctx.progress.deployments.get(name).cloned() else {
            continue;
        };
        if deployment.status != ProviderStatus::DeployInProgress
            || ctx.progress.failures.contains_key(name)
        {
            continue;
        }
        let Some(provider) = ctx.provider(name) else {
            continue;
        };
        match provider.status(&deployment.provider_service_id).await {
            Ok(ProviderStatus::DeployInProgress) => {
                ctx.progress.polls += 1;
                ctx.checkpoint().await?;
                record(ctx, &providers, None).await?;
                return Ok(Outcome::Poll {
                    after: ctx.settings.poll_interval,
                });
            }
            Ok(status) => {
                if let Some(d) = ctx.progress.deployments.get_mut(name) {
                    d.status = status;
                }
                ctx.checkpoint().await?;
            }
            Err(error) => {
                let failure = super::steps::classify(error, "provider")?;
                ctx.fail(name, failure).await?;
            }
        }
    }

    let any_deployed = providers
        .iter()
        .any(|n| !ctx.progress.failures.contains_key(n));
    let log_urls = super::log_delivery::step(ctx, &service, any_deployed).await?;
    let Some(service) = record(ctx, &providers, Some(&log_urls)).await? else {
        return Ok(Outcome::Done);
    };
    let (kind, message) = match service.status {
        ServiceStatus::Failed => (NotificationKind::Failed, "service creation failed"),
        _ => (NotificationKind::Deployed, "service deployed"),
    };
    info!(job = %job.id, service = %job.service_id, status = %service.status, "create flow finished");
    notify(ctx.backends, &job, kind, message.to_owned()).await;
    Ok(Outcome::Done)
}

/// Writes the provider details the progress has into the service and
/// settles its status if it is still being created (a DELETE may have
/// arrived meanwhile: then only the details are recorded, for the delete
/// flow to clean up). `log_urls`, once the log-delivery step ran, go into
/// the details of the providers that deployed.
async fn record(
    ctx: &mut Ctx<'_>,
    providers: &[String],
    log_urls: Option<&super::log_delivery::LogUrls>,
) -> Result<Option<crate::model::Service>, Stop> {
    let progress = ctx.progress.clone();
    let job = ctx.claim.job.clone();
    Ok(write_back(ctx.backends, &job, |service| {
        for name in providers.iter().chain(progress.failures.keys()) {
            let previous = service.provider_details.get(name).cloned();
            if let Some(detail) = detail_for(&progress, name, previous.as_ref()) {
                service.provider_details.insert(name.clone(), detail);
            }
        }
        if let Some(log_urls) = log_urls {
            super::log_delivery::apply(service, log_urls);
        }
        if service.status == ServiceStatus::CreateInProgress {
            let details: Vec<&ProviderDetail> = service.provider_details.values().collect();
            service.status = settle(&details, ServiceStatus::CreateInProgress);
        }
    })
    .await?)
}
