//! Flavor use cases (§2.7).

use async_trait::async_trait;
use serde_json::Value;

use super::Manager;
use crate::error::{Error, Result};
use crate::model::Flavor;
use crate::ports::{FlavorApi, PortError};
use crate::validate;

#[async_trait]
impl FlavorApi for Manager {
    async fn list_flavors(&self) -> Result<Vec<Flavor>> {
        Ok(self.backends.flavors.list().await?)
    }

    async fn get_flavor(&self, id: &str) -> Result<Flavor> {
        self.backends
            .flavors
            .get(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("Could not find a flavor with the id '{id}'")))
    }

    async fn create_flavor(&self, body: Value) -> Result<Flavor> {
        let flavor =
            validate::flavor(&body, &self.backends.providers.names()).map_err(Error::Validation)?;
        match self.backends.flavors.create(&flavor).await {
            Ok(()) => Ok(flavor),
            Err(PortError::Conflict(_)) => Err(Error::BadRequest(format!(
                "A flavor with the id '{}' already exists",
                flavor.id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Always succeeds, as in the original (a missing flavor is not an error).
    async fn delete_flavor(&self, id: &str) -> Result<()> {
        Ok(self.backends.flavors.delete(id).await?)
    }
}
