//! Metrics sources ([`poppy_core::ports::MetricsSource`]) for the
//! analytics endpoint: an in-memory one (tests, demos) and the Prometheus
//! HTTP query API (feature `metrics-prometheus`).

pub mod memory;
#[cfg(feature = "metrics-prometheus")]
pub mod prometheus;

/// The regions of the original's Akamai analytics (`geo_zone_code_mapping.REGIONS`):
/// every answer lists them, empty when a backend has no data for one.
pub const DEFAULT_REGIONS: &[&str] = &[
    "North America",
    "South America",
    "EMEA",
    "Japan",
    "India",
    "APAC",
];
