//! `/v1.0/flavors` (§2.7).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use crate::error::{json_response, ApiError};
use crate::extract::{JsonBody, Links, PathParam, Project};
use crate::render::{FlavorListView, FlavorView};
use crate::AppState;

/// `GET /flavors` → 200 `{"flavors": [...]}`.
pub(crate) async fn list(
    State(state): State<AppState>,
    _project: Project,
    links: Links,
) -> Result<Response, ApiError> {
    let flavors = state.api.flavors.list_flavors().await?;
    Ok(json_response(
        StatusCode::OK,
        &FlavorListView::new(&flavors, &links),
    ))
}

/// `GET /flavors/{id}` → 200 flavor.
pub(crate) async fn get(
    State(state): State<AppState>,
    _project: Project,
    links: Links,
    PathParam(id): PathParam,
) -> Result<Response, ApiError> {
    let flavor = state.api.flavors.get_flavor(&id).await?;
    Ok(json_response(
        StatusCode::OK,
        &FlavorView::new(&flavor, &links),
    ))
}

/// `POST /flavors` → 201, `Location: {base_url}/flavors/{id}`, body the flavor.
pub(crate) async fn create(
    State(state): State<AppState>,
    _project: Project,
    links: Links,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let flavor = state.api.flavors.create_flavor(body).await?;
    let mut response = json_response(StatusCode::CREATED, &FlavorView::new(&flavor, &links));
    let location = links.link(&format!("/flavors/{}", flavor.id));
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Err(_) => tracing::warn!(location, "Location is not a valid header value"),
    }
    Ok(response)
}

/// `DELETE /flavors/{id}` → 204.
pub(crate) async fn delete(
    State(state): State<AppState>,
    _project: Project,
    PathParam(id): PathParam,
) -> Result<StatusCode, ApiError> {
    state.api.flavors.delete_flavor(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
