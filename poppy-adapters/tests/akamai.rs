//! The Akamai driver against a loopback contract server reproducing PAPI
//! and Fast Purge (`akamai/fake.rs`), and — when `POPPY_TEST_AKAMAI` is set —
//! against a real account (`akamai/live.rs`).

#![cfg(feature = "akamai")]

#[path = "akamai/cert_flows.rs"]
mod cert_flows;
#[path = "akamai/cert_hostnames.rs"]
mod cert_hostnames;
#[path = "akamai/certificates.rs"]
mod certificates;
#[path = "akamai/conformance.rs"]
mod conformance;
#[path = "akamai/errors.rs"]
mod errors;
#[path = "akamai/fake.rs"]
mod fake;
#[path = "akamai/fake_certs.rs"]
mod fake_certs;
#[path = "akamai/faults.rs"]
mod faults;
#[path = "akamai/lifecycle.rs"]
mod lifecycle;
#[path = "akamai/live.rs"]
mod live;
#[path = "akamai/mapping.rs"]
mod mapping;
#[path = "akamai/registry.rs"]
mod registry;
