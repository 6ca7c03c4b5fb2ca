//! Operator endpoints beyond `admin.rs` (§2.9.4, §2.9.8, §2.9.9): access
//! URLs, certificate statuses, and the certificate queues and settings of
//! a provider under `/v1.0/admin/provider/{provider}/…` (the original's
//! paths with `akamai` for `{provider}`; any configured provider whose
//! driver provisions certificates works).
//!
//! Like every `/v1.0/admin` route they are refused (403) to callers that
//! are not operators (see [`crate::OperatorAuth`]).

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use poppy_core::model::CertConfigKind;
use poppy_core::ports::{AccessUrlChange, ConfigUpdate};

use crate::error::{json_response, ApiError};
use crate::extract::{JsonBody, PathParam, Project, QueryParams};
use crate::render::DomainNameView;
use crate::AppState;

/// The named parameters of a route, percent-decoded.
pub(crate) struct PathParams(Vec<(String, String)>);

impl PathParams {
    fn get(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(pairs) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("The URL path is not valid UTF-8."))?;
        Ok(PathParams(pairs))
    }
}

/// `PATCH /admin/services/{id}/provider_details` → 201 (moved) or 202
/// (already so), empty.
#[utoipa::path(patch, path = "/v1.0/admin/services/{service_id}/provider_details", operation_id = "adminPatchProviderDetails", tag = "admin",
    params(("service_id" = String, Path, description = "The service id (a UUID)")),
    request_body(content = doc::AccessUrlRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The operator CNAME was moved and stored"),
        (status = 202, description = "The access URL already was that"),
        (status = 400, description = "Invalid body, shared-SSL domain, or a different provider URL", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such service, or the domain is not on it", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn patch_provider_details(
    State(state): State<AppState>,
    _project: Project,
    PathParam(service_id): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let status = match state
        .api
        .operator
        .patch_provider_details(&service_id, body)
        .await?
    {
        AccessUrlChange::Changed => StatusCode::CREATED,
        AccessUrlChange::Unchanged => StatusCode::ACCEPTED,
    };
    Ok(status.into_response())
}

/// `GET /admin/certificates?status=` → 200 `[{"domain_name"}]`.
#[utoipa::path(get, path = "/v1.0/admin/certificates", operation_id = "adminCertificatesByStatus", tag = "admin",
    params(("status" = String, Query, description = "create_in_progress, deployed, failed or cancelled")),
    responses(
        (status = 200, description = "Domains whose certificate has that status", body = Vec<DomainNameView>),
        (status = 400, description = "Unknown status", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn certificates_by_status(
    State(state): State<AppState>,
    _project: Project,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let status = query.get("status");
    let domains = state
        .api
        .operator
        .certificates_by_status(status.as_deref())
        .await?;
    let views: Vec<DomainNameView> = domains.into_iter().map(DomainNameView::new).collect();
    Ok(json_response(StatusCode::OK, &views))
}

/// `PATCH /admin/certificates/{domain}` → 204.
#[utoipa::path(patch, path = "/v1.0/admin/certificates/{domain_name}", operation_id = "adminPatchCertificateStatus", tag = "admin",
    params(("domain_name" = String, Path, description = "The certificate's domain")),
    request_body(content = Vec<doc::StatusPatchOperation>, content_type = "application/json"),
    responses(
        (status = 204, description = "Status set"),
        (status = 400, description = "Invalid patch or domain", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No certificate for the domain", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn patch_certificate_status(
    State(state): State<AppState>,
    _project: Project,
    PathParam(domain): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    state
        .api
        .operator
        .patch_certificate_status(&domain, body)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /admin/provider/{p}/service` (domain migration) → 202, empty.
#[utoipa::path(post, path = "/v1.0/admin/provider/{provider}/service", operation_id = "adminMigrateDomain", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)")),
    request_body(content = doc::MigrationRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "The domain now points at the new certificate"),
        (status = 400, description = "Invalid body or domain", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider, service or domain", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn migrate_domain(
    State(state): State<AppState>,
    _project: Project,
    PathParam(provider): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    state.api.operator.migrate_domain(&provider, body).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /admin/provider/{p}/background_job` → 202 `{"sent", "ignored"}`.
#[utoipa::path(post, path = "/v1.0/admin/provider/{provider}/background_job", operation_id = "adminBackgroundJob", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)")),
    request_body(content = doc::BackgroundJobRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Jobs posted for the `sent` queue items", body = doc::BackgroundJobAnswer),
        (status = 400, description = "Unknown job type or invalid body", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn background_job(
    State(state): State<AppState>,
    _project: Project,
    PathParam(provider): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let report = state.api.operator.background_job(&provider, body).await?;
    Ok(json_response(StatusCode::ACCEPTED, &report))
}

/// `GET /admin/provider/{p}/background_job/san_mapping` → 200 the queue.
#[utoipa::path(get, path = "/v1.0/admin/provider/{provider}/background_job/san_mapping", operation_id = "adminGetSanMapping", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)")),
    responses(
        (status = 200, description = "The SAN-mapping queue, oldest first", body = Vec<Object>),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn get_san_mapping(
    State(state): State<AppState>,
    _project: Project,
    PathParam(provider): PathParam,
) -> Result<Response, ApiError> {
    let queue = state.api.operator.san_mapping(&provider).await?;
    Ok(json_response(StatusCode::OK, &queue))
}

/// `PUT /admin/provider/{p}/background_job/san_mapping` → 200 `{"queue", "deleted"}`.
#[utoipa::path(put, path = "/v1.0/admin/provider/{provider}/background_job/san_mapping", operation_id = "adminPutSanMapping", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)")),
    request_body(content = Vec<doc::SanMappingItem>, content_type = "application/json"),
    responses(
        (status = 200, description = "The new queue and the items it dropped", body = doc::QueueAnswer),
        (status = 400, description = "Invalid items", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn put_san_mapping(
    State(state): State<AppState>,
    _project: Project,
    PathParam(provider): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let update = state
        .api
        .operator
        .replace_san_mapping(&provider, body)
        .await?;
    Ok(json_response(StatusCode::OK, &update))
}

/// `GET /admin/provider/{p}/ssl_certificate/retry_list` → 200 the list.
#[utoipa::path(get, path = "/v1.0/admin/provider/{provider}/ssl_certificate/retry_list", operation_id = "adminGetRetryList", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)")),
    responses(
        (status = 200, description = "Requests waiting for a rerun, oldest first", body = Vec<doc::RetryItem>),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn get_retry_list(
    State(state): State<AppState>,
    _project: Project,
    PathParam(provider): PathParam,
) -> Result<Response, ApiError> {
    let list = state.api.operator.retry_list(&provider).await?;
    Ok(json_response(StatusCode::OK, &list))
}

/// `PUT /admin/provider/{p}/ssl_certificate/retry_list` → 200 `{"queue", "deleted"}`.
#[utoipa::path(put, path = "/v1.0/admin/provider/{provider}/ssl_certificate/retry_list", operation_id = "adminPutRetryList", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)")),
    request_body(content = Vec<doc::RetryItem>, content_type = "application/json"),
    responses(
        (status = 200, description = "The new list and the items it dropped", body = doc::QueueAnswer),
        (status = 400, description = "Invalid items, a domain on no service, or a certificate already deployed", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn put_retry_list(
    State(state): State<AppState>,
    _project: Project,
    PathParam(provider): PathParam,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let update = state
        .api
        .operator
        .replace_retry_list(&provider, body)
        .await?;
    Ok(json_response(StatusCode::OK, &update))
}

/// `POST /admin/provider/{p}/ssl_certificate/retry_list` (no body) → 202
/// `{"processing", "failed_validation"}`.
#[utoipa::path(post, path = "/v1.0/admin/provider/{provider}/ssl_certificate/retry_list", operation_id = "adminRerunRetryList", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)")),
    responses(
        (status = 202, description = "Reruns queued for `processing`", body = doc::RetryRunAnswer),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn rerun_retry_list(
    State(state): State<AppState>,
    _project: Project,
    PathParam(provider): PathParam,
) -> Result<Response, ApiError> {
    let run = state.api.operator.rerun_retry_list(&provider).await?;
    Ok(json_response(StatusCode::ACCEPTED, &run))
}

async fn get_config(
    state: &AppState,
    params: &PathParams,
    kind: CertConfigKind,
) -> Result<Response, ApiError> {
    let config = state
        .api
        .operator
        .certificate_config(&params.get("provider"), kind, &params.get("name"))
        .await?;
    Ok(json_response(StatusCode::OK, &config))
}

async fn post_config(
    state: &AppState,
    params: &PathParams,
    kind: CertConfigKind,
    body: serde_json::Value,
) -> Result<Response, ApiError> {
    let update = state
        .api
        .operator
        .update_certificate_config(&params.get("provider"), kind, &params.get("name"), body)
        .await?;
    Ok(match update {
        ConfigUpdate::Updated(config) => json_response(StatusCode::OK, &config),
        ConfigUpdate::Accepted => StatusCode::ACCEPTED.into_response(),
    })
}

/// `GET /admin/provider/{p}/ssl_certificate/config/{name}` → 200.
#[utoipa::path(get, path = "/v1.0/admin/provider/{provider}/ssl_certificate/config/{name}", operation_id = "adminGetSanCertConfig", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)"),
           ("name" = String, Path, description = "A SAN certificate of the provider, or `san_cert_hostname_limit`")),
    responses(
        (status = 200, description = "The certificate's settings (`{\"spsId\", \"jobId\", \"enabled\"…}`) or `{\"san_cert_hostname_limit\": n}`", body = Object),
        (status = 400, description = "Not a SAN certificate of the provider", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn get_san_config(
    State(state): State<AppState>,
    _project: Project,
    params: PathParams,
) -> Result<Response, ApiError> {
    get_config(&state, &params, CertConfigKind::San).await
}

/// `POST /admin/provider/{p}/ssl_certificate/config/{name}` → 200 the new
/// settings, or 202 for `san_cert_hostname_limit`.
#[utoipa::path(post, path = "/v1.0/admin/provider/{provider}/ssl_certificate/config/{name}", operation_id = "adminPostSanCertConfig", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)"),
           ("name" = String, Path, description = "A SAN certificate of the provider, or `san_cert_hostname_limit`")),
    request_body(content = doc::SanConfigRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The certificate's settings as stored", body = Object),
        (status = 202, description = "The host name limit was stored"),
        (status = 400, description = "Invalid body or certificate", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn post_san_config(
    State(state): State<AppState>,
    _project: Project,
    params: PathParams,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    post_config(&state, &params, CertConfigKind::San, body).await
}

/// `GET /admin/provider/{p}/ssl_certificate/sni_config/{name}` → 200.
#[utoipa::path(get, path = "/v1.0/admin/provider/{provider}/ssl_certificate/sni_config/{name}", operation_id = "adminGetSniCertConfig", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)"),
           ("name" = String, Path, description = "An SNI certificate of the provider")),
    responses(
        (status = 200, description = "The certificate's settings (`{\"enrollmentId\", \"enabled\"}`)", body = Object),
        (status = 400, description = "Not an SNI certificate of the provider", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn get_sni_config(
    State(state): State<AppState>,
    _project: Project,
    params: PathParams,
) -> Result<Response, ApiError> {
    get_config(&state, &params, CertConfigKind::Sni).await
}

/// `POST /admin/provider/{p}/ssl_certificate/sni_config/{name}` → 200.
#[utoipa::path(post, path = "/v1.0/admin/provider/{provider}/ssl_certificate/sni_config/{name}", operation_id = "adminPostSniCertConfig", tag = "admin",
    params(("provider" = String, Path, description = "A configured provider (`akamai`)"),
           ("name" = String, Path, description = "An SNI certificate of the provider")),
    request_body(content = doc::SniConfigRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The certificate's settings as stored", body = Object),
        (status = 400, description = "Invalid body or certificate", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The caller is not an operator", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "No such provider", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn post_sni_config(
    State(state): State<AppState>,
    _project: Project,
    params: PathParams,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    post_config(&state, &params, CertConfigKind::Sni, body).await
}

/// Documentation-only types of the operator endpoints.
#[allow(dead_code)]
pub(crate) mod doc {
    use utoipa::ToSchema;

    /// `PATCH /admin/services/{id}/provider_details`; every key required.
    #[derive(ToSchema)]
    pub(crate) struct AccessUrlRequest {
        pub project_id: String,
        #[schema(min_length = 3, max_length = 253)]
        pub domain_name: String,
        /// The new operator CNAME; must start with `domain_name`.
        #[schema(min_length = 3, max_length = 253)]
        pub operator_url: String,
        /// Must be the domain's current provider URL.
        #[schema(min_length = 3, max_length = 253)]
        pub provider_url: String,
    }

    /// The one operation of a certificate status patch.
    #[derive(ToSchema)]
    pub(crate) struct StatusPatchOperation {
        /// `replace`.
        pub op: String,
        /// `status`.
        pub path: String,
        pub value: crate::openapi::schema::CertificateStatus,
    }

    /// `POST /admin/provider/{p}/service`.
    #[derive(ToSchema)]
    pub(crate) struct MigrationRequest {
        pub project_id: String,
        pub service_id: String,
        #[schema(min_length = 3, max_length = 253)]
        pub domain_name: String,
        /// The shared certificate's edge host name (Akamai appends
        /// `.edgekey.net` when missing).
        pub new_cert: String,
        /// `create_in_progress` or `deployed` (default).
        pub cert_status: Option<String>,
    }

    /// `POST /admin/provider/{p}/background_job`.
    #[derive(ToSchema)]
    pub(crate) struct BackgroundJobRequest {
        /// `akamai_check_and_update_cert_status`,
        /// `akamai_update_papi_property_for_mod_san` or
        /// `akamai_update_papi_property_for_mod_sni`.
        pub job_type: String,
        /// Status checks only: only this project's items.
        pub project_id: Option<String>,
        /// Host name updates: `hostnames`.
        pub update_type: Option<String>,
        /// Host name updates: `add` (default) or `remove`.
        pub action: Option<String>,
        pub property_spec: Option<String>,
        pub san_cert_domain_suffix: Option<String>,
    }

    #[derive(ToSchema)]
    pub(crate) struct BackgroundJobAnswer {
        #[schema(value_type = Vec<Object>)]
        pub sent: Vec<serde_json::Value>,
        /// Each with `error_message` when there is a reason.
        #[schema(value_type = Vec<Object>)]
        pub ignored: Vec<serde_json::Value>,
    }

    /// A SAN-mapping queue item.
    #[derive(ToSchema)]
    pub(crate) struct SanMappingItem {
        pub domain_name: String,
        pub flavor_id: String,
        pub project_id: String,
        /// `san` or `sni`.
        pub cert_type: String,
        /// Provider name → `{"cert_domain"?, "extra_info": {"san cert"?,
        /// "sni_cert"?, "akamai_spsId"?, "change_url"?, "status"?}}`.
        #[schema(value_type = Object)]
        pub cert_details: serde_json::Value,
        pub property_activated: Option<bool>,
    }

    /// A retry-list item.
    #[derive(ToSchema)]
    pub(crate) struct RetryItem {
        pub flavor_id: String,
        pub domain_name: String,
        pub project_id: String,
        /// `san` (default) or `sni`.
        pub cert_type: Option<String>,
        /// Default true.
        pub validate_service: Option<bool>,
    }

    #[derive(ToSchema)]
    pub(crate) struct QueueAnswer {
        #[schema(value_type = Vec<Object>)]
        pub queue: Vec<serde_json::Value>,
        #[schema(value_type = Vec<Object>)]
        pub deleted: Vec<serde_json::Value>,
    }

    #[derive(ToSchema)]
    pub(crate) struct RetryRunAnswer {
        #[schema(value_type = Vec<Object>)]
        pub processing: Vec<serde_json::Value>,
        #[schema(value_type = Vec<Object>)]
        pub failed_validation: Vec<serde_json::Value>,
    }

    /// `POST …/ssl_certificate/config/{name}`; no other keys.
    #[allow(non_snake_case)]
    #[derive(ToSchema)]
    pub(crate) struct SanConfigRequest {
        #[schema(minimum = 1)]
        pub spsId: Option<i64>,
        pub enabled: Option<bool>,
        /// Only for `config/san_cert_hostname_limit`.
        #[schema(minimum = 1, maximum = 200)]
        pub san_cert_hostname_limit: Option<i64>,
    }

    /// `POST …/ssl_certificate/sni_config/{name}`; no other keys.
    #[allow(non_snake_case)]
    #[derive(ToSchema)]
    pub(crate) struct SniConfigRequest {
        #[schema(minimum = 1)]
        pub enrollmentId: Option<i64>,
        pub enabled: Option<bool>,
    }
}
