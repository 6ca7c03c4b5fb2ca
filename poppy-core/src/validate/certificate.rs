//! Bodies of the certificate and operator endpoints (§2.8, §2.9.4,
//! §2.9.8, §2.9.9), validated from raw JSON with every field error at once.
//! Keys the reference does not define are errors at every level.
//!
//! Certificate domains are checked syntactically only: a valid, non-root
//! domain name. The original also asked WHOIS and DNS (SOA) whether the
//! top-level domain exists, inside the request (§9.2 #13); that is gone.

use serde_json::{Map, Value};

use super::domain::{is_root_domain, is_valid_domain};
use super::fields::{self, Errors};
use crate::error::{Error, FieldError};
use crate::model::{CertConfigKind, CertDetails, CertStatus, CertType, HostnameAction, ProjectId};
use crate::model::{RetryItem, SanMappingItem};

/// Cert types a tenant may request.
pub const REQUESTABLE_CERT_TYPES: &[&str] = &["san", "sni", "custom"];

/// A validated `POST /ssl_certificate` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    pub flavor_id: String,
    pub cert_type: CertType,
    /// Lower-case, valid and not a root domain.
    pub domain_name: String,
    /// The project the body names, if it names one.
    pub project_id: Option<String>,
}

fn finish<T>(e: Errors, value: Option<T>) -> Result<T, Vec<FieldError>> {
    match value {
        Some(value) if e.is_empty() => Ok(value),
        _ => {
            let errors = e.into_vec();
            if errors.is_empty() {
                Err(vec![FieldError::new("", "invalid request")])
            } else {
                Err(errors)
            }
        }
    }
}

/// `POST /ssl_certificate`: `flavor_id` (1..256), `cert_type` (`san`,
/// `sni`, `custom`), `domain_name` (3..253, a valid non-root domain) and
/// optionally `project_id`.
pub fn create_body(body: &Value) -> Result<CertificateRequest, Vec<FieldError>> {
    let mut e = Errors::default();
    let Some(map) = fields::object(
        &mut e,
        body,
        "",
        &["flavor_id", "cert_type", "domain_name", "project_id"],
    ) else {
        return Err(e.into_vec());
    };
    let flavor_id = fields::required(&mut e, map, "flavor_id", "")
        .and_then(|v| fields::string(&mut e, v, "/flavor_id", 1, Some(256)));
    let cert_type = fields::required(&mut e, map, "cert_type", "")
        .and_then(|v| fields::one_of(&mut e, v, "/cert_type", REQUESTABLE_CERT_TYPES))
        .and_then(|s| s.parse::<CertType>().ok());
    let domain = fields::required(&mut e, map, "domain_name", "")
        .and_then(|v| fields::string(&mut e, v, "/domain_name", 3, Some(253)))
        .map(str::to_ascii_lowercase);
    let domain = domain.filter(|d| {
        let ok = is_valid_domain(d) && !is_root_domain(d);
        if !ok {
            e.push(
                "/domain_name",
                format!("{d} must be a valid non-root domain"),
            );
        }
        ok
    });
    let project_id = match map.get("project_id") {
        None => Some(None),
        Some(v) => {
            fields::string(&mut e, v, "/project_id", 1, Some(256)).map(|s| Some(s.to_owned()))
        }
    };
    let value = match (flavor_id, cert_type, domain, project_id) {
        (Some(flavor_id), Some(cert_type), Some(domain_name), Some(project_id)) => {
            Some(CertificateRequest {
                flavor_id: flavor_id.to_owned(),
                cert_type,
                domain_name,
                project_id,
            })
        }
        _ => None,
    };
    finish(e, value)
}

/// The `cert_type` query of `DELETE /ssl_certificate/{domain}` (default `san`).
pub fn cert_type_param(raw: Option<&str>) -> Result<CertType, Error> {
    let raw = raw.unwrap_or("san");
    raw.parse().map_err(|_| {
        Error::BadRequest(format!(
            "Delete ssl certificate failed. Reason: cert_type {raw} is not one of {}",
            CertType::ALL
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// `?status=` of `GET /admin/certificates`.
pub fn cert_status_param(raw: Option<&str>) -> Result<CertStatus, Error> {
    let raw = raw.unwrap_or_default();
    raw.parse().map_err(|_| {
        let valid: Vec<&str> = CertStatus::ALL.iter().map(|s| s.as_str()).collect();
        Error::BadRequest(format!(
            "Unknown status type {raw} present, Valid status types are: {valid:?}"
        ))
    })
}

/// `PATCH /admin/certificates/{domain}`: exactly
/// `[{"op": "replace", "path": "status", "value": <cert status>}]`.
pub fn status_patch(body: &Value) -> Result<CertStatus, Vec<FieldError>> {
    let mut e = Errors::default();
    let Some(items) = fields::array(&mut e, body, "", 1, Some(1)) else {
        return Err(e.into_vec());
    };
    let mut status = None;
    if let [op] = items {
        if let Some(map) = fields::object(&mut e, op, "/0", &["op", "path", "value"]) {
            fields::required(&mut e, map, "op", "/0")
                .and_then(|v| fields::one_of(&mut e, v, "/0/op", &["replace"]));
            fields::required(&mut e, map, "path", "/0")
                .and_then(|v| fields::one_of(&mut e, v, "/0/path", &["status"]));
            let choices: Vec<&str> = CertStatus::ALL.iter().map(|s| s.as_str()).collect();
            status = fields::required(&mut e, map, "value", "/0")
                .and_then(|v| fields::one_of(&mut e, v, "/0/value", &choices))
                .and_then(|s| s.parse::<CertStatus>().ok());
        }
    }
    finish(e, status)
}

/// A valid project id of an operator body (`^[a-zA-Z0-9_\-\.]{1,256}$`).
fn project_id(e: &mut Errors, map: &Map<String, Value>, path: &str) -> Option<ProjectId> {
    let p = fields::required(e, map, "project_id", path)
        .and_then(|v| fields::string(e, v, &fields::join(path, "project_id"), 1, Some(256)))?;
    if super::project_id_param(p).is_err() {
        e.push(
            &fields::join(path, "project_id"),
            "must be 1..256 characters of letters, digits, '_', '-', '.'",
        );
        return None;
    }
    Some(ProjectId::new(p))
}

/// Items of an array must be distinct (the schemas' `uniqueItems`).
fn unique(e: &mut Errors, items: &[Value]) {
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            e.push(&fields::index("", i), "duplicates an earlier item");
        }
    }
}

/// `PUT …/ssl_certificate/retry_list`: an array of distinct
/// `{flavor_id, domain_name, project_id, cert_type?, validate_service?}`.
/// `cert_type` defaults to `san` (the original's queue items had none).
pub fn retry_list(body: &Value) -> Result<Vec<RetryItem>, Vec<FieldError>> {
    let mut e = Errors::default();
    let Some(items) = fields::array(&mut e, body, "", 0, None) else {
        return Err(e.into_vec());
    };
    unique(&mut e, items);
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = fields::index("", i);
        let Some(map) = fields::object(
            &mut e,
            item,
            &path,
            &[
                "flavor_id",
                "domain_name",
                "project_id",
                "cert_type",
                "validate_service",
            ],
        ) else {
            continue;
        };
        let flavor = fields::required(&mut e, map, "flavor_id", &path)
            .and_then(|v| fields::string(&mut e, v, &format!("{path}/flavor_id"), 1, Some(256)));
        let domain = fields::required(&mut e, map, "domain_name", &path)
            .and_then(|v| fields::string(&mut e, v, &format!("{path}/domain_name"), 3, Some(253)));
        let project = project_id(&mut e, map, &path);
        let cert_type = match map.get("cert_type") {
            None => Some(CertType::San),
            Some(v) => fields::one_of(&mut e, v, &format!("{path}/cert_type"), &["san", "sni"])
                .and_then(|s| s.parse().ok()),
        };
        let validate_service = match map.get("validate_service") {
            None => Some(true),
            Some(v) => fields::boolean(&mut e, v, &format!("{path}/validate_service")),
        };
        if let (Some(f), Some(d), Some(p), Some(t), Some(v)) =
            (flavor, domain, project, cert_type, validate_service)
        {
            out.push(RetryItem {
                domain_name: d.to_ascii_lowercase(),
                project_id: p,
                flavor_id: f.to_owned(),
                cert_type: t,
                validate_service: v,
            });
        }
    }
    finish(e, Some(out))
}

/// `PUT …/background_job/san_mapping`: an array of distinct
/// `{domain_name, flavor_id, project_id, cert_type, cert_details,
/// property_activated?}`; `cert_details` maps provider names to
/// `{cert_domain?, extra_info: {"san cert"?, sni_cert?, akamai_spsId?,
/// change_url?, status?}}`.
pub fn san_mapping(body: &Value) -> Result<Vec<SanMappingItem>, Vec<FieldError>> {
    let mut e = Errors::default();
    let Some(items) = fields::array(&mut e, body, "", 0, None) else {
        return Err(e.into_vec());
    };
    unique(&mut e, items);
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = fields::index("", i);
        let Some(map) = fields::object(
            &mut e,
            item,
            &path,
            &[
                "domain_name",
                "flavor_id",
                "project_id",
                "cert_type",
                "cert_details",
                "property_activated",
            ],
        ) else {
            continue;
        };
        let domain = fields::required(&mut e, map, "domain_name", &path)
            .and_then(|v| fields::string(&mut e, v, &format!("{path}/domain_name"), 3, Some(253)));
        let flavor = fields::required(&mut e, map, "flavor_id", &path)
            .and_then(|v| fields::string(&mut e, v, &format!("{path}/flavor_id"), 1, Some(256)));
        let project = project_id(&mut e, map, &path);
        let cert_type = fields::required(&mut e, map, "cert_type", &path)
            .and_then(|v| fields::one_of(&mut e, v, &format!("{path}/cert_type"), &["san", "sni"]))
            .and_then(|s| s.parse::<CertType>().ok());
        let details = fields::required(&mut e, map, "cert_details", &path)
            .and_then(|v| cert_details(&mut e, v, &format!("{path}/cert_details")));
        let activated = match map.get("property_activated") {
            None => Some(false),
            Some(v) => fields::boolean(&mut e, v, &format!("{path}/property_activated")),
        };
        if let (Some(d), Some(f), Some(p), Some(t), Some(c), Some(a)) =
            (domain, flavor, project, cert_type, details, activated)
        {
            out.push(SanMappingItem {
                domain_name: d.to_ascii_lowercase(),
                flavor_id: f.to_owned(),
                project_id: p,
                cert_type: t,
                cert_details: c,
                property_activated: a,
            });
        }
    }
    finish(e, Some(out))
}

fn cert_details(
    e: &mut Errors,
    v: &Value,
    path: &str,
) -> Option<std::collections::BTreeMap<String, CertDetails>> {
    let Value::Object(providers) = v else {
        e.push(path, "must be an object of provider name to details");
        return None;
    };
    let mut out = std::collections::BTreeMap::new();
    for (provider, details) in providers {
        let p = fields::join(path, provider);
        let Some(map) = fields::object(e, details, &p, &["cert_domain", "extra_info"]) else {
            continue;
        };
        if let Some(v) = map.get("cert_domain") {
            fields::string(e, v, &fields::join(&p, "cert_domain"), 1, Some(253));
        }
        let info_path = fields::join(&p, "extra_info");
        let Some(info) = fields::required(e, map, "extra_info", &p).and_then(|v| {
            fields::object(
                e,
                v,
                &info_path,
                &[
                    "san cert",
                    "sni_cert",
                    "akamai_spsId",
                    "change_url",
                    "status",
                ],
            )
        }) else {
            continue;
        };
        for key in ["san cert", "sni_cert", "change_url"] {
            if let Some(v) = info.get(key) {
                fields::string(e, v, &fields::join(&info_path, key), 1, None);
            }
        }
        if let Some(v) = info.get("akamai_spsId") {
            fields::integer(e, v, &fields::join(&info_path, "akamai_spsId"), 0, i64::MAX);
        }
        if let Some(v) = info.get("status") {
            let choices: Vec<&str> = CertStatus::ALL.iter().map(|s| s.as_str()).collect();
            fields::one_of(e, v, &fields::join(&info_path, "status"), &choices);
        }
        match serde_json::from_value::<CertDetails>(details.clone()) {
            Ok(d) => {
                out.insert(provider.clone(), d);
            }
            Err(err) => e.push(&p, format!("is not valid certificate details: {err}")),
        }
    }
    Some(out)
}

/// A validated `PATCH /admin/services/{id}/provider_details` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUrlPatch {
    pub project_id: ProjectId,
    pub domain_name: String,
    pub operator_url: String,
    pub provider_url: String,
}

/// `PATCH /admin/services/{id}/provider_details`: every key required, no
/// others; the domain must be valid (`Domain <d> is not valid`).
pub fn access_url_patch(body: &Value) -> Result<AccessUrlPatch, Error> {
    let mut e = Errors::default();
    let Some(map) = fields::object(
        &mut e,
        body,
        "",
        &["project_id", "domain_name", "operator_url", "provider_url"],
    ) else {
        return Err(Error::Validation(e.into_vec()));
    };
    let project = fields::required(&mut e, map, "project_id", "")
        .and_then(|v| fields::string(&mut e, v, "/project_id", 1, Some(256)));
    let mut text = |key: &str| {
        fields::required(&mut e, map, key, "")
            .and_then(|v| fields::string(&mut e, v, &format!("/{key}"), 3, Some(253)))
            .map(str::to_owned)
    };
    let domain = text("domain_name");
    let operator = text("operator_url");
    let provider = text("provider_url");
    let (Some(p), Some(d), Some(o), Some(u), true) =
        (project, domain, operator, provider, e.is_empty())
    else {
        return Err(Error::Validation(e.into_vec()));
    };
    if !is_valid_domain(&d) {
        return Err(Error::BadRequest(format!("Domain {d} is not valid")));
    }
    Ok(AccessUrlPatch {
        project_id: ProjectId::new(p),
        domain_name: d,
        operator_url: o,
        provider_url: u,
    })
}

/// A validated domain-migration body (`POST /admin/provider/{p}/service`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainMigration {
    pub project_id: ProjectId,
    pub service_id: String,
    pub domain_name: String,
    pub new_cert: String,
    pub cert_status: CertStatus,
}

/// `POST /admin/provider/{p}/service`: `project_id`, `service_id`,
/// `domain_name` (valid), `new_cert`, `cert_status` (`create_in_progress` |
/// `deployed`, default `deployed`); no other keys.
pub fn domain_migration(body: &Value) -> Result<DomainMigration, Error> {
    let mut e = Errors::default();
    let Some(map) = fields::object(
        &mut e,
        body,
        "",
        &[
            "project_id",
            "service_id",
            "domain_name",
            "new_cert",
            "cert_status",
        ],
    ) else {
        return Err(Error::Validation(e.into_vec()));
    };
    let project = fields::required(&mut e, map, "project_id", "")
        .and_then(|v| fields::string(&mut e, v, "/project_id", 1, Some(256)));
    let service = fields::required(&mut e, map, "service_id", "")
        .and_then(|v| fields::string(&mut e, v, "/service_id", 1, Some(64)));
    let domain = fields::required(&mut e, map, "domain_name", "")
        .and_then(|v| fields::string(&mut e, v, "/domain_name", 3, Some(253)));
    let new_cert = fields::required(&mut e, map, "new_cert", "")
        .and_then(|v| fields::string(&mut e, v, "/new_cert", 1, Some(253)));
    let status = match map.get("cert_status") {
        None => Some(CertStatus::Deployed),
        Some(v) => fields::one_of(
            &mut e,
            v,
            "/cert_status",
            &["create_in_progress", "deployed"],
        )
        .and_then(|s| s.parse().ok()),
    };
    let (Some(p), Some(s), Some(d), Some(c), Some(st), true) =
        (project, service, domain, new_cert, status, e.is_empty())
    else {
        return Err(Error::Validation(e.into_vec()));
    };
    if !is_valid_domain(d) {
        return Err(Error::BadRequest(format!("Domain {d} is not valid")));
    }
    Ok(DomainMigration {
        project_id: ProjectId::new(p),
        service_id: s.to_owned(),
        domain_name: d.to_owned(),
        new_cert: c.to_owned(),
        cert_status: st,
    })
}

/// Which background job an operator asked for (§2.9.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackgroundJob {
    /// `akamai_check_and_update_cert_status`, optionally for one project.
    CheckCertStatus { project_id: Option<String> },
    /// `akamai_update_papi_property_for_mod_san` / `…_mod_sni`.
    UpdateHostnames {
        cert_type: CertType,
        action: HostnameAction,
    },
}

/// `POST /admin/provider/{p}/background_job`. The original's
/// `property_spec` enum could match nothing (§9.2 #12); here any string is
/// accepted and the provider's own configuration decides the property.
pub fn background_job(body: &Value) -> Result<BackgroundJob, Error> {
    let mut e = Errors::default();
    let job_type = body.get("job_type").and_then(Value::as_str).unwrap_or("");
    let job = match job_type {
        "akamai_check_and_update_cert_status" => {
            let map = fields::object(&mut e, body, "", &["job_type", "project_id"]);
            let project_id = map
                .and_then(|m| m.get("project_id"))
                .and_then(|v| fields::string(&mut e, v, "/project_id", 1, Some(256)))
                .map(str::to_owned);
            BackgroundJob::CheckCertStatus { project_id }
        }
        "akamai_update_papi_property_for_mod_san" | "akamai_update_papi_property_for_mod_sni" => {
            let cert_type = if job_type.ends_with("sni") {
                CertType::Sni
            } else {
                CertType::San
            };
            let map = fields::object(
                &mut e,
                body,
                "",
                &[
                    "job_type",
                    "update_type",
                    "action",
                    "property_spec",
                    "san_cert_domain_suffix",
                ],
            );
            let mut action = HostnameAction::Add;
            if let Some(map) = map {
                if let Some(v) = map.get("update_type") {
                    fields::one_of(&mut e, v, "/update_type", &["hostnames"]);
                }
                if let Some(v) = map.get("action") {
                    if let Some(a) = fields::one_of(&mut e, v, "/action", &["add", "remove"]) {
                        action = a.parse().unwrap_or(HostnameAction::Add);
                    }
                }
                for key in ["property_spec", "san_cert_domain_suffix"] {
                    if let Some(v) = map.get(key) {
                        fields::string(&mut e, v, &format!("/{key}"), 1, None);
                    }
                }
            }
            BackgroundJob::UpdateHostnames { cert_type, action }
        }
        other => {
            return Err(Error::BadRequest(format!(
                "job_type {other:?} is not one of akamai_check_and_update_cert_status, \
                 akamai_update_papi_property_for_mod_san, akamai_update_papi_property_for_mod_sni"
            )))
        }
    };
    if e.is_empty() {
        Ok(job)
    } else {
        Err(Error::Validation(e.into_vec()))
    }
}

/// The setting name `…/config/san_cert_hostname_limit` reads and writes.
pub const HOSTNAME_LIMIT: &str = "san_cert_hostname_limit";

/// `POST …/ssl_certificate/config/{name}` (`{spsId?: int ≥ 1, enabled?:
/// bool, san_cert_hostname_limit?: 1..200}`) or `…/sni_config/{name}`
/// (`{enrollmentId?: int ≥ 1, enabled?: bool}`); no other keys.
pub fn cert_config(kind: CertConfigKind, body: &Value) -> Result<Map<String, Value>, Error> {
    let mut e = Errors::default();
    let allowed: &[&str] = match kind {
        CertConfigKind::San => &["spsId", "enabled", HOSTNAME_LIMIT],
        CertConfigKind::Sni => &["enrollmentId", "enabled"],
    };
    let Some(map) = fields::object(&mut e, body, "", allowed) else {
        return Err(Error::Validation(e.into_vec()));
    };
    for (key, v) in map {
        let path = fields::join("", key);
        match key.as_str() {
            "spsId" | "enrollmentId" => {
                fields::integer(&mut e, v, &path, 1, i64::MAX);
            }
            "enabled" => {
                fields::boolean(&mut e, v, &path);
            }
            HOSTNAME_LIMIT => {
                fields::integer(&mut e, v, &path, 1, 200);
            }
            _ => {}
        }
    }
    if e.is_empty() {
        Ok(map.clone())
    } else {
        Err(Error::Validation(e.into_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(body: Value) -> Result<CertificateRequest, Vec<FieldError>> {
        create_body(&body)
    }

    #[test]
    fn the_reference_negative_cases_are_refused() {
        let cases = [
            json!({"flavor_id": "f", "domain_name": "www.abc.com"}),
            json!({"flavor_id": "f", "cert_type": "not_a_valid_cert_type", "domain_name": "www.abc.com"}),
            json!({"flavor_id": "f", "cert_type": "san"}),
            json!({"cert_type": "san", "domain_name": "www.abc.com"}),
            json!({"flavor_id": "f", "cert_type": "san", "domain_name": "ab"}),
            json!({"flavor_id": "f", "cert_type": "san", "domain_name": format!("{}.com", "a".repeat(260))}),
            json!({"flavor_id": "f", "cert_type": "san", "domain_name": ""}),
            json!({"flavor_id": "f", "cert_type": "", "domain_name": "meowmeow.com"}),
            json!({"flavor_id": "f", "cert_type": "san", "domain_name": "abc.com"}),
            json!({"flavor_id": "f", "cert_type": "san", "domain_name": "www.abc.com", "x": 1}),
            json!([]),
        ];
        for body in cases {
            assert!(create(body.clone()).is_err(), "{body} was accepted");
        }
    }

    #[test]
    fn a_valid_body_is_normalised() {
        let req = create(json!({"flavor_id": "standard", "cert_type": "san",
                                "domain_name": "WWW.abc.com", "project_id": "p1"}))
        .unwrap();
        assert_eq!(req.domain_name, "www.abc.com");
        assert_eq!(req.cert_type, CertType::San);
        assert_eq!(req.project_id.as_deref(), Some("p1"));
    }

    #[test]
    fn a_root_domain_names_the_reason() {
        let errors =
            create(json!({"flavor_id": "f", "cert_type": "sni", "domain_name": "abc.co.uk"}))
                .unwrap_err();
        assert_eq!(errors[0].path, "/domain_name");
        assert!(
            errors[0].message.contains("valid non-root domain"),
            "{errors:?}"
        );
    }

    #[test]
    fn status_patch_takes_exactly_one_replace_of_status() {
        assert_eq!(
            status_patch(&json!([{"op": "replace", "path": "status", "value": "failed"}])),
            Ok(CertStatus::Failed)
        );
        for bad in [
            json!([]),
            json!([{"op": "add", "path": "status", "value": "failed"}]),
            json!([{"op": "replace", "path": "x", "value": "failed"}]),
            json!([{"op": "replace", "path": "status", "value": "nope"}]),
            json!([{"op": "replace", "path": "status", "value": "failed", "x": 1}]),
            json!([{"op": "replace", "path": "status", "value": "failed"},
                   {"op": "replace", "path": "status", "value": "failed"}]),
        ] {
            assert!(status_patch(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn queues_refuse_duplicates_and_unknown_keys() {
        let item = json!({"flavor_id": "f", "domain_name": "www.a.com", "project_id": "p"});
        assert_eq!(retry_list(&json!([item.clone()])).unwrap().len(), 1);
        assert!(retry_list(&json!([item.clone(), item.clone()])).is_err());
        assert!(
            retry_list(&json!([{"flavor_id": "f", "domain_name": "www.a.com",
                                    "project_id": "bad id!"}]))
            .is_err()
        );
        let mapping = json!({"domain_name": "www.a.com", "flavor_id": "f", "project_id": "p",
            "cert_type": "san",
            "cert_details": {"akamai": {"extra_info": {"san cert": "san1.x.net", "akamai_spsId": 3}}}});
        let items = san_mapping(&json!([mapping.clone()])).unwrap();
        assert_eq!(items[0].cert_details["akamai"].extra_info.sps_id, Some(3));
        let mut extra = mapping.clone();
        extra["cert_details"]["akamai"]["extra_info"]["other"] = json!(1);
        assert!(san_mapping(&json!([extra])).is_err());
    }

    #[test]
    fn background_jobs_are_named_or_refused() {
        assert_eq!(
            background_job(&json!({"job_type": "akamai_check_and_update_cert_status"})).unwrap(),
            BackgroundJob::CheckCertStatus { project_id: None }
        );
        assert_eq!(
            background_job(
                &json!({"job_type": "akamai_update_papi_property_for_mod_sni",
                                   "action": "remove", "property_spec": "x"})
            )
            .unwrap(),
            BackgroundJob::UpdateHostnames {
                cert_type: CertType::Sni,
                action: HostnameAction::Remove
            }
        );
        assert!(background_job(&json!({"job_type": "nope"})).is_err());
        assert!(background_job(
            &json!({"job_type": "akamai_update_papi_property_for_mod_san",
                                       "action": "move"})
        )
        .is_err());
    }
}
