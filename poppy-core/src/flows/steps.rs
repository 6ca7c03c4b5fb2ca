//! The steps flows are made of, and how their errors are classified.

use tracing::{debug, warn};

use super::progress::{Progress, StepFailure};
use super::FlowSettings;
use crate::backends::Backends;
use crate::model::{AccessUrl, Claim, ProviderDeployment, ProviderLink, Service};
use crate::ports::{CdnProvider, PortError};

/// Why a flow stopped before finishing.
#[derive(Debug)]
pub(super) enum Stop {
    /// A transient failure: the whole job runs again later.
    Retry {
        after: Option<std::time::Duration>,
        error: String,
    },
    /// The claim is no longer ours.
    Lost,
}

impl From<PortError> for Stop {
    fn from(error: PortError) -> Self {
        Stop::Retry {
            after: error.retry_after(),
            error: error.to_string(),
        }
    }
}

/// A provider or DNS error: retry the job, or fail this provider for good.
pub(super) fn classify(error: PortError, class: &str) -> Result<StepFailure, Stop> {
    match error {
        PortError::Unavailable { .. }
        | PortError::RateLimited { .. }
        | PortError::Internal { .. } => Err(Stop::from(error)),
        other => Ok(StepFailure {
            message: other.to_string(),
            info: format!("{class} error: {other:?}"),
            class: class.to_owned(),
        }),
    }
}

/// How a provider step reaches the provider.
pub(super) enum Deploy<'a> {
    Create,
    Update { provider_service_id: &'a str },
}

pub(super) struct Ctx<'a> {
    pub backends: &'a Backends,
    pub claim: &'a Claim,
    pub progress: &'a mut Progress,
    pub settings: &'a FlowSettings,
}

impl Ctx<'_> {
    /// Persists the progress. A token mismatch means another worker now
    /// holds the job.
    pub async fn checkpoint(&mut self) -> Result<(), Stop> {
        match self
            .backends
            .jobs
            .checkpoint(self.claim, &self.progress.to_value())
            .await
        {
            Ok(()) => Ok(()),
            Err(PortError::Conflict(_)) => Err(Stop::Lost),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn load_service(&self) -> Result<Option<Service>, Stop> {
        let job = &self.claim.job;
        Ok(self
            .backends
            .store
            .get(&job.project_id, &job.service_id)
            .await?)
    }

    /// The provider names of the service's flavor, or `None` when the flavor
    /// no longer exists.
    pub async fn flavor_providers(&self, service: &Service) -> Result<Option<Vec<String>>, Stop> {
        Ok(self
            .backends
            .flavors
            .get(&service.spec.flavor_id)
            .await?
            .map(|f| f.providers.into_iter().map(|p| p.provider).collect()))
    }

    pub fn provider(&self, name: &str) -> Option<std::sync::Arc<dyn CdnProvider>> {
        self.backends.providers.get(name).cloned()
    }

    pub async fn fail(&mut self, name: &str, failure: StepFailure) -> Result<(), Stop> {
        warn!(job = %self.claim.job.id, provider = name, error = %failure.message, "provider step failed");
        self.progress.failures.insert(name.to_owned(), failure);
        self.checkpoint().await
    }

    /// Provider step then DNS step for one provider, each skipped when the
    /// progress already has its result. `current` are the access URLs the
    /// provider had before (an update re-points them).
    ///
    /// An update changes DNS in two checkpointed phases, so a failure in
    /// the middle never strands a record: first the records of the new
    /// links are made or re-pointed (the result is checkpointed), then the
    /// records only the old access URLs name are deleted ([`Self::prune_dns`]).
    /// Both calls are idempotent, so a retried job repeats the phase it was
    /// in and converges.
    pub async fn deploy(
        &mut self,
        name: &str,
        service: &Service,
        how: Deploy<'_>,
        current: &[AccessUrl],
    ) -> Result<(), Stop> {
        if self.progress.failures.contains_key(name) {
            return Ok(());
        }
        if !self.progress.access_urls.contains_key(name) {
            self.provider_then_dns(name, service, how, current).await?;
        }
        self.prune_dns(name, current).await
    }

    async fn provider_then_dns(
        &mut self,
        name: &str,
        service: &Service,
        how: Deploy<'_>,
        current: &[AccessUrl],
    ) -> Result<(), Stop> {
        let Some(provider) = self.provider(name) else {
            let failure = StepFailure {
                message: format!("provider '{name}' is not configured"),
                info: format!("the flavor names provider '{name}', which this Poppy does not have"),
                class: "configuration".to_owned(),
            };
            return self.fail(name, failure).await;
        };
        let deployment = match self.progress.deployments.get(name) {
            Some(done) => done.clone(),
            None => {
                let result = match how {
                    Deploy::Create => provider.create(service).await,
                    Deploy::Update {
                        provider_service_id,
                    } => provider.update(provider_service_id, service).await,
                };
                match result {
                    Ok(deployment) => {
                        debug!(provider = name, id = %deployment.provider_service_id, "provider step done");
                        self.progress
                            .deployments
                            .insert(name.to_owned(), deployment.clone());
                        self.checkpoint().await?;
                        deployment
                    }
                    Err(error) => {
                        let failure = classify(error, "provider")?;
                        return self.fail(name, failure).await;
                    }
                }
            }
        };
        self.dns(name, service, &deployment, current).await
    }

    /// Makes or re-points the records of the provider's links. On an
    /// update only the access URLs of domains still linked are handed to
    /// `update`, so it deletes nothing yet: the records of dropped domains
    /// are removed by [`Self::prune_dns`] once this result is checkpointed.
    async fn dns(
        &mut self,
        name: &str,
        service: &Service,
        deployment: &ProviderDeployment,
        current: &[AccessUrl],
    ) -> Result<(), Stop> {
        let dns = &self.backends.dns;
        let kept = still_linked(current, &deployment.links);
        let result = if kept.is_empty() {
            dns.create(service, &deployment.links).await
        } else {
            dns.update(service, &kept, &deployment.links).await
        };
        match result {
            Ok(urls) => {
                self.progress.access_urls.insert(name.to_owned(), urls);
                self.checkpoint().await
            }
            Err(error) => {
                let failure = classify(error, "dns")?;
                self.fail(name, failure).await
            }
        }
    }

    /// Second DNS phase of an update: deletes the records that `current`
    /// names and the checkpointed new access URLs no longer use. Skipped
    /// once done (`dns-prune:<provider>`), for a create, and for a provider
    /// that failed.
    pub async fn prune_dns(&mut self, name: &str, current: &[AccessUrl]) -> Result<(), Stop> {
        let step = format!("dns-prune:{name}");
        if current.is_empty()
            || self.progress.failures.contains_key(name)
            || self.progress.done.contains(&step)
        {
            return Ok(());
        }
        let Some(new_urls) = self.progress.access_urls.get(name) else {
            return Ok(());
        };
        let stale = stale_records(current, new_urls);
        if !stale.is_empty() {
            debug!(
                provider = name,
                records = stale.len(),
                "deleting records of removed domains"
            );
            if let Err(error) = self.backends.dns.delete(&stale).await {
                let failure = classify(error, "dns")?;
                return self.fail(name, failure).await;
            }
        }
        self.progress.done.insert(step);
        self.checkpoint().await
    }
}

/// The access URLs of `current` whose domain `links` still has.
fn still_linked(current: &[AccessUrl], links: &[ProviderLink]) -> Vec<AccessUrl> {
    current
        .iter()
        .filter(|u| {
            links
                .iter()
                .any(|l| l.domain.eq_ignore_ascii_case(&u.domain))
        })
        .cloned()
        .collect()
}

/// The records `current` names (operator URLs, and old operator URLs an
/// https upgrade keeps) that none of `new_urls` uses any more, as access
/// URLs for [`DnsManager::delete`](crate::ports::DnsManager::delete).
pub(super) fn stale_records(current: &[AccessUrl], new_urls: &[AccessUrl]) -> Vec<AccessUrl> {
    let used = |name: &str| {
        new_urls.iter().any(|u| {
            [u.operator_url.as_deref(), u.old_operator_url.as_deref()]
                .into_iter()
                .flatten()
                .any(|n| n.eq_ignore_ascii_case(name))
        })
    };
    current
        .iter()
        .filter_map(|old| {
            let mut stale = old.clone();
            stale.operator_url = old.operator_url.clone().filter(|n| !used(n));
            stale.old_operator_url = old.old_operator_url.clone().filter(|n| !used(n));
            (stale.operator_url.is_some() || stale.old_operator_url.is_some()).then_some(stale)
        })
        .collect()
}
