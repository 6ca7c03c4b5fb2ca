//! The Route53 DNS driver: against moto (`POPPY_TEST_MOTO`, skipped when
//! unset), against a loopback fake answering Route53's XML errors
//! (throttling, outages, pending changes — moto never produces them), and
//! live against AWS (`POPPY_TEST_ROUTE53=<existing hosted zone>`).

#![cfg(feature = "dns-route53")]

#[path = "route53/errors.rs"]
mod errors;

use poppy_adapters::dns::route53::{sdk, Route53Config, Route53Dns};
use poppy_core::model::{
    AccessUrl, CertificateType, Domain, ProjectId, Protocol, ProviderLink, Service,
};
use poppy_core::ports::{DnsManager, PortError};
use poppy_core::testkit::{conformance, fixtures};

/// moto's endpoint, when the suite runs with moto.
fn moto() -> Option<String> {
    std::env::var("POPPY_TEST_MOTO")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A driver configuration for zone `zone` at `endpoint` (moto takes any
/// static credentials).
fn config(endpoint: &str, zone: &str) -> Route53Config {
    Route53Config {
        url: zone.to_owned(),
        num_shards: 4,
        shared_ssl_domain_suffix: format!("secure.{zone}"),
        shared_ssl_num_shards: 2,
        url_404: format!("notfound.{zone}"),
        endpoint_url: Some(endpoint.to_owned()),
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some("testing".to_owned()),
        ..Route53Config::default()
    }
}

fn build(config: Route53Config) -> Route53Dns {
    Route53Dns::build(config).unwrap_or_else(|e| panic!("valid Route53 config refused: {e}"))
}

/// A fresh hosted zone in moto (moto's state is shared by every test, so
/// each test gets its own zone) and a driver for it.
async fn moto_driver(
    endpoint: &str,
    edit: impl FnOnce(&mut Route53Config),
) -> (Route53Dns, String) {
    let zone = format!("{}.poppy-test.net", fixtures::unique_label());
    let mut cfg = config(endpoint, &zone);
    edit(&mut cfg);
    let dns = build(cfg);
    create_zone(dns.client().await, &zone).await;
    (dns, zone)
}

async fn create_zone(client: &sdk::Client, zone: &str) {
    client
        .create_hosted_zone()
        .name(zone)
        .caller_reference(fixtures::unique_label())
        .send()
        .await
        .unwrap_or_else(|e| panic!("moto refused to create hosted zone {zone}: {e:?}"));
}

fn link(domain: &str, generation: &str) -> ProviderLink {
    ProviderLink {
        domain: domain.to_owned(),
        href: format!("{domain}.{generation}.provider.test"),
        certificate: None,
    }
}

async fn target(dns: &Route53Dns, url: &AccessUrl) -> Option<String> {
    let name = url.operator_url.as_deref().expect("operator url");
    dns.cname(name)
        .await
        .unwrap_or_else(|e| panic!("reading CNAME {name}: {e}"))
}

#[tokio::test]
async fn route53_conforms_against_moto() {
    let Some(endpoint) = moto() else { return };
    let (dns, _) = moto_driver(&endpoint, |c| c.wait_for_sync = true).await;
    conformance::dns::run_all(&dns).await;
}

#[tokio::test]
async fn records_follow_create_update_disable_and_delete_in_moto() {
    let Some(endpoint) = moto() else { return };
    let (dns, zone) = moto_driver(&endpoint, |_| {}).await;
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
        let name = url.operator_url.as_deref().unwrap_or_default();
        assert!(
            name.starts_with(&format!("{}.cdn", url.domain)) && name.ends_with(&zone),
            "operator record {name} is <domain>.cdn<k>.{zone}"
        );
        assert_eq!(
            target(&dns, url).await,
            url.provider_url,
            "{name} points at the provider"
        );
    }

    let mut changed = service.clone();
    changed.spec = fixtures::spec(&[&b, &c]);
    let updated = dns
        .update(&changed, &urls, &[link(&b, "v2"), link(&c, "v2")])
        .await
        .expect("update");
    assert_eq!(
        target(&dns, &urls[0]).await,
        None,
        "the dropped domain's record is gone"
    );
    assert_eq!(
        updated[0].operator_url, urls[1].operator_url,
        "kept domain keeps its name"
    );
    for url in &updated {
        assert_eq!(
            target(&dns, url).await,
            url.provider_url,
            "re-pointed or created"
        );
    }

    dns.set_enabled(&updated, false).await.expect("disable");
    for url in &updated {
        assert_eq!(
            target(&dns, url).await.as_deref(),
            Some(format!("notfound.{zone}").as_str())
        );
    }
    dns.set_enabled(&updated, true).await.expect("enable");
    for url in &updated {
        assert_eq!(target(&dns, url).await, url.provider_url);
    }

    // Disabled records have another target: delete still finds them.
    dns.set_enabled(&updated, false).await.expect("disable");
    dns.delete(&updated).await.expect("delete");
    for url in &updated {
        assert_eq!(target(&dns, url).await, None, "deleted");
    }
    dns.delete(&updated).await.expect("deleting again succeeds");
}

#[tokio::test]
async fn a_shared_ssl_shard_fills_up_at_the_records_limit_in_moto() {
    let Some(endpoint) = moto() else { return };
    let (dns, zone) = moto_driver(&endpoint, |c| {
        c.shared_ssl_num_shards = 1;
        c.records_limit = 2;
    })
    .await;
    let shard = format!("scdn1.secure.{zone}");
    assert_eq!(dns.shared_ssl_shards(), vec![shard.clone()]);
    assert!(
        !dns.is_shard_full(&shard).await.expect("count"),
        "empty shard"
    );

    let shared: Vec<String> = (0..2)
        .map(|_| format!("{}.{shard}", fixtures::unique_label()))
        .collect();
    let service = Service::new(
        ProjectId::random(),
        poppy_core::model::ServiceSpec {
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
    let urls = dns.create(&service, &links).await.expect("create shared");
    for (url, domain) in urls.iter().zip(&shared) {
        assert!(url.shared_ssl_flag);
        assert_eq!(
            url.operator_url.as_deref(),
            Some(domain.as_str()),
            "its own record"
        );
        assert_eq!(target(&dns, url).await, url.provider_url);
    }
    assert!(
        dns.is_shard_full(&shard).await.expect("count"),
        "2 records = records_limit"
    );
    dns.delete(&urls).await.expect("delete");
    assert!(!dns.is_shard_full(&shard).await.expect("count"));

    let err = dns
        .is_shard_full("scdn9.elsewhere.net")
        .await
        .expect_err("not a shard");
    assert!(matches!(err, PortError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn a_shard_with_its_own_hosted_zone_gets_its_records_in_moto() {
    let Some(endpoint) = moto() else { return };
    let (dns, zone) = moto_driver(&endpoint, |c| c.num_shards = 1).await;
    let shard_zone = format!("cdn1.{zone}");
    create_zone(dns.client().await, &shard_zone).await;
    let domain = fixtures::unique_domain();
    let service = fixtures::service_with_domains(&ProjectId::random(), &[&domain]);
    let urls = dns
        .create(&service, &[link(&domain, "v1")])
        .await
        .expect("create");
    let name = urls[0].operator_url.clone().unwrap_or_default();
    assert_eq!(name, format!("{domain}.{shard_zone}"));

    // The record is in the shard's hosted zone, not the parent's.
    let client = dns.client().await;
    let zones = client
        .list_hosted_zones_by_name()
        .dns_name(&shard_zone)
        .max_items(1)
        .send()
        .await
        .expect("list zones");
    let id = zones.hosted_zones()[0].id().to_owned();
    let records = client
        .list_resource_record_sets()
        .hosted_zone_id(&id)
        .send()
        .await
        .expect("list records");
    assert!(
        records
            .resource_record_sets()
            .iter()
            .any(|r| r.name().trim_end_matches('.') == name),
        "{name} is in hosted zone {shard_zone}: {records:?}"
    );
    dns.delete(&urls).await.expect("delete");
    assert_eq!(target(&dns, &urls[0]).await, None);
}

#[tokio::test]
async fn without_a_hosted_zone_writes_are_invalid_and_deletes_succeed_in_moto() {
    let Some(endpoint) = moto() else { return };
    let zone = format!("{}.no-such-zone.net", fixtures::unique_label());
    let dns = build(config(&endpoint, &zone));
    let service = fixtures::service(&ProjectId::random());
    let links: Vec<ProviderLink> = service.domain_names().map(|d| link(d, "v1")).collect();
    let err = dns
        .create(&service, &links)
        .await
        .expect_err("no hosted zone");
    match &err {
        PortError::Invalid(message) => assert!(message.contains(&zone), "{message}"),
        other => panic!("expected Invalid naming the zone, got {other:?}"),
    }
    let phantom = AccessUrl {
        domain: "www.example.com".to_owned(),
        provider_url: Some("www.example.com.provider.test".to_owned()),
        operator_url: Some(format!("www.example.com.cdn1.{zone}")),
        shared_ssl_flag: false,
        old_operator_url: None,
    };
    dns.delete(&[phantom]).await.expect("nothing to delete");
    let shard = format!("scdn1.secure.{zone}");
    assert!(
        dns.is_shard_full(&shard).await.expect("answers"),
        "no zone: full"
    );
}

#[test]
fn bad_configurations_name_the_key() {
    for (edit, key) in [
        (
            Box::new(|c: &mut Route53Config| c.url.clear()) as Box<dyn Fn(&mut Route53Config)>,
            "url",
        ),
        (
            Box::new(|c: &mut Route53Config| c.url_404.clear()),
            "url_404",
        ),
        (
            Box::new(|c: &mut Route53Config| c.secret_access_key = None),
            "secret_access_key",
        ),
        (
            Box::new(|c: &mut Route53Config| c.endpoint_url = Some("moto:5000".into())),
            "endpoint_url",
        ),
    ] {
        let mut cfg = config("http://127.0.0.1:9", "example.net");
        edit(&mut cfg);
        let err = Route53Dns::build(cfg).expect_err(key);
        assert!(err.to_string().contains(key), "{err}");
    }
    let cfg = config("http://127.0.0.1:9", "example.net");
    let shown = format!("{cfg:?}");
    assert!(
        !shown.contains("secret_access_key: Some(\"testing\")"),
        "secret shown: {shown}"
    );
    assert!(shown.contains("<redacted>"), "{shown}");
}

/// Live: `POPPY_TEST_ROUTE53=<an existing hosted zone>`, credentials from
/// the AWS default chain. Records are made under fresh names and deleted.
#[tokio::test]
async fn route53_conforms_live() {
    let Ok(zone) = std::env::var("POPPY_TEST_ROUTE53") else {
        return;
    };
    let dns = build(Route53Config {
        url: zone.clone(),
        shared_ssl_domain_suffix: format!("secure.{zone}"),
        url_404: format!("notfound.{zone}"),
        wait_for_sync: true,
        ..Route53Config::default()
    });
    assert!(dns.is_alive().await, "Route53 answers for {zone}");
    conformance::dns::run_all(&dns).await;
}

#[test]
fn the_registry_builds_route53_from_toml_options() {
    let registry = poppy_adapters::Registry::builtin();
    let options: toml::Table = toml::from_str(
        r#"
zone = "poppycdn.net"
url_404 = "notfound.poppycdn.net"
num_shards = 3
endpoint_url = "http://127.0.0.1:5000"
access_key_id = "testing"
secret_access_key = "testing"
"#,
    )
    .expect("valid TOML");
    let dns = registry.dns("route53", &options).expect("builds");
    assert_eq!(dns.name(), "route53");
    assert_eq!(
        dns.shared_ssl_shards(),
        Vec::<String>::new(),
        "no suffix: no shared SSL"
    );

    let mut unknown = options.clone();
    unknown.insert(
        "hosted_zone_id".to_owned(),
        toml::Value::String("Z1".to_owned()),
    );
    let err = registry.dns("route53", &unknown).expect_err("unknown key");
    assert!(err.to_string().contains("hosted_zone_id"), "{err}");
    let mut missing = options;
    missing.remove("url_404");
    let err = registry
        .dns("route53", &missing)
        .expect_err("url_404 required");
    assert!(err.to_string().contains("url_404"), "{err}");
}
