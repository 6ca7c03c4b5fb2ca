//! The composition root: configuration in, a wired Poppy out.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use poppy_adapters::{Registry, RegistryError};
use poppy_core::manager::{Manager, Settings};
use poppy_core::model::{Flavor, FlavorProvider};
use poppy_core::ports::{Api, PortError};
use poppy_core::{validate, Backends, Providers};
use poppy_http::HttpConfig;
use poppy_worker::Runner;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

use crate::config::{Config, ConfigError};

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Driver(#[from] RegistryError),
    #[error("seeding flavor '{flavor}' failed: {source}")]
    Seed {
        flavor: String,
        #[source]
        source: PortError,
    },
}

/// A wired Poppy: the use cases over the configured adapters.
#[derive(Clone, Debug)]
pub struct Poppy {
    manager: Arc<Manager>,
    config: Config,
}

/// Builds every adapter the configuration names, seeds the configured
/// flavors that are missing, and returns the wired use cases.
pub async fn assemble(config: &Config, registry: &Registry) -> Result<Poppy, AssembleError> {
    config.check()?;
    let storage = registry
        .storage(
            (&config.storage.driver, &config.storage.options),
            (&config.jobs.driver, &config.jobs.options),
            &config.data_dir,
        )
        .await?;
    let dns = registry.dns(&config.dns.driver, &config.dns.options)?;
    let mut providers = Providers::new();
    for section in &config.providers {
        providers.insert(registry.provider(section.driver(), &section.name, &section.options)?);
    }
    let backends = Backends {
        store: storage.store,
        flavors: storage.flavors,
        jobs: storage.jobs,
        dns,
        providers,
        notifier: None,
    };
    seed_flavors(&backends, config).await?;
    let settings = Settings {
        max_services_per_project: config.limits.max_services_per_project,
        max_services_per_page: config.limits.max_services_per_page,
        validation: validate::Options {
            default_cache_ttl: config.limits.default_cache_ttl,
        },
    };
    Ok(Poppy {
        manager: Arc::new(Manager::new(backends, settings)),
        config: config.clone(),
    })
}

async fn seed_flavors(backends: &Backends, config: &Config) -> Result<(), AssembleError> {
    for seed in &config.flavors {
        let seed_err = |source| AssembleError::Seed {
            flavor: seed.id.clone(),
            source,
        };
        if backends.flavors.get(&seed.id).await.map_err(seed_err)?.is_some() {
            continue;
        }
        let flavor = Flavor {
            id: seed.id.clone(),
            providers: seed
                .providers
                .iter()
                .map(|p| FlavorProvider {
                    provider: p.clone(),
                    provider_url: format!("http://www.{p}.com"),
                })
                .collect(),
            limits: None,
        };
        match backends.flavors.create(&flavor).await {
            // Another process seeded it first.
            Ok(()) | Err(PortError::Conflict(_)) => info!(flavor = %seed.id, "flavor seeded"),
            Err(e) => return Err(seed_err(e)),
        }
    }
    Ok(())
}

impl Poppy {
    pub fn manager(&self) -> &Arc<Manager> {
        &self.manager
    }

    pub fn backends(&self) -> &Backends {
        self.manager.backends()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The driving ports, for a transport or an embedder.
    pub fn api(&self) -> Api {
        Api::from_one(self.manager.clone())
    }

    pub fn http_config(&self) -> HttpConfig {
        HttpConfig {
            body_limit: self.config.server.body_limit,
            request_timeout: Duration::from_secs(self.config.server.request_timeout_secs.max(1)),
            project_id_in_url: self.config.server.project_id_in_url,
        }
    }

    /// A job runner over the same adapters.
    pub fn runner(&self) -> Runner {
        Runner::new(self.backends().clone(), self.config.worker.runner_config())
    }

    /// Serves HTTP on `listener` (and runs the in-process worker unless the
    /// configuration turned it off) until `shutdown` resolves; then finishes
    /// in-flight requests and lets the worker release its claims.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = move |mut rx: watch::Receiver<bool>| async move {
            while !*rx.borrow() {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        let worker = self.config.server.worker.then(|| {
            let runner = self.runner();
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move { runner.run(stop).await })
        });
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let served = poppy_http::serve(listener, self.api(), self.http_config(), stopped(stop_rx)).await;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
}
