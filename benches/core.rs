//! Micro-benchmarks of the pure core: validating a large service body,
//! applying a JSON patch, and (de)serialising a stored service.
//!
//! ```sh
//! cargo bench --bench core
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use poppy::core::model::{ProjectId, Service};
use poppy::core::validate::{self, Mode, Options};
use serde_json::{json, Value};

/// A service at the API's limits: 10 domains, 10 origins, many rules.
fn large_body() -> Value {
    let domains: Vec<Value> = (0..10)
        .map(|i| json!({"domain": format!("www{i}.bench-site.com"), "protocol": "http"}))
        .collect();
    let origins: Vec<Value> = (0..10)
        .map(|i| {
            json!({"origin": format!("origin{i}.bench-origin.com"), "port": 443, "ssl": true,
                   "rules": [{"name": format!("o{i}"), "request_url": format!("/path{i}/*")}],
                   "hostheadertype": "custom", "hostheadervalue": "www.bench-site.com"})
        })
        .collect();
    let caching: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("c{i}"), "ttl": 60 * i,
                        "rules": [{"name": format!("r{i}"), "request_url": format!("/static{i}/*")}]}))
        .collect();
    json!({
        "name": "benchmark service",
        "domains": domains,
        "origins": origins,
        "caching": caching,
        "restrictions": [
            {"name": "refs", "access": "whitelist", "rules": [
                {"name": "a", "referrer": "www.partner.com", "request_url": "/*"},
                {"name": "b", "client_ip": "203.0.113.0/24", "request_url": "/api/*"},
                {"name": "c", "geography": "USA", "request_url": "/geo/*"}]}
        ],
        "flavor_id": "standard",
        "log_delivery": {"enabled": true}
    })
}

fn benches(c: &mut Criterion) {
    let body = large_body();
    let options = Options::default();
    c.bench_function("validate large service", |b| {
        b.iter(|| validate::service(black_box(&body), Mode::Create, &options))
    });

    let spec = match validate::service(&body, Mode::Create, &options) {
        Ok(spec) => spec,
        Err(errors) => panic!("benchmark body is invalid: {errors:?}"),
    };
    let view = validate::patch_view(&spec);
    let patch = json!([
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/caching/-", "value": {"name": "new", "ttl": 5,
            "rules": [{"name": "n", "request_url": "/new/*"}]}},
        {"op": "remove", "path": "/domains/9"}
    ]);
    c.bench_function("json patch + revalidate", |b| {
        b.iter(|| {
            let patched = validate::apply_patch(black_box(&view), black_box(&patch));
            patched.map(|v| validate::service(&v, Mode::Update, &options))
        })
    });

    let service = Service::new(ProjectId::new("bench"), spec, 0);
    let text = serde_json::to_string(&service).unwrap_or_default();
    c.bench_function("serialize service", |b| {
        b.iter(|| serde_json::to_string(black_box(&service)))
    });
    c.bench_function("deserialize service", |b| {
        b.iter(|| serde_json::from_str::<Service>(black_box(&text)))
    });
}

criterion_group!(core, benches);
criterion_main!(core);
