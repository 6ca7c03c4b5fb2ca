//! Reliability and security, proved by tests (issue 7): injected faults,
//! crashed processes, hostile input, tenant isolation, races and graceful
//! shutdown, each against a real Poppy on loopback. One test binary; its
//! modules live in `tests/reliability/`.

#[path = "reliability/support.rs"]
mod support;

#[path = "reliability/concurrency.rs"]
mod concurrency;
#[path = "reliability/crashes.rs"]
mod crashes;
#[path = "reliability/faults.rs"]
mod faults;
#[path = "reliability/hostile_http.rs"]
mod hostile_http;
#[path = "reliability/shutdown.rs"]
mod shutdown;
#[path = "reliability/tenants.rs"]
mod tenants;
