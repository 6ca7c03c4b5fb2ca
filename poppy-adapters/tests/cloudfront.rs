//! The CloudFront driver: happy paths and the provider conformance suite
//! against moto (`POPPY_TEST_MOTO`, skipped when unset); what moto does not
//! emulate (`PreconditionFailed`, `DistributionNotDisabled`,
//! `CNAMEAlreadyExists`, throttling, long `InProgress` rollouts) against a
//! wiremock fake answering with CloudFront's XML; and — with
//! `POPPY_TEST_CLOUDFRONT` set — the suite against the real AWS account of
//! the environment's credentials.

#![cfg(feature = "cloudfront")]

#[path = "cloudfront/support.rs"]
mod support;

#[path = "cloudfront/moto.rs"]
mod moto;

#[path = "cloudfront/xml_fake.rs"]
mod xml_fake;

#[path = "cloudfront/faults.rs"]
mod faults;
