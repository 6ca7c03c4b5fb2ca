//! Notifications to tenants and operators.

use async_trait::async_trait;
use serde::Serialize;

use super::PortError;
use crate::model::{ProjectId, ServiceId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Deployed,
    Failed,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub kind: NotificationKind,
    pub project_id: ProjectId,
    pub service_id: ServiceId,
    /// The flow that ended (`create_service`…).
    pub flow: String,
    pub message: String,
}

/// Optional: tells someone that a flow ended. Failures are logged, never
/// fail a flow.
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync + std::fmt::Debug + 'static {
    async fn notify(&self, notification: &Notification) -> Result<(), PortError>;
}
