//! `/v1.0/services` (§2.6.2-2.6.7).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use poppy_core::model::AuthToken;
use poppy_core::ports::{with_auth_token, Current, ListQuery, PurgeQuery};

use super::accepted;
use crate::error::{json_bytes_response, ApiError};
use crate::extract::{JsonBody, Links, Project, QueryParams, ServiceIdPath};
use crate::AppState;

/// `POST /services` → 202, empty, `Location` of the new service.
#[utoipa::path(post, path = "/v1.0/services", operation_id = "createService", tag = "services",
    request_body(content = crate::openapi::schema::ServiceRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; deployment queued", headers(("Location" = String, description = "URL of the service"))),
        (status = 400, description = "Invalid body, unknown flavor or a domain already taken", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The project's service limit is reached", body = crate::openapi::schema::ErrorBody),
        (status = 409, description = "A concurrent write won", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Project(project): Project,
    links: Links,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let create = state.api.services.create_service(&project, body);
    let id = with_auth_token(auth_token(&headers), create).await?;
    Ok(accepted(Some(&links.service_location(&id))))
}

/// `GET /services?marker=&limit=` → 200 `{"links", "services"}`.
#[utoipa::path(get, path = "/v1.0/services", operation_id = "listServices", tag = "services",
    params(crate::openapi::schema::ListParams),
    responses(
        (status = 200, description = "A page of services; a `next` link when the page is full", body = crate::openapi::schema::ServiceListView),
        (status = 400, description = "Invalid marker or limit", body = crate::openapi::schema::ErrorBody),
    ))]
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
    Ok(json_bytes_response(
        StatusCode::OK,
        state.rendered.list_json(&page, &links),
    ))
}

/// `GET /services/{id}` → 200 service.
#[utoipa::path(get, path = "/v1.0/services/{service_id}", operation_id = "getService", tag = "services",
    params(("service_id" = String, Path, description = "The service id (a UUID)")),
    responses(
        (status = 200, description = "The service", body = crate::render::ServiceView),
        (status = 400, description = "Invalid service id", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such service in this project", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Project(project): Project,
    links: Links,
    ServiceIdPath(id): ServiceIdPath,
) -> Result<Response, ApiError> {
    let held = state.rendered.held(&project, &id, &links);
    let current = state
        .api
        .services
        .get_service_if_changed(&project, &id, held.as_ref().map(|(revision, _)| *revision))
        .await?;
    let body = match (current, held) {
        (Current::Unchanged, Some((_, json))) => Ok(json),
        (Current::Changed(snapshot), _) => state.rendered.json(&snapshot, &links),
        (Current::Unchanged, None) => {
            tracing::error!(service = %id, "the service API answered 'unchanged' to a read that held nothing");
            return Err(ApiError::internal());
        }
    };
    Ok(json_bytes_response(StatusCode::OK, body))
}

/// `PATCH /services/{id}` (JSON Patch) → 202, empty, `Location`.
#[utoipa::path(patch, path = "/v1.0/services/{service_id}", operation_id = "patchService", tag = "services",
    params(("service_id" = String, Path, description = "The service id (a UUID)")),
    request_body(content = Vec<crate::openapi::schema::PatchOperation>, content_type = "application/json",
                 description = "RFC 6902 JSON Patch of the service's request view"),
    responses(
        (status = 202, description = "Stored; update queued", headers(("Location" = String, description = "URL of the service"))),
        (status = 400, description = "Invalid patch or result, or the service is not deployed/failed", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such service in this project", body = crate::openapi::schema::ErrorBody),
        (status = 409, description = "A concurrent write won", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn patch(
    State(state): State<AppState>,
    Project(project): Project,
    links: Links,
    ServiceIdPath(id): ServiceIdPath,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let patch = state.api.services.patch_service(&project, &id, body);
    with_auth_token(auth_token(&headers), patch).await?;
    Ok(accepted(Some(&links.service_location(&id))))
}

/// `DELETE /services/{id}` → 202, empty, no `Location`.
#[utoipa::path(delete, path = "/v1.0/services/{service_id}", operation_id = "deleteService", tag = "services",
    params(("service_id" = String, Path, description = "The service id (a UUID)")),
    responses(
        (status = 202, description = "Deletion queued"),
        (status = 400, description = "Invalid service id", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such service in this project", body = crate::openapi::schema::ErrorBody),
        (status = 409, description = "A concurrent write won", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Project(project): Project,
    ServiceIdPath(id): ServiceIdPath,
) -> Result<Response, ApiError> {
    state.api.services.delete_service(&project, &id).await?;
    Ok(accepted(None))
}

/// `DELETE /services/{id}/assets?url=&all=&hard=` → 202, empty, `Location`.
#[utoipa::path(delete, path = "/v1.0/services/{service_id}/assets", operation_id = "purgeService", tag = "services",
    params(("service_id" = String, Path, description = "The service id (a UUID)"), crate::openapi::schema::PurgeParams),
    responses(
        (status = 202, description = "Purge queued", headers(("Location" = String, description = "URL of the service"))),
        (status = 400, description = "Invalid query, or the service is not deployed", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such service in this project", body = crate::openapi::schema::ErrorBody),
        (status = 409, description = "A concurrent write won", body = crate::openapi::schema::ErrorBody),
    ))]
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

/// The request's `X-Auth-Token`, which a flow may need to act for the
/// tenant (the log-delivery container); never logged.
fn auth_token(headers: &axum::http::HeaderMap) -> Option<AuthToken> {
    headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .and_then(AuthToken::new)
}
