//! What a Poppy service becomes on Fastly: domains, backends, VCL
//! conditions, 403 response objects and cache settings, all with names
//! derived from their position so that a re-applied plan updates the same
//! objects instead of adding new ones.
//!
//! Everything the service says is either expressed or refused: a part VCL
//! conditions (without ACLs or edge dictionaries) cannot express gives a
//! [`Refusal`] naming the field as a JSON pointer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use poppy_core::model::{
    Access, CertificateType, HostHeaderType, Protocol, Rule, Service, DEFAULT_CACHE_TTL,
    DEFAULT_REQUEST_URL,
};
use poppy_core::validate::geo;

use super::config::FastlyConfig;

/// Prefix of every object name the driver manages; objects without it
/// (added by hand on Fastly) are left alone.
pub(super) const MANAGED_PREFIX: &str = "poppy-";

/// Priority of restriction and caching conditions (Fastly's default).
const PRIORITY: u32 = 10;

/// One field of the service Fastly cannot express, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    /// JSON pointer into the service (`/restrictions/0/rules/1/client_ip`).
    pub path: String,
    pub reason: String,
}

/// A domain of the service and its access link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PlannedDomain {
    pub name: String,
    pub href: String,
    pub certificate: Option<CertificateType>,
}

/// `REQUEST` conditions select backends and response objects, `CACHE`
/// conditions select cache settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConditionType {
    Request,
    Cache,
}

impl ConditionType {
    fn as_str(self) -> &'static str {
        match self {
            ConditionType::Request => "REQUEST",
            ConditionType::Cache => "CACHE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Condition {
    pub name: String,
    pub statement: String,
    pub kind: ConditionType,
    pub priority: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Backend {
    pub name: String,
    pub address: String,
    pub port: u16,
    pub use_ssl: bool,
    /// Host header sent to the origin; `None` forwards the client's.
    pub override_host: Option<String>,
    /// Name checked against the origin's certificate (and sent as SNI).
    pub ssl_hostname: Option<String>,
    pub request_condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ResponseObject {
    pub name: String,
    pub content: String,
    pub request_condition: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CacheSetting {
    pub name: String,
    pub ttl: u32,
    /// `pass` for a TTL of 0 (never cache); otherwise only the TTL is set.
    pub pass: bool,
    pub cache_condition: String,
}

/// Everything the driver puts into a Fastly service version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    pub domains: Vec<PlannedDomain>,
    pub conditions: Vec<Condition>,
    pub backends: Vec<Backend>,
    pub response_objects: Vec<ResponseObject>,
    pub cache_settings: Vec<CacheSetting>,
    /// `general.default_ttl`: the TTL of the caching rule covering `/*`,
    /// else Poppy's default.
    pub default_ttl: u32,
}

/// A form body: field name and value.
pub(super) type Form = Vec<(&'static str, String)>;

impl Condition {
    pub fn form(&self) -> Form {
        vec![
            ("name", self.name.clone()),
            ("statement", self.statement.clone()),
            ("type", self.kind.as_str().to_owned()),
            ("priority", self.priority.to_string()),
        ]
    }
}

impl Backend {
    pub fn form(&self) -> Form {
        let mut form = vec![
            ("name", self.name.clone()),
            ("address", self.address.clone()),
            ("port", self.port.to_string()),
            ("use_ssl", self.use_ssl.to_string()),
            (
                "override_host",
                self.override_host.clone().unwrap_or_default(),
            ),
            (
                "request_condition",
                self.request_condition.clone().unwrap_or_default(),
            ),
        ];
        if let Some(host) = &self.ssl_hostname {
            form.push(("ssl_cert_hostname", host.clone()));
            form.push(("ssl_sni_hostname", host.clone()));
        }
        form
    }
}

impl ResponseObject {
    pub fn form(&self) -> Form {
        vec![
            ("name", self.name.clone()),
            ("status", "403".to_owned()),
            ("response", "Forbidden".to_owned()),
            ("content_type", "text/plain".to_owned()),
            ("content", self.content.clone()),
            ("request_condition", self.request_condition.clone()),
        ]
    }
}

impl CacheSetting {
    pub fn form(&self) -> Form {
        vec![
            ("name", self.name.clone()),
            ("action", if self.pass { "pass" } else { "" }.to_owned()),
            ("ttl", self.ttl.to_string()),
            ("stale_ttl", "0".to_owned()),
            ("cache_condition", self.cache_condition.clone()),
        ]
    }
}

/// The Fastly service name of a Poppy service.
pub(super) fn service_name(config: &FastlyConfig, service: &Service) -> String {
    format!("{}{}", config.service_name_prefix, service.id)
}

/// Builds the plan of `service`, or every field Fastly cannot express.
pub(super) fn plan(config: &FastlyConfig, service: &Service) -> Result<Plan, Vec<Refusal>> {
    let mut refusals = Vec::new();
    let spec = &service.spec;
    let mut plan = Plan {
        domains: Vec::new(),
        conditions: Vec::new(),
        backends: Vec::new(),
        response_objects: Vec::new(),
        cache_settings: Vec::new(),
        default_ttl: DEFAULT_CACHE_TTL,
    };

    for (i, domain) in spec.domains.iter().enumerate() {
        let suffix = match (domain.protocol, domain.certificate) {
            (Protocol::Http, _) => &config.http_link_suffix,
            (Protocol::Https, Some(CertificateType::Shared)) => &config.https_link_suffix,
            (Protocol::Https, other) => {
                let kind = other.map_or("none", |c| c.as_str());
                refusals.push(Refusal {
                    path: format!("/domains/{i}/certificate"),
                    reason: format!(
                        "Fastly TLS certificates are provisioned outside service versions; \
                         this driver serves http domains and https domains with the shared \
                         certificate only, not certificate '{kind}'"
                    ),
                });
                continue;
            }
        };
        plan.domains.push(PlannedDomain {
            name: domain.domain.clone(),
            href: format!("{}.{suffix}", domain.domain),
            certificate: domain.certificate,
        });
    }

    for (i, origin) in spec.origins.iter().enumerate() {
        let base = format!("/origins/{i}");
        let name = format!("{MANAGED_PREFIX}origin-{i}");
        let override_host = match origin.hostheadertype {
            HostHeaderType::Domain => None,
            HostHeaderType::Origin => Some(origin.origin.clone()),
            HostHeaderType::Custom => match &origin.hostheadervalue {
                Some(value) => Some(value.clone()),
                None => {
                    refusals.push(Refusal {
                        path: format!("{base}/hostheadervalue"),
                        reason: "a custom host header needs a value".to_owned(),
                    });
                    None
                }
            },
        };
        let paths = rule_paths(&origin.rules, &format!("{base}/rules"), &mut refusals);
        let request_condition =
            if paths.is_empty() || paths.iter().any(|p| p == DEFAULT_REQUEST_URL) {
                None
            } else {
                let statement = any_path(&paths, &format!("{base}/rules"), &mut refusals);
                plan.conditions.push(Condition {
                    name: name.clone(),
                    statement,
                    kind: ConditionType::Request,
                    // Later backend conditions win in Fastly's generated VCL.
                    priority: PRIORITY + u32::try_from(i).unwrap_or(0),
                });
                Some(name.clone())
            };
        let is_ip = origin.origin.parse::<IpAddr>().is_ok();
        plan.backends.push(Backend {
            name,
            address: origin.origin.clone(),
            port: origin.port,
            use_ssl: origin.ssl,
            override_host: override_host.clone(),
            ssl_hostname: (origin.ssl && !is_ip)
                .then(|| override_host.unwrap_or_else(|| origin.origin.clone())),
            request_condition,
        });
    }

    for (i, caching) in spec.caching.iter().enumerate() {
        let base = format!("/caching/{i}");
        let paths = rule_paths(&caching.rules, &format!("{base}/rules"), &mut refusals);
        if paths.iter().any(|p| p == DEFAULT_REQUEST_URL) {
            plan.default_ttl = caching.ttl;
            continue;
        }
        if paths.is_empty() {
            continue;
        }
        let name = format!("{MANAGED_PREFIX}cache-{i}");
        let statement = any_path(&paths, &format!("{base}/rules"), &mut refusals);
        plan.conditions.push(Condition {
            name: name.clone(),
            statement,
            kind: ConditionType::Cache,
            priority: PRIORITY,
        });
        plan.cache_settings.push(CacheSetting {
            name: name.clone(),
            ttl: caching.ttl,
            pass: caching.ttl == 0,
            cache_condition: name,
        });
    }

    restrictions(service, &mut plan, &mut refusals);
    if refusals.is_empty() {
        Ok(plan)
    } else {
        Err(refusals)
    }
}

/// What a restriction rule restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Entity {
    /// Only the request URL.
    Url,
    Referrer,
    ClientIp,
    Geography,
}

/// One restriction condition: rules of one restriction restricting the same
/// entity on the same path (all URL-only rules of a restriction together).
struct Group {
    entity: Entity,
    path: String,
    /// A VCL test per rule, matching what the rule names.
    tests: Vec<String>,
}

fn restrictions(service: &Service, plan: &mut Plan, refusals: &mut Vec<Refusal>) {
    for (i, restriction) in service.spec.restrictions.iter().enumerate() {
        let mut groups: Vec<Group> = Vec::new();
        for (j, rule) in restriction.rules.iter().enumerate() {
            let base = format!("/restrictions/{i}/rules/{j}");
            for (field, value) in [
                ("http_host", &rule.http_host),
                ("http_method", &rule.http_method),
            ] {
                if value.is_some() {
                    refusals.push(Refusal {
                        path: format!("{base}/{field}"),
                        reason: "restriction rules restrict a referrer, a client IP, a geography or a request URL".to_owned(),
                    });
                }
            }
            let set: Vec<Entity> = [
                (rule.referrer.is_some(), Entity::Referrer),
                (rule.client_ip.is_some(), Entity::ClientIp),
                (rule.geography.is_some(), Entity::Geography),
            ]
            .into_iter()
            .filter_map(|(on, e)| on.then_some(e))
            .collect();
            if set.len() > 1 {
                refusals.push(Refusal {
                    path: base.clone(),
                    reason: "a restriction rule restricts one of referrer, client_ip and geography"
                        .to_owned(),
                });
                continue;
            }
            let entity = set.first().copied().unwrap_or(Entity::Url);
            let path = normalise(&rule.request_url);
            let test = match entity {
                Entity::Url => path_test(&path, &format!("{base}/request_url"), refusals),
                Entity::Referrer => referrer_test(rule, &base, refusals),
                Entity::ClientIp => client_ip_test(rule, &base, refusals),
                Entity::Geography => geo_test(rule, &base, refusals),
            };
            let Some(test) = test else { continue };
            let key_path = if entity == Entity::Url {
                String::new()
            } else {
                path
            };
            match groups
                .iter_mut()
                .find(|g| g.entity == entity && g.path == key_path)
            {
                Some(group) => group.tests.push(test),
                None => groups.push(Group {
                    entity,
                    path: key_path,
                    tests: vec![test],
                }),
            }
        }
        for (g, group) in groups.iter().enumerate() {
            let any = group.tests.join(" || ");
            let denied = match (restriction.access, group.entity) {
                (Access::Whitelist, Entity::Url) => format!("!({any})"),
                (Access::Blacklist, Entity::Url) => format!("({any})"),
                // Requests without a referrer are let through, as by the
                // original driver: browsers omit it for direct visits.
                (Access::Whitelist, Entity::Referrer) => format!("req.http.referer && !({any})"),
                (Access::Whitelist, _) => format!("!({any})"),
                (Access::Blacklist, _) => format!("({any})"),
            };
            let statement = if group.entity == Entity::Url || group.path == DEFAULT_REQUEST_URL {
                denied
            } else {
                let scope = path_test(&group.path, &format!("/restrictions/{i}/rules"), refusals)
                    .unwrap_or_default();
                format!("{scope} && {denied}")
            };
            let name = format!("{MANAGED_PREFIX}restriction-{i}-{g}");
            plan.conditions.push(Condition {
                name: name.clone(),
                statement,
                kind: ConditionType::Request,
                priority: PRIORITY,
            });
            plan.response_objects.push(ResponseObject {
                name: name.clone(),
                content: format!(
                    "Forbidden by restriction '{}'",
                    restriction.name.replace(['\r', '\n'], " ")
                ),
                request_condition: name,
            });
        }
    }
}

/// The normalised request URLs of `rules` (leading `/`).
fn rule_paths(rules: &[Rule], base: &str, refusals: &mut Vec<Refusal>) -> Vec<String> {
    let mut paths = Vec::new();
    for (j, rule) in rules.iter().enumerate() {
        for (field, value) in [
            ("referrer", &rule.referrer),
            ("client_ip", &rule.client_ip),
            ("geography", &rule.geography),
            ("http_host", &rule.http_host),
            ("http_method", &rule.http_method),
        ] {
            if value.is_some() {
                refusals.push(Refusal {
                    path: format!("{base}/{j}/{field}"),
                    reason: "origin and caching rules select request URLs only".to_owned(),
                });
            }
        }
        paths.push(normalise(&rule.request_url));
    }
    paths
}

fn normalise(url: &str) -> String {
    if url.starts_with('/') {
        url.to_owned()
    } else {
        format!("/{url}")
    }
}

/// `req.url.path ~ "…" || …` for every path.
fn any_path(paths: &[String], base: &str, refusals: &mut Vec<Refusal>) -> String {
    paths
        .iter()
        .enumerate()
        .filter_map(|(j, p)| path_test(p, &format!("{base}/{j}/request_url"), refusals))
        .collect::<Vec<_>>()
        .join(" || ")
}

/// A VCL test matching the request path against a Poppy request URL, where
/// `*` matches anything.
fn path_test(path: &str, field: &str, refusals: &mut Vec<Refusal>) -> Option<String> {
    let mut regex = String::from("^");
    for c in path.chars() {
        match c {
            '*' => regex.push_str(".*"),
            c if "\\.+?()[]{}|^$".contains(c) => {
                regex.push('\\');
                regex.push(c);
            }
            c => regex.push(c),
        }
    }
    regex.push('$');
    vcl_string(&regex, field, refusals).map(|s| format!("req.url.path ~ {s}"))
}

/// A VCL long string (`{"…"}`), which takes any text but `"}` verbatim.
fn vcl_string(text: &str, field: &str, refusals: &mut Vec<Refusal>) -> Option<String> {
    if text.contains("\"}") || text.chars().any(char::is_control) {
        refusals.push(Refusal {
            path: field.to_owned(),
            reason: "contains characters a VCL string cannot hold (`\"}` or control characters)"
                .to_owned(),
        });
        return None;
    }
    Some(format!("{{\"{text}\"}}"))
}

fn referrer_test(rule: &Rule, base: &str, refusals: &mut Vec<Refusal>) -> Option<String> {
    let referrer = rule.referrer.as_deref()?;
    let host: String = referrer
        .trim()
        .to_ascii_lowercase()
        .chars()
        .flat_map(|c| {
            if c == '.' || c == '-' {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect();
    if host.is_empty()
        || !referrer
            .trim()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        refusals.push(Refusal {
            path: format!("{base}/referrer"),
            reason: format!("referrer {referrer:?} is not a domain name"),
        });
        return None;
    }
    // The referrer's host, or a subdomain of it, with any scheme and port.
    let regex = format!("^[a-z][a-z0-9+.-]*://([^/]*\\.)?{host}(:[0-9]+)?(/|$)");
    vcl_string(&regex, &format!("{base}/referrer"), refusals)
        .map(|s| format!("req.http.referer ~ {s}"))
}

fn client_ip_test(rule: &Rule, base: &str, refusals: &mut Vec<Refusal>) -> Option<String> {
    let raw = rule.client_ip.as_deref()?.trim();
    let field = format!("{base}/client_ip");
    let (address, prefix) = match raw.split_once('/') {
        Some((a, p)) => (a, p.parse::<u8>().ok()),
        None => (raw, None),
    };
    let refuse = |refusals: &mut Vec<Refusal>, reason: String| {
        refusals.push(Refusal {
            path: field.clone(),
            reason,
        });
        None
    };
    if raw.contains('/') && prefix.is_none() {
        return refuse(refusals, format!("{raw:?} has an invalid prefix length"));
    }
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => match prefix.unwrap_or(32) {
            32 => Some(format!("std.ip2str(client.ip) == \"{v4}\"")),
            bits @ (8 | 16 | 24) => Some(ipv4_prefix_test(v4, bits)),
            bits => refuse(
                refusals,
                format!(
                    "{raw}: without ACLs Fastly VCL matches IPv4 networks on octet boundaries \
                     only (/8, /16, /24, /32), not /{bits}"
                ),
            ),
        },
        Ok(IpAddr::V6(v6)) => match prefix.unwrap_or(128) {
            128 => Some(format!("std.ip2str(client.ip) == \"{}\"", canonical_v6(v6))),
            bits => refuse(
                refusals,
                format!("{raw}: without ACLs Fastly VCL matches single IPv6 addresses only, not /{bits} networks"),
            ),
        },
        Err(_) => refuse(refusals, format!("{raw:?} is not an IP address")),
    }
}

fn ipv4_prefix_test(address: Ipv4Addr, bits: u8) -> String {
    let octets = usize::from(bits / 8);
    let prefix: Vec<String> = address.octets()[..octets]
        .iter()
        .map(u8::to_string)
        .collect();
    format!("std.ip2str(client.ip) ~ {{\"^{}\\.\"}}", prefix.join("\\."))
}

/// RFC 5952 text, which is how Fastly prints addresses.
fn canonical_v6(address: Ipv6Addr) -> String {
    address.to_string()
}

fn geo_test(rule: &Rule, base: &str, refusals: &mut Vec<Refusal>) -> Option<String> {
    let name = rule.geography.as_deref()?;
    let field = format!("{base}/geography");
    let codes: Vec<&str> = if let Some(region) = geo::region(name) {
        region.countries.iter().filter_map(|c| c.code).collect()
    } else if let Some(country) = geo::country(name) {
        match country.code {
            Some(code) => vec![code],
            None => {
                refusals.push(Refusal {
                    path: field,
                    reason: format!("{name} has no ISO 3166 country code Fastly could match"),
                });
                return None;
            }
        }
    } else {
        refusals.push(Refusal {
            path: field,
            reason: format!("Country/Area {name} is not supported in geo zones"),
        });
        return None;
    };
    Some(format!(
        "client.geo.country_code ~ {{\"^({})$\"}}",
        codes.join("|")
    ))
}

/// The refusals as one message, every field named.
pub(super) fn refusal_message(refusals: &[Refusal]) -> String {
    let parts: Vec<String> = refusals
        .iter()
        .map(|r| format!("{}: {}", r.path, r.reason))
        .collect();
    format!("Fastly cannot express {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use poppy_core::model::{CachingRule, Domain, Origin, ProjectId, Restriction, ServiceSpec};

    fn service(spec: ServiceSpec) -> Service {
        Service::new(ProjectId::new("p"), spec, 0)
    }

    fn base_spec() -> ServiceSpec {
        ServiceSpec {
            name: "site".to_owned(),
            domains: vec![Domain::http("www.example.com")],
            origins: vec![Origin {
                origin: "origin.example.com".to_owned(),
                port: 80,
                ssl: false,
                rules: vec![Rule::default_rule()],
                hostheadertype: HostHeaderType::Domain,
                hostheadervalue: None,
            }],
            caching: vec![CachingRule {
                name: "default".to_owned(),
                ttl: 3600,
                rules: vec![Rule::default_rule()],
            }],
            restrictions: Vec::new(),
            flavor_id: "f".to_owned(),
            log_delivery: Default::default(),
        }
    }

    #[test]
    fn default_rules_need_no_conditions() {
        let plan = plan(&FastlyConfig::default(), &service(base_spec())).expect("plan");
        assert!(plan.conditions.is_empty(), "{plan:?}");
        assert_eq!(plan.default_ttl, 3600);
        assert_eq!(plan.backends[0].request_condition, None);
        assert_eq!(
            plan.domains[0].href,
            "www.example.com.global.prod.fastly.net"
        );
    }

    #[test]
    fn paths_become_anchored_regexes() {
        let mut refusals = Vec::new();
        assert_eq!(
            path_test("/images/*.jpg", "/x", &mut refusals).as_deref(),
            Some(r#"req.url.path ~ {"^/images/.*\.jpg$"}"#)
        );
        assert!(refusals.is_empty());
    }

    #[test]
    fn a_whitelisted_ipv4_network_on_an_octet_boundary_is_a_regex() {
        let mut spec = base_spec();
        let mut rule = Rule::new("office", "/admin/*");
        rule.client_ip = Some("192.0.2.0/24".to_owned());
        spec.restrictions = vec![Restriction {
            name: "office".to_owned(),
            access: Access::Whitelist,
            rules: vec![rule],
        }];
        let plan = plan(&FastlyConfig::default(), &service(spec)).expect("plan");
        assert_eq!(
            plan.conditions[0].statement,
            r#"req.url.path ~ {"^/admin/.*$"} && !(std.ip2str(client.ip) ~ {"^192\.0\.2\."})"#
        );
        assert_eq!(
            plan.response_objects[0].request_condition,
            plan.conditions[0].name
        );
    }

    #[test]
    fn what_vcl_cannot_express_is_refused_with_its_path() {
        let mut spec = base_spec();
        let mut rule = Rule::new("odd", "/*");
        rule.client_ip = Some("192.0.2.0/23".to_owned());
        spec.restrictions = vec![Restriction {
            name: "r".to_owned(),
            access: Access::Blacklist,
            rules: vec![rule],
        }];
        spec.domains.push(Domain {
            domain: "secure.example.com".to_owned(),
            protocol: Protocol::Https,
            certificate: Some(CertificateType::San),
        });
        let refusals = plan(&FastlyConfig::default(), &service(spec)).expect_err("refused");
        let paths: Vec<&str> = refusals.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/domains/1/certificate",
                "/restrictions/0/rules/0/client_ip"
            ]
        );
    }
}
