//! A Keystone (v2 and v3) and Swift stand-in on wiremock.
//!
//! Keystone accepts the tokens it was told about and answers a catalog
//! whose object store has one endpoint per configured region, public at
//! `{server}/public/{region}/v1/AUTH_<project>` and internal at
//! `{server}/internal/{region}/v1/AUTH_<project>`; the token it issues is
//! `scoped-<project>`. Swift takes `PUT …/AUTH_<project>/<container>` with
//! that token: 201 the first time, 202 after.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use poppy_adapters::log_delivery::swift::{IdentityVersion, SwiftConfig};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A forced answer: status and `Retry-After` seconds.
pub type Forced = Option<(u16, Option<u64>)>;

#[derive(Default)]
struct State {
    uri: String,
    regions: Vec<String>,
    tokens: BTreeSet<String>,
    containers: BTreeSet<String>,
    keystone: Forced,
    swift: Forced,
    garbage: bool,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn forced(status: u16, retry_after: Option<u64>) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(status).set_body_json(json!({"error": "forced"}));
    if let Some(secs) = retry_after {
        t = t.insert_header("Retry-After", secs.to_string().as_str());
    }
    t
}

fn base(state: &State, interface: &str, region: &str, project: &str) -> String {
    format!("{}/{interface}/{region}/v1/AUTH_{project}", state.uri)
}

struct Keystone {
    state: Shared,
    version: IdentityVersion,
}

impl Respond for Keystone {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = lock(&self.state);
        if let Some((status, retry_after)) = state.keystone {
            return forced(status, retry_after);
        }
        if state.garbage {
            return ResponseTemplate::new(200).set_body_string("<html>not keystone</html>");
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400);
        };
        let (token, project) = match self.version {
            IdentityVersion::V2 => (
                body.pointer("/auth/token/id"),
                body.pointer("/auth/tenantName"),
            ),
            IdentityVersion::V3 => (
                body.pointer("/auth/identity/token/id"),
                body.pointer("/auth/scope/project/id"),
            ),
        };
        let (Some(token), Some(project)) = (
            token.and_then(Value::as_str),
            project.and_then(Value::as_str),
        ) else {
            return ResponseTemplate::new(400);
        };
        if !state.tokens.contains(token) {
            return ResponseTemplate::new(401)
                .set_body_json(json!({"unauthorized": {"code": 401}}));
        }
        let scoped = format!("scoped-{project}");
        match self.version {
            IdentityVersion::V2 => {
                let endpoints: Vec<Value> = state
                    .regions
                    .iter()
                    .map(|r| {
                        json!({"region": r, "tenantId": project,
                           "publicURL": base(&state, "public", r, project),
                           "internalURL": base(&state, "internal", r, project)})
                    })
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({"access": {
                "token": {"id": scoped, "tenant": {"id": project, "name": project}},
                "serviceCatalog": [
                    {"type": "compute", "name": "nova", "endpoints": [
                        {"region": "DC1", "publicURL": format!("{}/compute", state.uri)}]},
                    {"type": "object-store", "name": "swift", "endpoints": endpoints}
                ]}}))
            }
            IdentityVersion::V3 => {
                let endpoints: Vec<Value> = state
                    .regions
                    .iter()
                    .flat_map(|r| {
                        [
                            json!({"interface": "admin", "region": r, "region_id": r,
                               "url": format!("{}/admin", state.uri)}),
                            json!({"interface": "public", "region": r, "region_id": r,
                               "url": base(&state, "public", r, project)}),
                            json!({"interface": "internal", "region": r, "region_id": r,
                               "url": base(&state, "internal", r, project)}),
                        ]
                    })
                    .collect();
                ResponseTemplate::new(201)
                    .insert_header("X-Subject-Token", scoped.as_str())
                    .set_body_json(json!({"token": {
                        "project": {"id": project},
                        "catalog": [{"type": "object-store", "name": "swift", "endpoints": endpoints}]
                    }}))
            }
        }
    }
}

struct Swift {
    state: Shared,
}

impl Respond for Swift {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        if let Some((status, retry_after)) = state.swift {
            return forced(status, retry_after);
        }
        let path = request.url.path().to_owned();
        let project = path
            .split('/')
            .find_map(|s| s.strip_prefix("AUTH_"))
            .unwrap_or_default();
        let token = request
            .headers
            .get("X-Auth-Token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if token != format!("scoped-{project}") {
            return ResponseTemplate::new(401);
        }
        if state.containers.insert(path) {
            ResponseTemplate::new(201)
        } else {
            ResponseTemplate::new(202)
        }
    }
}

/// The running stand-in.
pub struct Fake {
    pub server: MockServer,
    state: Shared,
}

impl Fake {
    /// Keystone with object-store endpoints in `regions` (catalog order).
    pub async fn start(regions: &[&str]) -> Self {
        let server = MockServer::start().await;
        let state: Shared = Arc::new(Mutex::new(State {
            uri: server.uri(),
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
            ..State::default()
        }));
        Mock::given(method("POST"))
            .and(path("/v2.0/tokens"))
            .respond_with(Keystone {
                state: state.clone(),
                version: IdentityVersion::V2,
            })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v3/auth/tokens"))
            .respond_with(Keystone {
                state: state.clone(),
                version: IdentityVersion::V3,
            })
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path_regex(
                r"^/(public|internal)/[^/]+/v1/AUTH_[^/]+/[^/]+$",
            ))
            .respond_with(Swift {
                state: state.clone(),
            })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// A driver configuration pointing at this fake.
    pub fn config(&self, version: IdentityVersion) -> SwiftConfig {
        let identity_url = match version {
            IdentityVersion::V2 => format!("{}/v2.0", self.server.uri()),
            IdentityVersion::V3 => format!("{}/v3", self.server.uri()),
        };
        SwiftConfig {
            identity_url,
            identity_version: version,
            ..SwiftConfig::default()
        }
    }

    /// Keystone accepts `token`.
    pub fn accept(&self, token: &str) {
        lock(&self.state).tokens.insert(token.to_owned());
    }

    pub fn force_keystone(&self, answer: Forced) {
        lock(&self.state).keystone = answer;
    }

    pub fn force_swift(&self, answer: Forced) {
        lock(&self.state).swift = answer;
    }

    /// Keystone answers 200 with a body that is not JSON.
    pub fn garbage(&self) {
        lock(&self.state).garbage = true;
    }

    /// Paths of the containers made.
    pub fn containers(&self) -> Vec<String> {
        lock(&self.state).containers.iter().cloned().collect()
    }

    /// `(path, X-Auth-Token)` of every PUT received.
    pub async fn puts(&self) -> Vec<(String, String)> {
        self.requests("PUT")
            .await
            .into_iter()
            .map(|r| {
                let token = r
                    .headers
                    .get("X-Auth-Token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                (r.url.path().to_owned(), token)
            })
            .collect()
    }

    /// JSON bodies of the Keystone requests.
    pub async fn keystone_bodies(&self) -> Vec<Value> {
        self.requests("POST")
            .await
            .into_iter()
            .filter_map(|r| serde_json::from_slice(&r.body).ok())
            .collect()
    }

    async fn requests(&self, verb: &str) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == verb)
            .collect()
    }
}
