//! Shared-SSL shard assignment (§7.3): a shared domain `X` becomes `X.<shard>`
//! on the first shard that is not full and where that name is free.

use crate::error::{Error, Result};
use crate::model::{ServiceId, ServiceSpec};
use crate::ports::{DnsManager, ServiceStore};

/// Gives every shared domain of `spec` that is still a bare label a full
/// name. A label that `previous` already had keeps its full name (PATCH).
pub(super) async fn assign_shards(
    dns: &dyn DnsManager,
    store: &dyn ServiceStore,
    spec: &mut ServiceSpec,
    previous: Option<&ServiceSpec>,
    service_id: Option<&ServiceId>,
) -> Result<()> {
    for domain in spec.domains.iter_mut().filter(|d| d.is_shared_ssl()) {
        if domain.domain.contains('.') {
            continue;
        }
        let label = domain.domain.clone();
        let kept = previous.and_then(|prev| {
            prev.domains
                .iter()
                .filter(|d| d.is_shared_ssl())
                .find(|d| d.domain.split('.').next() == Some(label.as_str()))
        });
        if let Some(kept) = kept {
            domain.domain = kept.domain.clone();
            continue;
        }
        domain.domain = free_shard_name(dns, store, &label, service_id).await?;
    }
    Ok(())
}

async fn free_shard_name(
    dns: &dyn DnsManager,
    store: &dyn ServiceStore,
    label: &str,
    service_id: Option<&ServiceId>,
) -> Result<String> {
    for shard in dns.shared_ssl_shards() {
        if dns.is_shard_full(&shard).await? {
            continue;
        }
        let candidate = format!("{label}.{shard}");
        match store.find_by_domain(&candidate).await? {
            Some(holder) if Some(&holder.id) != service_id => continue,
            _ => return Ok(candidate),
        }
    }
    Err(Error::BadRequest(format!(
        "Domain {label} has already been taken"
    )))
}
