//! The driven adapters the use cases and flows work with, wired once by the
//! composition root.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::ports::{
    CdnProvider, CertificateStore, DnsManager, FlavorStore, JobBoard, LogDelivery, MetricsSource,
    Notifier, ServiceStore,
};

/// Configured CDN providers by name (the names flavors use).
#[derive(Clone, Default)]
pub struct Providers(BTreeMap<String, Arc<dyn CdnProvider>>);

impl Providers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a provider under its own [`CdnProvider::name`].
    pub fn with(mut self, provider: Arc<dyn CdnProvider>) -> Self {
        self.insert(provider);
        self
    }

    pub fn insert(&mut self, provider: Arc<dyn CdnProvider>) {
        self.0.insert(provider.name().to_owned(), provider);
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn CdnProvider>> {
        self.0.get(name)
    }

    pub fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Arc<dyn CdnProvider>)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// Every driven port, shared by the manager, the flows and the worker.
#[derive(Clone, Debug)]
pub struct Backends {
    pub store: Arc<dyn ServiceStore>,
    pub flavors: Arc<dyn FlavorStore>,
    pub jobs: Arc<dyn JobBoard>,
    pub dns: Arc<dyn DnsManager>,
    pub providers: Providers,
    pub notifier: Option<Arc<dyn Notifier>>,
    /// SSL certificate records and queues; `None` when the storage driver
    /// has none (certificate endpoints then answer 503).
    pub certificates: Option<Arc<dyn CertificateStore>>,
    /// Traffic metrics for analytics; `None` when no metrics backend is
    /// configured (analytics then answer 503).
    pub metrics: Option<Arc<dyn MetricsSource>>,
    /// Makes log-delivery containers (§5.2 step 3), whose URLs the flows
    /// add to every provider's details. `None` when no log-delivery driver
    /// is configured: a service's `log_delivery` setting is then stored and
    /// shown as given and no container is made.
    pub log_delivery: Option<Arc<dyn LogDelivery>>,
}

impl Backends {
    /// The log-delivery container service, if one is configured.
    pub fn log_delivery(&self) -> Option<&Arc<dyn LogDelivery>> {
        self.log_delivery.as_ref()
    }
}
