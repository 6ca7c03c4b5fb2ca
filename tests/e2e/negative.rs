//! Bodies that must be refused (reference §3, §10): every case of
//! `data_create_service_negative.json`, the SQL-injection,
//! command-injection and XSS families, and malformed requests. All are 4xx,
//! never 5xx, and create nothing.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{check_all, domain, project, unique_invalid, Api, Server, Setup};
use crate::{ensure, ensure_eq};

/// Sets the value at a JSON pointer (its parent must exist).
fn set(mut body: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer below the root");
    match body.pointer_mut(parent) {
        Some(Value::Array(items)) => {
            let i: usize = key.parse().expect("an array index");
            items[i] = value;
        }
        Some(Value::Object(map)) => {
            map.insert(key.to_owned(), value);
        }
        _ => panic!("no object or array at {parent} in {body}"),
    }
    body
}

fn rule(name: &str, url: &str) -> Value {
    json!({"name": name, "request_url": url})
}

fn home_caching() -> Value {
    json!([{"name": "default", "ttl": 3600}, {"name": "home", "ttl": 1200, "rules": [rule("index", "/index.htm")]}])
}

/// The common shape of the negative cases: valid but for what each case
/// changes.
fn base() -> Value {
    json!({
        "name": "negative_case",
        "domains": [{"domain": "www.mywebsite.com"}, {"domain": "blog.mywebsite.com"}],
        "origins": [{"origin": "myorigin.com", "port": 443, "ssl": false}],
        "caching": home_caching(),
        "restrictions": [],
        "flavor_id": "standard"
    })
}

fn with_domains(domains: Value) -> Value {
    set(base(), "/domains", domains)
}

fn with_origins(origins: Value) -> Value {
    set(base(), "/origins", origins)
}

fn with_restrictions(restrictions: Value) -> Value {
    set(base(), "/restrictions", restrictions)
}

fn referrer_restriction(access: &str, referrer: &str, url: &str) -> Value {
    json!({"name": format!("restriction {access}"), "access": access,
           "rules": [{"name": "only me", "referrer": referrer, "request_url": url}]})
}

fn ip_restriction(ip: &str) -> Value {
    json!([{"name": "default", "rules": [{"name": "ip", "client_ip": ip}]}])
}

fn too_long(word: &str, times: usize) -> String {
    word.repeat(times)
}

/// The cases of `data_create_service_negative.json`, each written anew
/// with only its own fault where the upstream body had accidental extra
/// ones (root domains, stray `[{}]` restrictions), so each case tests
/// what its name says.
fn create_negative_cases() -> Vec<(String, Value)> {
    let origins_n = |n: usize| {
        let mut list = vec![json!({"origin": "origin1.com"})];
        for i in 2..=n {
            list.push(json!({"origin": format!("origin{i}.com"),
                             "rules": [rule("index", &format!("/index{i}.htm"))]}));
        }
        Value::Array(list)
    };
    let cases: Vec<(&str, Value)> = vec![
        ("invalid_name", set(base(), "/name", json!(""))),
        ("too_short_name", set(base(), "/name", json!("ab"))),
        (
            "too_short_domain",
            with_domains(json!([{"domain": "ab"}, {"domain": "blog.mywebsite.com"}])),
        ),
        (
            "same_domain_different_protocol",
            with_domains(json!([{"domain": "www.mywebsite.com"},
            {"domain": "www.mywebsite.com", "protocol": "https", "certificate": "san"}])),
        ),
        (
            "too_long_name",
            set(base(), "/name", json!(too_long("too_long_name_", 24))),
        ),
        (
            "too_long_domain_name",
            with_domains(
                json!([{"domain": format!("{}.com", too_long("toolongname", 23))},
            {"domain": "blog.mywebsite.com"}]),
            ),
        ),
        (
            "too_long_domain_label",
            with_domains(json!([{"domain": format!("www.{}.com", "a".repeat(64))}])),
        ),
        ("empty_domain_list", with_domains(json!([]))),
        (
            "too_many_domains",
            with_domains(Value::Array(
                (1..=11)
                    .map(|i| json!({"domain": format!("blog{i}.mywebsite.com")}))
                    .collect(),
            )),
        ),
        ("empty_origin_list", with_origins(json!([]))),
        ("too_many_origins", with_origins(origins_n(11))),
        (
            "duplicate_origin_rule",
            with_origins(json!([{"origin": "origin1.com"},
            {"origin": "origin2.com", "rules": [rule("index", "/index.htm")]},
            {"origin": "origin3.com", "rules": [rule("index", "/index.htm")]}])),
        ),
        (
            "duplicate_origin_matches",
            with_origins(json!([
            {"origin": "origin1.com", "rules": [rule("index", "/*")]},
            {"origin": "origin2.com", "rules": [rule("index", "*")]}])),
        ),
        (
            "second_origin_without_rules",
            with_origins(json!([{"origin": "origin1.com"}, {"origin": "origin2.com"}])),
        ),
        (
            "duplicate_origin",
            with_origins(json!([{"origin": "origin1.com"},
            {"origin": "origin1.com", "rules": [rule("other", "/other/*")]}])),
        ),
        (
            "duplicate_caching_matches",
            set(
                base(),
                "/caching",
                json!([{"name": "default", "ttl": 3600},
            {"name": "home", "ttl": 1200, "rules": [rule("index", "/*")]},
            {"name": "home2", "ttl": 1200, "rules": [rule("index", "*")]}]),
            ),
        ),
        (
            "duplicate_restriction_matches_blacklist*_whitelist/*",
            with_restrictions(json!([
                referrer_restriction("whitelist", "www.mywebsite.com", "/*"),
                referrer_restriction("blacklist", "www.mywebsite.com", "*")
            ])),
        ),
        (
            "duplicate_restriction_matches_blacklist/*_whitelist*",
            with_restrictions(json!([
                referrer_restriction("whitelist", "www.mywebsite.com", "*"),
                referrer_restriction("blacklist", "www.mywebsite.com", "/*")
            ])),
        ),
        (
            "duplicate_restriction_matches_blacklist*_whitelist*",
            with_restrictions(json!([
                referrer_restriction("whitelist", "www.mywebsite.com", "*"),
                referrer_restriction("blacklist", "www.mywebsite.com", "*")
            ])),
        ),
        (
            "duplicate_restriction_matches_blacklist/*_whitelist/*",
            with_restrictions(json!([
                referrer_restriction("whitelist", "www.mywebsite.com", "/*"),
                referrer_restriction("blacklist", "www.mywebsite.com", "/*")
            ])),
        ),
        (
            "non_numeric_origin_port",
            with_origins(json!([{"origin": "myorigin.com", "port": "fourfourthree"}])),
        ),
        (
            "non_boolean_origin_ssl",
            with_origins(json!([{"origin": "myorigin.com", "port": 443, "ssl": "Arggg"}])),
        ),
        (
            "invalid_origin_value",
            with_origins(json!([{"origin": "invalid_origin_value", "port": 443}])),
        ),
        (
            "invalid_origin_spaces_prefix",
            with_origins(json!([{"origin": "   spacesinorigin.com", "port": 80}])),
        ),
        (
            "invalid_origin_with_slash",
            with_origins(json!([{"origin": "originwithslash.com/slash", "port": 80}])),
        ),
        (
            "invalid_origin_http_prefix",
            with_origins(json!([{"origin": "http://origin.com", "port": 80}])),
        ),
        (
            "invalid_origin_https_prefix",
            with_origins(json!([{"origin": "https://origin.com", "port": 443, "ssl": true}])),
        ),
        (
            "invalid_origin_non_ASCII",
            with_origins(json!([{"origin": "קאַץ.com", "port": 443, "ssl": true}])),
        ),
        (
            "invalid_origin_ipv6",
            with_origins(json!([{"origin": "2001:db8::1", "port": 80}])),
        ),
        (
            "invalid_flavor",
            set(base(), "/flavor_id", json!("non_exist")),
        ),
        ("missing_flavor", {
            let mut b = base();
            b.as_object_mut().map(|m| m.remove("flavor_id"));
            b
        }),
        (
            "caching_list_no_name",
            set(base(), "/caching", json!([{"ttl": 3600}])),
        ),
        (
            "caching_list_no_rule_name",
            set(
                base(),
                "/caching",
                json!([{"name": "default", "ttl": 3600},
            {"name": "home", "ttl": 1200, "rules": [{"request_url": "/index.htm"}]}]),
            ),
        ),
        (
            "caching_list_no_rule_url",
            set(
                base(),
                "/caching",
                json!([{"name": "default", "ttl": 3600},
            {"name": "home", "ttl": 1200, "rules": [{"name": "index"}]}]),
            ),
        ),
        (
            "caching_negative_ttl",
            set(base(), "/caching/1/ttl", json!(-1)),
        ),
        (
            "caching_ttl_too_large",
            set(base(), "/caching/1/ttl", json!(31_536_001)),
        ),
        (
            "caching_duplicate_rule",
            set(
                base(),
                "/caching",
                json!([{"name": "default", "ttl": 3600},
            {"name": "home", "ttl": 20, "rules": [rule("index", "/index.htm")]},
            {"name": "images", "ttl": 30, "rules": [rule("images", "/index.htm")]}]),
            ),
        ),
        (
            "caching_second_entry_without_rules",
            set(
                base(),
                "/caching",
                json!([{"name": "default", "ttl": 3600},
            {"name": "home", "ttl": 20}]),
            ),
        ),
        ("restrictions_empty_item", with_restrictions(json!([{}]))),
        (
            "restrictions_non_sense_type",
            with_restrictions(json!([{"name": "test", "access": "nonsense",
            "rules": [{"name": "only me", "referrer": "www.mywebsite.com"}]}])),
        ),
        (
            "referrer_invalid_domain_with_http",
            with_restrictions(json!([referrer_restriction(
                "whitelist",
                "http://www.mywebsite.com",
                "/*"
            )])),
        ),
        (
            "referrer_invalid_domain_with_bad_format",
            with_restrictions(json!([referrer_restriction(
                "whitelist",
                "www.-mywebsite.com",
                "/*"
            )])),
        ),
        (
            "http_domain_with_certificate",
            with_domains(json!([
            {"domain": "www.mywebsite.com", "protocol": "http", "certificate": "shared"},
            {"domain": "blog.mywebsite.com", "protocol": "http"}])),
        ),
        (
            "https_domain_with_no_certificate",
            with_domains(json!([
            {"domain": "www.mywebsite.com", "protocol": "https"}, {"domain": "blog.mywebsite.com", "protocol": "http"}])),
        ),
        (
            "https_domain_with_invalid_certificate",
            with_domains(json!([
            {"domain": "www.mywebsite.com", "protocol": "https", "certificate": "whatacert"},
            {"domain": "blog.mywebsite.com", "protocol": "http"}])),
        ),
        (
            "shared_ssl_multi_word_domain",
            with_domains(json!([
            {"domain": "sharedsslwebsite.com", "protocol": "https", "certificate": "shared"},
            {"domain": "www.website.com", "protocol": "http"}])),
        ),
        (
            "restrictions_no_name",
            with_restrictions(json!([{"rules": [{"name": "r", "referrer": "www.abc.com"}]}])),
        ),
        (
            "restrictions_no_rules",
            with_restrictions(json!([{"name": "default"}])),
        ),
        (
            "restrictions_invalid_ip_address",
            with_restrictions(ip_restriction("1.2.3")),
        ),
        (
            "restrictions_invalid_ip_v4_address_big_section",
            with_restrictions(ip_restriction("348.2.3.2")),
        ),
        (
            "restrictions_invalid_ipv6_address",
            with_restrictions(ip_restriction(":")),
        ),
        (
            "restrictions_invalid_ipv4_CIDR",
            with_restrictions(ip_restriction("192.168.0.1/33")),
        ),
        (
            "restrictions_invalid_ipv4_CIDR_negative",
            with_restrictions(ip_restriction("192.168.0.1/-3")),
        ),
        (
            "restrictions_invalid_ipv6_CIDR",
            with_restrictions(ip_restriction(
                "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/129",
            )),
        ),
        (
            "restrictions_invalid_ipv6_address_2",
            with_restrictions(ip_restriction("1200::AB00:1234::2552:7777:1313")),
        ),
        (
            "restrictions_invalid_ipv6_address_3",
            with_restrictions(ip_restriction("1200:0000:AB00:1234:O000:2552:7777:1313")),
        ),
        (
            "restrictions_black_and_whitelist_ip",
            with_restrictions(json!([
            {"name": "default", "access": "whitelist", "rules": [{"name": "a", "client_ip": "1.2.3.4"}]},
            {"name": "default-blacklist", "access": "blacklist", "rules": [{"name": "b", "client_ip": "5.6.7.8"}]}])),
        ),
        (
            "restrictions_unknown_rule_kind",
            with_restrictions(json!([{"name": "r",
            "rules": [{"name": "x", "cookie": "abc"}]}])),
        ),
        (
            "origin_invalid_port",
            with_origins(json!([{"origin": "myorigin.com", "port": 8080,
            "rules": [rule("name", "/x")]}])),
        ),
        (
            "origin_null_port",
            with_origins(json!([{"origin": "myorigin.com", "port": null}])),
        ),
        (
            "origin_negative_port",
            with_origins(json!([{"origin": "myorigin.com", "port": -80}])),
        ),
        (
            "origin_string_port",
            with_origins(json!([{"origin": "myorigin.com", "port": "80"}])),
        ),
        (
            "domain_shared_ssl_non_https",
            with_domains(json!([
            {"domain": "sharedsslwebsite", "protocol": "http", "certificate": "shared"},
            {"domain": "www.website.com", "protocol": "http"}])),
        ),
        (
            "multi_word_domain_shared_ssl",
            with_domains(json!([
            {"domain": "sharedssl.website", "protocol": "https", "certificate": "shared"}])),
        ),
        (
            "domain_san_ssl_non_https",
            with_domains(json!([
            {"domain": "www.sansslwebsite.com", "protocol": "http", "certificate": "san"}])),
        ),
        (
            "domain_custom_ssl_non_https",
            with_domains(json!([
            {"domain": "www.customsslwebsite.com", "protocol": "http", "certificate": "custom"}])),
        ),
        (
            "domain_unknown_protocol",
            with_domains(json!([{"domain": "www.mywebsite.com", "protocol": "ftp"}])),
        ),
        (
            "multi_domain_non-ssl_ssl",
            with_domains(json!([
            {"domain": "sharedsslwebsite", "protocol": "https", "certificate": "shared"},
            {"domain": "httpwebsite"}])),
        ),
        (
            "non_ASCII",
            set(
                with_domains(json!([{"domain": "сайт.com", "protocol": "http"},
            {"domain": "ਦੀ ਵੈੱਬਸਾਈਟ.com", "protocol": "http"}])),
                "/name",
                json!("איבערזעצן"),
            ),
        ),
        (
            "non_ASCII_domain_only",
            with_domains(json!([{"domain": "www.сайт.com"}])),
        ),
        (
            "invalid_domain_name_with_space",
            with_domains(json!([{"domain": "www.mywebsite.com "}])),
        ),
        (
            "invalid_domain_name_with_hyphen_at_beginning",
            with_domains(json!([{"domain": "abcd.-mywebsite.com"}])),
        ),
        (
            "invalid_domain_name_with_hyphen_at_end",
            with_domains(json!([{"domain": "www.mywebsite-.com"}])),
        ),
        (
            "invalid_domain_name_with_underscore",
            with_domains(json!([{"domain": "www.my_website.com"}])),
        ),
        (
            "uppercase_domain",
            with_domains(json!([{"domain": "www.MYWEBSITE.com"}])),
        ),
        (
            "same_domain_and_origin",
            with_domains(json!([{"domain": "www.mywebsite.com"}])),
        ),
        (
            "invalid_hostheadertype",
            with_origins(json!([{"origin": "myorigin.com", "hostheadertype": "org"}])),
        ),
        (
            "missing_hostheadervalue",
            with_origins(json!([{"origin": "myorigin.com", "hostheadertype": "custom"}])),
        ),
        (
            "nonASCII_hostheadertype",
            with_origins(json!([{"origin": "myorigin.com", "hostheadertype": ": איבערזעצן"}])),
        ),
        (
            "nonASCII_hostheadervalue",
            with_origins(
                json!([{"origin": "myorigin.com", "hostheadertype": "custom",
            "hostheadervalue": ": איבערזעצן"}]),
            ),
        ),
        (
            "invalid_hostheadervalue",
            with_origins(
                json!([{"origin": "myorigin.com", "hostheadertype": "custom",
            "hostheadervalue": "123"}]),
            ),
        ),
        (
            "invalid_hostheadervalue_with_space",
            with_origins(json!([{"origin": "myorigin.com",
            "hostheadertype": "custom", "hostheadervalue": "www. domain.com"}])),
        ),
        (
            "invalid_root_domain",
            with_domains(json!([{"domain": "mywebsite.com"}, {"domain": "blog.com"}])),
        ),
        (
            "invalid_country_level_root_domain_1",
            with_domains(json!([{"domain": "mywebsite.co.uk"},
            {"domain": "blog.mywebsite.com"}])),
        ),
        (
            "invalid_country_level_root_domain_2",
            with_domains(json!([{"domain": "mywebsite.co.au"},
            {"domain": "blog.mywebsite.com"}])),
        ),
        (
            "invalid_country_code_geo_restriction",
            with_restrictions(json!([{"name": "test", "access": "whitelist",
            "rules": [{"name": "only in US", "geography": "US", "request_url": "/*"}]}])),
        ),
        (
            "log_delivery_non_boolean",
            set(base(), "/log_delivery", json!({"enabled": "yes"})),
        ),
        (
            "log_delivery_without_enabled",
            set(base(), "/log_delivery", json!({})),
        ),
        (
            "unknown_top_level_key",
            set(base(), "/color", json!("blue")),
        ),
        (
            "unknown_domain_key",
            with_domains(json!([{"domain": "www.mywebsite.com", "color": "blue"}])),
        ),
        ("name_not_a_string", set(base(), "/name", json!(42))),
        (
            "domains_not_a_list",
            set(base(), "/domains", json!({"domain": "www.mywebsite.com"})),
        ),
    ];
    cases.into_iter().map(|(n, b)| (n.to_owned(), b)).collect()
}

/// Gives each domain of a refused body a unique prefix that keeps it as
/// invalid as it was, so a case that is wrongly accepted cannot make a
/// later one fail for "domain taken" instead.
fn uniquify_invalid(name: &str, body: &mut Value) {
    // One new name per distinct domain, so duplicates stay duplicates.
    let mut renamed: HashMap<String, String> = HashMap::new();
    if let Some(domains) = body["domains"].as_array_mut() {
        for d in domains {
            if let Some(text) = d["domain"].as_str().map(str::to_owned) {
                let new = renamed
                    .entry(text.clone())
                    .or_insert_with(|| unique_invalid(&text));
                d["domain"] = json!(new);
            }
        }
    }
    if name == "same_domain_and_origin" {
        body["origins"][0]["origin"] = body["domains"][0]["domain"].clone();
    }
}

async fn refused(api: &Api, project: &str, body: &Value, status: u16) -> Result<(), String> {
    let resp = api.post(project, "/v1.0/services", body).await;
    ensure!(resp.status < 500, "a server error: {resp}");
    resp.expect_status_with_message(status)?;
    ensure!(
        resp.location().is_none(),
        "a refused create has a Location: {resp}"
    );
    Ok(())
}

/// Nothing exists in `project`, nor anywhere in any state.
async fn nothing_created(api: &Api, project: &str) {
    assert_eq!(
        api.service_ids(project).await,
        Vec::<String>::new(),
        "refused creates left services"
    );
    for status in ["create_in_progress", "deployed", "failed"] {
        let resp = api
            .get(project, &format!("/v1.0/admin/services?status={status}"))
            .await;
        assert_eq!(resp.status, 200, "{resp}");
        assert_eq!(
            resp.json(),
            json!([]),
            "services in state {status} after refused creates"
        );
    }
}

#[tokio::test]
async fn every_negative_create_case_is_400() {
    let server = Server::start().await;
    let p = project();
    let api = server.api();
    let project_id = p.clone();
    let cases = create_negative_cases()
        .into_iter()
        .map(|(name, body)| (name.clone(), (name, body)))
        .collect();
    check_all(
        "negative create cases",
        cases,
        8,
        move |(name, mut body): (String, Value)| {
            let api = api.clone();
            let p = project_id.clone();
            async move {
                uniquify_invalid(&name, &mut body);
                refused(&api, &p, &body, 400).await
            }
        },
    )
    .await;
    nothing_created(&server.api(), &p).await;
}

/// The payloads of one injection family and the fields they go into.
const SQL_INJECTION: &[&str] = &[
    "%22 or 1=1--",
    "%27 or 1=1 --",
    "'; exec xp_regread",
    "' or 1=1 --",
    "'",
];
const COMMAND_INJECTION: &[&str] = &[
    "`echo someuniquestring`",
    "%3Becho%20someuniquestring%0A",
    "%0Aecho someuniquestring",
    "|echo someuniquestring",
    ";echo someuniquestring",
];
const XSS: &[&str] = &[
    "%3Cscript%3Ealert%281%29%3C/script%3E",
    "%22",
    "<script>alert(1)</script>",
    "<",
    ">",
];

/// Where a payload makes the body invalid (typed or checked fields).
const INJECTION_POINTS: &[(&str, &str)] = &[
    ("domain", "/domains/0/domain"),
    ("domain2", "/domains/1/domain"),
    ("protocol", "/domains/0/protocol"),
    ("protocol2", "/domains/1/protocol"),
    ("origin", "/origins/0/origin"),
    ("port", "/origins/0/port"),
    ("ssl", "/origins/0/ssl"),
    ("hostheadertype", "/origins/0/hostheadertype"),
    ("hostheadervalue", "/origins/0/hostheadervalue"),
    ("ttl", "/caching/0/ttl"),
    ("ttl2", "/caching/1/ttl"),
    ("referrer", "/restrictions/0/rules/0/referrer"),
];

/// A valid body (checked by [`injection_base_is_valid`]) with fresh domains.
fn injection_base() -> Value {
    json!({
        "name": "my_service_name",
        "domains": [{"domain": domain(), "protocol": "http"}, {"domain": domain(), "protocol": "http"}],
        "origins": [{"origin": "mywebsite1.com", "port": 443, "ssl": false,
                     "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}],
        "caching": home_caching(),
        "restrictions": [{"name": "test", "rules": [{"name": "only me", "referrer": "www.mywebsite.com"}]}],
        "flavor_id": "standard"
    })
}

fn injection_cases(family: &str, payloads: &[&str]) -> Vec<(String, Value)> {
    let mut cases = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        for (field, pointer) in INJECTION_POINTS {
            let body = set(injection_base(), pointer, json!(payload));
            cases.push((format!("{family}_{i}_into_{field} ({payload:?})"), body));
        }
    }
    cases
}

async fn injection_family(family: &str, payloads: &[&str]) {
    let server = Server::start().await;
    let p = project();
    let api = server.api();
    let project_id = p.clone();
    let cases = injection_cases(family, payloads);
    assert!(cases.len() >= 10);
    check_all(family, cases, 8, move |body| {
        let api = api.clone();
        let p = project_id.clone();
        async move { refused(&api, &p, &body, 400).await }
    })
    .await;
    nothing_created(&server.api(), &p).await;
}

#[tokio::test]
async fn injection_base_is_valid() {
    // Otherwise the injection families would prove nothing.
    let server = Server::start().await;
    server
        .deployed(&project(), &injection_base())
        .await
        .unwrap();
}

#[tokio::test]
async fn sql_injection_family_is_refused() {
    injection_family("sqlinj", SQL_INJECTION).await;
}

#[tokio::test]
async fn command_injection_family_is_refused() {
    injection_family("cmdinj", COMMAND_INJECTION).await;
}

#[tokio::test]
async fn xss_family_is_refused() {
    injection_family("xss", XSS).await;
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let server = Server::start().await;
    let p = project();
    let json_type = Some("application/json");
    let send = |bytes: &[u8], content_type: Option<&'static str>| {
        let api = server.api();
        let p = p.clone();
        let bytes = bytes.to_vec();
        async move {
            api.send(
                Method::POST,
                "/v1.0/services",
                Some(&p),
                Some((content_type, bytes)),
            )
            .await
        }
    };
    let texts: [&[u8]; 5] = [
        b"{\"name\": ",
        b"not json",
        b"{'name': 'single quotes'}",
        b"",
        b"\xff\xfe",
    ];
    for text in texts {
        let resp = send(text, json_type).await;
        resp.expect_error(400, "Invalid JSON string")
            .unwrap_or_else(|e| panic!("body {:?}: {e}", String::from_utf8_lossy(text)));
    }
    for text in [
        "[]",
        "\"a string\"",
        "42",
        "null",
        "true",
        "[{\"name\": \"x\"}]",
    ] {
        let resp = send(text.as_bytes(), json_type).await;
        resp.expect_status_with_message(400)
            .unwrap_or_else(|e| panic!("body {text}: {e}"));
    }
    nothing_created(&server.api(), &p).await;
}

#[tokio::test]
async fn content_type_must_be_json_when_given() {
    let server = Server::start().await;
    let p = project();
    let body = json!({"name": "typed", "flavor_id": "standard", "domains": [{"domain": domain()}],
                      "origins": [{"origin": "origin.example.com"}]});
    let bytes = body.to_string().into_bytes();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let resp = server
            .send(
                Method::POST,
                "/v1.0/services",
                Some(&p),
                Some((Some(content_type), bytes.clone())),
            )
            .await;
        resp.expect_status_with_message(415)
            .unwrap_or_else(|e| panic!("Content-Type {content_type}: {e}"));
    }
    nothing_created(&server.api(), &p).await;

    // JSON with parameters or a +json subtype is JSON; no header at all is
    // accepted too (the original parsed bodies regardless of the header).
    for content_type in [Some("application/json; charset=utf-8"), None] {
        let mut body = body.clone();
        body["domains"] = json!([{"domain": domain()}]);
        let resp = server
            .send(
                Method::POST,
                "/v1.0/services",
                Some(&p),
                Some((content_type, body.to_string().into_bytes())),
            )
            .await;
        resp.expect_empty(202)
            .unwrap_or_else(|e| panic!("Content-Type {content_type:?}: {e}"));
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let server = Server::with(Setup::new().edit(|c| c.server.body_limit = 8 * 1024)).await;
    let p = project();
    let big = json!({"name": "x".repeat(64 * 1024), "flavor_id": "standard",
                     "domains": [{"domain": domain()}], "origins": [{"origin": "origin.example.com"}]});
    let resp = server.post(&p, "/v1.0/services", &big).await;
    resp.expect_status_with_message(413).unwrap();
    nothing_created(&server.api(), &p).await;

    let flavor = json!({"id": "big", "providers": [{"provider": "mock",
        "links": [{"href": "x".repeat(64 * 1024), "rel": "provider_url"}]}]});
    let resp = server.post(&p, "/v1.0/flavors", &flavor).await;
    resp.expect_status_with_message(413).unwrap();

    // Under the limit is fine.
    let small = json!({"name": "small", "flavor_id": "standard",
                       "domains": [{"domain": domain()}], "origins": [{"origin": "origin.example.com"}]});
    server.create(&p, &small).await.unwrap();
}

#[tokio::test]
async fn a_valid_body_for_a_different_api_is_not_a_service() {
    // A flavor body posted as a service, and a service body with the
    // upstream client's list names (`domain_list`…), are refused.
    let server = Server::start().await;
    let p = project();
    let flavor = json!({"id": "standard2", "providers": [{"provider": "mock",
        "links": [{"href": "http://www.mock.com", "rel": "provider_url"}]}]});
    refused(&server.api(), &p, &flavor, 400).await.unwrap();
    let upstream_names = json!({"service_name": "legacy", "domain_list": [{"domain": domain()}],
        "origin_list": [{"origin": "origin.example.com"}], "flavor_id": "standard"});
    refused(&server.api(), &p, &upstream_names, 400)
        .await
        .unwrap();
    let resp = server.post(&p, "/v1.0/services", &upstream_names).await;
    let body = resp.json();
    check_field_errors(&body).unwrap();
    nothing_created(&server.api(), &p).await;
}

/// A validation failure lists its field errors as `{"path", "message"}`.
fn check_field_errors(body: &Value) -> Result<(), String> {
    let errors = body["errors"]
        .as_array()
        .ok_or_else(|| format!("no errors list: {body}"))?;
    ensure!(!errors.is_empty(), "an empty errors list: {body}");
    for e in errors {
        let mut keys: Vec<&String> = e
            .as_object()
            .ok_or("an error is not an object")?
            .keys()
            .collect();
        keys.sort();
        ensure_eq!(keys, ["message", "path"], "keys of a field error");
        ensure!(
            e["path"].is_string() && e["message"].is_string(),
            "field error {e}"
        );
    }
    Ok(())
}
