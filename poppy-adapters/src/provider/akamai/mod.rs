//! The Akamai CDN provider: one Property Manager (PAPI) property per Poppy
//! service, activated on the configured network, purged with Fast Purge
//! (CCU v3), every call signed with EdgeGrid.
//!
//! - **create** finds the property named `<property_prefix><service id>`
//!   (PAPI search, then the group's list) or makes it (cloned from the
//!   template property when one is configured), then deploys (below). The
//!   provider service id is the property id (`prp_…`).
//! - **deploy** (create and update): on the latest version — or a new
//!   version made from it when the latest was ever activated — make missing
//!   http edge hostnames, put the hostnames (each domain → its edge hostname,
//!   §6.3) and the rule tree ([`rules`]), then activate it. The rule tree
//!   carries a fingerprint of what Poppy wrote, so a retried call that finds
//!   the fingerprint writes nothing, and one that finds the activation
//!   pending or active does not activate again. Returns `DeployInProgress`
//!   while the activation is pending, `Deployed` once it is active.
//! - **status** reads the newest activation on the network: pending →
//!   `DeployInProgress`, active → `Deployed`, failed or aborted (or none)
//!   → `Failed`, a deactivation → `DeleteInProgress`; a missing property →
//!   `NotFound`.
//! - **delete** deactivates the property on the network, waits for it
//!   (`poll` settings; when it is still pending, `Unavailable` with
//!   `retry_after` so the flow calls again) and deletes the property; a
//!   property already gone is success. Edge hostnames stay: PAPI cannot
//!   delete them.
//! - **purge**: Fast Purge of `<scheme>://<domain><path>` for every domain;
//!   hard → `delete`, soft → `invalidate`; everything → the configured CP
//!   code (without one, purge-all is not a capability).
//!
//! Certificates ([`certificates`]): SAN certificates through SPS `modSan`
//! requests, SNI certificates through CPS enrollments, reached with
//! [`CdnProvider::certificates`]. `san`/`sni` domains point at the
//! `.edgekey.net` edge hostname of `san_edge_hostname`/`sni_edge_hostname`,
//! or else of the first configured SAN/SNI certificate.

mod ccu;
pub mod certificates;
mod client;
mod config;
pub mod edgegrid;
mod error;
pub mod hostnames;
mod papi;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use poppy_core::model::{
    ProviderDeployment, ProviderLink, ProviderStatus, PurgeTarget, Service, ServiceId,
};
use poppy_core::ports::{
    CdnProvider, CertificateProvider, CertificateStore, PortError, ProviderCapabilities,
};
use serde_json::{json, Value};
use tracing::{debug, info};

pub use certificates::AkamaiCertificates;
pub use config::{
    AkamaiConfig, AkamaiConfigError, CertificatesConfig, Network, PollConfig, SanCertConfig,
    Secret, SniCertConfig, ACCESS_TOKEN_ENV, CLIENT_SECRET_ENV, CLIENT_TOKEN_ENV, HOST_ENV,
};

use client::Api;
use config::Settings;
use hostnames::HostnamePlan;
use papi::{newest_on, Papi};
use rules::{MappingOptions, RuleFragment};

/// The provider's name: in flavors, in provider details and in errors.
pub const NAME: &str = "akamai";

/// The Akamai driver; see the [module documentation](self).
#[derive(Debug)]
pub struct AkamaiProvider {
    settings: Settings,
    api: Api,
    certificates: Arc<AkamaiCertificates>,
}

/// Everything a service becomes at Akamai, computed before any call.
struct Plan {
    hostnames: Vec<HostnamePlan>,
    hostnames_body: Value,
    fragment: RuleFragment,
    fingerprint: String,
    comments: String,
}

impl AkamaiProvider {
    /// A provider with `config`, missing credentials taken from the
    /// process environment (`POPPY_AKAMAI_*`).
    pub fn build(config: AkamaiConfig) -> Result<Self, AkamaiConfigError> {
        Self::build_with_env(config, |key| std::env::var(key).ok())
    }

    /// A provider with `config`, missing credentials looked up with `env`.
    pub fn build_with_env(
        config: AkamaiConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AkamaiConfigError> {
        let settings = config.resolve(&env)?;
        let api = Api::new(&settings)?;
        let certificates = Arc::new(AkamaiCertificates::new(&settings, Api::new(&settings)?));
        Ok(Self {
            settings,
            api,
            certificates,
        })
    }

    /// The driver's certificate provisioning (also given by
    /// [`CdnProvider::certificates`]).
    pub fn certificate_provisioning(&self) -> Arc<AkamaiCertificates> {
        Arc::clone(&self.certificates)
    }

    /// Lets certificate provisioning read and update the operator's
    /// certificate settings kept in `store` under the provider's configured
    /// name `provider`; see [`AkamaiCertificates::use_settings_store`].
    pub fn use_certificate_settings(
        &self,
        provider: &str,
        store: Arc<dyn CertificateStore>,
    ) -> bool {
        self.certificates.use_settings_store(provider, store)
    }

    /// The name of the property of service `id`.
    pub fn property_name(&self, id: &ServiceId) -> String {
        format!("{}{id}", self.settings.property_prefix)
    }

    /// The network properties are activated on.
    pub fn network(&self) -> Network {
        self.settings.network
    }

    fn papi(&self) -> Papi<'_> {
        Papi {
            api: &self.api,
            settings: &self.settings,
        }
    }

    fn plan(&self, service: &Service) -> Result<Plan, PortError> {
        let hostnames = hostnames::plan(&service.spec.domains, &self.settings.hostnames)?;
        let hostnames_body = hostnames::hostnames_body(&hostnames);
        let fragment = rules::map_service(
            &service.spec,
            &MappingOptions {
                cp_code: self.settings.cp_code,
            },
        )?;
        let fingerprint = rules::fingerprint(&fragment, &hostnames_body);
        let comments = rules::comments(&service.id.to_string(), &fingerprint);
        Ok(Plan {
            hostnames,
            hostnames_body,
            fragment,
            fingerprint,
            comments,
        })
    }

    fn deployment(
        &self,
        property_id: String,
        plan: &Plan,
        status: ProviderStatus,
    ) -> ProviderDeployment {
        ProviderDeployment {
            provider_service_id: property_id,
            links: plan
                .hostnames
                .iter()
                .map(|h| ProviderLink {
                    domain: h.domain.clone(),
                    href: h.edge_hostname.clone(),
                    certificate: h.certificate,
                })
                .collect(),
            status,
            domains_certificate_status: BTreeMap::new(),
        }
    }

    /// The id of the service's property, made if there is none.
    async fn find_or_create(&self, service: &Service) -> Result<String, PortError> {
        let papi = self.papi();
        let name = self.property_name(&service.id);
        if let Some(id) = papi.find_property(&name).await? {
            debug!(property = %id, %name, "found the service's akamai property");
            return Ok(id);
        }
        match papi.create_property(&name).await {
            Ok(id) => {
                info!(property = %id, %name, "made an akamai property");
                Ok(id)
            }
            // The search index may not show a property made moments ago;
            // PAPI then refuses the duplicate name and the group's list has it.
            Err(PortError::Invalid(message)) => match papi.find_in_group(&name).await? {
                Some(id) => Ok(id),
                None => Err(PortError::Invalid(message)),
            },
            Err(other) => Err(other),
        }
    }

    /// Puts the plan on the property and activates it; see the module docs.
    /// `edge_hostnames_ready`: the caller already made sure every edge
    /// hostname of the plan exists.
    async fn deploy(
        &self,
        property_id: &str,
        service: &Service,
        plan: &Plan,
        edge_hostnames_ready: bool,
    ) -> Result<ProviderStatus, PortError> {
        let papi = self.papi();
        let property = papi.get_property(property_id).await?;
        let latest = property.latest_version;
        let current = papi.get_rules(property_id, latest).await?;
        let version = if rules::fingerprint_of(&current) == Some(plan.fingerprint.as_str()) {
            debug!(
                property = property_id,
                version = latest,
                "version already has this definition"
            );
            latest
        } else {
            // Before a new version is made, so a refusal leaves none behind.
            if !edge_hostnames_ready {
                self.ensure_edge_hostnames(&plan.hostnames).await?;
            }
            let info = papi.get_version(property_id, latest).await?;
            let version = if info.is_editable() {
                latest
            } else {
                papi.create_version(property_id, latest, info.etag.as_deref())
                    .await?
            };
            papi.put_hostnames(property_id, version, &plan.hostnames_body)
                .await?;
            // A new version starts as a copy of the latest, so `current` is
            // its rule tree too.
            let tree = rules::merge(&current, &plan.fragment, &plan.comments);
            papi.put_rules(property_id, version, &tree).await?;
            version
        };

        self.activate(property_id, version, service).await
    }

    /// Activates `version` unless it is already active or activating. PAPI
    /// takes one activation per network at a time, so one of another
    /// version still pending is waited for (`poll` settings), then
    /// `Unavailable` asks the flow to come back later.
    async fn activate(
        &self,
        property_id: &str,
        version: u32,
        service: &Service,
    ) -> Result<ProviderStatus, PortError> {
        let papi = self.papi();
        let network = self.settings.network.papi();
        let mut checks = 0;
        loop {
            let activations = papi.activations(property_id).await?;
            match newest_on(&activations, network) {
                Some(a) if a.activation_type == "ACTIVATE" && a.property_version == version => {
                    if a.status == "ACTIVE" {
                        return Ok(ProviderStatus::Deployed);
                    }
                    if a.is_pending() {
                        return Ok(ProviderStatus::DeployInProgress);
                    }
                }
                Some(a) if a.is_pending() => {
                    checks += 1;
                    if checks >= self.settings.poll_attempts {
                        return Err(PortError::Unavailable {
                            backend: error::BACKEND.to_owned(),
                            message: format!(
                                "property {property_id} has an activation of version {} pending on {network}; \
                                 version {version} can be activated after it",
                                a.property_version
                            ),
                            retry_after: Some(self.settings.poll_interval),
                        });
                    }
                    tokio::time::sleep(self.settings.poll_interval).await;
                    continue;
                }
                _ => {}
            }
            let note = format!(
                "poppy: service {} of project {}",
                service.id, service.project_id
            );
            papi.activate(property_id, version, "ACTIVATE", &note)
                .await?;
            info!(
                property = property_id,
                version, network, "activation requested"
            );
            return Ok(ProviderStatus::DeployInProgress);
        }
    }

    /// Makes the per-domain http edge hostnames that are missing; refuses
    /// when another kind is missing (it needs a certificate or belongs to
    /// the operator).
    async fn ensure_edge_hostnames(&self, plans: &[HostnamePlan]) -> Result<(), PortError> {
        let papi = self.papi();
        let existing: BTreeSet<String> = papi.edge_hostnames().await?.into_iter().collect();
        let mut made = BTreeSet::new();
        for plan in plans {
            let edge = plan.edge_hostname.to_ascii_lowercase();
            if existing.contains(&edge) || made.contains(&edge) {
                continue;
            }
            let split = plan.split(&self.settings.hostnames.http_suffix);
            match (plan.may_create, split) {
                (true, Some((prefix, suffix))) => {
                    papi.create_edge_hostname(&prefix, &suffix).await?;
                    info!(edge_hostname = %edge, "made an akamai edge hostname");
                    made.insert(edge);
                }
                _ => {
                    return Err(PortError::Invalid(format!(
                        "{}: edge hostname '{}' of '{}' does not exist in contract {}; \
                         edge hostnames with certificates and shared ones are provisioned by the operator",
                        plan.field, plan.edge_hostname, plan.domain, self.settings.contract_id
                    )))
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl CdnProvider for AkamaiProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn capabilities(&self) -> ProviderCapabilities {
        ProviderCapabilities {
            purge_all: self.settings.cp_code.is_some(),
            hard_purge: true,
            soft_purge: true,
            certificates: true,
        }
    }

    fn certificates(&self) -> Option<Arc<dyn CertificateProvider>> {
        Some(self.certificate_provisioning() as Arc<dyn CertificateProvider>)
    }

    async fn is_alive(&self) -> bool {
        self.papi().groups().await.is_ok()
    }

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        let plan = self.plan(service)?;
        // Edge hostnames first, so a domain the contract cannot serve is
        // refused before a property is made for it.
        self.ensure_edge_hostnames(&plan.hostnames).await?;
        let property_id = self.find_or_create(service).await?;
        let status = self.deploy(&property_id, service, &plan, true).await?;
        Ok(self.deployment(property_id, &plan, status))
    }

    async fn update(
        &self,
        provider_service_id: &str,
        service: &Service,
    ) -> Result<ProviderDeployment, PortError> {
        let plan = self.plan(service)?;
        let status = self
            .deploy(provider_service_id, service, &plan, false)
            .await?;
        Ok(self.deployment(provider_service_id.to_owned(), &plan, status))
    }

    async fn delete(&self, provider_service_id: &str, service: &Service) -> Result<(), PortError> {
        let papi = self.papi();
        let network = self.settings.network.papi();
        let id = provider_service_id;
        for attempt in 1..=self.settings.poll_attempts {
            // Activations first: the active version read after them
            // reflects any that just completed.
            let activations = match papi.activations(id).await {
                Ok(a) => a,
                Err(PortError::NotFound(_)) => return Ok(()),
                Err(e) => return Err(e),
            };
            let pending = activations
                .iter()
                .any(|a| a.network == network && a.is_pending());
            if !pending {
                let property = match papi.get_property(id).await {
                    Ok(p) => p,
                    Err(PortError::NotFound(_)) => return Ok(()),
                    Err(e) => return Err(e),
                };
                match property.active_version(network) {
                    None => {
                        papi.delete_property(id).await?;
                        info!(property = id, service = %service.id, "deleted the akamai property");
                        return Ok(());
                    }
                    Some(version) => {
                        let note = format!("poppy: delete of service {}", service.id);
                        papi.activate(id, version, "DEACTIVATE", &note).await?;
                        info!(property = id, version, network, "deactivation requested");
                    }
                }
            }
            if attempt < self.settings.poll_attempts {
                tokio::time::sleep(self.settings.poll_interval).await;
            }
        }
        Err(PortError::Unavailable {
            backend: error::BACKEND.to_owned(),
            message: format!(
                "property {id} is still being deactivated on {network} after {} checks; delete it again later",
                self.settings.poll_attempts
            ),
            retry_after: Some(self.settings.poll_interval),
        })
    }

    async fn purge(
        &self,
        _provider_service_id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        let network = self.settings.network;
        match target {
            PurgeTarget::All => match self.settings.cp_code {
                Some(cp_code) => ccu::purge(&self.api, hard, "cpcode", network, json!([cp_code])).await,
                None => Err(PortError::Invalid(
                    "the akamai provider purges everything by CP code, and none is configured (cp_code)".to_owned(),
                )),
            },
            PurgeTarget::Url(url) => {
                let urls = ccu::urls(&service.spec.domains, url)?;
                ccu::purge(&self.api, hard, "url", network, json!(urls)).await
            }
        }
    }

    async fn status(&self, provider_service_id: &str) -> Result<ProviderStatus, PortError> {
        let papi = self.papi();
        papi.get_property(provider_service_id).await?;
        let activations = papi.activations(provider_service_id).await?;
        let status = match newest_on(&activations, self.settings.network.papi()) {
            None => ProviderStatus::Failed,
            Some(a) if a.activation_type != "ACTIVATE" => ProviderStatus::DeleteInProgress,
            Some(a) if a.is_pending() => ProviderStatus::DeployInProgress,
            Some(a) if a.status == "ACTIVE" => ProviderStatus::Deployed,
            Some(_) => ProviderStatus::Failed,
        };
        Ok(status)
    }
}
