//! The driver as the registry builds it from `[[providers]]` options.

use poppy_adapters::{Registry, RegistryError};
use poppy_core::model::ProjectId;
use poppy_core::testkit::fixtures;

use crate::fake::{
    Fake, ACCESS_TOKEN, CLIENT_SECRET, CLIENT_TOKEN, CONTRACT, EMAIL, GROUP, PRODUCT,
};

fn options(toml_text: &str) -> toml::Table {
    match toml_text.parse() {
        Ok(t) => t,
        Err(e) => panic!("test options parse: {e}"),
    }
}

#[tokio::test]
async fn the_registry_builds_the_driver_from_its_options() {
    let fake = Fake::start(0).await;
    let table = options(&format!(
        r#"
        host = "{}"
        client_token = "{CLIENT_TOKEN}"
        client_secret = "{CLIENT_SECRET}"
        access_token = "{ACCESS_TOKEN}"
        contract_id = "{CONTRACT}"
        group_id = "{GROUP}"
        product_id = "{PRODUCT}"
        activation_emails = ["{EMAIL}"]
        cp_code = 99
        "#,
        fake.server.uri()
    ));
    let provider = match Registry::builtin().provider("akamai", "akamai-eu", &table) {
        Ok(p) => p,
        Err(e) => panic!("builds: {e}"),
    };
    assert_eq!(provider.name(), "akamai-eu");
    assert!(provider.capabilities().purge_all);
    assert!(provider.is_alive().await);
    let created = provider
        .create(&fixtures::service(&ProjectId::random()))
        .await;
    assert!(created.is_ok(), "{created:?}");
}

#[test]
fn bad_options_are_named_and_never_show_a_secret() {
    let registry = Registry::builtin();
    let unknown = options("policy_api_base_url = 'https://x'");
    let err = registry.provider("akamai", "akamai", &unknown).err();
    assert!(
        matches!(&err, Some(RegistryError::Options { .. })),
        "{err:?}"
    );
    let missing = options(&format!(
        "host = 'https://akab.example.net'\nclient_token = '{CLIENT_TOKEN}'\n\
         client_secret = '{CLIENT_SECRET}'\naccess_token = '{ACCESS_TOKEN}'\ncontract_id = 'ctr_1'"
    ));
    let err = registry
        .provider("akamai", "akamai", &missing)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("group_id"), "{err}");
    assert!(!err.contains(CLIENT_SECRET), "{err}");
}
