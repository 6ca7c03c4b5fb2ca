//! Driver registry: builds adapters from configuration by name.
//!
//! Built-in drivers register themselves when their Cargo feature is on; a
//! name whose feature is off gives [`RegistryError::FeatureDisabled`]
//! naming the feature, and an embedder can register its own drivers (see
//! `examples/custom_provider.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use poppy_core::model::{ProviderDeployment, ProviderStatus, PurgeTarget, Service};
use poppy_core::ports::{
    CdnProvider, DnsManager, FlavorStore, JobBoard, PortError, ProviderCapabilities, ServiceStore,
};

/// Options of one driver: the keys of its configuration section.
pub type Options = toml::Table;

/// Builds a provider named `name` from its options.
pub type ProviderFactory =
    Arc<dyn Fn(&Options) -> Result<Arc<dyn CdnProvider>, RegistryError> + Send + Sync>;
/// Builds a DNS manager from its options.
pub type DnsFactory =
    Arc<dyn Fn(&Options) -> Result<Arc<dyn DnsManager>, RegistryError> + Send + Sync>;
/// Builds a metrics source (analytics) from its options.
pub type MetricsFactory = Arc<
    dyn Fn(&Options) -> Result<Arc<dyn poppy_core::ports::MetricsSource>, RegistryError>
        + Send
        + Sync,
>;
/// Builds a notifier from its options.
pub type NotifierFactory = Arc<
    dyn Fn(&Options) -> Result<Arc<dyn poppy_core::ports::Notifier>, RegistryError> + Send + Sync,
>;

/// Builds a log-delivery container service from its options.
pub type LogDeliveryFactory = Arc<
    dyn Fn(&Options) -> Result<Arc<dyn poppy_core::ports::LogDelivery>, RegistryError>
        + Send
        + Sync,
>;

/// Why a driver could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("unknown {kind} driver '{driver}' (known: {known})")]
    UnknownDriver {
        kind: &'static str,
        driver: String,
        known: String,
    },
    #[error("{kind} driver '{driver}' needs the Cargo feature '{feature}', which this build does not have; rebuild with `--features {feature}`")]
    FeatureDisabled {
        kind: &'static str,
        driver: String,
        feature: &'static str,
    },
    #[error("{kind} driver '{driver}': invalid options: {message}")]
    Options {
        kind: &'static str,
        driver: String,
        message: String,
    },
    #[error("{kind} driver '{driver}' could not start: {message}")]
    Open {
        kind: &'static str,
        driver: String,
        message: String,
    },
}

/// Drivers this crate knows, and the feature each needs.
const PROVIDER_FEATURES: &[(&str, &str)] = &[
    ("mock", "mock-provider"),
    ("akamai", "akamai"),
    ("fastly", "fastly"),
    ("cloudfront", "cloudfront"),
];
const DNS_FEATURES: &[(&str, &str)] = &[
    ("default", "dns-default"),
    ("route53", "dns-route53"),
    ("rackspace", "dns-rackspace"),
];
const METRICS_FEATURES: &[(&str, &str)] = &[("prometheus", "metrics-prometheus")];
const NOTIFY_FEATURES: &[(&str, &str)] = &[("webhook", "notify-webhook")];
const LOG_DELIVERY_FEATURES: &[(&str, &str)] = &[("swift", "swift")];
const STORAGE_FEATURES: &[(&str, &str)] = &[("sqlite", "sqlite"), ("cassandra", "cassandra")];
const JOBS_FEATURES: &[(&str, &str)] = &[("sqlite", "sqlite"), ("zookeeper", "zookeeper")];

/// The storage side of a deployment: services, flavors and the job board.
#[derive(Clone, Debug)]
pub struct Storage {
    pub store: Arc<dyn ServiceStore>,
    pub flavors: Arc<dyn FlavorStore>,
    pub jobs: Arc<dyn JobBoard>,
    /// SSL certificate records and queues, where the storage driver keeps
    /// them (SQLite and Cassandra do; `None` otherwise).
    pub certificates: Option<Arc<dyn poppy_core::ports::CertificateStore>>,
}

/// Name → constructor for providers and DNS managers.
#[derive(Clone, Default)]
pub struct Registry {
    providers: BTreeMap<String, ProviderFactory>,
    dns: BTreeMap<String, DnsFactory>,
    metrics: BTreeMap<String, MetricsFactory>,
    notifiers: BTreeMap<String, NotifierFactory>,
    log_delivery: BTreeMap<String, LogDeliveryFactory>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("dns", &self.dns.keys().collect::<Vec<_>>())
            .field("metrics", &self.metrics.keys().collect::<Vec<_>>())
            .field("notifiers", &self.notifiers.keys().collect::<Vec<_>>())
            .field(
                "log_delivery",
                &self.log_delivery.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Registry {
    /// A registry without any driver.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every driver compiled into this build.
    pub fn builtin() -> Self {
        #[allow(unused_mut)]
        let mut registry = Self::empty();
        #[cfg(feature = "mock-provider")]
        registry.register_provider(
            crate::provider::mock::NAME,
            Arc::new(|options: &Options| {
                let config: crate::provider::mock::MockProviderConfig =
                    parse("provider", crate::provider::mock::NAME, options)?;
                let provider = crate::provider::mock::MockProvider::build(config)
                    .map_err(options_error("provider", crate::provider::mock::NAME))?;
                Ok(Arc::new(provider) as Arc<dyn CdnProvider>)
            }),
        );
        #[cfg(feature = "akamai")]
        registry.register_provider(
            crate::provider::akamai::NAME,
            Arc::new(|options: &Options| {
                let config: crate::provider::akamai::AkamaiConfig =
                    parse("provider", crate::provider::akamai::NAME, options)?;
                let provider = crate::provider::akamai::AkamaiProvider::build(config)
                    .map_err(options_error("provider", crate::provider::akamai::NAME))?;
                Ok(Arc::new(provider) as Arc<dyn CdnProvider>)
            }),
        );
        #[cfg(feature = "fastly")]
        registry.register_provider(
            crate::provider::fastly::NAME,
            Arc::new(|options: &Options| {
                let config: crate::provider::fastly::FastlyConfig =
                    parse("provider", crate::provider::fastly::NAME, options)?;
                let provider = crate::provider::fastly::FastlyProvider::build(config)
                    .map_err(options_error("provider", crate::provider::fastly::NAME))?;
                Ok(Arc::new(provider) as Arc<dyn CdnProvider>)
            }),
        );
        #[cfg(feature = "cloudfront")]
        registry.register_provider(
            crate::provider::cloudfront::NAME,
            Arc::new(|options: &Options| {
                let config: crate::provider::cloudfront::CloudFrontConfig =
                    parse("provider", crate::provider::cloudfront::NAME, options)?;
                let provider = crate::provider::cloudfront::CloudFrontProvider::build(config)
                    .map_err(options_error("provider", crate::provider::cloudfront::NAME))?;
                Ok(Arc::new(provider) as Arc<dyn CdnProvider>)
            }),
        );
        #[cfg(feature = "dns-default")]
        registry.register_dns(
            crate::dns::default::NAME,
            Arc::new(|options: &Options| {
                let config: crate::dns::default::DefaultDnsConfig =
                    parse("dns", crate::dns::default::NAME, options)?;
                let dns = crate::dns::default::DefaultDns::build(config)
                    .map_err(options_error("dns", crate::dns::default::NAME))?;
                Ok(Arc::new(dns) as Arc<dyn DnsManager>)
            }),
        );
        #[cfg(feature = "dns-route53")]
        registry.register_dns(
            crate::dns::route53::NAME,
            Arc::new(|options: &Options| {
                let config: crate::dns::route53::Route53Config =
                    parse("dns", crate::dns::route53::NAME, options)?;
                let dns = crate::dns::route53::Route53Dns::build(config)
                    .map_err(options_error("dns", crate::dns::route53::NAME))?;
                Ok(Arc::new(dns) as Arc<dyn DnsManager>)
            }),
        );
        #[cfg(feature = "dns-rackspace")]
        registry.register_dns(
            crate::dns::rackspace::NAME,
            Arc::new(|options: &Options| {
                let config: crate::dns::rackspace::RackspaceDnsConfig =
                    parse("dns", crate::dns::rackspace::NAME, options)?;
                let dns = crate::dns::rackspace::RackspaceDns::build(config)
                    .map_err(options_error("dns", crate::dns::rackspace::NAME))?;
                Ok(Arc::new(dns) as Arc<dyn DnsManager>)
            }),
        );
        registry.register_metrics(
            crate::metrics::memory::NAME,
            Arc::new(|options: &Options| {
                if let Some(key) = options.keys().next() {
                    return Err(RegistryError::Options {
                        kind: "metrics",
                        driver: crate::metrics::memory::NAME.to_owned(),
                        message: format!("unknown option '{key}': the memory driver takes none"),
                    });
                }
                Ok(Arc::new(crate::metrics::memory::MemoryMetrics::new())
                    as Arc<dyn poppy_core::ports::MetricsSource>)
            }),
        );
        #[cfg(feature = "metrics-prometheus")]
        registry.register_metrics(
            crate::metrics::prometheus::NAME,
            Arc::new(|options: &Options| {
                let config: crate::metrics::prometheus::PrometheusConfig =
                    parse("metrics", crate::metrics::prometheus::NAME, options)?;
                let source = crate::metrics::prometheus::PrometheusMetrics::build(config)
                    .map_err(options_error("metrics", crate::metrics::prometheus::NAME))?;
                Ok(Arc::new(source) as Arc<dyn poppy_core::ports::MetricsSource>)
            }),
        );
        registry.register_notifier(
            crate::notify::log::NAME,
            Arc::new(|options: &Options| {
                if let Some(key) = options.keys().next() {
                    return Err(RegistryError::Options {
                        kind: "notifications",
                        driver: crate::notify::log::NAME.to_owned(),
                        message: format!("unknown option '{key}': the log driver takes none"),
                    });
                }
                Ok(Arc::new(crate::notify::log::LogNotifier::new())
                    as Arc<dyn poppy_core::ports::Notifier>)
            }),
        );
        #[cfg(feature = "notify-webhook")]
        registry.register_notifier(
            crate::notify::webhook::NAME,
            Arc::new(|options: &Options| {
                let config: crate::notify::webhook::WebhookConfig =
                    parse("notifications", crate::notify::webhook::NAME, options)?;
                let notifier = crate::notify::webhook::WebhookNotifier::build(config)
                    .map_err(options_error("notifications", crate::notify::webhook::NAME))?;
                Ok(Arc::new(notifier) as Arc<dyn poppy_core::ports::Notifier>)
            }),
        );
        #[cfg(feature = "swift")]
        registry.register_log_delivery(
            crate::log_delivery::swift::NAME,
            Arc::new(|options: &Options| {
                let config: crate::log_delivery::swift::SwiftConfig =
                    parse("log_delivery", crate::log_delivery::swift::NAME, options)?;
                let driver = crate::log_delivery::swift::SwiftLogDelivery::build(config).map_err(
                    options_error("log_delivery", crate::log_delivery::swift::NAME),
                )?;
                Ok(Arc::new(driver) as Arc<dyn poppy_core::ports::LogDelivery>)
            }),
        );
        registry
    }

    pub fn register_log_delivery(
        &mut self,
        driver: &str,
        factory: LogDeliveryFactory,
    ) -> &mut Self {
        self.log_delivery.insert(driver.to_owned(), factory);
        self
    }

    /// Builds the log-delivery container service `driver` (`[log_delivery]`).
    pub fn log_delivery(
        &self,
        driver: &str,
        options: &Options,
    ) -> Result<Arc<dyn poppy_core::ports::LogDelivery>, RegistryError> {
        let factory = self.log_delivery.get(driver).ok_or_else(|| {
            missing(
                "log_delivery",
                driver,
                LOG_DELIVERY_FEATURES,
                self.log_delivery.keys(),
            )
        })?;
        factory(options)
    }

    pub fn register_metrics(&mut self, driver: &str, factory: MetricsFactory) -> &mut Self {
        self.metrics.insert(driver.to_owned(), factory);
        self
    }

    pub fn register_notifier(&mut self, driver: &str, factory: NotifierFactory) -> &mut Self {
        self.notifiers.insert(driver.to_owned(), factory);
        self
    }

    /// Builds the metrics source `driver` (analytics).
    pub fn metrics(
        &self,
        driver: &str,
        options: &Options,
    ) -> Result<Arc<dyn poppy_core::ports::MetricsSource>, RegistryError> {
        let factory = self
            .metrics
            .get(driver)
            .ok_or_else(|| missing("metrics", driver, METRICS_FEATURES, self.metrics.keys()))?;
        factory(options)
    }

    /// Builds the notifier `driver`.
    pub fn notifier(
        &self,
        driver: &str,
        options: &Options,
    ) -> Result<Arc<dyn poppy_core::ports::Notifier>, RegistryError> {
        let factory = self.notifiers.get(driver).ok_or_else(|| {
            missing(
                "notifications",
                driver,
                NOTIFY_FEATURES,
                self.notifiers.keys(),
            )
        })?;
        factory(options)
    }

    pub fn register_provider(&mut self, driver: &str, factory: ProviderFactory) -> &mut Self {
        self.providers.insert(driver.to_owned(), factory);
        self
    }

    pub fn register_dns(&mut self, driver: &str, factory: DnsFactory) -> &mut Self {
        self.dns.insert(driver.to_owned(), factory);
        self
    }

    /// Builds provider `name` with `driver`. The provider answers to `name`
    /// (flavors and provider details use it), whatever its driver calls itself.
    pub fn provider(
        &self,
        driver: &str,
        name: &str,
        options: &Options,
    ) -> Result<Arc<dyn CdnProvider>, RegistryError> {
        let factory = self
            .providers
            .get(driver)
            .ok_or_else(|| missing("provider", driver, PROVIDER_FEATURES, self.providers.keys()))?;
        let provider = factory(options)?;
        if provider.name() == name {
            Ok(provider)
        } else {
            Ok(Arc::new(Named {
                name: name.to_owned(),
                inner: provider,
            }))
        }
    }

    pub fn dns(
        &self,
        driver: &str,
        options: &Options,
    ) -> Result<Arc<dyn DnsManager>, RegistryError> {
        let factory = self
            .dns
            .get(driver)
            .ok_or_else(|| missing("dns", driver, DNS_FEATURES, self.dns.keys()))?;
        factory(options)
    }

    /// Opens the service store and the job board. When both are SQLite on
    /// the same file they share one database and the store writes each job
    /// in the same transaction as its service (outbox).
    pub async fn storage(
        &self,
        storage: (&str, &Options),
        jobs: (&str, &Options),
        data_dir: &Path,
    ) -> Result<Storage, RegistryError> {
        let (storage_driver, storage_options) = storage;
        let (jobs_driver, jobs_options) = jobs;
        match (storage_driver, jobs_driver) {
            #[cfg(feature = "sqlite")]
            ("sqlite", "sqlite") => sqlite_storage(storage_options, jobs_options, data_dir).await,
            #[cfg(all(feature = "sqlite", feature = "zookeeper"))]
            ("sqlite", "zookeeper") => {
                sqlite_zookeeper_storage(storage_options, jobs_options, data_dir).await
            }
            #[cfg(all(feature = "cassandra", feature = "zookeeper"))]
            ("cassandra", "zookeeper") => cassandra_storage(storage_options, jobs_options).await,
            #[cfg(feature = "cassandra")]
            ("cassandra", jobs) if jobs != "zookeeper" => Err(RegistryError::Open {
                kind: "storage",
                driver: "cassandra".to_owned(),
                message: format!(
                    "the cassandra store needs the job board every process shares, \
                     [jobs] driver = \"zookeeper\"; '{jobs}' cannot be used with it"
                ),
            }),
            _ => {
                let _ = (storage_options, jobs_options, data_dir);
                Err(unsupported_storage(storage_driver, jobs_driver))
            }
        }
    }
}

/// The error for a storage/jobs pair this build cannot open: a missing
/// feature names the feature.
fn unsupported_storage(storage: &str, jobs: &str) -> RegistryError {
    for (kind, driver, table) in [
        ("storage", storage, STORAGE_FEATURES),
        ("jobs", jobs, JOBS_FEATURES),
    ] {
        match table.iter().find(|(d, _)| *d == driver) {
            Some((_, feature)) if !feature_enabled(feature) => {
                return RegistryError::FeatureDisabled {
                    kind,
                    driver: driver.to_owned(),
                    feature,
                }
            }
            None => {
                return RegistryError::UnknownDriver {
                    kind,
                    driver: driver.to_owned(),
                    known: table.iter().map(|(d, _)| *d).collect::<Vec<_>>().join(", "),
                }
            }
            Some(_) => {}
        }
    }
    RegistryError::Open {
        kind: "storage",
        driver: format!("{storage}+{jobs}"),
        message: "this combination of storage and job board is not supported".to_owned(),
    }
}

fn feature_enabled(feature: &str) -> bool {
    (feature == "sqlite" && cfg!(feature = "sqlite"))
        || (feature == "mock-provider" && cfg!(feature = "mock-provider"))
        || (feature == "dns-default" && cfg!(feature = "dns-default"))
        || (feature == "dns-route53" && cfg!(feature = "dns-route53"))
        || (feature == "dns-rackspace" && cfg!(feature = "dns-rackspace"))
        || (feature == "zookeeper" && cfg!(feature = "zookeeper"))
        || (feature == "akamai" && cfg!(feature = "akamai"))
        || (feature == "fastly" && cfg!(feature = "fastly"))
        || (feature == "cloudfront" && cfg!(feature = "cloudfront"))
        || (feature == "cassandra" && cfg!(feature = "cassandra"))
        || (feature == "metrics-prometheus" && cfg!(feature = "metrics-prometheus"))
        || (feature == "notify-webhook" && cfg!(feature = "notify-webhook"))
        || (feature == "swift" && cfg!(feature = "swift"))
}

#[cfg(feature = "sqlite")]
async fn sqlite_storage(
    storage_options: &Options,
    jobs_options: &Options,
    data_dir: &Path,
) -> Result<Storage, RegistryError> {
    use crate::storage::sqlite::{SqliteDatabase, SqliteOptions};

    let mut options = storage_options.clone();
    let path = match options.remove("path") {
        None => data_dir.join("poppy.db"),
        Some(toml::Value::String(p)) => data_dir.join(p),
        Some(other) => {
            return Err(RegistryError::Options {
                kind: "storage",
                driver: "sqlite".to_owned(),
                message: format!("path must be a string, got {other}"),
            })
        }
    };
    /// `[jobs] driver = "sqlite"` takes only the database file; by default
    /// the storage's, which makes the store an outbox.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct SqliteJobsOptions {
        path: Option<String>,
    }
    let jobs: SqliteJobsOptions = parse("jobs", "sqlite", jobs_options)?;
    let jobs_path = jobs.path.map(|p| data_dir.join(p));
    let sqlite_options: SqliteOptions = parse("storage", "sqlite", &options)?;
    let open = |path: std::path::PathBuf, options: SqliteOptions| async move {
        SqliteDatabase::connect(path.clone(), options)
            .await
            .map_err(|e| RegistryError::Open {
                kind: "storage",
                driver: "sqlite".to_owned(),
                message: format!("{}: {e}", path.display()),
            })
    };
    let db = open(path.clone(), sqlite_options.clone()).await?;
    match jobs_path {
        Some(jobs_path) if jobs_path != path => {
            let jobs_db = open(jobs_path, sqlite_options).await?;
            let store = db.store();
            Ok(Storage {
                store: Arc::new(store.clone()),
                flavors: Arc::new(store),
                jobs: Arc::new(jobs_db.job_board()),
                certificates: Some(Arc::new(db.certificates())),
            })
        }
        _ => {
            let store = db.store().with_outbox(true);
            Ok(Storage {
                store: Arc::new(store.clone()),
                flavors: Arc::new(store),
                jobs: Arc::new(db.job_board()),
                certificates: Some(Arc::new(db.certificates())),
            })
        }
    }
}

/// Opens the ZooKeeper job board from the `[jobs]` options (the keys of
/// [`crate::jobs::zookeeper::ZookeeperConfig`]).
#[cfg(feature = "zookeeper")]
pub(crate) async fn zookeeper_board(
    jobs_options: &Options,
) -> Result<Arc<dyn JobBoard>, RegistryError> {
    use crate::jobs::zookeeper::{ZkJobBoard, ZookeeperConfig, ZookeeperError, NAME};

    let config: ZookeeperConfig = parse("jobs", NAME, jobs_options)?;
    match ZkJobBoard::connect(config).await {
        Ok(board) => Ok(Arc::new(board)),
        Err(ZookeeperError::Config(e)) => Err(RegistryError::Options {
            kind: "jobs",
            driver: NAME.to_owned(),
            message: e.to_string(),
        }),
        Err(e) => Err(RegistryError::Open {
            kind: "jobs",
            driver: NAME.to_owned(),
            message: e.to_string(),
        }),
    }
}

/// SQLite services and flavors with the ZooKeeper job board: the store
/// cannot write jobs in its transactions (no outbox), so workers run the
/// reconciler.
#[cfg(all(feature = "sqlite", feature = "zookeeper"))]
async fn sqlite_zookeeper_storage(
    storage_options: &Options,
    jobs_options: &Options,
    data_dir: &Path,
) -> Result<Storage, RegistryError> {
    use crate::storage::sqlite::{SqliteDatabase, SqliteOptions};

    let mut options = storage_options.clone();
    let path = match options.remove("path") {
        None => data_dir.join("poppy.db"),
        Some(toml::Value::String(p)) => data_dir.join(p),
        Some(other) => {
            return Err(RegistryError::Options {
                kind: "storage",
                driver: "sqlite".to_owned(),
                message: format!("path must be a string, got {other}"),
            })
        }
    };
    let sqlite_options: SqliteOptions = parse("storage", "sqlite", &options)?;
    let jobs = zookeeper_board(jobs_options).await?;
    let db = SqliteDatabase::connect(path.clone(), sqlite_options)
        .await
        .map_err(|e| RegistryError::Open {
            kind: "storage",
            driver: "sqlite".to_owned(),
            message: format!("{}: {e}", path.display()),
        })?;
    let store = db.store().with_outbox(false);
    Ok(Storage {
        store: Arc::new(store.clone()),
        flavors: Arc::new(store),
        jobs,
        certificates: Some(Arc::new(db.certificates())),
    })
}

/// Cassandra services and flavors with the ZooKeeper job board (the
/// distributed topology). The store shares no transaction with the board.
#[cfg(all(feature = "cassandra", feature = "zookeeper"))]
async fn cassandra_storage(
    storage_options: &Options,
    jobs_options: &Options,
) -> Result<Storage, RegistryError> {
    use crate::storage::cassandra::{CassandraConfig, CassandraError, CassandraStore, NAME};

    let config: CassandraConfig = parse("storage", NAME, storage_options)?;
    let store = match CassandraStore::connect(&config).await {
        Ok(store) => store,
        Err(CassandraError::Config(e)) => {
            return Err(RegistryError::Options {
                kind: "storage",
                driver: NAME.to_owned(),
                message: e.to_string(),
            })
        }
        Err(e) => {
            return Err(RegistryError::Open {
                kind: "storage",
                driver: NAME.to_owned(),
                message: e.to_string(),
            })
        }
    };
    let jobs = zookeeper_board(jobs_options).await?;
    let certificates = store.certificates();
    Ok(Storage {
        store: Arc::new(store.clone()),
        flavors: Arc::new(store),
        jobs,
        certificates: Some(Arc::new(certificates)),
    })
}

/// Maps a driver's own configuration error to [`RegistryError::Options`].
// Only the compiled-in drivers use it: none without features.
#[cfg_attr(
    not(any(
        feature = "mock-provider",
        feature = "dns-default",
        feature = "fastly",
        feature = "akamai",
        feature = "cloudfront",
        feature = "dns-route53",
        feature = "dns-rackspace",
        feature = "metrics-prometheus",
        feature = "notify-webhook",
        feature = "swift"
    )),
    allow(dead_code)
)]
fn options_error<E: std::fmt::Display>(
    kind: &'static str,
    driver: &'static str,
) -> impl FnOnce(E) -> RegistryError {
    move |e| RegistryError::Options {
        kind,
        driver: driver.to_owned(),
        message: e.to_string(),
    }
}

// Only the compiled-in drivers use it: none without features.
#[cfg_attr(
    not(any(
        feature = "sqlite",
        feature = "mock-provider",
        feature = "dns-default",
        feature = "zookeeper",
        feature = "cassandra",
        feature = "fastly",
        feature = "akamai",
        feature = "cloudfront",
        feature = "dns-route53",
        feature = "dns-rackspace",
        feature = "metrics-prometheus",
        feature = "notify-webhook",
        feature = "swift"
    )),
    allow(dead_code)
)]
fn parse<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    driver: &str,
    options: &Options,
) -> Result<T, RegistryError> {
    options
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| RegistryError::Options {
            kind,
            driver: driver.to_owned(),
            message: e.message().to_owned(),
        })
}

fn missing<'a>(
    kind: &'static str,
    driver: &str,
    features: &[(&'static str, &'static str)],
    registered: impl Iterator<Item = &'a String>,
) -> RegistryError {
    match features.iter().find(|(d, _)| *d == driver) {
        Some((_, feature)) => RegistryError::FeatureDisabled {
            kind,
            driver: driver.to_owned(),
            feature,
        },
        None => RegistryError::UnknownDriver {
            kind,
            driver: driver.to_owned(),
            known: registered.cloned().collect::<Vec<_>>().join(", "),
        },
    }
}

/// A provider answering to a configured name other than its driver's.
#[derive(Debug)]
struct Named {
    name: String,
    inner: Arc<dyn CdnProvider>,
}

#[async_trait]
impl CdnProvider for Named {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> ProviderCapabilities {
        self.inner.capabilities()
    }
    async fn is_alive(&self) -> bool {
        self.inner.is_alive().await
    }
    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.inner.create(service).await
    }
    async fn update(&self, id: &str, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.inner.update(id, service).await
    }
    async fn delete(&self, id: &str, service: &Service) -> Result<(), PortError> {
        self.inner.delete(id, service).await
    }
    async fn purge(
        &self,
        id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        self.inner.purge(id, service, target, hard).await
    }
    async fn status(&self, id: &str) -> Result<ProviderStatus, PortError> {
        self.inner.status(id).await
    }
    fn certificates(&self) -> Option<Arc<dyn poppy_core::ports::CertificateProvider>> {
        self.inner.certificates()
    }
    fn supports_log_delivery(&self) -> bool {
        self.inner.supports_log_delivery()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_driver_behind_an_off_feature_names_the_feature() {
        let registry = Registry::empty();
        let err = registry
            .provider("akamai", "akamai", &Options::new())
            .unwrap_err();
        assert!(
            matches!(
                &err,
                RegistryError::FeatureDisabled {
                    feature: "akamai",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("--features akamai"), "{err}");
        let err = registry.dns("route53", &Options::new()).unwrap_err();
        assert!(matches!(
            err,
            RegistryError::FeatureDisabled {
                feature: "dns-route53",
                ..
            }
        ));
    }

    #[test]
    fn an_unknown_driver_lists_the_known_ones() {
        let registry = Registry::builtin();
        let err = registry
            .provider("nope", "nope", &Options::new())
            .unwrap_err();
        assert!(matches!(err, RegistryError::UnknownDriver { .. }), "{err}");
    }

    #[cfg(feature = "mock-provider")]
    #[test]
    fn a_provider_answers_to_its_configured_name() {
        let registry = Registry::builtin();
        let p = registry
            .provider("mock", "mock-eu", &Options::new())
            .expect("mock builds");
        assert_eq!(p.name(), "mock-eu");
    }

    #[cfg(feature = "mock-provider")]
    #[test]
    fn unknown_driver_options_are_errors() {
        let registry = Registry::builtin();
        let mut options = Options::new();
        options.insert("latency".to_owned(), toml::Value::Integer(3));
        let err = registry.provider("mock", "mock", &options).unwrap_err();
        assert!(matches!(err, RegistryError::Options { .. }), "{err}");
        assert!(err.to_string().contains("latency"), "{err}");
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn unknown_job_board_options_are_errors() {
        let dir = std::env::temp_dir().join(format!("poppy-registry-{}", std::process::id()));
        let mut jobs = Options::new();
        jobs.insert("pth".to_owned(), toml::Value::String("x.db".to_owned()));
        let err = Registry::builtin()
            .storage(("sqlite", &Options::new()), ("sqlite", &jobs), &dir)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("pth"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }

    // With the feature on, the same call connects to Cassandra instead.
    #[cfg(not(feature = "cassandra"))]
    #[tokio::test]
    async fn storage_behind_an_off_feature_names_the_feature() {
        let registry = Registry::builtin();
        let err = registry
            .storage(
                ("cassandra", &Options::new()),
                ("zookeeper", &Options::new()),
                Path::new("."),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                RegistryError::FeatureDisabled {
                    feature: "cassandra",
                    ..
                }
            ),
            "{err}"
        );
    }
}
