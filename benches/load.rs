//! The HTTP load harness: Poppy's REST API and worker under load, every
//! figure next to a ceiling measured in the same run.
//!
//! ```sh
//! cargo bench --bench load                 # the full run (a few minutes)
//! cargo bench --bench load -- --quick      # a short run to try things out
//! cargo bench --bench load -- --help       # every option
//! ```
//!
//! What runs where:
//!
//! - The client is hyper 1's client (hyper-util's legacy `Client`, HTTP/1.1,
//!   keep-alive, `TCP_NODELAY`) on its own tokio runtime; `--connections`
//!   tasks each send one request at a time for a warm-up, then for a fixed
//!   duration; latencies of the measured window go into an HdrHistogram.
//! - The server under test runs in this process on a second tokio runtime
//!   (`--server-threads` workers, separate from the client's): the real
//!   assembly (`poppy::assemble`: SQLite in a temporary directory under
//!   `target/tmp`, mock provider, default DNS, the metering decorators) served
//!   by `Poppy::serve`, with the in-process worker started next to it the way
//!   `Poppy::serve` starts it (same `Runner`, same configuration) plus a
//!   notifier that timestamps each "deployed" notification.
//! - The ceiling is a bare hyper server answering `204` on a runtime of the
//!   same configuration, on the same loopback, driven by the same client. It
//!   is measured before and after the API scenarios; scenarios are reported
//!   as a fraction of the mean of the two.
//! - Stored services are bulk-loaded straight into the SQLite file: one
//!   `rusqlite` connection, batches of 50,000 rows per transaction, the same
//!   rows `SqliteStore::create` writes (`services`, `domains`,
//!   `provider_urls`; spec and provider details as `serde_json` documents),
//!   ids sorted within a batch. `SqliteStore::create` would count the
//!   project's services before each insert, which is right for real limits
//!   (tens) but quadratic for a million services in one project.
//! - The RSS figure is a child `poppy-server` process (this build's release
//!   binary) serving a database of `--rss-services` services, read from
//!   `/proc/<pid>/status` after paging through every service over HTTP.
//!
//! The summary goes to `<out>.json` and `<out>.md` (default
//! `target/bench-summary`); criterion results found under
//! `target/criterion` are appended to both.

// A measurement harness, not library code: long parameter lists and nested
// result types read more plainly here than wrapper types would.
#![allow(
    clippy::too_many_arguments,
    clippy::type_complexity,
    clippy::field_reassign_with_default
)]
#![forbid(unsafe_code)]

// The allocator of the `poppy-server` binary, so the in-process server is
// the one that binary runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use poppy::adapters::Registry;
use poppy::config::Config;
use poppy::core::model::{
    AccessUrl, ProjectId, ProviderDetail, ProviderStatus, Service, ServiceId, ServiceStatus,
};
use poppy::core::ports::{Notification, NotificationKind, Notifier, PortError};
use poppy::core::validate::{self, Mode};
use poppy::worker::{JobObserver, JobReport, Runner};
use poppy::Poppy;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{mpsc, watch, Notify};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;
type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// The project the stored services belong to.
const LIST_PROJECT: &str = "bench-stored";
/// Rows per bulk-load transaction.
const LOAD_BATCH: u64 = 50_000;

const USAGE: &str = "\
usage: cargo bench --bench load -- [options]
  --duration SECS        measured time per HTTP scenario (default 10)
  --warmup SECS          warm-up before each HTTP scenario (default 2)
  --connections N        concurrent keep-alive connections (default 16)
  --server-threads N     tokio workers of the server runtime (default: CPUs)
  --client-threads N     tokio workers of the client runtime (default: CPUs)
  --stored N             services stored for get/list (default 10000)
  --deployed N           create->deployed samples (default 1000)
  --list-sizes A,B,C     stored services for the list-scaling runs (default 1000,100000,1000000)
  --worker-jobs N        jobs per worker-throughput run (default 5000)
  --rss-services N       services stored for the RSS run (default 100000)
  --only LIST            sections to run: http,deployed,list,worker,rss (default all)
  --scenarios LIST       HTTP scenarios to run: ping,get,list,create,create+worker (default all)
  --mmap-size BYTES      [storage] mmap_size of the in-process servers (default: the driver's)
  --decode-cache N       [storage] decode_cache of the in-process servers (default: the driver's)
  --render-cache N       [server] render_cache of the in-process servers (default: Poppy's)
  --out PATH             summary path without extension (default target/bench-summary)
  --criterion DIR        criterion results to append (default target/criterion)
  --quick                short run: 2 s scenarios, smaller data sets";

/// Command-line options.
#[derive(Debug, Clone)]
struct Options {
    duration: Duration,
    warmup: Duration,
    connections: usize,
    server_threads: usize,
    client_threads: usize,
    stored: u64,
    deployed: usize,
    list_sizes: Vec<u64>,
    worker_jobs: usize,
    rss_services: u64,
    only: Option<Vec<String>>,
    scenarios: Option<Vec<String>>,
    mmap_size: Option<u64>,
    decode_cache: Option<u64>,
    render_cache: Option<usize>,
    out: PathBuf,
    criterion: PathBuf,
    quick: bool,
}

impl Options {
    fn parse(args: impl Iterator<Item = String>) -> Result<Self> {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let mut o = Options {
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            connections: 16,
            server_threads: cpus,
            client_threads: cpus,
            stored: 10_000,
            deployed: 1_000,
            list_sizes: vec![1_000, 100_000, 1_000_000],
            worker_jobs: 5_000,
            rss_services: 100_000,
            only: None,
            scenarios: None,
            mmap_size: None,
            decode_cache: None,
            render_cache: None,
            out: PathBuf::from("target/bench-summary"),
            criterion: PathBuf::from("target/criterion"),
            quick: false,
        };
        let mut args = args.peekable();
        let mut explicit = Vec::new();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| BoxError::from(format!("{name} needs a value\n{USAGE}")))
            };
            let secs = |v: String, name: &str| -> Result<Duration> {
                let s: f64 = v
                    .parse()
                    .map_err(|e| format!("{name}: '{v}' is not a number of seconds: {e}"))?;
                if !(s > 0.0 && s < 3_600.0) {
                    return Err(format!("{name}: {s} s is out of range (0, 3600)").into());
                }
                Ok(Duration::from_secs_f64(s))
            };
            match arg.as_str() {
                // What cargo passes to every bench target.
                "--bench" => {}
                "--quick" => o.quick = true,
                "--help" | "-h" => return Err(USAGE.into()),
                "--duration" => o.duration = secs(value(&arg)?, &arg)?,
                "--warmup" => o.warmup = secs(value(&arg)?, &arg)?,
                "--connections" => o.connections = number(&value(&arg)?, &arg)?,
                "--server-threads" => o.server_threads = number(&value(&arg)?, &arg)?,
                "--client-threads" => o.client_threads = number(&value(&arg)?, &arg)?,
                "--stored" => o.stored = number(&value(&arg)?, &arg)?,
                "--deployed" => o.deployed = number(&value(&arg)?, &arg)?,
                "--worker-jobs" => o.worker_jobs = number(&value(&arg)?, &arg)?,
                "--rss-services" => o.rss_services = number(&value(&arg)?, &arg)?,
                "--list-sizes" => {
                    let v = value(&arg)?;
                    o.list_sizes = v
                        .split(',')
                        .map(|s| number(s.trim(), "--list-sizes"))
                        .collect::<Result<_>>()?;
                    o.list_sizes.sort_unstable();
                }
                "--only" => {
                    o.only = Some(value(&arg)?.split(',').map(str::to_owned).collect());
                }
                "--scenarios" => {
                    o.scenarios = Some(value(&arg)?.split(',').map(str::to_owned).collect());
                }
                "--mmap-size" => o.mmap_size = Some(number(&value(&arg)?, &arg)?),
                "--decode-cache" => o.decode_cache = Some(number(&value(&arg)?, &arg)?),
                "--render-cache" => o.render_cache = Some(number(&value(&arg)?, &arg)?),
                "--out" => o.out = PathBuf::from(value(&arg)?),
                "--criterion" => o.criterion = PathBuf::from(value(&arg)?),
                other => return Err(format!("unknown option '{other}'\n{USAGE}").into()),
            }
            explicit.push(arg);
        }
        if o.quick {
            let given = |name: &str| explicit.iter().any(|a| a == name);
            if !given("--duration") {
                o.duration = Duration::from_secs(2);
            }
            if !given("--warmup") {
                o.warmup = Duration::from_millis(500);
            }
            if !given("--stored") {
                o.stored = 2_000;
            }
            if !given("--deployed") {
                o.deployed = 200;
            }
            if !given("--list-sizes") {
                o.list_sizes = vec![1_000, 10_000, 50_000];
            }
            if !given("--worker-jobs") {
                o.worker_jobs = 1_000;
            }
            if !given("--rss-services") {
                o.rss_services = 10_000;
            }
        }
        if o.connections == 0 || o.server_threads == 0 || o.client_threads == 0 {
            return Err("--connections and the thread counts must be at least 1".into());
        }
        Ok(o)
    }

    fn scenario(&self, key: &str) -> bool {
        self.scenarios
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s == key))
    }

    fn runs(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s == section))
    }
}

fn number<T: FromStr>(v: &str, name: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .map_err(|e| format!("{name}: '{v}' is not a count: {e}").into())
}

// ---------------------------------------------------------------------------
// Latency recording

/// A latency histogram in nanoseconds, 1 ns to 100 s, 3 significant digits.
fn histogram() -> Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 100_000_000_000, 3)?)
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    h.saturating_record(ns.max(1));
}

/// Percentiles of a histogram, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
struct Latency {
    samples: u64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    max_us: f64,
    mean_us: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / 1_000.0;
        Self {
            samples: h.len(),
            p50_us: us(h.value_at_quantile(0.50)),
            p99_us: us(h.value_at_quantile(0.99)),
            p999_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
            mean_us: h.mean() / 1_000.0,
        }
    }

    fn tail_ratio(&self) -> f64 {
        if self.p50_us > 0.0 {
            self.p99_us / self.p50_us
        } else {
            0.0
        }
    }

    fn json(&self) -> Value {
        json!({
            "samples": self.samples,
            "p50_us": round1(self.p50_us),
            "p99_us": round1(self.p99_us),
            "p999_us": round1(self.p999_us),
            "max_us": round1(self.max_us),
            "mean_us": round1(self.mean_us),
            "p99_over_p50": round2(self.tail_ratio()),
        })
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------
// The load driver

/// Builds the request a connection sends next: `(connection, sequence)`.
type MakeRequest = Arc<dyn Fn(usize, u64) -> Request<Full<Bytes>> + Send + Sync>;

/// One HTTP scenario's result.
#[derive(Debug, Clone)]
struct LoadResult {
    name: String,
    request: String,
    connections: usize,
    duration: Duration,
    requests: u64,
    errors: u64,
    /// Errors during the warm-up (not in `errors`).
    warmup_errors: u64,
    first_error: Option<String>,
    latency: Latency,
}

impl LoadResult {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.duration.as_secs_f64()
    }
}

fn client(connections: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(connections)
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector)
}

/// Sends one request and reads the whole response; `Err` describes an
/// unexpected status or a transport failure.
async fn exchange(
    client: &HttpClient,
    request: Request<Full<Bytes>>,
    expect: StatusCode,
) -> Result<Response<Bytes>, String> {
    let response = client
        .request(request)
        .await
        .map_err(|e| format!("transport: {e:?}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_bytes();
    if parts.status != expect {
        return Err(format!(
            "status {} (expected {expect}): {}",
            parts.status,
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    Ok(Response::from_parts(parts, body))
}

/// Drives `connections` closed loops for `warmup` then `duration`; only
/// requests that started and ended inside the measured window count.
async fn drive(
    name: &str,
    request: &str,
    client: &HttpClient,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    expect: StatusCode,
    make: MakeRequest,
) -> Result<LoadResult> {
    let start = Instant::now();
    let measure_from = start + warmup;
    let measure_until = measure_from + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for conn in 0..connections {
        let client = client.clone();
        let make = make.clone();
        tasks.spawn(async move {
            let mut h = histogram()?;
            let (mut errors, mut warmup_errors) = (0u64, 0u64);
            let mut first_error = None;
            let mut seq = 0u64;
            loop {
                let request = make(conn, seq);
                seq += 1;
                let sent = Instant::now();
                if sent >= measure_until {
                    break;
                }
                let outcome = exchange(&client, request, expect).await;
                let done = Instant::now();
                let measured = sent >= measure_from && done <= measure_until;
                match outcome {
                    Ok(_) if measured => record(&mut h, done - sent),
                    Ok(_) => {}
                    Err(e) => {
                        if sent >= measure_from {
                            errors += 1;
                        } else {
                            warmup_errors += 1;
                        }
                        first_error.get_or_insert(e);
                    }
                }
            }
            Ok::<_, BoxError>((h, errors, warmup_errors, first_error))
        });
    }
    let mut total = histogram()?;
    let (mut errors, mut warmup_errors, mut first_error) = (0, 0, None);
    while let Some(joined) = tasks.join_next().await {
        let (h, e, w, first) = joined??;
        total.add(&h)?;
        errors += e;
        warmup_errors += w;
        if first_error.is_none() {
            first_error = first;
        }
    }
    let result = LoadResult {
        name: name.to_owned(),
        request: request.to_owned(),
        connections,
        duration,
        requests: total.len(),
        errors,
        warmup_errors,
        first_error,
        latency: Latency::of(&total),
    };
    eprintln!(
        "  {:<28} {:>9.0} req/s  p50 {:>8.1} us  p99 {:>8.1} us  p99.9 {:>8.1} us  errors {}",
        result.name,
        result.rps(),
        result.latency.p50_us,
        result.latency.p99_us,
        result.latency.p999_us,
        result.errors + result.warmup_errors
    );
    if let Some(e) = &result.first_error {
        eprintln!("    first error: {e}");
    }
    Ok(result)
}

fn get(uri: String, project: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(Method::GET).uri(uri);
    if let Some(project) = project {
        builder = builder.header("x-project-id", project);
    }
    // The parts are valid by construction; an invalid one would surface as
    // an error of the request, which the driver counts.
    builder.body(Full::new(Bytes::new())).unwrap_or_default()
}

fn post_json(uri: String, project: &str, body: Vec<u8>) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("x-project-id", project)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Servers

/// The ceiling: hyper answering every request with an empty `204`.
async fn ceiling_server(server: &Handle, mut stop: watch::Receiver<bool>) -> Result<String> {
    let listener = server.spawn(TcpListener::bind("127.0.0.1:0")).await??;
    let addr = listener.local_addr()?;
    server.spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.changed() => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    let mut response = Response::new(Empty::<Bytes>::new());
                    *response.status_mut() = StatusCode::NO_CONTENT;
                    Ok::<_, Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(format!("http://{addr}"))
}

/// Timestamps every notification a flow sends.
#[derive(Debug)]
struct NotifyTimes(mpsc::UnboundedSender<(ServiceId, NotificationKind, Instant)>);

#[async_trait]
impl Notifier for NotifyTimes {
    async fn notify(&self, n: &Notification) -> Result<(), PortError> {
        let _ = self.0.send((n.service_id, n.kind, Instant::now()));
        Ok(())
    }
}

/// Counts finished job runs by outcome.
#[derive(Default)]
struct JobCounter {
    completed: AtomicU64,
    other: AtomicU64,
    changed: Notify,
}

impl JobObserver for JobCounter {
    fn job_finished(&self, _flow: &'static str, report: &JobReport, _elapsed: Duration) {
        match report {
            JobReport::Completed => self.completed.fetch_add(1, Ordering::Relaxed),
            _ => self.other.fetch_add(1, Ordering::Relaxed),
        };
        self.changed.notify_waiters();
    }
}

/// A Poppy serving on the server runtime.
struct Server {
    poppy: Poppy,
    base: String,
    stop: watch::Sender<bool>,
    notifications: mpsc::UnboundedReceiver<(ServiceId, NotificationKind, Instant)>,
}

fn bench_config(dir: &Path, opts: &Options) -> Config {
    let mut config = Config::default();
    config.data_dir = dir.to_path_buf();
    // The worker is started next to `serve` (see `start`).
    config.server.worker = false;
    if let Some(bytes) = opts.mmap_size {
        config.storage.options.insert(
            "mmap_size".to_owned(),
            toml::Value::Integer(i64::try_from(bytes).unwrap_or(i64::MAX)),
        );
    }
    if let Some(entries) = opts.decode_cache {
        config.storage.options.insert(
            "decode_cache".to_owned(),
            toml::Value::Integer(i64::try_from(entries).unwrap_or(i64::MAX)),
        );
    }
    if let Some(entries) = opts.render_cache {
        config.server.render_cache = entries;
    }
    config
}

async fn assemble(server: &Handle, config: &Config) -> Result<Poppy> {
    let config = config.clone();
    Ok(server
        .spawn(async move { poppy::assemble(&config, &Registry::builtin()).await })
        .await??)
}

/// Serves `poppy` on the server runtime; with `worker`, runs the in-process
/// worker as `Poppy::serve` would (same runner configuration and metrics
/// observer), plus a notifier that timestamps each notification.
async fn start(server: &Handle, poppy: Poppy, worker: bool) -> Result<Server> {
    let (stop, stop_rx) = watch::channel(false);
    let listener = server.spawn(TcpListener::bind("127.0.0.1:0")).await??;
    let base = format!("http://{}", listener.local_addr()?);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    };
    let serving = poppy.clone();
    let shutdown = stopped(stop_rx.clone());
    server.spawn(async move {
        if let Err(e) = serving.serve(listener, shutdown).await {
            eprintln!("poppy server failed: {e}");
        }
    });
    let (tx, notifications) = mpsc::unbounded_channel();
    if worker {
        spawn_worker(server, &poppy, tx, stopped(stop_rx));
    }
    Ok(Server {
        poppy,
        base,
        stop,
        notifications,
    })
}

/// Runs the in-process worker of `poppy` as `Poppy::serve` would (same
/// runner configuration and metrics observer), with a notifier that
/// timestamps each notification into `times`.
fn spawn_worker(
    server: &Handle,
    poppy: &Poppy,
    times: mpsc::UnboundedSender<(ServiceId, NotificationKind, Instant)>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let mut backends = poppy.backends().clone();
    backends.notifier = Some(Arc::new(NotifyTimes(times)));
    let runner = Runner::new(backends, poppy.config().worker.runner_config())
        .with_observer(Arc::new(poppy.metrics().clone()));
    server.spawn(async move { runner.run(shutdown).await });
}

impl Server {
    /// Waits until no job is queued (bounded); returns how long it took.
    async fn drain(&self, server: &Handle, limit: Duration) -> Result<Duration> {
        let jobs = self.poppy.backends().jobs.clone();
        let started = Instant::now();
        server
            .spawn(async move {
                loop {
                    let queued = jobs.stats().await?.map_or(0, |s| s.queued);
                    if queued == 0 {
                        return Ok(started.elapsed());
                    }
                    if started.elapsed() > limit {
                        return Err(BoxError::from(format!(
                            "{queued} jobs still queued after {limit:?}"
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await?
    }

    fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

// ---------------------------------------------------------------------------
// Bulk loading

/// The services the bulk load writes: one domain, one origin, two caching
/// rules, deployed on the mock provider with one access URL.
struct Template {
    spec: poppy::core::model::ServiceSpec,
}

impl Template {
    fn new() -> Result<Self> {
        let body = json!({
            "name": "stored service",
            "domains": [{"domain": "www.template.example.com"}],
            "origins": [{"origin": "origin.example.com", "port": 80, "ssl": false}],
            "caching": [
                {"name": "default", "ttl": 3600},
                {"name": "images", "ttl": 86400, "rules": [{"name": "img", "request_url": "/images/*"}]}
            ],
            "flavor_id": "standard"
        });
        let spec = validate::service(&body, Mode::Create, &validate::Options::default())
            .map_err(|errors| format!("the template service is invalid: {errors:?}"))?;
        Ok(Self { spec })
    }

    fn service(&self, project: &ProjectId, id: ServiceId, index: u64, now: i64) -> Service {
        let domain = format!("s{index:08}.stored.example.com");
        let mut spec = self.spec.clone();
        spec.name = format!("stored {index}");
        if let Some(d) = spec.domains.first_mut() {
            d.domain = domain.clone();
        }
        let mut detail = ProviderDetail::new(ProviderStatus::Deployed);
        detail.provider_service_id = Some(format!("mock-{id}"));
        detail.access_urls = vec![AccessUrl {
            domain: domain.clone(),
            provider_url: Some(format!("{domain}.mock.cdn.example.net")),
            operator_url: Some(format!("{domain}.cdn1.poppycdn.example.net")),
            shared_ssl_flag: false,
            old_operator_url: None,
        }];
        let mut service = Service::new(project.clone(), spec, now);
        service.id = id;
        service.status = ServiceStatus::Deployed;
        service.provider_details = BTreeMap::from([("mock".to_owned(), detail)]);
        service
    }
}

/// Adds services `first..first + count` of `project` to the database file
/// at `db`, and returns their ids (sorted). See the module docs.
fn bulk_load(db: &Path, project: &str, first: u64, count: u64) -> Result<Vec<ServiceId>> {
    let template = Template::new()?;
    let project = ProjectId::new(project);
    let mut conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -262_144i64)?;
    let now = poppy::core::clock::now_ms();
    let mut all = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut index = first;
    let end = first + count;
    while index < end {
        let n = LOAD_BATCH.min(end - index);
        let mut ids: Vec<ServiceId> = (0..n).map(|_| ServiceId::new_random()).collect();
        ids.sort_unstable();
        let tx = conn.transaction()?;
        {
            let mut service_row = tx.prepare(
                "INSERT INTO services (project_id, service_id, status, operator_status, \
                 version, spec, provider_details, created_at, updated_at, generation) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, random())",
            )?;
            let mut domain_row = tx.prepare(
                "INSERT INTO domains (domain, project_id, service_id) VALUES (?1, ?2, ?3)",
            )?;
            let mut url_row = tx.prepare(
                "INSERT INTO provider_urls (provider_url, domain, project_id, service_id) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for id in &ids {
                let service = template.service(&project, *id, index, now);
                index += 1;
                let sid = service.id.to_string();
                service_row.execute(rusqlite::params![
                    service.project_id.as_str(),
                    sid,
                    service.status.as_str(),
                    service.operator_status.as_str(),
                    i64::try_from(service.version)?,
                    serde_json::to_string(&service.spec)?,
                    serde_json::to_string(&service.provider_details)?,
                    service.created_at,
                    service.updated_at,
                ])?;
                for domain in service.domain_names() {
                    domain_row.execute(rusqlite::params![domain, project.as_str(), sid])?;
                }
                for url in service
                    .provider_details
                    .values()
                    .flat_map(|d| &d.access_urls)
                {
                    if let Some(provider_url) = &url.provider_url {
                        url_row.execute(rusqlite::params![
                            provider_url,
                            url.domain,
                            project.as_str(),
                            sid
                        ])?;
                    }
                }
            }
        }
        tx.commit()?;
        all.extend(ids);
    }
    // Fresh statistics, as the store's migration leaves them.
    conn.execute_batch("PRAGMA optimize")?;
    all.sort_unstable();
    Ok(all)
}

async fn bulk_load_async(
    db: PathBuf,
    project: &str,
    first: u64,
    count: u64,
) -> Result<(Vec<ServiceId>, Duration)> {
    let project = project.to_owned();
    let started = Instant::now();
    let ids = tokio::task::spawn_blocking(move || bulk_load(&db, &project, first, count)).await??;
    Ok((ids, started.elapsed()))
}

fn db_file(dir: &Path) -> PathBuf {
    dir.join("poppy.db")
}

// ---------------------------------------------------------------------------
// Scenarios

fn create_body(conn: usize, seq: u64) -> Vec<u8> {
    let id = format!("c{conn}-{seq}-{:08x}", rand_u32());
    serde_json::to_vec(&json!({
        "name": format!("created {id}"),
        "domains": [{"domain": format!("{id}.created.example.com")}],
        "origins": [{"origin": "origin.example.com", "port": 80, "ssl": false}],
        "caching": [{"name": "default", "ttl": 3600}],
        "flavor_id": "standard"
    }))
    .unwrap_or_default()
}

/// A random suffix so runs on the same database never collide on domains.
fn rand_u32() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}

/// Each connection creates into its own projects, 10 services each: real
/// projects stay under the default limit of 20 services, and the limit
/// check counts a project's services.
fn create_project(conn: usize, seq: u64) -> String {
    format!("bench-create-{conn}-{}", seq / 10)
}

struct HttpSection {
    ceiling_before: LoadResult,
    ceiling_after: LoadResult,
    scenarios: Vec<(LoadResult, Target)>,
    /// The worker deploying the API-only create backlog.
    drain: Duration,
    backlog: u64,
    load_time: Duration,
}

/// A throughput target: at least `min_fraction` of the ceiling.
#[derive(Debug, Clone, Copy)]
struct Target {
    min_fraction: Option<f64>,
}

async fn http_section(
    opts: &Options,
    server_rt: &Handle,
    tmp: &Path,
    client: &HttpClient,
) -> Result<HttpSection> {
    eprintln!("== HTTP scenarios ({} connections)", opts.connections);
    let (stop_ceiling, stop_rx) = watch::channel(false);
    let ceiling = ceiling_server(server_rt, stop_rx).await?;
    let drive_ceiling = |label: &'static str| {
        let uri = format!("{ceiling}/");
        let make: MakeRequest = Arc::new(move |_, _| get(uri.clone(), None));
        drive(
            label,
            "GET / (bare hyper, 204)",
            client,
            opts.connections,
            opts.warmup,
            opts.duration,
            StatusCode::NO_CONTENT,
            make,
        )
    };
    let ceiling_before = drive_ceiling("ceiling (before)").await?;

    let dir = tempfile::Builder::new().prefix("http-").tempdir_in(tmp)?;
    let config = bench_config(dir.path(), opts);
    let poppy = assemble(server_rt, &config).await?;
    let (ids, load_time) =
        bulk_load_async(db_file(dir.path()), LIST_PROJECT, 0, opts.stored).await?;
    eprintln!(
        "  loaded {} services in {:.1} s",
        ids.len(),
        load_time.as_secs_f64()
    );
    // The worker starts after the API-only scenarios (see below).
    let server = start(server_rt, poppy.clone(), false).await?;
    let base = server.base.clone();
    let ids = Arc::new(ids);
    let mut scenarios = Vec::new();

    // (key for --scenarios, name, request, expected status, requests, target)
    let mut plan: Vec<(&str, String, &str, StatusCode, MakeRequest, Option<f64>)> = Vec::new();
    let uri = format!("{base}/v1.0/ping");
    plan.push((
        "ping",
        "ping".to_owned(),
        "GET /v1.0/ping",
        StatusCode::NO_CONTENT,
        Arc::new(move |_, _| get(uri.clone(), None)),
        None,
    ));
    let (b, i) = (base.clone(), ids.clone());
    plan.push((
        "get",
        "get service".to_owned(),
        "GET /v1.0/services/{id}",
        StatusCode::OK,
        Arc::new(move |conn, seq| {
            // Walks the stored ids with a stride, so connections read different rows.
            let k = (seq as usize)
                .wrapping_mul(7919)
                .wrapping_add(conn.wrapping_mul(104_729))
                % i.len().max(1);
            let id = i.get(k).map(|id| id.to_string()).unwrap_or_default();
            get(format!("{b}/v1.0/services/{id}"), Some(LIST_PROJECT))
        }),
        Some(0.5),
    ));
    let uri = format!("{base}/v1.0/services?limit=20");
    plan.push((
        "list",
        format!("list services ({} stored)", opts.stored),
        "GET /v1.0/services?limit=20",
        StatusCode::OK,
        Arc::new(move |_, _| get(uri.clone(), Some(LIST_PROJECT))),
        Some(0.3),
    ));
    let uri = format!("{base}/v1.0/services");
    plan.push((
        "create",
        "create service".to_owned(),
        "POST /v1.0/services (durable 202, worker stopped)",
        StatusCode::ACCEPTED,
        Arc::new(move |conn, seq| {
            post_json(
                uri.clone(),
                &create_project(conn, seq),
                create_body(conn, seq),
            )
        }),
        Some(0.1),
    ));
    for (key, name, request, expect, make, min_fraction) in plan {
        if !opts.scenario(key) {
            continue;
        }
        let r = drive(
            &name,
            request,
            client,
            opts.connections,
            opts.warmup,
            opts.duration,
            expect,
            make,
        )
        .await?;
        scenarios.push((r, Target { min_fraction }));
    }

    // Now the in-process worker: it first deploys the backlog the API-only
    // creates left, then runs while services are created.
    let (times, _times_rx) = mpsc::unbounded_channel();
    let (stop_worker, mut worker_rx) = watch::channel(false);
    spawn_worker(server_rt, &poppy, times, async move {
        let _ = worker_rx.wait_for(|stop| *stop).await;
    });
    let backlog = server
        .poppy
        .backends()
        .jobs
        .stats()
        .await?
        .map_or(0, |s| s.queued);
    let drain = server.drain(server_rt, Duration::from_secs(600)).await?;
    eprintln!(
        "  worker deployed the backlog of {backlog} creates in {:.1} s",
        drain.as_secs_f64()
    );
    if opts.scenario("create+worker") {
        let uri = format!("{base}/v1.0/services");
        let make: MakeRequest = Arc::new(move |conn, seq| {
            post_json(
                uri.clone(),
                &create_project(conn, seq + 1_000_000),
                create_body(conn, seq + 1_000_000),
            )
        });
        let r = drive(
            "create service + worker",
            "POST /v1.0/services (durable 202) while the in-process worker deploys",
            client,
            opts.connections,
            opts.warmup,
            opts.duration,
            StatusCode::ACCEPTED,
            make,
        )
        .await?;
        scenarios.push((r, Target { min_fraction: None }));
        let drained = server.drain(server_rt, Duration::from_secs(600)).await?;
        eprintln!(
            "  worker deployed the rest in {:.1} s",
            drained.as_secs_f64()
        );
    }
    let _ = stop_worker.send(true);
    server.stop();
    let ceiling_after = drive_ceiling("ceiling (after)").await?;
    let _ = stop_ceiling.send(true);
    Ok(HttpSection {
        ceiling_before,
        ceiling_after,
        scenarios,
        drain,
        backlog,
        load_time,
    })
}

/// Create→deployed latency, one service at a time on an idle server.
struct DeployedSection {
    post: Latency,
    deployed: Latency,
    errors: u64,
}

async fn deployed_section(
    opts: &Options,
    server_rt: &Handle,
    tmp: &Path,
    client: &HttpClient,
) -> Result<DeployedSection> {
    eprintln!("== create -> deployed ({} samples)", opts.deployed);
    let dir = tempfile::Builder::new()
        .prefix("deployed-")
        .tempdir_in(tmp)?;
    let poppy = assemble(server_rt, &bench_config(dir.path(), opts)).await?;
    let mut server = start(server_rt, poppy, true).await?;
    let uri = format!("{}/v1.0/services", server.base);
    let warmup = (opts.deployed / 20).max(5);
    let (mut post_h, mut deployed_h) = (histogram()?, histogram()?);
    let mut errors = 0;
    for seq in 0..(warmup + opts.deployed) as u64 {
        let request = post_json(uri.clone(), &create_project(0, seq), create_body(0, seq));
        let sent = Instant::now();
        let response = match exchange(client, request, StatusCode::ACCEPTED).await {
            Ok(r) => r,
            Err(e) => {
                errors += 1;
                eprintln!("  create failed: {e}");
                continue;
            }
        };
        let posted = Instant::now();
        let id = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.rsplit('/').next())
            .and_then(|id| ServiceId::from_str(id).ok())
            .ok_or("a 202 without a service id in Location")?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match tokio::time::timeout_at(deadline, server.notifications.recv()).await {
                Ok(Some((sid, kind, at))) if sid == id => {
                    if kind != NotificationKind::Deployed {
                        errors += 1;
                    } else if seq >= warmup as u64 {
                        record(&mut post_h, posted - sent);
                        record(&mut deployed_h, at.saturating_duration_since(sent));
                    }
                    break;
                }
                Ok(Some(_)) => {}
                Ok(None) => return Err("the worker stopped".into()),
                Err(_) => {
                    errors += 1;
                    eprintln!("  service {id} not deployed within 30 s");
                    break;
                }
            }
        }
    }
    server.stop();
    let section = DeployedSection {
        post: Latency::of(&post_h),
        deployed: Latency::of(&deployed_h),
        errors,
    };
    eprintln!(
        "  create->deployed p50 {:.2} ms  p99 {:.2} ms  (POST alone p50 {:.2} ms), errors {}",
        section.deployed.p50_us / 1e3,
        section.deployed.p99_us / 1e3,
        section.post.p50_us / 1e3,
        errors
    );
    Ok(section)
}

/// List latency at one stored size.
struct ListPoint {
    stored: u64,
    load_time: Duration,
    /// `ServiceStore::list(project, None, 20)` called directly.
    store_first: Latency,
    /// The same after a random marker (keyset page in the middle).
    store_marker: Latency,
    /// The same with the store's decoded-row cache off: every page read
    /// and decoded, so sizes compare the query alone (at 1k every page of
    /// the cached store is a cache hit, at 1M few are).
    store_marker_uncached: Latency,
    /// `GET /v1.0/services?limit=20` over one connection.
    http_first: LoadResult,
    /// `GET /v1.0/services?limit=20&marker=<random>` over one connection.
    http_marker: LoadResult,
}

struct ListSection {
    points: Vec<ListPoint>,
    /// The default configuration first, then `mmap_size = 0`.
    rss: Vec<RssReport>,
}

/// A marker with a full page after it: one of the first `len - 20` ids.
fn marker_index(seq: usize, len: usize) -> usize {
    seq.wrapping_mul(7919) % len.saturating_sub(20).max(1)
}

/// Calls the store's `list` in a loop on the server runtime.
async fn store_list_latency(
    server_rt: &Handle,
    poppy: &Poppy,
    ids: Arc<Vec<ServiceId>>,
    with_marker: bool,
    warmup: Duration,
    duration: Duration,
) -> Result<Latency> {
    let store = poppy.backends().store.clone();
    server_rt
        .spawn(async move {
            let project = ProjectId::new(LIST_PROJECT);
            let mut h = histogram()?;
            let start = Instant::now();
            let mut seq = 0usize;
            while start.elapsed() < warmup + duration {
                let marker = with_marker
                    .then(|| ids.get(marker_index(seq, ids.len())).copied())
                    .flatten();
                seq += 1;
                let sent = Instant::now();
                let page = store.list(&project, marker, 20).await?;
                if page.is_empty() {
                    return Err(BoxError::from("a list page came back empty"));
                }
                if sent >= start + warmup {
                    record(&mut h, sent.elapsed());
                }
            }
            Ok(Latency::of(&h))
        })
        .await?
}

async fn list_section(
    opts: &Options,
    server_rt: &Handle,
    tmp: &Path,
    client: &HttpClient,
) -> Result<ListSection> {
    eprintln!("== list latency by stored services {:?}", opts.list_sizes);
    let dir = tempfile::Builder::new().prefix("list-").tempdir_in(tmp)?;
    let poppy = assemble(server_rt, &bench_config(dir.path(), opts)).await?;
    let server = start(server_rt, poppy.clone(), false).await?;
    // A second handle on the same file, without the decoded-row cache.
    let uncached_opts = Options {
        decode_cache: Some(0),
        ..opts.clone()
    };
    let uncached = assemble(server_rt, &bench_config(dir.path(), &uncached_opts)).await?;
    let mut ids: Vec<ServiceId> = Vec::new();
    let mut points = Vec::new();
    let mut rss = Vec::new();
    let want_rss = opts.runs("rss");
    let mut sizes: Vec<u64> = if opts.runs("list") {
        opts.list_sizes.clone()
    } else {
        Vec::new()
    };
    if want_rss && !sizes.contains(&opts.rss_services) {
        sizes.push(opts.rss_services);
        sizes.sort_unstable();
    }
    let (warmup, duration) = (
        Duration::from_millis(500),
        opts.duration.min(Duration::from_secs(5)),
    );
    for size in sizes {
        let have = ids.len() as u64;
        let (more, load_time) = bulk_load_async(
            db_file(dir.path()),
            LIST_PROJECT,
            have,
            size.saturating_sub(have),
        )
        .await?;
        ids.extend(more);
        ids.sort_unstable();
        eprintln!(
            "  {} stored (loaded {} in {:.1} s)",
            ids.len(),
            size.saturating_sub(have),
            load_time.as_secs_f64()
        );
        if want_rss && size == opts.rss_services {
            for mmap in [None, Some(0)] {
                rss.push(rss_of_child(dir.path(), size, client, mmap, opts).await?);
            }
        }
        if !opts.list_sizes.contains(&size) || !opts.runs("list") {
            continue;
        }
        let shared = Arc::new(ids.clone());
        let store_first =
            store_list_latency(server_rt, &poppy, shared.clone(), false, warmup, duration).await?;
        let store_marker =
            store_list_latency(server_rt, &poppy, shared.clone(), true, warmup, duration).await?;
        let store_marker_uncached =
            store_list_latency(server_rt, &uncached, shared.clone(), true, warmup, duration)
                .await?;
        let uri = format!("{}/v1.0/services?limit=20", server.base);
        let make: MakeRequest = Arc::new(move |_, _| get(uri.clone(), Some(LIST_PROJECT)));
        let http_first = drive(
            &format!("list first page @{size}"),
            "GET /v1.0/services?limit=20",
            client,
            1,
            warmup,
            duration,
            StatusCode::OK,
            make,
        )
        .await?;
        let base = server.base.clone();
        let markers = shared.clone();
        let make: MakeRequest = Arc::new(move |_, seq| {
            let k = marker_index(seq as usize, markers.len());
            let marker = markers.get(k).map(|m| m.to_string()).unwrap_or_default();
            get(
                format!("{base}/v1.0/services?limit=20&marker={marker}"),
                Some(LIST_PROJECT),
            )
        });
        let http_marker = drive(
            &format!("list at marker @{size}"),
            "GET /v1.0/services?limit=20&marker=<random>",
            client,
            1,
            warmup,
            duration,
            StatusCode::OK,
            make,
        )
        .await?;
        eprintln!(
            "  store list p50 {:.1} us (first page), {:.1} us (random marker), {:.1} us (random \
             marker, decode cache off)",
            store_first.p50_us, store_marker.p50_us, store_marker_uncached.p50_us
        );
        points.push(ListPoint {
            stored: size,
            load_time,
            store_first,
            store_marker,
            store_marker_uncached,
            http_first,
            http_marker,
        });
    }
    server.stop();
    Ok(ListSection { points, rss })
}

/// Worker throughput: jobs posted first, then runners started.
struct WorkerRun {
    workers: usize,
    jobs: usize,
    elapsed: Duration,
    other_outcomes: u64,
}

impl WorkerRun {
    fn jobs_per_sec(&self) -> f64 {
        self.jobs as f64 / self.elapsed.as_secs_f64()
    }
}

/// Posts `n` create jobs through the API (services and their outbox jobs,
/// no worker running).
async fn post_creates(server_rt: &Handle, poppy: &Poppy, n: usize, run: usize) -> Result<()> {
    let api = poppy.api();
    server_rt
        .spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            let per_task = n.div_ceil(8);
            for t in 0..8usize {
                let api = api.clone();
                tasks.spawn(async move {
                    for k in 0..per_task.min(n.saturating_sub(t * per_task)) {
                        let conn = 1_000 + run * 100 + t;
                        let body: Value = serde_json::from_slice(&create_body(conn, k as u64))?;
                        let project = ProjectId::new(create_project(conn, k as u64));
                        api.services.create_service(&project, body).await?;
                    }
                    Ok::<_, BoxError>(())
                });
            }
            while let Some(done) = tasks.join_next().await {
                done??;
            }
            Ok::<_, BoxError>(())
        })
        .await?
}

async fn worker_run(
    opts: &Options,
    server_rt: &Handle,
    tmp: &Path,
    workers: usize,
) -> Result<WorkerRun> {
    let jobs = opts.worker_jobs;
    let dir = tempfile::Builder::new().prefix("worker-").tempdir_in(tmp)?;
    let config = bench_config(dir.path(), opts);
    // Each worker its own assembly on the same file: its own connections,
    // as separate poppy-worker processes would have.
    let mut poppies = Vec::new();
    for _ in 0..workers {
        poppies.push(assemble(server_rt, &config).await?);
    }
    let first = poppies.first().ok_or("no workers")?;
    post_creates(server_rt, first, jobs, workers).await?;
    let counter = Arc::new(JobCounter::default());
    let (stop, stop_rx) = watch::channel(false);
    let started = Instant::now();
    for poppy in &poppies {
        let runner = Runner::new(
            poppy.backends().clone(),
            poppy.config().worker.runner_config(),
        )
        .with_observer(counter.clone());
        let mut rx = stop_rx.clone();
        server_rt.spawn(async move {
            runner
                .run(async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                })
                .await
        });
    }
    let deadline = started + Duration::from_secs(600);
    loop {
        let changed = counter.changed.notified();
        if counter.completed.load(Ordering::Relaxed) >= jobs as u64 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("{workers} worker(s) did not finish {jobs} jobs in 600 s").into());
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), changed).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(true);
    let run = WorkerRun {
        workers,
        jobs,
        elapsed,
        other_outcomes: counter.other.load(Ordering::Relaxed),
    };
    eprintln!(
        "  {} worker(s): {} jobs in {:.2} s = {:.0} jobs/s ({} other outcomes)",
        workers,
        jobs,
        elapsed.as_secs_f64(),
        run.jobs_per_sec(),
        run.other_outcomes
    );
    Ok(run)
}

/// Memory of a child `poppy-server` serving a database of `stored`
/// services, after every service was read through it.
#[derive(Debug, Clone)]
struct RssReport {
    /// `[storage] mmap_size` of the child, when not the default.
    mmap_size: Option<u64>,
    stored: u64,
    idle_kib: u64,
    after_kib: u64,
    anon_kib: u64,
    file_kib: u64,
    hwm_kib: u64,
    requests: u64,
}

/// KiB (as `/proc` counts) to MB (10^6 bytes, as the target is stated).
fn megabytes(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

impl RssReport {
    fn setting(&self) -> String {
        match self.mmap_size {
            None => "default configuration".to_owned(),
            Some(bytes) => format!("mmap_size = {bytes}"),
        }
    }
}

fn proc_status(pid: u32) -> Result<BTreeMap<String, u64>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            let kib = value.trim().strip_suffix(" kB")?.trim().parse().ok()?;
            Some((key.to_owned(), kib))
        })
        .collect())
}

/// With `mmap_size` or the harness's cache sizes, the child reads a
/// configuration file that sets them.
async fn rss_of_child(
    dir: &Path,
    stored: u64,
    client: &HttpClient,
    mmap_size: Option<u64>,
    opts: &Options,
) -> Result<RssReport> {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?.port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_poppy-server"));
    if mmap_size.is_some() || opts.decode_cache.is_some() || opts.render_cache.is_some() {
        let mut toml = String::new();
        if let Some(entries) = opts.render_cache {
            toml.push_str(&format!("[server]\nrender_cache = {entries}\n"));
        }
        toml.push_str("[storage]\ndriver = \"sqlite\"\n");
        if let Some(bytes) = mmap_size {
            toml.push_str(&format!("mmap_size = {bytes}\n"));
        }
        if let Some(entries) = opts.decode_cache {
            toml.push_str(&format!("decode_cache = {entries}\n"));
        }
        let file = dir.join("rss.toml");
        std::fs::write(&file, toml)?;
        command.arg("--config").arg(file);
    }
    let mut child = command
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--no-worker")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let pid = child.id();
    let result = async {
        let ready_by = Instant::now() + Duration::from_secs(30);
        while exchange(
            client,
            get(format!("{base}/v1.0/ping"), None),
            StatusCode::NO_CONTENT,
        )
        .await
        .is_err()
        {
            if Instant::now() > ready_by {
                return Err(BoxError::from(
                    "poppy-server did not answer ping within 30 s",
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let idle = proc_status(pid)?;
        // Every service once, a page at a time (the server's page limit).
        let mut marker: Option<String> = None;
        let mut requests = 0u64;
        let mut seen = 0u64;
        loop {
            let uri = match &marker {
                Some(m) => format!("{base}/v1.0/services?limit=20&marker={m}"),
                None => format!("{base}/v1.0/services?limit=20"),
            };
            let response = exchange(client, get(uri, Some(LIST_PROJECT)), StatusCode::OK)
                .await
                .map_err(BoxError::from)?;
            requests += 1;
            let page: Value = serde_json::from_slice(response.body())?;
            let services = page["services"].as_array().cloned().unwrap_or_default();
            seen += services.len() as u64;
            match services.last().and_then(|s| s["id"].as_str()) {
                Some(last) if services.len() == 20 => marker = Some(last.to_owned()),
                _ => break,
            }
        }
        if seen != stored {
            return Err(format!("paged through {seen} services, expected {stored}").into());
        }
        let after = proc_status(pid)?;
        let get = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
        Ok(RssReport {
            mmap_size,
            stored,
            idle_kib: get(&idle, "VmRSS"),
            after_kib: get(&after, "VmRSS"),
            anon_kib: get(&after, "RssAnon"),
            file_kib: get(&after, "RssFile"),
            hwm_kib: get(&after, "VmHWM"),
            requests,
        })
    }
    .await;
    // Our own child, stopped by its handle.
    let _ = child.kill();
    let _ = child.wait();
    let report = result?;
    eprintln!(
        "  poppy-server ({}) RSS with {} services: {:.1} MB idle, {:.1} MB after reading all \
         ({:.1} anon + {:.1} file), peak {:.1} MB",
        report.setting(),
        report.stored,
        megabytes(report.idle_kib),
        megabytes(report.after_kib),
        megabytes(report.anon_kib),
        megabytes(report.file_kib),
        megabytes(report.hwm_kib)
    );
    Ok(report)
}

// ---------------------------------------------------------------------------
// The summary

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mem_kib = proc_meminfo("MemTotal").unwrap_or(0);
    json!({
        "cpu": model,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_gib": round1(mem_kib as f64 / 1024.0 / 1024.0),
        "kernel": kernel,
    })
}

fn proc_meminfo(key: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
        .trim()
        .strip_suffix(" kB")?
        .trim()
        .parse()
        .ok()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One checked target.
struct Check {
    target: String,
    measured: String,
    met: bool,
    margin: String,
}

fn check(checks: &mut Vec<Check>, target: String, measured: String, met: bool, margin: String) {
    checks.push(Check {
        target,
        measured,
        met,
        margin,
    });
}

/// Criterion's results under `dir`: `(benchmark id, mean ns, ci low, ci high)`.
fn criterion_results(dir: &Path) -> Vec<(String, f64, f64, f64)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "new") {
                    let read = |f: &str| -> Option<Value> {
                        serde_json::from_str(&std::fs::read_to_string(p.join(f)).ok()?).ok()
                    };
                    if let (Some(b), Some(e)) = (read("benchmark.json"), read("estimates.json")) {
                        let id = b["full_id"].as_str().unwrap_or("?").to_owned();
                        let mean = &e["mean"];
                        found.push((
                            id,
                            mean["point_estimate"].as_f64().unwrap_or(f64::NAN),
                            mean["confidence_interval"]["lower_bound"]
                                .as_f64()
                                .unwrap_or(f64::NAN),
                            mean["confidence_interval"]["upper_bound"]
                                .as_f64()
                                .unwrap_or(f64::NAN),
                        ));
                    }
                } else if p.file_name().is_none_or(|n| n != "report") {
                    stack.push(p);
                }
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn human_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

struct Report {
    opts: Options,
    started: String,
    load_before: String,
    load_after: String,
    wall: Duration,
    http: Option<HttpSection>,
    deployed: Option<DeployedSection>,
    list: Option<ListSection>,
    workers: Vec<WorkerRun>,
}

fn load_json(r: &LoadResult, ceiling: Option<f64>) -> Value {
    json!({
        "name": r.name,
        "request": r.request,
        "connections": r.connections,
        "duration_s": r.duration.as_secs_f64(),
        "requests": r.requests,
        "req_per_s": round1(r.rps()),
        "fraction_of_ceiling": ceiling.map(|c| round2(r.rps() / c)),
        "errors": r.errors,
        "warmup_errors": r.warmup_errors,
        "first_error": r.first_error,
        "latency": r.latency.json(),
    })
}

impl Report {
    fn ceiling(&self) -> Option<f64> {
        self.http
            .as_ref()
            .map(|h| (h.ceiling_before.rps() + h.ceiling_after.rps()) / 2.0)
    }

    fn checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        if let (Some(http), Some(ceiling)) = (&self.http, self.ceiling()) {
            for (r, target) in &http.scenarios {
                let fraction = r.rps() / ceiling;
                if let Some(min) = target.min_fraction {
                    check(
                        &mut checks,
                        format!("{}: ≥ {:.0}% of the ceiling's req/s", r.name, min * 100.0),
                        format!(
                            "{:.1}% ({:.0} of {:.0} req/s)",
                            fraction * 100.0,
                            r.rps(),
                            ceiling
                        ),
                        fraction >= min,
                        format!("{:.2}× the target", fraction / min),
                    );
                }
            }
            for r in http
                .scenarios
                .iter()
                .map(|(r, _)| r)
                .chain([&http.ceiling_before, &http.ceiling_after])
            {
                let ratio = r.latency.tail_ratio();
                check(
                    &mut checks,
                    format!("{}: p99 ≤ 5 × p50", r.name),
                    format!(
                        "p99/p50 = {ratio:.2} ({:.0} / {:.0} µs)",
                        r.latency.p99_us, r.latency.p50_us
                    ),
                    ratio <= 5.0,
                    format!("{:.1}× headroom", 5.0 / ratio.max(f64::MIN_POSITIVE)),
                );
                let errors = r.errors + r.warmup_errors;
                check(
                    &mut checks,
                    format!("{}: no errors", r.name),
                    format!("{errors} errors in {} requests", r.requests),
                    errors == 0,
                    String::new(),
                );
            }
        }
        if let Some(d) = &self.deployed {
            let p50_ms = d.deployed.p50_us / 1e3;
            check(
                &mut checks,
                "create→deployed p50 ≤ 25 ms (mock provider)".to_owned(),
                format!(
                    "p50 {p50_ms:.2} ms, p99 {:.2} ms over {}",
                    d.deployed.p99_us / 1e3,
                    d.deployed.samples
                ),
                p50_ms <= 25.0 && d.errors == 0,
                format!("{:.1}× headroom", 25.0 / p50_ms.max(f64::MIN_POSITIVE)),
            );
        }
        if let Some(list) = &self.list {
            if let (Some(small), Some(large)) = (list.points.first(), list.points.last()) {
                if small.stored < large.stored {
                    let pairs = [
                        (
                            "HTTP first page",
                            small.http_first.latency.p50_us,
                            large.http_first.latency.p50_us,
                        ),
                        (
                            "store first page",
                            small.store_first.p50_us,
                            large.store_first.p50_us,
                        ),
                        // The cached store's random marker is not compared:
                        // at a small size every page is a cache hit.
                        (
                            "store random marker, decode cache off",
                            small.store_marker_uncached.p50_us,
                            large.store_marker_uncached.p50_us,
                        ),
                    ];
                    for (what, a, b) in pairs {
                        let ratio = b / a.max(f64::MIN_POSITIVE);
                        check(
                            &mut checks,
                            format!(
                                "list latency ({what}) at {} within 1.3× of {}",
                                large.stored, small.stored
                            ),
                            format!("p50 {b:.1} µs vs {a:.1} µs = {ratio:.2}×"),
                            ratio <= 1.3,
                            String::new(),
                        );
                    }
                }
            }
            for rss in &list.rss {
                let mb = megabytes(rss.after_kib);
                check(
                    &mut checks,
                    format!(
                        "RSS ≤ 100 MB with {} services stored ({})",
                        rss.stored,
                        rss.setting()
                    ),
                    format!(
                        "{mb:.1} MB: {:.1} anonymous + {:.1} file-backed (peak {:.1} MB)",
                        megabytes(rss.anon_kib),
                        megabytes(rss.file_kib),
                        megabytes(rss.hwm_kib)
                    ),
                    mb <= 100.0,
                    format!("{:.1}× headroom", 100.0 / mb.max(f64::MIN_POSITIVE)),
                );
            }
        }
        if let Some(one) = self.workers.iter().find(|w| w.workers == 1) {
            check(
                &mut checks,
                "one worker ≥ 1,000 mock jobs/s".to_owned(),
                format!("{:.0} jobs/s", one.jobs_per_sec()),
                one.jobs_per_sec() >= 1_000.0,
                format!("{:.2}× the target", one.jobs_per_sec() / 1_000.0),
            );
        }
        checks
    }

    fn json(&self) -> Value {
        let ceiling = self.ceiling();
        let checks = self.checks();
        json!({
            "started": self.started,
            "machine": machine(),
            "load_average_before": self.load_before,
            "load_average_after": self.load_after,
            "wall_time_s": round1(self.wall.as_secs_f64()),
            "options": {
                "duration_s": self.opts.duration.as_secs_f64(),
                "warmup_s": self.opts.warmup.as_secs_f64(),
                "connections": self.opts.connections,
                "server_threads": self.opts.server_threads,
                "client_threads": self.opts.client_threads,
                "quick": self.opts.quick,
            },
            "server": "in-process: poppy::assemble (SQLite in target/tmp, mock provider, default DNS) \
                       served by Poppy::serve on its own tokio runtime, in-process worker",
            "http": self.http.as_ref().map(|h| json!({
                "ceiling_req_per_s": ceiling.map(round1),
                "ceiling_before": load_json(&h.ceiling_before, None),
                "ceiling_after": load_json(&h.ceiling_after, None),
                "scenarios": h.scenarios.iter().map(|(r, _)| load_json(r, ceiling)).collect::<Vec<_>>(),
                "stored_services": self.opts.stored,
                "bulk_load_s": round2(h.load_time.as_secs_f64()),
                "create_backlog_jobs": h.backlog,
                "create_backlog_drain_s": round2(h.drain.as_secs_f64()),
            })),
            "create_to_deployed": self.deployed.as_ref().map(|d| json!({
                "deployed": d.deployed.json(),
                "post_only": d.post.json(),
                "errors": d.errors,
            })),
            "list_scaling": self.list.as_ref().map(|l| l.points.iter().map(|p| json!({
                "stored": p.stored,
                "bulk_load_s": round2(p.load_time.as_secs_f64()),
                "store_first_page": p.store_first.json(),
                "store_random_marker": p.store_marker.json(),
                "store_random_marker_uncached": p.store_marker_uncached.json(),
                "http_first_page": load_json(&p.http_first, None),
                "http_random_marker": load_json(&p.http_marker, None),
            })).collect::<Vec<_>>()),
            "rss": self.list.as_ref().map(|l| l.rss.iter().map(|r| json!({
                "process": "child poppy-server (release binary, --no-worker), /proc/<pid>/status",
                "configuration": r.setting(),
                "stored": r.stored,
                "idle_mb": round1(megabytes(r.idle_kib)),
                "after_reading_all_mb": round1(megabytes(r.after_kib)),
                "anon_mb": round1(megabytes(r.anon_kib)),
                "file_mb": round1(megabytes(r.file_kib)),
                "peak_mb": round1(megabytes(r.hwm_kib)),
                "list_requests": r.requests,
            })).collect::<Vec<_>>()),
            "worker_throughput": self.workers.iter().map(|w| json!({
                "workers": w.workers,
                "jobs": w.jobs,
                "elapsed_s": round2(w.elapsed.as_secs_f64()),
                "jobs_per_s": round1(w.jobs_per_sec()),
                "other_outcomes": w.other_outcomes,
            })).collect::<Vec<_>>(),
            "targets": checks.iter().map(|c| json!({
                "target": c.target, "measured": c.measured, "met": c.met, "margin": c.margin,
            })).collect::<Vec<_>>(),
            "micro": criterion_results(&self.opts.criterion).iter().map(|(id, mean, lo, hi)| json!({
                "id": id, "mean_ns": round1(*mean), "ci_low_ns": round1(*lo), "ci_high_ns": round1(*hi),
            })).collect::<Vec<_>>(),
        })
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let m = machine();
        let _ = writeln!(md, "# Poppy benchmark summary\n");
        let _ = writeln!(
            md,
            "- Run: {} ({:.0} s wall); load average before {}, after {}",
            self.started,
            self.wall.as_secs_f64(),
            self.load_before,
            self.load_after
        );
        let _ = writeln!(
            md,
            "- Machine: {} × {}, {} GiB, Linux {}",
            m["cpus"],
            m["cpu"].as_str().unwrap_or("?"),
            m["memory_gib"],
            m["kernel"].as_str().unwrap_or("?")
        );
        let _ = writeln!(
            md,
            "- Load: {} connections, {:.1} s warm-up + {:.1} s per scenario; server runtime {} threads, client runtime {} threads{}",
            self.opts.connections,
            self.opts.warmup.as_secs_f64(),
            self.opts.duration.as_secs_f64(),
            self.opts.server_threads,
            self.opts.client_threads,
            if self.opts.quick { " (--quick)" } else { "" }
        );
        let _ = writeln!(
            md,
            "- Server: in-process `poppy::assemble` (SQLite, mock provider, default DNS) on its own runtime, in-process worker\n"
        );
        if let (Some(http), Some(ceiling)) = (&self.http, self.ceiling()) {
            let _ = writeln!(md, "## HTTP ({} services stored)\n", self.opts.stored);
            let _ = writeln!(
                md,
                "| scenario | req/s | of ceiling | p50 µs | p99 µs | p99.9 µs | p99/p50 | errors |"
            );
            let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|");
            for r in [&http.ceiling_before, &http.ceiling_after]
                .into_iter()
                .chain(http.scenarios.iter().map(|(r, _)| r))
            {
                let _ = writeln!(
                    md,
                    "| {} `{}` | {:.0} | {:.1}% | {:.0} | {:.0} | {:.0} | {:.2} | {} |",
                    r.name,
                    r.request,
                    r.rps(),
                    r.rps() / ceiling * 100.0,
                    r.latency.p50_us,
                    r.latency.p99_us,
                    r.latency.p999_us,
                    r.latency.tail_ratio(),
                    r.errors + r.warmup_errors
                );
            }
            let _ = writeln!(
                md,
                "\nCeiling = mean of the two bare-hyper runs ({ceiling:.0} req/s). After the API-only scenarios the in-process worker deployed the {} queued creates in {:.1} s.\n",
                http.backlog,
                http.drain.as_secs_f64()
            );
        }
        if let Some(d) = &self.deployed {
            let _ = writeln!(md, "## create → deployed (mock provider, one at a time)\n");
            let _ = writeln!(md, "| | samples | p50 ms | p99 ms | p99.9 ms | max ms |");
            let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
            for (name, l) in [("POST → 202", &d.post), ("POST → deployed", &d.deployed)] {
                let _ = writeln!(
                    md,
                    "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                    l.samples,
                    l.p50_us / 1e3,
                    l.p99_us / 1e3,
                    l.p999_us / 1e3,
                    l.max_us / 1e3
                );
            }
            let _ = writeln!(md);
        }
        if let Some(list) = &self.list {
            if !list.points.is_empty() {
                let _ = writeln!(
                    md,
                    "## List latency by stored services (one project, limit 20, p50 / p99 µs)\n"
                );
                let _ = writeln!(
                    md,
                    "| stored | bulk load s | store first page | store random marker | store random marker, decode cache off | HTTP first page | HTTP random marker |"
                );
                let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|");
                for p in &list.points {
                    let _ = writeln!(
                        md,
                        "| {} | {:.1} | {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} | {:.0} / {:.0} |",
                        p.stored,
                        p.load_time.as_secs_f64(),
                        p.store_first.p50_us,
                        p.store_first.p99_us,
                        p.store_marker.p50_us,
                        p.store_marker.p99_us,
                        p.store_marker_uncached.p50_us,
                        p.store_marker_uncached.p99_us,
                        p.http_first.latency.p50_us,
                        p.http_first.latency.p99_us,
                        p.http_marker.latency.p50_us,
                        p.http_marker.latency.p99_us
                    );
                }
                let _ = writeln!(md);
            }
            if !list.rss.is_empty() {
                let _ = writeln!(md, "## Memory\n");
            }
            for r in &list.rss {
                let _ = writeln!(
                    md,
                    "Child `poppy-server --no-worker` ({}) on a database of {} services: VmRSS {:.1} MB idle after start, {:.1} MB after listing every service ({} requests; {:.1} MB anonymous + {:.1} MB file-backed), peak {:.1} MB (MB = 10^6 bytes).\n",
                    r.setting(),
                    r.stored,
                    megabytes(r.idle_kib),
                    megabytes(r.after_kib),
                    r.requests,
                    megabytes(r.anon_kib),
                    megabytes(r.file_kib),
                    megabytes(r.hwm_kib)
                );
            }
        }
        if !self.workers.is_empty() {
            let _ = writeln!(md, "## Worker throughput (create jobs, mock provider)\n");
            let _ = writeln!(md, "| workers | jobs | seconds | jobs/s |");
            let _ = writeln!(md, "|---:|---:|---:|---:|");
            for w in &self.workers {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.2} | {:.0} |",
                    w.workers,
                    w.jobs,
                    w.elapsed.as_secs_f64(),
                    w.jobs_per_sec()
                );
            }
            let _ = writeln!(md);
        }
        let checks = self.checks();
        if !checks.is_empty() {
            let _ = writeln!(md, "## Targets\n");
            let _ = writeln!(md, "| target | measured | met | margin |");
            let _ = writeln!(md, "|---|---|---|---|");
            for c in &checks {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    c.target,
                    c.measured,
                    if c.met { "yes" } else { "**no**" },
                    c.margin
                );
            }
            let _ = writeln!(md);
        }
        let micro = criterion_results(&self.opts.criterion);
        if !micro.is_empty() {
            let _ = writeln!(
                md,
                "## Micro-benchmarks (criterion, mean and 95% interval)\n"
            );
            let _ = writeln!(md, "| benchmark | mean | interval |");
            let _ = writeln!(md, "|---|---:|---|");
            for (id, mean, lo, hi) in micro {
                let _ = writeln!(
                    md,
                    "| {id} | {} | {} – {} |",
                    human_ns(mean),
                    human_ns(lo),
                    human_ns(hi)
                );
            }
        }
        md
    }
}

fn runtime(threads: usize, name: &str) -> Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()?)
}

fn main() -> std::process::ExitCode {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(opts) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load harness failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(opts: Options) -> Result<()> {
    let server_rt = runtime(opts.server_threads, "bench-server")?;
    let client_rt = runtime(opts.client_threads, "bench-client")?;
    let tmp_root = PathBuf::from(option_env!("CARGO_TARGET_TMPDIR").unwrap_or("target/tmp"));
    std::fs::create_dir_all(&tmp_root)?;
    let tmp = tempfile::Builder::new()
        .prefix("poppy-load-")
        .tempdir_in(&tmp_root)?;
    let started_wall = Instant::now();
    let started = String::from_utf8(
        std::process::Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%dT%H:%M:%SZ")
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default(),
    )
    .unwrap_or_default()
    .trim()
    .to_owned();
    let load_before = loadavg();
    eprintln!("load harness: {opts:?}\nload average {load_before}");
    let server = server_rt.handle().clone();
    let report = client_rt.block_on(async {
        let client = client(opts.connections);
        let http = if opts.runs("http") {
            Some(http_section(&opts, &server, tmp.path(), &client).await?)
        } else {
            None
        };
        let deployed = if opts.runs("deployed") {
            Some(deployed_section(&opts, &server, tmp.path(), &client).await?)
        } else {
            None
        };
        let list = if opts.runs("list") || opts.runs("rss") {
            Some(list_section(&opts, &server, tmp.path(), &client).await?)
        } else {
            None
        };
        let mut workers = Vec::new();
        if opts.runs("worker") {
            eprintln!("== worker throughput ({} jobs)", opts.worker_jobs);
            for n in [1, 2] {
                workers.push(worker_run(&opts, &server, tmp.path(), n).await?);
            }
        }
        Ok::<_, BoxError>(Report {
            opts: opts.clone(),
            started,
            load_before,
            load_after: loadavg(),
            wall: started_wall.elapsed(),
            http,
            deployed,
            list,
            workers,
        })
    })?;
    server_rt.shutdown_timeout(Duration::from_secs(10));
    client_rt.shutdown_timeout(Duration::from_secs(10));

    let json_path = opts.out.with_extension("json");
    let md_path = opts.out.with_extension("md");
    if let Some(parent) = json_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&report.json())?)?;
    let md = report.markdown();
    std::fs::write(&md_path, &md)?;
    eprintln!(
        "\n{md}\nwritten: {} and {}",
        json_path.display(),
        md_path.display()
    );
    Ok(())
}
