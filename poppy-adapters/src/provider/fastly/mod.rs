//! The Fastly driver (feature `fastly`, reference §6.4): one Fastly service
//! per Poppy service, configured through Fastly's versioned REST API.
//!
//! - The Fastly service is named `<service_name_prefix><poppy service id>`;
//!   `create` first searches for that name, so a retried or reclaimed create
//!   reuses the service it made.
//! - Every push (create or update) works on a draft version — an
//!   unactivated, unlocked version left by an interrupted push, or a clone
//!   of the active version — makes its domains, backends, conditions,
//!   response objects and cache settings match the service (objects are
//!   named after their position, with the `poppy-` prefix; objects without
//!   it are left alone), then activates it.
//! - Restrictions become `REQUEST` conditions with a 403 response object;
//!   caching rules become `CACHE` conditions with cache settings (TTL 0 →
//!   `pass`), the rule covering `/*` the service's default TTL. What VCL
//!   conditions without ACLs cannot express (IPv4 networks off octet
//!   boundaries, IPv6 networks, san/sni/custom certificates…) is refused
//!   with `Invalid` naming the field as a JSON pointer.
//! - `delete` deactivates the active version and deletes the service; a
//!   service already gone is fine.
//! - Purge: a URL is purged on every domain of the service (`POST
//!   /purge/<domain><path>`, soft with `Fastly-Soft-Purge: 1`); everything
//!   (`all`, or the URL `/*`) with `purge_all`, which Fastly only does hard.
//! - Errors: 429 → `RateLimited` and 5xx → `Unavailable`, both with
//!   `Retry-After` (or Fastly's rate-limit reset) when given; timeouts and
//!   connection failures → `Unavailable`; other 4xx → `Invalid` with
//!   Fastly's message. The API key never appears in logs or errors.

mod client;
mod config;
mod plan;

use async_trait::async_trait;
use poppy_core::model::{
    ProviderDeployment, ProviderLink, ProviderStatus, PurgeTarget, Service, DEFAULT_REQUEST_URL,
};
use poppy_core::ports::{CdnProvider, PortError, ProviderCapabilities};
use serde::Deserialize;
use tracing::{debug, info};

use client::{segment, CallError, Client};
use plan::{Form, Plan, MANAGED_PREFIX};

pub use config::{FastlyConfig, FastlyConfigError, API_KEY_ENV};

/// The driver's name: in flavors, provider details and errors.
pub const NAME: &str = "fastly";

/// The Fastly CDN; see the [module documentation](self).
#[derive(Debug)]
pub struct FastlyProvider {
    config: FastlyConfig,
    client: Client,
}

#[derive(Debug, Deserialize)]
struct ServiceRef {
    id: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Version {
    number: u32,
    #[serde(default)]
    active: bool,
    #[serde(default)]
    locked: bool,
}

#[derive(Debug, Deserialize)]
struct ServiceDetails {
    #[serde(default)]
    versions: Vec<Version>,
    #[serde(default)]
    active_version: Option<Version>,
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
}

/// The kinds of versioned objects the driver manages, by API path segment.
const CONDITION: &str = "condition";
const DOMAIN: &str = "domain";
const BACKEND: &str = "backend";
const RESPONSE_OBJECT: &str = "response_object";
const CACHE_SETTINGS: &str = "cache_settings";

impl FastlyProvider {
    /// A driver for `config`, after checking it. The API key comes from the
    /// configuration or `POPPY_FASTLY_API_KEY`.
    pub fn build(config: FastlyConfig) -> Result<Self, FastlyConfigError> {
        let client = Client::new(&config)?;
        Ok(Self { config, client })
    }

    /// The configuration this driver runs with.
    pub fn config(&self) -> &FastlyConfig {
        &self.config
    }

    /// The Fastly service name of `service` (how `create` finds it again).
    pub fn service_name(&self, service: &Service) -> String {
        plan::service_name(&self.config, service)
    }

    fn plan(&self, service: &Service) -> Result<Plan, PortError> {
        plan::plan(&self.config, service)
            .map_err(|refusals| PortError::Invalid(plan::refusal_message(&refusals)))
    }

    /// The Fastly service of `service`, made if missing.
    async fn ensure_service(&self, service: &Service) -> Result<String, PortError> {
        let name = self.service_name(service);
        if let Some(id) = self.find_service(&name).await? {
            debug!(provider = NAME, service = %service.id, fastly_id = %id, "reusing the Fastly service made before");
            return Ok(id);
        }
        let comment: String = format!("{} (project {})", service.spec.name, service.project_id)
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        let form: Form = vec![("name", name.clone()), ("comment", comment)];
        match self.client.post::<ServiceRef>("service", &form).await {
            Ok(created) => {
                info!(provider = NAME, service = %service.id, fastly_id = %created.id, "Fastly service created");
                Ok(created.id)
            }
            // Someone (a concurrent attempt) made it meanwhile.
            Err(e) if e.is_conflict() => match self.find_service(&name).await? {
                Some(id) => Ok(id),
                None => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn find_service(&self, name: &str) -> Result<Option<String>, PortError> {
        match self
            .client
            .get::<ServiceRef>(&format!("service/search?name={}", segment(name)))
            .await
        {
            Ok(found) => Ok(Some(found.id)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn details(&self, id: &str) -> Result<ServiceDetails, CallError> {
        self.client
            .get(&format!("service/{}/details", segment(id)))
            .await
    }

    /// A version to edit: the draft an interrupted push left, else a clone
    /// of the active (or latest) version.
    async fn draft_version(&self, id: &str) -> Result<u32, PortError> {
        let details = self.details(id).await?;
        let latest = details.versions.iter().max_by_key(|v| v.number).cloned();
        match latest {
            Some(v) if !v.active && !v.locked => Ok(v.number),
            Some(v) => {
                let base = details.active_version.map_or(v.number, |a| a.number);
                let clone: Version = self
                    .client
                    .put(
                        &format!("service/{}/version/{base}/clone", segment(id)),
                        None,
                    )
                    .await?;
                Ok(clone.number)
            }
            None => {
                let created: Version = self
                    .client
                    .post(&format!("service/{}/version", segment(id)), &[])
                    .await?;
                Ok(created.number)
            }
        }
    }

    /// Makes the objects of `kind` in the version match `wanted`: updates
    /// those that exist, adds the missing ones.
    async fn upsert(
        &self,
        version_path: &str,
        kind: &str,
        existing: &[String],
        wanted: Vec<(String, Form)>,
    ) -> Result<(), PortError> {
        for (name, form) in wanted {
            if existing.contains(&name) {
                self.client
                    .put::<serde_json::Value>(
                        &format!("{version_path}/{kind}/{}", segment(&name)),
                        Some(&form),
                    )
                    .await?;
            } else {
                self.client
                    .post::<serde_json::Value>(&format!("{version_path}/{kind}"), &form)
                    .await?;
            }
        }
        Ok(())
    }

    async fn names(&self, version_path: &str, kind: &str) -> Result<Vec<String>, PortError> {
        let list: Vec<Named> = self.client.get(&format!("{version_path}/{kind}")).await?;
        Ok(list.into_iter().map(|n| n.name).collect())
    }

    /// Deletes the objects of `kind` in `existing` that are not `wanted`
    /// (only the driver's own unless `all`).
    async fn remove_extra(
        &self,
        version_path: &str,
        kind: &str,
        existing: &[String],
        wanted: &[String],
        all: bool,
    ) -> Result<(), PortError> {
        for name in existing {
            if wanted.contains(name) || !(all || name.starts_with(MANAGED_PREFIX)) {
                continue;
            }
            match self
                .client
                .delete(&format!("{version_path}/{kind}/{}", segment(name)))
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Puts `plan` into a draft of service `id` and activates it.
    async fn apply(&self, id: &str, plan: &Plan) -> Result<u32, PortError> {
        let version = self.draft_version(id).await?;
        let vp = format!("service/{}/version/{version}", segment(id));

        let conditions = self.names(&vp, CONDITION).await?;
        let wanted: Vec<(String, Form)> = plan
            .conditions
            .iter()
            .map(|c| (c.name.clone(), c.form()))
            .collect();
        self.upsert(&vp, CONDITION, &conditions, wanted).await?;

        let domains = self.names(&vp, DOMAIN).await?;
        for domain in &plan.domains {
            if !domains.contains(&domain.name) {
                self.client
                    .post::<serde_json::Value>(
                        &format!("{vp}/{DOMAIN}"),
                        &[("name", domain.name.clone())],
                    )
                    .await?;
            }
        }

        let backends = self.names(&vp, BACKEND).await?;
        let wanted: Vec<(String, Form)> = plan
            .backends
            .iter()
            .map(|b| (b.name.clone(), b.form()))
            .collect();
        self.upsert(&vp, BACKEND, &backends, wanted).await?;

        let responses = self.names(&vp, RESPONSE_OBJECT).await?;
        let wanted: Vec<(String, Form)> = plan
            .response_objects
            .iter()
            .map(|r| (r.name.clone(), r.form()))
            .collect();
        self.upsert(&vp, RESPONSE_OBJECT, &responses, wanted)
            .await?;

        let caches = self.names(&vp, CACHE_SETTINGS).await?;
        let wanted: Vec<(String, Form)> = plan
            .cache_settings
            .iter()
            .map(|c| (c.name.clone(), c.form()))
            .collect();
        self.upsert(&vp, CACHE_SETTINGS, &caches, wanted).await?;

        // Removals after additions, and conditions last: objects refer to
        // conditions, and a version must keep a backend and a domain.
        let names = |list: Vec<&String>| list.into_iter().cloned().collect::<Vec<_>>();
        let removals = [
            (
                RESPONSE_OBJECT,
                &responses,
                names(plan.response_objects.iter().map(|r| &r.name).collect()),
                false,
            ),
            (
                CACHE_SETTINGS,
                &caches,
                names(plan.cache_settings.iter().map(|c| &c.name).collect()),
                false,
            ),
            (
                BACKEND,
                &backends,
                names(plan.backends.iter().map(|b| &b.name).collect()),
                false,
            ),
            // Domains belong to the service alone.
            (
                DOMAIN,
                &domains,
                names(plan.domains.iter().map(|d| &d.name).collect()),
                true,
            ),
            (
                CONDITION,
                &conditions,
                names(plan.conditions.iter().map(|c| &c.name).collect()),
                false,
            ),
        ];
        for (kind, existing, wanted, all) in removals {
            self.remove_extra(&vp, kind, existing, &wanted, all).await?;
        }

        let ttl = plan.default_ttl.to_string();
        self.client
            .put::<serde_json::Value>(
                &format!("{vp}/settings"),
                Some(&[("general.default_ttl", ttl)]),
            )
            .await?;
        self.client
            .put::<serde_json::Value>(&format!("{vp}/activate"), None)
            .await?;
        info!(provider = NAME, fastly_id = %id, version, "Fastly version activated");
        Ok(version)
    }

    fn deployment(id: String, plan: &Plan) -> ProviderDeployment {
        ProviderDeployment {
            provider_service_id: id,
            links: plan
                .domains
                .iter()
                .map(|d| ProviderLink {
                    domain: d.name.clone(),
                    href: d.href.clone(),
                    certificate: d.certificate,
                })
                .collect(),
            status: ProviderStatus::Deployed,
            domains_certificate_status: Default::default(),
        }
    }
}

/// The path of a purge URL (`/x`), from what the tenant gave (`x`, `/x`,
/// or a full URL).
fn purge_path(url: &str) -> String {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    };
    if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

#[async_trait]
impl CdnProvider for FastlyProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            purge_all: true,
            hard_purge: true,
            soft_purge: true,
            certificates: false,
        }
    }

    async fn is_alive(&self) -> bool {
        self.client.ping().await
    }

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        // Refuse before touching Fastly: nothing is left behind.
        let plan = self.plan(service)?;
        let id = self.ensure_service(service).await?;
        self.apply(&id, &plan).await?;
        Ok(Self::deployment(id, &plan))
    }

    async fn update(
        &self,
        provider_service_id: &str,
        service: &Service,
    ) -> Result<ProviderDeployment, PortError> {
        let plan = self.plan(service)?;
        self.apply(provider_service_id, &plan).await?;
        Ok(Self::deployment(provider_service_id.to_owned(), &plan))
    }

    async fn delete(&self, provider_service_id: &str, _service: &Service) -> Result<(), PortError> {
        let id = segment(provider_service_id);
        let details = match self.details(provider_service_id).await {
            Ok(details) => details,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if let Some(active) = details.active_version {
            match self
                .client
                .put::<serde_json::Value>(
                    &format!("service/{id}/version/{}/deactivate", active.number),
                    None,
                )
                .await
            {
                Ok(_) => {}
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        match self.client.delete(&format!("service/{id}")).await {
            Ok(()) => {
                info!(provider = NAME, fastly_id = %provider_service_id, "Fastly service deleted");
                Ok(())
            }
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn purge(
        &self,
        provider_service_id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        let path = match target {
            PurgeTarget::All => None,
            PurgeTarget::Url(url) => Some(purge_path(url)).filter(|p| p != DEFAULT_REQUEST_URL),
        };
        let Some(path) = path else {
            if !hard {
                return Err(PortError::Invalid(
                    "Fastly purges everything only hard (purge_all has no soft mode); \
                     purge with hard=true, or soft-purge single URLs"
                        .to_owned(),
                ));
            }
            return Ok(self
                .client
                .purge(
                    &format!("service/{}/purge_all", segment(provider_service_id)),
                    false,
                )
                .await?);
        };
        if path.contains('*') {
            return Err(PortError::Invalid(format!(
                "url {path}: Fastly purges single URLs, not wildcards; purge everything with all=true"
            )));
        }
        if path.chars().any(|c| c.is_control() || c == ' ') {
            return Err(PortError::Invalid(format!(
                "url {path:?} is not a URL path"
            )));
        }
        for domain in service.domain_names() {
            self.client
                .purge(&format!("purge/{domain}{path}"), !hard)
                .await?;
        }
        Ok(())
    }

    async fn status(&self, provider_service_id: &str) -> Result<ProviderStatus, PortError> {
        let details = self.details(provider_service_id).await?;
        Ok(if details.active_version.is_some() {
            ProviderStatus::Deployed
        } else {
            ProviderStatus::DeployInProgress
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_paths_are_normalised() {
        assert_eq!(purge_path("index.html"), "/index.html");
        assert_eq!(purge_path("/a/b"), "/a/b");
        assert_eq!(purge_path("https://www.example.com/a?b=1"), "/a?b=1");
        assert_eq!(purge_path("http://www.example.com"), "/");
    }
}
