//! Handlers, one module per resource, and the route table.

pub(crate) mod admin;
pub(crate) mod admin_ops;
pub(crate) mod analytics;
pub(crate) mod certificates;
pub(crate) mod flavors;
pub(crate) mod health;
pub(crate) mod home;
pub(crate) mod services;

use axum::extract::State;
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use std::sync::Arc;

use crate::error::ApiError;
use crate::operator::RouteGuard;
use crate::AppState;

/// The HTTP methods routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    /// The method's name, upper-case.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
            Verb::Patch => MethodFilter::PATCH,
            Verb::Delete => MethodFilter::DELETE,
        }
    }
}

/// One route: method, path template and handler.
pub(crate) struct Endpoint {
    pub(crate) verb: Verb,
    pub(crate) path: &'static str,
    handler: MethodRouter<AppState>,
}

fn endpoint<H, T>(verb: Verb, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    Endpoint {
        verb,
        path,
        handler: on(verb.filter(), handler),
    }
}

/// Every route the router serves. The router is built from this table only,
/// so the OpenAPI coverage test, which compares the table with the document,
/// sees exactly what is served.
pub(crate) fn endpoints() -> Vec<Endpoint> {
    use Verb::{Delete, Get, Patch, Post, Put};
    vec![
        endpoint(Get, "/v1.0", home::home),
        endpoint(Get, "/v1.0/ping", home::ping),
        endpoint(Get, "/v1.0/openapi.json", crate::openapi::openapi_json),
        endpoint(Get, "/metrics", metrics),
        endpoint(Get, "/v1.0/health", health::health),
        endpoint(Get, "/v1.0/health/dns/{name}", health::dns),
        endpoint(Get, "/v1.0/health/storage/{name}", health::storage),
        endpoint(Get, "/v1.0/health/provider/{name}", health::provider),
        endpoint(
            Get,
            "/v1.0/health/distributed_task/{name}",
            health::distributed_task,
        ),
        endpoint(Get, "/v1.0/services", services::list),
        endpoint(Post, "/v1.0/services", services::create),
        endpoint(Get, "/v1.0/services/{service_id}", services::get),
        endpoint(Patch, "/v1.0/services/{service_id}", services::patch),
        endpoint(Delete, "/v1.0/services/{service_id}", services::delete),
        endpoint(
            Delete,
            "/v1.0/services/{service_id}/assets",
            services::purge,
        ),
        endpoint(Get, "/v1.0/flavors", flavors::list),
        endpoint(Post, "/v1.0/flavors", flavors::create),
        endpoint(Get, "/v1.0/flavors/{flavor_id}", flavors::get),
        endpoint(Delete, "/v1.0/flavors/{flavor_id}", flavors::delete),
        endpoint(Get, "/v1.0/admin/services", admin::services_by_status),
        endpoint(Post, "/v1.0/admin/services/action", admin::service_action),
        endpoint(
            Post,
            "/v1.0/admin/services/status",
            admin::set_service_status,
        ),
        endpoint(Get, "/v1.0/admin/domains", admin::domains_by_provider_url),
        endpoint(
            Get,
            "/v1.0/admin/domains/{domain_name}",
            admin::service_by_domain,
        ),
        endpoint(Get, "/v1.0/admin/limits/{project_id}", admin::get_limit),
        endpoint(Put, "/v1.0/admin/limits/{project_id}", admin::set_limit),
        // SSL certificates, analytics and the rest of the operator API.
        endpoint(Post, "/v1.0/ssl_certificate", certificates::create),
        endpoint(
            Get,
            "/v1.0/ssl_certificate/{domain_name}",
            certificates::get,
        ),
        endpoint(
            Delete,
            "/v1.0/ssl_certificate/{domain_name}",
            certificates::delete,
        ),
        endpoint(Get, "/v1.0/services/{service_id}/analytics", analytics::get),
        endpoint(
            Patch,
            "/v1.0/admin/services/{service_id}/provider_details",
            admin_ops::patch_provider_details,
        ),
        endpoint(
            Get,
            "/v1.0/admin/certificates",
            admin_ops::certificates_by_status,
        ),
        endpoint(
            Patch,
            "/v1.0/admin/certificates/{domain_name}",
            admin_ops::patch_certificate_status,
        ),
        endpoint(
            Post,
            "/v1.0/admin/provider/{provider}/service",
            admin_ops::migrate_domain,
        ),
        endpoint(
            Post,
            "/v1.0/admin/provider/{provider}/background_job",
            admin_ops::background_job,
        ),
        endpoint(
            Get,
            "/v1.0/admin/provider/{provider}/background_job/san_mapping",
            admin_ops::get_san_mapping,
        ),
        endpoint(
            Put,
            "/v1.0/admin/provider/{provider}/background_job/san_mapping",
            admin_ops::put_san_mapping,
        ),
        endpoint(
            Get,
            "/v1.0/admin/provider/{provider}/ssl_certificate/retry_list",
            admin_ops::get_retry_list,
        ),
        endpoint(
            Put,
            "/v1.0/admin/provider/{provider}/ssl_certificate/retry_list",
            admin_ops::put_retry_list,
        ),
        endpoint(
            Post,
            "/v1.0/admin/provider/{provider}/ssl_certificate/retry_list",
            admin_ops::rerun_retry_list,
        ),
        endpoint(
            Get,
            "/v1.0/admin/provider/{provider}/ssl_certificate/config/{name}",
            admin_ops::get_san_config,
        ),
        endpoint(
            Post,
            "/v1.0/admin/provider/{provider}/ssl_certificate/config/{name}",
            admin_ops::post_san_config,
        ),
        endpoint(
            Get,
            "/v1.0/admin/provider/{provider}/ssl_certificate/sni_config/{name}",
            admin_ops::get_sni_config,
        ),
        endpoint(
            Post,
            "/v1.0/admin/provider/{provider}/ssl_certificate/sni_config/{name}",
            admin_ops::post_sni_config,
        ),
    ]
}

/// Every endpoint of the reference that the driving ports serve, plus the
/// API description and the metrics.
pub(crate) fn routes(state: AppState) -> Router {
    let mut router = Router::new();
    let operator = Arc::new(state.config.operator.clone());
    // Routes of one path with several methods merge into one method router.
    // Each gets its guard (route label for the metrics; operators only on
    // /v1.0/admin, refusals counted under their route).
    for endpoint in endpoints() {
        let guard = RouteGuard::new(endpoint.path, &operator);
        router = router.route(endpoint.path, endpoint.handler.route_layer(guard));
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "metrics",
    responses((status = 200, description = "Prometheus text exposition (version 0.0.4)",
               content_type = "text/plain", body = String)),
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    crate::metrics::exposition(state.metrics.clone()).await
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
