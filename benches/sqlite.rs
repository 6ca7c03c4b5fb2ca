//! Micro-benchmarks of the SQLite adapters through their ports: service
//! store get / list / create (durable, with its outbox job) and the job
//! board's post and claim + complete, on a file database in `target/tmp`
//! holding 10,000 services (20 projects of 500).
//!
//! ```sh
//! cargo bench --bench sqlite
//! ```

#![forbid(unsafe_code)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use poppy::adapters::storage::sqlite::{SqliteDatabase, SqliteOptions, SqliteStore};
use poppy::core::clock::now_ms;
use poppy::core::model::{Job, JobKind, ProjectId, Service, ServiceId, ServiceSpec};
use poppy::core::ports::{JobBoard, ServiceStore};
use poppy::core::validate::{self, Mode, Options};
use serde_json::json;

const PROJECTS: usize = 20;
const PER_PROJECT: usize = 500;
/// The store's limit check, as the manager passes it.
const MAX_SERVICES: u32 = 1_000;

fn spec(domain: &str) -> ServiceSpec {
    let body = json!({
        "name": domain,
        "domains": [{"domain": domain}],
        "origins": [{"origin": "origin.example.com", "port": 80, "ssl": false}],
        "caching": [{"name": "default", "ttl": 3600}],
        "flavor_id": "standard"
    });
    match validate::service(&body, Mode::Create, &Options::default()) {
        Ok(spec) => spec,
        Err(errors) => panic!("benchmark body is invalid: {errors:?}"),
    }
}

fn project(p: usize) -> ProjectId {
    ProjectId::new(format!("bench-{p}"))
}

/// A fresh service with a domain no other run of the benchmark uses.
fn fresh_service(project: ProjectId, n: u64, run: u32) -> Service {
    Service::new(
        project,
        spec(&format!("n{n}-{run:08x}.bench.example.com")),
        now_ms(),
    )
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    jobs: poppy::adapters::jobs::sqlite::SqliteJobBoard,
    ids: Vec<(ProjectId, ServiceId)>,
}

async fn fixture() -> Fixture {
    let tmp = std::path::PathBuf::from(option_env!("CARGO_TARGET_TMPDIR").unwrap_or("target/tmp"));
    if let Err(e) = std::fs::create_dir_all(&tmp) {
        panic!("cannot create {}: {e}", tmp.display());
    }
    let dir = match tempfile::Builder::new()
        .prefix("sqlite-bench-")
        .tempdir_in(&tmp)
    {
        Ok(dir) => dir,
        Err(e) => panic!("cannot create a temporary directory: {e}"),
    };
    let db = match SqliteDatabase::connect(dir.path().join("poppy.db"), SqliteOptions::default())
        .await
    {
        Ok(db) => db,
        Err(e) => panic!("cannot open the benchmark database: {e}"),
    };
    let store = db.store().with_outbox(true);
    let mut ids = Vec::new();
    for p in 0..PROJECTS {
        for i in 0..PER_PROJECT {
            let service = Service::new(
                project(p),
                spec(&format!("s{i}.p{p}.stored.example.com")),
                now_ms(),
            );
            if let Err(e) = store.create(&service, MAX_SERVICES, None).await {
                panic!("loading the benchmark database failed: {e}");
            }
            ids.push((service.project_id.clone(), service.id));
        }
    }
    Fixture {
        _dir: dir,
        jobs: db.job_board(),
        store,
        ids,
    }
}

fn benches(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build the tokio runtime: {e}"),
    };
    let f = rt.block_on(fixture());
    let run: u32 = rand_run();
    let mut group = c.benchmark_group("sqlite");

    let next = AtomicU64::new(0);
    group.bench_function("store get", |b| {
        b.to_async(&rt).iter(|| async {
            let k = next.fetch_add(7919, Ordering::Relaxed) as usize % f.ids.len();
            let (p, id) = &f.ids[k];
            black_box(f.store.get(p, id).await)
        })
    });

    group.bench_function("store list 20 (first page)", |b| {
        b.to_async(&rt).iter(|| async {
            let k = next.fetch_add(1, Ordering::Relaxed) as usize % PROJECTS;
            black_box(f.store.list(&project(k), None, 20).await)
        })
    });

    group.bench_function("store list 20 (after a marker)", |b| {
        b.to_async(&rt).iter(|| async {
            let k = next.fetch_add(7919, Ordering::Relaxed) as usize % f.ids.len();
            let (p, marker) = &f.ids[k];
            black_box(f.store.list(p, Some(*marker), 20).await)
        })
    });

    // Durable: the service, its domain claim and its outbox job in one
    // committed transaction. Projects of 10 new services (real projects stay
    // under the default limit of 20).
    let created = AtomicU64::new(0);
    group.bench_function("store create (with outbox job)", |b| {
        b.to_async(&rt).iter(|| async {
            let n = created.fetch_add(1, Ordering::Relaxed);
            let p = ProjectId::new(format!("create-{run:08x}-{}", n / 10));
            let service = fresh_service(p, n, run);
            let job = Job::new(
                service.project_id.clone(),
                service.id,
                JobKind::CreateService,
                now_ms(),
            );
            let result = f.store.create(&service, MAX_SERVICES, Some(job)).await;
            if let Err(e) = &result {
                panic!("create failed: {e}");
            }
        })
    });
    // The creates above left their jobs queued: clear them, so the claim
    // benchmark walks a queue of its own jobs only.
    rt.block_on(drain(&f.jobs));

    let posted = AtomicU64::new(0);
    group.bench_function("job post", |b| {
        b.to_async(&rt).iter(|| async {
            let n = posted.fetch_add(1, Ordering::Relaxed);
            let job = Job::new(
                ProjectId::new("jobs"),
                ServiceId::new_random(),
                JobKind::CreateService,
                n as i64,
            );
            black_box(f.jobs.post(&job).await)
        })
    });
    rt.block_on(drain(&f.jobs));

    // Jobs are posted outside the timing; each timed step claims the
    // oldest and completes it (what a worker does around every flow).
    group.bench_function("job claim + complete", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let jobs = f.jobs.clone();
            async move {
                for _ in 0..iters {
                    let job = Job::new(
                        ProjectId::new("jobs"),
                        ServiceId::new_random(),
                        JobKind::CreateService,
                        now_ms(),
                    );
                    if let Err(e) = jobs.post(&job).await {
                        panic!("post failed: {e}");
                    }
                }
                let started = Instant::now();
                for _ in 0..iters {
                    match jobs.claim("bench", Duration::from_secs(60)).await {
                        Ok(Some(claim)) => {
                            if let Err(e) = jobs.complete(&claim).await {
                                panic!("complete failed: {e}");
                            }
                        }
                        Ok(None) => panic!("no job to claim"),
                        Err(e) => panic!("claim failed: {e}"),
                    }
                }
                started.elapsed()
            }
        })
    });
    group.finish();
}

/// Claims and completes every queued job.
async fn drain(jobs: &poppy::adapters::jobs::sqlite::SqliteJobBoard) {
    loop {
        match jobs.claim("drain", Duration::from_secs(60)).await {
            Ok(Some(claim)) => {
                if let Err(e) = jobs.complete(&claim).await {
                    panic!("complete failed: {e}");
                }
            }
            Ok(None) => return,
            Err(e) => panic!("claim failed: {e}"),
        }
    }
}

/// Distinguishes runs on a reused database so domains never collide.
fn rand_run() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = sqlite;
    config = config();
    targets = benches
}
criterion_main!(sqlite);
