//! Conformance of a [`ServiceStore`] to its "# Contract".
//!
//! ```ignore
//! #[tokio::test]
//! async fn my_store_conforms() {
//!     let store = MyStore::open(..).await.unwrap();
//!     poppy_core::testkit::conformance::store::run_all(&store).await;
//! }
//! ```

use std::collections::BTreeSet;

use uuid::Uuid;

use super::{err, join_all, ok};
use crate::model::{ProjectId, Service, ServiceId, ServiceStatus};
use crate::ports::{Current, JobBoard, PortError, Revision, ServiceStore, Snapshot};
use crate::testkit::fixtures;

/// A `max_services` no check reaches.
pub const NO_LIMIT: u32 = 1_000_000;

const PORT: &str = "ServiceStore";

/// Runs every check of the store contract.
pub async fn run_all(store: &dyn ServiceStore) {
    create_then_get(store).await;
    projects_are_isolated(store).await;
    list_pages_by_id(store).await;
    taken_domain_is_conflict(store).await;
    update_claims_and_releases_domains(store).await;
    update_checks_and_bumps_version(store).await;
    shared_snapshots_follow_the_stored_row(store).await;
    update_of_missing_is_not_found(store).await;
    delete_releases_domains_and_is_idempotent(store).await;
    limit_reached_at_max(store).await;
    count_ignores_delete_in_progress(store).await;
    find_by_domain_across_projects(store).await;
    list_by_status_pages_after(store).await;
    domains_by_provider_url_follows_details(store).await;
    limits_get_and_set(store).await;
    concurrent_creates_claim_a_domain_once(store).await;
    concurrent_creates_respect_the_limit(store).await;
}

async fn create(store: &dyn ServiceStore, service: &Service, check: &str) {
    ok(
        store.create(service, NO_LIMIT, None).await,
        format!(
            "{PORT} ({check}): create of new service {} with free domains {:?}",
            service.id,
            service.domain_names().collect::<Vec<_>>()
        ),
    );
}

async fn get(store: &dyn ServiceStore, service: &Service, check: &str) -> Option<Service> {
    ok(
        store.get(&service.project_id, &service.id).await,
        format!("{PORT} ({check}): get of service {}", service.id),
    )
}

async fn holder(store: &dyn ServiceStore, domain: &str, check: &str) -> Option<ServiceId> {
    ok(
        store.find_by_domain(domain).await,
        format!("{PORT} ({check}): find_by_domain({domain})"),
    )
    .map(|s| s.id)
}

async fn cleanup(store: &dyn ServiceStore, services: &[&Service], check: &str) {
    for service in services {
        ok(
            store.delete(&service.project_id, &service.id).await,
            format!(
                "{PORT} ({check}): delete of service {} (cleanup)",
                service.id
            ),
        );
    }
}

#[track_caller]
fn assert_taken(error: PortError, domain: &str, what: &str) {
    match &error {
        PortError::Conflict(message) => assert_eq!(
            message,
            &format!("Domain {domain} has already been taken"),
            "{what}: the Conflict must name the taken domain with the contract's message"
        ),
        other => panic!(
            "{what}: a domain held by another service must give Conflict(\"Domain {domain} has \
             already been taken\"), got {other:?}"
        ),
    }
}

/// `get` after `create` returns the service exactly as written, every
/// field included; `list` and `find_by_domain` see it too.
pub async fn create_then_get(store: &dyn ServiceStore) {
    const C: &str = "create_then_get";
    let project = ProjectId::random();
    let service = fixtures::rich_service(&project);
    create(store, &service, C).await;
    let got = get(store, &service, C).await;
    assert_eq!(
        got.as_ref(),
        Some(&service),
        "{PORT} ({C}): get after create must return the service exactly as created (spec, \
         status, operator_status, provider_details with access URLs, version, timestamps)"
    );
    let listed = ok(
        store.list(&project, None, 10).await,
        format!("{PORT} ({C}): list"),
    );
    assert_eq!(
        listed,
        vec![service.clone()],
        "{PORT} ({C}): list of a project with one service must return exactly that service"
    );
    for domain in service.domain_names() {
        let found = ok(
            store.find_by_domain(domain).await,
            format!("{PORT} ({C}): find_by_domain({domain})"),
        );
        assert_eq!(
            found.as_ref(),
            Some(&service),
            "{PORT} ({C}): find_by_domain({domain}) must return the service holding it"
        );
    }
    cleanup(store, &[&service], C).await;
}

/// Nothing of one project is visible or writable through another.
pub async fn projects_are_isolated(store: &dyn ServiceStore) {
    const C: &str = "projects_are_isolated";
    let mine = ProjectId::random();
    let other = ProjectId::random();
    let service = fixtures::service(&mine);
    create(store, &service, C).await;

    let seen = ok(
        store.get(&other, &service.id).await,
        format!("{PORT} ({C}): get from another project"),
    );
    assert!(
        seen.is_none(),
        "{PORT} ({C}): get(other project, id) must be Ok(None), got {seen:?}"
    );
    let listed = ok(
        store.list(&other, None, 100).await,
        format!("{PORT} ({C}): list of another project"),
    );
    assert!(
        listed.is_empty(),
        "{PORT} ({C}): list of a fresh project must be empty, got {} services of other projects",
        listed.len()
    );
    let count = ok(
        store.count(&other).await,
        format!("{PORT} ({C}): count of another project"),
    );
    assert_eq!(count, 0, "{PORT} ({C}): count of a fresh project must be 0");

    ok(
        store.delete(&other, &service.id).await,
        format!("{PORT} ({C}): delete through another project (a missing service succeeds)"),
    );
    assert!(
        get(store, &service, C).await.is_some(),
        "{PORT} ({C}): delete(other project, id) must not delete the service of its own project"
    );

    let mut intruder = service.clone();
    intruder.project_id = other.clone();
    intruder.spec.name = "intruder".to_owned();
    let error = err(
        store.update(&intruder, None).await,
        format!("{PORT} ({C}): update of a service through another project"),
    );
    assert!(
        matches!(error, PortError::NotFound(_)),
        "{PORT} ({C}): update of (other project, id) must be NotFound, got {error:?}"
    );
    assert_eq!(
        get(store, &service, C).await.as_ref(),
        Some(&service),
        "{PORT} ({C}): update through another project must not change the service"
    );
    cleanup(store, &[&service], C).await;
}

/// `list` returns ids greater than `marker`, ascending, at most `limit`,
/// and paging with the last id of a page walks every service once.
pub async fn list_pages_by_id(store: &dyn ServiceStore) {
    const C: &str = "list_pages_by_id";
    let project = ProjectId::random();
    let services: Vec<Service> = (0..7).map(|_| fixtures::service(&project)).collect();
    for service in &services {
        create(store, service, C).await;
    }
    let mut ids: Vec<ServiceId> = services.iter().map(|s| s.id).collect();
    ids.sort();

    let ids_of = |page: &[Service]| page.iter().map(|s| s.id).collect::<Vec<_>>();
    let all = ok(
        store.list(&project, None, 100).await,
        format!("{PORT} ({C}): list without marker"),
    );
    assert_eq!(
        ids_of(&all),
        ids,
        "{PORT} ({C}): list without marker must return every service of the project, \
         ascending by id"
    );
    let from_nil = ok(
        store.list(&project, Some(ServiceId::nil()), 100).await,
        format!("{PORT} ({C}): list from the nil marker"),
    );
    assert_eq!(
        ids_of(&from_nil),
        ids,
        "{PORT} ({C}): the nil id as marker must list every service"
    );

    let mut marker = None;
    let mut walked = Vec::new();
    for page_number in 0..10 {
        let page = ok(
            store.list(&project, marker, 3).await,
            format!("{PORT} ({C}): list page {page_number} with limit 3"),
        );
        assert!(
            page.len() <= 3,
            "{PORT} ({C}): list with limit 3 returned {} services",
            page.len()
        );
        let Some(last) = page.last() else { break };
        marker = Some(last.id);
        walked.extend(ids_of(&page));
    }
    assert_eq!(
        walked, ids,
        "{PORT} ({C}): pages of 3, each starting after the last id of the previous page, must \
         walk every service once in ascending id order"
    );
    let first = ok(
        store.list(&project, None, 3).await,
        format!("{PORT} ({C}): first page"),
    );
    assert_eq!(
        ids_of(&first),
        ids[..3].to_vec(),
        "{PORT} ({C}): a page must hold exactly `limit` services when more exist"
    );

    // The marker is a bound, not a look-up: an id that is not stored works.
    let bound = ServiceId::new_random();
    let after = ok(
        store.list(&project, Some(bound), 100).await,
        format!("{PORT} ({C}): list after an id that is not stored"),
    );
    let expected: Vec<ServiceId> = ids.iter().copied().filter(|id| *id > bound).collect();
    assert_eq!(
        ids_of(&after),
        expected,
        "{PORT} ({C}): list(marker) must return exactly the ids greater than the marker, even \
         when no service has the marker's id"
    );
    let refs: Vec<&Service> = services.iter().collect();
    cleanup(store, &refs, C).await;
}

/// A domain held by another service, in this project or another, makes
/// `create` fail with `Conflict` naming it, and nothing is written.
pub async fn taken_domain_is_conflict(store: &dyn ServiceStore) {
    const C: &str = "taken_domain_is_conflict";
    let project = ProjectId::random();
    let other = ProjectId::random();
    let [held_a, held_b, fresh_a, fresh_b] = [
        fixtures::unique_domain(),
        fixtures::unique_domain(),
        fixtures::unique_domain(),
        fixtures::unique_domain(),
    ];
    let holder_service = fixtures::service_with_domains(&project, &[&held_a, &held_b]);
    create(store, &holder_service, C).await;

    for (owner, fresh, held) in [(&project, &fresh_a, &held_a), (&other, &fresh_b, &held_b)] {
        let scope = if owner == &project {
            "same project"
        } else {
            "another project"
        };
        let loser = fixtures::service_with_domains(owner, &[fresh, held]);
        let error = err(
            store.create(&loser, NO_LIMIT, None).await,
            format!("{PORT} ({C}): create ({scope}) with domain {held} held by another service"),
        );
        assert_taken(
            error,
            held,
            &format!("{PORT} ({C}): create ({scope}) with a taken domain"),
        );
        assert!(
            get(store, &loser, C).await.is_none(),
            "{PORT} ({C}): a create refused for a taken domain ({scope}) must not store the \
             service"
        );
        assert_eq!(
            holder(store, fresh, C).await,
            None,
            "{PORT} ({C}): a create refused for a taken domain ({scope}) must not claim its \
             other domains ({fresh} was claimed)"
        );
        assert_eq!(
            holder(store, held, C).await,
            Some(holder_service.id),
            "{PORT} ({C}): the taken domain {held} must still belong to its holder"
        );
        let count = ok(store.count(owner).await, format!("{PORT} ({C}): count"));
        let expected = u64::from(owner == &project);
        assert_eq!(
            count, expected,
            "{PORT} ({C}): a refused create ({scope}) must not be counted"
        );
    }

    // Nothing was left half-claimed: the free domain can be used now.
    let later = fixtures::service_with_domains(&other, &[&fresh_a]);
    create(store, &later, C).await;
    cleanup(store, &[&holder_service, &later], C).await;
}

/// `update` claims added domains, releases removed ones, keeps kept ones,
/// and refuses (changing nothing) a domain held by another service.
pub async fn update_claims_and_releases_domains(store: &dyn ServiceStore) {
    const C: &str = "update_claims_and_releases_domains";
    let project = ProjectId::random();
    let other = ProjectId::random();
    let [removed, kept, added, fresh] = [
        fixtures::unique_domain(),
        fixtures::unique_domain(),
        fixtures::unique_domain(),
        fixtures::unique_domain(),
    ];
    let service = fixtures::service_with_domains(&project, &[&removed, &kept]);
    create(store, &service, C).await;

    let mut changed = service.clone();
    changed.spec = fixtures::spec(&[&kept, &added]);
    let version = ok(
        store.update(&changed, None).await,
        format!("{PORT} ({C}): update replacing {removed} by {added}"),
    );
    assert_eq!(
        holder(store, &removed, C).await,
        None,
        "{PORT} ({C}): a domain removed by update must be released"
    );
    for domain in [&kept, &added] {
        assert_eq!(
            holder(store, domain, C).await,
            Some(service.id),
            "{PORT} ({C}): after update, {domain} (kept or added) must belong to the service"
        );
    }

    // The released domain is free for anyone, the kept and added ones are not.
    let taker = fixtures::service_with_domains(&other, &[&removed]);
    create(store, &taker, C).await;
    for domain in [&kept, &added] {
        let rival = fixtures::service_with_domains(&other, &[domain]);
        let error = err(
            store.create(&rival, NO_LIMIT, None).await,
            format!("{PORT} ({C}): create with {domain}, still held after update"),
        );
        assert_taken(
            error,
            domain,
            &format!("{PORT} ({C}): create with a domain kept or added by an update"),
        );
    }

    // An update reaching for a domain of another project's service.
    let mut current = changed.clone();
    current.version = version;
    let mut greedy = current.clone();
    greedy.spec = fixtures::spec(&[&kept, &added, &fresh, &removed]);
    let error = err(
        store.update(&greedy, None).await,
        format!("{PORT} ({C}): update adding {removed}, held by another project's service"),
    );
    assert_taken(
        error,
        &removed,
        &format!("{PORT} ({C}): update adding a taken domain"),
    );
    let stored = get(store, &service, C).await;
    assert_eq!(
        stored.as_ref(),
        Some(&current),
        "{PORT} ({C}): an update refused for a taken domain must change nothing (spec, version)"
    );
    assert_eq!(
        holder(store, &fresh, C).await,
        None,
        "{PORT} ({C}): an update refused for a taken domain must not claim its other new \
         domains"
    );
    assert_eq!(
        holder(store, &removed, C).await,
        Some(taker.id),
        "{PORT} ({C}): a refused update must not take the domain from its holder"
    );
    cleanup(store, &[&service, &taker], C).await;
}

/// `update` stores `version + 1` and returns it; a stale (or future)
/// version is `Conflict` and changes nothing.
pub async fn update_checks_and_bumps_version(store: &dyn ServiceStore) {
    const C: &str = "update_checks_and_bumps_version";
    let project = ProjectId::random();
    let service = fixtures::service(&project);
    create(store, &service, C).await;

    let mut first = service.clone();
    first.spec.name = "first writer".to_owned();
    first.status = ServiceStatus::Deployed;
    first.updated_at += 1;
    let version = ok(
        store.update(&first, None).await,
        format!("{PORT} ({C}): update at the stored version"),
    );
    assert_eq!(
        version,
        service.version + 1,
        "{PORT} ({C}): update must return the new version, one more than the version written"
    );
    let mut expected = first.clone();
    expected.version = version;
    assert_eq!(
        get(store, &service, C).await.as_ref(),
        Some(&expected),
        "{PORT} ({C}): get after update must return the written service with version + 1"
    );

    for (stale, label) in [(service.version, "stale"), (version + 5, "future")] {
        let mut second = service.clone();
        second.version = stale;
        second.spec.name = "second writer".to_owned();
        let error = err(
            store.update(&second, None).await,
            format!("{PORT} ({C}): update with a {label} version {stale} (must be Conflict: optimistic concurrency)"),
        );
        assert!(
            matches!(error, PortError::Conflict(_)),
            "{PORT} ({C}): update with a {label} version must be Conflict (optimistic \
             concurrency), got {error:?}"
        );
        assert_eq!(
            get(store, &service, C).await.as_ref(),
            Some(&expected),
            "{PORT} ({C}): an update with a {label} version must change nothing"
        );
    }

    let again = ok(
        store.update(&expected, None).await,
        format!("{PORT} ({C}): update at the new version"),
    );
    assert_eq!(
        again,
        version + 1,
        "{PORT} ({C}): each update bumps the version by exactly one"
    );
    cleanup(store, &[&service], C).await;
}

/// `get_shared`, `list_shared` and `get_if_changed` return what `get` and
/// `list` return; a snapshot taken before an update never shows it; and the
/// store's revisions (if it keeps them) name one stored state:
/// `get_if_changed` answers `Unchanged` for the current revision only, never
/// after an update or a delete and a create under the same id (callers
/// cache what they derive from a snapshot by its revision).
pub async fn shared_snapshots_follow_the_stored_row(store: &dyn ServiceStore) {
    const C: &str = "shared_snapshots_follow_the_stored_row";
    let project = ProjectId::random();
    let service = fixtures::service(&project);
    create(store, &service, C).await;

    let stored = get(store, &service, C).await;
    let before = ok(
        store.get_shared(&project, &service.id).await,
        format!("{PORT} ({C}): get_shared"),
    );
    assert_eq!(
        before.as_deref(),
        stored.as_ref(),
        "{PORT} ({C}): get_shared must return what get returns"
    );
    let listed = ok(
        store.list_shared(&project, None, 10).await,
        format!("{PORT} ({C}): list_shared"),
    );
    let plain = ok(
        store.list(&project, None, 10).await,
        format!("{PORT} ({C}): list"),
    );
    assert_eq!(
        listed
            .iter()
            .map(|s| s.service.as_ref())
            .collect::<Vec<_>>(),
        plain.iter().collect::<Vec<_>>(),
        "{PORT} ({C}): list_shared must return what list returns"
    );
    let missing_id = ServiceId::new_random();
    let missing = ok(
        store.get_shared(&project, &missing_id).await,
        format!("{PORT} ({C}): get_shared of a missing id"),
    );
    assert!(
        missing.is_none(),
        "{PORT} ({C}): get_shared of a missing id must be None"
    );
    let missing = ok(
        store.get_if_changed(&project, &missing_id, None).await,
        format!("{PORT} ({C}): get_if_changed of a missing id"),
    );
    assert!(
        missing.is_none(),
        "{PORT} ({C}): get_if_changed of a missing id must be None"
    );

    let first = changed(store, &service, None, "nothing held").await;
    assert_eq!(
        Some(first.service.as_ref()),
        stored.as_ref(),
        "{PORT} ({C}): get_if_changed with nothing held must return what get returns"
    );
    assert_eq!(
        listed.first().map(|s| s.revision),
        Some(first.revision),
        "{PORT} ({C}): list_shared and get_if_changed must give one row the same revision"
    );
    if let Some(revision) = first.revision {
        let again = ok(
            store
                .get_if_changed(&project, &service.id, Some(revision))
                .await,
            format!("{PORT} ({C}): get_if_changed at the current revision"),
        );
        assert!(
            matches!(again, Some(Current::Unchanged)),
            "{PORT} ({C}): get_if_changed at the current revision must be Unchanged, got \
             {again:?}"
        );
    }

    let mut renamed = service.clone();
    renamed.spec.name = "renamed".to_owned();
    ok(
        store.update(&renamed, None).await,
        format!("{PORT} ({C}): update"),
    );
    let after = ok(
        store.get_shared(&project, &service.id).await,
        format!("{PORT} ({C}): get_shared after update"),
    );
    let (Some(before), Some(after)) = (before, after) else {
        panic!("{PORT} ({C}): get_shared must find the stored service");
    };
    assert_eq!(
        before.spec.name, service.spec.name,
        "{PORT} ({C}): a snapshot must not change when the row does"
    );
    assert_eq!(
        after.spec.name, "renamed",
        "{PORT} ({C}): get_shared after an update must return the update"
    );
    assert!(
        !std::sync::Arc::ptr_eq(&before, &after),
        "{PORT} ({C}): get_shared must not hand out the same snapshot for a changed row"
    );
    let second = changed(store, &service, first.revision, "after an update").await;
    assert_eq!(
        second.service.spec.name, "renamed",
        "{PORT} ({C}): get_if_changed after an update must return the update"
    );

    // Deleted and created again under the same id, at the version last read.
    cleanup(store, &[&service], C).await;
    let mut again = service.clone();
    again.spec.name = "created again".to_owned();
    again.version = after.version;
    create(store, &again, C).await;
    let seen = ok(
        store.get_shared(&project, &service.id).await,
        format!("{PORT} ({C}): get_shared after delete and create"),
    );
    assert_eq!(
        seen.as_deref(),
        Some(&again),
        "{PORT} ({C}): get_shared after a delete and a create under the same id must return \
         the new service"
    );
    let listed = ok(
        store.list_shared(&project, None, 10).await,
        format!("{PORT} ({C}): list_shared after delete and create"),
    );
    assert_eq!(
        listed
            .iter()
            .map(|s| s.service.as_ref())
            .collect::<Vec<_>>(),
        vec![&again],
        "{PORT} ({C}): list_shared after a delete and a create under the same id must return \
         the new service"
    );
    for held in [first.revision, second.revision] {
        let third = changed(store, &again, held, "after a delete and a create").await;
        assert_eq!(
            *third.service, again,
            "{PORT} ({C}): get_if_changed after a delete and a create under the same id must \
             return the new service"
        );
    }
    cleanup(store, &[&again], C).await;
}

/// `get_if_changed(held)` of `service`, which must exist and not be at
/// `held`.
async fn changed(
    store: &dyn ServiceStore,
    service: &Service,
    held: Option<Revision>,
    when: &str,
) -> Snapshot {
    const C: &str = "shared_snapshots_follow_the_stored_row";
    let current = ok(
        store
            .get_if_changed(&service.project_id, &service.id, held)
            .await,
        format!("{PORT} ({C}): get_if_changed {when}"),
    );
    match current {
        Some(Current::Changed(snapshot)) => {
            assert!(
                held.is_none() || snapshot.revision != held,
                "{PORT} ({C}): get_if_changed {when} returned the held revision {held:?}"
            );
            snapshot
        }
        other => {
            panic!("{PORT} ({C}): get_if_changed {when} must return the service, got {other:?}")
        }
    }
}

/// `update` of a service that does not exist (never, or any more) is `NotFound`.
pub async fn update_of_missing_is_not_found(store: &dyn ServiceStore) {
    const C: &str = "update_of_missing_is_not_found";
    let project = ProjectId::random();
    let never = fixtures::service(&project);
    let error = err(
        store.update(&never, None).await,
        format!("{PORT} ({C}): update of a service never created"),
    );
    assert!(
        matches!(error, PortError::NotFound(_)),
        "{PORT} ({C}): update of a missing service must be NotFound, got {error:?}"
    );
    assert!(
        get(store, &never, C).await.is_none(),
        "{PORT} ({C}): update of a missing service must not create it"
    );
    assert_eq!(
        holder(store, &never.spec.domains[0].domain, C).await,
        None,
        "{PORT} ({C}): update of a missing service must not claim its domains"
    );

    let gone = fixtures::service(&project);
    create(store, &gone, C).await;
    cleanup(store, &[&gone], C).await;
    let error = err(
        store.update(&gone, None).await,
        format!("{PORT} ({C}): update of a deleted service"),
    );
    assert!(
        matches!(error, PortError::NotFound(_)),
        "{PORT} ({C}): update of a deleted service must be NotFound, got {error:?}"
    );
}

/// `delete` removes the service and frees its domains; deleting again,
/// or deleting what never existed, succeeds.
pub async fn delete_releases_domains_and_is_idempotent(store: &dyn ServiceStore) {
    const C: &str = "delete_releases_domains_and_is_idempotent";
    let project = ProjectId::random();
    let service = fixtures::service(&project);
    create(store, &service, C).await;
    ok(
        store.delete(&project, &service.id).await,
        format!("{PORT} ({C}): delete"),
    );
    assert!(
        get(store, &service, C).await.is_none(),
        "{PORT} ({C}): get after delete must be Ok(None)"
    );
    let listed = ok(
        store.list(&project, None, 10).await,
        format!("{PORT} ({C}): list"),
    );
    assert!(
        listed.is_empty(),
        "{PORT} ({C}): list after delete must not show the service"
    );
    for domain in service.domain_names() {
        assert_eq!(
            holder(store, domain, C).await,
            None,
            "{PORT} ({C}): delete must release {domain}"
        );
    }
    ok(
        store.delete(&project, &service.id).await,
        format!("{PORT} ({C}): second delete of the same service (must succeed)"),
    );
    ok(
        store.delete(&project, &ServiceId::new_random()).await,
        format!("{PORT} ({C}): delete of a service that never existed (must succeed)"),
    );
    let names: Vec<&str> = service.domain_names().collect();
    let reuse = fixtures::service_with_domains(&ProjectId::random(), &names);
    create(store, &reuse, C).await;
    cleanup(store, &[&reuse], C).await;
}

async fn set_status(store: &dyn ServiceStore, service: &Service, status: ServiceStatus, c: &str) {
    let current = get(store, service, c).await.unwrap_or_else(|| {
        panic!(
            "{PORT} ({c}): service {} disappeared before its status was set",
            service.id
        )
    });
    let mut changed = current;
    changed.status = status;
    ok(
        store.update(&changed, None).await,
        format!("{PORT} ({c}): update of the status to {status}"),
    );
}

/// `create` at `max_services` services is `LimitReached` and writes
/// nothing; `delete_in_progress` services do not count.
pub async fn limit_reached_at_max(store: &dyn ServiceStore) {
    const C: &str = "limit_reached_at_max";
    let project = ProjectId::random();
    let first = fixtures::service(&project);
    let second = fixtures::service(&project);
    let third = fixtures::service(&project);
    for service in [&first, &second] {
        ok(
            store.create(service, 2, None).await,
            format!("{PORT} ({C}): create below the limit of 2"),
        );
    }
    let error = err(
        store.create(&third, 2, None).await,
        format!("{PORT} ({C}): create of a third service with max_services 2"),
    );
    assert!(
        matches!(error, PortError::LimitReached(_)),
        "{PORT} ({C}): create at max_services must be LimitReached, got {error:?}"
    );
    assert!(
        get(store, &third, C).await.is_none(),
        "{PORT} ({C}): a create refused for the limit must not store the service"
    );
    for domain in third.domain_names() {
        assert_eq!(
            holder(store, domain, C).await,
            None,
            "{PORT} ({C}): a create refused for the limit must not claim {domain}"
        );
    }

    set_status(store, &first, ServiceStatus::DeleteInProgress, C).await;
    ok(
        store.create(&third, 2, None).await,
        format!(
            "{PORT} ({C}): create with max_services 2 when one of the 2 services is \
             delete_in_progress (it must not count)"
        ),
    );
    cleanup(store, &[&first, &second, &third], C).await;
}

/// `count` counts the project's services that are not `delete_in_progress`.
pub async fn count_ignores_delete_in_progress(store: &dyn ServiceStore) {
    const C: &str = "count_ignores_delete_in_progress";
    let project = ProjectId::random();
    let services: Vec<Service> = (0..3).map(|_| fixtures::service(&project)).collect();
    for service in &services {
        create(store, service, C).await;
    }
    let project_ref = &project;
    let count = |what: &'static str| async move {
        ok(
            store.count(project_ref).await,
            format!("{PORT} ({C}): count {what}"),
        )
    };
    assert_eq!(
        count("after 3 creates").await,
        3,
        "{PORT} ({C}): count after 3 creates"
    );
    set_status(store, &services[0], ServiceStatus::DeleteInProgress, C).await;
    assert_eq!(
        count("with one delete_in_progress").await,
        2,
        "{PORT} ({C}): a delete_in_progress service must not be counted"
    );
    ok(
        store.delete(&project, &services[1].id).await,
        format!("{PORT} ({C}): delete"),
    );
    assert_eq!(
        count("after a delete").await,
        1,
        "{PORT} ({C}): a deleted service must not be counted"
    );
    let refs: Vec<&Service> = services.iter().collect();
    cleanup(store, &refs, C).await;
}

/// `find_by_domain` finds the holder in any project, and nothing for a
/// free domain.
pub async fn find_by_domain_across_projects(store: &dyn ServiceStore) {
    const C: &str = "find_by_domain_across_projects";
    let a = fixtures::service(&ProjectId::random());
    let b = fixtures::service(&ProjectId::random());
    create(store, &a, C).await;
    create(store, &b, C).await;
    for service in [&a, &b] {
        for domain in service.domain_names() {
            let found = ok(
                store.find_by_domain(domain).await,
                format!("{PORT} ({C}): find_by_domain({domain})"),
            );
            assert_eq!(
                found.as_ref(),
                Some(service),
                "{PORT} ({C}): find_by_domain must return the whole service holding the \
                 domain, whatever its project"
            );
        }
    }
    let free = fixtures::unique_domain();
    assert_eq!(
        holder(store, &free, C).await,
        None,
        "{PORT} ({C}): find_by_domain of a free domain must be Ok(None)"
    );
    cleanup(store, &[&a, &b], C).await;
}

/// `list_by_status` lists `(project, id)` of every service in a status,
/// any project, ascending by id after `after`, at most `limit`.
pub async fn list_by_status_pages_after(store: &dyn ServiceStore) {
    const C: &str = "list_by_status_pages_after";
    let projects = [ProjectId::random(), ProjectId::random()];
    let mut failed = Vec::new();
    for i in 0..5 {
        let mut service = fixtures::service(&projects[i % 2]);
        service.status = ServiceStatus::Failed;
        create(store, &service, C).await;
        failed.push(service);
    }
    let deployed = {
        let mut service = fixtures::service(&projects[0]);
        service.status = ServiceStatus::Deployed;
        create(store, &service, C).await;
        service
    };
    let mut expected: Vec<(ProjectId, ServiceId)> = failed
        .iter()
        .map(|s| (s.project_id.clone(), s.id))
        .collect();
    expected.sort_by_key(|(_, id)| *id);
    let ours: BTreeSet<ServiceId> = failed.iter().chain([&deployed]).map(|s| s.id).collect();

    // Start just below our smallest id so other services in the backend
    // (other runs) do not make this walk long.
    let smallest = expected[0].1.as_uuid().as_u128();
    let mut after = Some(ServiceId::from_uuid(Uuid::from_u128(
        smallest.saturating_sub(1),
    )));
    let largest = expected[expected.len() - 1].1;
    let mut seen = Vec::new();
    for page_number in 0..10_000 {
        let page = ok(
            store.list_by_status(ServiceStatus::Failed, after, 2).await,
            format!("{PORT} ({C}): list_by_status(failed) page {page_number}, limit 2"),
        );
        assert!(
            page.len() <= 2,
            "{PORT} ({C}): list_by_status with limit 2 returned {} entries",
            page.len()
        );
        let Some((_, last)) = page.last() else { break };
        let mut previous = after;
        for (_, id) in &page {
            assert!(
                previous.is_none_or(|p| *id > p),
                "{PORT} ({C}): list_by_status must return ids ascending and greater than \
                 `after`; got {id} after {previous:?}"
            );
            previous = Some(*id);
        }
        seen.extend(page.iter().filter(|(_, id)| ours.contains(id)).cloned());
        after = Some(*last);
        if *last >= largest {
            break;
        }
    }
    assert_eq!(
        seen, expected,
        "{PORT} ({C}): paging list_by_status(failed) must yield each failed service once with \
         its project, in id order, and no service in another status"
    );

    let cut = expected[2].1;
    let rest = ok(
        store
            .list_by_status(ServiceStatus::Failed, Some(cut), 10_000)
            .await,
        format!("{PORT} ({C}): list_by_status after the third id"),
    );
    let rest: Vec<_> = rest
        .into_iter()
        .filter(|(_, id)| ours.contains(id))
        .collect();
    assert_eq!(
        rest,
        expected[3..].to_vec(),
        "{PORT} ({C}): list_by_status(after) must exclude `after` and smaller ids"
    );
    let head = ok(
        store.list_by_status(ServiceStatus::Failed, None, 1).await,
        format!("{PORT} ({C}): list_by_status without `after`"),
    );
    assert_eq!(
        head.len(),
        1,
        "{PORT} ({C}): list_by_status(None, limit 1) must return one entry when failed \
         services exist"
    );
    let mut refs: Vec<&Service> = failed.iter().collect();
    refs.push(&deployed);
    cleanup(store, &refs, C).await;
}

/// `domains_by_provider_url` follows the provider details as written by
/// `create`, `update` and `delete`.
pub async fn domains_by_provider_url_follows_details(store: &dyn ServiceStore) {
    const C: &str = "domains_by_provider_url_follows_details";
    let project = ProjectId::random();
    let url = format!("{}.provider.test", fixtures::unique_label());
    let [one, two] = [fixtures::unique_domain(), fixtures::unique_domain()];
    let mut service = fixtures::service_with_domains(&project, &[&one, &two]);
    service.provider_details.insert(
        "memory".to_owned(),
        fixtures::provider_detail(&[&one, &two], &url),
    );
    create(store, &service, C).await;
    let lookup = |what: &'static str| {
        let url = url.clone();
        async move {
            let mut found = ok(
                store.domains_by_provider_url(&url).await,
                format!("{PORT} ({C}): domains_by_provider_url {what}"),
            );
            found.sort();
            found
        }
    };
    let mut both = vec![one.clone(), two.clone()];
    both.sort();
    assert_eq!(
        lookup("after create").await,
        both,
        "{PORT} ({C}): domains whose access URL has provider_url {url} after create"
    );

    let mut changed = service.clone();
    changed.provider_details.insert(
        "memory".to_owned(),
        fixtures::provider_detail(&[&one], &url),
    );
    ok(
        store.update(&changed, None).await,
        format!("{PORT} ({C}): update"),
    );
    assert_eq!(
        lookup("after update").await,
        vec![one.clone()],
        "{PORT} ({C}): an update that drops a domain's access URL must drop it from \
         domains_by_provider_url"
    );
    cleanup(store, &[&service], C).await;
    assert!(
        lookup("after delete").await.is_empty(),
        "{PORT} ({C}): a deleted service's domains must not be listed by provider URL"
    );
}

/// `get_limit` is `None` until `set_limit`, then the last value set, per project.
pub async fn limits_get_and_set(store: &dyn ServiceStore) {
    const C: &str = "limits_get_and_set";
    let project = ProjectId::random();
    let other = ProjectId::random();
    let read = |p: ProjectId| async move {
        ok(
            store.get_limit(&p).await,
            format!("{PORT} ({C}): get_limit({p})"),
        )
    };
    assert_eq!(
        read(project.clone()).await,
        None,
        "{PORT} ({C}): a project without a limit set must have get_limit None"
    );
    for limit in [5, 7] {
        ok(
            store.set_limit(&project, limit).await,
            format!("{PORT} ({C}): set_limit {limit}"),
        );
        assert_eq!(
            read(project.clone()).await,
            Some(limit),
            "{PORT} ({C}): get_limit must return the last limit set"
        );
    }
    assert_eq!(
        read(other).await,
        None,
        "{PORT} ({C}): a limit set for one project must not apply to another"
    );
}

/// Concurrent creates claiming the same domain: exactly one wins, the
/// others get `Conflict` and leave nothing behind.
pub async fn concurrent_creates_claim_a_domain_once(store: &dyn ServiceStore) {
    const C: &str = "concurrent_creates_claim_a_domain_once";
    let contested = fixtures::unique_domain();
    let services: Vec<Service> = (0..8)
        .map(|_| {
            let own = fixtures::unique_domain();
            fixtures::service_with_domains(&ProjectId::random(), &[&own, &contested])
        })
        .collect();
    let results = join_all(
        services
            .iter()
            .map(|s| store.create(s, NO_LIMIT, None))
            .collect(),
    )
    .await;
    let mut winners = Vec::new();
    for (service, result) in services.iter().zip(results) {
        match result {
            Ok(()) => winners.push(service),
            Err(error) => {
                assert_taken(
                    error,
                    &contested,
                    &format!("{PORT} ({C}): a concurrent create that lost the domain"),
                );
                assert!(
                    get(store, service, C).await.is_none(),
                    "{PORT} ({C}): a losing concurrent create must not store its service"
                );
                let own = &service.spec.domains[0].domain;
                assert_eq!(
                    holder(store, own, C).await,
                    None,
                    "{PORT} ({C}): a losing concurrent create must not claim its other domain"
                );
            }
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "{PORT} ({C}): of 8 concurrent creates claiming {contested}, exactly one must succeed \
         (domain check and claim must be atomic); {} did",
        winners.len()
    );
    assert_eq!(
        holder(store, &contested, C).await,
        Some(winners[0].id),
        "{PORT} ({C}): the contested domain must belong to the one winner"
    );
    cleanup(store, &winners, C).await;
}

/// Concurrent creates in one project with `max_services` 3: exactly 3 win.
pub async fn concurrent_creates_respect_the_limit(store: &dyn ServiceStore) {
    const C: &str = "concurrent_creates_respect_the_limit";
    let project = ProjectId::random();
    let services: Vec<Service> = (0..8).map(|_| fixtures::service(&project)).collect();
    let results = join_all(services.iter().map(|s| store.create(s, 3, None)).collect()).await;
    let mut winners = Vec::new();
    for (service, result) in services.iter().zip(results) {
        match result {
            Ok(()) => winners.push(service),
            Err(PortError::LimitReached(_)) => {}
            Err(other) => panic!(
                "{PORT} ({C}): a concurrent create over the limit must be LimitReached, got \
                 {other:?}"
            ),
        }
    }
    assert_eq!(
        winners.len(),
        3,
        "{PORT} ({C}): of 8 concurrent creates with max_services 3, exactly 3 must succeed \
         (limit check and insert must be atomic); {} did",
        winners.len()
    );
    let count = ok(store.count(&project).await, format!("{PORT} ({C}): count"));
    assert_eq!(count, 3, "{PORT} ({C}): count after the race");
    cleanup(store, &winners, C).await;
}

/// For stores with [`ServiceStore::writes_jobs`]: the job given to a
/// successful `create`/`update` is on `board`, the job of a refused one is
/// not. Does nothing for other stores. Not part of [`run_all`] (it needs
/// the board that shares the store's database). Leaves the jobs posted.
pub async fn outbox_writes_jobs_with_the_service(store: &dyn ServiceStore, board: &dyn JobBoard) {
    const C: &str = "outbox_writes_jobs_with_the_service";
    if !store.writes_jobs() {
        return;
    }
    let project = ProjectId::random();
    let service = fixtures::service(&project);
    let job = fixtures::job(&service);
    ok(
        store.create(&service, NO_LIMIT, Some(job.clone())).await,
        format!("{PORT} ({C}): create with a job"),
    );
    let pending = |id: ServiceId| async move {
        ok(
            board.pending_for(&id).await,
            format!("{PORT} ({C}): JobBoard::pending_for"),
        )
    };
    assert_eq!(
        pending(service.id).await,
        1,
        "{PORT} ({C}): writes_jobs() is true, so the job given to create must be on the board"
    );

    let names: Vec<&str> = service.domain_names().collect();
    let loser = fixtures::service_with_domains(&project, &names);
    let loser_job = fixtures::job(&loser);
    let _ = err(
        store
            .create(&loser, NO_LIMIT, Some(loser_job.clone()))
            .await,
        format!("{PORT} ({C}): create with taken domains and a job"),
    );
    assert_eq!(
        pending(loser.id).await,
        0,
        "{PORT} ({C}): the job of a refused create must not be written"
    );

    let update_job = fixtures::job(&service);
    ok(
        store.update(&service, Some(update_job.clone())).await,
        format!("{PORT} ({C}): update with a job"),
    );
    assert_eq!(
        pending(service.id).await,
        2,
        "{PORT} ({C}): the job given to update must be on the board"
    );
    cleanup(store, &[&service], C).await;
}
