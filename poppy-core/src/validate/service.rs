//! The service body (§2.6.1, §3): shape checks per field, then the
//! functional rules across fields, then normalisation and defaults.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::domain::{
    is_root_domain, is_shared_label, is_valid_domain, is_valid_origin, root_domain_message,
};
use super::fields::{self, index, join, Errors};
use super::net::is_valid_client_ip;
use super::{geo, Mode, Options};
use crate::error::FieldError;
use crate::model::{
    Access, CachingRule, CertificateType, Domain, HostHeaderType, LogDelivery, Origin, Protocol,
    Restriction, Rule, ServiceSpec, DEFAULT_REQUEST_URL,
};

const SERVICE_KEYS: &[&str] = &[
    "name",
    "domains",
    "origins",
    "caching",
    "restrictions",
    "flavor_id",
    "log_delivery",
];
const DOMAIN_KEYS: &[&str] = &["domain", "protocol", "certificate"];
const ORIGIN_KEYS: &[&str] = &[
    "origin",
    "port",
    "ssl",
    "rules",
    "hostheadertype",
    "hostheadervalue",
];
const PATH_RULE_KEYS: &[&str] = &["name", "request_url"];
const CACHING_KEYS: &[&str] = &["name", "ttl", "rules"];
const RESTRICTION_KEYS: &[&str] = &["name", "access", "rules"];
const RESTRICTION_RULE_KEYS: &[&str] =
    &["name", "request_url", "referrer", "geography", "client_ip"];
const LOG_DELIVERY_KEYS: &[&str] = &["enabled"];

const MAX_TTL: i64 = 31_536_000;

/// Paths are compared as if they started with `/` (`*` and `/*` collide).
fn normalise_path(url: &str) -> String {
    if url.starts_with('/') {
        url.to_owned()
    } else {
        format!("/{url}")
    }
}

pub(super) fn validate(
    body: &Value,
    mode: Mode,
    options: &Options,
) -> Result<ServiceSpec, Vec<FieldError>> {
    let mut e = Errors::default();
    let Some(map) = fields::object(&mut e, body, "", SERVICE_KEYS) else {
        return Err(e.into_vec());
    };

    let name = fields::required(&mut e, map, "name", "")
        .and_then(|v| fields::string(&mut e, v, "/name", 3, Some(256)))
        .map(str::to_owned);
    let domains = fields::required(&mut e, map, "domains", "").and_then(|v| domains(&mut e, v));
    let origins = fields::required(&mut e, map, "origins", "").and_then(|v| origins(&mut e, v));
    if let (Some(domains), Some(origins)) = (&domains, &origins) {
        domains_are_not_origins(&mut e, domains, origins);
    }
    let caching = caching(&mut e, map.get("caching"), mode, options);
    let restrictions = match map.get("restrictions") {
        None => Some(Vec::new()),
        Some(v) => restrictions(&mut e, v),
    };
    let flavor_id = fields::required(&mut e, map, "flavor_id", "")
        .and_then(|v| fields::string(&mut e, v, "/flavor_id", 1, Some(256)))
        .map(str::to_owned);
    let log_delivery = match map.get("log_delivery") {
        None => Some(LogDelivery { enabled: false }),
        Some(v) => log_delivery(&mut e, v),
    };

    if !e.is_empty() {
        return Err(e.into_vec());
    }
    match (
        name,
        domains,
        origins,
        caching,
        restrictions,
        flavor_id,
        log_delivery,
    ) {
        (
            Some(name),
            Some(domains),
            Some(origins),
            Some(caching),
            Some(restrictions),
            Some(flavor_id),
            Some(log_delivery),
        ) => Ok(ServiceSpec {
            name,
            domains: domains.into_iter().map(|d| d.domain).collect(),
            origins: origins.into_iter().map(|o| o.origin).collect(),
            caching,
            restrictions,
            flavor_id,
            log_delivery,
        }),
        // Every reader records an error before giving up, so this is only
        // reachable through a bug in this module.
        _ => Err(vec![FieldError::new(
            "",
            "the body could not be validated (internal validation error)",
        )]),
    }
}

// ----- domains -------------------------------------------------------------

struct DomainItem {
    path: String,
    /// As given: the original compares domains for uniqueness unnormalised.
    raw: String,
    domain: Domain,
}

fn domains(e: &mut Errors, v: &Value) -> Option<Vec<DomainItem>> {
    let items = fields::array(e, v, "/domains", 1, Some(10))?;
    // Items that fail are left out (their errors are recorded): the rest
    // still serve the uniqueness and domain/origin checks.
    let out: Vec<DomainItem> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| domain(e, item, &index("/domains", i)))
        .collect();
    let mut seen = HashSet::new();
    for d in &out {
        if !seen.insert(d.raw.as_str()) {
            e.push(
                &join(&d.path, "domain"),
                format!("The domain {} already exists on another service", d.raw),
            );
        }
    }
    Some(out)
}

fn domain(e: &mut Errors, v: &Value, path: &str) -> Option<DomainItem> {
    let map = fields::object(e, v, path, DOMAIN_KEYS)?;
    let name = fields::required(e, map, "domain", path)
        .and_then(|v| fields::string(e, v, &join(path, "domain"), 3, Some(253)));

    let protocol = match map.get("protocol") {
        None => {
            if map.contains_key("certificate") {
                e.push(
                    &join(path, "certificate"),
                    "is only allowed together with \"protocol\"",
                );
                None
            } else {
                Some((Protocol::Http, None))
            }
        }
        Some(p) => match fields::one_of(e, p, &join(path, "protocol"), &["http", "https"]) {
            Some("https") => certificate(e, map, path).map(|c| (Protocol::Https, Some(c))),
            Some(_) => match map.get("certificate") {
                None | Some(Value::Null) => Some((Protocol::Http, None)),
                Some(other) => {
                    e.push(
                        &join(path, "certificate"),
                        format!("must be null when protocol is \"http\" (got {other})"),
                    );
                    None
                }
            },
            None => None,
        },
    };

    let name = name?;
    let shared = matches!(
        protocol,
        Some((Protocol::Https, Some(CertificateType::Shared)))
    );
    let domain_path = join(path, "domain");
    let valid = if shared {
        is_shared_label(name)
    } else {
        is_valid_domain(name)
    };
    if !valid {
        e.push(&domain_path, format!("Domain {name} is not valid"));
        return None;
    }
    // A shared-SSL domain is a single label that gets a shard suffix, so
    // the root-domain rule does not apply to it.
    if !shared && is_root_domain(name) {
        e.push(&domain_path, root_domain_message(name));
        return None;
    }
    let (protocol, certificate) = protocol?;
    Some(DomainItem {
        path: path.to_owned(),
        raw: name.to_owned(),
        // Lower-casing is a no-op once the grammar accepted the name; it is
        // kept so the stored form never depends on that grammar.
        domain: Domain {
            domain: name.trim().to_lowercase(),
            protocol,
            certificate,
        },
    })
}

fn certificate(e: &mut Errors, map: &Map<String, Value>, path: &str) -> Option<CertificateType> {
    let v = map.get("certificate");
    let Some(v) = v.filter(|v| !v.is_null()) else {
        e.push(
            &join(path, "certificate"),
            "is required when protocol is \"https\" (one of \"shared\", \"san\", \"sni\", \"custom\")",
        );
        return None;
    };
    let choices: Vec<&str> = CertificateType::ALL.iter().map(|c| c.as_str()).collect();
    fields::one_of(e, v, &join(path, "certificate"), &choices)
        .and_then(|s| s.parse::<CertificateType>().ok())
}

// ----- origins -------------------------------------------------------------

struct OriginItem {
    path: String,
    /// The rules' error paths, parallel to `origin.rules`.
    rule_paths: Vec<String>,
    origin: Origin,
}

fn origins(e: &mut Errors, v: &Value) -> Option<Vec<OriginItem>> {
    let items = fields::array(e, v, "/origins", 1, Some(10))?;
    let mut out: Vec<OriginItem> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(o) = origin(e, item, &index("/origins", i), i == 0) {
            out.push(o);
        }
    }

    let mut hosts = HashSet::new();
    for o in &out {
        let scheme = if o.origin.ssl { "https" } else { "http" };
        let key = format!("{scheme}://{}", o.origin.origin);
        if !hosts.insert(key.clone()) {
            e.push(
                &join(&o.path, "origin"),
                format!("The origin {key} already exists for another origin on this service"),
            );
        }
    }

    let mut paths = HashSet::new();
    for o in &out {
        for (rule, rule_path) in o.origin.rules.iter().zip(&o.rule_paths) {
            let url = normalise_path(&rule.request_url);
            if !paths.insert(url.clone()) {
                e.push(
                    rule_path,
                    format!("The path {url} already exists for another origin on this service"),
                );
            }
        }
    }
    Some(out)
}

fn origin(e: &mut Errors, v: &Value, path: &str, first: bool) -> Option<OriginItem> {
    let map = fields::object(e, v, path, ORIGIN_KEYS)?;
    let origin_path = join(path, "origin");
    let host = fields::required(e, map, "origin", path)
        .and_then(|v| fields::string(e, v, &origin_path, 3, Some(253)))
        .and_then(|o| {
            if is_valid_origin(o) {
                Some(o)
            } else {
                e.push(&origin_path, format!("Origin {o} is not valid"));
                None
            }
        });

    let port = match map.get("port") {
        None => Some(80),
        Some(v) => match v.as_u64() {
            Some(p @ (80 | 443)) => u16::try_from(p).ok(),
            _ => {
                e.push(
                    &join(path, "port"),
                    format!("must be one of 80, 443 (got {v})"),
                );
                None
            }
        },
    };
    let ssl = match map.get("ssl") {
        None => Some(false),
        Some(v) => fields::boolean(e, v, &join(path, "ssl")),
    };

    let header_type = match map.get("hostheadertype") {
        None => Some(HostHeaderType::Domain),
        Some(v) => {
            let choices: Vec<&str> = HostHeaderType::ALL.iter().map(|h| h.as_str()).collect();
            fields::one_of(e, v, &join(path, "hostheadertype"), &choices)
                .and_then(|s| s.parse::<HostHeaderType>().ok())
        }
    };
    let header_value = host_header_value(e, map, path, header_type);

    let (rules, rule_paths) =
        path_rules(e, map.get("rules"), &join(path, "rules"), first, "origin")?;

    let host = host?;
    let header_type = header_type?;
    let header_value = header_value?;
    Some(OriginItem {
        path: path.to_owned(),
        rule_paths,
        origin: Origin {
            origin: host.trim().to_owned(),
            port: port?,
            ssl: ssl?,
            rules,
            hostheadertype: header_type,
            hostheadervalue: match header_type {
                HostHeaderType::Origin => Some(host.trim().to_owned()),
                _ => header_value,
            },
        },
    })
}

/// `Some(value)` when acceptable (the inner option is the value, if any).
fn host_header_value(
    e: &mut Errors,
    map: &Map<String, Value>,
    path: &str,
    header_type: Option<HostHeaderType>,
) -> Option<Option<String>> {
    let value_path = join(path, "hostheadervalue");
    match (map.get("hostheadervalue"), header_type) {
        (None | Some(Value::Null), Some(HostHeaderType::Custom)) => {
            e.push(&value_path, "is required when hostheadertype is \"custom\"");
            None
        }
        (None | Some(Value::Null), _) => Some(None),
        // With `origin` the value is replaced by the origin itself, so what
        // was given does not matter (a stored IPv4 origin would otherwise
        // fail the domain check on the next PATCH).
        (Some(_), Some(HostHeaderType::Origin)) => Some(None),
        (Some(v), ty) => {
            let min = if ty == Some(HostHeaderType::Custom) {
                3
            } else {
                1
            };
            let s = fields::string(e, v, &value_path, min, Some(253))?;
            if is_valid_domain(s) {
                Some(Some(s.to_owned()))
            } else {
                e.push(&value_path, format!("The host header {s} is not valid"));
                None
            }
        }
    }
}

/// The `{name, request_url}` rules of an origin or caching entry. The first
/// entry of the list may omit them (it then gets the default `/*` rule);
/// later entries need at least one. Returns the rules with each one's
/// error path.
fn path_rules(
    e: &mut Errors,
    v: Option<&Value>,
    path: &str,
    first: bool,
    what: &str,
) -> Option<(Vec<Rule>, Vec<String>)> {
    let items = match v {
        None if first => &[][..],
        None => {
            e.push(
                path,
                format!("is required: every {what} after the first needs at least one rule"),
            );
            return None;
        }
        Some(v) => {
            let items = fields::array(e, v, path, if first { 0 } else { 1 }, None)?;
            if !first && items.is_empty() {
                return None;
            }
            items
        }
    };
    if items.is_empty() {
        return Some((vec![Rule::default_rule()], vec![path.to_owned()]));
    }
    // Rules that read are returned even when others did not, so that path
    // clashes among them are reported alongside the broken ones.
    let mut rules = Vec::with_capacity(items.len());
    let mut paths = Vec::with_capacity(items.len());
    for (j, item) in items.iter().enumerate() {
        let rule_path = index(path, j);
        let Some(map) = fields::object(e, item, &rule_path, PATH_RULE_KEYS) else {
            continue;
        };
        let name = fields::required(e, map, "name", &rule_path)
            .and_then(|v| fields::trimmed_string(e, v, &join(&rule_path, "name"), 1, 256));
        let url_path = join(&rule_path, "request_url");
        let url = fields::required(e, map, "request_url", &rule_path)
            .and_then(|v| fields::trimmed_string(e, v, &url_path, 1, 1024));
        if let (Some(name), Some(url)) = (name, url) {
            rules.push(Rule::new(name, url));
            paths.push(url_path);
        }
    }
    Some((rules, paths))
}

fn domains_are_not_origins(e: &mut Errors, domains: &[DomainItem], origins: &[OriginItem]) {
    let hosts: HashSet<String> = origins
        .iter()
        .map(|o| o.origin.origin.trim().to_lowercase())
        .collect();
    for d in domains {
        let name = d.raw.trim().to_lowercase();
        if hosts.contains(&name) {
            e.push(
                &join(&d.path, "domain"),
                format!("Domains and origins cannot be same: {name}"),
            );
        }
    }
}

// ----- caching -------------------------------------------------------------

fn caching(
    e: &mut Errors,
    v: Option<&Value>,
    mode: Mode,
    options: &Options,
) -> Option<Vec<CachingRule>> {
    let default_entry = || CachingRule {
        name: "default".to_owned(),
        ttl: options.default_cache_ttl,
        rules: vec![Rule::default_rule()],
    };
    let Some(v) = v else {
        return Some(match mode {
            Mode::Create => vec![default_entry()],
            Mode::Update => Vec::new(),
        });
    };
    let items = fields::array(e, v, "/caching", 0, None)?;
    if items.is_empty() {
        return Some(match mode {
            Mode::Create => vec![default_entry()],
            Mode::Update => Vec::new(),
        });
    }

    for (j, item) in items.iter().enumerate() {
        if let Some(i) = items[..j].iter().position(|earlier| earlier == item) {
            e.push(
                &index("/caching", j),
                format!("caching entries must be unique: this one repeats /caching/{i}"),
            );
        }
    }

    let mut out = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    let mut complete = true;
    for (i, item) in items.iter().enumerate() {
        let path = index("/caching", i);
        let Some(map) = fields::object(e, item, &path, CACHING_KEYS) else {
            complete = false;
            continue;
        };
        let name = fields::required(e, map, "name", &path)
            .and_then(|v| fields::trimmed_string(e, v, &join(&path, "name"), 1, 256));
        let ttl = fields::required(e, map, "ttl", &path)
            .and_then(|v| fields::integer(e, v, &join(&path, "ttl"), 0, MAX_TTL))
            .and_then(|t| u32::try_from(t).ok());
        let rules = path_rules(
            e,
            map.get("rules"),
            &join(&path, "rules"),
            i == 0,
            "caching entry",
        );
        if let Some((rules, paths)) = &rules {
            for (rule, rule_path) in rules.iter().zip(paths) {
                let url = normalise_path(&rule.request_url);
                if !seen.insert(url.clone()) {
                    e.push(
                        rule_path,
                        format!(
                            "The path {url} already exists for another caching rule on this service"
                        ),
                    );
                }
            }
        }
        match (name, ttl, rules) {
            (Some(name), Some(ttl), Some((rules, _))) => out.push(CachingRule { name, ttl, rules }),
            _ => complete = false,
        }
    }
    complete.then_some(out)
}

// ----- restrictions ----------------------------------------------------------

/// What a restriction rule matches on; the black/white conflict rule is
/// per kind, not per value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Entity {
    Referrer,
    Geography,
    ClientIp,
}

impl Entity {
    const ALL: [Entity; 3] = [Entity::Referrer, Entity::Geography, Entity::ClientIp];

    fn key(self) -> &'static str {
        match self {
            Entity::Referrer => "referrer",
            Entity::Geography => "geography",
            Entity::ClientIp => "client_ip",
        }
    }
}

fn restrictions(e: &mut Errors, v: &Value) -> Option<Vec<Restriction>> {
    let items = fields::array(e, v, "/restrictions", 0, None)?;
    let mut out = Vec::with_capacity(items.len());
    let mut complete = true;
    // (normalised url, entity) → the accesses seen for it so far.
    let mut seen: HashMap<(String, Entity), (bool, bool)> = HashMap::new();
    let mut reported = HashSet::new();

    for (i, item) in items.iter().enumerate() {
        let path = index("/restrictions", i);
        let Some(map) = fields::object(e, item, &path, RESTRICTION_KEYS) else {
            complete = false;
            continue;
        };
        let name = fields::required(e, map, "name", &path)
            .and_then(|v| fields::trimmed_string(e, v, &join(&path, "name"), 1, 256));
        // A missing access is whitelist, both in the model and in the
        // conflict check (the original's checker used blacklist, §9.2 #9).
        let access = match map.get("access") {
            None => Some(Access::Whitelist),
            Some(v) => fields::one_of(e, v, &join(&path, "access"), &["whitelist", "blacklist"])
                .and_then(|s| s.parse::<Access>().ok()),
        };
        let rules_path = join(&path, "rules");
        let rules = fields::required(e, map, "rules", &path)
            .and_then(|v| fields::array(e, v, &rules_path, 0, None));

        let mut parsed = Vec::new();
        let mut rules_ok = rules.is_some();
        for (j, rule) in rules.unwrap_or_default().iter().enumerate() {
            let rule_path = index(&rules_path, j);
            match restriction_rule(e, rule, &rule_path) {
                Some((rule, entity)) => {
                    if let Some(access) = access {
                        let url = normalise_path(&rule.request_url);
                        let entry = seen.entry((url.clone(), entity)).or_default();
                        match access {
                            Access::Whitelist => entry.0 = true,
                            Access::Blacklist => entry.1 = true,
                        }
                        if entry.0 && entry.1 && reported.insert((url.clone(), entity)) {
                            e.push(
                                &rule_path,
                                format!(
                                    "Cannot blacklist and whitelist {} on {url} at the same time",
                                    entity.key()
                                ),
                            );
                        }
                    }
                    parsed.push(rule);
                }
                None => rules_ok = false,
            }
        }
        match (name, access, rules_ok) {
            (Some(name), Some(access), true) => out.push(Restriction {
                name,
                access,
                rules: parsed,
            }),
            _ => complete = false,
        }
    }
    complete.then_some(out)
}

fn restriction_rule(e: &mut Errors, v: &Value, path: &str) -> Option<(Rule, Entity)> {
    let map = fields::object(e, v, path, RESTRICTION_RULE_KEYS)?;
    let present: Vec<Entity> = Entity::ALL
        .into_iter()
        .filter(|k| map.contains_key(k.key()))
        .collect();
    let entity = match present.as_slice() {
        [one] => *one,
        [] => {
            e.push(
                path,
                "must have exactly one of \"referrer\", \"geography\" or \"client_ip\"",
            );
            return None;
        }
        many => {
            let keys: Vec<&str> = many.iter().map(|k| k.key()).collect();
            e.push(
                path,
                format!(
                    "must have only one of \"referrer\", \"geography\" or \"client_ip\" (got {})",
                    keys.join(", ")
                ),
            );
            return None;
        }
    };

    let value_path = join(path, entity.key());
    let raw = map.get(entity.key()).unwrap_or(&Value::Null);
    let value = match entity {
        Entity::Referrer => fields::string(e, raw, &value_path, 3, Some(1024)).and_then(|r| {
            if is_valid_domain(r) {
                Some(r)
            } else {
                e.push(&value_path, format!("Referrer {r} is not a valid domain"));
                None
            }
        }),
        Entity::Geography => fields::string(e, raw, &value_path, 1, None).and_then(|g| {
            if geo::is_supported(g.trim()) {
                Some(g)
            } else {
                e.push(&value_path, geo::unsupported_message(g));
                None
            }
        }),
        Entity::ClientIp => fields::string(e, raw, &value_path, 1, None).and_then(|ip| {
            if is_valid_client_ip(ip) {
                Some(ip)
            } else {
                e.push(
                    &value_path,
                    format!(
                        "Client IP {ip} is not a valid IPv4 or IPv6 address (with an optional \
                         CIDR prefix length)"
                    ),
                );
                None
            }
        }),
    }
    .map(|s| s.trim().to_owned());

    // Only referrer rules require a name; a geography or client_ip rule
    // without one is named after what it matches (the original crashed).
    let name = match (map.get("name"), entity) {
        (Some(v), _) => fields::trimmed_string(e, v, &join(path, "name"), 1, 256),
        (None, Entity::Referrer) => {
            e.push(&join(path, "name"), "is required");
            None
        }
        (None, _) => value.clone(),
    };
    let (min_url, max_url) = match entity {
        Entity::Referrer => (1, 1024),
        Entity::Geography | Entity::ClientIp => (2, 100),
    };
    let url = match map.get("request_url") {
        None => Some(DEFAULT_REQUEST_URL.to_owned()),
        Some(v) => fields::trimmed_string(e, v, &join(path, "request_url"), min_url, max_url),
    };

    let (name, value, url) = (name?, value?, url?);
    let mut rule = Rule::new(name, url);
    match entity {
        Entity::Referrer => rule.referrer = Some(value),
        Entity::Geography => rule.geography = Some(value),
        Entity::ClientIp => rule.client_ip = Some(value),
    }
    Some((rule, entity))
}

// ----- log delivery ----------------------------------------------------------

fn log_delivery(e: &mut Errors, v: &Value) -> Option<LogDelivery> {
    let map = fields::object(e, v, "/log_delivery", LOG_DELIVERY_KEYS)?;
    let enabled = fields::required(e, map, "enabled", "/log_delivery")
        .and_then(|v| fields::boolean(e, v, "/log_delivery/enabled"))?;
    Some(LogDelivery { enabled })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use crate::error::FieldError;
    use crate::model::{Access, CertificateType, HostHeaderType, Protocol, ServiceSpec};
    use crate::validate::{patch_view, service, Mode, Options};

    /// The smallest valid create body.
    fn base() -> Value {
        json!({
            "name": "my_service_name",
            "domains": [{"domain": "www.mywebsite.com", "protocol": "http"}],
            "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false}],
            "flavor_id": "standard"
        })
    }

    /// `base()` with the given top-level keys replaced.
    fn with(fields: Value) -> Value {
        let mut body = base();
        if let (Some(body), Some(fields)) = (body.as_object_mut(), fields.as_object()) {
            for (k, v) in fields {
                body.insert(k.clone(), v.clone());
            }
        }
        body
    }

    fn create(body: &Value) -> Result<ServiceSpec, Vec<FieldError>> {
        service(body, Mode::Create, &Options::default())
    }

    fn ok(body: &Value) -> ServiceSpec {
        match create(body) {
            Ok(spec) => spec,
            Err(errors) => panic!("expected a valid body, got {errors:#?}"),
        }
    }

    fn errors(body: &Value) -> Vec<FieldError> {
        match create(body) {
            Ok(spec) => panic!("expected errors, got {spec:#?}"),
            Err(errors) => errors,
        }
    }

    /// Asserts an error at `path` whose message contains `needle`.
    fn assert_error(errors: &[FieldError], path: &str, needle: &str) {
        assert!(
            errors
                .iter()
                .any(|e| e.path == path && e.message.contains(needle)),
            "no error at {path} containing {needle:?} in {errors:#?}"
        );
    }

    fn restriction(rules: Value) -> Value {
        with(json!({"restrictions": [{"name": "test", "access": "whitelist", "rules": rules}]}))
    }

    // ----- positive creates (data_create_service.json) -----------------------

    #[test]
    fn all_fields_are_kept() {
        let spec = ok(&json!({
            "name": "my_service_name",
            "domains": [{"domain": "www.mywebsite.com", "protocol": "http"},
                        {"domain": "blog.mywebsite.com", "protocol": "http"}],
            "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false,
                         "rules": [{"name": "default", "request_url": "/*"}],
                         "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}],
            "caching": [{"name": "default", "ttl": 3600, "rules": [{"name": "default", "request_url": "/*"}]},
                        {"name": "home", "ttl": 1200, "rules": [{"name": "index", "request_url": "/index.htm"}]}],
            "restrictions": [{"name": "test", "access": "whitelist",
                              "rules": [{"name": "only me", "referrer": "www.mywebsite.com", "request_url": "/*"},
                                        {"name": "only 1234", "client_ip": "1.2.3.4", "request_url": "/*"}]}],
            "flavor_id": "standard",
            "log_delivery": {"enabled": false}
        }));
        assert_eq!(
            serde_json::to_value(&spec).ok(),
            Some(json!({
                "name": "my_service_name",
                "domains": [{"domain": "www.mywebsite.com", "protocol": "http"},
                            {"domain": "blog.mywebsite.com", "protocol": "http"}],
                "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false,
                             "rules": [{"name": "default", "request_url": "/*"}],
                             "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}],
                "caching": [{"name": "default", "ttl": 3600, "rules": [{"name": "default", "request_url": "/*"}]},
                            {"name": "home", "ttl": 1200, "rules": [{"name": "index", "request_url": "/index.htm"}]}],
                "restrictions": [{"name": "test", "access": "whitelist",
                                  "rules": [{"name": "only me", "request_url": "/*", "referrer": "www.mywebsite.com"},
                                            {"name": "only 1234", "request_url": "/*", "client_ip": "1.2.3.4"}]}],
                "flavor_id": "standard",
                "log_delivery": {"enabled": false}
            }))
        );
    }

    #[test]
    fn domains_with_different_protocols_and_certificates() {
        let spec = ok(&with(json!({"domains": [
            {"domain": "sharedsslwebsite", "protocol": "https", "certificate": "shared"},
            {"domain": "http.domain.com"},
            {"domain": "san.domain.com", "protocol": "https", "certificate": "san"},
            {"domain": "sni.domain.com", "protocol": "https", "certificate": "sni"},
            {"domain": "custom.domain.com", "protocol": "https", "certificate": "custom"},
            {"domain": "null.domain.com", "protocol": "http", "certificate": null}
        ]})));
        let got: Vec<_> = spec
            .domains
            .iter()
            .map(|d| (d.domain.as_str(), d.protocol, d.certificate))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "sharedsslwebsite",
                    Protocol::Https,
                    Some(CertificateType::Shared)
                ),
                ("http.domain.com", Protocol::Http, None),
                (
                    "san.domain.com",
                    Protocol::Https,
                    Some(CertificateType::San)
                ),
                (
                    "sni.domain.com",
                    Protocol::Https,
                    Some(CertificateType::Sni)
                ),
                (
                    "custom.domain.com",
                    Protocol::Https,
                    Some(CertificateType::Custom)
                ),
                ("null.domain.com", Protocol::Http, None),
            ]
        );
    }

    #[test]
    fn hyphenated_and_international_non_root_domains_are_accepted() {
        let spec = ok(&with(json!({"domains": [
            {"domain": "www.my-web-site.com"},
            {"domain": "www.mywebsite.co.in"},
            {"domain": "blog.mywebsite.ac.nz"},
            {"domain": "www.mywebsite.co.uk"}
        ]})));
        assert_eq!(spec.domains.len(), 4);
    }

    #[test]
    fn request_urls_without_slash_are_kept_as_given() {
        let spec = ok(&with(json!({
            "origins": [{"origin": "myorigin.com", "rules": [{"name": "default", "request_url": "img"}]}],
            "caching": [{"name": "default", "ttl": 3600, "rules": [{"name": "default", "request_url": "mycache"}]}],
            "restrictions": [{"name": "test", "rules": [{"name": "only me", "referrer": "www.mywebsite.com", "request_url": "*"}]}]
        })));
        assert_eq!(spec.origins[0].rules[0].request_url, "img");
        assert_eq!(spec.caching[0].rules[0].request_url, "mycache");
        assert_eq!(spec.restrictions[0].rules[0].request_url, "*");
    }

    #[test]
    fn wildcard_paths_with_and_without_slash_are_accepted() {
        for url in ["*", "/*"] {
            let spec = ok(&with(json!({
                "origins": [{"origin": "myorigin.com", "rules": [{"name": "default", "request_url": url}]}],
                "caching": [{"name": "default", "ttl": 1200, "rules": [{"name": "Rule 1", "request_url": url}]}]
            })));
            assert_eq!(spec.origins[0].rules[0].request_url, url);
        }
    }

    #[test]
    fn multiple_origins_with_distinct_paths_and_caching_types() {
        let spec = ok(&with(json!({
            "origins": [
                {"origin": "mywebsite1.com", "port": 80, "ssl": false,
                 "rules": [{"name": "default rule", "request_url": "/*"}],
                 "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"},
                {"origin": "mywebsite2.com", "port": 443, "ssl": true,
                 "rules": [{"name": "images rules", "request_url": "/images/test.jpg"}]}
            ],
            "caching": [
                {"name": "default", "ttl": 1200, "rules": [{"name": "Rule 1", "request_url": "/images/test.jpg"}]},
                {"name": "no-store", "ttl": 0, "rules": [{"name": "Rule 2", "request_url": "/news/latestnews.html"}]},
                {"name": "max", "ttl": 31536000, "rules": [{"name": "Rule 3", "request_url": "/static/*"}]}
            ]
        })));
        assert_eq!(spec.origins.len(), 2);
        assert_eq!((spec.origins[1].port, spec.origins[1].ssl), (443, true));
        let ttls: Vec<u32> = spec.caching.iter().map(|c| c.ttl).collect();
        assert_eq!(ttls, [1200, 0, 31_536_000]);
    }

    #[test]
    fn log_delivery_is_kept_and_defaults_to_disabled() {
        assert!(
            ok(&with(json!({"log_delivery": {"enabled": true}})))
                .log_delivery
                .enabled
        );
        assert!(
            !ok(&with(json!({"log_delivery": {"enabled": false}})))
                .log_delivery
                .enabled
        );
        assert!(!ok(&base()).log_delivery.enabled);
    }

    #[test]
    fn host_header_types() {
        let spec = ok(&with(json!({"origins": [
            {"origin": "myorigin.com", "rules": [{"name": "default", "request_url": "/*"}]},
            {"origin": "www.mywebsite23.com", "hostheadertype": "origin",
             "rules": [{"name": "images", "request_url": "/images/testpic.jpg"}]},
            {"origin": "www.mywebsite34.com", "hostheadertype": "custom", "hostheadervalue": "www.mycustomweb.com",
             "rules": [{"name": "videos", "request_url": "/videos/testvideo.mp4"}]},
            {"origin": "www.mywebsite45.com", "hostheadertype": "origin", "hostheadervalue": "www.somewebsite.com",
             "rules": [{"name": "other", "request_url": "/other"}]},
            {"origin": "1.2.3.4", "hostheadertype": "origin", "hostheadervalue": "5.6.7.8",
             "rules": [{"name": "ip", "request_url": "/ip"}]},
            {"origin": "www.mywebsite56.com", "hostheadertype": "domain",
             "rules": [{"name": "domain", "request_url": "/domain"}]}
        ]})));
        let got: Vec<_> = spec
            .origins
            .iter()
            .map(|o| (o.hostheadertype, o.hostheadervalue.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (HostHeaderType::Domain, None),
                (HostHeaderType::Origin, Some("www.mywebsite23.com")),
                (HostHeaderType::Custom, Some("www.mycustomweb.com")),
                (HostHeaderType::Origin, Some("www.mywebsite45.com")),
                (HostHeaderType::Origin, Some("1.2.3.4")),
                (HostHeaderType::Domain, None),
            ]
        );
    }

    #[test]
    fn referrer_restrictions_white_and_black() {
        for access in ["whitelist", "blacklist"] {
            let spec = ok(&with(
                json!({"restrictions": [{"name": "test", "access": access,
                "rules": [{"name": "only me", "referrer": "www.mywebsite.com", "request_url": "/*"}]}]}),
            ));
            assert_eq!(spec.restrictions[0].access.as_str(), access);
            assert_eq!(
                spec.restrictions[0].rules[0].referrer.as_deref(),
                Some("www.mywebsite.com")
            );
        }
    }

    #[test]
    fn ip_restrictions_ipv4_ipv6_and_cidr() {
        for ip in [
            "1.2.3.4",
            "2001:4802:7802:104:be76:4eff:fe20:4b5f",
            "1200:0000:AB00:1234:0000:2552:7777:1313",
            "21DA:D3:0:2F3B:2AA:FF:FE28:9C5A",
            "173.203.4.162/32",
            "173.203.4.162/24",
            "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/123",
            "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/100",
        ] {
            for access in ["whitelist", "blacklist"] {
                let spec = ok(&with(
                    json!({"restrictions": [{"name": "test", "access": access,
                    "rules": [{"name": "only this", "client_ip": ip, "request_url": "/*"}]}]}),
                ));
                assert_eq!(spec.restrictions[0].rules[0].client_ip.as_deref(), Some(ip));
            }
        }
    }

    #[test]
    fn geo_restrictions_countries_and_regions() {
        let spec = ok(&with(json!({"restrictions": [
            {"name": "test", "access": "whitelist", "rules": [
                {"name": "only USA", "geography": "USA", "request_url": "/*"},
                {"name": "only North America", "geography": "North America", "request_url": "/*"},
                {"name": "only South America", "geography": "South America", "request_url": "/*"},
                {"name": "only Australia Region", "geography": "Australia/NZ", "request_url": "/*"}]},
            {"name": "test", "access": "whitelist", "rules": [
                {"name": "only Australia", "geography": "Australia", "request_url": "/*"},
                {"name": "Only in New Zealand", "geography": "New Zealand", "request_url": "/*"}]},
            {"name": "not mexico", "access": "blacklist", "rules": [
                {"name": "only not in Mexico", "geography": "Mexico", "request_url": "/mx/*"}]}
        ]})));
        let geos: Vec<_> = spec
            .restrictions
            .iter()
            .flat_map(|r| &r.rules)
            .filter_map(|r| r.geography.as_deref())
            .collect();
        assert_eq!(
            geos,
            [
                "USA",
                "North America",
                "South America",
                "Australia/NZ",
                "Australia",
                "New Zealand",
                "Mexico"
            ]
        );
    }

    #[test]
    fn all_types_of_restrictions_in_one() {
        let spec = ok(&restriction(json!([
            {"name": "only in US", "geography": "USA", "request_url": "/*"},
            {"name": "only from my site", "referrer": "www.mywebsite.com", "request_url": "/*"},
            {"name": "only from 1111", "client_ip": "1.1.1.1", "request_url": "/*"}
        ])));
        assert_eq!(spec.restrictions[0].rules.len(), 3);
    }

    #[test]
    fn geography_and_client_ip_rules_without_name_are_named_after_their_value() {
        let spec = ok(&restriction(json!([
            {"geography": "USA"},
            {"client_ip": "1.2.3.4"}
        ])));
        let names: Vec<_> = spec.restrictions[0]
            .rules
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["USA", "1.2.3.4"]);
    }

    #[test]
    fn the_flavor_is_only_checked_by_shape_here() {
        // `invalid_flavor`: an unknown flavor is the manager's 400.
        assert_eq!(
            ok(&with(json!({"flavor_id": "non_exist"}))).flavor_id,
            "non_exist"
        );
    }

    // ----- defaults contract (data_default_service_values.json) -------------

    fn defaults_case(submit: Value, expect: Value) {
        let spec = ok(&submit);
        assert_eq!(serde_json::to_value(&spec).ok(), Some(expect));
    }

    fn expected(origin: Value, caching_ttl: u32, restrictions: Value) -> Value {
        json!({
            "name": "my_service_name",
            "domains": [{"domain": "www.mywebsite.com", "protocol": "http"}],
            "origins": [origin],
            "caching": [{"name": "default", "ttl": caching_ttl,
                         "rules": [{"name": "default", "request_url": "/*"}]}],
            "restrictions": restrictions,
            "flavor_id": "standard",
            "log_delivery": {"enabled": false}
        })
    }

    fn submitted(origin: Value, caching: Option<Value>, restrictions: Option<Value>) -> Value {
        let mut body = with(json!({"origins": [origin]}));
        if let Some(caching) = caching {
            body["caching"] = caching;
        }
        if let Some(restrictions) = restrictions {
            body["restrictions"] = restrictions;
        }
        body
    }

    fn default_origin() -> Value {
        json!({"origin": "mywebsite1.com", "port": 80, "ssl": false, "hostheadertype": "domain"})
    }

    fn expected_origin() -> Value {
        json!({"origin": "mywebsite1.com", "port": 80, "ssl": false,
               "rules": [{"name": "default", "request_url": "/*"}], "hostheadertype": "domain"})
    }

    fn only_me(access: Option<&str>) -> Value {
        let mut r = json!({"name": "test", "rules": [{"name": "only me", "referrer": "www.mywebsite.com"}]});
        if let Some(access) = access {
            r["access"] = json!(access);
        }
        json!([r])
    }

    fn only_me_expected(access: &str) -> Value {
        json!([{"name": "test", "access": access,
                "rules": [{"name": "only me", "request_url": "/*", "referrer": "www.mywebsite.com"}]}])
    }

    #[test]
    fn defaults_origin() {
        defaults_case(
            submitted(default_origin(), None, None),
            expected(expected_origin(), 86_400, json!([])),
        );
    }

    #[test]
    fn defaults_caching() {
        defaults_case(
            submitted(
                default_origin(),
                Some(json!([{"name": "default", "ttl": 3600}])),
                None,
            ),
            expected(expected_origin(), 3600, json!([])),
        );
    }

    #[test]
    fn defaults_restrictions() {
        defaults_case(
            submitted(
                default_origin(),
                Some(json!([{"name": "default", "ttl": 3600}])),
                Some(only_me(None)),
            ),
            expected(expected_origin(), 3600, only_me_expected("whitelist")),
        );
    }

    #[test]
    fn defaults_restrictions_blacklist() {
        defaults_case(
            submitted(
                default_origin(),
                Some(json!([{"name": "default", "ttl": 3600}])),
                Some(only_me(Some("blacklist"))),
            ),
            expected(expected_origin(), 3600, only_me_expected("blacklist")),
        );
    }

    #[test]
    fn defaults_hostheadertype() {
        defaults_case(
            submitted(
                json!({"origin": "mywebsite1.com", "port": 80, "ssl": false}),
                Some(json!([{"name": "default", "ttl": 3600}])),
                Some(only_me(None)),
            ),
            expected(expected_origin(), 3600, only_me_expected("whitelist")),
        );
    }

    #[test]
    fn defaults_origin_hostheadertype() {
        defaults_case(
            submitted(
                json!({"origin": "mywebsite1.com", "port": 80, "ssl": false, "hostheadertype": "origin"}),
                Some(json!([{"name": "default", "ttl": 3600}])),
                Some(only_me(None)),
            ),
            expected(
                json!({"origin": "mywebsite1.com", "port": 80, "ssl": false,
                       "rules": [{"name": "default", "request_url": "/*"}],
                       "hostheadertype": "origin", "hostheadervalue": "mywebsite1.com"}),
                3600,
                only_me_expected("whitelist"),
            ),
        );
    }

    #[test]
    fn defaults_custom_hostheadertype() {
        defaults_case(
            submitted(
                json!({"origin": "mywebsite1.com", "port": 80, "ssl": false,
                       "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}),
                Some(json!([{"name": "default", "ttl": 3600}])),
                Some(only_me(None)),
            ),
            expected(
                json!({"origin": "mywebsite1.com", "port": 80, "ssl": false,
                       "rules": [{"name": "default", "request_url": "/*"}],
                       "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}),
                3600,
                only_me_expected("whitelist"),
            ),
        );
    }

    #[test]
    fn default_cache_ttl_comes_from_the_options() {
        let options = Options {
            default_cache_ttl: 42,
        };
        for caching in [None, Some(json!([]))] {
            let mut body = base();
            if let Some(c) = &caching {
                body["caching"] = c.clone();
            }
            let spec = service(&body, Mode::Create, &options).ok();
            assert_eq!(
                spec.map(|s| s.caching[0].ttl),
                Some(42),
                "caching {caching:?}"
            );
        }
    }

    #[test]
    fn update_mode_adds_no_default_caching_entry() {
        let spec = service(&base(), Mode::Update, &Options::default()).ok();
        assert_eq!(spec.map(|s| s.caching.len()), Some(0));
        let spec = service(
            &with(json!({"caching": []})),
            Mode::Update,
            &Options::default(),
        )
        .ok();
        assert_eq!(spec.map(|s| s.caching.len()), Some(0));
        // A first entry without rules still gets the default rule.
        let spec = service(
            &with(json!({"caching": [{"name": "c", "ttl": 5}]})),
            Mode::Update,
            &Options::default(),
        )
        .ok();
        assert_eq!(
            spec.map(|s| s.caching[0].rules.clone()),
            Some(vec![crate::model::Rule::default_rule()])
        );
    }

    #[test]
    fn names_and_rule_fields_are_trimmed() {
        let spec = ok(&with(json!({
            "origins": [{"origin": "myorigin.com", "rules": [{"name": " r ", "request_url": " /a "}]}],
            "caching": [{"name": " c ", "ttl": 1}],
            "restrictions": [{"name": " n ", "rules": [{"name": " g ", "geography": " USA "}]}]
        })));
        assert_eq!(spec.origins[0].rules[0].name, "r");
        assert_eq!(spec.origins[0].rules[0].request_url, "/a");
        assert_eq!(spec.caching[0].name, "c");
        assert_eq!(spec.restrictions[0].name, "n");
        assert_eq!(spec.restrictions[0].rules[0].name, "g");
        assert_eq!(
            spec.restrictions[0].rules[0].geography.as_deref(),
            Some("USA")
        );
    }

    // ----- negative creates (data_create_service_negative.json) ---------------

    #[test]
    fn name_length() {
        assert_error(&errors(&with(json!({"name": ""}))), "/name", "3 to 256");
        assert_error(&errors(&with(json!({"name": "ab"}))), "/name", "3 to 256");
        let long = "too_long_name_".repeat(20);
        assert_error(&errors(&with(json!({"name": long}))), "/name", "3 to 256");
        assert_error(
            &errors(&with(json!({"name": 42}))),
            "/name",
            "must be a string",
        );
    }

    #[test]
    fn required_fields() {
        let errs = errors(&json!({}));
        for path in ["/name", "/domains", "/origins", "/flavor_id"] {
            assert_error(&errs, path, "is required");
        }
        assert_eq!(errs.len(), 4);
        assert_error(
            &errors(&with(json!({"flavor_id": ""}))),
            "/flavor_id",
            "1 to 256",
        );
    }

    #[test]
    fn body_must_be_an_object() {
        for body in [json!([]), json!("x"), json!(null), json!(1)] {
            assert_error(&errors(&body), "", "must be an object");
        }
    }

    #[test]
    fn unknown_keys_are_rejected_everywhere() {
        let errs = errors(&with(json!({
            "project_id": "p",
            "domains": [{"domain": "www.mywebsite.com", "shard": 1}],
            "origins": [{"origin": "myorigin.com", "weight": 1,
                         "rules": [{"name": "r", "request_url": "/*", "x": 1}]}],
            "caching": [{"name": "c", "ttl": 1, "y": 2}],
            "restrictions": [{"name": "r", "z": 3, "rules": [{"name": "n", "referrer": "a.b.com", "http_host": "h"}]}],
            "log_delivery": {"enabled": true, "w": 4}
        })));
        for path in [
            "/project_id",
            "/domains/0/shard",
            "/origins/0/weight",
            "/origins/0/rules/0/x",
            "/caching/0/y",
            "/restrictions/0/z",
            "/restrictions/0/rules/0/http_host",
            "/log_delivery/w",
        ] {
            assert_error(&errs, path, "unknown field");
        }
    }

    #[test]
    fn domain_length() {
        assert_error(
            &errors(&with(
                json!({"domains": [{"domain": "ab"}, {"domain": "blog.mywebsite.com"}]}),
            )),
            "/domains/0/domain",
            "3 to 253",
        );
        let long = "too_long_name_".repeat(20);
        assert_error(
            &errors(&with(json!({"domains": [{"domain": long}]}))),
            "/domains/0/domain",
            "3 to 253",
        );
    }

    #[test]
    fn domain_count() {
        assert_error(
            &errors(&with(json!({"domains": []}))),
            "/domains",
            "1 to 10",
        );
        let many: Vec<Value> = (1..=11)
            .map(|i| json!({"domain": format!("blog{i}.mywebsite.com")}))
            .collect();
        assert_error(
            &errors(&with(json!({"domains": many}))),
            "/domains",
            "1 to 10",
        );
        assert_error(
            &errors(&with(json!({"domains": {}}))),
            "/domains",
            "must be an array",
        );
    }

    #[test]
    fn same_domain_twice_even_with_another_protocol() {
        let errs = errors(&with(json!({"name": "ab", "domains": [
            {"domain": "www.mywebsite.com"},
            {"domain": "www.mywebsite.com", "protocol": "https", "certificate": "san"}
        ]})));
        assert_error(
            &errs,
            "/domains/1/domain",
            "The domain www.mywebsite.com already exists on another service",
        );
        assert_error(&errs, "/name", "3 to 256");
    }

    #[test]
    fn invalid_domain_names() {
        for bad in [
            "mywebsite.com ",
            "abcd.-mywebsite.com",
            "mywebsite-.com",
            "www.DOMAIN.com",
            "MYDOMAIN.com",
            "сайт.com",
            "ਦੀ ਵੈੱਬਸਾਈਟ.com",
            "%22 or 1=1--",
            "'; exec xp_regread",
            "<script>alert(1)</script>",
            "httpwebsite",
        ] {
            assert_error(
                &errors(&with(
                    json!({"domains": [{"domain": bad, "protocol": "http"}]}),
                )),
                "/domains/0/domain",
                &format!("Domain {bad} is not valid"),
            );
        }
    }

    #[test]
    fn root_domains_are_rejected() {
        for root in [
            "mywebsite.com",
            "blog.com",
            "mywebsite.co.uk",
            "mywebsite.co.au",
            "website.co.uk",
        ] {
            let errs = errors(&with(json!({"domains": [{"domain": root}]})));
            assert_error(
                &errs,
                "/domains/0/domain",
                &format!(
                    "{root} is a root domain. Most DNS providers do not allow setting a CNAME on a \
                     root domain. Please add a subdomain (e.g. www.{root})"
                ),
            );
        }
    }

    #[test]
    fn domain_shapes() {
        let case = |d: Value| errors(&with(json!({"domains": [d]})));
        assert_error(
            &case(
                json!({"domain": "www.mywebsite.com", "protocol": "http", "certificate": "shared"}),
            ),
            "/domains/0/certificate",
            "must be null",
        );
        for cert in ["san", "custom"] {
            assert_error(
                &case(
                    json!({"domain": "www.mywebsite.com", "protocol": "http", "certificate": cert}),
                ),
                "/domains/0/certificate",
                "must be null",
            );
        }
        assert_error(
            &case(json!({"domain": "www.mywebsite.com", "protocol": "https"})),
            "/domains/0/certificate",
            "is required",
        );
        assert_error(
            &case(
                json!({"domain": "www.mywebsite.com", "protocol": "https", "certificate": "whatacert"}),
            ),
            "/domains/0/certificate",
            "must be one of",
        );
        assert_error(
            &case(json!({"domain": "meow.example.com", "protocol": "ftp"})),
            "/domains/0/protocol",
            "must be one of \"http\", \"https\"",
        );
        assert_error(
            &case(json!({"domain": "www.mywebsite.com", "certificate": null})),
            "/domains/0/certificate",
            "only allowed together with \"protocol\"",
        );
        assert_error(&case(json!({})), "/domains/0/domain", "is required");
        assert_error(&case(json!("www.x.com")), "/domains/0", "must be an object");
    }

    #[test]
    fn shared_domains_are_single_labels_and_not_root_checked() {
        let shared = |d: &str| json!({"domain": d, "protocol": "https", "certificate": "shared"});
        for bad in [
            "sharedsslwebsite.com",
            "sharedssl.website",
            "replaceme.com",
            "-x-",
            "Upper",
        ] {
            assert_error(
                &errors(&with(json!({"domains": [shared(bad)]}))),
                "/domains/0/domain",
                &format!("Domain {bad} is not valid"),
            );
        }
        let spec = ok(&with(json!({"domains": [shared("secure")]})));
        assert!(spec.domains[0].is_shared_ssl());
        // A single label over http is neither a domain nor shared.
        assert_error(
            &errors(&with(
                json!({"domains": [{"domain": "sharedsslwebsite", "protocol": "http", "certificate": "shared"}]}),
            )),
            "/domains/0/certificate",
            "must be null",
        );
    }

    #[test]
    fn domains_and_origins_cannot_be_the_same() {
        assert_error(
            &errors(&with(json!({
                "domains": [{"domain": "www.mywebsite.com"}],
                "origins": [{"origin": "www.mywebsite.com"}]
            }))),
            "/domains/0/domain",
            "Domains and origins cannot be same: www.mywebsite.com",
        );
        // `same_domain_and_origin`: the domain is already invalid.
        assert_error(
            &errors(&with(json!({
                "domains": [{"domain": "mywebsite.com "}],
                "origins": [{"origin": "www.mywebsite.com"}]
            }))),
            "/domains/0/domain",
            "is not valid",
        );
    }

    #[test]
    fn origin_count_and_later_origins_need_rules() {
        assert_error(
            &errors(&with(json!({"origins": []}))),
            "/origins",
            "1 to 10",
        );
        let mut many = vec![json!({"origin": "origin1.com"})];
        for i in 2..=11 {
            many.push(json!({"origin": format!("origin{i}.com"),
                             "rules": [{"name": "index", "request_url": format!("/index{i}.htm")}]}));
        }
        assert_error(
            &errors(&with(json!({"origins": many}))),
            "/origins",
            "1 to 10",
        );
        assert_error(
            &errors(&with(
                json!({"origins": [{"origin": "a.example.com"}, {"origin": "b.example.com"}]}),
            )),
            "/origins/1/rules",
            "is required",
        );
        assert_error(
            &errors(&with(
                json!({"origins": [{"origin": "a.example.com"}, {"origin": "b.example.com", "rules": []}]}),
            )),
            "/origins/1/rules",
            "at least 1",
        );
    }

    #[test]
    fn origin_paths_are_unique_across_origins() {
        assert_error(
            &errors(&with(json!({"origins": [
                {"origin": "origin1.com"},
                {"origin": "origin2.com", "rules": [{"name": "index", "request_url": "/index.htm"}]},
                {"origin": "origin3.com", "rules": [{"name": "index", "request_url": "/index.htm"}]}
            ]}))),
            "/origins/2/rules/0/request_url",
            "The path /index.htm already exists for another origin on this service",
        );
        assert_error(
            &errors(&with(json!({"origins": [
                {"origin": "origin1.com", "rules": [{"name": "index", "request_url": "/*"}]},
                {"origin": "origin2.com", "rules": [{"name": "index", "request_url": "*"}]}
            ]}))),
            "/origins/1/rules/0/request_url",
            "The path /* already exists for another origin on this service",
        );
        // The first origin's default rule collides with an explicit `/*`.
        assert_error(
            &errors(&with(json!({"origins": [
                {"origin": "origin1.com"},
                {"origin": "origin2.com", "rules": [{"name": "all", "request_url": "/*"}]}
            ]}))),
            "/origins/1/rules/0/request_url",
            "The path /* already exists",
        );
    }

    #[test]
    fn origins_are_unique_by_scheme_and_host() {
        let errs = errors(&with(json!({"origins": [
            {"origin": "myorigin.com"},
            {"origin": "1.2.3.4", "ssl": false, "rules": [{"name": "o1", "request_url": "/o1"}]},
            {"origin": "1.2.3.4", "rules": [{"name": "o2", "request_url": "/o2"}]}
        ]})));
        assert_error(
            &errs,
            "/origins/2/origin",
            "The origin http://1.2.3.4 already exists for another origin on this service",
        );
        // The same host over https is another origin.
        ok(&with(json!({"origins": [
            {"origin": "myorigin.com"},
            {"origin": "1.2.3.4", "ssl": true, "port": 443, "rules": [{"name": "o1", "request_url": "/o1"}]},
            {"origin": "1.2.3.4", "rules": [{"name": "o2", "request_url": "/o2"}]}
        ]})));
    }

    #[test]
    fn invalid_origins() {
        for bad in [
            "   spacesinorigin.com",
            " originwithslash.com/slash",
            "http://origin.com",
            "https://origin.com",
            "קאַץ.com",
            "www.இணையதளத்தில்.com",
            "invalid_origin_value",
            "not an origin",
            "%22 or 1=1--",
            "2001:db8::1",
        ] {
            assert_error(
                &errors(&with(json!({"origins": [{"origin": bad}]}))),
                "/origins/0/origin",
                &format!("Origin {bad} is not valid"),
            );
        }
        assert_error(
            &errors(&with(json!({"origins": [{}]}))),
            "/origins/0/origin",
            "is required",
        );
        assert_error(
            &errors(&with(json!({"origins": [{"origin": "ab"}]}))),
            "/origins/0/origin",
            "3 to 253",
        );
    }

    #[test]
    fn origin_port_must_be_80_or_443() {
        for port in [
            json!("fourfourthree"),
            json!("80"),
            json!(null),
            json!(-80),
            json!(8080),
            json!(80.0),
            json!(true),
        ] {
            assert_error(
                &errors(&with(
                    json!({"origins": [{"origin": "myorigin.com", "port": port}]}),
                )),
                "/origins/0/port",
                "must be one of 80, 443",
            );
        }
        assert_eq!(
            ok(&with(
                json!({"origins": [{"origin": "myorigin.com", "port": 443}]})
            ))
            .origins[0]
                .port,
            443
        );
        assert_eq!(
            ok(&with(json!({"origins": [{"origin": "myorigin.com"}]}))).origins[0].port,
            80
        );
    }

    #[test]
    fn origin_ssl_must_be_boolean() {
        for ssl in [json!("Arggg"), json!(1), json!(null)] {
            assert_error(
                &errors(&with(
                    json!({"origins": [{"origin": "myorigin.com", "ssl": ssl}]}),
                )),
                "/origins/0/ssl",
                "must be a boolean",
            );
        }
    }

    #[test]
    fn host_header_rules() {
        let origin = |o: Value| errors(&with(json!({"origins": [o]})));
        for ty in [
            "org",
            ": איבערזעצן",
            "%3Cscript%3Ealert%281%29%3C/script%3E",
        ] {
            assert_error(
                &origin(json!({"origin": "myorigin.com", "hostheadertype": ty})),
                "/origins/0/hostheadertype",
                "must be one of \"domain\", \"origin\", \"custom\"",
            );
        }
        assert_error(
            &origin(json!({"origin": "myorigin.com", "hostheadertype": "custom"})),
            "/origins/0/hostheadervalue",
            "is required",
        );
        for value in [
            ": איבערזעצן",
            "123",
            "www. domain.com",
            "%3Cscript%3Ealert%281%29%3C/script%3E",
        ] {
            assert_error(
                &origin(
                    json!({"origin": "myorigin.com", "hostheadertype": "custom", "hostheadervalue": value}),
                ),
                "/origins/0/hostheadervalue",
                &format!("The host header {value} is not valid"),
            );
        }
        assert_error(
            &origin(
                json!({"origin": "myorigin.com", "hostheadertype": "custom", "hostheadervalue": "ab"}),
            ),
            "/origins/0/hostheadervalue",
            "3 to 253",
        );
        // With `domain`, a given value is still checked.
        assert_error(
            &origin(json!({"origin": "myorigin.com", "hostheadervalue": "not valid"})),
            "/origins/0/hostheadervalue",
            "The host header not valid is not valid",
        );
    }

    #[test]
    fn caching_entry_rules() {
        let caching = |c: Value| errors(&with(json!({"caching": c})));
        assert_error(
            &caching(json!([{"ttl": 3600}])),
            "/caching/0/name",
            "is required",
        );
        assert_error(
            &caching(
                json!([{"name": "default", "ttl": 3600}, {"name": "home", "ttl": 1200, "rules": [{"request_url": "/index.htm"}]}]),
            ),
            "/caching/1/rules/0/name",
            "is required",
        );
        assert_error(
            &caching(
                json!([{"name": "default", "ttl": 3600}, {"name": "home", "ttl": 1200, "rules": [{"name": "index"}]}]),
            ),
            "/caching/1/rules/0/request_url",
            "is required",
        );
        assert_error(
            &caching(
                json!([{"name": "default", "ttl": 3600}, {"name": "home", "ttl": -1, "rules": [{"name": "i", "request_url": "/i"}]}]),
            ),
            "/caching/1/ttl",
            "between 0 and 31536000",
        );
        assert_error(
            &caching(json!([{"name": "d", "ttl": 31_536_001}])),
            "/caching/0/ttl",
            "between 0 and 31536000",
        );
        for ttl in [json!("%22 or 1=1--"), json!(">"), json!(1.5), json!(null)] {
            assert_error(
                &caching(json!([{"name": "d", "ttl": ttl}])),
                "/caching/0/ttl",
                "must be an integer",
            );
        }
        assert_error(
            &caching(json!([{"name": "d"}])),
            "/caching/0/ttl",
            "is required",
        );
        assert_error(
            &caching(json!([{"name": "default", "ttl": 3600}, {"name": "cache_name", "ttl": 111}])),
            "/caching/1/rules",
            "is required",
        );
        assert_error(
            &caching(json!([{"name": "", "ttl": 1}])),
            "/caching/0/name",
            "1 to 256",
        );
        assert_error(&caching(json!(null)), "/caching", "must be an array");
    }

    #[test]
    fn caching_paths_are_unique_across_entries() {
        assert_error(
            &errors(&with(json!({"caching": [
                {"name": "default", "ttl": 3600},
                {"name": "home", "ttl": 1200, "rules": [{"name": "index", "request_url": "/*"}]},
                {"name": "home2", "ttl": 1200, "rules": [{"name": "index", "request_url": "*"}]}
            ]}))),
            "/caching/1/rules/0/request_url",
            "The path /* already exists for another caching rule on this service",
        );
        assert_error(
            &errors(&with(json!({"caching": [
                {"name": "default", "ttl": 3600},
                {"name": "home", "ttl": 20, "rules": [{"name": "index", "request_url": "/index.htm"}]},
                {"name": "images", "ttl": 30, "rules": [{"name": "images", "request_url": "/index.htm"}]}
            ]}))),
            "/caching/2/rules/0/request_url",
            "The path /index.htm already exists for another caching rule on this service",
        );
    }

    #[test]
    fn caching_entries_must_be_unique() {
        let entry = json!({"name": "a", "ttl": 1, "rules": [{"name": "r", "request_url": "/r"}]});
        assert_error(
            &errors(&with(
                json!({"caching": [{"name": "d", "ttl": 1}, entry.clone(), entry]}),
            )),
            "/caching/2",
            "must be unique",
        );
    }

    #[test]
    fn restriction_shapes() {
        let restrictions = |r: Value| errors(&with(json!({"restrictions": r})));
        let errs = restrictions(json!([{}]));
        assert_error(&errs, "/restrictions/0/name", "is required");
        assert_error(&errs, "/restrictions/0/rules", "is required");
        assert_error(
            &restrictions(json!([{"rules": [{"referrer": "www.abc.com"}]}])),
            "/restrictions/0/name",
            "is required",
        );
        assert_error(
            &restrictions(json!([{"name": "r", "rules": [{"referrer": "www.abc.com"}]}])),
            "/restrictions/0/rules/0/name",
            "is required",
        );
        assert_error(
            &restrictions(json!([{"name": "default"}])),
            "/restrictions/0/rules",
            "is required",
        );
        assert_error(
            &restrictions(
                json!([{"name": "test", "access": "nonsense", "rules": [{"name": "only me", "referrer": "www.mywebsite.com"}]}]),
            ),
            "/restrictions/0/access",
            "must be one of \"whitelist\", \"blacklist\"",
        );
        assert_error(
            &restrictions(json!([{"name": "", "rules": []}])),
            "/restrictions/0/name",
            "1 to 256",
        );
        assert_error(
            &restrictions(json!([{"name": "r", "rules": [{"name": "n"}]}])),
            "/restrictions/0/rules/0",
            "exactly one of",
        );
        assert_error(
            &restrictions(
                json!([{"name": "r", "rules": [{"name": "n", "referrer": "a.b.com", "client_ip": "1.2.3.4"}]}]),
            ),
            "/restrictions/0/rules/0",
            "only one of",
        );
        assert_error(
            &restrictions(
                json!([{"name": "r", "rules": [{"name": "", "referrer": "www.thesite.com", "request_url": "/*"}]}]),
            ),
            "/restrictions/0/rules/0/name",
            "1 to 256",
        );
        assert_error(
            &restrictions(
                json!([{"name": "r", "rules": [{"name": "g", "geography": "USA", "request_url": "/"}]}]),
            ),
            "/restrictions/0/rules/0/request_url",
            "2 to 100",
        );
    }

    #[test]
    fn referrers_must_be_domains() {
        for bad in [
            "http://www.mywebsite.com",
            "www.-mywebsite.com",
            "%22 or 1=1--",
        ] {
            assert_error(
                &errors(&restriction(
                    json!([{"name": "only me", "referrer": bad, "request_url": "/*"}]),
                )),
                "/restrictions/0/rules/0/referrer",
                &format!("Referrer {bad} is not a valid domain"),
            );
        }
        assert_error(
            &errors(&restriction(json!([{"name": "rule1", "referrer": "ab"}]))),
            "/restrictions/0/rules/0/referrer",
            "3 to 1024",
        );
        ok(&restriction(json!([{"name": "rule1", "referrer": "a.co"}])));
    }

    #[test]
    fn invalid_client_ips() {
        for bad in [
            "1.2.3",
            "13.4.5",
            "348.2.3.2",
            ":",
            "192.168.0.1/33",
            "192.168.0.1/-3",
            "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/129",
            "1200::AB00:1234::2552:7777:1313",
            "1200:0000:AB00:1234:O000:2552:7777:1313",
        ] {
            assert_error(
                &errors(&restriction(json!([{"name": "rule1", "client_ip": bad}]))),
                "/restrictions/0/rules/0/client_ip",
                &format!("Client IP {bad} is not a valid"),
            );
        }
    }

    #[test]
    fn unsupported_geographies() {
        for bad in ["US", "NOTACOUNTRY", "Jordan, Kenya"] {
            assert_error(
                &errors(&restriction(
                    json!([{"name": "only in US", "geography": bad, "request_url": "/*"}]),
                )),
                "/restrictions/0/rules/0/geography",
                &format!("Country/Area {bad} is not supported in geo zones"),
            );
        }
    }

    #[test]
    fn black_and_white_list_conflicts_on_equivalent_paths() {
        for (white, black) in [("/*", "*"), ("*", "/*"), ("*", "*"), ("/*", "/*")] {
            let errs = errors(&with(json!({"restrictions": [
                {"name": "restriction one", "access": "whitelist",
                 "rules": [{"name": "only me", "referrer": "www.mywebsite.com", "request_url": white}]},
                {"name": "restriction two", "access": "blacklist",
                 "rules": [{"name": "only me", "referrer": "www.mywebsite.com", "request_url": black}]}
            ]})));
            assert_error(
                &errs,
                "/restrictions/1/rules/0",
                "Cannot blacklist and whitelist referrer on /* at the same time",
            );
        }
    }

    #[test]
    fn conflicts_are_per_entity_kind_and_missing_access_is_whitelist() {
        // `restrictions_black_and_whitelist_ip`: different IPs, same kind.
        let errs = errors(&with(json!({"restrictions": [
            {"name": "default", "rules": [{"client_ip": "1.2.3.4"}]},
            {"name": "default-blacklist", "access": "blacklist", "rules": [{"client_ip": "5.6.7.8"}]}
        ]})));
        assert_error(
            &errs,
            "/restrictions/1/rules/0",
            "Cannot blacklist and whitelist client_ip on /* at the same time",
        );
        // Different kinds, or different paths, do not conflict.
        let spec = ok(&with(json!({"restrictions": [
            {"name": "w", "rules": [{"name": "a", "client_ip": "1.2.3.4"}]},
            {"name": "b", "access": "blacklist", "rules": [
                {"name": "c", "geography": "USA"},
                {"name": "d", "client_ip": "5.6.7.8", "request_url": "/other"}]}
        ]})));
        assert_eq!(spec.restrictions[0].access, Access::Whitelist);
        // Two blacklists of one kind are fine, and a conflict is reported once.
        let errs = errors(&with(json!({"restrictions": [
            {"name": "w", "access": "whitelist", "rules": [{"name": "a", "geography": "USA"}]},
            {"name": "b1", "access": "blacklist", "rules": [{"name": "b", "geography": "Mexico"}]},
            {"name": "b2", "access": "blacklist", "rules": [{"name": "c", "geography": "Canada"}]}
        ]})));
        assert_eq!(errs.len(), 1, "{errs:#?}");
    }

    #[test]
    fn log_delivery_shape() {
        assert_error(
            &errors(&with(json!({"log_delivery": {"enabled": "not a boolean"}}))),
            "/log_delivery/enabled",
            "must be a boolean",
        );
        assert_error(
            &errors(&with(json!({"log_delivery": {}}))),
            "/log_delivery/enabled",
            "is required",
        );
        assert_error(
            &errors(&with(json!({"log_delivery": true}))),
            "/log_delivery",
            "must be an object",
        );
    }

    #[test]
    fn injection_payloads_in_typed_fields_are_rejected() {
        for payload in [
            "%22 or 1=1--",
            "%27 or 1=1 --",
            ">",
            "<",
            "<script>alert(1)</script>",
            "; ls -la",
        ] {
            let cases = [
                (
                    json!({"domains": [{"domain": payload}]}),
                    "/domains/0/domain",
                ),
                (
                    json!({"domains": [{"domain": "www.x.com", "protocol": payload}]}),
                    "/domains/0/protocol",
                ),
                (
                    json!({"origins": [{"origin": payload}]}),
                    "/origins/0/origin",
                ),
                (
                    json!({"origins": [{"origin": "o.example.com", "port": payload}]}),
                    "/origins/0/port",
                ),
                (
                    json!({"origins": [{"origin": "o.example.com", "ssl": payload}]}),
                    "/origins/0/ssl",
                ),
                (
                    json!({"caching": [{"name": "d", "ttl": payload}]}),
                    "/caching/0/ttl",
                ),
                (
                    json!({"restrictions": [{"name": "r", "rules": [{"name": "n", "referrer": payload}]}]}),
                    "/restrictions/0/rules/0/referrer",
                ),
            ];
            for (fields, path) in cases {
                let errs = errors(&with(fields));
                assert!(
                    errs.iter().any(|e| e.path == path),
                    "{payload:?} at {path} accepted: {errs:#?}"
                );
            }
        }
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let errs = errors(&json!({
            "name": "ab",
            "domains": [{"domain": "mywebsite.com"}, {"domain": "www.x.com", "protocol": "ftp"}],
            "origins": [{"origin": "http://o.com", "port": "80"}],
            "caching": [{"name": "c", "ttl": -1}],
            "restrictions": [{"name": "r", "rules": [{"name": "g", "geography": "Atlantis"}]}],
            "flavor_id": 7,
            "log_delivery": {"enabled": 1}
        }));
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        for path in [
            "/name",
            "/domains/0/domain",
            "/domains/1/protocol",
            "/origins/0/origin",
            "/origins/0/port",
            "/caching/0/ttl",
            "/restrictions/0/rules/0/geography",
            "/flavor_id",
            "/log_delivery/enabled",
        ] {
            assert!(paths.contains(&path), "{path} missing from {paths:?}");
        }
    }

    #[test]
    fn a_valid_spec_round_trips_through_its_patch_view() {
        let spec = ok(&with(json!({
            "domains": [{"domain": "www.mywebsite.com"},
                        {"domain": "secure", "protocol": "https", "certificate": "shared"}],
            "origins": [{"origin": "myorigin.com", "hostheadertype": "origin"},
                        {"origin": "1.2.3.4", "hostheadertype": "origin", "rules": [{"name": "a", "request_url": "/a"}]},
                        {"origin": "o3.example.com", "hostheadervalue": "h.example.com", "rules": [{"name": "b", "request_url": "/b"}]}],
            "restrictions": [{"name": "r", "rules": [{"geography": "USA"}, {"name": "ip", "client_ip": "::1/64"}]}],
            "log_delivery": {"enabled": true}
        })));
        let again = service(&patch_view(&spec), Mode::Update, &Options::default());
        assert_eq!(again, Ok(spec));
    }

    // ----- properties ----------------------------------------------------------

    /// Keys the validator knows, so that generated objects reach deep code.
    const KEYS: &[&str] = &[
        "name",
        "domains",
        "origins",
        "caching",
        "restrictions",
        "flavor_id",
        "log_delivery",
        "domain",
        "protocol",
        "certificate",
        "origin",
        "port",
        "ssl",
        "rules",
        "hostheadertype",
        "hostheadervalue",
        "request_url",
        "ttl",
        "access",
        "referrer",
        "geography",
        "client_ip",
        "enabled",
        "x",
    ];
    const STRINGS: &[&str] = &[
        "",
        "http",
        "https",
        "shared",
        "san",
        "custom",
        "origin",
        "domain",
        "whitelist",
        "blacklist",
        "www.mywebsite.com",
        "secure",
        "1.2.3.4",
        "::1/64",
        "USA",
        "/*",
        "*",
        "mywebsite.com",
        "my_service",
        "ÿ",
        "a.co",
    ];

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            prop_oneof![Just(80i64), Just(443), Just(0), Just(-1), any::<i64>()]
                .prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop::sample::select(STRINGS).prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![prop::sample::select(KEYS).prop_map(str::to_owned), ".{0,6}"],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A valid body with one field (at any depth) replaced by arbitrary JSON.
    fn mutated_body() -> impl Strategy<Value = Value> {
        let body = json!({
            "name": "svc",
            "domains": [{"domain": "www.mywebsite.com", "protocol": "http"},
                        {"domain": "secure", "protocol": "https", "certificate": "shared"}],
            "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false,
                         "rules": [{"name": "d", "request_url": "/*"}], "hostheadertype": "domain"},
                        {"origin": "1.2.3.4", "rules": [{"name": "i", "request_url": "/i"}]}],
            "caching": [{"name": "c", "ttl": 10}, {"name": "h", "ttl": 0, "rules": [{"name": "i", "request_url": "/x"}]}],
            "restrictions": [{"name": "r", "access": "blacklist",
                              "rules": [{"name": "g", "geography": "USA"}, {"name": "f", "referrer": "a.b.com"}]}],
            "flavor_id": "standard",
            "log_delivery": {"enabled": false}
        });
        let pointers = all_pointers(&body);
        (prop::sample::select(pointers), arb_json()).prop_map(move |(pointer, value)| {
            let mut b = body.clone();
            if let Some(slot) = b.pointer_mut(&pointer) {
                *slot = value;
            }
            b
        })
    }

    fn all_pointers(v: &Value) -> Vec<String> {
        fn walk(v: &Value, at: String, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, child) in m {
                        walk(child, format!("{at}/{k}"), out);
                    }
                }
                Value::Array(a) => {
                    for (i, child) in a.iter().enumerate() {
                        walk(child, format!("{at}/{i}"), out);
                    }
                }
                _ => {}
            }
            out.push(at);
        }
        let mut out = Vec::new();
        walk(v, String::new(), &mut out);
        out
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_json(body in arb_json()) {
            for mode in [Mode::Create, Mode::Update] {
                if let Err(errors) = service(&body, mode, &Options::default()) {
                    prop_assert!(!errors.is_empty());
                    for e in &errors {
                        prop_assert!(e.path.is_empty() || e.path.starts_with('/'));
                        prop_assert!(!e.message.is_empty());
                    }
                }
            }
        }

        #[test]
        fn validation_is_idempotent_through_the_patch_view(body in mutated_body()) {
            for mode in [Mode::Create, Mode::Update] {
                if let Ok(spec) = service(&body, mode, &Options::default()) {
                    let again = service(&patch_view(&spec), Mode::Update, &Options::default());
                    prop_assert_eq!(again, Ok(spec));
                }
            }
        }
    }
}
