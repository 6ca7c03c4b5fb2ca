//! The harness of the reliability suite: an HTTP client, a Poppy wired by
//! hand from adapters (so tests can reach and wrap the provider and the job
//! board), a Poppy assembled from configuration, and real `poppy-server` /
//! `poppy-worker` processes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poppy::adapters::Registry;
use poppy::config::Config;
use poppy::core::manager::{Manager, Settings};
use poppy::core::model::{Flavor, FlavorProvider};
use poppy::core::ports::{Api, CdnProvider, JobBoard};
use poppy::core::{Backends, Providers};
use poppy::http::HttpConfig;
use poppy::worker::{Runner, RunnerConfig};
use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Longest wait for an eventual state.
pub const DEADLINE: Duration = Duration::from_secs(90);
/// Pause between two polls.
pub const POLL: Duration = Duration::from_millis(25);

/// A fresh 12-hex-digit token.
pub fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A fresh project id.
pub fn project() -> String {
    format!("p{}", token())
}

/// A fresh, valid, non-root domain.
pub fn domain() -> String {
    format!("www.t{}.com", token())
}

/// A minimal valid service body.
pub fn service_body(name: &str, domain: &str) -> Value {
    json!({
        "name": name,
        "domains": [{"domain": domain}],
        "origins": [{"origin": "origin.example.com"}],
        "flavor_id": "standard"
    })
}

/// The service id at the end of a `Location`.
pub fn id_of(location: &str) -> String {
    location.rsplit('/').next().unwrap_or_default().to_owned()
}

/// The statuses a service passes through while a job is queued for it.
pub fn in_progress(status: &str) -> bool {
    status.ends_with("_in_progress")
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub location: Option<String>,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!("HTTP {} body is not JSON ({e}): {}", self.status, self.text)
        })
    }

    /// The `message` of an error body ("" when there is none).
    pub fn message(&self) -> String {
        serde_json::from_str::<Value>(&self.text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {:?}", self.status, self.text)
    }
}

/// A client of one server (base URL `http://127.0.0.1:port`).
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("build the HTTP client");
        Self {
            base: base.into(),
            http,
        }
    }

    /// A client that opens a connection per request (no pooling), so a
    /// transport error concerns that one request only.
    pub fn unpooled(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("build the HTTP client");
        Self {
            base: base.into(),
            http,
        }
    }

    /// Sends a request; transport failures are returned.
    pub async fn try_send(
        &self,
        method: Method,
        path: &str,
        project: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Resp, reqwest::Error> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(project) = project {
            request = request.header("X-Project-ID", project);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await?;
        Ok(Resp {
            status,
            location,
            text,
        })
    }

    /// Sends a request; a transport failure fails the test.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        project: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        match self.try_send(method.clone(), path, project, body).await {
            Ok(resp) => resp,
            Err(e) => panic!(
                "{method} {}{path} failed at the transport level: {e}",
                self.base
            ),
        }
    }

    pub async fn get(&self, project: &str, path: &str) -> Resp {
        self.send(Method::GET, path, Some(project), None).await
    }

    pub async fn post(&self, project: &str, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(project), Some(body))
            .await
    }

    pub async fn patch(&self, project: &str, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, Some(project), Some(body))
            .await
    }

    pub async fn delete(&self, project: &str, path: &str) -> Resp {
        self.send(Method::DELETE, path, Some(project), None).await
    }

    /// `POST /v1.0/services`, which must be 202; returns the service id.
    pub async fn create(&self, project: &str, body: &Value) -> String {
        let resp = self.post(project, "/v1.0/services", body).await;
        assert_eq!(resp.status, 202, "create: {resp}");
        id_of(resp.location.as_deref().expect("a 202 has a Location"))
    }

    /// GET of a service until it is no longer `*_in_progress`; returns its
    /// body, or `None` once it is gone (404).
    pub async fn settled(&self, project: &str, id: &str) -> Option<Value> {
        let start = tokio::time::Instant::now();
        loop {
            let resp = self.get(project, &format!("/v1.0/services/{id}")).await;
            match resp.status {
                404 => return None,
                200 => {
                    let body = resp.json();
                    if !in_progress(body["status"].as_str().unwrap_or_default()) {
                        return Some(body);
                    }
                    assert!(
                        start.elapsed() < DEADLINE,
                        "service {id} still {} after {DEADLINE:?}",
                        body["status"]
                    );
                }
                _ => panic!("GET service {id}: {resp}"),
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Wraps a job board (a recorder around the real one).
pub type WrapJobs = Box<dyn FnOnce(Arc<dyn JobBoard>) -> Arc<dyn JobBoard> + Send>;

/// How to wire a [`Rig`].
pub struct RigSetup {
    /// The providers; the seeded flavor `standard` lists them all.
    pub providers: Vec<Arc<dyn CdnProvider>>,
    /// Wraps the job board the worker uses (recorders).
    pub wrap_jobs: Option<WrapJobs>,
    pub runner: RunnerConfig,
    /// Run the in-process worker.
    pub worker: bool,
    pub http: HttpConfig,
    pub max_services_per_project: u32,
}

impl RigSetup {
    /// One provider, an in-process worker with quick retries.
    pub fn new(providers: Vec<Arc<dyn CdnProvider>>) -> Self {
        Self {
            providers,
            wrap_jobs: None,
            runner: RunnerConfig {
                worker_id: format!("rig-{}", token()),
                concurrency: 8,
                lease: Duration::from_secs(30),
                max_attempts: 5,
                backoff_base: Duration::from_millis(5),
                backoff_max: Duration::from_millis(40),
                idle_wait: Duration::from_millis(10),
                shutdown_grace: Duration::from_secs(2),
                reconcile_every: None,
                ..RunnerConfig::default()
            },
            worker: true,
            http: HttpConfig::default(),
            max_services_per_project: 20,
        }
    }
}

/// A Poppy wired from adapters by the test: SQLite (outbox) in a temporary
/// directory, the default DNS driver and the given providers, served on
/// an ephemeral loopback port.
pub struct Rig {
    pub client: Client,
    pub backends: Backends,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    _dir: TempDir,
}

impl Rig {
    pub async fn start(setup: RigSetup) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let registry = Registry::builtin();
        let none = toml::Table::new();
        let storage = registry
            .storage(("sqlite", &none), ("sqlite", &none), dir.path())
            .await
            .expect("open SQLite storage");
        let dns = registry
            .dns("default", &none)
            .expect("the default DNS driver");
        let mut providers = Providers::new();
        for provider in &setup.providers {
            providers.insert(provider.clone());
        }
        let flavor = Flavor {
            id: "standard".to_owned(),
            providers: setup
                .providers
                .iter()
                .map(|p| FlavorProvider {
                    provider: p.name().to_owned(),
                    provider_url: format!("http://www.{}.com", p.name()),
                })
                .collect(),
            limits: None,
        };
        storage
            .flavors
            .create(&flavor)
            .await
            .expect("seed the flavor");
        let jobs = match setup.wrap_jobs {
            Some(wrap) => wrap(storage.jobs.clone()),
            None => storage.jobs.clone(),
        };
        let backends = Backends {
            store: storage.store,
            flavors: storage.flavors,
            jobs,
            dns,
            providers,
            notifier: None,
            certificates: None,
            metrics: None,
            log_delivery: None,
        };
        let manager = Arc::new(Manager::new(
            backends.clone(),
            Settings {
                max_services_per_project: setup.max_services_per_project,
                max_services_per_page: 100,
                ..Settings::default()
            },
        ));
        let runner = Runner::new(backends.clone(), setup.runner);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral loopback port");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = watch::channel(false);
        let until_stopped = |mut rx: watch::Receiver<bool>| async move {
            while !*rx.borrow() {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        let mut tasks = Vec::new();
        let api = Api::from_one(manager);
        let http = setup.http;
        let signal = until_stopped(stopped.clone());
        tasks.push(tokio::spawn(async move {
            poppy::http::serve(listener, api, http, signal)
                .await
                .expect("serving HTTP");
        }));
        if setup.worker {
            let worker = runner.clone();
            let signal = until_stopped(stopped);
            tasks.push(tokio::spawn(async move { worker.run(signal).await }));
        }
        Self {
            client: Client::new(format!("http://{addr}")),
            backends,
            stop,
            tasks,
            _dir: dir,
        }
    }

    /// Stops HTTP and the worker, and waits for both.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            tokio::time::timeout(DEADLINE, task)
                .await
                .expect("the rig stops within the deadline")
                .expect("the rig's tasks do not panic");
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A Poppy assembled from configuration (`poppy::assemble`), as the
/// binaries do, with the worker left to the test ([`Assembled::run_jobs`])
/// unless `worker` is set.
pub struct Assembled {
    pub client: Client,
    pub runner: Runner,
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    _dir: TempDir,
}

impl Assembled {
    pub async fn start(worker: bool, edit: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        config.server.worker = worker;
        config.worker.backoff_base_ms = 5;
        config.worker.backoff_max_ms = 40;
        config.worker.idle_wait_ms = 10;
        config.worker.poll_interval_ms = 10;
        config.limits.max_services_per_project = 1000;
        edit(&mut config);
        let poppy = poppy::assemble(&config, &Registry::builtin())
            .await
            .unwrap_or_else(|e| panic!("assembling Poppy failed: {e}"));
        let runner = poppy.runner();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral loopback port");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            poppy
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await
        });
        Self {
            client: Client::new(format!("http://{addr}")),
            runner,
            addr,
            stop: Some(tx),
            handle: Some(handle),
            _dir: dir,
        }
    }

    /// Runs claimable jobs one at a time until none is left.
    pub async fn run_jobs(&self) -> usize {
        let mut ran = 0;
        while self
            .runner
            .run_one()
            .await
            .expect("claiming a job")
            .is_some()
        {
            ran += 1;
            assert!(ran < 10_000, "jobs keep coming; a flow loops");
        }
        ran
    }

    /// Stops the server and waits (bounded) for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(DEADLINE, handle)
                .await
                .expect("the server stops within the deadline")
                .expect("the server task does not panic")
                .expect("the server stops without an I/O error");
        }
    }
}

impl Drop for Assembled {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Which binary a [`Proc`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    /// `poppy-server --no-worker`.
    Server,
    /// `poppy-server` with its in-process worker.
    ServerWithWorker,
    /// `poppy-worker`.
    Worker,
}

/// A `poppy-server` or `poppy-worker` child process, its stderr collected.
pub struct Proc {
    pub binary: Binary,
    child: Child,
    log: Arc<Mutex<String>>,
    /// `http://127.0.0.1:port` of a server.
    pub base: Option<String>,
}

impl Proc {
    /// Starts `binary` on `data_dir` with `config`; a server listens on
    /// `port` and is waited for (bounded) until it answers ping.
    pub async fn start(binary: Binary, data_dir: &Path, config: &Path, port: u16) -> Self {
        let exe = match binary {
            Binary::Server | Binary::ServerWithWorker => env!("CARGO_BIN_EXE_poppy-server"),
            Binary::Worker => env!("CARGO_BIN_EXE_poppy-worker"),
        };
        let mut command = Command::new(exe);
        command
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .env_remove("POPPY_LOG_FORMAT")
            .env_remove("POPPY_LISTEN")
            .env_remove("POPPY_DATA_DIR")
            .env_remove("POPPY_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match binary {
            Binary::Server => {
                command.arg("--listen").arg(format!("127.0.0.1:{port}"));
                command.arg("--no-worker");
            }
            Binary::ServerWithWorker => {
                command.arg("--listen").arg(format!("127.0.0.1:{port}"));
            }
            Binary::Worker => {}
        }
        let mut child = command.spawn().expect("start a poppy binary");
        let stderr = child.stderr.take().expect("the child's stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        // Drains stderr for the life of the process so it never blocks on
        // a full pipe; keeps the tail for failure messages.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
                if log.len() > 256 * 1024 {
                    let cut = log.len() - 128 * 1024;
                    let cut = (cut..log.len())
                        .find(|i| log.is_char_boundary(*i))
                        .unwrap_or(0);
                    log.drain(..cut);
                }
            }
        });
        let mut process = Self {
            binary,
            child,
            log,
            base: None,
        };
        if binary != Binary::Worker {
            process.base = Some(format!("http://127.0.0.1:{port}"));
            process.wait_until_ready().await;
        }
        process
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("query the child's state")
    }

    async fn wait_until_ready(&mut self) {
        let client = Client::unpooled(self.base.clone().unwrap_or_default());
        let start = tokio::time::Instant::now();
        loop {
            if let Ok(ping) = client.try_send(Method::GET, "/v1.0/ping", None, None).await {
                if ping.status == 204 {
                    return;
                }
            }
            if let Some(status) = self.exited() {
                panic!(
                    "{:?} exited ({status}) before it was ready:\n{}",
                    self.binary,
                    self.log()
                );
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{:?} not ready within {DEADLINE:?}:\n{}",
                self.binary,
                self.log()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill -TERM");
        assert!(sent.success(), "kill -TERM failed: {sent}");
    }

    /// Waits (bounded) for the process to exit.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        let start = tokio::time::Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            if start.elapsed() > DEADLINE {
                let log = self.log();
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{:?} did not exit within {DEADLINE:?}:\n{log}", self.binary);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A test that failed half-way leaves no process behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a test file");
    path
}

/// The lines of a mock provider `call_log`: `(op, service_id,
/// provider_service_id)` in file order.
pub fn call_log(path: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|v| {
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (
                field("op"),
                field("service_id"),
                field("provider_service_id"),
            )
        })
        .collect()
}
