//! Cloud DNS over HTTP: identity tokens, requests, asynchronous jobs and
//! the mapping of answers to [`PortError`] kinds.

use std::time::Duration;

use poppy_core::ports::PortError;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tracing::debug;

use super::config::RackspaceDnsConfig;

/// Backend name in errors.
pub(super) const BACKEND: &str = "rackspace-dns";

/// A token and the DNS endpoint it is for.
#[derive(Clone)]
struct Session {
    token: String,
    endpoint: String,
}

/// A Cloud DNS client: authenticates lazily, refreshes the token once when
/// an answer is 401, and waits for asynchronous jobs.
pub(super) struct Client {
    http: reqwest::Client,
    config: RackspaceDnsConfig,
    /// Held while authenticating, so concurrent calls share one token.
    session: Mutex<Option<Session>>,
}

impl Client {
    pub(super) fn new(config: RackspaceDnsConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .build()?;
        Ok(Self {
            http,
            config,
            session: Mutex::new(None),
        })
    }

    /// The current session, authenticating first if there is none (or if
    /// `stale` is the token that was just refused).
    async fn session(&self, stale: Option<&str>) -> Result<Session, PortError> {
        let mut guard = self.session.lock().await;
        if let Some(session) = guard.as_ref() {
            if stale != Some(session.token.as_str()) {
                return Ok(session.clone());
            }
        }
        let session = self.authenticate().await?;
        *guard = Some(session.clone());
        Ok(session)
    }

    /// `POST <auth_endpoint>/tokens` with the API key: the token, and the
    /// `rax:dns` endpoint of the catalog unless one is configured.
    async fn authenticate(&self) -> Result<Session, PortError> {
        let url = format!("{}/tokens", self.config.auth_endpoint.trim_end_matches('/'));
        let body = json!({
            "auth": {
                "RAX-KSKEY:apiKeyCredentials": {
                    "username": self.config.username,
                    "apiKey": self.config.api_key,
                }
            }
        });
        let response = self
            .http
            .post(&url)
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| transport("POST /tokens", &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(PortError::Invalid(format!(
                "Rackspace identity ({url}) refused the API key of user '{}' (HTTP {status})",
                self.config.username
            )));
        }
        if !status.is_success() {
            return Err(status_error("POST /tokens", status, &headers, &text));
        }
        let access: Value = serde_json::from_str(&text).map_err(|e| {
            PortError::internal(BACKEND, format!("identity answer is not JSON: {e}"))
        })?;
        let token = access["access"]["token"]["id"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| PortError::internal(BACKEND, "identity answer has no access.token.id"))?
            .to_owned();
        let endpoint = match &self.config.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => dns_endpoint(&access).ok_or_else(|| {
                PortError::Invalid(
                    "the service catalog of the Rackspace token has no rax:dns endpoint; \
                     set [dns] endpoint"
                        .to_owned(),
                )
            })?,
        };
        debug!(endpoint = %endpoint, "authenticated to Rackspace identity");
        Ok(Session {
            token,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
        })
    }

    /// One Cloud DNS request (`path` below the account endpoint); the body
    /// of the answer as JSON (`null` when empty). A 401 re-authenticates
    /// and repeats the request once.
    pub(super) async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, PortError> {
        let mut session = self.session(None).await?;
        let mut refreshed = false;
        loop {
            let what = format!("{method} {path}");
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", session.endpoint))
                .header("X-Auth-Token", &session.token)
                .header("Accept", "application/json")
                .query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| transport(&what, &e))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !refreshed {
                debug!(%what, "token refused; authenticating again");
                refreshed = true;
                session = self.session(Some(&session.token)).await?;
                continue;
            }
            let headers = response.headers().clone();
            let text = response.text().await.map_err(|e| transport(&what, &e))?;
            if !status.is_success() {
                return Err(status_error(&what, status, &headers, &text));
            }
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).map_err(|e| {
                PortError::internal(BACKEND, format!("{what}: answer is not JSON: {e}"))
            });
        }
    }

    /// A request whose answer may be an asynchronous job: waits for the job
    /// (`GET /status/{jobId}?showDetails=true`) and returns its `response`.
    pub(super) async fn request_job(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, PortError> {
        let what = format!("{method} {path}");
        let mut answer = self.request(method, path, query, body).await?;
        let Some(job_id) = answer["jobId"].as_str().map(str::to_owned) else {
            return Ok(answer);
        };
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(self.config.job_timeout_secs);
        let pause = Duration::from_millis(self.config.job_poll_interval_ms);
        loop {
            match answer["status"].as_str().unwrap_or("RUNNING") {
                "COMPLETED" => return Ok(answer["response"].take()),
                "ERROR" => return Err(job_error(&what, &job_id, &answer["error"])),
                _ => {}
            }
            if tokio::time::Instant::now() + pause > deadline {
                return Err(PortError::Unavailable {
                    backend: BACKEND.to_owned(),
                    message: format!(
                        "{what}: job {job_id} still {} after {} s",
                        answer["status"].as_str().unwrap_or("RUNNING"),
                        self.config.job_timeout_secs
                    ),
                    retry_after: Some(pause),
                });
            }
            tokio::time::sleep(pause).await;
            answer = self
                .request(
                    Method::GET,
                    &format!("/status/{job_id}"),
                    &[("showDetails", "true".to_owned())],
                    None,
                )
                .await?;
        }
    }
}

/// The first `rax:dns` public URL of the service catalog.
fn dns_endpoint(access: &Value) -> Option<String> {
    access["access"]["serviceCatalog"]
        .as_array()?
        .iter()
        .filter(|s| s["type"] == "rax:dns" || s["name"] == "cloudDNS")
        .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
        .find_map(|e| e["publicURL"].as_str().map(str::to_owned))
}

/// A request that got no answer: retry later.
fn transport(what: &str, error: &reqwest::Error) -> PortError {
    let mut message = format!("{what}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    PortError::unavailable(BACKEND, message)
}

/// `Retry-After` in seconds (Rackspace sends seconds).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// An error answer: 413/429 (Cloud DNS's "over limit") → `RateLimited`,
/// 5xx → `Unavailable`, 404 → `NotFound`, 409 → `Conflict`, other →
/// `Invalid` with the API's message.
fn status_error(what: &str, status: StatusCode, headers: &HeaderMap, body: &str) -> PortError {
    let message = api_message(body);
    match status.as_u16() {
        413 | 429 => PortError::RateLimited {
            backend: BACKEND.to_owned(),
            retry_after: retry_after(headers),
        },
        s if s >= 500 => PortError::Unavailable {
            backend: BACKEND.to_owned(),
            message: format!("{what}: HTTP {status}: {message}"),
            retry_after: retry_after(headers),
        },
        404 => PortError::NotFound(format!("{what} ({message})")),
        409 => PortError::Conflict(format!("{what}: {message}")),
        _ => PortError::Invalid(format!("Rackspace DNS {what}: HTTP {status}: {message}")),
    }
}

/// A job that ended in `ERROR`, classified by the code it carries.
fn job_error(what: &str, job_id: &str, error: &Value) -> PortError {
    let code = error["code"].as_u64().unwrap_or(0);
    let mut message = [error["message"].as_str(), error["details"].as_str()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    if let Some(faults) = error["failedItems"]["faults"].as_array() {
        for fault in faults {
            for part in [fault["message"].as_str(), fault["details"].as_str()]
                .into_iter()
                .flatten()
            {
                message.push_str("; ");
                message.push_str(part);
            }
        }
    }
    let message = format!("{what}: job {job_id} failed: {message}");
    match code {
        413 | 429 => PortError::RateLimited {
            backend: BACKEND.to_owned(),
            retry_after: None,
        },
        404 => PortError::NotFound(message),
        409 => PortError::Conflict(message),
        c if c >= 500 || c == 0 => PortError::unavailable(BACKEND, message),
        _ => PortError::Invalid(message),
    }
}

/// The message of a Cloud DNS error body (`{"message": …, "details": …}`,
/// or the whole body when it is not that).
fn api_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let pick = |v: &Value| {
        [v["message"].as_str(), v["details"].as_str()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ")
    };
    match parsed {
        Some(v) => {
            // Some answers wrap the error: {"overLimit": {"message": …}}.
            let inner = v
                .as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.values().next())
                .filter(|i| i.is_object())
                .map(pick)
                .unwrap_or_default();
            let direct = pick(&v);
            if !direct.is_empty() {
                direct
            } else if !inner.is_empty() {
                inner
            } else {
                body.chars().take(300).collect()
            }
        }
        None => body.chars().take(300).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            api_message(r#"{"message":"Domain not found.","code":404,"details":"No object"}"#),
            "Domain not found.: No object"
        );
        assert_eq!(
            api_message(r#"{"overLimit":{"message":"Too many requests","code":413}}"#),
            "Too many requests"
        );
        assert_eq!(api_message("plain"), "plain");
    }

    #[test]
    fn job_errors_are_classified_by_code() {
        let e = job_error(
            "POST /x",
            "j",
            &json!({"code": 400, "message": "bad", "details": "name"}),
        );
        assert!(
            matches!(e, PortError::Invalid(ref m) if m.contains("bad: name")),
            "{e:?}"
        );
        let e = job_error("POST /x", "j", &json!({"code": 503, "message": "down"}));
        assert!(e.is_retryable(), "{e:?}");
        let e = job_error("POST /x", "j", &json!({"code": 409, "message": "exists"}));
        assert!(matches!(e, PortError::Conflict(_)), "{e:?}");
    }
}
