use axum::body::Body;
use axum::http::{Method, StatusCode};
use poppy_core::ports::{ListQuery, PurgeQuery};
use poppy_core::{Error, FieldError};
use serde_json::json;

use crate::fake::{Call, Fake, CREATED_ID, PROJECT, SERVICE_ID};
use crate::support::{app, get, request, send, with_json, BASE};

fn service_body() -> serde_json::Value {
    json!({"name": "mywebsite.com", "domains": [{"domain": "www.mywebsite.com"}],
           "origins": [{"origin": "mywebsite1.com"}], "flavor_id": "standard"})
}

#[tokio::test]
async fn create_is_202_empty_with_the_location_of_the_new_service() {
    let fake = Fake::new();
    let answer = send(
        &app(&fake),
        with_json(Method::POST, "/v1.0/services", &service_body()),
    )
    .await;
    answer.assert_empty(StatusCode::ACCEPTED);
    assert_eq!(
        answer.header("location"),
        Some(format!("{BASE}/services/{CREATED_ID}").as_str())
    );
    assert_eq!(
        fake.calls(),
        vec![Call::CreateService {
            project: PROJECT.into(),
            body: service_body()
        }]
    );
}

#[tokio::test]
async fn create_accepts_a_body_without_content_type_or_with_a_json_suffix() {
    let fake = Fake::new();
    let app = app(&fake);
    let bare = request(Method::POST, "/v1.0/services")
        .body(Body::from(service_body().to_string()))
        .unwrap();
    send(&app, bare).await.assert_empty(StatusCode::ACCEPTED);
    let suffixed = request(Method::POST, "/v1.0/services")
        .header("content-type", "application/vnd.poppy+json; charset=utf-8")
        .body(Body::from(service_body().to_string()))
        .unwrap();
    send(&app, suffixed)
        .await
        .assert_empty(StatusCode::ACCEPTED);
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn validation_errors_list_every_field_error() {
    let fake = Fake::new();
    let errors = || {
        vec![
            FieldError::new("/domains/0/domain", "'ab' is too short"),
            FieldError::new("/origins", "is a required property"),
        ]
    };
    fake.fail_with(move || Error::Validation(errors()));
    let answer = send(
        &app(&fake),
        with_json(Method::POST, "/v1.0/services", &json!({})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.json(),
        json!({
            "message": Error::Validation(errors()).to_string(),
            "errors": [
                {"path": "/domains/0/domain", "message": "'ab' is too short"},
                {"path": "/origins", "message": "is a required property"}
            ]
        })
    );
}

/// How to make the error, the status it must give, its message.
type ErrorCase = (fn() -> Error, StatusCode, &'static str);

#[tokio::test]
async fn core_error_kinds_map_to_their_status_codes() {
    let cases: Vec<ErrorCase> = vec![
        (
            || Error::BadRequest("Could not find a flavor with the id 'x'".into()),
            StatusCode::BAD_REQUEST,
            "Could not find a flavor with the id 'x'",
        ),
        (
            || Error::Forbidden("Maximum Services Limit of 20 reached!".into()),
            StatusCode::FORBIDDEN,
            "Maximum Services Limit of 20 reached!",
        ),
        (
            || Error::Conflict("service changed concurrently".into()),
            StatusCode::CONFLICT,
            "service changed concurrently",
        ),
        (
            || Error::Unavailable("job board unavailable".into()),
            StatusCode::SERVICE_UNAVAILABLE,
            "job board unavailable",
        ),
        (
            || Error::NotFound("nope".into()),
            StatusCode::NOT_FOUND,
            "nope",
        ),
    ];
    for (make, status, message) in cases {
        let fake = Fake::new();
        fake.fail_with(make);
        let answer = send(
            &app(&fake),
            with_json(Method::POST, "/v1.0/services", &service_body()),
        )
        .await;
        answer.assert_error(status, message);
    }
}

#[tokio::test]
async fn internal_errors_are_500_with_an_opaque_message() {
    let fake = Fake::new();
    fake.fail_with(|| Error::Internal("sqlite: disk I/O error at /secret/path".into()));
    let answer = send(
        &app(&fake),
        with_json(Method::POST, "/v1.0/services", &service_body()),
    )
    .await;
    answer.assert_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The server encountered an unexpected condition which prevented it from fulfilling the request.",
    );
    assert!(!answer.text().contains("secret"));
}

#[tokio::test]
async fn list_passes_the_raw_query_and_has_no_next_link_on_a_short_page() {
    let fake = Fake::new();
    let answer = send(
        &app(&fake),
        get("/v1.0/services?limit=5&marker=abc&other=1"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["links"], json!([]));
    assert_eq!(body["services"][0]["id"], SERVICE_ID);
    assert!(answer
        .text()
        .starts_with(r#"{"links":[],"services":[{"name":"#));
    assert_eq!(
        fake.calls(),
        vec![Call::ListServices {
            project: PROJECT.into(),
            query: ListQuery {
                marker: Some("abc".into()),
                limit: Some("5".into())
            }
        }]
    );
}

#[tokio::test]
async fn list_has_a_next_link_iff_the_page_is_full() {
    let fake = Fake::new();
    *fake.next_marker.lock().unwrap() = Some(SERVICE_ID.parse().unwrap());
    let answer = send(&app(&fake), get("/v1.0/services?limit=1")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json()["links"],
        json!([{"href": format!("{BASE}/services?marker={SERVICE_ID}&limit=1"), "rel": "next"}])
    );
}

#[tokio::test]
async fn an_empty_project_lists_nothing() {
    let fake = Fake::new();
    fake.services.lock().unwrap().clear();
    let answer = send(&app(&fake), get("/v1.0/services")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), r#"{"links":[],"services":[]}"#);
    assert_eq!(
        fake.calls(),
        vec![Call::ListServices {
            project: PROJECT.into(),
            query: ListQuery::default()
        }]
    );
}

#[tokio::test]
async fn a_numeric_project_segment_is_ignored() {
    let fake = Fake::new();
    let app = app(&fake);
    let plain = send(&app, get("/v1.0/services")).await;
    let numbered = send(&app, get("/v1.0/123456/services")).await;
    assert_eq!(numbered.status, StatusCode::OK);
    assert_eq!(plain.text(), numbered.text());
    let one = send(&app, get(&format!("/v1.0/123456/services/{SERVICE_ID}"))).await;
    assert_eq!(one.status, StatusCode::OK);
    // A non-numeric segment is not a project id: unrouted.
    let named = send(&app, get("/v1.0/abc/services")).await;
    assert_eq!(named.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn get_is_200_for_a_known_service() {
    let fake = Fake::new();
    let answer = send(&app(&fake), get(&format!("/v1.0/services/{SERVICE_ID}"))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.json()["id"], SERVICE_ID);
    assert_eq!(
        fake.calls(),
        vec![Call::GetService {
            project: PROJECT.into(),
            id: SERVICE_ID.into()
        }]
    );
}

#[tokio::test]
async fn get_of_an_unknown_service_is_404() {
    let id = "00000000-0000-4000-8000-000000000000";
    let answer = send(&app(&Fake::new()), get(&format!("/v1.0/services/{id}"))).await;
    answer.assert_error(
        StatusCode::NOT_FOUND,
        &format!("service {id} could not be found"),
    );
}

#[tokio::test]
async fn a_bad_uuid_in_the_path_is_400_before_any_call() {
    let fake = Fake::new();
    let app = app(&fake);
    let requests = [
        get("/v1.0/services/not-a-uuid"),
        with_json(Method::PATCH, "/v1.0/services/not-a-uuid", &json!([])),
        request(Method::DELETE, "/v1.0/services/not-a-uuid")
            .body(Body::empty())
            .unwrap(),
        request(Method::DELETE, "/v1.0/services/1234/assets?all=true")
            .body(Body::empty())
            .unwrap(),
    ];
    for request in requests {
        send(&app, request)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "Invalid service id");
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn patch_is_202_empty_with_location_and_passes_the_patch() {
    let fake = Fake::new();
    let patch = json!([{"op": "replace", "path": "/name", "value": "new"}]);
    let answer = send(
        &app(&fake),
        with_json(
            Method::PATCH,
            &format!("/v1.0/services/{SERVICE_ID}"),
            &patch,
        ),
    )
    .await;
    answer.assert_empty(StatusCode::ACCEPTED);
    assert_eq!(
        answer.header("location"),
        Some(format!("{BASE}/services/{SERVICE_ID}").as_str())
    );
    assert_eq!(
        fake.calls(),
        vec![Call::PatchService {
            project: PROJECT.into(),
            id: SERVICE_ID.into(),
            patch
        }]
    );
}

#[tokio::test]
async fn delete_is_202_empty_without_location() {
    let fake = Fake::new();
    let request = request(Method::DELETE, &format!("/v1.0/services/{SERVICE_ID}"))
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(&fake), request).await;
    answer.assert_empty(StatusCode::ACCEPTED);
    assert_eq!(answer.header("location"), None);
    assert_eq!(
        fake.calls(),
        vec![Call::DeleteService {
            project: PROJECT.into(),
            id: SERVICE_ID.into()
        }]
    );
}

#[tokio::test]
async fn delete_of_an_unknown_service_is_404() {
    let fake = Fake::new();
    fake.fail_with(|| Error::NotFound("No service found: x".into()));
    let request = request(Method::DELETE, &format!("/v1.0/services/{SERVICE_ID}"))
        .body(Body::empty())
        .unwrap();
    send(&app(&fake), request)
        .await
        .assert_error(StatusCode::NOT_FOUND, "No service found: x");
}

#[tokio::test]
async fn purge_is_202_with_location_and_passes_the_raw_query() {
    let fake = Fake::new();
    let uri = format!("/v1.0/services/{SERVICE_ID}/assets?url=%2Fimages%2Fa.png&hard=False&all=");
    let request = request(Method::DELETE, &uri).body(Body::empty()).unwrap();
    let answer = send(&app(&fake), request).await;
    answer.assert_empty(StatusCode::ACCEPTED);
    assert_eq!(
        answer.header("location"),
        Some(format!("{BASE}/services/{SERVICE_ID}").as_str())
    );
    assert_eq!(
        fake.calls(),
        vec![Call::PurgeService {
            project: PROJECT.into(),
            id: SERVICE_ID.into(),
            query: PurgeQuery {
                url: Some("/images/a.png".into()),
                all: Some(String::new()),
                hard: Some("False".into())
            }
        }]
    );
}

#[tokio::test]
async fn purge_errors_come_from_the_core() {
    let fake = Fake::new();
    fake.fail_with(|| Error::BadRequest("hard can only be set to True or False".into()));
    let uri = format!("/v1.0/services/{SERVICE_ID}/assets?hard=maybe");
    let request = request(Method::DELETE, &uri).body(Body::empty()).unwrap();
    send(&app(&fake), request).await.assert_error(
        StatusCode::BAD_REQUEST,
        "hard can only be set to True or False",
    );
}
