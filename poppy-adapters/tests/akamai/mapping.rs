//! What the driver refuses, through its public interface: refusals name the
//! field and happen before anything is sent to Akamai.

use poppy_core::model::{
    Access, CertificateType, Domain, ProjectId, Protocol, Restriction, Rule, Service,
};
use poppy_core::ports::{CdnProvider, PortError};
use poppy_core::testkit::fixtures;
use serde_json::Value;

use crate::fake::Fake;

fn invalid(result: Result<impl std::fmt::Debug, PortError>) -> String {
    match result {
        Err(PortError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn service_with_restriction(rules: Vec<Rule>) -> Service {
    let mut service = fixtures::service(&ProjectId::random());
    service.spec.restrictions = vec![
        Restriction {
            name: "allowed".to_owned(),
            access: Access::Whitelist,
            rules: vec![{
                let mut r = Rule::new("partner", "/*");
                r.referrer = Some("partner.example.com".to_owned());
                r
            }],
        },
        Restriction {
            name: "denied".to_owned(),
            access: Access::Blacklist,
            rules,
        },
    ];
    service
}

#[tokio::test]
async fn unmappable_definitions_are_refused_before_any_request() {
    let fake = Fake::start(0).await;
    let provider = fake.provider();

    let mut by_method = Rule::new("no posts", "/upload/*");
    by_method.http_method = Some("POST".to_owned());
    let message = invalid(
        provider
            .create(&service_with_restriction(vec![
                Rule::new("ok", "/private/*"),
                by_method,
            ]))
            .await,
    );
    assert!(
        message.starts_with("/restrictions/1/rules/1/http_method: "),
        "{message}"
    );

    let mut two = Rule::new("both", "/*");
    two.client_ip = Some("192.0.2.0/24".to_owned());
    two.geography = Some("Japan".to_owned());
    let message = invalid(provider.create(&service_with_restriction(vec![two])).await);
    assert!(
        message.starts_with("/restrictions/1/rules/0: "),
        "{message}"
    );
    assert!(message.contains("client_ip and geography"), "{message}");

    let mut gone = Rule::new("old", "/*");
    gone.geography = Some("Yugoslavia".to_owned());
    let message = invalid(provider.create(&service_with_restriction(vec![gone])).await);
    assert!(
        message.starts_with("/restrictions/1/rules/0/geography: "),
        "{message}"
    );

    let mut service = fixtures::service(&ProjectId::random());
    service.spec.caching[0].rules = vec![Rule::new("query", "/search?q=*")];
    let message = invalid(provider.create(&service).await);
    assert!(
        message.starts_with("/caching/0/rules/0/request_url: "),
        "{message}"
    );

    let mut service = fixtures::service(&ProjectId::random());
    service.spec.domains.push(Domain {
        domain: "shop.example.com".to_owned(),
        protocol: Protocol::Https,
        certificate: Some(CertificateType::San),
    });
    let message = invalid(provider.create(&service).await);
    assert!(message.starts_with("/domains/2/certificate: "), "{message}");

    // The same checks guard update.
    let mut service = fixtures::service(&ProjectId::random());
    service.spec.origins[0]
        .rules
        .push(Rule::new("with query", "/a?b"));
    let message = invalid(provider.update("prp_1", &service).await);
    assert!(
        message.starts_with("/origins/0/rules/1/request_url: "),
        "{message}"
    );

    let message = invalid(
        provider
            .purge(
                "prp_1",
                &service,
                &poppy_core::model::PurgeTarget::Url("/images/*".to_owned()),
                true,
            )
            .await,
    );
    assert!(message.contains("/images/*"), "{message}");

    assert!(
        fake.lines().is_empty(),
        "nothing reaches Akamai: {:?}",
        fake.lines()
    );
}

#[tokio::test]
async fn purge_all_without_a_cp_code_is_not_a_capability() {
    let fake = Fake::start(0).await;
    let provider = fake.provider();
    assert!(!provider.capabilities().purge_all);
    let service = fixtures::service(&ProjectId::random());
    let message = invalid(
        provider
            .purge(
                "prp_1",
                &service,
                &poppy_core::model::PurgeTarget::All,
                true,
            )
            .await,
    );
    assert!(message.contains("cp_code"), "{message}");
    assert!(fake.lines().is_empty());
}

#[tokio::test]
async fn a_secure_edge_hostname_the_contract_lacks_is_refused_naming_the_domain() {
    let fake = Fake::start(0).await;
    let provider = fake.provider();
    let mut service = fixtures::service(&ProjectId::random());
    service.spec.domains.push(Domain {
        domain: "own.example.com".to_owned(),
        protocol: Protocol::Https,
        certificate: Some(CertificateType::Custom),
    });
    let message = invalid(provider.create(&service).await);
    assert!(
        message.starts_with("/domains/2: edge hostname 'own.example.com.edgekey.net'"),
        "{message}"
    );
    assert!(
        fake.state().properties.is_empty(),
        "no property is made for a definition that is refused"
    );

    // Once the operator has provisioned it, the domain deploys.
    fake.state()
        .edge_hostnames
        .push("own.example.com.edgekey.net".to_owned());
    let created = provider.create(&service).await.expect("deploys");
    let link = created
        .links
        .iter()
        .find(|l| l.domain == "own.example.com")
        .expect("a link");
    assert_eq!(link.href, "own.example.com.edgekey.net");
    assert_eq!(link.certificate, Some(CertificateType::Custom));
    let stored = fake
        .property(&created.provider_service_id)
        .expect("property");
    assert_eq!(
        stored.versions[0].rules["options"]["is_secure"],
        Value::Bool(true)
    );
}

#[tokio::test]
async fn restrictions_reach_the_rule_tree() {
    let fake = Fake::start(0).await;
    let provider = fake.provider();
    let mut ip = Rule::new("office", "/admin/*");
    ip.client_ip = Some("192.0.2.0/24".to_owned());
    let mut geo = Rule::new("eu", "/*");
    geo.geography = Some("United Kingdom".to_owned());
    let service = service_with_restriction(vec![ip, geo]);
    let created = provider.create(&service).await.expect("deploys");
    let stored = fake
        .property(&created.provider_service_id)
        .expect("property");
    let children = stored.versions[0].rules["children"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = children.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "Performance",
            "poppy: /caching/0/rules/0",
            "poppy: whitelist referrer /*",
            "poppy: blacklist client_ip /admin/*",
            "poppy: blacklist geography /*",
        ]
    );
    assert_eq!(
        children[4]["criteria"][0]["options"]["countryValues"],
        serde_json::json!(["GB"])
    );
}
