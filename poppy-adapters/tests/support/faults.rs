//! Rate-based fault injection for the provider contract servers, shared by
//! the Akamai, Fastly and CloudFront test crates
//! (`#[path = "support/faults.rs"] mod faults_support;`).
//!
//! - [`FaultProxy`]: a loopback HTTP/1.1 proxy in front of a fake (or moto).
//!   Each request whose method the [`FaultPlan`] covers (the mutating ones
//!   by default) draws from a seeded generator: a 429 with `Retry-After`, a
//!   500 or a 503 (answered by the proxy, in the vendor's error shape; the
//!   server never sees the request), a timeout (forwarded, and the answer
//!   held back longer than the driver waits), or a connection reset
//!   (forwarded, and the connection reset instead of answered). The last two
//!   land the change while the driver sees a failure: a retried create must
//!   find what it made. Every decision is journaled.
//! - [`Recorded`]: a provider wrapper recording, per service, when each call
//!   began and when each failure came back with its retry hint.
//! - [`Rig`]: the real worker ([`poppy_worker::Runner`]) over the testkit's
//!   memory store, job board and DNS, with one flavor of one provider.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use poppy_core::clock::{now_ms, Millis};
use poppy_core::model::{
    ProviderDeployment, ProviderStatus, PurgeTarget, Service, ServiceId, ServiceStatus,
};
use poppy_core::ports::{
    CdnProvider, CertificateProvider, JobBoard, PortError, ProviderCapabilities, ServiceStore,
};
use poppy_core::testkit::fixtures;
use poppy_core::testkit::memory::{
    MemoryDns, MemoryFlavorStore, MemoryJobBoard, MemoryServiceStore,
};
use poppy_core::{Backends, Providers};
use poppy_worker::{Runner, RunnerConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the proxy did to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Injected {
    /// Answered 429 with `Retry-After`; not forwarded.
    Throttled,
    /// Answered 500; not forwarded.
    ServerError,
    /// Answered 503; not forwarded.
    Unavailable,
    /// Forwarded; the answer held back for [`FaultPlan::hold`], then the
    /// connection closed.
    Timeout,
    /// Forwarded; the connection reset instead of answered.
    Reset,
    /// Answered 400 with [`REJECTION`]; not forwarded.
    Rejected,
}

/// The faults a retry gets through.
pub const TRANSIENT: [Injected; 5] = [
    Injected::Throttled,
    Injected::ServerError,
    Injected::Unavailable,
    Injected::Timeout,
    Injected::Reset,
];

/// The message of an injected permanent 400.
pub const REJECTION: &str = "injected permanent rejection: the request is not acceptable";

/// Rates (0..=1, summed at most 1) of each fault per covered request.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub seed: u64,
    pub throttled: f64,
    /// `Retry-After` of a 429 (whole seconds, as HTTP sends it).
    pub retry_after: Duration,
    pub server_error: f64,
    pub unavailable: f64,
    pub timeout: f64,
    /// How long a timed-out answer is held: more than the driver's timeout.
    pub hold: Duration,
    pub reset: f64,
    pub rejected: f64,
    /// Methods the faults apply to; other requests always pass.
    pub methods: Vec<&'static str>,
}

impl FaultPlan {
    /// No faults.
    pub fn none(seed: u64) -> Self {
        Self {
            seed,
            throttled: 0.0,
            retry_after: Duration::from_secs(1),
            server_error: 0.0,
            unavailable: 0.0,
            timeout: 0.0,
            hold: Duration::from_millis(1_500),
            reset: 0.0,
            rejected: 0.0,
            methods: vec!["POST", "PUT", "PATCH", "DELETE"],
        }
    }

    /// 30% of the mutating requests fail: 6% each of 429 (`Retry-After:
    /// 1`), 500, 503, timeout (answer held for `hold`) and reset.
    pub fn thirty_percent(seed: u64, hold: Duration) -> Self {
        Self {
            throttled: 0.06,
            server_error: 0.06,
            unavailable: 0.06,
            timeout: 0.06,
            reset: 0.06,
            hold,
            ..Self::none(seed)
        }
    }

    /// Every mutating request is refused with a permanent 400.
    pub fn rejecting(seed: u64) -> Self {
        Self {
            rejected: 1.0,
            ..Self::none(seed)
        }
    }

    /// The first `n` decisions of this plan: the proxy takes them in the
    /// order covered requests arrive, so whatever that order, the first `n`
    /// covered requests get exactly these.
    pub fn first_draws(&self, n: usize) -> Vec<Option<Injected>> {
        let mut rng = StdRng::seed_from_u64(self.seed);
        (0..n).map(|_| self.draw(&mut rng)).collect()
    }

    /// Asserts that the first `n` decisions inject every kind of transient
    /// fault (a check of the seed a test picked).
    pub fn assert_every_kind_within(&self, n: usize) {
        let first = self.first_draws(n);
        for kind in TRANSIENT {
            assert!(
                first.contains(&Some(kind)),
                "seed {:#x} injects no {kind:?} in its first {n} draws: pick another",
                self.seed
            );
        }
    }

    fn draw(&self, rng: &mut StdRng) -> Option<Injected> {
        let x: f64 = rng.random();
        let mut edge = 0.0;
        for (rate, kind) in [
            (self.throttled, Injected::Throttled),
            (self.server_error, Injected::ServerError),
            (self.unavailable, Injected::Unavailable),
            (self.timeout, Injected::Timeout),
            (self.reset, Injected::Reset),
            (self.rejected, Injected::Rejected),
        ] {
            edge += rate;
            if x < edge {
                return Some(kind);
            }
        }
        None
    }
}

/// An error body in the vendor's shape: `(status, message)` → `(content
/// type, body)`.
pub type ErrorBody = Arc<dyn Fn(u16, &str) -> (String, String) + Send + Sync>;

/// Fastly's `{"msg": …, "detail": …}`.
pub fn fastly_error() -> ErrorBody {
    Arc::new(|_, message| {
        (
            "application/json".to_owned(),
            serde_json::json!({"msg": message, "detail": "injected by the fault proxy"})
                .to_string(),
        )
    })
}

/// Akamai's `application/problem+json`.
pub fn akamai_error() -> ErrorBody {
    Arc::new(|status, message| {
        (
            "application/problem+json".to_owned(),
            serde_json::json!({
                "type": "https://problems.luna.akamaiapis.net/papi/v0/injected",
                "title": "Injected fault",
                "detail": message,
                "status": status,
            })
            .to_string(),
        )
    })
}

/// CloudFront's XML `ErrorResponse`, with the code AWS uses for the status.
pub fn aws_error() -> ErrorBody {
    Arc::new(|status, message| {
        let code = match status {
            429 => "Throttling",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            _ => "InvalidArgument",
        };
        (
            "text/xml".to_owned(),
            format!(
                r#"<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>"#
            ),
        )
    })
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Millis,
    pub method: String,
    /// Without the query.
    pub path: String,
    pub injected: Option<Injected>,
}

struct Shared {
    plan: FaultPlan,
    rng: Mutex<StdRng>,
    enabled: AtomicBool,
    journal: Mutex<Vec<Seen>>,
    body: ErrorBody,
    upstream: SocketAddr,
}

impl Shared {
    fn decide(&self, method: &str, path: &str) -> Option<Injected> {
        let injected = if self.enabled.load(Ordering::SeqCst) && self.plan.methods.contains(&method)
        {
            self.plan.draw(&mut lock(&self.rng))
        } else {
            None
        };
        lock(&self.journal).push(Seen {
            at: now_ms(),
            method: method.to_owned(),
            path: path.split('?').next().unwrap_or_default().to_owned(),
            injected,
        });
        injected
    }

    /// The proxy's own answer to a request it does not forward.
    fn answer(&self, kind: Injected) -> Vec<u8> {
        let (status, reason, message) = match kind {
            Injected::Throttled => (429, "Too Many Requests", "injected: rate limit exceeded"),
            Injected::ServerError => (500, "Internal Server Error", "injected: internal error"),
            Injected::Rejected => (400, "Bad Request", REJECTION),
            _ => (503, "Service Unavailable", "injected: service unavailable"),
        };
        let (content_type, body) = (self.body)(status, message);
        let mut head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n",
            body.len()
        );
        if kind == Injected::Throttled {
            head.push_str(&format!(
                "retry-after: {}\r\n",
                self.plan.retry_after.as_secs()
            ));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        bytes
    }
}

/// A fault-injecting HTTP/1.1 proxy on an ephemeral loopback port.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FaultProxy {
    /// A proxy forwarding to `upstream` (`http://host:port`) under `plan`,
    /// answering injected errors with `body`.
    pub async fn start(upstream: &str, plan: FaultPlan, body: ErrorBody) -> Self {
        let authority = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .replace("localhost", "127.0.0.1");
        let upstream = tokio::net::lookup_host(&authority)
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("the upstream {authority} is host:port"));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fault proxy");
        let addr = listener.local_addr().expect("the fault proxy's address");
        let shared = Arc::new(Shared {
            rng: Mutex::new(StdRng::seed_from_u64(plan.seed)),
            plan,
            enabled: AtomicBool::new(true),
            journal: Mutex::default(),
            body,
            upstream,
        });
        let accept = {
            let shared = shared.clone();
            tokio::spawn(async move {
                loop {
                    if let Ok((client, _)) = listener.accept().await {
                        tokio::spawn(serve(client, shared.clone()));
                    }
                }
            })
        };
        Self {
            addr,
            shared,
            accept,
        }
    }

    /// `http://127.0.0.1:<port>`, for the driver's configuration.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Lets every request through (`false`) or applies the plan again.
    pub fn set_enabled(&self, enabled: bool) {
        self.shared.enabled.store(enabled, Ordering::SeqCst);
    }

    /// Every request seen so far, in arrival order.
    pub fn journal(&self) -> Vec<Seen> {
        lock(&self.shared.journal).clone()
    }

    /// How many requests got `kind`.
    pub fn count(&self, kind: Injected) -> usize {
        lock(&self.shared.journal)
            .iter()
            .filter(|s| s.injected == Some(kind))
            .count()
    }

    /// Injected faults by kind.
    pub fn counts(&self) -> BTreeMap<Injected, usize> {
        let mut counts = BTreeMap::new();
        for seen in lock(&self.shared.journal).iter() {
            if let Some(kind) = seen.injected {
                *counts.entry(kind).or_default() += 1;
            }
        }
        counts
    }
}

/// The parts of a message head the proxy needs.
#[derive(Debug, Default)]
struct Head {
    method: String,
    path: String,
    status: u16,
    content_length: Option<usize>,
    chunked: bool,
    /// The sender closes the connection after this message.
    close: bool,
}

struct Message {
    head: Head,
    /// The message as received, framing included.
    raw: Vec<u8>,
    /// A response whose end is the end of the connection.
    close_delimited: bool,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn parse_head(bytes: &[u8]) -> io::Result<Head> {
    let text = std::str::from_utf8(bytes).map_err(invalid)?;
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let mut parts = first.split_whitespace();
    let (a, b) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut head = Head::default();
    if a.starts_with("HTTP/") {
        head.status = b.parse().map_err(invalid)?;
        // HTTP/1.0 closes unless told otherwise.
        head.close = a == "HTTP/1.0";
    } else {
        head.method = a.to_owned();
        head.path = b.to_owned();
    }
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => head.content_length = Some(value.parse().map_err(invalid)?),
            "transfer-encoding" => head.chunked = value.to_ascii_lowercase().contains("chunked"),
            "connection" => {
                if value.eq_ignore_ascii_case("close") {
                    head.close = true;
                } else if value.eq_ignore_ascii_case("keep-alive") {
                    head.close = false;
                }
            }
            _ => {}
        }
    }
    Ok(head)
}

/// One side of a proxied connection, with what was read but not consumed.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads more; `false` at the end of the stream.
    async fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    async fn need(&mut self, len: usize) -> io::Result<()> {
        while self.buf.len() < len {
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(())
    }

    /// The position just past the first `\r\n` at or after `from`.
    async fn line_end(&mut self, from: usize) -> io::Result<usize> {
        loop {
            if let Some(p) = self.buf.get(from..).and_then(|rest| find(rest, b"\r\n")) {
                return Ok(from + p + 2);
            }
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// The next whole message; `None` when the peer closed between
    /// messages. `answering` is the request's method when reading a
    /// response.
    async fn message(&mut self, answering: Option<&str>) -> io::Result<Option<Message>> {
        let head_end = loop {
            if let Some(p) = find(&self.buf, b"\r\n\r\n") {
                break p + 4;
            }
            if !self.fill().await? {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        };
        let head = parse_head(&self.buf[..head_end])?;
        let bodyless = answering.is_some_and(|method| {
            method == "HEAD"
                || (100..200).contains(&head.status)
                || [204, 304].contains(&head.status)
        });
        let mut end = head_end;
        let mut close_delimited = false;
        if bodyless {
        } else if head.chunked {
            let mut pos = head_end;
            loop {
                let line = self.line_end(pos).await?;
                let text = String::from_utf8_lossy(&self.buf[pos..line - 2]).into_owned();
                let size_text = text.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size_text, 16).map_err(invalid)?;
                pos = line;
                if size == 0 {
                    // Trailers, up to an empty line.
                    loop {
                        let line = self.line_end(pos).await?;
                        let empty = line - pos == 2;
                        pos = line;
                        if empty {
                            break;
                        }
                    }
                    break;
                }
                self.need(pos + size + 2).await?;
                pos += size + 2;
            }
            end = pos;
        } else if let Some(len) = head.content_length {
            self.need(head_end + len).await?;
            end = head_end + len;
        } else if answering.is_some() {
            while self.fill().await? {}
            end = self.buf.len();
            close_delimited = true;
        }
        let raw: Vec<u8> = self.buf.drain(..end).collect();
        Ok(Some(Message {
            head,
            raw,
            close_delimited,
        }))
    }
}

/// Sends `request` upstream and reads the answer (interim 1xx answers go
/// to the client). A kept-alive upstream connection that the server closed
/// while idle is replaced once.
async fn exchange(
    upstream: &mut Option<Conn>,
    client: &mut Conn,
    request: &Message,
    to: SocketAddr,
) -> io::Result<Message> {
    let mut reused = upstream.is_some();
    loop {
        if upstream.is_none() {
            *upstream = Some(Conn::new(TcpStream::connect(to).await?));
        }
        let Some(up) = upstream.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let result: io::Result<Option<Message>> = async {
            up.stream.write_all(&request.raw).await?;
            loop {
                match up.message(Some(&request.head.method)).await? {
                    Some(m) if (100..200).contains(&m.head.status) => {
                        client.stream.write_all(&m.raw).await?;
                    }
                    other => return Ok(other),
                }
            }
        }
        .await;
        let nothing_back = up.buf.is_empty();
        match result {
            Ok(Some(m)) => return Ok(m),
            _ if reused && nothing_back => {
                *upstream = None;
                reused = false;
            }
            Ok(None) => {
                *upstream = None;
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Err(e) => {
                *upstream = None;
                return Err(e);
            }
        }
    }
}

async fn serve(client: TcpStream, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let mut client = Conn::new(client);
    let mut upstream: Option<Conn> = None;
    loop {
        let Ok(Some(request)) = client.message(None).await else {
            return;
        };
        let injected = shared.decide(&request.head.method, &request.head.path);
        if let Some(
            kind @ (Injected::Throttled
            | Injected::ServerError
            | Injected::Unavailable
            | Injected::Rejected),
        ) = injected
        {
            if client.stream.write_all(&shared.answer(kind)).await.is_err() || request.head.close {
                return;
            }
            continue;
        }
        let Ok(response) = exchange(&mut upstream, &mut client, &request, shared.upstream).await
        else {
            return;
        };
        match injected {
            Some(Injected::Timeout) => {
                // The driver gives up meanwhile; then the connection goes.
                tokio::time::sleep(shared.plan.hold).await;
                return;
            }
            Some(Injected::Reset) => {
                // RST rather than FIN: "connection reset by peer".
                let _ = client.stream.set_zero_linger();
                return;
            }
            _ => {}
        }
        if client.stream.write_all(&response.raw).await.is_err() {
            return;
        }
        if response.close_delimited || response.head.close || request.head.close {
            return;
        }
    }
}

/// What a [`Recorded`] provider saw, per service, in order.
#[derive(Debug, Clone)]
pub enum Event {
    /// A create/update/delete/purge call began.
    Call { at: Millis },
    /// That call failed.
    Failed {
        at: Millis,
        retry_after: Option<Duration>,
        error: String,
    },
}

/// A provider wrapper recording calls and failures per service.
pub struct Recorded {
    inner: Arc<dyn CdnProvider>,
    events: Mutex<BTreeMap<ServiceId, Vec<Event>>>,
}

impl std::fmt::Debug for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorded")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Recorded {
    pub fn new(inner: Arc<dyn CdnProvider>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            events: Mutex::default(),
        })
    }

    pub fn events(&self) -> BTreeMap<ServiceId, Vec<Event>> {
        lock(&self.events).clone()
    }

    /// Calls made for `service`.
    pub fn calls(&self, service: &ServiceId) -> usize {
        lock(&self.events).get(service).map_or(0, |e| {
            e.iter().filter(|e| matches!(e, Event::Call { .. })).count()
        })
    }

    fn begin(&self, service: &ServiceId) {
        lock(&self.events)
            .entry(*service)
            .or_default()
            .push(Event::Call { at: now_ms() });
    }

    fn end<T>(&self, service: &ServiceId, result: Result<T, PortError>) -> Result<T, PortError> {
        if let Err(error) = &result {
            lock(&self.events)
                .entry(*service)
                .or_default()
                .push(Event::Failed {
                    at: now_ms(),
                    retry_after: error.retry_after(),
                    error: error.to_string(),
                });
        }
        result
    }

    /// Checks that no call followed a failure before the failure's retry
    /// hint had passed; returns how many failures carried exactly `hint`.
    pub fn assert_hints_honoured(&self, hint: Duration) -> usize {
        let mut with_hint = 0;
        for (service, events) in self.events() {
            for pair in events.windows(2) {
                let [Event::Failed {
                    at, retry_after, ..
                }, Event::Call { at: next }] = pair
                else {
                    continue;
                };
                let Some(after) = retry_after else {
                    continue;
                };
                with_hint += usize::from(*after == hint);
                let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
                assert!(
                    *next >= at + after_ms,
                    "service {service}: called again {} ms after a failure asking for {after_ms} ms",
                    next - at
                );
            }
        }
        with_hint
    }
}

#[async_trait]
impl CdnProvider for Recorded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn capabilities(&self) -> ProviderCapabilities {
        self.inner.capabilities()
    }

    async fn is_alive(&self) -> bool {
        self.inner.is_alive().await
    }

    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.begin(&service.id);
        let result = self.inner.create(service).await;
        self.end(&service.id, result)
    }

    async fn update(&self, id: &str, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.begin(&service.id);
        let result = self.inner.update(id, service).await;
        self.end(&service.id, result)
    }

    async fn delete(&self, id: &str, service: &Service) -> Result<(), PortError> {
        self.begin(&service.id);
        let result = self.inner.delete(id, service).await;
        self.end(&service.id, result)
    }

    async fn purge(
        &self,
        id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        self.begin(&service.id);
        let result = self.inner.purge(id, service, target, hard).await;
        self.end(&service.id, result)
    }

    async fn status(&self, id: &str) -> Result<ProviderStatus, PortError> {
        self.inner.status(id).await
    }

    fn certificates(&self) -> Option<Arc<dyn CertificateProvider>> {
        self.inner.certificates()
    }

    fn supports_log_delivery(&self) -> bool {
        self.inner.supports_log_delivery()
    }
}

/// The worker over memory adapters, with flavor [`fixtures::FLAVOR_ID`]
/// deploying to one provider.
pub struct Rig {
    pub store: MemoryServiceStore,
    pub jobs: MemoryJobBoard,
    pub dns: MemoryDns,
    pub backends: Backends,
}

impl Rig {
    pub fn new(provider: Arc<dyn CdnProvider>) -> Self {
        let store = MemoryServiceStore::new();
        let jobs = MemoryJobBoard::new();
        let dns = MemoryDns::new();
        let flavors = MemoryFlavorStore::with_flavors([fixtures::flavor_with(
            fixtures::FLAVOR_ID,
            &[provider.name()],
        )]);
        let backends = Backends {
            store: Arc::new(store.clone()),
            flavors: Arc::new(flavors),
            jobs: Arc::new(jobs.clone()),
            dns: Arc::new(dns.clone()),
            providers: Providers::new().with(provider),
            notifier: None,
            certificates: None,
            metrics: None,
            log_delivery: None,
        };
        Self {
            store,
            jobs,
            dns,
            backends,
        }
    }

    /// Quick backoff (Retry-After still a floor), quick rollout polls, no
    /// reconciler.
    pub fn runner_config(concurrency: usize, max_attempts: u32) -> RunnerConfig {
        let mut config = RunnerConfig {
            worker_id: format!("faults-{}", fixtures::unique_label()),
            concurrency,
            lease: Duration::from_secs(60),
            max_attempts,
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(100),
            idle_wait: Duration::from_millis(10),
            shutdown_grace: Duration::from_secs(5),
            reconcile_every: None,
            ..RunnerConfig::default()
        };
        config.flow.poll_interval = Duration::from_millis(20);
        config
    }

    /// Stores `services` (`create_in_progress`) with their create jobs.
    pub async fn submit(&self, services: &[Service]) {
        for service in services {
            self.store
                .create(service, u32::MAX, None)
                .await
                .expect("the memory store takes the service");
            self.jobs
                .post(&fixtures::job(service))
                .await
                .expect("the memory job board takes the job");
        }
    }

    /// Runs the worker until no service is in progress (at most
    /// `deadline`, then the test fails); returns every service.
    pub async fn run(&self, config: RunnerConfig, deadline: Duration) -> Vec<Service> {
        let runner = Runner::new(self.backends.clone(), config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = tokio::spawn(async move {
            runner
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        let start = tokio::time::Instant::now();
        let services = loop {
            let services = self.store.services();
            let busy = services
                .iter()
                .filter(|s| s.status.is_in_progress())
                .count();
            if busy == 0 {
                break services;
            }
            if start.elapsed() > deadline {
                let _ = stop.send(());
                panic!("{busy} services still in progress after {deadline:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let _ = stop.send(());
        worker.await.expect("the worker stops cleanly");
        services
    }
}

/// Unique-domain services for the flavor of a [`Rig`].
pub fn services(n: usize) -> Vec<Service> {
    let project = poppy_core::model::ProjectId::new(format!("p{}", fixtures::unique_label()));
    (0..n)
        .map(|_| {
            let domain = fixtures::unique_domain();
            fixtures::service_with_domains(&project, &[domain.as_str()])
        })
        .collect()
}

/// Every service is `deployed` with its provider `deployed`.
pub fn assert_all_deployed(services: &[Service], provider: &str) {
    for service in services {
        let detail = service.provider_details.get(provider);
        assert!(
            service.status == ServiceStatus::Deployed
                && detail.is_some_and(|d| d.status == ProviderStatus::Deployed),
            "service {} is {} with {provider} details {detail:?}",
            service.id,
            service.status
        );
    }
}
