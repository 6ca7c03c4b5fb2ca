//! Valid values in one call: specs, services, flavors, provider details, jobs.
//!
//! Domains made here are unique (random labels), so tests and suites can
//! run repeatedly against a backend that keeps data between runs.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::memory::{DEFAULT_LINK_SUFFIX, DEFAULT_PROVIDER_NAME, DEFAULT_SHARD_SUFFIX};
use crate::clock;
use crate::model::{
    Access, AccessUrl, CachingRule, CertStatus, CertificateType, Domain, Flavor, FlavorProvider,
    HostHeaderType, Job, JobKind, LogDelivery, OperatorStatus, Origin, ProjectId, Protocol,
    ProviderDetail, ProviderStatus, Restriction, Rule, Service, ServiceId, ServiceSpec,
    ServiceStatus, DEFAULT_CACHE_TTL,
};

/// The flavor id [`spec`] and [`service`] use; [`flavor`] makes it.
pub const FLAVOR_ID: &str = "standard";

/// The origin of every fixture spec.
pub const ORIGIN: &str = "origin.example.org";

/// A short random lower-case label (`t` + 12 hex digits).
pub fn unique_label() -> String {
    let hex = Uuid::new_v4().simple().to_string();
    format!("t{}", &hex[..12])
}

/// A fresh valid domain name, `www.<random>.com`.
pub fn unique_domain() -> String {
    format!("www.{}.com", unique_label())
}

/// `n` fresh domain names.
pub fn unique_domains(n: usize) -> Vec<String> {
    (0..n).map(|_| unique_domain()).collect()
}

/// A valid spec with `domains` (http), one origin, the default caching
/// rule, flavor [`FLAVOR_ID`].
pub fn spec(domains: &[&str]) -> ServiceSpec {
    ServiceSpec {
        name: "fixture-service".to_owned(),
        domains: domains.iter().map(|d| Domain::http(*d)).collect(),
        origins: vec![Origin {
            origin: ORIGIN.to_owned(),
            port: 80,
            ssl: false,
            rules: vec![Rule::default_rule()],
            hostheadertype: HostHeaderType::Domain,
            hostheadervalue: None,
        }],
        caching: vec![CachingRule {
            name: "default".to_owned(),
            ttl: DEFAULT_CACHE_TTL,
            rules: vec![Rule::default_rule()],
        }],
        restrictions: Vec::new(),
        flavor_id: FLAVOR_ID.to_owned(),
        log_delivery: LogDelivery::default(),
    }
}

/// A new service (`create_in_progress`, version 1) of `project` with two
/// fresh domains.
pub fn service(project: &ProjectId) -> Service {
    let domains = unique_domains(2);
    let names: Vec<&str> = domains.iter().map(String::as_str).collect();
    service_with_domains(project, &names)
}

/// A new service of `project` with exactly `domains`.
pub fn service_with_domains(project: &ProjectId, domains: &[&str]) -> Service {
    Service::new(project.clone(), spec(domains), clock::now_ms())
}

/// A service with every field set to a non-default value: https SAN and
/// shared domains, two origins, caching and restriction rules, log
/// delivery, two providers' details (one failed), `deployed` and
/// operator-disabled. For round-trip tests of stores.
pub fn rich_service(project: &ProjectId) -> Service {
    let label = unique_label();
    let www = format!("www.{label}.com");
    let secure = format!("secure.{label}.com");
    let shared = format!("{label}.scdn1.{DEFAULT_SHARD_SUFFIX}");
    let mut referrer = Rule::new("referrer rule", "/images/*");
    referrer.referrer = Some("partner.example.com".to_owned());
    let mut client_ip = Rule::new("office", "/admin/*");
    client_ip.client_ip = Some("192.0.2.0/24".to_owned());
    let spec = ServiceSpec {
        name: format!("rich service {label}"),
        domains: vec![
            Domain::http(www.clone()),
            Domain {
                domain: secure.clone(),
                protocol: Protocol::Https,
                certificate: Some(CertificateType::San),
            },
            Domain {
                domain: shared.clone(),
                protocol: Protocol::Https,
                certificate: Some(CertificateType::Shared),
            },
        ],
        origins: vec![
            Origin {
                origin: ORIGIN.to_owned(),
                port: 443,
                ssl: true,
                rules: vec![Rule::default_rule()],
                hostheadertype: HostHeaderType::Custom,
                hostheadervalue: Some("host.example.org".to_owned()),
            },
            Origin {
                origin: "images.example.org".to_owned(),
                port: 80,
                ssl: false,
                rules: vec![Rule::new("images", "/images/*")],
                hostheadertype: HostHeaderType::Origin,
                hostheadervalue: None,
            },
        ],
        caching: vec![
            CachingRule {
                name: "default".to_owned(),
                ttl: 3600,
                rules: vec![Rule::default_rule()],
            },
            CachingRule {
                name: "images".to_owned(),
                ttl: 0,
                rules: vec![Rule::new("images", "/images/*")],
            },
        ],
        restrictions: vec![
            Restriction {
                name: "partners only".to_owned(),
                access: Access::Whitelist,
                rules: vec![referrer],
            },
            Restriction {
                name: "no office".to_owned(),
                access: Access::Blacklist,
                rules: vec![client_ip],
            },
        ],
        flavor_id: format!("flavor-{label}"),
        log_delivery: LogDelivery { enabled: true },
    };
    let mut deployed = ProviderDetail::new(ProviderStatus::Deployed);
    deployed.provider_service_id = Some(format!("pid-{label}"));
    deployed.access_urls = vec![
        AccessUrl {
            domain: www.clone(),
            provider_url: Some(format!("{www}.{DEFAULT_LINK_SUFFIX}")),
            operator_url: Some(format!("{www}.cdn.poppy.test")),
            shared_ssl_flag: false,
            old_operator_url: None,
        },
        AccessUrl {
            domain: shared.clone(),
            provider_url: Some(format!("{shared}.{DEFAULT_LINK_SUFFIX}")),
            operator_url: Some(shared.clone()),
            shared_ssl_flag: true,
            old_operator_url: None,
        },
        AccessUrl {
            domain: secure.clone(),
            provider_url: None,
            operator_url: None,
            shared_ssl_flag: false,
            old_operator_url: Some(format!("{secure}.cdn.poppy.test")),
        },
    ];
    deployed.log_delivery_urls = vec![format!("https://logs.example.org/{label}")];
    deployed.domains_certificate_status =
        BTreeMap::from([(secure.clone(), CertStatus::CreateInProgress)]);
    let mut failed = ProviderDetail::new(ProviderStatus::Deployed);
    failed.provider_service_id = Some(format!("other-{label}"));
    failed.set_error("it broke", "detail for operators");
    failed.error_class = Some("poppy.tests.Broken".to_owned());
    let now = clock::now_ms();
    Service {
        id: ServiceId::new_random(),
        project_id: project.clone(),
        spec,
        status: ServiceStatus::Deployed,
        operator_status: OperatorStatus::Disabled,
        provider_details: BTreeMap::from([
            (DEFAULT_PROVIDER_NAME.to_owned(), deployed),
            ("second".to_owned(), failed),
        ]),
        version: 1,
        created_at: now - 5_000,
        updated_at: now,
    }
}

/// Deployed details whose access URLs point every domain at `provider_url`.
pub fn provider_detail(domains: &[&str], provider_url: &str) -> ProviderDetail {
    let mut detail = ProviderDetail::new(ProviderStatus::Deployed);
    detail.provider_service_id = Some(format!("pid-{}", unique_label()));
    detail.access_urls = domains
        .iter()
        .map(|d| AccessUrl {
            domain: (*d).to_owned(),
            provider_url: Some(provider_url.to_owned()),
            operator_url: Some(format!("{d}.cdn.poppy.test")),
            shared_ssl_flag: false,
            old_operator_url: None,
        })
        .collect();
    detail
}

/// Flavor [`FLAVOR_ID`] with the default [`MemoryProvider`](super::memory::MemoryProvider).
pub fn flavor() -> Flavor {
    flavor_with(FLAVOR_ID, &[DEFAULT_PROVIDER_NAME])
}

/// A flavor `id` listing `providers` (by name).
pub fn flavor_with(id: &str, providers: &[&str]) -> Flavor {
    Flavor {
        id: id.to_owned(),
        providers: providers
            .iter()
            .map(|p| FlavorProvider {
                provider: (*p).to_owned(),
                provider_url: format!("https://{p}.example.com"),
            })
            .collect(),
        limits: None,
    }
}

/// A flavor with a fresh random id.
pub fn unique_flavor() -> Flavor {
    let mut flavor = flavor_with(
        &format!("flavor-{}", unique_label()),
        &[DEFAULT_PROVIDER_NAME],
    );
    flavor.limits = Some(serde_json::json!({"max_services": 10}));
    flavor
}

/// A `create_service` job for `service`, due now.
pub fn job(service: &Service) -> Job {
    job_of(service, JobKind::CreateService)
}

/// A job of `kind` for `service`, due now.
pub fn job_of(service: &Service, kind: JobKind) -> Job {
    Job::new(
        service.project_id.clone(),
        service.id,
        kind,
        clock::now_ms(),
    )
}

/// A `create_service` job for a service that need not exist, due now.
pub fn job_for(project: &ProjectId, service_id: ServiceId) -> Job {
    Job::new(
        project.clone(),
        service_id,
        JobKind::CreateService,
        clock::now_ms(),
    )
}
