//! A [`LogDelivery`] that makes the log container in OpenStack Swift
//! (feature `swift`), as the original's `create_log_delivery_container`.
//!
//! # What it does
//!
//! 1. Keystone, with the tenant's own token (the `X-Auth-Token` of the
//!    request that turned log delivery on):
//!    - v2: `POST {identity_url}/tokens` with
//!      `{"auth": {"tenantName": <project>, "token": {"id": <token>}}}`; the
//!      answer's `access.token.id` and `access.serviceCatalog`;
//!    - v3: `POST {identity_url}/auth/tokens` with the `token` method scoped
//!      to the project id; the `X-Subject-Token` header and `token.catalog`.
//! 2. The first `object-store` endpoint of the catalog whose region is in
//!    `preferred_dcs` (none: `Ok(vec![])`, log delivery is turned off).
//! 3. `PUT {url}/{container_name}` with `X-Auth-Token`, where `url` is the
//!    endpoint's internal URL when its region is `datacenter` (Poppy runs
//!    there), else its public URL. 201/202/204 (made, or already there)
//!    are success.
//!
//! The container is made with the token Keystone scoped to the project
//! (the original sent the request's token, which for a v2 rescoping is
//! usually the same); the returned URLs are `{publicURL}/{container}` and
//! `{internalURL}/{container}` (an endpoint without an internal URL gives
//! its public one for both).
//!
//! # Errors
//!
//! No token, or 401/403 from Keystone or Swift: [`PortError::Invalid`]
//! saying whose token was refused (the flow leaves log delivery off). 429
//! (and Keystone's 413 over-limit): [`PortError::RateLimited`]; 5xx, a
//! timeout or no answer: [`PortError::Unavailable`]; both carry
//! `Retry-After` when given, and the flow retries the job. Other answers
//! are `Invalid`. Tokens and Keystone bodies (which hold tokens) are never
//! put in errors or logs.

mod config;

use std::time::Duration;

use async_trait::async_trait;
use poppy_core::model::{AuthToken, ProjectId};
use poppy_core::ports::{LogDelivery, LogDeliveryUrl, PortError};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tracing::{debug, warn};

pub use config::{IdentityVersion, SwiftConfig, SwiftConfigError};

/// The driver name in configuration.
pub const NAME: &str = "swift";

/// Backend name in errors.
const BACKEND: &str = "swift";

/// An object-store endpoint of the service catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectStoreEndpoint {
    pub region: String,
    pub public_url: Option<String>,
    pub internal_url: Option<String>,
}

/// Makes log containers in Swift.
#[derive(Debug, Clone)]
pub struct SwiftLogDelivery {
    config: SwiftConfig,
    tokens_url: String,
    http: reqwest::Client,
}

impl SwiftLogDelivery {
    /// A driver with `config`, after checking it.
    pub fn build(config: SwiftConfig) -> Result<Self, SwiftConfigError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .build()
            .map_err(|e| SwiftConfigError::Client {
                message: e.to_string(),
            })?;
        Ok(Self {
            tokens_url: config.tokens_url(),
            config,
            http,
        })
    }

    pub fn config(&self) -> &SwiftConfig {
        &self.config
    }

    /// Keystone: the token scoped to `project` and the object-store
    /// endpoints of its catalog.
    async fn authenticate(
        &self,
        project: &ProjectId,
        token: &AuthToken,
    ) -> Result<(String, Vec<ObjectStoreEndpoint>), PortError> {
        let body = match self.config.identity_version {
            IdentityVersion::V2 => json!({
                "auth": {"tenantName": project.as_str(), "token": {"id": token.expose()}}
            }),
            IdentityVersion::V3 => json!({
                "auth": {
                    "identity": {"methods": ["token"], "token": {"id": token.expose()}},
                    "scope": {"project": {"id": project.as_str()}}
                }
            }),
        };
        let response = self
            .http
            .post(&self.tokens_url)
            .header("Accept", "application/json")
            .json(&body)
            .send()
            .await
            .map_err(|e| transport("Keystone", &e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(refused("Keystone", project, status, response.headers()));
        }
        let subject = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The body holds a token: it never goes into an error or a log.
        let body: Value = response.json().await.map_err(|_| {
            PortError::Invalid(format!(
                "Keystone at {} answered {status} without a JSON body; is identity_url right?",
                self.tokens_url
            ))
        })?;
        let parsed = match self.config.identity_version {
            IdentityVersion::V2 => parse_v2(&body),
            IdentityVersion::V3 => parse_v3(&body).map(|catalog| (subject, catalog)),
        };
        let Some((scoped, catalog)) = parsed else {
            return Err(PortError::Invalid(format!(
                "Keystone at {} answered {status} without a service catalog for project {project}",
                self.tokens_url
            )));
        };
        let scoped = scoped.unwrap_or_else(|| token.expose().to_owned());
        Ok((scoped, catalog))
    }

    /// The first endpoint (catalog order) in a preferred region that has a
    /// public URL.
    pub fn choose<'a>(
        &self,
        endpoints: &'a [ObjectStoreEndpoint],
    ) -> Option<&'a ObjectStoreEndpoint> {
        endpoints.iter().find(|e| {
            e.public_url.is_some()
                && self
                    .config
                    .preferred_dcs
                    .iter()
                    .any(|dc| dc.trim() == e.region)
        })
    }

    async fn put_container(
        &self,
        project: &ProjectId,
        url: &str,
        token: &str,
    ) -> Result<(), PortError> {
        let response = self
            .http
            .put(url)
            .header("X-Auth-Token", token)
            .header("Content-Length", "0")
            .body(Vec::new())
            .send()
            .await
            .map_err(|e| transport("Swift", &e))?;
        let status = response.status();
        if status.is_success() {
            debug!(%project, container = url, %status, "log container ready");
            Ok(())
        } else {
            Err(refused("Swift", project, status, response.headers()))
        }
    }
}

#[async_trait]
impl LogDelivery for SwiftLogDelivery {
    async fn ensure_container<'a>(
        &self,
        project: &ProjectId,
        auth_token: Option<&'a AuthToken>,
    ) -> Result<Vec<LogDeliveryUrl>, PortError> {
        let Some(token) = auth_token else {
            return Err(PortError::Invalid(format!(
                "no X-Auth-Token came with the request that turned log delivery on for project \
                 {project}: the log container is made with the tenant's own token"
            )));
        };
        let (scoped, endpoints) = self.authenticate(project, token).await?;
        let Some(endpoint) = self.choose(&endpoints) else {
            warn!(%project, preferred_dcs = ?self.config.preferred_dcs,
                "no object-store endpoint in a preferred region; no log container made");
            return Ok(Vec::new());
        };
        let name = encode_segment(&self.config.container_name);
        let join = |base: &str| format!("{}/{name}", base.trim_end_matches('/'));
        let public_url = join(endpoint.public_url.as_deref().unwrap_or_default());
        let internal_url = endpoint
            .internal_url
            .as_deref()
            .map(join)
            .unwrap_or_else(|| public_url.clone());
        let local = !self.config.datacenter.is_empty()
            && self
                .config
                .datacenter
                .eq_ignore_ascii_case(&endpoint.region);
        let target = if local { &internal_url } else { &public_url };
        self.put_container(project, target, &scoped).await?;
        Ok(vec![LogDeliveryUrl {
            public_url,
            internal_url,
        }])
    }
}

/// Keystone v2: `access.token.id` and the object-store endpoints of
/// `access.serviceCatalog`.
pub fn parse_v2(body: &Value) -> Option<(Option<String>, Vec<ObjectStoreEndpoint>)> {
    let access = body.get("access")?;
    let token = access
        .pointer("/token/id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let catalog = access.get("serviceCatalog")?.as_array()?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let endpoints = object_stores(catalog)
        .flat_map(|service| service.get("endpoints").and_then(Value::as_array))
        .flatten()
        .map(|e| ObjectStoreEndpoint {
            region: text(e, "region").unwrap_or_default(),
            public_url: text(e, "publicURL"),
            internal_url: text(e, "internalURL"),
        })
        .collect();
    Some((token, endpoints))
}

/// Keystone v3: the object-store endpoints of `token.catalog`, one per
/// region (its `public` and `internal` interfaces), in catalog order.
pub fn parse_v3(body: &Value) -> Option<Vec<ObjectStoreEndpoint>> {
    let catalog = body.pointer("/token/catalog")?.as_array()?;
    let mut endpoints: Vec<ObjectStoreEndpoint> = Vec::new();
    for e in object_stores(catalog)
        .flat_map(|service| service.get("endpoints").and_then(Value::as_array))
        .flatten()
    {
        let region = e
            .get("region_id")
            .or_else(|| e.get("region"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let url = e.get("url").and_then(Value::as_str).map(str::to_owned);
        let index = match endpoints.iter().position(|x| x.region == region) {
            Some(index) => index,
            None => {
                endpoints.push(ObjectStoreEndpoint {
                    region,
                    public_url: None,
                    internal_url: None,
                });
                endpoints.len() - 1
            }
        };
        let slot = &mut endpoints[index];
        match e.get("interface").and_then(Value::as_str) {
            Some("public") => slot.public_url = url,
            Some("internal") => slot.internal_url = url,
            _ => {}
        }
    }
    Some(endpoints)
}

fn object_stores(catalog: &[Value]) -> impl Iterator<Item = &Value> {
    catalog
        .iter()
        .filter(|s| s.get("type").and_then(Value::as_str) == Some("object-store"))
}

/// Percent-encodes a path segment (Swift container names may hold any
/// character but `/`).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A transport failure (no answer, timeout): worth retrying.
fn transport(what: &str, error: &reqwest::Error) -> PortError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // reqwest's message names the URL only, never headers.
    PortError::unavailable(BACKEND, format!("{what} {kind}: {error}"))
}

/// A non-success answer of Keystone or Swift as a port error.
fn refused(what: &str, project: &ProjectId, status: StatusCode, headers: &HeaderMap) -> PortError {
    let retry_after = retry_after(headers);
    match status.as_u16() {
        401 | 403 => PortError::Invalid(format!(
            "{what} refused the tenant's token for project {project} ({status}): the log \
             container can only be made with a valid token of the project"
        )),
        // Keystone's over-limit answer was 413.
        429 | 413 => PortError::RateLimited {
            backend: BACKEND.to_owned(),
            retry_after,
        },
        s if s >= 500 => PortError::Unavailable {
            backend: BACKEND.to_owned(),
            message: format!("{what} answered {status} for project {project}"),
            retry_after,
        },
        _ => PortError::Invalid(format!(
            "{what} answered {status} for project {project}; check [log_delivery] identity_url \
             and the object store"
        )),
    }
}

/// `Retry-After` in seconds.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_are_encoded_as_one_segment() {
        assert_eq!(encode_segment(".CDN_ACCESS_LOGS"), ".CDN_ACCESS_LOGS");
        assert_eq!(encode_segment("cdn logs?"), "cdn%20logs%3F");
    }

    #[test]
    fn the_tokens_url_is_completed_once() {
        let mut config = SwiftConfig {
            identity_url: "http://ks:5000/v2.0/".into(),
            ..SwiftConfig::default()
        };
        assert_eq!(config.tokens_url(), "http://ks:5000/v2.0/tokens");
        config.identity_url = "http://ks:5000/v2.0/tokens".into();
        assert_eq!(config.tokens_url(), "http://ks:5000/v2.0/tokens");
        config.identity_version = IdentityVersion::V3;
        config.identity_url = "http://ks:5000/v3".into();
        assert_eq!(config.tokens_url(), "http://ks:5000/v3/auth/tokens");
    }

    #[test]
    fn bad_configurations_are_refused() {
        let good = SwiftConfig {
            identity_url: "http://127.0.0.1:5000/v2.0".into(),
            ..SwiftConfig::default()
        };
        assert_eq!(good.validate(), Ok(()));
        let bad = |edit: fn(&mut SwiftConfig)| {
            let mut c = good.clone();
            edit(&mut c);
            c.validate().expect_err("refused")
        };
        assert!(matches!(
            bad(|c| c.identity_url = "ks:5000".into()),
            SwiftConfigError::BadIdentityUrl { .. }
        ));
        assert!(matches!(
            bad(|c| c.container_name = "a/b".into()),
            SwiftConfigError::BadContainerName { .. }
        ));
        assert!(matches!(
            bad(|c| c.preferred_dcs = vec![]),
            SwiftConfigError::NoRegions
        ));
        assert!(matches!(
            bad(|c| c.timeout_ms = 0),
            SwiftConfigError::ZeroTimeout
        ));
    }
}
