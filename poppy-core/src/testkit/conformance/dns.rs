//! Conformance of a [`DnsManager`] to its "# Contract".
//!
//! The port cannot read records back, so these checks assert what the
//! calls return and that they succeed; adapters with a way to read their
//! zone should also check the records themselves (see the memory adapter's
//! tests). Every check deletes the records it made.

use std::collections::BTreeSet;

use super::ok;
use crate::model::{AccessUrl, ProjectId, ProviderLink, Service};
use crate::ports::DnsManager;
use crate::testkit::fixtures;

const PORT: &str = "DnsManager";

/// Runs every check of the DNS contract.
pub async fn run_all(dns: &dyn DnsManager) {
    create_returns_an_access_url_per_link(dns).await;
    create_is_idempotent(dns).await;
    update_follows_the_links(dns).await;
    update_keeps_operator_names_of_kept_domains(dns).await;
    delete_is_idempotent(dns).await;
    set_enabled_both_ways(dns).await;
    shards_answer(dns).await;
}

fn name(dns: &dyn DnsManager) -> String {
    format!("{PORT} {}", dns.name())
}

/// A provider link for `domain` at a fresh provider host name.
fn link(domain: &str) -> ProviderLink {
    ProviderLink {
        domain: domain.to_owned(),
        href: format!("{domain}.{}.provider.test", fixtures::unique_label()),
        certificate: None,
    }
}

fn links_for(service: &Service) -> Vec<ProviderLink> {
    service.domain_names().map(link).collect()
}

#[track_caller]
fn assert_access_urls(
    dns: &dyn DnsManager,
    urls: &[AccessUrl],
    links: &[ProviderLink],
    what: &str,
) {
    assert_eq!(
        urls.len(),
        links.len(),
        "{} ({what}): one access URL per link, in the links' order; got {urls:?} for {links:?}",
        name(dns)
    );
    for (url, link) in urls.iter().zip(links) {
        assert_eq!(
            url.domain,
            link.domain,
            "{} ({what}): access URLs must be in the order of the links",
            name(dns)
        );
        assert_eq!(
            url.provider_url.as_deref(),
            Some(link.href.as_str()),
            "{} ({what}): the access URL of {} must carry the link's href as provider_url",
            name(dns),
            link.domain
        );
        assert!(
            url.operator_url.as_deref().is_some_and(|u| !u.is_empty()),
            "{} ({what}): the access URL of {} must name the operator record (operator_url), \
             got {:?}",
            name(dns),
            link.domain,
            url.operator_url
        );
    }
}

async fn create(
    dns: &dyn DnsManager,
    service: &Service,
    links: &[ProviderLink],
    c: &str,
) -> Vec<AccessUrl> {
    let urls = ok(
        dns.create(service, links).await,
        format!("{} ({c}): create for {} links", name(dns), links.len()),
    );
    assert_access_urls(dns, &urls, links, c);
    urls
}

async fn delete(dns: &dyn DnsManager, urls: &[AccessUrl], c: &str) {
    ok(
        dns.delete(urls).await,
        format!("{} ({c}): delete of {} records", name(dns), urls.len()),
    );
}

/// `create` returns one access URL per link, in order, naming the
/// operator record and the provider URL it points at.
pub async fn create_returns_an_access_url_per_link(dns: &dyn DnsManager) {
    const C: &str = "create_returns_an_access_url_per_link";
    let domains = fixtures::unique_domains(3);
    let names: Vec<&str> = domains.iter().map(String::as_str).collect();
    let service = fixtures::service_with_domains(&ProjectId::random(), &names);
    let links = links_for(&service);
    let urls = create(dns, &service, &links, C).await;
    let operator: BTreeSet<&str> = urls
        .iter()
        .filter_map(|u| u.operator_url.as_deref())
        .collect();
    assert_eq!(
        operator.len(),
        urls.len(),
        "{} ({C}): each domain needs its own operator record, got {urls:?}",
        name(dns)
    );
    delete(dns, &urls, C).await;
}

/// Creating the same records again succeeds and names the same records
/// (a retried flow step must not leave a second set of records behind).
pub async fn create_is_idempotent(dns: &dyn DnsManager) {
    const C: &str = "create_is_idempotent";
    let service = fixtures::service(&ProjectId::random());
    let links = links_for(&service);
    let first = create(dns, &service, &links, C).await;
    let second = create(dns, &service, &links, C).await;
    assert_eq!(
        second,
        first,
        "{} ({C}): create again with the same links must return the same access URLs",
        name(dns)
    );
    delete(dns, &first, C).await;
}

/// `update` returns one access URL per new link (in order, with the new
/// hrefs); records of dropped domains are removed (deleting them
/// afterwards still succeeds).
pub async fn update_follows_the_links(dns: &dyn DnsManager) {
    const C: &str = "update_follows_the_links";
    let (current, updated) = drop_keep_add(dns, C).await;
    delete(dns, &updated, C).await;
    // The dropped domain's record is gone already; deleting it again is fine.
    delete(dns, &current, C).await;
}

/// A domain kept by `update` keeps its operator record, re-pointed at the
/// new href, so tenants' CNAMEs keep working. Adapters that make no
/// records (operator URL = provider URL) cannot hold this and skip it.
pub async fn update_keeps_operator_names_of_kept_domains(dns: &dyn DnsManager) {
    const C: &str = "update_keeps_operator_names_of_kept_domains";
    let (current, updated) = drop_keep_add(dns, C).await;
    assert_eq!(
        updated[0].operator_url,
        current[1].operator_url,
        "{} ({C}): a domain kept by update must keep its operator record (re-pointed at the \
         new href), or tenants' CNAMEs break",
        name(dns)
    );
    delete(dns, &updated, C).await;
    delete(dns, &current, C).await;
}

/// Creates records for `[dropped, kept]`, updates to `[kept, added]` with
/// new hrefs; returns the access URLs before and after.
async fn drop_keep_add(dns: &dyn DnsManager, c: &str) -> (Vec<AccessUrl>, Vec<AccessUrl>) {
    let [dropped, kept, added] = [
        fixtures::unique_domain(),
        fixtures::unique_domain(),
        fixtures::unique_domain(),
    ];
    let service = fixtures::service_with_domains(&ProjectId::random(), &[&dropped, &kept]);
    let links = links_for(&service);
    let current = create(dns, &service, &links, c).await;

    let mut changed = service.clone();
    changed.spec = fixtures::spec(&[&kept, &added]);
    let new_links = vec![link(&kept), link(&added)];
    let updated = ok(
        dns.update(&changed, &current, &new_links).await,
        format!(
            "{} ({c}): update dropping {dropped}, adding {added}",
            name(dns)
        ),
    );
    assert_access_urls(dns, &updated, &new_links, c);
    (current, updated)
}

/// `delete` twice, or of records never made, succeeds.
pub async fn delete_is_idempotent(dns: &dyn DnsManager) {
    const C: &str = "delete_is_idempotent";
    let service = fixtures::service(&ProjectId::random());
    let urls = create(dns, &service, &links_for(&service), C).await;
    delete(dns, &urls, C).await;
    delete(dns, &urls, C).await;
    let never = fixtures::unique_domain();
    let phantom = AccessUrl {
        domain: never.clone(),
        provider_url: Some(format!("{never}.provider.test")),
        operator_url: Some(format!("{never}.never.made.test")),
        shared_ssl_flag: false,
        old_operator_url: None,
    };
    delete(dns, &[phantom], C).await;
}

/// `set_enabled(false)` then `set_enabled(true)` succeed.
pub async fn set_enabled_both_ways(dns: &dyn DnsManager) {
    const C: &str = "set_enabled_both_ways";
    let service = fixtures::service(&ProjectId::random());
    let urls = create(dns, &service, &links_for(&service), C).await;
    for enabled in [false, true] {
        ok(
            dns.set_enabled(&urls, enabled).await,
            format!("{} ({C}): set_enabled({enabled})", name(dns)),
        );
    }
    delete(dns, &urls, C).await;
}

/// Shared-SSL shards are distinct, non-empty names whose fullness can be asked.
pub async fn shards_answer(dns: &dyn DnsManager) {
    const C: &str = "shards_answer";
    let shards = dns.shared_ssl_shards();
    let distinct: BTreeSet<&str> = shards.iter().map(String::as_str).collect();
    assert_eq!(
        distinct.len(),
        shards.len(),
        "{} ({C}): shared_ssl_shards must not repeat a shard: {shards:?}",
        name(dns)
    );
    for shard in &shards {
        assert!(
            !shard.is_empty() && !shard.starts_with('.'),
            "{} ({C}): shard {shard:?} must be a domain suffix like scdn1.secure.example.net",
            name(dns)
        );
        ok(
            dns.is_shard_full(shard).await,
            format!("{} ({C}): is_shard_full({shard})", name(dns)),
        );
    }
}
