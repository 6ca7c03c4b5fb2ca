use axum::body::Body;
use axum::http::{Method, StatusCode};
use poppy_core::model::FlavorProvider;
use poppy_core::Error;
use serde_json::json;

use crate::fake::{Call, Fake};
use crate::support::{app, compact, get, request, send, with_json};

const STANDARD: &str = r#"
{"id": "standard",
 "providers": [{"provider": "akamai", "links": [{"href": "http://www.akamai.com", "rel": "provider_url"}]}],
 "links": [{"href": "http://cdn.example.com/v1.0/flavors/standard", "rel": "self"}]}
"#;

#[tokio::test]
async fn list_wraps_flavors() {
    let fake = Fake::new();
    let answer = send(&app(&fake), get("/v1.0/flavors")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.text(),
        format!(r#"{{"flavors":[{}]}}"#, compact(STANDARD))
    );
    assert_eq!(fake.calls(), vec![Call::ListFlavors]);
}

#[tokio::test]
async fn get_renders_the_flavor_with_its_limits_when_set() {
    let fake = Fake::new();
    let answer = send(&app(&fake), get("/v1.0/flavors/standard")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), compact(STANDARD));

    {
        let mut flavors = fake.flavors.lock().unwrap();
        flavors[0].limits = Some(json!([{"domains": {"min": 1}}]));
        flavors[0].providers.push(FlavorProvider {
            provider: "mock".into(),
            provider_url: "www.mock.com".into(),
        });
    }
    let answer = send(&app(&fake), get("/v1.0/flavors/standard")).await;
    let text = answer.text();
    assert!(
        text.contains(r#""rel":"provider_url"}]}],"limits":[{"domains":{"min":1}}],"links":"#),
        "{text}"
    );
    assert_eq!(answer.json()["providers"][1]["provider"], "mock");
}

#[tokio::test]
async fn get_of_an_unknown_flavor_is_404() {
    let answer = send(&app(&Fake::new()), get("/v1.0/flavors/gold")).await;
    answer.assert_error(
        StatusCode::NOT_FOUND,
        "Could not find a flavor with the id 'gold'",
    );
}

#[tokio::test]
async fn create_is_201_with_location_and_the_flavor() {
    let fake = Fake::new();
    let body = json!({"id": "premium", "providers": [{"provider": "mock",
        "links": [{"href": "www.mock.com", "rel": "provider_url"}]}]});
    let answer = send(&app(&fake), with_json(Method::POST, "/v1.0/flavors", &body)).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(
        answer.header("location"),
        Some("http://cdn.example.com/v1.0/flavors/premium")
    );
    assert_eq!(
        answer.json(),
        json!({"id": "premium",
               "providers": [{"provider": "mock", "links": [{"href": "www.mock.com", "rel": "provider_url"}]}],
               "links": [{"href": "http://cdn.example.com/v1.0/flavors/premium", "rel": "self"}]})
    );
    assert_eq!(fake.calls(), vec![Call::CreateFlavor(body)]);
}

#[tokio::test]
async fn create_rejections_come_from_the_core() {
    let fake = Fake::new();
    fake.fail_with(|| Error::BadRequest("A flavor with the id 'standard' already exists".into()));
    let answer = send(
        &app(&fake),
        with_json(Method::POST, "/v1.0/flavors", &json!({"id": "standard"})),
    )
    .await;
    answer.assert_error(
        StatusCode::BAD_REQUEST,
        "A flavor with the id 'standard' already exists",
    );
}

#[tokio::test]
async fn create_encodes_odd_ids_in_location() {
    let fake = Fake::new();
    let answer = send(
        &app(&fake),
        with_json(Method::POST, "/v1.0/flavors", &json!({"id": "my flavor/é"})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(
        answer.header("location"),
        Some("http://cdn.example.com/v1.0/flavors/my%20flavor/%C3%A9")
    );
}

#[tokio::test]
async fn delete_is_204() {
    let fake = Fake::new();
    let request = request(Method::DELETE, "/v1.0/flavors/whatever")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(&fake), request).await;
    answer.assert_empty(StatusCode::NO_CONTENT);
    assert_eq!(fake.calls(), vec![Call::DeleteFlavor("whatever".into())]);
}
