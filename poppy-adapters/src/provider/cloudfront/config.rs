//! Configuration of the CloudFront driver (`[[providers]] name = "cloudfront"`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Settings of [`super::CloudFrontProvider`]. Every key is optional: without
/// `access_key_id`/`secret_access_key` the AWS default credential chain is
/// used (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, instance
/// roles…).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudFrontConfig {
    /// Static AWS access key id (with `secret_access_key`).
    pub access_key_id: Option<String>,
    /// Static AWS secret access key. Never logged.
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials. Never logged.
    pub session_token: Option<String>,
    /// Region used for signing (CloudFront is global; `us-east-1`).
    pub region: String,
    /// Another endpoint than AWS's (moto in tests).
    pub endpoint: Option<String>,
    /// Bound on one API call, connection included.
    pub timeout_secs: u64,
    /// Bound on establishing a connection.
    pub connect_timeout_secs: u64,
    /// ACM certificate (in us-east-1) covering the https domains; without
    /// it https domains are refused (CloudFront serves alternate domain
    /// names over https only with such a certificate).
    pub acm_certificate_arn: Option<String>,
    /// `PriceClass_All`, `PriceClass_200` or `PriceClass_100`; unset keeps
    /// CloudFront's default (all edge locations).
    pub price_class: Option<String>,
    /// While a disabled distribution is still deploying, `delete` asks to
    /// be retried after this many seconds.
    pub disable_poll_secs: u64,
    /// Distributions are commented `<comment_prefix><poppy service id>`,
    /// which is how a retried create finds the distribution it made.
    pub comment_prefix: String,
}

impl Default for CloudFrontConfig {
    fn default() -> Self {
        Self {
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            region: "us-east-1".to_owned(),
            endpoint: None,
            timeout_secs: 30,
            connect_timeout_secs: 10,
            acm_certificate_arn: None,
            price_class: None,
            disable_poll_secs: 60,
            comment_prefix: "poppy:".to_owned(),
        }
    }
}

impl fmt::Debug for CloudFrontConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("CloudFrontConfig")
            .field("access_key_id", &set(&self.access_key_id))
            .field("secret_access_key", &set(&self.secret_access_key))
            .field("session_token", &set(&self.session_token))
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("timeout_secs", &self.timeout_secs)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("acm_certificate_arn", &self.acm_certificate_arn)
            .field("price_class", &self.price_class)
            .field("disable_poll_secs", &self.disable_poll_secs)
            .field("comment_prefix", &self.comment_prefix)
            .finish()
    }
}

/// Price classes CloudFront accepts.
const PRICE_CLASSES: &[&str] = &["PriceClass_All", "PriceClass_200", "PriceClass_100"];

impl CloudFrontConfig {
    /// Checks what serde cannot.
    pub(super) fn validate(&self) -> Result<(), CloudFrontConfigError> {
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err(CloudFrontConfigError::HalfCredentials);
        }
        if self.session_token.is_some() && self.access_key_id.is_none() {
            return Err(CloudFrontConfigError::HalfCredentials);
        }
        if self.region.trim().is_empty() {
            return Err(CloudFrontConfigError::EmptyRegion);
        }
        if let Some(endpoint) = &self.endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(CloudFrontConfigError::BadEndpoint {
                    value: endpoint.clone(),
                });
            }
        }
        if self.timeout_secs == 0 || self.connect_timeout_secs == 0 {
            return Err(CloudFrontConfigError::ZeroTimeout);
        }
        if let Some(class) = &self.price_class {
            if !PRICE_CLASSES.contains(&class.as_str()) {
                return Err(CloudFrontConfigError::BadPriceClass {
                    value: class.clone(),
                });
            }
        }
        if let Some(arn) = &self.acm_certificate_arn {
            if !arn.starts_with("arn:") {
                return Err(CloudFrontConfigError::BadCertificate { value: arn.clone() });
            }
        }
        // CloudFront comments hold at most 128 characters; the id takes 36.
        if self.comment_prefix.len() > 64 {
            return Err(CloudFrontConfigError::LongPrefix);
        }
        Ok(())
    }

    pub(super) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub(super) fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }

    pub(super) fn disable_poll(&self) -> Duration {
        Duration::from_secs(self.disable_poll_secs.max(1))
    }
}

/// A CloudFront configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloudFrontConfigError {
    #[error("[providers] cloudfront: access_key_id and secret_access_key go together (session_token needs both); set both or neither to use the AWS default credentials")]
    HalfCredentials,
    #[error("[providers] cloudfront: region must not be empty")]
    EmptyRegion,
    #[error("[providers] cloudfront: endpoint must be an http(s) URL, got {value:?}")]
    BadEndpoint { value: String },
    #[error("[providers] cloudfront: timeout_secs and connect_timeout_secs must be at least 1")]
    ZeroTimeout,
    #[error("[providers] cloudfront: price_class must be one of PriceClass_All, PriceClass_200, PriceClass_100; got {value:?}")]
    BadPriceClass { value: String },
    #[error("[providers] cloudfront: acm_certificate_arn must be an ARN (arn:aws:acm:us-east-1:…), got {value:?}")]
    BadCertificate { value: String },
    #[error("[providers] cloudfront: comment_prefix must be at most 64 characters")]
    LongPrefix,
}
