//! Conformance of a [`LogDelivery`] to its "# Contract".
//!
//! The checks need credentials the adapter's store accepts: the caller
//! passes two projects and a token valid for both (against a fake store,
//! any).

use super::{err, ok};
use crate::model::{AuthToken, ProjectId};
use crate::ports::{LogDelivery, LogDeliveryUrl, PortError};

const PORT: &str = "LogDelivery";

/// Runs every check of the log-delivery contract.
pub async fn run_all(port: &dyn LogDelivery, a: &ProjectId, b: &ProjectId, token: &AuthToken) {
    ensure_container_returns_where_it_is(port, a, token).await;
    ensure_container_is_idempotent(port, a, token).await;
    projects_get_their_own_container(port, a, b, token).await;
    no_token_is_invalid(port, a).await;
}

#[track_caller]
fn assert_url(url: &str, what: &str) {
    assert!(
        (url.starts_with("http://") || url.starts_with("https://"))
            && !url.ends_with('/')
            && url.split('/').count() > 3,
        "{PORT}: {what} must be an absolute http(s) URL naming the container, got {url:?}"
    );
}

async fn ensure(
    port: &dyn LogDelivery,
    project: &ProjectId,
    token: &AuthToken,
) -> Vec<LogDeliveryUrl> {
    ok(
        port.ensure_container(project, Some(token)).await,
        format!("{PORT}: ensure_container({project})"),
    )
}

/// One URL pair, absolute.
pub async fn ensure_container_returns_where_it_is(
    port: &dyn LogDelivery,
    project: &ProjectId,
    token: &AuthToken,
) {
    let urls = ensure(port, project, token).await;
    assert_eq!(
        urls.len(),
        1,
        "{PORT}: ensure_container returns one container, got {urls:?}"
    );
    assert_url(&urls[0].public_url, "public_url");
    assert_url(&urls[0].internal_url, "internal_url");
}

/// A second call succeeds with the same URLs.
pub async fn ensure_container_is_idempotent(
    port: &dyn LogDelivery,
    project: &ProjectId,
    token: &AuthToken,
) {
    let first = ensure(port, project, token).await;
    let second = ensure(port, project, token).await;
    assert_eq!(
        first, second,
        "{PORT}: a second ensure_container for {project} must return the same container"
    );
}

/// Two projects, two containers.
pub async fn projects_get_their_own_container(
    port: &dyn LogDelivery,
    a: &ProjectId,
    b: &ProjectId,
    token: &AuthToken,
) {
    let first = ensure(port, a, token).await;
    let second = ensure(port, b, token).await;
    assert_ne!(
        first, second,
        "{PORT}: projects {a} and {b} must not share a log container"
    );
}

/// Without the tenant's token nothing can be made: `Invalid`.
pub async fn no_token_is_invalid(port: &dyn LogDelivery, project: &ProjectId) {
    let error = err(
        port.ensure_container(project, None).await,
        format!("{PORT}: ensure_container({project}) without a token"),
    );
    assert!(
        matches!(error, PortError::Invalid(_)),
        "{PORT}: a missing token must be Invalid, got {error:?}"
    );
}
