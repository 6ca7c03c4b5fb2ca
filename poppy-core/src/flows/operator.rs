//! Admin enable/disable (§5.6): the operator status is already stored by the
//! manager; this re-points every operator CNAME (to the provider when
//! enabled, to the operator's "not found" target when disabled).

use tracing::{info, warn};

use super::steps::{classify, Ctx, Stop};
use super::Outcome;
use crate::model::OperatorStatus;

pub(super) async fn run(ctx: &mut Ctx<'_>, status: OperatorStatus) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(service) = ctx.load_service().await? else {
        return Ok(Outcome::Done);
    };
    if service.operator_status != status {
        // A later enable/disable superseded this one; its own job follows.
        return Ok(Outcome::Done);
    }
    let enabled = status == OperatorStatus::Enabled;
    for (name, detail) in &service.provider_details {
        let step = format!("dns:{name}");
        if ctx.progress.done.contains(&step) {
            continue;
        }
        if let Err(error) = ctx
            .backends
            .dns
            .set_enabled(&detail.access_urls, enabled)
            .await
        {
            let failure = classify(error, "dns")?;
            // As the original, a permanent DNS failure here is only logged.
            warn!(job = %job.id, provider = %name, error = %failure.message, "re-pointing DNS failed");
        }
        ctx.progress.done.insert(step);
        ctx.checkpoint().await?;
    }
    info!(job = %job.id, service = %job.service_id, %status, "operator status applied to DNS");
    Ok(Outcome::Done)
}
