//! SSL certificates on SQLite and the mock provider (the store's
//! conformance suite and the certificate flows of reference §5.7-5.10, run
//! through the use cases), the notifiers (log, signed webhook with
//! retries) and the Prometheus metrics source against loopback stand-ins.
//! One test binary; its modules live in `tests/certificates_and_notify/`.
//!
//! The Akamai contract-server part of the certificate flows (SPS/CPS/PAPI)
//! waits for the Akamai driver's certificate capability.

#[cfg(all(feature = "sqlite", feature = "mock-provider", feature = "dns-default"))]
#[path = "certificates_and_notify/flows.rs"]
mod flows;
#[cfg(feature = "sqlite")]
#[path = "certificates_and_notify/store.rs"]
mod store;

#[path = "certificates_and_notify/notify.rs"]
mod notify;

#[cfg(feature = "metrics-prometheus")]
#[path = "certificates_and_notify/prometheus.rs"]
mod prometheus;

#[path = "certificates_and_notify/registry.rs"]
mod registry;
