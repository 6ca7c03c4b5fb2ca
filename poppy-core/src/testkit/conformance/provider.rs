//! Conformance of a [`CdnProvider`] to its "# Contract".
//!
//! Every check makes its own service with fresh domains and deletes the
//! configurations it made.

use std::collections::BTreeSet;

use super::{err, ok};
use crate::model::{ProjectId, ProviderDeployment, PurgeTarget, Service};
use crate::ports::{CdnProvider, PortError};
use crate::testkit::fixtures;

const PORT: &str = "CdnProvider";

/// Runs every check of the provider contract.
pub async fn run_all(provider: &dyn CdnProvider) {
    create_links_every_domain(provider).await;
    create_is_idempotent(provider).await;
    update_pushes_the_new_definition(provider).await;
    purge_as_capabilities_say(provider).await;
    delete_is_idempotent_and_status_is_not_found_after(provider).await;
}

fn name(provider: &dyn CdnProvider) -> String {
    format!("{PORT} {}", provider.name())
}

async fn create(provider: &dyn CdnProvider, service: &Service, c: &str) -> ProviderDeployment {
    let deployment = ok(
        provider.create(service).await,
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
        provider.delete(id, service).await,
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

/// `create` returns the configuration's id and a link per domain; its
/// status can be read.
pub async fn create_links_every_domain(provider: &dyn CdnProvider) {
    const C: &str = "create_links_every_domain";
    let service = fixtures::service(&ProjectId::random());
    let deployment = create(provider, &service, C).await;
    assert_links(provider, &deployment, &service, C);
    ok(
        provider.status(&deployment.provider_service_id).await,
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
        provider
            .update(&created.provider_service_id, &changed)
            .await,
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
        provider.status(&updated.provider_service_id).await,
        format!("{} ({C}): status after update", name(provider)),
    );
    delete(provider, &updated.provider_service_id, &changed, C).await;
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
            provider.purge(id, &service, &target, hard).await,
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
        provider.delete(id, &service).await,
        format!(
            "{} ({C}): second delete of {id} (must succeed: already gone)",
            name(provider)
        ),
    );
    let error = err(
        provider.status(id).await,
        format!(
            "{} ({C}): status of deleted configuration {id}",
            name(provider)
        ),
    );
    assert!(
        matches!(error, PortError::NotFound(_)),
        "{} ({C}): status of a deleted configuration must be NotFound, got {error:?}",
        name(provider)
    );
}
