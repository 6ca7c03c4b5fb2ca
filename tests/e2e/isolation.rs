//! Tenant isolation: one project never sees or touches another's services
//! (reference §1.2: every service is read and written by
//! `(project_id, service_id)`).

use serde_json::json;

use crate::support::{domain, id_of, project, Server};

#[tokio::test]
async fn another_project_cannot_see_or_touch_a_service() {
    let server = Server::start().await;
    let (a, b) = (project(), project());
    let body = json!({"name": "a's service", "flavor_id": "standard", "domains": [{"domain": domain()}],
                      "origins": [{"origin": "origin.example.com"}]});
    let (location, before) = server.deployed(&a, &body).await.unwrap();
    let id = id_of(&location);

    let get = server.get(&b, &location).await;
    get.expect_error(404, &format!("service {id} could not be found"))
        .unwrap();
    for query in [
        "".to_owned(),
        "?limit=20".to_owned(),
        "?marker=00000000-0000-0000-0000-000000000000".to_owned(),
        format!("?marker={id}"),
    ] {
        let list = server.get(&b, &format!("/v1.0/services{query}")).await;
        assert_eq!(list.status, 200, "{list}");
        assert_eq!(
            list.json(),
            json!({"links": [], "services": []}),
            "B's list {query}"
        );
    }
    let patch = server
        .patch(
            &b,
            &location,
            &json!([{"op": "replace", "path": "/name", "value": "b was here"}]),
        )
        .await;
    patch.expect_status_with_message(404).unwrap();
    let purge = server
        .delete(&b, &format!("{location}/assets?url=/x"))
        .await;
    purge.expect_status_with_message(404).unwrap();
    let hard_purge = server
        .delete(&b, &format!("{location}/assets?all=true"))
        .await;
    hard_purge.expect_status_with_message(404).unwrap();
    let delete = server.delete(&b, &location).await;
    delete
        .expect_error(404, &format!("No service found: {id}"))
        .unwrap();

    // B's own service does not show up for A either.
    let (b_location, _) = server
        .deployed(&b, &json!({"name": "b's service", "flavor_id": "standard",
                              "domains": [{"domain": domain()}], "origins": [{"origin": "origin.example.com"}]}))
        .await
        .unwrap();
    assert_eq!(server.service_ids(&a).await, std::slice::from_ref(&id));
    assert_eq!(server.service_ids(&b).await, [id_of(&b_location)]);
    let a_reads_b = server.get(&a, &b_location).await;
    assert_eq!(a_reads_b.status, 404, "{a_reads_b}");

    // A's service is exactly as it was, and stays so.
    let after = server.get(&a, &location).await;
    assert_eq!(after.status, 200, "{after}");
    assert_eq!(after.json(), before, "A's service after B's attempts");
    // Had anything been queued for it, it would show by now.
    let settled = server.wait_status(&a, &location, "deployed").await.unwrap();
    assert_eq!(settled, before);
}

#[tokio::test]
async fn the_numeric_url_segment_does_not_select_a_project() {
    // Only X-Project-ID names the tenant; `/v1.0/<digits>/…` is dropped.
    let server = Server::start().await;
    let owner = "123456";
    let body = json!({"name": "numeric owner", "flavor_id": "standard", "domains": [{"domain": domain()}],
                      "origins": [{"origin": "origin.example.com"}]});
    let (location, _) = server.deployed(owner, &body).await.unwrap();
    let id = id_of(&location);
    let intruder = project();
    let resp = server
        .get(&intruder, &format!("/v1.0/{owner}/services/{id}"))
        .await;
    assert_eq!(resp.status, 404, "{resp}");
    let list = server
        .get(&intruder, &format!("/v1.0/{owner}/services"))
        .await
        .json();
    assert_eq!(list["services"], json!([]));
}
