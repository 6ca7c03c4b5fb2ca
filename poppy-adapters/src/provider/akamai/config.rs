//! Configuration of the Akamai driver (`[[providers]] name = "akamai"`).

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use super::edgegrid::Credentials;

/// Environment variables the credentials (and the API host) are read from
/// when the configuration does not set them.
pub const HOST_ENV: &str = "POPPY_AKAMAI_HOST";
pub const CLIENT_TOKEN_ENV: &str = "POPPY_AKAMAI_CLIENT_TOKEN";
pub const CLIENT_SECRET_ENV: &str = "POPPY_AKAMAI_CLIENT_SECRET";
pub const ACCESS_TOKEN_ENV: &str = "POPPY_AKAMAI_ACCESS_TOKEN";

/// A credential: deserialised from a string, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The Akamai network properties are activated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    #[default]
    Staging,
    Production,
}

impl Network {
    /// The name PAPI uses (`STAGING`).
    pub fn papi(&self) -> &'static str {
        match self {
            Network::Staging => "STAGING",
            Network::Production => "PRODUCTION",
        }
    }

    /// The name Fast Purge uses in its paths (`staging`).
    pub fn ccu(&self) -> &'static str {
        match self {
            Network::Staging => "staging",
            Network::Production => "production",
        }
    }
}

/// How `delete` waits for a deactivation before it can delete a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollConfig {
    /// Pause between two looks at a pending (de)activation.
    pub interval_ms: u64,
    /// Looks per `delete` call; when the deactivation is still pending
    /// after them, `delete` answers `Unavailable` with `retry_after` =
    /// `interval_ms` and the flow calls it again later.
    pub attempts: u32,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            interval_ms: 10_000,
            attempts: 6,
        }
    }
}

/// Settings of [`super::AkamaiProvider`]. `contract_id`, `group_id`,
/// `product_id` and `activation_emails` are required; the host and the three
/// credentials come from the configuration or, when absent, from
/// `POPPY_AKAMAI_HOST`, `POPPY_AKAMAI_CLIENT_TOKEN`,
/// `POPPY_AKAMAI_CLIENT_SECRET` and `POPPY_AKAMAI_ACCESS_TOKEN`.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AkamaiConfig {
    /// API base URL of the API client (`https://akab-….luna.akamaiapis.net`);
    /// a bare host name means `https://`.
    pub host: Option<String>,
    pub client_token: Option<Secret>,
    pub client_secret: Option<Secret>,
    pub access_token: Option<Secret>,
    /// `ctr_…`: the contract properties and edge hostnames are made under.
    pub contract_id: String,
    /// `grp_…`: the group properties are made in.
    pub group_id: String,
    /// `prd_…`: the product of new properties and edge hostnames.
    pub product_id: String,
    /// A property new properties are cloned from (its rule tree is the base
    /// Poppy adds its rules to); without it a property starts from the
    /// product's default rule tree.
    pub template_property_id: Option<String>,
    /// The template's version to clone; the latest when absent.
    pub template_version: Option<u32>,
    /// Rule format of the rule trees Poppy writes (`latest` or a frozen
    /// `v2024-…`).
    pub rule_format: String,
    /// Where properties are activated and what Fast Purge purges.
    pub network: Network,
    /// Properties are named `<property_prefix><service id>`, which is how a
    /// retried create finds the property it made.
    pub property_prefix: String,
    /// One edge hostname every http domain points at (the original's
    /// `akamai_access_url_link`); it must exist. Without it each http domain
    /// gets `<domain>.<http_edge_hostname_suffix>`, made when missing.
    pub http_edge_hostname: Option<String>,
    pub http_edge_hostname_suffix: String,
    /// Suffix of https edge hostnames: shared → `<domain minus its first
    /// label>.<suffix>`, custom → `<domain>.<suffix>`. They carry
    /// certificates, so they must already exist.
    pub https_edge_hostname_suffix: String,
    /// Edge hostname of the SAN certificate `san` domains use
    /// (`<cname>.<https suffix>` unless it already ends with the suffix).
    /// Without it `san` domains are refused.
    pub san_edge_hostname: Option<String>,
    /// Edge hostname of the SNI certificate `sni` domains use. Without it
    /// `sni` domains are refused.
    pub sni_edge_hostname: Option<String>,
    /// CP code put in every property's default rule; with it, purge-all
    /// purges this CP code (so it should be one per tenant or service).
    /// Without it purge-all is not supported.
    pub cp_code: Option<u64>,
    /// Bound on one API request, connection included.
    pub timeout_ms: u64,
    /// Who PAPI notifies of activations (PAPI requires at least one).
    pub activation_emails: Vec<String>,
    pub poll: PollConfig,
    /// Certificate provisioning: the shared SAN certificates (SPS) and SNI
    /// enrollments (CPS) domains are added to.
    pub certificates: CertificatesConfig,
}

/// One shared SAN certificate, modified with SPS `modSan` requests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SanCertConfig {
    /// The certificate's CNAME host name (`secure1.san1.example.com`); its
    /// edge hostname is `<name>.<https_edge_hostname_suffix>`.
    pub name: String,
    /// The SPS request that last changed it; an operator's `spsId` setting
    /// replaces it.
    pub sps_id: Option<u64>,
    /// The SPS job of that request; an operator's `jobId` setting replaces
    /// it.
    pub job_id: Option<u64>,
    /// SPS form fields sent with every `modSan` request of this certificate.
    pub issuer: String,
    pub ip_version: String,
    pub slot_deployment_class: String,
    pub product: String,
    /// A disabled certificate gets no new domains; an operator's `enabled`
    /// setting replaces it.
    pub enabled: bool,
}

impl Default for SanCertConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            sps_id: None,
            job_id: None,
            issuer: "symantec".to_owned(),
            ip_version: "ipv4".to_owned(),
            slot_deployment_class: "esslType".to_owned(),
            product: "ion_premier".to_owned(),
            enabled: true,
        }
    }
}

/// One SNI certificate: a CPS enrollment whose SANs are the domains.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SniCertConfig {
    /// The certificate's name (its CNAME host name, `sni1.example.com`).
    pub name: String,
    /// The CPS enrollment; an operator's `enrollmentId` setting replaces it.
    pub enrollment_id: Option<u64>,
    pub enabled: bool,
}

impl Default for SniCertConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            enrollment_id: None,
            enabled: true,
        }
    }
}

/// `certificates = { … }` of the Akamai provider's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertificatesConfig {
    /// SAN certificates, tried in order.
    pub san_certs: Vec<SanCertConfig>,
    /// SNI certificates, tried in order.
    pub sni_certs: Vec<SniCertConfig>,
    /// Host names an SNI enrollment takes before the next one is used (an
    /// operator's `san_cert_hostname_limit` setting replaces it).
    pub hostname_limit: u64,
    /// The shared PAPI property (`prp_…`, in the provider's contract and
    /// group) the host names of issued certificates are attached to; the
    /// original's "san cert hostname property". Without it,
    /// `update_hostnames` refuses.
    pub hostname_property: Option<String>,
}

impl Default for CertificatesConfig {
    fn default() -> Self {
        Self {
            san_certs: Vec::new(),
            sni_certs: Vec::new(),
            hostname_limit: 80,
            hostname_property: None,
        }
    }
}

impl Default for AkamaiConfig {
    fn default() -> Self {
        Self {
            host: None,
            client_token: None,
            client_secret: None,
            access_token: None,
            contract_id: String::new(),
            group_id: String::new(),
            product_id: String::new(),
            template_property_id: None,
            template_version: None,
            rule_format: "latest".to_owned(),
            network: Network::Staging,
            property_prefix: "poppy-".to_owned(),
            http_edge_hostname: None,
            http_edge_hostname_suffix: "edgesuite.net".to_owned(),
            https_edge_hostname_suffix: "edgekey.net".to_owned(),
            san_edge_hostname: None,
            sni_edge_hostname: None,
            cp_code: None,
            timeout_ms: 30_000,
            activation_emails: Vec::new(),
            poll: PollConfig::default(),
            certificates: CertificatesConfig::default(),
        }
    }
}

impl fmt::Debug for AkamaiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets show only whether they are set.
        let set = |s: &Option<Secret>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("AkamaiConfig")
            .field("host", &self.host)
            .field("client_token", &set(&self.client_token))
            .field("client_secret", &set(&self.client_secret))
            .field("access_token", &set(&self.access_token))
            .field("contract_id", &self.contract_id)
            .field("group_id", &self.group_id)
            .field("product_id", &self.product_id)
            .field("template_property_id", &self.template_property_id)
            .field("template_version", &self.template_version)
            .field("rule_format", &self.rule_format)
            .field("network", &self.network)
            .field("property_prefix", &self.property_prefix)
            .field("http_edge_hostname", &self.http_edge_hostname)
            .field("http_edge_hostname_suffix", &self.http_edge_hostname_suffix)
            .field(
                "https_edge_hostname_suffix",
                &self.https_edge_hostname_suffix,
            )
            .field("san_edge_hostname", &self.san_edge_hostname)
            .field("sni_edge_hostname", &self.sni_edge_hostname)
            .field("cp_code", &self.cp_code)
            .field("timeout_ms", &self.timeout_ms)
            .field("activation_emails", &self.activation_emails)
            .field("poll", &self.poll)
            .field("certificates", &self.certificates)
            .finish()
    }
}

/// The checked configuration the provider runs with.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub base: Url,
    pub credentials: Credentials,
    pub contract_id: String,
    pub group_id: String,
    pub product_id: String,
    pub template: Option<(String, Option<u32>)>,
    pub rule_format: String,
    pub network: Network,
    pub property_prefix: String,
    pub hostnames: super::hostnames::HostnameOptions,
    pub cp_code: Option<u64>,
    pub timeout: Duration,
    pub activation_emails: Vec<String>,
    pub poll_interval: Duration,
    pub poll_attempts: u32,
    pub certificates: CertificatesConfig,
}

impl AkamaiConfig {
    /// Checks the configuration and fills in what is absent from `env`
    /// (a lookup of environment variables).
    pub(super) fn resolve(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, AkamaiConfigError> {
        let from = |configured: Option<&str>, key: &'static str, var: &'static str| {
            let value = configured
                .map(str::to_owned)
                .or_else(|| env(var))
                .unwrap_or_default();
            if value.trim().is_empty() {
                Err(AkamaiConfigError::Missing {
                    key,
                    env: Some(var),
                })
            } else if !value.bytes().all(|b| b.is_ascii_graphic()) {
                Err(AkamaiConfigError::NotPrintable { key })
            } else {
                Ok(value)
            }
        };
        let host = from(self.host.as_deref(), "host", HOST_ENV)?;
        let client_token = from(
            self.client_token.as_ref().map(Secret::expose),
            "client_token",
            CLIENT_TOKEN_ENV,
        )?;
        let client_secret = from(
            self.client_secret.as_ref().map(Secret::expose),
            "client_secret",
            CLIENT_SECRET_ENV,
        )?;
        let access_token = from(
            self.access_token.as_ref().map(Secret::expose),
            "access_token",
            ACCESS_TOKEN_ENV,
        )?;
        let base = parse_host(&host)?;

        for (key, value) in [
            ("contract_id", &self.contract_id),
            ("group_id", &self.group_id),
            ("product_id", &self.product_id),
        ] {
            if value.is_empty() {
                return Err(AkamaiConfigError::Missing { key, env: None });
            }
            check_id(key, value)?;
        }
        if let Some(template) = &self.template_property_id {
            check_id("template_property_id", template)?;
        }
        if self.rule_format.is_empty()
            || !self
                .rule_format
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(AkamaiConfigError::BadValue {
                key: "rule_format",
                value: self.rule_format.clone(),
                expected: "'latest' or a rule format like 'v2024-02-12'",
            });
        }
        // PAPI property names: letters, digits, '.', '_' and '-', at most 85
        // characters, and the service id (36) comes after the prefix.
        if self.property_prefix.len() > 40
            || !self
                .property_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(AkamaiConfigError::BadValue {
                key: "property_prefix",
                value: self.property_prefix.clone(),
                expected: "at most 40 letters, digits, '.', '_' or '-'",
            });
        }
        for (key, value) in [
            (
                "http_edge_hostname_suffix",
                Some(&self.http_edge_hostname_suffix),
            ),
            (
                "https_edge_hostname_suffix",
                Some(&self.https_edge_hostname_suffix),
            ),
            ("http_edge_hostname", self.http_edge_hostname.as_ref()),
            ("san_edge_hostname", self.san_edge_hostname.as_ref()),
            ("sni_edge_hostname", self.sni_edge_hostname.as_ref()),
        ] {
            if let Some(value) = value {
                if !is_host_name(value) {
                    return Err(AkamaiConfigError::BadValue {
                        key,
                        value: value.clone(),
                        expected: "a host name like 'edgekey.net'",
                    });
                }
            }
        }
        if self.timeout_ms == 0 {
            return Err(AkamaiConfigError::BadValue {
                key: "timeout_ms",
                value: "0".to_owned(),
                expected: "at least 1",
            });
        }
        if self.activation_emails.is_empty() {
            return Err(AkamaiConfigError::Missing {
                key: "activation_emails",
                env: None,
            });
        }
        for email in &self.activation_emails {
            let valid = email
                .split_once('@')
                .is_some_and(|(user, domain)| !user.is_empty() && is_host_name(domain))
                && !email.contains(char::is_whitespace);
            if !valid {
                return Err(AkamaiConfigError::BadValue {
                    key: "activation_emails",
                    value: email.clone(),
                    expected: "e-mail addresses",
                });
            }
        }
        self.check_certificates()?;
        if self.poll.attempts == 0 {
            return Err(AkamaiConfigError::BadValue {
                key: "poll.attempts",
                value: "0".to_owned(),
                expected: "at least 1",
            });
        }
        Ok(Settings {
            base,
            credentials: Credentials::new(client_token, client_secret, access_token),
            contract_id: self.contract_id.clone(),
            group_id: self.group_id.clone(),
            product_id: self.product_id.clone(),
            template: self
                .template_property_id
                .clone()
                .map(|id| (id, self.template_version)),
            rule_format: self.rule_format.clone(),
            network: self.network,
            property_prefix: self.property_prefix.clone(),
            hostnames: super::hostnames::HostnameOptions {
                http_edge_hostname: self.http_edge_hostname.clone(),
                http_suffix: self.http_edge_hostname_suffix.clone(),
                https_suffix: self.https_edge_hostname_suffix.clone(),
                // Without an explicit one, domains go on the first
                // certificate Poppy provisions them on.
                san_edge_hostname: self
                    .san_edge_hostname
                    .clone()
                    .or_else(|| self.certificates.san_certs.first().map(|c| c.name.clone())),
                sni_edge_hostname: self
                    .sni_edge_hostname
                    .clone()
                    .or_else(|| self.certificates.sni_certs.first().map(|c| c.name.clone())),
            },
            cp_code: self.cp_code,
            timeout: Duration::from_millis(self.timeout_ms),
            activation_emails: self.activation_emails.clone(),
            poll_interval: Duration::from_millis(self.poll.interval_ms),
            poll_attempts: self.poll.attempts,
            certificates: self.certificates.clone(),
        })
    }

    fn check_certificates(&self) -> Result<(), AkamaiConfigError> {
        let certs = &self.certificates;
        let mut seen = std::collections::BTreeSet::new();
        let names = certs
            .san_certs
            .iter()
            .map(|c| ("certificates.san_certs.name", &c.name))
            .chain(
                certs
                    .sni_certs
                    .iter()
                    .map(|c| ("certificates.sni_certs.name", &c.name)),
            );
        for (key, name) in names {
            if !is_host_name(name) {
                return Err(AkamaiConfigError::BadValue {
                    key,
                    value: name.clone(),
                    expected: "a certificate host name like 'secure1.san1.example.com'",
                });
            }
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(AkamaiConfigError::BadValue {
                    key,
                    value: name.clone(),
                    expected: "a name no other certificate has",
                });
            }
        }
        for cert in &certs.san_certs {
            for (key, value) in [
                ("certificates.san_certs.issuer", &cert.issuer),
                ("certificates.san_certs.ip_version", &cert.ip_version),
                (
                    "certificates.san_certs.slot_deployment_class",
                    &cert.slot_deployment_class,
                ),
                ("certificates.san_certs.product", &cert.product),
            ] {
                let token = !value.is_empty()
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                if !token {
                    return Err(AkamaiConfigError::BadValue {
                        key,
                        value: value.clone(),
                        expected: "a non-empty SPS value of letters, digits, '.', '_' or '-'",
                    });
                }
            }
        }
        if let Some(id) = &certs.hostname_property {
            let ok = id.strip_prefix("prp_").is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            });
            if !ok {
                return Err(AkamaiConfigError::BadValue {
                    key: "certificates.hostname_property",
                    value: id.clone(),
                    expected: "a PAPI property id like 'prp_173136'",
                });
            }
        }
        if !(1..=200).contains(&certs.hostname_limit) {
            return Err(AkamaiConfigError::BadValue {
                key: "certificates.hostname_limit",
                value: certs.hostname_limit.to_string(),
                expected: "between 1 and 200",
            });
        }
        Ok(())
    }
}

fn parse_host(host: &str) -> Result<Url, AkamaiConfigError> {
    let with_scheme = if host.contains("://") {
        host.to_owned()
    } else {
        format!("https://{host}")
    };
    let bad = |reason: &str| AkamaiConfigError::BadHost {
        value: host.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("must be an http(s) URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err(bad(
            "must be only a scheme and a host, without path or query",
        ));
    }
    Ok(url)
}

fn check_id(key: &'static str, value: &str) -> Result<(), AkamaiConfigError> {
    if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Ok(())
    } else {
        Err(AkamaiConfigError::BadValue {
            key,
            value: value.to_owned(),
            expected: "an Akamai id like 'ctr_C-0N7RAC7', 'grp_12345' or 'prd_Fresca'",
        })
    }
}

pub(super) fn is_host_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// An Akamai configuration that cannot be used. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AkamaiConfigError {
    #[error("[providers] akamai: {key} is required{}", env.map(|v| format!("; set it or the environment variable {v}")).unwrap_or_default())]
    Missing {
        key: &'static str,
        env: Option<&'static str>,
    },
    #[error("[providers] akamai: {key} must be printable ASCII without spaces")]
    NotPrintable { key: &'static str },
    #[error("[providers] akamai: host {value:?} is not usable: {reason}")]
    BadHost { value: String, reason: String },
    #[error("[providers] akamai: {key} must be {expected}, got {value:?}")]
    BadValue {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("[providers] akamai: cannot build the HTTP client: {0}")]
    Client(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> AkamaiConfig {
        AkamaiConfig {
            host: Some("akab-host.luna.akamaiapis.net".to_owned()),
            client_token: Some(Secret::new("ct-value")),
            client_secret: Some(Secret::new("cs-value")),
            access_token: Some(Secret::new("at-value")),
            contract_id: "ctr_C-1".to_owned(),
            group_id: "grp_1".to_owned(),
            product_id: "prd_Fresca".to_owned(),
            activation_emails: vec!["noc@example.com".to_owned()],
            ..AkamaiConfig::default()
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_bare_host_means_https() {
        let settings = valid().resolve(&no_env).expect("valid");
        assert_eq!(
            settings.base.as_str(),
            "https://akab-host.luna.akamaiapis.net/"
        );
        assert_eq!(settings.network, Network::Staging);
    }

    #[test]
    fn credentials_come_from_the_environment_when_absent() {
        let mut config = valid();
        config.client_secret = None;
        config.host = None;
        let err = config.resolve(&no_env).unwrap_err();
        assert!(err.to_string().contains(HOST_ENV), "{err}");
        let env = |k: &str| match k {
            HOST_ENV => Some("http://127.0.0.1:9".to_owned()),
            CLIENT_SECRET_ENV => Some("from-env".to_owned()),
            _ => None,
        };
        let settings = config.resolve(&env).expect("env fills in");
        assert_eq!(settings.base.as_str(), "http://127.0.0.1:9/");
        assert_eq!(
            settings.credentials,
            Credentials::new("ct-value", "from-env", "at-value")
        );
        config.client_secret = None;
        let err = config
            .resolve(&|k: &str| (k == HOST_ENV).then(|| "h.example.com".to_owned()))
            .unwrap_err();
        assert_eq!(
            err,
            AkamaiConfigError::Missing {
                key: "client_secret",
                env: Some(CLIENT_SECRET_ENV)
            }
        );
    }

    #[test]
    fn required_and_malformed_values_are_named() {
        let mut config = valid();
        config.activation_emails.clear();
        assert!(config
            .resolve(&no_env)
            .unwrap_err()
            .to_string()
            .contains("activation_emails"));
        let mut config = valid();
        config.group_id = String::new();
        assert!(config
            .resolve(&no_env)
            .unwrap_err()
            .to_string()
            .contains("group_id"));
        let mut config = valid();
        config.host = Some("https://h.example.com/papi".to_owned());
        assert!(matches!(
            config.resolve(&no_env),
            Err(AkamaiConfigError::BadHost { .. })
        ));
        let mut config = valid();
        config.https_edge_hostname_suffix = ".edgekey.net".to_owned();
        assert!(config
            .resolve(&no_env)
            .unwrap_err()
            .to_string()
            .contains("https_edge_hostname_suffix"));
        let mut config = valid();
        config.timeout_ms = 0;
        assert!(config
            .resolve(&no_env)
            .unwrap_err()
            .to_string()
            .contains("timeout_ms"));
    }

    #[test]
    fn toml_keys_parse_and_unknown_ones_are_refused() {
        let config: AkamaiConfig = toml::from_str(
            r#"
            host = "https://akab.luna.akamaiapis.net"
            client_secret = "s3cr3t-value"
            contract_id = "ctr_1"
            group_id = "grp_2"
            product_id = "prd_3"
            network = "production"
            cp_code = 12345
            activation_emails = ["a@example.com"]
            poll = { interval_ms = 5, attempts = 2 }
            "#,
        )
        .expect("parses");
        assert_eq!(config.network, Network::Production);
        assert_eq!(
            config.poll,
            PollConfig {
                interval_ms: 5,
                attempts: 2
            }
        );
        assert_eq!(config.cp_code, Some(12345));
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(toml::from_str::<AkamaiConfig>("policy_api_base_url = 'x'").is_err());
    }
}
