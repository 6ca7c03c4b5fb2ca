//! Route53 answers moto never gives (throttling, outages, changes that stay
//! `PENDING`, a record deleted between read and delete), from a loopback
//! fake speaking Route53's REST/XML API. The SDK's own retries are off
//! (`max_attempts = 1`) so each answer reaches the driver.

use poppy_adapters::dns::route53::{Route53Config, Route53Dns};
use poppy_core::model::{AccessUrl, ProjectId, ProviderLink};
use poppy_core::ports::{DnsManager, PortError};
use poppy_core::testkit::fixtures;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ZONE: &str = "example.test";
const XMLNS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

fn xml(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body, "text/xml")
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    xml(
        status,
        format!(
            r#"<?xml version="1.0"?><ErrorResponse xmlns="{XMLNS}"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"#
        ),
    )
}

fn zones() -> ResponseTemplate {
    xml(
        200,
        format!(
            r#"<?xml version="1.0"?><ListHostedZonesByNameResponse xmlns="{XMLNS}"><HostedZones><HostedZone><Id>/hostedzone/Z1</Id><Name>{ZONE}.</Name><CallerReference>c</CallerReference><Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone></HostedZones><DNSName>{ZONE}.</DNSName><IsTruncated>false</IsTruncated><MaxItems>5</MaxItems></ListHostedZonesByNameResponse>"#
        ),
    )
}

fn change(status: &str) -> ResponseTemplate {
    xml(
        200,
        format!(
            r#"<?xml version="1.0"?><ChangeResourceRecordSetsResponse xmlns="{XMLNS}"><ChangeInfo><Id>/change/C1</Id><Status>{status}</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>"#
        ),
    )
}

fn get_change(status: &str) -> ResponseTemplate {
    xml(
        200,
        format!(
            r#"<?xml version="1.0"?><GetChangeResponse xmlns="{XMLNS}"><ChangeInfo><Id>/change/C1</Id><Status>{status}</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>"#
        ),
    )
}

/// `ListResourceRecordSets` holding CNAME `name → target`, or nothing.
fn record_sets(record: Option<(&str, &str)>) -> ResponseTemplate {
    let sets = record.map_or(String::new(), |(name, target)| {
        format!(
            "<ResourceRecordSet><Name>{name}.</Name><Type>CNAME</Type><TTL>300</TTL><ResourceRecords><ResourceRecord><Value>{target}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>"
        )
    });
    xml(
        200,
        format!(
            r#"<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns="{XMLNS}"><ResourceRecordSets>{sets}</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>1</MaxItems></ListResourceRecordSetsResponse>"#
        ),
    )
}

async fn fake() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2013-04-01/hostedzonesbyname"))
        .respond_with(zones())
        .mount(&server)
        .await;
    server
}

fn driver(server: &MockServer, edit: impl FnOnce(&mut Route53Config)) -> Route53Dns {
    let mut config = Route53Config {
        url: ZONE.to_owned(),
        url_404: format!("notfound.{ZONE}"),
        endpoint_url: Some(server.uri()),
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some("testing".to_owned()),
        max_attempts: 1,
        timeout_secs: 5,
        ..Route53Config::default()
    };
    edit(&mut config);
    Route53Dns::build(config).unwrap_or_else(|e| panic!("valid config refused: {e}"))
}

async fn create(dns: &Route53Dns) -> Result<Vec<AccessUrl>, PortError> {
    let domain = fixtures::unique_domain();
    let service = fixtures::service_with_domains(&ProjectId::random(), &[&domain]);
    let link = ProviderLink {
        domain: domain.clone(),
        href: format!("{domain}.provider.test"),
        certificate: None,
    };
    dns.create(&service, &[link]).await
}

async fn change_answers(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path_regex("^/2013-04-01/hostedzone/Z1/rrset/?$"))
        .respond_with(answer)
        .mount(server)
        .await;
}

#[tokio::test]
async fn throttling_is_rate_limited() {
    for code in ["Throttling", "PriorRequestNotComplete"] {
        let server = fake().await;
        change_answers(&server, error(400, code, "Rate exceeded")).await;
        let err = create(&driver(&server, |_| {})).await.expect_err(code);
        assert!(
            matches!(err, PortError::RateLimited { .. }),
            "{code} → {err:?}"
        );
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn server_errors_are_unavailable() {
    let server = fake().await;
    change_answers(&server, error(503, "ServiceUnavailable", "try later")).await;
    let err = create(&driver(&server, |_| {})).await.expect_err("503");
    assert!(matches!(err, PortError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    // A port nobody listens on (wiremock keeps dropped servers running).
    let uri = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        format!("http://{}", listener.local_addr().expect("its address"))
    };
    let dns = Route53Dns::build(Route53Config {
        url: ZONE.to_owned(),
        url_404: format!("notfound.{ZONE}"),
        endpoint_url: Some(uri),
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some("testing".to_owned()),
        max_attempts: 1,
        timeout_secs: 5,
        ..Route53Config::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let err = create(&dns).await.expect_err("nobody listens");
    assert!(matches!(err, PortError::Unavailable { .. }), "{err:?}");
    assert!(!dns.is_alive().await);
}

#[tokio::test]
async fn a_refused_change_is_invalid_with_routes53s_message() {
    let server = fake().await;
    change_answers(
        &server,
        error(
            400,
            "InvalidChangeBatch",
            "RRSet of type CNAME with DNS name x is not permitted",
        ),
    )
    .await;
    let err = create(&driver(&server, |_| {})).await.expect_err("refused");
    match err {
        PortError::Invalid(message) => {
            assert!(
                message.contains("InvalidChangeBatch") && message.contains("not permitted"),
                "{message}"
            )
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn waiting_for_insync_polls_get_change() {
    let server = fake().await;
    change_answers(&server, change("PENDING")).await;
    Mock::given(method("GET"))
        .and(path("/2013-04-01/change/C1"))
        .respond_with(get_change("PENDING"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2013-04-01/change/C1"))
        .respond_with(get_change("INSYNC"))
        .expect(1)
        .mount(&server)
        .await;
    let dns = driver(&server, |c| {
        c.wait_for_sync = true;
        c.sync_poll_interval_ms = 10;
    });
    create(&dns).await.expect("in sync after three polls");
    server.verify().await;
}

#[tokio::test]
async fn a_change_that_stays_pending_is_unavailable_after_the_timeout() {
    let server = fake().await;
    change_answers(&server, change("PENDING")).await;
    Mock::given(method("GET"))
        .and(path("/2013-04-01/change/C1"))
        .respond_with(get_change("PENDING"))
        .mount(&server)
        .await;
    let dns = driver(&server, |c| {
        c.wait_for_sync = true;
        c.sync_timeout_secs = 1;
        c.sync_poll_interval_ms = 100;
    });
    let err = create(&dns).await.expect_err("never in sync");
    match err {
        PortError::Unavailable { message, .. } => assert!(message.contains("PENDING"), "{message}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_record_deleted_between_read_and_delete_counts_as_deleted() {
    let server = fake().await;
    let name = format!("www.example.com.cdn1.{ZONE}");
    // First read: the record is there; the DELETE is refused as AWS does
    // for a record that is gone; the next read: no record.
    Mock::given(method("GET"))
        .and(path_regex("^/2013-04-01/hostedzone/Z1/rrset/?$"))
        .respond_with(record_sets(Some((&name, "old.provider.test"))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/2013-04-01/hostedzone/Z1/rrset/?$"))
        .respond_with(record_sets(None))
        .mount(&server)
        .await;
    change_answers(
        &server,
        error(
            400,
            "InvalidChangeBatch",
            "Tried to delete resource record set but it was not found",
        ),
    )
    .await;
    let dns = driver(&server, |c| c.num_shards = 1);
    let url = AccessUrl {
        domain: "www.example.com".to_owned(),
        provider_url: Some("old.provider.test".to_owned()),
        operator_url: Some(name),
        shared_ssl_flag: false,
        old_operator_url: None,
    };
    dns.delete(&[url]).await.expect("already deleted");
}

#[tokio::test]
async fn a_missing_hosted_zone_is_looked_up_again_and_cached_once_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2013-04-01/hostedzonesbyname"))
        .respond_with(zones())
        .mount(&server)
        .await;
    change_answers(&server, change("INSYNC")).await;
    let dns = driver(&server, |c| c.num_shards = 1);
    for _ in 0..3 {
        create(&dns).await.expect("create");
    }
    // cdn1.example.test (not found: the fake lists example.test for any
    // name, which does not match), then example.test; then cached.
    let lookups = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/2013-04-01/hostedzonesbyname")
        .count();
    assert_eq!(lookups, 2, "two lookups for the first call, none after");
}
