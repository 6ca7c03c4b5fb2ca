//! A CDN provider written outside Poppy's crates and plugged in through the
//! registry: implement `CdnProvider`, register a factory under a driver
//! name, and name it in the configuration.
//!
//! ```sh
//! cargo run --example custom_provider
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use poppy::adapters::registry::{Options, RegistryError};
use poppy::adapters::Registry;
use poppy::config::Config;
use poppy::core::model::{
    ProviderDeployment, ProviderLink, ProviderStatus, PurgeTarget, Service, ServiceId,
};
use poppy::core::ports::{CdnProvider, PortError, ProviderCapabilities, ServiceApi};
use serde::Deserialize;
use serde_json::json;

/// The driver's own options, from its `[[providers]]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EdgeOptions {
    /// The provider's host name suffix.
    edge_suffix: String,
}

/// A toy CDN that keeps its "configurations" in memory.
#[derive(Debug)]
struct ToyEdge {
    suffix: String,
    configs: Mutex<BTreeMap<ServiceId, Vec<String>>>,
}

#[async_trait]
impl CdnProvider for ToyEdge {
    fn name(&self) -> &str {
        "toy-edge"
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
        true
    }

    // Idempotent by service id, as the contract asks: a retried create
    // finds the configuration it made.
    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        let domains: Vec<String> = service.domain_names().map(str::to_owned).collect();
        self.configs
            .lock()
            .map_err(|_| PortError::internal("toy-edge", "lock poisoned"))?
            .insert(service.id, domains.clone());
        Ok(ProviderDeployment {
            provider_service_id: service.id.to_string(),
            links: domains
                .iter()
                .map(|d| ProviderLink {
                    domain: d.clone(),
                    href: format!("{d}.{}", self.suffix),
                    certificate: None,
                })
                .collect(),
            status: ProviderStatus::Deployed,
            domains_certificate_status: BTreeMap::new(),
        })
    }

    async fn update(&self, _id: &str, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.create(service).await
    }

    async fn delete(&self, id: &str, _service: &Service) -> Result<(), PortError> {
        if let Ok(service_id) = id.parse() {
            self.configs
                .lock()
                .map_err(|_| PortError::internal("toy-edge", "lock poisoned"))?
                .remove(&service_id);
        }
        Ok(())
    }

    async fn purge(&self, _: &str, _: &Service, _: &PurgeTarget, _: bool) -> Result<(), PortError> {
        Ok(())
    }

    async fn status(&self, _id: &str) -> Result<ProviderStatus, PortError> {
        Ok(ProviderStatus::Deployed)
    }
}

const CONFIG: &str = r#"
[[providers]]
name = "toy-edge"
edge_suffix = "edge.toy.example"

[[flavors]]
id = "toy"
providers = ["toy-edge"]
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut registry = Registry::builtin();
    registry.register_provider(
        "toy-edge",
        Arc::new(|options: &Options| {
            let options: EdgeOptions =
                options.clone().try_into().map_err(|e: toml::de::Error| {
                    RegistryError::Options {
                        kind: "provider",
                        driver: "toy-edge".to_owned(),
                        message: e.to_string(),
                    }
                })?;
            Ok(Arc::new(ToyEdge {
                suffix: options.edge_suffix,
                configs: Mutex::new(BTreeMap::new()),
            }) as Arc<dyn CdnProvider>)
        }),
    );

    let data = tempfile::tempdir()?;
    let mut config = Config::from_toml(CONFIG)?;
    config.data_dir = data.path().to_owned();
    let poppy = poppy::assemble(&config, &registry).await?;

    // Use the use cases directly (no HTTP), and run the worker by hand.
    let project = poppy::core::model::ProjectId::new("demo");
    let id = poppy
        .manager()
        .create_service(
            &project,
            json!({
                "name": "toy service",
                "domains": [{"domain": "cdn.toy-shop.com"}],
                "origins": [{"origin": "origin.toy-shop.com"}],
                "flavor_id": "toy"
            }),
        )
        .await?;
    let runner = poppy.runner();
    while runner.run_one().await?.is_some() {}

    let service = poppy.manager().get_service(&project, &id).await?;
    println!("service {id} is {}", service.status);
    for (provider, detail) in &service.provider_details {
        for url in &detail.access_urls {
            println!(
                "{provider}: {} -> {}",
                url.domain,
                url.provider_url.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(())
}
