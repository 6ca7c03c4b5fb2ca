//! The signed HTTP client every Akamai call goes through: builds the URL,
//! signs the request with EdgeGrid, bounds it with the configured timeout
//! and turns failures into [`PortError`]s.

use std::time::Duration;

use poppy_core::ports::PortError;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tracing::debug;

use super::config::{AkamaiConfigError, Settings};
use super::edgegrid::{RequestParts, Signer};
use super::error;

/// A JSON request body and its media type.
pub(super) struct Body<'a> {
    pub content_type: &'a str,
    pub json: &'a serde_json::Value,
}

/// A request body of any media type.
pub(super) struct RawBody<'a> {
    pub content_type: &'a str,
    pub bytes: Vec<u8>,
}

/// A response of any status.
pub(super) struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
    /// `"GET /papi/v1/…"`, for messages.
    pub what: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error this answer is, for a non-success status.
    pub fn error(&self) -> PortError {
        error::from_status(
            &self.what,
            self.status,
            self.retry_after.as_deref(),
            &self.body,
        )
    }

    /// The body as `T`, or the error the status means.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, PortError> {
        if !self.is_success() {
            return Err(self.error());
        }
        serde_json::from_slice(&self.body).map_err(|e| error::unreadable(&self.what, e))
    }
}

#[derive(Debug)]
pub(super) struct Api {
    http: reqwest::Client,
    base: Url,
    signer: Signer,
    timeout: Duration,
}

impl Api {
    pub fn new(settings: &Settings) -> Result<Self, AkamaiConfigError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect would be followed without a fresh signature.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("poppy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AkamaiConfigError::Client(e.to_string()))?;
        Ok(Self {
            http,
            base: settings.base.clone(),
            signer: Signer::new(settings.credentials.clone()),
            timeout: settings.timeout,
        })
    }

    /// Sends one signed request and reads the whole answer, whatever its
    /// status. Only a request that got no answer is an error here.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Body<'_>>,
    ) -> Result<Answer, PortError> {
        let raw = body.map(|b| RawBody {
            content_type: b.content_type,
            bytes: b.json.to_string().into_bytes(),
        });
        self.call_raw(method, path, query, raw, None).await
    }

    /// [`Self::call`] with a body of any media type and, for APIs that
    /// version their answers by media type (CPS), the `Accept` to send.
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<RawBody<'_>>,
        accept: Option<&str>,
    ) -> Result<Answer, PortError> {
        let what = format!("{method} {path}");
        let mut url = self.base.clone();
        url.set_path(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(error::unreadable(&what, "the API base URL has no host")),
        };
        let path_and_query = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let (content_type, bytes) = match body {
            Some(b) => (Some(b.content_type), b.bytes),
            None => (None, Vec::new()),
        };
        let authorization = self.signer.authorization(&RequestParts {
            method: method.as_str(),
            scheme: url.scheme(),
            host: &host,
            path_and_query: &path_and_query,
            headers: &[],
            body: &bytes,
        });
        let mut request = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, authorization)
            .header(
                ACCEPT,
                accept.unwrap_or("application/json, application/problem+json"),
            )
            .header("PAPI-Use-Prefixes", "true");
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|e| error::from_transport(&what, e, self.timeout))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = response
            .bytes()
            .await
            .map_err(|e| error::from_transport(&what, e, self.timeout))?
            .to_vec();
        if !(200..300).contains(&status) {
            // A failure's body ends up in error messages: never with a
            // credential a server might have echoed.
            let text = String::from_utf8_lossy(&body);
            body = self.signer.credentials().redact(&text).into_bytes();
        }
        debug!(request = %what, status, "akamai API call");
        Ok(Answer {
            status,
            retry_after,
            body,
            what,
        })
    }
}
