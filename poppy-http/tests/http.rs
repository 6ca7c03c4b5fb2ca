//! The REST transport against a hand-written fake of the driving ports:
//! `oneshot` for most tests, a real loopback listener for the rest.
//! One test binary; its modules live in `tests/http/`.

#[path = "http/fake.rs"]
mod fake;
#[path = "http/support.rs"]
mod support;

#[path = "http/admin.rs"]
mod admin;
#[path = "http/flavors.rs"]
mod flavors;
#[path = "http/fuzz.rs"]
mod fuzz;
#[path = "http/health.rs"]
mod health;
#[path = "http/home.rs"]
mod home;
#[path = "http/metrics.rs"]
mod metrics;
#[path = "http/openapi.rs"]
mod openapi;
#[path = "http/render.rs"]
mod render;
#[path = "http/robustness.rs"]
mod robustness;
#[path = "http/server.rs"]
mod server;
#[path = "http/services.rs"]
mod services;
