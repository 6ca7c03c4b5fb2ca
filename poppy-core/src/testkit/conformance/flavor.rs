//! Conformance of a [`FlavorStore`] to its "# Contract".

use super::{err, ok};
use crate::model::FlavorProvider;
use crate::ports::{FlavorStore, PortError};
use crate::testkit::fixtures;

const PORT: &str = "FlavorStore";

/// Runs every check of the flavor store contract.
pub async fn run_all(store: &dyn FlavorStore) {
    create_get_list_delete(store).await;
    duplicate_is_conflict(store).await;
    missing_flavor(store).await;
}

/// A created flavor is returned as written by `get` and `list` (ordered
/// by id) until it is deleted.
pub async fn create_get_list_delete(store: &dyn FlavorStore) {
    const C: &str = "create_get_list_delete";
    let first = fixtures::unique_flavor();
    let mut second = fixtures::unique_flavor();
    second.limits = None;
    second.providers.push(FlavorProvider {
        provider: "second".to_owned(),
        provider_url: "https://second.example.com".to_owned(),
    });
    for flavor in [&first, &second] {
        ok(
            store.create(flavor).await,
            format!("{PORT} ({C}): create of new flavor {}", flavor.id),
        );
        let got = ok(
            store.get(&flavor.id).await,
            format!("{PORT} ({C}): get({})", flavor.id),
        );
        assert_eq!(
            got.as_ref(),
            Some(flavor),
            "{PORT} ({C}): get after create must return the flavor as written (providers in \
             order, limits)"
        );
    }
    let listed = ok(store.list().await, format!("{PORT} ({C}): list"));
    for flavor in [&first, &second] {
        assert!(
            listed.contains(flavor),
            "{PORT} ({C}): list must include created flavor {flavor:?}"
        );
    }
    let ids: Vec<&str> = listed.iter().map(|f| f.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "{PORT} ({C}): list must be ordered by id");

    ok(
        store.delete(&first.id).await,
        format!("{PORT} ({C}): delete({})", first.id),
    );
    let gone = ok(
        store.get(&first.id).await,
        format!("{PORT} ({C}): get after delete"),
    );
    assert!(
        gone.is_none(),
        "{PORT} ({C}): get after delete must be Ok(None), got {gone:?}"
    );
    let listed = ok(
        store.list().await,
        format!("{PORT} ({C}): list after delete"),
    );
    assert!(
        !listed.iter().any(|f| f.id == first.id),
        "{PORT} ({C}): list after delete must not include the deleted flavor"
    );
    assert!(
        listed.contains(&second),
        "{PORT} ({C}): deleting one flavor must not delete another"
    );
    ok(
        store.delete(&second.id).await,
        format!("{PORT} ({C}): delete (cleanup)"),
    );
}

/// `create` of an existing id is `Conflict` and changes nothing.
pub async fn duplicate_is_conflict(store: &dyn FlavorStore) {
    const C: &str = "duplicate_is_conflict";
    let flavor = fixtures::unique_flavor();
    ok(store.create(&flavor).await, format!("{PORT} ({C}): create"));
    let mut twin = fixtures::flavor_with(&flavor.id, &["other"]);
    twin.limits = None;
    let error = err(
        store.create(&twin).await,
        format!("{PORT} ({C}): create of an existing id {}", flavor.id),
    );
    assert!(
        matches!(error, PortError::Conflict(_)),
        "{PORT} ({C}): create of an existing flavor id must be Conflict, got {error:?}"
    );
    let got = ok(store.get(&flavor.id).await, format!("{PORT} ({C}): get"));
    assert_eq!(
        got.as_ref(),
        Some(&flavor),
        "{PORT} ({C}): a refused duplicate create must not change the stored flavor"
    );
    ok(
        store.delete(&flavor.id).await,
        format!("{PORT} ({C}): delete (cleanup)"),
    );
}

/// `get` of a missing id is `Ok(None)`; `delete` of a missing id succeeds.
pub async fn missing_flavor(store: &dyn FlavorStore) {
    const C: &str = "missing_flavor";
    let id = fixtures::unique_flavor().id;
    let got = ok(
        store.get(&id).await,
        format!("{PORT} ({C}): get of a missing id"),
    );
    assert!(
        got.is_none(),
        "{PORT} ({C}): get of a missing flavor must be Ok(None), got {got:?}"
    );
    ok(
        store.delete(&id).await,
        format!("{PORT} ({C}): delete of a missing id (must succeed)"),
    );
}
