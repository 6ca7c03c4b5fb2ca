//! Wall-clock time as milliseconds since the Unix epoch.
//!
//! Jobs, leases and timestamps cross process boundaries (SQLite, ZooKeeper),
//! so they are plain integers rather than `Instant`s.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Current wall-clock time in milliseconds.
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `now + d`, saturating.
pub fn after(d: Duration) -> Millis {
    now_ms().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
