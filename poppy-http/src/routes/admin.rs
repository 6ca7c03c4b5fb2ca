//! Operator endpoints `/v1.0/admin/…` (§2.9.1-2.9.3, 2.9.5-2.9.7). Like the
//! original they need only `X-Project-ID`; an embedder adds authorisation
//! with its own layer (see the crate docs).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use poppy_core::ports::StatusOutcome;

use crate::error::{json_response, ApiError};
use crate::extract::{JsonBody, Links, PathParam, Project, QueryParams};
use crate::render::{DomainNameView, LimitView, ServiceView};
use crate::AppState;

/// `GET /admin/services?status=` → 200 `[{"project_id", "service_id"}]`.
#[utoipa::path(get, path = "/v1.0/admin/services", operation_id = "adminServicesByStatus", tag = "admin",
    params(crate::openapi::schema::StatusParams),
    responses(
        (status = 200, description = "Services in that status, any project", body = Vec<crate::openapi::schema::ServiceRef>),
        (status = 400, description = "Unknown status", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn services_by_status(
    State(state): State<AppState>,
    _project: Project,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let status = query.get("status");
    let refs = state
        .api
        .admin
        .services_by_status(status.as_deref())
        .await?;
    Ok(json_response(StatusCode::OK, &refs))
}

/// `POST /admin/services/action` → 202, empty.
#[utoipa::path(post, path = "/v1.0/admin/services/action", operation_id = "adminServiceAction", tag = "admin",
    request_body(content = crate::openapi::schema::ServiceActionRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Action queued"),
        (status = 400, description = "Invalid body", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No service holds the domain", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn service_action(
    State(state): State<AppState>,
    _project: Project,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    state.api.admin.service_action(body).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /admin/services/status` → 201 when statuses were set, 202 when a
/// stuck create was re-driven; both empty.
#[utoipa::path(post, path = "/v1.0/admin/services/status", operation_id = "adminSetServiceStatus", tag = "admin",
    request_body(content = crate::openapi::schema::ServiceStatusRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Statuses set"),
        (status = 202, description = "A stuck create was re-driven"),
        (status = 400, description = "Invalid body", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such service", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn set_service_status(
    State(state): State<AppState>,
    _project: Project,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    Ok(match state.api.admin.set_service_status(body).await? {
        StatusOutcome::StatusSet => StatusCode::CREATED,
        StatusOutcome::UpdateForced => StatusCode::ACCEPTED,
    })
}

/// `GET /admin/domains/{domain}` → 200 the owning service (any project).
#[utoipa::path(get, path = "/v1.0/admin/domains/{domain_name}", operation_id = "adminServiceByDomain", tag = "admin",
    params(("domain_name" = String, Path, description = "A domain of a service")),
    responses(
        (status = 200, description = "The service holding the domain, any project", body = ServiceView),
        (status = 400, description = "Invalid domain", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No service holds the domain", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn service_by_domain(
    State(state): State<AppState>,
    _project: Project,
    links: Links,
    PathParam(domain): PathParam,
) -> Result<Response, ApiError> {
    poppy_core::validate::domain_param(&domain)?;
    let service = state.api.admin.service_by_domain(&domain).await?;
    Ok(json_response(
        StatusCode::OK,
        &ServiceView::new(&service, &links),
    ))
}

/// `GET /admin/domains?provider_url=` → 200 `[{"domain_name"}]`.
#[utoipa::path(get, path = "/v1.0/admin/domains", operation_id = "adminDomainsByProviderUrl", tag = "admin",
    params(crate::openapi::schema::ProviderUrlParams),
    responses(
        (status = 200, description = "Domains served through that provider URL", body = Vec<DomainNameView>),
        (status = 400, description = "Missing or invalid provider_url", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn domains_by_provider_url(
    State(state): State<AppState>,
    _project: Project,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let provider_url = query.get("provider_url");
    let domains = state
        .api
        .admin
        .domains_by_provider_url(provider_url.as_deref())
        .await?;
    let views: Vec<DomainNameView> = domains.into_iter().map(DomainNameView::new).collect();
    Ok(json_response(StatusCode::OK, &views))
}

/// `GET /admin/limits/{project}` → 200 `{"limit": n}`.
#[utoipa::path(get, path = "/v1.0/admin/limits/{project_id}", operation_id = "adminGetLimit", tag = "admin",
    params(("project_id" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The project's service limit", body = LimitView),
        (status = 400, description = "Invalid project id", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn get_limit(
    State(state): State<AppState>,
    _project: Project,
    PathParam(project): PathParam,
) -> Result<Response, ApiError> {
    let limit = state.api.admin.get_limit(&project).await?;
    Ok(json_response(StatusCode::OK, &LimitView::new(limit)))
}

/// `PUT /admin/limits/{project}` `{"limit": n}` → 201, empty.
#[utoipa::path(put, path = "/v1.0/admin/limits/{project_id}", operation_id = "adminSetLimit", tag = "admin",
    params(("project_id" = String, Path, description = "The project")),
    request_body(content = crate::openapi::schema::LimitRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Limit set"),
        (status = 400, description = "Invalid project id or body", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn set_limit(
    State(state): State<AppState>,
    _project: Project,
    PathParam(project): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    state.api.admin.set_limit(&project, body).await?;
    Ok(StatusCode::CREATED.into_response())
}
