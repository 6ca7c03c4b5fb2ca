//! Sharding and record plans: examples and properties.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::model::{
    AccessUrl, CertificateType, Domain, HostHeaderType, LogDelivery, Origin, ProjectId, Protocol,
    ProviderLink, Rule, Service, ServiceSpec,
};

fn settings() -> ShardSettings {
    ShardSettings {
        url: "poppycdn.net".into(),
        shared_ssl_domain_suffix: "secure.poppycdn.net".into(),
        url_404: "notfound.poppycdn.net".into(),
        ..ShardSettings::default()
    }
}

fn sharding() -> Sharding {
    Sharding::new(settings()).expect("valid settings")
}

fn service(domains: &[Domain]) -> Service {
    let spec = ServiceSpec {
        name: "site".into(),
        domains: domains.to_vec(),
        origins: vec![Origin {
            origin: "origin.example.org".into(),
            port: 80,
            ssl: false,
            rules: vec![Rule::default_rule()],
            hostheadertype: HostHeaderType::Domain,
            hostheadervalue: None,
        }],
        caching: vec![],
        restrictions: vec![],
        flavor_id: "standard".into(),
        log_delivery: LogDelivery::default(),
    };
    Service::new(ProjectId::new("p"), spec, 0)
}

fn http(names: &[&str]) -> Vec<Domain> {
    names.iter().map(|d| Domain::http(*d)).collect()
}

fn shared(name: &str) -> Domain {
    Domain {
        domain: name.into(),
        protocol: Protocol::Https,
        certificate: Some(CertificateType::Shared),
    }
}

fn link(domain: &str, href: &str) -> ProviderLink {
    ProviderLink {
        domain: domain.into(),
        href: href.into(),
        certificate: None,
    }
}

/// A zone as a map `name → target`, and a plan applied to it.
type Zone = BTreeMap<String, String>;

fn apply(zone: &mut Zone, plan: &UpdatePlan) {
    for r in &plan.upserts {
        zone.insert(r.name.clone(), r.target.clone());
    }
    for d in &plan.deletes {
        zone.remove(&d.name);
    }
}

#[test]
fn a_domain_gets_a_record_in_its_shard_zone() {
    let s = sharding();
    let k = s.shard_of("www.example.com").expect("sharding on");
    assert!((1..=10).contains(&k));
    assert_eq!(
        s.operator_name("www.example.com"),
        format!("www.example.com.cdn{k}.poppycdn.net")
    );
    assert_eq!(
        s.operator_name("WWW.Example.com."),
        s.operator_name("www.example.com"),
        "names are case-insensitive"
    );
}

#[test]
fn every_shard_is_used() {
    let s = sharding();
    let used: BTreeSet<u32> = (0..2000)
        .filter_map(|i| s.shard_of(&format!("www.site{i}.com")))
        .collect();
    assert_eq!(used, (1..=10).collect::<BTreeSet<u32>>());
}

#[test]
fn without_shards_records_sit_under_the_url() {
    let s = Sharding::new(ShardSettings {
        num_shards: 0,
        ..settings()
    })
    .expect("valid");
    assert_eq!(s.shard_of("www.example.com"), None);
    assert_eq!(
        s.operator_name("www.example.com"),
        "www.example.com.poppycdn.net"
    );
    assert_eq!(s.shard_zones().len(), 1);
    let zone = s
        .zone_of("www.example.com.poppycdn.net", false)
        .expect("ours");
    assert_eq!(zone.name, "poppycdn.net");
}

#[test]
fn shared_ssl_shards_and_suffix() {
    let s = sharding();
    assert_eq!(
        s.shared_ssl_shards(),
        (1..=5)
            .map(|i| format!("scdn{i}.secure.poppycdn.net"))
            .collect::<Vec<_>>()
    );
    let mut shuffled = s.shared_ssl_shards_shuffled();
    shuffled.sort();
    let mut ordered = s.shared_ssl_shards();
    ordered.sort();
    assert_eq!(shuffled, ordered);

    let suffix_only = Sharding::new(ShardSettings {
        shared_ssl_num_shards: 0,
        ..settings()
    })
    .expect("valid");
    assert_eq!(
        suffix_only.shared_ssl_shards(),
        vec!["secure.poppycdn.net".to_owned()]
    );

    let off = Sharding::new(ShardSettings {
        shared_ssl_domain_suffix: String::new(),
        ..settings()
    })
    .expect("valid");
    assert!(off.shared_ssl_shards().is_empty());
    assert!(!off.shared_ssl_enabled());
}

#[test]
fn records_limit_makes_a_shard_full() {
    let s = Sharding::new(ShardSettings {
        records_limit: 3,
        ..settings()
    })
    .expect("valid");
    assert!(!s.is_full(2));
    assert!(s.is_full(3));
    assert!(s.is_full(4));
}

#[test]
fn bad_settings_name_the_key() {
    for (settings, key) in [
        (
            ShardSettings {
                url: String::new(),
                ..settings()
            },
            "url",
        ),
        (
            ShardSettings {
                url_404: "not a name".into(),
                ..settings()
            },
            "url_404",
        ),
        (
            ShardSettings {
                shard_prefix: "c.d".into(),
                ..settings()
            },
            "shard_prefix",
        ),
        (
            ShardSettings {
                records_limit: 0,
                ..settings()
            },
            "records_limit",
        ),
        (
            ShardSettings {
                ttl: 0,
                ..settings()
            },
            "ttl",
        ),
        (
            ShardSettings {
                shared_ssl_domain_suffix: ".secure..net".into(),
                ..settings()
            },
            "shared_ssl_domain_suffix",
        ),
    ] {
        let err = Sharding::new(settings).expect_err(key);
        assert!(err.to_string().contains(key), "{err}");
    }
}

#[test]
fn zones_are_derived_from_operator_urls() {
    let s = sharding();
    let zone = s
        .zone_of("www.example.com.cdn7.poppycdn.net", false)
        .expect("ours");
    assert_eq!(
        (zone.name.as_str(), zone.kind),
        ("cdn7.poppycdn.net", ZoneKind::Shard)
    );
    let zone = s
        .zone_of("shop.scdn2.secure.poppycdn.net", true)
        .expect("ours");
    assert_eq!(
        (zone.name.as_str(), zone.kind),
        ("scdn2.secure.poppycdn.net", ZoneKind::SharedSsl)
    );
    // A record made when there were more shards is still found.
    let zone = s
        .zone_of("www.example.com.cdn42.poppycdn.net", false)
        .expect("ours");
    assert_eq!(zone.name, "cdn42.poppycdn.net");
    // The shared flag may be missing on old access URLs.
    let zone = s
        .zone_of("shop.scdn2.secure.poppycdn.net", false)
        .expect("ours");
    assert_eq!(zone.name, "scdn2.secure.poppycdn.net");
    assert_eq!(zone.kind, ZoneKind::SharedSsl);
    assert_eq!(s.zone_of("www.example.com.edgesuite.net", false), None);
    assert_eq!(s.zone_of("poppycdn.net", false), None);
}

#[test]
fn a_shared_domain_is_its_own_record_in_its_shard() {
    let s = sharding();
    let svc = service(&[shared("shop.scdn2.secure.poppycdn.net")]);
    let plan = s
        .plan_create(
            &svc,
            &[link("shop.scdn2.secure.poppycdn.net", "shop.provider.net")],
        )
        .expect("planned");
    let url = &plan.access_urls[0];
    assert!(url.shared_ssl_flag);
    assert_eq!(
        url.operator_url.as_deref(),
        Some("shop.scdn2.secure.poppycdn.net")
    );
    assert_eq!(plan.upserts[0].zone.name, "scdn2.secure.poppycdn.net");
    assert_eq!(plan.upserts[0].zone.kind, ZoneKind::SharedSsl);

    let outside = service(&[shared("shop.elsewhere.net")]);
    let err = s
        .plan_create(&outside, &[link("shop.elsewhere.net", "shop.provider.net")])
        .expect_err("not under the suffix");
    assert!(
        matches!(err, PlanError::SharedOutsideSuffix { .. }),
        "{err}"
    );
}

#[test]
fn an_overlong_name_is_refused() {
    let s = sharding();
    let long = format!(
        "{}.{}.{}.{}.com",
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(60),
        "d".repeat(60)
    );
    let err = s
        .plan_create(&service(&http(&[&long])), &[link(&long, "x.provider.net")])
        .expect_err("too long");
    assert!(matches!(err, PlanError::NameTooLong { .. }), "{err}");
}

#[test]
fn update_keeps_kept_names_adds_new_and_deletes_dropped() {
    let s = sharding();
    let before = service(&http(&["a.example.com", "b.example.com"]));
    let created = s
        .plan_create(
            &before,
            &[
                link("a.example.com", "a.old.net"),
                link("b.example.com", "b.old.net"),
            ],
        )
        .expect("planned");
    let after = service(&http(&["b.example.com", "c.example.com"]));
    let plan = s
        .plan_update(
            &after,
            &created.access_urls,
            &[
                link("b.example.com", "b.new.net"),
                link("c.example.com", "c.new.net"),
            ],
        )
        .expect("planned");
    assert_eq!(
        plan.access_urls[0].operator_url,
        created.access_urls[1].operator_url
    );
    assert_eq!(plan.upserts[0].target, "b.new.net");
    assert_eq!(
        plan.access_urls[1].operator_url,
        Some(s.operator_name("c.example.com"))
    );
    assert_eq!(
        plan.deletes
            .iter()
            .map(|d| d.name.clone())
            .collect::<Vec<_>>(),
        vec![s.operator_name("a.example.com")]
    );
}

#[test]
fn an_upgrade_placeholder_keeps_its_old_record() {
    let s = sharding();
    let old_name = s.operator_name("a.example.com");
    let placeholder = AccessUrl {
        domain: "a.example.com".into(),
        provider_url: None,
        operator_url: None,
        shared_ssl_flag: false,
        old_operator_url: Some(old_name.clone()),
    };
    let plan = s
        .plan_update(
            &service(&http(&["a.example.com"])),
            std::slice::from_ref(&placeholder),
            &[link("a.example.com", "a.san.net")],
        )
        .expect("planned");
    assert_eq!(
        plan.access_urls[0].operator_url.as_deref(),
        Some(old_name.as_str())
    );
    assert!(plan.deletes.is_empty());
    assert_eq!(s.plan_delete(&[placeholder])[0].name, old_name);
}

#[test]
fn urls_outside_the_zone_have_no_records_to_delete_or_repoint() {
    let s = sharding();
    let foreign = AccessUrl {
        domain: "a.example.com".into(),
        provider_url: Some("a.provider.net".into()),
        operator_url: Some("a.provider.net".into()),
        shared_ssl_flag: false,
        old_operator_url: None,
    };
    assert!(s.plan_delete(std::slice::from_ref(&foreign)).is_empty());
    assert!(s
        .plan_set_enabled(std::slice::from_ref(&foreign), false)
        .is_empty());
    // Moving from the default driver: the domain gets a record of its own.
    let plan = s
        .plan_update(
            &service(&http(&["a.example.com"])),
            &[foreign],
            &[link("a.example.com", "a.provider.net")],
        )
        .expect("planned");
    assert_eq!(
        plan.access_urls[0].operator_url,
        Some(s.operator_name("a.example.com"))
    );
    assert!(plan.deletes.is_empty());
}

#[test]
fn disabling_points_at_the_404_target_and_enabling_back() {
    let s = sharding();
    let svc = service(&http(&["a.example.com"]));
    let created = s
        .plan_create(&svc, &[link("a.example.com", "a.provider.net")])
        .expect("planned");
    let off = s.plan_set_enabled(&created.access_urls, false);
    assert_eq!(off[0].target, "notfound.poppycdn.net");
    let on = s.plan_set_enabled(&created.access_urls, true);
    assert_eq!(on[0].target, "a.provider.net");
    assert_eq!(on[0].name, off[0].name);
}

fn label() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}[a-z0-9]"
}

fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 2..4).prop_map(|labels| labels.join("."))
}

/// Two sets of domains drawn from one pool, so they overlap often.
fn old_and_new() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    (
        prop::collection::btree_set(domain(), 0..8),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(pool, old_mask, new_mask)| {
            let pick = |mask: u8| {
                pool.iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, d)| d.clone())
                    .collect::<Vec<_>>()
            };
            (pick(old_mask), pick(new_mask))
        })
}

proptest! {
    #[test]
    fn shard_is_in_range_and_stable(d in domain(), n in 1u32..64) {
        let s = Sharding::new(ShardSettings { num_shards: n, ..settings() }).expect("valid");
        let k = s.shard_of(&d).expect("sharding on");
        prop_assert!((1..=n).contains(&k));
        prop_assert_eq!(Some(k), s.shard_of(&d.to_ascii_uppercase()));
        let name = s.operator_name(&d);
        prop_assert_eq!(&name, &format!("{d}.cdn{k}.poppycdn.net"));
        let zone = s.zone_of(&name, false).expect("ours");
        prop_assert_eq!(zone, s.shard_zone(Some(k)));
    }

    #[test]
    fn shared_shards_are_distinct_and_derivable(n in 0u32..20, l in label()) {
        let s = Sharding::new(ShardSettings { shared_ssl_num_shards: n, ..settings() }).expect("valid");
        let shards = s.shared_ssl_shards();
        prop_assert_eq!(shards.len(), n.max(1) as usize);
        let distinct: BTreeSet<&String> = shards.iter().collect();
        prop_assert_eq!(distinct.len(), shards.len());
        for shard in &shards {
            prop_assert!(shard.ends_with("secure.poppycdn.net"));
            prop_assert!(s.is_shared_ssl_shard(shard));
            let zone = s.zone_of(&format!("{l}.{shard}"), true).expect("ours");
            prop_assert_eq!(&zone.name, shard);
            prop_assert_eq!(zone.kind, ZoneKind::SharedSsl);
        }
    }

    #[test]
    fn fullness_is_the_records_limit(limit in 1u32..1000, count in 0u64..2000) {
        let s = Sharding::new(ShardSettings { records_limit: limit, ..settings() }).expect("valid");
        prop_assert_eq!(s.is_full(count), count >= u64::from(limit));
    }

    /// Any update, applied completely, partly (a crash in the middle) and
    /// then again (the retry), leaves exactly the new domains' records,
    /// kept domains keep their names, and the plan is idempotent.
    #[test]
    fn updates_converge_after_a_crash(
        (old, new) in old_and_new(),
        crash_after in 0usize..16,
    ) {
        let s = sharding();
        let old_refs: Vec<&str> = old.iter().map(String::as_str).collect();
        let new_refs: Vec<&str> = new.iter().map(String::as_str).collect();
        let before = service(&http(&old_refs));
        let old_links: Vec<ProviderLink> = old.iter().map(|d| link(d, &format!("{d}.old.net"))).collect();
        let created = s.plan_create(&before, &old_links).expect("planned");
        prop_assert_eq!(&created, &s.plan_create(&before, &old_links).expect("planned"));
        let mut zone = Zone::new();
        apply(&mut zone, &created);

        let after = service(&http(&new_refs));
        let new_links: Vec<ProviderLink> = new.iter().map(|d| link(d, &format!("{d}.new.net"))).collect();
        let plan = s.plan_update(&after, &created.access_urls, &new_links).expect("planned");
        prop_assert_eq!(plan.access_urls.len(), new_links.len());
        let upserted: BTreeSet<&str> = plan.upserts.iter().map(|r| r.name.as_str()).collect();
        prop_assert!(plan.deletes.iter().all(|d| !upserted.contains(d.name.as_str())));

        // Crash: only the first steps of the plan happened.
        let steps: Vec<(String, Option<String>)> = plan
            .upserts
            .iter()
            .map(|r| (r.name.clone(), Some(r.target.clone())))
            .chain(plan.deletes.iter().map(|d| (d.name.clone(), None)))
            .collect();
        for (name, target) in steps.iter().take(crash_after) {
            match target {
                Some(t) => zone.insert(name.clone(), t.clone()),
                None => zone.remove(name),
            };
        }
        // The retry plans from the same inputs and runs to the end.
        let retry = s.plan_update(&after, &created.access_urls, &new_links).expect("planned");
        prop_assert_eq!(&retry, &plan);
        apply(&mut zone, &retry);

        let expected: Zone = new
            .iter()
            .map(|d| {
                let name = created
                    .access_urls
                    .iter()
                    .find(|u| &u.domain == d)
                    .and_then(|u| u.operator_url.clone())
                    .unwrap_or_else(|| s.operator_name(d));
                (name, format!("{d}.new.net"))
            })
            .collect();
        prop_assert_eq!(&zone, &expected);
        for (url, d) in plan.access_urls.iter().zip(&new) {
            let href = format!("{d}.new.net");
            prop_assert_eq!(url.provider_url.as_deref(), Some(href.as_str()));
            prop_assert!(zone.contains_key(url.operator_url.as_deref().unwrap_or("")));
        }
        // Deleting what the update returned empties the zone.
        for r in s.plan_delete(&plan.access_urls) {
            zone.remove(&r.name);
        }
        prop_assert!(zone.is_empty(), "records left: {zone:?}");
    }
}
