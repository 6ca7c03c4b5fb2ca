//! The Rackspace Cloud DNS driver (REST over `reqwest`).
//!
//! Names, zones and targets come from [`poppy_core::dns::Sharding`]; this
//! module only writes them, through the Cloud DNS v1.0 API:
//!
//! - **Auth**: `POST <auth_endpoint>/tokens` with user name and API key
//!   gives a token and (unless `endpoint` is set) the `rax:dns` endpoint of
//!   the catalog. A 401 re-authenticates and repeats the request once.
//! - **Zones** are Cloud DNS domains, one per shard (`cdn3.poppycdn.net`,
//!   `scdn2.secure.poppycdn.net`), found with `GET /domains?name=` (cached)
//!   and created on first use (`email`, `zone_ttl`), as the original did.
//! - **Records**: each record is looked up first
//!   (`GET /domains/{id}/records?type=CNAME&name=`): missing ones are added
//!   in one `POST /domains/{id}/records`, changed ones re-pointed in one
//!   `PUT /domains/{id}/records`, unchanged ones left alone (so re-creating
//!   is a no-op), and deletions are one `DELETE /domains/{id}/records?id=…`;
//!   a record that is not there is already deleted.
//! - **Jobs**: write calls answer with an asynchronous job, polled with
//!   `GET /status/{jobId}?showDetails=true` every `job_poll_interval_ms`
//!   until `COMPLETED` or `ERROR`, at most `job_timeout_secs`.
//! - **Errors**: 413/429 ("over limit", with `Retry-After`) → `RateLimited`;
//!   5xx, timeouts, connection failures, unfinished jobs → `Unavailable`;
//!   other refusals → `Invalid` with Cloud DNS's message.

mod client;
mod config;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use poppy_core::dns::{CnameRecord, RecordRef, Sharding, ZoneRef};
use poppy_core::model::{AccessUrl, ProviderLink, Service};
use poppy_core::ports::{DnsManager, PortError};
use reqwest::Method;
use serde_json::{json, Value};
use tracing::debug;

use client::Client;
pub use config::{RackspaceDnsConfig, RackspaceDnsConfigError, DEFAULT_AUTH_ENDPOINT};

/// The driver's name, shown by the health endpoint.
pub const NAME: &str = "rackspace";

/// Page size when counting a zone's records without `totalEntries`.
const COUNT_PAGE: u64 = 100;

/// One CNAME as Cloud DNS holds it.
#[derive(Debug, Clone)]
struct Record {
    id: String,
    data: String,
    ttl: Option<u64>,
}

/// The Rackspace Cloud DNS driver; see the [module documentation](self).
pub struct RackspaceDns {
    config: RackspaceDnsConfig,
    sharding: Sharding,
    client: Client,
    /// Zone name → Cloud DNS domain id.
    zones: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for RackspaceDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RackspaceDns")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RackspaceDns {
    /// A driver for `config`, after checking it (no request is made yet).
    pub fn build(config: RackspaceDnsConfig) -> Result<Self, RackspaceDnsConfigError> {
        config.validate()?;
        let sharding = Sharding::new(config.shard_settings())?;
        let client = Client::new(config.clone()).map_err(|e| {
            RackspaceDnsConfigError::Invalid(format!("cannot build the HTTP client: {e}"))
        })?;
        Ok(Self {
            config,
            sharding,
            client,
            zones: Mutex::new(HashMap::new()),
        })
    }

    /// The configuration this driver runs with.
    pub fn config(&self) -> &RackspaceDnsConfig {
        &self.config
    }

    /// The names, zones and targets this driver writes.
    pub fn sharding(&self) -> &Sharding {
        &self.sharding
    }

    /// The target of CNAME `name`, if the record exists.
    pub async fn cname(&self, name: &str) -> Result<Option<String>, PortError> {
        let Some(zone) = self.sharding.zone_of(name, false) else {
            return Ok(None);
        };
        let Some(id) = self.find_zone(&zone).await? else {
            return Ok(None);
        };
        Ok(self
            .find_records(&id, name)
            .await?
            .into_iter()
            .next()
            .map(|r| r.data))
    }

    /// The Cloud DNS domain id of `zone`, if it exists.
    async fn find_zone(&self, zone: &ZoneRef) -> Result<Option<String>, PortError> {
        if let Some(id) = self
            .zones
            .lock()
            .ok()
            .and_then(|z| z.get(&zone.name).cloned())
        {
            return Ok(Some(id));
        }
        let answer = match self
            .client
            .request(
                Method::GET,
                "/domains",
                &[("name", zone.name.clone())],
                None,
            )
            .await
        {
            Ok(answer) => answer,
            Err(PortError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        // The name filter also matches sub-domains: keep the exact one.
        let id = answer["domains"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["name"].as_str().is_some_and(|n| same_name(n, &zone.name)))
            .and_then(|d| id_of(&d["id"]));
        if let (Some(id), Ok(mut cache)) = (&id, self.zones.lock()) {
            cache.insert(zone.name.clone(), id.clone());
        }
        Ok(id)
    }

    /// The domain id of `zone`, creating the zone when it does not exist.
    async fn zone_id(&self, zone: &ZoneRef) -> Result<String, PortError> {
        if let Some(id) = self.find_zone(zone).await? {
            return Ok(id);
        }
        if self.config.email.trim().is_empty() {
            return Err(PortError::Invalid(format!(
                "Cloud DNS zone {} does not exist and [dns] email is not set to create it",
                zone.name
            )));
        }
        debug!(zone = %zone.name, "creating Cloud DNS zone");
        let body = json!({
            "domains": [{
                "name": zone.name,
                "emailAddress": self.config.email,
                "ttl": self.config.zone_ttl,
            }]
        });
        match self
            .client
            .request_job(Method::POST, "/domains", &[], Some(&body))
            .await
        {
            Ok(response) => {
                if let Some(id) = id_of(&response["domains"][0]["id"]) {
                    if let Ok(mut cache) = self.zones.lock() {
                        cache.insert(zone.name.clone(), id.clone());
                    }
                    return Ok(id);
                }
            }
            // Made by someone else meanwhile.
            Err(PortError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        self.find_zone(zone).await?.ok_or_else(|| {
            PortError::unavailable(
                client::BACKEND,
                format!("zone {} was created but cannot be found yet", zone.name),
            )
        })
    }

    /// The CNAME records named `name` in domain `zone_id`.
    async fn find_records(&self, zone_id: &str, name: &str) -> Result<Vec<Record>, PortError> {
        let answer = match self
            .client
            .request(
                Method::GET,
                &format!("/domains/{zone_id}/records"),
                &[("type", "CNAME".to_owned()), ("name", name.to_owned())],
                None,
            )
            .await
        {
            Ok(answer) => answer,
            Err(PortError::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(answer["records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| {
                r["type"] == "CNAME" && r["name"].as_str().is_some_and(|n| same_name(n, name))
            })
            .filter_map(|r| {
                Some(Record {
                    id: id_of(&r["id"])?,
                    data: r["data"].as_str().unwrap_or_default().to_owned(),
                    ttl: r["ttl"].as_u64(),
                })
            })
            .collect())
    }

    /// Creates, re-points or leaves each record, per zone: one `POST` for
    /// the missing ones, one `PUT` for the changed ones.
    async fn upsert(&self, records: &[CnameRecord]) -> Result<(), PortError> {
        let mut by_zone: BTreeMap<&ZoneRef, Vec<&CnameRecord>> = BTreeMap::new();
        for record in records {
            by_zone.entry(&record.zone).or_default().push(record);
        }
        for (zone, records) in by_zone {
            let zone_id = self.zone_id(zone).await?;
            let mut create = Vec::new();
            let mut update = Vec::new();
            for record in records {
                match self.find_records(&zone_id, &record.name).await?.first() {
                    None => create.push(json!({
                        "name": record.name,
                        "type": "CNAME",
                        "data": record.target,
                        "ttl": record.ttl,
                    })),
                    Some(existing)
                        if same_name(&existing.data, &record.target)
                            && existing.ttl == Some(u64::from(record.ttl)) => {}
                    Some(existing) => update.push(json!({
                        "id": existing.id,
                        "name": record.name,
                        "data": record.target,
                        "ttl": record.ttl,
                    })),
                }
            }
            let path = format!("/domains/{zone_id}/records");
            if !create.is_empty() {
                debug!(zone = %zone.name, records = create.len(), "adding CNAMEs");
                self.client
                    .request_job(
                        Method::POST,
                        &path,
                        &[],
                        Some(&json!({ "records": create })),
                    )
                    .await?;
            }
            if !update.is_empty() {
                debug!(zone = %zone.name, records = update.len(), "re-pointing CNAMEs");
                self.client
                    .request_job(Method::PUT, &path, &[], Some(&json!({ "records": update })))
                    .await?;
            }
        }
        Ok(())
    }

    /// Deletes `records` (all records of each name, should there be more
    /// than one); missing records and zones are already deleted.
    async fn delete_records(&self, records: &[RecordRef]) -> Result<(), PortError> {
        let mut by_zone: BTreeMap<&ZoneRef, Vec<&RecordRef>> = BTreeMap::new();
        for record in records {
            by_zone.entry(&record.zone).or_default().push(record);
        }
        for (zone, records) in by_zone {
            let Some(zone_id) = self.find_zone(zone).await? else {
                continue;
            };
            let mut ids = Vec::new();
            for record in records {
                ids.extend(
                    self.find_records(&zone_id, &record.name)
                        .await?
                        .into_iter()
                        .map(|r| ("id", r.id)),
                );
            }
            if ids.is_empty() {
                continue;
            }
            debug!(zone = %zone.name, records = ids.len(), "deleting CNAMEs");
            match self
                .client
                .request_job(
                    Method::DELETE,
                    &format!("/domains/{zone_id}/records"),
                    &ids,
                    None,
                )
                .await
            {
                Ok(_) | Err(PortError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Records in the zone of a shard: `totalEntries`, or counted by pages
    /// up to `limit`.
    async fn count_records(&self, zone_id: &str, limit: u64) -> Result<u64, PortError> {
        let path = format!("/domains/{zone_id}/records");
        let mut offset = 0;
        let mut count = 0;
        loop {
            let answer = self
                .client
                .request(
                    Method::GET,
                    &path,
                    &[
                        ("limit", COUNT_PAGE.to_string()),
                        ("offset", offset.to_string()),
                    ],
                    None,
                )
                .await?;
            if let Some(total) = answer["totalEntries"].as_u64() {
                return Ok(total);
            }
            let page = answer["records"].as_array().map_or(0, |r| r.len() as u64);
            count += page;
            if page < COUNT_PAGE || count >= limit {
                return Ok(count);
            }
            offset += COUNT_PAGE;
        }
    }
}

#[async_trait]
impl DnsManager for RackspaceDns {
    fn name(&self) -> &str {
        NAME
    }

    /// The account's zones can be listed (as the original's `list()`).
    async fn is_alive(&self) -> bool {
        self.client
            .request(Method::GET, "/domains", &[("limit", "1".to_owned())], None)
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

    /// New and kept records first, then the records of dropped domains: a
    /// failure in between leaves only records the next attempt (same plan)
    /// re-points or deletes.
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

    /// The shard's zone holds `records_limit` records or more. A shard
    /// whose zone does not exist yet is empty: the zone is created with its
    /// first record (the original called it full, so shared-SSL domains
    /// failed until an operator made every shard zone by hand).
    async fn is_shard_full(&self, shard: &str) -> Result<bool, PortError> {
        if !self.sharding.is_shared_ssl_shard(shard) {
            return Err(PortError::Invalid(format!(
                "{shard} is not a shared-SSL shard of this Rackspace DNS driver"
            )));
        }
        let zone = self.sharding.shared_ssl_zone(shard);
        let Some(zone_id) = self.find_zone(&zone).await? else {
            return Ok(self.sharding.is_full(0));
        };
        let limit = u64::from(self.sharding.settings().records_limit);
        Ok(self
            .sharding
            .is_full(self.count_records(&zone_id, limit).await?))
    }
}

/// Cloud DNS ids are numbers for domains and strings (`CNAME-123`) for records.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}
