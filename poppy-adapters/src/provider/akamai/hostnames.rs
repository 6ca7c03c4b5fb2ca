//! Which edge hostname each domain of a service points at (§6.3), as a pure
//! function of the domains and the configuration.

use poppy_core::model::{CertificateType, Domain, Protocol};
use poppy_core::ports::PortError;
use serde_json::{json, Value};

/// The edge-hostname settings of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostnameOptions {
    /// One edge hostname for every http domain, when set.
    pub http_edge_hostname: Option<String>,
    /// http domains get `<domain>.<http_suffix>` otherwise.
    pub http_suffix: String,
    pub https_suffix: String,
    pub san_edge_hostname: Option<String>,
    pub sni_edge_hostname: Option<String>,
}

/// One domain's place in the property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostnamePlan {
    /// Where the domain is in the service, for error messages
    /// (`/domains/2`).
    pub field: String,
    /// The tenant's domain (PAPI's `cnameFrom`).
    pub domain: String,
    /// What it points at (`cnameTo`), also the access link.
    pub edge_hostname: String,
    pub certificate: Option<CertificateType>,
    /// Whether the driver may make the edge hostname when it is missing:
    /// only per-domain http ones (secure ones need a certificate, a shared
    /// one is the operator's).
    pub may_create: bool,
}

impl HostnamePlan {
    /// `(prefix, suffix)` to make the edge hostname with.
    pub fn split(&self, suffix: &str) -> Option<(String, String)> {
        self.edge_hostname
            .strip_suffix(suffix)
            .and_then(|prefix| prefix.strip_suffix('.'))
            .map(|prefix| (prefix.to_owned(), suffix.to_owned()))
    }
}

/// The edge hostname of every domain, or `Invalid` naming the first domain
/// the configuration has no edge hostname for.
pub fn plan(domains: &[Domain], options: &HostnameOptions) -> Result<Vec<HostnamePlan>, PortError> {
    domains
        .iter()
        .enumerate()
        .map(|(i, d)| plan_one(i, d, options))
        .collect()
}

fn plan_one(
    index: usize,
    domain: &Domain,
    options: &HostnameOptions,
) -> Result<HostnamePlan, PortError> {
    let field = format!("/domains/{index}");
    let name = &domain.domain;
    let https = &options.https_suffix;
    let (edge_hostname, may_create) = match (domain.protocol, domain.certificate) {
        (Protocol::Http, _) => match &options.http_edge_hostname {
            Some(shared) => (shared.clone(), false),
            None => (format!("{name}.{}", options.http_suffix), true),
        },
        (Protocol::Https, Some(CertificateType::Shared)) => match name.split_once('.') {
            Some((_, parent)) => (format!("{parent}.{https}"), false),
            None => {
                return Err(PortError::Invalid(format!(
                    "{field}/domain: a shared-certificate domain must have a parent domain, got '{name}'"
                )))
            }
        },
        (Protocol::Https, Some(CertificateType::Custom)) => (format!("{name}.{https}"), false),
        (Protocol::Https, Some(CertificateType::San)) => match &options.san_edge_hostname {
            Some(cname) => (secure_edge_hostname(cname, https), false),
            None => {
                return Err(PortError::Invalid(format!(
                    "{field}/certificate: the akamai provider has no SAN certificate for '{name}': \
                     configure san_edge_hostname or certificates.san_certs"
                )))
            }
        },
        (Protocol::Https, Some(CertificateType::Sni)) => match &options.sni_edge_hostname {
            Some(cname) => (secure_edge_hostname(cname, https), false),
            None => {
                return Err(PortError::Invalid(format!(
                    "{field}/certificate: the akamai provider has no SNI certificate for '{name}': \
                     configure sni_edge_hostname or certificates.sni_certs"
                )))
            }
        },
        (Protocol::Https, None) => {
            return Err(PortError::Invalid(format!(
                "{field}/certificate: an https domain needs a certificate type, '{name}' has none"
            )))
        }
    };
    Ok(HostnamePlan {
        field,
        domain: name.clone(),
        edge_hostname,
        certificate: domain.certificate,
        may_create,
    })
}

/// The edge hostname of a certificate named `cname`: SAN and SNI
/// certificates are served from `<cname>.<https suffix>` (`.edgekey.net`);
/// a name that already ends with the suffix is taken as it is.
pub fn secure_edge_hostname(cname: &str, https_suffix: &str) -> String {
    let has_suffix = cname
        .strip_suffix(https_suffix)
        .is_some_and(|rest| rest.ends_with('.'));
    if has_suffix {
        cname.to_owned()
    } else {
        format!("{cname}.{https_suffix}")
    }
}

/// The body of PAPI's `PUT …/versions/{v}/hostnames`.
pub fn hostnames_body(plans: &[HostnamePlan]) -> Value {
    Value::Array(
        plans
            .iter()
            .map(|p| {
                json!({
                    "cnameType": "EDGE_HOSTNAME",
                    "cnameFrom": p.domain,
                    "cnameTo": p.edge_hostname,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> HostnameOptions {
        HostnameOptions {
            http_edge_hostname: None,
            http_suffix: "edgesuite.net".to_owned(),
            https_suffix: "edgekey.net".to_owned(),
            san_edge_hostname: Some("san1.example.com".to_owned()),
            sni_edge_hostname: Some("sni1.example.com.edgekey.net".to_owned()),
        }
    }

    fn https(domain: &str, certificate: CertificateType) -> Domain {
        Domain {
            domain: domain.to_owned(),
            protocol: Protocol::Https,
            certificate: Some(certificate),
        }
    }

    #[test]
    fn every_kind_of_domain_gets_its_edge_hostname() {
        let domains = [
            Domain::http("www.example.com"),
            https("secure.scdn3.secure.poppycdn.net", CertificateType::Shared),
            https("shop.example.com", CertificateType::San),
            https("sni.example.com", CertificateType::Sni),
            https("own.example.com", CertificateType::Custom),
        ];
        let plans = plan(&domains, &options()).expect("plans");
        let edges: Vec<(&str, bool)> = plans
            .iter()
            .map(|p| (p.edge_hostname.as_str(), p.may_create))
            .collect();
        assert_eq!(
            edges,
            [
                ("www.example.com.edgesuite.net", true),
                ("scdn3.secure.poppycdn.net.edgekey.net", false),
                ("san1.example.com.edgekey.net", false),
                ("sni1.example.com.edgekey.net", false),
                ("own.example.com.edgekey.net", false),
            ]
        );
        assert_eq!(
            plans[0].split("edgesuite.net"),
            Some(("www.example.com".to_owned(), "edgesuite.net".to_owned()))
        );
        assert_eq!(
            hostnames_body(&plans[..1]),
            json!([{"cnameType": "EDGE_HOSTNAME", "cnameFrom": "www.example.com",
                    "cnameTo": "www.example.com.edgesuite.net"}])
        );
    }

    #[test]
    fn a_shared_http_edge_hostname_is_used_as_is() {
        let mut options = options();
        options.http_edge_hostname = Some("poppy.edgesuite.net".to_owned());
        let plans = plan(&[Domain::http("a.example.com")], &options).expect("plans");
        assert_eq!(plans[0].edge_hostname, "poppy.edgesuite.net");
        assert!(!plans[0].may_create);
    }

    #[test]
    fn certificates_the_configuration_lacks_are_refused_naming_the_domain() {
        let mut options = options();
        options.san_edge_hostname = None;
        let domains = [
            Domain::http("a.example.com"),
            https("shop.example.com", CertificateType::San),
        ];
        let err = plan(&domains, &options).unwrap_err();
        let PortError::Invalid(message) = err else {
            panic!("expected Invalid, got {err:?}");
        };
        assert!(message.starts_with("/domains/1/certificate:"), "{message}");
        assert!(message.contains("san_edge_hostname"), "{message}");
        assert!(message.contains("certificates.san_certs"), "{message}");
    }

    #[test]
    fn certificate_names_get_the_secure_suffix_once() {
        assert_eq!(
            secure_edge_hostname("san1.example.com", "edgekey.net"),
            "san1.example.com.edgekey.net"
        );
        assert_eq!(
            secure_edge_hostname("san1.example.com.edgekey.net", "edgekey.net"),
            "san1.example.com.edgekey.net"
        );
        assert_eq!(
            secure_edge_hostname("notedgekey.net", "edgekey.net"),
            "notedgekey.net.edgekey.net"
        );
    }
}
