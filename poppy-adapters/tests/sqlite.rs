//! The SQLite store and job board: focused tests plus the shared
//! conformance suites. One test binary, a module per concern.

#![cfg(feature = "sqlite")]

use std::path::Path;
use std::time::Duration;

use poppy_adapters::jobs::sqlite::SqliteJobBoard;
use poppy_adapters::storage::sqlite::{SqliteDatabase, SqliteOptions, SqliteStore};
use poppy_core::model::{ProjectId, Service};
use poppy_core::ports::{JobBoard, PortError, ServiceStore};
use poppy_core::testkit::fixtures;
use tempfile::TempDir;

/// A fresh file-backed database in a temporary directory (kept alive by
/// the returned guard).
fn file_db() -> (TempDir, SqliteDatabase) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open(dir.path());
    (dir, db)
}

fn open(dir: &Path) -> SqliteDatabase {
    SqliteDatabase::open(
        dir.join("poppy.db"),
        &SqliteOptions::default().with_readers(2),
    )
    .expect("open sqlite database")
}

fn db_file(dir: &Path) -> std::path::PathBuf {
    dir.join("poppy.db")
}

async fn stored(store: &SqliteStore, service: &Service) -> Option<Service> {
    ServiceStore::get(store, &service.project_id, &service.id)
        .await
        .expect("get service")
}

mod migrations {
    use super::*;
    use poppy_adapters::storage::sqlite::{SqliteError, SCHEMA_VERSION};

    #[tokio::test]
    async fn reopening_keeps_data_and_does_not_migrate_again() {
        let (dir, db) = file_db();
        let store = db.store();
        let service = fixtures::service(&ProjectId::random());
        store.create(&service, 10, None).await.expect("create");
        assert_eq!(db.schema_version().await.expect("version"), SCHEMA_VERSION);
        drop(store);
        drop(db);

        let db = open(dir.path());
        assert_eq!(db.schema_version().await.expect("version"), SCHEMA_VERSION);
        let again = stored(&db.store(), &service).await;
        assert_eq!(again, Some(service));
    }

    #[tokio::test]
    async fn a_version_2_database_is_migrated_and_its_services_read_and_cached() {
        // A file as a build with two migrations left it, with a service in it.
        let dir = tempfile::tempdir().expect("tempdir");
        let service = fixtures::service(&ProjectId::random());
        {
            let raw = rusqlite::Connection::open(db_file(dir.path())).expect("raw open");
            raw.execute_batch(include_str!("../migrations/sqlite/0001_initial.sql"))
                .expect("0001");
            raw.execute_batch(include_str!("../migrations/sqlite/0002_certificates.sql"))
                .expect("0002");
            raw.pragma_update(None, "user_version", 2).expect("version");
            raw.execute(
                "INSERT INTO services (project_id, service_id, status, operator_status, \
                 version, spec, provider_details, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{}', ?7, ?8)",
                rusqlite::params![
                    service.project_id.as_str(),
                    service.id.to_string(),
                    service.status.as_str(),
                    service.operator_status.as_str(),
                    i64::try_from(service.version).expect("version"),
                    serde_json::to_string(&service.spec).expect("spec"),
                    service.created_at,
                    service.updated_at,
                ],
            )
            .expect("insert a version-2 row");
        }
        let db = open(dir.path());
        assert_eq!(db.schema_version().await.expect("version"), SCHEMA_VERSION);
        let store = db.store();
        // Read twice: the second read is answered from the decoded rows.
        assert_eq!(stored(&store, &service).await.as_ref(), Some(&service));
        assert_eq!(stored(&store, &service).await.as_ref(), Some(&service));
        let mut renamed = service.clone();
        renamed.spec.name = "renamed after the migration".to_owned();
        store.update(&renamed, None).await.expect("update");
        let seen = stored(&store, &service).await.expect("stored");
        assert_eq!(seen.spec.name, renamed.spec.name);
        assert_eq!(seen.version, service.version + 1);
    }

    #[test]
    fn processes_opening_a_new_file_at_once_all_succeed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = db_file(dir.path());
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SqliteDatabase::open(&path, &SqliteOptions::default()))
            })
            .collect();
        for opener in openers {
            let opened = opener.join().expect("opener thread");
            assert!(opened.is_ok(), "concurrent open failed: {opened:?}");
        }
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("user_version");
        assert_eq!(version, SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("journal_mode");
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        drop(open(dir.path()));
        let conn = rusqlite::Connection::open(db_file(dir.path())).expect("raw open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump version");
        drop(conn);
        let err = SqliteDatabase::open(db_file(dir.path()), &SqliteOptions::default())
            .expect_err("newer schema must be refused");
        assert!(
            matches!(err, SqliteError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1),
            "got {err:?}"
        );
    }

    #[tokio::test]
    async fn in_memory_database_is_migrated_and_usable() {
        let db = SqliteDatabase::open_in_memory().expect("in-memory");
        assert_eq!(db.schema_version().await.expect("version"), SCHEMA_VERSION);
        assert!(db.store().is_alive().await);
        assert!(db.job_board().is_alive().await);
        assert_eq!(db.path(), None);
    }
}

mod store {
    use super::*;
    use poppy_adapters::storage::sqlite::sql;
    use poppy_core::model::{ServiceId, ServiceStatus};

    #[tokio::test]
    async fn a_taken_domain_fails_the_whole_create() {
        let (_dir, db) = file_db();
        let store = db.store();
        let first = fixtures::service(&ProjectId::random());
        store.create(&first, 10, None).await.expect("first create");

        let taken = first.spec.domains[1].domain.clone();
        let fresh = fixtures::unique_domain();
        let second = fixtures::service_with_domains(&ProjectId::random(), &[&fresh, &taken]);
        let err = store
            .create(&second, 10, None)
            .await
            .expect_err("domain taken");
        match err {
            PortError::Conflict(message) => {
                assert_eq!(message, format!("Domain {taken} has already been taken"))
            }
            other => panic!("expected Conflict, got {other:?}"),
        }
        assert_eq!(stored(&store, &second).await, None);
        assert_eq!(store.find_by_domain(&fresh).await.expect("find"), None);
    }

    #[tokio::test]
    async fn the_limit_counts_live_services_only() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        let store = db.store();
        let project = ProjectId::random();
        let mut deleting = fixtures::service(&project);
        deleting.status = ServiceStatus::DeleteInProgress;
        store.create(&deleting, 2, None).await.expect("first");
        for n in ["second", "third: the deleting one does not count"] {
            store
                .create(&fixtures::service(&project), 2, None)
                .await
                .expect(n);
        }
        let third = fixtures::service(&project);
        let err = store.create(&third, 2, None).await.expect_err("limit");
        match err {
            PortError::LimitReached(message) => {
                assert_eq!(message, "Maximum Services Limit of 2 reached!")
            }
            other => panic!("expected LimitReached, got {other:?}"),
        }
        assert_eq!(stored(&store, &third).await, None);
        let domain = &third.spec.domains[0].domain;
        assert_eq!(store.find_by_domain(domain).await.expect("find"), None);
        assert_eq!(store.count(&project).await.expect("count"), 2);
    }

    #[tokio::test]
    async fn update_checks_the_version_and_moves_domain_claims() {
        let (_dir, db) = file_db();
        let store = db.store();
        let project = ProjectId::random();
        let service = fixtures::service(&project);
        store.create(&service, 10, None).await.expect("create");

        let dropped = service.spec.domains[0].domain.clone();
        let added = fixtures::unique_domain();
        let mut changed = service.clone();
        changed.spec.domains.remove(0);
        changed
            .spec
            .domains
            .push(poppy_core::model::Domain::http(added.clone()));
        assert_eq!(store.update(&changed, None).await.expect("update"), 2);

        let stale = store
            .update(&changed, None)
            .await
            .expect_err("stale version");
        assert!(matches!(stale, PortError::Conflict(_)), "got {stale:?}");

        let holder = store
            .find_by_domain(&added)
            .await
            .expect("find")
            .expect("added claimed");
        assert_eq!((holder.id, holder.version), (service.id, 2));
        assert_eq!(store.find_by_domain(&dropped).await.expect("find"), None);
        let other = fixtures::service_with_domains(&ProjectId::random(), &[&dropped]);
        store
            .create(&other, 10, None)
            .await
            .expect("released domain is free");

        let mut missing = fixtures::service(&project);
        missing.id = ServiceId::new_random();
        let err = store.update(&missing, None).await.expect_err("missing");
        assert!(matches!(err, PortError::NotFound(_)), "got {err:?}");
    }

    #[tokio::test]
    async fn provider_urls_are_indexed_and_released() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        let store = db.store();
        let mut service = fixtures::service(&ProjectId::random());
        store.create(&service, 10, None).await.expect("create");
        let url = format!("{}.edgesuite.net", fixtures::unique_label());
        let domains: Vec<&str> = service.domain_names().collect();
        let detail = fixtures::provider_detail(&domains, &url);
        let mut expected: Vec<String> = domains.iter().map(|d| (*d).to_owned()).collect();
        expected.sort();
        service.provider_details.insert("mock".to_owned(), detail);
        store.update(&service, None).await.expect("update");
        assert_eq!(
            store.domains_by_provider_url(&url).await.expect("by url"),
            expected
        );

        store
            .delete(&service.project_id, &service.id)
            .await
            .expect("delete");
        assert!(store
            .domains_by_provider_url(&url)
            .await
            .expect("by url")
            .is_empty());
        assert_eq!(stored(&store, &service).await, None);
        store
            .delete(&service.project_id, &service.id)
            .await
            .expect("deleting a missing service succeeds");
    }

    #[tokio::test]
    async fn list_pages_in_service_id_order() {
        let (_dir, db) = file_db();
        let store = db.store();
        let project = ProjectId::random();
        let mut ids = Vec::new();
        for _ in 0..25 {
            let service = fixtures::service(&project);
            ids.push(service.id);
            store.create(&service, 100, None).await.expect("create");
        }
        ids.sort();
        let mut seen = Vec::new();
        let mut marker = None;
        loop {
            let page = store.list(&project, marker, 7).await.expect("list");
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 7);
            marker = page.last().map(|s| s.id);
            seen.extend(page.into_iter().map(|s| s.id));
        }
        assert_eq!(seen, ids);
        let elsewhere = store
            .list(&ProjectId::random(), None, 100)
            .await
            .expect("list");
        assert!(elsewhere.is_empty());
    }

    #[tokio::test]
    async fn hot_queries_use_their_indexes() {
        let (_dir, db) = file_db();
        for (name, query, index) in [
            ("get", sql::GET_SERVICE, "PRIMARY KEY"),
            ("list", sql::LIST_SERVICES, "PRIMARY KEY"),
            (
                "revision of a service",
                sql::REVISION_OF_SERVICE,
                "COVERING INDEX services_revision",
            ),
            (
                "revisions of a page",
                sql::REVISIONS_OF_PAGE,
                "COVERING INDEX services_revision",
            ),
            (
                "count",
                sql::COUNT_SERVICES,
                "COVERING INDEX services_revision",
            ),
            (
                "limit check",
                sql::COUNT_SERVICES_UP_TO,
                "COVERING INDEX services_revision",
            ),
            ("list_by_status", sql::LIST_BY_STATUS, "services_by_status"),
            ("find_by_domain", sql::FIND_BY_DOMAIN, "PRIMARY KEY"),
            (
                "domains_by_provider_url",
                sql::DOMAINS_BY_PROVIDER_URL,
                "PRIMARY KEY",
            ),
        ] {
            let plan = db.explain(query).await.expect("explain").join("\n");
            assert!(plan.contains(index), "{name} should use {index}:\n{plan}");
            // Scanning the bounded subquery's rows is fine; scanning a table is not.
            let table_scan = plan
                .lines()
                .any(|l| l.trim_start().starts_with("SCAN") && !l.contains("(subquery"));
            assert!(!table_scan, "{name} must not scan a table:\n{plan}");
            assert!(
                !plan.contains("TEMP B-TREE"),
                "{name} must not sort:\n{plan}"
            );
        }
    }

    #[tokio::test]
    async fn a_corrupt_row_is_an_internal_error_naming_it() {
        let (dir, db) = file_db();
        let store = db.store();
        let service = fixtures::service(&ProjectId::random());
        store.create(&service, 10, None).await.expect("create");
        let raw = rusqlite::Connection::open(db_file(dir.path())).expect("raw open");
        raw.execute(
            "UPDATE services SET spec = '{not json' WHERE service_id = ?1",
            [service.id.to_string()],
        )
        .expect("corrupt the row");

        let err = ServiceStore::get(&store, &service.project_id, &service.id)
            .await
            .expect_err("corrupt row");
        let PortError::Internal { backend, source } = &err else {
            panic!("expected Internal, got {err:?}");
        };
        assert_eq!(backend, "sqlite");
        let message = source.to_string();
        assert!(message.contains(&service.id.to_string()), "{message}");
        assert!(message.contains("spec"), "{message}");
    }

    #[tokio::test]
    async fn limits_and_flavors_round_trip() {
        use poppy_core::ports::FlavorStore;

        let db = SqliteDatabase::open_in_memory().expect("db");
        let store = db.store();
        let project = ProjectId::random();
        assert_eq!(store.get_limit(&project).await.expect("get"), None);
        store.set_limit(&project, 5).await.expect("set");
        store.set_limit(&project, 7).await.expect("set again");
        assert_eq!(store.get_limit(&project).await.expect("get"), Some(7));

        let flavor = fixtures::unique_flavor();
        FlavorStore::create(&store, &flavor)
            .await
            .expect("create flavor");
        let dup = FlavorStore::create(&store, &flavor)
            .await
            .expect_err("duplicate");
        assert!(matches!(dup, PortError::Conflict(_)), "got {dup:?}");
        assert_eq!(
            FlavorStore::get(&store, &flavor.id).await.expect("get"),
            Some(flavor.clone())
        );
        assert_eq!(
            FlavorStore::list(&store).await.expect("list"),
            vec![flavor.clone()]
        );
        FlavorStore::delete(&store, &flavor.id)
            .await
            .expect("delete");
        FlavorStore::delete(&store, &flavor.id)
            .await
            .expect("delete missing");
        assert_eq!(
            FlavorStore::get(&store, &flavor.id).await.expect("get"),
            None
        );
    }

    /// Reads on the calling thread (`inline_reads`, the default) and on the
    /// blocking pool see every committed write, also with more concurrent
    /// readers than reader connections.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_see_committed_writes_inline_or_not() {
        for inline in [true, false] {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut options = SqliteOptions::default().with_readers(1);
            options.inline_reads = inline;
            let db = SqliteDatabase::open(db_file(dir.path()), &options).expect("open");
            let store = db.store();
            let service = fixtures::service(&ProjectId::random());
            store.create(&service, 20, None).await.expect("create");
            let mut reads = tokio::task::JoinSet::new();
            for _ in 0..16 {
                let (store, service) = (store.clone(), service.clone());
                reads.spawn(async move { stored(&store, &service).await });
            }
            while let Some(read) = reads.join_next().await {
                let found = read.expect("read task").expect("service is stored");
                assert_eq!(found.id, service.id, "inline_reads = {inline}");
            }
            let page = store
                .list(&service.project_id, None, 10)
                .await
                .expect("list");
            assert_eq!(page.len(), 1, "inline_reads = {inline}");
        }
    }
}

mod outbox {
    use super::*;

    #[tokio::test]
    async fn the_outbox_job_is_on_the_board() {
        let (_dir, db) = file_db();
        let store = db.store().with_outbox(true);
        assert!(store.writes_jobs());
        let board = db.job_board();
        let service = fixtures::service(&ProjectId::random());
        let job = fixtures::job(&service);
        store
            .create(&service, 10, Some(job.clone()))
            .await
            .expect("create");
        assert_eq!(board.pending_for(&service.id).await.expect("pending"), 1);

        let claim = board
            .claim("worker-1", Duration::from_secs(30))
            .await
            .expect("claim")
            .expect("the outbox job is claimable");
        assert_eq!(claim.job.id, job.id);
        assert_eq!(claim.job.kind, job.kind);
        assert_eq!(claim.job.attempts, 1);

        // A rolled-back write leaves no job behind.
        let taken = service.spec.domains[0].domain.clone();
        let clash = fixtures::service_with_domains(&ProjectId::random(), &[&taken]);
        let clash_job = fixtures::job(&clash);
        store
            .create(&clash, 10, Some(clash_job.clone()))
            .await
            .expect_err("domain taken");
        assert_eq!(board.pending_for(&clash.id).await.expect("pending"), 0);
    }

    #[tokio::test]
    async fn without_the_outbox_the_job_is_ignored() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        let store = db.store();
        assert!(!store.writes_jobs());
        let service = fixtures::service(&ProjectId::random());
        store
            .create(&service, 10, Some(fixtures::job(&service)))
            .await
            .expect("create");
        assert_eq!(
            db.job_board()
                .pending_for(&service.id)
                .await
                .expect("pending"),
            0
        );
    }

    #[tokio::test]
    async fn an_outbox_write_wakes_a_waiting_worker() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        let store = db.store().with_outbox(true);
        let board = db.job_board();
        let waiter = tokio::spawn({
            let board = board.clone();
            async move { board.wait_for_work(Duration::from_secs(3600)).await }
        });
        tokio::task::yield_now().await;
        let service = fixtures::service(&ProjectId::random());
        store
            .create(&service, 10, Some(fixtures::job(&service)))
            .await
            .expect("create");
        tokio::time::timeout(Duration::from_secs(60), waiter)
            .await
            .expect("the waiter was woken, not left for the hour")
            .expect("waiter task");
    }
}

mod jobs {
    use std::collections::HashSet;

    use super::*;
    use poppy_core::model::JobKind;

    const LEASE: Duration = Duration::from_secs(60);

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_databases_on_one_file_never_hand_out_a_job_twice() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Two handles = two processes: separate connections, no shared state.
        let boards = [open(dir.path()).job_board(), open(dir.path()).job_board()];
        let project = ProjectId::random();
        let mut posted = HashSet::new();
        for i in 0..120 {
            let service = fixtures::service(&project);
            let job = fixtures::job(&service);
            posted.insert(job.id);
            boards[i % 2].post(&job).await.expect("post");
        }
        let workers: Vec<_> = (0..6)
            .map(|w| {
                let board: SqliteJobBoard = boards[w % 2].clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        match board.claim(&format!("worker-{w}"), LEASE).await {
                            Ok(Some(claim)) => {
                                board.complete(&claim).await.expect("complete");
                                got.push(claim.job.id);
                            }
                            Ok(None) => return got,
                            Err(e) if e.is_retryable() => continue,
                            Err(e) => panic!("claim failed: {e:?}"),
                        }
                    }
                })
            })
            .collect();
        let mut claimed = Vec::new();
        for worker in workers {
            claimed.extend(worker.await.expect("worker"));
        }
        let unique: HashSet<_> = claimed.iter().copied().collect();
        assert_eq!(unique.len(), claimed.len(), "a job was handed out twice");
        assert_eq!(unique, posted);
    }

    #[tokio::test]
    async fn jobs_of_one_service_go_one_at_a_time_in_post_order() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        let board = db.job_board();
        let service = fixtures::service(&ProjectId::random());
        let first = fixtures::job(&service);
        let second = fixtures::job_of(&service, JobKind::DeleteService);
        board.post(&first).await.expect("post");
        board.post(&second).await.expect("post");
        board.post(&first).await.expect("posting again is a no-op");
        assert_eq!(board.pending_for(&service.id).await.expect("pending"), 2);

        let claim = board
            .claim("w", LEASE)
            .await
            .expect("claim")
            .expect("first");
        assert_eq!(claim.job.id, first.id);
        assert!(board.claim("w", LEASE).await.expect("claim").is_none());
        board.complete(&claim).await.expect("complete");
        let claim = board
            .claim("w", LEASE)
            .await
            .expect("claim")
            .expect("second");
        assert_eq!(claim.job.id, second.id);
    }

    #[tokio::test]
    async fn a_lapsed_lease_is_claimed_again_and_the_old_holder_loses() {
        let (_dir, db) = file_db();
        let board = db.job_board();
        let service = fixtures::service(&ProjectId::random());
        board.post(&fixtures::job(&service)).await.expect("post");
        let stale = board
            .claim("dead-worker", Duration::ZERO)
            .await
            .expect("claim")
            .expect("job");
        let progress = serde_json::json!({"step": 2});
        let fresh = board
            .claim("w2", LEASE)
            .await
            .expect("claim")
            .expect("reclaimed");
        assert_eq!(fresh.job.id, stale.job.id);
        assert_eq!(fresh.job.attempts, 2);
        for (op, result) in [
            ("heartbeat", board.heartbeat(&stale, LEASE).await.map(drop)),
            ("checkpoint", board.checkpoint(&stale, &progress).await),
            ("complete", board.complete(&stale).await),
            ("retry", board.retry(&stale, 0, "boom").await),
            ("fail", board.fail(&stale, "boom").await),
            ("release", board.release(&stale).await),
        ] {
            assert!(
                matches!(result, Err(PortError::Conflict(_))),
                "{op} with a lost lease must conflict, got {result:?}"
            );
        }
        board
            .complete(&fresh)
            .await
            .expect("the new holder completes");
        assert_eq!(board.pending_for(&service.id).await.expect("pending"), 0);
    }

    #[tokio::test]
    async fn progress_and_attempts_survive_retry_and_release() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        let board = db.job_board();
        let service = fixtures::service(&ProjectId::random());
        board.post(&fixtures::job(&service)).await.expect("post");
        let claim = board.claim("w", LEASE).await.expect("claim").expect("job");
        let progress = serde_json::json!({"provider": "done"});
        board
            .checkpoint(&claim, &progress)
            .await
            .expect("checkpoint");
        let renewed = board.heartbeat(&claim, LEASE).await.expect("heartbeat");
        board
            .retry(&renewed, 0, "provider timed out")
            .await
            .expect("retry");

        let claim = board
            .claim("w", LEASE)
            .await
            .expect("claim")
            .expect("retried job");
        assert_eq!(claim.job.progress, progress);
        assert_eq!(claim.job.attempts, 2);
        assert_eq!(claim.job.last_error.as_deref(), Some("provider timed out"));
        board.release(&claim).await.expect("release");

        let claim = board
            .claim("w", LEASE)
            .await
            .expect("claim")
            .expect("released job");
        assert_eq!(claim.job.attempts, 2, "release does not count the attempt");
    }

    #[tokio::test]
    async fn a_retry_is_not_claimable_before_its_time() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        let board = db.job_board();
        let service = fixtures::service(&ProjectId::random());
        board.post(&fixtures::job(&service)).await.expect("post");
        let claim = board.claim("w", LEASE).await.expect("claim").expect("job");
        let later = poppy_core::clock::after(Duration::from_secs(3600));
        board.retry(&claim, later, "later").await.expect("retry");
        assert!(board.claim("w", LEASE).await.expect("claim").is_none());
        assert_eq!(board.pending_for(&service.id).await.expect("pending"), 1);
    }

    #[tokio::test]
    async fn a_failed_job_is_kept_for_operators_and_unblocks_the_service() {
        let (_dir, db) = file_db();
        let board = db.job_board();
        let service = fixtures::service(&ProjectId::random());
        let doomed = fixtures::job(&service);
        let next = fixtures::job_of(&service, JobKind::DeleteService);
        board.post(&doomed).await.expect("post");
        board.post(&next).await.expect("post");
        let claim = board.claim("w", LEASE).await.expect("claim").expect("job");
        board.fail(&claim, "provider refused").await.expect("fail");

        assert_eq!(board.pending_for(&service.id).await.expect("pending"), 1);
        let failed = board.failed_jobs(10).await.expect("failed jobs");
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].id, doomed.id);
        assert_eq!(failed[0].last_error.as_deref(), Some("provider refused"));
        let claim = board
            .claim("w", LEASE)
            .await
            .expect("claim")
            .expect("next job");
        assert_eq!(claim.job.id, next.id);
    }

    #[tokio::test]
    async fn a_corrupt_job_is_parked_not_handed_out_forever() {
        let (dir, db) = file_db();
        let board = db.job_board();
        let service = fixtures::service(&ProjectId::random());
        let job = fixtures::job(&service);
        board.post(&job).await.expect("post");
        let raw = rusqlite::Connection::open(db_file(dir.path())).expect("raw open");
        raw.execute(
            "UPDATE jobs SET body = 'garbage' WHERE id = ?1",
            [job.id.to_string()],
        )
        .expect("corrupt the job");

        let err = board.claim("w", LEASE).await.expect_err("corrupt job");
        assert!(err.to_string().contains("body"), "{err}");
        assert!(board.claim("w", LEASE).await.expect("claim").is_none());
        assert_eq!(board.pending_for(&service.id).await.expect("pending"), 0);
    }

    #[tokio::test]
    async fn a_post_wakes_a_waiting_worker() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        let board = db.job_board();
        let waiter = tokio::spawn({
            let board = board.clone();
            async move { board.wait_for_work(Duration::from_secs(3600)).await }
        });
        tokio::task::yield_now().await;
        let service = fixtures::service(&ProjectId::random());
        board.post(&fixtures::job(&service)).await.expect("post");
        tokio::time::timeout(Duration::from_secs(60), waiter)
            .await
            .expect("the waiter was woken, not left for the hour")
            .expect("waiter task");
    }
}

/// Group commit (writes queued together share one transaction) and the
/// decoded-row cache: behaviour a caller can see.
mod batching_and_cache {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_that_fail_do_not_undo_the_ones_that_succeed() {
        let (dir, db) = file_db();
        let store = db.store();
        // 32 pairs of creates racing for one domain each, all queued at once
        // so they share batches: exactly one of each pair is stored, the
        // loser gets `Conflict`, and every winner survives a reopen.
        let mut racing = Vec::new();
        for _ in 0..32 {
            let domain = fixtures::unique_domain();
            for _ in 0..2 {
                let service = fixtures::service_with_domains(&ProjectId::random(), &[&domain]);
                let store = store.clone();
                racing.push(tokio::spawn(async move {
                    let outcome = store.create(&service, 10, None).await;
                    (service, outcome)
                }));
            }
        }
        let mut winners = Vec::new();
        let mut conflicts = 0;
        for task in racing {
            let (service, outcome) = task.await.expect("task");
            match outcome {
                Ok(()) => winners.push(service),
                Err(PortError::Conflict(_)) => conflicts += 1,
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }
        assert_eq!((winners.len(), conflicts), (32, 32));
        drop(store);
        drop(db);
        let reopened = open(dir.path()).store();
        for service in &winners {
            assert_eq!(stored(&reopened, service).await.as_ref(), Some(service));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_writes_that_never_pause() {
        // Eight writers creating without pause keep the writer thread busy,
        // so a checkpoint on another connection never catches up on its own.
        // With a 100-page threshold the WAL must keep starting over; before,
        // it grew by every page written (here ~80 MB).
        let dir = tempfile::tempdir().expect("temp dir");
        let mut options = SqliteOptions::default().with_readers(2);
        options.wal_restart_pages = 100;
        let db = SqliteDatabase::open(db_file(dir.path()), &options).expect("open");
        let store = db.store();
        let mut writers = Vec::new();
        for _ in 0..8 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                let project = ProjectId::random();
                for _ in 0..250 {
                    let service = fixtures::service(&project);
                    store.create(&service, 1_000, None).await.expect("create");
                }
            }));
        }
        for writer in writers {
            writer.await.expect("writer");
        }
        let wal = std::fs::metadata(dir.path().join("poppy.db-wal"))
            .expect("WAL file")
            .len();
        assert!(
            wal < 8 * 1024 * 1024,
            "the WAL grew to {wal} bytes with a 100-page restart threshold"
        );
        assert_eq!(store.count(&ProjectId::random()).await.expect("count"), 0);
    }

    #[tokio::test]
    async fn a_write_through_another_handle_is_never_hidden_by_the_cache() {
        // Two handles on one file stand for two processes (server and
        // worker): each has its own decoded-row cache.
        let (dir, server) = file_db();
        let worker = open(dir.path());
        let (server_store, worker_store) = (server.store(), worker.store());
        let mut service = fixtures::service(&ProjectId::random());
        server_store
            .create(&service, 10, None)
            .await
            .expect("create");
        let first = stored(&server_store, &service).await.expect("stored");
        assert_eq!(first.spec.name, service.spec.name);

        service.spec.name = "renamed by the worker".to_owned();
        worker_store.update(&service, None).await.expect("update");
        let seen = stored(&server_store, &service).await.expect("stored");
        assert_eq!(seen.spec.name, "renamed by the worker");
        assert_eq!(seen.version, service.version + 1);

        // Deleted and re-created under the same id with the same version:
        // only the row's generation tells the rows apart.
        worker_store
            .delete(&service.project_id, &service.id)
            .await
            .expect("delete");
        let mut again = service.clone();
        again.spec.name = "same id, new row".to_owned();
        again.version = seen.version;
        worker_store
            .create(&again, 10, None)
            .await
            .expect("re-create");
        let seen = stored(&server_store, &again).await.expect("stored");
        assert_eq!(seen.spec.name, "same id, new row");
        let listed = server_store
            .list(&again.project_id, None, 10)
            .await
            .expect("list");
        assert_eq!(listed, vec![seen]);
    }
}

/// The shared suites of `poppy_core::testkit::conformance`, on a file and in
/// memory.
mod conformance {
    use super::*;
    use poppy_core::testkit::conformance::{flavor, jobs, store};

    #[tokio::test]
    async fn file_store_conforms() {
        let (_dir, db) = file_db();
        store::run_all(&db.store()).await;
        store::run_all(&db.store().with_outbox(true)).await;
    }

    #[tokio::test]
    async fn memory_store_conforms() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        store::run_all(&db.store().with_outbox(true)).await;
    }

    #[tokio::test]
    async fn outbox_conforms() {
        let (_dir, db) = file_db();
        store::outbox_writes_jobs_with_the_service(&db.store().with_outbox(true), &db.job_board())
            .await;
    }

    #[tokio::test]
    async fn flavors_conform() {
        let (_dir, db) = file_db();
        flavor::run_all(&db.store()).await;
        let db = SqliteDatabase::open_in_memory().expect("db");
        flavor::run_all(&db.store()).await;
    }

    #[tokio::test]
    async fn file_job_board_conforms() {
        let (_dir, db) = file_db();
        jobs::run_all(&db.job_board()).await;
    }

    #[tokio::test]
    async fn memory_job_board_conforms() {
        let db = SqliteDatabase::open_in_memory().expect("db");
        jobs::run_all(&db.job_board()).await;
    }
}
