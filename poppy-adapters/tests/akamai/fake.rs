//! A stateful contract server for the Akamai APIs the driver uses, on a
//! loopback `wiremock` server. It reproduces the documented request and
//! response shapes of PAPI v1 (search, properties, versions, rules,
//! hostnames, edge hostnames, activations) and Fast Purge v3, checks every
//! request's EdgeGrid signature and the `contractId`/`groupId` scope, keeps
//! state (properties, versions, activations, edge hostnames, purges), makes
//! activations take `activation_polls` reads of the activation list, and
//! records every request for the tests to assert on.
//!
//! Tests inject failures by mounting their own mocks with a higher priority
//! (a lower number) than the fake's catch-all.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use poppy_adapters::provider::akamai::edgegrid::{Credentials, RequestParts, Signer};
use poppy_adapters::provider::akamai::{AkamaiConfig, AkamaiProvider, PollConfig, Secret};
use poppy_core::testkit::conformance::provider::{Fault, FaultHooks};
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const CONTRACT: &str = "ctr_C-0N7RAC7";
pub const GROUP: &str = "grp_15225";
pub const PRODUCT: &str = "prd_Fresca";
pub const CLIENT_TOKEN: &str = "akab-client-token-for-the-fake";
pub const CLIENT_SECRET: &str = "c2VjcmV0LW9mLXRoZS1mYWtlLWFrYW1haQ==";
pub const ACCESS_TOKEN: &str = "akab-access-token-for-the-fake";
pub const EMAIL: &str = "noc@example.com";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub content_type: Option<String>,
    pub authorization: String,
    /// A JSON body, or a form body as an object of its fields.
    pub body: Option<Value>,
    pub accept: Option<String>,
}

impl Recorded {
    /// `"POST /papi/v1/properties"`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Debug, Clone)]
pub struct FakeVersion {
    pub rules: Value,
    pub hostnames: Value,
    pub staging_status: String,
    pub production_status: String,
}

#[derive(Debug, Clone)]
pub struct FakeProperty {
    pub id: String,
    pub name: String,
    pub versions: Vec<FakeVersion>,
    pub staging_version: Option<u32>,
    pub production_version: Option<u32>,
}

impl FakeProperty {
    fn version(&mut self, v: u32) -> Option<&mut FakeVersion> {
        self.versions.get_mut((v as usize).checked_sub(1)?)
    }
}

#[derive(Debug, Clone)]
pub struct FakeActivation {
    pub id: String,
    pub property_id: String,
    pub version: u32,
    pub network: String,
    pub kind: String,
    pub status: String,
    pub polls_left: u32,
    pub submitted: u32,
}

#[derive(Debug, Default)]
pub struct State {
    /// Reads of the activation list an activation stays `PENDING` for.
    pub activation_polls: u32,
    /// The search index does not show properties (a lagging index).
    pub search_lags: bool,
    pub properties: BTreeMap<String, FakeProperty>,
    pub activations: Vec<FakeActivation>,
    pub edge_hostnames: Vec<String>,
    /// `(path, body)` of every Fast Purge request.
    pub purges: Vec<(String, Value)>,
    pub log: Vec<Recorded>,
    /// Every request is answered with this, when set.
    pub fault: Option<Fault>,
    /// SPS requests, by `spsId` (see `akamai/fake_certs.rs`).
    pub sps: BTreeMap<u64, crate::fake_certs::FakeSps>,
    /// Reads of an SPS request it stays running for.
    pub sps_polls: u32,
    /// The SANs of each SAN certificate, by its `cnameHostname`.
    pub san_certs: BTreeMap<String, Vec<String>>,
    /// CPS enrollments, by id.
    pub enrollments: BTreeMap<u64, crate::fake_certs::FakeEnrollment>,
    /// Reads of an enrollment (or its change) a change stays pending for.
    pub cps_polls: u32,
    next_id: u32,
    clock: u32,
}

pub struct Fake {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
}

impl Fake {
    /// A fake whose activations stay pending for `activation_polls` reads.
    pub async fn start(activation_polls: u32) -> Fake {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            activation_polls,
            next_id: 100,
            ..State::default()
        }));
        let signer = Signer::new(Credentials::new(CLIENT_TOKEN, CLIENT_SECRET, ACCESS_TOKEN));
        let shared = Arc::clone(&state);
        Mock::given(any())
            .respond_with(move |request: &Request| respond(&shared, &signer, request))
            .with_priority(10)
            .mount(&server)
            .await;
        Fake { server, state }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The driver's configuration pointed at this fake.
    pub fn config(&self) -> AkamaiConfig {
        AkamaiConfig {
            host: Some(self.server.uri()),
            client_token: Some(Secret::new(CLIENT_TOKEN)),
            client_secret: Some(Secret::new(CLIENT_SECRET)),
            access_token: Some(Secret::new(ACCESS_TOKEN)),
            contract_id: CONTRACT.to_owned(),
            group_id: GROUP.to_owned(),
            product_id: PRODUCT.to_owned(),
            activation_emails: vec![EMAIL.to_owned()],
            timeout_ms: 5_000,
            poll: PollConfig {
                interval_ms: 1,
                attempts: 50,
            },
            ..AkamaiConfig::default()
        }
    }

    pub fn provider_with(&self, config: AkamaiConfig) -> AkamaiProvider {
        match AkamaiProvider::build_with_env(config, |_| None) {
            Ok(p) => p,
            Err(e) => panic!("the test configuration is valid: {e}"),
        }
    }

    pub fn provider(&self) -> AkamaiProvider {
        self.provider_with(self.config())
    }

    /// Requests received so far, oldest first.
    pub fn log(&self) -> Vec<Recorded> {
        self.state().log.clone()
    }

    /// `"METHOD /path"` of every request received so far.
    pub fn lines(&self) -> Vec<String> {
        self.log().iter().map(Recorded::line).collect()
    }

    /// Forgets the requests received so far.
    pub fn clear_log(&self) {
        self.state().log.clear();
    }

    pub fn property(&self, id: &str) -> Option<FakeProperty> {
        self.state().properties.get(id).cloned()
    }
}

/// Lets the conformance suite make the fake fail.
pub struct Hooks<'a>(pub &'a Fake);

/// How long a [`Fault::Slow`] answer takes: longer than the timeout the
/// conformance test gives the driver.
pub const SLOW: std::time::Duration = std::time::Duration::from_secs(5);

#[async_trait::async_trait]
impl FaultHooks for Hooks<'_> {
    async fn inject(&self, fault: &Fault) -> bool {
        let known = matches!(
            fault,
            Fault::Throttled { .. }
                | Fault::ServerError { .. }
                | Fault::Rejected { .. }
                | Fault::Slow
        );
        if known {
            self.0.state().fault = Some(fault.clone());
        }
        known
    }

    async fn clear(&self) {
        self.0.state().fault = None;
    }
}

fn fault_response(fault: &Fault) -> ResponseTemplate {
    let with_retry_after =
        |response: ResponseTemplate, after: &Option<std::time::Duration>| match after {
            Some(d) => response.insert_header("Retry-After", d.as_secs().to_string().as_str()),
            None => response,
        };
    match fault {
        Fault::Throttled { retry_after } => with_retry_after(
            problem(
                429,
                "Too Many Requests",
                "The rate limit of the API client was exceeded",
            ),
            retry_after,
        ),
        Fault::ServerError { retry_after } => with_retry_after(
            problem(
                503,
                "Service Unavailable",
                "The service is temporarily unavailable",
            ),
            retry_after,
        ),
        Fault::Rejected { message } => problem(400, "Bad Request", message),
        _ => ok(200, json!({})).set_delay(SLOW),
    }
}

pub fn problem(status: u16, title: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        json!({
            "type": format!("https://problems.luna.akamaiapis.net/papi/v0/{}", title.to_lowercase().replace(' ', "-")),
            "title": title,
            "detail": detail,
            "status": status,
        })
        .to_string(),
        "application/problem+json",
    )
}

pub fn ok(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// A product's default rule tree: a placeholder origin PAPI refuses to
/// activate until it is filled in, and one child of its own.
pub fn product_default_rules() -> Value {
    json!({
        "name": "default",
        "children": [{
            "name": "Performance",
            "children": [],
            "behaviors": [{"name": "http2", "options": {"enabled": ""}}],
            "criteria": [],
            "criteriaMustSatisfy": "all",
        }],
        "behaviors": [
            {"name": "origin", "options": {"originType": "CUSTOMER", "hostname": ""}},
            {"name": "cpCode", "options": {"value": {"id": 1}}},
        ],
        "criteria": [],
        "options": {"is_secure": false},
        "variables": [],
        "comments": "The default rule.",
    })
}

fn respond(state: &Arc<Mutex<State>>, signer: &Signer, request: &Request) -> ResponseTemplate {
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let path = request.url.path().to_owned();
    let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
    let content_type = header("content-type");
    let body: Option<Value> = match content_type.as_deref() {
        Some("application/x-www-form-urlencoded") => Some(crate::fake_certs::form_fields(request)),
        _ => serde_json::from_slice(&request.body).ok(),
    };
    let authorization = header("authorization").unwrap_or_default();
    state.log.push(Recorded {
        method: request.method.to_string(),
        path: path.clone(),
        query: query.clone(),
        content_type: content_type.clone(),
        authorization: authorization.clone(),
        body: body.clone(),
        accept: header("accept"),
    });

    if let Some(fault) = &state.fault {
        return fault_response(fault);
    }
    let host = header("host").unwrap_or_default();
    let path_and_query = match request.url.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    let method = request.method.to_string();
    let parts = RequestParts {
        method: &method,
        scheme: request.url.scheme(),
        host: &host,
        path_and_query: &path_and_query,
        headers: &[],
        body: &request.body,
    };
    if !signer.verify(&parts, &authorization) {
        return problem(401, "Not Authorized", "The signature does not match");
    }

    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments.first() == Some(&"ccu") {
        return ccu(&mut state, &method, &segments, &path, body);
    }
    if matches!(
        segments.first(),
        Some(&"cps") | Some(&"config-secure-provisioning-service")
    ) {
        let call = crate::fake_certs::Call {
            method: &method,
            segments: &segments,
            query: &query,
            content_type: content_type.as_deref().unwrap_or_default(),
            accept: header("accept").unwrap_or_default(),
            body,
        };
        return crate::fake_certs::respond(&mut state, call);
    }
    let scoped = !matches!(
        segments.as_slice(),
        ["papi", "v1", "groups"] | ["papi", "v1", "search", "find-by-value"]
    );
    if scoped
        && (query.get("contractId").map(String::as_str) != Some(CONTRACT)
            || query.get("groupId").map(String::as_str) != Some(GROUP))
    {
        return problem(400, "Bad Request", "contractId and groupId are required");
    }
    let body = body.unwrap_or(Value::Null);
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["papi", "v1", "groups"]) => ok(
            200,
            json!({"accountId": "act_1", "groups": {"items": [{"groupId": GROUP, "groupName": "poppy", "contractIds": [CONTRACT]}]}}),
        ),
        ("POST", ["papi", "v1", "search", "find-by-value"]) => search(&state, &body),
        ("GET", ["papi", "v1", "properties"]) => {
            let items: Vec<Value> = state
                .properties
                .values()
                .map(|p| json!({"propertyId": p.id, "propertyName": p.name, "contractId": CONTRACT, "groupId": GROUP}))
                .collect();
            ok(200, json!({"properties": {"items": items}}))
        }
        ("POST", ["papi", "v1", "properties"]) => create_property(&mut state, &body),
        ("GET", ["papi", "v1", "properties", id]) => match state.properties.get(*id) {
            Some(p) => ok(200, json!({"properties": {"items": [property_json(p)]}})),
            None => problem(
                404,
                "Not Found",
                "The system was unable to locate the requested resource",
            ),
        },
        ("DELETE", ["papi", "v1", "properties", id]) => delete_property(&mut state, id),
        ("GET", ["papi", "v1", "properties", id, "versions", v]) => {
            let v: u32 = v.parse().unwrap_or(0);
            match state.properties.get_mut(*id).and_then(|p| p.version(v)) {
                Some(version) => ok(
                    200,
                    json!({"versions": {"items": [{
                        "propertyVersion": v,
                        "stagingStatus": version.staging_status,
                        "productionStatus": version.production_status,
                        "etag": format!("etag-{id}-{v}"),
                        "productId": PRODUCT,
                        "ruleFormat": "latest",
                    }]}}),
                ),
                None => problem(404, "Not Found", "No such version"),
            }
        }
        ("POST", ["papi", "v1", "properties", id, "versions"]) => {
            create_version(&mut state, id, &body)
        }
        ("GET", ["papi", "v1", "properties", id, "versions", v, "rules"]) => {
            let v: u32 = v.parse().unwrap_or(0);
            match state.properties.get_mut(*id).and_then(|p| p.version(v)) {
                Some(version) => ok(
                    200,
                    json!({
                        "accountId": "act_1", "contractId": CONTRACT, "groupId": GROUP,
                        "propertyId": id, "propertyVersion": v, "etag": "e", "ruleFormat": "latest",
                        "rules": version.rules,
                    }),
                ),
                None => problem(404, "Not Found", "No such version"),
            }
        }
        ("PUT", ["papi", "v1", "properties", id, "versions", v, "rules"]) => {
            let content_type = header("content-type").unwrap_or_default();
            put_rules(&mut state, id, v, &content_type, &body)
        }
        ("GET", ["papi", "v1", "properties", id, "versions", v, "hostnames"]) => {
            let v: u32 = v.parse().unwrap_or(0);
            match state.properties.get_mut(*id).and_then(|p| p.version(v)) {
                Some(version) => ok(
                    200,
                    json!({"propertyId": id, "propertyVersion": v, "etag": format!("etag-{id}-{v}"),
                        "hostnames": {"items": version.hostnames}}),
                ),
                None => problem(404, "Not Found", "No such version"),
            }
        }
        ("PUT", ["papi", "v1", "properties", id, "versions", v, "hostnames"]) => {
            put_hostnames(&mut state, id, v, &body)
        }
        ("GET", ["papi", "v1", "edgehostnames"]) => {
            let items: Vec<Value> = state
                .edge_hostnames
                .iter()
                .enumerate()
                .map(|(i, e)| json!({"edgeHostnameId": format!("ehn_{i}"), "edgeHostnameDomain": e, "productId": PRODUCT}))
                .collect();
            ok(200, json!({"edgeHostnames": {"items": items}}))
        }
        ("POST", ["papi", "v1", "edgehostnames"]) => {
            let prefix = body["domainPrefix"].as_str().unwrap_or_default();
            let suffix = body["domainSuffix"].as_str().unwrap_or_default();
            if prefix.is_empty() || suffix.is_empty() || body["productId"] != PRODUCT {
                return problem(
                    400,
                    "Bad Request",
                    "domainPrefix, domainSuffix and productId are required",
                );
            }
            let domain = format!("{prefix}.{suffix}");
            if state.edge_hostnames.contains(&domain) {
                return problem(400, "Bad Request", "The edge hostname already exists");
            }
            state.edge_hostnames.push(domain);
            let n = state.edge_hostnames.len();
            ok(
                201,
                json!({"edgeHostnameLink": format!("/papi/v1/edgehostnames/ehn_{n}?contractId={CONTRACT}&groupId={GROUP}")}),
            )
        }
        ("GET", ["papi", "v1", "properties", id, "activations"]) => {
            list_activations(&mut state, id)
        }
        ("POST", ["papi", "v1", "properties", id, "activations"]) => {
            activate(&mut state, id, &body)
        }
        _ => problem(404, "Not Found", &format!("no route for {method} {path}")),
    }
}

fn property_json(p: &FakeProperty) -> Value {
    json!({
        "accountId": "act_1",
        "contractId": CONTRACT,
        "groupId": GROUP,
        "propertyId": p.id,
        "propertyName": p.name,
        "latestVersion": p.versions.len(),
        "stagingVersion": p.staging_version,
        "productionVersion": p.production_version,
        "assetId": format!("aid_{}", p.id),
    })
}

fn search(state: &State, body: &Value) -> ResponseTemplate {
    let Some(name) = body["propertyName"].as_str() else {
        return problem(400, "Bad Request", "propertyName is required");
    };
    let items: Vec<Value> = if state.search_lags {
        Vec::new()
    } else {
        state
            .properties
            .values()
            .filter(|p| p.name == name)
            .map(|p| {
                json!({
                    "accountId": "act_1", "assetId": format!("aid_{}", p.id),
                    "contractId": CONTRACT, "groupId": GROUP,
                    "propertyId": p.id, "propertyName": p.name,
                    "propertyVersion": p.versions.len(),
                    "productionStatus": "INACTIVE", "stagingStatus": "INACTIVE",
                })
            })
            .collect()
    };
    ok(200, json!({"versions": {"items": items}}))
}

fn create_property(state: &mut State, body: &Value) -> ResponseTemplate {
    let Some(name) = body["propertyName"].as_str() else {
        return problem(400, "Bad Request", "propertyName is required");
    };
    if body["productId"] != PRODUCT {
        return problem(400, "Bad Request", "productId is required");
    }
    if state.properties.values().any(|p| p.name == name) {
        return problem(
            400,
            "Bad Request",
            &format!("A property named {name} already exists"),
        );
    }
    let rules = match body.get("cloneFrom") {
        Some(clone) => {
            let template = clone["propertyId"].as_str().unwrap_or_default();
            let version = clone["version"].as_u64().unwrap_or(0) as u32;
            match state
                .properties
                .get_mut(template)
                .and_then(|p| p.version(version))
            {
                Some(v) => v.rules.clone(),
                None => return problem(400, "Bad Request", "cloneFrom names no property version"),
            }
        }
        None => product_default_rules(),
    };
    state.next_id += 1;
    let id = format!("prp_{}", state.next_id);
    state.properties.insert(
        id.clone(),
        FakeProperty {
            id: id.clone(),
            name: name.to_owned(),
            versions: vec![FakeVersion {
                rules,
                hostnames: json!([]),
                staging_status: "INACTIVE".to_owned(),
                production_status: "INACTIVE".to_owned(),
            }],
            staging_version: None,
            production_version: None,
        },
    );
    ok(
        201,
        json!({"propertyLink": format!("/papi/v1/properties/{id}?contractId={CONTRACT}&groupId={GROUP}")}),
    )
}

fn delete_property(state: &mut State, id: &str) -> ResponseTemplate {
    let Some(p) = state.properties.get(id) else {
        return problem(
            404,
            "Not Found",
            "The system was unable to locate the requested resource",
        );
    };
    let pending = state
        .activations
        .iter()
        .any(|a| a.property_id == id && a.status == "PENDING");
    if p.staging_version.is_some() || p.production_version.is_some() || pending {
        return problem(
            400,
            "Bad Request",
            "The property is active; deactivate it before deleting it",
        );
    }
    state.properties.remove(id);
    ok(200, json!({"message": "Deletion Successful."}))
}

fn create_version(state: &mut State, id: &str, body: &Value) -> ResponseTemplate {
    let from = body["createFromVersion"].as_u64().unwrap_or(0) as u32;
    let Some(p) = state.properties.get_mut(id) else {
        return problem(404, "Not Found", "No such property");
    };
    if let Some(etag) = body.get("createFromVersionEtag").and_then(Value::as_str) {
        if etag != format!("etag-{id}-{from}") {
            return problem(409, "Conflict", "The etag does not match the version");
        }
    }
    let Some(source) = p.version(from).cloned() else {
        return problem(400, "Bad Request", "createFromVersion names no version");
    };
    p.versions.push(FakeVersion {
        staging_status: "INACTIVE".to_owned(),
        production_status: "INACTIVE".to_owned(),
        ..source
    });
    let v = p.versions.len();
    ok(
        201,
        json!({"versionLink": format!("/papi/v1/properties/{id}/versions/{v}?contractId={CONTRACT}&groupId={GROUP}")}),
    )
}

fn editable(state: &mut State, id: &str, v: &str) -> Result<u32, Box<ResponseTemplate>> {
    let v: u32 = v.parse().unwrap_or(0);
    let version = state
        .properties
        .get_mut(id)
        .and_then(|p| p.version(v))
        .ok_or_else(|| Box::new(problem(404, "Not Found", "No such version")))?;
    if version.staging_status != "INACTIVE" || version.production_status != "INACTIVE" {
        return Err(Box::new(problem(
            403,
            "Forbidden",
            "This version has been activated and cannot be modified",
        )));
    }
    Ok(v)
}

fn put_rules(
    state: &mut State,
    id: &str,
    v: &str,
    content_type: &str,
    body: &Value,
) -> ResponseTemplate {
    let v = match editable(state, id, v) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    if !content_type.starts_with("application/vnd.akamai.papirules.") {
        return problem(
            415,
            "Unsupported Media Type",
            "rule trees are application/vnd.akamai.papirules.*+json",
        );
    }
    let Some(rules) = body.get("rules").filter(|r| r.is_object()) else {
        return problem(400, "Bad Request", "the body must be {\"rules\": …}");
    };
    // What PAPI's validation would say of a default rule without a usable origin.
    let origin_ok = rules["behaviors"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["name"] == "origin"))
        .and_then(|o| o["options"]["hostname"].as_str())
        .is_some_and(|h| !h.is_empty());
    let errors = if origin_ok {
        json!([])
    } else {
        json!([{"type": "https://problems.luna.akamaiapis.net/papi/v0/validation/attribute_required",
                "errorLocation": "#/rules/behaviors/0/options/hostname",
                "detail": "The Origin Server Hostname is required"}])
    };
    if let Some(version) = state.properties.get_mut(id).and_then(|p| p.version(v)) {
        version.rules = rules.clone();
    }
    ok(
        200,
        json!({
            "accountId": "act_1", "contractId": CONTRACT, "groupId": GROUP,
            "propertyId": id, "propertyVersion": v, "etag": "e2", "ruleFormat": "latest",
            "rules": rules, "errors": errors,
        }),
    )
}

fn put_hostnames(state: &mut State, id: &str, v: &str, body: &Value) -> ResponseTemplate {
    let v = match editable(state, id, v) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let Some(items) = body.as_array() else {
        return problem(400, "Bad Request", "the body must be an array of hostnames");
    };
    for item in items {
        let to = item["cnameTo"].as_str().unwrap_or_default();
        if item["cnameType"] != "EDGE_HOSTNAME" || item["cnameFrom"].as_str().is_none() {
            return problem(
                400,
                "Bad Request",
                "each hostname needs cnameType EDGE_HOSTNAME and cnameFrom",
            );
        }
        if !state.edge_hostnames.iter().any(|e| e == to) {
            return problem(
                400,
                "Bad Request",
                &format!("The edge hostname {to} does not exist"),
            );
        }
    }
    if let Some(version) = state.properties.get_mut(id).and_then(|p| p.version(v)) {
        version.hostnames = body.clone();
    }
    ok(
        200,
        json!({"propertyId": id, "propertyVersion": v, "hostnames": {"items": items}}),
    )
}

/// Each read moves pending activations of the property one step on; the
/// last step completes them.
fn list_activations(state: &mut State, id: &str) -> ResponseTemplate {
    if !state.properties.contains_key(id) {
        return problem(404, "Not Found", "No such property");
    }
    let mut completed = Vec::new();
    for a in state
        .activations
        .iter_mut()
        .filter(|a| a.property_id == id && a.status == "PENDING")
    {
        a.polls_left = a.polls_left.saturating_sub(1);
        if a.polls_left == 0 {
            a.status = "ACTIVE".to_owned();
            completed.push(a.clone());
        }
    }
    for a in completed {
        complete(state, &a);
    }
    let mut items: Vec<&FakeActivation> = state
        .activations
        .iter()
        .filter(|a| a.property_id == id)
        .collect();
    items.sort_by_key(|a| std::cmp::Reverse(a.submitted));
    let items: Vec<Value> = items
        .into_iter()
        .map(|a| json!({
            "activationId": a.id, "propertyId": a.property_id, "propertyName": "n",
            "propertyVersion": a.version, "network": a.network, "activationType": a.kind,
            "status": a.status, "submitDate": format!("2024-01-01T00:{:02}:{:02}Z", a.submitted / 60, a.submitted % 60),
            "updateDate": "2024-01-01T01:00:00Z", "note": "", "notifyEmails": [EMAIL],
        }))
        .collect();
    ok(
        200,
        json!({"accountId": "act_1", "activations": {"items": items}}),
    )
}

fn complete(state: &mut State, a: &FakeActivation) {
    let Some(p) = state.properties.get_mut(&a.property_id) else {
        return;
    };
    let staging = a.network == "STAGING";
    let previous = if staging {
        p.staging_version
    } else {
        p.production_version
    };
    let set_status = |v: &mut FakeVersion, s: &str| {
        if staging {
            v.staging_status = s.to_owned();
        } else {
            v.production_status = s.to_owned();
        }
    };
    if a.kind == "ACTIVATE" {
        if let Some(prev) = previous.filter(|prev| *prev != a.version) {
            if let Some(v) = p.version(prev) {
                set_status(v, "DEACTIVATED");
            }
        }
        if let Some(v) = p.version(a.version) {
            set_status(v, "ACTIVE");
        }
        if staging {
            p.staging_version = Some(a.version);
        } else {
            p.production_version = Some(a.version);
        }
    } else {
        if let Some(v) = p.version(a.version) {
            set_status(v, "DEACTIVATED");
        }
        if staging {
            p.staging_version = None;
        } else {
            p.production_version = None;
        }
    }
}

fn activate(state: &mut State, id: &str, body: &Value) -> ResponseTemplate {
    let version = body["propertyVersion"].as_u64().unwrap_or(0) as u32;
    let network = body["network"].as_str().unwrap_or_default().to_owned();
    let kind = body["activationType"]
        .as_str()
        .unwrap_or("ACTIVATE")
        .to_owned();
    if !matches!(network.as_str(), "STAGING" | "PRODUCTION") {
        return problem(400, "Bad Request", "network must be STAGING or PRODUCTION");
    }
    if body["notifyEmails"].as_array().is_none_or(Vec::is_empty) {
        return problem(400, "Bad Request", "notifyEmails is required");
    }
    if state
        .activations
        .iter()
        .any(|a| a.property_id == id && a.network == network && a.status == "PENDING")
    {
        return problem(
            422,
            "Unprocessable Entity",
            "An activation is already pending on this network",
        );
    }
    let Some(p) = state.properties.get_mut(id) else {
        return problem(404, "Not Found", "No such property");
    };
    let active = if network == "STAGING" {
        p.staging_version
    } else {
        p.production_version
    };
    let Some(v) = p.version(version) else {
        return problem(400, "Bad Request", "propertyVersion names no version");
    };
    if kind == "ACTIVATE" && active == Some(version) {
        return problem(
            422,
            "Unprocessable Entity",
            "This version is already active on the network",
        );
    }
    if kind == "DEACTIVATE" && active != Some(version) {
        return problem(
            422,
            "Unprocessable Entity",
            "This version is not active on the network",
        );
    }
    if kind == "ACTIVATE" {
        if network == "STAGING" {
            v.staging_status = "PENDING".to_owned();
        } else {
            v.production_status = "PENDING".to_owned();
        }
    }
    state.next_id += 1;
    state.clock += 1;
    let activation = FakeActivation {
        id: format!("atv_{}", state.next_id),
        property_id: id.to_owned(),
        version,
        network,
        kind,
        status: "PENDING".to_owned(),
        polls_left: state.activation_polls,
        submitted: state.clock,
    };
    let link = format!(
        "/papi/v1/properties/{id}/activations/{}?contractId={CONTRACT}&groupId={GROUP}",
        activation.id
    );
    if activation.polls_left == 0 {
        let mut done = activation.clone();
        done.status = "ACTIVE".to_owned();
        state.activations.push(done.clone());
        complete(state, &done);
    } else {
        state.activations.push(activation);
    }
    ok(201, json!({"activationLink": link}))
}

fn ccu(
    state: &mut State,
    method: &str,
    segments: &[&str],
    path: &str,
    body: Option<Value>,
) -> ResponseTemplate {
    let valid_route = method == "POST"
        && matches!(
            segments,
            [
                "ccu",
                "v3",
                "invalidate" | "delete",
                "url" | "cpcode",
                "staging" | "production"
            ]
        );
    if !valid_route {
        return problem(404, "Not Found", &format!("no route for {method} {path}"));
    }
    let Some(body) = body.filter(|b| b["objects"].as_array().is_some_and(|o| !o.is_empty())) else {
        return problem(400, "Bad Request", "objects must be a non-empty array");
    };
    state.purges.push((path.to_owned(), body));
    ok(
        201,
        json!({
            "httpStatus": 201, "detail": "Request accepted", "estimatedSeconds": 5,
            "purgeId": format!("purge-{}", state.purges.len()), "supportId": "17PY1321286429616716-211907680",
        }),
    )
}
