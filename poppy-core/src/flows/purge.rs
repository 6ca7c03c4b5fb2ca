//! purge_service (§5.5): ask every provider to purge; record errors on the
//! provider details. A soft purge put the service in `update_in_progress`
//! and settles it; a hard purge leaves the status alone.

use tracing::info;

use super::finish::write_back;
use super::progress::StepFailure;
use super::steps::{classify, Ctx, Stop};
use super::Outcome;
use crate::model::{ProviderStatus, PurgeTarget, ServiceStatus};

pub(super) async fn run(
    ctx: &mut Ctx<'_>,
    target: &PurgeTarget,
    hard: bool,
) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(service) = ctx.load_service().await? else {
        return Ok(Outcome::Done);
    };
    for (name, detail) in &service.provider_details {
        let step = format!("purge:{name}");
        if ctx.progress.done.contains(&step) || ctx.progress.failures.contains_key(name) {
            continue;
        }
        let (Some(provider), Some(id)) = (ctx.provider(name), &detail.provider_service_id) else {
            continue;
        };
        let caps = provider.capabilities();
        let unsupported = match target {
            PurgeTarget::All if !caps.purge_all => Some("purging everything"),
            _ if hard && !caps.hard_purge => Some("hard purge"),
            _ if !hard && !caps.soft_purge => Some("soft purge"),
            _ => None,
        };
        if let Some(what) = unsupported {
            let failure = StepFailure {
                message: format!("{name} does not support {what}"),
                info: format!("provider '{name}' capabilities: {caps:?}"),
                class: "provider".to_owned(),
            };
            ctx.fail(name, failure).await?;
            continue;
        }
        match provider.purge(id, &service, target, hard).await {
            Ok(()) => {
                ctx.progress.done.insert(step);
                ctx.checkpoint().await?;
            }
            Err(error) => {
                let failure = classify(error, "provider")?;
                ctx.fail(name, failure).await?;
            }
        }
    }

    let progress = ctx.progress.clone();
    write_back(ctx.backends, &job, |svc| {
        for (name, detail) in svc.provider_details.iter_mut() {
            if let Some(failure) = progress.failures.get(name) {
                detail.error_message = Some(failure.message.clone());
                detail.error_info = Some(failure.info.clone());
                if !hard {
                    detail.status = ProviderStatus::Failed;
                }
            } else if progress.done.contains(&format!("purge:{name}")) {
                detail.clear_error();
                if !hard {
                    detail.status = ProviderStatus::Deployed;
                }
            }
        }
        if !hard && svc.status == ServiceStatus::UpdateInProgress {
            svc.status = if progress.failures.is_empty() {
                ServiceStatus::Deployed
            } else {
                ServiceStatus::Failed
            };
        }
    })
    .await?;
    info!(job = %job.id, service = %job.service_id, hard, failures = progress.failures.len(), "purge flow finished");
    Ok(Outcome::Done)
}
