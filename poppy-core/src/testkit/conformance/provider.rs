//! Conformance of a [`CdnProvider`] to its "# Contract".
//!
//! Every check makes its own service with fresh domains and deletes the
//! configurations it made. A driver author runs [`run_all`] against the
//! driver (pointed at a fake or a sandbox account) and, when the fake can
//! be told to fail, [`run_all_with_faults`]; each failing check panics with
//! a message saying what the driver did wrong and what the contract wants.
//!
//! What the suite covers:
//! - lifecycle: create → status → update → purge → delete → status is
//!   `NotFound` → delete again succeeds;
//! - `create` is idempotent by the service's id, and links every domain;
//! - `update` of each part of the model: domains (http and https), origins,
//!   caching rules, each kind of restriction; pushing one definition twice;
//! - purges of the kinds [`capabilities`](CdnProvider::capabilities) claim;
//! - error kinds, with [`FaultHooks`]: throttling → `RateLimited`, server
//!   errors and timeouts → `Unavailable` (with the backend's `Retry-After`),
//!   validation errors → `Invalid` carrying the backend's message.
//!
//! A driver may refuse a part of the model it cannot express, but only with
//! `PortError::Invalid` whose message names the field as a JSON pointer
//! (`/restrictions/0/rules/0/referrer`): the suite accepts such a refusal
//! and rejects any other error, or an `Invalid` that does not say which
//! field, because that is what tells a tenant what to change.
//!
//! Retryable errors (`Unavailable`, `RateLimited`) are retried the way the
//! flows do, honouring `retry_after` (at most 30 s a pause), for up to two
//! minutes a call — `POPPY_CONFORMANCE_PATIENCE_SECS` sets another bound
//! (live CDNs take many minutes to deploy a disabled configuration) — so a
//! driver whose delete waits for a rollout over several calls conforms.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;

use super::{err, ok};
use crate::model::{
    Access, CachingRule, CertificateType, Domain, HostHeaderType, Origin, ProjectId, Protocol,
    ProviderDeployment, PurgeTarget, Restriction, Rule, Service, ServiceSpec,
};
use crate::ports::{CdnProvider, PortError};
use crate::testkit::fixtures;

const PORT: &str = "CdnProvider";

/// How long a call answering retryable errors is retried before the check
/// fails, unless `POPPY_CONFORMANCE_PATIENCE_SECS` says otherwise (live
/// CDNs take minutes to roll out a disabled configuration).
const PATIENCE: Duration = Duration::from_secs(120);
/// Longest pause between two retries (a longer `retry_after` is cut short).
const MAX_PAUSE: Duration = Duration::from_secs(30);
/// Pause between two retries when the driver gives no `retry_after`.
const DEFAULT_PAUSE: Duration = Duration::from_millis(50);

fn patience() -> Duration {
    std::env::var("POPPY_CONFORMANCE_PATIENCE_SECS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(PATIENCE, Duration::from_secs)
}

/// Runs every check of the provider contract that needs no fault injection.
pub async fn run_all(provider: &dyn CdnProvider) {
    create_links_every_domain(provider).await;
    create_is_idempotent(provider).await;
    update_pushes_the_new_definition(provider).await;
    update_is_repeatable(provider).await;
    update_domains(provider).await;
    update_origins(provider).await;
    update_caching(provider).await;
    update_restrictions(provider).await;
    create_with_every_part(provider).await;
    purge_as_capabilities_say(provider).await;
    delete_is_idempotent_and_status_is_not_found_after(provider).await;
    lifecycle(provider).await;
}

/// [`run_all`], then [`error_kinds_are_mapped`] with `hooks`.
pub async fn run_all_with_faults(provider: &dyn CdnProvider, hooks: &dyn FaultHooks) {
    run_all(provider).await;
    error_kinds_are_mapped(provider, hooks).await;
}

fn name(provider: &dyn CdnProvider) -> String {
    format!("{PORT} {}", provider.name())
}

/// Calls `call` until it succeeds, fails with a non-retryable error, or the
/// retries run out (then the last error is returned).
async fn retrying<T, F, Fut>(mut call: F) -> Result<T, PortError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PortError>>,
{
    let deadline = tokio::time::Instant::now() + patience();
    loop {
        match call().await {
            Err(e) if e.is_retryable() && tokio::time::Instant::now() < deadline => {
                let pause = e.retry_after().unwrap_or(DEFAULT_PAUSE).min(MAX_PAUSE);
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}

async fn create(provider: &dyn CdnProvider, service: &Service, c: &str) -> ProviderDeployment {
    let deployment = ok(
        retrying(|| provider.create(service)).await,
        format!("{} ({c}): create of service {}", name(provider), service.id),
    );
    assert!(
        !deployment.provider_service_id.is_empty(),
        "{} ({c}): create must return the provider's id of the configuration",
        name(provider)
    );
    deployment
}

async fn delete(provider: &dyn CdnProvider, id: &str, service: &Service, c: &str) {
    ok(
        retrying(|| provider.delete(id, service)).await,
        format!("{} ({c}): delete of configuration {id}", name(provider)),
    );
}

#[track_caller]
fn assert_links(
    provider: &dyn CdnProvider,
    deployment: &ProviderDeployment,
    service: &Service,
    c: &str,
) {
    let domains: BTreeSet<&str> = service.domain_names().collect();
    let linked: BTreeSet<&str> = deployment.links.iter().map(|l| l.domain.as_str()).collect();
    assert_eq!(
        linked,
        domains,
        "{} ({c}): the deployment must have an access link for every domain of the service, \
         and only for those; links: {:?}",
        name(provider),
        deployment.links
    );
    for link in &deployment.links {
        assert!(
            !link.href.is_empty(),
            "{} ({c}): the access link of {} has an empty href",
            name(provider),
            link.domain
        );
    }
}

/// Accepts `Ok`, or an `Invalid` refusal whose message names a field under
/// `part` (a JSON pointer prefix such as `/restrictions/`); fails the check
/// on anything else. Returns the deployment when there is one.
#[track_caller]
fn deployed_or_refused(
    provider: &dyn CdnProvider,
    result: Result<ProviderDeployment, PortError>,
    part: &str,
    c: &str,
    what: &str,
) -> Option<ProviderDeployment> {
    match result {
        Ok(deployment) => Some(deployment),
        Err(PortError::Invalid(message)) => {
            assert!(
                message.contains(part),
                "{} ({c}): {what} was refused with Invalid, but the message does not name the \
                 field it could not express. A driver may refuse what its CDN cannot express, \
                 but must say which field, as a JSON pointer under {part:?} (for example \
                 \"{part}0/rules/0/referrer: <why>\"), so the tenant knows what to change. \
                 Message: {message:?}",
                name(provider)
            );
            eprintln!(
                "{} ({c}): {what} refused as documented: {message}",
                name(provider)
            );
            None
        }
        Err(other) => panic!(
            "{} ({c}): {what} failed with {other:?} ({other}). The driver must either deploy \
             this definition or refuse it with PortError::Invalid naming the field under \
             {part:?} it cannot express",
            name(provider)
        ),
    }
}

/// `create` returns the configuration's id and a link per domain; its
/// status can be read.
pub async fn create_links_every_domain(provider: &dyn CdnProvider) {
    const C: &str = "create_links_every_domain";
    let service = fixtures::service(&ProjectId::random());
    let deployment = create(provider, &service, C).await;
    assert_links(provider, &deployment, &service, C);
    ok(
        retrying(|| provider.status(&deployment.provider_service_id)).await,
        format!(
            "{} ({C}): status of a created configuration",
            name(provider)
        ),
    );
    delete(provider, &deployment.provider_service_id, &service, C).await;
}

/// `create` twice for one service returns the same configuration.
pub async fn create_is_idempotent(provider: &dyn CdnProvider) {
    const C: &str = "create_is_idempotent";
    let service = fixtures::service(&ProjectId::random());
    let first = create(provider, &service, C).await;
    let second = create(provider, &service, C).await;
    assert_eq!(
        second.provider_service_id,
        first.provider_service_id,
        "{} ({C}): create called again for the same service (a retried job) must find and \
         return the configuration it made, not make a second one",
        name(provider)
    );
    assert_links(provider, &second, &service, C);
    delete(provider, &first.provider_service_id, &service, C).await;
}

/// `update` pushes the whole new definition: the links follow the new
/// domains.
pub async fn update_pushes_the_new_definition(provider: &dyn CdnProvider) {
    const C: &str = "update_pushes_the_new_definition";
    let [kept, dropped, added] = [
        fixtures::unique_domain(),
        fixtures::unique_domain(),
        fixtures::unique_domain(),
    ];
    let service = fixtures::service_with_domains(&ProjectId::random(), &[&kept, &dropped]);
    let created = create(provider, &service, C).await;
    let mut changed = service.clone();
    changed.spec = fixtures::spec(&[&kept, &added]);
    changed.spec.caching[0].ttl = 600;
    changed.version += 1;
    let updated = ok(
        retrying(|| provider.update(&created.provider_service_id, &changed)).await,
        format!(
            "{} ({C}): update of configuration {}",
            name(provider),
            created.provider_service_id
        ),
    );
    assert!(
        !updated.provider_service_id.is_empty(),
        "{} ({C}): update must return the configuration's id",
        name(provider)
    );
    assert_links(provider, &updated, &changed, C);
    ok(
        retrying(|| provider.status(&updated.provider_service_id)).await,
        format!("{} ({C}): status after update", name(provider)),
    );
    delete(provider, &updated.provider_service_id, &changed, C).await;
}

/// Pushing the same definition twice (a retried update job) succeeds both
/// times and keeps the configuration's id.
pub async fn update_is_repeatable(provider: &dyn CdnProvider) {
    const C: &str = "update_is_repeatable";
    let service = fixtures::service(&ProjectId::random());
    let created = create(provider, &service, C).await;
    let id = &created.provider_service_id;
    for attempt in 1..=2 {
        let updated = ok(
            retrying(|| provider.update(id, &service)).await,
            format!(
                "{} ({C}): update #{attempt} with an unchanged definition",
                name(provider)
            ),
        );
        assert_eq!(
            &updated.provider_service_id,
            id,
            "{} ({C}): update #{attempt} must keep the configuration's id",
            name(provider)
        );
        assert_links(provider, &updated, &service, C);
    }
    delete(provider, id, &service, C).await;
}

/// Creates a fixture service, pushes `change`d definition as an update, and
/// accepts a deployment or a refusal naming a field under `part`.
async fn update_part(
    provider: &dyn CdnProvider,
    c: &str,
    part: &str,
    what: &str,
    change: impl FnOnce(&mut ServiceSpec),
) {
    let service = fixtures::service(&ProjectId::random());
    let created = create(provider, &service, c).await;
    let id = created.provider_service_id.clone();
    let mut changed = service.clone();
    change(&mut changed.spec);
    changed.version += 1;
    let result = retrying(|| provider.update(&id, &changed)).await;
    let label = format!("update with {what}");
    let kept = match deployed_or_refused(provider, result, part, c, &label) {
        Some(updated) => {
            assert_eq!(
                updated.provider_service_id,
                id,
                "{} ({c}): {label} must keep the configuration's id",
                name(provider)
            );
            assert_links(provider, &updated, &changed, c);
            ok(
                retrying(|| provider.status(&id)).await,
                format!("{} ({c}): status after {label}", name(provider)),
            );
            changed
        }
        // The refused definition never reached the provider.
        None => service,
    };
    delete(provider, &id, &kept, c).await;
}

/// Domains: http domains added and removed, then https domains of each
/// certificate type (a driver may refuse certificate types it cannot serve,
/// naming `/domains/<i>/certificate`).
pub async fn update_domains(provider: &dyn CdnProvider) {
    const C: &str = "update_domains";
    update_part(provider, C, "/domains/", "three new http domains", |spec| {
        spec.domains = fixtures::unique_domains(3)
            .into_iter()
            .map(Domain::http)
            .collect();
    })
    .await;
    for certificate in [
        CertificateType::Shared,
        CertificateType::San,
        CertificateType::Sni,
        CertificateType::Custom,
    ] {
        let what = format!("an https domain with certificate '{certificate}'");
        update_part(provider, C, "/domains/", &what, |spec| {
            spec.domains.push(Domain {
                domain: fixtures::unique_domain(),
                protocol: Protocol::Https,
                certificate: Some(certificate),
            });
        })
        .await;
    }
}

/// Origins: https port and a custom host header on the first, a second
/// origin for `/images/*` with the origin's host header.
pub async fn update_origins(provider: &dyn CdnProvider) {
    const C: &str = "update_origins";
    update_part(
        provider,
        C,
        "/origins/",
        "an https origin and a path origin",
        |spec| {
            spec.origins = vec![
                Origin {
                    origin: fixtures::ORIGIN.to_owned(),
                    port: 443,
                    ssl: true,
                    rules: vec![Rule::default_rule()],
                    hostheadertype: HostHeaderType::Origin,
                    hostheadervalue: None,
                },
                Origin {
                    origin: "images.example.org".to_owned(),
                    port: 80,
                    ssl: false,
                    rules: vec![Rule::new("images", "/images/*")],
                    hostheadertype: HostHeaderType::Domain,
                    hostheadervalue: None,
                },
            ];
        },
    )
    .await;
    update_part(provider, C, "/origins/", "a custom host header", |spec| {
        spec.origins[0].hostheadertype = HostHeaderType::Custom;
        spec.origins[0].hostheadervalue = Some("host.example.org".to_owned());
    })
    .await;
}

/// Caching: a new default TTL, a never-cache path and a rule with two paths.
pub async fn update_caching(provider: &dyn CdnProvider) {
    const C: &str = "update_caching";
    update_part(provider, C, "/caching/", "TTLs per path", |spec| {
        spec.caching = vec![
            CachingRule {
                name: "default".to_owned(),
                ttl: 600,
                rules: vec![Rule::default_rule()],
            },
            CachingRule {
                name: "never".to_owned(),
                ttl: 0,
                rules: vec![Rule::new("api", "/api/*")],
            },
            CachingRule {
                name: "static".to_owned(),
                ttl: 86_400,
                rules: vec![
                    Rule::new("static", "/static/*"),
                    Rule::new("assets", "/assets/*"),
                ],
            },
        ];
    })
    .await;
}

fn restriction(access: Access, rules: Vec<Rule>) -> Restriction {
    Restriction {
        name: format!("conformance {access}"),
        access,
        rules,
    }
}

fn rule_with(name: &str, url: &str, set: impl FnOnce(&mut Rule)) -> Rule {
    let mut rule = Rule::new(name, url);
    set(&mut rule);
    rule
}

/// Restrictions, one kind at a time so a driver that refuses one kind is
/// still checked on the others: referrer whitelist, client IP blacklist,
/// geography whitelist and blacklist, request-URL blacklist.
pub async fn update_restrictions(provider: &dyn CdnProvider) {
    const C: &str = "update_restrictions";
    let cases: Vec<(&str, Restriction)> = vec![
        (
            "a referrer whitelist",
            restriction(
                Access::Whitelist,
                vec![rule_with("partner", "/images/*", |r| {
                    r.referrer = Some("partner.example.com".to_owned())
                })],
            ),
        ),
        (
            "a client IP blacklist",
            restriction(
                Access::Blacklist,
                vec![
                    rule_with("one", "/*", |r| {
                        r.client_ip = Some("198.51.100.7".to_owned())
                    }),
                    rule_with("net", "/*", |r| {
                        r.client_ip = Some("192.0.2.0/24".to_owned())
                    }),
                ],
            ),
        ),
        (
            "a geography whitelist",
            restriction(
                Access::Whitelist,
                vec![
                    rule_with("na", "/*", |r| {
                        r.geography = Some("North America".to_owned())
                    }),
                    rule_with("uk", "/*", |r| {
                        r.geography = Some("United Kingdom".to_owned())
                    }),
                ],
            ),
        ),
        (
            "a geography blacklist",
            restriction(
                Access::Blacklist,
                vec![rule_with("jp", "/*", |r| {
                    r.geography = Some("Japan".to_owned())
                })],
            ),
        ),
        (
            "a request URL blacklist",
            restriction(Access::Blacklist, vec![Rule::new("private", "/private/*")]),
        ),
    ];
    for (what, restriction) in cases {
        update_part(provider, C, "/restrictions/", what, |spec| {
            spec.restrictions = vec![restriction];
        })
        .await;
    }
}

/// A definition using every part of the model at once is created, or
/// refused naming a field.
pub async fn create_with_every_part(provider: &dyn CdnProvider) {
    const C: &str = "create_with_every_part";
    let mut service = fixtures::rich_service(&ProjectId::random());
    service.provider_details.clear();
    service.status = crate::model::ServiceStatus::CreateInProgress;
    service.operator_status = crate::model::OperatorStatus::Enabled;
    let result = retrying(|| provider.create(&service)).await;
    let prefix = "/";
    if let Some(created) =
        deployed_or_refused(provider, result, prefix, C, "create of a rich service")
    {
        assert_links(provider, &created, &service, C);
        delete(provider, &created.provider_service_id, &service, C).await;
    }
}

/// Purges the provider says it supports succeed.
pub async fn purge_as_capabilities_say(provider: &dyn CdnProvider) {
    const C: &str = "purge_as_capabilities_say";
    let caps = provider.capabilities();
    let service = fixtures::service(&ProjectId::random());
    let created = create(provider, &service, C).await;
    let id = &created.provider_service_id;
    let url = PurgeTarget::Url("/index.html".to_owned());
    let mut purges = Vec::new();
    if caps.hard_purge {
        purges.push((url.clone(), true));
    }
    if caps.soft_purge {
        purges.push((url, false));
    }
    if caps.purge_all {
        purges.push((PurgeTarget::All, caps.hard_purge));
    }
    for (target, hard) in purges {
        ok(
            retrying(|| provider.purge(id, &service, &target, hard)).await,
            format!(
                "{} ({C}): purge {target:?} hard={hard}, which capabilities {caps:?} claim",
                name(provider)
            ),
        );
    }
    delete(provider, id, &service, C).await;
}

/// `delete` of a configuration that is already gone succeeds, and `status`
/// of a deleted configuration is `NotFound`.
pub async fn delete_is_idempotent_and_status_is_not_found_after(provider: &dyn CdnProvider) {
    const C: &str = "delete_is_idempotent_and_status_is_not_found_after";
    let service = fixtures::service(&ProjectId::random());
    let created = create(provider, &service, C).await;
    let id = &created.provider_service_id;
    delete(provider, id, &service, C).await;
    ok(
        retrying(|| provider.delete(id, &service)).await,
        format!(
            "{} ({C}): second delete of {id} (must succeed: already gone)",
            name(provider)
        ),
    );
    assert_not_found(provider, id, C).await;
}

async fn assert_not_found(provider: &dyn CdnProvider, id: &str, c: &str) {
    let error = err(
        retrying(|| provider.status(id)).await,
        format!(
            "{} ({c}): status of deleted configuration {id}",
            name(provider)
        ),
    );
    assert!(
        matches!(error, PortError::NotFound(_)),
        "{} ({c}): status of a deleted configuration must be NotFound, got {error:?}",
        name(provider)
    );
}

/// The whole life of one configuration, as the flows drive it.
pub async fn lifecycle(provider: &dyn CdnProvider) {
    const C: &str = "lifecycle";
    let service = fixtures::service(&ProjectId::random());
    let created = create(provider, &service, C).await;
    let id = created.provider_service_id.clone();
    assert_links(provider, &created, &service, C);
    ok(
        retrying(|| provider.status(&id)).await,
        format!("{} ({C}): status after create", name(provider)),
    );
    let mut changed = service.clone();
    changed
        .spec
        .domains
        .push(Domain::http(fixtures::unique_domain()));
    changed.spec.caching[0].ttl = 1200;
    changed.version += 1;
    let updated = ok(
        retrying(|| provider.update(&id, &changed)).await,
        format!("{} ({C}): update", name(provider)),
    );
    assert_links(provider, &updated, &changed, C);
    let caps = provider.capabilities();
    if caps.hard_purge || caps.soft_purge {
        let target = PurgeTarget::Url("/lifecycle.html".to_owned());
        ok(
            retrying(|| provider.purge(&id, &changed, &target, caps.hard_purge)).await,
            format!("{} ({C}): purge after update", name(provider)),
        );
    }
    delete(provider, &id, &changed, C).await;
    assert_not_found(provider, &id, C).await;
    ok(
        retrying(|| provider.delete(&id, &changed)).await,
        format!("{} ({C}): delete after delete", name(provider)),
    );
}

/// A failure a fake backend can be told to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Throttling (HTTP 429 or the vendor's throttling error), with a
    /// `Retry-After` of `retry_after` when `Some`.
    Throttled { retry_after: Option<Duration> },
    /// A server error (HTTP 5xx), with `Retry-After` when `Some`.
    ServerError { retry_after: Option<Duration> },
    /// A validation error (HTTP 400 or the vendor's equivalent) whose
    /// message is `message`.
    Rejected { message: String },
    /// An answer slower than the driver's request timeout.
    Slow,
}

/// How the suite makes the backend behind a driver fail. The adapter's test
/// implements it for its fake (wiremock and the like).
#[async_trait]
pub trait FaultHooks: Send + Sync {
    /// Makes every following request to the backend fail with `fault`,
    /// until [`clear`](Self::clear). Returns `false` when the fake cannot
    /// produce that fault; the suite then skips it and says so.
    async fn inject(&self, fault: &Fault) -> bool;
    /// Removes the injected fault.
    async fn clear(&self);
}

/// The faults [`error_kinds_are_mapped`] injects, in order.
pub fn standard_faults() -> Vec<Fault> {
    vec![
        Fault::Throttled {
            retry_after: Some(Duration::from_secs(7)),
        },
        Fault::Throttled { retry_after: None },
        Fault::ServerError {
            retry_after: Some(Duration::from_secs(3)),
        },
        Fault::ServerError { retry_after: None },
        Fault::Rejected {
            message: "poppy-conformance: the origin port is not allowed".to_owned(),
        },
        Fault::Slow,
    ]
}

/// Under each injected [`Fault`], `create` and `status` fail with the kind
/// the contract names: throttling → `RateLimited`, server errors and
/// timeouts → `Unavailable`, both carrying the backend's `Retry-After`;
/// validation errors → `Invalid` with the backend's message. Calls are made
/// once each (no retries).
pub async fn error_kinds_are_mapped(provider: &dyn CdnProvider, hooks: &dyn FaultHooks) {
    const C: &str = "error_kinds_are_mapped";
    for fault in standard_faults() {
        if !hooks.inject(&fault).await {
            eprintln!(
                "{} ({C}): the fake cannot produce {fault:?}; not checked",
                name(provider)
            );
            continue;
        }
        let service = fixtures::service(&ProjectId::random());
        let created = provider.create(&service).await;
        let status = provider.status("poppy-conformance-unknown").await;
        hooks.clear().await;
        for (call, result) in [
            ("create", created.map(|_| ())),
            ("status", status.map(|_| ())),
        ] {
            let error = match result {
                Ok(()) => panic!(
                    "{} ({C}): {call} succeeded although the backend answered with {fault:?}; \
                     the driver must report the backend's failure",
                    name(provider)
                ),
                Err(e) => e,
            };
            check_kind(provider, &fault, call, &error);
        }
    }
    hooks.clear().await;
}

#[track_caller]
fn check_kind(provider: &dyn CdnProvider, fault: &Fault, call: &str, error: &PortError) {
    const C: &str = "error_kinds_are_mapped";
    let who = name(provider);
    match fault {
        Fault::Throttled { retry_after } => {
            assert!(
                matches!(error, PortError::RateLimited { .. }),
                "{who} ({C}): {call} under {fault:?} must be PortError::RateLimited so the \
                 flow backs off and retries; got {error:?}"
            );
            if retry_after.is_some() {
                assert_eq!(
                    error.retry_after(),
                    *retry_after,
                    "{who} ({C}): {call} under {fault:?} must carry the backend's Retry-After \
                     as retry_after; got {error:?}"
                );
            }
        }
        Fault::ServerError { retry_after } => {
            assert!(
                matches!(error, PortError::Unavailable { .. }),
                "{who} ({C}): {call} under {fault:?} (a server error) must be \
                 PortError::Unavailable so the flow retries; got {error:?}"
            );
            if retry_after.is_some() {
                assert_eq!(
                    error.retry_after(),
                    *retry_after,
                    "{who} ({C}): {call} under {fault:?} must carry the backend's Retry-After \
                     as retry_after; got {error:?}"
                );
            }
        }
        Fault::Rejected { message } => match error {
            PortError::Invalid(text) => assert!(
                text.contains(message.as_str()),
                "{who} ({C}): {call} under {fault:?} must be PortError::Invalid carrying the \
                 backend's message {message:?} (the tenant sees it in error_info); got {text:?}"
            ),
            other => panic!(
                "{who} ({C}): {call} under {fault:?} (a validation error) must be \
                 PortError::Invalid so the flow fails at once instead of retrying; got {other:?}"
            ),
        },
        Fault::Slow => assert!(
            matches!(error, PortError::Unavailable { .. }),
            "{who} ({C}): {call} under {fault:?} must time out (bounded) and be \
             PortError::Unavailable; got {error:?}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::memory::{FailureKind, MemoryProvider, ProviderOp};

    /// Hooks that make a memory provider fail, mapping faults through `map`.
    struct MemoryHooks {
        provider: MemoryProvider,
        map: fn(&Fault) -> Option<FailureKind>,
    }

    #[async_trait]
    impl FaultHooks for MemoryHooks {
        async fn inject(&self, fault: &Fault) -> bool {
            let Some(kind) = (self.map)(fault) else {
                return false;
            };
            for op in [ProviderOp::Create, ProviderOp::Status] {
                self.provider.fail_next(op, 1, kind.clone());
            }
            true
        }
        async fn clear(&self) {
            self.provider.clear_failures();
        }
    }

    fn faithful(fault: &Fault) -> Option<FailureKind> {
        match fault {
            Fault::Throttled { retry_after } => Some(FailureKind::RateLimited {
                retry_after: *retry_after,
            }),
            Fault::ServerError { retry_after } => Some(FailureKind::Unavailable {
                retry_after: *retry_after,
            }),
            Fault::Slow => Some(FailureKind::unavailable()),
            Fault::Rejected { .. } => None,
        }
    }

    #[tokio::test]
    async fn a_faithful_mapping_passes() {
        let provider = MemoryProvider::default();
        let hooks = MemoryHooks {
            provider: provider.clone(),
            map: faithful,
        };
        error_kinds_are_mapped(&provider, &hooks).await;
    }

    #[tokio::test]
    #[should_panic(expected = "must be PortError::RateLimited")]
    async fn throttling_mapped_to_internal_is_caught() {
        let provider = MemoryProvider::default();
        let hooks = MemoryHooks {
            provider: provider.clone(),
            map: |fault| match fault {
                Fault::Throttled { .. } => Some(FailureKind::Internal),
                _ => None,
            },
        };
        error_kinds_are_mapped(&provider, &hooks).await;
    }

    #[tokio::test]
    #[should_panic(expected = "must carry the backend's Retry-After")]
    async fn a_lost_retry_after_is_caught() {
        let provider = MemoryProvider::default();
        let hooks = MemoryHooks {
            provider: provider.clone(),
            map: |fault| match fault {
                Fault::ServerError { .. } => Some(FailureKind::unavailable()),
                _ => None,
            },
        };
        error_kinds_are_mapped(&provider, &hooks).await;
    }

    #[test]
    #[should_panic(expected = "does not name the field")]
    fn a_refusal_without_a_field_is_caught() {
        let provider = MemoryProvider::default();
        deployed_or_refused(
            &provider,
            Err(PortError::Invalid("referrers are not supported".to_owned())),
            "/restrictions/",
            "test",
            "update",
        );
    }

    #[test]
    fn a_refusal_naming_the_field_is_accepted() {
        let provider = MemoryProvider::default();
        let outcome = deployed_or_refused(
            &provider,
            Err(PortError::Invalid(
                "/restrictions/0/rules/0/referrer: needs a WAF".to_owned(),
            )),
            "/restrictions/",
            "test",
            "update",
        );
        assert!(outcome.is_none());
    }

    #[test]
    #[should_panic(expected = "must either deploy this definition or refuse it")]
    fn other_errors_on_a_part_are_caught() {
        let provider = MemoryProvider::default();
        deployed_or_refused(
            &provider,
            Err(PortError::internal("x", "boom")),
            "/origins/",
            "test",
            "update",
        );
    }
}
