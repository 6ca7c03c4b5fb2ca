//! The harness: a real Poppy (SQLite in a temp dir, mock provider, default
//! DNS, in-process worker unless told otherwise) on an ephemeral loopback
//! port, and a small HTTP client for it.
//!
//! Case tables report every failing case at once: a case is an async
//! function returning `Result<(), String>`, and [`check_all`] runs a table
//! of them and fails the test with all the messages.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use poppy::adapters::Registry;
use poppy::config::Config;
use poppy::worker::Runner;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// Longest wait for an eventual state (deployed, gone…).
pub const DEADLINE: Duration = Duration::from_secs(20);
/// Pause between two polls.
pub const POLL: Duration = Duration::from_millis(25);

/// Returns `Err(message)` from the enclosing function unless `cond`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

/// Returns `Err` from the enclosing function unless both sides are equal;
/// JSON values are shown pretty-printed.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($arg:tt)+) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    return Err(format!(
                        "{}\n   got: {}\nwanted: {}",
                        format!($($arg)+),
                        $crate::support::show(left),
                        $crate::support::show(right)
                    ));
                }
            }
        }
    };
}

/// Pretty text of anything `Debug`, JSON values as JSON.
pub fn show<T: fmt::Debug + serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| format!("{value:?}"))
}

/// A fresh 12-hex-digit token.
pub fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A fresh project id (valid for the admin endpoints too).
pub fn project() -> String {
    format!("p{}", token())
}

/// A fresh, valid, non-root domain.
pub fn domain() -> String {
    format!("www.t{}.com", token())
}

/// A fresh shared-SSL label.
pub fn shared_label() -> String {
    format!("s{}", token())
}

/// Makes a valid test-data domain unique while keeping it valid and
/// non-root: a token joins the first label (`www.x.co.in` →
/// `www-<t>.x.co.in`); a two-label name gets a token label in front.
pub fn unique_valid(domain: &str) -> String {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() <= 2 {
        format!("t{}.{domain}", token())
    } else {
        format!("{}-{}.{}", labels[0], token(), labels[1..].join("."))
    }
}

/// Makes an invalid test-data domain unique without making it valid (the
/// upstream tests' rule: a prefix glued to anything longer than 2
/// characters, so `x.com` stays a root domain and `A.com` stays upper-case).
pub fn unique_invalid(domain: &str) -> String {
    if domain.chars().count() > 2 {
        format!("t{}{domain}", token())
    } else {
        domain.to_owned()
    }
}

/// A last change to a test server's configuration.
type ConfigEdit = Box<dyn FnOnce(&mut Config) + Send>;

/// How to start a [`Server`].
pub struct Setup {
    toml: String,
    worker: bool,
    edit: Option<ConfigEdit>,
}

impl Setup {
    /// The embedded default configuration, with the in-process worker.
    pub fn new() -> Self {
        Self {
            toml: String::new(),
            worker: true,
            edit: None,
        }
    }

    /// Configuration text parsed first (its `[[providers]]`/`[[flavors]]`
    /// replace the defaults).
    pub fn toml(mut self, text: &str) -> Self {
        self.toml = text.to_owned();
        self
    }

    /// No in-process worker: jobs run only through [`Server::run_jobs`].
    pub fn manual(mut self) -> Self {
        self.worker = false;
        self
    }

    /// A last change to the configuration, after the suite's worker tuning.
    pub fn edit(mut self, edit: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.edit = Some(Box::new(edit));
        self
    }
}

/// A running Poppy; stopped when dropped.
pub struct Server {
    api: Api,
    runner: Runner,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    _dir: TempDir,
}

impl Server {
    /// The default configuration with the in-process worker.
    pub async fn start() -> Self {
        Self::with(Setup::new()).await
    }

    pub async fn with(setup: Setup) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary data directory");
        let mut config = Config::from_toml(&setup.toml)
            .unwrap_or_else(|e| panic!("test configuration does not parse: {e}\n{}", setup.toml));
        config.data_dir = dir.path().to_owned();
        config.worker.backoff_base_ms = 10;
        config.worker.backoff_max_ms = 50;
        config.worker.max_attempts = 3;
        config.worker.idle_wait_ms = 20;
        config.worker.poll_interval_ms = 20;
        config.server.worker = setup.worker;
        if let Some(edit) = setup.edit {
            edit(&mut config);
        }
        let poppy = poppy::assemble(&config, &Registry::builtin())
            .await
            .unwrap_or_else(|e| panic!("assembling Poppy failed: {e}"));
        let runner = poppy.runner();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral loopback port");
        let addr = listener
            .local_addr()
            .expect("local address of the listener");
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            poppy
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await
        });
        Self {
            api: Api::new(format!("http://{addr}")),
            runner,
            shutdown: Some(tx),
            handle: Some(handle),
            _dir: dir,
        }
    }

    pub fn api(&self) -> Api {
        self.api.clone()
    }

    /// Runs claimable jobs one at a time until none is left (for servers
    /// started with [`Setup::manual`]); returns how many ran.
    pub async fn run_jobs(&self) -> usize {
        let mut ran = 0;
        while let Some(_report) = self
            .runner
            .run_one()
            .await
            .unwrap_or_else(|e| panic!("claiming a job failed: {e}"))
        {
            ran += 1;
            assert!(ran < 1000, "jobs keep coming; a flow loops");
        }
        ran
    }

    /// Stops the server and waits for it (in-flight requests finish).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            let result = tokio::time::timeout(DEADLINE, handle)
                .await
                .expect("the server stops within the deadline");
            result
                .expect("the server task does not panic")
                .expect("the server stops without an I/O error");
        }
    }
}

impl std::ops::Deref for Server {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An HTTP answer.
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    /// The body as JSON; panics (with the body) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {self}"))
    }

    /// The body as JSON, or an error naming the response.
    pub fn try_json(&self) -> Result<Value, String> {
        serde_json::from_str(&self.text)
            .map_err(|e| format!("response body is not JSON ({e}): {self}"))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    pub fn location(&self) -> Option<String> {
        self.header("location")
    }

    /// Checks an error answer: `status`, JSON content type and exactly
    /// `{"message": message}`.
    pub fn expect_error(&self, status: u16, message: &str) -> Result<(), String> {
        ensure_eq!(self.status, status, "status of {self}");
        ensure_eq!(
            self.header("content-type").as_deref(),
            Some("application/json"),
            "content type of {self}"
        );
        ensure_eq!(
            self.try_json()?,
            serde_json::json!({ "message": message }),
            "error body"
        );
        Ok(())
    }

    /// Checks an error answer of `status` whose body has a non-empty
    /// string `message` (validation errors add `errors`).
    pub fn expect_status_with_message(&self, status: u16) -> Result<(), String> {
        ensure_eq!(self.status, status, "status of {self}");
        let body = self.try_json()?;
        ensure!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error body without a message: {self}"
        );
        Ok(())
    }

    /// Checks an empty answer of `status`.
    pub fn expect_empty(&self, status: u16) -> Result<(), String> {
        ensure_eq!(self.status, status, "status of {self}");
        ensure!(self.text.is_empty(), "expected an empty body: {self}");
        Ok(())
    }
}

impl fmt::Display for Resp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {:?}", self.status, self.text)
    }
}

/// A client for one server; cheap to clone.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// A client for the server at `base` (`http://host:port`).
    pub fn new(base: String) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("build the HTTP client");
        Self { base, http }
    }

    /// `http://127.0.0.1:port`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path` on this server, or `path` itself when it is a full URL.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Sends a request; `project` becomes `X-Project-ID`, `body` is
    /// `(content type, bytes)`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        project: Option<&str>,
        body: Option<(Option<&str>, Vec<u8>)>,
    ) -> Resp {
        let url = self.url(path);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(project) = project {
            request = request.header("X-Project-ID", project);
        }
        // The suite acts as tenant and operator: the default `[admin]`
        // recognises operators by this role.
        request = request.header("X-Roles", "admin");
        if let Some((content_type, bytes)) = body {
            if let Some(content_type) = content_type {
                request = request.header("Content-Type", content_type);
            }
            request = request.body(bytes);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url} failed at the transport level: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading the body of {method} {url} failed: {e}"));
        Resp {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, project: &str, path: &str) -> Resp {
        self.send(Method::GET, path, Some(project), None).await
    }

    /// A GET without `X-Project-ID`.
    pub async fn get_anonymous(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn delete(&self, project: &str, path: &str) -> Resp {
        self.send(Method::DELETE, path, Some(project), None).await
    }

    pub async fn json(&self, method: Method, project: &str, path: &str, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("serialise a request body");
        self.send(
            method,
            path,
            Some(project),
            Some((Some("application/json"), bytes)),
        )
        .await
    }

    pub async fn post(&self, project: &str, path: &str, body: &Value) -> Resp {
        self.json(Method::POST, project, path, body).await
    }

    pub async fn put(&self, project: &str, path: &str, body: &Value) -> Resp {
        self.json(Method::PUT, project, path, body).await
    }

    pub async fn patch(&self, project: &str, path: &str, body: &Value) -> Resp {
        self.json(Method::PATCH, project, path, body).await
    }

    /// `POST /v1.0/services`; checks 202, an empty body and a `Location`
    /// of this server's `/v1.0/services/{uuid}`, and returns the location.
    pub async fn create(&self, project: &str, body: &Value) -> Result<String, String> {
        let resp = self.post(project, "/v1.0/services", body).await;
        resp.expect_empty(202)?;
        let location = resp
            .location()
            .ok_or_else(|| format!("202 without a Location header: {resp}"))?;
        let prefix = format!("{}/v1.0/services/", self.base);
        let id = location
            .strip_prefix(&prefix)
            .ok_or_else(|| format!("Location {location} is not under {prefix}"))?;
        ensure!(
            uuid::Uuid::parse_str(id).is_ok(),
            "Location {location} does not end with a service id"
        );
        Ok(location)
    }

    /// GET of a service until its `status` is `want`; gives up early when it
    /// settles elsewhere (`failed` while waiting for `deployed`, or the other
    /// way round) and after [`DEADLINE`]. Returns the last body.
    pub async fn wait_status(
        &self,
        project: &str,
        location: &str,
        want: &str,
    ) -> Result<Value, String> {
        let start = tokio::time::Instant::now();
        loop {
            let resp = self.get(project, location).await;
            ensure_eq!(
                resp.status,
                200,
                "GET {location} while waiting for '{want}': {resp}"
            );
            let body = resp.try_json()?;
            let status = body["status"].as_str().unwrap_or_default().to_owned();
            if status == want {
                return Ok(body);
            }
            let settled_elsewhere = match want {
                "deployed" => status == "failed",
                "failed" => status == "deployed",
                _ => false,
            };
            ensure!(
                !settled_elsewhere,
                "service {location} settled '{status}' instead of '{want}': {}",
                show(&body)
            );
            ensure!(
                start.elapsed() < DEADLINE,
                "service {location} is still '{status}' after {DEADLINE:?}, wanted '{want}': {}",
                show(&body)
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// GET of a service until 404.
    pub async fn wait_gone(&self, project: &str, location: &str) -> Result<(), String> {
        let start = tokio::time::Instant::now();
        loop {
            let resp = self.get(project, location).await;
            if resp.status == 404 {
                return Ok(());
            }
            ensure_eq!(
                resp.status,
                200,
                "GET {location} while waiting for it to go: {resp}"
            );
            ensure!(
                start.elapsed() < DEADLINE,
                "service {location} still exists after {DEADLINE:?}: {resp}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Creates a service and waits until it is deployed; returns its
    /// location and body.
    pub async fn deployed(&self, project: &str, body: &Value) -> Result<(String, Value), String> {
        let location = self.create(project, body).await?;
        let service = self.wait_status(project, &location, "deployed").await?;
        Ok((location, service))
    }

    /// The ids of a project's services (first page of up to 20).
    pub async fn service_ids(&self, project: &str) -> Vec<String> {
        let resp = self.get(project, "/v1.0/services?limit=20").await;
        assert_eq!(resp.status, 200, "listing services: {resp}");
        resp.json()["services"]
            .as_array()
            .unwrap_or_else(|| panic!("list without services: {resp}"))
            .iter()
            .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// The service id at the end of a `Location`.
pub fn id_of(location: &str) -> String {
    location.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Runs `check` on every case, `concurrency` at a time, and fails with the
/// messages of all failed cases.
pub async fn check_all<C, F, Fut>(what: &str, cases: Vec<(String, C)>, concurrency: usize, check: F)
where
    C: Send + 'static,
    F: Fn(C) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let total = cases.len();
    assert!(total > 0, "{what}: no cases");
    let mut pending = cases.into_iter();
    let mut running = JoinSet::new();
    let mut names = HashMap::new();
    let mut failures = Vec::new();
    let mut spawn_next = |running: &mut JoinSet<Result<(), String>>, names: &mut HashMap<_, _>| {
        if let Some((name, case)) = pending.next() {
            let check = check.clone();
            let handle = running.spawn(async move { check(case).await });
            names.insert(handle.id(), name);
        }
    };
    for _ in 0..concurrency.max(1) {
        spawn_next(&mut running, &mut names);
    }
    while let Some(joined) = running.join_next_with_id().await {
        let (id, outcome) = match joined {
            Ok((id, result)) => (id, result),
            Err(e) => (e.id(), Err(format!("panicked: {e}"))),
        };
        if let Err(message) = outcome {
            let name = names.get(&id).cloned().unwrap_or_default();
            failures.push(format!("[{name}] {message}"));
        }
        spawn_next(&mut running, &mut names);
    }
    assert!(
        failures.is_empty(),
        "{what}: {} of {total} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// A minimal RFC 6902 applier (add, remove, replace) for computing what a
/// patched service should look like, independent of the product's own.
pub fn apply_patch(doc: &Value, patch: &Value) -> Value {
    let mut doc = doc.clone();
    for op in patch.as_array().expect("a patch is an array") {
        let path = op["path"].as_str().expect("an operation has a path");
        let (parent, last) = path.rsplit_once('/').expect("a non-root path");
        let Some(target) = doc.pointer_mut(parent) else {
            panic!("patch path {path} has no parent in the document");
        };
        let value = op.get("value").cloned();
        match (op["op"].as_str(), target) {
            (Some("add"), Value::Array(items)) => {
                let value = value.expect("add has a value");
                if last == "-" {
                    items.push(value);
                } else {
                    let i: usize = last.parse().expect("an array index");
                    items.insert(i, value);
                }
            }
            (Some("add" | "replace"), Value::Object(map)) => {
                map.insert(last.to_owned(), value.expect("add/replace has a value"));
            }
            (Some("replace"), Value::Array(items)) => {
                let i: usize = last.parse().expect("an array index");
                items[i] = value.expect("replace has a value");
            }
            (Some("remove"), Value::Array(items)) => {
                let i: usize = last.parse().expect("an array index");
                items.remove(i);
            }
            (Some("remove"), Value::Object(map)) => {
                map.remove(last);
            }
            (other, _) => panic!("unsupported patch operation {other:?} in {op}"),
        }
    }
    doc
}
