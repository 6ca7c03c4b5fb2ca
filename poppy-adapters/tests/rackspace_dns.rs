//! The Rackspace Cloud DNS driver against a contract fake of its documented
//! API (identity tokens, domains, records, asynchronous jobs, rate limits)
//! on loopback, and live (`POPPY_TEST_RACKSPACE_DNS=<options file>`).

#![cfg(feature = "dns-rackspace")]

#[path = "rackspace_dns/fake.rs"]
mod fake;

use std::time::Duration;

use fake::{Fake, API_KEY, USERNAME};
use poppy_adapters::dns::rackspace::{RackspaceDns, RackspaceDnsConfig};
use poppy_core::model::{
    CertificateType, Domain, ProjectId, Protocol, ProviderLink, Service, ServiceSpec,
};
use poppy_core::ports::{DnsManager, PortError};
use poppy_core::testkit::{conformance, fixtures};

const URL: &str = "poppycdn.test";

fn config(fake: &Fake) -> RackspaceDnsConfig {
    RackspaceDnsConfig {
        username: USERNAME.to_owned(),
        api_key: API_KEY.to_owned(),
        auth_endpoint: fake.auth_endpoint(),
        email: "ops@poppycdn.test".to_owned(),
        job_poll_interval_ms: 5,
        job_timeout_secs: 2,
        timeout_secs: 5,
        url: URL.to_owned(),
        num_shards: 3,
        shared_ssl_domain_suffix: format!("secure.{URL}"),
        shared_ssl_num_shards: 2,
        url_404: format!("notfound.{URL}"),
        ..RackspaceDnsConfig::default()
    }
}

fn driver(config: RackspaceDnsConfig) -> RackspaceDns {
    RackspaceDns::build(config).unwrap_or_else(|e| panic!("valid config refused: {e}"))
}

fn link(domain: &str, generation: &str) -> ProviderLink {
    ProviderLink {
        domain: domain.to_owned(),
        href: format!("{domain}.{generation}.provider.test"),
        certificate: None,
    }
}

/// A service with one fresh domain, and its link.
fn one_domain() -> (Service, Vec<ProviderLink>) {
    let domain = fixtures::unique_domain();
    let service = fixtures::service_with_domains(&ProjectId::random(), &[&domain]);
    (service, vec![link(&domain, "v1")])
}

#[tokio::test]
async fn rackspace_conforms_against_the_contract_fake() {
    let (fake, _server) = Fake::start().await;
    let dns = driver(config(&fake));
    assert!(dns.is_alive().await);
    conformance::dns::run_all(&dns).await;
    assert!(
        fake.state().all_cnames().is_empty(),
        "the suite cleans up: {:?}",
        fake.state().all_cnames()
    );
    assert_eq!(fake.state().auths, 1, "one token for the whole suite");
}

#[tokio::test]
async fn records_live_in_shard_zones_created_on_first_use() {
    let (fake, _server) = Fake::start().await;
    let dns = driver(config(&fake));
    let [a, b, c] = [
        fixtures::unique_domain(),
        fixtures::unique_domain(),
        fixtures::unique_domain(),
    ];
    let service = fixtures::service_with_domains(&ProjectId::random(), &[&a, &b]);
    let urls = dns
        .create(&service, &[link(&a, "v1"), link(&b, "v1")])
        .await
        .expect("create");
    for url in &urls {
        let name = url.operator_url.clone().unwrap_or_default();
        let zone = name
            .strip_prefix(&format!("{}.", url.domain))
            .expect("<domain>.<shard zone>")
            .to_owned();
        assert!(zone.starts_with("cdn") && zone.ends_with(URL), "{zone}");
        let state = fake.state();
        let created = state
            .zones
            .values()
            .find(|z| z.name == zone)
            .expect("zone created");
        assert_eq!(
            (created.email.as_str(), created.ttl),
            ("ops@poppycdn.test", 900)
        );
        assert_eq!(state.cnames(&zone).get(&name), url.provider_url.as_ref());
    }

    // Again: nothing is written.
    let posts = fake.state().count("POST /v1.0");
    let again = dns
        .create(&service, &[link(&a, "v1"), link(&b, "v1")])
        .await
        .expect("create again");
    assert_eq!(again, urls);
    assert_eq!(
        fake.state().count("POST /v1.0"),
        posts,
        "no record added twice"
    );

    let mut changed = service.clone();
    changed.spec = fixtures::spec(&[&b, &c]);
    let updated = dns
        .update(&changed, &urls, &[link(&b, "v2"), link(&c, "v2")])
        .await
        .expect("update");
    let all = fake.state().all_cnames();
    assert!(
        !all.contains_key(urls[0].operator_url.as_deref().unwrap_or_default()),
        "dropped"
    );
    assert_eq!(
        updated[0].operator_url, urls[1].operator_url,
        "kept domain keeps its name"
    );
    for url in &updated {
        assert_eq!(
            all.get(url.operator_url.as_deref().unwrap_or_default()),
            url.provider_url.as_ref()
        );
    }

    dns.set_enabled(&updated, false).await.expect("disable");
    for target in fake.state().all_cnames().values() {
        assert_eq!(target, &format!("notfound.{URL}"));
    }
    dns.set_enabled(&updated, true).await.expect("enable");
    assert_eq!(
        dns.cname(updated[1].operator_url.as_deref().unwrap_or_default())
            .await
            .expect("read"),
        updated[1].provider_url
    );
    dns.delete(&updated).await.expect("delete");
    assert!(fake.state().all_cnames().is_empty());
    dns.delete(&updated).await.expect("deleting again succeeds");
}

#[tokio::test]
async fn jobs_are_polled_until_completed() {
    let (fake, _server) = Fake::start().await;
    fake.state().job_polls = 3;
    let dns = driver(config(&fake));
    let (service, links) = one_domain();
    dns.create(&service, &links).await.expect("create");
    let state = fake.state();
    // Two jobs (the zone, then the record), each polled until it completed.
    assert_eq!(
        state.count("GET /v1.0/123456/status/"),
        2 * 4,
        "{:#?}",
        state.log
    );
    assert!(state
        .log
        .iter()
        .filter(|l| l.contains("/status/"))
        .all(|l| l.ends_with("?showDetails=true")));
}

#[tokio::test]
async fn a_job_that_never_finishes_is_unavailable() {
    let (fake, _server) = Fake::start().await;
    fake.state().jobs_never_finish = true;
    let mut cfg = config(&fake);
    cfg.job_timeout_secs = 1;
    cfg.job_poll_interval_ms = 50;
    let (service, links) = one_domain();
    let err = driver(cfg)
        .create(&service, &links)
        .await
        .expect_err("endless job");
    match err {
        PortError::Unavailable { message, .. } => {
            assert!(message.contains("still RUNNING"), "{message}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_job_is_an_error_of_its_kind() {
    let (fake, _server) = Fake::start().await;
    fake.state().fail_next_job = Some((400, "Invalid record data".to_owned()));
    let (service, links) = one_domain();
    let err = driver(config(&fake))
        .create(&service, &links)
        .await
        .expect_err("job ERROR");
    match err {
        PortError::Invalid(message) => {
            assert!(message.contains("Invalid record data"), "{message}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    fake.state().fail_next_job = Some((500, "DomainRecordAdditionFailed".to_owned()));
    let err = driver(config(&fake))
        .create(&service, &links)
        .await
        .expect_err("job ERROR");
    assert!(
        err.is_retryable(),
        "a server-side job failure is retried: {err:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once() {
    let (fake, _server) = Fake::start().await;
    let dns = driver(config(&fake));
    let (service, links) = one_domain();
    let urls = dns.create(&service, &links).await.expect("create");
    fake.state().expire_token = true;
    dns.delete(&urls)
        .await
        .expect("delete after re-authenticating");
    assert_eq!(fake.state().auths, 2);
    assert!(fake.state().all_cnames().is_empty());
}

#[tokio::test]
async fn a_token_refused_after_refresh_is_an_error() {
    let (fake, _server) = Fake::start().await;
    fake.state().always_unauthorized = true;
    let (service, links) = one_domain();
    let err = driver(config(&fake))
        .create(&service, &links)
        .await
        .expect_err("401 twice");
    assert!(matches!(err, PortError::Invalid(_)), "{err:?}");
    assert_eq!(fake.state().auths, 2, "one refresh, not a loop");
}

#[tokio::test]
async fn wrong_credentials_are_invalid_and_name_the_user() {
    let (fake, _server) = Fake::start().await;
    let mut cfg = config(&fake);
    cfg.api_key = "wrong".to_owned();
    let (service, links) = one_domain();
    let err = driver(cfg)
        .create(&service, &links)
        .await
        .expect_err("refused");
    match err {
        PortError::Invalid(message) => assert!(message.contains(USERNAME), "{message}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn over_limit_is_rate_limited_with_retry_after() {
    for status in [413, 429] {
        let (fake, _server) = Fake::start().await;
        fake.state().fail_next = vec![status];
        let (service, links) = one_domain();
        let err = driver(config(&fake))
            .create(&service, &links)
            .await
            .expect_err("over limit");
        match err {
            PortError::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)), "HTTP {status}")
            }
            other => panic!("HTTP {status}: expected RateLimited, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_outage_mid_update_is_unavailable_and_the_retry_converges() {
    let (fake, _server) = Fake::start().await;
    let dns = driver(config(&fake));
    let (service, links) = one_domain();
    let urls = dns.create(&service, &links).await.expect("create");
    let added = fixtures::unique_domain();
    let mut changed = service.clone();
    changed.spec = fixtures::spec(&[&added]);
    let new_links = vec![link(&added, "v2")];

    // The new record is made, then deleting the dropped one meets a 503.
    fake.state().fail_next_delete = Some(503);
    let err = dns
        .update(&changed, &urls, &new_links)
        .await
        .expect_err("outage");
    match err {
        PortError::Unavailable { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(3)))
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(
        fake.state().all_cnames().len(),
        2,
        "new record made, old one still there"
    );

    let updated = dns
        .update(&changed, &urls, &new_links)
        .await
        .expect("retry");
    let all = fake.state().all_cnames();
    assert_eq!(all.len(), 1, "only the new domain's record: {all:?}");
    assert_eq!(
        all.get(updated[0].operator_url.as_deref().unwrap_or_default()),
        updated[0].provider_url.as_ref()
    );
}

#[tokio::test]
async fn server_errors_are_unavailable() {
    let (fake, _server) = Fake::start().await;
    fake.state().fail_next = vec![503];
    let (service, links) = one_domain();
    let err = driver(config(&fake))
        .create(&service, &links)
        .await
        .expect_err("503");
    assert!(matches!(err, PortError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn shared_ssl_shards_fill_up_at_the_records_limit() {
    let (fake, _server) = Fake::start().await;
    let mut cfg = config(&fake);
    cfg.shared_ssl_num_shards = 1;
    cfg.records_limit = 2;
    let dns = driver(cfg);
    let shard = format!("scdn1.secure.{URL}");
    assert_eq!(dns.shared_ssl_shards(), vec![shard.clone()]);
    assert!(
        !dns.is_shard_full(&shard).await.expect("count"),
        "no zone yet: empty"
    );

    let shared: Vec<String> = (0..2)
        .map(|_| format!("{}.{shard}", fixtures::unique_label()))
        .collect();
    let service = Service::new(
        ProjectId::random(),
        ServiceSpec {
            domains: shared
                .iter()
                .map(|d| Domain {
                    domain: d.clone(),
                    protocol: Protocol::Https,
                    certificate: Some(CertificateType::Shared),
                })
                .collect(),
            ..fixtures::spec(&[])
        },
        0,
    );
    let links: Vec<ProviderLink> = shared.iter().map(|d| link(d, "v1")).collect();
    let urls = dns.create(&service, &links).await.expect("create");
    assert!(urls.iter().all(|u| u.shared_ssl_flag));
    assert_eq!(
        fake.state().cnames(&shard).len(),
        2,
        "records in the shard's own zone"
    );
    assert!(
        dns.is_shard_full(&shard).await.expect("count"),
        "records_limit reached"
    );
    let err = dns
        .is_shard_full("scdn7.other.test")
        .await
        .expect_err("not ours");
    assert!(matches!(err, PortError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn the_dns_endpoint_comes_from_the_catalog_or_the_configuration() {
    let (fake, _server) = Fake::start().await;
    fake.state().catalog_without_dns = true;
    let (service, links) = one_domain();
    let err = driver(config(&fake))
        .create(&service, &links)
        .await
        .expect_err("no endpoint");
    match err {
        PortError::Invalid(message) => assert!(message.contains("rax:dns"), "{message}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let mut cfg = config(&fake);
    cfg.endpoint = Some(fake.dns_endpoint());
    driver(cfg)
        .create(&service, &links)
        .await
        .expect("configured endpoint");
}

#[test]
fn bad_configurations_name_the_key_and_hide_the_key() {
    let base = RackspaceDnsConfig {
        username: USERNAME.to_owned(),
        api_key: API_KEY.to_owned(),
        url: URL.to_owned(),
        url_404: format!("notfound.{URL}"),
        ..RackspaceDnsConfig::default()
    };
    assert!(RackspaceDns::build(base.clone()).is_ok());
    for (cfg, key) in [
        (
            RackspaceDnsConfig {
                api_key: String::new(),
                ..base.clone()
            },
            "api_key",
        ),
        (
            RackspaceDnsConfig {
                url: String::new(),
                ..base.clone()
            },
            "url",
        ),
        (
            RackspaceDnsConfig {
                url_404: String::new(),
                ..base.clone()
            },
            "url_404",
        ),
        (
            RackspaceDnsConfig {
                auth_endpoint: "identity".into(),
                ..base.clone()
            },
            "auth_endpoint",
        ),
    ] {
        let err = RackspaceDns::build(cfg).expect_err(key);
        assert!(err.to_string().contains(key), "{err}");
    }
    let shown = format!("{base:?}");
    assert!(!shown.contains(API_KEY), "{shown}");
}

/// Live: `POPPY_TEST_RACKSPACE_DNS` names a TOML file with the driver's
/// options (`username`, `api_key`, `email`, `url`, `url_404`…). Records are
/// made under fresh names and deleted.
#[tokio::test]
async fn rackspace_conforms_live() {
    let Ok(path) = std::env::var("POPPY_TEST_RACKSPACE_DNS") else {
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let cfg: RackspaceDnsConfig =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid driver options: {e}"));
    let dns = driver(cfg);
    assert!(dns.is_alive().await, "Rackspace Cloud DNS answers");
    conformance::dns::run_all(&dns).await;
}

#[test]
fn the_registry_builds_rackspace_from_toml_options() {
    let registry = poppy_adapters::Registry::builtin();
    let options: toml::Table = toml::from_str(
        r#"
username = "poppy"
api_key = "secret-key"
email = "ops@poppycdn.test"
url = "poppycdn.test"
url_404 = "notfound.poppycdn.test"
shared_ssl_domain_suffix = "secure.poppycdn.test"
"#,
    )
    .expect("valid TOML");
    let dns = registry.dns("rackspace", &options).expect("builds");
    assert_eq!(dns.name(), "rackspace");
    assert_eq!(dns.shared_ssl_shards().len(), 5, "scdn1..scdn5 by default");
    let mut unknown = options;
    unknown.insert("delay".to_owned(), toml::Value::Integer(1));
    let err = registry
        .dns("rackspace", &unknown)
        .expect_err("unknown key");
    assert!(err.to_string().contains("delay"), "{err}");
}
