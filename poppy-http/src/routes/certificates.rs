//! `/v1.0/ssl_certificate` (§2.8): a tenant's SSL certificates. Unlike the
//! original (§9.2 #1, #16), a tenant sees only its own project's
//! certificates and a read always answers one object.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use poppy_core::model::{CertDetails, SslCertificate};
use serde::Serialize;
use utoipa::ToSchema;

use super::accepted;
use crate::error::{json_response, ApiError};
use crate::extract::{JsonBody, PathParam, Project, QueryParams};
use crate::AppState;

/// A certificate as the API shows it (§2.8), keys in the reference's order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CertificateView {
    flavor_id: String,
    domain_name: String,
    #[schema(value_type = doc::CertType)]
    cert_type: String,
    /// What each provider reports, by provider name:
    /// `{"cert_domain"?, "extra_info": {"status", "san cert"?, …}}`.
    #[schema(value_type = Object)]
    cert_details: BTreeMap<String, CertDetails>,
    #[schema(value_type = crate::openapi::schema::CertificateStatus)]
    status: String,
    project_id: String,
}

impl CertificateView {
    pub(crate) fn new(cert: &SslCertificate) -> Self {
        Self {
            flavor_id: cert.flavor_id.clone(),
            domain_name: cert.domain_name.clone(),
            cert_type: cert.cert_type.to_string(),
            cert_details: cert.cert_details.clone(),
            status: cert.status.to_string(),
            project_id: cert.project_id.to_string(),
        }
    }
}

/// `POST /ssl_certificate` → 202, empty.
#[utoipa::path(post, path = "/v1.0/ssl_certificate", operation_id = "createSslCertificate", tag = "ssl_certificates",
    request_body(content = doc::CertificateRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; provisioning queued"),
        (status = 400, description = "Invalid body, unknown flavor, or the domain has a certificate", body = crate::openapi::schema::ErrorBody),
        (status = 403, description = "The body names another project", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Project(project): Project,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    state
        .api
        .certificates
        .create_certificate(&project, body)
        .await?;
    Ok(accepted(None))
}

/// `GET /ssl_certificate/{domain}` → 200, the project's certificate.
#[utoipa::path(get, path = "/v1.0/ssl_certificate/{domain_name}", operation_id = "getSslCertificate", tag = "ssl_certificates",
    params(("domain_name" = String, Path, description = "The certificate's domain")),
    responses(
        (status = 200, description = "The certificate", body = CertificateView),
        (status = 400, description = "Invalid domain", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "This project has no certificate for the domain", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Project(project): Project,
    PathParam(domain): PathParam,
) -> Result<Response, ApiError> {
    let cert = state
        .api
        .certificates
        .get_certificate(&project, &domain)
        .await?;
    Ok(json_response(StatusCode::OK, &CertificateView::new(&cert)))
}

/// `DELETE /ssl_certificate/{domain}?cert_type=san` → 202, empty.
#[utoipa::path(delete, path = "/v1.0/ssl_certificate/{domain_name}", operation_id = "deleteSslCertificate", tag = "ssl_certificates",
    params(("domain_name" = String, Path, description = "The certificate's domain"),
           ("cert_type" = Option<String>, Query, description = "san (default), sni, custom or dedicated")),
    responses(
        (status = 202, description = "Deletion queued"),
        (status = 400, description = "Invalid domain or cert_type", body = crate::openapi::schema::ErrorBody),
        (status = 404, description = "This project has no such certificate", body = crate::openapi::schema::ErrorBody),
    ))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Project(project): Project,
    PathParam(domain): PathParam,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let cert_type = query.get("cert_type");
    state
        .api
        .certificates
        .delete_certificate(&project, &domain, cert_type.as_deref())
        .await?;
    Ok(accepted(None))
}

/// Documentation-only types of the certificate endpoints.
#[allow(dead_code)]
pub(crate) mod doc {
    use utoipa::ToSchema;

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub(crate) enum CertType {
        San,
        Sni,
        Custom,
        Dedicated,
    }

    #[derive(ToSchema)]
    #[schema(rename_all = "lowercase")]
    pub(crate) enum RequestableCertType {
        San,
        Sni,
        Custom,
    }

    /// `POST /ssl_certificate`. No other keys are allowed.
    #[derive(ToSchema)]
    pub(crate) struct CertificateRequest {
        #[schema(min_length = 1, max_length = 256)]
        pub flavor_id: String,
        pub cert_type: RequestableCertType,
        /// A valid domain that is not a root domain.
        #[schema(min_length = 3, max_length = 253)]
        pub domain_name: String,
        /// Must be the caller's project when given.
        pub project_id: Option<String>,
    }
}
