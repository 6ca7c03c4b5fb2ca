//! update_service (§5.3): push the new definition to every provider of the
//! flavor (creating it where a provider is new to the service), re-point
//! DNS, and remove the service from providers the flavor no longer has.
//! On any failure the old provider details are kept, with the failed
//! providers marked `failed` (as the original).

use tracing::info;

use super::finish::{apply_failure, detail_for, notify, settle, write_back};
use super::steps::{classify, Ctx, Deploy, Stop};
use super::Outcome;
use crate::model::{ProviderDetail, ServiceSpec, ServiceStatus};
use crate::ports::NotificationKind;

pub(super) async fn run(ctx: &mut Ctx<'_>, previous: &ServiceSpec) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(service) = ctx.load_service().await? else {
        return Ok(Outcome::Done);
    };
    let providers = ctx.flavor_providers(&service).await?.unwrap_or_default();

    for name in &providers {
        let old = service.provider_details.get(name);
        let current = old.map(|d| d.access_urls.clone()).unwrap_or_default();
        match old.and_then(|d| d.provider_service_id.clone()) {
            Some(id) => {
                ctx.deploy(name, &service, Deploy::Update { provider_service_id: &id }, &current)
                    .await?
            }
            None => ctx.deploy(name, &service, Deploy::Create, &current).await?,
        }
    }

    // Providers the new flavor dropped: take the service off them.
    let dropped: Vec<(String, ProviderDetail)> = service
        .provider_details
        .iter()
        .filter(|(name, _)| !providers.contains(name))
        .map(|(n, d)| (n.clone(), d.clone()))
        .collect();
    for (name, detail) in &dropped {
        let step = format!("remove:{name}");
        if ctx.progress.done.contains(&step) || ctx.progress.failures.contains_key(name) {
            continue;
        }
        if let (Some(provider), Some(id)) = (ctx.provider(name), &detail.provider_service_id) {
            if let Err(error) = provider.delete(id, &service).await {
                let failure = classify(error, "provider")?;
                ctx.fail(name, failure).await?;
                continue;
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

    let progress = ctx.progress.clone();
    let failed = !progress.failures.is_empty();
    let updated = write_back(ctx.backends, &job, |svc| {
        if failed {
            // Keep what providers had; mark the ones that failed.
            for (name, failure) in &progress.failures {
                let detail = svc
                    .provider_details
                    .entry(name.clone())
                    .or_insert_with(|| ProviderDetail::new(crate::model::ProviderStatus::Failed));
                apply_failure(detail, failure);
            }
        } else {
            let mut details = std::collections::BTreeMap::new();
            for name in &providers {
                let previous = svc.provider_details.get(name);
                if let Some(detail) = detail_for(&progress, name, previous) {
                    details.insert(name.clone(), detail);
                }
            }
            svc.provider_details = details;
        }
        if svc.status == ServiceStatus::UpdateInProgress {
            let details: Vec<&ProviderDetail> = svc.provider_details.values().collect();
            svc.status = if failed {
                ServiceStatus::Failed
            } else {
                settle(&details, ServiceStatus::UpdateInProgress)
            };
        }
    })
    .await?;
    let Some(updated) = updated else {
        return Ok(Outcome::Done);
    };
    let removed: Vec<&str> = previous
        .domains
        .iter()
        .filter(|d| !updated.spec.domains.iter().any(|n| n.domain == d.domain))
        .map(|d| d.domain.as_str())
        .collect();
    info!(job = %job.id, service = %job.service_id, status = %updated.status, ?removed, "update flow finished");
    let kind = if failed {
        NotificationKind::Failed
    } else {
        NotificationKind::Deployed
    };
    notify(ctx.backends, &job, kind, format!("service update {}", updated.status)).await;
    Ok(Outcome::Done)
}
