//! The exact JSON of a rendered service (§2.6.3).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use poppy_core::model::{
    CertStatus, Domain, OperatorStatus, ProviderDetail, ProviderStatus, Service,
};
use serde_json::{json, Value};

use crate::fake::{https, sample_service, Fake, SERVICE_ID};
use crate::support::{app, compact, get, send};

const SAMPLE: &str = r#"
{
 "name": "mywebsite.com & <co>",
 "id": "96c4e9ab-4d5e-4f63-9a0f-5d7f3a1b2c3d",
 "project_id": "000001",
 "domains": [
   {"domain": "www.mywebsite.com", "protocol": "http"},
   {"domain": "secure.scdn3.secure.poppycdn.net", "protocol": "https", "certificate": "shared", "certificate_status": "deployed"},
   {"domain": "shop.mywebsite.com", "protocol": "https", "certificate": "san", "certificate_status": "create_in_progress"},
   {"domain": "api.mywebsite.com", "protocol": "https", "certificate": "sni", "certificate_status": "deployed"}
 ],
 "origins": [
   {"origin": "mywebsite1.com", "port": 80, "ssl": false,
    "rules": [{"name": "default", "request_url": "/*"}],
    "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"},
   {"origin": "1.2.3.4", "port": 443, "ssl": true,
    "rules": [{"name": "images", "request_url": "/images/*"}],
    "hostheadertype": "domain"}
 ],
 "restrictions": [
   {"name": "website only", "access": "whitelist",
    "rules": [{"name": "mywebsite.com", "request_url": "/*", "referrer": "www.mywebsite.com"},
              {"name": "office", "request_url": "/*", "http_host": "h.example", "http_method": "GET", "client_ip": "203.0.113.0/24"},
              {"name": "us only", "request_url": "/*", "geography": "USA"}]}
 ],
 "caching": [
   {"name": "default", "ttl": 3600, "rules": [{"name": "default", "request_url": "/*"}]},
   {"name": "bare", "ttl": 60}
 ],
 "flavor_id": "standard",
 "log_delivery": {"enabled": true},
 "status": "deployed",
 "errors": [],
 "links": [
   {"href": "http://cdn.example.com/v1.0/services/96c4e9ab-4d5e-4f63-9a0f-5d7f3a1b2c3d", "rel": "self"},
   {"href": "http://cdn.example.com/v1.0/flavors/standard", "rel": "flavor"},
   {"href": "www.mywebsite.com.cdn3.poppycdn.net", "rel": "access_url"},
   {"href": "https://swift.example/v1/AUTH_x/.CDN_ACCESS_LOGS", "rel": "log_delivery"}
 ]
}
"#;

async fn render(service: Service) -> Value {
    let fake = Fake::new();
    let id = service.id;
    *fake.services.lock().unwrap() = vec![service];
    let answer = send(&app(&fake), get(&format!("/v1.0/services/{id}"))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    answer.json()
}

#[tokio::test]
async fn the_reference_service_renders_byte_for_byte() {
    let answer = send(
        &app(&Fake::new()),
        get(&format!("/v1.0/services/{SERVICE_ID}")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), compact(SAMPLE));
}

#[tokio::test]
async fn before_any_provider_reports_non_shared_https_domains_are_create_in_progress() {
    let mut service = sample_service();
    service.provider_details.clear();
    let body = render(service).await;
    let statuses: Vec<&Value> = body["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["certificate_status"])
        .collect();
    assert_eq!(
        statuses,
        [
            &Value::Null, // http: no key at all
            &json!("deployed"),
            &json!("create_in_progress"),
            &json!("create_in_progress"),
        ]
    );
    assert!(body["domains"][0].get("certificate").is_none());
    assert!(body["domains"][0].get("certificate_status").is_none());
    // No provider details: only self and flavor links, no errors.
    assert_eq!(body["links"].as_array().unwrap().len(), 2);
    assert_eq!(body["errors"], json!([]));
}

#[tokio::test]
async fn the_last_provider_decides_the_certificate_status() {
    let mut service = sample_service();
    let mut later = ProviderDetail::new(ProviderStatus::Deployed);
    later
        .domains_certificate_status
        .insert("api.mywebsite.com".into(), CertStatus::Failed);
    service.provider_details.insert("mock".into(), later);
    let body = render(service).await;
    // "mock" sorts after "akamai": it has no record for shop (→ deployed)
    // and says failed for api.
    assert_eq!(body["domains"][2]["certificate_status"], "deployed");
    assert_eq!(body["domains"][3]["certificate_status"], "failed");
    assert_eq!(body["domains"][1]["certificate_status"], "deployed");
}

#[tokio::test]
async fn an_https_domain_without_certificate_shows_null() {
    let mut service = sample_service();
    service.spec.domains = vec![https("odd.example.com", None)];
    let body = render(service).await;
    assert_eq!(
        body["domains"],
        json!([{"domain": "odd.example.com", "protocol": "https", "certificate": null, "certificate_status": "deployed"}])
    );
}

#[tokio::test]
async fn provider_errors_are_listed_one_message_each() {
    let mut service = sample_service();
    let mut failed = ProviderDetail::new(ProviderStatus::Failed);
    failed.set_error("Failed to create the CDN configuration", "traceback…");
    let mut blank = ProviderDetail::new(ProviderStatus::Deployed);
    blank.error_message = Some(String::new());
    service.provider_details =
        BTreeMap::from([("akamai".to_owned(), failed), ("mock".to_owned(), blank)]);
    let body = render(service).await;
    assert_eq!(
        body["errors"],
        json!([{"message": "Failed to create the CDN configuration"}])
    );
    assert!(!body.to_string().contains("traceback"));
}

#[tokio::test]
async fn access_url_links_come_from_every_provider_in_order() {
    let mut service = sample_service();
    let mut second = ProviderDetail::new(ProviderStatus::Deployed);
    second.access_urls = vec![poppy_core::model::AccessUrl {
        domain: "www.mywebsite.com".into(),
        provider_url: Some("x.mock.net".into()),
        operator_url: Some("www.mywebsite.com.cdn1.poppycdn.net".into()),
        shared_ssl_flag: false,
        old_operator_url: None,
    }];
    service.provider_details.insert("mock".into(), second);
    let body = render(service).await;
    let rels: Vec<(&str, &str)> = body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["rel"].as_str().unwrap(), l["href"].as_str().unwrap()))
        .collect();
    assert_eq!(
        &rels[2..],
        [
            ("access_url", "www.mywebsite.com.cdn3.poppycdn.net"),
            (
                "log_delivery",
                "https://swift.example/v1/AUTH_x/.CDN_ACCESS_LOGS"
            ),
            ("access_url", "www.mywebsite.com.cdn1.poppycdn.net"),
        ]
    );
}

#[tokio::test]
async fn a_disabled_service_shows_disabled() {
    let mut service = sample_service();
    service.operator_status = OperatorStatus::Disabled;
    assert_eq!(render(service).await["status"], "disabled");
}

#[tokio::test]
async fn the_status_is_the_stored_one() {
    let mut service = sample_service();
    service.status = poppy_core::model::ServiceStatus::UpdateInProgress;
    assert_eq!(render(service).await["status"], "update_in_progress");
}

#[tokio::test]
async fn flavor_ids_are_uri_encoded_in_links() {
    let mut service = sample_service();
    service.spec.flavor_id = "my flavor".into();
    service.spec.domains = vec![Domain::http("www.mywebsite.com")];
    let body = render(service).await;
    assert_eq!(
        body["links"][1]["href"],
        "http://cdn.example.com/v1.0/flavors/my%20flavor"
    );
}
