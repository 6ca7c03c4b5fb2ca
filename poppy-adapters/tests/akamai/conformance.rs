//! The provider conformance suite against the driver and the contract server.

use poppy_core::testkit::conformance::provider;
use poppy_core::testkit::memory::DEFAULT_SHARD_SUFFIX;

use crate::fake::{Fake, Hooks, SLOW};

#[tokio::test]
async fn the_driver_passes_the_provider_conformance_suite() {
    // Activations take two reads of the activation list, so the suite sees
    // rollouts in progress, updates queued behind them and deletes that
    // wait for a deactivation.
    let fake = Fake::start(2).await;
    // Certificate edge hostnames the operator provisioned: the SAN
    // certificate's, and the shared one of the fixtures' first shard.
    fake.state().edge_hostnames.extend([
        "san1.example.com.edgekey.net".to_owned(),
        format!("scdn1.{DEFAULT_SHARD_SUFFIX}.edgekey.net"),
    ]);
    let mut config = fake.config();
    config.cp_code = Some(777);
    config.san_edge_hostname = Some("san1.example.com".to_owned());
    // Shorter than the fake's slow answers.
    config.timeout_ms = 1_000;
    assert!(SLOW.as_millis() > u128::from(config.timeout_ms));
    let driver = fake.provider_with(config);
    provider::run_all_with_faults(&driver, &Hooks(&fake)).await;
    assert!(
        fake.state().properties.is_empty(),
        "the suite deleted every property it made"
    );
}
