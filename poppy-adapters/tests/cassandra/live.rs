//! Against a live Cassandra (the `store`, `flavor` and `certificates`
//! suites): set `POPPY_TEST_CASSANDRA=host:port` (and
//! optionally `POPPY_TEST_CASSANDRA_KEYSPACE`, default `poppy_test`). Without
//! the variable the live tests return at once. The tests at the end need
//! no server.

use std::time::Duration;

use poppy_adapters::storage::cassandra::{
    CassandraConfig, CassandraError, CassandraStore, MIGRATIONS,
};
use poppy_adapters::{Registry, RegistryError};
use poppy_core::model::{CertQueue, CertType, ProjectId, SslCertificate};
use poppy_core::ports::{CertificateStore, FlavorStore, ServiceStore};
use poppy_core::testkit::{conformance, fixtures};
use serde_json::json;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_certificates_suite_passes_against_a_live_cassandra() {
    let Some(config) = live_config() else { return };
    let store = CassandraStore::connect(&config)
        .await
        .expect("connect and migrate");
    let certificates = store.certificates();
    assert_eq!(certificates.name(), "cassandra");
    conformance::certificates::run_all(&certificates).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_enqueues_from_two_sessions_are_never_lost() {
    let Some(config) = live_config() else { return };
    let first = CassandraStore::connect(&config).await.expect("connect");
    let second = CassandraStore::connect(&config).await.expect("connect");
    let provider = format!("live-{}", fixtures::unique_label());
    let stores = [first.certificates(), second.certificates()];
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = stores[n % 2].clone();
        let provider = provider.clone();
        tasks.push(tokio::spawn(async move {
            store
                .enqueue(&provider, CertQueue::Retry, &json!({ "n": n }))
                .await
        }));
    }
    // A take racing the enqueues: each item is either taken or kept.
    let taken = stores[0]
        .take_queue(&provider, CertQueue::Retry)
        .await
        .expect("take");
    for task in tasks {
        task.await.expect("task").expect("enqueue");
    }
    let kept = stores[1]
        .take_queue(&provider, CertQueue::Retry)
        .await
        .expect("take the rest");
    let mut seen: Vec<i64> = taken
        .iter()
        .chain(&kept)
        .map(|item| item["n"].as_i64().expect("item"))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..8).collect::<Vec<_>>(), "every item exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_and_queues_survive_a_new_session() {
    let Some(config) = live_config() else { return };
    let store = CassandraStore::connect(&config).await.expect("connect");
    let project = ProjectId::random();
    let cert = SslCertificate::new(
        project.clone(),
        fixtures::FLAVOR_ID,
        fixtures::unique_domain(),
        CertType::Sni,
        1,
    );
    let provider = format!("live-{}", fixtures::unique_label());
    store.certificates().create(&cert).await.expect("create");
    store
        .certificates()
        .enqueue(
            &provider,
            CertQueue::SanMapping,
            &json!({"d": cert.domain_name}),
        )
        .await
        .expect("enqueue");
    let other = CassandraStore::connect(&config)
        .await
        .expect("connect again")
        .certificates();
    assert_eq!(
        other.get(&cert.domain_name).await.expect("get"),
        Some(cert.clone())
    );
    assert_eq!(
        other
            .take_queue(&provider, CertQueue::SanMapping)
            .await
            .expect("take"),
        vec![json!({"d": cert.domain_name})]
    );
    other
        .delete(&cert.domain_name, &project)
        .await
        .expect("cleanup");
}

/// With a ZooKeeper too (`POPPY_TEST_ZOOKEEPER`), the registry hands out the
/// Cassandra certificate store with the storage.
#[cfg(feature = "zookeeper")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_hands_out_the_cassandra_certificate_store() {
    let Some(config) = live_config() else { return };
    let Ok(zookeeper) = std::env::var("POPPY_TEST_ZOOKEEPER") else {
        eprintln!("POPPY_TEST_ZOOKEEPER is not set: skipping");
        return;
    };
    let mut storage = toml::Table::new();
    storage.insert(
        "contact_points".to_owned(),
        toml::Value::Array(
            config
                .contact_points
                .iter()
                .map(|p| toml::Value::String(p.clone()))
                .collect(),
        ),
    );
    storage.insert(
        "keyspace".to_owned(),
        toml::Value::String(config.keyspace.clone()),
    );
    storage.insert(
        "automatic_schema_migration".to_owned(),
        toml::Value::Boolean(true),
    );
    let mut jobs = toml::Table::new();
    jobs.insert("hosts".to_owned(), toml::Value::String(zookeeper));
    jobs.insert(
        "root".to_owned(),
        toml::Value::String(format!("/poppy-test-{}", fixtures::unique_label())),
    );
    let storage = Registry::builtin()
        .storage(
            ("cassandra", &storage),
            ("zookeeper", &jobs),
            std::path::Path::new("."),
        )
        .await
        .expect("cassandra storage with the zookeeper board");
    let certificates = storage
        .certificates
        .expect("the Cassandra storage keeps certificates");
    assert_eq!(certificates.name(), "cassandra");
    let provider = format!("live-{}", fixtures::unique_label());
    certificates
        .put_setting(&provider, "san:x", &json!({"spsId": 1}))
        .await
        .expect("put");
    assert_eq!(
        certificates
            .get_setting(&provider, "san:x")
            .await
            .expect("get"),
        Some(json!({"spsId": 1}))
    );
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
