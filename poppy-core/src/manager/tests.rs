//! Decisions of the use cases, with mocked ports.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mockall::predicate::eq;
use serde_json::json;

use super::*;
use crate::backends::Providers;
use crate::model::{
    AccessUrl, Flavor, FlavorProvider, JobKind, OperatorStatus, ProjectId, ProviderDetail,
    ProviderStatus, PurgeTarget, Service, ServiceStatus,
};
use crate::ports::{
    AdminApi, FlavorApi, ListQuery, MockCdnProvider, MockDnsManager, MockFlavorStore, MockJobBoard,
    MockServiceStore, PurgeQuery, ServiceApi, StatusOutcome,
};
use crate::validate::Mode;
use crate::ErrorKind;

struct Mocks {
    store: MockServiceStore,
    flavors: MockFlavorStore,
    jobs: MockJobBoard,
    dns: MockDnsManager,
}

impl Mocks {
    fn new() -> Self {
        let mut flavors = MockFlavorStore::new();
        flavors.expect_get().returning(|id| {
            Ok((id == "standard").then(|| Flavor {
                id: "standard".into(),
                providers: vec![FlavorProvider {
                    provider: "mock".into(),
                    provider_url: "http://www.mock.com".into(),
                }],
                limits: None,
            }))
        });
        let mut dns = MockDnsManager::new();
        dns.expect_shared_ssl_shards()
            .returning(|| vec!["scdn1.secure.test".into(), "scdn2.secure.test".into()]);
        dns.expect_is_shard_full().returning(|_| Ok(false));
        let mut store = MockServiceStore::new();
        store.expect_get_limit().returning(|_| Ok(None));
        Self {
            store,
            flavors,
            jobs: MockJobBoard::new(),
            dns,
        }
    }

    fn manager(self) -> Manager {
        let mut provider = MockCdnProvider::new();
        provider.expect_name().return_const("mock".to_owned());
        let backends = Backends {
            store: Arc::new(self.store),
            flavors: Arc::new(self.flavors),
            jobs: Arc::new(self.jobs),
            dns: Arc::new(self.dns),
            providers: Providers::new().with(Arc::new(provider)),
            notifier: None,
            certificates: None,
            metrics: None,
            log_delivery: None,
        };
        Manager::new(backends, Settings::default())
    }
}

fn body() -> serde_json::Value {
    json!({
        "name": "mysite",
        "domains": [{"domain": "www.mysite.com"}],
        "origins": [{"origin": "origin.mysite.com"}],
        "flavor_id": "standard"
    })
}

fn stored(status: ServiceStatus) -> Service {
    let spec = crate::validate::service(&body(), Mode::Create, &Default::default())
        .expect("fixture body is valid");
    let mut s = Service::new(ProjectId::new("p1"), spec, 1);
    s.status = status;
    let mut detail = ProviderDetail::new(ProviderStatus::Deployed);
    detail.provider_service_id = Some("cfg-1".into());
    detail.access_urls.push(AccessUrl {
        domain: "www.mysite.com".into(),
        provider_url: Some("www.mysite.com.mock.test".into()),
        operator_url: Some("www.mysite.com.mock.test".into()),
        shared_ssl_flag: false,
        old_operator_url: None,
    });
    s.provider_details = BTreeMap::from([("mock".to_owned(), detail)]);
    s
}

fn p1() -> ProjectId {
    ProjectId::new("p1")
}

#[tokio::test]
async fn create_with_an_unknown_flavor_is_a_400_and_writes_nothing() {
    let mut m = Mocks::new();
    m.store.expect_create().never();
    m.jobs.expect_post().never();
    let mut b = body();
    b["flavor_id"] = json!("non_exist");
    let err = m.manager().create_service(&p1(), b).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert!(
        err.to_string()
            .contains("Could not find a flavor with the id 'non_exist'"),
        "{err}"
    );
}

#[tokio::test]
async fn create_with_an_invalid_body_reports_every_field() {
    let mut m = Mocks::new();
    m.store.expect_create().never();
    let err = m
        .manager()
        .create_service(&p1(), json!({"name": "ab", "domains": [], "origins": []}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    let paths: Vec<&str> = err.field_errors().iter().map(|e| e.path.as_str()).collect();
    for expected in ["/name", "/domains", "/origins", "/flavor_id"] {
        assert!(
            paths.iter().any(|p| p.starts_with(expected)),
            "{expected} missing in {paths:?}"
        );
    }
}

#[tokio::test]
async fn create_in_an_outbox_store_writes_the_job_with_the_service() {
    let mut m = Mocks::new();
    m.store.expect_writes_jobs().return_const(true);
    m.store
        .expect_create()
        .withf(|s, limit, job| {
            s.status == ServiceStatus::CreateInProgress
                && *limit == 20
                && job
                    .as_ref()
                    .is_some_and(|j| j.kind == JobKind::CreateService && j.service_id == s.id)
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.jobs.expect_post().never();
    m.manager()
        .create_service(&p1(), body())
        .await
        .expect("created");
}

#[tokio::test]
async fn create_without_an_outbox_posts_the_job_after_the_write() {
    let mut m = Mocks::new();
    let mut seq = mockall::Sequence::new();
    m.store.expect_writes_jobs().return_const(false);
    m.store
        .expect_create()
        .withf(|_, _, job| job.is_none())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _| Ok(()));
    m.jobs
        .expect_post()
        .withf(|j| j.kind == JobKind::CreateService)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    m.manager()
        .create_service(&p1(), body())
        .await
        .expect("created");
}

#[tokio::test]
async fn create_succeeds_when_posting_fails_because_the_reconciler_recovers_it() {
    let mut m = Mocks::new();
    m.store.expect_writes_jobs().return_const(false);
    m.store.expect_create().returning(|_, _, _| Ok(()));
    m.jobs
        .expect_post()
        .returning(|_| Err(PortError::unavailable("zookeeper", "connection lost")));
    m.manager()
        .create_service(&p1(), body())
        .await
        .expect("accepted");
}

#[tokio::test]
async fn create_over_the_project_limit_is_a_403() {
    let mut m = Mocks::new();
    m.store.checkpoint();
    m.store
        .expect_get_limit()
        .with(eq(p1()))
        .returning(|_| Ok(Some(3)));
    m.store.expect_writes_jobs().return_const(true);
    m.store
        .expect_create()
        .withf(|_, limit, _| *limit == 3)
        .returning(|_, _, _| Err(PortError::LimitReached("full".into())));
    let err = m.manager().create_service(&p1(), body()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert_eq!(err.to_string(), "Maximum Services Limit of 3 reached!");
}

#[tokio::test]
async fn create_with_a_taken_domain_is_the_references_400() {
    let mut m = Mocks::new();
    m.store.expect_writes_jobs().return_const(true);
    m.store.expect_create().returning(|_, _, _| {
        Err(PortError::Conflict(
            "Domain www.mysite.com has already been taken".into(),
        ))
    });
    m.store
        .expect_find_by_domain()
        .returning(|_| Ok(Some(stored(ServiceStatus::Deployed))));
    let err = m.manager().create_service(&p1(), body()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(
        err.to_string(),
        "Domain www.mysite.com has already been taken"
    );
}

#[tokio::test]
async fn shared_ssl_domains_get_the_first_free_shard() {
    let mut m = Mocks::new();
    m.store.expect_find_by_domain().returning(|d| {
        // The first shard already has this name.
        Ok((d == "secure.scdn1.secure.test").then(|| stored(ServiceStatus::Deployed)))
    });
    m.store.expect_writes_jobs().return_const(true);
    let created = Arc::new(Mutex::new(None));
    let seen = created.clone();
    m.store.expect_create().returning(move |s, _, _| {
        *seen.lock().unwrap() = Some(s.clone());
        Ok(())
    });
    let mut b = body();
    b["domains"] = json!([{"domain": "secure", "protocol": "https", "certificate": "shared"}]);
    m.manager().create_service(&p1(), b).await.expect("created");
    let service = created.lock().unwrap().clone().expect("stored");
    assert_eq!(service.spec.domains[0].domain, "secure.scdn2.secure.test");
}

#[tokio::test]
async fn shared_ssl_domains_are_refused_when_every_shard_is_taken() {
    let mut m = Mocks::new();
    m.store
        .expect_find_by_domain()
        .returning(|_| Ok(Some(stored(ServiceStatus::Deployed))));
    m.store.expect_create().never();
    let mut b = body();
    b["domains"] = json!([{"domain": "secure", "protocol": "https", "certificate": "shared"}]);
    let err = m.manager().create_service(&p1(), b).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(err.to_string(), "Domain secure has already been taken");
}

#[tokio::test]
async fn get_of_a_missing_service_is_a_404_with_the_references_message() {
    let mut m = Mocks::new();
    m.store.expect_get_shared().returning(|_, _| Ok(None));
    m.store
        .expect_get_if_changed()
        .returning(|_, _, _| Ok(None));
    let id = crate::model::ServiceId::new_random();
    let manager = m.manager();
    let err = manager.get_service(&p1(), &id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.to_string(), format!("service {id} could not be found"));
    let err = manager
        .get_service_if_changed(&p1(), &id, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.to_string(), format!("service {id} could not be found"));
}

#[tokio::test]
async fn list_sets_a_next_marker_only_on_a_full_page() {
    let mut m = Mocks::new();
    let services: Vec<Service> = (0..3).map(|_| stored(ServiceStatus::Deployed)).collect();
    let last = services[2].id;
    let page = services.clone();
    m.store.expect_list_shared().returning(move |_, _, limit| {
        Ok(page
            .iter()
            .take(limit as usize)
            .cloned()
            .map(crate::ports::Snapshot::unrevised)
            .collect())
    });
    let manager = m.manager();
    let full = manager
        .list_services(
            &p1(),
            ListQuery {
                marker: None,
                limit: Some("3".into()),
            },
        )
        .await
        .expect("listed");
    assert_eq!(full.next_marker, Some(last));
    let partial = manager
        .list_services(
            &p1(),
            ListQuery {
                marker: None,
                limit: Some("5".into()),
            },
        )
        .await
        .expect("listed");
    assert_eq!(partial.next_marker, None);
    assert_eq!(partial.services.len(), 3);
}

#[tokio::test]
async fn patch_is_refused_while_a_job_runs() {
    for status in [
        ServiceStatus::CreateInProgress,
        ServiceStatus::UpdateInProgress,
        ServiceStatus::DeleteInProgress,
    ] {
        let mut m = Mocks::new();
        m.store
            .expect_get()
            .returning(move |_, _| Ok(Some(stored(status))));
        m.store.expect_update().never();
        let s = stored(status);
        let err = m
            .manager()
            .patch_service(&p1(), &s.id, json!([]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadRequest, "{status}");
        assert!(
            err.to_string().contains("neither deployed nor failed"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn patch_of_a_disabled_service_is_refused() {
    let mut m = Mocks::new();
    m.store.expect_get().returning(|_, _| {
        let mut s = stored(ServiceStatus::Deployed);
        s.operator_status = OperatorStatus::Disabled;
        Ok(Some(s))
    });
    let err = m
        .manager()
        .patch_service(&p1(), &crate::model::ServiceId::new_random(), json!([]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is disabled"), "{err}");
}

#[tokio::test]
async fn patch_stores_the_new_spec_in_progress_with_an_update_job() {
    let mut m = Mocks::new();
    let original = stored(ServiceStatus::Failed);
    let before = original.clone();
    m.store
        .expect_get()
        .returning(move |_, _| Ok(Some(original.clone())));
    m.store.expect_find_by_domain().returning(|_| Ok(None));
    m.store.expect_writes_jobs().return_const(true);
    m.store
        .expect_update()
        .withf(move |s, job| {
            s.spec.name == "renamed"
                && s.status == ServiceStatus::UpdateInProgress
                && s.version == before.version
                && s.provider_details.values().all(|d| d.status == ProviderStatus::UpdateInProgress)
                && matches!(job, Some(j) if matches!(&j.kind, JobKind::UpdateService { previous } if previous.name == "mysite"))
        })
        .times(1)
        .returning(|s, _| Ok(s.version + 1));
    let s = stored(ServiceStatus::Failed);
    m.manager()
        .patch_service(
            &p1(),
            &s.id,
            json!([{"op": "replace", "path": "/name", "value": "renamed"}]),
        )
        .await
        .expect("patched");
}

#[tokio::test]
async fn a_patch_that_loses_a_race_is_a_409() {
    let mut m = Mocks::new();
    m.store
        .expect_get()
        .returning(|_, _| Ok(Some(stored(ServiceStatus::Deployed))));
    m.store.expect_find_by_domain().returning(|_| Ok(None));
    m.store.expect_writes_jobs().return_const(true);
    m.store
        .expect_update()
        .returning(|_, _| Err(PortError::Conflict("stale version".into())));
    let s = stored(ServiceStatus::Deployed);
    let err = m
        .manager()
        .patch_service(&p1(), &s.id, json!([]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn delete_marks_everything_delete_in_progress_and_queues_the_flow() {
    let mut m = Mocks::new();
    m.store
        .expect_get()
        .returning(|_, _| Ok(Some(stored(ServiceStatus::Deployed))));
    m.store.expect_writes_jobs().return_const(true);
    m.store
        .expect_update()
        .withf(|s, job| {
            s.status == ServiceStatus::DeleteInProgress
                && s.provider_details
                    .values()
                    .all(|d| d.status == ProviderStatus::DeleteInProgress)
                && job
                    .as_ref()
                    .is_some_and(|j| j.kind == JobKind::DeleteService)
        })
        .times(1)
        .returning(|s, _| Ok(s.version + 1));
    let s = stored(ServiceStatus::Deployed);
    m.manager()
        .delete_service(&p1(), &s.id)
        .await
        .expect("deleted");
}

#[tokio::test]
async fn deleting_a_service_already_being_deleted_is_accepted_without_a_second_job() {
    let mut m = Mocks::new();
    m.store
        .expect_get()
        .returning(|_, _| Ok(Some(stored(ServiceStatus::DeleteInProgress))));
    m.jobs.expect_pending_for().returning(|_| Ok(1));
    m.store.expect_update().never();
    let s = stored(ServiceStatus::DeleteInProgress);
    m.manager()
        .delete_service(&p1(), &s.id)
        .await
        .expect("accepted");
}

#[tokio::test]
async fn purge_needs_a_deployed_service() {
    let mut m = Mocks::new();
    m.store
        .expect_get()
        .returning(|_, _| Ok(Some(stored(ServiceStatus::Failed))));
    let s = stored(ServiceStatus::Failed);
    let err = m
        .manager()
        .purge_service(&p1(), &s.id, PurgeQuery::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Service {} is not deployed.", s.id)
    );
}

#[tokio::test]
async fn soft_purge_puts_the_service_in_update_but_hard_purge_does_not() {
    for (hard, expected) in [
        ("false", ServiceStatus::UpdateInProgress),
        ("true", ServiceStatus::Deployed),
    ] {
        let mut m = Mocks::new();
        m.store
            .expect_get()
            .returning(|_, _| Ok(Some(stored(ServiceStatus::Deployed))));
        m.store.expect_writes_jobs().return_const(true);
        let expect_hard = hard == "true";
        m.store
            .expect_update()
            .withf(move |s, job| {
                s.status == expected
                    && matches!(job, Some(j) if j.kind == JobKind::PurgeService { target: PurgeTarget::All, hard: expect_hard })
            })
            .times(1)
            .returning(|s, _| Ok(s.version + 1));
        let s = stored(ServiceStatus::Deployed);
        let query = PurgeQuery {
            url: None,
            all: Some("true".into()),
            hard: Some(hard.into()),
        };
        m.manager()
            .purge_service(&p1(), &s.id, query)
            .await
            .expect("queued");
    }
}

#[tokio::test]
async fn admin_status_redrives_a_create_that_never_ran() {
    let mut m = Mocks::new();
    m.store.expect_get().returning(|_, _| {
        let mut s = stored(ServiceStatus::CreateInProgress);
        s.provider_details.clear();
        Ok(Some(s))
    });
    m.store.expect_find_by_domain().returning(|_| Ok(None));
    m.store.expect_writes_jobs().return_const(true);
    m.store
        .expect_update()
        .withf(|s, job| s.status == ServiceStatus::UpdateInProgress && job.is_some())
        .times(1)
        .returning(|s, _| Ok(s.version + 1));
    let s = stored(ServiceStatus::CreateInProgress);
    let outcome = m
        .manager()
        .set_service_status(
            json!({"project_id": "p1", "service_id": s.id.to_string(), "status": "deployed"}),
        )
        .await
        .expect("accepted");
    assert_eq!(outcome, StatusOutcome::UpdateForced);
}

#[tokio::test]
async fn admin_status_forces_every_provider_status() {
    let mut m = Mocks::new();
    m.store
        .expect_get()
        .returning(|_, _| Ok(Some(stored(ServiceStatus::UpdateInProgress))));
    m.store
        .expect_update()
        .withf(|s, job| {
            s.status == ServiceStatus::Failed
                && job.is_none()
                && s.provider_details
                    .values()
                    .all(|d| d.status == ProviderStatus::Failed)
        })
        .times(1)
        .returning(|s, _| Ok(s.version + 1));
    let s = stored(ServiceStatus::UpdateInProgress);
    let outcome = m
        .manager()
        .set_service_status(
            json!({"project_id": "p1", "service_id": s.id.to_string(), "status": "failed"}),
        )
        .await
        .expect("set");
    assert_eq!(outcome, StatusOutcome::StatusSet);
}

#[tokio::test]
async fn admin_status_body_errors_are_400s_and_unknown_services_404s() {
    let mut m = Mocks::new();
    m.store.expect_get().returning(|_, _| Ok(None));
    let manager = m.manager();
    let err = manager
        .set_service_status(
            json!({"project_id": "p1", "service_id": "NOT-A-UUID", "status": "deleted", "x": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(err.field_errors().len(), 3, "{:?}", err.field_errors());
    let err = manager
        .set_service_status(json!({"project_id": "p1", "service_id": crate::model::ServiceId::new_random().to_string(), "status": "deployed"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.to_string().starts_with("Setting state of service"),
        "{err}"
    );
}

#[tokio::test]
async fn admin_limits_default_to_the_configured_maximum() {
    let m = Mocks::new();
    let manager = m.manager();
    assert_eq!(manager.get_limit("p1").await.expect("limit"), 20);
    assert_eq!(
        manager.get_limit("bad/project").await.unwrap_err().kind(),
        ErrorKind::BadRequest
    );
    assert_eq!(
        manager
            .set_limit("p1", json!({"limit": -1}))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::BadRequest
    );
}

#[tokio::test]
async fn admin_disable_stores_the_operator_status_and_queues_dns_repointing() {
    let mut m = Mocks::new();
    m.store
        .expect_find_by_domain()
        .returning(|_| Ok(Some(stored(ServiceStatus::Deployed))));
    m.store.expect_writes_jobs().return_const(true);
    m.store
        .expect_update()
        .withf(|s, job| {
            s.operator_status == OperatorStatus::Disabled
                && matches!(job, Some(j) if j.kind == JobKind::SetOperatorStatus { status: OperatorStatus::Disabled })
        })
        .times(1)
        .returning(|s, _| Ok(s.version + 1));
    m.manager()
        .service_action(json!({"domain": "www.mysite.com", "action": "disable"}))
        .await
        .expect("disabled");
}

#[tokio::test]
async fn flavor_create_refuses_duplicates_with_the_references_message() {
    let mut m = Mocks::new();
    m.flavors
        .expect_create()
        .returning(|_| Err(PortError::Conflict("exists".into())));
    let err = m
        .manager()
        .create_flavor(json!({"id": "standard", "providers": [{"provider": "mock", "links": [{"href": "http://www.mock.com", "rel": "provider_url"}]}]}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "A flavor with the id 'standard' already exists"
    );
}
