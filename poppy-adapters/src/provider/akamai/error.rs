//! Akamai API failures as [`PortError`] kinds.
//!
//! - 429 → `RateLimited`, 5xx → `Unavailable`, both with the response's
//!   `Retry-After` (seconds or an HTTP date) when given;
//! - 404 → `NotFound` (callers that expect it turn it into success);
//! - other 4xx → `Invalid` with Akamai's problem details (`title`, `detail`
//!   and each nested error's `detail` and location);
//! - timeouts and connection failures → `Unavailable`;
//! - an answer the driver cannot read → `Internal`.
//!
//! No message carries a credential: requests are described by method and
//! path, and the `Authorization` header is never part of one.

use std::time::{Duration, SystemTime};

use poppy_core::ports::PortError;
use serde::Deserialize;

/// The backend name in errors.
pub(super) const BACKEND: &str = "akamai";

/// An RFC 7807 problem as Akamai's APIs return it.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Problem {
    pub title: Option<String>,
    pub detail: Option<String>,
    pub error_location: Option<String>,
    pub errors: Vec<Problem>,
}

impl Problem {
    pub(super) fn parse(body: &[u8]) -> Problem {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// `title: detail (at location); nested…`, or `None` when empty.
    pub(super) fn message(&self) -> Option<String> {
        let mut parts = Vec::new();
        let head = match (&self.title, &self.detail) {
            (Some(t), Some(d)) if t != d => Some(format!("{t}: {d}")),
            (Some(t), _) => Some(t.clone()),
            (None, Some(d)) => Some(d.clone()),
            (None, None) => None,
        };
        if let Some(mut head) = head {
            if let Some(at) = &self.error_location {
                head.push_str(&format!(" (at {at})"));
            }
            parts.push(head);
        }
        parts.extend(self.errors.iter().filter_map(Problem::message));
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Parses `Retry-After`: delay-seconds or an HTTP date.
pub(super) fn retry_after(value: Option<&str>) -> Option<Duration> {
    let value = value?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The error for a non-success answer to `what` (`"POST /papi/v1/…"`).
pub(super) fn from_status(
    what: &str,
    status: u16,
    retry_after_header: Option<&str>,
    body: &[u8],
) -> PortError {
    let problem = Problem::parse(body);
    let detail = problem.message().unwrap_or_else(|| body_excerpt(body));
    let retry_after = retry_after(retry_after_header);
    match status {
        429 => PortError::RateLimited {
            backend: BACKEND.to_owned(),
            retry_after,
        },
        500..=599 => PortError::Unavailable {
            backend: BACKEND.to_owned(),
            message: format!("{what} answered HTTP {status}: {detail}"),
            retry_after,
        },
        404 => PortError::NotFound(format!("akamai resource of {what} ({detail})")),
        _ => PortError::Invalid(format!("akamai refused {what} (HTTP {status}): {detail}")),
    }
}

fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "no details".to_owned()
    } else {
        text.chars().take(300).collect()
    }
}

/// The error for a request that got no answer.
pub(super) fn from_transport(what: &str, error: reqwest::Error, timeout: Duration) -> PortError {
    let message = if error.is_timeout() {
        format!("{what} timed out after {} ms", timeout.as_millis())
    } else if error.is_connect() {
        format!("{what}: cannot connect to the API host")
    } else {
        format!("{what} failed: {}", error.without_url())
    };
    PortError::Unavailable {
        backend: BACKEND.to_owned(),
        message,
        retry_after: None,
    }
}

/// The error for an answer the driver cannot read.
pub(super) fn unreadable(what: &str, problem: impl std::fmt::Display) -> PortError {
    PortError::internal(BACKEND, format!("unexpected answer to {what}: {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_port_error_kinds() {
        let body = br#"{"type":"https://problems.luna.akamaiapis.net/papi/v0/validation",
            "title":"Bad Request","detail":"propertyName is invalid","status":400}"#;
        match from_status("POST /papi/v1/properties", 400, None, body) {
            PortError::Invalid(m) => {
                assert_eq!(
                    m,
                    "akamai refused POST /papi/v1/properties (HTTP 400): Bad Request: propertyName is invalid"
                )
            }
            other => panic!("{other:?}"),
        }
        match from_status("GET /x", 429, Some("7"), b"") {
            PortError::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
        match from_status("GET /x", 503, None, b"gateway down") {
            PortError::Unavailable {
                message,
                retry_after,
                ..
            } => {
                assert_eq!(retry_after, None);
                assert!(message.contains("HTTP 503: gateway down"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            from_status("GET /x", 404, None, b"{}"),
            PortError::NotFound(_)
        ));
    }

    #[test]
    fn nested_errors_and_locations_are_kept() {
        let body = br##"{"title":"Rule errors","errors":[
            {"type":"x","errorLocation":"#/rules/behaviors/0","detail":"origin hostname is required"}]}"##;
        assert_eq!(
            Problem::parse(body).message().as_deref(),
            Some("Rule errors; origin hostname is required (at #/rules/behaviors/0)")
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(Some("120")), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        let parsed = retry_after(Some(&later)).expect("a date");
        assert!(parsed > Duration::from_secs(3000) && parsed <= Duration::from_secs(3600));
        assert_eq!(retry_after(Some("soon")), None);
        assert_eq!(retry_after(None), None);
    }
}
