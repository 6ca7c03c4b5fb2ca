//! PATCH (§2.6.5): the client view of a stored spec, and RFC 6902 patches
//! applied to it.

use json_patch::PatchOperation;
use serde_json::{json, Map, Value};

use crate::error::FieldError;
use crate::model::{CachingRule, Domain, Origin, Restriction, Rule, ServiceSpec};

pub(super) fn view(spec: &ServiceSpec) -> Value {
    json!({
        "name": spec.name,
        "domains": spec.domains.iter().map(domain_view).collect::<Vec<_>>(),
        "origins": spec.origins.iter().map(origin_view).collect::<Vec<_>>(),
        "caching": spec.caching.iter().map(caching_view).collect::<Vec<_>>(),
        "restrictions": spec.restrictions.iter().map(restriction_view).collect::<Vec<_>>(),
        "flavor_id": spec.flavor_id,
        "log_delivery": {"enabled": spec.log_delivery.enabled},
    })
}

fn domain_view(d: &Domain) -> Value {
    // A stored shared domain carries its shard (`secure.scdn3.secure.…`);
    // the tenant wrote, and patches, the bare label.
    let name = if d.is_shared_ssl() {
        d.domain.split('.').next().unwrap_or(&d.domain)
    } else {
        &d.domain
    };
    json!({
        "domain": name,
        "protocol": d.protocol.as_str(),
        "certificate": d.certificate.map(|c| c.as_str()),
    })
}

fn origin_view(o: &Origin) -> Value {
    json!({
        "origin": o.origin,
        "port": o.port,
        "ssl": o.ssl,
        "rules": o.rules.iter().map(rule_view).collect::<Vec<_>>(),
        "hostheadertype": o.hostheadertype.as_str(),
        "hostheadervalue": o.hostheadervalue,
    })
}

fn caching_view(c: &CachingRule) -> Value {
    json!({
        "name": c.name,
        "ttl": c.ttl,
        "rules": c.rules.iter().map(rule_view).collect::<Vec<_>>(),
    })
}

fn restriction_view(r: &Restriction) -> Value {
    json!({
        "name": r.name,
        "access": r.access.as_str(),
        "rules": r.rules.iter().map(rule_view).collect::<Vec<_>>(),
    })
}

fn rule_view(r: &Rule) -> Value {
    let mut map = Map::new();
    map.insert("name".to_owned(), json!(r.name));
    map.insert("request_url".to_owned(), json!(r.request_url));
    let optional = [
        ("referrer", &r.referrer),
        ("http_host", &r.http_host),
        ("client_ip", &r.client_ip),
        ("http_method", &r.http_method),
        ("geography", &r.geography),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            map.insert(key.to_owned(), json!(value));
        }
    }
    Value::Object(map)
}

fn op_name(op: &PatchOperation) -> &'static str {
    match op {
        PatchOperation::Add(_) => "add",
        PatchOperation::Remove(_) => "remove",
        PatchOperation::Replace(_) => "replace",
        PatchOperation::Move(_) => "move",
        PatchOperation::Copy(_) => "copy",
        PatchOperation::Test(_) => "test",
    }
}

/// A pointer for a message; the empty pointer (the whole document) is
/// shown as `""` so it is visible.
fn show(pointer: &str) -> String {
    if pointer.is_empty() {
        "\"\"".to_owned()
    } else {
        pointer.to_owned()
    }
}

pub(super) fn apply(view: &Value, patch: &Value) -> Result<Value, Vec<FieldError>> {
    let Value::Array(items) = patch else {
        return Err(vec![FieldError::new(
            "",
            "the patch must be a JSON array of RFC 6902 operations",
        )]);
    };

    let mut errors = Vec::new();
    let mut ops = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match serde_json::from_value::<PatchOperation>(item.clone()) {
            Ok(op) => ops.push(op),
            Err(err) => errors.push(FieldError::new(
                format!("/{i}"),
                format!("operation {i} is not a valid JSON Patch operation: {err}"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Applied to a copy without the library's undo log: a failed patch is
    // thrown away as a whole, and undoing is the one path of the library
    // that can panic.
    let mut doc = view.clone();
    json_patch::patch_unsafe(&mut doc, &ops).map_err(|err| {
        let what = ops
            .get(err.operation)
            .map(|op| match op {
                PatchOperation::Move(m) => {
                    format!(
                        "move from {} to {}",
                        show(m.from.as_str()),
                        show(m.path.as_str())
                    )
                }
                PatchOperation::Copy(c) => {
                    format!(
                        "copy from {} to {}",
                        show(c.from.as_str()),
                        show(c.path.as_str())
                    )
                }
                other => format!("{} at {}", op_name(other), show(other.path().as_str())),
            })
            .unwrap_or_else(|| format!("at {}", show(err.path.as_str())));
        vec![FieldError::new(
            format!("/{}", err.operation),
            format!("operation {} ({what}) failed: {}", err.operation, err.kind),
        )]
    })?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use crate::error::FieldError;
    use crate::model::{Access, CertificateType, Domain, HostHeaderType, Protocol, ServiceSpec};
    use crate::validate::{apply_patch, patch_view, service, Mode, Options};

    /// The service the upstream PATCH tests start from (§10).
    fn base_spec() -> ServiceSpec {
        let body = json!({
            "name": "api-test-service",
            "domains": [{"domain": "www.api-test-domain.com", "protocol": "http"}],
            "origins": [{"origin": "api-test-origin.com", "port": 80, "ssl": false,
                         "rules": [{"name": "default", "request_url": "/*"}]}],
            "caching": [{"name": "default", "ttl": 3600, "rules": [{"name": "default", "request_url": "/*"}]},
                        {"name": "home", "ttl": 1200, "rules": [{"name": "index", "request_url": "/index.htm"}]}],
            "restrictions": [{"name": "website only", "access": "whitelist",
                              "rules": [{"name": "mywebsite.com", "referrer": "www.mywebsite.com", "request_url": "/*"}]}],
            "flavor_id": "standard",
            "log_delivery": {"enabled": false}
        });
        match service(&body, Mode::Create, &Options::default()) {
            Ok(spec) => spec,
            Err(errors) => panic!("base body invalid: {errors:#?}"),
        }
    }

    fn patched(patch: Value) -> Result<ServiceSpec, Vec<FieldError>> {
        let view = apply_patch(&patch_view(&base_spec()), &patch)?;
        service(&view, Mode::Update, &Options::default())
    }

    fn ok(patch: Value) -> ServiceSpec {
        match patched(patch.clone()) {
            Ok(spec) => spec,
            Err(errors) => panic!("patch {patch} should apply, got {errors:#?}"),
        }
    }

    fn rejected(patch: Value) -> Vec<FieldError> {
        match patched(patch.clone()) {
            Ok(spec) => panic!("patch {patch} should be rejected, got {spec:#?}"),
            Err(errors) => errors,
        }
    }

    fn assert_error(errors: &[FieldError], path: &str, needle: &str) {
        assert!(
            errors
                .iter()
                .any(|e| e.path == path && e.message.contains(needle)),
            "no error at {path} containing {needle:?} in {errors:#?}"
        );
    }

    // ----- the view --------------------------------------------------------------

    #[test]
    fn view_has_the_client_shape() {
        let mut spec = base_spec();
        spec.domains.push(Domain {
            domain: "secure.scdn3.secure.poppycdn.net".to_owned(),
            protocol: Protocol::Https,
            certificate: Some(CertificateType::Shared),
        });
        spec.domains.push(Domain {
            domain: "shop.mywebsite.com".to_owned(),
            protocol: Protocol::Https,
            certificate: Some(CertificateType::San),
        });
        assert_eq!(
            patch_view(&spec),
            json!({
                "name": "api-test-service",
                "domains": [
                    {"domain": "www.api-test-domain.com", "protocol": "http", "certificate": null},
                    {"domain": "secure", "protocol": "https", "certificate": "shared"},
                    {"domain": "shop.mywebsite.com", "protocol": "https", "certificate": "san"}
                ],
                "origins": [{"origin": "api-test-origin.com", "port": 80, "ssl": false,
                             "rules": [{"name": "default", "request_url": "/*"}],
                             "hostheadertype": "domain", "hostheadervalue": null}],
                "caching": [{"name": "default", "ttl": 3600, "rules": [{"name": "default", "request_url": "/*"}]},
                            {"name": "home", "ttl": 1200, "rules": [{"name": "index", "request_url": "/index.htm"}]}],
                "restrictions": [{"name": "website only", "access": "whitelist",
                                  "rules": [{"name": "mywebsite.com", "request_url": "/*", "referrer": "www.mywebsite.com"}]}],
                "flavor_id": "standard",
                "log_delivery": {"enabled": false}
            })
        );
    }

    // ----- applying patches --------------------------------------------------------

    #[test]
    fn an_empty_patch_changes_nothing() {
        assert_eq!(ok(json!([])), base_spec());
    }

    #[test]
    fn a_patch_must_be_an_array() {
        for patch in [json!({}), json!({"op": "add"}), json!("x"), json!(null)] {
            let errs = apply_patch(&patch_view(&base_spec()), &patch).err();
            assert_eq!(
                errs.map(|e| e.into_iter().map(|e| e.path).collect::<Vec<_>>()),
                Some(vec![String::new()])
            );
        }
    }

    #[test]
    fn malformed_operations_are_reported_by_index() {
        let view = patch_view(&base_spec());
        let errs = apply_patch(
            &view,
            &json!([{"op": "add", "path": "/name", "value": "ok"}, {}, {"op": "frobnicate", "path": "/name"}, {"op": "add", "path": "name", "value": 1}]),
        )
        .err()
        .unwrap_or_default();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/1", "/2", "/3"]);
        assert!(errs[0].message.contains("operation 1"));
    }

    #[test]
    fn a_failing_operation_names_itself() {
        let view = patch_view(&base_spec());
        let errs = apply_patch(
            &view,
            &json!([
                {"op": "replace", "path": "/name", "value": "new"},
                {"op": "remove", "path": "/domains/7"}
            ]),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            errs,
            [FieldError::new(
                "/1",
                "operation 1 (remove at /domains/7) failed: path is invalid"
            )]
        );
        let errs = apply_patch(
            &view,
            &json!([{"op": "move", "from": "/nope", "path": "/x"}]),
        )
        .err()
        .unwrap_or_default();
        assert_error(&errs, "/0", "move from /nope to /x");
    }

    #[test]
    fn all_six_operations_apply() {
        let view = patch_view(&base_spec());
        let out = apply_patch(
            &view,
            &json!([
                {"op": "test", "path": "/name", "value": "api-test-service"},
                {"op": "copy", "from": "/caching/1", "path": "/caching/-"},
                {"op": "replace", "path": "/caching/2/name", "value": "copy"},
                {"op": "move", "from": "/caching/2", "path": "/caching/0"},
                {"op": "remove", "path": "/caching/0/rules"},
                {"op": "add", "path": "/log_delivery/enabled", "value": true}
            ]),
        );
        let out = out.unwrap_or_default();
        assert_eq!(out["caching"][0], json!({"name": "copy", "ttl": 1200}));
        assert_eq!(out["caching"].as_array().map(Vec::len), Some(3));
        assert_eq!(out["log_delivery"]["enabled"], json!(true));
    }

    // ----- positive PATCH cases (data_patch_service*.json) ---------------------------

    #[test]
    fn domain_patches() {
        let spec = ok(
            json!([{"op": "add", "path": "/domains/-", "value": {"domain": "www.replaceme.com", "protocol": "http"}}]),
        );
        assert_eq!(spec.domains.len(), 2);
        let spec = ok(
            json!([{"op": "add", "path": "/domains/-", "value": {"domain": "www.replaceme.com", "protocol": "https", "certificate": "san"}}]),
        );
        assert_eq!(spec.domains[1].certificate, Some(CertificateType::San));
        let spec = ok(
            json!([{"op": "replace", "path": "/domains/0", "value": {"domain": "www.replaceme.com", "protocol": "http"}}]),
        );
        assert_eq!(spec.domains[0].domain, "www.replaceme.com");
        let spec = ok(json!([
            {"op": "add", "path": "/domains/-", "value": {"domain": "www.replaceme1.com", "protocol": "http"}},
            {"op": "add", "path": "/domains/-", "value": {"domain": "www.replaceme2.com", "protocol": "http"}}
        ]));
        assert_eq!(spec.domains.len(), 3);
        let spec = ok(json!([
            {"op": "add", "path": "/domains/-", "value": {"domain": "www.replaceme.com", "protocol": "http"}},
            {"op": "remove", "path": "/domains/0"}
        ]));
        assert_eq!(spec.domains[0].domain, "www.replaceme.com");
        let spec = ok(
            json!([{"op": "add", "path": "/domains", "value": [{"domain": "www.replaceme.com", "protocol": "http"}]}]),
        );
        assert_eq!(spec.domains.len(), 1);
        let spec = ok(json!([{"op": "replace", "path": "/domains", "value": [
            {"domain": "www.ishallreplaceyou.com", "protocol": "http"},
            {"domain": "www.ishallreplaceyouaswell.com", "protocol": "http"}]}]));
        assert_eq!(spec.domains.len(), 2);
    }

    #[test]
    fn ssl_domain_patches() {
        for (op, path, domain, cert) in [
            ("add", "/domains/-", "newshared", "shared"),
            ("add", "/domains/-", "www.newcustom.com", "custom"),
            ("add", "/domains/-", "www.newsan.com", "san"),
            (
                "replace",
                "/domains/0",
                "www.replacewithcustom.com",
                "custom",
            ),
            ("replace", "/domains/0", "www.replacewithsan.com", "san"),
            ("replace", "/domains/0", "replacewithshared", "shared"),
        ] {
            let spec = ok(json!([{"op": op, "path": path,
                                  "value": {"domain": domain, "protocol": "https", "certificate": cert}}]));
            assert!(spec.domains.iter().any(|d| d.domain == domain), "{domain}");
        }
        let spec = ok(json!([
            {"op": "replace", "path": "/domains/0", "value": {"domain": "replaceme", "protocol": "https", "certificate": "shared"}},
            {"op": "replace", "path": "/origins/0", "value": {"origin": "1.1.1.1", "port": 443, "ssl": true,
                "rules": [{"name": "origin", "request_url": "/origin2.htm"}], "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}}
        ]));
        assert!(spec.domains[0].is_shared_ssl());
        assert!(spec.origins[0].ssl);
    }

    #[test]
    fn name_patch() {
        assert_eq!(
            ok(json!([{"op": "replace", "path": "/name", "value": "chimp"}])).name,
            "chimp"
        );
    }

    #[test]
    fn origin_patches() {
        for url in ["/replacement", "replacement"] {
            let spec = ok(
                json!([{"op": "replace", "path": "/origins/0", "value": {"origin": "1.2.3.4", "port": 80,
                "rules": [{"name": "default", "request_url": url}], "ssl": false,
                "hostheadertype": "custom", "hostheadervalue": "www.customweb.com"}}]),
            );
            assert_eq!(spec.origins[0].rules[0].request_url, url);
        }
        for (name, url) in [
            ("origin", "/origin.htm"),
            ("o", "/origin.html"),
            ("origin", "/"),
        ] {
            let spec = ok(
                json!([{"op": "add", "path": "/origins/1", "value": {"origin": "1.2.3.4", "port": 80, "ssl": false,
                "rules": [{"name": name, "request_url": url}]}}]),
            );
            assert_eq!(spec.origins.len(), 2);
        }
        let spec = ok(json!([
            {"op": "add", "path": "/origins/1", "value": {"origin": "1.2.3.4", "port": 80, "ssl": false, "rules": [{"name": "origin", "request_url": "/origin.htm"}]}},
            {"op": "add", "path": "/origins/2", "value": {"origin": "4.2.5.4", "port": 80, "ssl": false, "rules": [{"name": "origin", "request_url": "/origin2.htm"}]}}
        ]));
        assert_eq!(spec.origins.len(), 3);
        let spec = ok(json!([
            {"op": "add", "path": "/origins/0/rules/-", "value": {"name": "Origin Rule 1", "request_url": "/cats"}},
            {"op": "add", "path": "/origins/0/rules/-", "value": {"name": "Origin Rule 2", "request_url": "/dogs"}}
        ]));
        assert_eq!(spec.origins[0].rules.len(), 3);
        let spec = ok(json!([
            {"op": "add", "path": "/origins/-", "value": {"origin": "1.2.3.4", "port": 80, "ssl": false, "rules": [{"name": "origin", "request_url": "/origin.htm"}]}},
            {"op": "remove", "path": "/origins/0"}
        ]));
        assert_eq!(spec.origins[0].origin, "1.2.3.4");
        let spec = ok(
            json!([{"op": "add", "path": "/origins/1", "value": {"origin": "1.2.3.4", "port": 80, "ssl": false,
            "rules": [{"name": "origin", "request_url": "/origin.htm"}], "hostheadertype": "origin"}}]),
        );
        assert_eq!(spec.origins[1].hostheadervalue.as_deref(), Some("1.2.3.4"));
        // Patching again works although the stored header value is an IP.
        let again = service(
            &apply_patch(&patch_view(&spec), &json!([])).unwrap_or_default(),
            Mode::Update,
            &Options::default(),
        );
        assert_eq!(again, Ok(spec));
        let spec = ok(
            json!([{"op": "add", "path": "/origins/1", "value": {"origin": "1.2.3.4", "port": 80, "ssl": false,
            "rules": [{"name": "origin", "request_url": "/origin.htm"}], "hostheadertype": "custom", "hostheadervalue": "www.mycustom.com"}}]),
        );
        assert_eq!(spec.origins[1].hostheadertype, HostHeaderType::Custom);
    }

    #[test]
    fn caching_patches() {
        for (name, rule, url) in [
            ("cache_name", "index", "/cats.jpg"),
            ("c", "index", "/minimum_length_name.htm"),
            ("cache_name", "i", "/minimum_length_rule_name.htm"),
            ("cache_name", "index", "/"),
        ] {
            let spec = ok(
                json!([{"op": "add", "path": "/caching/-", "value": {"name": name, "ttl": 111,
                "rules": [{"name": rule, "request_url": url}]}}]),
            );
            assert_eq!(spec.caching.len(), 3);
        }
        for url in ["/new_path/*", "new_path"] {
            let spec = ok(
                json!([{"op": "replace", "path": "/caching/0", "value": {"name": "cache_name", "ttl": 111,
                "rules": [{"name": "index", "request_url": url}]}}]),
            );
            assert_eq!(spec.caching[0].rules[0].request_url, url);
        }
        let spec = ok(
            json!([{"op": "replace", "path": "/caching/0", "value": {"name": "dynamic_cache", "ttl": 0,
            "rules": [{"name": "dynamic", "request_url": "/latest_news/*"}]}}]),
        );
        assert_eq!(spec.caching[0].ttl, 0);
        let spec = ok(json!([{"op": "remove", "path": "/caching/0"}]));
        assert_eq!(spec.caching.len(), 1);
        assert_eq!(spec.caching[0].name, "home");
        let spec = ok(json!([
            {"op": "add", "path": "/caching/-", "value": {"name": "cache_name", "ttl": 111, "rules": [{"name": "index", "request_url": "/dogs.jpg"}]}},
            {"op": "add", "path": "/caching/-", "value": {"name": "cache_name2", "ttl": 121, "rules": [{"name": "index2", "request_url": "/index2.htm"}]}},
            {"op": "add", "path": "/caching/-", "value": {"name": "cache_name3", "ttl": 0, "rules": [{"name": "index3", "request_url": "/index3.htm"}]}}
        ]));
        assert_eq!(spec.caching.len(), 5);
        // Removing every caching entry on update leaves none (no default).
        let spec = ok(json!([{"op": "replace", "path": "/caching", "value": []}]));
        assert!(spec.caching.is_empty());
    }

    #[test]
    fn restriction_patches() {
        let rule =
            |url: &str| json!({"name": "rule1", "referrer": "www.thesite.com", "request_url": url});
        for name in ["restricted", "r"] {
            let spec = ok(json!([{"op": "add", "path": "/restrictions/-",
                "value": {"name": name, "access": "whitelist", "rules": [rule("/images/*")]}}]));
            assert_eq!(spec.restrictions.len(), 2);
        }
        let spec = ok(json!([
            {"op": "add", "path": "/restrictions/-", "value": {"name": "restricted", "access": "whitelist", "rules": [rule("/images2/*")]}},
            {"op": "replace", "path": "/restrictions/0", "value": {"name": "new_restricted", "access": "whitelist", "rules": [rule("/*")]}}
        ]));
        assert_eq!(spec.restrictions[0].name, "new_restricted");
        let spec = ok(json!([
            {"op": "add", "path": "/restrictions/-", "value": {"name": "restricted", "rules": [rule("/images2/*")]}},
            {"op": "replace", "path": "/restrictions/0", "value": {"name": "new_restricted", "rules": [rule("images2")]}}
        ]));
        assert_eq!(spec.restrictions[0].rules[0].request_url, "images2");
        assert!(ok(json!([{"op": "remove", "path": "/restrictions/0"}]))
            .restrictions
            .is_empty());
        let spec = ok(json!([{"op": "replace", "path": "/restrictions/0",
            "value": {"name": "new_restricted", "access": "blacklist", "rules": [rule("/images2/*")]}}]));
        assert_eq!(spec.restrictions[0].access, Access::Blacklist);
        let spec = ok(json!([
            {"op": "add", "path": "/restrictions/-", "value": {"name": "restricted", "access": "blacklist", "rules": [rule("/images3/*")]}},
            {"op": "replace", "path": "/restrictions/1", "value": {"name": "new_restricted", "access": "whitelist", "rules": [rule("/images3/*")]}}
        ]));
        assert_eq!(spec.restrictions[1].access, Access::Whitelist);
        let spec = ok(json!([
            {"op": "add", "path": "/restrictions/-", "value": {"name": "restricted", "access": "blacklist", "rules": [rule("/images3/*")]}},
            {"op": "replace", "path": "/restrictions/1", "value": {"name": "new_restricted", "rules": [rule("/images3/*")]}}
        ]));
        assert_eq!(spec.restrictions[1].access, Access::Whitelist);
        let spec = ok(
            json!([{"op": "add", "path": "/restrictions/-", "value": {"name": "restricted", "access": "whitelist",
            "rules": [{"name": "r", "referrer": "a.co", "request_url": "/images/*"}]}}]),
        );
        assert_eq!(
            spec.restrictions[1].rules[0].referrer.as_deref(),
            Some("a.co")
        );
    }

    #[test]
    fn ip_and_geo_restriction_patches() {
        let referrer =
            json!({"name": "mywebsite.com", "referrer": "www.mywebsite.com", "request_url": "/*"});
        for extra in [
            json!([{"name": "myrestricted-ip", "client_ip": "5.6.7.8", "request_url": "/*"}]),
            json!([]),
            json!([{"name": "ip1", "client_ip": "1.2.3.4", "request_url": "/*"}, {"name": "ip2", "client_ip": "5.6.7.8", "request_url": "/*"}]),
            json!([{"name": "ip", "client_ip": "2001:4802:7802:104:be76:4eff:fe20:4b5f", "request_url": "/*"}]),
            json!([{"name": "ip", "client_ip": "173.203.4.162/32", "request_url": "/*"}]),
            json!([{"name": "v4", "client_ip": "173.203.4.162/32", "request_url": "/*"},
                   {"name": "v6", "client_ip": "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/123", "request_url": "/*"}]),
            json!([{"name": "geo", "geography": "USA", "request_url": "/*"}]),
            json!([{"name": "geo", "geography": "USA", "request_url": "/*"}, {"name": "geo", "geography": "Mexico", "request_url": "/*"}]),
        ] {
            let mut rules = vec![referrer.clone()];
            rules.extend(extra.as_array().cloned().unwrap_or_default());
            let n = rules.len();
            let spec = ok(json!([{"op": "replace", "path": "/restrictions/0",
                "value": {"name": "website only", "access": "whitelist", "rules": rules}}]));
            assert_eq!(spec.restrictions[0].rules.len(), n);
        }
        let spec = ok(
            json!([{"op": "replace", "path": "/restrictions/0", "value": {"name": "website only", "access": "blacklist",
            "rules": [{"name": "myrestricted-geo", "geography": "USA", "request_url": "/*"}]}}]),
        );
        assert_eq!(spec.restrictions[0].access, Access::Blacklist);
    }

    #[test]
    fn log_delivery_patches() {
        assert!(
            ok(json!([{"op": "replace", "path": "/log_delivery/enabled", "value": true}]))
                .log_delivery
                .enabled
        );
        assert!(
            !ok(json!([{"op": "replace", "path": "/log_delivery/enabled", "value": false}]))
                .log_delivery
                .enabled
        );
    }

    // ----- negative PATCH cases (data_patch_service_negative.json) -------------------

    #[test]
    fn origin_patches_rejected() {
        assert_error(
            &rejected(
                json!([{"op": "add", "path": "/origins/-", "value": {"origin": "1.2.3.4", "port": 80}}]),
            ),
            "/origins/1/rules",
            "is required",
        );
        assert_error(
            &rejected(json!([
                {"op": "add", "path": "/origins/1", "value": {"origin": "1.2.3.4", "port": 80, "ssl": false, "rules": [{"name": "origin", "request_url": "/origin.htm"}]}},
                {"op": "add", "path": "/origins/2", "value": {"origin": "4.2.5.4", "port": 80, "ssl": false, "rules": [{"name": "origin", "request_url": "/origin.htm"}]}}
            ])),
            "/origins/2/rules/0/request_url",
            "The path /origin.htm already exists",
        );
        assert_error(
            &rejected(json!([
                {"op": "add", "path": "/origins/1", "value": {"origin": "1.2.3.4", "port": 80, "ssl": false, "rules": [{"name": "origin1", "request_url": "/origin1.htm"}]}},
                {"op": "add", "path": "/origins/2", "value": {"origin": "1.2.3.4", "rules": [{"name": "origin2", "request_url": "/origin2.htm"}]}}
            ])),
            "/origins/2/origin",
            "The origin http://1.2.3.4 already exists",
        );
        assert_error(
            &rejected(json!([{"op": "remove", "path": "/origins/0"}])),
            "/origins",
            "1 to 10",
        );
        assert_error(
            &rejected(json!([{"path": "/origins", "value": {}, "op": "replace"}])),
            "/origins",
            "must be an array",
        );
        for bad in [
            "   1.2.3.4",
            "http://1.2.3.4",
            "https://1.2.3.4",
            "הינטיש.com",
        ] {
            assert_error(
                &rejected(
                    json!([{"op": "replace", "path": "/origins/0", "value": {"origin": bad, "port": 80,
                "rules": [{"name": "default", "request_url": "/replacement"}], "ssl": false}}]),
                ),
                "/origins/0/origin",
                "is not valid",
            );
        }
        assert_error(
            &rejected(json!([{"op": "replace", "path": "/origins/0", "value": {}}])),
            "/origins/0/origin",
            "is required",
        );
        assert_error(
            &rejected(
                json!([{"op": "add", "path": "/origins/1", "value": {"origin": "1.2.3.4", "port": 80, "ssl": false,
            "rules": [{"name": "", "request_url": "/origin.html"}]}}]),
            ),
            "/origins/1/rules/0/name",
            "1 to 256",
        );
        assert_error(
            &rejected(
                json!([{"op": "add", "path": "/origins/1", "value": {"origin": "1.2.3.4", "port": 80, "ssl": false,
            "rules": [{"name": "origin", "request_url": ""}]}}]),
            ),
            "/origins/1/rules/0/request_url",
            "1 to 1024",
        );
    }

    #[test]
    fn malformed_patches_rejected() {
        assert_error(
            &rejected(json!([{}])),
            "/0",
            "not a valid JSON Patch operation",
        );
    }

    #[test]
    fn name_and_flavor_patches_rejected() {
        assert_error(
            &rejected(json!([{"op": "remove", "path": "/name"}])),
            "/name",
            "is required",
        );
        assert_error(
            &rejected(json!([{"op": "replace", "path": "/name", "value": "ab"}])),
            "/name",
            "3 to 256",
        );
        assert_error(
            &rejected(
                json!([{"op": "replace", "path": "/name", "value": "too_long_name_".repeat(20)}]),
            ),
            "/name",
            "3 to 256",
        );
        assert_error(
            &rejected(json!([{"op": "remove", "path": "/flavor_id"}])),
            "/flavor_id",
            "is required",
        );
        // `replace_flavor_nonexistant` is the manager's flavor lookup.
        assert_eq!(
            ok(json!([{"op": "replace", "path": "/flavor_id", "value": "nonexistant"}])).flavor_id,
            "nonexistant"
        );
        assert_error(
            &rejected(json!([{"op": "add", "path": "/project_id", "value": "p"}])),
            "/project_id",
            "unknown field",
        );
    }

    #[test]
    fn domain_patches_rejected() {
        assert_error(
            &rejected(json!([{"op": "remove", "path": "/domains/0"}])),
            "/domains",
            "1 to 10",
        );
        assert_error(
            &rejected(json!([
                {"op": "add", "path": "/domains/0", "value": {"domain": "www.domain.com", "protocol": "http"}},
                {"op": "add", "path": "/domains/0", "value": {"domain": "www.domain.com"}}
            ])),
            "/domains/1/domain",
            "already exists",
        );
        for bad in ["www.DOMAIN.com", "MYDOMAIN.com"] {
            assert_error(
                &rejected(
                    json!([{"op": "replace", "path": "/domains/0", "value": {"domain": bad, "protocol": "http"}}]),
                ),
                "/domains/0/domain",
                "is not valid",
            );
        }
        assert_error(
            &rejected(
                json!([{"op": "replace", "path": "/domains/0", "value": {"domain": "meow", "protocol": "ftp"}}]),
            ),
            "/domains/0/protocol",
            "must be one of",
        );
        assert_error(
            &rejected(
                json!([{"op": "replace", "path": "/domains/0", "value": {"domain": "", "protocol": "http"}}]),
            ),
            "/domains/0/domain",
            "3 to 253",
        );
        assert_error(
            &rejected(json!([{"op": "replace", "path": "/domains/0", "value": {}}])),
            "/domains/0/domain",
            "is required",
        );
        assert_error(
            &rejected(
                json!([{"op": "add", "path": "/domains/-", "value": {"domain": "replaceme.com", "protocol": "https", "certificate": "shared"}}]),
            ),
            "/domains/1/domain",
            "is not valid",
        );
        assert_error(
            &rejected(
                json!([{"op": "add", "path": "/domains/0", "value": {"domain": "website.com", "protocol": "http"}}]),
            ),
            "/domains/0/domain",
            "is a root domain",
        );
        assert_error(
            &rejected(
                json!([{"op": "add", "path": "/domains/0", "value": {"domain": "website.co.uk", "protocol": "http"}}]),
            ),
            "/domains/0/domain",
            "is a root domain",
        );
    }

    #[test]
    fn caching_patches_rejected() {
        let add = |v: Value| rejected(json!([{"op": "add", "path": "/caching/-", "value": v}]));
        assert_error(
            &add(json!({"name": "cache_name", "ttl": 111})),
            "/caching/2/rules",
            "is required",
        );
        assert_error(
            &add(
                json!({"name": "", "ttl": 111, "rules": [{"name": "index", "request_url": "/empty_name.htm"}]}),
            ),
            "/caching/2/name",
            "1 to 256",
        );
        assert_error(
            &add(
                json!({"name": "cache_name", "ttl": 111, "rules": [{"name": "", "request_url": "/e.htm"}]}),
            ),
            "/caching/2/rules/0/name",
            "1 to 256",
        );
        assert_error(
            &add(
                json!({"name": "cache_name", "ttl": 111, "rules": [{"name": "index", "request_url": ""}]}),
            ),
            "/caching/2/rules/0/request_url",
            "1 to 1024",
        );
    }

    #[test]
    fn restriction_patches_rejected() {
        let add = |v: Value| json!({"op": "add", "path": "/restrictions/-", "value": v});
        assert_error(
            &rejected(json!([add(
                json!({"name": "", "rules": [{"name": "rule1", "referrer": "www.thesite.com"}]})
            )])),
            "/restrictions/1/name",
            "1 to 256",
        );
        assert_error(
            &rejected(json!([add(
                json!({"name": "restricted", "rules": [{"name": "", "referrer": "www.thesite.com"}]})
            )])),
            "/restrictions/1/rules/0/name",
            "1 to 256",
        );
        assert_error(
            &rejected(json!([add(
                json!({"name": "restricted", "rules": [{"name": "", "referrer": "www.thesite.com", "request_url": "/*"}]})
            )])),
            "/restrictions/1/rules/0/name",
            "1 to 256",
        );
        assert_error(
            &rejected(json!([add(
                json!({"name": "restricted", "rules": [{"name": "rule1", "referrer": "ab"}]})
            )])),
            "/restrictions/1/rules/0/referrer",
            "3 to 1024",
        );
        assert_error(
            &rejected(json!([add(
                json!({"name": "x", "rules": [{"name": "rule1", "geography": "NOTACOUNTRY"}]})
            )])),
            "/restrictions/1/rules/0/geography",
            "Country/Area NOTACOUNTRY is not supported in geo zones",
        );
        assert_error(
            &rejected(json!([
                add(
                    json!({"name": "w", "access": "whitelist", "rules": [{"name": "rule1", "geography": "USA"}]})
                ),
                add(
                    json!({"name": "b", "access": "blacklist", "rules": [{"name": "rule1", "geography": "Mexico"}]})
                )
            ])),
            "/restrictions/2/rules/0",
            "Cannot blacklist and whitelist geography on /* at the same time",
        );
        assert_error(
            &rejected(json!([add(
                json!({"name": "restricted-ip2", "rules": [{"name": "rule1", "client_ip": "13.4.5"}]})
            )])),
            "/restrictions/1/rules/0/client_ip",
            "is not a valid",
        );
        // The base service whitelists a referrer on `/*`.
        assert_error(
            &rejected(json!([add(
                json!({"name": "b", "access": "blacklist", "rules": [{"name": "rule1", "referrer": "myblacklist.com"}]})
            )])),
            "/restrictions/1/rules/0",
            "Cannot blacklist and whitelist referrer on /* at the same time",
        );
        assert_error(
            &rejected(json!([
                add(
                    json!({"name": "w", "access": "whitelist", "rules": [{"name": "rule1", "client_ip": "1.2.3.4"}]})
                ),
                add(
                    json!({"name": "b", "access": "blacklist", "rules": [{"name": "rule1", "client_ip": "5.6.7.8"}]})
                )
            ])),
            "/restrictions/2/rules/0",
            "Cannot blacklist and whitelist client_ip on /* at the same time",
        );
        for ip in [
            ":",
            "1200::AB00:1234::2552:7777:1313",
            "1200:0000:AB00:1234:O000:2552:7777:1313",
        ] {
            assert_error(
                &rejected(json!([add(
                    json!({"name": "w", "access": "whitelist", "rules": [{"name": "rule1", "client_ip": ip}]})
                )])),
                "/restrictions/1/rules/0/client_ip",
                "is not a valid",
            );
        }
    }

    #[test]
    fn log_delivery_patch_rejected() {
        assert_error(
            &rejected(
                json!([{"op": "replace", "path": "/log_delivery/enabled", "value": "not a boolean"}]),
            ),
            "/log_delivery/enabled",
            "must be a boolean",
        );
    }

    // ----- properties ------------------------------------------------------------------

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ]
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,5}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Every pointer into `v`, the root included.
    fn pointers(v: &Value) -> Vec<String> {
        fn walk(v: &Value, at: String, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, child) in m {
                        let token = k.replace('~', "~0").replace('/', "~1");
                        walk(child, format!("{at}/{token}"), out);
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

    /// Pointers to the arrays of the view, with their lengths.
    fn arrays(v: &Value) -> Vec<(String, usize)> {
        pointers(v)
            .into_iter()
            .filter_map(|p| {
                v.pointer(&p)
                    .and_then(Value::as_array)
                    .map(|a| (p, a.len()))
            })
            .collect()
    }

    fn op_strategy(view: &Value) -> impl Strategy<Value = Value> {
        let mut paths = pointers(view);
        paths.extend(
            [
                "/-",
                "/domains/-",
                "/x/y",
                "/domains/99",
                "name",
                "/origins/0/rules/-",
                "~",
                "/a~2",
            ]
            .map(str::to_owned),
        );
        let paths = prop_oneof![prop::sample::select(paths), ".{0,10}"];
        let ops = prop::sample::select(vec![
            "add", "remove", "replace", "move", "copy", "test", "frob",
        ]);
        (ops, paths.clone(), paths, arb_json(), any::<u8>()).prop_map(
            |(op, path, from, value, shape)| {
                let mut m = serde_json::Map::new();
                if shape & 1 == 0 {
                    m.insert("op".into(), json!(op));
                }
                if shape & 2 == 0 {
                    m.insert("path".into(), json!(path));
                }
                if shape & 4 == 0 {
                    m.insert("from".into(), json!(from));
                }
                if shape & 8 == 0 {
                    m.insert("value".into(), value);
                }
                Value::Object(m)
            },
        )
    }

    proptest! {
        #[test]
        fn add_then_remove_restores_the_view(
            pick in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            value in arb_json(),
            key in "[a-z_]{1,8}",
            into_object in any::<bool>(),
        ) {
            let view = patch_view(&base_spec());
            let (path, value) = if into_object {
                // A new key of the top-level object.
                (format!("/new_{key}"), value)
            } else {
                let targets = arrays(&view);
                let (array, len) = &targets[pick.index(targets.len())];
                (format!("{array}/{}", at.index(len + 1)), value)
            };
            let patch = json!([
                {"op": "add", "path": path, "value": value},
                {"op": "remove", "path": path}
            ]);
            prop_assert_eq!(apply_patch(&view, &patch), Ok(view));
        }

        #[test]
        fn test_passes_with_the_current_value_only(
            pick in any::<prop::sample::Index>(),
            other in arb_json(),
        ) {
            let view = patch_view(&base_spec());
            let paths = pointers(&view);
            let path = &paths[pick.index(paths.len())];
            let current = view.pointer(path).cloned().unwrap_or(Value::Null);
            let same = json!([{"op": "test", "path": path, "value": current}]);
            prop_assert_eq!(apply_patch(&view, &same), Ok(view.clone()));
            if other != current {
                let different = json!([
                    {"op": "replace", "path": "/name", "value": "changed"},
                    {"op": "test", "path": path, "value": other}
                ]);
                let errs = apply_patch(&view, &different).err().unwrap_or_default();
                prop_assert_eq!(errs.len(), 1);
                prop_assert_eq!(errs[0].path.as_str(), "/1");
            }
        }

        #[test]
        fn garbage_patches_never_panic(
            ops in prop::collection::vec(op_strategy(&patch_view(&base_spec())), 0..6),
            raw in arb_json(),
        ) {
            let view = patch_view(&base_spec());
            for patch in [Value::Array(ops), raw] {
                match apply_patch(&view, &patch) {
                    Ok(doc) => {
                        // Whatever the patch made, validating it must not panic.
                        let _ = service(&doc, Mode::Update, &Options::default());
                    }
                    Err(errors) => {
                        prop_assert!(!errors.is_empty());
                        for e in &errors {
                            prop_assert!(e.path.is_empty() || e.path.starts_with('/'));
                        }
                    }
                }
            }
        }
    }
}
