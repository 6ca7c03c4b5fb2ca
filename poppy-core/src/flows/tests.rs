//! Flow step ordering, resume and failure handling, with mocked ports.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use super::*;
use crate::backends::{Backends, Providers};
use crate::model::{
    AccessUrl, Claim, Domain, Flavor, FlavorProvider, Job, JobKind, LogDelivery, Origin, ProjectId,
    ProviderDeployment, ProviderDetail, ProviderLink, ProviderStatus, PurgeTarget, Rule, Service,
    ServiceSpec, ServiceStatus,
};
use crate::ports::{
    MockCdnProvider, MockDnsManager, MockFlavorStore, MockJobBoard, MockServiceStore, PortError,
    ProviderCapabilities,
};

fn spec() -> ServiceSpec {
    ServiceSpec {
        name: "site".into(),
        domains: vec![Domain::http("www.site.com")],
        origins: vec![Origin {
            origin: "origin.site.com".into(),
            port: 80,
            ssl: false,
            rules: vec![Rule::default_rule()],
            hostheadertype: crate::model::HostHeaderType::Domain,
            hostheadervalue: None,
        }],
        caching: vec![],
        restrictions: vec![],
        flavor_id: "standard".into(),
        log_delivery: LogDelivery::default(),
    }
}

fn service(status: ServiceStatus) -> Service {
    let mut s = Service::new(ProjectId::new("p"), spec(), 1);
    s.status = status;
    s
}

fn deployed_detail() -> ProviderDetail {
    let mut d = ProviderDetail::new(ProviderStatus::Deployed);
    d.provider_service_id = Some("cfg-1".into());
    d.access_urls = vec![access_url()];
    d
}

fn access_url() -> AccessUrl {
    AccessUrl {
        domain: "www.site.com".into(),
        provider_url: Some("www.site.com.cdn.test".into()),
        operator_url: Some("www.site.com.cdn.test".into()),
        shared_ssl_flag: false,
        old_operator_url: None,
    }
}

fn deployment() -> ProviderDeployment {
    ProviderDeployment {
        provider_service_id: "cfg-1".into(),
        links: vec![ProviderLink {
            domain: "www.site.com".into(),
            href: "www.site.com.cdn.test".into(),
            certificate: None,
        }],
        status: ProviderStatus::Deployed,
        domains_certificate_status: BTreeMap::new(),
    }
}

fn claim(s: &Service, kind: JobKind, progress: Option<&Progress>) -> Claim {
    let mut job = Job::new(s.project_id.clone(), s.id, kind, 1);
    job.attempts = 1;
    if let Some(p) = progress {
        job.progress = p.to_value();
    }
    Claim {
        job,
        worker: "w".into(),
        token: Uuid::new_v4(),
        lease_until: i64::MAX,
    }
}

struct Mocks {
    store: MockServiceStore,
    flavors: MockFlavorStore,
    jobs: MockJobBoard,
    dns: MockDnsManager,
    provider: MockCdnProvider,
}

impl Mocks {
    fn new(stored: Service) -> Self {
        let mut store = MockServiceStore::new();
        let shared = Arc::new(Mutex::new(stored));
        let read = shared.clone();
        store
            .expect_get()
            .returning(move |_, _| Ok(Some(read.lock().unwrap().clone())));
        let mut flavors = MockFlavorStore::new();
        flavors.expect_get().returning(|_| {
            Ok(Some(Flavor {
                id: "standard".into(),
                providers: vec![FlavorProvider {
                    provider: "mock".into(),
                    provider_url: "http://www.mock.com".into(),
                }],
                limits: None,
            }))
        });
        let mut provider = MockCdnProvider::new();
        provider.expect_name().return_const("mock".to_owned());
        Self {
            store,
            flavors,
            jobs: MockJobBoard::new(),
            dns: MockDnsManager::new(),
            provider,
        }
    }

    /// Every `update` is accepted and remembered.
    fn capture_updates(&mut self) -> Arc<Mutex<Vec<Service>>> {
        let written = Arc::new(Mutex::new(Vec::new()));
        let w = written.clone();
        self.store.expect_update().returning(move |s, _| {
            w.lock().unwrap().push(s.clone());
            Ok(s.version + 1)
        });
        written
    }

    fn checkpoints_ok(&mut self) -> Arc<Mutex<Vec<Progress>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        self.jobs.expect_checkpoint().returning(move |_, p| {
            s.lock().unwrap().push(Progress::load(p));
            Ok(())
        });
        seen
    }

    fn backends(self) -> Backends {
        Backends {
            store: Arc::new(self.store),
            flavors: Arc::new(self.flavors),
            jobs: Arc::new(self.jobs),
            dns: Arc::new(self.dns),
            providers: Providers::new().with(Arc::new(self.provider)),
            notifier: None,
            certificates: None,
            metrics: None,
            log_delivery: None,
        }
    }
}

async fn run_flow(backends: &Backends, claim: &Claim) -> Outcome {
    run(backends, claim, &FlowSettings::default()).await
}

#[tokio::test]
async fn create_calls_the_provider_then_dns_checkpointing_each_then_records_deployed() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    let mut seq = mockall::Sequence::new();
    m.provider
        .expect_create()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(deployment()));
    m.jobs
        .expect_checkpoint()
        .withf(|_, p| Progress::load(p).deployments.contains_key("mock"))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    m.dns
        .expect_create()
        .withf(|_, links| links.len() == 1 && links[0].href == "www.site.com.cdn.test")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(vec![access_url()]));
    m.jobs
        .expect_checkpoint()
        .withf(|_, p| Progress::load(p).access_urls.contains_key("mock"))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    let written = m.capture_updates();
    let backends = m.backends();
    let outcome = run_flow(&backends, &claim(&s, JobKind::CreateService, None)).await;
    assert_eq!(outcome, Outcome::Done);
    let written = written.lock().unwrap();
    let last = written.last().expect("service written");
    assert_eq!(last.status, ServiceStatus::Deployed);
    let detail = &last.provider_details["mock"];
    assert_eq!(detail.provider_service_id.as_deref(), Some("cfg-1"));
    assert_eq!(detail.access_urls, vec![access_url()]);
    assert_eq!(detail.status, ProviderStatus::Deployed);
}

#[tokio::test]
async fn a_resumed_create_does_not_call_the_provider_again() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    m.provider.expect_create().never();
    m.dns
        .expect_create()
        .times(1)
        .returning(|_, _| Ok(vec![access_url()]));
    m.checkpoints_ok();
    let written = m.capture_updates();
    let mut progress = Progress::default();
    progress.deployments.insert("mock".into(), deployment());
    let backends = m.backends();
    let outcome = run_flow(
        &backends,
        &claim(&s, JobKind::CreateService, Some(&progress)),
    )
    .await;
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(
        written.lock().unwrap().last().map(|s| s.status),
        Some(ServiceStatus::Deployed)
    );
}

#[tokio::test]
async fn a_fully_resumed_create_only_records_the_result() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    m.provider.expect_create().never();
    m.dns.expect_create().never();
    let written = m.capture_updates();
    let mut progress = Progress::default();
    progress.deployments.insert("mock".into(), deployment());
    progress
        .access_urls
        .insert("mock".into(), vec![access_url()]);
    let backends = m.backends();
    assert_eq!(
        run_flow(
            &backends,
            &claim(&s, JobKind::CreateService, Some(&progress))
        )
        .await,
        Outcome::Done
    );
    assert_eq!(written.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_throttled_provider_retries_the_job_after_its_retry_after() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    m.provider.expect_create().returning(|_| {
        Err(PortError::RateLimited {
            backend: "mock".into(),
            retry_after: Some(Duration::from_secs(7)),
        })
    });
    m.dns.expect_create().never();
    m.store.expect_update().never();
    let backends = m.backends();
    match run_flow(&backends, &claim(&s, JobKind::CreateService, None)).await {
        Outcome::Retry { after, .. } => assert_eq!(after, Some(Duration::from_secs(7))),
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[tokio::test]
async fn a_dns_outage_after_the_provider_step_keeps_the_provider_result_for_the_retry() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    m.provider
        .expect_create()
        .times(1)
        .returning(|_| Ok(deployment()));
    m.dns
        .expect_create()
        .returning(|_, _| Err(PortError::unavailable("dns", "timeout")));
    let checkpoints = m.checkpoints_ok();
    m.store.expect_update().never();
    let backends = m.backends();
    let outcome = run_flow(&backends, &claim(&s, JobKind::CreateService, None)).await;
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
    let last = checkpoints
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("checkpointed");
    assert!(last.deployments.contains_key("mock"));
    assert!(!last.access_urls.contains_key("mock"));
}

#[tokio::test]
async fn an_invalid_service_fails_fast_with_the_providers_message() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    m.provider.expect_create().times(1).returning(|_| {
        Err(PortError::Invalid(
            "/restrictions/0: geo restrictions are not supported".into(),
        ))
    });
    m.dns.expect_create().never();
    m.checkpoints_ok();
    let written = m.capture_updates();
    let backends = m.backends();
    assert_eq!(
        run_flow(&backends, &claim(&s, JobKind::CreateService, None)).await,
        Outcome::Done
    );
    let written = written.lock().unwrap();
    let last = written.last().expect("written");
    assert_eq!(last.status, ServiceStatus::Failed);
    let detail = &last.provider_details["mock"];
    assert_eq!(detail.status, ProviderStatus::Failed);
    assert!(detail
        .error_message
        .as_deref()
        .unwrap_or("")
        .contains("geo restrictions"));
    assert!(detail.error_info.is_some());
}

#[tokio::test]
async fn a_lost_claim_stops_the_flow() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    m.provider.expect_create().returning(|_| Ok(deployment()));
    m.jobs
        .expect_checkpoint()
        .returning(|_, _| Err(PortError::Conflict("claim token mismatch".into())));
    m.dns.expect_create().never();
    m.store.expect_update().never();
    let backends = m.backends();
    assert_eq!(
        run_flow(&backends, &claim(&s, JobKind::CreateService, None)).await,
        Outcome::Lost
    );
}

#[tokio::test]
async fn a_create_for_a_deleted_service_does_nothing() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    m.store.checkpoint();
    m.store.expect_get().returning(|_, _| Ok(None));
    m.provider.expect_create().never();
    let backends = m.backends();
    assert_eq!(
        run_flow(&backends, &claim(&s, JobKind::CreateService, None)).await,
        Outcome::Done
    );
}

#[tokio::test]
async fn a_rollout_in_progress_is_polled_without_failing() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    m.provider.expect_create().returning(|_| {
        Ok(ProviderDeployment {
            status: ProviderStatus::DeployInProgress,
            ..deployment()
        })
    });
    m.provider
        .expect_status()
        .returning(|_| Ok(ProviderStatus::DeployInProgress));
    m.dns
        .expect_create()
        .returning(|_, _| Ok(vec![access_url()]));
    let checkpoints = m.checkpoints_ok();
    let written = m.capture_updates();
    let backends = m.backends();
    let outcome = run_flow(&backends, &claim(&s, JobKind::CreateService, None)).await;
    assert!(matches!(outcome, Outcome::Poll { .. }), "{outcome:?}");
    assert_eq!(checkpoints.lock().unwrap().last().map(|p| p.polls), Some(1));
    let last = written.lock().unwrap().last().cloned().expect("recorded");
    assert_eq!(last.status, ServiceStatus::CreateInProgress);
    assert_eq!(
        last.provider_details["mock"].status,
        ProviderStatus::DeployInProgress
    );
}

#[tokio::test]
async fn update_pushes_to_the_existing_configuration_and_repoints_dns() {
    let mut s = service(ServiceStatus::UpdateInProgress);
    s.provider_details.insert("mock".into(), deployed_detail());
    let mut m = Mocks::new(s.clone());
    m.provider.expect_create().never();
    m.provider
        .expect_update()
        .withf(|id, _| id == "cfg-1")
        .times(1)
        .returning(|_, _| Ok(deployment()));
    m.dns
        .expect_update()
        .withf(|_, current, _| current.len() == 1)
        .times(1)
        .returning(|_, _, _| Ok(vec![access_url()]));
    m.checkpoints_ok();
    let written = m.capture_updates();
    let backends = m.backends();
    let kind = JobKind::UpdateService {
        previous: Box::new(spec()),
    };
    assert_eq!(
        run_flow(&backends, &claim(&s, kind, None)).await,
        Outcome::Done
    );
    assert_eq!(
        written.lock().unwrap().last().map(|s| s.status),
        Some(ServiceStatus::Deployed)
    );
}

#[tokio::test]
async fn a_failed_update_keeps_the_old_provider_details() {
    let mut s = service(ServiceStatus::UpdateInProgress);
    s.provider_details.insert("mock".into(), deployed_detail());
    let mut m = Mocks::new(s.clone());
    m.provider
        .expect_update()
        .returning(|_, _| Err(PortError::Invalid("bad origin".into())));
    m.checkpoints_ok();
    let written = m.capture_updates();
    let backends = m.backends();
    let kind = JobKind::UpdateService {
        previous: Box::new(spec()),
    };
    assert_eq!(
        run_flow(&backends, &claim(&s, kind, None)).await,
        Outcome::Done
    );
    let last = written.lock().unwrap().last().cloned().expect("written");
    assert_eq!(last.status, ServiceStatus::Failed);
    let d = &last.provider_details["mock"];
    assert_eq!(d.provider_service_id.as_deref(), Some("cfg-1"));
    assert_eq!(d.access_urls, vec![access_url()]);
    assert_eq!(d.status, ProviderStatus::Failed);
}

#[tokio::test]
async fn delete_removes_provider_config_and_dns_before_the_service() {
    let mut s = service(ServiceStatus::DeleteInProgress);
    s.provider_details.insert("mock".into(), deployed_detail());
    let mut m = Mocks::new(s.clone());
    let mut seq = mockall::Sequence::new();
    m.provider
        .expect_delete()
        .withf(|id, _| id == "cfg-1")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    m.dns
        .expect_delete()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    m.jobs
        .expect_checkpoint()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    m.store
        .expect_delete()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    let backends = m.backends();
    assert_eq!(
        run_flow(&backends, &claim(&s, JobKind::DeleteService, None)).await,
        Outcome::Done
    );
}

#[tokio::test]
async fn a_failed_provider_delete_keeps_the_service_failed_instead_of_leaking_the_config() {
    let mut s = service(ServiceStatus::DeleteInProgress);
    s.provider_details.insert("mock".into(), deployed_detail());
    let mut m = Mocks::new(s.clone());
    m.provider
        .expect_delete()
        .returning(|_, _| Err(PortError::Invalid("locked".into())));
    m.dns.expect_delete().never();
    m.store.expect_delete().never();
    m.checkpoints_ok();
    let written = m.capture_updates();
    let backends = m.backends();
    assert_eq!(
        run_flow(&backends, &claim(&s, JobKind::DeleteService, None)).await,
        Outcome::Done
    );
    let last = written.lock().unwrap().last().cloned().expect("kept");
    assert_eq!(last.status, ServiceStatus::Failed);
    assert!(last.provider_details["mock"].error_message.is_some());
}

#[tokio::test]
async fn purge_all_on_a_provider_without_it_records_an_error() {
    let mut s = service(ServiceStatus::Deployed);
    s.provider_details.insert("mock".into(), deployed_detail());
    let mut m = Mocks::new(s.clone());
    m.provider
        .expect_capabilities()
        .return_const(ProviderCapabilities {
            purge_all: false,
            hard_purge: true,
            soft_purge: true,
            certificates: false,
        });
    m.provider.expect_purge().never();
    m.checkpoints_ok();
    let written = m.capture_updates();
    let backends = m.backends();
    let kind = JobKind::PurgeService {
        target: PurgeTarget::All,
        hard: true,
    };
    assert_eq!(
        run_flow(&backends, &claim(&s, kind, None)).await,
        Outcome::Done
    );
    let last = written.lock().unwrap().last().cloned().expect("written");
    assert_eq!(
        last.status,
        ServiceStatus::Deployed,
        "a hard purge leaves the status"
    );
    assert!(last.provider_details["mock"]
        .error_message
        .as_deref()
        .unwrap_or("")
        .contains("does not support"));
}

#[tokio::test]
async fn giving_up_marks_the_service_and_its_providers_failed() {
    let s = service(ServiceStatus::CreateInProgress);
    let mut m = Mocks::new(s.clone());
    let written = m.capture_updates();
    let backends = m.backends();
    let c = claim(&s, JobKind::CreateService, None);
    give_up(&backends, &c.job, "mock unavailable: timeout")
        .await
        .expect("recorded");
    let last = written.lock().unwrap().last().cloned().expect("written");
    assert_eq!(last.status, ServiceStatus::Failed);
    let d = &last.provider_details["mock"];
    assert_eq!(d.status, ProviderStatus::Failed);
    assert!(d
        .error_message
        .as_deref()
        .unwrap_or("")
        .contains("Failed after 1 attempts"));
    assert_eq!(d.error_info.as_deref(), Some("mock unavailable: timeout"));
}
