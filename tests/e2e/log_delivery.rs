//! Log delivery over HTTP (reference §2.6.3 links, §5.2 step 3): a Poppy
//! configured with the Swift driver against a Keystone + Swift stand-in on
//! loopback. A service created with `log_delivery.enabled` and the
//! tenant's `X-Auth-Token` gets its container and a `log_delivery` link;
//! without a token no container can be made and log delivery is turned off.

#![cfg(feature = "swift")]

use poppy::config::DriverSection;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{domain, project, Server, Setup};

const TOKEN: &str = "e2e-tenant-token-5150";
const SCOPED: &str = "e2e-scoped-token";

/// Keystone v2 accepting [`TOKEN`] for `project`, and Swift accepting a
/// PUT of the project's container with the scoped token (exactly once).
async fn keystone_and_swift(project: &str) -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("POST"))
        .and(path("/v2.0/tokens"))
        .and(body_partial_json(
            json!({"auth": {"tenantName": project, "token": {"id": TOKEN}}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access": {
            "token": {"id": SCOPED},
            "serviceCatalog": [{"type": "object-store", "name": "swift", "endpoints": [
                {"region": "DC1", "publicURL": format!("{uri}/v1/AUTH_{project}"),
                 "internalURL": format!("{uri}/internal/v1/AUTH_{project}")}]}]}})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/v1/AUTH_{project}/.CDN_ACCESS_LOGS")))
        .and(header("X-Auth-Token", SCOPED))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    server
}

async fn server(identity: &MockServer) -> Server {
    let mut options = toml::Table::new();
    options.insert(
        "identity_url".into(),
        format!("{}/v2.0", identity.uri()).into(),
    );
    Server::with(Setup::new().edit(move |config| {
        config.log_delivery = DriverSection {
            driver: "swift".to_owned(),
            options,
        };
    }))
    .await
}

/// POST /v1.0/services with `X-Auth-Token` when `token`; the location.
async fn create(server: &Server, project: &str, token: Option<&str>) -> String {
    let body = json!({"name": "logged", "flavor_id": "standard",
        "domains": [{"domain": domain()}], "origins": [{"origin": "origin.example.com"}],
        "log_delivery": {"enabled": true}});
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
        .post(server.url("/v1.0/services"))
        .header("X-Project-ID", project)
        .json(&body);
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    let response = request.send().await.expect("POST /v1.0/services");
    assert_eq!(response.status().as_u16(), 202);
    response
        .headers()
        .get("Location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location")
        .to_owned()
}

fn log_links(service: &Value) -> Vec<Value> {
    service["links"]
        .as_array()
        .map(|links| {
            links
                .iter()
                .filter(|l| l["rel"] == "log_delivery")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_service_with_log_delivery_shows_its_container_link() {
    let project = project();
    let identity = keystone_and_swift(&project).await;
    let server = server(&identity).await;

    let location = create(&server, &project, Some(TOKEN)).await;
    let service = server
        .wait_status(&project, &location, "deployed")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(service["log_delivery"], json!({"enabled": true}));
    assert_eq!(
        log_links(&service),
        [
            json!({"href": format!("{}/v1/AUTH_{project}/.CDN_ACCESS_LOGS", identity.uri()),
                "rel": "log_delivery"})
        ]
    );
    let listed = server.get(&project, "/v1.0/services").await;
    assert!(!listed.text.contains(TOKEN) && !service.to_string().contains(TOKEN));

    // Without the tenant's token no container can be made: log delivery
    // is turned off and there is no link (the PUT mock still saw one call).
    let location = create(&server, &project, None).await;
    let service = server
        .wait_status(&project, &location, "deployed")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(service["log_delivery"], json!({"enabled": false}));
    assert!(log_links(&service).is_empty(), "{service}");
    server.stop().await;
    identity.verify().await;
}
