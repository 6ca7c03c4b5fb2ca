//! Configuration: one TOML file (none needed for the embedded default) plus
//! `POPPY_*` environment overrides. Sections mirror the original's driver
//! sections (§9.1); every key is optional and unknown keys are an error.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where a configuration problem is.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("configuration file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name} is invalid: {message}")]
    Env { name: String, message: String },
    #[error("configuration is invalid: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    /// Directory for the embedded SQLite database.
    pub data_dir: PathBuf,
    pub storage: DriverSection,
    pub jobs: DriverSection,
    pub dns: DriverSection,
    pub providers: Vec<ProviderSection>,
    pub limits: LimitsConfig,
    pub worker: WorkerConfig,
    /// Flavors created at start-up when missing (so a first create deploys).
    pub flavors: Vec<FlavorSeed>,
    pub log: LogConfig,
    /// Who hears that a flow ended: `driver = "none" | "log" | "webhook"`
    /// plus the driver's keys.
    pub notifications: DriverSection,
    /// Where analytics read traffic metrics: `driver = "none" |
    /// "prometheus" | "memory"` plus the driver's keys.
    pub metrics: DriverSection,
    /// Where log-delivery containers are made (§5.2 step 3): `driver =
    /// "none" | "swift"` plus the driver's keys. With "none" the service's
    /// `log_delivery` setting is stored and shown as given.
    pub log_delivery: DriverSection,
    /// Who may call the operator endpoints (`/v1.0/admin/…`).
    pub admin: AdminConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            data_dir: PathBuf::from("./poppy-data"),
            storage: DriverSection::named("sqlite"),
            jobs: DriverSection::named("sqlite"),
            dns: DriverSection::named("default"),
            providers: vec![ProviderSection {
                name: "mock".to_owned(),
                driver: None,
                options: toml::Table::new(),
            }],
            limits: LimitsConfig::default(),
            worker: WorkerConfig::default(),
            flavors: vec![FlavorSeed {
                id: "standard".to_owned(),
                providers: vec!["mock".to_owned()],
            }],
            log: LogConfig::default(),
            notifications: DriverSection::named("log"),
            metrics: DriverSection::named("none"),
            log_delivery: DriverSection::named("none"),
            admin: AdminConfig::default(),
        }
    }
}

/// `[admin]`: how the operator endpoints recognise operators. A caller is
/// one when `role_header` lists `role` (what Keystone's auth middleware
/// sends for a validated token: `X-Roles: admin,member`), or when
/// `token_header` carries the token held by the environment variable
/// `token_env`. Everyone else gets 403 from `/v1.0/admin/…`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Header listing the caller's roles, comma-separated; empty turns the
    /// role check off.
    pub role_header: String,
    /// The operator role.
    pub role: String,
    /// Header carrying the operator token.
    pub token_header: String,
    /// Environment variable holding the operator token; unset turns the
    /// token check off. Set but empty in the environment is an error.
    pub token_env: Option<String>,
    /// Every caller is an operator, as in the original (which relied on a
    /// proxy in front): only for deployments where a proxy checks roles.
    pub open: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            role_header: "X-Roles".to_owned(),
            role: "admin".to_owned(),
            token_header: "X-Admin-Token".to_owned(),
            token_env: None,
            open: false,
        }
    }
}

impl AdminConfig {
    /// The HTTP transport's check, reading the token from `env`.
    pub fn operator_auth(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<poppy_http::OperatorAuth, ConfigError> {
        if self.open {
            return Ok(poppy_http::OperatorAuth::open());
        }
        let mut auth = poppy_http::OperatorAuth::default();
        if !self.role_header.is_empty() {
            auth = poppy_http::OperatorAuth::role(&self.role_header, &self.role);
        }
        if let Some(name) = &self.token_env {
            let token = env(name).filter(|t| !t.is_empty()).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "admin.token_env names {name}, which is not set or empty"
                ))
            })?;
            auth = auth.with_token(&self.token_header, token);
        }
        Ok(auth)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.open {
            return Ok(());
        }
        if self.role_header.is_empty() && self.token_env.is_none() {
            return Err(ConfigError::Invalid(
                "admin: nothing recognises operators: set role_header (and role), or token_env, \
                 or open = true to let every caller use the admin endpoints"
                    .to_owned(),
            ));
        }
        let header_ok = |h: &str| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !self.role_header.is_empty() && (!header_ok(&self.role_header) || self.role.is_empty()) {
            return Err(ConfigError::Invalid(format!(
                "admin: role_header must be a header name and role non-empty, got {:?} / {:?}",
                self.role_header, self.role
            )));
        }
        if self.token_env.is_some() && !header_ok(&self.token_header) {
            return Err(ConfigError::Invalid(format!(
                "admin: token_header must be a header name, got {:?}",
                self.token_header
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Run a worker inside the server process.
    pub worker: bool,
    /// Largest request body in bytes (413 beyond).
    pub body_limit: usize,
    pub request_timeout_secs: u64,
    /// Append `/<project id>` to the base URL of links (`project_id_in_url`).
    pub project_id_in_url: bool,
    /// Longest time a client may take to send a request line and headers,
    /// or stay idle on a kept-alive connection; the connection is then
    /// closed (slowloris).
    pub header_read_timeout_ms: u64,
    /// Most header fields in one request (431 beyond).
    pub max_headers: usize,
    /// Largest request line plus headers in bytes (431 beyond).
    pub max_header_bytes: usize,
    /// Services whose rendered JSON is kept for the next read of the same,
    /// unchanged service (0 turns it off).
    pub render_cache: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8888)),
            worker: true,
            body_limit: 1024 * 1024,
            request_timeout_secs: 30,
            project_id_in_url: false,
            header_read_timeout_ms: 30_000,
            max_headers: 100,
            max_header_bytes: 65_536,
            render_cache: poppy_http::DEFAULT_RENDER_CACHE,
        }
    }
}

/// `driver = "<name>"` plus that driver's own keys, which the driver checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriverSection {
    pub driver: String,
    #[serde(flatten)]
    pub options: toml::Table,
}

impl DriverSection {
    pub fn named(driver: &str) -> Self {
        Self {
            driver: driver.to_owned(),
            options: toml::Table::new(),
        }
    }
}

/// One configured CDN provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderSection {
    /// The name flavors use (`mock`, `akamai`, `akamai-eu`…).
    pub name: String,
    /// The driver; defaults to `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(flatten)]
    pub options: toml::Table,
}

impl ProviderSection {
    pub fn driver(&self) -> &str {
        self.driver.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_services_per_project: u32,
    pub max_services_per_page: u32,
    pub default_cache_ttl: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_services_per_project: 20,
            max_services_per_page: 20,
            default_cache_ttl: poppy_core::model::DEFAULT_CACHE_TTL,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    pub concurrency: usize,
    pub lease_ms: u64,
    pub max_attempts: u32,
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Longest idle wait between polls for jobs posted by other processes.
    pub idle_wait_ms: u64,
    pub shutdown_grace_ms: u64,
    /// 0 disables the reconciler.
    pub reconcile_every_ms: u64,
    pub reconcile_min_age_ms: u64,
    /// How often a provider rollout in progress is polled.
    pub poll_interval_ms: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 8,
            lease_ms: 30_000,
            max_attempts: 10,
            backoff_base_ms: 1_000,
            backoff_max_ms: 300_000,
            idle_wait_ms: 250,
            shutdown_grace_ms: 10_000,
            reconcile_every_ms: 60_000,
            reconcile_min_age_ms: 60_000,
            poll_interval_ms: 5_000,
        }
    }
}

impl WorkerConfig {
    pub fn runner_config(&self) -> poppy_worker::RunnerConfig {
        let ms = Duration::from_millis;
        poppy_worker::RunnerConfig {
            concurrency: self.concurrency.max(1),
            lease: ms(self.lease_ms.max(100)),
            max_attempts: self.max_attempts.max(1),
            backoff_base: ms(self.backoff_base_ms),
            backoff_max: ms(self.backoff_max_ms.max(self.backoff_base_ms)),
            idle_wait: ms(self.idle_wait_ms.max(1)),
            shutdown_grace: ms(self.shutdown_grace_ms),
            reconcile_every: (self.reconcile_every_ms > 0).then(|| ms(self.reconcile_every_ms)),
            reconcile_min_age: ms(self.reconcile_min_age_ms),
            flow: poppy_core::flows::FlowSettings {
                poll_interval: ms(self.poll_interval_ms.max(1)),
            },
            ..poppy_worker::RunnerConfig::default()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlavorSeed {
    pub id: String,
    pub providers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// `tracing` filter directives (`RUST_LOG` wins when set).
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".to_owned(),
        }
    }
}

impl Config {
    /// Reads `path` (if given) over the defaults.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        match path {
            None => Ok(Self::default()),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Self::from_toml(&text).map_err(|message| ConfigError::Parse {
                    path: path.to_owned(),
                    message,
                })
            }
        }
    }

    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Applies `POPPY_LISTEN`, `POPPY_DATA_DIR` and `POPPY_LOG_FORMAT`.
    pub fn apply_env(&mut self) -> Result<(), ConfigError> {
        self.apply_env_from(|name| std::env::var(name).ok())
    }

    /// [`Config::apply_env`] with an injectable lookup (tests).
    pub fn apply_env_from(
        &mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(listen) = var("POPPY_LISTEN") {
            self.server.listen = listen.parse().map_err(|e| ConfigError::Env {
                name: "POPPY_LISTEN".to_owned(),
                message: format!("'{listen}' is not an address like 127.0.0.1:8888: {e}"),
            })?;
        }
        if let Some(dir) = var("POPPY_DATA_DIR") {
            self.data_dir = PathBuf::from(dir);
        }
        if let Some(format) = var("POPPY_LOG_FORMAT") {
            self.log.format = match format.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError::Env {
                        name: "POPPY_LOG_FORMAT".to_owned(),
                        message: format!("'{other}' is not one of text, json"),
                    })
                }
            };
        }
        Ok(())
    }

    /// Cross-field checks the types cannot express.
    pub fn check(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::BTreeSet::new();
        for p in &self.providers {
            if !names.insert(p.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "providers: the name '{}' is configured twice",
                    p.name
                )));
            }
        }
        for f in &self.flavors {
            if f.providers.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "flavors: flavor '{}' lists no providers",
                    f.id
                )));
            }
            for p in &f.providers {
                if !names.contains(p.as_str()) {
                    return Err(ConfigError::Invalid(format!(
                        "flavors: flavor '{}' uses provider '{p}', which is not configured under [[providers]]",
                        f.id
                    )));
                }
            }
        }
        self.admin.check()?;
        if self.limits.max_services_per_page == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_services_per_page must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_embedded_default() {
        let c = Config::from_toml("").expect("empty config");
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8888");
        assert_eq!(c.storage.driver, "sqlite");
        assert_eq!(c.providers[0].name, "mock");
        assert_eq!(c.flavors[0].id, "standard");
        c.check().expect("default config is valid");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = Config::from_toml("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n").unwrap_err();
        assert!(err.contains("lisen"), "{err}");
        assert!(Config::from_toml("bogus = 1").is_err());
    }

    #[test]
    fn driver_sections_keep_driver_options() {
        let c = Config::from_toml(
            "[storage]\ndriver = \"sqlite\"\npath = \"x.db\"\n[[providers]]\nname = \"eu\"\ndriver = \"mock\"\nlatency_ms = 5\n",
        )
        .expect("parses");
        assert_eq!(
            c.storage.options.get("path").and_then(|v| v.as_str()),
            Some("x.db")
        );
        assert_eq!(c.providers[0].driver(), "mock");
        assert_eq!(
            c.providers[0]
                .options
                .get("latency_ms")
                .and_then(|v| v.as_integer()),
            Some(5)
        );
    }

    #[test]
    fn env_overrides_listen_and_data_dir() {
        let mut c = Config::default();
        c.apply_env_from(|name| match name {
            "POPPY_LISTEN" => Some("127.0.0.1:9999".to_owned()),
            "POPPY_DATA_DIR" => Some("/tmp/x".to_owned()),
            _ => None,
        })
        .expect("valid env");
        assert_eq!(c.server.listen.port(), 9999);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        let err = c
            .apply_env_from(|name| (name == "POPPY_LISTEN").then(|| "nope".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("POPPY_LISTEN"));
    }

    #[test]
    fn flavors_must_name_configured_providers() {
        let c = Config::from_toml("[[flavors]]\nid = \"x\"\nproviders = [\"akamai\"]\n")
            .expect("parses");
        let err = c.check().unwrap_err().to_string();
        assert!(err.contains("akamai"), "{err}");
    }
}
