//! Flavors: named sets of providers a service deploys to (§2.7, §4.5).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlavorProvider {
    /// The provider's configured name (`mock`, `akamai`…).
    pub provider: String,
    /// The first `provider_url` link of the flavor request.
    pub provider_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub providers: Vec<FlavorProvider>,
    /// Accepted and returned as given; not interpreted (as in the original).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<serde_json::Value>,
}
