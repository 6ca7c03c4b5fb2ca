//! In-memory [`LogDelivery`].

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::faults::{lock, FailureKind, Faults};
use crate::model::{AuthToken, ProjectId};
use crate::ports::{LogDelivery, LogDeliveryUrl, PortError};

/// The container name the original defaulted to (`[log_delivery] container_name`).
pub const DEFAULT_CONTAINER_NAME: &str = ".CDN_ACCESS_LOGS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Ensure;

/// One `ensure_container` call, as the memory adapter saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDeliveryCall {
    pub project: ProjectId,
    /// The token it was given: this is a test double, so it keeps it for
    /// assertions.
    pub token: Option<String>,
}

/// A [`LogDelivery`] keeping containers in memory: a project's container
/// is `https://objects.memory.test/v1/AUTH_<project>/.CDN_ACCESS_LOGS`
/// (internal URL on `objects.internal.memory.test`). A call without a token
/// is refused (`Invalid`), like a real store. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct MemoryLogDelivery {
    containers: Arc<Mutex<BTreeSet<ProjectId>>>,
    calls: Arc<Mutex<Vec<LogDeliveryCall>>>,
    no_region: Arc<AtomicBool>,
    faults: Arc<Faults<Ensure>>,
}

impl MemoryLogDelivery {
    pub fn new() -> Self {
        Self::default()
    }

    /// Where `project`'s container is (made or not).
    pub fn container_url(project: &ProjectId) -> LogDeliveryUrl {
        LogDeliveryUrl {
            public_url: format!(
                "https://objects.memory.test/v1/AUTH_{project}/{DEFAULT_CONTAINER_NAME}"
            ),
            internal_url: format!(
                "https://objects.internal.memory.test/v1/AUTH_{project}/{DEFAULT_CONTAINER_NAME}"
            ),
        }
    }

    /// Projects that have a container.
    pub fn containers(&self) -> Vec<ProjectId> {
        lock(&self.containers).iter().cloned().collect()
    }

    /// Every call, oldest first (failed ones too).
    pub fn calls(&self) -> Vec<LogDeliveryCall> {
        lock(&self.calls).clone()
    }

    /// With `true`, calls answer `Ok(vec![])`, as a store none of whose
    /// regions is preferred.
    pub fn set_no_region(&self, no_region: bool) {
        self.no_region.store(no_region, Ordering::SeqCst);
    }

    /// The next `times` calls fail with `kind`.
    pub fn fail_next(&self, times: u32, kind: FailureKind) {
        self.faults.fail_next(Ensure, times, kind);
    }
}

#[async_trait]
impl LogDelivery for MemoryLogDelivery {
    async fn ensure_container<'a>(
        &self,
        project: &ProjectId,
        auth_token: Option<&'a AuthToken>,
    ) -> Result<Vec<LogDeliveryUrl>, PortError> {
        lock(&self.calls).push(LogDeliveryCall {
            project: project.clone(),
            token: auth_token.map(|t| t.expose().to_owned()),
        });
        if let Some(kind) = self.faults.take(Ensure) {
            return Err(kind.to_error("memory log delivery", "ensure_container"));
        }
        if auth_token.is_none() {
            return Err(PortError::Invalid(format!(
                "no auth token to make the log container of project {project} with"
            )));
        }
        if self.no_region.load(Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        lock(&self.containers).insert(project.clone());
        Ok(vec![Self::container_url(project)])
    }
}
