//! Use cases: what the API does, independent of any transport.
//!
//! [`Manager`] implements the driving ports ([`ServiceApi`](crate::ports::ServiceApi),
//! [`FlavorApi`](crate::ports::FlavorApi), [`AdminApi`](crate::ports::AdminApi)).
//! Every write stores the new desired state and queues a job in one step
//! (an outbox where the store supports it), then returns; a worker runs the
//! job's flow.

mod admin;
mod analytics;
mod certificates;
mod flavors;
mod health;
mod operator;
mod reconcile;
mod services;
mod sharding;

use std::sync::Arc;

use tracing::warn;

use crate::backends::Backends;
use crate::error::{Error, Result};
use crate::model::{Job, ProjectId, Service, ServiceId};
use crate::ports::PortError;
use crate::validate;

pub use certificates::DEFAULT_SAN_HOSTNAME_LIMIT;
pub use reconcile::{reconcile, ReconcileReport};

/// Limits and defaults of the use cases.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Services a project may have unless an operator set its own limit
    /// (`[drivers:storage] max_services_per_project`).
    pub max_services_per_project: u32,
    /// Largest `limit` of a list call (`max_services_per_page`).
    pub max_services_per_page: u32,
    pub validation: validate::Options,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_services_per_project: 20,
            max_services_per_page: 20,
            validation: validate::Options::default(),
        }
    }
}

/// The use cases over a set of backends.
#[derive(Debug, Clone)]
pub struct Manager {
    backends: Backends,
    settings: Arc<Settings>,
}

impl Manager {
    pub fn new(backends: Backends, settings: Settings) -> Self {
        Self {
            backends,
            settings: Arc::new(settings),
        }
    }

    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    async fn load(&self, project: &ProjectId, id: &ServiceId) -> Result<Option<Service>> {
        Ok(self.backends.store.get(project, id).await?)
    }

    /// Writes `service` (which carries the version it was read at) together
    /// with its job. Domain conflicts are the reference's 400; a concurrent
    /// writer is a 409.
    async fn save_with_job(&self, service: &Service, job: &Job) -> Result<()> {
        let store = &self.backends.store;
        let outbox = store.writes_jobs();
        match store.update(service, outbox.then(|| job.clone())).await {
            Ok(_) => {}
            Err(PortError::Conflict(message)) => {
                return Err(self.explain_conflict(service, message).await);
            }
            Err(e) => return Err(e.into()),
        }
        if !outbox {
            self.post(job).await;
        }
        Ok(())
    }

    /// Posts a job to a board that is not the store's outbox. A failure here
    /// is not the client's problem: the service is stored `*_in_progress`
    /// and the reconciler re-posts its job.
    async fn post(&self, job: &Job) {
        if let Err(error) = self.backends.jobs.post(job).await {
            warn!(job = %job.id, service = %job.service_id, %error,
                "posting the job failed; the reconciler will re-post it");
        }
    }

    /// A store `Conflict` is either a domain held by another service (400, as
    /// the reference) or a lost race with another writer (409).
    async fn explain_conflict(&self, service: &Service, message: String) -> Error {
        for domain in service.domain_names() {
            match self.backends.store.find_by_domain(domain).await {
                Ok(Some(holder)) if holder.id != service.id => {
                    return Error::BadRequest(format!("Domain {domain} has already been taken"));
                }
                Ok(_) => {}
                Err(e) => return e.into(),
            }
        }
        Error::Conflict(format!(
            "service {} was changed by another request, retry: {message}",
            service.id
        ))
    }
}

#[cfg(test)]
mod tests;
