//! Against a live Cassandra: set `POPPY_TEST_CASSANDRA=host:port` (and
//! optionally `POPPY_TEST_CASSANDRA_KEYSPACE`, default `poppy_test`). Without
//! the variable the live tests return at once. The tests at the end need
//! no server.

use std::time::Duration;

use poppy_adapters::storage::cassandra::{
    CassandraConfig, CassandraError, CassandraStore, MIGRATIONS,
};
use poppy_adapters::{Registry, RegistryError};
use poppy_core::model::ProjectId;
use poppy_core::ports::{FlavorStore, ServiceStore};
use poppy_core::testkit::{conformance, fixtures};

fn live_config() -> Option<CassandraConfig> {
    let Ok(address) = std::env::var("POPPY_TEST_CASSANDRA") else {
        eprintln!("POPPY_TEST_CASSANDRA is not set: skipping the live Cassandra test");
        return None;
    };
    Some(CassandraConfig {
        contact_points: vec![address],
        keyspace: std::env::var("POPPY_TEST_CASSANDRA_KEYSPACE")
            .unwrap_or_else(|_| "poppy_test".to_owned()),
        automatic_schema_migration: true,
        connect_timeout_ms: 20_000,
        ..CassandraConfig::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_and_flavor_suites_pass_against_a_live_cassandra() {
    let Some(config) = live_config() else { return };
    let store = CassandraStore::connect(&config)
        .await
        .expect("connect and migrate");
    assert!(ServiceStore::is_alive(&store).await);
    assert!(
        !store.writes_jobs(),
        "the store shares no transaction with a job board"
    );
    conformance::store::run_all(&store).await;
    conformance::flavor::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_twice_is_a_no_op_and_records_every_migration() {
    let Some(config) = live_config() else { return };
    let first = CassandraStore::connect(&config).await.expect("first start");
    let project = ProjectId::random();
    let service = fixtures::service(&project);
    ServiceStore::create(&first, &service, 10, None)
        .await
        .expect("create");
    let second = CassandraStore::connect(&config)
        .await
        .expect("second start");
    let applied = second.applied_migrations().await.expect("applied");
    for migration in MIGRATIONS {
        assert!(
            applied.contains(migration.name),
            "{} is not recorded",
            migration.name
        );
    }
    assert_eq!(
        ServiceStore::get(&second, &project, &service.id)
            .await
            .expect("get"),
        Some(service.clone()),
        "a second migration run keeps the data"
    );
    // Without automatic migration a migrated keyspace is accepted…
    let checked = CassandraConfig {
        automatic_schema_migration: false,
        ..config.clone()
    };
    CassandraStore::connect(&checked)
        .await
        .expect("migrated keyspace accepted");
    // …and a keyspace never migrated is refused with what to do.
    let fresh = CassandraConfig {
        automatic_schema_migration: false,
        keyspace: format!("poppy_never_{}", fixtures::unique_label()),
        ..config
    };
    match CassandraStore::connect(&fresh).await {
        Err(e @ CassandraError::SchemaNotMigrated { .. }) => {
            assert!(e.to_string().contains("automatic_schema_migration"), "{e}");
        }
        other => panic!("an unmigrated keyspace must be refused, got {other:?}"),
    }
    ServiceStore::delete(&second, &project, &service.id)
        .await
        .expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flavors_survive_a_new_session() {
    let Some(config) = live_config() else { return };
    let store = CassandraStore::connect(&config).await.expect("connect");
    let flavor = fixtures::unique_flavor();
    FlavorStore::create(&store, &flavor).await.expect("create");
    let other = CassandraStore::connect(&config)
        .await
        .expect("connect again");
    assert_eq!(
        FlavorStore::get(&other, &flavor.id).await.expect("get"),
        Some(flavor.clone())
    );
    FlavorStore::delete(&other, &flavor.id)
        .await
        .expect("delete");
}

// ---- no server needed -------------------------------------------------

/// A loopback port with nothing listening: bound, then closed.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    port
}

#[tokio::test]
async fn connecting_to_nothing_fails_with_an_error_naming_the_contact_point() {
    let config = CassandraConfig {
        contact_points: vec![format!("127.0.0.1:{}", closed_port())],
        connect_timeout_ms: 1_000,
        ..CassandraConfig::default()
    };
    let error = tokio::time::timeout(Duration::from_secs(60), CassandraStore::connect(&config))
        .await
        .expect("connect gives up by itself")
        .expect_err("nothing listens there");
    assert!(
        matches!(
            error,
            CassandraError::Connect { .. } | CassandraError::ConnectTimeout { .. }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("127.0.0.1:"), "{error}");
    let port_error: poppy_core::ports::PortError = error.into();
    assert!(
        port_error.is_retryable(),
        "a cluster that is down is worth retrying: {port_error}"
    );
}

#[tokio::test]
async fn invalid_options_are_refused_before_connecting() {
    let config = CassandraConfig {
        keyspace: "no-dashes".to_owned(),
        ..CassandraConfig::default()
    };
    assert!(matches!(
        CassandraStore::connect(&config).await,
        Err(CassandraError::Config(_))
    ));
}

#[tokio::test]
async fn the_registry_pairs_cassandra_with_the_zookeeper_board_only() {
    let registry = Registry::builtin();
    let options = toml::Table::new();
    let error = registry
        .storage(
            ("cassandra", &options),
            ("sqlite", &options),
            std::path::Path::new("."),
        )
        .await
        .expect_err("cassandra with the sqlite board");
    assert!(matches!(error, RegistryError::Open { .. }), "{error}");
    assert!(
        error.to_string().contains("zookeeper"),
        "the error names what is missing: {error}"
    );
}

#[cfg(feature = "zookeeper")]
#[tokio::test]
async fn the_registry_checks_cassandra_options_before_connecting() {
    let registry = Registry::builtin();
    let mut storage = toml::Table::new();
    storage.insert("hosts".to_owned(), toml::Value::String("x".to_owned()));
    let jobs = toml::Table::new();
    let error = registry
        .storage(
            ("cassandra", &storage),
            ("zookeeper", &jobs),
            std::path::Path::new("."),
        )
        .await
        .expect_err("unknown option");
    assert!(
        matches!(
            error,
            RegistryError::Options {
                kind: "storage",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("hosts"), "{error}");

    let mut storage = toml::Table::new();
    storage.insert(
        "keyspace".to_owned(),
        toml::Value::String("bad-name".to_owned()),
    );
    let error = registry
        .storage(
            ("cassandra", &storage),
            ("zookeeper", &jobs),
            std::path::Path::new("."),
        )
        .await
        .expect_err("bad keyspace");
    assert!(
        matches!(
            error,
            RegistryError::Options {
                kind: "storage",
                ..
            }
        ),
        "{error}"
    );
}
