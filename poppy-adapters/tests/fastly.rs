//! The Fastly driver against a stateful wiremock contract server (exact
//! requests, versions and activation, 429 with Retry-After, 5xx, validation
//! errors), the provider conformance suite, and — with `POPPY_TEST_FASTLY`
//! set to an API key — the suite against the real Fastly API.

#![cfg(feature = "fastly")]

#[path = "fastly/fake.rs"]
mod fake;

#[path = "fastly/contract.rs"]
mod contract;

#[path = "fastly/faults.rs"]
mod faults;
