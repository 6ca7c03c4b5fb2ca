//! Who may call the operator endpoints (`/v1.0/admin/…`).
//!
//! The original had no authorisation of its own (§9.2 #1): it relied on an
//! auth proxy (Keystone's middleware) in front. Poppy checks what such a
//! proxy, or the operator's own tooling, sends: a role header (Keystone
//! sets `X-Roles: admin,member` for a validated token) and/or a shared
//! operator token. A caller that is not an operator gets 403 from every
//! admin endpoint; a request without `X-Project-ID` still gets the 400
//! every endpoint gives first.

use std::fmt;

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use tower::{Layer, Service};

use crate::error::ApiError;
use crate::extract::X_PROJECT_ID;
use crate::metrics::RouteLabel;

/// Paths under this prefix are operator endpoints.
pub(crate) const ADMIN_PREFIX: &str = "/v1.0/admin";

/// The checks that make a caller an operator. Either one that is
/// configured and passes is enough; with neither configured (the default,
/// the reference's behaviour) every caller is one.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct OperatorAuth {
    /// `(header, role)`: the header carries a comma-separated list of roles
    /// (Keystone's `X-Roles`); the caller is an operator when one of them
    /// equals `role` (ASCII case-insensitive).
    pub role: Option<(String, String)>,
    /// `(header, token)`: the caller is an operator when the header equals
    /// the token exactly.
    pub token: Option<(String, String)>,
}

impl OperatorAuth {
    /// Every caller is an operator (the original's behaviour).
    pub fn open() -> Self {
        Self::default()
    }

    /// Operators are callers whose `header` lists `role`.
    pub fn role(header: impl Into<String>, role: impl Into<String>) -> Self {
        Self {
            role: Some((header.into(), role.into())),
            token: None,
        }
    }

    /// Also lets in callers whose `header` carries `token`.
    pub fn with_token(mut self, header: impl Into<String>, token: impl Into<String>) -> Self {
        self.token = Some((header.into(), token.into()));
        self
    }

    /// No check is configured.
    pub fn is_open(&self) -> bool {
        self.role.is_none() && self.token.is_none()
    }

    /// Whether a request with `headers` comes from an operator.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        if self.is_open() {
            return true;
        }
        let by_role = self.role.as_ref().is_some_and(|(header, role)| {
            headers.get_all(header.as_str()).iter().any(|value| {
                value.to_str().is_ok_and(|roles| {
                    roles
                        .split(',')
                        .any(|r| r.trim().eq_ignore_ascii_case(role))
                })
            })
        });
        let by_token = self.token.as_ref().is_some_and(|(header, token)| {
            headers
                .get(header.as_str())
                .is_some_and(|v| constant_time_eq(v.as_bytes(), token.as_bytes()))
        });
        by_role || by_token
    }

    /// What a refused caller is told to send (never the token itself).
    fn requirement(&self) -> String {
        let mut ways = Vec::new();
        if let Some((header, role)) = &self.role {
            ways.push(format!("the '{role}' role in {header}"));
        }
        if let Some((header, _)) = &self.token {
            ways.push(format!("the operator token in {header}"));
        }
        format!(
            "This endpoint is for operators only: send {}.",
            ways.join(" or ")
        )
    }
}

impl fmt::Debug for OperatorAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorAuth")
            .field("role", &self.role)
            .field(
                "token",
                &self
                    .token
                    .as_ref()
                    .map(|(header, _)| (header, "<redacted>")),
            )
            .finish()
    }
}

/// Compares without stopping at the first difference, so response times
/// do not tell how much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The layer every route gets (on matched routes only): labels the
/// response with the route template for the metrics, and on operator routes
/// refuses callers that are not operators. Hand-written rather than two
/// `from_fn` layers: it runs on every request.
#[derive(Clone)]
pub(crate) struct RouteGuard {
    route: &'static str,
    /// `Some` on `/v1.0/admin/…` routes when a check is configured.
    operator: Option<Arc<OperatorAuth>>,
}

impl RouteGuard {
    pub(crate) fn new(route: &'static str, auth: &Arc<OperatorAuth>) -> Self {
        let operator = (route.starts_with(ADMIN_PREFIX) && !auth.is_open()).then(|| auth.clone());
        Self { route, operator }
    }
}

impl<S> Layer<S> for RouteGuard {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded {
            inner,
            route: self.route,
            operator: self.operator.clone(),
        }
    }
}

/// A route behind its [`RouteGuard`].
#[derive(Clone)]
pub(crate) struct Guarded<S> {
    inner: S,
    route: &'static str,
    operator: Option<Arc<OperatorAuth>>,
}

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let label = RouteLabel(self.route);
        if let Some(auth) = &self.operator {
            // Without a project the handler answers the usual 400.
            if request.headers().contains_key(X_PROJECT_ID) && !auth.allows(request.headers()) {
                let mut refused =
                    ApiError::new(StatusCode::FORBIDDEN, auth.requirement()).into_response();
                refused.extensions_mut().insert(label);
                return Box::pin(std::future::ready(Ok(refused)));
            }
        }
        let answer = self.inner.call(request);
        Box::pin(async move {
            // A panicking handler is answered here, where its route is
            // known, so the 500 is counted under that route.
            let mut response = match AssertUnwindSafe(answer).catch_unwind().await {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(panic) => crate::layers::panic_response(panic),
            };
            response.extensions_mut().insert(label);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn roles_are_a_comma_separated_list() {
        let auth = OperatorAuth::role("X-Roles", "admin");
        assert!(auth.allows(&headers(&[("x-roles", "member, Admin")])));
        assert!(!auth.allows(&headers(&[("x-roles", "member,administrator")])));
        assert!(!auth.allows(&headers(&[])));
        assert!(OperatorAuth::open().allows(&headers(&[])));
    }

    #[test]
    fn a_token_is_compared_exactly_and_never_shown() {
        let auth = OperatorAuth::role("X-Roles", "admin").with_token("X-Admin-Token", "s3cret");
        assert!(auth.allows(&headers(&[("x-admin-token", "s3cret")])));
        assert!(!auth.allows(&headers(&[("x-admin-token", "s3cre")])));
        assert!(!format!("{auth:?}").contains("s3cret"));
        assert!(!auth.requirement().contains("s3cret"));
    }
}
