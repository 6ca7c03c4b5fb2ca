//! The Prometheus metrics source against a loopback stand-in of the HTTP
//! query API.

use poppy_adapters::metrics::prometheus::{PrometheusConfig, PrometheusMetrics};
use poppy_core::model::ProjectId;
use poppy_core::ports::{MetricPoint, MetricType, MetricsQuery, MetricsSource, PortError};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn source(url: String) -> PrometheusMetrics {
    PrometheusMetrics::build(PrometheusConfig {
        url,
        resolution_secs: 3600,
        ..PrometheusConfig::default()
    })
    .expect("valid config")
}

fn query(metric: MetricType) -> MetricsQuery {
    MetricsQuery {
        project_id: ProjectId::new("p1"),
        provider: "mock".into(),
        domain: "www.a.com".into(),
        metric,
        start: 1_000,
        end: 90_000,
    }
}

#[tokio::test]
async fn a_range_query_gives_series_by_region_with_every_configured_region() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .and(query_param(
            "query",
            r#"sum by (region) (increase(poppy_cdn_responses_total{domain="www.a.com",status_class="5XX"}[3600s]))"#,
        ))
        .and(query_param("start", "1000"))
        .and(query_param("end", "90000"))
        .and(query_param("step", "3600"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "success",
            "data": {"resultType": "matrix", "result": [
                {"metric": {"region": "EMEA"}, "values": [[4600, "2"], [1000.5, "1"], [8200, "NaN"]]},
                {"metric": {"region": "Mars"}, "values": [[1000, "7"]]}
            ]}
        })))
        .mount(&server)
        .await;
    let series = source(server.uri())
        .query(&query(MetricType::HttpResponseCode5xx))
        .await
        .expect("query");
    assert_eq!(
        series["EMEA"],
        vec![
            MetricPoint {
                timestamp: 1000,
                value: 1.0
            },
            MetricPoint {
                timestamp: 4600,
                value: 2.0
            }
        ]
    );
    assert_eq!(
        series["Mars"],
        vec![MetricPoint {
            timestamp: 1000,
            value: 7.0
        }]
    );
    for region in ["North America", "South America", "Japan", "India", "APAC"] {
        assert_eq!(series[region], vec![], "{region} is listed, empty");
    }
}

#[tokio::test]
async fn answers_map_to_port_errors() {
    let server = MockServer::start().await;
    let answer = |status: u16| {
        ResponseTemplate::new(status).set_body_json(json!({
            "status": "error", "errorType": "bad_data", "error": "parse error at char 3"}))
    };
    for (metric, status) in [
        (MetricType::RequestCount, 400),
        (MetricType::BandwidthOut, 503),
        (MetricType::HttpResponseCode1xx, 429),
    ] {
        let name = match metric {
            MetricType::RequestCount => "poppy_cdn_requests_total",
            MetricType::BandwidthOut => "poppy_cdn_bytes_out_total",
            _ => "poppy_cdn_responses_total",
        };
        Mock::given(method("GET"))
            .and(path("/api/v1/query_range"))
            .and(wiremock::matchers::query_param_contains("query", name))
            .respond_with(answer(status))
            .mount(&server)
            .await;
    }
    let s = source(server.uri());
    let err = s.query(&query(MetricType::RequestCount)).await.unwrap_err();
    assert!(
        matches!(&err, PortError::Invalid(m) if m.contains("parse error")),
        "{err:?}"
    );
    let err = s.query(&query(MetricType::BandwidthOut)).await.unwrap_err();
    assert!(matches!(err, PortError::Unavailable { .. }), "{err:?}");
    let err = s
        .query(&query(MetricType::HttpResponseCode1xx))
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::RateLimited { .. }), "{err:?}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let down = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let err = source(down)
        .query(&query(MetricType::RequestCount))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}
