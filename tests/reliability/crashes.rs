//! Crashes: real `poppy-server --no-worker` and `poppy-worker` processes on
//! one SQLite file are SIGKILLed at random (seeded) points of 100 flows of
//! creates, patches and deletes, and restarted. Afterwards every accepted
//! service is deployed (or gone, when its deletion was accepted), none is
//! lost or stuck in progress, and the provider holds exactly one
//! configuration per service. And, for stores without an outbox, the
//! reconciler re-posts the jobs of writes whose process died before
//! posting them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use poppy::core::manager::{reconcile, Manager, Settings};
use poppy::core::model::{ProjectId, ServiceId, ServiceStatus};
use poppy::core::ports::{ServiceApi, ServiceStore};
use poppy::core::testkit::fixtures;
use poppy::core::testkit::memory::{
    FailureKind, JobOp, MemoryDns, MemoryFlavorStore, MemoryJobBoard, MemoryProvider,
    MemoryServiceStore,
};
use poppy::core::{Backends, Providers};
use poppy::worker::{Runner, RunnerConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::support::{
    call_log, domain, free_port, id_of, in_progress, project, service_body, write_file, Binary,
    Client, Proc, DEADLINE, POLL,
};

/// Seed of the chaos and of the flows' plans; `POPPY_TEST_SEED` overrides
/// it to replay or explore.
fn seed() -> u64 {
    std::env::var("POPPY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00c0_ffee)
}

/// What one flow does to its service (each flow has its own project).
#[derive(Debug, Clone, Copy)]
struct Plan {
    patch: bool,
    delete: bool,
    /// Delete without waiting for the create to deploy.
    delete_early: bool,
}

/// What a flow was told, and so what must hold afterwards.
#[derive(Debug)]
struct Outcome {
    project: String,
    id: String,
    /// `None`: deletion accepted, the service must be gone.
    name: Option<String>,
}

/// The four processes, restartable.
struct Cluster {
    data: PathBuf,
    config: PathBuf,
    ports: [u16; 2],
    /// Servers 0 and 1, workers 2 and 3.
    procs: Vec<Option<Proc>>,
}

impl Cluster {
    fn binary(slot: usize) -> Binary {
        if slot < 2 {
            Binary::Server
        } else {
            Binary::Worker
        }
    }

    async fn start(&mut self, slot: usize) {
        let port = self.ports.get(slot).copied().unwrap_or(0);
        let proc = Proc::start(Self::binary(slot), &self.data, &self.config, port).await;
        self.procs[slot] = Some(proc);
    }

    fn kill(&mut self, slot: usize) {
        if let Some(proc) = self.procs[slot].take() {
            proc.kill();
        }
    }

    fn logs(&self) -> String {
        self.procs
            .iter()
            .flatten()
            .map(|p| {
                let log = p.log();
                let tail = log.len().saturating_sub(4000);
                let tail = (tail..log.len())
                    .find(|i| log.is_char_boundary(*i))
                    .unwrap_or(0);
                format!("--- {:?} (pid {}):\n{}", p.binary, p.pid(), &log[tail..])
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The answer to a request, or `None` when the transport failed after the
/// request may have been sent (its server was killed).
async fn call(
    clients: &[Client; 2],
    pick: &mut usize,
    method: Method,
    path: &str,
    project: &str,
    body: Option<&Value>,
) -> Option<crate::support::Resp> {
    let start = tokio::time::Instant::now();
    loop {
        let client = &clients[*pick % 2];
        match client
            .try_send(method.clone(), path, Some(project), body)
            .await
        {
            // A 503 is a backend that was busy (a database lock held by a
            // killed process): nothing was done; ask again.
            Ok(resp) if resp.status == 503 => {}
            Ok(resp) => return Some(resp),
            // Not connected: nothing was sent; the other server is up.
            Err(e) if e.is_connect() => {}
            Err(_) => {
                *pick += 1;
                return None;
            }
        }
        *pick += 1;
        assert!(
            start.elapsed() < DEADLINE,
            "{method} {path}: no server answered within {DEADLINE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A GET, repeated until some server answers.
async fn get(
    clients: &[Client; 2],
    pick: &mut usize,
    path: &str,
    project: &str,
) -> crate::support::Resp {
    loop {
        if let Some(resp) = call(clients, pick, Method::GET, path, project, None).await {
            return resp;
        }
    }
}

/// Polls the service until it is no longer in progress; `None` if gone.
async fn settled(
    clients: &[Client; 2],
    pick: &mut usize,
    project: &str,
    id: &str,
) -> Option<Value> {
    let start = tokio::time::Instant::now();
    loop {
        let resp = get(clients, pick, &format!("/v1.0/services/{id}"), project).await;
        match resp.status {
            404 => return None,
            200 => {
                let body = resp.json();
                if !in_progress(body["status"].as_str().unwrap_or_default()) {
                    return Some(body);
                }
            }
            _ => panic!("GET service {id}: {resp}"),
        }
        assert!(start.elapsed() < DEADLINE, "service {id} never settled");
        tokio::time::sleep(POLL * 2).await;
    }
}

/// The ids of a project's services.
async fn ids(clients: &[Client; 2], pick: &mut usize, project: &str) -> Vec<String> {
    let resp = get(clients, pick, "/v1.0/services?limit=20", project).await;
    assert_eq!(resp.status, 200, "list: {resp}");
    resp.json()["services"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|s| s["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn flow(index: usize, plan: Plan, clients: [Client; 2]) -> Outcome {
    let project = project();
    let name = format!("flow{index}");
    let body = service_body(&name, &domain());
    let mut pick = index;

    // Create: a lost answer is resolved by listing the (own) project.
    let id = loop {
        match call(
            &clients,
            &mut pick,
            Method::POST,
            "/v1.0/services",
            &project,
            Some(&body),
        )
        .await
        {
            Some(resp) if resp.status == 202 => {
                break id_of(resp.location.as_deref().expect("a 202 has a Location"))
            }
            Some(resp) => panic!("flow {index}: create answered {resp}"),
            None => {
                let found = ids(&clients, &mut pick, &project).await;
                assert!(found.len() <= 1, "flow {index}: a create made {found:?}");
                if let Some(id) = found.into_iter().next() {
                    break id;
                }
            }
        }
    };
    let path = format!("/v1.0/services/{id}");
    let mut expected = Some(name.clone());

    if plan.patch {
        let deployed = settled(&clients, &mut pick, &project, &id).await;
        let status = deployed.as_ref().map(|b| b["status"].clone());
        assert_eq!(
            status,
            Some(json!("deployed")),
            "flow {index}: before the patch"
        );
        let renamed = format!("{name}-v2");
        let patch = json!([{"op": "replace", "path": "/name", "value": renamed}]);
        loop {
            match call(
                &clients,
                &mut pick,
                Method::PATCH,
                &path,
                &project,
                Some(&patch),
            )
            .await
            {
                Some(resp) if resp.status == 202 => break,
                // Lost a race with our own earlier, accepted, attempt.
                Some(resp) if resp.status == 400 || resp.status == 409 => {}
                Some(resp) => panic!("flow {index}: patch answered {resp}"),
                None => {}
            }
            let now = settled(&clients, &mut pick, &project, &id)
                .await
                .unwrap_or_else(|| panic!("flow {index}: the service went away"));
            if now["name"] == json!(renamed) {
                break;
            }
        }
        expected = Some(renamed);
    }

    if plan.delete {
        if !plan.delete_early {
            settled(&clients, &mut pick, &project, &id).await;
        }
        loop {
            match call(&clients, &mut pick, Method::DELETE, &path, &project, None).await {
                Some(resp) if resp.status == 202 || resp.status == 404 => break,
                // A write of the worker got in first.
                Some(resp) if resp.status == 409 => {}
                Some(resp) => panic!("flow {index}: delete answered {resp}"),
                None => {
                    let resp = get(&clients, &mut pick, &path, &project).await;
                    if resp.status == 404 || resp.json()["status"] == "delete_in_progress" {
                        break;
                    }
                }
            }
        }
        expected = None;
    }
    Outcome {
        project,
        id,
        name: expected,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_servers_and_workers_lose_no_accepted_service() {
    const FLOWS: usize = 100;
    let seed = seed();
    eprintln!("crash test seed: {seed} (set POPPY_TEST_SEED to replay)");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let calls = dir.path().join("calls.jsonl");
    let config = write_file(
        dir.path(),
        "poppy.toml",
        &format!(
            r#"
[worker]
concurrency = 4
lease_ms = 600
max_attempts = 200
backoff_base_ms = 10
backoff_max_ms = 100
idle_wait_ms = 20
poll_interval_ms = 20
shutdown_grace_ms = 100

[[providers]]
name = "mock"
latency_ms = 40
jitter_ms = 120
call_log = "{}"
"#,
            calls.display()
        ),
    );
    let mut cluster = Cluster {
        data: dir.path().join("data"),
        config,
        ports: [free_port(), free_port()],
        procs: (0..4).map(|_| None).collect(),
    };
    for slot in 0..4 {
        cluster.start(slot).await;
    }
    let clients = [
        Client::unpooled(format!("http://127.0.0.1:{}", cluster.ports[0])),
        Client::unpooled(format!("http://127.0.0.1:{}", cluster.ports[1])),
    ];
    let cluster = Arc::new(Mutex::new(cluster));

    // Chaos: each process once, then any, until the flows are done; one
    // process down at a time.
    let done = Arc::new(AtomicBool::new(false));
    let chaos = {
        let cluster = cluster.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut kills = [0_usize; 4];
            let mut round = 0;
            while !done.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(rng.random_range(100..400))).await;
                let slot = match round {
                    0 => 2,
                    1 => 0,
                    2 => 3,
                    3 => 1,
                    _ => rng.random_range(0..4),
                };
                round += 1;
                let down = Duration::from_millis(rng.random_range(0..200));
                let mut cluster = cluster.lock().await;
                cluster.kill(slot);
                kills[slot] += 1;
                tokio::time::sleep(down).await;
                cluster.start(slot).await;
            }
            kills
        })
    };

    let mut rng = StdRng::seed_from_u64(seed ^ 0xf10f);
    let mut flows = JoinSet::new();
    let mut outcomes = Vec::new();
    for index in 0..FLOWS {
        let roll: u32 = rng.random_range(0..100);
        let plan = Plan {
            patch: roll < 45,
            delete: (30..60).contains(&roll),
            delete_early: (50..60).contains(&roll),
        };
        flows.spawn(flow(index, plan, clients.clone()));
        // Flows start over a few seconds, so the chaos meets them at every
        // stage.
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..60))).await;
        if flows.len() >= 10 {
            if let Some(done) = flows.join_next().await {
                outcomes.push(done.expect("a flow task"));
            }
        }
    }
    while let Some(done) = flows.join_next().await {
        outcomes.push(done.expect("a flow task"));
    }
    done.store(true, Ordering::SeqCst);
    let kills = chaos.await.expect("the chaos task");
    eprintln!("kills (server 0, server 1, worker 0, worker 1): {kills:?}");
    assert!(
        kills.iter().sum::<usize>() >= 6 && kills[0] + kills[1] >= 2 && kills[2] + kills[3] >= 2,
        "the chaos had no time to kill enough: {kills:?}"
    );

    // Everything settles with every process back up.
    let cluster = cluster.lock().await;
    let mut pick = 0;
    let mut problems = Vec::new();
    let mut deployed: BTreeMap<String, String> = BTreeMap::new();
    let mut gone: BTreeSet<String> = BTreeSet::new();
    for outcome in &outcomes {
        let found = ids(&clients, &mut pick, &outcome.project).await;
        let settled = settled(&clients, &mut pick, &outcome.project, &outcome.id).await;
        match (&outcome.name, settled) {
            (None, None) => {
                if !found.is_empty() {
                    problems.push(format!(
                        "{}: deleted, yet the project lists {found:?}",
                        outcome.id
                    ));
                }
                gone.insert(outcome.id.clone());
            }
            (None, Some(body)) => problems.push(format!(
                "{}: deletion accepted, still there: {body}",
                outcome.id
            )),
            (Some(name), None) => {
                problems.push(format!("{}: accepted service '{name}' is lost", outcome.id))
            }
            (Some(name), Some(body)) => {
                if body["status"] != "deployed" || body["name"] != json!(name) {
                    problems.push(format!(
                        "{}: wanted '{name}' deployed, got {body}",
                        outcome.id
                    ));
                }
                if found != [outcome.id.clone()] {
                    problems.push(format!("{}: the project lists {found:?}", outcome.id));
                }
                deployed.insert(outcome.id.clone(), name.clone());
            }
        }
    }

    // The provider, across every process: per the call log, each deployed
    // service has one live configuration under one provider id, each gone
    // service none, and no other service has one.
    let mut live: BTreeMap<String, bool> = BTreeMap::new();
    let mut provider_ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let log = call_log(&calls);
    let count = |name: &str| log.iter().filter(|(op, _, _)| op == name).count();
    assert!(
        count("create") >= FLOWS && count("update") > 0 && count("delete") > 0,
        "the call log misses calls: {} creates, {} updates, {} deletes",
        count("create"),
        count("update"),
        count("delete")
    );
    for (op, service, provider_id) in log {
        match op.as_str() {
            "create" | "update" => {
                live.insert(service.clone(), true);
            }
            "delete" => {
                live.insert(service.clone(), false);
            }
            _ => {}
        }
        provider_ids.entry(service).or_default().insert(provider_id);
    }
    for (service, ids) in &provider_ids {
        if ids.len() != 1 {
            problems.push(format!(
                "{service}: {} provider configurations: {ids:?}",
                ids.len()
            ));
        }
    }
    for id in deployed.keys() {
        if live.get(id) != Some(&true) {
            problems.push(format!(
                "{id}: deployed, but the provider holds no configuration"
            ));
        }
    }
    for (id, is_live) in &live {
        if *is_live && !deployed.contains_key(id) {
            problems.push(format!(
                "{id}: the provider still holds a configuration of a service that is gone"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems after the chaos:\n{}\n\nprocess logs:\n{}",
        problems.len(),
        problems.join("\n"),
        cluster.logs()
    );
    assert_eq!(deployed.len() + gone.len(), FLOWS);
}

/// A store without an outbox: the process "dies" after the store write of
/// several creates, patches and deletes and before their jobs are posted
/// (every post of that window is lost). The services sit in progress with
/// no job; one reconciler pass re-posts each job once, the worker finishes
/// them, and a second pass finds nothing.
#[tokio::test]
async fn the_reconciler_finishes_writes_whose_jobs_were_never_posted() {
    let store = MemoryServiceStore::new();
    let jobs = MemoryJobBoard::new();
    let provider = MemoryProvider::new("memory");
    let backends = Backends {
        store: Arc::new(store.clone()),
        flavors: Arc::new(MemoryFlavorStore::with_flavors([fixtures::flavor_with(
            "standard",
            &["memory"],
        )])),
        jobs: Arc::new(jobs.clone()),
        dns: Arc::new(MemoryDns::new()),
        providers: Providers::new().with(Arc::new(provider.clone())),
        notifier: None,
        certificates: None,
        metrics: None,
        log_delivery: None,
    };
    assert!(!store.writes_jobs(), "the memory store has no outbox");
    let manager = Manager::new(backends.clone(), Settings::default());
    let runner = Runner::new(
        backends.clone(),
        RunnerConfig {
            worker_id: "reconcile-test".into(),
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(5),
            ..RunnerConfig::default()
        },
    );
    let drain = || async {
        let mut ran = 0;
        while runner.run_one().await.expect("claim").is_some() {
            ran += 1;
            assert!(ran < 1000, "jobs keep coming");
        }
        ran
    };
    let project = ProjectId::new("p-reconcile");
    let body = |name: &str| {
        json!({"name": name, "domains": [{"domain": fixtures::unique_domain()}],
               "origins": [{"origin": "origin.example.com"}], "flavor_id": "standard"})
    };

    // Two services deployed normally, to be patched and deleted later.
    let mut settled_ids = Vec::new();
    for name in ["to-patch-1", "to-patch-2", "to-delete-1", "to-delete-2"] {
        settled_ids.push(
            manager
                .create_service(&project, body(name))
                .await
                .expect("created"),
        );
    }
    drain().await;

    // The crash window: every post of these writes is lost.
    jobs.fail_next(JobOp::Post, 7, FailureKind::unavailable());
    let mut created = Vec::new();
    for name in ["new-1", "new-2", "new-3"] {
        created.push(
            manager
                .create_service(&project, body(name))
                .await
                .expect("accepted though its job was lost"),
        );
    }
    for id in &settled_ids[..2] {
        manager
            .patch_service(
                &project,
                id,
                json!([{"op": "replace", "path": "/name", "value": "patched"}]),
            )
            .await
            .expect("patch accepted though its job was lost");
    }
    for id in &settled_ids[2..] {
        manager
            .delete_service(&project, id)
            .await
            .expect("delete accepted though its job was lost");
    }
    assert_eq!(drain().await, 0, "no job reached the board");
    let stuck = |status| {
        let store = store.clone();
        async move {
            store
                .list_by_status(status, None, 100)
                .await
                .expect("list by status")
                .len()
        }
    };
    assert_eq!(stuck(ServiceStatus::CreateInProgress).await, 3);
    assert_eq!(stuck(ServiceStatus::UpdateInProgress).await, 2);
    assert_eq!(stuck(ServiceStatus::DeleteInProgress).await, 2);

    let report = reconcile(&backends, Duration::ZERO).await.expect("a pass");
    assert_eq!(report.reposted, 7, "{report:?}");
    // An overlapping pass (another worker) posts nothing new.
    let again = reconcile(&backends, Duration::ZERO).await.expect("a pass");
    assert_eq!(again.reposted, 0, "{again:?}");
    assert_eq!(drain().await, 7, "each re-posted job runs once");

    for id in &created {
        let service = manager.get_service(&project, id).await.expect("exists");
        assert_eq!(service.status, ServiceStatus::Deployed);
    }
    for id in &settled_ids[..2] {
        let service = manager.get_service(&project, id).await.expect("exists");
        assert_eq!(service.status, ServiceStatus::Deployed);
        assert_eq!(service.spec.name, "patched");
    }
    for id in &settled_ids[2..] {
        assert!(
            manager.get_service(&project, id).await.is_err(),
            "{id} is gone"
        );
    }
    // The provider: one configuration per remaining service.
    let remaining: BTreeSet<ServiceId> = created.iter().chain(&settled_ids[..2]).copied().collect();
    let held: Vec<ServiceId> = provider
        .configurations()
        .iter()
        .map(|c| c.service_id)
        .collect();
    assert_eq!(held.len(), remaining.len(), "{held:?}");
    assert_eq!(held.into_iter().collect::<BTreeSet<_>>(), remaining);
    let last = reconcile(&backends, Duration::ZERO).await.expect("a pass");
    assert_eq!(last.reposted, 0, "{last:?}");
}
