//! The service model of the reference (§4): what a tenant writes
//! ([`ServiceSpec`]), what Poppy keeps about it ([`Service`]), flavors,
//! provider details and jobs.

mod certificate;
mod flavor;
mod ids;
mod job;
mod provider;
mod service;
mod status;

pub use certificate::{
    certificate_job_key, CertConfigKind, CertDetails, CertExtraInfo, CertQueue, CertType,
    HostnameAction, RetryItem, SanMappingItem, SslCertificate,
};
pub use flavor::{Flavor, FlavorProvider};
pub use ids::{JobId, ProjectId, ServiceId};
pub use job::{AuthToken, Claim, Job, JobKind, PurgeTarget};
pub use provider::{AccessUrl, ProviderDeployment, ProviderDetail, ProviderLink};
pub use service::{
    Access, CachingRule, CertificateType, Domain, HostHeaderType, LogDelivery, Origin, Protocol,
    Restriction, Rule, Service, ServiceSpec,
};
pub use status::{CertStatus, OperatorStatus, ProviderStatus, ServiceStatus};

/// The rule every origin, caching entry and restriction rule defaults to.
pub const DEFAULT_REQUEST_URL: &str = "/*";
/// TTL of the default caching rule (`[drivers:provider] default_cache_ttl`).
pub const DEFAULT_CACHE_TTL: u32 = 86_400;
