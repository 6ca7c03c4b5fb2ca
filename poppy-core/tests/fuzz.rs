//! Property tests over hostile input to the validators: arbitrary JSON
//! documents, valid bodies with random parts replaced, and arbitrary
//! RFC 6902 patches against the view of a valid service. The validators
//! must answer `Ok` or `Err` for every input (never panic), and what they
//! accept must be a service they accept again.

use poppy_core::model::ServiceSpec;
use poppy_core::ports::{ListQuery, PurgeQuery};
use poppy_core::validate::{self, Mode, Options};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Field names of the service schema, so random documents often reach the
/// rules behind the "unknown field" check.
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
    "request_url",
    "ttl",
    "access",
    "referrer",
    "client_ip",
    "geography",
    "http_host",
    "http_method",
    "hostheadertype",
    "hostheadervalue",
    "enabled",
];

/// Strings that are interesting to the rules: domains, IPs, URLs, enum
/// words, edge lengths, non-ASCII, injection attempts.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("www.example.com".to_owned()),
        Just("example.com".to_owned()),
        Just("WWW.EXAMPLE.COM.".to_owned()),
        Just("xn--bcher-kva.example".to_owned()),
        Just("münchen.de".to_owned()),
        Just("127.0.0.1".to_owned()),
        Just("10.0.0.0/8".to_owned()),
        Just("::1".to_owned()),
        Just("2001:db8::/129".to_owned()),
        Just("/*".to_owned()),
        Just("/index.htm?x=1#f".to_owned()),
        Just("https".to_owned()),
        Just("http".to_owned()),
        Just("san".to_owned()),
        Just("sni".to_owned()),
        Just("shared".to_owned()),
        Just("custom".to_owned()),
        Just("whitelist".to_owned()),
        Just("blacklist".to_owned()),
        Just("origin".to_owned()),
        Just("domain".to_owned()),
        Just("standard".to_owned()),
        Just("Japan".to_owned()),
        Just("North America".to_owned()),
        Just("United Kingdom".to_owned()),
        Just("GET".to_owned()),
        Just("a".repeat(300)),
        Just("x.".repeat(200)),
        Just("'; DROP TABLE services; --".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("$(rm -rf /)".to_owned()),
        Just("\u{0}\u{7f}\u{202e}".to_owned()),
        "[a-z0-9.\\-]{0,30}",
        ".{0,40}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0_i64),
            Just(-1),
            Just(1),
            Just(80),
            Just(443),
            Just(65535),
            Just(65536),
            Just(86400),
            Just(i64::from(u32::MAX) + 1),
        ]
        .prop_map(Value::from),
        any::<f64>().prop_filter_map("a JSON number", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        tricky_string().prop_map(Value::String),
    ]
}

/// Any JSON document (bounded in depth and size).
fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid service body using most of the schema.
fn valid_body() -> Value {
    json!({
        "name": "fuzzed-service",
        "domains": [
            {"domain": "www.fuzz-one.com", "protocol": "http"},
            {"domain": "secure.fuzz-two.com", "protocol": "https", "certificate": "san"},
            {"domain": "shared-label", "protocol": "https", "certificate": "shared"}
        ],
        "origins": [
            {"origin": "origin.fuzz.com", "port": 443, "ssl": true,
             "rules": [{"name": "default", "request_url": "/*"}],
             "hostheadertype": "custom", "hostheadervalue": "host.fuzz.com"},
            {"origin": "10.1.2.3", "port": 80, "ssl": false,
             "rules": [{"name": "images", "request_url": "/images/*"}]}
        ],
        "caching": [
            {"name": "default", "ttl": 3600, "rules": [{"name": "default", "request_url": "/*"}]},
            {"name": "home", "ttl": 60, "rules": [{"name": "index", "request_url": "/index.htm"}]}
        ],
        "restrictions": [
            {"name": "site only", "access": "whitelist",
             "rules": [{"name": "site", "referrer": "www.fuzz-one.com", "request_url": "/*"}]},
            {"name": "no bots", "access": "blacklist",
             "rules": [{"name": "net", "client_ip": "192.168.0.0/16", "request_url": "/*"},
                       {"name": "geo", "geography": "Japan", "request_url": "/*"}]}
        ],
        "flavor_id": "standard",
        "log_delivery": {"enabled": true}
    })
}

/// Every JSON pointer inside `value` (the root as "").
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                pointers(v, format!("{at}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn all_pointers(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    pointers(value, String::new(), &mut out);
    out
}

/// `base` with the values at some of its pointers replaced or removed.
fn mutated(base: Value, edits: &[(usize, Option<Value>)]) -> Value {
    let mut doc = base;
    for (index, replacement) in edits {
        let all = all_pointers(&doc);
        let pointer = &all[index % all.len()];
        match replacement {
            Some(value) => {
                if let Some(slot) = doc.pointer_mut(pointer) {
                    *slot = value.clone();
                }
            }
            None => {
                if let Some((parent, last)) = pointer.rsplit_once('/') {
                    match doc.pointer_mut(parent) {
                        Some(Value::Object(map)) => {
                            map.remove(&last.replace("~1", "/").replace("~0", "~"));
                        }
                        Some(Value::Array(items)) => {
                            if let Ok(i) = last.parse::<usize>() {
                                if i < items.len() {
                                    items.remove(i);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    doc
}

fn options() -> Options {
    Options::default()
}

/// A spec the validator accepted is shown by `patch_view` as a body it
/// accepts again, unchanged.
fn round_trips(spec: &ServiceSpec) -> Result<(), TestCaseError> {
    let view = validate::patch_view(spec);
    match validate::service(&view, Mode::Update, &options()) {
        Ok(again) => {
            prop_assert_eq!(&again, spec, "the view of an accepted spec changes it");
            Ok(())
        }
        Err(errors) => Err(TestCaseError::fail(format!(
            "the view of an accepted spec is refused: {errors:?}\nview: {view}"
        ))),
    }
}

/// An RFC 6902 operation, valid in shape or not.
fn patch_op(paths: Vec<String>) -> impl Strategy<Value = Value> {
    let path = prop_oneof![
        4 => proptest::sample::select(paths.clone()),
        1 => proptest::sample::select(paths.clone()).prop_map(|p| format!("{p}/-")),
        1 => "(/[a-z0-9~\\-]{0,8}){0,4}",
    ];
    let from = proptest::sample::select(paths);
    let op = proptest::sample::select(vec![
        "add", "remove", "replace", "move", "copy", "test", "merge", "",
    ]);
    (op, path, from, json(), any::<u8>()).prop_map(|(op, path, from, value, shape)| {
        let mut item = Map::new();
        // Mostly well-formed, sometimes missing or extra members.
        if shape % 7 != 0 {
            item.insert("op".into(), json!(op));
        }
        if shape % 11 != 0 {
            item.insert("path".into(), json!(path));
        }
        if matches!(op, "move" | "copy") || shape % 5 == 0 {
            item.insert("from".into(), json!(from));
        }
        if matches!(op, "add" | "replace" | "test") || shape % 3 == 0 {
            item.insert("value".into(), value);
        }
        Value::Object(item)
    })
}

fn patch() -> impl Strategy<Value = Value> {
    let view = validate::patch_view(&accepted(&valid_body()));
    let paths = all_pointers(&view);
    prop_oneof![
        8 => proptest::collection::vec(patch_op(paths), 0..6).prop_map(Value::Array),
        1 => json(),
    ]
}

fn accepted(body: &Value) -> ServiceSpec {
    match validate::service(body, Mode::Create, &options()) {
        Ok(spec) => spec,
        Err(errors) => panic!("the fuzz base body is invalid: {errors:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_document_is_accepted_or_refused_never_a_panic(doc in json()) {
        for mode in [Mode::Create, Mode::Update] {
            if let Ok(spec) = validate::service(&doc, mode, &options()) {
                round_trips(&spec)?;
            }
        }
        let _ = validate::flavor(&doc, &["mock".to_owned(), "akamai".to_owned()]);
        let _ = validate::certificate::create_body(&doc);
    }

    #[test]
    fn a_valid_body_with_random_parts_replaced_is_accepted_or_refused(
        edits in proptest::collection::vec(
            (any::<usize>(), proptest::option::weighted(0.8, json())), 1..4)
    ) {
        let doc = mutated(valid_body(), &edits);
        for mode in [Mode::Create, Mode::Update] {
            match validate::service(&doc, mode, &options()) {
                Ok(spec) => round_trips(&spec)?,
                Err(errors) => {
                    prop_assert!(!errors.is_empty(), "refused without a reason");
                    for e in &errors {
                        prop_assert!(
                            e.path.is_empty() || e.path.starts_with('/'),
                            "not a JSON pointer: {:?}", e.path
                        );
                        prop_assert!(!e.message.is_empty());
                    }
                }
            }
        }
    }

    #[test]
    fn any_patch_is_applied_or_refused_and_the_result_validated(patch in patch()) {
        let spec = accepted(&valid_body());
        let view = validate::patch_view(&spec);
        match validate::apply_patch(&view, &patch) {
            Ok(patched) => {
                if let Ok(updated) = validate::service(&patched, Mode::Update, &options()) {
                    round_trips(&updated)?;
                }
            }
            Err(errors) => prop_assert!(!errors.is_empty(), "refused without a reason"),
        }
    }

    #[test]
    fn query_and_path_parameters_are_accepted_or_refused(
        a in proptest::option::of(tricky_string()),
        b in proptest::option::of(tricky_string()),
        c in proptest::option::of(tricky_string()),
        text in tricky_string(),
        max in 0_u32..1000,
    ) {
        let _ = validate::list_query(&ListQuery { marker: a.clone(), limit: b.clone() }, max);
        let _ = validate::purge_query(&PurgeQuery { url: a, all: b, hard: c });
        let _ = validate::service_id(&text);
        let _ = validate::domain_param(&text);
        let _ = validate::project_id_param(&text);
        let _ = validate::domain::is_valid_domain(&text);
        let _ = validate::domain::is_valid_origin(&text);
        let _ = validate::domain::is_root_domain(&text);
        let _ = validate::net::is_valid_client_ip(&text);
        let _ = validate::geo::is_supported(&text);
        let _ = validate::analytics::parse_timestamp(&text);
    }
}

/// Embedders hand the core `Value`s directly, without the HTTP parser's
/// depth limit: nesting far deeper than any real body is still refused
/// without exhausting the stack.
#[test]
fn documents_nested_beyond_the_parser_limit_are_refused() {
    // Built and dropped on a thread with a known stack, as a request
    // handler's would be.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let mut nested = json!("x");
            for _ in 0..1000 {
                nested = json!([nested]);
            }
            let mut body = valid_body();
            body["name"] = nested.clone();
            body["origins"][0]["rules"][0]["request_url"] = nested.clone();
            assert!(validate::service(&body, Mode::Create, &options()).is_err());
            let view = validate::patch_view(&accepted(&valid_body()));
            let patch = json!([{"op": "add", "path": "/caching/-", "value": nested}]);
            if let Ok(patched) = validate::apply_patch(&view, &patch) {
                assert!(validate::service(&patched, Mode::Update, &options()).is_err());
            }
            // Dropping the nested values iteratively is the caller's
            // business; these are shallow enough for the default drop.
        })
        .expect("spawn a validation thread");
    handle
        .join()
        .expect("deep documents do not crash the validator");
}
