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
use crate::model::{Job, JobKind, ServiceStatus};
use crate::ports::PortError;

const PAGE: u32 = 500;

/// What one reconciler pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    /// In-progress services looked at.
    pub checked: usize,
    /// Jobs posted again.
    pub reposted: usize,
}

/// One pass over every in-progress service. Services changed less than
/// `min_age` ago are left alone: their job may be about to be posted.
pub async fn reconcile(backends: &Backends, min_age: Duration) -> Result<ReconcileReport, PortError> {
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
                let job = Job::new(project.clone(), id, kind, now_ms());
                match backends.jobs.post(&job).await {
                    Ok(()) => {
                        report.reposted += 1;
                        info!(project = %project, service = %id, job = %job.id, flow = job.kind.name(),
                            "reconciler re-posted the job of a stuck service");
                    }
                    Err(error) => warn!(service = %id, %error, "reconciler could not re-post a job"),
                }
            }
            if !full {
                break;
            }
        }
    }
    Ok(report)
}
