//! A service's whole life at Akamai, asserting the exact requests.

use poppy_core::model::{ProjectId, ProviderStatus, PurgeTarget, Service};
use poppy_core::ports::{CdnProvider, PortError};
use poppy_core::testkit::fixtures;
use serde_json::{json, Value};

use crate::fake::{Fake, Recorded, ACCESS_TOKEN, CLIENT_TOKEN, CONTRACT, EMAIL, GROUP, PRODUCT};

fn ok<T>(result: Result<T, PortError>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e:?}"),
    }
}

/// An EdgeGrid header of our credentials, with a UTC timestamp, a nonce
/// and a base64 HMAC-SHA256 (44 characters).
fn assert_edgegrid(r: &Recorded) {
    let prefix = format!(
        "EG1-HMAC-SHA256 client_token={CLIENT_TOKEN};access_token={ACCESS_TOKEN};timestamp="
    );
    let rest = r
        .authorization
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{}: authorization {:?}", r.line(), r.authorization));
    let fields: Vec<&str> = rest.split(';').collect();
    assert_eq!(fields.len(), 3, "{}: {rest}", r.line());
    let ts = fields[0].as_bytes();
    assert!(
        ts.len() == 22
            && ts[8] == b'T'
            && fields[0].ends_with("+0000")
            && ts[..8].iter().all(u8::is_ascii_digit),
        "{}: timestamp {}",
        r.line(),
        fields[0]
    );
    assert!(
        fields[1].starts_with("nonce=") && fields[1].len() > 10,
        "{}",
        r.line()
    );
    let signature = fields[2].strip_prefix("signature=").unwrap_or_default();
    assert_eq!(signature.len(), 44, "{}: signature {signature}", r.line());
    assert!(signature.ends_with('='));
}

/// Every PAPI property call names the contract and group.
fn assert_scoped(r: &Recorded) {
    if r.path.starts_with("/papi/v1/properties") || r.path.starts_with("/papi/v1/edgehostnames") {
        assert_eq!(
            r.query.get("contractId").map(String::as_str),
            Some(CONTRACT),
            "{}",
            r.line()
        );
        assert_eq!(
            r.query.get("groupId").map(String::as_str),
            Some(GROUP),
            "{}",
            r.line()
        );
    }
}

fn find<'a>(log: &'a [Recorded], line: &str) -> Vec<&'a Recorded> {
    log.iter().filter(|r| r.line() == line).collect()
}

fn body<'a>(log: &'a [Recorded], line: &str) -> &'a Value {
    match find(log, line).first().and_then(|r| r.body.as_ref()) {
        Some(b) => b,
        None => panic!(
            "no request {line} with a JSON body in {:?}",
            log.iter().map(Recorded::line).collect::<Vec<_>>()
        ),
    }
}

async fn until_deployed(provider: &dyn CdnProvider, id: &str) -> usize {
    for polls in 1..=10 {
        match ok(provider.status(id).await, "status") {
            ProviderStatus::Deployed => return polls,
            ProviderStatus::DeployInProgress => {}
            other => panic!("unexpected status {other:?}"),
        }
    }
    panic!("still not deployed after 10 polls");
}

#[tokio::test]
async fn create_activate_update_purge_and_delete() {
    let fake = Fake::start(3).await;
    let mut config = fake.config();
    config.cp_code = Some(4242);
    let provider = fake.provider_with(config);
    let service = fixtures::service(&ProjectId::random());
    let domains: Vec<String> = service.domain_names().map(str::to_owned).collect();
    let name = format!("poppy-{}", service.id);

    // create
    let created = ok(provider.create(&service).await, "create");
    assert_eq!(created.status, ProviderStatus::DeployInProgress);
    let id = created.provider_service_id.clone();
    assert!(id.starts_with("prp_"), "{id}");
    let links: Vec<(&str, &str)> = created
        .links
        .iter()
        .map(|l| (l.domain.as_str(), l.href.as_str()))
        .collect();
    let edges: Vec<String> = domains
        .iter()
        .map(|d| format!("{d}.edgesuite.net"))
        .collect();
    assert_eq!(
        links,
        vec![
            (domains[0].as_str(), edges[0].as_str()),
            (domains[1].as_str(), edges[1].as_str())
        ]
    );

    let log = fake.log();
    let p = format!("/papi/v1/properties/{id}");
    assert_eq!(
        fake.lines(),
        [
            "GET /papi/v1/edgehostnames".to_owned(),
            "POST /papi/v1/edgehostnames".to_owned(),
            "POST /papi/v1/edgehostnames".to_owned(),
            "POST /papi/v1/search/find-by-value".to_owned(),
            "POST /papi/v1/properties".to_owned(),
            format!("GET {p}"),
            format!("GET {p}/versions/1/rules"),
            format!("GET {p}/versions/1"),
            format!("PUT {p}/versions/1/hostnames"),
            format!("PUT {p}/versions/1/rules"),
            format!("GET {p}/activations"),
            format!("POST {p}/activations"),
        ]
    );
    for r in &log {
        assert_edgegrid(r);
        assert_scoped(r);
    }
    assert_eq!(
        body(&log, "POST /papi/v1/search/find-by-value"),
        &json!({"propertyName": name})
    );
    assert_eq!(
        body(&log, "POST /papi/v1/properties"),
        &json!({"productId": PRODUCT, "propertyName": name, "ruleFormat": "latest"})
    );
    let edge_bodies: Vec<&Value> = find(&log, "POST /papi/v1/edgehostnames")
        .iter()
        .filter_map(|r| r.body.as_ref())
        .collect();
    assert_eq!(
        edge_bodies[0],
        &json!({"productId": PRODUCT, "domainPrefix": domains[0], "domainSuffix": "edgesuite.net",
                "secure": false, "ipVersionBehavior": "IPV4"})
    );
    assert_eq!(
        body(&log, &format!("PUT {p}/versions/1/hostnames")),
        &json!([
            {"cnameType": "EDGE_HOSTNAME", "cnameFrom": domains[0], "cnameTo": edges[0]},
            {"cnameType": "EDGE_HOSTNAME", "cnameFrom": domains[1], "cnameTo": edges[1]},
        ])
    );
    let put_rules = find(&log, &format!("PUT {p}/versions/1/rules"))[0];
    assert_eq!(
        put_rules.content_type.as_deref(),
        Some("application/vnd.akamai.papirules.latest+json")
    );
    assert_eq!(
        put_rules.query.get("validateRules").map(String::as_str),
        Some("true")
    );
    let rules = &put_rules.body.as_ref().expect("a rule tree")["rules"];
    assert_eq!(rules["behaviors"][0]["name"], "origin");
    assert_eq!(
        rules["behaviors"][0]["options"]["hostname"],
        fixtures::ORIGIN
    );
    assert_eq!(
        rules["behaviors"][1],
        json!({"name": "cpCode", "options": {"value": {"id": 4242}}})
    );
    let children: Vec<&str> = rules["children"]
        .as_array()
        .expect("children")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        children,
        ["Performance", "poppy: /caching/0/rules/0"],
        "the product's own child is kept"
    );
    assert_eq!(
        rules["children"][1]["behaviors"][0]["options"]["ttl"],
        "86400s"
    );
    assert!(rules["comments"]
        .as_str()
        .is_some_and(|c| c.contains(&service.id.to_string())));
    assert_eq!(
        body(&log, &format!("POST {p}/activations")),
        &json!({
            "propertyVersion": 1, "network": "STAGING", "activationType": "ACTIVATE",
            "note": format!("poppy: service {} of project {}", service.id, service.project_id),
            "notifyEmails": [EMAIL], "acknowledgeAllWarnings": true, "useFastFallback": false,
        })
    );

    // The activation takes several polls.
    assert_eq!(until_deployed(&provider, &id).await, 3);

    // update: a new version (version 1 is active), new domains and TTL.
    let mut changed = service.clone();
    let new_domain = fixtures::unique_domain();
    changed.spec = fixtures::spec(&[&domains[0], &new_domain]);
    changed.spec.caching[0].ttl = 600;
    fake.clear_log();
    let updated = ok(provider.update(&id, &changed).await, "update");
    assert_eq!(updated.provider_service_id, id);
    assert_eq!(updated.status, ProviderStatus::DeployInProgress);
    assert_eq!(updated.links[1].href, format!("{new_domain}.edgesuite.net"));
    let log = fake.log();
    assert_eq!(
        body(&log, &format!("POST {p}/versions")),
        &json!({"createFromVersion": 1, "createFromVersionEtag": format!("etag-{id}-1")})
    );
    assert_eq!(find(&log, &format!("PUT {p}/versions/2/rules")).len(), 1);
    assert_eq!(
        find(&log, "POST /papi/v1/edgehostnames").len(),
        1,
        "only the new domain's edge hostname"
    );
    assert_eq!(
        body(&log, &format!("POST {p}/activations"))["propertyVersion"],
        2
    );
    let stored = fake.property(&id).expect("the property");
    assert_eq!(stored.versions.len(), 2);
    assert_eq!(
        stored.versions[1].rules["children"][1]["behaviors"][0]["options"]["ttl"],
        "600s"
    );
    assert_eq!(
        stored.versions[1].hostnames[1]["cnameFrom"],
        new_domain.as_str()
    );
    until_deployed(&provider, &id).await;

    // The same update again writes nothing and finds it deployed.
    fake.clear_log();
    let again = ok(provider.update(&id, &changed).await, "update again");
    assert_eq!(again.status, ProviderStatus::Deployed);
    assert!(
        fake.lines().iter().all(|l| l.starts_with("GET ")),
        "an update to the same definition only reads: {:?}",
        fake.lines()
    );

    // purge: Fast Purge v3, soft = invalidate, hard = delete, all = CP code.
    let caps = provider.capabilities();
    assert!(caps.hard_purge && caps.soft_purge && caps.purge_all && caps.certificates);
    fake.clear_log();
    let url = PurgeTarget::Url("/index.html".to_owned());
    ok(
        provider.purge(&id, &changed, &url, true).await,
        "hard purge",
    );
    ok(
        provider.purge(&id, &changed, &url, false).await,
        "soft purge",
    );
    ok(
        provider.purge(&id, &changed, &PurgeTarget::All, true).await,
        "hard purge all",
    );
    ok(
        provider
            .purge(&id, &changed, &PurgeTarget::All, false)
            .await,
        "soft purge all",
    );
    let urls = json!({"objects": [format!("http://{}/index.html", domains[0]), format!("http://{new_domain}/index.html")]});
    assert_eq!(
        fake.state().purges,
        vec![
            ("/ccu/v3/delete/url/staging".to_owned(), urls.clone()),
            ("/ccu/v3/invalidate/url/staging".to_owned(), urls),
            (
                "/ccu/v3/delete/cpcode/staging".to_owned(),
                json!({"objects": [4242]})
            ),
            (
                "/ccu/v3/invalidate/cpcode/staging".to_owned(),
                json!({"objects": [4242]})
            ),
        ]
    );
    for r in fake.log() {
        assert_edgegrid(&r);
        assert!(
            r.query.is_empty(),
            "Fast Purge takes no query: {}",
            r.line()
        );
    }

    // delete: deactivate, wait for it, delete the property.
    fake.clear_log();
    ok(provider.delete(&id, &changed).await, "delete");
    let log = fake.log();
    let deactivation = body(&log, &format!("POST {p}/activations"));
    assert_eq!(deactivation["activationType"], "DEACTIVATE");
    assert_eq!(deactivation["propertyVersion"], 2);
    assert_eq!(deactivation["network"], "STAGING");
    assert_eq!(
        fake.lines().last().map(String::as_str),
        Some(format!("DELETE {p}").as_str())
    );
    assert!(fake.property(&id).is_none());
    assert!(matches!(
        provider.status(&id).await,
        Err(PortError::NotFound(_))
    ));

    // delete again: already gone.
    fake.clear_log();
    ok(provider.delete(&id, &changed).await, "second delete");
    assert_eq!(fake.lines(), [format!("GET {p}/activations")]);
}

#[tokio::test]
async fn a_second_create_finds_the_property_and_its_activation() {
    let fake = Fake::start(5).await;
    let provider = fake.provider();
    let service = fixtures::service(&ProjectId::random());
    let first = ok(provider.create(&service).await, "create");
    fake.clear_log();
    let second = ok(provider.create(&service).await, "create again");
    assert_eq!(second.provider_service_id, first.provider_service_id);
    assert_eq!(second.links, first.links);
    assert_eq!(second.status, ProviderStatus::DeployInProgress);
    let lines = fake.lines();
    assert!(
        !lines.contains(&"POST /papi/v1/properties".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("GET ") || l == "POST /papi/v1/search/find-by-value"),
        "a retried create writes nothing while the activation is pending: {lines:?}"
    );
    assert_eq!(fake.state().properties.len(), 1);
}

#[tokio::test]
async fn a_lagging_search_index_still_finds_the_property() {
    let fake = Fake::start(1).await;
    fake.state().search_lags = true;
    let provider = fake.provider();
    let service = fixtures::service(&ProjectId::random());
    let first = ok(provider.create(&service).await, "create");
    let second = ok(provider.create(&service).await, "create again");
    assert_eq!(second.provider_service_id, first.provider_service_id);
    assert_eq!(fake.state().properties.len(), 1);
    assert!(
        fake.lines().contains(&"GET /papi/v1/properties".to_owned()),
        "looked in the group"
    );
}

#[tokio::test]
async fn a_create_that_failed_midway_resumes_without_a_second_property() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, ResponseTemplate};

    let fake = Fake::start(1).await;
    Mock::given(method("PUT"))
        .and(path_regex(r"^/papi/v1/properties/[^/]+/versions/1/rules$"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    let provider = fake.provider();
    let service = fixtures::service(&ProjectId::random());
    let err = provider
        .create(&service)
        .await
        .expect_err("the rules PUT fails");
    assert!(err.is_retryable(), "{err:?}");
    let created = ok(provider.create(&service).await, "retried create");
    assert_eq!(fake.state().properties.len(), 1);
    let stored = fake
        .property(&created.provider_service_id)
        .expect("property");
    assert_eq!(
        stored.versions.len(),
        1,
        "the never-activated version 1 is edited in place"
    );
    assert_eq!(
        stored.versions[0].rules["behaviors"][0]["options"]["hostname"],
        fixtures::ORIGIN
    );
}

#[tokio::test]
async fn an_update_waits_for_a_pending_activation_of_another_version() {
    let fake = Fake::start(3).await;
    let provider = fake.provider();
    let service = fixtures::service(&ProjectId::random());
    let created = ok(provider.create(&service).await, "create");
    let id = created.provider_service_id;
    let mut changed: Service = service.clone();
    changed.spec.caching[0].ttl = 60;
    // Version 1 is still activating: the update makes version 2 and
    // activates it once version 1 is done.
    let updated = ok(provider.update(&id, &changed).await, "update");
    assert_eq!(updated.status, ProviderStatus::DeployInProgress);
    let activations: Vec<(u32, String)> = fake
        .state()
        .activations
        .iter()
        .map(|a| (a.version, a.status.clone()))
        .collect();
    assert_eq!(
        activations,
        [(1, "ACTIVE".to_owned()), (2, "PENDING".to_owned())]
    );
    ok(provider.delete(&id, &changed).await, "delete");
}

#[tokio::test]
async fn properties_are_cloned_from_the_template_and_activated_on_production() {
    let fake = Fake::start(1).await;
    // The operator's template: a property with its own rules.
    let template = {
        let mut state = fake.state();
        let mut rules = crate::fake::product_default_rules();
        rules["children"][0]["name"] = json!("Operator settings");
        state.properties.insert(
            "prp_7".to_owned(),
            crate::fake::FakeProperty {
                id: "prp_7".to_owned(),
                name: "operator-template".to_owned(),
                versions: vec![crate::fake::FakeVersion {
                    rules,
                    hostnames: json!([]),
                    staging_status: "INACTIVE".to_owned(),
                    production_status: "INACTIVE".to_owned(),
                }],
                staging_version: None,
                production_version: None,
            },
        );
        "prp_7"
    };
    let mut config = fake.config();
    config.template_property_id = Some(template.to_owned());
    config.network = poppy_adapters::provider::akamai::Network::Production;
    let provider = fake.provider_with(config);
    let service = fixtures::service(&ProjectId::random());
    let created = ok(provider.create(&service).await, "create");
    let log = fake.log();
    assert_eq!(
        body(&log, "POST /papi/v1/properties")["cloneFrom"],
        json!({"propertyId": "prp_7", "version": 1, "copyHostnames": false})
    );
    assert_eq!(
        body(
            &log,
            &format!(
                "POST /papi/v1/properties/{}/activations",
                created.provider_service_id
            )
        )["network"],
        "PRODUCTION"
    );
    let stored = fake
        .property(&created.provider_service_id)
        .expect("property");
    assert_eq!(
        stored.versions[0].rules["children"][0]["name"],
        "Operator settings"
    );
    fake.clear_log();
    ok(
        provider
            .purge(
                &created.provider_service_id,
                &service,
                &PurgeTarget::Url("/a".to_owned()),
                true,
            )
            .await,
        "purge",
    );
    assert_eq!(fake.lines(), ["POST /ccu/v3/delete/url/production"]);
}
