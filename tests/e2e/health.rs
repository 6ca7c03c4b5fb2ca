//! Ping, the home document, health, the project header and the optional
//! numeric project segment (reference §1.2, §2.1.1, §2.3-§2.5).

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{domain, project, Server};

const PROJECT_REQUIRED: &str = "The Project ID must be provided.";

/// The JSON-Home document of §2.3, typo under `rel/flavors` included.
fn home_document() -> Value {
    let json_format = json!({"application/json": {}});
    json!({"resources": {
        "rel/services": {
            "href-template": "/services{?marker,limit}",
            "href-vars": {"marker": "param/marker", "limit": "param/limit"},
            "hints": {"allow": ["GET", "POST"], "formats": json_format}
        },
        "rel/flavors": {
            "href-template": "/flavors/{flavor_id}",
            "href-vars": {"marker": "param/flavor_id"},
            "hints": {"allow": ["GET", "POST", "DELETE"], "formats": json_format}
        },
        "rel/health": {
            "href-template": "/health",
            "href-vars": {"subsystem": "param/subsystem"},
            "hints": {"allow": ["GET"], "formats": json_format}
        },
        "rel/ping": {
            "href-template": "/ping",
            "hints": {"allow": ["GET"], "formats": json_format}
        }
    }})
}

fn minimal_service() -> Value {
    json!({
        "name": "health-check",
        "domains": [{"domain": domain()}],
        "origins": [{"origin": "origin.example.com"}],
        "flavor_id": "standard"
    })
}

#[tokio::test]
async fn ping_is_204_without_a_project_header() {
    let server = Server::start().await;
    let anonymous = server.get_anonymous("/v1.0/ping").await;
    anonymous.expect_empty(204).unwrap();
    let with_project = server.get(&project(), "/v1.0/ping").await;
    with_project.expect_empty(204).unwrap();
    // A graceful stop returns cleanly.
    server.stop().await;
}

#[tokio::test]
async fn home_document_is_the_static_json_home() {
    let server = Server::start().await;
    for path in ["/v1.0", "/v1.0/"] {
        let resp = server.get(&project(), path).await;
        assert_eq!(resp.status, 200, "GET {path}: {resp}");
        assert_eq!(
            resp.header("content-type").as_deref(),
            Some("application/json")
        );
        assert_eq!(resp.json(), home_document(), "GET {path}");
    }
}

#[tokio::test]
async fn every_endpoint_but_ping_needs_the_project_header() {
    let server = Server::start().await;
    let id = uuid::Uuid::new_v4();
    let service = minimal_service();
    let flavor = json!({"id": "noproject", "providers": [{"provider": "mock",
        "links": [{"href": "http://www.mock.com", "rel": "provider_url"}]}]});
    let requests: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/v1.0".into(), None),
        (Method::GET, "/v1.0/services".into(), None),
        (Method::POST, "/v1.0/services".into(), Some(service)),
        (Method::GET, format!("/v1.0/services/{id}"), None),
        (
            Method::PATCH,
            format!("/v1.0/services/{id}"),
            Some(json!([])),
        ),
        (Method::DELETE, format!("/v1.0/services/{id}"), None),
        (
            Method::DELETE,
            format!("/v1.0/services/{id}/assets?url=/x"),
            None,
        ),
        (Method::GET, "/v1.0/flavors".into(), None),
        (Method::GET, "/v1.0/flavors/standard".into(), None),
        (Method::POST, "/v1.0/flavors".into(), Some(flavor)),
        (Method::DELETE, "/v1.0/flavors/standard".into(), None),
        (Method::GET, "/v1.0/health".into(), None),
        (Method::GET, "/v1.0/health/dns/default".into(), None),
        (Method::GET, "/v1.0/health/provider/mock".into(), None),
        (
            Method::GET,
            "/v1.0/admin/services?status=deployed".into(),
            None,
        ),
        (
            Method::POST,
            "/v1.0/admin/services/action".into(),
            Some(json!({"domain": domain(), "action": "disable"})),
        ),
        (
            Method::POST,
            "/v1.0/admin/services/status".into(),
            Some(json!({"project_id": "p1", "service_id": id.to_string(), "status": "failed"})),
        ),
        (
            Method::GET,
            format!("/v1.0/admin/domains/{}", domain()),
            None,
        ),
        (
            Method::GET,
            "/v1.0/admin/domains?provider_url=www.x.com.mock.poppycdn.net".into(),
            None,
        ),
        (Method::GET, "/v1.0/admin/limits/p1".into(), None),
        (
            Method::PUT,
            "/v1.0/admin/limits/p1".into(),
            Some(json!({"limit": 3})),
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, body) in requests {
        let body = body.map(|b| (Some("application/json"), b.to_string().into_bytes()));
        let resp = server.send(method.clone(), &path, None, body).await;
        if let Err(e) = resp.expect_error(400, PROJECT_REQUIRED) {
            failures.push(format!("{method} {path}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // Nothing was written by the refused requests.
    let flavor = server.get(&project(), "/v1.0/flavors/standard").await;
    assert_eq!(
        flavor.status, 200,
        "the refused DELETE kept the flavor: {flavor}"
    );
    let limit = server.get(&project(), "/v1.0/admin/limits/p1").await;
    assert_eq!(
        limit.json(),
        json!({"limit": 20}),
        "the refused PUT set no limit"
    );
}

#[tokio::test]
async fn a_numeric_project_segment_is_ignored() {
    let server = Server::start().await;
    let p = project();
    let empty = server.get(&p, "/v1.0/123456/services").await;
    assert_eq!(empty.status, 200, "{empty}");
    assert_eq!(empty.json(), json!({"links": [], "services": []}));

    let ping = server.get_anonymous("/v1.0/123456/ping").await;
    ping.expect_empty(204).unwrap();
    let home = server.get(&p, "/v1.0/123456").await;
    assert_eq!(home.status, 200, "{home}");
    assert_eq!(home.json(), home_document());

    let resp = server
        .post(&p, "/v1.0/123456/services", &minimal_service())
        .await;
    resp.expect_empty(202).unwrap();
    let location = resp.location().expect("a Location");
    let id = crate::support::id_of(&location);
    assert_eq!(
        location,
        format!("{}/v1.0/services/{id}", server.base()),
        "Location never carries the project segment"
    );
    let through_segment = server.get(&p, &format!("/v1.0/123456/services/{id}")).await;
    let plain = server.get(&p, &format!("/v1.0/services/{id}")).await;
    assert_eq!(through_segment.status, 200, "{through_segment}");
    assert_eq!(plain.status, 200, "{plain}");
    assert_eq!(through_segment.json()["id"], plain.json()["id"]);
    let listed = server.get(&p, "/v1.0/123456/services").await.json();
    assert_eq!(listed["services"][0]["id"], json!(id));

    // A non-numeric segment is not a project id: no such route.
    let other = server.get(&p, "/v1.0/abc/services").await;
    assert_eq!(other.status, 404, "{other}");
}

/// Checks one §2.5 health entry and returns its name.
fn check_entry(base: &str, kind: &str, section: &Value) -> Vec<String> {
    let map = section
        .as_object()
        .unwrap_or_else(|| panic!("health section for {kind} is not an object: {section}"));
    assert!(!map.is_empty(), "health section for {kind} is empty");
    map.iter()
        .map(|(name, entry)| {
            assert_eq!(name, &name.to_lowercase(), "health names are lower-case");
            assert_eq!(
                entry,
                &json!({
                    "online": "true",
                    "links": {"href": format!("{base}/v1.0/health/{kind}/{name}"), "rel": "self"}
                }),
                "health entry {kind}/{name}"
            );
            name.clone()
        })
        .collect()
}

#[tokio::test]
async fn health_of_the_default_configuration() {
    let server = Server::start().await;
    let p = project();
    let resp = server.get(&p, "/v1.0/health").await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/json")
    );
    let body = resp.json();
    let mut sections: Vec<&String> = body.as_object().expect("an object").keys().collect();
    sections.sort();
    assert_eq!(
        sections,
        ["distributed_task", "dns", "providers", "storage"]
    );

    let base = server.base().to_owned();
    assert_eq!(check_entry(&base, "dns", &body["dns"]), ["default"]);
    assert_eq!(check_entry(&base, "provider", &body["providers"]), ["mock"]);
    let storage = check_entry(&base, "storage", &body["storage"]);
    let jobs = check_entry(&base, "distributed_task", &body["distributed_task"]);
    assert_eq!(storage.len(), 1, "one storage: {storage:?}");
    assert_eq!(jobs.len(), 1, "one distributed task: {jobs:?}");

    // Each component on its own: 200 {"online": "true"}, any case.
    let mut components = vec![
        ("dns", "default".to_owned()),
        ("dns", "DEFAULT".to_owned()),
        ("provider", "mock".to_owned()),
        ("provider", "Mock".to_owned()),
        ("storage", storage[0].clone()),
        ("distributed_task", jobs[0].clone()),
    ];
    components.push(("storage", storage[0].to_uppercase()));
    for (kind, name) in components {
        let path = format!("/v1.0/health/{kind}/{name}");
        let resp = server.get(&p, &path).await;
        assert_eq!(resp.status, 200, "GET {path}: {resp}");
        assert_eq!(resp.json(), json!({"online": "true"}), "GET {path}");
    }
}

#[tokio::test]
async fn unknown_health_components_are_404_with_an_empty_body() {
    let server = Server::start().await;
    let p = project();
    for path in [
        "/v1.0/health/dns/rackspace",
        "/v1.0/health/storage/cassandra",
        "/v1.0/health/provider/akamai",
        "/v1.0/health/provider/default",
        "/v1.0/health/distributed_task/zookeeper",
    ] {
        let resp = server.get(&p, path).await;
        resp.expect_empty(404)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    }
    let unknown_kind = server.get(&p, "/v1.0/health/cache/mock").await;
    assert_eq!(unknown_kind.status, 404, "{unknown_kind}");
}

#[tokio::test]
async fn health_lists_every_configured_provider() {
    let server = Server::with(crate::support::Setup::new().toml(
        r#"
[[providers]]
name = "mock"
[[providers]]
name = "second"
driver = "mock"
latency_ms = 1
[[flavors]]
id = "standard"
providers = ["mock"]
"#,
    ))
    .await;
    let p = project();
    let body = server.get(&p, "/v1.0/health").await.json();
    let mut providers = check_entry(server.base(), "provider", &body["providers"]);
    providers.sort();
    assert_eq!(providers, ["mock", "second"]);
    let second = server.get(&p, "/v1.0/health/provider/second").await;
    assert_eq!(second.json(), json!({"online": "true"}), "{second}");
}
