//! Ports: the traits the core depends on (driven) and offers (driving).
//!
//! Every driven port is `#[async_trait] pub trait X: Send + Sync + Debug + 'static`,
//! used as `Arc<dyn X>`, returning [`PortError`] whose kind tells the caller
//! what it can do about a failure. Each trait's doc has a "# Contract"
//! section; the conformance suites in `testkit::conformance` check it.

mod api;
mod certificates;
mod dns;
mod error;
mod jobs;
mod log_delivery;
mod metrics;
mod notify;
mod operator;
mod provider;
mod store;
mod transport;

pub use api::{
    AdminApi, Api, ComponentHealth, FlavorApi, HealthReport, ListQuery, PurgeQuery, ServiceApi,
    ServicePage, ServiceRef, StatusOutcome,
};
pub use certificates::{CertProvisioning, CertificateProvider, CertificateStore};
pub use dns::DnsManager;
pub use error::{BoxError, PortError};
pub use jobs::{JobBoard, JobStats};
pub use log_delivery::{
    current_auth_token, with_auth_token, LogDelivery, LogDeliveryUrl, WithAuthToken,
};
pub use metrics::{MetricPoint, MetricType, MetricsQuery, MetricsSource, RegionSeries};
pub use notify::{Notification, NotificationKind, Notifier};
pub use operator::{
    AccessUrlChange, AnalyticsApi, AnalyticsQuery, AnalyticsReport, BackgroundJobReport,
    CertificateApi, ConfigUpdate, OperatorApi, QueueUpdate, RetryRun,
};
pub use provider::{CdnProvider, ProviderCapabilities};
pub use store::{Current, FlavorStore, Revision, ServiceStore, Snapshot};
pub use transport::{Shutdown, Transport};

#[cfg(any(test, feature = "testkit"))]
pub use certificates::{MockCertificateProvider, MockCertificateStore};
#[cfg(any(test, feature = "testkit"))]
pub use dns::MockDnsManager;
#[cfg(any(test, feature = "testkit"))]
pub use jobs::MockJobBoard;
#[cfg(any(test, feature = "testkit"))]
pub use log_delivery::MockLogDelivery;
#[cfg(any(test, feature = "testkit"))]
pub use metrics::MockMetricsSource;
#[cfg(any(test, feature = "testkit"))]
pub use notify::MockNotifier;
#[cfg(any(test, feature = "testkit"))]
pub use provider::MockCdnProvider;
#[cfg(any(test, feature = "testkit"))]
pub use store::{MockFlavorStore, MockServiceStore};
