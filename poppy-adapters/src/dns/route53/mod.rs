//! The Route53 DNS driver (`aws-sdk-route53`).
//!
//! Names, zones and targets come from [`poppy_core::dns::Sharding`]; this
//! module only writes them:
//!
//! - **Hosted zones** are looked up by name, most specific first: a record
//!   of shard `cdn3.poppycdn.net` goes to a hosted zone of that name if the
//!   operator made one, else to `poppycdn.net`'s (one hosted zone holding
//!   every shard is the usual set-up). Found zones are cached.
//! - **Changes** are one `ChangeResourceRecordSets` batch per hosted zone
//!   and call (Route53 applies a batch atomically): `UPSERT` creates or
//!   re-points, so re-creating a record is a no-op. A `DELETE` must repeat
//!   the record exactly, so the record is read first; a record that is not
//!   there is already deleted. Route53 answers `InvalidChangeBatch` for a
//!   record deleted meanwhile (moto: `InvalidInput`): the batch is then
//!   retried change by change and those answers count as success.
//! - With `wait_for_sync`, a call returns once `GetChange` reports `INSYNC`
//!   (bounded by `sync_timeout_secs`).
//! - **Errors**: `Throttling` / `PriorRequestNotComplete` (and HTTP 429) →
//!   `RateLimited`; 5xx, timeouts and connection failures → `Unavailable`;
//!   any other refusal → `Invalid` (not retried).

mod config;
mod error;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_sdk_route53::Client;
use poppy_core::dns::{CnameRecord, RecordRef, Sharding, ZoneRef};
use poppy_core::model::{AccessUrl, ProviderLink, Service};
use poppy_core::ports::{DnsManager, PortError};
use tokio::sync::OnceCell;
use tracing::debug;

pub use aws_sdk_route53 as sdk;
pub use config::{Route53Config, Route53ConfigError};
use error::{build_error, is_missing_record, sdk_error, BACKEND};

/// The driver's name, shown by the health endpoint.
pub const NAME: &str = "route53";

/// Route53 accepts up to 1000 changes per batch; stay well below.
const MAX_CHANGES_PER_BATCH: usize = 500;
/// Page size when counting a shard's records (Route53's maximum is 300).
const COUNT_PAGE: i32 = 300;

/// A hosted zone: its id (without `/hostedzone/`) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostedZone {
    id: String,
    name: String,
}

/// The Route53 driver; see the [module documentation](self).
pub struct Route53Dns {
    config: Route53Config,
    sharding: Sharding,
    client: OnceCell<Client>,
    /// Shard zone name → hosted zone.
    zones: Mutex<HashMap<String, HostedZone>>,
}

impl std::fmt::Debug for Route53Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route53Dns")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A Route53 client for `config`: its endpoint, region, credentials (static
/// ones, or the AWS default chain), timeout and SDK retry attempts.
pub async fn connect(config: &Route53Config) -> Client {
    let retry = aws_config::retry::RetryConfig::standard().with_max_attempts(config.max_attempts);
    let timeout = aws_config::timeout::TimeoutConfig::builder()
        .operation_timeout(Duration::from_secs(config.timeout_secs))
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(config.region.clone()))
        .retry_config(retry)
        .timeout_config(timeout);
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        loader = loader.credentials_provider(aws_sdk_route53::config::Credentials::new(
            id,
            secret,
            config.session_token.clone(),
            None,
            "poppy-config",
        ));
    }
    Client::new(&loader.load().await)
}

impl Route53Dns {
    /// A driver for `config`, after checking it. The client is made on first
    /// use (loading AWS configuration is asynchronous).
    pub fn build(config: Route53Config) -> Result<Self, Route53ConfigError> {
        config.validate()?;
        let sharding = Sharding::new(config.shard_settings())?;
        Ok(Self {
            config,
            sharding,
            client: OnceCell::new(),
            zones: Mutex::new(HashMap::new()),
        })
    }

    /// A driver using `client` (an embedder's own, or a test's).
    pub fn with_client(config: Route53Config, client: Client) -> Result<Self, Route53ConfigError> {
        let driver = Self::build(config)?;
        // The cell is fresh, so this cannot fail.
        let _ = driver.client.set(client);
        Ok(driver)
    }

    /// The configuration this driver runs with.
    pub fn config(&self) -> &Route53Config {
        &self.config
    }

    /// The names, zones and targets this driver writes.
    pub fn sharding(&self) -> &Sharding {
        &self.sharding
    }

    /// The Route53 client.
    pub async fn client(&self) -> &Client {
        self.client.get_or_init(|| connect(&self.config)).await
    }

    /// The target of CNAME `name`, if the record exists (for operators and
    /// tests: what a tenant's name resolves to).
    pub async fn cname(&self, name: &str) -> Result<Option<String>, PortError> {
        let Some(zone) = self.sharding.zone_of(name, false) else {
            return Ok(None);
        };
        let Some(hosted) = self.hosted_zone_for(&zone).await? else {
            return Ok(None);
        };
        Ok(self
            .find_record(&hosted, name)
            .await?
            .and_then(|r| r.resource_records().first().map(|v| trim_dot(v.value()))))
    }

    /// The hosted zone holding the records of `zone`: the most specific
    /// hosted zone named `zone` or one of its parents; `None` when there is
    /// none.
    async fn hosted_zone_for(&self, zone: &ZoneRef) -> Result<Option<HostedZone>, PortError> {
        if let Some(found) = self.cached_zone(&zone.name) {
            return Ok(Some(found));
        }
        let client = self.client().await;
        let mut candidate = zone.name.as_str();
        loop {
            let out = client
                .list_hosted_zones_by_name()
                .dns_name(candidate)
                .max_items(5)
                .send()
                .await
                .map_err(|e| sdk_error("ListHostedZonesByName", e))?;
            let mut matching: Vec<_> = out
                .hosted_zones()
                .iter()
                .filter(|z| same_name(z.name(), candidate))
                .collect();
            // A public zone is the one tenants resolve through.
            matching.sort_by_key(|z| z.config().is_some_and(|c| c.private_zone()));
            if let Some(found) = matching.first() {
                let hosted = HostedZone {
                    id: found.id().trim_start_matches("/hostedzone/").to_owned(),
                    name: trim_dot(found.name()),
                };
                debug!(zone = %zone.name, hosted_zone = %hosted.name, id = %hosted.id, "hosted zone found");
                if let Ok(mut cache) = self.zones.lock() {
                    cache.insert(zone.name.clone(), hosted.clone());
                }
                return Ok(Some(hosted));
            }
            match candidate.split_once('.') {
                // Stop before a top-level domain: no hosted zone is that.
                Some((_, parent)) if parent.contains('.') => candidate = parent,
                _ => return Ok(None),
            }
        }
    }

    fn cached_zone(&self, zone: &str) -> Option<HostedZone> {
        self.zones.lock().ok()?.get(zone).cloned()
    }

    fn forget_zone(&self, hosted: &HostedZone) {
        if let Ok(mut cache) = self.zones.lock() {
            cache.retain(|_, z| z != hosted);
        }
    }

    /// Hosted zone of each record; a record without one is an error naming
    /// the zones looked for.
    async fn group_upserts<'a>(
        &self,
        records: &'a [CnameRecord],
    ) -> Result<BTreeMap<(String, String), Vec<&'a CnameRecord>>, PortError> {
        let mut groups: BTreeMap<(String, String), Vec<&CnameRecord>> = BTreeMap::new();
        for record in records {
            let Some(hosted) = self.hosted_zone_for(&record.zone).await? else {
                return Err(PortError::Invalid(format!(
                    "no Route53 hosted zone holds {} (looked for {} and its parent domains); \
                     create the hosted zone or fix [dns] url / shared_ssl_domain_suffix",
                    record.name, record.zone.name
                )));
            };
            groups
                .entry((hosted.id, hosted.name))
                .or_default()
                .push(record);
        }
        Ok(groups)
    }

    /// Creates or re-points `records` (one batch per hosted zone).
    async fn upsert(&self, records: &[CnameRecord]) -> Result<(), PortError> {
        for ((id, name), records) in self.group_upserts(records).await? {
            let hosted = HostedZone { id, name };
            let changes = records
                .iter()
                .map(|r| {
                    let rrs = ResourceRecordSet::builder()
                        .name(&r.name)
                        .r#type(RrType::Cname)
                        .ttl(i64::from(r.ttl))
                        .resource_records(
                            ResourceRecord::builder()
                                .value(&r.target)
                                .build()
                                .map_err(build_error)?,
                        )
                        .build()
                        .map_err(build_error)?;
                    Change::builder()
                        .action(ChangeAction::Upsert)
                        .resource_record_set(rrs)
                        .build()
                        .map_err(build_error)
                })
                .collect::<Result<Vec<_>, PortError>>()?;
            for batch in changes.chunks(MAX_CHANGES_PER_BATCH) {
                self.apply(&hosted, batch.to_vec(), "create or re-point CNAMEs")
                    .await?;
            }
        }
        Ok(())
    }

    /// Deletes `records`; records (or hosted zones) that are not there are
    /// already deleted.
    async fn delete_records(&self, records: &[RecordRef]) -> Result<(), PortError> {
        let mut by_zone: BTreeMap<(String, String), Vec<(String, Change)>> = BTreeMap::new();
        for record in records {
            let Some(hosted) = self.hosted_zone_for(&record.zone).await? else {
                continue;
            };
            let Some(existing) = self.find_record(&hosted, &record.name).await? else {
                continue;
            };
            by_zone
                .entry((hosted.id, hosted.name))
                .or_default()
                .push((record.name.clone(), delete_change(existing)?));
        }
        for ((id, name), changes) in by_zone {
            let hosted = HostedZone { id, name };
            for batch in changes.chunks(MAX_CHANGES_PER_BATCH) {
                let batch_changes = batch.iter().map(|(_, c)| c.clone()).collect();
                match self.apply(&hosted, batch_changes, "delete CNAMEs").await {
                    Ok(()) => {}
                    Err(PortError::Invalid(message)) if is_missing_record(&message) => {
                        // A record changed or went meanwhile and spoiled the
                        // batch: delete each as it is now.
                        for (name, _) in batch {
                            self.delete_one(&hosted, name).await?;
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Deletes CNAME `name` as Route53 holds it now; reads it again if it
    /// changed between the read and the delete.
    async fn delete_one(&self, hosted: &HostedZone, name: &str) -> Result<(), PortError> {
        for _ in 0..3 {
            let Some(existing) = self.find_record(hosted, name).await? else {
                return Ok(());
            };
            match self
                .apply(hosted, vec![delete_change(existing)?], "delete a CNAME")
                .await
            {
                Err(PortError::Invalid(message)) if is_missing_record(&message) => continue,
                other => return other,
            }
        }
        Err(PortError::unavailable(
            BACKEND,
            format!("CNAME {name} kept changing while it was being deleted"),
        ))
    }

    /// Sends one change batch, then waits for `INSYNC` if configured.
    async fn apply(
        &self,
        hosted: &HostedZone,
        changes: Vec<Change>,
        what: &str,
    ) -> Result<(), PortError> {
        let count = changes.len();
        let batch = ChangeBatch::builder()
            .comment(format!("poppy: {what}"))
            .set_changes(Some(changes))
            .build()
            .map_err(build_error)?;
        let client = self.client().await;
        let out = match client
            .change_resource_record_sets()
            .hosted_zone_id(&hosted.id)
            .change_batch(batch)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let error = sdk_error("ChangeResourceRecordSets", e);
                if matches!(error, PortError::NotFound(_)) {
                    // The hosted zone went away: look it up again next time.
                    self.forget_zone(hosted);
                }
                return Err(error);
            }
        };
        debug!(hosted_zone = %hosted.name, changes = count, what, "Route53 change batch applied");
        if !self.config.wait_for_sync {
            return Ok(());
        }
        let Some(info) = out.change_info() else {
            return Ok(());
        };
        self.wait_in_sync(info.id(), info.status()).await
    }

    /// Polls `GetChange` until `INSYNC`, at most `sync_timeout_secs`.
    async fn wait_in_sync(&self, change_id: &str, status: &ChangeStatus) -> Result<(), PortError> {
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(self.config.sync_timeout_secs);
        let pause = Duration::from_millis(self.config.sync_poll_interval_ms);
        let mut status = status.clone();
        while status != ChangeStatus::Insync {
            if tokio::time::Instant::now() + pause > deadline {
                return Err(PortError::Unavailable {
                    backend: BACKEND.to_owned(),
                    message: format!(
                        "change {change_id} is still {} after {} s",
                        status.as_str(),
                        self.config.sync_timeout_secs
                    ),
                    retry_after: Some(pause),
                });
            }
            tokio::time::sleep(pause).await;
            let out = self
                .client()
                .await
                .get_change()
                .id(change_id)
                .send()
                .await
                .map_err(|e| sdk_error("GetChange", e))?;
            status = out
                .change_info()
                .map_or(ChangeStatus::Insync, |i| i.status().clone());
        }
        Ok(())
    }

    /// The CNAME record set named `name`, as Route53 holds it.
    async fn find_record(
        &self,
        hosted: &HostedZone,
        name: &str,
    ) -> Result<Option<ResourceRecordSet>, PortError> {
        let out = self
            .client()
            .await
            .list_resource_record_sets()
            .hosted_zone_id(&hosted.id)
            .start_record_name(name)
            .start_record_type(RrType::Cname)
            .max_items(1)
            .send()
            .await
            .map_err(|e| sdk_error("ListResourceRecordSets", e))?;
        Ok(out
            .resource_record_sets()
            .iter()
            .find(|r| *r.r#type() == RrType::Cname && same_name(r.name(), name))
            .cloned())
    }

    /// Records at or under `shard`, counted up to `limit`.
    async fn count_records(
        &self,
        hosted: &HostedZone,
        shard: &str,
        limit: u64,
    ) -> Result<u64, PortError> {
        let client = self.client().await;
        let prefix = reversed(shard);
        let mut count = 0;
        let mut start: Option<(String, RrType)> = None;
        loop {
            let (name, kind) = start.clone().unwrap_or((shard.to_owned(), RrType::Cname));
            let mut request = client
                .list_resource_record_sets()
                .hosted_zone_id(&hosted.id)
                .start_record_name(name)
                .max_items(COUNT_PAGE);
            if start.is_some() {
                request = request.start_record_type(kind);
            }
            let out = request
                .send()
                .await
                .map_err(|e| sdk_error("ListResourceRecordSets", e))?;
            for record in out.resource_record_sets() {
                let name = reversed(&trim_dot(record.name()));
                // Records are sorted by reversed name: once past the
                // shard's names, there are no more of them.
                if !name.starts_with(&prefix) {
                    return Ok(count);
                }
                if name.len() > prefix.len() && name[prefix.len()..].starts_with('.') {
                    count += 1;
                    if count >= limit {
                        return Ok(count);
                    }
                }
            }
            match (
                out.is_truncated(),
                out.next_record_name(),
                out.next_record_type(),
            ) {
                (true, Some(name), Some(kind)) => start = Some((name.to_owned(), kind.clone())),
                _ => return Ok(count),
            }
        }
    }
}

#[async_trait]
impl DnsManager for Route53Dns {
    fn name(&self) -> &str {
        NAME
    }

    /// The operator's zone can be looked up.
    async fn is_alive(&self) -> bool {
        self.client()
            .await
            .list_hosted_zones_by_name()
            .dns_name(&self.sharding.settings().url)
            .max_items(1)
            .send()
            .await
            .is_ok()
    }

    async fn create(
        &self,
        service: &Service,
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError> {
        let plan = self.sharding.plan_create(service, links)?;
        self.upsert(&plan.upserts).await?;
        Ok(plan.access_urls)
    }

    /// New and kept records first (one atomic batch per hosted zone), then
    /// the records of dropped domains: a failure in between leaves only
    /// records the next attempt (same plan) re-points or deletes.
    async fn update(
        &self,
        service: &Service,
        current: &[AccessUrl],
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError> {
        let plan = self.sharding.plan_update(service, current, links)?;
        self.upsert(&plan.upserts).await?;
        self.delete_records(&plan.deletes).await?;
        Ok(plan.access_urls)
    }

    async fn delete(&self, access_urls: &[AccessUrl]) -> Result<(), PortError> {
        self.delete_records(&self.sharding.plan_delete(access_urls))
            .await
    }

    async fn set_enabled(&self, access_urls: &[AccessUrl], enabled: bool) -> Result<(), PortError> {
        self.upsert(&self.sharding.plan_set_enabled(access_urls, enabled))
            .await
    }

    fn shared_ssl_shards(&self) -> Vec<String> {
        self.sharding.shared_ssl_shards_shuffled()
    }

    /// Counts the records under `shard` (up to `records_limit`); a shard
    /// without a hosted zone is full, as in the original.
    async fn is_shard_full(&self, shard: &str) -> Result<bool, PortError> {
        if !self.sharding.is_shared_ssl_shard(shard) {
            return Err(PortError::Invalid(format!(
                "{shard} is not a shared-SSL shard of this Route53 driver"
            )));
        }
        let zone = self.sharding.shared_ssl_zone(shard);
        let Some(hosted) = self.hosted_zone_for(&zone).await? else {
            return Ok(true);
        };
        let limit = u64::from(self.sharding.settings().records_limit);
        let count = self.count_records(&hosted, &zone.name, limit).await?;
        Ok(self.sharding.is_full(count))
    }
}

fn delete_change(existing: ResourceRecordSet) -> Result<Change, PortError> {
    Change::builder()
        .action(ChangeAction::Delete)
        .resource_record_set(existing)
        .build()
        .map_err(build_error)
}

/// Lower case, without the trailing dot, with Route53's `\ddd` escapes
/// (`\052` for `*`) decoded.
fn trim_dot(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.iter().all(u8::is_ascii_digit));
        match escaped.and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok()) {
            Some(b) => {
                out.push(char::from(b));
                i += 4;
            }
            None => {
                out.push(char::from(bytes[i]));
                i += 1;
            }
        }
    }
    out.trim_end_matches('.').to_ascii_lowercase()
}

fn same_name(route53_name: &str, name: &str) -> bool {
    trim_dot(route53_name) == name.trim_end_matches('.').to_ascii_lowercase()
}

/// `www.example.com` → `com.example.www`: Route53's sort order.
fn reversed(name: &str) -> String {
    name.split('.').rev().collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route53_names_are_normalised() {
        assert_eq!(trim_dot("WWW.Example.com."), "www.example.com");
        assert_eq!(trim_dot("\\052.example.com."), "*.example.com");
        assert!(same_name("a.b.c.", "A.b.c"));
        assert_eq!(reversed("a.b.c"), "c.b.a");
    }
}
