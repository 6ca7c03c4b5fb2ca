//! Delete, purge, failing providers, domain uniqueness and the per-project
//! service limit (reference §2.6.2, §2.6.6, §2.6.7, §3.1, §4.4).

use serde_json::{json, Value};

use crate::support::{domain, id_of, project, show, Server, Setup};

fn service(d: &str) -> Value {
    json!({"name": "lifecycle", "flavor_id": "standard", "domains": [{"domain": d}],
           "origins": [{"origin": "origin.example.com"}]})
}

fn on_flavor(flavor: &str) -> Value {
    let mut body = service(&domain());
    body["flavor_id"] = json!(flavor);
    body
}

/// The default mock and `standard`, plus a provider `name` on the mock
/// driver with `options`, and a flavor of the same name using it.
fn with_provider(name: &str, options: &str) -> String {
    format!(
        r#"
[[providers]]
name = "mock"

[[providers]]
name = "{name}"
driver = "mock"
{options}

[[flavors]]
id = "standard"
providers = ["mock"]

[[flavors]]
id = "{name}"
providers = ["{name}"]
"#
    )
}

fn errors_of(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("errors is not a list: {}", show(body)))
        .iter()
        .map(|e| {
            let keys: Vec<&String> = e.as_object().expect("an error object").keys().collect();
            assert_eq!(keys, ["message"], "an error is {{\"message\"}}: {e}");
            e["message"].as_str().expect("a message string").to_owned()
        })
        .collect()
}

// ------------------------------------------------------------------ delete

#[tokio::test]
async fn delete_removes_the_service() {
    let server = Server::start().await;
    let p = project();
    let d = domain();
    let (location, _) = server.deployed(&p, &service(&d)).await.unwrap();
    let resp = server.delete(&p, &location).await;
    resp.expect_empty(202).unwrap();
    assert_eq!(resp.location(), None, "a delete has no Location");
    server.wait_gone(&p, &location).await.unwrap();
    assert!(server.service_ids(&p).await.is_empty());

    let id = id_of(&location);
    let again = server.delete(&p, &location).await;
    again
        .expect_error(404, &format!("No service found: {id}"))
        .unwrap();
    let invalid = server.delete(&p, "/v1.0/services/not-a-uuid").await;
    invalid.expect_error(400, "Invalid service id").unwrap();
    let admin = server.get(&p, &format!("/v1.0/admin/domains/{d}")).await;
    assert_eq!(
        admin.status, 404,
        "the domain left with the service: {admin}"
    );
}

#[tokio::test]
async fn deleting_twice_while_in_progress_is_accepted() {
    let server = Server::with(Setup::new().manual()).await;
    let p = project();
    let location = server.create(&p, &service(&domain())).await.unwrap();
    server.run_jobs().await;
    server.wait_status(&p, &location, "deployed").await.unwrap();

    server
        .delete(&p, &location)
        .await
        .expect_empty(202)
        .unwrap();
    let during = server.get(&p, &location).await.json();
    assert_eq!(during["status"], "delete_in_progress");
    server
        .delete(&p, &location)
        .await
        .expect_empty(202)
        .unwrap();
    server.run_jobs().await;
    server.wait_gone(&p, &location).await.unwrap();
    let after = server.delete(&p, &location).await;
    assert_eq!(after.status, 404, "{after}");
}

#[tokio::test]
async fn a_service_being_created_can_be_deleted() {
    let server = Server::with(Setup::new().manual()).await;
    let p = project();
    let location = server.create(&p, &service(&domain())).await.unwrap();
    server
        .delete(&p, &location)
        .await
        .expect_empty(202)
        .unwrap();
    server.run_jobs().await;
    server.wait_gone(&p, &location).await.unwrap();
}

#[tokio::test]
async fn a_failed_provider_delete_keeps_the_service_failed() {
    let toml = with_provider(
        "undeletable",
        "failure_rate = 1.0\nfailure_kind = \"invalid\"\nfail_operations = [\"delete\"]",
    );
    let server = Server::with(Setup::new().toml(&toml)).await;
    let p = project();
    let mut body = on_flavor("undeletable");
    let d = domain();
    body["domains"] = json!([{"domain": d}]);
    let (location, _) = server.deployed(&p, &body).await.unwrap();
    server
        .delete(&p, &location)
        .await
        .expect_empty(202)
        .unwrap();
    let failed = server.wait_status(&p, &location, "failed").await.unwrap();
    let errors = errors_of(&failed);
    assert!(
        !errors.is_empty() && errors.iter().all(|e| !e.is_empty()),
        "errors: {errors:?}"
    );
    // Still there, still owning its domain.
    let taken = server
        .post(&project(), "/v1.0/services", &service(&d))
        .await;
    taken
        .expect_error(400, &format!("Domain {d} has already been taken"))
        .unwrap();
    assert_eq!(server.service_ids(&p).await, [id_of(&location)]);
}

// ------------------------------------------------------------------- purge

#[tokio::test]
async fn purges_of_a_deployed_service() {
    let server = Server::with(Setup::new().manual()).await;
    let p = project();
    let location = server.create(&p, &service(&domain())).await.unwrap();
    server.run_jobs().await;
    let deployed = server.wait_status(&p, &location, "deployed").await.unwrap();
    let assets = format!("{location}/assets");

    // Hard purges (the default) leave the status alone.
    for query in [
        "",
        "?url=/images/*",
        "?url=/x&hard=true",
        "?all=true",
        "?all=TRUE&hard=True",
        "?url=/*&all=true",
    ] {
        let resp = server.delete(&p, &format!("{assets}{query}")).await;
        resp.expect_empty(202)
            .unwrap_or_else(|e| panic!("purge {query:?}: {e}"));
        assert_eq!(
            resp.location(),
            Some(location.clone()),
            "Location of purge {query:?}"
        );
        let now = server.get(&p, &location).await.json();
        assert_eq!(now["status"], "deployed", "after hard purge {query:?}");
        server.run_jobs().await;
        let after = server.get(&p, &location).await.json();
        assert_eq!(
            after, deployed,
            "a hard purge {query:?} changes nothing visible"
        );
    }

    // A soft purge moves the service to update_in_progress until it ran.
    for query in ["?url=/x&hard=false", "?hard=FALSE&all=true"] {
        let resp = server.delete(&p, &format!("{assets}{query}")).await;
        resp.expect_empty(202)
            .unwrap_or_else(|e| panic!("purge {query:?}: {e}"));
        let during = server.get(&p, &location).await.json();
        assert_eq!(
            during["status"], "update_in_progress",
            "during soft purge {query:?}"
        );
        // Not deployed now: another purge is refused.
        let refused = server.delete(&p, &format!("{assets}?url=/y")).await;
        let id = id_of(&location);
        refused
            .expect_error(400, &format!("Service {id} is not deployed."))
            .unwrap();
        server.run_jobs().await;
        let after = server.wait_status(&p, &location, "deployed").await.unwrap();
        assert_eq!(after["errors"], json!([]));
    }
}

#[tokio::test]
async fn purge_parameters_and_states_are_checked() {
    let server = Server::with(Setup::new().manual()).await;
    let p = project();
    let location = server.create(&p, &service(&domain())).await.unwrap();
    let id = id_of(&location);
    let assets = format!("{location}/assets");

    let early = server.delete(&p, &format!("{assets}?url=/x")).await;
    early
        .expect_error(400, &format!("Service {id} is not deployed."))
        .unwrap();
    server.run_jobs().await;
    server.wait_status(&p, &location, "deployed").await.unwrap();

    let cases = [
        ("?hard=maybe", "hard can only be set to True or False"),
        ("?url=/x&hard=1", "hard can only be set to True or False"),
        (
            "?all=true&url=/x",
            "Cannot provide all=true and a url at the same time",
        ),
        ("?url=/caf%C3%A9", "non ascii character present in url"),
    ];
    for (query, message) in cases {
        let resp = server.delete(&p, &format!("{assets}{query}")).await;
        resp.expect_error(400, message)
            .unwrap_or_else(|e| panic!("purge {query}: {e}"));
    }
    let unknown = uuid::Uuid::new_v4();
    let resp = server
        .delete(&p, &format!("/v1.0/services/{unknown}/assets?url=/x"))
        .await;
    resp.expect_status_with_message(404).unwrap();
    let resp = server.delete(&p, "/v1.0/services/nope/assets?url=/x").await;
    resp.expect_error(400, "Invalid service id").unwrap();
    // Nothing ran: the refused purges queued nothing.
    assert_eq!(server.run_jobs().await, 0);
    assert_eq!(server.get(&p, &location).await.json()["status"], "deployed");
}

// -------------------------------------------------------- failing providers

#[tokio::test]
async fn an_invalid_provider_failure_fails_the_service_at_once() {
    let toml = with_provider("broken", "failure_rate = 1.0\nfailure_kind = \"invalid\"");
    let server = Server::with(Setup::new().toml(&toml)).await;
    let p = project();
    let location = server.create(&p, &on_flavor("broken")).await.unwrap();
    let failed = server.wait_status(&p, &location, "failed").await.unwrap();
    let errors = errors_of(&failed);
    assert!(
        !errors.is_empty(),
        "a failed service says why: {}",
        show(&failed)
    );
    assert!(errors.iter().all(|e| !e.is_empty()), "{errors:?}");
    let links = failed["links"].as_array().expect("links");
    assert!(
        links.iter().all(|l| l["rel"] != "access_url"),
        "no access URL: {links:?}"
    );
    // A failed service can be deleted.
    server
        .delete(&p, &location)
        .await
        .expect_empty(202)
        .unwrap();
    server.wait_gone(&p, &location).await.unwrap();
}

#[tokio::test]
async fn an_unavailable_provider_fails_the_service_after_the_retries() {
    let toml = with_provider("down", "failure_rate = 1.0\nfailure_kind = \"unavailable\"");
    let server = Server::with(Setup::new().toml(&toml)).await;
    let p = project();
    let location = server.create(&p, &on_flavor("down")).await.unwrap();
    let failed = server.wait_status(&p, &location, "failed").await.unwrap();
    let errors = errors_of(&failed);
    assert!(
        !errors.is_empty(),
        "a failed service says why: {}",
        show(&failed)
    );
    assert!(errors.iter().all(|e| !e.is_empty()), "{errors:?}");
}

#[tokio::test]
async fn a_flaky_provider_still_deploys() {
    let toml = with_provider(
        "flaky",
        "failure_rate = 0.5\nfailure_kind = \"unavailable\"\nseed = 7",
    );
    let server = Server::with(
        Setup::new()
            .toml(&toml)
            .edit(|c| c.worker.max_attempts = 20),
    )
    .await;
    let p = project();
    for _ in 0..3 {
        let (_, got) = server.deployed(&p, &on_flavor("flaky")).await.unwrap();
        assert_eq!(got["errors"], json!([]), "{}", show(&got));
    }
}

#[tokio::test]
async fn a_slow_rollout_is_polled_until_deployed() {
    let toml = with_provider("slow", "deploy_polls = 3");
    let server = Server::with(Setup::new().toml(&toml)).await;
    let p = project();
    let (_, got) = server.deployed(&p, &on_flavor("slow")).await.unwrap();
    assert_eq!(got["errors"], json!([]));
}

// ------------------------------------------------------ domain uniqueness

#[tokio::test]
async fn a_domain_belongs_to_one_service_across_projects() {
    let server = Server::with(Setup::new().manual()).await;
    let (p1, p2) = (project(), project());
    let d = domain();
    let location = server.create(&p1, &service(&d)).await.unwrap();
    let taken = format!("Domain {d} has already been taken");
    // Claimed from the moment it is accepted, not just once deployed.
    server
        .post(&p1, "/v1.0/services", &service(&d))
        .await
        .expect_error(400, &taken)
        .unwrap();
    server
        .post(&p2, "/v1.0/services", &service(&d))
        .await
        .expect_error(400, &taken)
        .unwrap();
    // Also as the second domain of a service.
    let mut two = service(&domain());
    two["domains"] = json!([{"domain": domain()}, {"domain": d}]);
    server
        .post(&p2, "/v1.0/services", &two)
        .await
        .expect_error(400, &taken)
        .unwrap();
    assert!(server.service_ids(&p2).await.is_empty());

    server.run_jobs().await;
    server
        .wait_status(&p1, &location, "deployed")
        .await
        .unwrap();
    server
        .post(&p2, "/v1.0/services", &service(&d))
        .await
        .expect_error(400, &taken)
        .unwrap();

    server
        .delete(&p1, &location)
        .await
        .expect_empty(202)
        .unwrap();
    // Still claimed while the delete runs.
    server
        .post(&p2, "/v1.0/services", &service(&d))
        .await
        .expect_error(400, &taken)
        .unwrap();
    server.run_jobs().await;
    server.wait_gone(&p1, &location).await.unwrap();

    let again = server.create(&p2, &service(&d)).await.unwrap();
    server.run_jobs().await;
    server.wait_status(&p2, &again, "deployed").await.unwrap();
}

// ---------------------------------------------------------- service limit

#[tokio::test]
async fn the_project_limit_is_enforced() {
    let server = Server::start().await;
    let p = project();
    let resp = server
        .put(&p, &format!("/v1.0/admin/limits/{p}"), &json!({"limit": 1}))
        .await;
    resp.expect_empty(201).unwrap();
    let location = server.create(&p, &service(&domain())).await.unwrap();
    let over = server.post(&p, "/v1.0/services", &service(&domain())).await;
    over.expect_error(403, "Maximum Services Limit of 1 reached!")
        .unwrap();
    assert_eq!(server.service_ids(&p).await.len(), 1);

    // Another project is not affected.
    let other = project();
    server.create(&other, &service(&domain())).await.unwrap();
    server.create(&other, &service(&domain())).await.unwrap();

    // Room again once the service is gone.
    server.wait_status(&p, &location, "deployed").await.unwrap();
    server
        .delete(&p, &location)
        .await
        .expect_empty(202)
        .unwrap();
    server.wait_gone(&p, &location).await.unwrap();
    server.create(&p, &service(&domain())).await.unwrap();

    // A limit of zero refuses everything.
    let none = project();
    server
        .put(
            &none,
            &format!("/v1.0/admin/limits/{none}"),
            &json!({"limit": 0}),
        )
        .await
        .expect_empty(201)
        .unwrap();
    let resp = server
        .post(&none, "/v1.0/services", &service(&domain()))
        .await;
    resp.expect_error(403, "Maximum Services Limit of 0 reached!")
        .unwrap();
}

#[tokio::test]
async fn the_default_limit_is_twenty() {
    let server = Server::with(Setup::new().manual()).await;
    let p = project();
    for _ in 0..20 {
        server.create(&p, &service(&domain())).await.unwrap();
    }
    let over = server.post(&p, "/v1.0/services", &service(&domain())).await;
    over.expect_error(403, "Maximum Services Limit of 20 reached!")
        .unwrap();
}

// ------------------------------------------------------------------ races

#[tokio::test]
async fn concurrent_creates_of_one_domain_have_one_winner() {
    let server = Server::start().await;
    let d = domain();
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let api = server.api();
        let body = service(&d);
        racers.spawn(async move { api.post(&project(), "/v1.0/services", &body).await });
    }
    let mut statuses = Vec::new();
    while let Some(resp) = racers.join_next().await {
        let resp = resp.expect("a racer does not panic");
        if resp.status != 202 {
            resp.expect_error(400, &format!("Domain {d} has already been taken"))
                .unwrap();
        }
        statuses.push(resp.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "statuses: {statuses:?}"
    );
}

#[tokio::test]
async fn concurrent_patches_have_one_winner() {
    // No worker: the winner's update stays in progress, so a later patch
    // cannot legitimately succeed after it finished.
    let server = Server::with(Setup::new().manual()).await;
    let p = project();
    let location = server.create(&p, &service(&domain())).await.unwrap();
    server.run_jobs().await;
    server.wait_status(&p, &location, "deployed").await.unwrap();
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..8 {
        let api = server.api();
        let (p, location) = (p.clone(), location.clone());
        racers.spawn(async move {
            let patch = json!([{"op": "replace", "path": "/name", "value": format!("racer {i}")}]);
            (i, api.patch(&p, &location, &patch).await)
        });
    }
    let mut winners = Vec::new();
    while let Some(joined) = racers.join_next().await {
        let (i, resp) = joined.expect("a racer does not panic");
        match resp.status {
            202 => winners.push(i),
            // Lost to a patch already in progress (400), or lost the
            // write race itself (409).
            400 | 409 => resp.expect_status_with_message(resp.status).unwrap(),
            _ => panic!("racer {i}: {resp}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one patch wins: {winners:?}");
    server.run_jobs().await;
    let got = server.wait_status(&p, &location, "deployed").await.unwrap();
    assert_eq!(got["name"], json!(format!("racer {}", winners[0])));
}
