//! The composition root: configuration in, a wired Poppy out.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
use crate::metrics::{MetricsError, PoppyMetrics};

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
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("cannot create the temporary directory {path} for the check: {source}")]
    CheckDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A wired Poppy: the use cases over the configured adapters.
#[derive(Clone, Debug)]
pub struct Poppy {
    manager: Arc<Manager>,
    config: Config,
    metrics: PoppyMetrics,
    /// Who may call `/v1.0/admin/…` (from `[admin]`).
    operator: poppy_http::OperatorAuth,
}

/// Builds every adapter the configuration names, wrapped in the metering
/// decorators of `metrics`, with the database under `data_dir`.
async fn build_backends(
    config: &Config,
    registry: &Registry,
    data_dir: &Path,
    metrics: &PoppyMetrics,
) -> Result<Backends, AssembleError> {
    config.check()?;
    let storage = registry
        .storage(
            (&config.storage.driver, &config.storage.options),
            (&config.jobs.driver, &config.jobs.options),
            data_dir,
        )
        .await?;
    let dns = registry.dns(&config.dns.driver, &config.dns.options)?;
    let mut providers = Providers::new();
    for section in &config.providers {
        let provider = registry.provider(section.driver(), &section.name, &section.options)?;
        // Certificate provisioning reads the operator's settings for this
        // provider from the store, so every process sees an operator's
        // change, not only the one that served the endpoint.
        if let (Some(certificates), Some(store)) =
            (provider.certificates(), storage.certificates.as_ref())
        {
            certificates.attach_store(&section.name, Arc::clone(store));
        }
        providers.insert(metrics.provider(provider));
    }
    Ok(Backends {
        store: metrics.store(storage.store),
        flavors: storage.flavors,
        jobs: metrics.job_board(storage.jobs),
        dns: metrics.dns(dns),
        providers,
        notifier: optional(&config.notifications, |d, o| registry.notifier(d, o))?,
        certificates: storage.certificates,
        metrics: optional(&config.metrics, |d, o| registry.metrics(d, o))?,
        log_delivery: optional(&config.log_delivery, |d, o| registry.log_delivery(d, o))?,
    })
}

/// The adapter of an optional section (`[notifications]`, `[metrics]`,
/// `[log_delivery]`):
/// none for `driver = "none"`.
fn optional<T: ?Sized>(
    section: &crate::config::DriverSection,
    build: impl Fn(&str, &poppy_adapters::registry::Options) -> Result<Arc<T>, RegistryError>,
) -> Result<Option<Arc<T>>, AssembleError> {
    if section.driver == "none" {
        return Ok(None);
    }
    Ok(Some(build(&section.driver, &section.options)?))
}

/// Builds every adapter the configuration names, seeds the configured
/// flavors that are missing, and returns the wired use cases.
pub async fn assemble(config: &Config, registry: &Registry) -> Result<Poppy, AssembleError> {
    let operator = config
        .admin
        .operator_auth(|name| std::env::var(name).ok())?;
    let metrics = PoppyMetrics::new()?;
    let backends = build_backends(config, registry, &config.data_dir, &metrics).await?;
    metrics.sample_queue_from(backends.jobs.clone());
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
        metrics,
        operator,
    })
}

/// What a configuration would run, as found by [`check`].
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where the API would listen.
    pub listen: SocketAddr,
    /// A worker runs inside the server process.
    pub worker: bool,
    /// Where the embedded database would live.
    pub data_dir: PathBuf,
    /// `(kind, driver, name shown by the health endpoint)` of storage, the
    /// job board and DNS.
    pub backends: Vec<(&'static str, String, String)>,
    /// `(name, driver)` of every provider.
    pub providers: Vec<(String, String)>,
    /// `(id, providers)` of the flavors seeded at start-up.
    pub flavors: Vec<(String, Vec<String>)>,
    /// `[limits] max_services_per_project`.
    pub max_services_per_project: u32,
    /// `[limits] max_services_per_page`.
    pub max_services_per_page: u32,
    /// The drivers this build has, as the registry lists them.
    pub compiled_in: String,
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "configuration is valid; poppy-server would run:")?;
        let worker = if self.worker {
            "with an in-process worker"
        } else {
            "without a worker (run poppy-worker)"
        };
        writeln!(f, "  listen     http://{} {worker}", self.listen)?;
        writeln!(f, "  data dir   {}", self.data_dir.display())?;
        for (kind, driver, name) in &self.backends {
            writeln!(f, "  {kind:<10} {driver} ({name})")?;
        }
        for (name, driver) in &self.providers {
            writeln!(f, "  provider   {name} (driver {driver})")?;
        }
        for (id, providers) in &self.flavors {
            writeln!(f, "  flavor     {id} -> {}", providers.join(", "))?;
        }
        writeln!(
            f,
            "  limits     {} services per project, {} per page",
            self.max_services_per_project, self.max_services_per_page
        )?;
        write!(f, "  built in   {}", self.compiled_in)
    }
}

/// Validates `config` without serving: the cross-field checks, then every
/// driver built as the server would build it (so options, features and
/// reachability of remote backends are checked), with the embedded
/// database in a temporary directory that is removed afterwards. Flavors
/// are not seeded. Returns what the server would run.
pub async fn check(config: &Config, registry: &Registry) -> Result<Plan, AssembleError> {
    let dir = std::env::temp_dir().join(format!(
        "poppy-check-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|source| AssembleError::CheckDir {
        path: dir.clone(),
        source,
    })?;
    let built = async {
        let metrics = PoppyMetrics::new()?;
        build_backends(config, registry, &dir, &metrics).await
    }
    .await;
    if let Err(error) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), %error, "could not remove the check's temporary directory");
    }
    let backends = built?;
    Ok(Plan {
        listen: config.server.listen,
        worker: config.server.worker,
        data_dir: config.data_dir.clone(),
        backends: vec![
            (
                "storage",
                config.storage.driver.clone(),
                backends.store.name().to_owned(),
            ),
            (
                "jobs",
                config.jobs.driver.clone(),
                backends.jobs.name().to_owned(),
            ),
            (
                "dns",
                config.dns.driver.clone(),
                backends.dns.name().to_owned(),
            ),
        ],
        providers: config
            .providers
            .iter()
            .map(|p| (p.name.clone(), p.driver().to_owned()))
            .collect(),
        flavors: config
            .flavors
            .iter()
            .map(|f| (f.id.clone(), f.providers.clone()))
            .collect(),
        max_services_per_project: config.limits.max_services_per_project,
        max_services_per_page: config.limits.max_services_per_page,
        compiled_in: format!("{registry:?}"),
    })
}

async fn seed_flavors(backends: &Backends, config: &Config) -> Result<(), AssembleError> {
    for seed in &config.flavors {
        let seed_err = |source| AssembleError::Seed {
            flavor: seed.id.clone(),
            source,
        };
        if backends
            .flavors
            .get(&seed.id)
            .await
            .map_err(seed_err)?
            .is_some()
        {
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

    /// Every metric of this Poppy (what `GET /metrics` serves).
    pub fn metrics(&self) -> &PoppyMetrics {
        &self.metrics
    }

    pub fn http_config(&self) -> HttpConfig {
        let mut config = HttpConfig {
            body_limit: self.config.server.body_limit,
            request_timeout: Duration::from_secs(self.config.server.request_timeout_secs.max(1)),
            project_id_in_url: self.config.server.project_id_in_url,
            metrics: Some(self.metrics.http().clone()),
            header_read_timeout: Duration::from_millis(
                self.config.server.header_read_timeout_ms.max(1),
            ),
            max_headers: self.config.server.max_headers,
            max_header_bytes: self.config.server.max_header_bytes,
            render_cache: self.config.server.render_cache,
            ..HttpConfig::default()
        };
        config.operator = self.operator.clone();
        config
    }

    /// A job runner over the same adapters, recording into the same metrics.
    pub fn runner(&self) -> Runner {
        Runner::new(self.backends().clone(), self.config.worker.runner_config())
            .with_observer(Arc::new(self.metrics.clone()))
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
        let served =
            poppy_http::serve(listener, self.api(), self.http_config(), stopped(stop_rx)).await;
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
}

#[cfg(all(test, feature = "akamai", feature = "sqlite"))]
mod tests {
    use poppy_core::model::{CertStatus, CertType, ProjectId, SslCertificate};
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    const SAN: &str = "san1.example.net";
    const SPS: &str = "/config-secure-provisioning-service/v1/sps-requests";

    fn config(akamai: &str, data_dir: &Path) -> Config {
        let text = format!(
            r#"
            [[providers]]
            name = "akamai"
            host = "{akamai}"
            client_token = "akab-client-token"
            client_secret = "c2VjcmV0"
            access_token = "akab-access-token"
            contract_id = "ctr_1"
            group_id = "grp_1"
            product_id = "prd_1"
            activation_emails = ["ops@example.org"]
            timeout_ms = 5000

            [providers.certificates]
            san_certs = [{{ name = "{SAN}" }}]

            [[flavors]]
            id = "premium"
            providers = ["akamai"]
            "#
        );
        let mut config = Config::from_toml(&text).unwrap_or_else(|e| panic!("config: {e}\n{text}"));
        config.data_dir = data_dir.to_owned();
        config
    }

    /// The operator's settings reach a process that did not serve the
    /// operator's request: a "worker" assembled from the same
    /// configuration reads them from the shared store.
    #[tokio::test]
    async fn an_assembled_akamai_provider_reads_the_operators_certificate_settings() {
        let akamai = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(SPS))
            .respond_with(ResponseTemplate::new(202).set_body_json(json!({
                "spsId": 77,
                "Results": {"size": 1, "data": [{"text": null, "results": {"type": "SUCCESS", "jobID": 88}}]}
            })))
            .mount(&akamai)
            .await;
        let dir = tempfile::tempdir().expect("a temporary data directory");
        let config = config(&akamai.uri(), dir.path());
        let registry = Registry::builtin();
        let server = assemble(&config, &registry)
            .await
            .expect("the server assembles");
        let worker = assemble(&config, &registry)
            .await
            .expect("the worker assembles");
        let store = server
            .backends()
            .certificates
            .clone()
            .expect("sqlite keeps certificates");
        let certificates = worker
            .backends()
            .providers
            .get("akamai")
            .and_then(|p| p.certificates())
            .expect("the akamai provider provisions certificates");
        let request = SslCertificate::new(
            ProjectId::new("p1"),
            "premium",
            "www.abc.com",
            CertType::San,
            1,
        );

        // The operator disabled the only SAN certificate: nothing is sent.
        store
            .put_setting("akamai", &format!("san:{SAN}"), &json!({"enabled": false}))
            .await
            .expect("setting stored");
        let parked = certificates
            .create_certificate(&request, true)
            .await
            .expect("a disabled certificate parks the request");
        assert!(parked.queue_for_retry, "{parked:?}");
        assert!(!parked.track, "{parked:?}");
        let sent = akamai.received_requests().await.unwrap_or_default();
        assert!(
            sent.is_empty(),
            "no SPS call for a disabled certificate: {sent:?}"
        );

        // Enabled again: the request is submitted, and the driver writes the
        // new SPS request back to the operator's settings.
        store
            .put_setting("akamai", &format!("san:{SAN}"), &json!({"enabled": true}))
            .await
            .expect("setting stored");
        let submitted = certificates
            .create_certificate(&request, true)
            .await
            .expect("an enabled certificate takes the request");
        assert!(submitted.track, "{submitted:?}");
        assert_eq!(submitted.details.status(), CertStatus::CreateInProgress);
        assert_eq!(submitted.details.extra_info.sps_id, Some(77));
        let saved = store
            .get_setting("akamai", &format!("san:{SAN}"))
            .await
            .expect("setting read");
        assert_eq!(
            saved,
            Some(json!({"enabled": true, "spsId": 77, "jobId": 88}))
        );
    }
}
