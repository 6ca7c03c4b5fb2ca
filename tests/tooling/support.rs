//! A real Poppy on a loopback port, a small HTTP client for it, and a
//! parser of the Prometheus text format.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use poppy::adapters::Registry;
use poppy::config::Config;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// Longest wait for an eventual state.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Providers `mock` (always works) and `broken` (refuses every call as
/// invalid), with a flavor for each.
pub const TWO_PROVIDERS: &str = r#"
[[providers]]
name = "mock"

[[providers]]
name = "broken"
driver = "mock"
failure_rate = 1.0
failure_kind = "invalid"

[[flavors]]
id = "standard"
providers = ["mock"]

[[flavors]]
id = "doomed"
providers = ["broken"]
"#;

/// A fresh token for names.
pub fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A fresh project id.
pub fn project() -> String {
    format!("p{}", token())
}

/// A valid service body on `flavor` with a fresh domain.
pub fn service_body(flavor: &str) -> Value {
    json!({
        "name": format!("site-{}", token()),
        "domains": [{"domain": format!("www.t{}.com", token())}],
        "origins": [{"origin": "origin.example.com"}],
        "flavor_id": flavor,
    })
}

/// A running Poppy; stopped when dropped.
pub struct Server {
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: TempDir,
}

impl Server {
    /// [`TWO_PROVIDERS`] with the in-process worker.
    pub async fn start() -> Self {
        Self::with(TWO_PROVIDERS, true).await
    }

    pub async fn with(toml: &str, worker: bool) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary data directory");
        let mut config = Config::from_toml(toml).expect("test configuration parses");
        config.data_dir = dir.path().to_owned();
        config.worker.backoff_base_ms = 10;
        config.worker.backoff_max_ms = 50;
        config.worker.max_attempts = 3;
        config.worker.idle_wait_ms = 20;
        config.worker.poll_interval_ms = 20;
        config.server.worker = worker;
        let poppy = poppy::assemble(&config, &Registry::builtin())
            .await
            .unwrap_or_else(|e| panic!("assembling Poppy failed: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = poppy
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            url: format!("http://{addr}"),
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    /// Sends a request as `project`; returns status, `Location` and body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        project: &str,
        body: Option<&Value>,
    ) -> (u16, Option<String>, String) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url))
            .header("X-Project-ID", project);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, location, response.text().await.unwrap())
    }

    /// Creates a service; returns its id.
    pub async fn create(&self, project: &str, body: &Value) -> String {
        let (status, location, text) = self
            .call(reqwest::Method::POST, "/v1.0/services", project, Some(body))
            .await;
        assert_eq!(status, 202, "create: {text}");
        location.unwrap().rsplit('/').next().unwrap().to_owned()
    }

    /// Polls the service until its status is `wanted`; returns it.
    pub async fn wait_for(&self, project: &str, id: &str, wanted: &str) -> Value {
        let started = Instant::now();
        loop {
            let (status, _, text) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/v1.0/services/{id}"),
                    project,
                    None,
                )
                .await;
            if status == 200 {
                let service: Value = serde_json::from_str(&text).unwrap();
                if service["status"] == wanted {
                    return service;
                }
            }
            assert!(
                started.elapsed() < DEADLINE,
                "service {id} never became {wanted}: last {status} {text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The Prometheus exposition.
    pub async fn scrape(&self) -> Exposition {
        let response = reqwest::get(format!("{}/metrics", self.url))
            .await
            .expect("scrape");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        Exposition::parse(&response.text().await.unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed text exposition (format 0.0.4).
#[derive(Debug)]
pub struct Exposition {
    pub text: String,
    pub samples: Vec<Sample>,
    /// `# TYPE` of each metric family.
    pub types: BTreeMap<String, String>,
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("label name=\"value\"");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    let (_, escaped) = chars.next().expect("escape sequence");
                    value.push(if escaped == 'n' { '\n' } else { escaped });
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(name.trim_start_matches(',').to_owned(), value);
        rest = after[end..].trim_start_matches(',');
    }
    labels
}

impl Exposition {
    /// Parses every line; panics on a line that is not a comment or sample.
    pub fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
                types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample: series value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line:?}")),
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (
                    name,
                    parse_labels(labels.strip_suffix('}').expect("closing brace")),
                ),
                None => (series, BTreeMap::new()),
            };
            samples.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        Self {
            text: text.to_owned(),
            samples,
            types,
        }
    }

    /// The value of the sample with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// Like [`Self::value`], 0 when absent (a counter never incremented).
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }
}

/// Runs a built binary of this package with `args` and `env`, off the
/// async runtime; returns exit code, stdout and stderr.
pub async fn run(
    bin: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> (i32, String, String) {
    let output = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(bin);
        command.args(&args);
        for name in [
            "POPPY_URL",
            "POPPY_PROJECT_ID",
            "POPPY_OUTPUT",
            "POPPY_CLI_CONFIG",
            "POPPY_CONFIG",
            "POPPY_LISTEN",
            "POPPY_DATA_DIR",
        ] {
            command.env_remove(name);
        }
        command.envs(env);
        command.stdin(std::process::Stdio::null());
        command.output().expect("run the binary")
    })
    .await
    .expect("the blocking task finishes");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
