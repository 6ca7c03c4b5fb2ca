//! A contract fake of Rackspace's identity v2.0 and Cloud DNS v1.0 APIs on
//! a loopback wiremock server: tokens with a service catalog, domains and
//! CNAME records kept in memory, asynchronous jobs polled through
//! `/status/{jobId}?showDetails=true`, and injectable faults (an expired
//! token, "over limit" answers, outages, failed or endless jobs).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const TENANT: &str = "123456";
pub const USERNAME: &str = "poppy";
pub const API_KEY: &str = "secret-key";

/// One CNAME (or other) record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub data: String,
    pub ttl: u64,
}

/// One Cloud DNS domain (zone).
#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    pub email: String,
    pub ttl: u64,
    pub records: BTreeMap<String, Rec>,
}

#[derive(Debug, Clone)]
struct Job {
    polls_left: u32,
    verb: String,
    result: Result<Value, Value>,
}

/// What the fake holds and how it misbehaves.
#[derive(Debug, Default)]
pub struct State {
    base: String,
    tokens: Vec<String>,
    pub zones: BTreeMap<u64, Zone>,
    jobs: BTreeMap<String, Job>,
    next_id: u64,
    /// Every request, as `METHOD /path?query`.
    pub log: Vec<String>,
    /// Tokens issued so far.
    pub auths: u32,
    /// The next DNS request finds its token expired (401, token revoked).
    pub expire_token: bool,
    /// Every DNS request answers 401, even with a fresh token.
    pub always_unauthorized: bool,
    /// The next N DNS requests answer with this status (`413`, `429`,
    /// `503`…) and `Retry-After: 7`.
    pub fail_next: Vec<u16>,
    /// The next `DELETE` answers with this status (an outage mid-update).
    pub fail_next_delete: Option<u16>,
    /// `RUNNING` answers before a job completes.
    pub job_polls: u32,
    /// Jobs never finish.
    pub jobs_never_finish: bool,
    /// The next job ends in `ERROR` with this code and message.
    pub fail_next_job: Option<(u64, String)>,
    /// The token's catalog has no `rax:dns` entry.
    pub catalog_without_dns: bool,
}

impl State {
    /// The records of zone `name`, `name → target`.
    pub fn cnames(&self, zone: &str) -> BTreeMap<String, String> {
        self.zones
            .values()
            .filter(|z| z.name == zone)
            .flat_map(|z| z.records.values())
            .map(|r| (r.name.clone(), r.data.clone()))
            .collect()
    }

    /// Every record of every zone, `name → target`.
    pub fn all_cnames(&self) -> BTreeMap<String, String> {
        self.zones
            .values()
            .flat_map(|z| z.records.values())
            .map(|r| (r.name.clone(), r.data.clone()))
            .collect()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.log.iter().filter(|l| l.starts_with(prefix)).count()
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// A running fake.
#[derive(Clone)]
pub struct Fake {
    state: Arc<Mutex<State>>,
    uri: String,
}

impl Fake {
    pub async fn start() -> (Self, MockServer) {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            base: server.uri(),
            job_polls: 1,
            next_id: 1000,
            ..State::default()
        }));
        let fake = Self {
            state,
            uri: server.uri(),
        };
        Mock::given(any())
            .respond_with(Responder(fake.state.clone()))
            .mount(&server)
            .await;
        (fake, server)
    }

    /// The identity endpoint (`…/v2.0`).
    pub fn auth_endpoint(&self) -> String {
        format!("{}/v2.0", self.uri)
    }

    /// The Cloud DNS endpoint of the account.
    pub fn dns_endpoint(&self) -> String {
        format!("{}/v1.0/{TENANT}", self.uri)
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let query = request
            .url
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        state
            .log
            .push(format!("{} {}{query}", request.method, request.url.path()));
        route(&mut state, request)
    }
}

fn json_answer(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

fn fault(status: u16, code: &str, message: &str) -> ResponseTemplate {
    json_answer(
        status,
        json!({ code: { "code": status, "message": message } }),
    )
}

fn not_found(details: &str) -> ResponseTemplate {
    json_answer(
        404,
        json!({"message": "Object not Found.", "code": 404, "details": details}),
    )
}

fn route(state: &mut State, request: &Request) -> ResponseTemplate {
    let path = request.url.path().to_owned();
    if path == "/v2.0/tokens" && request.method.as_str() == "POST" {
        return tokens(state, request);
    }
    let Some(rest) = path.strip_prefix(&format!("/v1.0/{TENANT}")) else {
        return not_found("no such resource");
    };
    let token = request
        .headers
        .get("X-Auth-Token")
        .and_then(|t| t.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if state.always_unauthorized || !state.tokens.contains(&token) {
        return fault(401, "unauthorized", "Authentication required");
    }
    if state.expire_token {
        state.expire_token = false;
        state.tokens.retain(|t| *t != token);
        return fault(401, "unauthorized", "Token expired");
    }
    if !state.fail_next.is_empty() {
        let status = state.fail_next.remove(0);
        let code = if status == 413 || status == 429 {
            "overLimit"
        } else {
            "serviceUnavailable"
        };
        return fault(status, code, "Try again later").insert_header("Retry-After", "7");
    }
    if request.method.as_str() == "DELETE" {
        if let Some(status) = state.fail_next_delete.take() {
            return fault(status, "serviceUnavailable", "Try again later")
                .insert_header("Retry-After", "3");
        }
    }
    let query: BTreeMap<String, Vec<String>> =
        request
            .url
            .query_pairs()
            .fold(BTreeMap::new(), |mut q, (k, v)| {
                q.entry(k.into_owned()).or_default().push(v.into_owned());
                q
            });
    let first = |k: &str| query.get(k).and_then(|v| v.first()).cloned();
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let body: Value = request.body_json().unwrap_or(Value::Null);
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["domains"]) => list_domains(state, first("name")),
        ("POST", ["domains"]) => create_domains(state, &body),
        ("GET", ["domains", id, "records"]) => list_records(state, id, &first),
        ("POST", ["domains", id, "records"]) => add_records(state, id, &body),
        ("PUT", ["domains", id, "records"]) => modify_records(state, id, &body),
        ("DELETE", ["domains", id, "records"]) => {
            delete_records(state, id, query.get("id").cloned().unwrap_or_default())
        }
        ("GET", ["status", job]) => {
            status(state, job, first("showDetails").as_deref() == Some("true"))
        }
        _ => not_found("no such resource"),
    }
}

fn tokens(state: &mut State, request: &Request) -> ResponseTemplate {
    let body: Value = request.body_json().unwrap_or(Value::Null);
    let creds = &body["auth"]["RAX-KSKEY:apiKeyCredentials"];
    if creds["username"] != USERNAME || creds["apiKey"] != API_KEY {
        return fault(401, "unauthorized", "Username or api key is invalid.");
    }
    state.auths += 1;
    let token = format!("token-{}", state.auths);
    state.tokens.push(token.clone());
    let mut catalog = vec![json!({
        "name": "cloudFiles",
        "type": "object-store",
        "endpoints": [{"publicURL": format!("{}/files", state.base), "region": "DFW"}]
    })];
    if !state.catalog_without_dns {
        catalog.push(json!({
            "name": "cloudDNS",
            "type": "rax:dns",
            "endpoints": [{"publicURL": format!("{}/v1.0/{TENANT}", state.base), "tenantId": TENANT}]
        }));
    }
    json_answer(
        200,
        json!({
            "access": {
                "token": {
                    "id": token,
                    "expires": "2030-01-01T00:00:00.000Z",
                    "tenant": {"id": TENANT, "name": TENANT}
                },
                "serviceCatalog": catalog,
                "user": {"id": "1", "name": USERNAME}
            }
        }),
    )
}

fn domain_json(id: u64, zone: &Zone) -> Value {
    json!({
        "id": id,
        "name": zone.name,
        "accountId": TENANT.parse::<u64>().unwrap_or(0),
        "emailAddress": zone.email,
        "ttl": zone.ttl,
        "updated": "2026-01-01T00:00:00.000+0000",
        "created": "2026-01-01T00:00:00.000+0000"
    })
}

fn record_json(rec: &Rec) -> Value {
    json!({
        "id": rec.id,
        "name": rec.name,
        "type": rec.kind,
        "data": rec.data,
        "ttl": rec.ttl,
        "updated": "2026-01-01T00:00:00.000+0000",
        "created": "2026-01-01T00:00:00.000+0000"
    })
}

/// Like Cloud DNS, the name filter also returns sub-domains.
fn list_domains(state: &State, name: Option<String>) -> ResponseTemplate {
    let domains: Vec<Value> = state
        .zones
        .iter()
        .filter(|(_, z)| {
            name.as_ref()
                .is_none_or(|n| z.name == *n || z.name.ends_with(&format!(".{n}")))
        })
        .map(|(id, z)| domain_json(*id, z))
        .collect();
    let total = domains.len();
    json_answer(200, json!({"domains": domains, "totalEntries": total}))
}

fn job(state: &mut State, verb: &str, result: Result<Value, Value>) -> ResponseTemplate {
    let id = format!("job-{}", state.id());
    let result = match state.fail_next_job.take() {
        Some((code, message)) => {
            Err(json!({"code": code, "message": message, "details": "injected"}))
        }
        None => result,
    };
    state.jobs.insert(
        id.clone(),
        Job {
            polls_left: state.job_polls,
            verb: verb.to_owned(),
            result,
        },
    );
    json_answer(
        202,
        json!({
            "status": "RUNNING",
            "verb": verb,
            "jobId": id,
            "callbackUrl": format!("{}/v1.0/{TENANT}/status/{id}", state.base),
            "requestUrl": format!("{}/v1.0/{TENANT}/domains", state.base)
        }),
    )
}

fn create_domains(state: &mut State, body: &Value) -> ResponseTemplate {
    let Some(domain) = body["domains"].get(0) else {
        return json_answer(400, json!({"message": "domains are required", "code": 400}));
    };
    let (Some(name), Some(email)) = (domain["name"].as_str(), domain["emailAddress"].as_str())
    else {
        return json_answer(
            400,
            json!({"validationErrors": {"messages": ["emailAddress is required"]}, "code": 400}),
        );
    };
    if state.zones.values().any(|z| z.name == name) {
        return job(
            state,
            "POST",
            Err(
                json!({"code": 409, "message": "The object already exists.", "details": "Domain already exists"}),
            ),
        );
    }
    let id = state.id();
    let zone = Zone {
        name: name.to_owned(),
        email: email.to_owned(),
        ttl: domain["ttl"].as_u64().unwrap_or(3600),
        records: BTreeMap::new(),
    };
    let answer = json!({"domains": [domain_json(id, &zone)]});
    state.zones.insert(id, zone);
    job(state, "POST", Ok(answer))
}

fn zone_mut<'a>(state: &'a mut State, id: &str) -> Option<&'a mut Zone> {
    state.zones.get_mut(&id.parse::<u64>().ok()?)
}

fn list_records(
    state: &mut State,
    id: &str,
    first: &dyn Fn(&str) -> Option<String>,
) -> ResponseTemplate {
    let Some(zone) = zone_mut(state, id) else {
        return not_found("Domain ID not found");
    };
    let (kind, name) = (first("type"), first("name"));
    let all: Vec<Value> = zone
        .records
        .values()
        .filter(|r| kind.as_ref().is_none_or(|k| r.kind == *k))
        .filter(|r| name.as_ref().is_none_or(|n| r.name == *n))
        .map(record_json)
        .collect();
    let total = all.len();
    let offset = first("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0usize);
    let limit = first("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize);
    let page: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    json_answer(200, json!({"records": page, "totalEntries": total}))
}

fn add_records(state: &mut State, id: &str, body: &Value) -> ResponseTemplate {
    let mut next = state.id();
    let Some(zone) = zone_mut(state, id) else {
        return not_found("Domain ID not found");
    };
    let mut added = Vec::new();
    let mut error = None;
    for r in body["records"].as_array().into_iter().flatten() {
        let name = r["name"].as_str().unwrap_or_default().to_owned();
        let kind = r["type"].as_str().unwrap_or_default().to_owned();
        if !name.ends_with(&format!(".{}", zone.name)) {
            error = Some(
                json!({"code": 400, "message": "Record is not in the domain", "details": name}),
            );
            break;
        }
        if zone
            .records
            .values()
            .any(|x| x.name == name && x.kind == kind)
        {
            error = Some(json!({"code": 409, "message": "Record already exists", "details": name}));
            break;
        }
        next += 1;
        let rec = Rec {
            id: format!("{kind}-{next}"),
            name,
            kind,
            data: r["data"].as_str().unwrap_or_default().to_owned(),
            ttl: r["ttl"].as_u64().unwrap_or(3600),
        };
        added.push(rec);
    }
    let result = match error {
        Some(e) => Err(e),
        None => {
            let answer = json!({"records": added.iter().map(record_json).collect::<Vec<_>>()});
            for rec in added {
                zone.records.insert(rec.id.clone(), rec);
            }
            Ok(answer)
        }
    };
    state.next_id = next;
    job(state, "POST", result)
}

fn modify_records(state: &mut State, id: &str, body: &Value) -> ResponseTemplate {
    let Some(zone) = zone_mut(state, id) else {
        return not_found("Domain ID not found");
    };
    let mut result = Ok(Value::Null);
    for r in body["records"].as_array().into_iter().flatten() {
        let rid = r["id"].as_str().unwrap_or_default();
        match zone.records.get_mut(rid) {
            Some(rec) => {
                if let Some(data) = r["data"].as_str() {
                    rec.data = data.to_owned();
                }
                if let Some(ttl) = r["ttl"].as_u64() {
                    rec.ttl = ttl;
                }
            }
            None => {
                result = Err(json!({"code": 404, "message": "Object not Found.", "details": rid}));
                break;
            }
        }
    }
    job(state, "PUT", result)
}

fn delete_records(state: &mut State, id: &str, ids: Vec<String>) -> ResponseTemplate {
    let Some(zone) = zone_mut(state, id) else {
        return not_found("Domain ID not found");
    };
    if let Some(missing) = ids.iter().find(|i| !zone.records.contains_key(*i)) {
        return not_found(&format!("Record {missing} not found"));
    }
    for i in &ids {
        zone.records.remove(i);
    }
    job(state, "DELETE", Ok(Value::Null))
}

fn status(state: &mut State, id: &str, details: bool) -> ResponseTemplate {
    let never = state.jobs_never_finish;
    let Some(job) = state.jobs.get_mut(id) else {
        return not_found("Job not found");
    };
    let mut answer = json!({"jobId": id, "verb": job.verb, "callbackUrl": "", "requestUrl": ""});
    if never || job.polls_left > 0 {
        job.polls_left = job.polls_left.saturating_sub(1);
        answer["status"] = json!("RUNNING");
        return json_answer(200, answer);
    }
    match &job.result {
        Ok(response) => {
            answer["status"] = json!("COMPLETED");
            if details && !response.is_null() {
                answer["response"] = response.clone();
            }
        }
        Err(error) => {
            answer["status"] = json!("ERROR");
            if details {
                answer["error"] = error.clone();
            }
        }
    }
    json_answer(200, answer)
}
