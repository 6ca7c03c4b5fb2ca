use axum::http::{Method, StatusCode};
use poppy_core::model::ProjectId;
use poppy_core::ports::{ServiceRef, StatusOutcome};
use poppy_core::Error;
use serde_json::json;

use crate::fake::{Call, Fake, SERVICE_ID};
use crate::support::{app, get, send, with_json};

#[tokio::test]
async fn services_by_status_lists_refs() {
    let fake = Fake::new();
    *fake.refs.lock().unwrap() = vec![ServiceRef {
        project_id: ProjectId::new("p1"),
        service_id: SERVICE_ID.parse().unwrap(),
    }];
    let answer = send(&app(&fake), get("/v1.0/admin/services?status=deployed")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.text(),
        format!(r#"[{{"project_id":"p1","service_id":"{SERVICE_ID}"}}]"#)
    );
    assert_eq!(
        fake.calls(),
        vec![Call::ServicesByStatus(Some("deployed".into()))]
    );
}

#[tokio::test]
async fn services_by_status_leaves_a_missing_or_bad_status_to_the_core() {
    let fake = Fake::new();
    let answer = send(&app(&fake), get("/v1.0/admin/services")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), "[]");
    assert_eq!(fake.calls(), vec![Call::ServicesByStatus(None)]);

    fake.fail_with(|| Error::BadRequest("Unknown status type x present".into()));
    send(&app(&fake), get("/v1.0/admin/services?status=x"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "Unknown status type x present");
}

#[tokio::test]
async fn service_action_is_202_empty() {
    let fake = Fake::new();
    let body = json!({"project_id": "p1", "action": "disable"});
    let answer = send(
        &app(&fake),
        with_json(Method::POST, "/v1.0/admin/services/action", &body),
    )
    .await;
    answer.assert_empty(StatusCode::ACCEPTED);
    assert_eq!(fake.calls(), vec![Call::ServiceAction(body)]);
}

#[tokio::test]
async fn service_action_failures_come_from_the_core() {
    let fake = Fake::new();
    fake.fail_with(|| Error::NotFound("Services action delete on tenant: None failed".into()));
    let answer = send(
        &app(&fake),
        with_json(
            Method::POST,
            "/v1.0/admin/services/action",
            &json!({"domain": "www.x.com", "action": "delete"}),
        ),
    )
    .await;
    answer.assert_error(
        StatusCode::NOT_FOUND,
        "Services action delete on tenant: None failed",
    );
}

#[tokio::test]
async fn set_status_is_201_when_set_and_202_when_an_update_is_forced() {
    let body = json!({"project_id": "p1", "service_id": SERVICE_ID, "status": "deployed"});
    for (outcome, status) in [
        (StatusOutcome::StatusSet, StatusCode::CREATED),
        (StatusOutcome::UpdateForced, StatusCode::ACCEPTED),
    ] {
        let fake = Fake::new();
        *fake.status_outcome.lock().unwrap() = outcome;
        let answer = send(
            &app(&fake),
            with_json(Method::POST, "/v1.0/admin/services/status", &body),
        )
        .await;
        answer.assert_empty(status);
        assert_eq!(fake.calls(), vec![Call::SetServiceStatus(body.clone())]);
    }
}

#[tokio::test]
async fn domains_by_provider_url_lists_domain_names() {
    let fake = Fake::new();
    *fake.domains.lock().unwrap() = vec!["www.a.com".into(), "www.b.com".into()];
    let answer = send(
        &app(&fake),
        get("/v1.0/admin/domains?provider_url=a.b.c.d.edgekey.net"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.text(),
        r#"[{"domain_name":"www.a.com"},{"domain_name":"www.b.com"}]"#
    );
    assert_eq!(
        fake.calls(),
        vec![Call::DomainsByProviderUrl(Some(
            "a.b.c.d.edgekey.net".into()
        ))]
    );
}

#[tokio::test]
async fn domains_without_provider_url_is_the_cores_call() {
    let fake = Fake::new();
    fake.fail_with(|| {
        Error::BadRequest("provider_url needs to be provided as a query parameter".into())
    });
    send(&app(&fake), get("/v1.0/admin/domains"))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "provider_url needs to be provided as a query parameter",
        );
    assert_eq!(fake.calls(), vec![Call::DomainsByProviderUrl(None)]);
}

#[tokio::test]
async fn service_by_domain_renders_the_owning_service() {
    let fake = Fake::new();
    let answer = send(&app(&fake), get("/v1.0/admin/domains/www.mywebsite.com")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["id"], SERVICE_ID);
    assert_eq!(
        fake.calls(),
        vec![Call::ServiceByDomain("www.mywebsite.com".into())]
    );

    let answer = send(&app(&fake), get("/v1.0/admin/domains/www.nowhere.com")).await;
    answer.assert_error(
        StatusCode::NOT_FOUND,
        "Domain www.nowhere.com cannot be found",
    );

    // Too short for a domain: rejected before the port is asked.
    let calls = fake.calls().len();
    let answer = send(&app(&fake), get("/v1.0/admin/domains/ab")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text());
    assert_eq!(fake.calls().len(), calls);
}

#[tokio::test]
async fn limits_get_and_put() {
    let fake = Fake::new();
    fake.limit.store(7, std::sync::atomic::Ordering::SeqCst);
    let answer = send(&app(&fake), get("/v1.0/admin/limits/p1")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), r#"{"limit":7}"#);

    let body = json!({"limit": 3});
    let answer = send(
        &app(&fake),
        with_json(Method::PUT, "/v1.0/admin/limits/p1", &body),
    )
    .await;
    answer.assert_empty(StatusCode::CREATED);
    assert_eq!(
        fake.calls(),
        vec![
            Call::GetLimit("p1".into()),
            Call::SetLimit("p1".into(), body)
        ]
    );
}

#[tokio::test]
async fn limits_rejections_come_from_the_core() {
    let fake = Fake::new();
    fake.fail_with(|| Error::BadRequest("Invalid project_id : bad!".into()));
    send(&app(&fake), get("/v1.0/admin/limits/bad!"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "Invalid project_id : bad!");
}
