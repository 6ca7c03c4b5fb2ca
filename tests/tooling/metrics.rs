//! `GET /metrics` after a scripted workload: a service that deploys, a
//! 404, a service whose provider fails.

use reqwest::Method;

use crate::support::{project, service_body, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_shows_up_in_the_exposition_without_tenant_data() {
    let server = Server::start().await;
    let p = project();

    let good_body = service_body("standard");
    let good = server.create(&p, &good_body).await;
    server.wait_for(&p, &good, "deployed").await;
    let (status, _, _) = server
        .call(
            Method::GET,
            "/v1.0/services/00000000-0000-4000-8000-000000000000",
            &p,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let bad_body = service_body("doomed");
    let bad = server.create(&p, &bad_body).await;
    server.wait_for(&p, &bad, "failed").await;

    let m = server.scrape().await;
    let route = "/v1.0/services/{service_id}";
    assert_eq!(
        m.value(
            "poppy_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/v1.0/services"),
                ("status", "202")
            ]
        ),
        Some(2.0),
        "{}",
        m.text
    );
    assert!(
        m.count(
            "poppy_http_requests_total",
            &[("method", "GET"), ("route", route), ("status", "404")]
        ) >= 1.0
    );
    assert!(
        m.count(
            "poppy_http_requests_total",
            &[("method", "GET"), ("route", route), ("status", "200")]
        ) >= 2.0
    );
    assert!(
        m.count(
            "poppy_http_request_duration_seconds_count",
            &[
                ("method", "POST"),
                ("route", "/v1.0/services"),
                ("status", "202")
            ]
        ) == 2.0
    );

    assert_eq!(
        m.value("poppy_jobs_posted_total", &[("flow", "create_service")]),
        Some(2.0),
        "{}",
        m.text
    );
    assert!(m.count("poppy_jobs_claimed_total", &[("flow", "create_service")]) >= 2.0);
    assert!(
        m.count(
            "poppy_job_runs_total",
            &[("flow", "create_service"), ("outcome", "completed")]
        ) >= 1.0,
        "{}",
        m.text
    );
    assert!(
        m.count(
            "poppy_job_run_duration_seconds_count",
            &[("flow", "create_service"), ("outcome", "completed")]
        ) >= 1.0
    );

    let call = |provider: &str, outcome: &str| {
        m.count(
            "poppy_provider_calls_total",
            &[
                ("provider", provider),
                ("operation", "create"),
                ("outcome", outcome),
            ],
        )
    };
    assert!(call("mock", "ok") >= 1.0, "{}", m.text);
    assert!(call("broken", "invalid") >= 1.0, "{}", m.text);
    assert_eq!(call("broken", "ok"), 0.0);
    assert!(
        m.count(
            "poppy_provider_call_duration_seconds_count",
            &[("provider", "mock"), ("operation", "create")]
        ) >= 1.0
    );
    assert!(
        m.count(
            "poppy_dns_calls_total",
            &[
                ("driver", "default"),
                ("operation", "create"),
                ("outcome", "ok")
            ]
        ) >= 1.0,
        "{}",
        m.text
    );
    assert_eq!(
        m.value("poppy_job_queue_depth", &[]),
        Some(0.0),
        "{}",
        m.text
    );
    assert_eq!(
        m.value("poppy_job_queue_oldest_age_seconds", &[]),
        Some(0.0)
    );

    // Conventions: every family has a type; counters end in _total;
    // durations are in seconds; every name is Poppy's.
    for (name, kind) in &m.types {
        assert!(name.starts_with("poppy_"), "{name}");
        match kind.as_str() {
            "counter" => assert!(name.ends_with("_total"), "{name}"),
            "histogram" => assert!(name.ends_with("_seconds"), "{name}"),
            "gauge" => {}
            other => panic!("{name}: unexpected type {other}"),
        }
    }
    for sample in &m.samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                sample
                    .name
                    .strip_suffix(s)
                    .filter(|f| m.types.contains_key(*f))
            })
            .unwrap_or(&sample.name);
        assert!(
            m.types.contains_key(family),
            "no # TYPE for {}",
            sample.name
        );
    }
    // No tenant data in any label (or anywhere else).
    let domain = good_body["domains"][0]["domain"].as_str().unwrap();
    for tenant in [p.as_str(), good.as_str(), bad.as_str(), domain] {
        assert!(
            !m.text.contains(tenant),
            "{tenant} appears in the exposition"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_depth_and_age_come_from_the_job_board() {
    // No worker: the job stays on the SQLite board.
    let server = Server::with(crate::support::TWO_PROVIDERS, false).await;
    let p = project();
    server.create(&p, &service_body("standard")).await;
    server.create(&p, &service_body("standard")).await;
    let m = server.scrape().await;
    assert_eq!(
        m.value("poppy_job_queue_depth", &[]),
        Some(2.0),
        "{}",
        m.text
    );
    assert_eq!(m.value("poppy_job_queue_claimed", &[]), Some(0.0));
    let age = m.value("poppy_job_queue_oldest_age_seconds", &[]).unwrap();
    assert!((0.0..60.0).contains(&age), "{age}");
    assert_eq!(
        m.count("poppy_jobs_claimed_total", &[("flow", "create_service")]),
        0.0
    );
}

#[tokio::test]
async fn the_memory_board_reports_its_queue() {
    use poppy_core::model::{Job, JobKind, ProjectId, ServiceId};
    use poppy_core::ports::JobBoard;
    use poppy_core::testkit::memory::MemoryJobBoard;

    let board = MemoryJobBoard::new();
    let empty = board.stats().await.unwrap().unwrap();
    assert_eq!(
        (empty.queued, empty.claimed, empty.oldest_created_at),
        (0, 0, None)
    );
    let project = ProjectId::new("p");
    for created_at in [500, 100] {
        let job = Job::new(
            project.clone(),
            ServiceId::new_random(),
            JobKind::CreateService,
            created_at,
        );
        board.post(&job).await.unwrap();
    }
    board
        .claim("w", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a job is claimable");
    let stats = board.stats().await.unwrap().unwrap();
    assert_eq!(
        (stats.queued, stats.claimed, stats.oldest_created_at),
        (2, 1, Some(100))
    );
}
