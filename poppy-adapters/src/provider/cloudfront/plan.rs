//! What a Poppy service becomes on CloudFront: one distribution whose
//! aliases are the domains, with every origin, a cache behaviour per path
//! (legacy `ForwardedValues` + TTLs: moto has no cache policies) and a geo
//! restriction. What a distribution cannot express without AWS WAF or
//! CloudFront Functions (referrer, client IP and request-URL restrictions,
//! per-path geo restrictions, custom host headers, IP origins) is refused
//! naming the field as a JSON pointer.

use std::collections::BTreeSet;
use std::net::IpAddr;

use aws_sdk_cloudfront::types as cf;
use poppy_core::model::{
    Access, HostHeaderType, Protocol, Service, DEFAULT_CACHE_TTL, DEFAULT_REQUEST_URL,
};
use poppy_core::validate::geo;

use super::config::CloudFrontConfig;

/// One field of the service CloudFront cannot express, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PlannedOrigin {
    pub id: String,
    pub domain: String,
    pub http_port: i32,
    pub https_port: i32,
    pub ssl: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Behaviour {
    /// `None` for the default behaviour.
    pub path: Option<String>,
    pub origin_id: String,
    pub ttl: i64,
    /// Forward the viewer's `Host` header (host header type `domain`).
    pub forward_host: bool,
}

/// Everything the driver manages in a distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    pub aliases: Vec<String>,
    /// Whether any domain is https (needs the ACM certificate).
    pub https: bool,
    /// Whether every domain is https (http requests are redirected).
    pub https_only: bool,
    pub origins: Vec<PlannedOrigin>,
    pub default: Behaviour,
    /// Most specific first: CloudFront takes the first matching pattern.
    pub behaviours: Vec<Behaviour>,
    /// `(whitelist?, ISO codes)`.
    pub geo: Option<(Access, Vec<String>)>,
}

fn normalise(url: &str) -> String {
    if url.starts_with('/') {
        url.to_owned()
    } else {
        format!("/{url}")
    }
}

/// Whether glob `pattern` (`*` = anything) matches `text` taken literally.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Of `(pattern, value)` pairs, the value of the most specific pattern
/// covering `path`.
fn most_specific<T: Copy>(candidates: &[(String, T)], path: &str) -> Option<T> {
    candidates
        .iter()
        .filter(|(pattern, _)| glob(pattern, path))
        .max_by_key(|(pattern, _)| pattern.len())
        .map(|(_, v)| *v)
}

/// Builds the plan of `service`, or every field CloudFront cannot express.
pub(super) fn plan(config: &CloudFrontConfig, service: &Service) -> Result<Plan, Vec<Refusal>> {
    let spec = &service.spec;
    let mut refusals = Vec::new();

    let mut https = false;
    let mut https_only = !spec.domains.is_empty();
    for (i, domain) in spec.domains.iter().enumerate() {
        if domain.protocol == Protocol::Https {
            https = true;
            if config.acm_certificate_arn.is_none() {
                refusals.push(Refusal {
                    path: format!("/domains/{i}/certificate"),
                    reason: "CloudFront serves https on alternate domain names only with an ACM \
                             certificate covering them; the operator has not configured \
                             acm_certificate_arn"
                        .to_owned(),
                });
            }
        } else {
            https_only = false;
        }
    }

    let mut origins = Vec::new();
    // (origin pattern, origin index) for routing paths to origins.
    let mut routes: Vec<(String, usize)> = Vec::new();
    for (i, origin) in spec.origins.iter().enumerate() {
        if origin.origin.parse::<IpAddr>().is_ok() {
            refusals.push(Refusal {
                path: format!("/origins/{i}/origin"),
                reason: "CloudFront origins must be domain names, not IP addresses".to_owned(),
            });
        }
        if origin.hostheadertype == HostHeaderType::Custom {
            refusals.push(Refusal {
                path: format!("/origins/{i}/hostheadertype"),
                reason: "CloudFront cannot send a custom Host header to an origin (Host is not \
                         allowed as an origin custom header); use 'domain' or 'origin'"
                    .to_owned(),
            });
        }
        let port = i32::from(origin.port);
        origins.push(PlannedOrigin {
            id: format!("poppy-origin-{i}"),
            domain: origin.origin.clone(),
            http_port: if origin.ssl { 80 } else { port },
            https_port: if origin.ssl { port } else { 443 },
            ssl: origin.ssl,
        });
        for rule in &origin.rules {
            routes.push((normalise(&rule.request_url), i));
        }
    }
    let default_origin = routes
        .iter()
        .find(|(p, _)| p == DEFAULT_REQUEST_URL)
        .map_or(0, |(_, i)| *i);

    let mut ttls: Vec<(String, u32)> = Vec::new();
    for caching in &spec.caching {
        for rule in &caching.rules {
            ttls.push((normalise(&rule.request_url), caching.ttl));
        }
    }
    let default_ttl = ttls
        .iter()
        .find(|(p, _)| p == DEFAULT_REQUEST_URL)
        .map_or(DEFAULT_CACHE_TTL, |(_, t)| *t);

    let behaviour = |path: Option<String>| {
        let (origin, ttl) = match &path {
            None => (default_origin, default_ttl),
            Some(p) => (
                most_specific(&routes, p).unwrap_or(default_origin),
                most_specific(&ttls, p).unwrap_or(default_ttl),
            ),
        };
        Behaviour {
            path,
            origin_id: format!("poppy-origin-{origin}"),
            ttl: i64::from(ttl),
            forward_host: spec
                .origins
                .get(origin)
                .is_some_and(|o| o.hostheadertype == HostHeaderType::Domain),
        }
    };
    let paths: BTreeSet<String> = routes
        .iter()
        .map(|(p, _)| p.clone())
        .chain(ttls.iter().map(|(p, _)| p.clone()))
        .filter(|p| p != DEFAULT_REQUEST_URL)
        .collect();
    let mut paths: Vec<String> = paths.into_iter().collect();
    paths.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    let behaviours = paths.into_iter().map(|p| behaviour(Some(p))).collect();
    let default = behaviour(None);

    let geo = restrictions(service, &mut refusals);
    if !refusals.is_empty() {
        return Err(refusals);
    }
    Ok(Plan {
        aliases: spec.domains.iter().map(|d| d.domain.clone()).collect(),
        https,
        https_only,
        origins,
        default,
        behaviours,
        geo,
    })
}

fn restrictions(service: &Service, refusals: &mut Vec<Refusal>) -> Option<(Access, Vec<String>)> {
    let mut geo: Option<(Access, usize, BTreeSet<String>)> = None;
    for (i, restriction) in service.spec.restrictions.iter().enumerate() {
        for (j, rule) in restriction.rules.iter().enumerate() {
            let base = format!("/restrictions/{i}/rules/{j}");
            let refuse = |refusals: &mut Vec<Refusal>, field: &str, reason: &str| {
                refusals.push(Refusal {
                    path: format!("{base}/{field}"),
                    reason: reason.to_owned(),
                });
            };
            if rule.referrer.is_some() {
                refuse(
                    refusals,
                    "referrer",
                    "CloudFront cannot restrict referrers without AWS WAF",
                );
                continue;
            }
            if rule.client_ip.is_some() {
                refuse(
                    refusals,
                    "client_ip",
                    "CloudFront cannot restrict client IPs without AWS WAF",
                );
                continue;
            }
            for (field, value) in [
                ("http_host", &rule.http_host),
                ("http_method", &rule.http_method),
            ] {
                if value.is_some() {
                    refuse(refusals, field, "CloudFront cannot restrict on this field");
                }
            }
            let Some(name) = rule.geography.as_deref() else {
                refuse(
                    refusals,
                    "request_url",
                    "CloudFront cannot deny request URLs without AWS WAF or CloudFront Functions",
                );
                continue;
            };
            if normalise(&rule.request_url) != DEFAULT_REQUEST_URL {
                refuse(
                    refusals,
                    "request_url",
                    "CloudFront geo restrictions apply to the whole distribution: use /*",
                );
                continue;
            }
            let codes: Vec<&str> = if let Some(region) = geo::region(name) {
                region.countries.iter().filter_map(|c| c.code).collect()
            } else if let Some(code) = geo::country(name).and_then(|c| c.code) {
                vec![code]
            } else {
                refuse(
                    refusals,
                    "geography",
                    &format!("{name} has no ISO 3166 country code CloudFront could restrict"),
                );
                continue;
            };
            match &mut geo {
                None => {
                    geo = Some((
                        restriction.access,
                        i,
                        codes.iter().map(|c| (*c).to_owned()).collect(),
                    ))
                }
                Some((access, first, set)) if *access == restriction.access => {
                    let _ = first;
                    set.extend(codes.iter().map(|c| (*c).to_owned()));
                }
                Some((access, first, _)) => refusals.push(Refusal {
                    path: format!("/restrictions/{i}/access"),
                    reason: format!(
                        "CloudFront has one geo restriction per distribution; restriction \
                         {first} already makes it a {access}"
                    ),
                }),
            }
        }
    }
    geo.map(|(access, _, codes)| (access, codes.into_iter().collect()))
}

/// The refusals as one message, every field named.
pub(super) fn refusal_message(refusals: &[Refusal]) -> String {
    let parts: Vec<String> = refusals
        .iter()
        .map(|r| format!("{}: {}", r.path, r.reason))
        .collect();
    format!("CloudFront cannot express {}", parts.join("; "))
}

type Built<T> = Result<T, aws_sdk_cloudfront::error::BuildError>;

#[allow(deprecated)] // ForwardedValues and the TTLs: moto has no cache policies.
fn forwarded(forward_host: bool) -> Built<cf::ForwardedValues> {
    let cookies = cf::CookiePreference::builder()
        .forward(cf::ItemSelection::None)
        .build()?;
    let mut headers = cf::Headers::builder().quantity(i32::from(forward_host));
    if forward_host {
        headers = headers.items("Host");
    }
    cf::ForwardedValues::builder()
        .query_string(true)
        .cookies(cookies)
        .headers(headers.build()?)
        .build()
}

fn viewer_policy(plan: &Plan) -> cf::ViewerProtocolPolicy {
    if plan.https_only {
        cf::ViewerProtocolPolicy::RedirectToHttps
    } else {
        cf::ViewerProtocolPolicy::AllowAll
    }
}

#[allow(deprecated)] // ForwardedValues and the TTLs: moto has no cache policies.
fn default_behaviour(plan: &Plan) -> Built<cf::DefaultCacheBehavior> {
    let b = &plan.default;
    cf::DefaultCacheBehavior::builder()
        .target_origin_id(&b.origin_id)
        .viewer_protocol_policy(viewer_policy(plan))
        .forwarded_values(forwarded(b.forward_host)?)
        .min_ttl(0)
        .default_ttl(b.ttl)
        .max_ttl(b.ttl)
        .compress(true)
        .build()
}

#[allow(deprecated)] // ForwardedValues and the TTLs: moto has no cache policies.
fn path_behaviour(plan: &Plan, b: &Behaviour) -> Built<cf::CacheBehavior> {
    cf::CacheBehavior::builder()
        .path_pattern(
            b.path
                .clone()
                .unwrap_or_else(|| DEFAULT_REQUEST_URL.to_owned()),
        )
        .target_origin_id(&b.origin_id)
        .viewer_protocol_policy(viewer_policy(plan))
        .forwarded_values(forwarded(b.forward_host)?)
        .min_ttl(0)
        .default_ttl(b.ttl)
        .max_ttl(b.ttl)
        .compress(true)
        .build()
}

/// The distribution configuration of `plan`. `existing` (on update) gives
/// the caller reference and the settings the driver does not manage
/// (logging, WAF, price class unless configured…), which are kept.
pub(super) fn distribution_config(
    config: &CloudFrontConfig,
    plan: &Plan,
    caller_reference: &str,
    comment: &str,
    existing: Option<&cf::DistributionConfig>,
) -> Built<cf::DistributionConfig> {
    let mut origins = Vec::new();
    for o in &plan.origins {
        let custom = cf::CustomOriginConfig::builder()
            .http_port(o.http_port)
            .https_port(o.https_port)
            .origin_protocol_policy(if o.ssl {
                cf::OriginProtocolPolicy::HttpsOnly
            } else {
                cf::OriginProtocolPolicy::HttpOnly
            })
            .build()?;
        origins.push(
            cf::Origin::builder()
                .id(&o.id)
                .domain_name(&o.domain)
                .origin_path("")
                .custom_headers(cf::CustomHeaders::builder().quantity(0).build()?)
                .custom_origin_config(custom)
                .build()?,
        );
    }
    let behaviours: Vec<cf::CacheBehavior> = plan
        .behaviours
        .iter()
        .map(|b| path_behaviour(plan, b))
        .collect::<Built<_>>()?;
    let geo = match &plan.geo {
        None => cf::GeoRestriction::builder()
            .restriction_type(cf::GeoRestrictionType::None)
            .quantity(0)
            .build()?,
        Some((access, codes)) => cf::GeoRestriction::builder()
            .restriction_type(match access {
                Access::Whitelist => cf::GeoRestrictionType::Whitelist,
                Access::Blacklist => cf::GeoRestrictionType::Blacklist,
            })
            .quantity(i32::try_from(codes.len()).unwrap_or(i32::MAX))
            .set_items(Some(codes.clone()))
            .build()?,
    };
    let viewer_certificate = match (&config.acm_certificate_arn, plan.https) {
        (Some(arn), true) => cf::ViewerCertificate::builder()
            .acm_certificate_arn(arn)
            .ssl_support_method(cf::SslSupportMethod::SniOnly)
            .minimum_protocol_version(cf::MinimumProtocolVersion::TlSv122021)
            .build(),
        _ => cf::ViewerCertificate::builder()
            .cloud_front_default_certificate(true)
            .build(),
    };
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let mut built = cf::DistributionConfig::builder()
        .caller_reference(existing.map_or(caller_reference, |e| e.caller_reference.as_str()))
        .comment(comment)
        .enabled(true)
        .aliases(
            cf::Aliases::builder()
                .quantity(count(plan.aliases.len()))
                .set_items((!plan.aliases.is_empty()).then(|| plan.aliases.clone()))
                .build()?,
        )
        .origins(
            cf::Origins::builder()
                .quantity(count(origins.len()))
                .set_items(Some(origins))
                .build()?,
        )
        .default_cache_behavior(default_behaviour(plan)?)
        .cache_behaviors(
            cf::CacheBehaviors::builder()
                .quantity(count(behaviours.len()))
                .set_items((!behaviours.is_empty()).then_some(behaviours))
                .build()?,
        )
        .restrictions(cf::Restrictions::builder().geo_restriction(geo).build())
        .viewer_certificate(viewer_certificate)
        .set_price_class(config.price_class.as_deref().map(cf::PriceClass::from))
        .build()?;
    if let Some(existing) = existing {
        // Settings an operator may have made by hand stay as they were.
        built.default_root_object = existing.default_root_object.clone();
        built.origin_groups = existing.origin_groups.clone();
        built.custom_error_responses = existing.custom_error_responses.clone();
        built.logging = existing.logging.clone();
        built.web_acl_id = existing.web_acl_id.clone();
        built.http_version = existing.http_version.clone();
        built.is_ipv6_enabled = existing.is_ipv6_enabled;
        if config.price_class.is_none() {
            built.price_class = existing.price_class.clone();
        }
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use poppy_core::model::{
        CachingRule, Domain, Origin, ProjectId, Restriction, Rule, ServiceSpec,
    };

    fn spec() -> ServiceSpec {
        ServiceSpec {
            name: "s".to_owned(),
            domains: vec![Domain::http("www.example.com")],
            origins: vec![
                Origin {
                    origin: "origin.example.com".to_owned(),
                    port: 80,
                    ssl: false,
                    rules: vec![Rule::default_rule()],
                    hostheadertype: HostHeaderType::Domain,
                    hostheadervalue: None,
                },
                Origin {
                    origin: "images.example.com".to_owned(),
                    port: 443,
                    ssl: true,
                    rules: vec![Rule::new("i", "/images/*")],
                    hostheadertype: HostHeaderType::Origin,
                    hostheadervalue: None,
                },
            ],
            caching: vec![
                CachingRule {
                    name: "default".to_owned(),
                    ttl: 3600,
                    rules: vec![Rule::default_rule()],
                },
                CachingRule {
                    name: "thumbs".to_owned(),
                    ttl: 60,
                    rules: vec![Rule::new("t", "images/thumbs/*")],
                },
            ],
            restrictions: Vec::new(),
            flavor_id: "f".to_owned(),
            log_delivery: Default::default(),
        }
    }

    #[test]
    fn paths_go_to_the_most_specific_origin_and_ttl() {
        let service = Service::new(ProjectId::new("p"), spec(), 0);
        let plan = plan(&CloudFrontConfig::default(), &service).expect("plan");
        assert_eq!(plan.default.origin_id, "poppy-origin-0");
        assert!(plan.default.forward_host);
        let got: Vec<(Option<&str>, &str, i64)> = plan
            .behaviours
            .iter()
            .map(|b| (b.path.as_deref(), b.origin_id.as_str(), b.ttl))
            .collect();
        assert_eq!(
            got,
            [
                (Some("/images/thumbs/*"), "poppy-origin-1", 60),
                (Some("/images/*"), "poppy-origin-1", 3600),
            ]
        );
        assert_eq!(
            (plan.origins[1].http_port, plan.origins[1].https_port),
            (80, 443)
        );
    }

    #[test]
    fn what_needs_waf_is_refused_with_its_path() {
        let mut spec = spec();
        let mut referrer = Rule::new("r", "/*");
        referrer.referrer = Some("x.example.com".to_owned());
        let mut geo = Rule::new("g", "/private/*");
        geo.geography = Some("Japan".to_owned());
        spec.restrictions = vec![Restriction {
            name: "r".to_owned(),
            access: Access::Whitelist,
            rules: vec![referrer, geo],
        }];
        let service = Service::new(ProjectId::new("p"), spec, 0);
        let refusals = plan(&CloudFrontConfig::default(), &service).expect_err("refused");
        let paths: Vec<&str> = refusals.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/restrictions/0/rules/0/referrer",
                "/restrictions/0/rules/1/request_url"
            ]
        );
    }

    #[test]
    fn regions_become_country_codes_and_kinds_cannot_mix() {
        let mut spec = spec();
        let mut na = Rule::new("na", "/*");
        na.geography = Some("North America".to_owned());
        let mut jp = Rule::new("jp", "/*");
        jp.geography = Some("Japan".to_owned());
        spec.restrictions = vec![Restriction {
            name: "w".to_owned(),
            access: Access::Whitelist,
            rules: vec![na],
        }];
        let service = Service::new(ProjectId::new("p"), spec.clone(), 0);
        let plan_ok = plan(&CloudFrontConfig::default(), &service).expect("plan");
        let (access, codes) = plan_ok.geo.expect("geo");
        assert_eq!(access, Access::Whitelist);
        assert!(
            codes.contains(&"US".to_owned()) && codes.contains(&"CA".to_owned()),
            "{codes:?}"
        );

        spec.restrictions.push(Restriction {
            name: "b".to_owned(),
            access: Access::Blacklist,
            rules: vec![jp],
        });
        let service = Service::new(ProjectId::new("p"), spec, 0);
        let refusals = plan(&CloudFrontConfig::default(), &service).expect_err("mixed");
        assert_eq!(refusals[0].path, "/restrictions/1/access");
    }

    #[test]
    fn glob_matches_literally_except_stars() {
        assert!(glob("/images/*", "/images/thumbs/*"));
        assert!(glob("/*", "/anything"));
        assert!(!glob("/images/*", "/img/x"));
        assert!(glob("/a/*.css", "/a/b/c.css"));
    }
}
