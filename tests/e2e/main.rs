//! End-to-end tests of the `poppy` package: a real Poppy (SQLite in a
//! temporary directory, the mock provider, the default DNS driver, the
//! in-process worker) on an ephemeral loopback port, driven by a real HTTP
//! client. Each test starts its own server, so tests run concurrently.
//!
//! The expected behaviour is the reference's (`POPPY-REFERENCE.md` §2, §3)
//! and its upstream test-data cases (§10), with the deliberate differences
//! of the re-implementation (400 on unknown top-level keys, 413/415,
//! `errors` in validation bodies, 409 for a lost PATCH race, no HTML
//! escaping, a failed delete keeps the service `failed`).

mod support;

mod admin;
mod durability;
mod flavors;
mod health;
mod isolation;
mod lifecycle;
mod log_delivery;
mod negative;
mod patch;
mod services;
