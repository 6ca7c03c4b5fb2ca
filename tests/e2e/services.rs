//! Creating, reading and listing services (reference §2.6.1-§2.6.4): every
//! case family of `data_create_service.json` and
//! `data_create_service_ssl_domain.json`, the defaults contract of §10,
//! links, and pagination.

use serde_json::{json, Value};

use crate::support::{
    check_all, domain, id_of, project, shared_label, show, unique_valid, Api, Server,
};
use crate::{ensure, ensure_eq};

/// The suffix of every mock access link.
const MOCK_LINK_SUFFIX: &str = "mock.poppycdn.net";
/// The default DNS driver's shared-SSL zone: shards `scdn1..5.<this>`.
const SHARD_ZONE: &str = "secure.defaultcdn.com";

fn rule(name: &str, url: &str) -> Value {
    json!({"name": name, "request_url": url})
}

fn default_rules() -> Value {
    json!([rule("default", "/*")])
}

fn http(d: &str) -> Value {
    json!({"domain": d, "protocol": "http"})
}

fn two_http_domains() -> Value {
    json!([http("www.mywebsite.com"), http("blog.mywebsite.com")])
}

/// `myorigin.com`, port 80, the given rule, custom host header.
fn custom_origin(request_url: &str) -> Value {
    json!({"origin": "myorigin.com", "port": 80, "ssl": false, "rules": [rule("default", request_url)],
           "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"})
}

fn plain_origin() -> Value {
    json!({"origin": "myorigin.com", "port": 80, "ssl": false, "rules": default_rules()})
}

fn home_caching() -> Value {
    json!([{"name": "default", "ttl": 3600, "rules": default_rules()},
           {"name": "home", "ttl": 1200, "rules": [rule("index", "/index.htm")]}])
}

fn restriction(access: Option<&str>, rules: Value) -> Value {
    let mut r = json!({"name": "test", "rules": rules});
    if let Some(access) = access {
        r["access"] = json!(access);
    }
    r
}

fn ip_rule(name: &str, ip: &str) -> Value {
    json!({"name": name, "client_ip": ip, "request_url": "/*"})
}

fn geo_rule(name: &str, geography: &str) -> Value {
    json!({"name": name, "geography": geography, "request_url": "/*"})
}

fn referrer_rule(name: &str, referrer: &str, url: &str) -> Value {
    json!({"name": name, "referrer": referrer, "request_url": url})
}

/// A service on two http domains, the plain origin and the home caching,
/// restricted by `restrictions`.
fn restricted(restrictions: Value) -> Value {
    json!({"name": "my_service_name", "domains": two_http_domains(), "origins": [plain_origin()],
           "caching": home_caching(), "restrictions": restrictions})
}

fn ssl_origin() -> Value {
    json!({"origin": "mywebsite1.com", "port": 443, "ssl": true, "rules": default_rules(),
           "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"})
}

fn ssl_caching() -> Value {
    json!([{"name": "default", "ttl": 3600},
           {"name": "home", "ttl": 1200, "rules": [rule("index", "/index.htm")]}])
}

/// One service on one https domain, as `data_create_service_ssl_domain.json`.
fn ssl_service(
    name: &str,
    d: &str,
    certificate: &str,
    referrer_url: Option<&str>,
    log: bool,
) -> Value {
    let mut referrer = json!({"name": "only me", "referrer": "www.mywebsite.com"});
    if let Some(url) = referrer_url {
        referrer["request_url"] = json!(url);
    }
    let mut body = json!({
        "name": name,
        "domains": [{"domain": d, "protocol": "https", "certificate": certificate}],
        "origins": [ssl_origin()],
        "caching": ssl_caching(),
        "restrictions": [restriction(None, json!([referrer]))]
    });
    if log {
        body["log_delivery"] = json!({"enabled": true});
    }
    body
}

/// The bodies of `data_create_service.json` and
/// `data_create_service_ssl_domain.json`, written anew; `flavor_id` is
/// added and domains made unique when they run.
fn create_cases() -> Vec<(String, Value)> {
    let mut cases: Vec<(&str, Value)> = vec![
        (
            "all_fields",
            json!({
            "name": "my_service_name", "domains": two_http_domains(), "origins": [custom_origin("/*")],
            "caching": home_caching(),
            "restrictions": [restriction(Some("whitelist"), json!([
                referrer_rule("only me", "www.mywebsite.com", "/*"), ip_rule("only 1234", "1.2.3.4")]))],
            "log_delivery": {"enabled": false}}),
        ),
        (
            "domain_different_protocol",
            json!({
            "name": "domain_different_protocol",
            "domains": [{"domain": "www.mywebsite.com", "protocol": "https", "certificate": "san"},
                        http("blog.mywebsite.com")],
            "origins": [plain_origin()], "caching": []}),
        ),
        (
            "wildcard_path_no_slash",
            json!({
            "name": "caching_empty", "domains": two_http_domains(), "origins": [custom_origin("*")],
            "caching": []}),
        ),
        (
            "wildcard_path_with_slash",
            json!({
            "name": "caching_empty", "domains": two_http_domains(), "origins": [custom_origin("/*")],
            "caching": []}),
        ),
        (
            "caching_empty",
            json!({
            "name": "caching_empty", "domains": two_http_domains(), "origins": [custom_origin("/*")],
            "caching": []}),
        ),
        (
            "multiple_origin_wildcard_caching",
            json!({
            "name": "my_service_name", "domains": [http("www.mywebsite.com")],
            "origins": [
                {"origin": "myorigin.com", "port": 80, "ssl": false, "rules": [rule("default rule", "/*")],
                 "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"},
                {"origin": "mywebsite2.com", "port": 80, "ssl": false, "rules": [rule("images rules", "/images/*")],
                 "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}],
            "caching": [{"name": "default", "ttl": 1200, "rules": [rule("Rule 1", "/*")]}]}),
        ),
        (
            "wildcard_caching_no_slash",
            json!({
            "name": "my_service_name", "domains": [http("www.mywebsite.com")],
            "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false, "rules": [rule("default rule", "/*")],
                         "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}],
            "caching": [{"name": "default", "ttl": 1200, "rules": [rule("Rule 1", "*")]}]}),
        ),
        (
            "multiple_origin_path_caching",
            json!({
            "name": "my_service_name", "domains": [http("www.mywebsite.com")],
            "origins": [
                {"origin": "myorigin.com", "port": 80, "ssl": false, "rules": [rule("default rule", "/*")],
                 "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"},
                {"origin": "mywebsite2.com", "port": 80, "ssl": false,
                 "rules": [rule("images rules", "/images/test.jpg")],
                 "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}],
            "caching": [{"name": "default", "ttl": 1200, "rules": [rule("Rule 1", "/images/test.jpg")]}]}),
        ),
        (
            "multiple_origin_path_multiple_caching_types",
            json!({
            "name": "my_service_name", "domains": [http("www.mywebsite.com")],
            "origins": [
                {"origin": "mywebsite1.com", "port": 80, "ssl": false, "rules": [rule("default rule", "/*")],
                 "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"},
                {"origin": "mywebsite2.com", "port": 80, "ssl": false,
                 "rules": [rule("images rules", "/images/test.jpg")],
                 "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}],
            "caching": [{"name": "default", "ttl": 1200, "rules": [rule("Rule 1", "/images/test.jpg")]},
                        {"name": "no-store", "ttl": 0, "rules": [rule("Rule 2", "/news/latestnews.html")]}]}),
        ),
        (
            "log_delivery_enabled",
            json!({
            "name": "my_service_name", "domains": two_http_domains(), "origins": [custom_origin("/*")],
            "caching": home_caching(),
            "restrictions": [restriction(None, json!([referrer_rule("only me", "www.mywebsite.com", "/*")]))],
            "log_delivery": {"enabled": true}}),
        ),
        (
            "log_delivery_disabled",
            json!({
            "name": "my_service_name", "domains": two_http_domains(), "origins": [custom_origin("/*")],
            "caching": home_caching(),
            "restrictions": [restriction(None, json!([referrer_rule("only me", "www.mywebsite.com", "/*")]))],
            "log_delivery": {"enabled": false}}),
        ),
        (
            "hyphen_in_domain_name",
            json!({
            "name": "caching_empty",
            "domains": [http("www.my-web-site.com"), http("blog.my-web-site.com")],
            "origins": [custom_origin("/*")], "caching": []}),
        ),
        (
            "origin_hostheadertype",
            json!({
            "name": "origin_hostheadertype", "domains": [http("www.mywebsite.com")],
            "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false, "hostheadertype": "origin",
                         "rules": default_rules()}],
            "caching": []}),
        ),
        (
            "multi_protocol_domains",
            json!({
            "name": "multi_protocol_domains",
            "domains": [{"domain": "sharedsslwebsite", "protocol": "https", "certificate": "shared"},
                        {"domain": "http.domain.com"},
                        {"domain": "san.domain.com", "protocol": "https", "certificate": "san"},
                        {"domain": "custom.domain.com", "protocol": "https", "certificate": "custom"}],
            "origins": [{"origin": "myotherorigin.com", "port": 80, "ssl": false, "rules": default_rules()}],
            "caching": home_caching(),
            "restrictions": [restriction(None, json!([referrer_rule("only me", "www.mywebsite.com", "/click_me")]))],
            "log_delivery": {"enabled": true}}),
        ),
        (
            "custom_hostheadertype",
            json!({
            "name": "custom_hostheadertype", "domains": [http("www.mywebsite.com")],
            "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false, "hostheadertype": "custom",
                         "hostheadervalue": "customweb.com", "rules": default_rules()}],
            "caching": []}),
        ),
        (
            "domain_hostheadertype",
            json!({
            "name": "domain_hostheadertype", "domains": [http("www.mywebsite.com")],
            "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false, "hostheadertype": "domain",
                         "rules": default_rules()}],
            "caching": []}),
        ),
        (
            "origin_hostheadertype_other_hostheadervalue",
            json!({
            "name": "origin_hostheadertype_other_hostheadervalue", "domains": [http("www.mywebsite.com")],
            "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false, "rules": default_rules(),
                         "hostheadertype": "origin", "hostheadervalue": "www.somewebsite.com"}],
            "caching": []}),
        ),
        (
            "multiple_hostheadertypes",
            json!({
            "name": "multiple_hostheadertypes", "domains": [http("www.mywebsite.com")],
            "origins": [
                {"origin": "myorigin.com", "port": 80, "ssl": false, "rules": default_rules()},
                {"origin": "www.mywebsite23.com", "port": 80, "ssl": false,
                 "rules": [rule("images", "/images/testpic.jpg")], "hostheadertype": "origin"},
                {"origin": "www.mywebsite34.com", "port": 80, "ssl": false,
                 "rules": [rule("videos", "/videos/testvideo.mp4")], "hostheadertype": "custom",
                 "hostheadervalue": "www.mycustomweb.com"}],
            "caching": []}),
        ),
        (
            "request_url_no_slashes",
            json!({
            "name": "multiple_hostheadertypes", "domains": [http("www.mywebsite.com")],
            "origins": [{"origin": "myorigin.com", "port": 80, "ssl": false, "rules": [rule("default", "img")]}],
            "caching": [{"name": "default", "ttl": 3600, "rules": [rule("default", "mycache")]}],
            "restrictions": [restriction(None, json!([referrer_rule("only me", "www.mywebsite.com", "*")]))]}),
        ),
        (
            "referrer_restriction_blacklist",
            restricted(json!([restriction(
                Some("blacklist"),
                json!([referrer_rule("only me", "www.mywebsite.com", "/*")])
            )])),
        ),
        (
            "ip_restriction",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([ip_rule("only 1234", "1.2.3.4")])
            )])),
        ),
        (
            "ip_restriction_blacklist",
            restricted(json!([restriction(
                Some("blacklist"),
                json!([ip_rule("only 1234", "1.2.3.4")])
            )])),
        ),
        (
            "ip_restriction_ipv6",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([ip_rule(
                    "only this ipv6",
                    "2001:4802:7802:104:be76:4eff:fe20:4b5f"
                )])
            )])),
        ),
        (
            "ip_restriction_ipv6_2",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([ip_rule(
                    "only this ipv6",
                    "1200:0000:AB00:1234:0000:2552:7777:1313"
                )])
            )])),
        ),
        (
            "ip_restriction_ipv6_3",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([ip_rule("only this ipv6", "21DA:D3:0:2F3B:2AA:FF:FE28:9C5A")])
            )])),
        ),
        (
            "ip_restriction_ipv4_CIDR_3",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([ip_rule("only this ipv4CIDR", "173.203.4.162/32")])
            )])),
        ),
        (
            "ip_restriction_ipv4_CIDR_4",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([ip_rule("only this ipv4CIDR", "173.203.4.162/24")])
            )])),
        ),
        (
            "ip_restriction_ipv6_CIDR",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([ip_rule(
                    "only this ipv6CIDR",
                    "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/123"
                )])
            )])),
        ),
        (
            "ip_restriction_ipv6_CIDR_2",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([ip_rule(
                    "only this ipv6CIDR",
                    "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/100"
                )])
            )])),
        ),
        (
            "non_root_domains",
            json!({
            "name": "non_root_domains", "domains": two_http_domains(), "origins": [custom_origin("/*")],
            "caching": []}),
        ),
        (
            "international_non_root_domains",
            json!({
            "name": "international_non_root_domains",
            "domains": [http("www.mywebsite.co.in"), http("blog.mywebsite.ac.nz")],
            "origins": [custom_origin("/*")], "caching": []}),
        ),
        (
            "geo_restriction",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([geo_rule("only USA", "USA")])
            )])),
        ),
        (
            "geo_region_restriction",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([
                    geo_rule("only North America", "North America"),
                    geo_rule("only South America", "South America")
                ])
            )])),
        ),
        (
            "geo_australia_newzealand_restriction",
            restricted(json!([
                restriction(
                    Some("whitelist"),
                    json!([geo_rule("only Australia", "Australia")])
                ),
                restriction(
                    Some("whitelist"),
                    json!([geo_rule("Only in New Zealand", "New Zealand")])
                )
            ])),
        ),
        (
            "geo_australia_newzealand_region_restriction",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([geo_rule("only Australia Region", "Australia/NZ")])
            )])),
        ),
        (
            "geo_restriction_blacklist",
            restricted(json!([restriction(
                Some("blacklist"),
                json!([geo_rule("only not in Mexico", "Mexico")])
            )])),
        ),
        (
            "all_types_of_restrictions",
            restricted(json!([restriction(
                Some("whitelist"),
                json!([
                    geo_rule("only in US", "USA"),
                    referrer_rule("only from my site", "www.mywebsite.com", "/*"),
                    ip_rule("only from 1111", "1.1.1.1")
                ])
            )])),
        ),
        // data_create_service_ssl_domain.json
        (
            "domain_shared_ssl",
            ssl_service(
                "domain_shared_ssl",
                "sharedsslwebsite",
                "shared",
                None,
                false,
            ),
        ),
        (
            "domain_shared_ssl_with_log_delivery",
            ssl_service(
                "domain_shared_ssl_with_log_delivery",
                "sharedsslwebsite",
                "shared",
                Some("/click_me"),
                true,
            ),
        ),
        (
            "domain_san_ssl",
            ssl_service(
                "domain_san_ssl",
                "www.sansslwebsite.com",
                "san",
                None,
                false,
            ),
        ),
        (
            "domain_san_ssl_with_log_delivery",
            ssl_service(
                "domain_san_ssl_with_log_delivery",
                "sansslwebsite.com",
                "san",
                None,
                true,
            ),
        ),
        (
            "domain_custom_ssl",
            ssl_service(
                "domain_custom_ssl",
                "www.customsslwebsite.com",
                "custom",
                None,
                false,
            ),
        ),
        (
            "domain_custom_ssl_log_delivery_enabled",
            ssl_service(
                "domain_custom_ssl_log_delivery_enabled",
                "customsslwebsite.com",
                "custom",
                None,
                true,
            ),
        ),
        // Beyond the data files: the sni certificate and the minimal body.
        (
            "domain_sni_ssl",
            ssl_service(
                "domain_sni_ssl",
                "www.snisslwebsite.com",
                "sni",
                None,
                false,
            ),
        ),
        (
            "minimal",
            json!({"name": "min", "domains": [{"domain": "www.minimal.com"}],
                           "origins": [{"origin": "origin.minimal.com"}]}),
        ),
    ];
    cases
        .drain(..)
        .map(|(name, mut body)| {
            body["flavor_id"] = json!("standard");
            (name.to_owned(), body)
        })
        .collect()
}

/// Replaces every domain of a body with a unique one of the same shape.
fn uniquify(body: &mut Value) {
    if let Some(domains) = body["domains"].as_array_mut() {
        for d in domains {
            let shared = d["certificate"] == json!("shared");
            let name = d["domain"].as_str().unwrap_or_default().to_owned();
            d["domain"] = json!(if shared {
                shared_label()
            } else {
                unique_valid(&name)
            });
        }
    }
}

/// Whether `full` is `label` on one of the default DNS driver's shards.
fn on_a_shard(full: &str, label: &str) -> bool {
    (1..=5).any(|i| full == format!("{label}.scdn{i}.{SHARD_ZONE}"))
}

/// What GET must show for submitted `domains`; shared labels are resolved
/// against `shown` (the domains GET returned).
pub fn expected_domains(submitted: &Value, shown: &Value) -> Result<Value, String> {
    let mut out = Vec::new();
    for d in submitted.as_array().ok_or("domains is not an array")? {
        let name = d["domain"].as_str().unwrap_or_default();
        let protocol = d["protocol"].as_str().unwrap_or("http");
        if protocol == "http" {
            out.push(json!({"domain": name, "protocol": "http"}));
            continue;
        }
        let certificate = d["certificate"].as_str().unwrap_or_default();
        let shown_name = if certificate == "shared" {
            let found = shown
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["domain"].as_str())
                .find(|s| s.split('.').next() == Some(name))
                .ok_or_else(|| format!("shared domain {name} is not shown: {}", show(shown)))?;
            ensure!(
                on_a_shard(found, name),
                "shared domain {name} is shown as {found}, not as {name}.scdnN.{SHARD_ZONE}"
            );
            found.to_owned()
        } else {
            name.to_owned()
        };
        // The mock provisions SAN/SNI certificates at once; custom ones are
        // not recorded (→ deployed); shared ones are always deployed.
        out.push(
            json!({"domain": shown_name, "protocol": "https", "certificate": certificate,
                        "certificate_status": "deployed"}),
        );
    }
    Ok(Value::Array(out))
}

fn with_default_url(rules: &Value) -> Value {
    Value::Array(
        rules
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let mut r = r.clone();
                if r.get("request_url").is_none() {
                    r["request_url"] = json!("/*");
                }
                r
            })
            .collect(),
    )
}

fn rules_or_default(rules: Option<&Value>) -> Value {
    match rules.and_then(Value::as_array) {
        Some(list) if !list.is_empty() => with_default_url(&Value::Array(list.clone())),
        _ => default_rules(),
    }
}

/// What GET must show for submitted `origins` (§2.6.1 defaults).
pub fn expected_origins(submitted: &Value) -> Value {
    Value::Array(
        submitted
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| {
                let kind = o["hostheadertype"].as_str().unwrap_or("domain");
                let mut out = json!({
                    "origin": o["origin"],
                    "port": o.get("port").cloned().unwrap_or(json!(80)),
                    "ssl": o.get("ssl").cloned().unwrap_or(json!(false)),
                    "rules": rules_or_default(o.get("rules")),
                    "hostheadertype": kind,
                });
                let value = if kind == "origin" {
                    Some(o["origin"].clone())
                } else {
                    o.get("hostheadervalue").filter(|v| !v.is_null()).cloned()
                };
                if let Some(value) = value {
                    out["hostheadervalue"] = value;
                }
                out
            })
            .collect(),
    )
}

/// What GET must show for submitted `caching` on create (`create`) or after
/// a patch (no default entry).
pub fn expected_caching(submitted: Option<&Value>, create: bool) -> Value {
    let entries = submitted
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if entries.is_empty() && create {
        return json!([{"name": "default", "ttl": 86400, "rules": default_rules()}]);
    }
    Value::Array(
        entries
            .into_iter()
            .map(|mut c| {
                c["rules"] = rules_or_default(c.get("rules"));
                c
            })
            .collect(),
    )
}

/// What GET must show for submitted `restrictions`.
pub fn expected_restrictions(submitted: Option<&Value>) -> Value {
    Value::Array(
        submitted
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                json!({
                    "name": r["name"],
                    "access": r.get("access").cloned().unwrap_or(json!("whitelist")),
                    "rules": with_default_url(&r["rules"]),
                })
            })
            .collect(),
    )
}

/// Checks a GET body against what was submitted: every field, the links,
/// and nothing else.
pub fn check_service(
    api: &Api,
    project: &str,
    location: &str,
    sent: &Value,
    got: &Value,
) -> Result<(), String> {
    let keys: Vec<&String> = got
        .as_object()
        .ok_or("service is not an object")?
        .keys()
        .collect();
    let mut keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    keys.sort_unstable();
    ensure_eq!(
        keys,
        [
            "caching",
            "domains",
            "errors",
            "flavor_id",
            "id",
            "links",
            "log_delivery",
            "name",
            "origins",
            "project_id",
            "restrictions",
            "status"
        ],
        "keys of the service"
    );
    ensure_eq!(got["id"], json!(id_of(location)), "id");
    ensure_eq!(got["project_id"], json!(project), "project_id");
    ensure_eq!(got["name"], sent["name"], "name");
    ensure_eq!(got["flavor_id"], sent["flavor_id"], "flavor_id");
    ensure_eq!(got["status"], json!("deployed"), "status");
    ensure_eq!(got["errors"], json!([]), "errors");
    ensure_eq!(
        got["domains"],
        expected_domains(&sent["domains"], &got["domains"])?,
        "domains"
    );
    ensure_eq!(
        got["origins"],
        expected_origins(&sent["origins"]),
        "origins"
    );
    ensure_eq!(
        got["caching"],
        expected_caching(sent.get("caching"), true),
        "caching"
    );
    ensure_eq!(
        got["restrictions"],
        expected_restrictions(sent.get("restrictions")),
        "restrictions"
    );
    ensure_eq!(
        got["log_delivery"],
        sent.get("log_delivery")
            .cloned()
            .unwrap_or(json!({"enabled": false})),
        "log_delivery"
    );
    check_links(api, location, got)
}

/// `self`, `flavor`, then one `access_url` per domain (the mock's link,
/// which the default DNS driver passes through as the operator URL).
pub fn check_links(api: &Api, location: &str, got: &Value) -> Result<(), String> {
    let links = got["links"].as_array().ok_or("links is not an array")?;
    ensure!(links.len() >= 2, "links: {}", show(&got["links"]));
    ensure_eq!(
        links[0],
        json!({"href": location, "rel": "self"}),
        "self link"
    );
    let flavor = format!(
        "{}/v1.0/flavors/{}",
        api.base(),
        got["flavor_id"].as_str().unwrap_or_default()
    );
    ensure_eq!(
        links[1],
        json!({"href": flavor, "rel": "flavor"}),
        "flavor link"
    );
    let mut access: Vec<String> = links[2..]
        .iter()
        .map(|l| {
            ensure_eq!(l["rel"], json!("access_url"), "rel of {l}");
            Ok(l["href"].as_str().unwrap_or_default().to_owned())
        })
        .collect::<Result<_, String>>()?;
    let mut wanted: Vec<String> = got["domains"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            format!(
                "{}.{MOCK_LINK_SUFFIX}",
                d["domain"].as_str().unwrap_or_default()
            )
        })
        .collect();
    access.sort();
    wanted.sort();
    ensure_eq!(access, wanted, "access_url links");
    Ok(())
}

#[tokio::test]
async fn every_create_case_deploys_with_its_values_and_defaults() {
    let server = Server::start().await;
    let api = server.api();
    check_all("create cases", create_cases(), 8, move |mut body| {
        let api = api.clone();
        async move {
            uniquify(&mut body);
            // A project per case: the per-project limit is 20.
            let p = project();
            let location = api.create(&p, &body).await?;
            let got = api.wait_status(&p, &location, "deployed").await?;
            check_service(&api, &p, &location, &body, &got)?;
            let listed = api.get(&p, "/v1.0/services").await.try_json()?;
            ensure_eq!(
                listed["services"],
                json!([got]),
                "the list shows the same service"
            );
            Ok(())
        }
    })
    .await;
}

/// The 7 cases of `data_default_service_values.json`: what is submitted
/// and exactly what GET shows for domains, origins, caching, restrictions.
fn defaults_cases() -> Vec<(String, (Value, Value))> {
    let origin = |kind: &str| json!({"origin": "mywebsite1.com", "port": 80, "ssl": false, "hostheadertype": kind});
    let origin_out = |kind: &str, value: Option<&str>| {
        let mut o = json!({"origin": "mywebsite1.com", "port": 80, "ssl": false,
                           "rules": default_rules(), "hostheadertype": kind});
        if let Some(v) = value {
            o["hostheadervalue"] = json!(v);
        }
        o
    };
    let caching_in = json!([{"name": "default", "ttl": 3600}]);
    let caching_out = |ttl: u32| json!([{"name": "default", "ttl": ttl, "rules": default_rules()}]);
    let only_me = |access: Option<&str>| {
        let mut r = json!({"name": "test", "rules": [{"name": "only me", "referrer": "www.mywebsite.com"}]});
        if let Some(a) = access {
            r["access"] = json!(a);
        }
        json!([r])
    };
    let only_me_out = |access: &str| {
        json!([{"name": "test", "access": access,
                "rules": [{"name": "only me", "referrer": "www.mywebsite.com", "request_url": "/*"}]}])
    };
    let case = |o_in: Value,
                c_in: Option<Value>,
                r_in: Option<Value>,
                o_out: Value,
                ttl: u32,
                r_out: Value| {
        let mut submit = json!({"name": "my_service_name", "origins": [o_in]});
        if let Some(c) = c_in {
            submit["caching"] = c;
        }
        if let Some(r) = r_in {
            submit["restrictions"] = r;
        }
        let expect =
            json!({"origins": [o_out], "caching": caching_out(ttl), "restrictions": r_out});
        (submit, expect)
    };
    vec![
        ("origin", case(origin("domain"), None, None, origin_out("domain", None), 86400, json!([]))),
        (
            "caching",
            case(origin("domain"), Some(caching_in.clone()), None, origin_out("domain", None), 3600, json!([])),
        ),
        (
            "restrictions",
            case(origin("domain"), Some(caching_in.clone()), Some(only_me(None)),
                 origin_out("domain", None), 3600, only_me_out("whitelist")),
        ),
        (
            "restrictions_blacklist",
            case(origin("domain"), Some(caching_in.clone()), Some(only_me(Some("blacklist"))),
                 origin_out("domain", None), 3600, only_me_out("blacklist")),
        ),
        (
            "default_hostheadertype",
            case(origin("domain"), Some(caching_in.clone()), Some(only_me(None)),
                 origin_out("domain", None), 3600, only_me_out("whitelist")),
        ),
        (
            "origin_hostheadertype",
            case(origin("origin"), Some(caching_in.clone()), Some(only_me(None)),
                 origin_out("origin", Some("mywebsite1.com")), 3600, only_me_out("whitelist")),
        ),
        (
            "custom_hostheadertype",
            case(
                json!({"origin": "mywebsite1.com", "port": 80, "ssl": false, "hostheadertype": "custom",
                       "hostheadervalue": "www.customweb.com"}),
                Some(caching_in), Some(only_me(None)),
                origin_out("custom", Some("www.customweb.com")), 3600, only_me_out("whitelist"),
            ),
        ),
    ]
    .into_iter()
    .map(|(name, case)| (name.to_owned(), case))
    .collect()
}

#[tokio::test]
async fn the_defaults_contract() {
    let server = Server::start().await;
    let api = server.api();
    check_all(
        "defaults cases",
        defaults_cases(),
        7,
        move |(mut submit, expect)| {
            let api = api.clone();
            async move {
                let d = domain();
                submit["domains"] = json!([{"domain": d, "protocol": "http"}]);
                submit["flavor_id"] = json!("standard");
                let p = project();
                let (_, got) = api.deployed(&p, &submit).await?;
                ensure_eq!(
                    got["domains"],
                    json!([{"domain": d, "protocol": "http"}]),
                    "domains"
                );
                ensure_eq!(got["origins"], expect["origins"], "origins");
                ensure_eq!(got["caching"], expect["caching"], "caching");
                ensure_eq!(got["restrictions"], expect["restrictions"], "restrictions");
                ensure_eq!(
                    got["log_delivery"],
                    json!({"enabled": false}),
                    "log_delivery"
                );
                Ok(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn shared_ssl_domains_get_a_shard() {
    let server = Server::start().await;
    let p = project();
    let label = shared_label();
    let body = json!({"name": "shared", "flavor_id": "standard",
        "domains": [{"domain": label, "protocol": "https", "certificate": "shared"}, {"domain": domain()}],
        "origins": [{"origin": "origin.example.com", "port": 443, "ssl": true}]});
    let location = server.create(&p, &body).await.unwrap();
    // Sharded at once, before any provider has answered.
    let early = server.get(&p, &location).await.json();
    let early_name = early["domains"][0]["domain"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        on_a_shard(&early_name, &label),
        "shared domain right after create: {early_name}"
    );
    assert_eq!(
        early["domains"][0]["certificate_status"], "deployed",
        "shared certificates are deployed"
    );

    let got = server.wait_status(&p, &location, "deployed").await.unwrap();
    assert_eq!(
        got["domains"][0]["domain"],
        json!(early_name),
        "the shard does not change"
    );
    assert_eq!(
        got["domains"][0],
        json!({"domain": early_name, "protocol": "https", "certificate": "shared",
               "certificate_status": "deployed"})
    );
    check_service(&server.api(), &p, &location, &body, &got).unwrap();

    // The same label again takes another shard, and the full name is
    // the domain's identity: it is not free for anyone else.
    let again = json!({"name": "shared again", "flavor_id": "standard",
        "domains": [{"domain": label, "protocol": "https", "certificate": "shared"}],
        "origins": [{"origin": "origin.example.com"}]});
    let (_, second) = server.deployed(&project(), &again).await.unwrap();
    let second_name = second["domains"][0]["domain"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(on_a_shard(&second_name, &label), "{second_name}");
    assert_ne!(
        second_name, early_name,
        "two services never share a shared domain"
    );
    let admin = server
        .get(&p, &format!("/v1.0/admin/domains/{early_name}"))
        .await;
    assert_eq!(admin.status, 200, "{admin}");
    assert_eq!(admin.json()["id"], got["id"]);
}

#[tokio::test]
async fn shared_shards_run_out_after_five() {
    let server = Server::start().await;
    let label = shared_label();
    let body = json!({"name": "shared", "flavor_id": "standard",
        "domains": [{"domain": label, "protocol": "https", "certificate": "shared"}],
        "origins": [{"origin": "origin.example.com"}]});
    let mut names = Vec::new();
    for _ in 0..5 {
        let p = project();
        let location = server.create(&p, &body).await.unwrap();
        let got = server.get(&p, &location).await.json();
        names.push(
            got["domains"][0]["domain"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 5, "five services, five shards: {names:?}");
    let sixth = server.post(&project(), "/v1.0/services", &body).await;
    sixth
        .expect_error(400, &format!("Domain {label} has already been taken"))
        .unwrap();
}

#[tokio::test]
async fn get_before_deployment_and_unknown_ids() {
    let server = Server::with(crate::support::Setup::new().manual()).await;
    let p = project();
    let body = json!({"name": "early", "flavor_id": "standard",
        "domains": [{"domain": domain()}, {"domain": domain(), "protocol": "https", "certificate": "san"}],
        "origins": [{"origin": "origin.example.com"}]});
    let location = server.create(&p, &body).await.unwrap();
    let early = server.get(&p, &location).await;
    assert_eq!(early.status, 200, "{early}");
    let early = early.json();
    assert_eq!(early["status"], "create_in_progress");
    assert_eq!(early["errors"], json!([]));
    assert_eq!(
        early["domains"][1]["certificate_status"],
        "create_in_progress"
    );
    let links = early["links"].as_array().expect("links");
    assert_eq!(links.len(), 2, "no access_url before deployment: {links:?}");

    assert!(server.run_jobs().await >= 1);
    let got = server.wait_status(&p, &location, "deployed").await.unwrap();
    check_service(&server.api(), &p, &location, &body, &got).unwrap();

    let unknown = uuid::Uuid::new_v4();
    let resp = server.get(&p, &format!("/v1.0/services/{unknown}")).await;
    resp.expect_error(404, &format!("service {unknown} could not be found"))
        .unwrap();
    for bad in ["not-a-uuid", "1234", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"] {
        let resp = server.get(&p, &format!("/v1.0/services/{bad}")).await;
        resp.expect_error(400, "Invalid service id").unwrap();
    }
}

#[tokio::test]
async fn duplicate_names_are_accepted() {
    let server = Server::start().await;
    let p = project();
    for _ in 0..2 {
        let body = json!({"name": "same name", "flavor_id": "standard",
            "domains": [{"domain": domain()}], "origins": [{"origin": "origin.example.com"}]});
        server.create(&p, &body).await.unwrap();
    }
    assert_eq!(server.service_ids(&p).await.len(), 2);
}

async fn list(api: &Api, project: &str, query: &str) -> Value {
    let resp = api.get(project, &format!("/v1.0/services{query}")).await;
    assert_eq!(resp.status, 200, "GET /v1.0/services{query}: {resp}");
    resp.json()
}

fn ids(page: &Value) -> Vec<String> {
    page["services"]
        .as_array()
        .expect("a services array")
        .iter()
        .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn listing_pages_with_marker_and_limit() {
    let server = Server::start().await;
    let p = project();
    let mut created = Vec::new();
    for i in 0..5 {
        let body = json!({"name": format!("service {i}"), "flavor_id": "standard",
            "domains": [{"domain": domain()}], "origins": [{"origin": "origin.example.com"}]});
        created.push(id_of(&server.create(&p, &body).await.unwrap()));
    }
    created.sort();

    // Default limit 10: all five, no next link.
    let all = list(&server.api(), &p, "").await;
    assert_eq!(ids(&all), created, "ascending by id");
    assert_eq!(all["links"], json!([]));

    // Pages of two: full pages link to the next one.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 4, "pagination does not end");
        let page = list(&server.api(), &p, &query).await;
        let page_ids = ids(&page);
        seen.extend(page_ids.clone());
        if page_ids.len() < 2 {
            assert_eq!(page["links"], json!([]), "a short page has no next link");
            break;
        }
        let last = page_ids.last().expect("a full page");
        let next = format!("{}/v1.0/services?marker={last}&limit=2", server.base());
        assert_eq!(page["links"], json!([{"href": next, "rel": "next"}]));
        query = format!("?marker={last}&limit=2");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every service once, in order");

    // A full last page still links to an (empty) next page.
    let five = list(&server.api(), &p, "?limit=5").await;
    assert_eq!(ids(&five), created);
    let marker = &created[4];
    let next = format!("{}/v1.0/services?marker={marker}&limit=5", server.base());
    assert_eq!(five["links"], json!([{"href": next, "rel": "next"}]));
    let after = server.get(&p, &next).await.json();
    assert_eq!(after, json!({"links": [], "services": []}));

    // The marker is exclusive, and need not be an existing id.
    let from_second = list(&server.api(), &p, &format!("?marker={}", created[1])).await;
    assert_eq!(ids(&from_second), created[2..].to_vec());
    let zero = list(
        &server.api(),
        &p,
        "?marker=00000000-0000-0000-0000-000000000000&limit=20",
    )
    .await;
    assert_eq!(ids(&zero), created);
    // Unknown parameters are ignored.
    let extra = list(&server.api(), &p, "?color=blue").await;
    assert_eq!(ids(&extra), created);
}

#[tokio::test]
async fn list_parameters_are_validated() {
    let server = Server::start().await;
    let p = project();
    let cases = [
        ("?limit=0", "Limit should be greater than 0"),
        ("?limit=-1", "Limit should be greater than 0"),
        ("?limit=21", "Limit should be less than or equal to 20"),
        (
            "?limit=abc",
            "Limit should be an integer greater than 0 and less or equal to 20",
        ),
        (
            "?limit=1.5",
            "Limit should be an integer greater than 0 and less or equal to 20",
        ),
        ("?marker=not-a-uuid", "Marker must be a valid UUID"),
        ("?marker=1234&limit=2", "Marker must be a valid UUID"),
    ];
    let mut failures = Vec::new();
    for (query, message) in cases {
        let resp = server.get(&p, &format!("/v1.0/services{query}")).await;
        if let Err(e) = resp.expect_error(400, message) {
            failures.push(format!("{query}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let max = list(&server.api(), &p, "?limit=20").await;
    assert_eq!(max, json!({"links": [], "services": []}));
}

#[tokio::test]
async fn free_text_fields_are_stored_verbatim() {
    // Injection payloads in names and paths are plain text: accepted, stored
    // and shown as sent, without HTML escaping.
    let server = Server::start().await;
    let p = project();
    let script = "<script>alert(1)</script>";
    let body = json!({
        "name": format!("{script} & ' or 1=1 --"),
        "flavor_id": "standard",
        "domains": [{"domain": domain()}],
        "origins": [{"origin": "origin.example.com", "rules": [rule("|echo someuniquestring", "/a&b<c>")]}],
        "caching": [{"name": script, "ttl": 60, "rules": [rule("%3Cscript%3E", "/index.htm")]}],
        "restrictions": [{"name": "; exec xp_regread", "rules": [
            {"name": "`echo someuniquestring`", "referrer": "www.mywebsite.com", "request_url": "/<x>"}]}]
    });
    let (location, got) = server.deployed(&p, &body).await.unwrap();
    check_service(&server.api(), &p, &location, &body, &got).unwrap();
}
