//! The memory adapters pass every conformance suite; their knobs (failure
//! injection, rollout polls, shards) do what they say; and the suites catch
//! a broken adapter.
#![cfg(feature = "testkit")]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use async_trait::async_trait;
use poppy_core::clock;
use poppy_core::model::{
    CertificateType, Domain, Job, JobId, ProjectId, Protocol, ProviderDeployment, ProviderLink,
    ProviderStatus, PurgeTarget, Service, ServiceId, ServiceStatus,
};
use poppy_core::ports::{
    CdnProvider, DnsManager, JobBoard, Notification, NotificationKind, Notifier, PortError,
    ProviderCapabilities, ServiceStore,
};
use poppy_core::testkit::conformance;
use poppy_core::testkit::fixtures;
use poppy_core::testkit::memory::{
    DnsCall, DnsOp, FailureKind, JobOp, MemoryDns, MemoryFlavorStore, MemoryJobBoard,
    MemoryNotifier, MemoryProvider, MemoryServiceStore, ProviderCall, ProviderOp, StoreOp,
};

/// Generous bound for "returns at all"; never a latency assertion.
const BOUND: Duration = Duration::from_secs(20);

/// Runs `f` on `threads` OS threads at once, each with its own runtime,
/// so the adapters' locks see real parallelism.
fn on_threads<T, F, Fut>(threads: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = T>,
{
    let f = Arc::new(f);
    let barrier = Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|n| {
            let f = Arc::clone(&f);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .expect("runtime");
                barrier.wait();
                runtime.block_on(f(n))
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect()
}

// ---------------------------------------------------------------- suites

#[tokio::test]
async fn memory_service_store_conforms() {
    conformance::store::run_all(&MemoryServiceStore::new()).await;
}

#[tokio::test]
async fn memory_flavor_store_conforms() {
    conformance::flavor::run_all(&MemoryFlavorStore::new()).await;
}

#[tokio::test]
async fn memory_job_board_conforms() {
    conformance::jobs::run_all(&MemoryJobBoard::new()).await;
}

#[tokio::test]
async fn memory_provider_conforms() {
    let provider = MemoryProvider::default();
    conformance::provider::run_all(&provider).await;
    assert!(
        provider.configurations().is_empty(),
        "the suite deletes what it creates"
    );
}

#[tokio::test]
async fn memory_provider_with_few_capabilities_conforms() {
    let provider = MemoryProvider::new("plain").with_capabilities(ProviderCapabilities::default());
    conformance::provider::run_all(&provider).await;
    assert_eq!(provider.call_count(ProviderOp::Purge), 0);
}

#[tokio::test]
async fn memory_dns_conforms() {
    let dns = MemoryDns::new();
    conformance::dns::run_all(&dns).await;
    assert!(dns.records().is_empty(), "the suite deletes its records");
}

#[tokio::test]
async fn suites_run_twice_against_the_same_backend() {
    let store = MemoryServiceStore::new();
    conformance::store::run_all(&store).await;
    conformance::store::run_all(&store).await;
    assert!(store.is_empty(), "the store suite cleans up after itself");
    assert!(store.claimed_domains().is_empty());
    let flavors = MemoryFlavorStore::new();
    conformance::flavor::run_all(&flavors).await;
    conformance::flavor::run_all(&flavors).await;
    assert!(flavors.flavors().is_empty());
}

#[tokio::test]
async fn job_suite_ignores_jobs_of_other_runs() {
    let board = MemoryJobBoard::new();
    let foreign = fixtures::job_for(&ProjectId::random(), ServiceId::new_random());
    board.post(&foreign).await.unwrap();
    conformance::jobs::post_is_idempotent(&board).await;
    conformance::jobs::release_does_not_count_the_attempt(&board).await;
    conformance::jobs::concurrent_claimers_never_share_a_job(&board).await;
    assert_eq!(
        board.jobs(),
        vec![foreign],
        "the other run's job is left as it was, attempts not counted"
    );
}

// -------------------------------------------------- suites catch breakage

/// A store that forgets the version check.
#[derive(Debug, Default)]
struct LastWriterWins(MemoryServiceStore);

#[async_trait]
impl ServiceStore for LastWriterWins {
    fn name(&self) -> &str {
        "last-writer-wins"
    }
    async fn is_alive(&self) -> bool {
        true
    }
    async fn create(&self, s: &Service, max: u32, job: Option<Job>) -> Result<(), PortError> {
        self.0.create(s, max, job).await
    }
    async fn get(&self, p: &ProjectId, id: &ServiceId) -> Result<Option<Service>, PortError> {
        self.0.get(p, id).await
    }
    async fn list(
        &self,
        p: &ProjectId,
        marker: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<Service>, PortError> {
        self.0.list(p, marker, limit).await
    }
    async fn update(&self, s: &Service, job: Option<Job>) -> Result<u64, PortError> {
        let mut s = s.clone();
        if let Some(stored) = self.0.get(&s.project_id, &s.id).await? {
            s.version = stored.version;
        }
        self.0.update(&s, job).await
    }
    async fn delete(&self, p: &ProjectId, id: &ServiceId) -> Result<(), PortError> {
        self.0.delete(p, id).await
    }
    async fn count(&self, p: &ProjectId) -> Result<u64, PortError> {
        self.0.count(p).await
    }
    async fn find_by_domain(&self, d: &str) -> Result<Option<Service>, PortError> {
        self.0.find_by_domain(d).await
    }
    async fn list_by_status(
        &self,
        status: ServiceStatus,
        after: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<(ProjectId, ServiceId)>, PortError> {
        self.0.list_by_status(status, after, limit).await
    }
    async fn domains_by_provider_url(&self, url: &str) -> Result<Vec<String>, PortError> {
        self.0.domains_by_provider_url(url).await
    }
    async fn get_limit(&self, p: &ProjectId) -> Result<Option<u32>, PortError> {
        self.0.get_limit(p).await
    }
    async fn set_limit(&self, p: &ProjectId, limit: u32) -> Result<(), PortError> {
        self.0.set_limit(p, limit).await
    }
}

#[tokio::test]
#[should_panic(expected = "optimistic concurrency")]
async fn store_suite_catches_a_missing_version_check() {
    conformance::store::update_checks_and_bumps_version(&LastWriterWins::default()).await;
}

/// A provider that makes a new configuration on every create.
#[derive(Debug, Default)]
struct Forgetful(MemoryProvider);

#[async_trait]
impl CdnProvider for Forgetful {
    fn name(&self) -> &str {
        "forgetful"
    }
    fn capabilities(&self) -> ProviderCapabilities {
        self.0.capabilities()
    }
    async fn is_alive(&self) -> bool {
        true
    }
    async fn create(&self, service: &Service) -> Result<ProviderDeployment, PortError> {
        let mut copy = service.clone();
        copy.id = ServiceId::new_random();
        self.0.create(&copy).await
    }
    async fn update(&self, id: &str, service: &Service) -> Result<ProviderDeployment, PortError> {
        self.0.update(id, service).await
    }
    async fn delete(&self, id: &str, service: &Service) -> Result<(), PortError> {
        self.0.delete(id, service).await
    }
    async fn purge(
        &self,
        id: &str,
        service: &Service,
        target: &PurgeTarget,
        hard: bool,
    ) -> Result<(), PortError> {
        self.0.purge(id, service, target, hard).await
    }
    async fn status(&self, id: &str) -> Result<ProviderStatus, PortError> {
        self.0.status(id).await
    }
}

#[tokio::test]
#[should_panic(expected = "must find and return the configuration it made")]
async fn provider_suite_catches_a_non_idempotent_create() {
    conformance::provider::create_is_idempotent(&Forgetful::default()).await;
}

// ------------------------------------------------------- store specifics

#[test]
fn parallel_creates_claim_a_domain_once() {
    let store = MemoryServiceStore::new();
    let contested = fixtures::unique_domain();
    let results = on_threads(8, {
        let store = store.clone();
        let contested = contested.clone();
        move |_| {
            let store = store.clone();
            let service = fixtures::service_with_domains(&ProjectId::random(), &[&contested]);
            async move { store.create(&service, 100, None).await.map(|()| service.id) }
        }
    });
    let winners: Vec<ServiceId> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .copied()
        .collect();
    assert_eq!(winners.len(), 1, "results: {results:?}");
    assert_eq!(store.len(), 1);
    assert_eq!(
        store.claimed_domains().get(&contested).map(|(_, id)| *id),
        Some(winners[0])
    );
    for result in &results {
        if let Err(e) = result {
            assert_eq!(
                e.to_string(),
                format!("Domain {contested} has already been taken")
            );
        }
    }
}

#[test]
fn parallel_creates_respect_the_limit() {
    let store = MemoryServiceStore::new();
    let project = ProjectId::random();
    let results = on_threads(8, {
        let store = store.clone();
        move |_| {
            let store = store.clone();
            let service = fixtures::service(&project);
            async move { store.create(&service, 3, None).await }
        }
    });
    let won = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(PortError::LimitReached(_))))
        .count();
    assert_eq!((won, refused), (3, 5));
    assert_eq!(store.len(), 3);
}

#[tokio::test]
async fn store_failures_are_injected_per_operation() {
    let store = MemoryServiceStore::new();
    let service = fixtures::service(&ProjectId::random());
    store.fail_next(StoreOp::Create, 1, FailureKind::unavailable());
    let error = store.create(&service, 10, None).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    assert!(store.is_empty(), "a failed create writes nothing");
    store.create(&service, 10, None).await.unwrap();

    store.fail_next(StoreOp::Get, 2, FailureKind::Internal);
    for _ in 0..2 {
        let error = store
            .get(&service.project_id, &service.id)
            .await
            .unwrap_err();
        assert!(FailureKind::Internal.matches(&error), "{error:?}");
    }
    assert!(store
        .get(&service.project_id, &service.id)
        .await
        .unwrap()
        .is_some());

    store.fail_next(StoreOp::Count, 5, FailureKind::Conflict);
    store.clear_failures();
    assert_eq!(store.count(&service.project_id).await.unwrap(), 1);

    assert!(store.is_alive().await);
    store.set_alive(false);
    assert!(!store.is_alive().await);
    assert!(!store.writes_jobs());
}

#[tokio::test]
async fn insert_unchecked_sets_up_state_directly() {
    let store = MemoryServiceStore::new();
    let mut service = fixtures::service(&ProjectId::random());
    service.version = 7;
    service.status = ServiceStatus::Failed;
    store.insert_unchecked(service.clone());
    let listed = store
        .list_by_status(ServiceStatus::Failed, None, 10)
        .await
        .unwrap();
    assert_eq!(listed, vec![(service.project_id.clone(), service.id)]);
    assert_eq!(store.services(), vec![service]);
}

// ------------------------------------------------------ jobs specifics

#[test]
fn parallel_claimers_never_share_a_job() {
    let board = MemoryJobBoard::new();
    let project = ProjectId::random();
    let mut posted = BTreeSet::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for _ in 0..200 {
        let job = fixtures::job_for(&project, ServiceId::new_random());
        posted.insert(job.id);
        runtime.block_on(board.post(&job)).unwrap();
    }
    let handled = on_threads(8, {
        let board = board.clone();
        move |n| {
            let board = board.clone();
            async move {
                let mut handled = Vec::new();
                let worker = format!("w{n}");
                while let Some(claim) = board.claim(&worker, BOUND).await.unwrap() {
                    handled.push(claim.job.id);
                    board.complete(&claim).await.unwrap();
                }
                handled
            }
        }
    });
    let all: Vec<JobId> = handled.into_iter().flatten().collect();
    let unique: BTreeSet<JobId> = all.iter().copied().collect();
    assert_eq!(unique.len(), all.len(), "a job was handed out twice");
    assert_eq!(unique, posted);
    assert_eq!(board.completed().len(), 200);
    assert!(board.jobs().is_empty());
}

#[tokio::test]
async fn wait_for_work_wakes_on_post() {
    let board = MemoryJobBoard::new();
    let job = fixtures::job_for(&ProjectId::random(), ServiceId::new_random());
    let waiter = {
        let board = board.clone();
        tokio::spawn(async move { board.wait_for_work(Duration::from_secs(3600)).await })
    };
    tokio::task::yield_now().await;
    board.post(&job).await.unwrap();
    tokio::time::timeout(BOUND, waiter)
        .await
        .expect("a post must wake a worker waiting for an hour")
        .unwrap();
}

#[tokio::test]
async fn a_post_before_the_wait_is_not_missed() {
    let board = MemoryJobBoard::new();
    let job = fixtures::job_for(&ProjectId::random(), ServiceId::new_random());
    board.post(&job).await.unwrap();
    tokio::time::timeout(BOUND, board.wait_for_work(Duration::from_secs(3600)))
        .await
        .expect("a job posted between an empty claim and wait_for_work must not be missed");
}

#[tokio::test]
async fn wait_for_work_wakes_when_a_retry_comes_due() {
    let board = MemoryJobBoard::new();
    let project = ProjectId::random();
    board
        .post(&fixtures::job_for(&project, ServiceId::new_random()))
        .await
        .unwrap();
    let claim = board.claim("w", BOUND).await.unwrap().unwrap();
    board
        .retry(&claim, clock::now_ms() + 300, "later")
        .await
        .unwrap();
    // Consume the permit the retry left, then wait for the due time.
    board.wait_for_work(Duration::from_secs(3600)).await;
    tokio::time::timeout(BOUND, board.wait_for_work(Duration::from_secs(3600)))
        .await
        .expect("wait_for_work must return when a retried job comes due");
    let again = board.claim("w", BOUND).await.unwrap().expect("due now");
    assert_eq!(again.job.attempts, 2);
    assert_eq!(again.job.last_error.as_deref(), Some("later"));
}

#[tokio::test]
async fn board_records_ended_jobs_and_injects_failures() {
    let board = MemoryJobBoard::new();
    let project = ProjectId::random();
    let done = fixtures::job_for(&project, ServiceId::new_random());
    let failed = fixtures::job_for(&project, ServiceId::new_random());
    board.post(&done).await.unwrap();
    board.post(&failed).await.unwrap();

    board.fail_next(JobOp::Claim, 1, FailureKind::unavailable());
    assert!(board.claim("w", BOUND).await.unwrap_err().is_retryable());

    let first = board.claim("w", BOUND).await.unwrap().unwrap();
    assert_eq!(first.job.id, done.id, "oldest first");
    assert_eq!(board.holder(&done.id).as_deref(), Some("w"));
    board.complete(&first).await.unwrap();
    let second = board.claim("w", BOUND).await.unwrap().unwrap();
    board.fail(&second, "gave up").await.unwrap();

    assert_eq!(board.completed().len(), 1);
    assert_eq!(board.completed()[0].id, done.id);
    assert_eq!(board.failed().len(), 1);
    assert_eq!(board.failed()[0].0.id, failed.id);
    assert_eq!(board.failed()[0].1, "gave up");
    let error = board.complete(&first).await.unwrap_err();
    assert!(matches!(error, PortError::Conflict(_)), "{error:?}");
}

// -------------------------------------------------- provider specifics

#[tokio::test]
async fn provider_create_is_idempotent_and_recorded() {
    let provider = MemoryProvider::default();
    let service = fixtures::service(&ProjectId::random());
    let first = provider.create(&service).await.unwrap();
    let second = provider.create(&service).await.unwrap();
    assert_eq!(first.provider_service_id, second.provider_service_id);
    assert_eq!(provider.configurations_for(&service.id).len(), 1);
    assert_eq!(provider.configurations().len(), 1);
    assert_eq!(provider.call_count(ProviderOp::Create), 2);
    assert_eq!(
        first.links,
        service
            .domain_names()
            .map(|d| ProviderLink {
                domain: d.to_owned(),
                href: provider.link_for(d),
                certificate: None,
            })
            .collect::<Vec<_>>()
    );
    assert_eq!(first.status, ProviderStatus::Deployed);

    provider
        .purge(
            &first.provider_service_id,
            &service,
            &PurgeTarget::All,
            true,
        )
        .await
        .unwrap();
    let config = provider.configuration(&first.provider_service_id).unwrap();
    assert_eq!(config.purges, vec![(PurgeTarget::All, true)]);
    assert_eq!(config.service, service);
    assert_eq!(
        provider.calls(),
        vec![
            ProviderCall::Create {
                service_id: service.id
            },
            ProviderCall::Create {
                service_id: service.id
            },
            ProviderCall::Purge {
                provider_service_id: first.provider_service_id.clone(),
                service_id: service.id,
                target: PurgeTarget::All,
                hard: true,
            },
        ]
    );
}

#[tokio::test]
async fn provider_fails_the_next_calls_as_told() {
    let provider = MemoryProvider::new("akamai");
    let service = fixtures::service(&ProjectId::random());
    provider.fail_next(
        ProviderOp::Create,
        2,
        FailureKind::rate_limited(Duration::from_secs(7)),
    );
    for _ in 0..2 {
        let error = provider.create(&service).await.unwrap_err();
        assert!(matches!(error, PortError::RateLimited { .. }), "{error:?}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    }
    assert!(
        provider.configurations().is_empty(),
        "failed calls change nothing"
    );
    let deployment = provider.create(&service).await.unwrap();
    assert_eq!(
        provider.call_count(ProviderOp::Create),
        3,
        "failed calls are recorded"
    );
    assert_eq!(provider.configurations_for(&service.id).len(), 1);

    provider.fail_next(ProviderOp::Delete, 1, FailureKind::Invalid);
    let error = provider
        .delete(&deployment.provider_service_id, &service)
        .await
        .unwrap_err();
    assert!(matches!(error, PortError::Invalid(_)), "{error:?}");
    assert!(error.to_string().contains("akamai"), "{error}");
    assert_eq!(provider.configurations().len(), 1);
    provider
        .delete(&deployment.provider_service_id, &service)
        .await
        .unwrap();
    assert!(provider.configurations().is_empty());
}

#[tokio::test]
async fn provider_reports_rollouts_in_progress_for_some_polls() {
    let provider = MemoryProvider::default();
    let service = fixtures::service(&ProjectId::random());
    provider.report_in_progress(2);
    let deployment = provider.create(&service).await.unwrap();
    assert_eq!(deployment.status, ProviderStatus::DeployInProgress);
    let id = &deployment.provider_service_id;
    let mut polls = Vec::new();
    for _ in 0..3 {
        polls.push(provider.status(id).await.unwrap());
    }
    assert_eq!(
        polls,
        vec![
            ProviderStatus::DeployInProgress,
            ProviderStatus::DeployInProgress,
            ProviderStatus::Deployed
        ]
    );
    assert!(matches!(
        provider.status("mem-unknown").await,
        Err(PortError::NotFound(_))
    ));
}

#[tokio::test]
async fn provider_refuses_purges_it_cannot_do() {
    let provider = MemoryProvider::default()
        .with_capabilities(ProviderCapabilities {
            purge_all: false,
            hard_purge: true,
            soft_purge: false,
            certificates: false,
        })
        .with_link_suffix("edge.example.net");
    let service = fixtures::service(&ProjectId::random());
    let deployment = provider.create(&service).await.unwrap();
    assert!(deployment.links[0].href.ends_with(".edge.example.net"));
    let id = &deployment.provider_service_id;
    let all = provider.purge(id, &service, &PurgeTarget::All, true).await;
    assert!(matches!(all, Err(PortError::Invalid(_))), "{all:?}");
    let url = PurgeTarget::Url("/a".to_owned());
    let soft = provider.purge(id, &service, &url, false).await;
    assert!(matches!(soft, Err(PortError::Invalid(_))), "{soft:?}");
    provider.purge(id, &service, &url, true).await.unwrap();
    let missing = provider.purge("mem-gone", &service, &url, true).await;
    assert!(
        matches!(missing, Err(PortError::NotFound(_))),
        "{missing:?}"
    );
}

// ------------------------------------------------------- dns specifics

fn links(domains: &[&str], suffix: &str) -> Vec<ProviderLink> {
    domains
        .iter()
        .map(|d| ProviderLink {
            domain: (*d).to_owned(),
            href: format!("{d}.{suffix}"),
            certificate: None,
        })
        .collect()
}

#[tokio::test]
async fn dns_keeps_cnames_that_follow_the_links() {
    let dns = MemoryDns::new();
    let service = fixtures::service_with_domains(&ProjectId::random(), &["a.x.com", "b.x.com"]);
    let created = dns
        .create(&service, &links(&["a.x.com", "b.x.com"], "edge.one"))
        .await
        .unwrap();
    assert_eq!(
        created[0].operator_url.as_deref(),
        Some("a.x.com.cdn.poppy.test")
    );
    assert_eq!(
        dns.records(),
        BTreeMap::from([
            (
                "a.x.com.cdn.poppy.test".to_owned(),
                "a.x.com.edge.one".to_owned()
            ),
            (
                "b.x.com.cdn.poppy.test".to_owned(),
                "b.x.com.edge.one".to_owned()
            ),
        ])
    );

    let updated = dns
        .update(
            &service,
            &created,
            &links(&["b.x.com", "c.x.com"], "edge.two"),
        )
        .await
        .unwrap();
    assert_eq!(updated.len(), 2);
    assert_eq!(
        dns.records(),
        BTreeMap::from([
            (
                "b.x.com.cdn.poppy.test".to_owned(),
                "b.x.com.edge.two".to_owned()
            ),
            (
                "c.x.com.cdn.poppy.test".to_owned(),
                "c.x.com.edge.two".to_owned()
            ),
        ]),
        "dropped domain removed, kept one re-pointed, new one added"
    );

    dns.set_enabled(&updated, false).await.unwrap();
    assert!(dns
        .records()
        .values()
        .all(|target| target == dns.not_found_target()));
    dns.set_enabled(&updated, true).await.unwrap();
    assert_eq!(
        dns.record("c.x.com.cdn.poppy.test").as_deref(),
        Some("c.x.com.edge.two")
    );
    dns.delete(&updated).await.unwrap();
    assert!(dns.records().is_empty());
    assert_eq!(dns.call_count(DnsOp::SetEnabled), 2);
}

#[tokio::test]
async fn dns_zone_404_target_and_shards_are_configurable() {
    let dns = MemoryDns::new()
        .with_zone("cdn.example.net")
        .with_not_found_target("gone.example.net");
    assert_eq!(
        dns.shared_ssl_shards(),
        (1..=5)
            .map(|i| format!("scdn{i}.secure.poppy.test"))
            .collect::<Vec<_>>()
    );
    for shard in dns.shared_ssl_shards() {
        assert!(!dns.is_shard_full(&shard).await.unwrap());
    }
    dns.set_shard_full("scdn2.secure.poppy.test", true);
    assert!(dns.is_shard_full("scdn2.secure.poppy.test").await.unwrap());

    let shared = "shop.scdn3.secure.poppy.test";
    let mut service = fixtures::service(&ProjectId::random());
    service.spec.domains = vec![
        Domain::http("www.y.com"),
        Domain {
            domain: shared.to_owned(),
            protocol: Protocol::Https,
            certificate: Some(CertificateType::Shared),
        },
    ];
    let urls = dns
        .create(&service, &links(&["www.y.com", shared], "edge"))
        .await
        .unwrap();
    assert_eq!(
        urls[0].operator_url.as_deref(),
        Some("www.y.com.cdn.example.net")
    );
    assert!(!urls[0].shared_ssl_flag);
    assert_eq!(urls[1].operator_url.as_deref(), Some(shared));
    assert!(urls[1].shared_ssl_flag);
    dns.set_enabled(&urls, false).await.unwrap();
    assert_eq!(dns.record(shared).as_deref(), Some("gone.example.net"));

    let custom = MemoryDns::new().with_shards(["s1.example.net"]);
    assert_eq!(
        custom.shared_ssl_shards(),
        vec!["s1.example.net".to_owned()]
    );
}

#[tokio::test]
async fn dns_fails_the_next_calls_as_told() {
    let dns = MemoryDns::new();
    let service = fixtures::service(&ProjectId::random());
    let names: Vec<&str> = service.domain_names().collect();
    dns.fail_next(DnsOp::Create, 1, FailureKind::unavailable());
    let error = dns
        .create(&service, &links(&names, "edge"))
        .await
        .unwrap_err();
    assert!(error.is_retryable());
    assert!(dns.records().is_empty(), "a failed call changes nothing");
    let urls = dns.create(&service, &links(&names, "edge")).await.unwrap();
    dns.fail_next(DnsOp::Delete, 1, FailureKind::Internal);
    assert!(matches!(
        dns.delete(&urls).await,
        Err(PortError::Internal { .. })
    ));
    assert_eq!(dns.records().len(), 2);
    dns.fail_next(DnsOp::IsShardFull, 1, FailureKind::NotFound);
    assert!(dns.is_shard_full("scdn1.secure.poppy.test").await.is_err());
    assert!(matches!(dns.calls()[0], DnsCall::Create { .. }));
    assert_eq!(dns.call_count(DnsOp::Create), 2);
}

// ------------------------------------------------ notifier and fixtures

#[tokio::test]
async fn notifier_records_and_can_fail() {
    let notifier = MemoryNotifier::new();
    let note = Notification {
        kind: NotificationKind::Deployed,
        project_id: ProjectId::random(),
        service_id: ServiceId::new_random(),
        flow: "create_service".to_owned(),
        message: "deployed".to_owned(),
    };
    notifier.fail_next(1, FailureKind::unavailable());
    assert!(notifier.notify(&note).await.is_err());
    notifier.notify(&note).await.unwrap();
    assert_eq!(notifier.notifications(), vec![note]);
}

#[test]
fn fixtures_make_distinct_valid_looking_services() {
    let project = ProjectId::random();
    let a = fixtures::service(&project);
    let b = fixtures::service(&project);
    assert_ne!(a.id, b.id);
    let domains: BTreeSet<&str> = a.domain_names().chain(b.domain_names()).collect();
    assert_eq!(domains.len(), 4, "every fixture domain is fresh");
    assert_eq!(a.status, ServiceStatus::CreateInProgress);
    assert_eq!(a.version, 1);
    assert_eq!(a.spec.flavor_id, fixtures::FLAVOR_ID);
    assert_eq!(fixtures::flavor().id, fixtures::FLAVOR_ID);
    assert_eq!(
        fixtures::flavor().providers[0].provider,
        MemoryProvider::default().name()
    );
    let spec = fixtures::spec(&["www.example.com"]);
    assert_eq!(spec.domains, vec![Domain::http("www.example.com")]);
    let rich = fixtures::rich_service(&project);
    assert_eq!(rich.provider_details.len(), 2);
    assert!(rich.spec.domains.iter().any(Domain::is_shared_ssl));
}
