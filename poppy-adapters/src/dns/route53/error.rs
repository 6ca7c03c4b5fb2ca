//! Route53 errors → [`PortError`] kinds.

use aws_sdk_route53::config::http::HttpResponse;
use aws_sdk_route53::error::{BuildError, ProvideErrorMetadata, SdkError};
use poppy_core::ports::PortError;

/// Backend name in errors.
pub(super) const BACKEND: &str = "route53";

/// Error codes Route53 uses for throttling.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "PriorRequestNotComplete",
    "RequestLimitExceeded",
    "TooManyRequestsException",
];

/// Classifies an SDK error of operation `op`: throttling → `RateLimited`,
/// 5xx / timeouts / connection failures → `Unavailable`, a missing hosted
/// zone → `NotFound`, any other refusal → `Invalid` (code and message kept).
pub(super) fn sdk_error<E>(op: &str, error: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            return PortError::unavailable(BACKEND, format!("{op}: {}", describe(&error)))
        }
        SdkError::ResponseError(_) if status.is_none_or(|s| s >= 500) => {
            return PortError::unavailable(BACKEND, format!("{op}: {}", describe(&error)))
        }
        SdkError::ConstructionFailure(_) => {
            return PortError::internal(BACKEND, format!("{op}: {}", describe(&error)))
        }
        _ => {}
    }
    let code = error.code().unwrap_or_default();
    let message = error.message().unwrap_or_default();
    if THROTTLING.contains(&code) || status == Some(429) {
        return PortError::RateLimited {
            backend: BACKEND.to_owned(),
            retry_after: None,
        };
    }
    if status.is_some_and(|s| s >= 500)
        || matches!(
            code,
            "ServiceUnavailable" | "InternalFailure" | "InternalError"
        )
    {
        return PortError::unavailable(BACKEND, format!("{op}: {code}: {message}"));
    }
    if code == "NoSuchHostedZone" {
        return PortError::NotFound(format!("Route53 hosted zone ({op}: {message})"));
    }
    if code.is_empty() {
        return PortError::Invalid(format!(
            "Route53 {op} refused the request (HTTP {}): {}",
            status.map_or_else(|| "?".to_owned(), |s| s.to_string()),
            describe(&error)
        ));
    }
    PortError::Invalid(format!("Route53 {op}: {code}: {message}"))
}

/// Whether an `Invalid` message from a `DELETE` may mean the record is not
/// there as read: `InvalidChangeBatch` (AWS: "… but it was not found", or
/// its values changed) or `InvalidInput` (moto's answer to a missing
/// record). The caller reads the record again to know.
pub(super) fn is_missing_record(message: &str) -> bool {
    message.contains("InvalidChangeBatch") || message.contains("InvalidInput")
}

/// A request the SDK could not build: a bug here, not a backend problem.
pub(super) fn build_error(error: BuildError) -> PortError {
    PortError::internal(BACKEND, format!("building a Route53 request: {error}"))
}

fn describe<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    error: &SdkError<E, R>,
) -> String {
    // SdkError's Display is terse ("dispatch failure"); its sources say why.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
