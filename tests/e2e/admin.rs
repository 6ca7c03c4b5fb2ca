//! Operator endpoints `/v1.0/admin/…` (reference §2.9.1-§2.9.3,
//! §2.9.5-§2.9.7).

use serde_json::{json, Value};

use crate::support::{domain, id_of, project, Server, Setup};

fn service(d: &str) -> Value {
    json!({"name": "admin", "flavor_id": "standard", "domains": [{"domain": d}],
           "origins": [{"origin": "origin.example.com"}]})
}

// ------------------------------------------------------------------ limits

#[tokio::test]
async fn limits_default_set_and_read() {
    let server = Server::start().await;
    let operator = project();
    let p = project();
    let path = format!("/v1.0/admin/limits/{p}");
    let resp = server.get(&operator, &path).await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.json(), json!({"limit": 20}));
    for limit in [5, 7, 0] {
        server
            .put(&operator, &path, &json!({"limit": limit}))
            .await
            .expect_empty(201)
            .unwrap();
        let resp = server.get(&operator, &path).await;
        assert_eq!(resp.json(), json!({"limit": limit}), "{resp}");
    }
    // Project ids with dots, dashes and underscores are fine.
    let fancy = "my_project-1.0";
    let resp = server
        .put(
            &operator,
            &format!("/v1.0/admin/limits/{fancy}"),
            &json!({"limit": 3}),
        )
        .await;
    resp.expect_empty(201).unwrap();
    let resp = server
        .get(&operator, &format!("/v1.0/admin/limits/{fancy}"))
        .await;
    assert_eq!(resp.json(), json!({"limit": 3}));
}

#[tokio::test]
async fn limits_refuse_bad_project_ids_and_bodies() {
    let server = Server::start().await;
    let operator = project();
    let long = "p".repeat(257);
    for (segment, shown) in [
        ("bad!id", "bad!id"),
        ("a%20b", "a b"),
        ("caf%C3%A9", "café"),
        (long.as_str(), long.as_str()),
    ] {
        let path = format!("/v1.0/admin/limits/{segment}");
        let message = format!("Invalid project_id : {shown}");
        server
            .get(&operator, &path)
            .await
            .expect_error(400, &message)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        server
            .put(&operator, &path, &json!({"limit": 1}))
            .await
            .expect_error(400, &message)
            .unwrap_or_else(|e| panic!("PUT {path}: {e}"));
    }

    let p = project();
    let path = format!("/v1.0/admin/limits/{p}");
    server
        .put(&operator, &path, &json!({"limit": 4}))
        .await
        .expect_empty(201)
        .unwrap();
    let bodies = [
        json!({"limit": -1}),
        json!({"limit": "5"}),
        json!({"limit": 1.5}),
        json!({"limit": null}),
        json!({}),
        json!({"limit": 1, "extra": 2}),
        json!({"limits": 3}),
        json!([]),
        json!(3),
    ];
    for body in &bodies {
        let resp = server.put(&operator, &path, body).await;
        resp.expect_status_with_message(400)
            .unwrap_or_else(|e| panic!("PUT {body}: {e}"));
    }
    let resp = server.get(&operator, &path).await;
    assert_eq!(
        resp.json(),
        json!({"limit": 4}),
        "refused PUTs changed nothing"
    );
}

// ------------------------------------------------------ services by status

#[tokio::test]
async fn services_by_status() {
    let server = Server::start().await;
    let (p, operator) = (project(), project());
    let (location, _) = server.deployed(&p, &service(&domain())).await.unwrap();
    let entry = json!({"project_id": p, "service_id": id_of(&location)});

    let deployed = server
        .get(&operator, "/v1.0/admin/services?status=deployed")
        .await;
    assert_eq!(deployed.status, 200, "{deployed}");
    assert_eq!(deployed.json(), json!([entry]));
    for status in [
        "create_in_progress",
        "update_in_progress",
        "delete_in_progress",
        "failed",
    ] {
        let resp = server
            .get(&operator, &format!("/v1.0/admin/services?status={status}"))
            .await;
        assert_eq!(resp.status, 200, "{resp}");
        assert_eq!(resp.json(), json!([]), "status {status}");
    }
    for query in [
        "?status=bogus",
        "?status=DEPLOYED",
        "?status=disabled",
        "",
        "?status=",
    ] {
        let resp = server
            .get(&operator, &format!("/v1.0/admin/services{query}"))
            .await;
        resp.expect_status_with_message(400)
            .unwrap_or_else(|e| panic!("{query}: {e}"));
    }
    let bogus = server
        .get(&operator, "/v1.0/admin/services?status=bogus")
        .await
        .json();
    let message = bogus["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Unknown status type bogus present, Valid status types are:"),
        "{message}"
    );
}

// -------------------------------------------------------- domain lookups

#[tokio::test]
async fn service_by_domain() {
    let server = Server::start().await;
    let (p, operator) = (project(), project());
    let d = domain();
    let (location, body) = server.deployed(&p, &service(&d)).await.unwrap();
    let resp = server
        .get(&operator, &format!("/v1.0/admin/domains/{d}"))
        .await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.json(), body, "the owner's view of {location}");

    for unknown in [domain(), "label-only".to_owned()] {
        let resp = server
            .get(&operator, &format!("/v1.0/admin/domains/{unknown}"))
            .await;
        resp.expect_error(404, &format!("Domain {unknown} cannot be found"))
            .unwrap_or_else(|e| panic!("{unknown}: {e}"));
    }
    let too_long = format!("{}.com", "a.".repeat(130));
    for bad in [
        "ab",
        "in%20valid.com",
        "-bad-.com",
        "UPPER.example.com",
        too_long.as_str(),
    ] {
        let resp = server
            .get(&operator, &format!("/v1.0/admin/domains/{bad}"))
            .await;
        resp.expect_status_with_message(400)
            .unwrap_or_else(|e| panic!("{bad}: {e}"));
    }
}

#[tokio::test]
async fn domains_by_provider_url() {
    let server = Server::start().await;
    let (p, operator) = (project(), project());
    let d = domain();
    server.deployed(&p, &service(&d)).await.unwrap();
    let provider_url = format!("{d}.mock.poppycdn.net");

    let resp = server.get(&operator, "/v1.0/admin/domains").await;
    resp.expect_error(
        400,
        "provider_url needs to be provided as a query parameter",
    )
    .unwrap();
    for bad in ["abc", "a.b.c.d", "a.b.c.d.e.f.g", "a..b.c.d", "a_b.c.d.e.f"] {
        let resp = server
            .get(
                &operator,
                &format!("/v1.0/admin/domains?provider_url={bad}"),
            )
            .await;
        resp.expect_error(400, &format!("Provider url {bad} is not valid"))
            .unwrap_or_else(|e| panic!("{bad}: {e}"));
    }
    let resp = server
        .get(
            &operator,
            &format!("/v1.0/admin/domains?provider_url={provider_url}"),
        )
        .await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.json(), json!([{"domain_name": d}]));
    let resp = server
        .get(
            &operator,
            "/v1.0/admin/domains?provider_url=www.nothing.com.mock.poppycdn.net",
        )
        .await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.json(), json!([]));
    let five = server
        .get(
            &operator,
            "/v1.0/admin/domains?provider_url=a.b.mock.poppycdn.net",
        )
        .await;
    assert_eq!(five.status, 200, "five labels are valid: {five}");
}

// ----------------------------------------------------------------- actions

async fn action(server: &Server, body: &Value) -> crate::support::Resp {
    server
        .post(&project(), "/v1.0/admin/services/action", body)
        .await
}

#[tokio::test]
async fn disable_and_enable_by_domain() {
    let server = Server::start().await;
    let p = project();
    let d = domain();
    let (location, before) = server.deployed(&p, &service(&d)).await.unwrap();
    let id = id_of(&location);

    action(&server, &json!({"domain": d, "action": "disable"}))
        .await
        .expect_empty(202)
        .unwrap();
    let disabled = server.wait_status(&p, &location, "disabled").await.unwrap();
    assert_eq!(disabled["domains"], before["domains"]);
    let listed = server.get(&p, "/v1.0/services").await.json();
    assert_eq!(listed["services"][0]["status"], "disabled");

    let patch = server
        .patch(
            &p,
            &location,
            &json!([{"op": "replace", "path": "/name", "value": "renamed"}]),
        )
        .await;
    patch
        .expect_error(400, &format!("Service {id} is disabled"))
        .unwrap();
    // Disabling twice is harmless.
    action(&server, &json!({"domain": d, "action": "disable"}))
        .await
        .expect_empty(202)
        .unwrap();

    action(&server, &json!({"domain": d, "action": "enable"}))
        .await
        .expect_empty(202)
        .unwrap();
    let enabled = server.wait_status(&p, &location, "deployed").await.unwrap();
    assert_eq!(enabled, before, "enabled again, as it was");
    server
        .patch(
            &p,
            &location,
            &json!([{"op": "replace", "path": "/name", "value": "renamed"}]),
        )
        .await
        .expect_empty(202)
        .unwrap();
    server.wait_status(&p, &location, "deployed").await.unwrap();
}

#[tokio::test]
async fn actions_by_project() {
    let server = Server::start().await;
    let p = project();
    let mut locations = Vec::new();
    for _ in 0..3 {
        locations.push(server.deployed(&p, &service(&domain())).await.unwrap().0);
    }
    let bystander = project();
    let (other, _) = server
        .deployed(&bystander, &service(&domain()))
        .await
        .unwrap();

    action(&server, &json!({"project_id": p, "action": "disable"}))
        .await
        .expect_empty(202)
        .unwrap();
    for location in &locations {
        server.wait_status(&p, location, "disabled").await.unwrap();
    }
    action(&server, &json!({"project_id": p, "action": "enable"}))
        .await
        .expect_empty(202)
        .unwrap();
    for location in &locations {
        server.wait_status(&p, location, "deployed").await.unwrap();
    }
    action(&server, &json!({"project_id": p, "action": "delete"}))
        .await
        .expect_empty(202)
        .unwrap();
    for location in &locations {
        server.wait_gone(&p, location).await.unwrap();
    }
    let untouched = server.get(&bystander, &other).await.json();
    assert_eq!(
        untouched["status"], "deployed",
        "another project's service is untouched"
    );
}

#[tokio::test]
async fn delete_by_domain() {
    let server = Server::start().await;
    let p = project();
    let d = domain();
    let (location, _) = server.deployed(&p, &service(&d)).await.unwrap();
    action(&server, &json!({"domain": d, "action": "delete"}))
        .await
        .expect_empty(202)
        .unwrap();
    server.wait_gone(&p, &location).await.unwrap();
}

#[tokio::test]
async fn bad_actions_are_refused() {
    let server = Server::start().await;
    let p = project();
    let d = domain();
    let (location, before) = server.deployed(&p, &service(&d)).await.unwrap();
    let bodies = [
        json!({"domain": d, "action": "pause"}),
        json!({"domain": d}),
        json!({"domain": d, "action": "disable", "project_id": p}),
        json!({"domain": d, "action": "disable", "reason": "why not"}),
        json!({"action": "disable"}),
        json!({"project_id": 42, "action": "disable"}),
        json!({"domain": "not a domain", "action": "disable"}),
        json!(["disable"]),
    ];
    for body in &bodies {
        action(&server, body)
            .await
            .expect_status_with_message(400)
            .unwrap_or_else(|e| panic!("{body}: {e}"));
    }
    let unknown = domain();
    let resp = action(&server, &json!({"domain": unknown, "action": "disable"})).await;
    resp.expect_status_with_message(404).unwrap();
    let after = server.get(&p, &location).await.json();
    assert_eq!(after, before, "refused actions changed nothing");
}

// --------------------------------------------------------- forced status

#[tokio::test]
async fn status_can_be_forced() {
    let server = Server::start().await;
    let p = project();
    let (location, before) = server.deployed(&p, &service(&domain())).await.unwrap();
    let id = id_of(&location);
    let set = |status: &str| json!({"project_id": p, "service_id": id, "status": status});

    let resp = server
        .post(&project(), "/v1.0/admin/services/status", &set("failed"))
        .await;
    resp.expect_empty(201).unwrap();
    let failed = server.get(&p, &location).await.json();
    assert_eq!(failed["status"], "failed");
    let listed = server
        .get(&project(), "/v1.0/admin/services?status=failed")
        .await
        .json();
    assert_eq!(listed, json!([{"project_id": p, "service_id": id}]));

    let resp = server
        .post(&project(), "/v1.0/admin/services/status", &set("deployed"))
        .await;
    resp.expect_empty(201).unwrap();
    let deployed = server.get(&p, &location).await.json();
    assert_eq!(deployed, before);
}

#[tokio::test]
async fn bad_status_requests_are_refused() {
    let server = Server::start().await;
    let p = project();
    let (location, before) = server.deployed(&p, &service(&domain())).await.unwrap();
    let id = id_of(&location);
    let bodies = [
        json!({"project_id": p, "service_id": id, "status": "bogus"}),
        json!({"project_id": p, "service_id": id, "status": "update_in_progress"}),
        json!({"project_id": p, "service_id": id.to_uppercase(), "status": "failed"}),
        json!({"project_id": p, "service_id": "not-a-uuid", "status": "failed"}),
        json!({"project_id": "bad!project", "service_id": id, "status": "failed"}),
        json!({"project_id": p, "service_id": id, "status": "failed", "extra": true}),
        json!({"service_id": id, "status": "failed"}),
        json!({"project_id": p, "status": "failed"}),
        json!({"project_id": p, "service_id": id}),
        json!("failed"),
    ];
    for body in &bodies {
        server
            .post(&p, "/v1.0/admin/services/status", body)
            .await
            .expect_status_with_message(400)
            .unwrap_or_else(|e| panic!("{body}: {e}"));
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    for body in [
        json!({"project_id": p, "service_id": unknown, "status": "failed"}),
        json!({"project_id": project(), "service_id": id, "status": "failed"}),
    ] {
        server
            .post(&p, "/v1.0/admin/services/status", &body)
            .await
            .expect_status_with_message(404)
            .unwrap_or_else(|e| panic!("{body}: {e}"));
    }
    assert_eq!(server.get(&p, &location).await.json(), before);
}

#[tokio::test]
async fn a_stuck_create_is_driven_again() {
    // A service still being created with no provider details gets an
    // empty update forced (202) instead of a status (§2.9.3).
    let server = Server::with(Setup::new().manual()).await;
    let p = project();
    let location = server.create(&p, &service(&domain())).await.unwrap();
    let body = json!({"project_id": p, "service_id": id_of(&location), "status": "deployed"});
    let resp = server.post(&p, "/v1.0/admin/services/status", &body).await;
    resp.expect_empty(202).unwrap();
    server.run_jobs().await;
    server.wait_status(&p, &location, "deployed").await.unwrap();
}
