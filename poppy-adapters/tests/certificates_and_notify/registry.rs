//! Metrics sources and notifiers by name.

use poppy_adapters::registry::Options;
use poppy_adapters::{Registry, RegistryError};

#[test]
fn builtin_drivers_build_by_name_and_unknown_ones_are_named() {
    let registry = Registry::builtin();
    assert_eq!(
        registry
            .metrics("memory", &Options::new())
            .expect("memory")
            .name(),
        "memory"
    );
    registry.notifier("log", &Options::new()).expect("log");
    let err = registry.notifier("mailgun", &Options::new()).unwrap_err();
    assert!(matches!(err, RegistryError::UnknownDriver { .. }), "{err}");
    let mut options = Options::new();
    options.insert("level".into(), toml::Value::String("debug".into()));
    let err = registry.notifier("log", &options).unwrap_err();
    assert!(err.to_string().contains("level"), "{err}");
}

#[cfg(not(feature = "notify-webhook"))]
#[test]
fn a_webhook_without_its_feature_names_the_feature() {
    let err = Registry::builtin()
        .notifier("webhook", &Options::new())
        .unwrap_err();
    assert!(
        err.to_string().contains("--features notify-webhook"),
        "{err}"
    );
}

#[cfg(feature = "notify-webhook")]
#[test]
fn a_webhook_needs_a_url_and_a_secret() {
    let err = Registry::builtin()
        .notifier("webhook", &Options::new())
        .unwrap_err();
    assert!(matches!(err, RegistryError::Options { .. }), "{err}");
    let mut options = Options::new();
    options.insert(
        "url".into(),
        toml::Value::String("http://127.0.0.1:1/hook".into()),
    );
    options.insert("secret".into(), toml::Value::String("k".into()));
    Registry::builtin()
        .notifier("webhook", &options)
        .expect("webhook");
}

#[cfg(not(feature = "metrics-prometheus"))]
#[test]
fn prometheus_without_its_feature_names_the_feature() {
    let err = Registry::builtin()
        .metrics("prometheus", &Options::new())
        .unwrap_err();
    assert!(
        err.to_string().contains("--features metrics-prometheus"),
        "{err}"
    );
}

#[cfg(feature = "metrics-prometheus")]
#[test]
fn prometheus_checks_its_options() {
    let mut options = Options::new();
    options.insert("url".into(), toml::Value::String("127.0.0.1:9090".into()));
    let err = Registry::builtin()
        .metrics("prometheus", &options)
        .unwrap_err();
    assert!(err.to_string().contains("url"), "{err}");
}
