//! Fast Purge (CCU v3): `POST /ccu/v3/{invalidate|delete}/{url|cpcode}/{network}`.
//!
//! A soft purge *invalidates* (the edge revalidates with the origin on the
//! next request), a hard purge *deletes* (the edge fetches anew).

use poppy_core::model::{Domain, Protocol};
use poppy_core::ports::PortError;
use reqwest::Method;
use serde_json::{json, Value};

use super::client::{Api, Body};
use super::config::Network;

/// `invalidate` for a soft purge, `delete` for a hard one.
pub(super) fn action(hard: bool) -> &'static str {
    if hard {
        "delete"
    } else {
        "invalidate"
    }
}

/// The absolute URLs to purge for `url` on each domain of a service:
/// `<scheme>://<domain><path>`, the scheme following the domain's protocol.
/// An absolute URL is purged as given. Fast Purge removes exact URLs, so a
/// wildcard is refused.
pub(super) fn urls(domains: &[Domain], url: &str) -> Result<Vec<String>, PortError> {
    let url = url.trim();
    if url.contains('*') {
        return Err(PortError::Invalid(format!(
            "purge url '{url}': Akamai Fast Purge removes exact URLs, not wildcards; purge everything instead"
        )));
    }
    if url.is_empty() || url.contains(char::is_whitespace) {
        return Err(PortError::Invalid(format!(
            "purge url '{url}' must be a path like '/index.html'"
        )));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(vec![url.to_owned()]);
    }
    let path = if url.starts_with('/') {
        url.to_owned()
    } else {
        format!("/{url}")
    };
    Ok(domains
        .iter()
        .map(|d| {
            let scheme = match d.protocol {
                Protocol::Http => "http",
                Protocol::Https => "https",
            };
            format!("{scheme}://{}{path}", d.domain)
        })
        .collect())
}

/// Purges `objects` (URLs or CP codes) of `kind` (`url`, `cpcode`).
pub(super) async fn purge(
    api: &Api,
    hard: bool,
    kind: &str,
    network: Network,
    objects: Value,
) -> Result<(), PortError> {
    let path = format!("/ccu/v3/{}/{kind}/{}", action(hard), network.ccu());
    let body = json!({ "objects": objects });
    let answer = api
        .call(
            Method::POST,
            &path,
            &[],
            Some(Body {
                content_type: "application/json",
                json: &body,
            }),
        )
        .await?;
    answer.json::<Value>().map(|_| ())
}

#[cfg(test)]
mod tests {
    use poppy_core::model::CertificateType;

    use super::*;

    #[test]
    fn paths_become_one_url_per_domain() {
        let domains = [
            Domain::http("www.example.com"),
            Domain {
                domain: "secure.example.com".to_owned(),
                protocol: Protocol::Https,
                certificate: Some(CertificateType::Custom),
            },
        ];
        assert_eq!(
            urls(&domains, "img/a.png").expect("urls"),
            [
                "http://www.example.com/img/a.png",
                "https://secure.example.com/img/a.png"
            ]
        );
        assert_eq!(
            urls(&domains, "https://secure.example.com/x").expect("urls"),
            ["https://secure.example.com/x"]
        );
        assert!(matches!(
            urls(&domains, "/images/*"),
            Err(PortError::Invalid(_))
        ));
        assert_eq!(action(true), "delete");
        assert_eq!(action(false), "invalidate");
    }
}
