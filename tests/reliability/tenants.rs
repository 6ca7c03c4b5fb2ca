//! Tenant isolation, as a property: random interleavings of the operations
//! of three projects (creates, reads, lists with any project's marker,
//! patches, purges, deletes, workers running) never let one project read,
//! list, change, purge or delete another's service; domains are found
//! across projects only through the operator's look-up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use poppy::core::manager::{Manager, Settings};
use poppy::core::model::{ProjectId, Service, ServiceId};
use poppy::core::ports::{AdminApi, ListQuery, PurgeQuery, ServiceApi, ServiceStore};
use poppy::core::testkit::fixtures;
use poppy::core::testkit::memory::{
    MemoryDns, MemoryFlavorStore, MemoryJobBoard, MemoryProvider, MemoryServiceStore,
};
use poppy::core::{Backends, ErrorKind, Providers};
use poppy::worker::{Runner, RunnerConfig};
use proptest::prelude::*;
use serde_json::json;

const PROJECTS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Create {
        actor: usize,
    },
    Get {
        actor: usize,
        target: usize,
    },
    List {
        actor: usize,
        marker: Option<usize>,
        limit: u32,
    },
    Patch {
        actor: usize,
        target: usize,
    },
    Purge {
        actor: usize,
        target: usize,
    },
    Delete {
        actor: usize,
        target: usize,
    },
    /// Another project creates a service with the target's domain.
    TakeDomain {
        actor: usize,
        target: usize,
    },
    /// The operator looks the target's domain up.
    AdminDomain {
        target: usize,
    },
    RunJobs,
}

fn op() -> impl Strategy<Value = Op> {
    let actor = 0..PROJECTS;
    let target = 0..64_usize;
    prop_oneof![
        3 => actor.clone().prop_map(|actor| Op::Create { actor }),
        2 => (actor.clone(), target.clone()).prop_map(|(actor, target)| Op::Get { actor, target }),
        2 => (actor.clone(), proptest::option::of(target.clone()), 1..5_u32)
            .prop_map(|(actor, marker, limit)| Op::List { actor, marker, limit }),
        2 => (actor.clone(), target.clone()).prop_map(|(actor, target)| Op::Patch { actor, target }),
        1 => (actor.clone(), target.clone()).prop_map(|(actor, target)| Op::Purge { actor, target }),
        1 => (actor.clone(), target.clone()).prop_map(|(actor, target)| Op::Delete { actor, target }),
        1 => (actor, target.clone()).prop_map(|(actor, target)| Op::TakeDomain { actor, target }),
        1 => target.prop_map(|target| Op::AdminDomain { target }),
        2 => Just(Op::RunJobs),
    ]
}

/// What the test knows of one service.
#[derive(Debug, Clone)]
struct Known {
    owner: usize,
    id: ServiceId,
    domain: String,
    /// Its owner's delete was accepted; gone once the jobs ran.
    deleting: bool,
    gone: bool,
}

struct World {
    projects: Vec<ProjectId>,
    manager: Manager,
    store: MemoryServiceStore,
    runner: Runner,
    known: Vec<Known>,
}

impl World {
    fn new() -> Self {
        let store = MemoryServiceStore::new();
        let provider = MemoryProvider::new("memory");
        let backends = Backends {
            store: Arc::new(store.clone()),
            flavors: Arc::new(MemoryFlavorStore::with_flavors([fixtures::flavor_with(
                "standard",
                &["memory"],
            )])),
            jobs: Arc::new(MemoryJobBoard::new()),
            dns: Arc::new(MemoryDns::new()),
            providers: Providers::new().with(Arc::new(provider)),
            notifier: None,
            certificates: None,
            metrics: None,
            log_delivery: None,
        };
        let token = fixtures::unique_label();
        Self {
            projects: (0..PROJECTS)
                .map(|i| ProjectId::new(format!("tenant{i}-{token}")))
                .collect(),
            manager: Manager::new(
                backends.clone(),
                Settings {
                    max_services_per_project: 100,
                    ..Settings::default()
                },
            ),
            store,
            runner: Runner::new(
                backends,
                RunnerConfig {
                    worker_id: "tenants".into(),
                    backoff_base: Duration::from_millis(1),
                    backoff_max: Duration::from_millis(2),
                    ..RunnerConfig::default()
                },
            ),
            known: Vec::new(),
        }
    }

    fn target(&self, index: usize) -> Option<Known> {
        if self.known.is_empty() {
            None
        } else {
            Some(self.known[index % self.known.len()].clone())
        }
    }

    /// The stored service, read behind the API's back.
    async fn stored(&self, known: &Known) -> Option<Service> {
        self.store
            .get(&self.projects[known.owner], &known.id)
            .await
            .expect("the memory store answers")
    }

    async fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Create { actor } => {
                let domain = fixtures::unique_domain();
                let body = json!({"name": format!("svc-{actor}"), "domains": [{"domain": domain}],
                    "origins": [{"origin": "origin.example.com"}], "flavor_id": "standard"});
                let id = self
                    .manager
                    .create_service(&self.projects[actor], body)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("create: {e}")))?;
                self.known.push(Known {
                    owner: actor,
                    id,
                    domain,
                    deleting: false,
                    gone: false,
                });
            }
            Op::Get { actor, target } => {
                let Some(t) = self.target(target) else {
                    return Ok(());
                };
                let got = self.manager.get_service(&self.projects[actor], &t.id).await;
                if actor == t.owner && !t.gone {
                    let service = got.map_err(|e| TestCaseError::fail(format!("own get: {e}")))?;
                    prop_assert_eq!(&service.project_id, &self.projects[actor]);
                } else {
                    prop_assert_eq!(got.err().map(|e| e.kind()), Some(ErrorKind::NotFound));
                }
            }
            Op::List {
                actor,
                marker,
                limit,
            } => {
                let marker = marker.and_then(|m| self.target(m)).map(|t| t.id);
                let page = self
                    .manager
                    .list_services(
                        &self.projects[actor],
                        ListQuery {
                            marker: marker.map(|m| m.to_string()),
                            limit: Some(limit.to_string()),
                        },
                    )
                    .await
                    .map_err(|e| TestCaseError::fail(format!("list: {e}")))?;
                for s in &page.services {
                    prop_assert_eq!(&s.service.project_id, &self.projects[actor]);
                }
                let mut expected: Vec<ServiceId> = self
                    .known
                    .iter()
                    .filter(|k| k.owner == actor && !k.gone)
                    .map(|k| k.id)
                    .filter(|id| marker.is_none_or(|m| *id > m))
                    .collect();
                expected.sort();
                expected.truncate(limit as usize);
                let got: Vec<ServiceId> = page.services.iter().map(|s| s.service.id).collect();
                prop_assert_eq!(got, expected, "list of {} after {:?}", actor, marker);
            }
            Op::Patch { actor, target } => {
                let Some(t) = self.target(target) else {
                    return Ok(());
                };
                let before = self.stored(&t).await;
                let patch =
                    json!([{"op": "replace", "path": "/name", "value": format!("by-{actor}")}]);
                let result = self
                    .manager
                    .patch_service(&self.projects[actor], &t.id, patch)
                    .await;
                self.own_or_untouched(actor, &t, before, result.err().map(|e| e.kind()))
                    .await?;
            }
            Op::Purge { actor, target } => {
                let Some(t) = self.target(target) else {
                    return Ok(());
                };
                let before = self.stored(&t).await;
                let result = self
                    .manager
                    .purge_service(&self.projects[actor], &t.id, PurgeQuery::default())
                    .await;
                self.own_or_untouched(actor, &t, before, result.err().map(|e| e.kind()))
                    .await?;
            }
            Op::Delete { actor, target } => {
                let Some(t) = self.target(target) else {
                    return Ok(());
                };
                let before = self.stored(&t).await;
                let result = self
                    .manager
                    .delete_service(&self.projects[actor], &t.id)
                    .await;
                let accepted = result.is_ok();
                self.own_or_untouched(actor, &t, before, result.err().map(|e| e.kind()))
                    .await?;
                if accepted {
                    if let Some(k) = self.known.iter_mut().find(|k| k.id == t.id) {
                        k.deleting = true;
                    }
                }
            }
            Op::TakeDomain { actor, target } => {
                let Some(t) = self.target(target) else {
                    return Ok(());
                };
                if t.gone || actor == t.owner {
                    return Ok(());
                }
                let body = json!({"name": "thief", "domains": [{"domain": t.domain}],
                    "origins": [{"origin": "origin.example.com"}], "flavor_id": "standard"});
                let err = self
                    .manager
                    .create_service(&self.projects[actor], body)
                    .await
                    .err()
                    .ok_or_else(|| TestCaseError::fail("a taken domain was created again"))?;
                prop_assert_eq!(err.kind(), ErrorKind::BadRequest);
                let message = err.to_string();
                prop_assert!(
                    !message.contains(self.projects[t.owner].as_str())
                        && !message.contains(&t.id.to_string()),
                    "the refusal names the holder: {}",
                    message
                );
            }
            Op::AdminDomain { target } => {
                let Some(t) = self.target(target) else {
                    return Ok(());
                };
                let found = self.manager.service_by_domain(&t.domain).await;
                if t.gone {
                    prop_assert_eq!(found.err().map(|e| e.kind()), Some(ErrorKind::NotFound));
                } else {
                    let service =
                        found.map_err(|e| TestCaseError::fail(format!("admin look-up: {e}")))?;
                    prop_assert_eq!(service.id, t.id);
                    prop_assert_eq!(&service.project_id, &self.projects[t.owner]);
                }
            }
            Op::RunJobs => {
                let mut ran = 0;
                while self
                    .runner
                    .run_one()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("claim: {e}")))?
                    .is_some()
                {
                    ran += 1;
                    prop_assert!(ran < 1000, "jobs keep coming");
                }
                for k in self.known.iter_mut() {
                    if k.deleting {
                        k.gone = true;
                    }
                }
            }
        }
        Ok(())
    }

    /// A write by `actor` on `t`: the owner's may succeed (or be refused for
    /// the service's state); anyone else's is `NotFound` and changes
    /// nothing.
    async fn own_or_untouched(
        &self,
        actor: usize,
        t: &Known,
        before: Option<Service>,
        error: Option<ErrorKind>,
    ) -> Result<(), TestCaseError> {
        if actor == t.owner && !t.gone {
            prop_assert!(
                matches!(error, None | Some(ErrorKind::BadRequest)),
                "the owner's write failed with {:?}",
                error
            );
        } else {
            prop_assert_eq!(error, Some(ErrorKind::NotFound));
            let after = self.stored(t).await;
            prop_assert_eq!(before, after, "another project's write changed the service");
        }
        Ok(())
    }

    /// Every stored service still belongs to the project that created it.
    fn owners_unchanged(&self) -> Result<(), TestCaseError> {
        let owners: BTreeMap<ServiceId, &ProjectId> = self
            .known
            .iter()
            .map(|k| (k.id, &self.projects[k.owner]))
            .collect();
        for service in self.store.services() {
            prop_assert_eq!(owners.get(&service.id).copied(), Some(&service.project_id));
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_operation_crosses_projects(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async {
            let mut world = World::new();
            for op in &ops {
                world.apply(op).await?;
            }
            world.apply(&Op::RunJobs).await?;
            world.owners_unchanged()
        })?;
    }
}
