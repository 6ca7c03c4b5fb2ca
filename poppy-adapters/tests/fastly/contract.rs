//! What the Fastly driver sends and how it reads Fastly's answers.

use std::time::Duration;

use poppy_adapters::provider::fastly::{FastlyConfig, FastlyProvider, API_KEY_ENV};
use poppy_adapters::Registry;
use poppy_core::model::{
    Access, CachingRule, CertificateType, Domain, HostHeaderType, Origin, ProjectId, Protocol,
    ProviderStatus, PurgeTarget, Restriction, Rule, Service, ServiceSpec,
};
use poppy_core::ports::{CdnProvider, PortError};
use poppy_core::testkit::conformance;
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::fake::{form, FakeFastly, FakePurge};

const KEY: &str = "fastly-test-key-0123456789";

fn config(fake: &FakeFastly) -> FastlyConfig {
    FastlyConfig {
        api_key: Some(KEY.to_owned()),
        api_url: fake.uri(),
        timeout_secs: 1,
        connect_timeout_secs: 1,
        ..FastlyConfig::default()
    }
}

fn provider(fake: &FakeFastly) -> FastlyProvider {
    match FastlyProvider::build(config(fake)) {
        Ok(p) => p,
        Err(e) => panic!("a valid config was refused: {e}"),
    }
}

fn origin(name: &str, rules: Vec<Rule>) -> Origin {
    Origin {
        origin: name.to_owned(),
        port: 80,
        ssl: false,
        rules,
        hostheadertype: HostHeaderType::Domain,
        hostheadervalue: None,
    }
}

fn simple_spec(domain: &str) -> ServiceSpec {
    ServiceSpec {
        name: "my site".to_owned(),
        domains: vec![Domain::http(domain)],
        origins: vec![origin("origin.example.com", vec![Rule::default_rule()])],
        caching: vec![CachingRule {
            name: "default".to_owned(),
            ttl: 3600,
            rules: vec![Rule::default_rule()],
        }],
        restrictions: Vec::new(),
        flavor_id: "standard".to_owned(),
        log_delivery: Default::default(),
    }
}

fn service(spec: ServiceSpec) -> Service {
    Service::new(ProjectId::new("project-1"), spec, 0)
}

/// Two domains, a path origin with a custom host header on https, three
/// caching rules, a referrer whitelist and a geo blacklist.
fn rich_spec() -> ServiceSpec {
    let mut spec = simple_spec("www.example.com");
    spec.domains.push(Domain {
        domain: "shop.scdn1.secure.example.net".to_owned(),
        protocol: Protocol::Https,
        certificate: Some(CertificateType::Shared),
    });
    spec.origins.push(Origin {
        origin: "images.example.com".to_owned(),
        port: 443,
        ssl: true,
        rules: vec![Rule::new("images", "/images/*")],
        hostheadertype: HostHeaderType::Custom,
        hostheadervalue: Some("img.example.com".to_owned()),
    });
    spec.caching.push(CachingRule {
        name: "no api".to_owned(),
        ttl: 0,
        rules: vec![Rule::new("api", "/api/*")],
    });
    spec.caching.push(CachingRule {
        name: "static".to_owned(),
        ttl: 86_400,
        rules: vec![Rule::new("s", "/static/*"), Rule::new("a", "assets/*.css")],
    });
    let mut referrer = Rule::new("partner", "/images/*");
    referrer.referrer = Some("partner.example.org".to_owned());
    let mut japan = Rule::new("jp", "/*");
    japan.geography = Some("Japan".to_owned());
    spec.restrictions = vec![
        Restriction {
            name: "partners".to_owned(),
            access: Access::Whitelist,
            rules: vec![referrer],
        },
        Restriction {
            name: "no japan".to_owned(),
            access: Access::Blacklist,
            rules: vec![japan],
        },
    ];
    spec
}

// ------------------------------------------------------------------ suite

#[tokio::test]
async fn fastly_conforms_to_the_provider_contract() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    conformance::provider::run_all_with_faults(&driver, &fake).await;
    assert_eq!(
        fake.service_count(),
        0,
        "the suite deletes every service it made"
    );
}

/// `POPPY_TEST_FASTLY=<api key>`: the suite against the real Fastly API
/// (it creates and deletes services named `poppy-<uuid>`).
#[tokio::test]
async fn live_fastly_conforms() {
    let Ok(key) = std::env::var("POPPY_TEST_FASTLY") else {
        return;
    };
    let config = FastlyConfig {
        api_key: Some(key),
        ..FastlyConfig::default()
    };
    let driver = FastlyProvider::build(config).expect("live Fastly config");
    conformance::provider::run_all(&driver).await;
}

// ---------------------------------------------------------- exact requests

#[tokio::test]
async fn create_sends_exactly_these_requests() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    let svc = service(simple_spec("www.example.com"));
    let deployment = driver.create(&svc).await.expect("create");

    let id = deployment.provider_service_id.clone();
    let v = format!("/service/{id}/version/1");
    let expected = vec![
        format!("GET /service/search?name=poppy-{}", svc.id),
        "POST /service".to_owned(),
        format!("GET /service/{id}/details"),
        format!("GET {v}/condition"),
        format!("GET {v}/domain"),
        format!("POST {v}/domain"),
        format!("GET {v}/backend"),
        format!("POST {v}/backend"),
        format!("GET {v}/response_object"),
        format!("GET {v}/cache_settings"),
        format!("PUT {v}/settings"),
        format!("PUT {v}/activate"),
    ];
    assert_eq!(fake.requests().await, expected);

    let requests = fake.raw_requests().await;
    for r in &requests {
        assert_eq!(
            r.headers.get("fastly-key").and_then(|v| v.to_str().ok()),
            Some(KEY),
            "every request carries the API key"
        );
    }
    let body = |i: usize| form(&requests[i].body);
    let created = body(1);
    assert_eq!(created.get("name"), Some(&format!("poppy-{}", svc.id)));
    assert_eq!(
        body(5).get("name").map(String::as_str),
        Some("www.example.com")
    );
    let backend = body(7);
    for (k, v) in [
        ("name", "poppy-origin-0"),
        ("address", "origin.example.com"),
        ("port", "80"),
        ("use_ssl", "false"),
        ("override_host", ""),
        ("request_condition", ""),
    ] {
        assert_eq!(
            backend.get(k).map(String::as_str),
            Some(v),
            "backend field {k}: {backend:?}"
        );
    }
    assert_eq!(
        body(10).get("general.default_ttl").map(String::as_str),
        Some("3600")
    );

    assert_eq!(deployment.status, ProviderStatus::Deployed);
    assert_eq!(deployment.links.len(), 1);
    assert_eq!(deployment.links[0].domain, "www.example.com");
    assert_eq!(
        deployment.links[0].href,
        "www.example.com.global.prod.fastly.net"
    );
    let stored = fake.service(&id).expect("the service exists");
    let active = stored.active().expect("version 1 is active");
    assert_eq!(active.number, 1);
    assert!(active.locked, "an activated version is locked");
    assert_eq!(stored.comment, "my site (project project-1)");
}

#[tokio::test]
async fn a_rich_service_becomes_conditions_response_objects_and_cache_settings() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    let svc = service(rich_spec());
    let deployment = driver.create(&svc).await.expect("create");
    let stored = fake
        .service(&deployment.provider_service_id)
        .expect("service");
    let v = stored.active().expect("active version").clone();

    assert_eq!(
        v.names("domain"),
        ["shop.scdn1.secure.example.net", "www.example.com"]
    );
    let hrefs: Vec<&str> = deployment.links.iter().map(|l| l.href.as_str()).collect();
    assert_eq!(
        hrefs,
        [
            "www.example.com.global.prod.fastly.net",
            "shop.scdn1.secure.example.net.global.ssl.fastly.net"
        ]
    );

    let images = v.object("backend", "poppy-origin-1").expect("path backend");
    assert_eq!(images["use_ssl"], "true");
    assert_eq!(images["port"], "443");
    assert_eq!(images["override_host"], "img.example.com");
    assert_eq!(images["ssl_cert_hostname"], "img.example.com");
    assert_eq!(images["request_condition"], "poppy-origin-1");
    let cond = v
        .object("condition", "poppy-origin-1")
        .expect("origin condition");
    assert_eq!(cond["statement"], r#"req.url.path ~ {"^/images/.*$"}"#);
    assert_eq!(cond["type"], "REQUEST");

    let never = v
        .object("cache_settings", "poppy-cache-1")
        .expect("ttl 0 rule");
    assert_eq!(
        (never["ttl"].as_str(), never["action"].as_str()),
        ("0", "pass")
    );
    let stat = v
        .object("condition", "poppy-cache-2")
        .expect("static condition");
    assert_eq!(
        stat["statement"],
        r#"req.url.path ~ {"^/static/.*$"} || req.url.path ~ {"^/assets/.*\.css$"}"#
    );
    assert_eq!(stat["type"], "CACHE");
    assert_eq!(v.settings["general.default_ttl"], "3600");

    let referrer = v
        .object("condition", "poppy-restriction-0-0")
        .expect("referrer condition");
    assert_eq!(
        referrer["statement"],
        r#"req.url.path ~ {"^/images/.*$"} && req.http.referer && !(req.http.referer ~ {"^[a-z][a-z0-9+.-]*://([^/]*\.)?partner\.example\.org(:[0-9]+)?(/|$)"})"#
    );
    let geo = v
        .object("condition", "poppy-restriction-1-0")
        .expect("geo condition");
    assert_eq!(
        geo["statement"],
        r#"(client.geo.country_code ~ {"^(JP)$"})"#
    );
    let deny = v
        .object("response_object", "poppy-restriction-1-0")
        .expect("403 object");
    assert_eq!(deny["status"], "403");
    assert_eq!(deny["request_condition"], "poppy-restriction-1-0");
}

// ------------------------------------------------------ versions, updates

#[tokio::test]
async fn update_clones_the_active_version_and_activates_the_clone() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    let svc = service(rich_spec());
    let id = driver
        .create(&svc)
        .await
        .expect("create")
        .provider_service_id;
    // Someone added a logging backend by hand: the driver leaves it alone.
    fake.add_object(
        &id,
        1,
        "backend",
        &[("name", "logs"), ("address", "logs.example.com")],
    );

    let mut changed = svc.clone();
    changed.spec = simple_spec("new.example.com");
    let updated = driver.update(&id, &changed).await.expect("update");
    assert_eq!(updated.provider_service_id, id);
    assert_eq!(updated.links[0].domain, "new.example.com");

    let stored = fake.service(&id).expect("service");
    assert_eq!(stored.versions.len(), 2, "one clone per update");
    let v1 = stored.version(1).expect("v1");
    assert!(
        !v1.active && v1.locked,
        "the old version is kept, locked and inactive"
    );
    let v2 = stored.active().expect("active");
    assert_eq!(v2.number, 2);
    assert_eq!(v2.names("domain"), ["new.example.com"]);
    assert_eq!(v2.names("backend"), ["logs", "poppy-origin-0"]);
    assert!(
        v2.names("condition").is_empty(),
        "{:?}",
        v2.names("condition")
    );
    assert!(v2.names("response_object").is_empty());
    assert!(v2.names("cache_settings").is_empty());
    let requests = fake.requests().await;
    assert!(
        requests.contains(&format!("PUT /service/{id}/version/1/clone")),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn an_interrupted_push_is_resumed_on_its_draft() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    let svc = service(simple_spec("www.example.com"));
    fake.fail(Some("/activate"), ResponseTemplate::new(503), Some(1));
    let error = driver.create(&svc).await.expect_err("activation failed");
    assert!(matches!(error, PortError::Unavailable { .. }), "{error:?}");

    let deployment = driver.create(&svc).await.expect("the retried create");
    assert_eq!(
        fake.service_count(),
        1,
        "the retry found the service it made"
    );
    let stored = fake
        .service(&deployment.provider_service_id)
        .expect("service");
    assert_eq!(
        stored.versions.len(),
        1,
        "the unactivated draft was reused, not cloned"
    );
    assert!(stored.active().is_some());
}

// ----------------------------------------------------------------- errors

#[tokio::test]
async fn throttling_is_rate_limited_with_fastlys_retry_after() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    let svc = service(simple_spec("www.example.com"));
    let throttled = ResponseTemplate::new(429)
        .insert_header("Retry-After", "7")
        .set_body_json(json!({"msg": "Too many requests"}));
    fake.fail(None, throttled, Some(1));
    match driver.create(&svc).await {
        Err(PortError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    driver
        .create(&svc)
        .await
        .expect("works once Fastly lets us");
    assert_eq!(fake.service_count(), 1);
}

#[tokio::test]
async fn server_errors_are_unavailable_and_validation_errors_invalid() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    let svc = service(simple_spec("www.example.com"));

    fake.fail(
        None,
        ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"),
        Some(1),
    );
    let error = driver.create(&svc).await.expect_err("502");
    assert!(
        matches!(
            error,
            PortError::Unavailable {
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );

    let rejected = ResponseTemplate::new(400)
        .set_body_json(json!({"msg": "Bad request", "detail": "Address is not a valid hostname"}));
    fake.fail(Some("/backend"), rejected, Some(1));
    match driver.create(&svc).await {
        Err(PortError::Invalid(message)) => {
            assert!(
                message.contains("Address is not a valid hostname"),
                "{message}"
            )
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn what_fastly_cannot_express_is_refused_before_any_request() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    let mut spec = simple_spec("www.example.com");
    spec.domains.push(Domain {
        domain: "secure.example.com".to_owned(),
        protocol: Protocol::Https,
        certificate: Some(CertificateType::San),
    });
    let mut odd = Rule::new("odd net", "/*");
    odd.client_ip = Some("10.0.0.0/12".to_owned());
    spec.restrictions = vec![Restriction {
        name: "nets".to_owned(),
        access: Access::Whitelist,
        rules: vec![odd],
    }];
    match driver.create(&service(spec)).await {
        Err(PortError::Invalid(message)) => {
            assert!(message.contains("/domains/1/certificate"), "{message}");
            assert!(
                message.contains("/restrictions/0/rules/0/client_ip"),
                "{message}"
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(fake.requests().await.is_empty(), "nothing reached Fastly");
}

#[tokio::test]
async fn the_api_key_never_shows() {
    let fake = FakeFastly::start("another-key").await;
    let driver = provider(&fake);
    assert!(!format!("{driver:?}").contains(KEY), "{driver:?}");
    assert!(!format!("{:?}", config(&fake)).contains(KEY));
    let error = driver
        .create(&service(simple_spec("www.example.com")))
        .await
        .expect_err("wrong key");
    assert!(
        matches!(&error, PortError::Invalid(m) if m.contains("API key")),
        "{error:?}"
    );
    assert!(!format!("{error:?} {error}").contains(KEY));
}

// ---------------------------------------------------------- purge, delete

#[tokio::test]
async fn purges_go_to_every_domain_or_the_whole_service() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    let mut spec = simple_spec("www.example.com");
    spec.domains.push(Domain::http("cdn.example.com"));
    let svc = service(spec);
    let id = driver
        .create(&svc)
        .await
        .expect("create")
        .provider_service_id;

    let url = PurgeTarget::Url("/img/a.png".to_owned());
    driver.purge(&id, &svc, &url, true).await.expect("hard");
    driver.purge(&id, &svc, &url, false).await.expect("soft");
    driver
        .purge(&id, &svc, &PurgeTarget::All, true)
        .await
        .expect("all");
    driver
        .purge(&id, &svc, &PurgeTarget::Url("/*".to_owned()), true)
        .await
        .expect("/* is everything");
    let purge = |target: &str, soft| FakePurge {
        target: target.to_owned(),
        soft,
    };
    assert_eq!(
        fake.purges(),
        vec![
            purge("url:www.example.com/img/a.png", false),
            purge("url:cdn.example.com/img/a.png", false),
            purge("url:www.example.com/img/a.png", true),
            purge("url:cdn.example.com/img/a.png", true),
            purge(&format!("all:{id}"), false),
            purge(&format!("all:{id}"), false),
        ]
    );

    for (target, hard) in [
        (PurgeTarget::All, false),
        (PurgeTarget::Url("/img/*".to_owned()), true),
    ] {
        let error = driver
            .purge(&id, &svc, &target, hard)
            .await
            .expect_err("refused");
        assert!(
            matches!(error, PortError::Invalid(_)),
            "{target:?}: {error:?}"
        );
    }
}

#[tokio::test]
async fn delete_deactivates_then_deletes_and_tolerates_a_missing_service() {
    let fake = FakeFastly::start(KEY).await;
    let driver = provider(&fake);
    let svc = service(simple_spec("www.example.com"));
    let id = driver
        .create(&svc)
        .await
        .expect("create")
        .provider_service_id;
    let before = fake.requests().await.len();
    driver.delete(&id, &svc).await.expect("delete");
    assert_eq!(
        fake.requests().await[before..],
        [
            format!("GET /service/{id}/details"),
            format!("PUT /service/{id}/version/1/deactivate"),
            format!("DELETE /service/{id}"),
        ]
    );
    assert_eq!(fake.service_count(), 0);
    driver
        .delete(&id, &svc)
        .await
        .expect("already gone is fine");
    let error = driver.status(&id).await.expect_err("gone");
    assert!(matches!(error, PortError::NotFound(_)), "{error:?}");
}

// ------------------------------------------------------------------ config

#[tokio::test]
async fn the_registry_builds_fastly_from_options() {
    let fake = FakeFastly::start(KEY).await;
    let mut options = toml::Table::new();
    options.insert("api_key".to_owned(), KEY.into());
    options.insert("api_url".to_owned(), fake.uri().into());
    let registry = Registry::builtin();
    let driver = registry
        .provider("fastly", "fastly-eu", &options)
        .expect("builds");
    assert_eq!(driver.name(), "fastly-eu");
    assert!(driver.is_alive().await);

    options.insert("apikey".to_owned(), "x".into());
    let error = registry
        .provider("fastly", "fastly", &options)
        .expect_err("unknown key");
    assert!(error.to_string().contains("apikey"), "{error}");
}

#[test]
fn a_missing_key_names_the_environment_variable() {
    if std::env::var(API_KEY_ENV).is_ok() {
        return;
    }
    let error = FastlyProvider::build(FastlyConfig::default()).expect_err("no key");
    assert!(error.to_string().contains(API_KEY_ENV), "{error}");
    let error = FastlyProvider::build(FastlyConfig {
        api_key: Some("k".to_owned()),
        api_url: "not a url".to_owned(),
        ..FastlyConfig::default()
    })
    .expect_err("bad url");
    assert!(error.to_string().contains("api_url"), "{error}");
}
