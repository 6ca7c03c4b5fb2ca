//! `/v1.0/flavors` (§2.7).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use crate::error::{json_response, ApiError};
use crate::extract::{JsonBody, Links, PathParam, Project};
use crate::render::{FlavorListView, FlavorView};
use crate::AppState;

/// `GET /flavors` → 200 `{"flavors": [...]}`.
#[utoipa::path(get, path = "/v1.0/flavors", operation_id = "listFlavors", tag = "flavors",
    responses((status = 200, description = "Every flavor", body = FlavorListView)))]
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
#[utoipa::path(get, path = "/v1.0/flavors/{flavor_id}", operation_id = "getFlavor", tag = "flavors",
    params(("flavor_id" = String, Path, description = "The flavor id")),
    responses(
        (status = 200, description = "The flavor", body = FlavorView),
        (status = 404, description = "No such flavor", body = crate::openapi::schema::ErrorBody),
    ))]
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
#[utoipa::path(post, path = "/v1.0/flavors", operation_id = "createFlavor", tag = "flavors",
    request_body(content = crate::openapi::schema::FlavorRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = FlavorView,
         headers(("Location" = String, description = "URL of the flavor"))),
        (status = 400, description = "Invalid body, unknown provider or duplicate id", body = crate::openapi::schema::ErrorBody),
    ))]
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
#[utoipa::path(delete, path = "/v1.0/flavors/{flavor_id}", operation_id = "deleteFlavor", tag = "flavors",
    params(("flavor_id" = String, Path, description = "The flavor id")),
    responses((status = 204, description = "Gone (also when it never existed)")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    _project: Project,
    PathParam(id): PathParam,
) -> Result<StatusCode, ApiError> {
    state.api.flavors.delete_flavor(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
