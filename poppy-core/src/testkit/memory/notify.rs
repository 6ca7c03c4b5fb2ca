//! In-memory [`Notifier`].

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::faults::{lock, FailureKind, Faults};
use crate::ports::{Notification, Notifier, PortError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Notify;

/// A [`Notifier`] that records every notification it is given (failed
/// ones are not recorded). Clones share the record.
#[derive(Debug, Clone, Default)]
pub struct MemoryNotifier {
    sent: Arc<Mutex<Vec<Notification>>>,
    faults: Arc<Faults<Notify>>,
}

impl MemoryNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Notifications received, oldest first.
    pub fn notifications(&self) -> Vec<Notification> {
        lock(&self.sent).clone()
    }

    /// The next `times` notifications fail with `kind` and are not recorded.
    pub fn fail_next(&self, times: u32, kind: FailureKind) {
        self.faults.fail_next(Notify, times, kind);
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn notify(&self, notification: &Notification) -> Result<(), PortError> {
        if let Some(kind) = self.faults.take(Notify) {
            return Err(kind.to_error("memory notifier", "notify"));
        }
        lock(&self.sent).push(notification.clone());
        Ok(())
    }
}
