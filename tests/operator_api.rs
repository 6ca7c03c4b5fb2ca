//! The operator API, SSL certificates and analytics over real HTTP on
//! loopback (reference §2.6.8, §2.8, §2.9): every endpoint with its
//! negative cases, and the role check that keeps tenants out of
//! `/v1.0/admin/…`.
//!
//! The provider is the mock driver configured under the name `akamai`, so
//! the reference's own paths (`/v1.0/admin/provider/akamai/…`) are the ones
//! exercised. Jobs run one at a time through the worker's runner (no
//! in-process worker), so every state is reached deterministically. The
//! same flows against the Akamai contract server wait for the Akamai
//! driver's certificate capability.

use std::sync::Arc;
use std::time::Duration;

use poppy::adapters::metrics::memory::MemoryMetrics;
use poppy::adapters::Registry;
use poppy::config::Config;
use poppy::core::ports::{MetricPoint, MetricType, MetricsSource};
use poppy::worker::Runner;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// Providers and flavor of every server here.
const CONFIG: &str = r#"
[[providers]]
name = "akamai"
driver = "mock"
certificates = { mode = "queued", polls = 0, san_cert_cnames = ["san1.example.net"], sni_cert_cnames = ["sni1.example.net"], refuse = ["www.refused.com"] }

[[flavors]]
id = "standard"
providers = ["akamai"]
"#;

/// Who calls.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Caller {
    /// `X-Roles: admin`.
    Operator,
    /// `X-Roles: member`.
    Tenant,
    /// No `X-Roles`.
    Anonymous,
}

struct Server {
    base: String,
    http: reqwest::Client,
    runner: Runner,
    metrics: MemoryMetrics,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

struct Resp {
    status: u16,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl std::fmt::Display for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text)
    }
}

/// A last change to a test server's configuration.
type ConfigEdit = Box<dyn FnOnce(&mut Config)>;

/// What to change in the configuration and the HTTP settings.
#[derive(Default)]
struct Options {
    metrics: bool,
    edit: Option<ConfigEdit>,
    operator_token: Option<&'static str>,
}

impl Server {
    async fn start() -> Self {
        Self::with(Options {
            metrics: true,
            ..Options::default()
        })
        .await
    }

    async fn with(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::from_toml(CONFIG).expect("test config parses");
        config.data_dir = dir.path().to_owned();
        config.server.worker = false;
        config.worker.backoff_base_ms = 1;
        config.worker.backoff_max_ms = 5;
        config.worker.max_attempts = 3;
        let metrics = MemoryMetrics::new();
        let mut registry = Registry::builtin();
        if options.metrics {
            let source = metrics.clone();
            registry.register_metrics(
                "seeded",
                Arc::new(move |_| Ok(Arc::new(source.clone()) as Arc<dyn MetricsSource>)),
            );
            config.metrics.driver = "seeded".to_owned();
        }
        if let Some(edit) = options.edit {
            edit(&mut config);
        }
        let poppy = poppy::assemble(&config, &registry)
            .await
            .unwrap_or_else(|e| panic!("assemble: {e}"));
        let mut http_config = poppy.http_config();
        if let Some(token) = options.operator_token {
            let env = |_: &str| Some(token.to_owned());
            config.admin.token_env = Some("POPPY_TEST_OPERATOR_TOKEN".to_owned());
            http_config.operator = config.admin.operator_auth(env).expect("token auth");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let api = poppy.api();
        tokio::spawn(async move {
            let _ = poppy::http::serve(listener, api, http_config, async {
                let _ = rx.await;
            })
            .await;
        });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            runner: poppy.runner(),
            metrics,
            stop: Some(tx),
            _dir: dir,
        }
    }

    async fn send(
        &self,
        method: Method,
        project: Option<&str>,
        caller: Caller,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(project) = project {
            request = request.header("X-Project-ID", project);
        }
        match caller {
            Caller::Operator => request = request.header("X-Roles", "member,admin"),
            Caller::Tenant => request = request.header("X-Roles", "member"),
            Caller::Anonymous => {}
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        Resp {
            status: response.status().as_u16(),
            text: response.text().await.unwrap_or_default(),
        }
    }

    async fn tenant(
        &self,
        method: Method,
        project: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Resp {
        self.send(method, Some(project), Caller::Tenant, path, body, &[])
            .await
    }

    async fn operator(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        self.send(method, Some("operator"), Caller::Operator, path, body, &[])
            .await
    }

    /// Runs queued jobs until none is left.
    async fn run_jobs(&self) -> usize {
        let mut ran = 0;
        while self.runner.run_one().await.expect("run a job").is_some() {
            ran += 1;
            assert!(ran < 200, "jobs keep coming");
        }
        ran
    }

    /// A deployed service of `project` with one https `san` domain; its id.
    async fn san_service(&self, project: &str, domain: &str) -> String {
        let body = json!({"name": "shop", "flavor_id": "standard",
            "domains": [{"domain": domain, "protocol": "https", "certificate": "san"}],
            "origins": [{"origin": "origin.example.com"}]});
        let resp = self
            .tenant(Method::POST, project, "/v1.0/services", Some(&body))
            .await;
        assert_eq!(resp.status, 202, "{resp}");
        self.run_jobs().await;
        let found = self
            .operator(Method::GET, &format!("/v1.0/admin/domains/{domain}"), None)
            .await;
        assert_eq!(found.status, 200, "{found}");
        assert_eq!(found.json()["status"], "deployed", "{found}");
        found.json()["id"].as_str().expect("service id").to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

fn domain() -> String {
    format!("www.{}.com", unique("d"))
}

fn cert_body(domain: &str, cert_type: &str) -> Value {
    json!({"flavor_id": "standard", "cert_type": cert_type, "domain_name": domain})
}

/// Every operator endpoint, with a body where it takes one.
fn admin_endpoints() -> Vec<(Method, String, Option<Value>)> {
    let sid = "96c4e9ab-4d5e-4f63-9a0f-5d7f3a1b2c3d";
    let p = "/v1.0/admin/provider/akamai";
    vec![
        (
            Method::GET,
            "/v1.0/admin/services?status=deployed".into(),
            None,
        ),
        (
            Method::POST,
            "/v1.0/admin/services/action".into(),
            Some(json!({"project_id": "x", "action": "enable"})),
        ),
        (
            Method::POST,
            "/v1.0/admin/services/status".into(),
            Some(json!({})),
        ),
        (
            Method::PATCH,
            format!("/v1.0/admin/services/{sid}/provider_details"),
            Some(json!({})),
        ),
        (
            Method::GET,
            "/v1.0/admin/domains/www.example.com".into(),
            None,
        ),
        (
            Method::GET,
            "/v1.0/admin/domains?provider_url=a.b.c.d.e".into(),
            None,
        ),
        (Method::GET, "/v1.0/admin/limits/p1".into(), None),
        (
            Method::PUT,
            "/v1.0/admin/limits/p1".into(),
            Some(json!({"limit": 3})),
        ),
        (
            Method::GET,
            "/v1.0/admin/certificates?status=deployed".into(),
            None,
        ),
        (
            Method::PATCH,
            "/v1.0/admin/certificates/www.example.com".into(),
            Some(json!([])),
        ),
        (Method::POST, format!("{p}/service"), Some(json!({}))),
        (
            Method::POST,
            format!("{p}/background_job"),
            Some(json!({"job_type": "x"})),
        ),
        (Method::GET, format!("{p}/background_job/san_mapping"), None),
        (
            Method::PUT,
            format!("{p}/background_job/san_mapping"),
            Some(json!([])),
        ),
        (Method::GET, format!("{p}/ssl_certificate/retry_list"), None),
        (
            Method::PUT,
            format!("{p}/ssl_certificate/retry_list"),
            Some(json!([])),
        ),
        (
            Method::POST,
            format!("{p}/ssl_certificate/retry_list"),
            None,
        ),
        (
            Method::GET,
            format!("{p}/ssl_certificate/config/san1.example.net"),
            None,
        ),
        (
            Method::POST,
            format!("{p}/ssl_certificate/config/san1.example.net"),
            Some(json!({})),
        ),
        (
            Method::GET,
            format!("{p}/ssl_certificate/sni_config/sni1.example.net"),
            None,
        ),
        (
            Method::POST,
            format!("{p}/ssl_certificate/sni_config/sni1.example.net"),
            Some(json!({})),
        ),
    ]
}

// ------------------------------------------------------------ role checks

#[tokio::test]
async fn tenants_get_403_from_every_admin_endpoint_and_operators_get_in() {
    let server = Server::start().await;
    let mut failures = Vec::new();
    for (method, path, body) in admin_endpoints() {
        for caller in [Caller::Tenant, Caller::Anonymous] {
            let resp = server
                .send(
                    method.clone(),
                    Some("p1"),
                    caller,
                    &path,
                    body.as_ref(),
                    &[],
                )
                .await;
            if resp.status != 403 || !resp.message().contains("X-Roles") {
                failures.push(format!("{caller:?} {method} {path}: {resp}"));
            }
        }
        let resp = server
            .send(
                method.clone(),
                Some("p1"),
                Caller::Operator,
                &path,
                body.as_ref(),
                &[],
            )
            .await;
        if resp.status == 403 || resp.status == 405 || resp.status == 500 {
            failures.push(format!("operator {method} {path}: {resp}"));
        }
        // No project: the usual 400 comes first.
        let resp = server
            .send(
                method.clone(),
                None,
                Caller::Tenant,
                &path,
                body.as_ref(),
                &[],
            )
            .await;
        if resp.status != 400 {
            failures.push(format!("no project {method} {path}: {resp}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The tenant endpoints need no role.
    let resp = server
        .send(
            Method::GET,
            Some("p1"),
            Caller::Anonymous,
            "/v1.0/services",
            None,
            &[],
        )
        .await;
    assert_eq!(resp.status, 200, "{resp}");
}

#[tokio::test]
async fn an_operator_token_lets_in_and_a_wrong_one_does_not() {
    let server = Server::with(Options {
        operator_token: Some("t0ken"),
        ..Options::default()
    })
    .await;
    let path = "/v1.0/admin/limits/p1";
    let with = |token: &'static str| vec![("X-Admin-Token", token)];
    let resp = server
        .send(
            Method::GET,
            Some("p1"),
            Caller::Anonymous,
            path,
            None,
            &with("t0ken"),
        )
        .await;
    assert_eq!(resp.status, 200, "{resp}");
    let resp = server
        .send(
            Method::GET,
            Some("p1"),
            Caller::Anonymous,
            path,
            None,
            &with("t0ke"),
        )
        .await;
    assert_eq!(resp.status, 403, "{resp}");
    assert!(
        !resp.text.contains("t0ken"),
        "the token is never shown: {resp}"
    );
    // The role still works alongside the token.
    let resp = server.operator(Method::GET, path, None).await;
    assert_eq!(resp.status, 200, "{resp}");
}

#[tokio::test]
async fn an_open_admin_section_lets_every_caller_in() {
    let server = Server::with(Options {
        edit: Some(Box::new(|c: &mut Config| c.admin.open = true)),
        ..Options::default()
    })
    .await;
    let resp = server
        .send(
            Method::GET,
            Some("p1"),
            Caller::Anonymous,
            "/v1.0/admin/limits/p1",
            None,
            &[],
        )
        .await;
    assert_eq!(resp.status, 200, "{resp}");
}

#[tokio::test]
async fn an_admin_section_that_recognises_nobody_is_refused() {
    let mut config = Config::from_toml("[admin]\nrole_header = \"\"\n").expect("parses");
    config.data_dir = std::env::temp_dir();
    let err = config.check().unwrap_err().to_string();
    assert!(err.contains("admin"), "{err}");
    let err = Config::from_toml("[admin]\nrole_header = \"X-Roles\"\nrol = \"x\"\n").unwrap_err();
    assert!(err.contains("rol"), "{err}");
}

// ------------------------------------------------------ tenant certificates

#[tokio::test]
async fn a_tenant_creates_reads_and_deletes_its_own_certificates_only() {
    let server = Server::start().await;
    let (a, b) = (unique("pa"), unique("pb"));
    let d = domain();
    let resp = server
        .tenant(
            Method::POST,
            &a,
            "/v1.0/ssl_certificate",
            Some(&cert_body(&d, "sni")),
        )
        .await;
    assert_eq!((resp.status, resp.text.as_str()), (202, ""), "{resp}");

    let path = format!("/v1.0/ssl_certificate/{d}");
    let resp = server.tenant(Method::GET, &a, &path, None).await;
    assert_eq!(resp.status, 200, "{resp}");
    let body = resp.json();
    let keys: Vec<&String> = body.as_object().expect("one object").keys().collect();
    assert_eq!(
        keys.len(),
        6,
        "flavor_id, domain_name, cert_type, cert_details, status, project_id: {body}"
    );
    assert_eq!(body["project_id"], a.as_str());
    assert_eq!(body["status"], "create_in_progress");
    assert_eq!(body["cert_type"], "sni");

    // The queued mock parks it on the retry list (the original's enqueue).
    server.run_jobs().await;
    let list = server
        .operator(
            Method::GET,
            "/v1.0/admin/provider/akamai/ssl_certificate/retry_list",
            None,
        )
        .await;
    assert_eq!(list.status, 200, "{list}");
    assert!(list.text.contains(&d), "{list}");

    // Another tenant sees nothing and deletes nothing.
    let resp = server.tenant(Method::GET, &b, &path, None).await;
    assert_eq!(resp.status, 404, "{resp}");
    let resp = server
        .tenant(Method::DELETE, &b, &format!("{path}?cert_type=sni"), None)
        .await;
    assert_eq!(resp.status, 404, "{resp}");
    // Wrong or unknown type.
    let resp = server.tenant(Method::DELETE, &a, &path, None).await;
    assert_eq!(resp.status, 404, "san is the default type: {resp}");
    let resp = server
        .tenant(Method::DELETE, &a, &format!("{path}?cert_type=bogus"), None)
        .await;
    assert_eq!(resp.status, 400, "{resp}");
    // Invalid domains in the URL.
    for bad in ["ab", "not_a_domain!", "a..b.com"] {
        let resp = server
            .tenant(
                Method::GET,
                &a,
                &format!("/v1.0/ssl_certificate/{bad}"),
                None,
            )
            .await;
        assert_eq!(resp.status, 400, "{bad}: {resp}");
    }

    let resp = server
        .tenant(Method::DELETE, &a, &format!("{path}?cert_type=sni"), None)
        .await;
    assert_eq!((resp.status, resp.text.as_str()), (202, ""), "{resp}");
    server.run_jobs().await;
    let resp = server.tenant(Method::GET, &a, &path, None).await;
    assert_eq!(resp.status, 404, "{resp}");
}

#[tokio::test]
async fn certificate_requests_are_validated_without_network_lookups() {
    let server = Server::start().await;
    let p = unique("p");
    let long = format!("{}.com", "a".repeat(260));
    let cases = [
        json!({"flavor_id": "standard", "domain_name": "www.abc.com"}),
        json!({"flavor_id": "standard", "cert_type": "not_a_valid_cert_type", "domain_name": "www.abc.com"}),
        json!({"flavor_id": "standard", "cert_type": "san"}),
        json!({"cert_type": "san", "domain_name": "www.abc.com"}),
        json!({"flavor_id": "not_a_valid_flavor_id", "cert_type": "san", "domain_name": domain()}),
        json!({"flavor_id": "standard", "cert_type": "san", "domain_name": "ab"}),
        json!({"flavor_id": "standard", "cert_type": "san", "domain_name": long}),
        json!({"flavor_id": "standard", "cert_type": "san", "domain_name": ""}),
        json!({"flavor_id": "standard", "cert_type": "", "domain_name": "meowmeow.com"}),
        json!({"flavor_id": "standard", "cert_type": "san", "domain_name": "abc.com"}),
        json!({"flavor_id": "standard", "cert_type": "san", "domain_name": "www.abc.com", "extra": 1}),
    ];
    for body in cases {
        let resp = server
            .tenant(Method::POST, &p, "/v1.0/ssl_certificate", Some(&body))
            .await;
        assert_eq!(resp.status, 400, "{body}: {resp}");
    }
    // A domain under a TLD nobody registered is fine: no WHOIS, no DNS.
    let unregistered = format!("www.{}.notarealtld", unique("x"));
    let resp = server
        .tenant(
            Method::POST,
            &p,
            "/v1.0/ssl_certificate",
            Some(&cert_body(&unregistered, "san")),
        )
        .await;
    assert_eq!(resp.status, 202, "{resp}");
    // The same domain twice, and a body naming another project.
    let resp = server
        .tenant(
            Method::POST,
            &p,
            "/v1.0/ssl_certificate",
            Some(&cert_body(&unregistered, "sni")),
        )
        .await;
    assert_eq!(resp.status, 400, "{resp}");
    assert!(
        resp.message().contains("Certificate already exists"),
        "{resp}"
    );
    let mut foreign = cert_body(&domain(), "san");
    foreign["project_id"] = json!("someone-else");
    let resp = server
        .tenant(Method::POST, &p, "/v1.0/ssl_certificate", Some(&foreign))
        .await;
    assert_eq!(resp.status, 403, "{resp}");
}

// -------------------------------------------------- certificates (operator)

#[tokio::test]
async fn operators_list_and_set_certificate_statuses() {
    let server = Server::start().await;
    let p = unique("p");
    let d = "www.refused.com";
    let resp = server
        .tenant(
            Method::POST,
            &p,
            "/v1.0/ssl_certificate",
            Some(&cert_body(d, "san")),
        )
        .await;
    assert_eq!(resp.status, 202, "{resp}");
    let recreate = json!([{"flavor_id": "standard", "domain_name": d, "project_id": p,
                           "validate_service": false}]);
    let retry = "/v1.0/admin/provider/akamai/ssl_certificate/retry_list";
    server.run_jobs().await;
    let resp = server.operator(Method::PUT, retry, Some(&recreate)).await;
    assert_eq!(resp.status, 200, "{resp}");
    let resp = server.operator(Method::POST, retry, None).await;
    assert_eq!(resp.status, 202, "{resp}");
    server.run_jobs().await;

    let failed = server
        .operator(Method::GET, "/v1.0/admin/certificates?status=failed", None)
        .await;
    assert_eq!(failed.status, 200, "{failed}");
    assert_eq!(failed.json(), json!([{"domain_name": d}]));
    let resp = server
        .operator(Method::GET, "/v1.0/admin/certificates?status=bogus", None)
        .await;
    assert_eq!(resp.status, 400, "{resp}");

    let path = format!("/v1.0/admin/certificates/{d}");
    let patch = json!([{"op": "replace", "path": "status", "value": "cancelled"}]);
    let resp = server.operator(Method::PATCH, &path, Some(&patch)).await;
    assert_eq!((resp.status, resp.text.as_str()), (204, ""), "{resp}");
    let cancelled = server
        .operator(
            Method::GET,
            "/v1.0/admin/certificates?status=cancelled",
            None,
        )
        .await;
    assert_eq!(cancelled.json(), json!([{"domain_name": d}]));
    let resp = server
        .operator(
            Method::PATCH,
            "/v1.0/admin/certificates/www.nocert.com",
            Some(&patch),
        )
        .await;
    assert_eq!(resp.status, 404, "{resp}");
    for bad in [
        json!([{"op": "replace", "path": "status", "value": "gone"}]),
        json!([{"op": "remove", "path": "status"}]),
        json!({"status": "failed"}),
    ] {
        let resp = server.operator(Method::PATCH, &path, Some(&bad)).await;
        assert_eq!(resp.status, 400, "{bad}: {resp}");
    }
}

#[tokio::test]
async fn the_akamai_queues_jobs_and_settings_work_end_to_end() {
    let server = Server::start().await;
    let p = unique("p");
    let d = domain();
    server.san_service(&p, &d).await;
    let base = "/v1.0/admin/provider/akamai";
    let resp = server
        .tenant(
            Method::POST,
            &p,
            "/v1.0/ssl_certificate",
            Some(&cert_body(&d, "san")),
        )
        .await;
    assert_eq!(resp.status, 202, "{resp}");
    server.run_jobs().await;

    let retry = format!("{base}/ssl_certificate/retry_list");
    let resp = server.operator(Method::POST, &retry, None).await;
    assert_eq!(resp.status, 202, "{resp}");
    assert_eq!(
        resp.json()["processing"].as_array().map(Vec::len),
        Some(1),
        "{resp}"
    );
    server.run_jobs().await;

    let mapping = format!("{base}/background_job/san_mapping");
    let queue = server.operator(Method::GET, &mapping, None).await;
    assert_eq!(queue.status, 200, "{queue}");
    let items = queue.json();
    assert_eq!(items[0]["domain_name"], d.as_str(), "{items}");
    // An operator can mark it activated by rewriting the queue.
    let mut activated = items.clone();
    activated[0]["property_activated"] = json!(true);
    let resp = server
        .operator(Method::PUT, &mapping, Some(&activated))
        .await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.json()["queue"], activated);
    assert_eq!(resp.json()["deleted"], items);
    let resp = server
        .operator(Method::PUT, &mapping, Some(&json!([{"domain_name": d}])))
        .await;
    assert_eq!(resp.status, 400, "incomplete items: {resp}");

    let job = format!("{base}/background_job");
    let resp = server
        .operator(
            Method::POST,
            &job,
            Some(&json!({"job_type": "akamai_check_and_update_cert_status"})),
        )
        .await;
    assert_eq!(resp.status, 202, "{resp}");
    assert_eq!(
        resp.json()["sent"].as_array().map(Vec::len),
        Some(1),
        "{resp}"
    );
    server.run_jobs().await;
    let cert = server
        .tenant(Method::GET, &p, &format!("/v1.0/ssl_certificate/{d}"), None)
        .await;
    assert_eq!(cert.json()["status"], "deployed", "{cert}");
    assert_eq!(
        cert.json()["cert_details"]["akamai"]["extra_info"]["san cert"],
        "san1.example.net"
    );
    let service = server
        .operator(Method::GET, &format!("/v1.0/admin/domains/{d}"), None)
        .await;
    assert_eq!(service.status, 200, "{service}");
    let resp = server
        .operator(Method::POST, &job, Some(&json!({"job_type": "nope"})))
        .await;
    assert_eq!(resp.status, 400, "{resp}");
    let resp = server
        .operator(
            Method::POST,
            &job,
            Some(&json!({"job_type": "akamai_update_papi_property_for_mod_san", "action": "add"})),
        )
        .await;
    assert_eq!(resp.status, 202, "{resp}");

    // Shared certificate settings.
    let config = format!("{base}/ssl_certificate/config/san1.example.net");
    let resp = server
        .operator(Method::POST, &config, Some(&json!({"spsId": 7})))
        .await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.json(), json!({"spsId": 7, "jobId": 70}));
    let resp = server.operator(Method::GET, &config, None).await;
    assert_eq!(resp.json(), json!({"spsId": 7, "jobId": 70}));
    let resp = server
        .operator(Method::POST, &config, Some(&json!({"spsId": 0})))
        .await;
    assert_eq!(resp.status, 400, "{resp}");
    let limit = format!("{base}/ssl_certificate/config/san_cert_hostname_limit");
    let resp = server
        .operator(
            Method::POST,
            &limit,
            Some(&json!({"san_cert_hostname_limit": 50})),
        )
        .await;
    assert_eq!((resp.status, resp.text.as_str()), (202, ""), "{resp}");
    let resp = server.operator(Method::GET, &limit, None).await;
    assert_eq!(resp.json(), json!({"san_cert_hostname_limit": 50}));
    let resp = server
        .operator(
            Method::GET,
            &format!("{base}/ssl_certificate/config/other.example.net"),
            None,
        )
        .await;
    assert_eq!(resp.status, 400, "{resp}");
    let sni = format!("{base}/ssl_certificate/sni_config/sni1.example.net");
    let resp = server
        .operator(
            Method::POST,
            &sni,
            Some(&json!({"enrollmentId": 3, "enabled": true})),
        )
        .await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(
        server.operator(Method::GET, &sni, None).await.json(),
        json!({"enrollmentId": 3, "enabled": true})
    );
    let resp = server
        .operator(Method::POST, &sni, Some(&json!({"spsId": 3})))
        .await;
    assert_eq!(resp.status, 400, "{resp}");

    // A provider that is not configured.
    let resp = server
        .operator(
            Method::GET,
            "/v1.0/admin/provider/fastly/ssl_certificate/retry_list",
            None,
        )
        .await;
    assert_eq!(resp.status, 404, "{resp}");
}

// ------------------------------------------------ access URLs and migration

#[tokio::test]
async fn operators_move_access_urls_and_migrate_domains() {
    let server = Server::start().await;
    let p = unique("p");
    let d = domain();
    let id = server.san_service(&p, &d).await;
    let stored = server
        .operator(Method::GET, &format!("/v1.0/admin/domains/{d}"), None)
        .await;
    let provider_url = format!("{d}.mock.poppycdn.net");
    let path = format!("/v1.0/admin/services/{id}/provider_details");
    let moved = format!("{d}.cdn9.example.net");
    let body = json!({"project_id": p, "domain_name": d, "operator_url": moved,
                      "provider_url": provider_url});
    let resp = server.operator(Method::PATCH, &path, Some(&body)).await;
    assert_eq!(
        (resp.status, resp.text.as_str()),
        (201, ""),
        "{resp} (service {stored})"
    );
    let resp = server.operator(Method::PATCH, &path, Some(&body)).await;
    assert_eq!(resp.status, 202, "unchanged: {resp}");
    let mut other = body.clone();
    other["operator_url"] = json!(format!("{d}.cdn8.example.net"));
    other["provider_url"] = json!("elsewhere.example.net");
    let resp = server.operator(Method::PATCH, &path, Some(&other)).await;
    assert_eq!(resp.status, 400, "{resp}");
    let mut missing = body.clone();
    missing["domain_name"] = json!(domain());
    let resp = server.operator(Method::PATCH, &path, Some(&missing)).await;
    assert_eq!(resp.status, 404, "{resp}");
    let resp = server
        .operator(
            Method::PATCH,
            "/v1.0/admin/services/5d3c0f6e-0000-4000-8000-000000000009/provider_details",
            Some(&body),
        )
        .await;
    assert_eq!(resp.status, 404, "{resp}");
    let resp = server
        .operator(
            Method::PATCH,
            "/v1.0/admin/services/nope/provider_details",
            Some(&body),
        )
        .await;
    assert_eq!(resp.status, 400, "{resp}");
    let resp = server
        .operator(Method::PATCH, &path, Some(&json!({"project_id": p})))
        .await;
    assert_eq!(resp.status, 400, "{resp}");

    let migrate = "/v1.0/admin/provider/akamai/service";
    let body = json!({"project_id": p, "service_id": id, "domain_name": d,
                      "new_cert": "san2.example.net"});
    let resp = server.operator(Method::POST, migrate, Some(&body)).await;
    assert_eq!((resp.status, resp.text.as_str()), (202, ""), "{resp}");
    let mut unknown = body.clone();
    unknown["service_id"] = json!("5d3c0f6e-0000-4000-8000-000000000009");
    let resp = server.operator(Method::POST, migrate, Some(&unknown)).await;
    assert_eq!(resp.status, 404, "{resp}");
    assert!(resp.message().contains("could not be found"), "{resp}");
    let mut bad = body.clone();
    bad["domain_name"] = json!("not a domain");
    let resp = server.operator(Method::POST, migrate, Some(&bad)).await;
    assert_eq!(resp.status, 400, "{resp}");
    let mut extra = body.clone();
    extra["cert_status"] = json!("failed");
    let resp = server.operator(Method::POST, migrate, Some(&extra)).await;
    assert_eq!(resp.status, 400, "{resp}");
}

// --------------------------------------------------------------- analytics

#[tokio::test]
async fn analytics_answer_the_domains_metrics_and_refuse_wrong_queries() {
    let server = Server::start().await;
    let p = unique("p");
    let d = domain();
    let id = server.san_service(&p, &d).await;
    let point = |t, v| MetricPoint {
        timestamp: t,
        value: v,
    };
    server.metrics.record(
        &d,
        MetricType::HttpResponseCode2xx,
        "EMEA",
        &[point(1_451_606_400, 5.0), point(1_451_610_000, 7.0)],
    );
    let path = format!("/v1.0/services/{id}/analytics");
    let window = "startTime=2016-01-01T00:00:00&endTime=2016-01-02T00:00:00";
    let resp = server
        .tenant(
            Method::GET,
            &p,
            &format!("{path}?domain={d}&metricType=httpResponseCode_2XX&{window}"),
            None,
        )
        .await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(
        resp.json(),
        json!({"domain": d, "httpResponseCode_2XX": {"EMEA": [
                {"timestamp": "2016-01-01T00:00:00", "count": 5.0},
                {"timestamp": "2016-01-01T01:00:00", "count": 7.0}]},
               "provider": "akamai", "flavor": "standard"})
    );
    assert!(resp.text.starts_with("{\"domain\""), "key order: {resp}");

    let bad = [
        format!("{path}?metricType=requestCount"),
        format!("{path}?domain={d}"),
        format!("{path}?domain={d}&metricType=bytes"),
        format!("{path}?domain={d}&metricType=requestCount&startTime=yesterday"),
        format!(
            "{path}?domain={d}&metricType=requestCount&startTime=2016-01-02T00:00:00&endTime=2016-01-01T00:00:00"
        ),
        format!("/v1.0/services/not-a-uuid/analytics?domain={d}&metricType=requestCount"),
    ];
    for uri in &bad {
        let resp = server.tenant(Method::GET, &p, uri, None).await;
        assert_eq!(resp.status, 400, "{uri}: {resp}");
    }
    // Another project's domain, and an unknown one.
    for (project, domain) in [
        (unique("other"), d.clone()),
        (p.clone(), "www.unknown-x.com".to_owned()),
    ] {
        let resp = server
            .tenant(
                Method::GET,
                &project,
                &format!("{path}?domain={domain}&metricType=requestCount"),
                None,
            )
            .await;
        assert_eq!(resp.status, 404, "{resp}");
    }
    // The metrics backend is down: 503, not the original's 500.
    server.metrics.fail_next(1);
    let resp = server
        .tenant(
            Method::GET,
            &p,
            &format!("{path}?domain={d}&metricType=requestCount"),
            None,
        )
        .await;
    assert_eq!(resp.status, 503, "{resp}");
}

#[tokio::test]
async fn analytics_without_a_metrics_backend_are_503() {
    let server = Server::with(Options::default()).await;
    let p = unique("p");
    let d = domain();
    let id = server.san_service(&p, &d).await;
    let resp = server
        .tenant(
            Method::GET,
            &p,
            &format!("/v1.0/services/{id}/analytics?domain={d}&metricType=bandwidthOut"),
            None,
        )
        .await;
    assert_eq!(resp.status, 503, "{resp}");
    assert!(resp.message().contains("metrics"), "{resp}");
}
