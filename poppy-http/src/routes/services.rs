//! `/v1.0/services` (§2.6.2-2.6.7).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use poppy_core::ports::{ListQuery, PurgeQuery};

use super::accepted;
use crate::error::{json_response, ApiError};
use crate::extract::{JsonBody, Links, Project, QueryParams, ServiceIdPath};
use crate::render::{ServiceListView, ServiceView};
use crate::AppState;

/// `POST /services` → 202, empty, `Location` of the new service.
pub(crate) async fn create(
    State(state): State<AppState>,
    Project(project): Project,
    links: Links,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let id = state.api.services.create_service(&project, body).await?;
    Ok(accepted(Some(&links.service_location(&id))))
}

/// `GET /services?marker=&limit=` → 200 `{"links", "services"}`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Project(project): Project,
    links: Links,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let query = ListQuery {
        marker: query.get("marker"),
        limit: query.get("limit"),
    };
    let page = state.api.services.list_services(&project, query).await?;
    Ok(json_response(
        StatusCode::OK,
        &ServiceListView::new(&page, &links),
    ))
}

/// `GET /services/{id}` → 200 service.
pub(crate) async fn get(
    State(state): State<AppState>,
    Project(project): Project,
    links: Links,
    ServiceIdPath(id): ServiceIdPath,
) -> Result<Response, ApiError> {
    let service = state.api.services.get_service(&project, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        &ServiceView::new(&service, &links),
    ))
}

/// `PATCH /services/{id}` (JSON Patch) → 202, empty, `Location`.
pub(crate) async fn patch(
    State(state): State<AppState>,
    Project(project): Project,
    links: Links,
    ServiceIdPath(id): ServiceIdPath,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    state
        .api
        .services
        .patch_service(&project, &id, body)
        .await?;
    Ok(accepted(Some(&links.service_location(&id))))
}

/// `DELETE /services/{id}` → 202, empty, no `Location`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Project(project): Project,
    ServiceIdPath(id): ServiceIdPath,
) -> Result<Response, ApiError> {
    state.api.services.delete_service(&project, &id).await?;
    Ok(accepted(None))
}

/// `DELETE /services/{id}/assets?url=&all=&hard=` → 202, empty, `Location`.
pub(crate) async fn purge(
    State(state): State<AppState>,
    Project(project): Project,
    links: Links,
    ServiceIdPath(id): ServiceIdPath,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let query = PurgeQuery {
        url: query.get("url"),
        all: query.get("all"),
        hard: query.get("hard"),
    };
    state
        .api
        .services
        .purge_service(&project, &id, query)
        .await?;
    Ok(accepted(Some(&links.service_location(&id))))
}
