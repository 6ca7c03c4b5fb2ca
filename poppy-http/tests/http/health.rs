use axum::http::StatusCode;
use poppy_http::HttpConfig;

use crate::fake::{one_provider_down, Fake};
use crate::support::{app, app_with, compact, get, send};

const HEALTHY: &str = r#"
{"dns": {"default": {"online": "true", "links": {"href": "http://cdn.example.com/v1.0/health/dns/default", "rel": "self"}}},
 "storage": {"sqlite": {"online": "true", "links": {"href": "http://cdn.example.com/v1.0/health/storage/sqlite", "rel": "self"}}},
 "distributed_task": {"sqlite": {"online": "true", "links": {"href": "http://cdn.example.com/v1.0/health/distributed_task/sqlite", "rel": "self"}}},
 "providers": {"akamai": {"online": "true", "links": {"href": "http://cdn.example.com/v1.0/health/provider/akamai", "rel": "self"}},
               "mock": {"online": "true", "links": {"href": "http://cdn.example.com/v1.0/health/provider/mock", "rel": "self"}}}}
"#;

#[tokio::test]
async fn health_is_200_with_every_component_when_all_are_online() {
    let answer = send(&app(&Fake::new()), get("/v1.0/health")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.text(), compact(HEALTHY));
}

#[tokio::test]
async fn health_is_503_with_the_same_body_when_a_component_is_down() {
    let fake = Fake::new();
    *fake.health.lock().unwrap() = one_provider_down();
    let answer = send(&app(&fake), get("/v1.0/health")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = answer.json();
    assert_eq!(body["providers"]["mock"]["online"], "false");
    assert_eq!(body["providers"]["akamai"]["online"], "true");
}

#[tokio::test]
async fn health_links_carry_the_project_with_project_id_in_url() {
    let fake = Fake::new();
    let config = HttpConfig {
        project_id_in_url: true,
        ..HttpConfig::default()
    };
    let answer = send(&app_with(&fake, config), get("/v1.0/health")).await;
    assert_eq!(
        answer.json()["dns"]["default"]["links"]["href"],
        "http://cdn.example.com/v1.0/000001/health/dns/default"
    );
}

#[tokio::test]
async fn each_component_answers_its_own_status_case_insensitively() {
    let fake = Fake::new();
    *fake.health.lock().unwrap() = one_provider_down();
    let app = app(&fake);
    for (path, online) in [
        ("/v1.0/health/dns/default", "true"),
        ("/v1.0/health/dns/DEFAULT", "true"),
        ("/v1.0/health/storage/sqlite", "true"),
        ("/v1.0/health/distributed_task/SQLite", "true"),
        ("/v1.0/health/provider/akamai", "true"),
        // Offline is still 200 for a single component.
        ("/v1.0/health/provider/mock", "false"),
    ] {
        let answer = send(&app, get(path)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(
            answer.text(),
            format!(r#"{{"online":"{online}"}}"#),
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_unknown_component_name_is_404_with_an_empty_body() {
    let app = app(&Fake::new());
    for path in [
        "/v1.0/health/dns/rackspace",
        "/v1.0/health/storage/cassandra",
        "/v1.0/health/distributed_task/taskflow",
        "/v1.0/health/provider/fastly",
    ] {
        send(&app, get(path))
            .await
            .assert_empty(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn an_unknown_component_kind_is_an_unrouted_404() {
    let answer = send(&app(&Fake::new()), get("/v1.0/health/cache/x")).await;
    answer.assert_error(StatusCode::NOT_FOUND, "The resource could not be found.");
}
