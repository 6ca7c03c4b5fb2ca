//! `GET /v1.0/` (home document, §2.3) and `GET /v1.0/ping` (§2.4).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::extract::Project;
use crate::AppState;

/// The static JSON-Home document of the original, key order included.
/// (`"marker": "param/flavor_id"` under flavors is the original's typo,
/// kept for compatibility.)
pub(crate) const HOME_DOCUMENT: &str = concat!(
    r#"{"resources":{"#,
    r#""rel/services":{"href-template":"/services{?marker,limit}","#,
    r#""href-vars":{"marker":"param/marker","limit":"param/limit"},"#,
    r#""hints":{"allow":["GET","POST"],"formats":{"application/json":{}}}},"#,
    r#""rel/flavors":{"href-template":"/flavors/{flavor_id}","#,
    r#""href-vars":{"marker":"param/flavor_id"},"#,
    r#""hints":{"allow":["GET","POST","DELETE"],"formats":{"application/json":{}}}},"#,
    r#""rel/health":{"href-template":"/health","href-vars":{"subsystem":"param/subsystem"},"#,
    r#""hints":{"allow":["GET"],"formats":{"application/json":{}}}},"#,
    r#""rel/ping":{"href-template":"/ping","#,
    r#""hints":{"allow":["GET"],"formats":{"application/json":{}}}}}}"#,
);

/// 200 with the home document; needs `X-Project-ID` like every endpoint but ping.
#[utoipa::path(get, path = "/v1.0", operation_id = "home", tag = "home",
    responses((status = 200, description = "The JSON-Home document", body = crate::openapi::schema::HomeDocument)))]
pub(crate) async fn home(_project: Project) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        HOME_DOCUMENT,
    )
        .into_response()
}

/// 204 when storage and the job board are reachable, else 503; both empty.
#[utoipa::path(get, path = "/v1.0/ping", operation_id = "ping", tag = "home",
    responses(
        (status = 204, description = "Storage and the job board are reachable"),
        (status = 503, description = "Storage or the job board is unreachable"),
    ))]
pub(crate) async fn ping(State(state): State<AppState>) -> StatusCode {
    if state.api.services.ping().await {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn home_document_is_json() {
        let value: serde_json::Value = serde_json::from_str(super::HOME_DOCUMENT).unwrap();
        assert_eq!(
            value["resources"]["rel/flavors"]["href-vars"]["marker"],
            "param/flavor_id"
        );
    }
}
