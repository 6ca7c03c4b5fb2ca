//! A small client of the REST API: one method per call the CLI makes, errors
//! classified by what the user can do about them.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::exit;

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Wrong usage (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The server answered 4xx (exit 3).
    #[error("{method} {path}: {status}: {message}")]
    Refused {
        method: Method,
        path: String,
        status: StatusCode,
        message: String,
    },
    /// The server answered 5xx (exit 4).
    #[error("{method} {path}: server error {status}: {message}")]
    ServerFailed {
        method: Method,
        path: String,
        status: StatusCode,
        message: String,
    },
    /// No answer (exit 4).
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    /// Anything else (exit 1).
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::Refused { .. } => exit::CLIENT_ERROR,
            CliError::ServerFailed { .. } | CliError::Unreachable { .. } => exit::SERVER_ERROR,
            CliError::Other(_) => exit::OTHER,
        }
    }
}

/// The whole chain of an error's causes on one line (reqwest's own text
/// stops at "error sending request").
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The server's message from an error body: `message`, plus every field
/// error, on one line.
fn server_message(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body).trim().to_owned();
        return if text.is_empty() {
            "(no message)".to_owned()
        } else {
            text.replace('\n', " ")
        };
    };
    let mut message = match value.get("message") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => value.to_string(),
    };
    if let Some(errors) = value.get("errors").and_then(Value::as_array) {
        let details: Vec<String> = errors
            .iter()
            .map(|e| {
                let path = e.get("path").and_then(Value::as_str).unwrap_or("");
                let text = e.get("message").and_then(Value::as_str).unwrap_or("");
                if path.is_empty() {
                    text.to_owned()
                } else {
                    format!("{path}: {text}")
                }
            })
            .collect();
        if details.len() > 1
            || details
                .first()
                .is_some_and(|d| !message.contains(d.as_str()))
        {
            message = format!("{message} [{}]", details.join("; "));
        }
    }
    message
}

/// A response the server gave.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) location: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    fn json(&self, what: &str) -> Result<Value, CliError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| CliError::Other(format!("the server's {what} is not JSON: {e}")))
    }
}

/// The API at one base URL, for one project.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    project: String,
}

impl Client {
    /// A client of the API at `base_url` (`http://host:port`, optionally
    /// with a path prefix), acting for `project`.
    pub fn new(base_url: &str, project: &str) -> Result<Self, CliError> {
        let mut base = Url::parse(base_url)
            .map_err(|e| CliError::Usage(format!("invalid API URL '{base_url}': {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(CliError::Usage(format!(
                "invalid API URL '{base_url}': only http and https URLs are supported"
            )));
        }
        // A trailing slash makes `join` keep the prefix path.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("poppy-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                CliError::Other(format!("cannot build the HTTP client: {}", causes(&e)))
            })?;
        Ok(Self {
            http,
            base,
            project: project.to_owned(),
        })
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url, CliError> {
        let mut url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| CliError::Usage(format!("cannot build a URL for {path}: {e}")))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        Ok(url)
    }

    /// Sends a request; 2xx comes back as an [`Answer`], anything else as
    /// the matching [`CliError`].
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Answer, CliError> {
        let url = self.url(path, query)?;
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header("X-Project-ID", &self.project)
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| CliError::Unreachable {
            url: self.base.to_string(),
            message: causes(&e),
        })?;
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .bytes()
            .await
            .map_err(|e| CliError::Unreachable {
                url: self.base.to_string(),
                message: format!("the answer was cut short: {}", causes(&e)),
            })?
            .to_vec();
        let path = url.path().to_owned();
        if status.is_client_error() {
            return Err(CliError::Refused {
                method,
                path,
                status,
                message: server_message(&body),
            });
        }
        if !status.is_success() {
            return Err(CliError::ServerFailed {
                method,
                path,
                status,
                message: server_message(&body),
            });
        }
        Ok(Answer {
            status,
            location,
            body,
        })
    }

    /// `POST /v1.0/services`; the new service's id (from `Location`).
    pub async fn create_service(&self, body: &Value) -> Result<String, CliError> {
        let answer = self
            .send(Method::POST, "v1.0/services", &[], Some(body))
            .await?;
        let location = answer.location.ok_or_else(|| {
            CliError::Other("the server accepted the service but sent no Location".to_owned())
        })?;
        location
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| CliError::Other(format!("no service id in Location '{location}'")))
    }

    /// `GET /v1.0/services` (one page).
    pub async fn list_services(
        &self,
        limit: Option<u32>,
        marker: Option<&str>,
    ) -> Result<Value, CliError> {
        let mut query = Vec::new();
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(marker) = marker {
            query.push(("marker", marker.to_owned()));
        }
        self.send(Method::GET, "v1.0/services", &query, None)
            .await?
            .json("service list")
    }

    /// `GET /v1.0/services/{id}`.
    pub async fn get_service(&self, id: &str) -> Result<Value, CliError> {
        self.send(Method::GET, &format!("v1.0/services/{id}"), &[], None)
            .await?
            .json("service")
    }

    /// `GET` of a service that may be gone: `None` on 404.
    pub async fn find_service(&self, id: &str) -> Result<Option<Value>, CliError> {
        match self.get_service(id).await {
            Ok(service) => Ok(Some(service)),
            Err(CliError::Refused {
                status: StatusCode::NOT_FOUND,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `PATCH /v1.0/services/{id}` with a JSON Patch.
    pub async fn patch_service(&self, id: &str, patch: &Value) -> Result<(), CliError> {
        self.send(
            Method::PATCH,
            &format!("v1.0/services/{id}"),
            &[],
            Some(patch),
        )
        .await
        .map(drop)
    }

    /// `DELETE /v1.0/services/{id}`.
    pub async fn delete_service(&self, id: &str) -> Result<(), CliError> {
        self.send(Method::DELETE, &format!("v1.0/services/{id}"), &[], None)
            .await
            .map(drop)
    }

    /// `DELETE /v1.0/services/{id}/assets`: `url`, or everything with
    /// `all`; `hard = false` is a soft purge.
    pub async fn purge_service(
        &self,
        id: &str,
        url: Option<&str>,
        all: bool,
        hard: bool,
    ) -> Result<(), CliError> {
        let mut query = Vec::new();
        if let Some(url) = url {
            query.push(("url", url.to_owned()));
        }
        if all {
            query.push(("all", "true".to_owned()));
        }
        query.push(("hard", hard.to_string()));
        self.send(
            Method::DELETE,
            &format!("v1.0/services/{id}/assets"),
            &query,
            None,
        )
        .await
        .map(drop)
    }

    /// `GET /v1.0/flavors`.
    pub async fn list_flavors(&self) -> Result<Value, CliError> {
        self.send(Method::GET, "v1.0/flavors", &[], None)
            .await?
            .json("flavor list")
    }

    /// `GET /v1.0/flavors/{id}`.
    pub async fn get_flavor(&self, id: &str) -> Result<Value, CliError> {
        self.send(Method::GET, &format!("v1.0/flavors/{id}"), &[], None)
            .await?
            .json("flavor")
    }

    /// `POST /v1.0/flavors`; the created flavor.
    pub async fn create_flavor(&self, body: &Value) -> Result<Value, CliError> {
        let answer = self
            .send(Method::POST, "v1.0/flavors", &[], Some(body))
            .await?;
        debug_assert!(answer.status.is_success());
        answer.json("flavor")
    }

    /// `DELETE /v1.0/flavors/{id}`.
    pub async fn delete_flavor(&self, id: &str) -> Result<(), CliError> {
        self.send(Method::DELETE, &format!("v1.0/flavors/{id}"), &[], None)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_one_line_with_field_errors() {
        let body = br#"{"message": "/name: too short (and 1 more errors)",
            "errors": [{"path": "/name", "message": "too short"}, {"path": "/origins", "message": "required"}]}"#;
        assert_eq!(
            server_message(body),
            "/name: too short (and 1 more errors) [/name: too short; /origins: required]"
        );
        assert_eq!(server_message(br#"{"message": "gone"}"#), "gone");
        assert_eq!(server_message(b""), "(no message)");
        assert_eq!(server_message(b"bad\ngateway"), "bad gateway");
    }

    #[test]
    fn urls_keep_a_prefix_and_encode_queries() {
        let client = Client::new("http://h:1/cdn", "p").unwrap();
        let url = client
            .url("v1.0/services/x/assets", &[("url", "/a b&c".to_owned())])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://h:1/cdn/v1.0/services/x/assets?url=%2Fa+b%26c"
        );
        assert!(matches!(
            Client::new("ftp://h", "p"),
            Err(CliError::Usage(_))
        ));
    }
}
