//! Configuration of the Cassandra store: the `[storage]` keys of
//! `driver = "cassandra"`, validated into [`CassandraSettings`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use cdrs_tokio::consistency::Consistency;
use serde::{Deserialize, Serialize};

/// The environment variable read when `password` is not in the file.
pub const PASSWORD_ENV: &str = "POPPY_CASSANDRA_PASSWORD";

/// Longest keyspace name Cassandra accepts.
const MAX_KEYSPACE_LEN: usize = 48;

/// How many copies of each row the keyspace keeps: one number for every
/// data center, or a number per data center (`NetworkTopologyStrategy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReplicationFactor {
    /// `replication_factor = 3` (with `NetworkTopologyStrategy`: the same
    /// factor in every data center, which needs Cassandra 4.0 or later).
    Uniform(u32),
    /// `replication_factor = { dc1 = 3, dc2 = 2 }`.
    PerDatacenter(BTreeMap<String, u32>),
}

/// The `[storage]` options of `driver = "cassandra"`, as written in the
/// configuration file. Every key has a default; [`CassandraConfig::build`]
/// checks what serde cannot.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CassandraConfig {
    /// `host:port` of the nodes the driver first connects to; it discovers
    /// the rest of the cluster from them.
    pub contact_points: Vec<String>,
    /// The keyspace holding Poppy's tables.
    pub keyspace: String,
    /// User of Cassandra's `PasswordAuthenticator`; `None` connects without
    /// authentication.
    pub username: Option<String>,
    /// Password of `username`; when absent it is read from
    /// `POPPY_CASSANDRA_PASSWORD`.
    pub password: Option<String>,
    /// Consistency level of writes and of the reads that decide a write
    /// (`ONE`, `QUORUM`, `LOCAL_QUORUM`, `EACH_QUORUM`, `ALL`, …).
    pub consistency: String,
    /// Consistency level of plain reads (`get`, `list`, look-ups); defaults
    /// to `consistency`. `ONE` trades read-your-writes for latency.
    pub read_consistency: Option<String>,
    /// Consistency level of the Paxos phase of lightweight transactions:
    /// `SERIAL` (across data centers: domain names are unique globally) or
    /// `LOCAL_SERIAL`.
    pub serial_consistency: String,
    /// Replication class of the keyspace created by automatic migration:
    /// `SimpleStrategy` or `NetworkTopologyStrategy`.
    pub replication_strategy: String,
    /// Copies of each row (see [`ReplicationFactor`]).
    pub replication_factor: ReplicationFactor,
    /// Create the keyspace and apply pending migrations when the store
    /// starts. Off (as in the original): the schema must then have been
    /// migrated before, and the store refuses to start on an old schema.
    pub automatic_schema_migration: bool,
    /// How long connecting (and the first round trip) may take.
    pub connect_timeout_ms: u64,
}

impl Default for CassandraConfig {
    fn default() -> Self {
        Self {
            contact_points: vec!["127.0.0.1:9042".to_owned()],
            keyspace: "poppy".to_owned(),
            username: None,
            password: None,
            consistency: "LOCAL_QUORUM".to_owned(),
            read_consistency: None,
            serial_consistency: "SERIAL".to_owned(),
            replication_strategy: "SimpleStrategy".to_owned(),
            replication_factor: ReplicationFactor::Uniform(1),
            automatic_schema_migration: false,
            connect_timeout_ms: 5_000,
        }
    }
}

impl fmt::Debug for CassandraConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CassandraConfig")
            .field("contact_points", &self.contact_points)
            .field("keyspace", &self.keyspace)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("consistency", &self.consistency)
            .field("read_consistency", &self.read_consistency)
            .field("serial_consistency", &self.serial_consistency)
            .field("replication_strategy", &self.replication_strategy)
            .field("replication_factor", &self.replication_factor)
            .field(
                "automatic_schema_migration",
                &self.automatic_schema_migration,
            )
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .finish()
    }
}

/// A value of a [`CassandraConfig`] that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CassandraConfigError {
    #[error("cassandra: `contact_points` is empty; give at least one \"host:port\"")]
    NoContactPoints,
    #[error("cassandra: contact point '{0}' is not \"host:port\" with a port number")]
    BadContactPoint(String),
    #[error(
        "cassandra: keyspace '{0}' is not a valid name (a letter, then letters, digits or '_', \
         at most 48 characters)"
    )]
    BadKeyspace(String),
    #[error("cassandra: `{key}` = '{value}' is not a consistency level ({expected})")]
    BadConsistency {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error(
        "cassandra: replication_strategy '{0}' is not supported (SimpleStrategy or \
         NetworkTopologyStrategy)"
    )]
    BadStrategy(String),
    #[error("cassandra: replication_factor {0}")]
    BadReplicationFactor(String),
    #[error("cassandra: `username` is set but no password is (set `password` or {PASSWORD_ENV})")]
    MissingPassword,
    #[error("cassandra: a password is set but no `username`")]
    MissingUsername,
    #[error("cassandra: connect_timeout_ms must be at least 1")]
    ZeroTimeout,
}

/// A secret that never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the authenticator only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Validated settings the store runs with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CassandraSettings {
    pub contact_points: Vec<String>,
    pub keyspace: String,
    /// `(username, password)` when authentication is on.
    pub credentials: Option<(String, Secret)>,
    pub write_consistency: Consistency,
    pub read_consistency: Consistency,
    pub serial_consistency: Consistency,
    pub replication: Replication,
    pub automatic_schema_migration: bool,
    pub connect_timeout: Duration,
}

/// The keyspace's replication, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    /// `SimpleStrategy` with one factor.
    Simple(u32),
    /// `NetworkTopologyStrategy` with one factor for every data center.
    NetworkUniform(u32),
    /// `NetworkTopologyStrategy` with a factor per data center.
    NetworkPerDatacenter(BTreeMap<String, u32>),
}

impl Replication {
    /// The CQL map literal of `WITH replication = …`.
    pub fn cql_map(&self) -> String {
        match self {
            Replication::Simple(n) => {
                format!("{{'class': 'SimpleStrategy', 'replication_factor': {n}}}")
            }
            Replication::NetworkUniform(n) => {
                format!("{{'class': 'NetworkTopologyStrategy', 'replication_factor': {n}}}")
            }
            Replication::NetworkPerDatacenter(dcs) => {
                let mut map = "{'class': 'NetworkTopologyStrategy'".to_owned();
                for (dc, n) in dcs {
                    map.push_str(&format!(", '{dc}': {n}"));
                }
                map.push('}');
                map
            }
        }
    }
}

impl CassandraConfig {
    /// Validates the configuration, reading the password from
    /// `POPPY_CASSANDRA_PASSWORD` when the file has none.
    pub fn build(&self) -> Result<CassandraSettings, CassandraConfigError> {
        self.build_with_env(|name| std::env::var(name).ok())
    }

    /// [`CassandraConfig::build`] with the environment given as a function
    /// (tests).
    pub fn build_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<CassandraSettings, CassandraConfigError> {
        if self.contact_points.is_empty() {
            return Err(CassandraConfigError::NoContactPoints);
        }
        for point in &self.contact_points {
            let port = point
                .rsplit_once(':')
                .map(|(host, port)| (host, port.parse::<u16>()));
            match port {
                Some((host, Ok(_))) if !host.is_empty() => {}
                _ => return Err(CassandraConfigError::BadContactPoint(point.clone())),
            }
        }
        if !is_identifier(&self.keyspace, MAX_KEYSPACE_LEN) {
            return Err(CassandraConfigError::BadKeyspace(self.keyspace.clone()));
        }
        // `consistency` also reads (the reads a write decides on), so it can
        // be neither ANY (write-only) nor a serial level (read-only).
        let write_consistency = match parse_consistency("consistency", &self.consistency)? {
            Consistency::Any | Consistency::Serial | Consistency::LocalSerial => {
                return Err(CassandraConfigError::BadConsistency {
                    key: "consistency",
                    value: self.consistency.clone(),
                    expected: "a level that both reads and writes: ONE, TWO, THREE, QUORUM, \
                               ALL, LOCAL_QUORUM, EACH_QUORUM or LOCAL_ONE",
                })
            }
            level => level,
        };
        let read_consistency = match &self.read_consistency {
            Some(level) => match parse_consistency("read_consistency", level)? {
                Consistency::Any => {
                    return Err(CassandraConfigError::BadConsistency {
                        key: "read_consistency",
                        value: level.clone(),
                        expected: "a level that reads (not ANY)",
                    })
                }
                level => level,
            },
            None => write_consistency,
        };
        let serial_consistency =
            match parse_consistency("serial_consistency", &self.serial_consistency) {
                Ok(level @ (Consistency::Serial | Consistency::LocalSerial)) => level,
                _ => {
                    return Err(CassandraConfigError::BadConsistency {
                        key: "serial_consistency",
                        value: self.serial_consistency.clone(),
                        expected: "SERIAL or LOCAL_SERIAL",
                    })
                }
            };
        let replication = self.replication()?;
        let password = self
            .password
            .clone()
            .or_else(|| env(PASSWORD_ENV).filter(|p| !p.is_empty()));
        let credentials = match (&self.username, password) {
            (Some(user), Some(password)) => Some((user.clone(), Secret::new(password))),
            (Some(_), None) => return Err(CassandraConfigError::MissingPassword),
            // A password only in the environment, without a user, is
            // someone else's setting: ignore it; one in the file is a mistake.
            (None, Some(_)) if self.password.is_some() => {
                return Err(CassandraConfigError::MissingUsername)
            }
            (None, _) => None,
        };
        if self.connect_timeout_ms == 0 {
            return Err(CassandraConfigError::ZeroTimeout);
        }
        Ok(CassandraSettings {
            contact_points: self.contact_points.clone(),
            // Unquoted CQL names are case-insensitive and stored lower-case.
            keyspace: self.keyspace.to_ascii_lowercase(),
            credentials,
            write_consistency,
            read_consistency,
            serial_consistency,
            replication,
            automatic_schema_migration: self.automatic_schema_migration,
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
        })
    }

    fn replication(&self) -> Result<Replication, CassandraConfigError> {
        let bad = |message: String| Err(CassandraConfigError::BadReplicationFactor(message));
        let strategy = self
            .replication_strategy
            .rsplit('.')
            .next()
            .unwrap_or_default();
        match (strategy, &self.replication_factor) {
            (_, ReplicationFactor::Uniform(0)) => bad("must be at least 1".to_owned()),
            ("SimpleStrategy", ReplicationFactor::Uniform(n)) => Ok(Replication::Simple(*n)),
            ("SimpleStrategy", ReplicationFactor::PerDatacenter(_)) => bad(
                "per data center needs replication_strategy = \"NetworkTopologyStrategy\""
                    .to_owned(),
            ),
            ("NetworkTopologyStrategy", ReplicationFactor::Uniform(n)) => {
                Ok(Replication::NetworkUniform(*n))
            }
            ("NetworkTopologyStrategy", ReplicationFactor::PerDatacenter(dcs)) => {
                if dcs.is_empty() {
                    return bad("names no data center".to_owned());
                }
                for (dc, n) in dcs {
                    if *n == 0 {
                        return bad(format!("of data center '{dc}' must be at least 1"));
                    }
                    // Data center names go into a quoted CQL literal.
                    if dc.is_empty()
                        || !dc
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                    {
                        return bad(format!("names an invalid data center '{dc}'"));
                    }
                }
                Ok(Replication::NetworkPerDatacenter(dcs.clone()))
            }
            _ => Err(CassandraConfigError::BadStrategy(
                self.replication_strategy.clone(),
            )),
        }
    }
}

/// A consistency level from its CQL name (`LOCAL_QUORUM`), any case,
/// `-` or `_` between words.
pub fn parse_consistency(
    key: &'static str,
    value: &str,
) -> Result<Consistency, CassandraConfigError> {
    let level = match value.trim().to_ascii_uppercase().replace('-', "_").as_str() {
        "ANY" => Consistency::Any,
        "ONE" => Consistency::One,
        "TWO" => Consistency::Two,
        "THREE" => Consistency::Three,
        "QUORUM" => Consistency::Quorum,
        "ALL" => Consistency::All,
        "LOCAL_QUORUM" => Consistency::LocalQuorum,
        "EACH_QUORUM" => Consistency::EachQuorum,
        "SERIAL" => Consistency::Serial,
        "LOCAL_SERIAL" => Consistency::LocalSerial,
        "LOCAL_ONE" => Consistency::LocalOne,
        _ => {
            return Err(CassandraConfigError::BadConsistency {
                key,
                value: value.to_owned(),
                expected: "ANY, ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, EACH_QUORUM, \
                           SERIAL, LOCAL_SERIAL or LOCAL_ONE",
            })
        }
    };
    Ok(level)
}

/// An unquoted CQL identifier: a letter, then letters, digits or `_`.
fn is_identifier(name: &str, max_len: usize) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= max_len
}
