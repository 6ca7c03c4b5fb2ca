//! Happy paths against moto, which emulates CloudFront leniently (no
//! If-Match check, deletes enabled distributions, accepts alias conflicts,
//! no cache policies, rollouts finish on the first read).

use poppy_adapters::provider::cloudfront::CloudFrontProvider;
use poppy_core::model::{Domain, ProviderStatus, PurgeTarget};
use poppy_core::ports::{CdnProvider, PortError};
use poppy_core::testkit::conformance;

use crate::support::{delete_eventually, driver, rich_service, sdk};

fn moto() -> Option<String> {
    std::env::var("POPPY_TEST_MOTO").ok()
}

#[tokio::test]
async fn cloudfront_conforms_against_moto() {
    let Some(endpoint) = moto() else { return };
    conformance::provider::run_all(&driver(&endpoint, 1)).await;
}

/// `POPPY_TEST_CLOUDFRONT=1`: the suite against the AWS account of the
/// environment's credentials (`AWS_ACCESS_KEY_ID`…). Distributions take
/// minutes to deploy and disable: run it with
/// `POPPY_CONFORMANCE_PATIENCE_SECS=3600` and budget an hour.
#[tokio::test]
async fn live_cloudfront_conforms() {
    if std::env::var("POPPY_TEST_CLOUDFRONT").is_err() {
        return;
    }
    let provider = CloudFrontProvider::build(Default::default()).expect("live config");
    conformance::provider::run_all(&provider).await;
}

#[tokio::test]
async fn create_get_update_purge_disable_delete() {
    let Some(endpoint) = moto() else { return };
    let driver = driver(&endpoint, 1);
    let client = sdk(&endpoint).await;
    let service = rich_service();

    let created = driver.create(&service).await.expect("create");
    let id = created.provider_service_id.clone();
    assert_eq!(created.links.len(), 2);
    assert!(
        created
            .links
            .iter()
            .all(|l| l.href.ends_with(".cloudfront.net")),
        "{:?}",
        created.links
    );
    let linked: Vec<&str> = created.links.iter().map(|l| l.domain.as_str()).collect();
    let domains: Vec<&str> = service.domain_names().collect();
    assert_eq!(
        linked, domains,
        "every link names its domain (unlike the original, §9.2 #8)"
    );

    let status = driver.status(&id).await.expect("status");
    assert!(matches!(
        status,
        ProviderStatus::Deployed | ProviderStatus::DeployInProgress
    ));

    let got = client
        .get_distribution_config()
        .id(&id)
        .send()
        .await
        .expect("get config");
    let config = got.distribution_config().expect("config");
    assert_eq!(config.caller_reference, service.id.to_string());
    assert_eq!(config.comment, format!("poppy:{}", service.id));
    assert!(config.enabled);
    let aliases = config
        .aliases
        .as_ref()
        .map(|a| a.items().to_vec())
        .unwrap_or_default();
    assert_eq!(aliases, domains);
    let origins = config
        .origins
        .as_ref()
        .map(|o| o.items().to_vec())
        .unwrap_or_default();
    let origin_domains: Vec<&str> = origins.iter().map(|o| o.domain_name()).collect();
    assert_eq!(origin_domains, ["origin.example.org", "images.example.org"]);
    let images = origins[1].custom_origin_config().expect("custom origin");
    assert_eq!(images.https_port(), 443);
    assert_eq!(images.origin_protocol_policy().as_str(), "https-only");
    #[allow(deprecated)]
    let behaviours: Vec<(String, String, Option<i64>)> = config
        .cache_behaviors
        .as_ref()
        .map(|b| {
            b.items()
                .iter()
                .map(|b| {
                    (
                        b.path_pattern().to_owned(),
                        b.target_origin_id().to_owned(),
                        b.default_ttl(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        behaviours,
        [
            (
                "/images/thumbs/*".to_owned(),
                "poppy-origin-1".to_owned(),
                Some(60)
            ),
            (
                "/images/*".to_owned(),
                "poppy-origin-1".to_owned(),
                Some(3600)
            ),
        ]
    );
    let geo = config
        .restrictions
        .as_ref()
        .and_then(|r| r.geo_restriction())
        .expect("geo restriction");
    assert_eq!(geo.restriction_type().as_str(), "whitelist");
    assert!(geo.items().contains(&"US".to_owned()), "{:?}", geo.items());

    let mut changed = service.clone();
    changed
        .spec
        .domains
        .push(Domain::http(poppy_core::testkit::fixtures::unique_domain()));
    changed.spec.restrictions.clear();
    changed.spec.caching[0].ttl = 600;
    let updated = driver.update(&id, &changed).await.expect("update");
    assert_eq!(updated.provider_service_id, id);
    assert_eq!(updated.links.len(), 3);
    assert_eq!(updated.status, ProviderStatus::Deployed);
    let got = client
        .get_distribution_config()
        .id(&id)
        .send()
        .await
        .expect("get config");
    let config = got.distribution_config().expect("config");
    assert_eq!(config.aliases.as_ref().map(|a| a.quantity()), Some(3));
    #[allow(deprecated)]
    let ttl = config
        .default_cache_behavior
        .as_ref()
        .and_then(|b| b.default_ttl());
    assert_eq!(ttl, Some(600));
    let geo_type = config
        .restrictions
        .as_ref()
        .and_then(|r| r.geo_restriction())
        .map(|g| g.restriction_type().as_str().to_owned());
    assert_eq!(geo_type.as_deref(), Some("none"));

    driver
        .purge(
            &id,
            &changed,
            &PurgeTarget::Url("/images/a.png".to_owned()),
            true,
        )
        .await
        .expect("purge a URL");
    driver
        .purge(&id, &changed, &PurgeTarget::All, true)
        .await
        .expect("purge all");
    let invalidations = client
        .list_invalidations()
        .distribution_id(&id)
        .send()
        .await
        .expect("list");
    let count = invalidations
        .invalidation_list()
        .map(|l| l.quantity())
        .unwrap_or_default();
    assert_eq!(count, 2);
    let soft = driver
        .purge(&id, &changed, &PurgeTarget::All, false)
        .await
        .expect_err("no soft purge");
    assert!(matches!(soft, PortError::Invalid(_)), "{soft:?}");

    // moto finishes rollouts on the first read, so the disabled
    // distribution is deleted within a few calls.
    let mut attempts = 0;
    loop {
        match driver.delete(&id, &changed).await {
            Ok(()) => break,
            Err(PortError::Unavailable { retry_after, .. }) if attempts < 5 => {
                assert!(
                    retry_after.is_some(),
                    "a rollout wait says when to come back"
                );
                attempts += 1;
            }
            Err(e) => panic!("delete failed: {e:?}"),
        }
    }
    let error = driver.status(&id).await.expect_err("gone");
    assert!(matches!(error, PortError::NotFound(_)), "{error:?}");
    driver
        .delete(&id, &changed)
        .await
        .expect("deleting again is fine");
}

#[tokio::test]
async fn a_retried_create_finds_the_distribution_it_made() {
    let Some(endpoint) = moto() else { return };
    let driver = driver(&endpoint, 1);
    let client = sdk(&endpoint).await;
    let service = rich_service();
    let first = driver.create(&service).await.expect("create");
    let mut changed = service.clone();
    changed.spec.caching[0].ttl = 120;
    let second = driver.create(&changed).await.expect("create again");
    assert_eq!(second.provider_service_id, first.provider_service_id);

    let comment = driver.comment(&service);
    let list = client.list_distributions().send().await.expect("list");
    let mine = list
        .distribution_list()
        .map(|l| l.items().iter().filter(|d| d.comment() == comment).count())
        .unwrap_or_default();
    assert_eq!(mine, 1, "one distribution for the service");
    let got = client
        .get_distribution_config()
        .id(&first.provider_service_id)
        .send()
        .await
        .expect("config");
    #[allow(deprecated)]
    let ttl = got
        .distribution_config()
        .and_then(|c| c.default_cache_behavior.as_ref())
        .and_then(|b| b.default_ttl());
    assert_eq!(
        ttl,
        Some(120),
        "the retried create pushed the current definition"
    );
    delete_eventually(&driver, &first.provider_service_id, &service)
        .await
        .expect("deleted");
}

#[tokio::test]
async fn with_an_acm_certificate_https_domains_are_served() {
    let Some(endpoint) = moto() else { return };
    let arn = "arn:aws:acm:us-east-1:123456789012:certificate/poppy-test";
    let mut config = driver(&endpoint, 1).config().clone();
    config.acm_certificate_arn = Some(arn.to_owned());
    let driver = CloudFrontProvider::build(config).expect("valid config");
    conformance::provider::update_domains(&driver).await;

    let mut service = rich_service();
    for domain in &mut service.spec.domains {
        domain.protocol = poppy_core::model::Protocol::Https;
        domain.certificate = Some(poppy_core::model::CertificateType::San);
    }
    let created = driver.create(&service).await.expect("https create");
    let client = sdk(&endpoint).await;
    let got = client
        .get_distribution_config()
        .id(&created.provider_service_id)
        .send()
        .await
        .expect("config");
    let config = got.distribution_config().expect("config");
    let certificate = config
        .viewer_certificate
        .as_ref()
        .expect("viewer certificate");
    assert_eq!(certificate.acm_certificate_arn(), Some(arn));
    assert_eq!(
        certificate.ssl_support_method().map(|m| m.as_str()),
        Some("sni-only")
    );
    let policy = config
        .default_cache_behavior
        .as_ref()
        .map(|b| b.viewer_protocol_policy().as_str().to_owned());
    assert_eq!(
        policy.as_deref(),
        Some("redirect-to-https"),
        "https-only services redirect http"
    );
    delete_eventually(&driver, &created.provider_service_id, &service)
        .await
        .expect("deleted");
}
