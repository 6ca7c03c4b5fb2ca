//! Races over HTTP on a real server: two PATCHes, a DELETE and a PATCH,
//! two creates of one domain. Each ends in a defined state with the right
//! answers, never a torn service. The worker is run by the test, so a
//! racer always meets the state the other left, not a finished job.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{domain, project, service_body, Assembled};

const ROUNDS: usize = 12;

/// A patch that sets the name and the origin together: a torn service
/// would show one patch's name with the other's origin.
fn patch(tag: &str) -> Value {
    json!([
        {"op": "replace", "path": "/name", "value": format!("name-{tag}")},
        {"op": "replace", "path": "/origins/0/origin", "value": format!("origin-{tag}.example.com")}
    ])
}

async fn deployed_service(server: &Assembled, p: &str) -> String {
    let id = server
        .client
        .create(p, &service_body("racer", &domain()))
        .await;
    server.run_jobs().await;
    let body = server.client.settled(p, &id).await.expect("created");
    assert_eq!(body["status"], "deployed", "{body}");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_racing_patches_have_one_winner_and_no_torn_service() {
    let server = Assembled::start(false, |_| {}).await;
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0..ROUNDS {
        let p = project();
        let id = deployed_service(&server, &p).await;
        let path = format!("/v1.0/services/{id}");
        let (a, b) = (patch(&format!("a{round}")), patch(&format!("b{round}")));
        let (first, second) = tokio::join!(
            server.client.patch(&p, &path, &a),
            server.client.patch(&p, &path, &b)
        );
        let statuses = [first.status, second.status];
        *outcomes.entry(statuses).or_insert(0) += 1;
        let winner = match statuses {
            [202, 400 | 409] => &a,
            [400 | 409, 202] => &b,
            _ => panic!("round {round}: wanted one 202 and one 400/409, got {first} and {second}"),
        };
        let loser = if statuses[0] == 202 { &second } else { &first };
        if loser.status == 400 {
            assert!(
                loser.message().contains("neither deployed nor failed"),
                "round {round}: {loser}"
            );
        }
        server.run_jobs().await;
        let body = server.client.settled(&p, &id).await.expect("still there");
        assert_eq!(body["status"], "deployed", "round {round}: {body}");
        assert_eq!(body["name"], winner[0]["value"], "round {round}: {body}");
        assert_eq!(
            body["origins"][0]["origin"], winner[1]["value"],
            "round {round}: the winner's patch applies whole: {body}"
        );
    }
    eprintln!("patch race outcomes: {outcomes:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_racing_a_patch_ends_gone_or_patched() {
    let server = Assembled::start(false, |_| {}).await;
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0..ROUNDS {
        let p = project();
        let id = deployed_service(&server, &p).await;
        let path = format!("/v1.0/services/{id}");
        let change = patch(&format!("r{round}"));
        let (patched, deleted) = tokio::join!(
            server.client.patch(&p, &path, &change),
            server.client.delete(&p, &path)
        );
        *outcomes
            .entry([patched.status, deleted.status])
            .or_insert(0) += 1;
        server.run_jobs().await;
        let end = server.client.settled(&p, &id).await;
        match deleted.status {
            // An accepted delete wins in the end, whatever the patch got.
            202 => {
                assert!(
                    matches!(patched.status, 202 | 400 | 409),
                    "round {round}: patch {patched}"
                );
                assert!(end.is_none(), "round {round}: deleted, yet {end:?}");
            }
            // The delete lost the version race: the patch went through.
            409 => {
                assert_eq!(patched.status, 202, "round {round}: {patched}");
                let body = end.expect("the patched service");
                assert_eq!(body["status"], "deployed", "round {round}: {body}");
                assert_eq!(body["name"], change[0]["value"], "round {round}: {body}");
                assert_eq!(body["origins"][0]["origin"], change[1]["value"]);
            }
            _ => panic!("round {round}: delete answered {deleted} (patch {patched})"),
        }
        let list = server.client.get(&p, "/v1.0/services").await;
        let listed = list.json()["services"].as_array().map_or(0, Vec::len);
        assert_eq!(
            listed,
            usize::from(end_exists(deleted.status)),
            "round {round}"
        );
    }
    eprintln!("delete/patch race outcomes: {outcomes:?}");
    server.stop().await;
}

fn end_exists(delete_status: u16) -> bool {
    delete_status != 202
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_creates_of_one_domain_have_exactly_one_winner() {
    let server = Assembled::start(false, |_| {}).await;
    for round in 0..ROUNDS {
        let (p1, p2) = (project(), project());
        let shared = domain();
        let body = service_body("twin", &shared);
        let (first, second) = tokio::join!(
            server
                .client
                .send(Method::POST, "/v1.0/services", Some(&p1), Some(&body)),
            server
                .client
                .send(Method::POST, "/v1.0/services", Some(&p2), Some(&body))
        );
        let (winner, loser, winner_project) = match (first.status, second.status) {
            (202, 400) => (&first, &second, &p1),
            (400, 202) => (&second, &first, &p2),
            _ => panic!("round {round}: wanted one 202 and one 400, got {first} and {second}"),
        };
        assert_eq!(
            loser.message(),
            format!("Domain {shared} has already been taken"),
            "round {round}"
        );
        server.run_jobs().await;
        let id = crate::support::id_of(winner.location.as_deref().expect("a Location"));
        let body = server
            .client
            .settled(winner_project, &id)
            .await
            .expect("the winner's service");
        assert_eq!(body["status"], "deployed");
        assert_eq!(body["domains"][0]["domain"], json!(shared));
        let loser_project = if winner_project == &p1 { &p2 } else { &p1 };
        let list = server.client.get(loser_project, "/v1.0/services").await;
        assert_eq!(
            list.json()["services"],
            json!([]),
            "round {round}: the loser has nothing"
        );
    }
    server.stop().await;
}
