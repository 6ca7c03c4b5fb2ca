//! AWS SDK errors, classified once into the port's error kinds.

use std::time::Duration;

use aws_sdk_cloudfront::config::http::HttpResponse;
use aws_sdk_cloudfront::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use poppy_core::ports::PortError;

use super::NAME;

/// CloudFront's error codes the driver acts on.
pub(super) mod code {
    pub const NO_SUCH_DISTRIBUTION: &str = "NoSuchDistribution";
    pub const ALREADY_EXISTS: &str = "DistributionAlreadyExists";
    pub const CNAME_ALREADY_EXISTS: &str = "CNAMEAlreadyExists";
    pub const PRECONDITION_FAILED: &str = "PreconditionFailed";
    pub const INVALID_IF_MATCH: &str = "InvalidIfMatchVersion";
    pub const NOT_DISABLED: &str = "DistributionNotDisabled";
}

/// Codes of throttling answers (CloudFront answers 400 `Throttling`).
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequests",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// Codes of credential problems: not retryable, and not the tenant's fault.
const CREDENTIALS: &[&str] = &[
    "AccessDenied",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "ExpiredToken",
    "MissingAuthenticationToken",
];

/// A failed call to CloudFront.
#[derive(Debug)]
pub(super) struct Failure {
    /// The operation (`CreateDistribution`…).
    pub op: &'static str,
    /// CloudFront's error code, when it answered with one.
    pub code: Option<String>,
    pub message: String,
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    /// No answer at all (timeout, connection failure).
    pub transport: bool,
}

impl Failure {
    pub fn from_sdk<E>(op: &'static str, error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = error.raw_response().map(|r| r.status().as_u16());
        let retry_after = error
            .raw_response()
            .and_then(|r| r.headers().get("retry-after"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let code = error.code().map(str::to_owned);
        let transport = matches!(
            error,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
        );
        let message = match (&error, error.message()) {
            (SdkError::TimeoutError(_), _) => "timed out".to_owned(),
            (_, Some(message)) => message.to_owned(),
            // No message from CloudFront: the SDK's description of what
            // went wrong (never the request's headers or credentials).
            _ => DisplayErrorContext(&error).to_string(),
        };
        Self {
            op,
            code,
            message,
            status,
            retry_after,
            transport,
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The port error the flows act on.
    pub fn into_port(self) -> PortError {
        let Failure {
            op,
            code,
            message,
            status,
            retry_after,
            transport,
        } = self;
        let code_str = code.as_deref().unwrap_or("");
        if transport {
            return PortError::Unavailable {
                backend: NAME.to_owned(),
                message: format!("{op}: {message}"),
                retry_after: None,
            };
        }
        if THROTTLING.contains(&code_str) || status == Some(429) {
            return PortError::RateLimited {
                backend: NAME.to_owned(),
                retry_after,
            };
        }
        if status.is_some_and(|s| s >= 500) || code_str == "ServiceUnavailable" {
            return PortError::Unavailable {
                backend: NAME.to_owned(),
                message: format!("{op}: {code_str} {message}").replace("  ", " "),
                retry_after,
            };
        }
        if code_str == code::NO_SUCH_DISTRIBUTION {
            return PortError::NotFound(format!("{NAME}: {op}: {message}"));
        }
        if code_str == code::PRECONDITION_FAILED || code_str == code::INVALID_IF_MATCH {
            return PortError::Conflict(format!(
                "{NAME}: {op}: the distribution changed meanwhile ({code_str}): {message}"
            ));
        }
        if CREDENTIALS.contains(&code_str) || status == Some(403) {
            return PortError::Invalid(format!(
                "CloudFront refused the credentials for {op} ({code_str}): {message}"
            ));
        }
        if status.is_some_and(|s| (400..500).contains(&s)) {
            return PortError::Invalid(format!("CloudFront rejected {op} ({code_str}): {message}"));
        }
        PortError::internal(NAME, format!("{op}: {code_str} {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str, status: u16) -> Failure {
        Failure {
            op: "UpdateDistribution",
            code: Some(code.to_owned()),
            message: "message from AWS".to_owned(),
            status: Some(status),
            retry_after: Some(Duration::from_secs(4)),
            transport: false,
        }
    }

    #[test]
    fn codes_map_to_kinds() {
        assert!(matches!(
            failure("Throttling", 400).into_port(),
            PortError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(4)
        ));
        assert!(matches!(
            failure("InternalError", 500).into_port(),
            PortError::Unavailable { .. }
        ));
        assert!(matches!(
            failure("NoSuchDistribution", 404).into_port(),
            PortError::NotFound(_)
        ));
        assert!(matches!(
            failure("PreconditionFailed", 412).into_port(),
            PortError::Conflict(_)
        ));
        assert!(matches!(
            failure("InvalidArgument", 400).into_port(),
            PortError::Invalid(m) if m.contains("message from AWS") && m.contains("InvalidArgument")
        ));
    }
}
