//! The SQLite certificate store: the conformance suite, and persistence.

use poppy_adapters::storage::sqlite::{SqliteDatabase, SqliteOptions, SCHEMA_VERSION};
use poppy_core::model::{CertQueue, CertType, ProjectId, SslCertificate};
use poppy_core::ports::CertificateStore;
use poppy_core::testkit::conformance;
use serde_json::json;

#[tokio::test]
async fn an_in_memory_database_conforms() {
    let db = SqliteDatabase::open_in_memory().expect("open");
    conformance::certificates::run_all(&db.certificates()).await;
}

#[tokio::test]
async fn a_file_database_conforms_and_keeps_records_and_queues_across_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("poppy.db");
    let options = SqliteOptions::default().with_readers(2);
    let db = SqliteDatabase::open(&path, &options).expect("open");
    assert_eq!(db.schema_version().await.expect("version"), SCHEMA_VERSION);
    let store = db.certificates();
    conformance::certificates::run_all(&store).await;

    let p = ProjectId::new("p1");
    let cert = SslCertificate::new(p.clone(), "standard", "www.kept.com", CertType::Sni, 7);
    store.create(&cert).await.expect("create");
    store
        .enqueue(
            "akamai",
            CertQueue::Retry,
            &json!({"domain_name": "www.kept.com"}),
        )
        .await
        .expect("enqueue");
    store
        .put_setting("akamai", "san_cert_hostname_limit", &json!(90))
        .await
        .expect("setting");
    drop(store);
    drop(db);

    let db = SqliteDatabase::open(&path, &options).expect("reopen");
    let store = db.certificates();
    assert_eq!(store.get("www.kept.com").await.expect("get"), Some(cert));
    assert_eq!(
        store
            .queue("akamai", CertQueue::Retry)
            .await
            .expect("queue"),
        vec![json!({"domain_name": "www.kept.com"})]
    );
    assert_eq!(
        store
            .get_setting("akamai", "san_cert_hostname_limit")
            .await
            .expect("setting"),
        Some(json!(90))
    );
}

#[tokio::test]
async fn the_status_query_uses_its_index() {
    let db = SqliteDatabase::open_in_memory().expect("open");
    let plan = db
        .explain("SELECT domain_name FROM certificates WHERE status = ?1 ORDER BY domain_name")
        .await
        .expect("explain");
    assert!(
        plan.iter()
            .any(|step| step.contains("certificates_by_status")),
        "{plan:?}"
    );
}
