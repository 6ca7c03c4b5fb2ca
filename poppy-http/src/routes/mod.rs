//! Handlers, one module per resource, and the route table.

mod admin;
mod flavors;
mod health;
mod home;
mod services;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;

use crate::error::ApiError;
use crate::AppState;

/// Every endpoint of the reference that the driving ports serve.
pub(crate) fn routes(state: AppState) -> Router {
    Router::new()
        .route("/v1.0", get(home::home))
        .route("/v1.0/ping", get(home::ping))
        .route("/v1.0/health", get(health::health))
        .route("/v1.0/health/dns/{name}", get(health::dns))
        .route("/v1.0/health/storage/{name}", get(health::storage))
        .route("/v1.0/health/provider/{name}", get(health::provider))
        .route(
            "/v1.0/health/distributed_task/{name}",
            get(health::distributed_task),
        )
        .route("/v1.0/services", get(services::list).post(services::create))
        .route(
            "/v1.0/services/{service_id}",
            get(services::get)
                .patch(services::patch)
                .delete(services::delete),
        )
        .route(
            "/v1.0/services/{service_id}/assets",
            delete(services::purge),
        )
        .route("/v1.0/flavors", get(flavors::list).post(flavors::create))
        .route(
            "/v1.0/flavors/{flavor_id}",
            get(flavors::get).delete(flavors::delete),
        )
        .route("/v1.0/admin/services", get(admin::services_by_status))
        .route("/v1.0/admin/services/action", post(admin::service_action))
        .route(
            "/v1.0/admin/services/status",
            post(admin::set_service_status),
        )
        .route("/v1.0/admin/domains", get(admin::domains_by_provider_url))
        .route(
            "/v1.0/admin/domains/{domain_name}",
            get(admin::service_by_domain),
        )
        .route(
            "/v1.0/admin/limits/{project_id}",
            get(admin::get_limit).put(admin::set_limit),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::route_not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// 202 with an empty body and, when given, a `Location`.
fn accepted(location: Option<&str>) -> Response {
    with_location(StatusCode::ACCEPTED, location)
}

fn with_location(status: StatusCode, location: Option<&str>) -> Response {
    let mut response = status.into_response();
    if let Some(location) = location {
        // Locations are URI-encoded to ASCII graphic characters, which are
        // always a valid header value; should one not be, leave it out
        // rather than fail the write that already happened.
        match HeaderValue::from_str(location) {
            Ok(value) => {
                response
                    .headers_mut()
                    .insert(axum::http::header::LOCATION, value);
            }
            Err(_) => tracing::warn!(location, "Location is not a valid header value"),
        }
    }
    response
}
