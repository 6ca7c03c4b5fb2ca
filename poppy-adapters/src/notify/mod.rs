//! Notifiers ([`poppy_core::ports::Notifier`]): tell someone that a flow
//! ended. `log` writes a log line; `webhook` (feature `notify-webhook`)
//! POSTs a signed JSON payload, with retries. The original's e-mail
//! (Mailgun) notifications are a webhook receiver's concern.

pub mod log;
#[cfg(feature = "notify-webhook")]
pub mod webhook;
