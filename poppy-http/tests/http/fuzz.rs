//! Property test over hostile requests: any method, path, query, headers
//! and body against the router (with a fake API that never fails) gets a
//! 1xx–4xx answer, never a 5xx and never a panic, and every error answer
//! is the API's JSON error shape.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::BodyExt;
use poppy_http::{router, HttpConfig};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use crate::fake::{Fake, CREATED_ID, SERVICE_ID};

/// Path segments of the real routes, and ones that are not.
const SEGMENTS: &[&str] = &[
    "v1.0",
    "v1.0",
    "v1.0",
    "v2",
    "services",
    "services",
    "flavors",
    "admin",
    "health",
    "ping",
    "assets",
    "analytics",
    "domains",
    "limits",
    "certificates",
    "ssl_certificate",
    "provider",
    "provider_details",
    "background_job",
    "san_mapping",
    "retry_list",
    "sni_config",
    "config",
    "service",
    "status",
    "action",
    "dns",
    "storage",
    "distributed_task",
    "openapi.json",
    "metrics",
    "mock",
    "akamai",
    "sqlite",
    "default",
    "standard",
    "www.example.com",
    "000001",
    "123456",
    SERVICE_ID,
    CREATED_ID,
    "not-a-uuid",
    "",
    ".",
    "..",
    "%00",
    "%ff%fe",
    "%2F",
    "%2e%2e",
    "%c3%a9",
    "a%20b",
    "~",
    "*",
];

const QUERY_KEYS: &[&str] = &[
    "marker",
    "limit",
    "url",
    "all",
    "hard",
    "status",
    "provider_url",
    "cert_type",
    "domain",
    "startTime",
    "endTime",
    "metricType",
];

const QUERY_VALUES: &[&str] = &[
    "",
    "1",
    "0",
    "-1",
    "20",
    "1000000000000",
    "true",
    "false",
    "deployed",
    "create_in_progress",
    "/*",
    "/a/b?c",
    SERVICE_ID,
    "not-a-uuid",
    "%00",
    "%ff",
    "a%26b",
    "2016-01-01T00:00:00",
    "requestCount",
    "san",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "application/merge-patch+json",
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "",
    "application/json;;;",
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(SEGMENTS).prop_map(str::to_owned),
        1 => "[A-Za-z0-9._~!$&'()*+,;=:@-]{0,12}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    let query = proptest::collection::vec(
        (
            proptest::sample::select(QUERY_KEYS),
            prop_oneof![
                4 => proptest::sample::select(QUERY_VALUES).prop_map(str::to_owned),
                1 => "[A-Za-z0-9%._~-]{0,12}",
            ],
        ),
        0..4,
    );
    (
        proptest::collection::vec(segment(), 0..6),
        any::<bool>(),
        query,
    )
        .prop_map(|(segments, slash, query)| {
            let mut path = format!("/{}", segments.join("/"));
            if slash {
                path.push('/');
            }
            if !query.is_empty() {
                let pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                path.push('?');
                path.push_str(&pairs.join("&"));
            }
            path
        })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ]),
        1 => proptest::sample::select(vec![
            Method::HEAD,
            Method::OPTIONS,
            Method::TRACE,
            Method::CONNECT,
        ]),
        1 => "[A-Z]{1,10}".prop_filter_map("a method token", |m| Method::from_bytes(m.as_bytes()).ok()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,20}".prop_map(Value::String),
        proptest::sample::select(vec![
            "www.example.com",
            "standard",
            "https",
            "san",
            "replace",
            "/name",
            "delete",
            "deployed",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        3 => proptest::sample::select(vec![
                            "name", "domains", "domain", "origins", "origin", "flavor_id",
                            "op", "path", "value", "from", "action", "project_id",
                            "service_id", "status", "limit", "providers", "provider",
                            "links", "href", "rel", "flavor_id", "cert_type",
                        ])
                        .prop_map(str::to_owned),
                        1 => "[a-z_]{0,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        3 => Just(None),
        4 => json_value().prop_map(|v| Some(v.to_string().into_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Some),
        1 => Just(Some(b"{\"name\": ".to_vec())),
        1 => Just(Some(json!([{"op": "replace", "path": "/name", "value": "x"}]).to_string().into_bytes())),
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => "[ -~]{0,24}".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..16),
    ]
}

/// One request: method, path and query, `X-Project-ID`, `Content-Type`,
/// extra headers, body.
#[derive(Debug, Clone)]
struct Hostile {
    method: Method,
    path: String,
    project: Option<Vec<u8>>,
    content_type: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
}

fn hostile() -> impl Strategy<Value = Hostile> {
    (
        method(),
        path(),
        proptest::option::weighted(
            0.85,
            prop_oneof![
                3 => Just(b"000001".to_vec()),
                1 => header_value(),
            ],
        ),
        proptest::option::of(prop_oneof![
            3 => proptest::sample::select(CONTENT_TYPES).prop_map(str::to_owned),
            1 => "[ -~]{0,20}",
        ]),
        proptest::collection::vec(
            (
                proptest::sample::select(vec![
                    "x-request-id",
                    "x-forwarded-proto",
                    "host",
                    "accept",
                    "x-auth-token",
                    "content-length",
                    "transfer-encoding",
                    "x-anything",
                ])
                .prop_map(str::to_owned),
                header_value(),
            ),
            0..4,
        ),
        body(),
    )
        .prop_map(
            |(method, path, project, content_type, headers, body)| Hostile {
                method,
                path,
                project,
                content_type,
                headers,
                body,
            },
        )
}

impl Hostile {
    /// The request, or `None` when the parts do not form one (an invalid
    /// URI or header value: a server's HTTP parser refuses those itself).
    fn request(&self) -> Option<Request<Body>> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(&self.path)
            .header("host", "cdn.example.com");
        if let Some(project) = &self.project {
            builder = builder.header("x-project-id", HeaderValue::from_bytes(project).ok()?);
        }
        if let Some(content_type) = &self.content_type {
            builder = builder.header("content-type", HeaderValue::from_str(content_type).ok()?);
        }
        for (name, value) in &self.headers {
            // A wrong length or encoding is the HTTP parser's to refuse.
            if name == "content-length" || name == "transfer-encoding" {
                continue;
            }
            builder = builder.header(
                HeaderName::from_bytes(name.as_bytes()).ok()?,
                HeaderValue::from_bytes(value).ok()?,
            );
        }
        let body = match &self.body {
            Some(bytes) => Body::from(bytes.clone()),
            None => Body::empty(),
        };
        builder.body(body).ok()
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_request_gets_a_server_error(hostile in hostile()) {
        let Some(request) = hostile.request() else {
            return Ok(());
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let fake = Fake::new();
        let app = router(fake.api(), HttpConfig::default());
        let (status, content_type, bytes) = runtime.block_on(async move {
            let response = app.oneshot(request).await.expect("the router is infallible");
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await.expect("the body is readable").to_bytes();
            let content_type = parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (parts.status, content_type, bytes)
        });
        prop_assert!(
            !status.is_server_error(),
            "{} {} answered {}: {}",
            hostile.method,
            hostile.path,
            status,
            String::from_utf8_lossy(&bytes)
        );
        if status.is_client_error() && hostile.method != Method::HEAD {
            prop_assert_eq!(content_type.as_deref(), Some("application/json"));
            let body: Value = serde_json::from_slice(&bytes)
                .map_err(|e| TestCaseError::fail(format!("error body is not JSON: {e}")))?;
            prop_assert!(
                body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "error body without a message: {}",
                body
            );
        }
    }
}
