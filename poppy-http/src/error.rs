//! The one error shape of the API: `{"message": "..."}`, plus `"errors"` with
//! every field error for a validation failure.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use poppy_core::{Error, ErrorKind, FieldError};
use serde::Serialize;

/// Shown instead of the details of an internal error (the original's text).
pub(crate) const INTERNAL_MESSAGE: &str =
    "The server encountered an unexpected condition which prevented it from fulfilling the request.";
pub(crate) const PROJECT_ID_REQUIRED: &str = "The Project ID must be provided.";
pub(crate) const INVALID_JSON: &str = "Invalid JSON string";
pub(crate) const NOT_FOUND: &str = "The resource could not be found.";
pub(crate) const METHOD_NOT_ALLOWED: &str = "The method is not allowed for the requested URL.";

/// Most field errors an answer lists (its `message` gives the total).
pub(crate) const MAX_LISTED_FIELD_ERRORS: usize = 100;

/// An error answer. Built from a core [`Error`] (status from its
/// [`ErrorKind`]) or by the transport itself (413, 415, 404 routes…).
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    errors: Vec<FieldError>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn project_id_required() -> Self {
        Self::bad_request(PROJECT_ID_REQUIRED)
    }

    pub(crate) fn invalid_json() -> Self {
        Self::bad_request(INVALID_JSON)
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("The request body is larger than the limit of {limit} bytes."),
        )
    }

    pub(crate) fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Unsupported Content-Type '{content_type}': request bodies must be JSON \
                 (application/json)."
            ),
        )
    }

    pub(crate) fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, NOT_FOUND)
    }

    pub(crate) fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, METHOD_NOT_ALLOWED)
    }

    pub(crate) fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE)
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

/// Status code of each kind of core error.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        // `ErrorKind` is non-exhaustive: a kind added later is treated as a
        // bug until the transport learns it.
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let status = status_of(error.kind());
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            // The details may name backends or carry their messages: log
            // them, answer opaquely.
            tracing::error!(error = %error, "request failed with an internal error");
            return Self::internal();
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %error, "request failed: a backend is unavailable");
        }
        Self {
            status,
            // The message counts every error; the list stops at a bound so
            // a body of many bad items cannot make an answer many times
            // its own size.
            message: error.to_string(),
            errors: error
                .field_errors()
                .iter()
                .take(MAX_LISTED_FIELD_ERRORS)
                .cloned()
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            message: &self.message,
            errors: &self.errors,
        };
        json_response(self.status, &body)
    }
}

/// A JSON response. Serialising the transport's own views cannot fail (all
/// map keys are strings); should it ever, the answer is an opaque 500.
pub(crate) fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    json_bytes_response(status, serde_json::to_vec(body))
}

/// A JSON response from a body serialised already (or the failure to).
pub(crate) fn json_bytes_response(
    status: StatusCode,
    body: serde_json::Result<impl IntoResponse>,
) -> Response {
    match body {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a response body");
            let fallback = format!("{{\"message\":\"{INTERNAL_MESSAGE}\"}}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                fallback,
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_status() {
        let cases = [
            (Error::BadRequest("x".into()), StatusCode::BAD_REQUEST),
            (Error::field("/name", "bad"), StatusCode::BAD_REQUEST),
            (Error::NotFound("x".into()), StatusCode::NOT_FOUND),
            (Error::Forbidden("x".into()), StatusCode::FORBIDDEN),
            (Error::Conflict("x".into()), StatusCode::CONFLICT),
            (
                Error::Unavailable("x".into()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                Error::Internal("x".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status(), status);
        }
    }

    #[test]
    fn field_errors_listed_are_bounded_and_the_message_counts_them_all() {
        let many: Vec<FieldError> = (0..1000)
            .map(|i| FieldError::new(format!("/domains/{i}"), "must be an object"))
            .collect();
        let e = ApiError::from(Error::Validation(many));
        assert_eq!(e.errors.len(), MAX_LISTED_FIELD_ERRORS);
        assert!(e.message.contains("999 more errors"), "{}", e.message);
    }

    #[test]
    fn internal_errors_are_opaque() {
        let e = ApiError::from(Error::Internal("db password wrong".into()));
        assert_eq!(e.message, INTERNAL_MESSAGE);
        assert!(e.errors.is_empty());
    }
}
