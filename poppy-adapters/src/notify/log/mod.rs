//! A [`Notifier`] that writes each notification as a structured log line
//! (target `poppy::notify`): failures at `warn`, everything else at `info`.

use async_trait::async_trait;
use poppy_core::ports::{Notification, NotificationKind, Notifier, PortError};

/// The driver name in configuration.
pub const NAME: &str = "log";

/// Logs notifications; never fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

impl LogNotifier {
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, n: &Notification) -> Result<(), PortError> {
        let kind = serde_json::to_value(n.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        match n.kind {
            NotificationKind::Failed => tracing::warn!(target: "poppy::notify", %kind,
                project = %n.project_id, service = %n.service_id, flow = %n.flow,
                message = %n.message, "notification"),
            _ => tracing::info!(target: "poppy::notify", %kind,
                project = %n.project_id, service = %n.service_id, flow = %n.flow,
                message = %n.message, "notification"),
        }
        Ok(())
    }
}
