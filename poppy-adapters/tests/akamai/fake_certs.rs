//! The certificate APIs of the contract server (`fake.rs`): the Secure
//! Provisioning Service (SPS v1 `sps-requests`, form-encoded `modSan`
//! requests answered `202` with `spsId` and `Results.data[].results.jobID`,
//! read back as `requestList`) and the Certificate Provisioning System
//! (CPS v2 enrollments and their changes, versioned by media type).
//!
//! An SPS request stays running for `sps_polls` reads of it, then completes
//! and changes its certificate's SANs. A `PUT` of an enrollment changes its
//! CSR SANs (and SNI names) at once and opens a change, which stays pending
//! for `cps_polls` reads of the enrollment or of the change; then the
//! certificate with those SANs is deployed. Cancelling the change reverts
//! the enrollment to what is deployed. SPS takes one running request
//! per certificate, CPS one pending change per enrollment: more are refused.

use std::collections::BTreeMap;

use poppy_adapters::provider::akamai::certificates::{
    CPS_CHANGE, CPS_CHANGE_ID, CPS_ENROLLMENT, CPS_ENROLLMENT_STATUS,
};
use serde_json::{json, Map, Value};
use wiremock::{Request, ResponseTemplate};

use crate::fake::{ok, problem, State, CONTRACT, GROUP};

pub const SPS_RUNNING: &str = "CPS Running";
pub const SPS_COMPLETE: &str = "SPS Request Complete";

/// One SPS request.
#[derive(Debug, Clone)]
pub struct FakeSps {
    pub id: u64,
    pub job_id: u64,
    pub cert: String,
    /// The form fields it was posted with.
    pub fields: Map<String, Value>,
    pub status: String,
    pub workflow_progress: Option<String>,
    pub polls_left: u32,
}

/// One CPS enrollment and its pending change.
#[derive(Debug, Clone)]
pub struct FakeEnrollment {
    pub id: u64,
    pub cn: String,
    /// The enrollment's CSR SANs (and SNI names).
    pub sans: Vec<String>,
    /// The SANs of the deployed certificate.
    pub deployed: Vec<String>,
    pub pending: Option<FakeChange>,
    /// Changes made so far (for ids).
    pub changes: u64,
}

#[derive(Debug, Clone)]
pub struct FakeChange {
    pub location: String,
    /// The SANs the enrollment has once the change completes.
    pub sans: Vec<String>,
    pub polls_left: u32,
}

impl FakeEnrollment {
    pub fn new(id: u64, cn: &str, sans: &[&str]) -> Self {
        Self {
            id,
            cn: cn.to_owned(),
            sans: sans.iter().map(|s| (*s).to_owned()).collect(),
            deployed: sans.iter().map(|s| (*s).to_owned()).collect(),
            pending: None,
            changes: 0,
        }
    }

    fn json(&self) -> Value {
        let pending: Vec<Value> = self
            .pending
            .iter()
            .map(|c| json!({"location": c.location, "changeType": "new-certificate"}))
            .collect();
        json!({
            "location": format!("/cps/v2/enrollments/{}", self.id),
            "ra": "lets-encrypt",
            "validationType": "dv",
            "certificateType": "san",
            "changeManagement": false,
            "csr": {"cn": self.cn, "c": "US", "st": "MA", "l": "Cambridge", "o": "Akamai",
                    "ou": "WebEx", "sans": self.sans},
            "networkConfiguration": {
                "geography": "core", "secureNetwork": "enhanced-tls",
                "sni": {"cloneDnsNames": true, "dnsNames": self.sans},
            },
            "pendingChanges": pending,
        })
    }

    /// Moves the pending change one step on.
    fn tick(&mut self) {
        if let Some(change) = &mut self.pending {
            change.polls_left = change.polls_left.saturating_sub(1);
            if change.polls_left == 0 {
                self.deployed = change.sans.clone();
                self.pending = None;
            }
        }
    }
}

/// A request to the certificate APIs.
pub struct Call<'a> {
    pub method: &'a str,
    pub segments: &'a [&'a str],
    pub query: &'a BTreeMap<String, String>,
    pub content_type: &'a str,
    pub accept: String,
    pub body: Option<Value>,
}

/// A form body's fields as a JSON object.
pub fn form_fields(request: &Request) -> Value {
    let text = String::from_utf8_lossy(&request.body).into_owned();
    let mut url = request.url.clone();
    url.set_query(Some(&text));
    let fields: Map<String, Value> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    Value::Object(fields)
}

pub fn respond(state: &mut State, call: Call<'_>) -> ResponseTemplate {
    match call.segments {
        ["config-secure-provisioning-service", "v1", "sps-requests", rest @ ..] => {
            if call.query.get("contractId").map(String::as_str) != Some(CONTRACT)
                || call.query.get("groupId").map(String::as_str) != Some(GROUP)
            {
                return problem(400, "Bad Request", "contractId and groupId are required");
            }
            match (call.method, rest) {
                ("POST", [] | [""]) => sps_post(state, &call),
                ("GET", [id]) => sps_get(state, id),
                _ => problem(404, "Not Found", "no such SPS route"),
            }
        }
        ["cps", "v2", "enrollments", id, rest @ ..] => {
            let Ok(id) = id.parse::<u64>() else {
                return problem(404, "Not Found", "no such enrollment");
            };
            match (call.method, rest) {
                ("GET", []) => {
                    if call.accept != CPS_ENROLLMENT {
                        return problem(406, "Not Acceptable", "Accept an enrollment media type");
                    }
                    match state.enrollments.get_mut(&id) {
                        Some(e) => {
                            e.tick();
                            ok(200, e.json())
                        }
                        None => problem(404, "Not Found", "Enrollment not found"),
                    }
                }
                ("PUT", []) => cps_put(state, id, &call),
                ("GET", ["changes", change]) => {
                    if call.accept != CPS_CHANGE {
                        return problem(406, "Not Acceptable", "Accept a change media type");
                    }
                    let location = format!("/cps/v2/enrollments/{id}/changes/{change}");
                    let Some(e) = state.enrollments.get_mut(&id) else {
                        return problem(404, "Not Found", "Enrollment not found");
                    };
                    let pending = e.pending.as_ref().is_some_and(|c| c.location == location);
                    if !pending {
                        return problem(404, "Not Found", "Change not found");
                    }
                    e.tick();
                    let state_name = if e.pending.is_some() {
                        "awaiting-input"
                    } else {
                        "completed"
                    };
                    ok(
                        200,
                        json!({"statusInfo": {"status": "coodinate-domain-validation",
                            "state": state_name, "description": "Waiting for domain validation"},
                            "allowedInput": []}),
                    )
                }
                ("DELETE", ["changes", change]) => {
                    if call.accept != CPS_CHANGE_ID {
                        return problem(406, "Not Acceptable", "Accept a change-id media type");
                    }
                    let location = format!("/cps/v2/enrollments/{id}/changes/{change}");
                    let Some(e) = state.enrollments.get_mut(&id) else {
                        return problem(404, "Not Found", "Enrollment not found");
                    };
                    if e.pending.as_ref().is_some_and(|c| c.location == location) {
                        e.pending = None;
                        e.sans = e.deployed.clone();
                        ok(200, json!({"change": location}))
                    } else {
                        problem(404, "Not Found", "Change not found")
                    }
                }
                _ => problem(404, "Not Found", "no such CPS route"),
            }
        }
        _ => problem(404, "Not Found", "no such route"),
    }
}

fn sps_json(r: &FakeSps) -> Value {
    let parameters: Vec<Value> = r
        .fields
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({
        "resourceUrl": format!("/config-secure-provisioning-service/v1/sps-requests/{}", r.id),
        "parameters": parameters,
        "lastStatusChange": "2024-01-01T00:00:00Z",
        "spsId": r.id,
        "status": r.status,
        "workflowProgress": r.workflow_progress,
        "jobId": r.job_id,
    })
}

fn sps_get(state: &mut State, id: &str) -> ResponseTemplate {
    let Ok(id) = id.parse::<u64>() else {
        return problem(404, "Not Found", "no such SPS request");
    };
    let Some(r) = state.sps.get_mut(&id) else {
        return problem(404, "Not Found", "no such SPS request");
    };
    if r.status == SPS_RUNNING {
        r.polls_left = r.polls_left.saturating_sub(1);
        if r.polls_left == 0 {
            r.status = SPS_COMPLETE.to_owned();
            let done = r.clone();
            apply(state, &done);
        }
    }
    let r = &state.sps[&id];
    ok(200, json!({"requestList": [sps_json(r)]}))
}

fn apply(state: &mut State, r: &FakeSps) {
    let sans = state.san_certs.entry(r.cert.clone()).or_default();
    if let Some(add) = r.fields.get("add.sans").and_then(Value::as_str) {
        if !sans.iter().any(|s| s == add) {
            sans.push(add.to_owned());
        }
    }
    if let Some(remove) = r.fields.get("remove.sans").and_then(Value::as_str) {
        sans.retain(|s| s != remove);
    }
}

fn sps_post(state: &mut State, call: &Call<'_>) -> ResponseTemplate {
    if call.content_type != "application/x-www-form-urlencoded" {
        return problem(
            415,
            "Unsupported Media Type",
            "SPS requests are form-encoded",
        );
    }
    let Some(Value::Object(fields)) = call.body.clone() else {
        return problem(400, "Bad Request", "no form fields");
    };
    let field = |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or_default();
    let cert = field("cnameHostname").to_owned();
    if !state.san_certs.contains_key(&cert) {
        return problem(400, "Bad Request", &format!("unknown cnameHostname {cert}"));
    }
    if field("createType") != "modSan" || field("issuer").is_empty() {
        return problem(
            400,
            "Bad Request",
            "createType=modSan and issuer are required",
        );
    }
    if field("add.sans").is_empty() && field("remove.sans").is_empty() {
        return problem(400, "Bad Request", "add.sans or remove.sans is required");
    }
    if state
        .sps
        .values()
        .any(|r| r.cert == cert && r.status == SPS_RUNNING)
    {
        return problem(
            400,
            "Bad Request",
            &format!("{cert} has a request in progress"),
        );
    }
    let id = 1000 + state.sps.len() as u64;
    let job_id = 44000 + state.sps.len() as u64;
    let request = FakeSps {
        id,
        job_id,
        cert,
        fields,
        status: SPS_RUNNING.to_owned(),
        workflow_progress: None,
        polls_left: state.sps_polls,
    };
    if request.polls_left == 0 {
        let mut done = request.clone();
        done.status = SPS_COMPLETE.to_owned();
        apply(state, &done);
        state.sps.insert(id, done);
    } else {
        state.sps.insert(id, request);
    }
    ok(
        202,
        json!({
            "spsId": id,
            "resourceLocation": format!("/config-secure-provisioning-service/v1/sps-requests/{id}"),
            "Results": {"size": 1, "data": [{"text": null, "results": {"type": "SUCCESS", "jobID": job_id}}]},
        }),
    )
}

fn cps_put(state: &mut State, id: u64, call: &Call<'_>) -> ResponseTemplate {
    if call.content_type != CPS_ENROLLMENT {
        return problem(
            415,
            "Unsupported Media Type",
            "PUT an enrollment media type",
        );
    }
    if call.accept != CPS_ENROLLMENT_STATUS {
        return problem(
            406,
            "Not Acceptable",
            "Accept an enrollment-status media type",
        );
    }
    let polls = state.cps_polls;
    let Some(e) = state.enrollments.get_mut(&id) else {
        return problem(404, "Not Found", "Enrollment not found");
    };
    if e.pending.is_some() {
        return problem(409, "Conflict", "The enrollment has a pending change");
    }
    let Some(sans) = call
        .body
        .as_ref()
        .and_then(|b| b.pointer("/csr/sans"))
        .and_then(Value::as_array)
    else {
        return problem(400, "Bad Request", "csr.sans is required");
    };
    let sans: Vec<String> = sans
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let location = format!("/cps/v2/enrollments/{id}");
    if sans == e.sans {
        return ok(200, json!({"enrollment": location, "changes": []}));
    }
    e.changes += 1;
    let change = format!("{location}/changes/{}", 10_000 + e.changes);
    e.sans = sans.clone();
    e.pending = Some(FakeChange {
        location: change.clone(),
        sans,
        polls_left: polls.max(1),
    });
    ok(202, json!({"enrollment": location, "changes": [change]}))
}
