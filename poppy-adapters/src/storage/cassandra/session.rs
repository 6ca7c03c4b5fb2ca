//! The driver side: connecting, migrating, preparing every statement once,
//! and running statements at the configured consistency levels.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cdrs_tokio::authenticators::{
    NoneAuthenticatorProvider, SaslAuthenticatorProvider, StaticPasswordAuthenticatorProvider,
};
use cdrs_tokio::cluster::connection_pool::ConnectionPoolConfigBuilder;
use cdrs_tokio::cluster::session::{Session, SessionBuilder, TcpSessionBuilder};
use cdrs_tokio::cluster::{NodeTcpConfigBuilder, TcpConnectionManager};
use cdrs_tokio::consistency::Consistency;
use cdrs_tokio::frame::Envelope;
use cdrs_tokio::load_balancing::TopologyAwareLoadBalancingStrategy;
use cdrs_tokio::query::{BatchQueryBuilder, PreparedQuery, QueryValues};
use cdrs_tokio::statement::StatementParamsBuilder;
use cdrs_tokio::transport::TransportTcp;
use cdrs_tokio::types::rows::Row;
use cdrs_tokio::types::value::Value;
use cdrs_tokio::types::IntoRustByName;
use uuid::Uuid;

use super::config::CassandraSettings;
use super::error::CassandraError;
use super::migrations::{self, CREATE_MIGRATIONS_TABLE, LIST_APPLIED, RECORD_APPLIED};
use super::queries::{cql, Values};

type Lb = TopologyAwareLoadBalancingStrategy<TransportTcp, TcpConnectionManager>;
type CdrsSession = Session<TransportTcp, TcpConnectionManager, Lb>;

/// How long to wait for every node to agree on the schema after migrating.
const SCHEMA_AGREEMENT_WAIT: Duration = Duration::from_secs(10);

/// A connected session in the keyspace, with every statement prepared.
pub(crate) struct Db {
    session: CdrsSession,
    prepared: HashMap<&'static str, PreparedQuery>,
    pub(crate) settings: CassandraSettings,
    clock: MicrosClock,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("contact_points", &self.settings.contact_points)
            .field("keyspace", &self.settings.keyspace)
            .field("prepared", &self.prepared.len())
            .finish()
    }
}

/// Which consistency a statement runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// `read_consistency`: plain reads.
    Read,
    /// `consistency`: writes, and reads a write decides on.
    Write,
    /// `serial_consistency` as the read level: sees every committed (and
    /// finishes any half-done) lightweight transaction.
    Serial,
}

impl Db {
    /// Connects, migrates when configured, checks the schema and prepares
    /// every statement, all within `connect_timeout` per step.
    pub(crate) async fn connect(settings: CassandraSettings) -> Result<Self, CassandraError> {
        // A first session outside any keyspace: a session opened in a
        // keyspace that does not exist fails on every connection.
        let bootstrap = within(&settings, open_session(&settings, None)).await?;
        if settings.automatic_schema_migration {
            let statement =
                migrations::create_keyspace_cql(&settings.keyspace, &settings.replication);
            within(&settings, async {
                bootstrap
                    .query_with_params(
                        statement.as_str(),
                        StatementParamsBuilder::new()
                            .with_consistency(settings.write_consistency)
                            .build(),
                    )
                    .await
                    .map_err(|source| CassandraError::Migration {
                        keyspace: settings.keyspace.clone(),
                        name: "create keyspace",
                        statement: statement.clone(),
                        source: Box::new(source),
                    })
            })
            .await?;
            wait_for_schema_agreement(&bootstrap).await;
        } else if !within(&settings, keyspace_exists(&bootstrap, &settings.keyspace)).await? {
            return Err(CassandraError::SchemaNotMigrated {
                keyspace: settings.keyspace.clone(),
                missing: migrations::MIGRATIONS.iter().map(|m| m.name).collect(),
            });
        }
        drop(bootstrap);
        let session = within(
            &settings,
            open_session(&settings, Some(settings.keyspace.clone())),
        )
        .await?;
        let mut db = Self {
            session,
            prepared: HashMap::new(),
            settings,
            clock: MicrosClock::default(),
        };
        if db.settings.automatic_schema_migration {
            db.migrate().await?;
        } else {
            db.check_schema().await?;
        }
        for statement in cql::ALL {
            let prepared = within(&db.settings, async {
                db.session
                    .prepare(*statement)
                    .await
                    .map_err(|source| CassandraError::query("prepare statement", source))
            })
            .await?;
            db.prepared.insert(statement, prepared);
        }
        Ok(db)
    }

    /// The names of the migrations recorded in `schema_migrations`.
    pub(crate) async fn applied_migrations(&self) -> Result<BTreeSet<String>, CassandraError> {
        let envelope = self
            .session
            .query_with_params(
                LIST_APPLIED,
                StatementParamsBuilder::new()
                    .with_consistency(self.settings.write_consistency)
                    .idempotent(true)
                    .build(),
            )
            .await
            .map_err(|source| CassandraError::query("read schema_migrations", source))?;
        let mut names = BTreeSet::new();
        for row in rows("read schema_migrations", &envelope)? {
            let name: Option<String> =
                row.get_by_name("name")
                    .map_err(|e| CassandraError::CorruptRow {
                        what: "schema_migrations row".to_owned(),
                        column: "name",
                        message: e.to_string(),
                    })?;
            names.extend(name);
        }
        Ok(names)
    }

    async fn migrate(&self) -> Result<(), CassandraError> {
        let keyspace = self.settings.keyspace.clone();
        let ddl = |name: &'static str, statement: String| {
            let keyspace = keyspace.clone();
            async move {
                self.session
                    .query_with_params(
                        statement.as_str(),
                        StatementParamsBuilder::new()
                            .with_consistency(self.settings.write_consistency)
                            .build(),
                    )
                    .await
                    .map(drop)
                    .map_err(|source| CassandraError::Migration {
                        keyspace,
                        name,
                        statement,
                        source: Box::new(source),
                    })
            }
        };
        within(
            &self.settings,
            ddl("schema_migrations", CREATE_MIGRATIONS_TABLE.to_owned()),
        )
        .await?;
        wait_for_schema_agreement(&self.session).await;
        let applied = self.applied_migrations().await?;
        let due =
            migrations::pending(&applied).map_err(|unknown| CassandraError::SchemaTooNew {
                keyspace: keyspace.clone(),
                unknown,
            })?;
        for migration in due {
            for statement in migrations::statements(migration.cql) {
                within(&self.settings, ddl(migration.name, statement)).await?;
                wait_for_schema_agreement(&self.session).await;
            }
            let now_ms = self.clock.now() / 1_000;
            self.session
                .query_with_params(
                    RECORD_APPLIED,
                    StatementParamsBuilder::new()
                        .with_consistency(self.settings.write_consistency)
                        .with_values(QueryValues::SimpleValues(vec![
                            Value::new(migration.name),
                            Value::new(now_ms),
                        ]))
                        .build(),
                )
                .await
                .map_err(|source| CassandraError::query("record migration", source))?;
            tracing::info!(%keyspace, migration = migration.name, "cassandra: applied migration");
        }
        Ok(())
    }

    /// With migrations off, refuses to run on a schema missing migrations.
    async fn check_schema(&self) -> Result<(), CassandraError> {
        let keyspace = self.settings.keyspace.clone();
        let applied = match self.applied_migrations().await {
            Ok(applied) => applied,
            // No keyspace or no schema_migrations table: nothing migrated.
            Err(CassandraError::Query { source, .. })
                if matches!(
                    super::error::classify(&source),
                    super::error::Failure::Permanent
                ) =>
            {
                BTreeSet::new()
            }
            Err(e) => return Err(e),
        };
        let due =
            migrations::pending(&applied).map_err(|unknown| CassandraError::SchemaTooNew {
                keyspace: keyspace.clone(),
                unknown,
            })?;
        if due.is_empty() {
            Ok(())
        } else {
            Err(CassandraError::SchemaNotMigrated {
                keyspace,
                missing: due.iter().map(|m| m.name).collect(),
            })
        }
    }

    fn statement(&self, cql: &'static str) -> Result<&PreparedQuery, CassandraError> {
        self.prepared
            .get(cql)
            .ok_or_else(|| CassandraError::UnexpectedAnswer {
                op: "prepared statement",
                message: format!("statement not prepared: {cql}"),
            })
    }

    fn consistency(&self, level: Level) -> Consistency {
        match level {
            Level::Read => self.settings.read_consistency,
            Level::Write => self.settings.write_consistency,
            Level::Serial => self.settings.serial_consistency,
        }
    }

    /// Runs a read (idempotent: the driver may retry it) at `level`.
    pub(crate) async fn read(
        &self,
        op: &'static str,
        cql: &'static str,
        values: Values,
        level: Level,
    ) -> Result<Vec<Row>, CassandraError> {
        let params = StatementParamsBuilder::new()
            .with_values(QueryValues::SimpleValues(values))
            .with_consistency(self.consistency(level))
            .idempotent(true)
            .build();
        let envelope = self
            .session
            .exec_with_params(self.statement(cql)?, &params)
            .await
            .map_err(|source| CassandraError::query(op, source))?;
        rows(op, &envelope)
    }

    /// Runs a plain write at `consistency`. Index writes carry their own
    /// timestamps, so a retry by the driver cannot reorder them.
    pub(crate) async fn write(
        &self,
        op: &'static str,
        cql: &'static str,
        values: Values,
    ) -> Result<(), CassandraError> {
        let params = StatementParamsBuilder::new()
            .with_values(QueryValues::SimpleValues(values))
            .with_consistency(self.settings.write_consistency)
            .idempotent(true)
            .build();
        self.session
            .exec_with_params(self.statement(cql)?, &params)
            .await
            .map(drop)
            .map_err(|source| CassandraError::query(op, source))
    }

    /// Runs a lightweight transaction (never retried by the driver: its
    /// outcome after a timeout is settled by the caller with a serial read).
    pub(crate) async fn conditional(
        &self,
        op: &'static str,
        cql: &'static str,
        values: Values,
    ) -> Result<Vec<Row>, CassandraError> {
        let params = StatementParamsBuilder::new()
            .with_values(QueryValues::SimpleValues(values))
            .with_consistency(self.settings.write_consistency)
            .with_serial_consistency(self.settings.serial_consistency)
            .idempotent(false)
            .build();
        let envelope = self
            .session
            .exec_with_params(self.statement(cql)?, &params)
            .await
            .map_err(|source| CassandraError::query(op, source))?;
        rows(op, &envelope)
    }

    /// Runs a conditional logged batch of prepared statements on one
    /// partition: all or nothing.
    pub(crate) async fn conditional_batch(
        &self,
        op: &'static str,
        statements: Vec<(&'static str, Values)>,
    ) -> Result<Vec<Row>, CassandraError> {
        let mut builder = BatchQueryBuilder::new()
            .with_consistency(self.settings.write_consistency)
            .with_serial_consistency(self.settings.serial_consistency);
        for (cql, values) in statements {
            builder =
                builder.add_query_prepared(self.statement(cql)?, QueryValues::SimpleValues(values));
        }
        let batch = builder
            .build()
            .map_err(|source| CassandraError::query(op, source))?;
        let envelope = self
            .session
            .batch(batch)
            .await
            .map_err(|source| CassandraError::query(op, source))?;
        rows(op, &envelope)
    }

    /// A write timestamp in microseconds, strictly increasing in this process.
    pub(crate) fn timestamp(&self) -> i64 {
        self.clock.now()
    }
}

/// The rows of an answer (none for a write without result).
fn rows(op: &'static str, envelope: &Envelope) -> Result<Vec<Row>, CassandraError> {
    let body = envelope
        .response_body()
        .map_err(|source| CassandraError::query(op, source))?;
    Ok(body.into_rows().unwrap_or_default())
}

async fn within<T>(
    settings: &CassandraSettings,
    step: impl std::future::Future<Output = Result<T, CassandraError>>,
) -> Result<T, CassandraError> {
    tokio::time::timeout(settings.connect_timeout, step)
        .await
        .unwrap_or_else(|_| {
            Err(CassandraError::ConnectTimeout {
                contact_points: settings.contact_points.join(", "),
                timeout_ms: settings.connect_timeout.as_millis(),
            })
        })
}

async fn open_session(
    settings: &CassandraSettings,
    keyspace: Option<String>,
) -> Result<CdrsSession, CassandraError> {
    let connect_error = |message: String| CassandraError::Connect {
        contact_points: settings.contact_points.join(", "),
        message,
    };
    let authenticator: Arc<dyn SaslAuthenticatorProvider + Send + Sync> =
        match &settings.credentials {
            Some((user, password)) => Arc::new(StaticPasswordAuthenticatorProvider::new(
                user.as_str(),
                password.expose(),
            )),
            None => Arc::new(NoneAuthenticatorProvider),
        };
    let nodes = NodeTcpConfigBuilder::new()
        .with_contact_points(
            settings
                .contact_points
                .iter()
                .map(|point| point.as_str().into())
                .collect(),
        )
        .with_authenticator_provider(authenticator)
        .build()
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    let pool = ConnectionPoolConfigBuilder::new()
        .with_connect_timeout(Some(settings.connect_timeout))
        .build();
    let mut builder =
        TcpSessionBuilder::new(Lb::new(None, false), nodes).with_connection_pool_config(pool);
    if let Some(keyspace) = keyspace {
        builder = builder.with_keyspace(keyspace);
    }
    let session = builder
        .build()
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    // The builder may return before any node answered: one round trip
    // proves the cluster is reachable and the credentials work.
    session
        .query(cql::PING)
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    Ok(session)
}

/// Whether `keyspace` exists.
async fn keyspace_exists(session: &CdrsSession, keyspace: &str) -> Result<bool, CassandraError> {
    let op = "look up the keyspace";
    let envelope = session
        .query_with_values(
            "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
            QueryValues::SimpleValues(vec![Value::new(keyspace)]),
        )
        .await
        .map_err(|source| CassandraError::query(op, source))?;
    Ok(!rows(op, &envelope)?.is_empty())
}

/// Waits (bounded) until the node answering and its peers report one
/// schema version, so statements after DDL see the new tables everywhere.
/// Best effort: a cluster still disagreeing after the wait is logged.
async fn wait_for_schema_agreement(session: &CdrsSession) {
    let deadline = Instant::now() + SCHEMA_AGREEMENT_WAIT;
    loop {
        match schema_versions(session).await {
            Ok(versions) if versions.len() <= 1 => return,
            Ok(versions) if Instant::now() >= deadline => {
                tracing::warn!(?versions, "cassandra: nodes still disagree on the schema");
                return;
            }
            Err(e) if Instant::now() >= deadline => {
                tracing::warn!(error = %e, "cassandra: cannot check schema agreement");
                return;
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

async fn schema_versions(session: &CdrsSession) -> Result<BTreeSet<Uuid>, CassandraError> {
    let mut versions = BTreeSet::new();
    for (op, query) in [
        (
            "read local schema version",
            "SELECT schema_version FROM system.local",
        ),
        (
            "read peer schema versions",
            "SELECT schema_version FROM system.peers",
        ),
    ] {
        let envelope = session
            .query(query)
            .await
            .map_err(|source| CassandraError::query(op, source))?;
        for row in rows(op, &envelope)? {
            let version: Option<Uuid> = row.get_by_name("schema_version").ok().flatten();
            versions.extend(version);
        }
    }
    Ok(versions)
}

/// Microseconds since the epoch, strictly increasing in this process, for
/// `USING TIMESTAMP`: a later index write of this process always wins over
/// an earlier one, even within one microsecond.
#[derive(Debug, Default)]
struct MicrosClock {
    last: AtomicI64,
}

impl MicrosClock {
    fn now(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = wall.max(last.saturating_add(1));
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}
