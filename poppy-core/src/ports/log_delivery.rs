//! Log delivery (§5.2 step 3): a container in the tenant's object store
//! where the CDN's access logs are put, made when a service turns
//! `log_delivery.enabled` on.
//!
//! The container is made with the tenant's own credential, the
//! `X-Auth-Token` of the request that enabled log delivery (the original
//! carried it in the job as `auth_token`). The transport hands it to the
//! use cases with [`with_auth_token`]; the manager copies it into the job
//! only when the job's flow will make a container, and the flow passes it
//! to [`LogDelivery::ensure_container`]. It is never logged (the
//! [`AuthToken`] `Debug` is redacted), never written to the service and
//! never rendered.

use std::future::Future;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::PortError;
use crate::model::{AuthToken, ProjectId};

/// Where a project's log container is: what the original recorded as
/// `{"log_delivery": [{"publicURL": …, "internalURL": …}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogDeliveryUrl {
    /// The container's URL from outside the cloud (shown to the tenant as
    /// the service's `log_delivery` link).
    #[serde(rename = "publicURL")]
    pub public_url: String,
    /// The container's URL on the cloud's internal network.
    #[serde(rename = "internalURL")]
    pub internal_url: String,
}

/// Makes the container a project's CDN access logs go to.
///
/// # Contract
///
/// - `ensure_container(project, token)` makes the project's log container
///   if it does not exist and returns where it is: one [`LogDeliveryUrl`]
///   whose `public_url` is an absolute `http(s)` URL ending with the
///   container's name. It is idempotent: a second call for the same project
///   succeeds and returns the same URLs.
/// - Containers belong to projects: two projects get different URLs.
/// - `Ok(vec![])` means the store has no place for the project's logs
///   (none of the configured regions offers an object store): log
///   delivery is then turned off on the service, as the original did.
/// - The credential is the tenant's; a refused or missing credential is
///   [`PortError::Invalid`] with a message saying so (never containing the
///   token). A store that is down or throttling answers
///   [`PortError::Unavailable`] / [`PortError::RateLimited`] (the flow
///   retries later).
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait LogDelivery: Send + Sync + std::fmt::Debug + 'static {
    async fn ensure_container<'a>(
        &self,
        project: &ProjectId,
        auth_token: Option<&'a AuthToken>,
    ) -> Result<Vec<LogDeliveryUrl>, PortError>;
}

tokio::task_local! {
    /// The credential of the request being served, set by
    /// [`with_auth_token`] for the future it wraps.
    static CURRENT: Option<AuthToken>;
}

/// Runs `future` with `token` as the request's credential: use cases called
/// inside it read it with [`current_auth_token`]. The transport wraps the
/// calls that may need it (create and patch of a service), as the
/// original's request context did.
pub fn with_auth_token<F: Future>(token: Option<AuthToken>, future: F) -> WithAuthToken<F> {
    CURRENT.scope(token, future)
}

/// The credential [`with_auth_token`] set for the future being polled, if any.
pub fn current_auth_token() -> Option<AuthToken> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

/// The future of [`with_auth_token`] (its `Debug` shows the token redacted).
pub type WithAuthToken<F> = tokio::task::futures::TaskLocalFuture<Option<AuthToken>, F>;

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str) -> Option<AuthToken> {
        AuthToken::new(text)
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let secret = token("s3cr3t-token").expect("a token");
        assert_eq!(secret.expose(), "s3cr3t-token");
        let shown = format!("{secret:?} {:?}", Some(&secret));
        assert!(!shown.contains("s3cr3t"), "{shown}");
        let future = with_auth_token(Some(secret), async {});
        assert!(!format!("{future:?}").contains("s3cr3t"));
    }

    #[test]
    fn blank_tokens_are_none() {
        assert!(token("").is_none());
        assert!(token("  ").is_none());
    }

    #[tokio::test]
    async fn the_token_is_seen_inside_the_scope_only() {
        assert_eq!(current_auth_token(), None);
        let seen = with_auth_token(token("outer"), async {
            let before = current_auth_token();
            // Yield so the scope has to be re-entered on the next poll.
            tokio::task::yield_now().await;
            let after = current_auth_token();
            let nested = with_auth_token(token("inner"), async { current_auth_token() }).await;
            (before, after, nested, current_auth_token())
        })
        .await;
        assert_eq!(
            seen,
            (
                token("outer"),
                token("outer"),
                token("inner"),
                token("outer")
            )
        );
        assert_eq!(current_auth_token(), None, "restored after the scope");
    }

    #[tokio::test]
    async fn concurrent_scopes_do_not_see_each_other() {
        let a = with_auth_token(token("a"), async {
            tokio::task::yield_now().await;
            current_auth_token()
        });
        let b = with_auth_token(token("b"), async {
            tokio::task::yield_now().await;
            current_auth_token()
        });
        let (a, b) = tokio::join!(a, b);
        assert_eq!((a, b), (token("a"), token("b")));
    }
}
