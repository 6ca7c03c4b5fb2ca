//! Extractors. Each rejects with an [`ApiError`], so axum's own rejection
//! texts never reach a client.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::request::Parts;
use http_body_util::LengthLimitError;
use poppy_core::model::{ProjectId, ServiceId};
use serde_json::Value;

use crate::error::ApiError;
use crate::layers::MountPrefix;
use crate::render::encode_uri;
use crate::AppState;

/// The tenant header.
pub(crate) const X_PROJECT_ID: &str = "x-project-id";

/// The first path segment every endpoint lives under.
pub(crate) const VERSION_SEGMENT: &str = "/v1.0";

/// The `X-Project-ID` header; missing → 400 `The Project ID must be provided.`
pub(crate) struct Project(pub(crate) ProjectId);

impl<S: Send + Sync> FromRequestParts<S> for Project {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let value = parts
            .headers
            .get(X_PROJECT_ID)
            .ok_or_else(ApiError::project_id_required)?;
        let text = value
            .to_str()
            .map_err(|_| ApiError::bad_request("The Project ID must be printable ASCII text."))?;
        Ok(Project(ProjectId::new(text)))
    }
}

/// Where links and `Location` headers point: built from the request's scheme,
/// `Host` and the prefix the router is mounted under.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    /// `scheme://host` plus the mount prefix (`/cdn` when nested there).
    host_url: String,
    /// `host_url` + `/v1.0` (+ `/<project>` with `project_id_in_url`).
    base_url: String,
}

impl Links {
    #[cfg(test)]
    pub(crate) fn for_base(host_url: &str) -> Self {
        Self {
            host_url: host_url.to_owned(),
            base_url: format!("{host_url}{VERSION_SEGMENT}"),
        }
    }

    /// What every link of a response starts with.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `{base_url}{path}`, URI-encoded.
    pub(crate) fn link(&self, path: &str) -> String {
        encode_uri(&format!("{}{}", self.base_url, path))
    }

    /// `Location` of a service: `{host_url}/v1.0/services/{id}`. Never carries
    /// the project id, as in the original (reference §2.1.1).
    pub(crate) fn service_location(&self, id: &ServiceId) -> String {
        encode_uri(&format!("{}{VERSION_SEGMENT}/services/{id}", self.host_url))
    }
}

impl FromRequestParts<AppState> for Links {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Behind a TLS-terminating proxy the connection is plain http; the
        // proxy's `X-Forwarded-Proto` tells the scheme clients used.
        let forwarded = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|p| p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("https"))
            .map(str::to_ascii_lowercase);
        let scheme = forwarded
            .or_else(|| parts.uri.scheme_str().map(str::to_owned))
            .unwrap_or_else(|| "http".to_owned());
        let host = parts
            .headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| !h.is_empty())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost");
        let prefix = parts
            .extensions
            .get::<MountPrefix>()
            .map(|p| p.0.as_str())
            .unwrap_or("");
        let host_url = format!("{scheme}://{host}{prefix}");
        let mut base_url = format!("{host_url}{VERSION_SEGMENT}");
        if state.config.project_id_in_url {
            if let Some(project) = parts
                .headers
                .get(X_PROJECT_ID)
                .and_then(|v| v.to_str().ok())
            {
                base_url.push('/');
                base_url.push_str(project);
            }
        }
        Ok(Links { host_url, base_url })
    }
}

/// A service id in the path; not a UUID → 400 `Invalid service id`.
pub(crate) struct ServiceIdPath(pub(crate) ServiceId);

impl<S: Send + Sync> FromRequestParts<S> for ServiceIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let PathParam(raw) = PathParam::from_request_parts(parts, state).await?;
        Ok(ServiceIdPath(poppy_core::validate::service_id(&raw)?))
    }
}

/// The one string parameter of a route, percent-decoded.
pub(crate) struct PathParam(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // The only failure left for a single `String` capture is a segment
        // that percent-decodes to invalid UTF-8.
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("The URL path is not valid UTF-8."))?;
        Ok(PathParam(raw))
    }
}

/// The query string as decoded pairs, in order.
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// The value of `key`; the last one when repeated (as WebOb's `GET.get`).
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("The query string is not valid."))?;
        Ok(QueryParams(pairs))
    }
}

/// A JSON request body as a raw value: the core validates its shape and
/// reports every field error at once.
///
/// A `Content-Type` that is present must be JSON (`application/json` or any
/// `*/*+json`) → else 415. No `Content-Type` is accepted, as the original
/// parsed bodies regardless of the header.
pub(crate) struct JsonBody(pub(crate) Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if let Some(content_type) = req.headers().get(CONTENT_TYPE) {
            let text = String::from_utf8_lossy(content_type.as_bytes());
            if !is_json_media_type(&text) {
                return Err(ApiError::unsupported_media_type(&shorten(&text, 128)));
            }
        }
        let limit = state.config.body_limit;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|e| {
                if caused_by_length_limit(&e) {
                    ApiError::payload_too_large(limit)
                } else {
                    tracing::debug!(error = %e, "could not read a request body");
                    ApiError::bad_request("The request body could not be read.")
                }
            })?;
        let value = serde_json::from_slice(&bytes).map_err(|_| ApiError::invalid_json())?;
        Ok(JsonBody(value))
    }
}

/// `application/json`, or any type whose subtype ends in `+json`
/// (`application/merge-patch+json`), parameters ignored.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" {
        return true;
    }
    match essence.split_once('/') {
        Some((kind, subtype)) => {
            !kind.is_empty() && subtype.len() > 5 && subtype.ends_with("+json")
        }
        None => false,
    }
}

fn caused_by_length_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.is::<LengthLimitError>() {
            return true;
        }
        current = e.source();
    }
    false
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
            "application/json-patch+json",
            "text/x+json",
        ] {
            assert!(is_json_media_type(ok), "{ok} should be JSON");
        }
        for bad in [
            "text/plain",
            "",
            "application/x-www-form-urlencoded",
            "json",
            "/+json",
            "application/+json",
            "application/jsonx",
        ] {
            assert!(!is_json_media_type(bad), "{bad} should not be JSON");
        }
    }

    #[test]
    fn shorten_cuts_on_char_boundaries() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("ééé", 2), "éé…");
    }
}
