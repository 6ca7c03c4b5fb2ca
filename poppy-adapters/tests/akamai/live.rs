//! Against a real Akamai account, only when `POPPY_TEST_AKAMAI` is set.
//!
//! Reads `POPPY_AKAMAI_HOST`, `POPPY_AKAMAI_CLIENT_TOKEN`,
//! `POPPY_AKAMAI_CLIENT_SECRET`, `POPPY_AKAMAI_ACCESS_TOKEN`,
//! `POPPY_AKAMAI_CONTRACT_ID`, `POPPY_AKAMAI_GROUP_ID`,
//! `POPPY_AKAMAI_PRODUCT_ID`, `POPPY_AKAMAI_EMAIL` and optionally
//! `POPPY_AKAMAI_CP_CODE` and `POPPY_AKAMAI_TEMPLATE_PROPERTY_ID`. It makes
//! one property on the staging network, waits for its activation (minutes),
//! purges, deletes it (waiting for the deactivation) and checks it is gone.

use std::time::Duration;

use poppy_adapters::provider::akamai::{AkamaiConfig, AkamaiProvider, Network, PollConfig};
use poppy_core::model::{ProjectId, ProviderStatus, PurgeTarget};
use poppy_core::ports::{CdnProvider, PortError};
use poppy_core::testkit::fixtures;

fn var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("POPPY_TEST_AKAMAI is set, so {name} must be too"))
}

#[tokio::test]
async fn a_service_lives_and_dies_on_akamai_staging() {
    if std::env::var_os("POPPY_TEST_AKAMAI").is_none() {
        eprintln!("skipped: set POPPY_TEST_AKAMAI (and the POPPY_AKAMAI_* variables) to run against Akamai");
        return;
    }
    let config = AkamaiConfig {
        contract_id: var("POPPY_AKAMAI_CONTRACT_ID"),
        group_id: var("POPPY_AKAMAI_GROUP_ID"),
        product_id: var("POPPY_AKAMAI_PRODUCT_ID"),
        activation_emails: vec![var("POPPY_AKAMAI_EMAIL")],
        cp_code: std::env::var("POPPY_AKAMAI_CP_CODE")
            .ok()
            .and_then(|c| c.parse().ok()),
        template_property_id: std::env::var("POPPY_AKAMAI_TEMPLATE_PROPERTY_ID").ok(),
        network: Network::Staging,
        poll: PollConfig {
            interval_ms: 30_000,
            attempts: 60,
        },
        ..AkamaiConfig::default()
    };
    // host and credentials come from POPPY_AKAMAI_HOST and friends.
    let provider = AkamaiProvider::build(config).expect("a valid configuration");
    assert!(provider.is_alive().await, "the credentials work");

    let service = fixtures::service(&ProjectId::random());
    let created = provider.create(&service).await.expect("create");
    let id = created.provider_service_id.clone();
    let again = provider.create(&service).await.expect("create again");
    assert_eq!(
        again.provider_service_id, id,
        "a retried create finds the property"
    );

    let mut deployed = false;
    for _ in 0..60 {
        match provider.status(&id).await.expect("status") {
            ProviderStatus::Deployed => {
                deployed = true;
                break;
            }
            ProviderStatus::DeployInProgress => tokio::time::sleep(Duration::from_secs(30)).await,
            other => panic!("activation ended {other:?}"),
        }
    }
    assert!(
        deployed,
        "the staging activation finished within 30 minutes"
    );

    let url = PurgeTarget::Url("/index.html".to_owned());
    provider
        .purge(&id, &service, &url, false)
        .await
        .expect("soft purge");
    provider
        .purge(&id, &service, &url, true)
        .await
        .expect("hard purge");

    provider.delete(&id, &service).await.expect("delete");
    provider.delete(&id, &service).await.expect("delete again");
    assert!(matches!(
        provider.status(&id).await,
        Err(PortError::NotFound(_))
    ));
}
