//! A service's definition as a Property Manager (PAPI) rule tree: a pure
//! mapping with no I/O, so its exact output is unit-tested.
//!
//! What Poppy writes into a property's rule tree:
//! - the **default rule** gets the origin that serves `/*` (or the first
//!   origin when none does: PAPI needs an origin there), and the `cpCode`
//!   when one is configured;
//! - **child rules**, all named `poppy: …` so an update can replace them and
//!   leave a template's own children alone, in this order:
//!   1. an `origin` behaviour per origin path rule other than `/*`;
//!   2. a `caching` behaviour per caching path rule (`/*` too, as a child
//!      without criteria, so it overrides a template's caching children);
//!   3. a `denyAccess` behaviour per restriction group.
//!
//!   Within 1 and 2 the rules are ordered as the original driver ordered its
//!   policy: wildcard paths first, then exact paths, each by ascending number
//!   of `/`-segments, so that a more specific path (later) overrides a less
//!   specific one.
//!
//! Restrictions are independent gates: a request is denied when any of them
//! denies it. Rules of restrictions with the same access, entity and path
//! are merged into one gate (a whitelist allows the union of its values).
//! - referrer → `requestHeader` `Referer` matching `*<referrer>*`;
//! - client IP → `clientIp`;
//! - geography → `userLocation` on ISO 3166 country codes (a region is its
//!   countries, via [`poppy_core::validate::geo`]);
//! - HTTP host → `hostname`;
//! - a rule with only a `request_url` restricts the path itself.
//!
//! A whitelist denies when the value is *not one of* those listed, a
//! blacklist when it *is one of* them. Anything the mapping cannot express
//! is refused with [`PortError::Invalid`] naming the field.

use std::fmt::Write as _;

use poppy_core::model::{
    Access, CachingRule, HostHeaderType, Origin, Rule, ServiceSpec, DEFAULT_REQUEST_URL,
};
use poppy_core::ports::PortError;
use poppy_core::validate::geo;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Every child rule Poppy writes has a name starting with this.
pub const CHILD_PREFIX: &str = "poppy: ";

/// Marks the fingerprint in the default rule's `comments`.
const FINGERPRINT_TAG: &str = "poppy-fingerprint:";

/// What the mapping needs from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingOptions {
    /// Put in the default rule's `cpCode` behaviour when set.
    pub cp_code: Option<u64>,
}

/// Poppy's part of a rule tree.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFragment {
    /// Behaviours of the default rule Poppy owns (`origin`, `cpCode`).
    pub default_behaviors: Vec<Value>,
    /// Poppy's child rules, in evaluation order.
    pub children: Vec<Value>,
    /// Whether the property serves https domains (`options.is_secure`).
    pub is_secure: bool,
}

/// Maps a service definition to Poppy's part of a rule tree, or refuses
/// with `Invalid` naming the first field it cannot express.
pub fn map_service(
    spec: &ServiceSpec,
    options: &MappingOptions,
) -> Result<RuleFragment, PortError> {
    let first = spec
        .origins
        .first()
        .ok_or_else(|| invalid("/origins", "a service needs at least one origin"))?;

    let mut default_origin: Option<(usize, Value)> = None;
    let mut origin_children = Vec::new();
    for (i, origin) in spec.origins.iter().enumerate() {
        let behavior = origin_behavior(origin, i)?;
        for (j, rule) in rules_or_default(&origin.rules).iter().enumerate() {
            let field = format!("/origins/{i}/rules/{j}");
            only_path(rule, &field)?;
            let url = path_value(&rule.request_url, &format!("{field}/request_url"))?;
            if url == DEFAULT_REQUEST_URL {
                match &default_origin {
                    Some((k, _)) if *k != i => {
                        return Err(invalid(
                            &format!("{field}/request_url"),
                            &format!("origins {k} and {i} both serve {DEFAULT_REQUEST_URL}; Akamai sends each request to one origin"),
                        ))
                    }
                    Some(_) => {}
                    None => default_origin = Some((i, behavior.clone())),
                }
            } else {
                origin_children.push((
                    url.clone(),
                    child(
                        &field,
                        vec![path_criterion("MATCHES_ONE_OF", &[url])],
                        vec![behavior.clone()],
                    ),
                ));
            }
        }
    }
    let default_origin = match default_origin {
        Some((_, behavior)) => behavior,
        None => origin_behavior(first, 0)?,
    };

    let mut caching_children = Vec::new();
    for (i, caching) in spec.caching.iter().enumerate() {
        let behavior = caching_behavior(caching);
        for (j, rule) in rules_or_default(&caching.rules).iter().enumerate() {
            let field = format!("/caching/{i}/rules/{j}");
            only_path(rule, &field)?;
            let url = path_value(&rule.request_url, &format!("{field}/request_url"))?;
            let criteria = if url == DEFAULT_REQUEST_URL {
                Vec::new()
            } else {
                vec![path_criterion("MATCHES_ONE_OF", std::slice::from_ref(&url))]
            };
            caching_children.push((url, child(&field, criteria, vec![behavior.clone()])));
        }
    }

    // Stable: rules of equal specificity keep the tenant's order.
    origin_children.sort_by_key(|(url, _)| specificity(url));
    caching_children.sort_by_key(|(url, _)| specificity(url));

    let mut children: Vec<Value> = origin_children.into_iter().map(|(_, c)| c).collect();
    children.extend(caching_children.into_iter().map(|(_, c)| c));
    children.extend(restriction_children(spec)?);

    let mut default_behaviors = vec![default_origin];
    if let Some(id) = options.cp_code {
        default_behaviors.push(json!({"name": "cpCode", "options": {"value": {"id": id}}}));
    }
    Ok(RuleFragment {
        default_behaviors,
        children,
        is_secure: spec
            .domains
            .iter()
            .any(|d| d.protocol == poppy_core::model::Protocol::Https),
    })
}

fn invalid(field: &str, message: &str) -> PortError {
    PortError::Invalid(format!("{field}: {message}"))
}

fn rules_or_default(rules: &[Rule]) -> Vec<Rule> {
    if rules.is_empty() {
        vec![Rule::default_rule()]
    } else {
        rules.to_vec()
    }
}

/// Origin and caching rules select paths; anything else in them is refused.
fn only_path(rule: &Rule, field: &str) -> Result<(), PortError> {
    let extra = [
        ("referrer", &rule.referrer),
        ("http_host", &rule.http_host),
        ("client_ip", &rule.client_ip),
        ("http_method", &rule.http_method),
        ("geography", &rule.geography),
    ];
    match extra.iter().find(|(_, v)| v.is_some()) {
        Some((key, _)) => Err(invalid(
            &format!("{field}/{key}"),
            "origin and caching rules can only select a request_url at Akamai",
        )),
        None => Ok(()),
    }
}

/// A request URL as a PAPI path match value: a path with `*` wildcards.
fn path_value(url: &str, field: &str) -> Result<String, PortError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(invalid(field, "a request_url must not be empty"));
    }
    if url.contains(['?', '#']) || url.contains(char::is_whitespace) {
        return Err(invalid(
            field,
            &format!("'{url}' cannot be an Akamai path match: it takes a path with '*' wildcards, without spaces, query string or fragment"),
        ));
    }
    Ok(if url.starts_with('/') {
        url.to_owned()
    } else {
        format!("/{url}")
    })
}

/// Wildcards first, then by number of `/`-separated segments.
fn specificity(url: &str) -> (bool, usize) {
    (!url.contains('*'), url.split('/').count())
}

fn child(field: &str, criteria: Vec<Value>, behaviors: Vec<Value>) -> Value {
    json!({
        "name": format!("{CHILD_PREFIX}{field}"),
        "children": [],
        "behaviors": behaviors,
        "criteria": criteria,
        "criteriaMustSatisfy": "all",
    })
}

fn path_criterion(operator: &str, values: &[String]) -> Value {
    json!({
        "name": "path",
        "options": {"matchOperator": operator, "values": values, "matchCaseSensitive": false},
    })
}

fn origin_behavior(origin: &Origin, index: usize) -> Result<Value, PortError> {
    let mut options = Map::new();
    options.insert("originType".into(), json!("CUSTOMER"));
    options.insert("hostname".into(), json!(origin.origin));
    match origin.hostheadertype {
        HostHeaderType::Domain => {
            options.insert("forwardHostHeader".into(), json!("REQUEST_HOST_HEADER"));
        }
        HostHeaderType::Origin => {
            options.insert("forwardHostHeader".into(), json!("ORIGIN_HOSTNAME"));
        }
        HostHeaderType::Custom => {
            let value = origin
                .hostheadervalue
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    invalid(
                        &format!("/origins/{index}/hostheadervalue"),
                        "a custom host header needs a value",
                    )
                })?;
            options.insert("forwardHostHeader".into(), json!("CUSTOM"));
            options.insert("customForwardHostHeader".into(), json!(value));
        }
    }
    // The cache key follows the tenant's domain, as the original's
    // `cacheKeyType: digital_property` did.
    options.insert("cacheKeyHostname".into(), json!("REQUEST_HOST_HEADER"));
    options.insert("compress".into(), json!(true));
    options.insert("enableTrueClientIp".into(), json!(false));
    // Akamai reaches the origin over the client's protocol; the port goes to
    // the protocol the origin is said to speak, the other keeps its default.
    let (http_port, https_port) = if origin.ssl {
        (80, origin.port)
    } else {
        (origin.port, 443)
    };
    options.insert("httpPort".into(), json!(http_port));
    options.insert("httpsPort".into(), json!(https_port));
    options.insert("originSni".into(), json!(true));
    options.insert("verificationMode".into(), json!("PLATFORM_SETTINGS"));
    Ok(json!({"name": "origin", "options": options}))
}

fn caching_behavior(caching: &CachingRule) -> Value {
    if caching.ttl == 0 {
        json!({"name": "caching", "options": {"behavior": "NO_STORE"}})
    } else {
        json!({
            "name": "caching",
            "options": {"behavior": "MAX_AGE", "mustRevalidate": false, "ttl": format!("{}s", caching.ttl)},
        })
    }
}

/// What a restriction rule matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entity {
    Referrer,
    ClientIp,
    Geography,
    HttpHost,
    /// Only a `request_url`: the path itself is restricted.
    RequestUrl,
}

impl Entity {
    fn as_str(self) -> &'static str {
        match self {
            Entity::Referrer => "referrer",
            Entity::ClientIp => "client_ip",
            Entity::Geography => "geography",
            Entity::HttpHost => "http_host",
            Entity::RequestUrl => "request_url",
        }
    }
}

/// Rules of one access, entity and path, merged.
struct Gate {
    access: Access,
    entity: Entity,
    /// The path the gate applies to (empty for [`Entity::RequestUrl`]).
    url: String,
    values: Vec<String>,
}

fn restriction_children(spec: &ServiceSpec) -> Result<Vec<Value>, PortError> {
    let mut gates: Vec<Gate> = Vec::new();
    for (i, restriction) in spec.restrictions.iter().enumerate() {
        for (j, rule) in restriction.rules.iter().enumerate() {
            let field = format!("/restrictions/{i}/rules/{j}");
            if rule.http_method.is_some() {
                return Err(invalid(
                    &format!("{field}/http_method"),
                    "the akamai provider does not restrict HTTP methods",
                ));
            }
            let set: Vec<(Entity, &str)> = [
                (Entity::Referrer, &rule.referrer),
                (Entity::ClientIp, &rule.client_ip),
                (Entity::Geography, &rule.geography),
                (Entity::HttpHost, &rule.http_host),
            ]
            .into_iter()
            .filter_map(|(e, v)| v.as_deref().map(|v| (e, v)))
            .collect();
            if set.len() > 1 {
                let names: Vec<&str> = set.iter().map(|(e, _)| e.as_str()).collect();
                return Err(invalid(
                    &field,
                    &format!(
                        "a restriction rule restricts one of referrer, client_ip, geography or http_host; this one sets {}",
                        names.join(" and ")
                    ),
                ));
            }
            let url = path_value(&rule.request_url, &format!("{field}/request_url"))?;
            let (entity, gate_url, values) = match set.first() {
                None => (Entity::RequestUrl, String::new(), vec![url]),
                Some((entity, value)) => {
                    let key = format!("{field}/{}", entity.as_str());
                    let values = match entity {
                        Entity::Referrer => referrer_values(value, &key)?,
                        Entity::ClientIp => vec![single_value(value, &key)?.to_owned()],
                        Entity::Geography => country_codes(value, &key)?,
                        Entity::HttpHost => vec![single_value(value, &key)?.to_ascii_lowercase()],
                        Entity::RequestUrl => Vec::new(),
                    };
                    (*entity, url, values)
                }
            };
            let access = restriction.access;
            match gates
                .iter_mut()
                .find(|g| g.access == access && g.entity == entity && g.url == gate_url)
            {
                Some(gate) => {
                    for v in values {
                        if !gate.values.contains(&v) {
                            gate.values.push(v);
                        }
                    }
                }
                None => {
                    let mut unique: Vec<String> = Vec::new();
                    for v in values {
                        if !unique.contains(&v) {
                            unique.push(v);
                        }
                    }
                    gates.push(Gate {
                        access,
                        entity,
                        url: gate_url,
                        values: unique,
                    });
                }
            }
        }
    }
    Ok(gates.iter().map(gate_rule).collect())
}

fn single_value<'a>(value: &'a str, field: &str) -> Result<&'a str, PortError> {
    let value = value.trim();
    if value.is_empty() || value.contains(char::is_whitespace) {
        return Err(invalid(
            field,
            &format!("'{value}' must be a single non-empty value"),
        ));
    }
    Ok(value)
}

fn referrer_values(value: &str, field: &str) -> Result<Vec<String>, PortError> {
    // As the original: a referrer may list several names separated by
    // spaces; each matches anywhere in the Referer header.
    let values: Vec<String> = value.split_whitespace().map(|r| format!("*{r}*")).collect();
    if values.is_empty() {
        return Err(invalid(field, "a referrer must not be empty"));
    }
    Ok(values)
}

fn country_codes(geography: &str, field: &str) -> Result<Vec<String>, PortError> {
    if let Some(region) = geo::region(geography) {
        // Countries of a region without a current ISO code (Netherlands
        // Antilles, Yugoslavia…) have no Akamai equivalent; the region's
        // other countries still express it.
        return Ok(region
            .countries
            .iter()
            .filter_map(|c| c.code.map(str::to_owned))
            .collect());
    }
    match geo::country(geography) {
        Some(country) => match country.code {
            Some(code) => Ok(vec![code.to_owned()]),
            None => Err(invalid(
                field,
                &format!("'{geography}' has no ISO 3166 country code, so Akamai cannot match it"),
            )),
        },
        None => Err(invalid(
            field,
            &format!("'{geography}' is not a geo region or country Poppy knows"),
        )),
    }
}

fn gate_rule(gate: &Gate) -> Value {
    let whitelist = gate.access == Access::Whitelist;
    let (one_of, access) = if whitelist {
        ("IS_NOT_ONE_OF", "whitelist")
    } else {
        ("IS_ONE_OF", "blacklist")
    };
    let mut criteria = Vec::new();
    if gate.entity != Entity::RequestUrl && gate.url != DEFAULT_REQUEST_URL {
        criteria.push(path_criterion(
            "MATCHES_ONE_OF",
            std::slice::from_ref(&gate.url),
        ));
    }
    criteria.push(match gate.entity {
        Entity::Referrer => json!({
            "name": "requestHeader",
            "options": {
                "headerName": "Referer",
                "matchOperator": one_of,
                "values": gate.values,
                "matchWildcardName": false,
                "matchWildcardValue": true,
                "matchCaseSensitiveValue": false,
            },
        }),
        Entity::ClientIp => json!({
            "name": "clientIp",
            "options": {"matchOperator": one_of, "values": gate.values, "useHeaders": false},
        }),
        Entity::Geography => json!({
            "name": "userLocation",
            "options": {
                "field": "COUNTRY",
                "matchOperator": one_of,
                "countryValues": gate.values,
                "checkIps": "BOTH",
                "useOnlyFirstXForwardedForIp": false,
            },
        }),
        Entity::HttpHost => json!({
            "name": "hostname",
            "options": {"matchOperator": one_of, "values": gate.values},
        }),
        Entity::RequestUrl => path_criterion(
            if whitelist {
                "DOES_NOT_MATCH_ONE_OF"
            } else {
                "MATCHES_ONE_OF"
            },
            &gate.values,
        ),
    });
    let entity = gate.entity.as_str();
    let label = if gate.entity == Entity::RequestUrl {
        format!("{access} {entity}")
    } else {
        format!("{access} {entity} {}", gate.url)
    };
    json!({
        "name": format!("{CHILD_PREFIX}{}", truncate(&label, 200)),
        "children": [],
        "behaviors": [{
            "name": "denyAccess",
            "options": {"enabled": true, "reason": format!("{access}-{}", entity.replace('_', "-"))},
        }],
        "criteria": criteria,
        "criteriaMustSatisfy": "all",
    })
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A digest of everything Poppy writes to a version (its rule fragment and
/// hostnames): when a version's rule tree carries the same fingerprint, a
/// retried call has nothing to write.
pub fn fingerprint(fragment: &RuleFragment, hostnames: &Value) -> String {
    let canonical = json!({
        "default": fragment.default_behaviors,
        "children": fragment.children,
        "secure": fragment.is_secure,
        "hostnames": hostnames,
    });
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in &digest[..16] {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The default rule's `comments`: who manages the property, and the fingerprint.
pub fn comments(service_id: &str, fingerprint: &str) -> String {
    format!("Managed by Poppy for service {service_id}; edits are overwritten. {FINGERPRINT_TAG}{fingerprint}")
}

/// The fingerprint a rule tree (`{"rules": …}`) carries, if Poppy wrote it.
pub fn fingerprint_of(tree: &Value) -> Option<&str> {
    let comments = tree.get("rules")?.get("comments")?.as_str()?;
    let (_, rest) = comments.split_once(FINGERPRINT_TAG)?;
    rest.split_whitespace().next()
}

/// Puts `fragment` into `base` (a rule tree `{"rules": …}` as PAPI returns
/// it): Poppy's default behaviours replace those of the same name, Poppy's
/// previous children are dropped and the new ones appended after the base's
/// own children. Returns the body of `PUT …/rules`.
pub fn merge(base: &Value, fragment: &RuleFragment, comments: &str) -> Value {
    let mut rules = match base.get("rules") {
        Some(Value::Object(rules)) => rules.clone(),
        _ => Map::new(),
    };
    rules.insert("name".into(), json!("default"));

    let mut behaviors: Vec<Value> = match rules.remove("behaviors") {
        Some(Value::Array(b)) => b,
        _ => Vec::new(),
    };
    for ours in &fragment.default_behaviors {
        let name = ours.get("name");
        match behaviors.iter_mut().find(|b| b.get("name") == name) {
            Some(slot) => *slot = ours.clone(),
            None => behaviors.push(ours.clone()),
        }
    }
    rules.insert("behaviors".into(), Value::Array(behaviors));

    let mut children: Vec<Value> = match rules.remove("children") {
        Some(Value::Array(c)) => c
            .into_iter()
            .filter(|c| {
                !c.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.starts_with(CHILD_PREFIX))
            })
            .collect(),
        _ => Vec::new(),
    };
    children.extend(fragment.children.iter().cloned());
    rules.insert("children".into(), Value::Array(children));

    if !matches!(rules.get("criteria"), Some(Value::Array(_))) {
        rules.insert("criteria".into(), json!([]));
    }
    let mut options = match rules.remove("options") {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    };
    options.insert("is_secure".into(), json!(fragment.is_secure));
    rules.insert("options".into(), Value::Object(options));
    rules.insert("comments".into(), json!(comments));
    json!({"rules": rules})
}

#[cfg(test)]
mod tests {
    use poppy_core::model::{Domain, LogDelivery, Protocol, Restriction};

    use super::*;

    fn origin(host: &str, urls: &[&str]) -> Origin {
        Origin {
            origin: host.to_owned(),
            port: 80,
            ssl: false,
            rules: urls.iter().map(|u| Rule::new("r", *u)).collect(),
            hostheadertype: HostHeaderType::Domain,
            hostheadervalue: None,
        }
    }

    fn spec() -> ServiceSpec {
        ServiceSpec {
            name: "site".to_owned(),
            domains: vec![Domain::http("www.example.com")],
            origins: vec![origin("origin.example.org", &["/*"])],
            caching: vec![CachingRule {
                name: "default".to_owned(),
                ttl: 3600,
                rules: vec![Rule::default_rule()],
            }],
            restrictions: Vec::new(),
            flavor_id: "standard".to_owned(),
            log_delivery: LogDelivery::default(),
        }
    }

    fn map(spec: &ServiceSpec) -> RuleFragment {
        map_service(spec, &MappingOptions::default()).expect("maps")
    }

    fn refusal(spec: &ServiceSpec) -> String {
        match map_service(spec, &MappingOptions::default()) {
            Err(PortError::Invalid(message)) => message,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_service_maps_to_an_origin_a_cp_code_and_a_caching_child() {
        let fragment = map_service(
            &spec(),
            &MappingOptions {
                cp_code: Some(4242),
            },
        )
        .expect("maps");
        assert_eq!(
            json!(fragment.default_behaviors),
            json!([
                {"name": "origin", "options": {
                    "originType": "CUSTOMER",
                    "hostname": "origin.example.org",
                    "forwardHostHeader": "REQUEST_HOST_HEADER",
                    "cacheKeyHostname": "REQUEST_HOST_HEADER",
                    "compress": true,
                    "enableTrueClientIp": false,
                    "httpPort": 80,
                    "httpsPort": 443,
                    "originSni": true,
                    "verificationMode": "PLATFORM_SETTINGS",
                }},
                {"name": "cpCode", "options": {"value": {"id": 4242}}},
            ])
        );
        assert_eq!(
            json!(fragment.children),
            json!([{
                "name": "poppy: /caching/0/rules/0",
                "children": [],
                "behaviors": [{"name": "caching", "options": {
                    "behavior": "MAX_AGE", "mustRevalidate": false, "ttl": "3600s"}}],
                "criteria": [],
                "criteriaMustSatisfy": "all",
            }])
        );
        assert!(!fragment.is_secure);
    }

    #[test]
    fn host_headers_ports_and_path_origins() {
        let mut spec = spec();
        spec.domains.push(Domain {
            domain: "secure.example.com".to_owned(),
            protocol: Protocol::Https,
            certificate: Some(poppy_core::model::CertificateType::Custom),
        });
        spec.origins[0].hostheadertype = HostHeaderType::Custom;
        spec.origins[0].hostheadervalue = Some("host.example.org".to_owned());
        let mut images = origin("images.example.org", &["/images/*", "static/*.png"]);
        images.ssl = true;
        images.port = 443;
        images.hostheadertype = HostHeaderType::Origin;
        spec.origins.push(images);
        spec.caching.clear();
        let fragment = map(&spec);
        assert!(fragment.is_secure);
        let default_origin = &fragment.default_behaviors[0]["options"];
        assert_eq!(default_origin["forwardHostHeader"], "CUSTOM");
        assert_eq!(
            default_origin["customForwardHostHeader"],
            "host.example.org"
        );
        assert_eq!(
            json!(fragment.children),
            json!([
                {
                    "name": "poppy: /origins/1/rules/0",
                    "children": [],
                    "behaviors": [{"name": "origin", "options": {
                        "originType": "CUSTOMER",
                        "hostname": "images.example.org",
                        "forwardHostHeader": "ORIGIN_HOSTNAME",
                        "cacheKeyHostname": "REQUEST_HOST_HEADER",
                        "compress": true,
                        "enableTrueClientIp": false,
                        "httpPort": 80,
                        "httpsPort": 443,
                        "originSni": true,
                        "verificationMode": "PLATFORM_SETTINGS",
                    }}],
                    "criteria": [{"name": "path", "options": {
                        "matchOperator": "MATCHES_ONE_OF", "values": ["/images/*"],
                        "matchCaseSensitive": false}}],
                    "criteriaMustSatisfy": "all",
                },
                {
                    "name": "poppy: /origins/1/rules/1",
                    "children": [],
                    "behaviors": [fragment.children[0]["behaviors"][0].clone()],
                    "criteria": [{"name": "path", "options": {
                        "matchOperator": "MATCHES_ONE_OF", "values": ["/static/*.png"],
                        "matchCaseSensitive": false}}],
                    "criteriaMustSatisfy": "all",
                },
            ])
        );
    }

    #[test]
    fn without_a_catch_all_origin_the_first_origin_is_the_default() {
        let mut spec = spec();
        spec.origins = vec![
            origin("a.example.org", &["/a/*"]),
            origin("b.example.org", &["/b/*"]),
        ];
        let fragment = map(&spec);
        assert_eq!(
            fragment.default_behaviors[0]["options"]["hostname"],
            "a.example.org"
        );
        assert_eq!(fragment.children.len(), 3);
    }

    #[test]
    fn caching_rules_are_ordered_wildcards_first_then_by_depth_and_ttl_zero_is_no_store() {
        let mut spec = spec();
        spec.caching = vec![
            CachingRule {
                name: "page".to_owned(),
                ttl: 60,
                rules: vec![Rule::new("index", "/index.html")],
            },
            CachingRule {
                name: "deep".to_owned(),
                ttl: 0,
                rules: vec![Rule::new("nested", "/a/b/*")],
            },
            CachingRule {
                name: "default".to_owned(),
                ttl: 86400,
                rules: vec![Rule::default_rule()],
            },
        ];
        let fragment = map(&spec);
        let names: Vec<&str> = fragment
            .children
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "poppy: /caching/2/rules/0",
                "poppy: /caching/1/rules/0",
                "poppy: /caching/0/rules/0"
            ]
        );
        assert_eq!(
            fragment.children[1]["behaviors"],
            json!([{"name": "caching", "options": {"behavior": "NO_STORE"}}])
        );
        assert_eq!(
            fragment.children[2]["behaviors"][0]["options"]["ttl"],
            "60s"
        );
    }

    fn restriction(access: Access, rules: Vec<Rule>) -> Restriction {
        Restriction {
            name: "r".to_owned(),
            access,
            rules,
        }
    }

    fn rule_with(url: &str, set: impl FnOnce(&mut Rule)) -> Rule {
        let mut rule = Rule::new("x", url);
        set(&mut rule);
        rule
    }

    #[test]
    fn restrictions_become_deny_access_gates() {
        let mut spec = spec();
        spec.caching.clear();
        spec.restrictions = vec![
            restriction(
                Access::Whitelist,
                vec![
                    rule_with("/*", |r| {
                        r.referrer = Some("partner.example.com".to_owned())
                    }),
                    rule_with("/*", |r| r.referrer = Some("other.example.com".to_owned())),
                    rule_with("/*", |r| r.geography = Some("Australia/NZ".to_owned())),
                ],
            ),
            restriction(
                Access::Blacklist,
                vec![
                    rule_with("/admin/*", |r| {
                        r.client_ip = Some("192.0.2.0/24".to_owned())
                    }),
                    rule_with("/private/*", |_| {}),
                    rule_with("/*", |r| r.http_host = Some("Old.Example.com".to_owned())),
                ],
            ),
        ];
        let fragment = map(&spec);
        assert_eq!(
            json!(fragment.children),
            json!([
                {
                    "name": "poppy: whitelist referrer /*",
                    "children": [],
                    "behaviors": [{"name": "denyAccess", "options": {"enabled": true, "reason": "whitelist-referrer"}}],
                    "criteria": [{"name": "requestHeader", "options": {
                        "headerName": "Referer", "matchOperator": "IS_NOT_ONE_OF",
                        "values": ["*partner.example.com*", "*other.example.com*"],
                        "matchWildcardName": false, "matchWildcardValue": true,
                        "matchCaseSensitiveValue": false}}],
                    "criteriaMustSatisfy": "all",
                },
                {
                    "name": "poppy: whitelist geography /*",
                    "children": [],
                    "behaviors": [{"name": "denyAccess", "options": {"enabled": true, "reason": "whitelist-geography"}}],
                    "criteria": [{"name": "userLocation", "options": {
                        "field": "COUNTRY", "matchOperator": "IS_NOT_ONE_OF",
                        "countryValues": fragment.children[1]["criteria"][0]["options"]["countryValues"].clone(),
                        "checkIps": "BOTH", "useOnlyFirstXForwardedForIp": false}}],
                    "criteriaMustSatisfy": "all",
                },
                {
                    "name": "poppy: blacklist client_ip /admin/*",
                    "children": [],
                    "behaviors": [{"name": "denyAccess", "options": {"enabled": true, "reason": "blacklist-client-ip"}}],
                    "criteria": [
                        {"name": "path", "options": {"matchOperator": "MATCHES_ONE_OF",
                            "values": ["/admin/*"], "matchCaseSensitive": false}},
                        {"name": "clientIp", "options": {"matchOperator": "IS_ONE_OF",
                            "values": ["192.0.2.0/24"], "useHeaders": false}},
                    ],
                    "criteriaMustSatisfy": "all",
                },
                {
                    "name": "poppy: blacklist request_url",
                    "children": [],
                    "behaviors": [{"name": "denyAccess", "options": {"enabled": true, "reason": "blacklist-request-url"}}],
                    "criteria": [{"name": "path", "options": {"matchOperator": "MATCHES_ONE_OF",
                        "values": ["/private/*"], "matchCaseSensitive": false}}],
                    "criteriaMustSatisfy": "all",
                },
                {
                    "name": "poppy: blacklist http_host /*",
                    "children": [],
                    "behaviors": [{"name": "denyAccess", "options": {"enabled": true, "reason": "blacklist-http-host"}}],
                    "criteria": [{"name": "hostname", "options": {"matchOperator": "IS_ONE_OF",
                        "values": ["old.example.com"]}}],
                    "criteriaMustSatisfy": "all",
                },
            ])
        );
    }

    #[test]
    fn geography_expands_regions_to_iso_codes_without_duplicates() {
        let mut spec = spec();
        spec.restrictions = vec![restriction(
            Access::Whitelist,
            vec![
                rule_with("/*", |r| r.geography = Some("North America".to_owned())),
                rule_with("/*", |r| r.geography = Some("USA".to_owned())),
                rule_with("/*", |r| r.geography = Some("Japan".to_owned())),
            ],
        )];
        let fragment = map(&spec);
        let gate = fragment.children.last().expect("a gate");
        let codes: Vec<&str> = gate["criteria"][0]["options"]["countryValues"]
            .as_array()
            .expect("codes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            codes.contains(&"US") && codes.contains(&"CA") && codes.contains(&"MX"),
            "{codes:?}"
        );
        assert!(codes.contains(&"JP"), "{codes:?}");
        assert_eq!(codes.iter().filter(|c| **c == "US").count(), 1);
        assert!(codes.iter().all(|c| c.len() == 2), "{codes:?}");
    }

    #[test]
    fn what_akamai_cannot_express_is_refused_naming_the_field() {
        let mut s = spec();
        s.restrictions = vec![
            restriction(Access::Whitelist, vec![Rule::new("ok", "/x")]),
            restriction(
                Access::Blacklist,
                vec![
                    Rule::new("ok", "/y"),
                    rule_with("/*", |r| {
                        r.referrer = Some("a.example.com".to_owned());
                        r.client_ip = Some("192.0.2.1".to_owned());
                    }),
                ],
            ),
        ];
        let message = refusal(&s);
        assert!(
            message.starts_with("/restrictions/1/rules/1: "),
            "{message}"
        );
        assert!(message.contains("referrer and client_ip"), "{message}");

        let mut s = spec();
        s.restrictions = vec![restriction(
            Access::Blacklist,
            vec![rule_with("/*", |r| r.http_method = Some("POST".to_owned()))],
        )];
        assert!(refusal(&s).starts_with("/restrictions/0/rules/0/http_method: "));

        let mut s = spec();
        s.restrictions = vec![restriction(
            Access::Blacklist,
            vec![rule_with("/*", |r| {
                r.geography = Some("Yugoslavia".to_owned())
            })],
        )];
        let message = refusal(&s);
        assert!(
            message.starts_with("/restrictions/0/rules/0/geography: "),
            "{message}"
        );
        assert!(message.contains("ISO 3166"), "{message}");

        let mut s = spec();
        s.restrictions = vec![restriction(
            Access::Blacklist,
            vec![rule_with("/*", |r| {
                r.geography = Some("Atlantis".to_owned())
            })],
        )];
        assert!(refusal(&s).starts_with("/restrictions/0/rules/0/geography: "));

        let mut s = spec();
        s.caching[0].rules = vec![Rule::new("q", "/search?q=1")];
        assert!(refusal(&s).starts_with("/caching/0/rules/0/request_url: "));

        let mut s = spec();
        s.caching[0].rules = vec![rule_with("/*", |r| {
            r.referrer = Some("x.example.com".to_owned())
        })];
        assert!(refusal(&s).starts_with("/caching/0/rules/0/referrer: "));

        let mut s = spec();
        s.origins.push(origin("second.example.org", &["/*"]));
        let message = refusal(&s);
        assert!(
            message.starts_with("/origins/1/rules/0/request_url: "),
            "{message}"
        );

        let mut s = spec();
        s.origins[0].hostheadertype = HostHeaderType::Custom;
        assert!(refusal(&s).starts_with("/origins/0/hostheadervalue: "));

        let mut s = spec();
        s.origins.clear();
        assert!(refusal(&s).starts_with("/origins: "));
    }

    #[test]
    fn merge_keeps_the_base_and_replaces_poppys_part() {
        let base = json!({
            "propertyId": "prp_1",
            "rules": {
                "name": "default",
                "options": {"is_secure": true},
                "variables": [],
                "behaviors": [
                    {"name": "origin", "options": {"hostname": "placeholder.example.com"}},
                    {"name": "http2", "options": {"enabled": ""}},
                ],
                "children": [
                    {"name": "Performance", "children": [], "behaviors": [], "criteria": []},
                    {"name": "poppy: /caching/0/rules/0", "children": [], "behaviors": [], "criteria": []},
                ],
            },
        });
        let fragment = map(&spec());
        let merged = merge(&base, &fragment, &comments("svc-1", "abc"));
        let rules = &merged["rules"];
        assert_eq!(
            merged.as_object().map(|o| o.len()),
            Some(1),
            "only the rules are sent"
        );
        assert_eq!(rules["behaviors"][0], fragment.default_behaviors[0]);
        assert_eq!(rules["behaviors"][1]["name"], "http2");
        assert_eq!(rules["children"][0]["name"], "Performance");
        assert_eq!(rules["children"].as_array().map(Vec::len), Some(2));
        assert_eq!(rules["children"][1], fragment.children[0]);
        assert_eq!(rules["options"]["is_secure"], false);
        assert_eq!(rules["variables"], json!([]));
        assert_eq!(fingerprint_of(&merged), Some("abc"));
        // Merging again over the result is stable.
        assert_eq!(merge(&merged, &fragment, &comments("svc-1", "abc")), merged);
    }

    #[test]
    fn fingerprints_change_with_the_definition() {
        let hostnames = json!([{"cnameFrom": "a"}]);
        let one = fingerprint(&map(&spec()), &hostnames);
        assert_eq!(one.len(), 32);
        assert_eq!(one, fingerprint(&map(&spec()), &hostnames));
        let mut changed = spec();
        changed.caching[0].ttl = 60;
        assert_ne!(one, fingerprint(&map(&changed), &hostnames));
        assert_ne!(
            one,
            fingerprint(&map(&spec()), &json!([{"cnameFrom": "b"}]))
        );
    }
}
