//! End to end over HTTP with the Route53 DNS driver against moto
//! (`POPPY_TEST_MOTO`, skipped when unset): a real Poppy (SQLite, the mock
//! provider, the in-process worker) deploys a service, and its
//! `access_url` link is the CNAME moto's Route53 now holds, pointing at
//! the provider; a PATCH moves the records with the domains; a DELETE
//! removes them.

#![cfg(feature = "dns-route53")]

use std::time::Duration;

use poppy::adapters::dns::route53::{self, sdk, Route53Config};
use poppy::adapters::Registry;
use poppy::config::Config;
use serde_json::{json, Value};

/// Longest wait for a service to settle.
const DEADLINE: Duration = Duration::from_secs(30);

fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A Poppy serving on loopback, and a client for it.
struct Server {
    base: String,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Server {
    async fn start(toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary data directory");
        let mut config = Config::from_toml(toml)
            .unwrap_or_else(|e| panic!("configuration refused: {e}\n{toml}"));
        config.data_dir = dir.path().to_owned();
        config.worker.backoff_base_ms = 10;
        config.worker.backoff_max_ms = 50;
        config.worker.idle_wait_ms = 20;
        config.worker.poll_interval_ms = 20;
        let poppy = poppy::assemble(&config, &Registry::builtin())
            .await
            .unwrap_or_else(|e| panic!("assembling Poppy failed: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = poppy
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await;
        });
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Self {
            base,
            http,
            stop: Some(tx),
            _dir: dir,
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        project: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("X-Project-ID", project);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(body).expect("serialise"));
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap_or_default())
    }

    /// GETs `location` until `status` is `want` (or 404 for `"gone"`).
    async fn wait(&self, project: &str, location: &str, want: &str) -> Value {
        let start = tokio::time::Instant::now();
        loop {
            let (status, _, text) = self
                .send(reqwest::Method::GET, project, location, None)
                .await;
            if want == "gone" && status == 404 {
                return Value::Null;
            }
            assert_eq!(status, 200, "GET {location}: {text}");
            let body: Value = serde_json::from_str(&text).expect("JSON service");
            if body["status"] == want {
                return body;
            }
            assert_ne!(body["status"], "failed", "service failed: {body:#}");
            assert!(
                start.elapsed() < DEADLINE,
                "still {} after {DEADLINE:?}: {body:#}",
                body["status"]
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The `access_url` hrefs of a service body.
fn access_urls(service: &Value) -> Vec<String> {
    service["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["rel"] == "access_url")
        .filter_map(|l| l["href"].as_str().map(str::to_owned))
        .collect()
}

/// The CNAME target of `name` in moto's hosted zone `zone_id`, if any.
async fn cname(client: &sdk::Client, zone_id: &str, name: &str) -> Option<String> {
    let out = client
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .send()
        .await
        .expect("list records in moto");
    out.resource_record_sets()
        .iter()
        .find(|r| {
            r.name().trim_end_matches('.') == name && *r.r#type() == sdk::types::RrType::Cname
        })
        .and_then(|r| r.resource_records().first())
        .map(|v| v.value().trim_end_matches('.').to_owned())
}

#[tokio::test]
async fn a_deployed_service_shows_the_cname_route53_holds() {
    let Ok(moto) = std::env::var("POPPY_TEST_MOTO") else {
        return;
    };
    let zone = format!("t{}.poppy-e2e.net", token());
    let client = route53::connect(&Route53Config {
        endpoint_url: Some(moto.clone()),
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some("testing".to_owned()),
        ..Route53Config::default()
    })
    .await;
    let created = client
        .create_hosted_zone()
        .name(&zone)
        .caller_reference(token())
        .send()
        .await
        .expect("moto creates the hosted zone");
    let zone_id = created
        .hosted_zone()
        .map(|z| z.id().to_owned())
        .expect("zone id");

    let server = Server::start(&format!(
        r#"
[dns]
driver = "route53"
url = "{zone}"
url_404 = "notfound.{zone}"
shared_ssl_domain_suffix = "secure.{zone}"
endpoint_url = "{moto}"
access_key_id = "testing"
secret_access_key = "testing"
"#
    ))
    .await;
    let project = format!("p{}", token());
    let domain = format!("www.t{}.com", token());
    let body = json!({
        "name": "dns-e2e",
        "domains": [{"domain": domain, "protocol": "http"}],
        "origins": [{"origin": "origin.example.com", "port": 80, "ssl": false}],
        "flavor_id": "standard",
    });
    let (status, headers, text) = server
        .send(
            reqwest::Method::POST,
            &project,
            "/v1.0/services",
            Some(&body),
        )
        .await;
    assert_eq!(status, 202, "create: {text}");
    let location = headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("Location")
        .to_owned();

    let service = server.wait(&project, &location, "deployed").await;
    let urls = access_urls(&service);
    assert_eq!(urls.len(), 1, "one access URL: {service:#}");
    let operator = &urls[0];
    assert!(
        operator.starts_with(&format!("{domain}.cdn")) && operator.ends_with(&format!(".{zone}")),
        "the access URL is the operator's CNAME <domain>.cdn<k>.{zone}, got {operator}"
    );
    assert_eq!(
        cname(&client, &zone_id, operator).await.as_deref(),
        Some(format!("{domain}.mock.poppycdn.net").as_str()),
        "moto's Route53 holds {operator} → the mock provider's host name"
    );

    // PATCH to another domain: the new record appears, the old one goes.
    let other = format!("www.t{}.com", token());
    let patch = json!([{"op": "replace", "path": "/domains/0", "value": {"domain": other, "protocol": "http"}}]);
    let (status, _, text) = server
        .send(reqwest::Method::PATCH, &project, &location, Some(&patch))
        .await;
    assert_eq!(status, 202, "patch: {text}");
    let start = tokio::time::Instant::now();
    let service = loop {
        let service = server.wait(&project, &location, "deployed").await;
        if access_urls(&service).iter().any(|u| u.starts_with(&other)) {
            break service;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the update never showed {other}: {service:#}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let urls = access_urls(&service);
    assert_eq!(urls.len(), 1, "{service:#}");
    assert_eq!(
        cname(&client, &zone_id, &urls[0]).await.as_deref(),
        Some(format!("{other}.mock.poppycdn.net").as_str())
    );
    assert_eq!(
        cname(&client, &zone_id, operator).await,
        None,
        "the removed domain's record is gone"
    );

    let (status, _, text) = server
        .send(reqwest::Method::DELETE, &project, &location, None)
        .await;
    assert_eq!(status, 202, "delete: {text}");
    server.wait(&project, &location, "gone").await;
    assert_eq!(
        cname(&client, &zone_id, &urls[0]).await,
        None,
        "delete removed the CNAME"
    );
}
