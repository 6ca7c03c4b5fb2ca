//! Configuration of the ZooKeeper job board: the `[jobs]` section with
//! `driver = "zookeeper"`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Settings of [`super::ZkJobBoard`]. Every key is optional in a
/// configuration file; the defaults reach a standalone ZooKeeper on the
/// local machine.
///
/// ```toml
/// [jobs]
/// driver = "zookeeper"
/// hosts = "10.0.0.1:2181,10.0.0.2:2181"
/// root = "/poppy"
/// session_timeout_ms = 10000
/// connect_timeout_ms = 5000
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZookeeperConfig {
    /// Comma-separated `host:port` list of the ensemble's servers.
    pub hosts: String,
    /// The znode under which the board keeps everything (`jobs/`, `ids/`,
    /// `locks/`, `failed/`). Several Poppy deployments can share one
    /// ensemble with different roots.
    pub root: String,
    /// Session timeout asked of the server (it clamps it to its
    /// `2..20 × tickTime`). A worker that dies loses its claims when its
    /// session expires, at the latest this long after it stopped talking.
    pub session_timeout_ms: u64,
    /// How long one board operation keeps retrying through a connection
    /// loss (reconnecting, or opening a new session after an expiry) before
    /// it fails with `PortError::Unavailable`.
    pub connect_timeout_ms: u64,
}

impl Default for ZookeeperConfig {
    fn default() -> Self {
        Self {
            hosts: "127.0.0.1:2181".to_owned(),
            root: "/poppy".to_owned(),
            session_timeout_ms: 10_000,
            connect_timeout_ms: 5_000,
        }
    }
}

impl ZookeeperConfig {
    /// A configuration for `hosts` under `root`, other keys at their defaults.
    pub fn new(hosts: impl Into<String>, root: impl Into<String>) -> Self {
        Self {
            hosts: hosts.into(),
            root: root.into(),
            ..Self::default()
        }
    }

    /// Checks what serde cannot: a non-empty host list, an absolute root
    /// path without a trailing slash or empty segments, and timeouts that
    /// are not zero.
    pub fn validate(&self) -> Result<(), ZookeeperConfigError> {
        let invalid = |key: &'static str, message: String| ZookeeperConfigError { key, message };
        let hosts: Vec<&str> = self.hosts.split(',').map(str::trim).collect();
        if hosts.iter().any(|h| h.is_empty()) {
            return Err(invalid(
                "hosts",
                format!(
                    "'{}' must be a comma-separated list of host:port",
                    self.hosts
                ),
            ));
        }
        if let Some(bad) = hosts.iter().find(|h| !valid_host(h)) {
            return Err(invalid(
                "hosts",
                format!("'{bad}' is not host:port (e.g. 127.0.0.1:2181)"),
            ));
        }
        let root = self.root.as_str();
        let segments_ok = root
            .strip_prefix('/')
            .is_some_and(|rest| rest.split('/').all(valid_segment));
        if !segments_ok {
            return Err(invalid(
                "root",
                format!(
                    "'{root}' must be an absolute znode path such as /poppy (no trailing '/', no \
                     empty, '.' or '..' segments, not the root itself)"
                ),
            ));
        }
        if self.session_timeout_ms == 0 {
            return Err(invalid("session_timeout_ms", "must be above 0".to_owned()));
        }
        if self.connect_timeout_ms == 0 {
            return Err(invalid("connect_timeout_ms", "must be above 0".to_owned()));
        }
        Ok(())
    }

    /// The host list without blanks, as the client wants it.
    pub(crate) fn connect_string(&self) -> String {
        self.hosts
            .split(',')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub(crate) fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.session_timeout_ms)
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}

fn valid_host(host: &str) -> bool {
    match host.rsplit_once(':') {
        Some((name, port)) => !name.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    }
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && !segment.chars().any(|c| c.is_control())
}

/// A ZooKeeper job board configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[jobs] zookeeper: {key}: {message}")]
pub struct ZookeeperConfigError {
    /// The offending key.
    pub key: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid() {
        ZookeeperConfig::default()
            .validate()
            .expect("default config is valid");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = toml::from_str::<ZookeeperConfig>("hosts = \"a:1\"\nroots = \"/x\"\n")
            .expect_err("unknown key");
        assert!(err.to_string().contains("roots"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            (ZookeeperConfig::new("", "/poppy"), "hosts"),
            (ZookeeperConfig::new("a:1,,b:2", "/poppy"), "hosts"),
            (ZookeeperConfig::new("localhost", "/poppy"), "hosts"),
            (ZookeeperConfig::new("localhost:0", "/poppy"), "hosts"),
            (ZookeeperConfig::new("a:1", "poppy"), "root"),
            (ZookeeperConfig::new("a:1", "/"), "root"),
            (ZookeeperConfig::new("a:1", "/poppy/"), "root"),
            (ZookeeperConfig::new("a:1", "/a//b"), "root"),
            (ZookeeperConfig::new("a:1", "/a/../b"), "root"),
            (
                ZookeeperConfig {
                    session_timeout_ms: 0,
                    ..ZookeeperConfig::default()
                },
                "session_timeout_ms",
            ),
            (
                ZookeeperConfig {
                    connect_timeout_ms: 0,
                    ..ZookeeperConfig::default()
                },
                "connect_timeout_ms",
            ),
        ];
        for (config, key) in cases {
            let err = config
                .validate()
                .expect_err(&format!("{config:?} must be rejected"));
            assert_eq!(err.key, key, "{config:?}: {err}");
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn hosts_lists_are_trimmed() {
        let config = ZookeeperConfig::new(" a:1 , b:2", "/p/q");
        config.validate().expect("valid");
        assert_eq!(config.connect_string(), "a:1,b:2");
    }
}
