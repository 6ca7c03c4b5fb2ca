//! Service use cases (§2.6).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use tracing::info;

use super::sharding::assign_shards;
use super::Manager;
use crate::clock::now_ms;
use crate::error::{Error, Result};
use crate::model::{
    Flavor, Job, JobKind, ProjectId, ProviderStatus, PurgeTarget, Service, ServiceId, ServiceSpec,
    ServiceStatus,
};
use crate::ports::{
    Current, HealthReport, ListQuery, PortError, PurgeQuery, Revision, ServiceApi, ServicePage,
};
use crate::validate::{self, Mode};

impl Manager {
    /// The flavor a spec names, which must exist and only name configured
    /// providers.
    pub(super) async fn flavor_for(&self, spec: &ServiceSpec) -> Result<Flavor> {
        let flavor = self
            .backends
            .flavors
            .get(&spec.flavor_id)
            .await?
            .ok_or_else(|| {
                Error::field(
                    "/flavor_id",
                    format!("Could not find a flavor with the id '{}'", spec.flavor_id),
                )
            })?;
        for p in &flavor.providers {
            if self.backends.providers.get(&p.provider).is_none() {
                return Err(Error::field(
                    "/flavor_id",
                    format!(
                        "flavor '{}' uses provider '{}', which this Poppy does not have configured",
                        flavor.id, p.provider
                    ),
                ));
            }
        }
        Ok(flavor)
    }

    async fn service_limit(&self, project: &ProjectId) -> Result<u32> {
        Ok(self
            .backends
            .store
            .get_limit(project)
            .await?
            .unwrap_or(self.settings.max_services_per_project))
    }

    async fn existing(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        missing: &str,
    ) -> Result<Service> {
        self.load(project, id)
            .await?
            .ok_or_else(|| Error::NotFound(missing.to_owned()))
    }

    /// Moves a service to an in-progress state for a new job: the service
    /// status, and every provider detail's status.
    fn mark_in_progress(service: &mut Service, status: ServiceStatus, provider: ProviderStatus) {
        service.status = status;
        service.updated_at = now_ms();
        for detail in service.provider_details.values_mut() {
            detail.status = provider;
        }
    }
}

#[async_trait]
impl ServiceApi for Manager {
    async fn create_service(&self, project: &ProjectId, body: Value) -> Result<ServiceId> {
        let mut spec = validate::service(&body, Mode::Create, &self.settings.validation)
            .map_err(Error::Validation)?;
        self.flavor_for(&spec).await?;
        let limit = self.service_limit(project).await?;
        let backends = &self.backends;
        assign_shards(
            backends.dns.as_ref(),
            backends.store.as_ref(),
            &mut spec,
            None,
            None,
        )
        .await?;

        let now = now_ms();
        let service = Service::new(project.clone(), spec, now);
        let job = Job::new(project.clone(), service.id, JobKind::CreateService, now);
        let job = crate::flows::log_delivery::attach_auth_token(job, backends, &service);
        let outbox = backends.store.writes_jobs();
        match backends
            .store
            .create(&service, limit, outbox.then(|| job.clone()))
            .await
        {
            Ok(()) => {}
            Err(PortError::LimitReached(_)) => {
                return Err(Error::Forbidden(format!(
                    "Maximum Services Limit of {limit} reached!"
                )))
            }
            Err(PortError::Conflict(message)) => {
                return Err(self.explain_conflict(&service, message).await)
            }
            Err(e) => return Err(e.into()),
        }
        if !outbox {
            self.post(&job).await;
        }
        info!(project = %project, service = %service.id, job = %job.id, "service created");
        Ok(service.id)
    }

    async fn list_services(&self, project: &ProjectId, query: ListQuery) -> Result<ServicePage> {
        let (marker, limit) = validate::list_query(&query, self.settings.max_services_per_page)?;
        let services = self
            .backends
            .store
            .list_shared(project, marker, limit)
            .await?;
        let full = services.len() >= limit as usize;
        let next_marker = if full {
            services.last().map(|s| s.service.id)
        } else {
            None
        };
        Ok(ServicePage {
            services,
            limit,
            next_marker,
        })
    }

    async fn get_service(&self, project: &ProjectId, id: &ServiceId) -> Result<Arc<Service>> {
        self.backends
            .store
            .get_shared(project, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    async fn get_service_if_changed(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        held: Option<Revision>,
    ) -> Result<Current> {
        self.backends
            .store
            .get_if_changed(project, id, held)
            .await?
            .ok_or_else(|| not_found(id))
    }

    async fn patch_service(&self, project: &ProjectId, id: &ServiceId, patch: Value) -> Result<()> {
        let service = self.existing(project, id, "Service not found").await?;
        if service.operator_status == crate::model::OperatorStatus::Disabled {
            return Err(Error::BadRequest(format!("Service {id} is disabled")));
        }
        if !matches!(
            service.status,
            ServiceStatus::Deployed | ServiceStatus::Failed
        ) {
            return Err(Error::BadRequest(format!(
                "Service {id} neither deployed nor failed"
            )));
        }
        self.apply_update(service, &patch).await
    }

    async fn delete_service(&self, project: &ProjectId, id: &ServiceId) -> Result<()> {
        let mut service = self
            .existing(project, id, &format!("No service found: {id}"))
            .await?;
        if service.status == ServiceStatus::DeleteInProgress
            && self.backends.jobs.pending_for(id).await? > 0
        {
            // Already being deleted: accepted again (the original's race test).
            return Ok(());
        }
        Self::mark_in_progress(
            &mut service,
            ServiceStatus::DeleteInProgress,
            ProviderStatus::DeleteInProgress,
        );
        let job = Job::new(project.clone(), *id, JobKind::DeleteService, now_ms());
        self.save_with_job(&service, &job).await?;
        info!(project = %project, service = %id, job = %job.id, "service delete queued");
        Ok(())
    }

    async fn purge_service(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        query: PurgeQuery,
    ) -> Result<()> {
        let (target, hard) = validate::purge_query(&query)?;
        let mut service = self
            .existing(project, id, &format!("service {id} could not be found"))
            .await?;
        if service.status != ServiceStatus::Deployed {
            return Err(Error::BadRequest(format!("Service {id} is not deployed.")));
        }
        if !hard {
            Self::mark_in_progress(
                &mut service,
                ServiceStatus::UpdateInProgress,
                ProviderStatus::UpdateInProgress,
            );
        }
        let target = match target {
            PurgeTarget::Url(url) if url == crate::model::DEFAULT_REQUEST_URL => PurgeTarget::All,
            other => other,
        };
        let job = Job::new(
            project.clone(),
            *id,
            JobKind::PurgeService { target, hard },
            now_ms(),
        );
        self.save_with_job(&service, &job).await?;
        info!(project = %project, service = %id, job = %job.id, hard, "purge queued");
        Ok(())
    }

    async fn ping(&self) -> bool {
        self.backends.store.is_alive().await && self.backends.jobs.is_alive().await
    }

    async fn health(&self) -> HealthReport {
        self.health_report().await
    }
}

impl Manager {
    /// PATCH after the state checks, and the admin's forced empty update.
    pub(super) async fn apply_update(&self, service: Service, patch: &Value) -> Result<()> {
        let view = validate::patch_view(&service.spec);
        let patched = validate::apply_patch(&view, patch).map_err(Error::Validation)?;
        let mut spec = validate::service(&patched, Mode::Update, &self.settings.validation)
            .map_err(Error::Validation)?;
        self.flavor_for(&spec).await?;
        let backends = &self.backends;
        assign_shards(
            backends.dns.as_ref(),
            backends.store.as_ref(),
            &mut spec,
            Some(&service.spec),
            Some(&service.id),
        )
        .await?;

        let previous = service.spec.clone();
        let mut updated = service;
        updated.spec = spec;
        Self::mark_in_progress(
            &mut updated,
            ServiceStatus::UpdateInProgress,
            ProviderStatus::UpdateInProgress,
        );
        let job = Job::new(
            updated.project_id.clone(),
            updated.id,
            JobKind::UpdateService {
                previous: Box::new(previous),
            },
            now_ms(),
        );
        let job = crate::flows::log_delivery::attach_auth_token(job, &self.backends, &updated);
        self.save_with_job(&updated, &job).await?;
        info!(project = %updated.project_id, service = %updated.id, job = %job.id, "service update queued");
        Ok(())
    }
}

/// `GET /services/{id}` of a service that does not exist, in the
/// reference's words.
fn not_found(id: &ServiceId) -> Error {
    Error::NotFound(format!("service {id} could not be found"))
}
