//! Services and drivers shared by the CloudFront tests.

use poppy_adapters::provider::cloudfront::{CloudFrontConfig, CloudFrontProvider};
use poppy_core::model::{
    Access, CachingRule, Domain, HostHeaderType, Origin, ProjectId, Restriction, Rule, Service,
    ServiceSpec,
};
use poppy_core::testkit::fixtures;

/// A driver for `endpoint` with static test credentials.
pub fn driver(endpoint: &str, disable_poll_secs: u64) -> CloudFrontProvider {
    let config = CloudFrontConfig {
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some("testing-secret-key".to_owned()),
        endpoint: Some(endpoint.to_owned()),
        timeout_secs: 2,
        connect_timeout_secs: 2,
        disable_poll_secs,
        ..CloudFrontConfig::default()
    };
    match CloudFrontProvider::build(config) {
        Ok(d) => d,
        Err(e) => panic!("a valid config was refused: {e}"),
    }
}

/// An SDK client for inspecting what the driver made.
pub async fn sdk(endpoint: &str) -> aws_sdk_cloudfront::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudfront::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_cloudfront::Client::new(&config)
}

/// Two fresh domains, a default and an images origin, TTLs per path and a
/// geography whitelist.
pub fn rich_service() -> Service {
    let domains = fixtures::unique_domains(2);
    let mut na = Rule::new("north america", "/*");
    na.geography = Some("North America".to_owned());
    let spec = ServiceSpec {
        name: "cloudfront test".to_owned(),
        domains: domains.into_iter().map(Domain::http).collect(),
        origins: vec![
            Origin {
                origin: "origin.example.org".to_owned(),
                port: 80,
                ssl: false,
                rules: vec![Rule::default_rule()],
                hostheadertype: HostHeaderType::Domain,
                hostheadervalue: None,
            },
            Origin {
                origin: "images.example.org".to_owned(),
                port: 443,
                ssl: true,
                rules: vec![Rule::new("images", "/images/*")],
                hostheadertype: HostHeaderType::Origin,
                hostheadervalue: None,
            },
        ],
        caching: vec![
            CachingRule {
                name: "default".to_owned(),
                ttl: 3600,
                rules: vec![Rule::default_rule()],
            },
            CachingRule {
                name: "thumbs".to_owned(),
                ttl: 60,
                rules: vec![Rule::new("thumbs", "/images/thumbs/*")],
            },
        ],
        restrictions: vec![Restriction {
            name: "na only".to_owned(),
            access: Access::Whitelist,
            rules: vec![na],
        }],
        flavor_id: "standard".to_owned(),
        log_delivery: Default::default(),
    };
    Service::new(ProjectId::random(), spec, 0)
}

/// Deletes, calling again while the driver waits for a rollout (as the
/// delete flow would), a bounded number of times.
pub async fn delete_eventually(
    driver: &CloudFrontProvider,
    id: &str,
    service: &Service,
) -> Result<(), poppy_core::ports::PortError> {
    use poppy_core::ports::{CdnProvider, PortError};
    let mut attempts = 0;
    loop {
        match driver.delete(id, service).await {
            Err(PortError::Unavailable { .. }) if attempts < 10 => attempts += 1,
            other => return other,
        }
    }
}
