//! update_service (§5.3): push the new definition to every provider of the
//! flavor (creating it where a provider is new to the service), re-point
//! DNS, and remove the service from providers the flavor no longer has.
//! On any failure the failed providers keep their old details, marked
//! `failed` (as the original), plus the records their DNS step already
//! made; providers that finished record their new details (the original
//! kept their old ones, which named records that were gone and forgot new
//! ones).
//!
//! DNS changes in two checkpointed phases (see `Ctx::deploy`): records of
//! the new links first, then deletion of the records only the old access
//! URLs name. Both are idempotent, so a job retried after a failure in the
//! middle converges, and no CNAME is left that no access URL names.

use tracing::info;

use super::finish::{apply_failure, detail_for, notify, settle, write_back};
use super::steps::{classify, stale_records, Ctx, Deploy, Stop};
use super::Outcome;
use crate::model::{AccessUrl, ProviderDetail, ServiceSpec, ServiceStatus};
use crate::ports::NotificationKind;

pub(super) async fn run(ctx: &mut Ctx<'_>, previous: &ServiceSpec) -> Result<Outcome, Stop> {
    let job = ctx.claim.job.clone();
    let Some(service) = ctx.load_service().await? else {
        return Ok(Outcome::Done);
    };
    let providers = ctx.flavor_providers(&service).await?.unwrap_or_default();

    for name in &providers {
        let old = service.provider_details.get(name);
        let current = old.map(|d| d.access_urls.clone()).unwrap_or_default();
        match old.and_then(|d| d.provider_service_id.clone()) {
            Some(id) => {
                ctx.deploy(
                    name,
                    &service,
                    Deploy::Update {
                        provider_service_id: &id,
                    },
                    &current,
                )
                .await?
            }
            None => ctx.deploy(name, &service, Deploy::Create, &current).await?,
        }
    }

    // Providers still rolling the new definition out (CloudFront, Akamai
    // activations) are asked again until they finish, as in the create flow.
    for name in &providers {
        let Some(deployment) = ctx.progress.deployments.get(name).cloned() else {
            continue;
        };
        if deployment.status != crate::model::ProviderStatus::DeployInProgress
            || ctx.progress.failures.contains_key(name)
        {
            continue;
        }
        let Some(provider) = ctx.provider(name) else {
            continue;
        };
        match provider.status(&deployment.provider_service_id).await {
            Ok(crate::model::ProviderStatus::DeployInProgress) => {
                ctx.progress.polls += 1;
                ctx.checkpoint().await?;
                return Ok(Outcome::Poll {
                    after: ctx.settings.poll_interval,
                });
            }
            Ok(status) => {
                if let Some(d) = ctx.progress.deployments.get_mut(name) {
                    d.status = status;
                }
                ctx.checkpoint().await?;
            }
            Err(error) => {
                let failure = classify(error, "provider")?;
                ctx.fail(name, failure).await?;
            }
        }
    }

    // Providers the new flavor dropped: take the service off them.
    let dropped: Vec<(String, ProviderDetail)> = service
        .provider_details
        .iter()
        .filter(|(name, _)| !providers.contains(name))
        .map(|(n, d)| (n.clone(), d.clone()))
        .collect();
    for (name, detail) in &dropped {
        let step = format!("remove:{name}");
        if ctx.progress.done.contains(&step) || ctx.progress.failures.contains_key(name) {
            continue;
        }
        if let (Some(provider), Some(id)) = (ctx.provider(name), &detail.provider_service_id) {
            if let Err(error) = provider.delete(id, &service).await {
                let failure = classify(error, "provider")?;
                ctx.fail(name, failure).await?;
                continue;
            }
        }
        if let Err(error) = ctx.backends.dns.delete(&detail.access_urls).await {
            let failure = classify(error, "dns")?;
            ctx.fail(name, failure).await?;
            continue;
        }
        ctx.progress.done.insert(step);
        ctx.checkpoint().await?;
    }

    let any_deployed = providers
        .iter()
        .any(|n| !ctx.progress.failures.contains_key(n));
    let log_urls = super::log_delivery::step(ctx, &service, any_deployed).await?;
    let progress = ctx.progress.clone();
    let failed = !progress.failures.is_empty();
    let updated = write_back(ctx.backends, &job, |svc| {
        if failed {
            // Failed providers keep what they had, marked failed, plus any
            // record the DNS step already made for them, so that a later
            // update or delete still finds it (no orphaned CNAMEs).
            for (name, failure) in &progress.failures {
                let detail = svc
                    .provider_details
                    .entry(name.clone())
                    .or_insert_with(|| ProviderDetail::new(crate::model::ProviderStatus::Failed));
                apply_failure(detail, failure);
                if let Some(new_urls) = progress.access_urls.get(name) {
                    detail.access_urls = with_records_of(new_urls, &detail.access_urls);
                }
            }
            // Providers that finished already run the new configuration and
            // their records were re-pointed: record that, not the old state.
            for name in providers
                .iter()
                .filter(|n| !progress.failures.contains_key(*n))
            {
                let previous = svc.provider_details.get(name);
                if let Some(detail) = detail_for(&progress, name, previous) {
                    svc.provider_details.insert(name.clone(), detail);
                }
            }
        } else {
            let mut details = std::collections::BTreeMap::new();
            for name in &providers {
                let previous = svc.provider_details.get(name);
                if let Some(detail) = detail_for(&progress, name, previous) {
                    details.insert(name.clone(), detail);
                }
            }
            svc.provider_details = details;
        }
        super::log_delivery::apply(svc, &log_urls);
        if svc.status == ServiceStatus::UpdateInProgress {
            let details: Vec<&ProviderDetail> = svc.provider_details.values().collect();
            svc.status = if failed {
                ServiceStatus::Failed
            } else {
                settle(&details, ServiceStatus::UpdateInProgress)
            };
        }
    })
    .await?;
    let Some(updated) = updated else {
        return Ok(Outcome::Done);
    };
    let removed: Vec<&str> = previous
        .domains
        .iter()
        .filter(|d| !updated.spec.domains.iter().any(|n| n.domain == d.domain))
        .map(|d| d.domain.as_str())
        .collect();
    info!(job = %job.id, service = %job.service_id, status = %updated.status, ?removed, "update flow finished");
    super::certificate::release(ctx.backends, &job, &removed).await;
    let kind = if failed {
        NotificationKind::Failed
    } else {
        NotificationKind::Deployed
    };
    notify(
        ctx.backends,
        &job,
        kind,
        format!("service update {}", updated.status),
    )
    .await;
    Ok(Outcome::Done)
}

/// `new_urls`, then the entries of `old` naming records `new_urls` does
/// not: everything that may still exist in the zone.
fn with_records_of(new_urls: &[AccessUrl], old: &[AccessUrl]) -> Vec<AccessUrl> {
    let mut urls = new_urls.to_vec();
    urls.extend(stale_records(old, new_urls));
    urls
}

#[cfg(test)]
mod tests {
    //! The DNS side of an update, with mocked ports around a fake zone: a
    //! failure between the two DNS phases, or before a checkpoint, must
    //! leave records a retry converges from, and no orphaned CNAME.

    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use uuid::Uuid;

    use crate::backends::{Backends, Providers};
    use crate::flows::{run, FlowSettings, Outcome, Progress};
    use crate::model::{
        AccessUrl, Claim, Domain, Flavor, FlavorProvider, HostHeaderType, Job, JobKind,
        LogDelivery, Origin, ProjectId, ProviderDeployment, ProviderDetail, ProviderLink,
        ProviderStatus, Rule, Service, ServiceSpec, ServiceStatus,
    };
    use crate::ports::{
        MockCdnProvider, MockDnsManager, MockFlavorStore, MockJobBoard, MockServiceStore, PortError,
    };

    /// CNAMEs `operator name → target`.
    type Zone = Arc<Mutex<BTreeMap<String, String>>>;

    fn spec(domains: &[&str]) -> ServiceSpec {
        ServiceSpec {
            name: "site".into(),
            domains: domains.iter().map(|d| Domain::http(*d)).collect(),
            origins: vec![Origin {
                origin: "origin.site.com".into(),
                port: 80,
                ssl: false,
                rules: vec![Rule::default_rule()],
                hostheadertype: HostHeaderType::Domain,
                hostheadervalue: None,
            }],
            caching: vec![],
            restrictions: vec![],
            flavor_id: "standard".into(),
            log_delivery: LogDelivery::default(),
        }
    }

    fn operator(domain: &str) -> String {
        format!("{domain}.cdn1.operator.test")
    }

    fn href(domain: &str, generation: &str) -> String {
        format!("{domain}.{generation}.provider.test")
    }

    fn url(domain: &str, generation: &str) -> AccessUrl {
        AccessUrl {
            domain: domain.into(),
            provider_url: Some(href(domain, generation)),
            operator_url: Some(operator(domain)),
            shared_ssl_flag: false,
            old_operator_url: None,
        }
    }

    /// A service deployed with `a` and `b`, being updated to `b` and `c`.
    fn updating() -> (Service, ServiceSpec) {
        let previous = spec(&["a.site.com", "b.site.com"]);
        let mut service = Service::new(ProjectId::new("p"), spec(&["b.site.com", "c.site.com"]), 1);
        service.status = ServiceStatus::UpdateInProgress;
        let mut detail = ProviderDetail::new(ProviderStatus::Deployed);
        detail.provider_service_id = Some("cfg-1".into());
        detail.access_urls = vec![url("a.site.com", "v1"), url("b.site.com", "v1")];
        service.provider_details.insert("mock".into(), detail);
        (service, previous)
    }

    fn zone_before() -> Zone {
        Arc::new(Mutex::new(
            ["a.site.com", "b.site.com"]
                .iter()
                .map(|d| (operator(d), href(d, "v1")))
                .collect(),
        ))
    }

    /// How the fake DNS misbehaves.
    #[derive(Clone, Copy)]
    enum Fault {
        None,
        /// The first `delete` fails with this (retryable or not).
        FirstDelete {
            retryable: bool,
        },
    }

    /// A DNS manager keeping `zone` as a record-making driver would: names
    /// from the domain, `update` re-points kept and creates new records and
    /// deletes those of `current` no longer linked, `delete` of a missing
    /// record succeeds.
    fn fake_dns(zone: &Zone, fault: Fault) -> MockDnsManager {
        let mut dns = MockDnsManager::new();
        let upsert = |zone: &Zone, links: &[ProviderLink]| {
            let mut z = zone.lock().unwrap();
            links
                .iter()
                .map(|l| {
                    z.insert(operator(&l.domain), l.href.clone());
                    AccessUrl {
                        domain: l.domain.clone(),
                        provider_url: Some(l.href.clone()),
                        operator_url: Some(operator(&l.domain)),
                        shared_ssl_flag: false,
                        old_operator_url: None,
                    }
                })
                .collect::<Vec<_>>()
        };
        let z = zone.clone();
        dns.expect_create()
            .returning(move |_, links| Ok(upsert(&z, links)));
        let z = zone.clone();
        dns.expect_update().returning(move |_, current, links| {
            let urls = upsert(&z, links);
            let mut zone = z.lock().unwrap();
            for old in current {
                if !links.iter().any(|l| l.domain == old.domain) {
                    if let Some(name) = &old.operator_url {
                        zone.remove(name);
                    }
                }
            }
            Ok(urls)
        });
        let z = zone.clone();
        let deletes = Arc::new(Mutex::new(0usize));
        dns.expect_delete().returning(move |urls| {
            let mut calls = deletes.lock().unwrap();
            *calls += 1;
            if let (Fault::FirstDelete { retryable }, 1) = (fault, *calls) {
                return Err(if retryable {
                    PortError::unavailable("fake dns", "connection reset")
                } else {
                    PortError::Invalid("record is locked".into())
                });
            }
            let mut zone = z.lock().unwrap();
            for u in urls {
                for name in [&u.operator_url, &u.old_operator_url].into_iter().flatten() {
                    zone.remove(name);
                }
            }
            Ok(())
        });
        dns
    }

    /// The mocks of one worker run; `stored` is the service as the store
    /// has it, `written` collects what the flow writes back.
    struct World {
        stored: Arc<Mutex<Service>>,
        checkpoints: Arc<Mutex<Vec<Progress>>>,
    }

    impl World {
        fn new(service: Service) -> Self {
            Self {
                stored: Arc::new(Mutex::new(service)),
                checkpoints: Arc::new(Mutex::new(Vec::new())),
            }
        }

        /// Backends whose job board fails the checkpoint number
        /// `fail_checkpoint` (1-based) once, as a worker that dies there.
        fn backends(&self, dns: MockDnsManager, fail_checkpoint: Option<usize>) -> Backends {
            let mut store = MockServiceStore::new();
            let read = self.stored.clone();
            store
                .expect_get()
                .returning(move |_, _| Ok(Some(read.lock().unwrap().clone())));
            let write = self.stored.clone();
            store.expect_update().returning(move |s, _| {
                *write.lock().unwrap() = s.clone();
                Ok(s.version + 1)
            });
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
            let mut jobs = MockJobBoard::new();
            let seen = self.checkpoints.clone();
            let count = Arc::new(Mutex::new(0usize));
            jobs.expect_checkpoint().returning(move |_, p| {
                let mut n = count.lock().unwrap();
                *n += 1;
                if Some(*n) == fail_checkpoint {
                    return Err(PortError::unavailable("jobs", "worker died"));
                }
                seen.lock().unwrap().push(Progress::load(p));
                Ok(())
            });
            let mut provider = MockCdnProvider::new();
            provider.expect_name().return_const("mock".to_owned());
            provider.expect_update().returning(|id, service| {
                Ok(ProviderDeployment {
                    provider_service_id: id.to_owned(),
                    links: service
                        .domain_names()
                        .map(|d| ProviderLink {
                            domain: d.to_owned(),
                            href: href(d, "v2"),
                            certificate: None,
                        })
                        .collect(),
                    status: ProviderStatus::Deployed,
                    domains_certificate_status: BTreeMap::new(),
                })
            });
            Backends {
                store: Arc::new(store),
                flavors: Arc::new(flavors),
                jobs: Arc::new(jobs),
                dns: Arc::new(dns),
                providers: Providers::new().with(Arc::new(provider)),
                notifier: None,
                certificates: None,
                metrics: None,
                log_delivery: None,
            }
        }

        /// Runs the update job once, resuming from the last checkpoint.
        async fn run(&self, backends: &Backends, previous: &ServiceSpec) -> Outcome {
            let service = self.stored.lock().unwrap().clone();
            let kind = JobKind::UpdateService {
                previous: Box::new(previous.clone()),
            };
            let mut job = Job::new(service.project_id.clone(), service.id, kind, 1);
            if let Some(last) = self.checkpoints.lock().unwrap().last() {
                job.progress = last.to_value();
            }
            let claim = Claim {
                job,
                worker: "w".into(),
                token: Uuid::new_v4(),
                lease_until: i64::MAX,
            };
            run(backends, &claim, &FlowSettings::default()).await
        }

        fn service(&self) -> Service {
            self.stored.lock().unwrap().clone()
        }
    }

    fn expected_zone() -> BTreeMap<String, String> {
        ["b.site.com", "c.site.com"]
            .iter()
            .map(|d| (operator(d), href(d, "v2")))
            .collect()
    }

    /// Every record in the zone is named by an access URL of the service.
    fn assert_no_orphans(zone: &Zone, service: &Service) {
        let named: Vec<String> = service
            .provider_details
            .values()
            .flat_map(|d| d.access_urls.iter())
            .flat_map(|u| [u.operator_url.clone(), u.old_operator_url.clone()])
            .flatten()
            .collect();
        for name in zone.lock().unwrap().keys() {
            assert!(
                named.contains(name),
                "record {name} is named by no access URL: {service:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_update_creates_new_records_before_deleting_removed_ones() {
        let (service, previous) = updating();
        let world = World::new(service);
        let zone = zone_before();
        let backends = world.backends(fake_dns(&zone, Fault::None), None);
        assert_eq!(world.run(&backends, &previous).await, Outcome::Done);
        assert_eq!(*zone.lock().unwrap(), expected_zone());
        let checkpoints = world.checkpoints.lock().unwrap().clone();
        let phase1 = checkpoints
            .iter()
            .position(|p| p.access_urls.contains_key("mock"))
            .expect("new records checkpointed");
        let phase2 = checkpoints
            .iter()
            .position(|p| p.done.contains("dns-prune:mock"))
            .expect("deletion checkpointed");
        assert!(
            phase1 < phase2,
            "records of new links are checkpointed before any deletion"
        );
        let service = world.service();
        assert_eq!(service.status, ServiceStatus::Deployed);
        assert_eq!(
            service.provider_details["mock"].access_urls,
            vec![url("b.site.com", "v2"), url("c.site.com", "v2")]
        );
    }

    #[tokio::test]
    async fn a_crash_between_the_dns_phases_converges_on_retry() {
        let (service, previous) = updating();
        let world = World::new(service);
        let zone = zone_before();

        // First run: new records made and checkpointed, then the deletion
        // of the removed domain's record fails (the worker loses DNS).
        let first = world.backends(
            fake_dns(&zone, Fault::FirstDelete { retryable: true }),
            None,
        );
        let outcome = world.run(&first, &previous).await;
        assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
        let mid = zone.lock().unwrap().clone();
        assert_eq!(
            mid.get(&operator("c.site.com")),
            Some(&href("c.site.com", "v2"))
        );
        assert!(mid.contains_key(&operator("a.site.com")), "not yet deleted");
        assert_eq!(
            world.service().status,
            ServiceStatus::UpdateInProgress,
            "nothing written yet"
        );

        // The retry resumes from the checkpoint: only the deletion is left.
        let mut dns = MockDnsManager::new();
        dns.expect_update().never();
        dns.expect_create().never();
        let z = zone.clone();
        dns.expect_delete().times(1).returning(move |urls| {
            let names: Vec<_> = urls.iter().filter_map(|u| u.operator_url.clone()).collect();
            assert_eq!(
                names,
                vec![operator("a.site.com")],
                "only the removed domain's record"
            );
            let mut zone = z.lock().unwrap();
            for name in names {
                zone.remove(&name);
            }
            Ok(())
        });
        let retry = world.backends(dns, None);
        assert_eq!(world.run(&retry, &previous).await, Outcome::Done);
        assert_eq!(*zone.lock().unwrap(), expected_zone());
        let service = world.service();
        assert_eq!(service.status, ServiceStatus::Deployed);
        assert_no_orphans(&zone, &service);
    }

    #[tokio::test]
    async fn a_crash_before_the_first_dns_checkpoint_repeats_the_idempotent_phase() {
        let (service, previous) = updating();
        let world = World::new(service);
        let zone = zone_before();
        // Checkpoint 1 is the provider's result, 2 the new records': the
        // worker dies right after the DNS call, before recording it.
        let first = world.backends(fake_dns(&zone, Fault::None), Some(2));
        let outcome = world.run(&first, &previous).await;
        assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
        assert!(zone.lock().unwrap().contains_key(&operator("c.site.com")));

        let retry = world.backends(fake_dns(&zone, Fault::None), None);
        assert_eq!(world.run(&retry, &previous).await, Outcome::Done);
        assert_eq!(*zone.lock().unwrap(), expected_zone());
        assert_no_orphans(&zone, &world.service());
    }

    #[tokio::test]
    async fn a_permanent_dns_failure_mid_update_leaves_no_orphaned_record() {
        let (service, previous) = updating();
        let world = World::new(service);
        let zone = zone_before();
        let backends = world.backends(
            fake_dns(&zone, Fault::FirstDelete { retryable: false }),
            None,
        );
        assert_eq!(world.run(&backends, &previous).await, Outcome::Done);
        let service = world.service();
        assert_eq!(service.status, ServiceStatus::Failed);
        let detail = &service.provider_details["mock"];
        assert_eq!(detail.status, ProviderStatus::Failed);
        assert!(detail
            .error_message
            .as_deref()
            .unwrap_or("")
            .contains("locked"));
        // The new record and the one that could not be deleted are both
        // still named, so deleting the service (or a new update) finds them.
        assert_no_orphans(&zone, &service);
        assert!(zone.lock().unwrap().contains_key(&operator("c.site.com")));
    }
}
