//! `/v1.0/flavors` (reference §2.7) with the cases of
//! `data_create_flavor.json` and `data_create_flavor_negative.json` (§10).

use serde_json::{json, Value};

use crate::support::{domain, project, token, Server};

fn provider(name: &str, href: &str) -> Value {
    json!({"provider": name, "links": [{"href": href, "rel": "provider_url"}]})
}

fn limits() -> Value {
    json!([{"origins": {"min": 1, "max": 5}}, {"domains": {"min": 1, "max": 5}},
           {"caching": {"min": 3600, "max": 604800, "incr": 300}}])
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Creates a flavor and checks the 201: `Location`, and a body made of
/// the id, the providers as given, a `self` link equal to the location
/// (and the limits as given, if echoed). Returns the location.
async fn create_ok(server: &Server, body: &Value) -> String {
    let p = project();
    let resp = server.post(&p, "/v1.0/flavors", body).await;
    assert_eq!(resp.status, 201, "POST /v1.0/flavors {body}: {resp}");
    let id = body["id"].as_str().expect("an id");
    let location = resp.location().expect("201 with a Location");
    assert_eq!(
        location,
        format!("{}/v1.0/flavors/{}", server.base(), encode(id))
    );
    let created = resp.json();
    check_flavor(&created, body, &location);

    let fetched = server.get(&p, &location).await;
    assert_eq!(fetched.status, 200, "GET {location}: {fetched}");
    assert_eq!(fetched.json(), created, "GET returns what POST returned");
    location
}

fn check_flavor(flavor: &Value, sent: &Value, location: &str) {
    assert_eq!(flavor["id"], sent["id"], "id of {flavor}");
    assert_eq!(
        flavor["providers"], sent["providers"],
        "providers of {flavor}"
    );
    assert_eq!(
        flavor["links"],
        json!([{"href": location, "rel": "self"}]),
        "links of {flavor}"
    );
    if let Some(limits) = flavor.get("limits") {
        assert_eq!(limits, &sent["limits"], "limits are echoed as given");
    }
    let mut keys: Vec<&String> = flavor.as_object().expect("an object").keys().collect();
    keys.retain(|k| k.as_str() != "limits");
    keys.sort();
    assert_eq!(keys, ["id", "links", "providers"], "keys of {flavor}");
}

#[tokio::test]
async fn positive_cases_are_created_and_readable() {
    let server = Server::start().await;
    let cases = [
        // all_fields
        json!({"id": format!("f{}", token()), "limits": limits(),
               "providers": [provider("mock", "http://www.chinacache.com")]}),
        // non_ASCII_flavor
        json!({"id": "երանգ", "limits": limits(),
               "providers": [provider("mock", "http://www.fastly.com")]}),
        // non_ASCII_provider_url
        json!({"id": format!("f{}", token()), "limits": limits(),
               "providers": [provider("mock", "http://العربية.com")]}),
        // no limits at all
        json!({"id": format!("f{}", token()), "providers": [provider("mock", "http://www.mock.com")]}),
    ];
    for body in &cases {
        create_ok(&server, body).await;
    }

    let listed = server.get(&project(), "/v1.0/flavors").await;
    assert_eq!(listed.status, 200, "{listed}");
    let listed = listed.json();
    let flavors = listed["flavors"].as_array().expect("a flavors array");
    let ids: Vec<&str> = flavors.iter().filter_map(|f| f["id"].as_str()).collect();
    assert!(
        ids.contains(&"standard"),
        "the seeded flavor is listed: {ids:?}"
    );
    for body in &cases {
        let id = body["id"].as_str().expect("an id");
        let listed = flavors
            .iter()
            .find(|f| f["id"] == json!(id))
            .unwrap_or_else(|| panic!("{id} is not listed: {ids:?}"));
        let location = format!("{}/v1.0/flavors/{}", server.base(), encode(id));
        check_flavor(listed, body, &location);
    }
}

#[tokio::test]
async fn the_seeded_flavor_is_readable() {
    let server = Server::start().await;
    let resp = server.get(&project(), "/v1.0/flavors/standard").await;
    assert_eq!(resp.status, 200, "{resp}");
    let body = resp.json();
    assert_eq!(body["id"], "standard");
    assert_eq!(body["providers"][0]["provider"], "mock");
    assert_eq!(body["providers"][0]["links"][0]["rel"], "provider_url");
    assert_eq!(
        body["links"],
        json!([{"href": format!("{}/v1.0/flavors/standard", server.base()), "rel": "self"}])
    );
}

#[tokio::test]
async fn a_created_flavor_can_deploy_services() {
    let server = Server::start().await;
    let id = format!("f{}", token());
    create_ok(
        &server,
        &json!({"id": id, "providers": [provider("mock", "http://www.mock.com")]}),
    )
    .await;
    let p = project();
    let service = json!({"name": "on a new flavor", "domains": [{"domain": domain()}],
                         "origins": [{"origin": "origin.example.com"}], "flavor_id": id});
    let (_, body) = server.deployed(&p, &service).await.unwrap();
    assert_eq!(body["flavor_id"], json!(id));
    assert_eq!(
        body["links"][1],
        json!({"href": format!("{}/v1.0/flavors/{id}", server.base()), "rel": "flavor"})
    );
}

#[tokio::test]
async fn a_duplicate_id_is_400() {
    let server = Server::start().await;
    let id = format!("f{}", token());
    let body = json!({"id": id, "providers": [provider("mock", "http://www.mock.com")]});
    create_ok(&server, &body).await;
    let again = server.post(&project(), "/v1.0/flavors", &body).await;
    again
        .expect_error(400, &format!("A flavor with the id '{id}' already exists"))
        .unwrap();
    let seeded = json!({"id": "standard", "providers": [provider("mock", "http://www.mock.com")]});
    let resp = server.post(&project(), "/v1.0/flavors", &seeded).await;
    resp.expect_error(400, "A flavor with the id 'standard' already exists")
        .unwrap();
}

#[tokio::test]
async fn negative_cases_are_400_and_create_nothing() {
    let server = Server::start().await;
    let mock = || provider("mock", "http://www.mock.com");
    let id = || format!("f{}", token());
    let cases: Vec<(&str, Value)> = vec![
        (
            "empty_provider_list",
            json!({"id": id(), "limits": limits(), "providers": []}),
        ),
        (
            "no_provider_url",
            json!({"id": id(), "providers": [{"provider": "mock",
                "links": [{"href": "http://mock.com", "rel": "no_provider_url"}]}]}),
        ),
        (
            "no_rel_field",
            json!({"id": id(), "providers": [{"provider": "mock",
                "links": [{"href": "http://www.mock.com"}]}, mock()]}),
        ),
        (
            "empty_string_rel_field",
            json!({"id": id(), "providers": [{"provider": "mock",
                "links": [{"href": "http://www.mock.com", "rel": ""}]}, mock()]}),
        ),
        (
            "empty_href",
            json!({"id": id(), "providers": [provider("mock", "")]}),
        ),
        (
            "invalid_provider",
            json!({"id": id(), "limits": limits(),
                   "providers": [provider("genie", "http://www.magiclamp.com")]}),
        ),
        (
            "one_character_href",
            json!({"id": id(), "providers": [provider("mock", "x")]}),
        ),
        ("missing_id", json!({"providers": [mock()]})),
        ("too_short_id", json!({"id": "ab", "providers": [mock()]})),
        (
            "too_long_id",
            json!({"id": "f".repeat(65), "providers": [mock()]}),
        ),
        (
            "id_not_a_string",
            json!({"id": 12345, "providers": [mock()]}),
        ),
        ("missing_providers", json!({"id": id()})),
        (
            "providers_not_a_list",
            json!({"id": id(), "providers": mock()}),
        ),
        (
            "missing_provider_name",
            json!({"id": id(), "providers": [{"links": [
            {"href": "http://www.mock.com", "rel": "provider_url"}]}]}),
        ),
        (
            "missing_links",
            json!({"id": id(), "providers": [{"provider": "mock"}]}),
        ),
        (
            "empty_links",
            json!({"id": id(), "providers": [{"provider": "mock", "links": []}]}),
        ),
        ("not_an_object", json!(["mock"])),
    ];
    let mut failures = Vec::new();
    for (name, body) in &cases {
        let resp = server.post(&project(), "/v1.0/flavors", body).await;
        if let Err(e) = resp.expect_status_with_message(400) {
            failures.push(format!("[{name}] {e}"));
        }
        if resp.location().is_some() {
            failures.push(format!("[{name}] a refused create has a Location: {resp}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    let listed = server.get(&project(), "/v1.0/flavors").await.json();
    let ids: Vec<&str> = listed["flavors"]
        .as_array()
        .expect("a flavors array")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids, ["standard"], "only the seeded flavor exists");
}

#[tokio::test]
async fn unknown_flavors_are_404() {
    let server = Server::start().await;
    let resp = server.get(&project(), "/v1.0/flavors/nosuchflavor").await;
    resp.expect_error(404, "Could not find a flavor with the id 'nosuchflavor'")
        .unwrap();
}

#[tokio::test]
async fn delete_is_204_every_time() {
    let server = Server::start().await;
    let id = format!("f{}", token());
    let location = create_ok(
        &server,
        &json!({"id": id, "providers": [provider("mock", "http://www.mock.com")]}),
    )
    .await;
    let p = project();
    server
        .delete(&p, &location)
        .await
        .expect_empty(204)
        .unwrap();
    let gone = server.get(&p, &location).await;
    assert_eq!(gone.status, 404, "deleted flavor: {gone}");
    server
        .delete(&p, &location)
        .await
        .expect_empty(204)
        .unwrap();
    server
        .delete(&p, "/v1.0/flavors/neverexisted")
        .await
        .expect_empty(204)
        .unwrap();
    // A service on a deleted flavor cannot be created.
    let service = json!({"name": "orphan", "domains": [{"domain": domain()}],
                         "origins": [{"origin": "origin.example.com"}], "flavor_id": id});
    let resp = server.post(&p, "/v1.0/services", &service).await;
    resp.expect_status_with_message(400).unwrap();
}
