//! `GET /v1.0/health` and `GET /v1.0/health/{kind}/{name}` (§2.5).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use poppy_core::ports::{ComponentHealth, HealthReport};

use crate::error::json_response;
use crate::extract::{Links, PathParam, Project};
use crate::render::{ComponentView, HealthView};
use crate::AppState;

/// 200 when every component is online, else 503, with the same body.
#[utoipa::path(get, path = "/v1.0/health", operation_id = "health", tag = "health",
    responses(
        (status = 200, description = "Every component is online", body = HealthView),
        (status = 503, description = "A component is offline", body = HealthView),
    ))]
pub(crate) async fn health(
    State(state): State<AppState>,
    _project: Project,
    links: Links,
) -> Response {
    let report = state.api.services.health().await;
    let status = if report.all_online() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &HealthView::new(&report, &links))
}

/// Always 200 for a known component (online or not); a name that is not the
/// configured one (compared case-insensitively) → 404 with an empty body.
async fn component(
    state: &AppState,
    name: &str,
    pick: impl FnOnce(&HealthReport) -> Vec<&ComponentHealth>,
) -> Response {
    let report = state.api.services.health().await;
    match pick(&report)
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
    {
        Some(found) => json_response(StatusCode::OK, &ComponentView::new(found)),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[utoipa::path(get, path = "/v1.0/health/dns/{name}", operation_id = "dnsHealth", tag = "health",
    params(("name" = String, Path, description = "The configured component's name")),
    responses(
        (status = 200, description = "The component, online or not", body = ComponentView),
        (status = 404, description = "No such component (empty body)"),
    ))]
pub(crate) async fn dns(
    State(state): State<AppState>,
    _project: Project,
    PathParam(name): PathParam,
) -> Response {
    component(&state, &name, |r| vec![&r.dns]).await
}

#[utoipa::path(get, path = "/v1.0/health/storage/{name}", operation_id = "storageHealth", tag = "health",
    params(("name" = String, Path, description = "The configured component's name")),
    responses(
        (status = 200, description = "The component, online or not", body = ComponentView),
        (status = 404, description = "No such component (empty body)"),
    ))]
pub(crate) async fn storage(
    State(state): State<AppState>,
    _project: Project,
    PathParam(name): PathParam,
) -> Response {
    component(&state, &name, |r| vec![&r.storage]).await
}

#[utoipa::path(get, path = "/v1.0/health/distributed_task/{name}", operation_id = "distributedTaskHealth", tag = "health",
    params(("name" = String, Path, description = "The configured component's name")),
    responses(
        (status = 200, description = "The component, online or not", body = ComponentView),
        (status = 404, description = "No such component (empty body)"),
    ))]
pub(crate) async fn distributed_task(
    State(state): State<AppState>,
    _project: Project,
    PathParam(name): PathParam,
) -> Response {
    component(&state, &name, |r| vec![&r.distributed_task]).await
}

#[utoipa::path(get, path = "/v1.0/health/provider/{name}", operation_id = "providerHealth", tag = "health",
    params(("name" = String, Path, description = "The configured component's name")),
    responses(
        (status = 200, description = "The component, online or not", body = ComponentView),
        (status = 404, description = "No such component (empty body)"),
    ))]
pub(crate) async fn provider(
    State(state): State<AppState>,
    _project: Project,
    PathParam(name): PathParam,
) -> Response {
    component(&state, &name, |r| r.providers.iter().collect()).await
}
