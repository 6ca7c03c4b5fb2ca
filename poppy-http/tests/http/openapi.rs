//! The OpenAPI document against the router: every route documented, every
//! documented operation routed, and real answers valid against it.

use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use poppy_core::{Error, FieldError};
use poppy_http::openapi::{documented_operations, served_operations};
use serde_json::{json, Value};

use crate::fake::{one_provider_down, Fake, SERVICE_ID};
use crate::support::{app, get, request, send, with_json, Answer};

fn doc() -> Value {
    poppy_http::openapi()
}

#[tokio::test]
async fn the_document_is_served_without_a_project_and_is_openapi_3_1() {
    let app = app(&Fake::new());
    let request = Request::get("/v1.0/openapi.json")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let served = answer.json();
    assert!(
        served["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        served["openapi"]
    );
    assert_eq!(served, doc());
}

#[test]
fn every_route_is_documented_and_every_documented_route_is_served() {
    let served = served_operations();
    let documented = documented_operations(&doc());
    let undocumented: Vec<_> = served.iter().filter(|o| !documented.contains(o)).collect();
    let phantom: Vec<_> = documented.iter().filter(|o| !served.contains(o)).collect();
    assert!(
        undocumented.is_empty() && phantom.is_empty(),
        "routes without documentation: {undocumented:?}; documented but not served: {phantom:?}"
    );
    assert!(served.len() >= 26, "{served:?}");
}

/// A concrete path for a template: `{service_id}` gets a UUID, anything
/// else a plain word.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{service_id}" => SERVICE_ID.to_owned(),
            s if s.starts_with('{') => "example".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_documented_operation_reaches_a_handler() {
    let app = app(&Fake::new());
    for (method, template) in documented_operations(&doc()) {
        let method: Method = method.parse().unwrap();
        let path = concrete(&template);
        let body = if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
            Body::from("{}")
        } else {
            Body::empty()
        };
        let answer = send(&app, request(method.clone(), &path).body(body).unwrap()).await;
        let routing_miss = answer.status == StatusCode::METHOD_NOT_ALLOWED
            || (answer.status == StatusCode::NOT_FOUND
                && answer
                    .body
                    .starts_with(b"{\"message\":\"The resource could not be found."));
        assert!(
            !routing_miss,
            "{method} {path} (documented as {template}) is not routed: {} {}",
            answer.status,
            answer.text()
        );
    }
}

#[tokio::test]
async fn an_unknown_route_is_the_fallback_so_the_check_above_can_fail() {
    let answer = send(&app(&Fake::new()), get("/v1.0/nothing-here")).await;
    answer.assert_error(StatusCode::NOT_FOUND, "The resource could not be found.");
}

// ------------------------------------------------------ response validation

/// Escapes a JSON pointer token (RFC 6901) for a URI fragment.
fn token(text: &str) -> String {
    text.replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// Checks `answer` against what the document declares for `template` +
/// `method` + its status: the status must be documented; a documented JSON
/// body must validate against its schema; no documented body means an
/// empty one.
fn conforms(doc: &Value, method: &Method, template: &str, answer: &Answer) -> Result<(), String> {
    let method = method.as_str().to_ascii_lowercase();
    let status = answer.status.as_str();
    let operation = &doc["paths"][template][&method];
    if !operation.is_object() {
        return Err(format!("{method} {template} is not documented"));
    }
    let response = &operation["responses"][status];
    if !response.is_object() {
        return Err(format!(
            "{method} {template}: status {status} is not documented (body {})",
            answer.text()
        ));
    }
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return if answer.body.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{method} {template} {status}: documented without a body, got {}",
                answer.text()
            ))
        };
    };
    let content_type = answer.header("content-type").unwrap_or_default();
    let (media, _) = content
        .iter()
        .find(|(media, _)| content_type.starts_with(media.as_str()))
        .ok_or_else(|| {
            format!("{method} {template} {status}: content type {content_type:?} not documented")
        })?;
    let pointer = format!(
        "#/paths/{}/{method}/responses/{status}/content/{}/schema",
        token(template),
        token(media)
    );
    let instance: Value = if media == "application/json" {
        serde_json::from_slice(&answer.body)
            .map_err(|e| format!("{method} {template} {status}: body is not JSON: {e}"))?
    } else {
        Value::String(answer.text())
    };
    // The whole document is the root resource, so `$ref`s into its
    // components resolve; the keywords of OpenAPI itself are ignored.
    let mut root = doc.clone();
    root["$ref"] = Value::String(pointer);
    root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .map_err(|e| format!("{method} {template} {status}: schema does not compile: {e}"))?;
    let problems: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{method} {template} {status}: the body does not match the document: {problems:?}\nbody: {instance}"
        ))
    }
}

struct Case {
    name: &'static str,
    template: &'static str,
    request: Request<Body>,
    setup: Box<dyn Fn(&Fake)>,
    status: StatusCode,
}

fn case(
    name: &'static str,
    template: &'static str,
    request: Request<Body>,
    status: StatusCode,
) -> Case {
    Case {
        name,
        template,
        request,
        setup: Box::new(|_| {}),
        status,
    }
}

fn failing(mut case: Case, error: fn() -> Error) -> Case {
    case.setup = Box::new(move |fake| fake.fail_with(error));
    case
}

fn cases() -> Vec<Case> {
    let service_path = format!("/v1.0/services/{SERVICE_ID}");
    let service_body = json!({"name": "mywebsite.com", "domains": [{"domain": "www.mywebsite.com"}],
                              "origins": [{"origin": "mywebsite1.com"}], "flavor_id": "standard"});
    let flavor_body = json!({"id": "premium", "providers": [
        {"provider": "akamai", "links": [{"href": "http://www.akamai.com", "rel": "provider_url"}]}]});
    let no_project = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    vec![
        case("home", "/v1.0", get("/v1.0"), StatusCode::OK),
        case(
            "ping",
            "/v1.0/ping",
            no_project("/v1.0/ping"),
            StatusCode::NO_CONTENT,
        ),
        case(
            "openapi",
            "/v1.0/openapi.json",
            no_project("/v1.0/openapi.json"),
            StatusCode::OK,
        ),
        case(
            "metrics",
            "/metrics",
            no_project("/metrics"),
            StatusCode::OK,
        ),
        case(
            "health",
            "/v1.0/health",
            get("/v1.0/health"),
            StatusCode::OK,
        ),
        Case {
            setup: Box::new(|fake| *fake.health.lock().unwrap() = one_provider_down()),
            ..case(
                "health down",
                "/v1.0/health",
                get("/v1.0/health"),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        },
        case(
            "dns health",
            "/v1.0/health/dns/{name}",
            get("/v1.0/health/dns/default"),
            StatusCode::OK,
        ),
        case(
            "unknown provider health",
            "/v1.0/health/provider/{name}",
            get("/v1.0/health/provider/nope"),
            StatusCode::NOT_FOUND,
        ),
        case(
            "list",
            "/v1.0/services",
            get("/v1.0/services"),
            StatusCode::OK,
        ),
        case(
            "missing project",
            "/v1.0/services",
            no_project("/v1.0/services"),
            StatusCode::BAD_REQUEST,
        ),
        case(
            "create",
            "/v1.0/services",
            with_json(Method::POST, "/v1.0/services", &service_body),
            StatusCode::ACCEPTED,
        ),
        failing(
            case(
                "create invalid",
                "/v1.0/services",
                with_json(Method::POST, "/v1.0/services", &json!({})),
                StatusCode::BAD_REQUEST,
            ),
            || {
                Error::Validation(vec![
                    FieldError::new("/name", "is a required property"),
                    FieldError::new("/origins", "is a required property"),
                ])
            },
        ),
        failing(
            case(
                "create over the limit",
                "/v1.0/services",
                with_json(Method::POST, "/v1.0/services", &service_body),
                StatusCode::FORBIDDEN,
            ),
            || Error::Forbidden("Maximum Services Limit of 20 reached!".into()),
        ),
        case(
            "create with a text body",
            "/v1.0/services",
            request(Method::POST, "/v1.0/services")
                .header("content-type", "text/plain")
                .body(Body::from("hi"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        case(
            "get",
            "/v1.0/services/{service_id}",
            get(&service_path),
            StatusCode::OK,
        ),
        case(
            "get a bad id",
            "/v1.0/services/{service_id}",
            get("/v1.0/services/not-a-uuid"),
            StatusCode::BAD_REQUEST,
        ),
        failing(
            case(
                "get missing",
                "/v1.0/services/{service_id}",
                get(&service_path),
                StatusCode::NOT_FOUND,
            ),
            || Error::NotFound("service could not be found".into()),
        ),
        failing(
            case(
                "get while storage is down",
                "/v1.0/services/{service_id}",
                get(&service_path),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            || Error::Unavailable("storage unavailable".into()),
        ),
        failing(
            case(
                "get failing inside",
                "/v1.0/services/{service_id}",
                get(&service_path),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
            || Error::Internal("boom".into()),
        ),
        case(
            "patch",
            "/v1.0/services/{service_id}",
            with_json(
                Method::PATCH,
                &service_path,
                &json!([{"op": "replace", "path": "/name", "value": "x.com"}]),
            ),
            StatusCode::ACCEPTED,
        ),
        failing(
            case(
                "patch racing",
                "/v1.0/services/{service_id}",
                with_json(Method::PATCH, &service_path, &json!([])),
                StatusCode::CONFLICT,
            ),
            || Error::Conflict("changed meanwhile".into()),
        ),
        case(
            "delete",
            "/v1.0/services/{service_id}",
            request(Method::DELETE, &service_path)
                .body(Body::empty())
                .unwrap(),
            StatusCode::ACCEPTED,
        ),
        case(
            "purge",
            "/v1.0/services/{service_id}/assets",
            request(Method::DELETE, &format!("{service_path}/assets?url=/img/*"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::ACCEPTED,
        ),
        case(
            "flavors",
            "/v1.0/flavors",
            get("/v1.0/flavors"),
            StatusCode::OK,
        ),
        case(
            "flavor",
            "/v1.0/flavors/{flavor_id}",
            get("/v1.0/flavors/standard"),
            StatusCode::OK,
        ),
        case(
            "create flavor",
            "/v1.0/flavors",
            with_json(Method::POST, "/v1.0/flavors", &flavor_body),
            StatusCode::CREATED,
        ),
        case(
            "delete flavor",
            "/v1.0/flavors/{flavor_id}",
            request(Method::DELETE, "/v1.0/flavors/standard")
                .body(Body::empty())
                .unwrap(),
            StatusCode::NO_CONTENT,
        ),
        case(
            "services by status",
            "/v1.0/admin/services",
            get("/v1.0/admin/services?status=deployed"),
            StatusCode::OK,
        ),
        case(
            "service action",
            "/v1.0/admin/services/action",
            with_json(
                Method::POST,
                "/v1.0/admin/services/action",
                &json!({"project_id": "p1", "action": "disable"}),
            ),
            StatusCode::ACCEPTED,
        ),
        case(
            "service status",
            "/v1.0/admin/services/status",
            with_json(
                Method::POST,
                "/v1.0/admin/services/status",
                &json!({"project_id": "p1", "service_id": SERVICE_ID, "status": "failed"}),
            ),
            StatusCode::CREATED,
        ),
        case(
            "service by domain",
            "/v1.0/admin/domains/{domain_name}",
            get("/v1.0/admin/domains/www.mywebsite.com"),
            StatusCode::OK,
        ),
        case(
            "domains by provider url",
            "/v1.0/admin/domains",
            get("/v1.0/admin/domains?provider_url=a.b.c.d.e"),
            StatusCode::OK,
        ),
        case(
            "get limit",
            "/v1.0/admin/limits/{project_id}",
            get("/v1.0/admin/limits/p1"),
            StatusCode::OK,
        ),
        case(
            "set limit",
            "/v1.0/admin/limits/{project_id}",
            with_json(Method::PUT, "/v1.0/admin/limits/p1", &json!({"limit": 3})),
            StatusCode::CREATED,
        ),
    ]
}

#[tokio::test]
async fn real_answers_match_the_document() {
    let doc = doc();
    let mut failures = Vec::new();
    for case in cases() {
        let fake = Fake::new();
        fake.refs
            .lock()
            .unwrap()
            .push(poppy_core::ports::ServiceRef {
                project_id: poppy_core::model::ProjectId::new("p1"),
                service_id: SERVICE_ID.parse().unwrap(),
            });
        fake.domains
            .lock()
            .unwrap()
            .push("www.mywebsite.com".into());
        (case.setup)(&fake);
        let method = case.request.method().clone();
        let answer = send(&app(&fake), case.request).await;
        if answer.status != case.status {
            // The fake decides most statuses; a different one means the case
            // no longer tests what it says.
            failures.push(format!(
                "{}: expected {}, got {} {}",
                case.name,
                case.status,
                answer.status,
                answer.text()
            ));
            continue;
        }
        if let Err(problem) = conforms(&doc, &method, case.template, &answer) {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_body_the_document_does_not_allow_is_caught() {
    // The validator must be able to fail: a service body missing its
    // required keys, checked against the service schema.
    let doc = doc();
    let answer = Answer {
        status: StatusCode::OK,
        headers: {
            let mut h = axum::http::HeaderMap::new();
            h.insert("content-type", "application/json".parse().unwrap());
            h
        },
        body: axum::body::Bytes::from_static(b"{\"name\": \"x\", \"status\": \"sleeping\"}"),
    };
    let error = conforms(&doc, &Method::GET, "/v1.0/services/{service_id}", &answer).unwrap_err();
    assert!(error.contains("does not match"), "{error}");
    let undocumented = Answer {
        status: StatusCode::IM_A_TEAPOT,
        ..answer
    };
    let error = conforms(
        &doc,
        &Method::GET,
        "/v1.0/services/{service_id}",
        &undocumented,
    )
    .unwrap_err();
    assert!(error.contains("not documented"), "{error}");
}

#[tokio::test]
async fn a_disabled_health_flag_keeps_the_ping_documented() {
    let fake = Fake::new();
    fake.ping_ok.store(false, Ordering::SeqCst);
    let answer = send(
        &app(&fake),
        Request::get("/v1.0/ping").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    conforms(&doc(), &Method::GET, "/v1.0/ping", &answer).unwrap();
}
