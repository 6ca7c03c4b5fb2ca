//! Log delivery in the create and update flows (§5.2 steps 3-5, §5.3
//! step 3): when a service has `log_delivery.enabled` and no container
//! yet, the configured [`LogDelivery`](crate::ports::LogDelivery) makes the
//! project's container with the requester's token; every provider that
//! deployed records the container's public URL (rendered as the service's
//! `log_delivery` link), and a service left with a provider without one has
//! log delivery turned off, as the original did.
//!
//! Without a configured log-delivery service the setting is stored and
//! shown as the tenant gave it (providers that act on it themselves see it
//! in the spec) and nothing here runs.

use tracing::{info, warn};

use super::steps::{classify, Ctx, Stop};
use crate::backends::Backends;
use crate::model::{Job, ProviderStatus, Service};
use crate::ports::current_auth_token;

/// The service wants log delivery and no provider detail names a
/// container yet: a create with log delivery on, or an update that turns
/// it on (turning it off drops the URLs, so off → on makes it again).
pub(crate) fn container_needed(service: &Service) -> bool {
    service.spec.log_delivery.enabled
        && !service
            .provider_details
            .values()
            .any(|d| !d.log_delivery_urls.is_empty())
}

/// Copies the request's token ([`crate::ports::with_auth_token`]) into
/// `job` when its flow will make a log container with it, and only then:
/// the token lives no longer than that job.
pub(crate) fn attach_auth_token(mut job: Job, backends: &Backends, service: &Service) -> Job {
    if backends.log_delivery().is_some() && container_needed(service) {
        job.auth_token = current_auth_token();
    }
    job
}

/// What the log-delivery step leaves for the write-back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LogUrls {
    /// No log-delivery service is configured: details and setting are left
    /// as they are.
    Unmanaged,
    /// The container's public URLs every deployed provider records; empty
    /// when log delivery is off or no container could be made.
    Urls(Vec<String>),
}

/// The log-delivery step (§5.2 step 3, §5.3 step 3). Runs once the
/// providers are done; `any_deployed` is false when every provider failed
/// (then no container is made: nothing would deliver logs to it).
///
/// The container call is idempotent, so a job retried after it repeats it
/// harmlessly. Store outages retry the job; any other error (a refused
/// token, no token) leaves log delivery off, as the original did.
pub(super) async fn step(
    ctx: &Ctx<'_>,
    service: &Service,
    any_deployed: bool,
) -> Result<LogUrls, Stop> {
    let Some(log_delivery) = ctx.backends.log_delivery() else {
        return Ok(LogUrls::Unmanaged);
    };
    if !service.spec.log_delivery.enabled || !any_deployed {
        return Ok(LogUrls::Urls(Vec::new()));
    }
    // Log delivery stays on: the project's container is already made and
    // the same for every provider.
    if let Some(kept) = service
        .provider_details
        .values()
        .find(|d| !d.log_delivery_urls.is_empty())
    {
        return Ok(LogUrls::Urls(kept.log_delivery_urls.clone()));
    }
    let job = &ctx.claim.job;
    match log_delivery
        .ensure_container(&job.project_id, job.auth_token.as_ref())
        .await
    {
        Ok(urls) => {
            if urls.is_empty() {
                info!(job = %job.id, service = %job.service_id, "no log container could be placed; log delivery turned off");
            }
            Ok(LogUrls::Urls(
                urls.into_iter().map(|u| u.public_url).collect(),
            ))
        }
        Err(error) => {
            let failure = classify(error, "log_delivery")?;
            warn!(job = %job.id, service = %job.service_id, error = %failure.message, "log container not made; log delivery turned off");
            Ok(LogUrls::Urls(Vec::new()))
        }
    }
}

/// Records `urls` on every provider detail that did not fail, and turns
/// log delivery off when a provider is left without a container URL
/// (§5.2 step 5).
pub(super) fn apply(service: &mut Service, urls: &LogUrls) {
    let LogUrls::Urls(urls) = urls else {
        return;
    };
    for detail in service.provider_details.values_mut() {
        if detail.status != ProviderStatus::Failed {
            detail.log_delivery_urls = urls.clone();
        }
    }
    if service.spec.log_delivery.enabled
        && service
            .provider_details
            .values()
            .any(|d| d.log_delivery_urls.is_empty())
    {
        service.spec.log_delivery.enabled = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogDelivery, ProjectId, ProviderDetail, ServiceSpec};

    fn service(enabled: bool, statuses: &[ProviderStatus]) -> Service {
        let spec = ServiceSpec {
            name: "site".into(),
            domains: vec![crate::model::Domain::http("www.site.com")],
            origins: vec![],
            caching: vec![],
            restrictions: vec![],
            flavor_id: "standard".into(),
            log_delivery: LogDelivery { enabled },
        };
        let mut service = Service::new(ProjectId::new("p"), spec, 1);
        for (i, status) in statuses.iter().enumerate() {
            service
                .provider_details
                .insert(format!("p{i}"), ProviderDetail::new(*status));
        }
        service
    }

    const URL: &str = "https://swift.test/v1/AUTH_p/.CDN_ACCESS_LOGS";

    #[test]
    fn deployed_providers_get_the_url_and_log_delivery_stays_on() {
        let mut s = service(true, &[ProviderStatus::Deployed, ProviderStatus::Deployed]);
        apply(&mut s, &LogUrls::Urls(vec![URL.into()]));
        assert!(s.spec.log_delivery.enabled);
        assert!(s
            .provider_details
            .values()
            .all(|d| d.log_delivery_urls == [URL]));
    }

    #[test]
    fn a_failed_provider_or_no_container_turns_log_delivery_off() {
        let mut s = service(true, &[ProviderStatus::Deployed, ProviderStatus::Failed]);
        apply(&mut s, &LogUrls::Urls(vec![URL.into()]));
        assert!(!s.spec.log_delivery.enabled);
        assert_eq!(s.provider_details["p0"].log_delivery_urls, [URL]);
        assert!(s.provider_details["p1"].log_delivery_urls.is_empty());

        let mut s = service(true, &[ProviderStatus::Deployed]);
        apply(&mut s, &LogUrls::Urls(Vec::new()));
        assert!(!s.spec.log_delivery.enabled);
    }

    #[test]
    fn unmanaged_leaves_everything_as_it_was() {
        let mut s = service(true, &[ProviderStatus::Deployed]);
        let before = s.clone();
        apply(&mut s, &LogUrls::Unmanaged);
        assert_eq!(s, before);
    }

    #[test]
    fn turning_it_off_drops_the_urls_so_on_again_needs_a_container() {
        let mut s = service(true, &[ProviderStatus::Deployed]);
        apply(&mut s, &LogUrls::Urls(vec![URL.into()]));
        assert!(!container_needed(&s));
        s.spec.log_delivery.enabled = false;
        apply(&mut s, &LogUrls::Urls(Vec::new()));
        assert!(s.provider_details["p0"].log_delivery_urls.is_empty());
        s.spec.log_delivery.enabled = true;
        assert!(container_needed(&s));
    }
}
