//! A hand-written in-memory implementation of the three driving ports: it
//! records every call, answers from canned data and can be told to fail,
//! panic, hang or wait at a gate.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use poppy_core::model::{
    Access, AccessUrl, CachingRule, CertStatus, CertificateType, Domain, Flavor, FlavorProvider,
    HostHeaderType, LogDelivery, OperatorStatus, Origin, ProjectId, Protocol, ProviderDetail,
    ProviderStatus, Restriction, Rule, Service, ServiceId, ServiceSpec, ServiceStatus,
};
use poppy_core::model::{CertConfigKind, CertType, SslCertificate};
use poppy_core::ports::{
    AccessUrlChange, AnalyticsApi, AnalyticsQuery, AnalyticsReport, BackgroundJobReport,
    CertificateApi, ConfigUpdate, MetricPoint, MetricType, OperatorApi, QueueUpdate, RetryRun,
};
use poppy_core::ports::{
    AdminApi, Api, ComponentHealth, FlavorApi, HealthReport, ListQuery, PurgeQuery, ServiceApi,
    ServicePage, ServiceRef, Snapshot, StatusOutcome,
};
use poppy_core::{Error, Result};
use serde_json::Value;
use tokio::sync::Notify;

pub const PROJECT: &str = "000001";
pub const SERVICE_ID: &str = "96c4e9ab-4d5e-4f63-9a0f-5d7f3a1b2c3d";
pub const CREATED_ID: &str = "0b1c2d3e-0000-4000-8000-000000000001";

/// What the transport asked of the ports.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    CreateService {
        project: String,
        body: Value,
    },
    ListServices {
        project: String,
        query: ListQuery,
    },
    GetService {
        project: String,
        id: String,
    },
    PatchService {
        project: String,
        id: String,
        patch: Value,
    },
    DeleteService {
        project: String,
        id: String,
    },
    PurgeService {
        project: String,
        id: String,
        query: PurgeQuery,
    },
    Ping,
    Health,
    ListFlavors,
    GetFlavor(String),
    CreateFlavor(Value),
    DeleteFlavor(String),
    ServicesByStatus(Option<String>),
    ServiceAction(Value),
    SetServiceStatus(Value),
    ServiceByDomain(String),
    DomainsByProviderUrl(Option<String>),
    GetLimit(String),
    SetLimit(String, Value),
    /// A certificate, analytics or operator call: its method name and its
    /// arguments as JSON.
    Operator(&'static str, Value),
}

type Failure = Box<dyn Fn() -> Error + Send + Sync>;

/// Lets a test hold `get_service` in flight: the fake notifies `entered`
/// and waits for `release`.
#[derive(Clone, Default)]
pub struct Gate {
    pub entered: Arc<Notify>,
    pub release: Arc<Notify>,
}

pub struct Fake {
    calls: Mutex<Vec<Call>>,
    failure: Mutex<Option<Failure>>,
    pub services: Mutex<Vec<Service>>,
    pub next_marker: Mutex<Option<ServiceId>>,
    pub flavors: Mutex<Vec<Flavor>>,
    pub ping_ok: AtomicBool,
    pub health: Mutex<HealthReport>,
    pub status_outcome: Mutex<StatusOutcome>,
    pub limit: AtomicU32,
    pub refs: Mutex<Vec<ServiceRef>>,
    pub domains: Mutex<Vec<String>>,
    pub panic_on_get: AtomicBool,
    pub hang_on_get: AtomicBool,
    pub gate: Mutex<Option<Gate>>,
}

impl Default for Fake {
    fn default() -> Self {
        Self {
            calls: Mutex::default(),
            failure: Mutex::default(),
            services: Mutex::new(vec![sample_service()]),
            next_marker: Mutex::default(),
            flavors: Mutex::new(vec![sample_flavor()]),
            ping_ok: AtomicBool::new(true),
            health: Mutex::new(healthy()),
            status_outcome: Mutex::new(StatusOutcome::StatusSet),
            limit: AtomicU32::new(20),
            refs: Mutex::default(),
            domains: Mutex::default(),
            panic_on_get: AtomicBool::new(false),
            hang_on_get: AtomicBool::new(false),
            gate: Mutex::default(),
        }
    }
}

impl Fake {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn api(self: &Arc<Self>) -> Api {
        Api::from_one(self.clone())
    }

    /// Every fallible call fails with what `make` builds.
    pub fn fail_with(&self, make: impl Fn() -> Error + Send + Sync + 'static) {
        *self.failure.lock().unwrap() = Some(Box::new(make));
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn last_call(&self) -> Option<Call> {
        self.calls.lock().unwrap().last().cloned()
    }

    fn record(&self, call: Call) -> Result<()> {
        self.calls.lock().unwrap().push(call);
        match self.failure.lock().unwrap().as_ref() {
            Some(make) => Err(make()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl ServiceApi for Fake {
    async fn create_service(&self, project: &ProjectId, body: Value) -> Result<ServiceId> {
        self.record(Call::CreateService {
            project: project.to_string(),
            body,
        })?;
        Ok(CREATED_ID.parse().unwrap())
    }

    async fn list_services(&self, project: &ProjectId, query: ListQuery) -> Result<ServicePage> {
        self.record(Call::ListServices {
            project: project.to_string(),
            query: query.clone(),
        })?;
        let limit = query.limit.and_then(|l| l.parse().ok()).unwrap_or(10);
        Ok(ServicePage {
            services: self
                .services
                .lock()
                .unwrap()
                .iter()
                .cloned()
                .map(Snapshot::unrevised)
                .collect(),
            limit,
            next_marker: *self.next_marker.lock().unwrap(),
        })
    }

    async fn get_service(&self, project: &ProjectId, id: &ServiceId) -> Result<Arc<Service>> {
        if self.panic_on_get.load(Ordering::SeqCst) {
            panic!("fake get_service told to panic");
        }
        if self.hang_on_get.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let gate = self.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate.entered.notify_one();
            gate.release.notified().await;
        }
        self.record(Call::GetService {
            project: project.to_string(),
            id: id.to_string(),
        })?;
        self.services
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.id == *id)
            .cloned()
            .map(Arc::new)
            .ok_or_else(|| Error::NotFound(format!("service {id} could not be found")))
    }

    async fn patch_service(&self, project: &ProjectId, id: &ServiceId, patch: Value) -> Result<()> {
        self.record(Call::PatchService {
            project: project.to_string(),
            id: id.to_string(),
            patch,
        })
    }

    async fn delete_service(&self, project: &ProjectId, id: &ServiceId) -> Result<()> {
        self.record(Call::DeleteService {
            project: project.to_string(),
            id: id.to_string(),
        })
    }

    async fn purge_service(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        query: PurgeQuery,
    ) -> Result<()> {
        self.record(Call::PurgeService {
            project: project.to_string(),
            id: id.to_string(),
            query,
        })
    }

    async fn ping(&self) -> bool {
        self.calls.lock().unwrap().push(Call::Ping);
        self.ping_ok.load(Ordering::SeqCst)
    }

    async fn health(&self) -> HealthReport {
        self.calls.lock().unwrap().push(Call::Health);
        self.health.lock().unwrap().clone()
    }
}

#[async_trait]
impl FlavorApi for Fake {
    async fn list_flavors(&self) -> Result<Vec<Flavor>> {
        self.record(Call::ListFlavors)?;
        Ok(self.flavors.lock().unwrap().clone())
    }

    async fn get_flavor(&self, id: &str) -> Result<Flavor> {
        self.record(Call::GetFlavor(id.to_owned()))?;
        self.flavors
            .lock()
            .unwrap()
            .iter()
            .find(|f| f.id == id)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("Could not find a flavor with the id '{id}'")))
    }

    async fn create_flavor(&self, body: Value) -> Result<Flavor> {
        self.record(Call::CreateFlavor(body.clone()))?;
        let id = body["id"].as_str().unwrap_or("made-up").to_owned();
        Ok(Flavor {
            id,
            providers: vec![FlavorProvider {
                provider: "mock".into(),
                provider_url: "www.mock.com".into(),
            }],
            limits: None,
        })
    }

    async fn delete_flavor(&self, id: &str) -> Result<()> {
        self.record(Call::DeleteFlavor(id.to_owned()))
    }
}

#[async_trait]
impl AdminApi for Fake {
    async fn services_by_status(&self, status: Option<&str>) -> Result<Vec<ServiceRef>> {
        self.record(Call::ServicesByStatus(status.map(str::to_owned)))?;
        Ok(self.refs.lock().unwrap().clone())
    }

    async fn service_action(&self, body: Value) -> Result<()> {
        self.record(Call::ServiceAction(body))
    }

    async fn set_service_status(&self, body: Value) -> Result<StatusOutcome> {
        self.record(Call::SetServiceStatus(body))?;
        Ok(*self.status_outcome.lock().unwrap())
    }

    async fn service_by_domain(&self, domain: &str) -> Result<Service> {
        self.record(Call::ServiceByDomain(domain.to_owned()))?;
        self.services
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.domain_names().any(|d| d == domain))
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("Domain {domain} cannot be found")))
    }

    async fn domains_by_provider_url(&self, provider_url: Option<&str>) -> Result<Vec<String>> {
        self.record(Call::DomainsByProviderUrl(provider_url.map(str::to_owned)))?;
        Ok(self.domains.lock().unwrap().clone())
    }

    async fn get_limit(&self, project: &str) -> Result<u32> {
        self.record(Call::GetLimit(project.to_owned()))?;
        Ok(self.limit.load(Ordering::SeqCst))
    }

    async fn set_limit(&self, project: &str, body: Value) -> Result<()> {
        self.record(Call::SetLimit(project.to_owned(), body))
    }
}

#[async_trait]
impl CertificateApi for Fake {
    async fn create_certificate(&self, project: &ProjectId, body: Value) -> Result<()> {
        self.record(Call::Operator(
            "create_certificate",
            serde_json::json!({"project": project, "body": body}),
        ))
    }

    async fn get_certificate(&self, project: &ProjectId, domain: &str) -> Result<SslCertificate> {
        self.record(Call::Operator(
            "get_certificate",
            serde_json::json!({"project": project, "domain": domain}),
        ))?;
        Ok(SslCertificate::new(
            project.clone(),
            "standard",
            domain,
            CertType::San,
            0,
        ))
    }

    async fn delete_certificate(
        &self,
        project: &ProjectId,
        domain: &str,
        cert_type: Option<&str>,
    ) -> Result<()> {
        self.record(Call::Operator(
            "delete_certificate",
            serde_json::json!({"project": project, "domain": domain, "cert_type": cert_type}),
        ))
    }
}

#[async_trait]
impl AnalyticsApi for Fake {
    async fn analytics(
        &self,
        project: &ProjectId,
        service_id: &str,
        query: AnalyticsQuery,
    ) -> Result<AnalyticsReport> {
        self.record(Call::Operator(
            "analytics",
            serde_json::json!({"project": project, "service_id": service_id,
                               "domain": query.domain, "metricType": query.metric_type}),
        ))?;
        let points = vec![MetricPoint {
            timestamp: 0,
            value: 3.0,
        }];
        Ok(AnalyticsReport {
            domain: query.domain.unwrap_or_default(),
            metric: MetricType::RequestCount,
            series: BTreeMap::from([("EMEA".to_owned(), points)]),
            provider: "akamai".into(),
            flavor: "standard".into(),
        })
    }
}

#[async_trait]
impl OperatorApi for Fake {
    async fn patch_provider_details(
        &self,
        service_id: &str,
        body: Value,
    ) -> Result<AccessUrlChange> {
        self.record(Call::Operator(
            "patch_provider_details",
            serde_json::json!({"service_id": service_id, "body": body}),
        ))?;
        Ok(AccessUrlChange::Changed)
    }

    async fn certificates_by_status(&self, status: Option<&str>) -> Result<Vec<String>> {
        self.record(Call::Operator(
            "certificates_by_status",
            serde_json::json!(status),
        ))?;
        Ok(self.domains.lock().unwrap().clone())
    }

    async fn patch_certificate_status(&self, domain: &str, body: Value) -> Result<()> {
        self.record(Call::Operator(
            "patch_certificate_status",
            serde_json::json!({"domain": domain, "body": body}),
        ))
    }

    async fn migrate_domain(&self, provider: &str, body: Value) -> Result<()> {
        self.record(Call::Operator(
            "migrate_domain",
            serde_json::json!({"provider": provider, "body": body}),
        ))
    }

    async fn background_job(&self, provider: &str, body: Value) -> Result<BackgroundJobReport> {
        self.record(Call::Operator(
            "background_job",
            serde_json::json!({"provider": provider, "body": body}),
        ))?;
        Ok(BackgroundJobReport {
            sent: vec![],
            ignored: vec![],
        })
    }

    async fn san_mapping(&self, provider: &str) -> Result<Vec<Value>> {
        self.record(Call::Operator("san_mapping", serde_json::json!(provider)))?;
        Ok(vec![])
    }

    async fn replace_san_mapping(&self, provider: &str, body: Value) -> Result<QueueUpdate> {
        self.record(Call::Operator(
            "replace_san_mapping",
            serde_json::json!({"provider": provider, "body": body}),
        ))?;
        Ok(QueueUpdate {
            queue: vec![],
            deleted: vec![],
        })
    }

    async fn retry_list(&self, provider: &str) -> Result<Vec<Value>> {
        self.record(Call::Operator("retry_list", serde_json::json!(provider)))?;
        Ok(vec![])
    }

    async fn replace_retry_list(&self, provider: &str, body: Value) -> Result<QueueUpdate> {
        self.record(Call::Operator(
            "replace_retry_list",
            serde_json::json!({"provider": provider, "body": body}),
        ))?;
        Ok(QueueUpdate {
            queue: vec![],
            deleted: vec![],
        })
    }

    async fn rerun_retry_list(&self, provider: &str) -> Result<RetryRun> {
        self.record(Call::Operator(
            "rerun_retry_list",
            serde_json::json!(provider),
        ))?;
        Ok(RetryRun {
            processing: vec![],
            failed_validation: vec![],
        })
    }

    async fn certificate_config(
        &self,
        provider: &str,
        kind: CertConfigKind,
        name: &str,
    ) -> Result<Value> {
        self.record(Call::Operator(
            "certificate_config",
            serde_json::json!({"provider": provider, "kind": kind.as_str(), "name": name}),
        ))?;
        Ok(serde_json::json!({}))
    }

    async fn update_certificate_config(
        &self,
        provider: &str,
        kind: CertConfigKind,
        name: &str,
        body: Value,
    ) -> Result<ConfigUpdate> {
        self.record(Call::Operator(
            "update_certificate_config",
            serde_json::json!({"provider": provider, "kind": kind.as_str(), "name": name, "body": body}),
        ))?;
        Ok(ConfigUpdate::Updated(body))
    }
}

// ---------------------------------------------------------------- fixtures

pub fn rule(name: &str, request_url: &str) -> Rule {
    Rule::new(name, request_url)
}

pub fn https(domain: &str, certificate: Option<CertificateType>) -> Domain {
    Domain {
        domain: domain.into(),
        protocol: Protocol::Https,
        certificate,
    }
}

/// The service of reference §2.6.3, with every rendering rule exercised.
pub fn sample_service() -> Service {
    let mut referrer = rule("mywebsite.com", "/*");
    referrer.referrer = Some("www.mywebsite.com".into());
    let mut office = rule("office", "/*");
    // Set out of rendering order, to show the order comes from the view.
    office.client_ip = Some("203.0.113.0/24".into());
    office.http_method = Some("GET".into());
    office.http_host = Some("h.example".into());
    let mut geo = rule("us only", "/*");
    geo.geography = Some("USA".into());

    let spec = ServiceSpec {
        name: "mywebsite.com & <co>".into(),
        domains: vec![
            Domain::http("www.mywebsite.com"),
            https(
                "secure.scdn3.secure.poppycdn.net",
                Some(CertificateType::Shared),
            ),
            https("shop.mywebsite.com", Some(CertificateType::San)),
            https("api.mywebsite.com", Some(CertificateType::Sni)),
        ],
        origins: vec![
            Origin {
                origin: "mywebsite1.com".into(),
                port: 80,
                ssl: false,
                rules: vec![Rule::default_rule()],
                hostheadertype: HostHeaderType::Custom,
                hostheadervalue: Some("www.customweb.com".into()),
            },
            Origin {
                origin: "1.2.3.4".into(),
                port: 443,
                ssl: true,
                rules: vec![rule("images", "/images/*")],
                hostheadertype: HostHeaderType::Domain,
                hostheadervalue: None,
            },
        ],
        caching: vec![
            CachingRule {
                name: "default".into(),
                ttl: 3600,
                rules: vec![Rule::default_rule()],
            },
            CachingRule {
                name: "bare".into(),
                ttl: 60,
                rules: vec![],
            },
        ],
        restrictions: vec![Restriction {
            name: "website only".into(),
            access: Access::Whitelist,
            rules: vec![referrer, office, geo],
        }],
        flavor_id: "standard".into(),
        log_delivery: LogDelivery { enabled: true },
    };

    let mut detail = ProviderDetail::new(ProviderStatus::Deployed);
    detail.provider_service_id = Some("akamai-1".into());
    detail.access_urls = vec![
        AccessUrl {
            domain: "www.mywebsite.com".into(),
            provider_url: Some("www.mywebsite.com.edgesuite.net".into()),
            operator_url: Some("www.mywebsite.com.cdn3.poppycdn.net".into()),
            shared_ssl_flag: false,
            old_operator_url: None,
        },
        AccessUrl {
            domain: "shop.mywebsite.com".into(),
            provider_url: None,
            operator_url: None,
            shared_ssl_flag: false,
            old_operator_url: Some("shop.mywebsite.com.cdn3.poppycdn.net".into()),
        },
    ];
    detail.log_delivery_urls = vec!["https://swift.example/v1/AUTH_x/.CDN_ACCESS_LOGS".into()];
    detail
        .domains_certificate_status
        .insert("shop.mywebsite.com".into(), CertStatus::CreateInProgress);

    let mut service = Service::new(ProjectId::new(PROJECT), spec, 0);
    service.id = SERVICE_ID.parse().unwrap();
    service.status = ServiceStatus::Deployed;
    service.operator_status = OperatorStatus::Enabled;
    service.provider_details = BTreeMap::from([("akamai".to_owned(), detail)]);
    service
}

pub fn sample_flavor() -> Flavor {
    Flavor {
        id: "standard".into(),
        providers: vec![FlavorProvider {
            provider: "akamai".into(),
            provider_url: "http://www.akamai.com".into(),
        }],
        limits: None,
    }
}

fn component(name: &str, online: bool) -> ComponentHealth {
    ComponentHealth {
        name: name.into(),
        online,
    }
}

pub fn healthy() -> HealthReport {
    HealthReport {
        storage: component("SQLite", true),
        distributed_task: component("sqlite", true),
        dns: component("default", true),
        providers: vec![component("Akamai", true), component("mock", true)],
    }
}

pub fn one_provider_down() -> HealthReport {
    let mut report = healthy();
    report.providers[1].online = false;
    report
}
