//! The OpenAPI 3.1 document of the API, generated from the handlers'
//! `#[utoipa::path]` annotations and the response views' `ToSchema`
//! derives, served at `GET /v1.0/openapi.json`.
//!
//! Request bodies reach the handlers as raw JSON (the core validates them
//! and reports every field error at once), so their shapes are described by
//! the documentation-only types of [`schema`], written after the reference's
//! field tables. What every operation shares (the `X-Project-ID` header, the
//! error answers the middleware can give) is added to each operation in one
//! place, [`common`], rather than repeated in each annotation.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use crate::routes::{admin, endpoints, flavors, health, home, services};

/// Operations that need no `X-Project-ID`.
const WITHOUT_PROJECT: &[&str] = &["/v1.0/ping", "/v1.0/openapi.json", "/metrics"];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Poppy",
        description = "CDN-as-a-Service control plane: one API, many CDN providers. \
            Writes are asynchronous: `202 Accepted` and a `Location` to poll until the \
            service is `deployed` or `failed`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        home::home,
        home::ping,
        health::health,
        health::dns,
        health::storage,
        health::provider,
        health::distributed_task,
        services::list,
        services::create,
        services::get,
        services::patch,
        services::delete,
        services::purge,
        flavors::list,
        flavors::get,
        flavors::create,
        flavors::delete,
        admin::services_by_status,
        admin::service_action,
        admin::set_service_status,
        admin::service_by_domain,
        admin::domains_by_provider_url,
        admin::get_limit,
        admin::set_limit,
        crate::routes::certificates::create,
        crate::routes::certificates::get,
        crate::routes::certificates::delete,
        crate::routes::analytics::get,
        crate::routes::admin_ops::patch_provider_details,
        crate::routes::admin_ops::certificates_by_status,
        crate::routes::admin_ops::patch_certificate_status,
        crate::routes::admin_ops::migrate_domain,
        crate::routes::admin_ops::background_job,
        crate::routes::admin_ops::get_san_mapping,
        crate::routes::admin_ops::put_san_mapping,
        crate::routes::admin_ops::get_retry_list,
        crate::routes::admin_ops::put_retry_list,
        crate::routes::admin_ops::rerun_retry_list,
        crate::routes::admin_ops::get_san_config,
        crate::routes::admin_ops::post_san_config,
        crate::routes::admin_ops::get_sni_config,
        crate::routes::admin_ops::post_sni_config,
        openapi_json,
        crate::routes::metrics,
    ),
    components(schemas(schema::ErrorBody, schema::FieldError)),
    tags(
        (name = "home", description = "Home document, ping and the API description"),
        (name = "health", description = "Health of storage, job board, DNS and providers"),
        (name = "services", description = "CDN services of the project"),
        (name = "flavors", description = "Flavors: which providers a service deploys to"),
        (name = "ssl_certificates", description = "SSL certificates of the project's https domains"),
        (name = "admin", description = "Operator endpoints"),
        (name = "metrics", description = "Prometheus metrics"),
    )
)]
struct ApiDoc;

/// The OpenAPI document of every route the router serves.
pub fn openapi() -> Value {
    let mut doc = match serde_json::to_value(ApiDoc::openapi()) {
        Ok(doc) => doc,
        // The document is made of strings, maps and numbers only.
        Err(error) => {
            tracing::error!(%error, "the OpenAPI document cannot be serialised");
            return json!({"openapi": "3.1.0", "info": {"title": "Poppy", "version": ""}});
        }
    };
    common(&mut doc);
    doc
}

/// Cached text of [`openapi`].
fn document_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| openapi().to_string())
}

/// The API description (this document).
#[utoipa::path(
    get,
    path = "/v1.0/openapi.json",
    operation_id = "openapi",
    tag = "home",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
pub(crate) async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document_text(),
    )
        .into_response()
}

/// Adds what every operation shares: the `X-Project-ID` header (400 when
/// missing), and the answers the middleware stack may give to any request
/// (413 and 415 for bodies, 500 on a panic or internal error, 503 when a
/// backend is down, 504 on timeout). Annotations that describe one of these
/// statuses themselves keep their own description.
fn common(doc: &mut Value) {
    let error = json!({"$ref": "#/components/schemas/ErrorBody"});
    let error_response = |description: &str| {
        json!({"description": description,
               "content": {"application/json": {"schema": error.clone()}}})
    };
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        let needs_project = !WITHOUT_PROJECT.contains(&path.as_str());
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            let has_body = operation.contains_key("requestBody");
            if needs_project {
                let parameters = operation
                    .entry("parameters")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Some(parameters) = parameters.as_array_mut() {
                    parameters.insert(
                        0,
                        json!({"name": "X-Project-ID", "in": "header", "required": true,
                               "description": "The tenant (project) the request acts for.",
                               "schema": {"type": "string"}}),
                    );
                }
            }
            let responses = operation
                .entry("responses")
                .or_insert_with(|| Value::Object(Map::new()));
            let Some(responses) = responses.as_object_mut() else {
                continue;
            };
            let mut add = |status: &str, description: &str| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error_response(description));
            };
            if needs_project {
                add(
                    "400",
                    "`X-Project-ID` is missing, or the request is invalid",
                );
            }
            if has_body {
                add("413", "The request body is larger than the limit");
                add("415", "The request body is not JSON");
            }
            add("500", "Internal error (details are logged, not returned)");
            add("503", "A backend (storage, job board…) is unavailable");
            add("504", "The request took longer than the request timeout");
        }
    }
}

/// `(method, path)` of every documented operation, methods upper-case.
pub fn documented_operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                for method in item.keys() {
                    if matches!(
                        method.as_str(),
                        "get" | "put" | "post" | "delete" | "patch" | "head" | "options" | "trace"
                    ) {
                        out.push((method.to_ascii_uppercase(), path.clone()));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// `(method, path)` of every route the router serves (the table it is built
/// from), sorted.
pub fn served_operations() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = endpoints()
        .iter()
        .map(|e| (e.verb.as_str().to_owned(), e.path.to_owned()))
        .collect();
    out.sort();
    out
}

/// Documentation-only types: the request bodies, query strings and enums
/// of the API, as the reference describes them. Never constructed.
#[allow(dead_code)]
pub(crate) mod schema {
    use utoipa::{IntoParams, ToSchema};

    /// `GET /services`: `{"links": [next?], "services": [...]}`.
    // Written by `RenderedServices::list_json` from cached service bodies.
    #[derive(ToSchema)]
    pub(crate) struct ServiceListView {
        links: Vec<crate::render::Link>,
        services: Vec<crate::render::ServiceView<'static>>,
    }

    /// Every error answer.
    #[derive(ToSchema)]
    pub(crate) struct ErrorBody {
        /// What went wrong, for people.
        pub message: String,
        /// Every field error of a validation failure.
        pub errors: Option<Vec<FieldError>>,
    }

    /// One problem with one field of a request body.
    #[derive(ToSchema)]
    pub(crate) struct FieldError {
        /// JSON pointer of the offending value (`/domains/0/domain`); empty
        /// for the document itself.
        pub path: String,
        pub message: String,
    }

    /// Status of a service as shown (`disabled` when the operator disabled it).
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub(crate) enum ServiceStatus {
        CreateInProgress,
        Deployed,
        UpdateInProgress,
        DeleteInProgress,
        Failed,
        Disabled,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub(crate) enum Protocol {
        Http,
        Https,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub(crate) enum CertificateType {
        Shared,
        San,
        Sni,
        Custom,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub(crate) enum CertificateStatus {
        CreateInProgress,
        Deployed,
        Failed,
        Cancelled,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub(crate) enum HostHeaderType {
        Domain,
        Origin,
        Custom,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub(crate) enum Access {
        Whitelist,
        Blacklist,
    }

    /// `rel` of a link.
    #[derive(ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub(crate) enum LinkRel {
        #[schema(rename = "self")]
        SelfLink,
        Flavor,
        AccessUrl,
        LogDelivery,
        Next,
        ProviderUrl,
    }

    /// The original's string booleans.
    #[derive(ToSchema)]
    pub(crate) enum Online {
        #[schema(rename = "true")]
        True,
        #[schema(rename = "false")]
        False,
    }

    /// The JSON-Home document of the original.
    #[derive(ToSchema)]
    pub(crate) struct HomeDocument {
        #[schema(value_type = Object)]
        pub resources: serde_json::Value,
    }

    /// A path rule.
    #[derive(ToSchema)]
    pub(crate) struct RuleRequest {
        #[schema(min_length = 1, max_length = 256)]
        pub name: Option<String>,
        #[schema(min_length = 1, max_length = 1024)]
        pub request_url: Option<String>,
        /// Restriction rules: a referrer domain.
        pub referrer: Option<String>,
        /// Restriction rules: a country or region name.
        pub geography: Option<String>,
        /// Restriction rules: an IPv4/IPv6 address with optional CIDR.
        pub client_ip: Option<String>,
    }

    #[derive(ToSchema)]
    pub(crate) struct DomainRequest {
        /// A domain name; for `certificate: shared` a single label.
        #[schema(min_length = 3, max_length = 253)]
        pub domain: String,
        /// Default `http`.
        pub protocol: Option<Protocol>,
        /// Required for https, absent or null for http.
        pub certificate: Option<CertificateType>,
    }

    #[derive(ToSchema)]
    pub(crate) struct OriginRequest {
        /// A domain name or dotted IPv4 address, without scheme or path.
        #[schema(min_length = 3, max_length = 253)]
        pub origin: String,
        /// 80 (default) or 443.
        pub port: Option<u16>,
        pub ssl: Option<bool>,
        /// Required (at least one) on every origin but the first.
        pub rules: Option<Vec<RuleRequest>>,
        pub hostheadertype: Option<HostHeaderType>,
        /// Required when `hostheadertype` is `custom`.
        pub hostheadervalue: Option<String>,
    }

    #[derive(ToSchema)]
    pub(crate) struct CachingRequest {
        #[schema(min_length = 1, max_length = 256)]
        pub name: String,
        #[schema(minimum = 0, maximum = 31536000)]
        pub ttl: u32,
        pub rules: Option<Vec<RuleRequest>>,
    }

    #[derive(ToSchema)]
    pub(crate) struct RestrictionRequest {
        #[schema(min_length = 1, max_length = 256)]
        pub name: String,
        pub access: Option<Access>,
        pub rules: Vec<RuleRequest>,
    }

    #[derive(ToSchema)]
    pub(crate) struct LogDelivery {
        pub enabled: bool,
    }

    /// The body of `POST /v1.0/services` (reference §2.6.1).
    #[derive(ToSchema)]
    pub(crate) struct ServiceRequest {
        #[schema(min_length = 3, max_length = 256)]
        pub name: String,
        #[schema(min_items = 1, max_items = 10)]
        pub domains: Vec<DomainRequest>,
        #[schema(min_items = 1, max_items = 10)]
        pub origins: Vec<OriginRequest>,
        pub caching: Option<Vec<CachingRequest>>,
        pub restrictions: Option<Vec<RestrictionRequest>>,
        #[schema(min_length = 1, max_length = 256)]
        pub flavor_id: String,
        pub log_delivery: Option<LogDelivery>,
    }

    /// One RFC 6902 operation, applied to the service's request view
    /// (`/name`, `/domains/0`, `/origins/-`, `/caching`, `/flavor_id`…).
    #[derive(ToSchema)]
    pub(crate) struct PatchOperation {
        pub op: PatchOp,
        pub path: String,
        /// For `add`, `replace` and `test`.
        pub value: Option<serde_json::Value>,
        /// For `move` and `copy`.
        pub from: Option<String>,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub(crate) enum PatchOp {
        Add,
        Remove,
        Replace,
        Move,
        Copy,
        Test,
    }

    #[derive(ToSchema)]
    pub(crate) struct ProviderLinkRequest {
        #[schema(min_length = 2)]
        pub href: String,
        /// `provider_url`.
        pub rel: String,
    }

    #[derive(ToSchema)]
    pub(crate) struct FlavorProviderRequest {
        /// A configured provider's name.
        pub provider: String,
        #[schema(min_items = 1)]
        pub links: Vec<ProviderLinkRequest>,
    }

    /// The body of `POST /v1.0/flavors`.
    #[derive(ToSchema)]
    pub(crate) struct FlavorRequest {
        #[schema(min_length = 3, max_length = 64)]
        pub id: String,
        #[schema(min_items = 1)]
        pub providers: Vec<FlavorProviderRequest>,
        /// Kept and shown, otherwise ignored.
        pub limits: Option<serde_json::Value>,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub(crate) enum ServiceActionName {
        Delete,
        Enable,
        Disable,
    }

    /// `{"project_id" | "domain", "action"}`: exactly one of the two targets.
    #[derive(ToSchema)]
    pub(crate) struct ServiceActionRequest {
        pub project_id: Option<String>,
        pub domain: Option<String>,
        pub action: ServiceActionName,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub(crate) enum ForcedStatus {
        Deployed,
        Failed,
    }

    #[derive(ToSchema)]
    pub(crate) struct ServiceStatusRequest {
        #[schema(pattern = r"^([a-zA-Z0-9_\-\.]{1,256})$")]
        pub project_id: String,
        /// A UUID.
        pub service_id: String,
        pub status: ForcedStatus,
    }

    #[derive(ToSchema)]
    pub(crate) struct LimitRequest {
        #[schema(minimum = 0)]
        pub limit: u32,
    }

    /// A service named by project and id.
    #[derive(ToSchema)]
    pub(crate) struct ServiceRef {
        pub project_id: String,
        /// A UUID.
        pub service_id: String,
    }

    /// `GET /v1.0/services`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct ListParams {
        /// Start after this service id.
        /// A UUID.
        pub marker: Option<String>,
        /// Page size, 1 to the configured maximum (default 10).
        pub limit: Option<u32>,
    }

    /// `DELETE /v1.0/services/{service_id}/assets`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct PurgeParams {
        /// The URL path to purge (default `/*`).
        pub url: Option<String>,
        /// `true` purges everything.
        pub all: Option<bool>,
        /// `false` for a soft purge (mark stale); default `true`.
        pub hard: Option<bool>,
    }

    /// `GET /v1.0/admin/services`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct StatusParams {
        /// One of the service statuses.
        pub status: String,
    }

    /// `GET /v1.0/admin/domains`.
    #[derive(IntoParams)]
    #[into_params(parameter_in = Query)]
    pub(crate) struct ProviderUrlParams {
        /// A provider access URL.
        pub provider_url: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_but_three_needs_the_project_header() {
        let doc = openapi();
        let ping = &doc["paths"]["/v1.0/ping"]["get"];
        assert!(ping.get("parameters").is_none_or(|p| p
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["name"] != "X-Project-ID"))));
        let get = &doc["paths"]["/v1.0/services/{service_id}"]["get"];
        assert_eq!(get["parameters"][0]["name"], "X-Project-ID");
        assert!(get["responses"]["404"].is_object());
        assert!(get["responses"]["504"].is_object());
    }
}
