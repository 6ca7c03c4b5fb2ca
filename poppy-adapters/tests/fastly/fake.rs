//! A stateful Fastly API contract server on wiremock: services, versions
//! (clone, activate, deactivate, locking), domains, backends, conditions,
//! response objects, cache settings, settings and purges, with the rules of
//! Fastly's API the driver depends on (API key, locked versions, condition
//! references and types, duplicate names, validation before activation,
//! deactivation before deletion), and error bodies shaped like Fastly's
//! (`{"msg": …, "detail": …}`).
//!
//! Faults are answered by the fake before it looks at a request (not by
//! scoped wiremock mocks with priorities: wiremock 0.6.5 sorts its mocks by
//! priority in place, after which dropping a scoped mock's guard unmounts
//! the wrong one). Every request, faulted or not, stays in wiremock's
//! journal, so tests can assert the exact requests a driver sends.
//!
//! Shared by `poppy-adapters/tests/fastly.rs` and the root end-to-end test.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use poppy_core::testkit::conformance::provider::{Fault, FaultHooks};
use serde_json::{json, Map, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The object kinds kept per version, by API path segment.
pub const KINDS: &[&str] = &[
    "domain",
    "backend",
    "condition",
    "response_object",
    "cache_settings",
];

/// One version of a fake service.
#[derive(Debug, Clone, Default)]
pub struct FakeVersion {
    pub number: u32,
    pub active: bool,
    pub locked: bool,
    /// kind → name → fields (as sent, strings).
    pub objects: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    pub settings: BTreeMap<String, String>,
}

impl FakeVersion {
    pub fn names(&self, kind: &str) -> Vec<String> {
        self.objects
            .get(kind)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub fn object(&self, kind: &str, name: &str) -> Option<&BTreeMap<String, String>> {
        self.objects.get(kind).and_then(|m| m.get(name))
    }

    fn json(&self, service_id: &str) -> Value {
        json!({"number": self.number, "active": self.active, "locked": self.locked,
               "service_id": service_id})
    }
}

/// A fake Fastly service.
#[derive(Debug, Clone)]
pub struct FakeService {
    pub id: String,
    pub name: String,
    pub comment: String,
    pub versions: Vec<FakeVersion>,
}

impl FakeService {
    pub fn active(&self) -> Option<&FakeVersion> {
        self.versions.iter().find(|v| v.active)
    }

    pub fn version(&self, number: u32) -> Option<&FakeVersion> {
        self.versions.iter().find(|v| v.number == number)
    }

    fn json(&self) -> Value {
        let versions: Vec<Value> = self.versions.iter().map(|v| v.json(&self.id)).collect();
        json!({"id": self.id, "name": self.name, "comment": self.comment, "versions": versions})
    }
}

/// One purge request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePurge {
    /// `url:<host><path>` or `all:<service id>`.
    pub target: String,
    pub soft: bool,
}

/// An injected failure: requests whose path ends with `suffix` (all when
/// `None`) get `response`, `remaining` more times (forever when `None`).
struct FaultRule {
    suffix: Option<String>,
    response: ResponseTemplate,
    remaining: Option<u64>,
}

#[derive(Default)]
struct State {
    faults: Vec<FaultRule>,
    services: BTreeMap<String, FakeService>,
    next_id: u64,
    purges: Vec<FakePurge>,
}

/// The responder that plays Fastly.
struct Fastly {
    key: String,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn error(status: u16, msg: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"msg": msg, "detail": detail}))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes an `application/x-www-form-urlencoded` body.
pub fn form(body: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Which condition type each kind may reference, and under which field.
fn condition_refs(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "backend" | "response_object" => &[("request_condition", "REQUEST")],
        "cache_settings" => &[("cache_condition", "CACHE")],
        _ => &[],
    }
}

impl Fastly {
    fn injected(&self, request: &Request) -> Option<ResponseTemplate> {
        let mut state = lock(&self.state);
        let path = request.url.path();
        let rule = state.faults.iter_mut().find(|f| {
            f.remaining != Some(0) && f.suffix.as_deref().is_none_or(|s| path.ends_with(s))
        })?;
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        Some(rule.response.clone())
    }

    fn handle(&self, request: &Request) -> ResponseTemplate {
        if let Some(response) = self.injected(request) {
            return response;
        }
        let key = request
            .headers
            .get("fastly-key")
            .and_then(|v| v.to_str().ok());
        if key != Some(self.key.as_str()) {
            return error(401, "Provided credentials are missing or invalid", "");
        }
        let method = request.method.as_str().to_owned();
        let segments: Vec<String> = request
            .url
            .path()
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let mut state = lock(&self.state);
        let body = form(&request.body);
        match (method.as_str(), segs.as_slice()) {
            ("GET", ["current_customer"]) => ok(json!({"id": "fake-customer", "name": "Fake"})),
            ("GET", ["service", "search"]) => {
                let name = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "name")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                match state.services.values().find(|s| s.name == name) {
                    Some(service) => ok(service.json()),
                    None => error(
                        404,
                        "Record not found",
                        &format!("Cannot find service '{name}'"),
                    ),
                }
            }
            ("POST", ["service"]) => {
                let Some(name) = body.get("name").filter(|n| !n.is_empty()) else {
                    return error(400, "Bad request", "name is required");
                };
                if state.services.values().any(|s| &s.name == name) {
                    return error(409, "Duplicate record", &format!("service {name} exists"));
                }
                state.next_id += 1;
                let id = format!("SVC{:08}", state.next_id);
                let service = FakeService {
                    id: id.clone(),
                    name: name.clone(),
                    comment: body.get("comment").cloned().unwrap_or_default(),
                    versions: vec![FakeVersion {
                        number: 1,
                        ..Default::default()
                    }],
                };
                let json = service.json();
                state.services.insert(id, service);
                ok(json)
            }
            ("POST", ["purge", rest @ ..]) => {
                let soft = request.headers.get("fastly-soft-purge").is_some();
                let mut target = format!("url:{}", rest.join("/"));
                if let Some(q) = request.url.query() {
                    target = format!("{target}?{q}");
                }
                state.purges.push(FakePurge { target, soft });
                ok(json!({"status": "ok", "id": "purge-1"}))
            }
            (_, ["service", id, rest @ ..]) => {
                let id = (*id).to_owned();
                let rest: Vec<&str> = rest.to_vec();
                self.service_route(&mut state, &method, &id, &rest, &body, request)
            }
            _ => error(
                404,
                "Not found",
                &format!("{method} {}", request.url.path()),
            ),
        }
    }

    fn service_route(
        &self,
        state: &mut State,
        method: &str,
        id: &str,
        rest: &[&str],
        body: &BTreeMap<String, String>,
        request: &Request,
    ) -> ResponseTemplate {
        if method == "POST" && rest == ["purge_all"] {
            if !state.services.contains_key(id) {
                return error(404, "Record not found", "Cannot find service");
            }
            if request.headers.get("fastly-soft-purge").is_some() {
                return error(400, "Bad request", "purge_all cannot be soft");
            }
            state.purges.push(FakePurge {
                target: format!("all:{id}"),
                soft: false,
            });
            return ok(json!({"status": "ok"}));
        }
        let Some(service) = state.services.get_mut(id) else {
            return error(
                404,
                "Record not found",
                &format!("Cannot find service '{id}'"),
            );
        };
        match (method, rest) {
            ("GET", ["details"]) => {
                let mut json = service.json();
                let latest = service.versions.iter().max_by_key(|v| v.number);
                json["version"] = latest.map_or(Value::Null, |v| v.json(&service.id));
                json["active_version"] = service
                    .active()
                    .map_or(Value::Null, |v| v.json(&service.id));
                ok(json)
            }
            ("GET", []) => ok(service.json()),
            ("DELETE", []) => {
                if service.active().is_some() {
                    return error(
                        400,
                        "Bad request",
                        "Service must be deactivated before deletion",
                    );
                }
                state.services.remove(id);
                ok(json!({"status": "ok"}))
            }
            ("POST", ["version"]) => {
                let number = service.versions.iter().map(|v| v.number).max().unwrap_or(0) + 1;
                let version = FakeVersion {
                    number,
                    ..Default::default()
                };
                let json = version.json(id);
                service.versions.push(version);
                ok(json)
            }
            (_, ["version", number, rest @ ..]) => {
                let Ok(number) = number.parse::<u32>() else {
                    return error(400, "Bad request", "version must be a number");
                };
                version_route(service, method, number, rest, body)
            }
            _ => error(
                404,
                "Not found",
                &format!("{method} service/{id}/{}", rest.join("/")),
            ),
        }
    }
}

fn version_route(
    service: &mut FakeService,
    method: &str,
    number: u32,
    rest: &[&str],
    body: &BTreeMap<String, String>,
) -> ResponseTemplate {
    let sid = service.id.clone();
    let Some(index) = service.versions.iter().position(|v| v.number == number) else {
        return error(
            404,
            "Record not found",
            &format!("Cannot find version {number}"),
        );
    };
    match (method, rest) {
        ("GET", []) => ok(service.versions[index].json(&sid)),
        ("PUT", ["clone"]) => {
            let next = service.versions.iter().map(|v| v.number).max().unwrap_or(0) + 1;
            let mut copy = service.versions[index].clone();
            copy.number = next;
            copy.active = false;
            copy.locked = false;
            let json = copy.json(&sid);
            service.versions.push(copy);
            ok(json)
        }
        ("PUT", ["activate"]) => {
            let version = &service.versions[index];
            if version.names("domain").is_empty() || version.names("backend").is_empty() {
                return error(
                    400,
                    "Version failed validation",
                    "a version needs at least one domain and one backend",
                );
            }
            for v in &mut service.versions {
                v.active = false;
            }
            let version = &mut service.versions[index];
            version.active = true;
            version.locked = true;
            ok(version.json(&sid))
        }
        ("PUT", ["deactivate"]) => {
            let version = &mut service.versions[index];
            if !version.active {
                return error(400, "Bad request", "version is not active");
            }
            version.active = false;
            ok(version.json(&sid))
        }
        ("PUT", ["settings"]) => {
            if service.versions[index].locked {
                return locked(number);
            }
            for (k, v) in body {
                service.versions[index]
                    .settings
                    .insert(k.clone(), v.clone());
            }
            ok(json!({"service_id": sid, "version": number}))
        }
        (_, [kind, rest @ ..]) if KINDS.contains(kind) => {
            object_route(&mut service.versions[index], &sid, method, kind, rest, body)
        }
        _ => error(404, "Not found", "no such version route"),
    }
}

fn locked(number: u32) -> ResponseTemplate {
    error(400, "Bad request", &format!("Version {number} is locked"))
}

fn object_json(sid: &str, number: u32, fields: &BTreeMap<String, String>) -> Value {
    let mut map: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    map.insert("service_id".to_owned(), json!(sid));
    map.insert("version".to_owned(), json!(number));
    Value::Object(map)
}

fn object_route(
    version: &mut FakeVersion,
    sid: &str,
    method: &str,
    kind: &str,
    rest: &[&str],
    body: &BTreeMap<String, String>,
) -> ResponseTemplate {
    let number = version.number;
    if method == "GET" && rest.is_empty() {
        let list: Vec<Value> = version
            .objects
            .get(kind)
            .map(|m| m.values().map(|f| object_json(sid, number, f)).collect())
            .unwrap_or_default();
        return ok(Value::Array(list));
    }
    if version.locked {
        return locked(number);
    }
    // Fields checked the way Fastly checks them.
    let check =
        |fields: &BTreeMap<String, String>, version: &FakeVersion| -> Option<ResponseTemplate> {
            for (field, wanted) in condition_refs(kind) {
                if let Some(name) = fields.get(*field).filter(|n| !n.is_empty()) {
                    match version.object("condition", name) {
                        None => {
                            return Some(error(
                                400,
                                "Bad request",
                                &format!("condition '{name}' does not exist"),
                            ))
                        }
                        Some(c) if c.get("type").map(String::as_str) != Some(wanted) => {
                            return Some(error(
                                400,
                                "Bad request",
                                &format!("condition '{name}' is not a {wanted} condition"),
                            ))
                        }
                        Some(_) => {}
                    }
                }
            }
            if kind == "condition" {
                let t = fields.get("type").map(String::as_str).unwrap_or("");
                if !["REQUEST", "CACHE", "RESPONSE", "PREFETCH"].contains(&t) {
                    return Some(error(
                        400,
                        "Bad request",
                        &format!("invalid condition type '{t}'"),
                    ));
                }
                if fields.get("statement").is_none_or(|s| s.is_empty()) {
                    return Some(error(400, "Bad request", "statement is required"));
                }
            }
            if kind == "backend"
                && fields
                    .get("port")
                    .is_some_and(|p| p.parse::<u16>().is_err())
            {
                return Some(error(400, "Bad request", "port must be a number"));
            }
            if kind == "cache_settings"
                && !["", "pass", "cache", "restart"]
                    .contains(&fields.get("action").map(String::as_str).unwrap_or(""))
            {
                return Some(error(400, "Bad request", "invalid action"));
            }
            None
        };
    match (method, rest) {
        ("POST", []) => {
            let Some(name) = body.get("name").filter(|n| !n.is_empty()).cloned() else {
                return error(400, "Bad request", "name is required");
            };
            if version.object(kind, &name).is_some() {
                return error(409, "Duplicate record", &format!("{kind} '{name}' exists"));
            }
            if let Some(e) = check(body, version) {
                return e;
            }
            version
                .objects
                .entry(kind.to_owned())
                .or_default()
                .insert(name, body.clone());
            ok(object_json(sid, number, body))
        }
        ("PUT", [name]) => {
            let Some(existing) = version.object(kind, name).cloned() else {
                return error(
                    404,
                    "Record not found",
                    &format!("{kind} '{name}' not found"),
                );
            };
            let mut fields = existing;
            for (k, v) in body {
                fields.insert(k.clone(), v.clone());
            }
            if let Some(e) = check(&fields, version) {
                return e;
            }
            let new_name = fields
                .get("name")
                .cloned()
                .unwrap_or_else(|| (*name).to_owned());
            let objects = version.objects.entry(kind.to_owned()).or_default();
            objects.remove(*name);
            objects.insert(new_name, fields.clone());
            ok(object_json(sid, number, &fields))
        }
        ("DELETE", [name]) => {
            if kind == "condition" {
                for other in ["backend", "response_object", "cache_settings"] {
                    let used = version.objects.get(other).is_some_and(|m| {
                        m.values().any(|f| {
                            f.get("request_condition").map(String::as_str) == Some(*name)
                                || f.get("cache_condition").map(String::as_str) == Some(*name)
                        })
                    });
                    if used {
                        return error(
                            400,
                            "Bad request",
                            &format!("condition '{name}' is in use by a {other}"),
                        );
                    }
                }
            }
            match version.objects.get_mut(kind).and_then(|m| m.remove(*name)) {
                Some(_) => ok(json!({"status": "ok"})),
                None => error(
                    404,
                    "Record not found",
                    &format!("{kind} '{name}' not found"),
                ),
            }
        }
        _ => error(404, "Not found", "no such object route"),
    }
}

impl Respond for Fastly {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.handle(request)
    }
}

/// The fake Fastly API on a loopback port.
pub struct FakeFastly {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
    /// How long a `Fault::Slow` answer takes.
    pub slow: Duration,
}

impl FakeFastly {
    /// Starts a fake accepting `key` as the API key.
    pub async fn start(key: &str) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(any())
            .respond_with(Fastly {
                key: key.to_owned(),
                state: state.clone(),
            })
            .mount(&server)
            .await;
        Self {
            server,
            state,
            slow: Duration::from_millis(2_500),
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Every request received so far as `METHOD /path[?query]`.
    pub async fn requests(&self) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| match r.url.query() {
                Some(q) => format!("{} {}?{q}", r.method, r.url.path()),
                None => format!("{} {}", r.method, r.url.path()),
            })
            .collect()
    }

    /// Every request received so far, raw.
    pub async fn raw_requests(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }

    pub fn service(&self, id: &str) -> Option<FakeService> {
        lock(&self.state).services.get(id).cloned()
    }

    pub fn service_named(&self, name: &str) -> Option<FakeService> {
        lock(&self.state)
            .services
            .values()
            .find(|s| s.name == name)
            .cloned()
    }

    pub fn service_count(&self) -> usize {
        lock(&self.state).services.len()
    }

    /// Puts an object straight into a version, as someone editing the
    /// service by hand would have.
    pub fn add_object(&self, id: &str, version: u32, kind: &str, fields: &[(&str, &str)]) {
        let mut state = lock(&self.state);
        let Some(v) = state
            .services
            .get_mut(id)
            .and_then(|s| s.versions.iter_mut().find(|v| v.number == version))
        else {
            return;
        };
        let fields: BTreeMap<String, String> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let name = fields.get("name").cloned().unwrap_or_default();
        v.objects
            .entry(kind.to_owned())
            .or_default()
            .insert(name, fields);
    }

    pub fn purges(&self) -> Vec<FakePurge> {
        lock(&self.state).purges.clone()
    }

    /// Answers requests whose path ends with `suffix` (all when `None`)
    /// with `response`, `times` times (`None`: until healed), before the
    /// fake sees them.
    pub fn fail(&self, suffix: Option<&str>, response: ResponseTemplate, times: Option<u64>) {
        lock(&self.state).faults.push(FaultRule {
            suffix: suffix.map(str::to_owned),
            response,
            remaining: times,
        });
    }

    /// Removes every fault.
    pub fn heal(&self) {
        lock(&self.state).faults.clear();
    }

    /// The answer a fault gives.
    pub fn fault_response(&self, fault: &Fault) -> ResponseTemplate {
        let with_retry = |t: ResponseTemplate, after: &Option<Duration>| match after {
            Some(d) => t.insert_header("Retry-After", d.as_secs().to_string().as_str()),
            None => t,
        };
        match fault {
            Fault::Throttled { retry_after } => with_retry(
                error(429, "Too many requests", "rate limit exceeded"),
                retry_after,
            ),
            Fault::ServerError { retry_after } => with_retry(
                error(503, "Service Unavailable", "please retry"),
                retry_after,
            ),
            Fault::Rejected { message } => error(400, message, ""),
            Fault::Slow => ok(json!({})).set_delay(self.slow),
            _ => error(500, "unknown fault", ""),
        }
    }
}

#[async_trait]
impl FaultHooks for FakeFastly {
    async fn inject(&self, fault: &Fault) -> bool {
        self.fail(None, self.fault_response(fault), None);
        true
    }

    async fn clear(&self) {
        self.heal();
    }
}
