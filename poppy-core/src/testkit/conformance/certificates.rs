//! Conformance of a [`CertificateStore`] (see its "# Contract").

use serde_json::json;

use super::{err, ok};
use crate::model::{CertDetails, CertQueue, CertStatus, CertType, ProjectId, SslCertificate};
use crate::ports::{CertificateStore, PortError};
use crate::testkit::fixtures;

/// Every check, with fresh projects, domains and provider names.
pub async fn run_all(store: &dyn CertificateStore) {
    create_then_get(store).await;
    one_record_per_domain(store).await;
    update_replaces_and_missing_is_not_found(store).await;
    delete_is_scoped_to_the_project(store).await;
    status_index_follows_writes(store).await;
    queues_are_fifo_per_provider_and_queue(store).await;
    replace_and_take_return_what_the_queue_held(store).await;
    settings_round_trip(store).await;
}

fn cert(project: &ProjectId) -> SslCertificate {
    SslCertificate::new(
        project.clone(),
        fixtures::FLAVOR_ID,
        fixtures::unique_domain(),
        CertType::San,
        1,
    )
}

fn provider() -> String {
    format!("conformance-{}", fixtures::unique_label())
}

/// A stored record reads back equal, by its domain in any case; a missing
/// domain is `None`.
pub async fn create_then_get(store: &dyn CertificateStore) {
    let p = ProjectId::random();
    let mut c = cert(&p);
    c.cert_details.insert(
        "mock".into(),
        CertDetails::with_status(CertStatus::CreateInProgress),
    );
    ok(store.create(&c).await, "create");
    let got = ok(store.get(&c.domain_name).await, "get");
    assert_eq!(
        got.as_ref(),
        Some(&c),
        "certificate store: get after create"
    );
    let upper = ok(
        store.get(&c.domain_name.to_ascii_uppercase()).await,
        "get upper-case",
    );
    assert_eq!(
        upper.as_ref(),
        Some(&c),
        "certificate store: domains are case-insensitive"
    );
    let missing = ok(store.get(&fixtures::unique_domain()).await, "get missing");
    assert!(
        missing.is_none(),
        "certificate store: a missing domain must be None"
    );
    ok(store.delete(&c.domain_name, &p).await, "cleanup");
}

/// A second record for a domain, from any project, is a `Conflict` that
/// changes nothing.
pub async fn one_record_per_domain(store: &dyn CertificateStore) {
    let p = ProjectId::random();
    let c = cert(&p);
    ok(store.create(&c).await, "create");
    let mut other = c.clone();
    other.project_id = ProjectId::random();
    other.cert_type = CertType::Sni;
    let e = err(store.create(&other).await, "create for a taken domain");
    assert!(
        matches!(e, PortError::Conflict(_)),
        "certificate store: a taken domain must be Conflict, got {e:?}"
    );
    let got = ok(store.get(&c.domain_name).await, "get");
    assert_eq!(
        got.as_ref(),
        Some(&c),
        "certificate store: the refused create changed the record"
    );
    ok(store.delete(&c.domain_name, &p).await, "cleanup");
}

/// `update` replaces details and status; of a missing record it is `NotFound`.
pub async fn update_replaces_and_missing_is_not_found(store: &dyn CertificateStore) {
    let p = ProjectId::random();
    let mut c = cert(&p);
    ok(store.create(&c).await, "create");
    let mut details = CertDetails::with_status(CertStatus::Deployed);
    details.cert_domain = Some("san1.example.net".into());
    details.extra_info.sps_id = Some(42);
    c.cert_details.insert("mock".into(), details);
    c.settle_status();
    ok(store.update(&c).await, "update");
    let got = ok(store.get(&c.domain_name).await, "get");
    assert_eq!(
        got.as_ref(),
        Some(&c),
        "certificate store: update must replace the record"
    );
    let missing = cert(&p);
    let e = err(store.update(&missing).await, "update of a missing record");
    assert!(
        matches!(e, PortError::NotFound(_)),
        "certificate store: update of a missing record must be NotFound, got {e:?}"
    );
    ok(store.delete(&c.domain_name, &p).await, "cleanup");
}

/// `delete` by another project leaves the record; a missing record is `Ok`.
pub async fn delete_is_scoped_to_the_project(store: &dyn CertificateStore) {
    let p = ProjectId::random();
    let c = cert(&p);
    ok(store.create(&c).await, "create");
    ok(
        store.delete(&c.domain_name, &ProjectId::random()).await,
        "delete by another project",
    );
    assert!(
        ok(store.get(&c.domain_name).await, "get").is_some(),
        "certificate store: another project's delete removed the record"
    );
    ok(store.delete(&c.domain_name, &p).await, "delete");
    assert!(
        ok(store.get(&c.domain_name).await, "get").is_none(),
        "certificate store: delete by the owner must remove the record"
    );
    ok(
        store.delete(&c.domain_name, &p).await,
        "delete of a missing record",
    );
}

/// `list_by_status` follows create, update and delete.
pub async fn status_index_follows_writes(store: &dyn CertificateStore) {
    let p = ProjectId::random();
    let mut c = cert(&p);
    ok(store.create(&c).await, "create");
    let listed = |v: Vec<String>, d: &str| v.iter().any(|x| x == d);
    let cip = ok(
        store.list_by_status(CertStatus::CreateInProgress).await,
        "list",
    );
    assert!(
        listed(cip, &c.domain_name),
        "certificate store: a new record must be listed create_in_progress"
    );
    c.force_status(CertStatus::Failed);
    ok(store.update(&c).await, "update");
    let cip = ok(
        store.list_by_status(CertStatus::CreateInProgress).await,
        "list",
    );
    assert!(
        !listed(cip, &c.domain_name),
        "certificate store: the old status still lists the record"
    );
    let failed = ok(store.list_by_status(CertStatus::Failed).await, "list");
    assert!(
        listed(failed, &c.domain_name),
        "certificate store: the new status must list the record"
    );
    ok(store.delete(&c.domain_name, &p).await, "delete");
    let failed = ok(store.list_by_status(CertStatus::Failed).await, "list");
    assert!(
        !listed(failed, &c.domain_name),
        "certificate store: a deleted record is still listed"
    );
}

/// Items come back in the order enqueued; queues of other providers and
/// the other queue are separate; reading does not consume.
pub async fn queues_are_fifo_per_provider_and_queue(store: &dyn CertificateStore) {
    let (a, b) = (provider(), provider());
    for i in 0..3 {
        ok(
            store.enqueue(&a, CertQueue::Retry, &json!({"n": i})).await,
            "enqueue",
        );
    }
    ok(
        store
            .enqueue(&a, CertQueue::SanMapping, &json!({"m": 1}))
            .await,
        "enqueue",
    );
    ok(
        store
            .enqueue(&b, CertQueue::Retry, &json!({"other": true}))
            .await,
        "enqueue",
    );
    let items = ok(store.queue(&a, CertQueue::Retry).await, "queue");
    assert_eq!(
        items,
        vec![json!({"n": 0}), json!({"n": 1}), json!({"n": 2})],
        "certificate store: FIFO"
    );
    let again = ok(store.queue(&a, CertQueue::Retry).await, "queue");
    assert_eq!(
        again.len(),
        3,
        "certificate store: reading a queue must not consume it"
    );
    assert_eq!(
        ok(store.queue(&a, CertQueue::SanMapping).await, "queue"),
        vec![json!({"m": 1})]
    );
    assert_eq!(
        ok(store.queue(&b, CertQueue::Retry).await, "queue"),
        vec![json!({"other": true})]
    );
    for p in [&a, &b] {
        for q in CertQueue::ALL {
            ok(store.take_queue(p, *q).await, "cleanup");
        }
    }
}

/// `replace_queue` swaps and returns the old items; `take_queue` empties.
pub async fn replace_and_take_return_what_the_queue_held(store: &dyn CertificateStore) {
    let a = provider();
    ok(
        store.enqueue(&a, CertQueue::SanMapping, &json!(1)).await,
        "enqueue",
    );
    let old = ok(
        store
            .replace_queue(&a, CertQueue::SanMapping, &[json!(2), json!(3)])
            .await,
        "replace",
    );
    assert_eq!(
        old,
        vec![json!(1)],
        "certificate store: replace must return the old items"
    );
    let taken = ok(store.take_queue(&a, CertQueue::SanMapping).await, "take");
    assert_eq!(
        taken,
        vec![json!(2), json!(3)],
        "certificate store: take returns the queue"
    );
    let empty = ok(store.queue(&a, CertQueue::SanMapping).await, "queue");
    assert!(
        empty.is_empty(),
        "certificate store: take must empty the queue"
    );
    let none = ok(
        store.take_queue(&a, CertQueue::SanMapping).await,
        "take empty",
    );
    assert!(
        none.is_empty(),
        "certificate store: taking an empty queue is empty"
    );
}

/// Settings read back what was put, per provider; missing is `None`.
pub async fn settings_round_trip(store: &dyn CertificateStore) {
    let (a, b) = (provider(), provider());
    assert!(ok(store.get_setting(&a, "san:x").await, "get").is_none());
    ok(
        store.put_setting(&a, "san:x", &json!({"spsId": 1})).await,
        "put",
    );
    ok(
        store
            .put_setting(&a, "san:x", &json!({"spsId": 2, "enabled": true}))
            .await,
        "overwrite",
    );
    assert_eq!(
        ok(store.get_setting(&a, "san:x").await, "get"),
        Some(json!({"spsId": 2, "enabled": true})),
        "certificate store: put_setting must overwrite"
    );
    assert!(
        ok(store.get_setting(&b, "san:x").await, "get").is_none(),
        "certificate store: settings are per provider"
    );
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_memory_store_conforms() {
        let store = crate::testkit::memory::MemoryCertificateStore::new();
        super::run_all(&store).await;
    }
}
