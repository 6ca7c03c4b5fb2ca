//! A flow's persisted progress (the job's `progress` JSON).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{AccessUrl, ProviderDeployment};

/// A step that failed for good (not retried).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFailure {
    /// Shown to the tenant in the service's `errors`.
    pub message: String,
    /// Detail for operators.
    pub info: String,
    /// Kind of error (`provider`, `dns`…).
    pub class: String,
}

/// What the steps of one job have done so far, by provider name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Provider create/update results.
    #[serde(default)]
    pub deployments: BTreeMap<String, ProviderDeployment>,
    /// DNS results.
    #[serde(default)]
    pub access_urls: BTreeMap<String, Vec<AccessUrl>>,
    /// Providers that failed for good.
    #[serde(default)]
    pub failures: BTreeMap<String, StepFailure>,
    /// Other finished steps (`delete:<provider>`, `purge:<provider>`…).
    #[serde(default)]
    pub done: BTreeSet<String>,
    /// Times the flow asked a provider whether a rollout finished; these
    /// runs are not failed attempts.
    #[serde(default)]
    pub polls: u32,
}

impl Progress {
    /// Reads a job's progress; `null` or an unreadable value starts afresh
    /// (every step is idempotent, so repeating one is safe).
    pub fn load(value: &serde_json::Value) -> Self {
        if value.is_null() {
            return Self::default();
        }
        serde_json::from_value(value.clone()).unwrap_or_default()
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
