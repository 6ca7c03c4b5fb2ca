//! Response bodies. Each view is a struct whose field order is the key order
//! of the reference (§2.5, §2.6.3, §2.7), so no JSON map ordering is relied on.

use poppy_core::model::{
    CachingRule, Domain, Flavor, Origin, Protocol, Restriction, Rule, Service,
};
use poppy_core::ports::{ComponentHealth, HealthReport};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use utoipa::ToSchema;

use crate::extract::Links;

/// `{"href", "rel"}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Link {
    href: String,
    #[schema(value_type = crate::openapi::schema::LinkRel)]
    rel: &'static str,
}

impl Link {
    pub(crate) fn new(href: String, rel: &'static str) -> Self {
        Self { href, rel }
    }
}

/// Percent-encodes what RFC 3986 allows neither as unreserved nor as a
/// delimiter (the original's `uri.encode`): `%` itself and anything outside
/// ASCII graphic characters become `%XX` per UTF-8 byte.
pub(crate) fn encode_uri(uri: &str) -> String {
    const DELIMITERS: &[u8] = b":/?#[]@!$&'()*+,;=";
    let keep = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b) || DELIMITERS.contains(&b);
    if uri.bytes().all(keep) {
        return uri.to_owned();
    }
    let mut out = String::with_capacity(uri.len() + 8);
    for b in uri.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------- services

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceView<'a> {
    name: &'a str,
    id: String,
    project_id: &'a str,
    domains: Vec<DomainView<'a>>,
    origins: Vec<OriginView<'a>>,
    restrictions: Vec<RestrictionView<'a>>,
    caching: Vec<CachingView<'a>>,
    flavor_id: &'a str,
    log_delivery: LogDeliveryView,
    #[schema(value_type = crate::openapi::schema::ServiceStatus)]
    status: &'static str,
    errors: Vec<MessageView<'a>>,
    links: Vec<Link>,
}

#[derive(Debug, Serialize, ToSchema)]
struct DomainView<'a> {
    domain: &'a str,
    #[schema(value_type = crate::openapi::schema::Protocol)]
    protocol: &'static str,
    /// Present (possibly `null`) only for https domains.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::schema::CertificateType>)]
    certificate: Option<Option<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::openapi::schema::CertificateStatus)]
    certificate_status: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
struct OriginView<'a> {
    origin: &'a str,
    port: u16,
    ssl: bool,
    rules: Vec<RuleView<'a>>,
    #[schema(value_type = crate::openapi::schema::HostHeaderType)]
    hostheadertype: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostheadervalue: Option<&'a str>,
}

#[derive(Debug, Serialize, ToSchema)]
struct RuleView<'a> {
    name: &'a str,
    request_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    referrer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    geography: Option<&'a str>,
}

#[derive(Debug, Serialize, ToSchema)]
struct CachingView<'a> {
    name: &'a str,
    ttl: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rules: Vec<RuleView<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
struct RestrictionView<'a> {
    name: &'a str,
    #[schema(value_type = crate::openapi::schema::Access)]
    access: &'static str,
    rules: Vec<RuleView<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
struct LogDeliveryView {
    enabled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
struct MessageView<'a> {
    message: &'a str,
}

fn rule_view(rule: &Rule) -> RuleView<'_> {
    RuleView {
        name: &rule.name,
        request_url: &rule.request_url,
        http_host: rule.http_host.as_deref(),
        http_method: rule.http_method.as_deref(),
        client_ip: rule.client_ip.as_deref(),
        referrer: rule.referrer.as_deref(),
        geography: rule.geography.as_deref(),
    }
}

fn rules_view(rules: &[Rule]) -> Vec<RuleView<'_>> {
    rules.iter().map(rule_view).collect()
}

fn origin_view(origin: &Origin) -> OriginView<'_> {
    OriginView {
        origin: &origin.origin,
        port: origin.port,
        ssl: origin.ssl,
        rules: rules_view(&origin.rules),
        hostheadertype: origin.hostheadertype.as_str(),
        hostheadervalue: origin.hostheadervalue.as_deref(),
    }
}

fn caching_view(rule: &CachingRule) -> CachingView<'_> {
    CachingView {
        name: &rule.name,
        ttl: rule.ttl,
        rules: rules_view(&rule.rules),
    }
}

fn restriction_view(restriction: &Restriction) -> RestrictionView<'_> {
    RestrictionView {
        name: &restriction.name,
        access: restriction.access.as_str(),
        rules: rules_view(&restriction.rules),
    }
}

/// Certificate status of an https domain (§2.6.3): `deployed` for shared
/// certificates; otherwise what the provider details record (the last
/// provider that has details wins, unrecorded → `deployed`), and
/// `create_in_progress` while no provider has reported yet.
fn certificate_status(service: &Service, domain: &Domain) -> &'static str {
    if domain.is_shared_ssl() {
        return "deployed";
    }
    service
        .provider_details
        .values()
        .last()
        .map(|detail| {
            detail
                .domains_certificate_status
                .get(&domain.domain)
                .map_or("deployed", |s| s.as_str())
        })
        .unwrap_or("create_in_progress")
}

fn domain_view<'a>(service: &Service, domain: &'a Domain) -> DomainView<'a> {
    let https = domain.protocol == Protocol::Https;
    DomainView {
        domain: &domain.domain,
        protocol: domain.protocol.as_str(),
        certificate: https.then(|| domain.certificate.map(|c| c.as_str())),
        certificate_status: https.then(|| certificate_status(service, domain)),
    }
}

impl<'a> ServiceView<'a> {
    pub(crate) fn new(service: &'a Service, links: &Links) -> Self {
        let spec = &service.spec;
        let mut link_list = vec![
            Link::new(links.link(&format!("/services/{}", service.id)), "self"),
            Link::new(
                links.link(&format!("/flavors/{}", spec.flavor_id)),
                "flavor",
            ),
        ];
        let mut errors = Vec::new();
        for detail in service.provider_details.values() {
            link_list.extend(
                detail
                    .access_urls
                    .iter()
                    .filter_map(|url| url.operator_url.clone())
                    .map(|href| Link::new(href, "access_url")),
            );
            link_list.extend(
                detail
                    .log_delivery_urls
                    .iter()
                    .map(|href| Link::new(href.clone(), "log_delivery")),
            );
            if let Some(message) = detail.error_message.as_ref().filter(|m| !m.is_empty()) {
                errors.push(MessageView { message });
            }
        }
        Self {
            name: &spec.name,
            id: service.id.to_string(),
            project_id: service.project_id.as_str(),
            domains: spec
                .domains
                .iter()
                .map(|d| domain_view(service, d))
                .collect(),
            origins: spec.origins.iter().map(origin_view).collect(),
            restrictions: spec.restrictions.iter().map(restriction_view).collect(),
            caching: spec.caching.iter().map(caching_view).collect(),
            flavor_id: &spec.flavor_id,
            log_delivery: LogDeliveryView {
                enabled: spec.log_delivery.enabled,
            },
            status: service.display_status(),
            errors,
            links: link_list,
        }
    }
}

// ----------------------------------------------------------------- flavors

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FlavorView {
    id: String,
    providers: Vec<FlavorProviderView>,
    /// Whatever the flavor was created with.
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<serde_json::Value>,
    links: Vec<Link>,
}

#[derive(Debug, Serialize, ToSchema)]
struct FlavorProviderView {
    provider: String,
    links: Vec<Link>,
}

impl FlavorView {
    pub(crate) fn new(flavor: &Flavor, links: &Links) -> Self {
        Self {
            id: flavor.id.clone(),
            providers: flavor
                .providers
                .iter()
                .map(|p| FlavorProviderView {
                    provider: p.provider.clone(),
                    links: vec![Link::new(p.provider_url.clone(), "provider_url")],
                })
                .collect(),
            limits: flavor.limits.clone(),
            links: vec![Link::new(
                links.link(&format!("/flavors/{}", flavor.id)),
                "self",
            )],
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FlavorListView {
    flavors: Vec<FlavorView>,
}

impl FlavorListView {
    pub(crate) fn new(flavors: &[Flavor], links: &Links) -> Self {
        Self {
            flavors: flavors.iter().map(|f| FlavorView::new(f, links)).collect(),
        }
    }
}

// ------------------------------------------------------------------ health

/// The original's string booleans (§9.2 #17, kept for compatibility).
fn online(up: bool) -> &'static str {
    if up {
        "true"
    } else {
        "false"
    }
}

/// `GET /health/{kind}/{name}`: `{"online": "true"|"false"}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ComponentView {
    #[schema(value_type = crate::openapi::schema::Online)]
    online: &'static str,
}

impl ComponentView {
    pub(crate) fn new(component: &ComponentHealth) -> Self {
        Self {
            online: online(component.online),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
struct ComponentEntry {
    #[schema(value_type = crate::openapi::schema::Online)]
    online: &'static str,
    /// One link object, not a list (as the original).
    links: Link,
}

/// A JSON object whose keys keep the order given.
#[derive(Debug)]
struct OrderedMap<V>(Vec<(String, V)>);

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// `GET /health` (§2.5): components keyed by their lower-case name.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HealthView {
    #[schema(value_type = std::collections::BTreeMap<String, ComponentEntry>)]
    dns: OrderedMap<ComponentEntry>,
    #[schema(value_type = std::collections::BTreeMap<String, ComponentEntry>)]
    storage: OrderedMap<ComponentEntry>,
    #[schema(value_type = std::collections::BTreeMap<String, ComponentEntry>)]
    distributed_task: OrderedMap<ComponentEntry>,
    #[schema(value_type = std::collections::BTreeMap<String, ComponentEntry>)]
    providers: OrderedMap<ComponentEntry>,
}

impl HealthView {
    pub(crate) fn new(report: &HealthReport, links: &Links) -> Self {
        let entry = |kind: &str, c: &ComponentHealth| {
            let name = c.name.to_lowercase();
            let href = links.link(&format!("/health/{kind}/{name}"));
            (
                name,
                ComponentEntry {
                    online: online(c.online),
                    links: Link::new(href, "self"),
                },
            )
        };
        Self {
            dns: OrderedMap(vec![entry("dns", &report.dns)]),
            storage: OrderedMap(vec![entry("storage", &report.storage)]),
            distributed_task: OrderedMap(vec![entry("distributed_task", &report.distributed_task)]),
            providers: OrderedMap(
                report
                    .providers
                    .iter()
                    .map(|p| entry("provider", p))
                    .collect(),
            ),
        }
    }
}

// ------------------------------------------------------------------- admin

/// `GET /admin/domains?provider_url=…`: `[{"domain_name": …}]`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DomainNameView {
    domain_name: String,
}

impl DomainNameView {
    pub(crate) fn new(domain_name: String) -> Self {
        Self { domain_name }
    }
}

/// `GET /admin/limits/{project}`: `{"limit": n}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LimitView {
    limit: u32,
}

impl LimitView {
    pub(crate) fn new(limit: u32) -> Self {
        Self { limit }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_keeps_delimiters_and_escapes_the_rest() {
        assert_eq!(
            encode_uri("http://h:80/v1.0/flavors/a-b_c.d~e?x=1&y=[2]"),
            "http://h:80/v1.0/flavors/a-b_c.d~e?x=1&y=[2]"
        );
        assert_eq!(encode_uri("/flavors/a b%é"), "/flavors/a%20b%25%C3%A9");
    }
}
