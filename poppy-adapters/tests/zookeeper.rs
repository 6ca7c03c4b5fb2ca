//! The ZooKeeper job board against a real ZooKeeper: the shared `jobs`
//! conformance suite, several sessions claiming at once, and the failure
//! modes — a connection cut, an ensemble down for longer than the retry
//! budget, a session that expires while it holds a claim, and writes the
//! server applied whose answer was lost.
//!
//! Needs `POPPY_TEST_ZOOKEEPER=host:port` (`scripts/test.sh` starts one);
//! every test returns early without it. Each test works under its own root
//! znode, so tests share one server.

#![cfg(feature = "zookeeper")]

#[path = "zookeeper/proxy.rs"]
mod proxy;

use std::future::Future;
use std::time::{Duration, Instant};

use poppy_adapters::jobs::zookeeper::{ZkJobBoard, ZookeeperConfig};
use poppy_core::clock::now_ms;
use poppy_core::model::{Claim, Job, ProjectId, ServiceId};
use poppy_core::ports::{JobBoard, PortError};
use poppy_core::testkit::fixtures;
use proxy::{Mode, Proxy};
use zookeeper_client as zk;

/// Longest wait for something that must eventually happen.
const EVENTUALLY: Duration = Duration::from_secs(40);
const LONG: Duration = Duration::from_secs(60);

fn server() -> Option<String> {
    match std::env::var("POPPY_TEST_ZOOKEEPER") {
        Ok(addr) if !addr.is_empty() => Some(addr),
        _ => {
            eprintln!("POPPY_TEST_ZOOKEEPER is not set: skipping the ZooKeeper test");
            None
        }
    }
}

fn unique_root() -> String {
    format!("/poppy-test/{}", uuid::Uuid::new_v4().simple())
}

fn config(hosts: &str, root: &str) -> ZookeeperConfig {
    ZookeeperConfig {
        session_timeout_ms: 4_000,
        connect_timeout_ms: 20_000,
        ..ZookeeperConfig::new(hosts, root)
    }
}

async fn board(config: ZookeeperConfig) -> ZkJobBoard {
    ZkJobBoard::connect(config)
        .await
        .expect("connect to ZooKeeper")
}

/// A plain client, to look at the board's nodes from outside.
async fn raw(hosts: &str) -> zk::Client {
    zk::Client::connect(hosts)
        .await
        .expect("raw ZooKeeper client")
}

async fn exists(client: &zk::Client, path: &str) -> bool {
    client.check_stat(path).await.expect("exists").is_some()
}

/// Polls `check` until it gives a value; fails the test after [`EVENTUALLY`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < EVENTUALLY,
            "{what}: not within {EVENTUALLY:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn claim_one(board: &ZkJobBoard, lease: Duration) -> Claim {
    eventually("a job becomes claimable", || async {
        board.claim("test-worker", lease).await.expect("claim")
    })
    .await
}

fn job() -> Job {
    fixtures::job_for(&ProjectId::random(), ServiceId::new_random())
}

/// Removes a test's root and everything under it (best effort).
async fn remove_tree(hosts: &str, root: &str) {
    let client = raw(hosts).await;
    let mut stack = vec![root.to_owned()];
    let mut order = Vec::new();
    while let Some(path) = stack.pop() {
        if let Ok(children) = client.list_children(&path).await {
            stack.extend(children.into_iter().map(|c| format!("{path}/{c}")));
        }
        order.push(path);
    }
    for path in order.into_iter().rev() {
        let _ = client.delete(&path, None).await;
    }
}

mod conformance {
    use super::*;
    use poppy_core::testkit::conformance::jobs;

    #[tokio::test]
    async fn the_board_conforms_to_the_job_board_contract() {
        let Some(hosts) = server() else { return };
        let root = unique_root();
        let board = board(config(&hosts, &root)).await;
        assert!(board.is_alive().await, "is_alive against a live server");
        assert_eq!(board.name(), "zookeeper");
        jobs::run_all(&board).await;
        remove_tree(&hosts, &root).await;
    }

    /// Two sessions (two workers' boards) with four claimers each never
    /// hold one job at the same time, and together handle every job.
    #[tokio::test]
    async fn claimers_in_two_sessions_never_share_a_job() {
        let Some(hosts) = server() else { return };
        let root = unique_root();
        let (a, b) = (
            board(config(&hosts, &root)).await,
            board(config(&hosts, &root)).await,
        );
        let jobs: Vec<Job> = (0..40).map(|_| job()).collect();
        for job in &jobs {
            a.post(job).await.expect("post");
        }
        let mut claimers = tokio::task::JoinSet::new();
        for n in 0..8 {
            let board = if n % 2 == 0 { a.clone() } else { b.clone() };
            claimers.spawn(async move {
                let mut handled = Vec::new();
                while let Some(claim) = board.claim(&format!("w{n}"), LONG).await.expect("claim") {
                    tokio::task::yield_now().await;
                    handled.push(claim.job.id);
                    board.complete(&claim).await.expect("complete a held claim");
                }
                handled
            });
        }
        let mut handled = Vec::new();
        while let Some(done) = claimers.join_next().await {
            handled.extend(done.expect("claimer task"));
        }
        let mut unique = handled.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            handled.len(),
            "a job was handed to two claimers"
        );
        let mut posted: Vec<_> = jobs.iter().map(|j| j.id).collect();
        posted.sort();
        assert_eq!(unique, posted, "every posted job was handled once");
        remove_tree(&hosts, &root).await;
    }

    /// A post from another session wakes a waiting board before its
    /// (long) timeout.
    #[tokio::test]
    async fn wait_for_work_wakes_on_another_sessions_post() {
        let Some(hosts) = server() else { return };
        let root = unique_root();
        let (waiter, poster) = (
            board(config(&hosts, &root)).await,
            board(config(&hosts, &root)).await,
        );
        let job = job();
        let woke = tokio::time::timeout(Duration::from_secs(30), async {
            tokio::join!(waiter.wait_for_work(Duration::from_secs(120)), async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                poster.post(&job).await.expect("post");
            })
        })
        .await;
        assert!(
            woke.is_ok(),
            "wait_for_work(120 s) was not woken by a post within 30 s"
        );
        remove_tree(&hosts, &root).await;
    }

    #[tokio::test]
    async fn bad_configuration_and_unreachable_servers_are_errors() {
        let err = ZkJobBoard::connect(ZookeeperConfig::new("127.0.0.1:2181", "relative"))
            .await
            .expect_err("a relative root is refused");
        assert!(err.to_string().contains("root"), "{err}");
        // A port nothing listens on: no session within the connect timeout.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let dead = listener.local_addr().expect("addr").to_string();
        drop(listener);
        let config = ZookeeperConfig {
            connect_timeout_ms: 500,
            ..ZookeeperConfig::new(&dead, "/poppy")
        };
        let err = ZkJobBoard::connect(config)
            .await
            .expect_err("no server, no board");
        assert!(err.to_string().contains(&dead), "{err}");
    }
}

/// The registry's `[storage] sqlite` + `[jobs] zookeeper` pairing.
#[cfg(feature = "sqlite")]
mod registry {
    use super::*;
    use poppy_adapters::registry::{Options, Registry, RegistryError};

    fn options(pairs: &[(&str, toml::Value)]) -> Options {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[tokio::test]
    async fn sqlite_with_zookeeper_opens_a_store_without_outbox() {
        let Some(hosts) = server() else { return };
        let root = unique_root();
        let dir = tempfile::tempdir().expect("temp dir");
        let jobs = options(&[
            ("hosts", toml::Value::String(hosts.clone())),
            ("root", toml::Value::String(root.clone())),
            ("session_timeout_ms", toml::Value::Integer(4_000)),
            ("connect_timeout_ms", toml::Value::Integer(5_000)),
        ]);
        let storage = Registry::builtin()
            .storage(
                ("sqlite", &Options::new()),
                ("zookeeper", &jobs),
                dir.path(),
            )
            .await
            .expect("sqlite + zookeeper opens");
        assert_eq!(storage.jobs.name(), "zookeeper");
        assert!(
            !storage.store.writes_jobs(),
            "the SQLite store cannot write ZooKeeper jobs in its transactions"
        );
        let job = job();
        storage.jobs.post(&job).await.expect("post");
        assert_eq!(
            storage
                .jobs
                .pending_for(&job.service_id)
                .await
                .expect("pending"),
            1
        );
        remove_tree(&hosts, &root).await;
    }

    #[tokio::test]
    async fn bad_zookeeper_options_name_the_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (jobs, key) in [
            (
                options(&[("root", toml::Value::String("nope".into()))]),
                "root",
            ),
            (
                options(&[("hots", toml::Value::String("a:1".into()))]),
                "hots",
            ),
        ] {
            let err = Registry::builtin()
                .storage(
                    ("sqlite", &Options::new()),
                    ("zookeeper", &jobs),
                    dir.path(),
                )
                .await
                .expect_err("invalid options");
            assert!(matches!(err, RegistryError::Options { .. }), "{err}");
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}

/// Connection losses, an ensemble that is down, and expired sessions.
mod failures {
    use super::*;

    /// Cutting the connection loses neither the session nor the claim:
    /// the client reconnects and the holder goes on.
    #[tokio::test]
    async fn a_cut_connection_keeps_the_session_and_its_claims() {
        let Some(hosts) = server() else { return };
        let root = unique_root();
        let proxy = Proxy::start(&hosts).await;
        let board = board(config(&proxy.address(), &root)).await;
        let job = job();
        board.post(&job).await.expect("post");
        let claim = claim_one(&board, LONG).await;
        proxy.cut_all();
        let renewed = board
            .heartbeat(&claim, LONG)
            .await
            .expect("heartbeat after a cut connection");
        assert_eq!(renewed.token, claim.token);
        board
            .checkpoint(&claim, &serde_json::json!({"step": 1}))
            .await
            .expect("checkpoint after a cut connection");
        proxy.cut_all();
        board
            .complete(&claim)
            .await
            .expect("complete after a cut connection");
        assert_eq!(
            board.pending_for(&job.service_id).await.expect("pending"),
            0
        );
        remove_tree(&hosts, &root).await;
    }

    /// With the ensemble unreachable for longer than the retry budget an
    /// operation is `Unavailable`; once it is back, the board works.
    #[tokio::test]
    async fn an_unreachable_ensemble_is_unavailable_then_recovers() {
        let Some(hosts) = server() else { return };
        let root = unique_root();
        let proxy = Proxy::start(&hosts).await;
        let board = board(ZookeeperConfig {
            session_timeout_ms: 20_000,
            connect_timeout_ms: 1_000,
            ..ZookeeperConfig::new(proxy.address(), &root)
        })
        .await;
        let job = job();
        board.post(&job).await.expect("post");
        proxy.set(Mode::Down);
        let err = board
            .pending_for(&job.service_id)
            .await
            .expect_err("no answer while the ensemble is down");
        assert!(
            matches!(err, PortError::Unavailable { .. }),
            "expected Unavailable, got {err:?}"
        );
        assert!(!board.is_alive().await, "is_alive while down");
        proxy.set(Mode::Pass);
        let pending = eventually("the board answers again", || async {
            board.pending_for(&job.service_id).await.ok()
        })
        .await;
        assert_eq!(
            pending, 1,
            "the job posted before the outage is still queued"
        );
        assert!(board.is_alive().await, "is_alive once back");
        remove_tree(&hosts, &root).await;
    }

    /// A holder whose session expires loses its claim: the lock vanishes
    /// (another worker claims the job before the lease would have ended),
    /// the old holder's operations are `Conflict`, and the board opens a
    /// new session and keeps working.
    #[tokio::test]
    async fn an_expired_session_releases_its_claims() {
        let Some(hosts) = server() else { return };
        let root = unique_root();
        let proxy = Proxy::start(&hosts).await;
        let holder = board(ZookeeperConfig {
            session_timeout_ms: 4_000,
            connect_timeout_ms: 20_000,
            ..ZookeeperConfig::new(proxy.address(), &root)
        })
        .await;
        let other = board(config(&hosts, &root)).await;
        let job = job();
        other.post(&job).await.expect("post");
        let held = claim_one(&holder, LONG).await;
        assert_eq!(held.job.id, job.id);

        proxy.set(Mode::Down);
        let taken = eventually("the expired holder's job is claimable again", || async {
            other.claim("other", LONG).await.expect("claim")
        })
        .await;
        assert_eq!(taken.job.id, job.id, "the job of the expired session");
        assert!(
            now_ms() < held.lease_until,
            "taken over before the old lease ended: the session's expiry freed it"
        );
        assert_eq!(
            taken.job.attempts, 2,
            "the takeover counts a second attempt"
        );

        proxy.set(Mode::Pass);
        let stale: [(&str, Result<(), PortError>); 3] = [
            ("heartbeat", holder.heartbeat(&held, LONG).await.map(|_| ())),
            ("complete", holder.complete(&held).await),
            ("fail", holder.fail(&held, "stale").await),
        ];
        for (what, result) in stale {
            assert!(
                matches!(result, Err(PortError::Conflict(_))),
                "{what} by the expired holder must be Conflict, got {result:?}"
            );
        }
        assert_eq!(
            other.pending_for(&job.service_id).await.expect("pending"),
            1
        );
        other
            .complete(&taken)
            .await
            .expect("the new holder completes");

        // The old holder's board works on a new session.
        let next = self::job();
        holder.post(&next).await.expect("post on a new session");
        let claim = claim_one(&holder, LONG).await;
        assert_eq!(claim.job.id, next.id);
        holder
            .complete(&claim)
            .await
            .expect("complete on a new session");
        remove_tree(&hosts, &root).await;
    }
}

/// A write the server applied but whose answer was lost (the connection
/// broke first) is retried by the board, which recognises its own result:
/// no job is lost, posted twice, claimed twice or left claimed.
mod lost_answers {
    use super::*;

    struct Rig {
        hosts: String,
        root: String,
        proxy: Proxy,
        board: ZkJobBoard,
        raw: zk::Client,
    }

    impl Rig {
        async fn new() -> Option<Self> {
            let hosts = server()?;
            let root = unique_root();
            let proxy = Proxy::start(&hosts).await;
            let board = board(config(&proxy.address(), &root)).await;
            let raw = raw(&hosts).await;
            Some(Self {
                hosts,
                root,
                proxy,
                board,
                raw,
            })
        }

        /// Runs `operation` with the answer to its write swallowed; once `applied` sees its
        /// effect on the server, restores the connection and returns what
        /// the operation finally answered.
        async fn lose_answer<T, Op, Applied, AppliedFut>(
            &self,
            operation: Op,
            mut applied: Applied,
        ) -> T
        where
            T: Send + 'static,
            Op: Future<Output = T> + Send + 'static,
            Applied: FnMut() -> AppliedFut,
            AppliedFut: Future<Output = Option<()>>,
        {
            self.proxy.set(Mode::SwallowFromWrite);
            let running = tokio::spawn(operation);
            eventually("the server applied the write", &mut applied).await;
            // Restoring cuts the connection: the write's answer is lost.
            self.proxy.set(Mode::Pass);
            running.await.expect("operation task")
        }

        fn lock(&self, job: &Job) -> String {
            format!("{}/locks/{}", self.root, job.id)
        }

        fn id(&self, job: &Job) -> String {
            format!("{}/ids/{}", self.root, job.id)
        }

        async fn done(self) {
            remove_tree(&self.hosts, &self.root).await;
        }
    }

    #[tokio::test]
    async fn post_is_not_doubled() {
        let Some(rig) = Rig::new().await else { return };
        let job = job();
        let posted = rig
            .lose_answer(
                {
                    let (board, job) = (rig.board.clone(), job.clone());
                    async move { board.post(&job).await }
                },
                || async { exists(&rig.raw, &rig.id(&job)).await.then_some(()) },
            )
            .await;
        posted.expect("post whose first answer was lost");
        assert_eq!(
            rig.board
                .pending_for(&job.service_id)
                .await
                .expect("pending"),
            1
        );
        rig.done().await;
    }

    #[tokio::test]
    async fn claim_is_returned_not_orphaned() {
        let Some(rig) = Rig::new().await else { return };
        let job = job();
        rig.board.post(&job).await.expect("post");
        let claimed = rig
            .lose_answer(
                {
                    let board = rig.board.clone();
                    async move { board.claim("w", LONG).await }
                },
                || async { exists(&rig.raw, &rig.lock(&job)).await.then_some(()) },
            )
            .await;
        let claim = claimed
            .expect("claim whose first answer was lost")
            .expect("the claim applied on the server is returned");
        assert_eq!(claim.job.id, job.id);
        assert_eq!(claim.job.attempts, 1, "claimed once");
        assert_eq!(
            rig.board.claim("w", LONG).await.expect("claim"),
            None,
            "the job is held by the returned claim"
        );
        rig.board
            .complete(&claim)
            .await
            .expect("the returned claim is live");
        rig.done().await;
    }

    #[tokio::test]
    async fn complete_is_ok_and_removes_the_job() {
        let Some(rig) = Rig::new().await else { return };
        let job = job();
        rig.board.post(&job).await.expect("post");
        let claim = claim_one(&rig.board, LONG).await;
        let completed = rig
            .lose_answer(
                {
                    let (board, claim) = (rig.board.clone(), claim.clone());
                    async move { board.complete(&claim).await }
                },
                || async { (!exists(&rig.raw, &rig.id(&job)).await).then_some(()) },
            )
            .await;
        completed.expect("complete whose first answer was lost");
        assert_eq!(
            rig.board
                .pending_for(&job.service_id)
                .await
                .expect("pending"),
            0
        );
        rig.done().await;
    }

    #[tokio::test]
    async fn retry_is_ok_and_keeps_the_job() {
        let Some(rig) = Rig::new().await else { return };
        let job = job();
        rig.board.post(&job).await.expect("post");
        let claim = claim_one(&rig.board, LONG).await;
        let due = now_ms() - 1;
        let retried = rig
            .lose_answer(
                {
                    let (board, claim) = (rig.board.clone(), claim.clone());
                    async move { board.retry(&claim, due, "transient").await }
                },
                || async { (!exists(&rig.raw, &rig.lock(&job)).await).then_some(()) },
            )
            .await;
        retried.expect("retry whose first answer was lost");
        let again = claim_one(&rig.board, LONG).await;
        assert_eq!(again.job.id, job.id);
        assert_eq!(again.job.attempts, 2);
        assert_eq!(again.job.last_error.as_deref(), Some("transient"));
        rig.board.complete(&again).await.expect("complete");
        rig.done().await;
    }

    #[tokio::test]
    async fn release_is_ok_and_does_not_count() {
        let Some(rig) = Rig::new().await else { return };
        let job = job();
        rig.board.post(&job).await.expect("post");
        let claim = claim_one(&rig.board, LONG).await;
        let released = rig
            .lose_answer(
                {
                    let (board, claim) = (rig.board.clone(), claim.clone());
                    async move { board.release(&claim).await }
                },
                || async { (!exists(&rig.raw, &rig.lock(&job)).await).then_some(()) },
            )
            .await;
        released.expect("release whose first answer was lost");
        let again = claim_one(&rig.board, LONG).await;
        assert_eq!(again.job.attempts, 1, "release does not count the attempt");
        rig.board.complete(&again).await.expect("complete");
        rig.done().await;
    }

    #[tokio::test]
    async fn fail_is_ok_and_parks_the_job() {
        let Some(rig) = Rig::new().await else { return };
        let job = job();
        rig.board.post(&job).await.expect("post");
        let claim = claim_one(&rig.board, LONG).await;
        let failed = rig
            .lose_answer(
                {
                    let (board, claim) = (rig.board.clone(), claim.clone());
                    async move { board.fail(&claim, "given up").await }
                },
                || async { (!exists(&rig.raw, &rig.lock(&job)).await).then_some(()) },
            )
            .await;
        failed.expect("fail whose first answer was lost");
        assert_eq!(
            rig.board
                .pending_for(&job.service_id)
                .await
                .expect("pending"),
            0
        );
        let parked = rig.board.failed_jobs(10).await.expect("failed jobs");
        assert_eq!(parked.len(), 1);
        assert_eq!(parked[0].0.id, job.id);
        assert_eq!(parked[0].1, "given up");
        rig.done().await;
    }
}
