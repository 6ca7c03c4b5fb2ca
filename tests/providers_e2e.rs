//! End to end over HTTP with two real provider drivers: a flavor deploying
//! to CloudFront (moto, `POPPY_TEST_MOTO`; skipped when unset) and Fastly (a
//! wiremock contract server). A service deploys to both; when Fastly
//! rejects a PATCH the CloudFront details stay as they were and the service
//! is `failed` with Fastly's error; a later PATCH, with Fastly healthy
//! again, recovers it to `deployed`; DELETE removes it from both.

#![cfg(all(feature = "fastly", feature = "cloudfront"))]

#[path = "../poppy-adapters/tests/fastly/fake.rs"]
mod fastly_fake;

use std::time::Duration;

use poppy::adapters::Registry;
use poppy::config::Config;
use poppy::core::model::{ProjectId, ProviderDetail, ProviderStatus, Service, ServiceId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use wiremock::ResponseTemplate;

use fastly_fake::FakeFastly;

/// Longest wait for an eventual state; never a latency assertion.
const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
const FASTLY_KEY: &str = "e2e-fastly-key";

fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

struct Running {
    base: String,
    http: reqwest::Client,
    poppy: poppy::Poppy,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start(moto: &str, fastly: &FakeFastly) -> Running {
    let text = format!(
        r#"
        [[providers]]
        name = "cloudfront"
        endpoint = "{moto}"
        access_key_id = "testing"
        secret_access_key = "testing"
        timeout_secs = 5
        disable_poll_secs = 1

        [[providers]]
        name = "fastly"
        api_key = "{FASTLY_KEY}"
        api_url = "{fastly}"
        timeout_secs = 5

        [[flavors]]
        id = "two-cdns"
        providers = ["cloudfront", "fastly"]
        "#,
        fastly = fastly.uri()
    );
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let mut config = Config::from_toml(&text).unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    config.data_dir = dir.path().to_owned();
    config.worker.backoff_base_ms = 10;
    config.worker.backoff_max_ms = 100;
    config.worker.max_attempts = 8;
    config.worker.idle_wait_ms = 20;
    config.worker.poll_interval_ms = 20;
    let poppy = poppy::assemble(&config, &Registry::builtin())
        .await
        .unwrap_or_else(|e| panic!("assembling Poppy failed: {e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = poppy.clone();
    tokio::spawn(async move {
        server
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
    });
    Running {
        base,
        http: reqwest::Client::new(),
        poppy,
        stop: Some(stop),
        _dir: dir,
    }
}

impl Running {
    async fn call(
        &self,
        method: Method,
        project: &str,
        url: &str,
        body: Option<&Value>,
    ) -> (StatusCode, String, Option<String>) {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let mut request = self
            .http
            .request(method, &url)
            .header("X-Project-ID", project);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, response.text().await.unwrap_or_default(), location)
    }

    async fn get(&self, project: &str, location: &str) -> Value {
        let (status, text, _) = self.call(Method::GET, project, location, None).await;
        assert_eq!(status, StatusCode::OK, "GET {location}: {text}");
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {location} is not JSON ({e}): {text}"))
    }

    /// Polls until the service's status is `want`, returning its view.
    async fn wait_for(&self, project: &str, location: &str, want: &str) -> Value {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let view = self.get(project, location).await;
            if view["status"] == want {
                return view;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "service never became {want}; last view: {view:#}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    async fn stored(&self, project: &str, id: &ServiceId) -> Service {
        self.poppy
            .backends()
            .store
            .get(&ProjectId::new(project), id)
            .await
            .expect("the store answers")
            .expect("the service is stored")
    }

    async fn patch(&self, project: &str, location: &str, patch: Value) {
        let (status, text, _) = self
            .call(Method::PATCH, project, location, Some(&patch))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "PATCH {location}: {text}");
    }
}

fn detail<'a>(service: &'a Service, provider: &str) -> &'a ProviderDetail {
    service
        .provider_details
        .get(provider)
        .unwrap_or_else(|| panic!("no {provider} details in {:#?}", service.provider_details))
}

fn access_urls(view: &Value) -> Vec<String> {
    view["links"]
        .as_array()
        .map(|links| {
            links
                .iter()
                .filter(|l| l["rel"] == "access_url")
                .filter_map(|l| l["href"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_service_deploys_to_two_providers_survives_one_failing_and_recovers() {
    let Ok(moto) = std::env::var("POPPY_TEST_MOTO") else {
        return;
    };
    let fastly = FakeFastly::start(FASTLY_KEY).await;
    let poppy = start(&moto, &fastly).await;
    let project = format!("p{}", token());
    let domain = format!("www.t{}.com", token());

    // Create: both providers get the service.
    let body = json!({
        "name": "two cdns",
        "domains": [{"domain": domain}],
        "origins": [{"origin": "origin.example.org", "port": 80, "ssl": false}],
        "flavor_id": "two-cdns"
    });
    let (status, text, location) = poppy
        .call(Method::POST, &project, "/v1.0/services", Some(&body))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "POST: {text}");
    let location = location.expect("a Location");
    let id: ServiceId = location
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("the location ends with the service id");
    let view = poppy.wait_for(&project, &location, "deployed").await;
    let urls = access_urls(&view);
    assert!(
        urls.iter().any(|u| u.ends_with(".cloudfront.net")),
        "{urls:?}"
    );
    assert!(
        urls.iter().any(|u| u.ends_with(".global.prod.fastly.net")),
        "{urls:?}"
    );
    let deployed = poppy.stored(&project, &id).await;
    let cloudfront_before = detail(&deployed, "cloudfront").clone();
    let fastly_before = detail(&deployed, "fastly").clone();
    assert_eq!(cloudfront_before.status, ProviderStatus::Deployed);
    assert_eq!(fastly_before.status, ProviderStatus::Deployed);
    let fastly_id = fastly_before
        .provider_service_id
        .clone()
        .expect("a Fastly id");
    assert!(fastly
        .service(&fastly_id)
        .and_then(|s| s.active().cloned())
        .is_some());

    // Fastly starts rejecting everything: the PATCH fails on Fastly only.
    fastly.fail(
        None,
        ResponseTemplate::new(400).set_body_json(
            json!({"msg": "Bad request", "detail": "backend address rejected by policy"}),
        ),
        None,
    );
    let second = format!("cdn.t{}.com", token());
    poppy
        .patch(
            &project,
            &location,
            json!([{"op": "add", "path": "/domains/-", "value": {"domain": second}}]),
        )
        .await;
    let view = poppy.wait_for(&project, &location, "failed").await;
    let errors = view["errors"].to_string();
    assert!(
        errors.contains("backend address rejected by policy"),
        "errors: {errors}"
    );
    let failed = poppy.stored(&project, &id).await;
    // The provider that did not fail keeps its configuration, deployed and
    // without error (the flow records the definition it now runs).
    let cloudfront_after = detail(&failed, "cloudfront");
    assert_eq!(
        cloudfront_after.status,
        ProviderStatus::Deployed,
        "{cloudfront_after:?}"
    );
    assert_eq!(
        cloudfront_after.provider_service_id,
        cloudfront_before.provider_service_id
    );
    assert_eq!(cloudfront_after.error_info, None);
    for url in &cloudfront_before.access_urls {
        assert!(
            cloudfront_after.access_urls.contains(url),
            "CloudFront's access URL {url:?} is kept: {cloudfront_after:?}"
        );
    }
    let fastly_failed = detail(&failed, "fastly");
    assert_eq!(fastly_failed.status, ProviderStatus::Failed);
    assert_eq!(
        fastly_failed.provider_service_id,
        fastly_before.provider_service_id
    );
    let info = fastly_failed.error_info.clone().unwrap_or_default();
    assert!(
        info.contains("backend address rejected by policy"),
        "error_info: {info}"
    );
    assert!(!info.contains(FASTLY_KEY), "no secret in error_info");

    // Fastly is healthy again: the next PATCH recovers the service.
    fastly.heal();
    let third = format!("img.t{}.com", token());
    poppy
        .patch(
            &project,
            &location,
            json!([{"op": "add", "path": "/domains/-", "value": {"domain": third}}]),
        )
        .await;
    let view = poppy.wait_for(&project, &location, "deployed").await;
    assert_eq!(view["errors"], json!([]), "{view:#}");
    let recovered = poppy.stored(&project, &id).await;
    for provider in ["cloudfront", "fastly"] {
        let d = detail(&recovered, provider);
        assert_eq!(d.status, ProviderStatus::Deployed, "{provider}: {d:?}");
        assert_eq!(d.error_info, None, "{provider}: {d:?}");
        let domains: Vec<&str> = d.access_urls.iter().map(|u| u.domain.as_str()).collect();
        assert_eq!(domains.len(), 3, "{provider}: {domains:?}");
    }
    let active = fastly
        .service(&fastly_id)
        .and_then(|s| s.active().cloned())
        .expect("an active Fastly version");
    assert!(
        active.names("domain").contains(&third),
        "{:?}",
        active.names("domain")
    );

    // DELETE takes it off both providers.
    let (status, text, _) = poppy.call(Method::DELETE, &project, &location, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "DELETE: {text}");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (status, text, _) = poppy.call(Method::GET, &project, &location, None).await;
        if status == StatusCode::NOT_FOUND {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never deleted: {text}"
        );
        tokio::time::sleep(POLL).await;
    }
    assert!(
        fastly.service(&fastly_id).is_none(),
        "the Fastly service is gone"
    );
}
