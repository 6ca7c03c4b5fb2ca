//! The distributed topology in real processes: `scripts/cluster.sh` starts
//! two `poppy-server --no-worker`s and two `poppy-worker`s on loopback over
//! one SQLite file (WAL) and the ZooKeeper job board, and the tests drive
//! them over HTTP:
//!
//! 1. 200 services created through both servers deploy, each with exactly
//!    one provider configuration made by exactly one `create` call;
//! 2. a worker SIGKILLed with flows in flight: its jobs are reclaimed and
//!    every service deploys, with one provider configuration each;
//! 3. ZooKeeper stopped and restarted (data kept) during a run, with
//!    services created while it is down: no job is lost (the reconciler
//!    re-posts the jobs that could not be posted) and every service deploys.
//!
//! The mock provider lives in each worker's memory, so what it did is read
//! from its `call_log`, a file every worker appends one line per state
//! change to. Needs `POPPY_TEST_ZOOKEEPER=host:port` (tests 1–2 use that
//! server under their own root; test 3 starts its own ZooKeeper with
//! `scripts/zookeeper.sh` on a free port, to restart it); without it the
//! tests return at once. They run one at a time (they are process-heavy).
//! `POPPY_TEST_KEEP_CLUSTER=1` keeps each cluster's directory (config,
//! logs, database, call log) and prints where.

#![cfg(feature = "zookeeper")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use poppy::adapters::jobs::zookeeper::{ZkJobBoard, ZookeeperConfig};
use poppy::adapters::provider::mock::MockProvider;
use poppy::adapters::storage::sqlite::{SqliteDatabase, SqliteOptions};
use poppy::core::model::{ProjectId, ServiceId, ServiceStatus};
use poppy::core::ports::{JobBoard, ServiceStore};
use serde_json::{json, Value};
use tempfile::TempDir;

/// One cluster at a time: each is six processes on two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const PROJECTS: usize = 10;

fn zookeeper() -> Option<String> {
    match std::env::var("POPPY_TEST_ZOOKEEPER") {
        Ok(hosts) if !hosts.is_empty() => Some(hosts),
        _ => {
            eprintln!("POPPY_TEST_ZOOKEEPER is not set: skipping the cluster test");
            None
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// What differs between the tests.
struct Setup {
    /// `Some(hosts)`: use that ZooKeeper; `None`: the cluster starts its own.
    zookeeper: Option<String>,
    lease_ms: u64,
    session_timeout_ms: u64,
    connect_timeout_ms: u64,
    /// Latency of every mock provider call, so flows are in flight a while.
    provider_latency_ms: u64,
}

/// A ZooKeeper the test started and may restart.
struct OwnZookeeper {
    port: u16,
    state: PathBuf,
}

impl OwnZookeeper {
    fn script(&self, action: &str) {
        let status = Command::new("bash")
            .arg(format!("{REPO}/scripts/zookeeper.sh"))
            .arg(action)
            .env("ZK_PORT", self.port.to_string())
            .env("ZK_STATE_DIR", &self.state)
            .env("ZK_KEEP_STATE", "1")
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run scripts/zookeeper.sh");
        assert!(
            status.success(),
            "scripts/zookeeper.sh {action} failed: {status}"
        );
    }
}

/// A created service.
#[derive(Debug, Clone)]
struct Created {
    project: String,
    id: ServiceId,
}

/// One line of the mock provider's call log.
#[derive(Debug, Clone, serde::Deserialize)]
struct Call {
    op: String,
    service_id: ServiceId,
    provider_service_id: String,
    pid: u32,
}

struct Cluster {
    dir: TempDir,
    urls: Vec<String>,
    zk_hosts: String,
    zk_root: String,
    own_zookeeper: Option<OwnZookeeper>,
    http: reqwest::Client,
    run: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .script("stop")
            .stderr(std::process::Stdio::null())
            .status();
        if std::env::var_os("POPPY_TEST_KEEP_CLUSTER").is_some() {
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
            eprintln!("cluster state kept in {}", dir.keep().display());
        }
    }
}

impl Cluster {
    fn start(setup: &Setup) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
        let zk_root = format!("/poppy-cluster-test/{run}");
        let (zk_hosts, own_zookeeper) = match &setup.zookeeper {
            Some(hosts) => (hosts.clone(), None),
            None => {
                let port = free_port();
                (
                    format!("127.0.0.1:{port}"),
                    Some(OwnZookeeper {
                        port,
                        state: dir.path().join("zookeeper"),
                    }),
                )
            }
        };
        // The binaries this test was built with, linked so that a build
        // replacing target/ meanwhile does not swap them under the test.
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin directory");
        for exe in [
            env!("CARGO_BIN_EXE_poppy-server"),
            env!("CARGO_BIN_EXE_poppy-worker"),
        ] {
            let exe = Path::new(exe);
            let to = bin.join(exe.file_name().expect("a file name"));
            if std::fs::hard_link(exe, &to).is_err() {
                std::fs::copy(exe, &to).expect("copy a binary");
            }
        }
        let config = dir.path().join("poppy.toml");
        let calls = dir.path().join("provider-calls.jsonl");
        std::fs::write(
            &config,
            format!(
                r#"
[storage]
driver = "sqlite"
path = "poppy.db"

[jobs]
driver = "zookeeper"
hosts = "{zk_hosts}"
root = "{zk_root}"
session_timeout_ms = {session}
connect_timeout_ms = {connect}

[worker]
concurrency = 8
lease_ms = {lease}
idle_wait_ms = 100
backoff_base_ms = 50
backoff_max_ms = 500
reconcile_every_ms = 1000
reconcile_min_age_ms = 2000
shutdown_grace_ms = 1000

[limits]
max_services_per_project = 1000
max_services_per_page = 100

[[providers]]
name = "mock"
latency_ms = {latency}
call_log = "{calls}"

[[flavors]]
id = "standard"
providers = ["mock"]
"#,
                session = setup.session_timeout_ms,
                connect = setup.connect_timeout_ms,
                lease = setup.lease_ms,
                latency = setup.provider_latency_ms,
                calls = calls.display(),
            ),
        )
        .expect("write the cluster configuration");
        let mut cluster = Self {
            dir,
            urls: Vec::new(),
            zk_hosts,
            zk_root,
            own_zookeeper,
            http: reqwest::Client::new(),
            run,
        };
        let mut start = cluster.script("start");
        start.env("CLUSTER_CONFIG", &config);
        let output = start.output().expect("run scripts/cluster.sh start");
        assert!(
            output.status.success(),
            "scripts/cluster.sh start failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            cluster.logs()
        );
        cluster.urls = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(cluster.urls.len(), 2, "cluster.sh prints two base URLs");
        cluster
    }

    fn script(&self, action: &str) -> Command {
        let ports = format!("{} {}", free_port(), free_port());
        let mut command = Command::new("bash");
        command
            .arg(format!("{REPO}/scripts/cluster.sh"))
            .arg(action)
            .env("CLUSTER_DIR", self.dir.path())
            .env("CLUSTER_PORTS", ports)
            .env("POPPY_BIN_DIR", self.dir.path().join("bin"))
            .env("RUST_LOG", "info")
            .env_remove("POPPY_CASSANDRA")
            .env_remove("POPPY_CONFIG")
            .env_remove("POPPY_LISTEN")
            .env_remove("POPPY_DATA_DIR");
        if !self.urls.is_empty() {
            // `status`/`stop` address the ports `start` used.
            let used: Vec<&str> = self
                .urls
                .iter()
                .filter_map(|u| u.rsplit(':').next())
                .collect();
            command.env("CLUSTER_PORTS", used.join(" "));
        }
        match &self.own_zookeeper {
            Some(zk) => {
                command
                    .env_remove("POPPY_ZOOKEEPER")
                    .env("ZK_PORT", zk.port.to_string())
                    .env("ZK_STATE_DIR", &zk.state);
            }
            None => {
                command.env("POPPY_ZOOKEEPER", &self.zk_hosts);
            }
        }
        command
    }

    fn project(&self, n: usize) -> String {
        format!("cluster-{}-{}", self.run, n % PROJECTS)
    }

    /// POSTs service `n` through server `n % 2`.
    async fn create(&self, n: usize) -> Created {
        let project = self.project(n);
        let url = format!("{}/v1.0/services", self.urls[n % 2]);
        let body = json!({
            "name": format!("cluster-service-{n}"),
            "flavor_id": "standard",
            "domains": [{"domain": format!("www.s{n}-{}.example.com", self.run)}],
            "origins": [{"origin": "origin.example.com"}],
        });
        let response = self
            .http
            .post(&url)
            .header("X-Project-ID", &project)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        assert_eq!(
            status.as_u16(),
            202,
            "POST {url} for service {n}: {}",
            response.text().await.unwrap_or_default()
        );
        let location = location.expect("202 carries a Location");
        let id = location
            .rsplit('/')
            .next()
            .and_then(|id| id.parse::<uuid::Uuid>().ok())
            .map(ServiceId::from_uuid)
            .unwrap_or_else(|| panic!("Location {location} ends in a service id"));
        Created { project, id }
    }

    async fn create_all(&self, range: std::ops::Range<usize>) -> Vec<Created> {
        let mut created = Vec::new();
        for chunk in range.collect::<Vec<_>>().chunks(20) {
            let batch = chunk.iter().map(|n| self.create(*n));
            created.extend(join_all(batch).await);
        }
        created
    }

    /// Every service's status, listed through both servers (alternating
    /// per project, paging by marker).
    async fn statuses(&self) -> BTreeMap<ServiceId, String> {
        let mut out = BTreeMap::new();
        for p in 0..PROJECTS {
            let project = self.project(p);
            let mut url = format!("{}/v1.0/services?limit=100", self.urls[p % 2]);
            loop {
                let Ok(response) = self
                    .http
                    .get(&url)
                    .header("X-Project-ID", &project)
                    .send()
                    .await
                else {
                    break;
                };
                let Ok(page) = response.json::<Value>().await else {
                    break;
                };
                let services = page["services"].as_array().cloned().unwrap_or_default();
                for service in &services {
                    if let (Some(id), Some(status)) =
                        (service["id"].as_str(), service["status"].as_str())
                    {
                        if let Ok(id) = id.parse::<uuid::Uuid>() {
                            out.insert(ServiceId::from_uuid(id), status.to_owned());
                        }
                    }
                }
                let next = page["links"]
                    .as_array()
                    .and_then(|links| links.iter().find(|l| l["rel"] == "next"))
                    .and_then(|l| l["href"].as_str())
                    .map(str::to_owned);
                match next {
                    Some(next) if !services.is_empty() => url = next,
                    _ => break,
                }
            }
        }
        out
    }

    /// Waits (bounded) until every service in `created` is `deployed`.
    async fn wait_deployed(&self, created: &[Created], within: Duration) {
        let start = Instant::now();
        loop {
            let statuses = self.statuses().await;
            let waiting: Vec<String> = created
                .iter()
                .filter(|c| statuses.get(&c.id).map(String::as_str) != Some("deployed"))
                .map(|c| format!("{} ({:?})", c.id, statuses.get(&c.id)))
                .collect();
            if waiting.is_empty() {
                return;
            }
            assert!(
                start.elapsed() < within,
                "{} of {} services not deployed within {within:?}, e.g. {:?}\n{}",
                waiting.len(),
                created.len(),
                &waiting[..waiting.len().min(5)],
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn calls(&self) -> Vec<Call> {
        let path = self.dir.path().join("provider-calls.jsonl");
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("call log line {line:?}: {e}"))
            })
            .collect()
    }

    fn pid(&self, name: &str) -> u32 {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.pid")))
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}.pid names a process"))
    }

    fn kill(&self, name: &str) -> u32 {
        let pid = self.pid(name);
        let status = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -KILL {pid} ({name})");
        pid
    }

    /// The last lines of every process's log, for failure messages.
    fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["server-1", "server-2", "worker-1", "worker-2"] {
            let text = std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {name}.log (last 15 lines)\n"));
            for line in &lines[lines.len().saturating_sub(15)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    async fn board(&self) -> ZkJobBoard {
        ZkJobBoard::connect(ZookeeperConfig::new(&self.zk_hosts, &self.zk_root))
            .await
            .expect("connect to the cluster's job board")
    }

    /// Checks the end state: every service deployed in the store with the
    /// mock's one configuration for it, every `create` the provider saw for
    /// a service addressed that same configuration, and no job left queued
    /// or failed. Returns the `create` calls per service.
    async fn check_end_state(&self, created: &[Created]) -> BTreeMap<ServiceId, Vec<Call>> {
        let db = SqliteDatabase::open(
            self.dir.path().join("data").join("poppy.db"),
            &SqliteOptions::default(),
        )
        .expect("open the cluster's database");
        let store = db.store();
        let board = self.board().await;
        let mut creates: BTreeMap<ServiceId, Vec<Call>> = BTreeMap::new();
        for call in self.calls() {
            assert_eq!(call.op, "create", "only creates were asked for: {call:?}");
            creates.entry(call.service_id).or_default().push(call);
        }
        let ours: BTreeSet<ServiceId> = created.iter().map(|c| c.id).collect();
        let strays: Vec<&ServiceId> = creates.keys().filter(|id| !ours.contains(id)).collect();
        assert!(
            strays.is_empty(),
            "provider calls for unknown services: {strays:?}"
        );
        for c in created {
            let service = store
                .get(&ProjectId::new(c.project.clone()), &c.id)
                .await
                .expect("read the service")
                .unwrap_or_else(|| panic!("service {} is stored", c.id));
            assert_eq!(service.status, ServiceStatus::Deployed, "service {}", c.id);
            let expected = MockProvider::provider_service_id(&c.id);
            let detail = service
                .provider_details
                .get("mock")
                .unwrap_or_else(|| panic!("service {} has mock provider details", c.id));
            assert_eq!(
                detail.provider_service_id.as_deref(),
                Some(expected.as_str()),
                "service {}: the provider configuration the store records",
                c.id
            );
            let calls = creates.get(&c.id).map(Vec::as_slice).unwrap_or_default();
            assert!(
                !calls.is_empty(),
                "service {} is deployed, but the provider never created it",
                c.id
            );
            let configurations: BTreeSet<&str> = calls
                .iter()
                .map(|c| c.provider_service_id.as_str())
                .collect();
            assert_eq!(
                configurations,
                BTreeSet::from([expected.as_str()]),
                "service {}: the provider holds exactly one configuration for it",
                c.id
            );
            assert_eq!(
                board.pending_for(&c.id).await.expect("pending_for"),
                0,
                "service {}: no job left on the board",
                c.id
            );
        }
        let failed = board.failed_jobs(10).await.expect("failed jobs");
        assert!(failed.is_empty(), "no job was given up: {failed:?}");
        creates
    }
}

/// Runs `futures` concurrently on this task; results in order.
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut results: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *result = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// Lines of `name`'s log that contain every one of `needles`.
fn log_lines(cluster: &Cluster, name: &str, needles: &[&str]) -> usize {
    std::fs::read_to_string(cluster.dir.path().join(format!("{name}.log")))
        .unwrap_or_default()
        .lines()
        .filter(|line| needles.iter().all(|n| line.contains(n)))
        .count()
}

#[tokio::test]
async fn two_hundred_services_through_two_servers_deploy_once_each() {
    let Some(zookeeper) = zookeeper() else { return };
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::start(&Setup {
        zookeeper: Some(zookeeper),
        // Long enough that no busy-machine pause lets a live claim lapse:
        // this test asserts one `create` call per service.
        lease_ms: 10_000,
        session_timeout_ms: 10_000,
        connect_timeout_ms: 5_000,
        provider_latency_ms: 0,
    });
    let created = cluster.create_all(0..200).await;
    cluster
        .wait_deployed(&created, Duration::from_secs(180))
        .await;
    let creates = cluster.check_end_state(&created).await;
    let doubled: Vec<(&ServiceId, usize)> = creates
        .iter()
        .map(|(id, calls)| (id, calls.len()))
        .filter(|(_, n)| *n != 1)
        .collect();
    assert!(
        doubled.is_empty(),
        "each create job ran to completion once: services with other than one provider create: \
         {doubled:?}"
    );
    let workers: BTreeSet<u32> = creates.values().flatten().map(|c| c.pid).collect();
    assert_eq!(
        workers,
        BTreeSet::from([cluster.pid("worker-1"), cluster.pid("worker-2")]),
        "both workers took jobs"
    );
}

#[tokio::test]
async fn a_killed_workers_jobs_are_reclaimed() {
    let Some(zookeeper) = zookeeper() else { return };
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::start(&Setup {
        zookeeper: Some(zookeeper),
        lease_ms: 2_000,
        session_timeout_ms: 4_000,
        connect_timeout_ms: 5_000,
        provider_latency_ms: 400,
    });
    let created = cluster.create_all(0..80).await;
    let victim = cluster.pid("worker-1");
    // Kill once the victim is busy: it has finished creates and, with eight
    // slots, holds more claims whose provider calls are under way.
    let start = Instant::now();
    while cluster.calls().iter().filter(|c| c.pid == victim).count() < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "worker-1 did not start working\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.kill("worker-1");
    let at_kill = cluster.calls().len();
    assert!(
        at_kill < created.len(),
        "the kill came while services were still being created ({at_kill} of {})",
        created.len()
    );
    cluster
        .wait_deployed(&created, Duration::from_secs(120))
        .await;
    let creates = cluster.check_end_state(&created).await;
    for (id, calls) in &creates {
        if calls.len() > 1 {
            // A job reclaimed after the victim's provider call but before
            // its checkpoint repeats the (idempotent) call, once.
            assert!(
                calls.len() == 2 && calls.iter().any(|c| c.pid == victim),
                "service {id}: only a job the victim held may repeat its create, once: {calls:?}"
            );
        }
    }
    // The victim died holding claims (eight slots, each in a 400 ms provider
    // call): the survivor ran those jobs as their second attempt.
    let reclaimed = log_lines(&cluster, "worker-2", &["job run finished", "attempt=2"]);
    assert!(
        reclaimed > 0,
        "worker-2 finished no job on its second attempt: the victim's claims were not \
         reclaimed\n{}",
        cluster.logs()
    );
}

#[tokio::test]
async fn no_job_is_lost_when_zookeeper_restarts() {
    if zookeeper().is_none() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let cluster = Cluster::start(&Setup {
        zookeeper: None,
        lease_ms: 2_000,
        session_timeout_ms: 10_000,
        connect_timeout_ms: 2_000,
        provider_latency_ms: 200,
    });
    let zk = cluster
        .own_zookeeper
        .as_ref()
        .expect("the cluster runs its own ZooKeeper");
    let mut created = cluster.create_all(0..60).await;
    let start = Instant::now();
    while cluster.calls().len() < 10 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no service deployed before the restart\n{}",
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    zk.script("stop");
    // Created while ZooKeeper is down: stored, but their jobs cannot be
    // posted (each request gives up after the connect timeout).
    created.extend(cluster.create_all(60..80).await);
    zk.script("start");
    cluster
        .wait_deployed(&created, Duration::from_secs(180))
        .await;
    cluster.check_end_state(&created).await;
    let reposted: usize = ["worker-1", "worker-2"]
        .iter()
        .map(|w| log_lines(&cluster, w, &["reconciler re-posted"]))
        .sum();
    assert!(
        reposted > 0,
        "the jobs of services created during the outage were re-posted by the reconciler\n{}",
        cluster.logs()
    );
}
