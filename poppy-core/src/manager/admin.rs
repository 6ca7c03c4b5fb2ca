//! Operator use cases (§2.9) that need no provider-specific code.

use async_trait::async_trait;
use serde_json::{Map, Value};
use tracing::warn;

use super::Manager;
use crate::clock::now_ms;
use crate::error::{Error, FieldError, Result};
use crate::model::{
    Job, JobKind, OperatorStatus, ProjectId, ProviderStatus, Service, ServiceId, ServiceStatus,
};
use crate::ports::{AdminApi, ServiceApi, ServiceRef, StatusOutcome};
use crate::validate;

/// How many services an action over a whole project reads at a time.
const ACTION_PAGE: u32 = 10;
/// Page size when listing services by status.
const STATUS_PAGE: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Delete,
    Enable,
    Disable,
}

#[async_trait]
impl AdminApi for Manager {
    async fn services_by_status(&self, status: Option<&str>) -> Result<Vec<ServiceRef>> {
        let raw = status.unwrap_or_default();
        let status: ServiceStatus = raw.parse().map_err(|_| {
            let valid: Vec<&str> = ServiceStatus::ALL.iter().map(|s| s.as_str()).collect();
            Error::BadRequest(format!(
                "Unknown status type {raw} present, Valid status types are: {valid:?}"
            ))
        })?;
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .backends
                .store
                .list_by_status(status, after, STATUS_PAGE)
                .await?;
            let full = page.len() >= STATUS_PAGE as usize;
            after = page.last().map(|(_, id)| *id);
            out.extend(page.into_iter().map(|(project_id, service_id)| ServiceRef {
                project_id,
                service_id,
            }));
            if !full {
                return Ok(out);
            }
        }
    }

    async fn service_action(&self, body: Value) -> Result<()> {
        let obj = object(&body)?;
        let action = match obj.get("action").and_then(Value::as_str) {
            Some("delete") => Action::Delete,
            Some("enable") => Action::Enable,
            Some("disable") => Action::Disable,
            _ => {
                return Err(Error::field(
                    "/action",
                    "action is required and must be one of delete, enable, disable",
                ))
            }
        };
        match (obj.get("project_id"), obj.get("domain"), obj.len()) {
            (Some(Value::String(project)), None, 2) => {
                let project = ProjectId::new(project.clone());
                self.act_on_project(&project, action).await
            }
            (None, Some(Value::String(domain)), 2) => {
                validate::domain_param(domain)?;
                let service = self.backends.store.find_by_domain(domain).await?.ok_or_else(|| {
                    Error::NotFound(format!(
                        "Services action {} on domain: {domain} failed, Reason: Domain {domain} cannot be found",
                        action_name(action)
                    ))
                })?;
                self.act_on_service(service, action).await
            }
            _ => Err(Error::field(
                "",
                "body must be exactly {\"project_id\": string, \"action\": …} or {\"domain\": string, \"action\": …}",
            )),
        }
    }

    async fn set_service_status(&self, body: Value) -> Result<StatusOutcome> {
        let obj = object(&body)?;
        let mut errors = Vec::new();
        for key in obj.keys() {
            if !matches!(key.as_str(), "project_id" | "service_id" | "status") {
                errors.push(FieldError::new(format!("/{key}"), "unknown field"));
            }
        }
        let project = obj.get("project_id").and_then(Value::as_str);
        if project.is_none_or(|p| validate::project_id_param(p).is_err()) {
            errors.push(FieldError::new(
                "/project_id",
                "must be 1..256 characters of letters, digits, '_', '-', '.'",
            ));
        }
        let service_id = obj
            .get("service_id")
            .and_then(Value::as_str)
            .filter(|s| is_lowercase_uuid(s))
            .and_then(|s| s.parse::<ServiceId>().ok());
        if service_id.is_none() {
            errors.push(FieldError::new("/service_id", "must be a lower-case UUID"));
        }
        let status = match obj.get("status").and_then(Value::as_str) {
            Some("deployed") => Some(ServiceStatus::Deployed),
            Some("failed") => Some(ServiceStatus::Failed),
            _ => {
                errors.push(FieldError::new(
                    "/status",
                    "must be one of deployed, failed",
                ));
                None
            }
        };
        let (Some(project), Some(id), Some(status), true) =
            (project, service_id, status, errors.is_empty())
        else {
            return Err(Error::Validation(errors));
        };
        let project = ProjectId::new(project);
        let failed = |reason: &str| {
            Error::NotFound(format!(
                "Setting state of service {id} on tenant: {project} to {status} has failed, Reason: {reason}"
            ))
        };
        let Some(mut service) = self.load(&project, &id).await? else {
            return Err(failed("service could not be found"));
        };
        if service.status == ServiceStatus::CreateInProgress && service.provider_details.is_empty()
        {
            // A create that never produced provider details: re-drive it
            // with an empty update, bypassing the state check (§2.9.3).
            self.apply_update(service, &Value::Array(Vec::new()))
                .await?;
            return Ok(StatusOutcome::UpdateForced);
        }
        let provider_status = match status {
            ServiceStatus::Failed => ProviderStatus::Failed,
            _ => ProviderStatus::Deployed,
        };
        Self::force_status(&mut service, status, provider_status);
        self.backends
            .store
            .update(&service, None)
            .await
            .map_err(|e| failed(&e.to_string()))?;
        Ok(StatusOutcome::StatusSet)
    }

    async fn service_by_domain(&self, domain: &str) -> Result<Service> {
        validate::domain_param(domain)?;
        self.backends
            .store
            .find_by_domain(domain)
            .await?
            .ok_or_else(|| Error::NotFound(format!("Domain {domain} cannot be found")))
    }

    async fn domains_by_provider_url(&self, provider_url: Option<&str>) -> Result<Vec<String>> {
        let url = provider_url.ok_or_else(|| {
            Error::BadRequest("provider_url needs to be provided as a query parameter".to_owned())
        })?;
        let labels: Vec<&str> = url.split('.').collect();
        let valid = matches!(labels.len(), 5 | 6)
            && labels.iter().all(|l| {
                (1..=255).contains(&l.len())
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(Error::BadRequest(format!(
                "Provider url {url} is not valid"
            )));
        }
        Ok(self.backends.store.domains_by_provider_url(url).await?)
    }

    async fn get_limit(&self, project: &str) -> Result<u32> {
        validate::project_id_param(project)?;
        Ok(self
            .backends
            .store
            .get_limit(&ProjectId::new(project))
            .await?
            .unwrap_or(self.settings.max_services_per_project))
    }

    async fn set_limit(&self, project: &str, body: Value) -> Result<()> {
        validate::project_id_param(project)?;
        let obj = object(&body)?;
        let limit = match (obj.get("limit").and_then(Value::as_u64), obj.len()) {
            (Some(limit), 1) => u32::try_from(limit)
                .map_err(|_| Error::field("/limit", "must be at most 4294967295"))?,
            _ => {
                return Err(Error::field(
                    "/limit",
                    "body must be exactly {\"limit\": <integer >= 0>}",
                ))
            }
        };
        Ok(self
            .backends
            .store
            .set_limit(&ProjectId::new(project), limit)
            .await?)
    }
}

impl Manager {
    fn force_status(service: &mut Service, status: ServiceStatus, provider: ProviderStatus) {
        service.status = status;
        service.updated_at = now_ms();
        for detail in service.provider_details.values_mut() {
            detail.status = provider;
        }
    }

    async fn act_on_project(&self, project: &ProjectId, action: Action) -> Result<()> {
        let mut marker = None;
        loop {
            let page = self
                .backends
                .store
                .list(project, marker, ACTION_PAGE)
                .await?;
            let full = page.len() >= ACTION_PAGE as usize;
            marker = page.last().map(|s| s.id);
            for service in page {
                let id = service.id;
                if let Err(error) = self.act_on_service(service, action).await {
                    // As the original: one service failing does not stop the rest.
                    warn!(project = %project, service = %id, %error, "admin action skipped a service");
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn act_on_service(&self, mut service: Service, action: Action) -> Result<()> {
        let status = match action {
            Action::Delete => {
                return self
                    .delete_service(&service.project_id.clone(), &service.id)
                    .await
            }
            Action::Enable => OperatorStatus::Enabled,
            Action::Disable => OperatorStatus::Disabled,
        };
        if service.operator_status == status {
            return Ok(());
        }
        service.operator_status = status;
        service.updated_at = now_ms();
        let job = Job::new(
            service.project_id.clone(),
            service.id,
            JobKind::SetOperatorStatus { status },
            now_ms(),
        );
        self.save_with_job(&service, &job).await
    }
}

fn object(body: &Value) -> Result<&Map<String, Value>> {
    body.as_object()
        .ok_or_else(|| Error::field("", "body must be a JSON object"))
}

fn is_lowercase_uuid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Delete => "delete",
        Action::Enable => "enable",
        Action::Disable => "disable",
    }
}
