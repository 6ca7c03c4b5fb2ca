//! `PATCH /v1.0/services/{id}` (reference §2.6.5): every case of
//! `data_patch_service.json`, `data_patch_service_ssl_domain.json` and
//! `data_patch_service_negative.json` (§10), on the patch base of §10.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::services::{
    check_links, expected_caching, expected_domains, expected_origins, expected_restrictions,
};
use crate::support::{
    apply_patch, check_all, domain, id_of, project, shared_label, show, token, unique_invalid, Api,
    Server, Setup,
};
use crate::{ensure, ensure_eq};

fn rule(name: &str, url: &str) -> Value {
    json!({"name": name, "request_url": url})
}

/// The client view of a patch base (what a patch is applied to): §10's
/// base, or its shared-SSL variant.
fn base_view(ssl: bool) -> Value {
    let (domains, origin) = if ssl {
        (
            json!([{"domain": shared_label(), "protocol": "https", "certificate": "shared"}]),
            json!({"origin": format!("api-test-origin{}.com", token()), "port": 443, "ssl": true,
                   "rules": [rule("default", "/*")], "hostheadertype": "custom",
                   "hostheadervalue": "www.customweb.com"}),
        )
    } else {
        (
            json!([{"domain": domain(), "protocol": "http"}]),
            json!({"origin": format!("api-test-origin{}.com", token()), "port": 80, "ssl": false,
                   "rules": [rule("default", "/*")]}),
        )
    };
    json!({
        "name": format!("api-test{}", token()),
        "domains": domains,
        "origins": [origin],
        "caching": [{"name": "default", "ttl": 3600, "rules": [rule("default", "/*")]},
                    {"name": "home", "ttl": 1200, "rules": [rule("index", "/index.htm")]}],
        "restrictions": [{"name": "website only", "access": "whitelist",
                          "rules": [{"name": "mywebsite.com", "referrer": "www.mywebsite.com", "request_url": "/*"}]}],
        "flavor_id": "standard",
        "log_delivery": {"enabled": false}
    })
}

fn add(path: &str, value: Value) -> Value {
    json!({"op": "add", "path": path, "value": value})
}

fn replace(path: &str, value: Value) -> Value {
    json!({"op": "replace", "path": path, "value": value})
}

fn remove(path: &str) -> Value {
    json!({"op": "remove", "path": path})
}

fn http(d: &str) -> Value {
    json!({"domain": d, "protocol": "http"})
}

fn https(d: &str, certificate: &str) -> Value {
    json!({"domain": d, "protocol": "https", "certificate": certificate})
}

fn origin(host: &str, url: &str) -> Value {
    json!({"origin": host, "port": 80, "ssl": false, "rules": [rule("origin", url)]})
}

fn caching(name: &str, ttl: u32, rule_name: &str, url: &str) -> Value {
    json!({"name": name, "ttl": ttl, "rules": [rule(rule_name, url)]})
}

fn referrer_restriction(
    name: &str,
    access: Option<&str>,
    rule_name: &str,
    referrer: &str,
    url: &str,
) -> Value {
    let mut r = json!({"name": name, "rules": [{"name": rule_name, "referrer": referrer, "request_url": url}]});
    if let Some(access) = access {
        r["access"] = json!(access);
    }
    r
}

/// `website only` (whitelist): the base's referrer rule, then `extra` rules.
fn website_only(access: &str, extra: Value) -> Value {
    let mut rules = vec![
        json!({"name": "mywebsite.com", "referrer": "www.mywebsite.com", "request_url": "/*"}),
    ];
    rules.extend(extra.as_array().cloned().unwrap_or_default());
    json!({"name": "website only", "access": access, "rules": rules})
}

fn ip(name: &str, address: &str) -> Value {
    json!({"name": name, "client_ip": address, "request_url": "/*"})
}

fn geo(name: &str, country: &str) -> Value {
    json!({"name": name, "geography": country, "request_url": "/*"})
}

/// `data_patch_service.json` (skipped cases left out).
fn positive_cases() -> Vec<(&'static str, Value)> {
    let thesite = |name: &str, access: Option<&str>, rule_name: &str, url: &str| {
        referrer_restriction(name, access, rule_name, "www.thesite.com", url)
    };
    vec![
        (
            "add_domain",
            json!([add("/domains/-", http("www.replaceme.com"))]),
        ),
        (
            "add_domain_different_protocol",
            json!([add("/domains/-", https("www.replaceme.com", "san"))]),
        ),
        (
            "replace_domain",
            json!([replace("/domains/0", http("www.replaceme.com"))]),
        ),
        (
            "add_multiple_domains",
            json!([
                add("/domains/-", http("www.replaceme.com")),
                add("/domains/-", http("www.replaceme.com"))
            ]),
        ),
        (
            "add_and_remove_domains",
            json!([
                add("/domains/-", http("www.replaceme.com")),
                remove("/domains/0")
            ]),
        ),
        (
            "add_domain_list",
            json!([add("/domains", json!([http("www.replaceme.com")]))]),
        ),
        (
            "replace_domain_list",
            json!([replace(
                "/domains",
                json!([
                    http("www.ishallreplaceyou.com"),
                    http("www.ishallreplaceyouaswell.com")
                ])
            )]),
        ),
        (
            "replace_service_name",
            json!([replace("/name", json!("chimp"))]),
        ),
        (
            "replace_origin",
            json!([replace(
                "/origins/0",
                json!({"origin": "1.2.3.4", "port": 80,
            "rules": [rule("default", "/replacement")], "ssl": false, "hostheadertype": "custom",
            "hostheadervalue": "www.customweb.com"})
            )]),
        ),
        (
            "replace_origin_no_slashes_request_url",
            json!([replace(
                "/origins/0",
                json!({"origin": "1.2.3.4",
            "port": 80, "rules": [rule("default", "replacement")], "ssl": false, "hostheadertype": "custom",
            "hostheadervalue": "www.customweb.com"})
            )]),
        ),
        (
            "add_origin",
            json!([add("/origins/1", origin("1.2.3.4", "/origin.htm"))]),
        ),
        (
            "add_origin_with_minimum_length_rule_name",
            json!([add(
                "/origins/1",
                json!({"origin": "1.2.3.4",
            "port": 80, "ssl": false, "rules": [rule("o", "/origin.html")]})
            )]),
        ),
        (
            "add_origin_with_minimum_length_request_url",
            json!([add("/origins/1", origin("1.2.3.4", "/"))]),
        ),
        (
            "add_multiple_origins",
            json!([
                add("/origins/1", origin("1.2.3.4", "/origin.htm")),
                add("/origins/2", origin("4.2.5.4", "/origin2.htm"))
            ]),
        ),
        (
            "add_multiple_origins_rules",
            json!([
                add("/origins/0/rules/-", rule("Origin Rule 1", "/cats")),
                add("/origins/0/rules/-", rule("Origin Rule 2", "/dogs"))
            ]),
        ),
        (
            "add_and_remove_origin",
            json!([
                add("/origins/-", origin("1.2.3.4", "/origin.htm")),
                remove("/origins/0")
            ]),
        ),
        (
            "add_origin_with_origin_hostheadertype",
            json!([add(
                "/origins/1",
                json!({"origin": "1.2.3.4",
            "port": 80, "ssl": false, "rules": [rule("origin", "/origin.htm")], "hostheadertype": "origin"})
            )]),
        ),
        (
            "add_origin_with_custom_hostheadertype",
            json!([add(
                "/origins/1",
                json!({"origin": "1.2.3.4",
            "port": 80, "ssl": false, "rules": [rule("origin", "/origin.htm")], "hostheadertype": "custom",
            "hostheadervalue": "www.mycustom.com"})
            )]),
        ),
        (
            "add_caching",
            json!([add(
                "/caching/-",
                caching("cache_name", 111, "index", "/cats.jpg")
            )]),
        ),
        (
            "add_caching_with_minimum_length_name",
            json!([add(
                "/caching/-",
                caching("c", 111, "index", "/minimum_length_name.htm")
            )]),
        ),
        (
            "add_caching_with_minimum_length_rule_name",
            json!([add(
                "/caching/-",
                caching("cache_name", 111, "i", "/minimum_length_rule_name.htm")
            )]),
        ),
        (
            "add_caching_with_minimum_length_request_url",
            json!([add("/caching/-", caching("cache_name", 111, "index", "/"))]),
        ),
        (
            "replace_caching",
            json!([replace(
                "/caching/0",
                caching("cache_name", 111, "index", "/new_path/*")
            )]),
        ),
        (
            "replace_caching_no_slashes_request_url",
            json!([replace(
                "/caching/0",
                caching("cache_name", 111, "index", "new_path")
            )]),
        ),
        (
            "replace_caching_with_zero_ttl",
            json!([replace(
                "/caching/0",
                caching("dynamic_cache", 0, "dynamic", "/latest_news/*")
            )]),
        ),
        ("remove_caching", json!([remove("/caching/0")])),
        (
            "add_multiple_caching",
            json!([
                add(
                    "/caching/-",
                    caching("cache_name", 111, "index", "/dogs.jpg")
                ),
                add(
                    "/caching/-",
                    caching("cache_name2", 121, "index2", "/index2.htm")
                ),
                add(
                    "/caching/-",
                    caching("cache_name3", 0, "index3", "/index3.htm")
                )
            ]),
        ),
        (
            "add_restrictions",
            json!([add(
                "/restrictions/-",
                thesite("restricted", Some("whitelist"), "rule1", "/images/*")
            )]),
        ),
        (
            "replace_restrictions",
            json!([
                add(
                    "/restrictions/-",
                    thesite("restricted", Some("whitelist"), "rule1", "/images2/*")
                ),
                replace(
                    "/restrictions/0",
                    thesite("new_restricted", Some("whitelist"), "rule1", "/*")
                )
            ]),
        ),
        (
            "replace_restrictions_no_slashes_request_url",
            json!([
                add(
                    "/restrictions/-",
                    thesite("restricted", None, "rule1", "/images2/*")
                ),
                replace(
                    "/restrictions/0",
                    thesite("new_restricted", None, "rule1", "images2")
                )
            ]),
        ),
        ("remove_restrictions", json!([remove("/restrictions/0")])),
        (
            "add_restrictions_with_minimum_length_name",
            json!([add(
                "/restrictions/-",
                thesite("r", Some("whitelist"), "rule1", "/images/*")
            )]),
        ),
        (
            "replace_restrictions_white_to_blacklist",
            json!([replace(
                "/restrictions/0",
                thesite("new_restricted", Some("blacklist"), "rule1", "/images2/*")
            )]),
        ),
        (
            "replace_restrictions_black_to_whitelist",
            json!([
                add(
                    "/restrictions/-",
                    thesite("restricted", Some("blacklist"), "rule1", "/images3/*")
                ),
                replace(
                    "/restrictions/1",
                    thesite("new_restricted", Some("whitelist"), "rule1", "/images3/*")
                )
            ]),
        ),
        (
            "replace_restrictions_black_to_default",
            json!([
                add(
                    "/restrictions/-",
                    thesite("restricted", Some("blacklist"), "rule1", "/images3/*")
                ),
                replace(
                    "/restrictions/1",
                    thesite("new_restricted", None, "rule1", "/images3/*")
                )
            ]),
        ),
        (
            "add_restrictions_with_minimum_length_rule_name",
            json!([add(
                "/restrictions/-",
                thesite("restricted", Some("whitelist"), "r", "/images/*")
            )]),
        ),
        (
            "add_restrictions_with_minimum_length_referrer",
            json!([add(
                "/restrictions/-",
                referrer_restriction(
                    "restricted",
                    Some("whitelist"),
                    "rule1",
                    "a.co",
                    "/images/*"
                )
            )]),
        ),
        (
            "enable_log_delivery",
            json!([replace("/log_delivery/enabled", json!(true))]),
        ),
        (
            "disable_log_delivery",
            json!([replace("/log_delivery/enabled", json!(false))]),
        ),
        (
            "add_ssl_domain_origin",
            json!([
                replace("/domains/0", https("www.replaceme.com", "shared")),
                replace(
                    "/origins/0",
                    json!({"origin": "1.1.1.1", "port": 443, "ssl": true,
                "rules": [rule("origin", "/origin2.htm")], "hostheadertype": "custom",
                "hostheadervalue": "www.customweb.com"})
                )
            ]),
        ),
        ("empty_list", json!([])),
        (
            "replace_change_restricted_ip_to_another",
            json!([replace(
                "/restrictions/0",
                website_only("whitelist", json!([ip("myrestricted-ip", "5.6.7.8")]))
            )]),
        ),
        (
            "replace_remove_all_restrictions",
            json!([remove("/restrictions/0")]),
        ),
        (
            "replace_remove_restricted_ip",
            json!([replace(
                "/restrictions/0",
                website_only("whitelist", json!([]))
            )]),
        ),
        (
            "replace_add_new_restricted_ip",
            json!([replace(
                "/restrictions/0",
                website_only(
                    "whitelist",
                    json!([
                        ip("myrestricted-ip", "1.2.3.4"),
                        ip("myrestricted-ip-2", "5.6.7.8")
                    ])
                )
            )]),
        ),
        (
            "add_new_restricted_ipv6",
            json!([
                replace(
                    "/restrictions/0",
                    website_only("whitelist", json!([ip("myrestricted-ip", "1.2.3.4")]))
                ),
                replace(
                    "/restrictions/0",
                    website_only(
                        "whitelist",
                        json!([ip(
                            "myrestricted-ip",
                            "2001:4802:7802:104:be76:4eff:fe20:4b5f"
                        )])
                    )
                )
            ]),
        ),
        (
            "add_new_restricted_ipv4CIDR",
            json!([
                replace(
                    "/restrictions/0",
                    website_only("whitelist", json!([ip("myrestricted-ip", "1.2.3.4")]))
                ),
                replace(
                    "/restrictions/0",
                    website_only(
                        "whitelist",
                        json!([ip("myrestricted-ip", "173.203.4.162/32")])
                    )
                )
            ]),
        ),
        (
            "add_new_restricted_ipv4_and_ipv6_CIDR",
            json!([
                replace(
                    "/restrictions/0",
                    website_only("whitelist", json!([ip("myrestricted-ip", "1.2.3.4")]))
                ),
                replace(
                    "/restrictions/0",
                    website_only(
                        "whitelist",
                        json!([
                            ip("myrestricted-ipv4-CIDR", "173.203.4.162/32"),
                            ip(
                                "myrestricted-ipv6-CIDR",
                                "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/123"
                            )
                        ])
                    )
                )
            ]),
        ),
        (
            "replace_add_geo_restriction",
            json!([replace(
                "/restrictions/0",
                website_only("whitelist", json!([geo("myrestricted-geo", "USA")]))
            )]),
        ),
        (
            "replace_add_geo_restriction_multiple_country",
            json!([replace(
                "/restrictions/0",
                website_only(
                    "whitelist",
                    json!([
                        geo("myrestricted-geo", "USA"),
                        geo("myrestricted-geo", "Mexico")
                    ])
                )
            )]),
        ),
        (
            "replace_add_blacklist_geo_restriction",
            json!([replace(
                "/restrictions/0",
                json!({"name": "website only", "access": "blacklist", "rules": [geo("myrestricted-geo", "USA")]})
            )]),
        ),
    ]
}

/// `data_patch_service_ssl_domain.json`, on the shared-SSL base.
fn ssl_cases() -> Vec<(&'static str, Value)> {
    vec![
        (
            "add_shared_ssl_domain",
            json!([add("/domains/-", https("newshared", "shared"))]),
        ),
        (
            "add_custom_ssl_domain",
            json!([add("/domains/-", https("newcustom.com", "custom"))]),
        ),
        (
            "add_san_ssl_domain",
            json!([add("/domains/-", https("newsan.com", "san"))]),
        ),
        (
            "replace_with_custom_ssl_domain",
            json!([replace(
                "/domains/0",
                https("replacewithcustom.com", "custom")
            )]),
        ),
        (
            "replace_with_san_ssl_domain",
            json!([replace("/domains/0", https("replacewithsan.com", "san"))]),
        ),
        (
            "replace_with_shared_ssl_domain",
            json!([replace("/domains/0", https("replacewithshared", "shared"))]),
        ),
    ]
}

/// Gives the domains of `domain` operations fresh names (shared ones a
/// fresh label), as the upstream tests did.
fn fresh_domains(patch: &mut Value) {
    let fresh = |d: &mut Value| {
        let shared = d["certificate"] == json!("shared");
        d["domain"] = json!(if shared { shared_label() } else { domain() });
    };
    for op in patch.as_array_mut().into_iter().flatten() {
        if !op["path"].as_str().unwrap_or_default().contains("domain") {
            continue;
        }
        match op.get_mut("value") {
            Some(Value::Array(list)) => list.iter_mut().for_each(fresh),
            Some(value @ Value::Object(_)) => fresh(value),
            _ => {}
        }
    }
}

/// Creates a service from a client view and waits until it is deployed.
async fn base_service(api: &Api, view: &Value) -> Result<(String, String, Value), String> {
    let p = project();
    let (location, body) = api.deployed(&p, view).await?;
    Ok((p, location, body))
}

/// Checks that GET shows `view` (a client view, with defaults applied).
fn check_view(api: &Api, location: &str, view: &Value, got: &Value) -> Result<(), String> {
    ensure_eq!(got["status"], json!("deployed"), "status");
    ensure_eq!(got["errors"], json!([]), "errors");
    ensure_eq!(got["name"], view["name"], "name");
    ensure_eq!(got["flavor_id"], view["flavor_id"], "flavor_id");
    ensure_eq!(
        got["domains"],
        expected_domains(&view["domains"], &got["domains"])?,
        "domains"
    );
    ensure_eq!(
        got["origins"],
        expected_origins(&view["origins"]),
        "origins"
    );
    ensure_eq!(
        got["caching"],
        expected_caching(view.get("caching"), false),
        "caching"
    );
    ensure_eq!(
        got["restrictions"],
        expected_restrictions(view.get("restrictions")),
        "restrictions"
    );
    ensure_eq!(got["log_delivery"], view["log_delivery"], "log_delivery");
    check_links(api, location, got)
}

async fn positive(api: Api, ssl: bool, mut patch: Value) -> Result<(), String> {
    let view = base_view(ssl);
    let (p, location, before) = base_service(&api, &view).await?;
    check_view(&api, &location, &view, &before)?;
    fresh_domains(&mut patch);
    let expected = apply_patch(&view, &patch);
    let resp = api.patch(&p, &location, &patch).await;
    resp.expect_empty(202)?;
    ensure_eq!(
        resp.location(),
        Some(location.clone()),
        "Location of the 202"
    );
    let got = api.wait_status(&p, &location, "deployed").await?;
    check_view(&api, &location, &expected, &got)?;
    ensure_eq!(got["id"], before["id"], "id");
    Ok(())
}

fn named(cases: Vec<(&'static str, Value)>) -> Vec<(String, Value)> {
    cases.into_iter().map(|(n, v)| (n.to_owned(), v)).collect()
}

#[tokio::test]
async fn every_positive_patch_case_deploys_the_patched_service() {
    let server = Server::start().await;
    let api = server.api();
    check_all("patch cases", named(positive_cases()), 8, move |patch| {
        positive(api.clone(), false, patch)
    })
    .await;
}

#[tokio::test]
async fn every_ssl_patch_case_deploys_the_patched_service() {
    let server = Server::start().await;
    let api = server.api();
    check_all("ssl patch cases", named(ssl_cases()), 6, move |patch| {
        positive(api.clone(), true, patch)
    })
    .await;
}

/// `data_patch_service_negative.json`.
fn negative_cases() -> Vec<(&'static str, Value)> {
    let restriction = |name: &str, access: Option<&str>, rule: Value| {
        let mut r = json!({"name": name, "rules": [rule]});
        if let Some(a) = access {
            r["access"] = json!(a);
        }
        r
    };
    vec![
        (
            "add_origin_no_rules",
            json!([add("/origins/-", json!({"origin": "1.2.3.4", "port": 80}))]),
        ),
        (
            "add_duplicate_origin_rule",
            json!([
                add("/origins/1", origin("1.2.3.4", "/origin.htm")),
                add("/origins/2", origin("4.2.5.4", "/origin.htm"))
            ]),
        ),
        (
            "add_duplicate_origin",
            json!([
                add(
                    "/origins/1",
                    json!({"origin": "1.2.3.4", "port": 80, "ssl": false,
                "rules": [rule("origin1", "/origin1.htm")]})
                ),
                add(
                    "/origins/2",
                    json!({"origin": "1.2.3.4", "rules": [rule("origin2", "/origin2.htm")]})
                )
            ]),
        ),
        ("empty_dict", json!([{}])),
        ("remove_name", json!([remove("/name")])),
        (
            "replace_too_short_name",
            json!([replace("/name", json!("ab"))]),
        ),
        (
            "replace_too_long_name",
            json!([replace("/name", json!("too_long_name_".repeat(24)))]),
        ),
        ("remove_origin", json!([remove("/origins/0")])),
        (
            "replace_origins_empty",
            json!([replace("/origins", json!({}))]),
        ),
        (
            "replace_origin_spaces_prefix",
            json!([replace(
                "/origins/0",
                json!({"origin": "   1.2.3.4", "port": 80,
            "rules": [rule("default", "/replacement")], "ssl": false})
            )]),
        ),
        (
            "replace_origin_http_prefix",
            json!([replace(
                "/origins/0",
                json!({"origin": "http://1.2.3.4", "port": 80,
            "rules": [rule("default", "/replacement")], "ssl": false})
            )]),
        ),
        (
            "replace_origin_https_prefix",
            json!([replace(
                "/origins/0",
                json!({"origin": "https://1.2.3.4",
            "port": 80, "rules": [rule("default", "/replacement")], "ssl": false})
            )]),
        ),
        (
            "replace_origin_non_ASCII",
            json!([replace(
                "/origins/0",
                json!({"origin": "הינטיש.com", "port": 80,
            "rules": [rule("default", "/replacement")], "ssl": false})
            )]),
        ),
        ("remove_domain", json!([remove("/domains/0")])),
        (
            "add_duplicate_domain",
            json!([
                add("/domains/0", http("www.domain.com")),
                add("/domains/0", json!({"domain": "www.domain.com"}))
            ]),
        ),
        (
            "add_uppercase_domain",
            json!([add("/domains/0", http("www.DOMAIN.com"))]),
        ),
        (
            "replace_empty_origin",
            json!([replace("/origins/0", json!({}))]),
        ),
        (
            "add_caching_no_rules",
            json!([add("/caching/-", json!({"name": "cache_name", "ttl": 111}))]),
        ),
        (
            "replace_domain_invalid_protocol",
            json!([replace(
                "/domains/0",
                json!({"domain": "meow", "protocol": "ftp"})
            )]),
        ),
        (
            "replace_with_empty_domain",
            json!([replace("/domains/0", http(""))]),
        ),
        (
            "replace_with_uppercase_domain",
            json!([replace("/domains/0", http("MYDOMAIN.com"))]),
        ),
        (
            "replace_domain_empty_dict",
            json!([replace("/domains/0", json!({}))]),
        ),
        ("remove_flavor", json!([remove("/flavor_id")])),
        (
            "replace_flavor_nonexistant",
            json!([replace("/flavor_id", json!("nonexistant"))]),
        ),
        (
            "add_origin_with_empty_rule_name",
            json!([add(
                "/origins/1",
                json!({"origin": "1.2.3.4", "port": 80,
            "ssl": false, "rules": [rule("", "/origin.html")]})
            )]),
        ),
        (
            "add_origin_with_empty_request_url",
            json!([add("/origins/1", origin("1.2.3.4", ""))]),
        ),
        (
            "add_caching_with_empty_name",
            json!([add(
                "/caching/-",
                caching("", 111, "index", "/empty_name.htm")
            )]),
        ),
        (
            "add_caching_with_empty_rule_name",
            json!([add(
                "/caching/-",
                caching("cache_name", 111, "", "/empty_rule_name.htm")
            )]),
        ),
        (
            "add_caching_with_empty_request_url",
            json!([add("/caching/-", caching("cache_name", 111, "index", ""))]),
        ),
        (
            "add_restrictions_with_empty_name",
            json!([add(
                "/restrictions/-",
                restriction(
                    "",
                    None,
                    json!({"name": "rule1", "referrer": "www.thesite.com"})
                )
            )]),
        ),
        (
            "add_restrictions_with_empty_rule_name",
            json!([add(
                "/restrictions/-",
                restriction(
                    "restricted",
                    None,
                    json!({"name": "", "referrer": "www.thesite.com"})
                )
            )]),
        ),
        (
            "add_restrictions_with_duplicate_path",
            json!([add(
                "/restrictions/-",
                restriction(
                    "restricted",
                    None,
                    json!({"name": "", "referrer": "www.thesite.com", "request_url": "/*"})
                )
            )]),
        ),
        (
            "add_restrictions_with_less_than_minimum_length_referrer",
            json!([add(
                "/restrictions/-",
                restriction(
                    "restricted",
                    None,
                    json!({"name": "rule1", "referrer": "ab"})
                )
            )]),
        ),
        (
            "log_delivery_non_boolean",
            json!([replace("/log_delivery/enabled", json!("not a boolean"))]),
        ),
        (
            "add_ssl_domain",
            json!([add("/domains/-", https("replaceme.com", "shared"))]),
        ),
        (
            "add_restrictions_with_invalid_country_region_code",
            json!([add(
                "/restrictions/-",
                restriction(
                    "restricted-nonsense-country",
                    None,
                    json!({"name": "rule1", "geography": "NOTACOUNTRY"})
                )
            )]),
        ),
        (
            "add_restrictions_with_conflict_blacklist_geo",
            json!([
                add(
                    "/restrictions/-",
                    restriction(
                        "restricted-nonsense-country",
                        Some("whitelist"),
                        json!({"name": "rule1", "geography": "USA"})
                    )
                ),
                add(
                    "/restrictions/-",
                    restriction(
                        "restricted-nonsense-country",
                        Some("blacklist"),
                        json!({"name": "rule1", "geography": "Mexico"})
                    )
                )
            ]),
        ),
        (
            "add_restrictions_with_invalid_ip",
            json!([add(
                "/restrictions/-",
                restriction(
                    "restricted-ip2",
                    None,
                    json!({"name": "rule1", "client_ip": "13.4.5"})
                )
            )]),
        ),
        (
            "add_restrictions_with_conflict_blacklist_referrer",
            json!([add(
                "/restrictions/-",
                restriction(
                    "restricted-blacklist",
                    Some("blacklist"),
                    json!({"name": "rule1", "referrer": "myblacklist.com"})
                )
            )]),
        ),
        (
            "add_restrictions_with_conflict_blacklist_ip",
            json!([
                add(
                    "/restrictions/-",
                    restriction(
                        "restricted-whitelist",
                        Some("whitelist"),
                        json!({"name": "rule1", "client_ip": "1.2.3.4"})
                    )
                ),
                add(
                    "/restrictions/-",
                    restriction(
                        "restricted-blacklist",
                        Some("blacklist"),
                        json!({"name": "rule1", "client_ip": "5.6.7.8"})
                    )
                )
            ]),
        ),
        (
            "add_restrictions_with_invalid_ipv6_address",
            json!([add(
                "/restrictions/-",
                restriction(
                    "restricted-whitelist",
                    Some("whitelist"),
                    json!({"name": "rule1", "client_ip": ":"})
                )
            )]),
        ),
        (
            "add_restrictions_with_invalid_ipv6_address_2",
            json!([add(
                "/restrictions/-",
                restriction(
                    "restricted-whitelist",
                    Some("whitelist"),
                    json!({"name": "rule1", "client_ip": "1200::AB00:1234::2552:7777:1313"})
                )
            )]),
        ),
        (
            "add_restrictions_with_invalid_ipv6_address_3",
            json!([add(
                "/restrictions/-",
                restriction(
                    "restricted-whitelist",
                    Some("whitelist"),
                    json!({"name": "rule1", "client_ip": "1200:0000:AB00:1234:O000:2552:7777:1313"})
                )
            )]),
        ),
        (
            "add_root_domain",
            json!([add("/domains/0", http("website.com"))]),
        ),
        (
            "add_root_domain2",
            json!([add("/domains/0", http("website.co.uk"))]),
        ),
        // Beyond the data file: malformed operations and paths.
        (
            "unknown_op",
            json!([{"op": "frobnicate", "path": "/name", "value": "x"}]),
        ),
        (
            "path_not_in_the_service",
            json!([replace("/colour", json!("blue"))]),
        ),
        ("remove_missing_index", json!([remove("/domains/7")])),
        (
            "failing_test_op",
            json!([{"op": "test", "path": "/name", "value": "not the name"},
                                   replace("/name", json!("changed"))]),
        ),
        ("add_unknown_key", json!([add("/colour", json!("blue"))])),
        (
            "not_an_array",
            json!({"op": "replace", "path": "/name", "value": "x"}),
        ),
    ]
}

/// Gives every domain of a refused patch a prefix that keeps it as invalid
/// (or as duplicated) as it was.
fn prefix_domains(patch: &mut Value) {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut rename = |d: &mut Value| {
        if let Some(name) = d["domain"].as_str().map(str::to_owned) {
            let new = seen
                .entry(name.clone())
                .or_insert_with(|| unique_invalid(&name))
                .clone();
            d["domain"] = json!(new);
        }
    };
    for op in patch.as_array_mut().into_iter().flatten() {
        match op.get_mut("value") {
            Some(Value::Array(list)) => list.iter_mut().for_each(&mut rename),
            Some(value @ Value::Object(_)) => rename(value),
            _ => {}
        }
    }
}

#[tokio::test]
async fn every_negative_patch_case_is_400_and_changes_nothing() {
    let server = Server::start().await;
    let api = server.api();
    check_all(
        "negative patch cases",
        named(negative_cases()),
        8,
        move |mut patch| {
            let api = api.clone();
            async move {
                let view = base_view(false);
                let (p, location, before) = base_service(&api, &view).await?;
                prefix_domains(&mut patch);
                let resp = api.patch(&p, &location, &patch).await;
                resp.expect_status_with_message(400)?;
                ensure!(
                    resp.location().is_none(),
                    "a refused patch has a Location: {resp}"
                );
                let after = api.get(&p, &location).await.try_json()?;
                ensure_eq!(after, before, "the service after a refused patch");
                Ok(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn patch_needs_a_deployed_or_failed_service() {
    let server = Server::with(Setup::new().manual()).await;
    let view = base_view(false);
    let p = project();
    let location = server.create(&p, &view).await.unwrap();
    let id = id_of(&location);
    let name_change = json!([replace("/name", json!("renamed"))]);

    let resp = server.patch(&p, &location, &name_change).await;
    resp.expect_error(400, &format!("Service {id} neither deployed nor failed"))
        .unwrap();
    server.run_jobs().await;
    server.wait_status(&p, &location, "deployed").await.unwrap();

    // Accepted once deployed; a second patch while the first is in
    // progress is refused the same way.
    server
        .patch(&p, &location, &name_change)
        .await
        .expect_empty(202)
        .unwrap();
    let during = server.get(&p, &location).await.json();
    assert_eq!(during["status"], "update_in_progress");
    let again = server.patch(&p, &location, &json!([])).await;
    again
        .expect_error(400, &format!("Service {id} neither deployed nor failed"))
        .unwrap();
    server.run_jobs().await;
    let got = server.wait_status(&p, &location, "deployed").await.unwrap();
    assert_eq!(got["name"], "renamed");
}

#[tokio::test]
async fn patch_of_unknown_or_invalid_ids() {
    let server = Server::start().await;
    let p = project();
    let unknown = uuid::Uuid::new_v4();
    let resp = server
        .patch(&p, &format!("/v1.0/services/{unknown}"), &json!([]))
        .await;
    resp.expect_error(404, "Service not found").unwrap();
    let resp = server
        .patch(&p, "/v1.0/services/not-a-uuid", &json!([]))
        .await;
    resp.expect_error(400, "Invalid service id").unwrap();
}

#[tokio::test]
async fn a_patch_body_must_be_json() {
    let server = Server::start().await;
    let view = base_view(false);
    let (p, location, before) = base_service(&server.api(), &view).await.unwrap();
    let resp = server
        .send(
            reqwest::Method::PATCH,
            &location,
            Some(&p),
            Some((Some("application/json"), b"[{".to_vec())),
        )
        .await;
    resp.expect_error(400, "Invalid JSON string").unwrap();
    let resp = server
        .send(
            reqwest::Method::PATCH,
            &location,
            Some(&p),
            Some((Some("text/plain"), b"[]".to_vec())),
        )
        .await;
    resp.expect_status_with_message(415).unwrap();
    assert_eq!(server.get(&p, &location).await.json(), before);
}

#[tokio::test]
async fn domains_are_claimed_and_released_by_patches() {
    // Upstream's claim/relinquish test: add a domain, remove it, add it again.
    let server = Server::start().await;
    let view = base_view(false);
    let (p, location, _) = base_service(&server.api(), &view).await.unwrap();
    let extra = domain();
    let add_extra = json!([add("/domains/-", http(&extra))]);
    for round in 0..2 {
        server
            .patch(&p, &location, &add_extra)
            .await
            .expect_empty(202)
            .unwrap();
        let got = server.wait_status(&p, &location, "deployed").await.unwrap();
        assert_eq!(got["domains"][1]["domain"], json!(extra), "round {round}");
        // While claimed, no other service can have it.
        let other = json!({"name": "other", "flavor_id": "standard", "domains": [{"domain": extra}],
                           "origins": [{"origin": "origin.example.com"}]});
        let resp = server.post(&project(), "/v1.0/services", &other).await;
        resp.expect_error(400, &format!("Domain {extra} has already been taken"))
            .unwrap();

        server
            .patch(&p, &location, &json!([remove("/domains/1")]))
            .await
            .expect_empty(202)
            .unwrap();
        let got = server.wait_status(&p, &location, "deployed").await.unwrap();
        assert_eq!(
            got["domains"].as_array().map(Vec::len),
            Some(1),
            "round {round}: {}",
            show(&got)
        );
    }
    // Released: another service may take it now.
    let other = json!({"name": "other", "flavor_id": "standard", "domains": [{"domain": extra}],
                       "origins": [{"origin": "origin.example.com"}]});
    server.deployed(&project(), &other).await.unwrap();
}

#[tokio::test]
async fn a_patch_cannot_take_another_services_domain() {
    let server = Server::start().await;
    let (p, location, before) = base_service(&server.api(), &base_view(false))
        .await
        .unwrap();
    let taken = domain();
    let other = json!({"name": "owner", "flavor_id": "standard", "domains": [{"domain": taken}],
                       "origins": [{"origin": "origin.example.com"}]});
    server.deployed(&project(), &other).await.unwrap();
    let resp = server
        .patch(&p, &location, &json!([add("/domains/-", http(&taken))]))
        .await;
    resp.expect_error(400, &format!("Domain {taken} has already been taken"))
        .unwrap();
    // Its own domain again, with another protocol: a duplicate in the request.
    let own = before["domains"][0]["domain"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let resp = server
        .patch(
            &p,
            &location,
            &json!([add("/domains/-", https(&own, "san"))]),
        )
        .await;
    resp.expect_status_with_message(400).unwrap();
    assert_eq!(server.get(&p, &location).await.json(), before);
}

#[tokio::test]
async fn a_failed_service_can_be_patched() {
    let server = Server::start().await;
    let (p, location, before) = base_service(&server.api(), &base_view(false))
        .await
        .unwrap();
    let status = json!({"project_id": p, "service_id": before["id"], "status": "failed"});
    let resp = server
        .post(&p, "/v1.0/admin/services/status", &status)
        .await;
    resp.expect_empty(201).unwrap();
    server.wait_status(&p, &location, "failed").await.unwrap();
    let resp = server
        .patch(
            &p,
            &location,
            &json!([replace("/name", json!("recovered"))]),
        )
        .await;
    resp.expect_empty(202).unwrap();
    let got = server.wait_status(&p, &location, "deployed").await.unwrap();
    assert_eq!(got["name"], "recovered");
}
