//! The reconciler: re-posts the job of any service stuck `*_in_progress`
//! with no job queued.
//!
//! With an outbox store (SQLite) a service and its job are written in one
//! transaction and this finds nothing. With stores that cannot share a
//! transaction with the job board (Cassandra + ZooKeeper), a crash between
//! the two writes would otherwise strand the service forever.

use std::time::Duration;

use tracing::{info, warn};

use crate::backends::Backends;
use crate::clock::now_ms;
use crate::model::{Job, JobId, JobKind, Service, ServiceStatus};
use crate::ports::PortError;

/// Namespace of the ids of re-posted jobs (UUID v5), fixed so that every
/// process derives the same id.
const REPOST_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x7265_636f_6e63_696c_6572_2d6a_6f62_7321);

const PAGE: u32 = 500;

/// What one reconciler pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    /// In-progress services looked at.
    pub checked: usize,
    /// Jobs posted again.
    pub reposted: usize,
}

/// The id of the job re-posted for `service` in its current state. Several
/// workers run the reconciler; when their passes overlap, each sees the
/// service without a job and posts one. Deriving the id from the service's
/// id, status and version makes those posts one job (`post` is idempotent
/// by id) instead of one flow run per worker.
fn repost_id(service: &Service) -> JobId {
    let key = format!(
        "{}/{}/{}",
        service.id,
        service.status.as_str(),
        service.version
    );
    JobId::from_uuid(uuid::Uuid::new_v5(&REPOST_NAMESPACE, key.as_bytes()))
}

/// One pass over every in-progress service. Services changed less than
/// `min_age` ago are left alone: their job may be about to be posted.
pub async fn reconcile(
    backends: &Backends,
    min_age: Duration,
) -> Result<ReconcileReport, PortError> {
    let mut report = ReconcileReport::default();
    let cutoff = now_ms().saturating_sub(i64::try_from(min_age.as_millis()).unwrap_or(i64::MAX));
    for status in [
        ServiceStatus::CreateInProgress,
        ServiceStatus::UpdateInProgress,
        ServiceStatus::DeleteInProgress,
    ] {
        let mut after = None;
        loop {
            let page = backends.store.list_by_status(status, after, PAGE).await?;
            let full = page.len() >= PAGE as usize;
            after = page.last().map(|(_, id)| *id);
            for (project, id) in page {
                report.checked += 1;
                if backends.jobs.pending_for(&id).await? > 0 {
                    continue;
                }
                let Some(service) = backends.store.get(&project, &id).await? else {
                    continue;
                };
                if service.status != status || service.updated_at > cutoff {
                    continue;
                }
                let kind = match status {
                    ServiceStatus::CreateInProgress => JobKind::CreateService,
                    ServiceStatus::DeleteInProgress => JobKind::DeleteService,
                    _ => JobKind::UpdateService {
                        previous: Box::new(service.spec.clone()),
                    },
                };
                let job = Job {
                    id: repost_id(&service),
                    ..Job::new(project.clone(), id, kind, now_ms())
                };
                match backends.jobs.post(&job).await {
                    Ok(()) => {
                        report.reposted += 1;
                        info!(project = %project, service = %id, job = %job.id, flow = job.kind.name(),
                            "reconciler re-posted the job of a stuck service");
                    }
                    Err(error) => {
                        warn!(service = %id, %error, "reconciler could not re-post a job")
                    }
                }
            }
            if !full {
                break;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::backends::Providers;
    use crate::model::ProjectId;
    use crate::ports::{MockDnsManager, MockFlavorStore, MockJobBoard, MockServiceStore};

    fn stuck(status: ServiceStatus) -> Service {
        let spec = crate::validate::service(
            &serde_json::json!({
                "name": "mysite",
                "domains": [{"domain": "www.mysite.com"}],
                "origins": [{"origin": "origin.mysite.com"}],
                "flavor_id": "standard"
            }),
            crate::validate::Mode::Create,
            &Default::default(),
        )
        .expect("fixture body is valid");
        let mut service = Service::new(ProjectId::new("p1"), spec, 1);
        service.status = status;
        service
    }

    /// Two workers' passes that overlap both find the service without a
    /// job (neither has posted yet) and both post: the same job.
    #[tokio::test]
    async fn overlapping_passes_post_one_job() {
        let service = stuck(ServiceStatus::CreateInProgress);
        let mut store = MockServiceStore::new();
        let listed = (service.project_id.clone(), service.id);
        store
            .expect_list_by_status()
            .returning(move |status, _, _| {
                Ok(if status == ServiceStatus::CreateInProgress {
                    vec![listed.clone()]
                } else {
                    Vec::new()
                })
            });
        let found = service.clone();
        store
            .expect_get()
            .returning(move |_, _| Ok(Some(found.clone())));
        let mut jobs = MockJobBoard::new();
        // What each pass sees before the other's post lands.
        jobs.expect_pending_for().returning(|_| Ok(0));
        let posted: Arc<Mutex<Vec<Job>>> = Arc::default();
        let sink = posted.clone();
        jobs.expect_post().returning(move |job| {
            sink.lock().expect("lock").push(job.clone());
            Ok(())
        });
        let backends = Backends {
            store: Arc::new(store),
            flavors: Arc::new(MockFlavorStore::new()),
            jobs: Arc::new(jobs),
            dns: Arc::new(MockDnsManager::new()),
            providers: Providers::new(),
            notifier: None,
            certificates: None,
            metrics: None,
            log_delivery: None,
        };
        for _ in 0..2 {
            let report = reconcile(&backends, Duration::ZERO).await.expect("pass");
            assert_eq!(report.reposted, 1);
        }
        let posted = posted.lock().expect("lock").clone();
        assert_eq!(posted.len(), 2);
        assert_eq!(
            posted[0].id, posted[1].id,
            "both passes post the same job id"
        );
        assert_eq!(posted[0].service_id, service.id);
        assert_eq!(posted[0].kind, JobKind::CreateService);

        // The service's next stuck state is another job.
        let mut later = service.clone();
        later.version += 1;
        assert_ne!(repost_id(&later), posted[0].id);
        let mut deleting = service;
        deleting.status = ServiceStatus::DeleteInProgress;
        assert_ne!(repost_id(&deleting), posted[0].id);
    }
}
