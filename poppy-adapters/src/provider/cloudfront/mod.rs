//! The CloudFront driver (feature `cloudfront`, reference §6.5, done fully
//! where the original created a distribution for the first origin only).
//!
//! - One distribution per service: `CallerReference` is the Poppy service
//!   id and the comment `<comment_prefix><service id>`. A retried create
//!   gets `DistributionAlreadyExists`, finds the distribution by its comment
//!   (checking the caller reference) and pushes the definition to it.
//! - Aliases are the domains (https domains need the configured ACM
//!   certificate); every origin is a custom origin (port, http/https); a
//!   cache behaviour per origin or caching path (most specific first) with
//!   legacy `ForwardedValues` and TTLs (min 0, default = max = the rule's
//!   TTL; `Host` forwarded for host header type `domain`); geography
//!   restrictions become the distribution's geo restriction. What needs AWS
//!   WAF or CloudFront Functions is refused with `Invalid` naming the field.
//! - Updates read the configuration and its ETag, change it and send it
//!   with `If-Match`; on `PreconditionFailed` they read again and retry
//!   once, then report `Unavailable` for the flow to retry.
//! - Rollouts: `create` and `update` report `deploy_in_progress` while the
//!   distribution is `InProgress` (CloudFront answers an accepted change
//!   with `InProgress`; it keeps serving the previous configuration while
//!   the new one propagates), and the flows poll `status` until it reads
//!   `Deployed`, as for an Akamai activation. Only then is the service
//!   `deployed`.
//! - `delete` disables the distribution, answers `Unavailable` with
//!   `retry_after = disable_poll_secs` while CloudFront still deploys the
//!   disabled configuration (the flow calls it again), then deletes it with
//!   `If-Match`. A distribution already gone is fine.
//! - Purges are invalidations (`/*` for everything); CloudFront has no soft
//!   purge.
//! - Errors: `Throttling` → `RateLimited`, 5xx and timeouts →
//!   `Unavailable`, `CNAMEAlreadyExists` → `Invalid` naming the domain,
//!   other 4xx → `Invalid` with CloudFront's message. The SDK's own retries
//!   are off: the flows retry with backoff. Credentials never appear in
//!   logs or errors.

mod config;
mod error;
mod plan;

use async_trait::async_trait;
use aws_sdk_cloudfront::types as cf;
use aws_sdk_cloudfront::Client;
use poppy_core::model::{ProviderDeployment, ProviderLink, ProviderStatus, PurgeTarget, Service};
use poppy_core::ports::{CdnProvider, PortError, ProviderCapabilities};
use tokio::sync::OnceCell;
use tracing::{debug, info};

use error::{code, Failure};
use plan::Plan;

pub use config::{CloudFrontConfig, CloudFrontConfigError};

/// The driver's name: in flavors, provider details and errors.
pub const NAME: &str = "cloudfront";

/// CloudFront's status of a distribution whose configuration is live.
const DEPLOYED: &str = "Deployed";

/// Amazon CloudFront; see the [module documentation](self).
pub struct CloudFrontProvider {
    config: CloudFrontConfig,
    /// Made on first use: loading AWS configuration is asynchronous.
    client: OnceCell<Client>,
}

impl std::fmt::Debug for CloudFrontProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFrontProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn internal(what: impl Into<String>) -> PortError {
    PortError::internal(NAME, what.into())
}

fn build_error(e: aws_sdk_cloudfront::error::BuildError) -> PortError {
    internal(format!("building the distribution configuration: {e}"))
}

fn rollout(status: &str) -> ProviderStatus {
    if status == DEPLOYED {
        ProviderStatus::Deployed
    } else {
        ProviderStatus::DeployInProgress
    }
}

impl CloudFrontProvider {
    /// A driver for `config`, after checking it. The AWS client is made on
    /// first use.
    pub fn build(config: CloudFrontConfig) -> Result<Self, CloudFrontConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            client: OnceCell::new(),
        })
    }

    /// The configuration this driver runs with.
    pub fn config(&self) -> &CloudFrontConfig {
        &self.config
    }

    /// The comment of `service`'s distribution (how a retried create finds it).
    pub fn comment(&self, service: &Service) -> String {
        format!("{}{}", self.config.comment_prefix, service.id)
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let c = &self.config;
                let timeouts = aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(c.timeout())
                    .connect_timeout(c.connect_timeout())
                    .build();
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(c.region.clone()))
                    .timeout_config(timeouts)
                    // The flows retry with backoff and Retry-After.
                    .retry_config(aws_config::retry::RetryConfig::disabled());
                if let Some(endpoint) = &c.endpoint {
                    loader = loader.endpoint_url(endpoint);
                }
                if let (Some(id), Some(secret)) = (&c.access_key_id, &c.secret_access_key) {
                    loader =
                        loader.credentials_provider(aws_sdk_cloudfront::config::Credentials::new(
                            id,
                            secret,
                            c.session_token.clone(),
                            None,
                            "poppy-configuration",
                        ));
                }
                Client::new(&loader.load().await)
            })
            .await
    }

    fn plan(&self, service: &Service) -> Result<Plan, PortError> {
        plan::plan(&self.config, service)
            .map_err(|refusals| PortError::Invalid(plan::refusal_message(&refusals)))
    }

    fn config_for(
        &self,
        plan: &Plan,
        service: &Service,
        existing: Option<&cf::DistributionConfig>,
    ) -> Result<cf::DistributionConfig, PortError> {
        plan::distribution_config(
            &self.config,
            plan,
            &service.id.to_string(),
            &self.comment(service),
            existing,
        )
        .map_err(build_error)
    }

    fn deployment(
        id: &str,
        domain_name: &str,
        status: ProviderStatus,
        service: &Service,
    ) -> ProviderDeployment {
        ProviderDeployment {
            provider_service_id: id.to_owned(),
            links: service
                .spec
                .domains
                .iter()
                .map(|d| ProviderLink {
                    domain: d.domain.clone(),
                    href: domain_name.to_owned(),
                    certificate: d.certificate,
                })
                .collect(),
            status,
            domains_certificate_status: Default::default(),
        }
    }

    /// `CNAMEAlreadyExists` as a refusal naming the domain (or every domain
    /// when CloudFront does not say which).
    fn cname_taken(service: &Service, failure: &Failure) -> PortError {
        let named: Vec<String> = service
            .spec
            .domains
            .iter()
            .enumerate()
            .filter(|(_, d)| failure.message.contains(&d.domain))
            .map(|(i, d)| {
                format!(
                    "/domains/{i}/domain: {} is already used by another CloudFront distribution",
                    d.domain
                )
            })
            .collect();
        let fields = if named.is_empty() {
            service
                .spec
                .domains
                .iter()
                .enumerate()
                .map(|(i, d)| format!("/domains/{i}/domain ({})", d.domain))
                .collect::<Vec<_>>()
                .join(", ")
                + ": one of these is already used by another CloudFront distribution"
        } else {
            named.join("; ")
        };
        PortError::Invalid(format!(
            "{fields} (CNAMEAlreadyExists: {})",
            failure.message
        ))
    }

    /// The distribution made for `service` by an earlier create, if any.
    async fn find(&self, service: &Service) -> Result<Option<String>, PortError> {
        let client = self.client().await;
        let comment = self.comment(service);
        let mut marker: Option<String> = None;
        loop {
            let page = client
                .list_distributions()
                .set_marker(marker.clone())
                .max_items(100)
                .send()
                .await
                .map_err(|e| Failure::from_sdk("ListDistributions", e).into_port())?;
            let Some(list) = page.distribution_list() else {
                return Ok(None);
            };
            for summary in list.items() {
                if summary.comment() != comment {
                    continue;
                }
                let got = client
                    .get_distribution_config()
                    .id(summary.id())
                    .send()
                    .await
                    .map_err(|e| Failure::from_sdk("GetDistributionConfig", e).into_port())?;
                let reference = got
                    .distribution_config()
                    .map(|c| c.caller_reference.as_str());
                if reference == Some(service.id.to_string().as_str()) {
                    return Ok(Some(summary.id().to_owned()));
                }
            }
            match list.next_marker() {
                Some(next) if list.is_truncated() && Some(next) != marker.as_deref() => {
                    marker = Some(next.to_owned());
                }
                _ => return Ok(None),
            }
        }
    }

    /// Pushes `plan` to distribution `id` with `If-Match`, re-reading once
    /// on `PreconditionFailed`. Returns the domain name and status.
    async fn push(
        &self,
        id: &str,
        service: &Service,
        plan: &Plan,
    ) -> Result<(String, String), PortError> {
        let client = self.client().await;
        for attempt in 0..2 {
            let got = client
                .get_distribution_config()
                .id(id)
                .send()
                .await
                .map_err(|e| Failure::from_sdk("GetDistributionConfig", e).into_port())?;
            let etag = got
                .e_tag()
                .ok_or_else(|| internal("GetDistributionConfig answered without an ETag"))?;
            let existing = got.distribution_config().ok_or_else(|| {
                internal("GetDistributionConfig answered without a configuration")
            })?;
            let config = self.config_for(plan, service, Some(existing))?;
            match client
                .update_distribution()
                .id(id)
                .if_match(etag)
                .distribution_config(config)
                .send()
                .await
            {
                Ok(out) => {
                    let d = out.distribution().ok_or_else(|| {
                        internal("UpdateDistribution answered without a distribution")
                    })?;
                    info!(provider = NAME, distribution = %id, "CloudFront distribution updated");
                    return Ok((d.domain_name().to_owned(), d.status().to_owned()));
                }
                Err(e) => {
                    let failure = Failure::from_sdk("UpdateDistribution", e);
                    if failure.is(code::PRECONDITION_FAILED) || failure.is(code::INVALID_IF_MATCH) {
                        debug!(provider = NAME, distribution = %id, attempt, "ETag changed; reading again");
                        continue;
                    }
                    if failure.is(code::CNAME_ALREADY_EXISTS) {
                        return Err(Self::cname_taken(service, &failure));
                    }
                    return Err(failure.into_port());
                }
            }
        }
        Err(PortError::Unavailable {
            backend: NAME.to_owned(),
            message: format!(
                "distribution {id} changed under each of two updates (PreconditionFailed); try again"
            ),
            retry_after: None,
        })
    }

    /// One pass of delete: disable, wait for the rollout, delete.
    async fn delete_once(&self, id: &str) -> Result<Option<()>, PortError> {
        let client = self.client().await;
        let got = match client.get_distribution_config().id(id).send().await {
            Ok(got) => got,
            Err(e) => {
                let failure = Failure::from_sdk("GetDistributionConfig", e);
                if failure.is(code::NO_SUCH_DISTRIBUTION) {
                    return Ok(Some(()));
                }
                return Err(failure.into_port());
            }
        };
        let etag = got
            .e_tag()
            .ok_or_else(|| internal("GetDistributionConfig answered without an ETag"))?;
        let config = got
            .distribution_config()
            .ok_or_else(|| internal("GetDistributionConfig answered without a configuration"))?;
        if config.enabled {
            let mut disabled = config.clone();
            disabled.enabled = false;
            match client
                .update_distribution()
                .id(id)
                .if_match(etag)
                .distribution_config(disabled)
                .send()
                .await
            {
                Ok(_) => {
                    info!(provider = NAME, distribution = %id, "CloudFront distribution disabled")
                }
                Err(e) => {
                    let failure = Failure::from_sdk("UpdateDistribution", e);
                    if failure.is(code::NO_SUCH_DISTRIBUTION) {
                        return Ok(Some(()));
                    }
                    if failure.is(code::PRECONDITION_FAILED) || failure.is(code::INVALID_IF_MATCH) {
                        return Ok(None);
                    }
                    return Err(failure.into_port());
                }
            }
        }
        let current = match client.get_distribution().id(id).send().await {
            Ok(current) => current,
            Err(e) => {
                let failure = Failure::from_sdk("GetDistribution", e);
                if failure.is(code::NO_SUCH_DISTRIBUTION) {
                    return Ok(Some(()));
                }
                return Err(failure.into_port());
            }
        };
        let status = current
            .distribution()
            .map(|d| d.status().to_owned())
            .unwrap_or_default();
        if status != DEPLOYED {
            return Err(self.still_deploying(id, &status));
        }
        let etag = current
            .e_tag()
            .ok_or_else(|| internal("GetDistribution answered without an ETag"))?;
        match client
            .delete_distribution()
            .id(id)
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => {
                info!(provider = NAME, distribution = %id, "CloudFront distribution deleted");
                Ok(Some(()))
            }
            Err(e) => {
                let failure = Failure::from_sdk("DeleteDistribution", e);
                if failure.is(code::NO_SUCH_DISTRIBUTION) {
                    Ok(Some(()))
                } else if failure.is(code::NOT_DISABLED) {
                    Err(self.still_deploying(id, "DistributionNotDisabled"))
                } else if failure.is(code::PRECONDITION_FAILED)
                    || failure.is(code::INVALID_IF_MATCH)
                {
                    Ok(None)
                } else {
                    Err(failure.into_port())
                }
            }
        }
    }

    fn still_deploying(&self, id: &str, state: &str) -> PortError {
        PortError::Unavailable {
            backend: NAME.to_owned(),
            message: format!(
                "distribution {id} is disabled but CloudFront is still deploying it ({state}); \
                 it can be deleted once it is Deployed"
            ),
            retry_after: Some(self.config.disable_poll()),
        }
    }
}

#[async_trait]
impl CdnProvider for CloudFrontProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            purge_all: true,
            hard_purge: true,
            soft_purge: false,
            certificates: false,
        }
    }

    async fn is_alive(&self) -> bool {
        self.client()
            .await
            .list_distributions()
            .max_items(1)
            .send()
            .await
            .is_ok()
    }

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        let plan = self.plan(service)?;
        let config = self.config_for(&plan, service, None)?;
        let client = self.client().await;
        match client
            .create_distribution()
            .distribution_config(config)
            .send()
            .await
        {
            Ok(out) => {
                let d = out.distribution().ok_or_else(|| {
                    internal("CreateDistribution answered without a distribution")
                })?;
                info!(provider = NAME, service = %service.id, distribution = %d.id(), "CloudFront distribution created");
                Ok(Self::deployment(
                    d.id(),
                    d.domain_name(),
                    rollout(d.status()),
                    service,
                ))
            }
            Err(e) => {
                let failure = Failure::from_sdk("CreateDistribution", e);
                if failure.is(code::CNAME_ALREADY_EXISTS) {
                    return Err(Self::cname_taken(service, &failure));
                }
                if !failure.is(code::ALREADY_EXISTS) {
                    return Err(failure.into_port());
                }
                // A retried create: push the definition to what we made.
                let Some(id) = self.find(service).await? else {
                    return Err(PortError::Conflict(format!(
                        "{NAME}: a distribution with caller reference {} exists but none is \
                         commented {:?}",
                        service.id,
                        self.comment(service)
                    )));
                };
                debug!(provider = NAME, service = %service.id, distribution = %id, "reusing the distribution made before");
                let (domain_name, status) = self.push(&id, service, &plan).await?;
                Ok(Self::deployment(
                    &id,
                    &domain_name,
                    rollout(&status),
                    service,
                ))
            }
        }
    }

    async fn update(
        &self,
        provider_service_id: &str,
        service: &Service,
    ) -> Result<ProviderDeployment, PortError> {
        let plan = self.plan(service)?;
        let (domain_name, status) = self.push(provider_service_id, service, &plan).await?;
        Ok(Self::deployment(
            provider_service_id,
            &domain_name,
            rollout(&status),
            service,
        ))
    }

    async fn delete(&self, provider_service_id: &str, _service: &Service) -> Result<(), PortError> {
        for _ in 0..2 {
            if let Some(()) = self.delete_once(provider_service_id).await? {
                return Ok(());
            }
        }
        Err(PortError::Unavailable {
            backend: NAME.to_owned(),
            message: format!(
                "distribution {provider_service_id} changed during each of two delete attempts \
                 (PreconditionFailed); try again"
            ),
            retry_after: None,
        })
    }

    async fn purge(
        &self,
        provider_service_id: &str,
        _service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        if !hard {
            return Err(PortError::Invalid(
                "CloudFront invalidations are always hard; it has no soft purge (purge with hard=true)"
                    .to_owned(),
            ));
        }
        let path = match target {
            PurgeTarget::All => "/*".to_owned(),
            PurgeTarget::Url(url) if url.starts_with('/') => url.clone(),
            PurgeTarget::Url(url) => format!("/{url}"),
        };
        if path.trim_end_matches('*').contains('*') {
            return Err(PortError::Invalid(format!(
                "url {path}: CloudFront invalidation paths take '*' only at the end"
            )));
        }
        let batch = cf::InvalidationBatch::builder()
            .caller_reference(uuid::Uuid::new_v4().to_string())
            .paths(
                cf::Paths::builder()
                    .quantity(1)
                    .items(path.clone())
                    .build()
                    .map_err(build_error)?,
            )
            .build()
            .map_err(build_error)?;
        self.client()
            .await
            .create_invalidation()
            .distribution_id(provider_service_id)
            .invalidation_batch(batch)
            .send()
            .await
            .map_err(|e| Failure::from_sdk("CreateInvalidation", e).into_port())?;
        info!(provider = NAME, distribution = %provider_service_id, %path, "CloudFront invalidation created");
        Ok(())
    }

    async fn status(&self, provider_service_id: &str) -> Result<ProviderStatus, PortError> {
        let got = self
            .client()
            .await
            .get_distribution()
            .id(provider_service_id)
            .send()
            .await
            .map_err(|e| Failure::from_sdk("GetDistribution", e).into_port())?;
        let status = got
            .distribution()
            .map(|d| d.status().to_owned())
            .unwrap_or_default();
        Ok(rollout(&status))
    }
}
