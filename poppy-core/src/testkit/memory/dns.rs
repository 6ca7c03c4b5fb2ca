//! In-memory [`DnsManager`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::faults::{lock, FailureKind, Faults};
use crate::model::{AccessUrl, ProviderLink, Service, ServiceId};
use crate::ports::{DnsManager, PortError};

const DNS: &str = "memory";
/// The operator zone of a [`MemoryDns`] unless told otherwise.
pub const DEFAULT_ZONE: &str = "cdn.poppy.test";
/// Where disabled services' records point unless told otherwise.
pub const DEFAULT_NOT_FOUND_TARGET: &str = "notfound.poppy.test";
/// Suffix of the shared-SSL shards `scdn1..scdn5.<suffix>`.
pub const DEFAULT_SHARD_SUFFIX: &str = "secure.poppy.test";

/// Operations of [`MemoryDns`] that can be told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsOp {
    Create,
    Update,
    Delete,
    SetEnabled,
    IsShardFull,
}

impl DnsOp {
    fn name(self) -> &'static str {
        match self {
            DnsOp::Create => "create",
            DnsOp::Update => "update",
            DnsOp::Delete => "delete",
            DnsOp::SetEnabled => "set_enabled",
            DnsOp::IsShardFull => "is_shard_full",
        }
    }
}

/// One call made to a [`MemoryDns`], failed ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsCall {
    Create {
        service_id: ServiceId,
        links: Vec<ProviderLink>,
    },
    Update {
        service_id: ServiceId,
        current: Vec<AccessUrl>,
        links: Vec<ProviderLink>,
    },
    Delete {
        access_urls: Vec<AccessUrl>,
    },
    SetEnabled {
        access_urls: Vec<AccessUrl>,
        enabled: bool,
    },
    IsShardFull {
        shard: String,
    },
}

impl DnsCall {
    pub fn op(&self) -> DnsOp {
        match self {
            DnsCall::Create { .. } => DnsOp::Create,
            DnsCall::Update { .. } => DnsOp::Update,
            DnsCall::Delete { .. } => DnsOp::Delete,
            DnsCall::SetEnabled { .. } => DnsOp::SetEnabled,
            DnsCall::IsShardFull { .. } => DnsOp::IsShardFull,
        }
    }
}

#[derive(Debug, Default)]
struct DnsState {
    /// CNAMEs: operator name → target.
    records: BTreeMap<String, String>,
    calls: Vec<DnsCall>,
    full_shards: BTreeSet<String>,
}

#[derive(Debug)]
struct DnsInner {
    zone: String,
    not_found_target: String,
    shards: Vec<String>,
    state: Mutex<DnsState>,
    faults: Faults<DnsOp>,
    alive: AtomicBool,
}

/// A [`DnsManager`] that keeps CNAMEs `operator_url → target` in a map.
///
/// A domain `d` gets the record `d.<zone>`; a shared-SSL domain (one that
/// already ends with one of the shards, `x.scdn2.secure.poppy.test`) is its
/// own record, flagged `shared_ssl_flag`. Shards are
/// `scdn1..scdn5.secure.poppy.test`, never full unless
/// [`set_shard_full`](Self::set_shard_full) says so. Clones share records.
#[derive(Debug, Clone)]
pub struct MemoryDns {
    inner: Arc<DnsInner>,
}

impl Default for MemoryDns {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryDns {
    pub fn new() -> Self {
        Self::build(
            DEFAULT_ZONE.to_owned(),
            DEFAULT_NOT_FOUND_TARGET.to_owned(),
            (1..=5)
                .map(|i| format!("scdn{i}.{DEFAULT_SHARD_SUFFIX}"))
                .collect(),
        )
    }

    fn build(zone: String, not_found_target: String, shards: Vec<String>) -> Self {
        Self {
            inner: Arc::new(DnsInner {
                zone,
                not_found_target,
                shards,
                state: Mutex::new(DnsState::default()),
                faults: Faults::default(),
                alive: AtomicBool::new(true),
            }),
        }
    }

    /// Records are made under `zone` (and no records are kept).
    pub fn with_zone(self, zone: impl Into<String>) -> Self {
        Self::build(
            zone.into(),
            self.inner.not_found_target.clone(),
            self.inner.shards.clone(),
        )
    }

    /// Disabled records point at `target` (and no records are kept).
    pub fn with_not_found_target(self, target: impl Into<String>) -> Self {
        Self::build(
            self.inner.zone.clone(),
            target.into(),
            self.inner.shards.clone(),
        )
    }

    /// Shared-SSL shards, in the order they are offered (and no records are kept).
    pub fn with_shards(self, shards: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self::build(
            self.inner.zone.clone(),
            self.inner.not_found_target.clone(),
            shards.into_iter().map(Into::into).collect(),
        )
    }

    /// The operator zone.
    pub fn zone(&self) -> &str {
        &self.inner.zone
    }

    /// Where disabled records point.
    pub fn not_found_target(&self) -> &str {
        &self.inner.not_found_target
    }

    /// The operator name a domain gets.
    pub fn operator_url_for(&self, domain: &str) -> String {
        if self.is_shared(domain) {
            domain.to_owned()
        } else {
            format!("{domain}.{}", self.inner.zone)
        }
    }

    /// Whether `shard` reports full.
    pub fn set_shard_full(&self, shard: &str, full: bool) {
        let mut state = lock(&self.inner.state);
        if full {
            state.full_shards.insert(shard.to_owned());
        } else {
            state.full_shards.remove(shard);
        }
    }

    /// The next `times` calls of `op` fail with `kind` (recorded, no effect).
    pub fn fail_next(&self, op: DnsOp, times: u32, kind: FailureKind) {
        self.inner.faults.fail_next(op, times, kind);
    }

    /// Forgets every planned failure.
    pub fn clear_failures(&self) {
        self.inner.faults.clear();
    }

    /// What `is_alive` reports (true by default).
    pub fn set_alive(&self, alive: bool) {
        self.inner.alive.store(alive, Ordering::SeqCst);
    }

    /// Every CNAME: operator name → target.
    pub fn records(&self) -> BTreeMap<String, String> {
        lock(&self.inner.state).records.clone()
    }

    /// The target of one record.
    pub fn record(&self, operator_url: &str) -> Option<String> {
        lock(&self.inner.state).records.get(operator_url).cloned()
    }

    /// Every call so far, failed ones included, in order.
    pub fn calls(&self) -> Vec<DnsCall> {
        lock(&self.inner.state).calls.clone()
    }

    /// How many calls of `op` were made.
    pub fn call_count(&self, op: DnsOp) -> usize {
        lock(&self.inner.state)
            .calls
            .iter()
            .filter(|c| c.op() == op)
            .count()
    }

    fn is_shared(&self, domain: &str) -> bool {
        self.inner.shards.iter().any(|shard| {
            domain
                .strip_suffix(shard.as_str())
                .is_some_and(|head| head.ends_with('.') && head.len() > 1)
        })
    }

    fn enter(&self, call: DnsCall) -> Result<(), PortError> {
        let op = call.op();
        lock(&self.inner.state).calls.push(call);
        match self.inner.faults.take(op) {
            Some(kind) => Err(kind.to_error(DNS, op.name())),
            None => Ok(()),
        }
    }

    /// Points a record for `link` (at `operator_url` if given) and says so.
    fn point(&self, state: &mut DnsState, link: &ProviderLink, name: Option<&str>) -> AccessUrl {
        let name = name
            .map(str::to_owned)
            .unwrap_or_else(|| self.operator_url_for(&link.domain));
        state.records.insert(name.clone(), link.href.clone());
        AccessUrl {
            domain: link.domain.clone(),
            provider_url: Some(link.href.clone()),
            operator_url: Some(name),
            shared_ssl_flag: self.is_shared(&link.domain),
            old_operator_url: None,
        }
    }
}

#[async_trait]
impl DnsManager for MemoryDns {
    fn name(&self) -> &str {
        DNS
    }

    async fn is_alive(&self) -> bool {
        self.inner.alive.load(Ordering::SeqCst)
    }

    async fn create(
        &self,
        service: &Service,
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError> {
        self.enter(DnsCall::Create {
            service_id: service.id,
            links: links.to_vec(),
        })?;
        let mut state = lock(&self.inner.state);
        Ok(links
            .iter()
            .map(|link| self.point(&mut state, link, None))
            .collect())
    }

    async fn update(
        &self,
        service: &Service,
        current: &[AccessUrl],
        links: &[ProviderLink],
    ) -> Result<Vec<AccessUrl>, PortError> {
        self.enter(DnsCall::Update {
            service_id: service.id,
            current: current.to_vec(),
            links: links.to_vec(),
        })?;
        let mut state = lock(&self.inner.state);
        let kept: BTreeSet<&str> = links.iter().map(|l| l.domain.as_str()).collect();
        for gone in current.iter().filter(|u| !kept.contains(u.domain.as_str())) {
            if let Some(name) = &gone.operator_url {
                state.records.remove(name);
            }
        }
        Ok(links
            .iter()
            .map(|link| {
                let existing = current
                    .iter()
                    .find(|u| u.domain == link.domain)
                    .and_then(|u| u.operator_url.as_deref());
                self.point(&mut state, link, existing)
            })
            .collect())
    }

    async fn delete(&self, access_urls: &[AccessUrl]) -> Result<(), PortError> {
        self.enter(DnsCall::Delete {
            access_urls: access_urls.to_vec(),
        })?;
        let mut state = lock(&self.inner.state);
        for name in access_urls.iter().filter_map(|u| u.operator_url.as_ref()) {
            state.records.remove(name);
        }
        Ok(())
    }

    async fn set_enabled(&self, access_urls: &[AccessUrl], enabled: bool) -> Result<(), PortError> {
        self.enter(DnsCall::SetEnabled {
            access_urls: access_urls.to_vec(),
            enabled,
        })?;
        let mut state = lock(&self.inner.state);
        for url in access_urls {
            let Some(name) = &url.operator_url else {
                continue;
            };
            let target = if enabled {
                url.provider_url.clone()
            } else {
                Some(self.inner.not_found_target.clone())
            };
            if let Some(target) = target {
                state.records.insert(name.clone(), target);
            }
        }
        Ok(())
    }

    fn shared_ssl_shards(&self) -> Vec<String> {
        self.inner.shards.clone()
    }

    async fn is_shard_full(&self, shard: &str) -> Result<bool, PortError> {
        self.enter(DnsCall::IsShardFull {
            shard: shard.to_owned(),
        })?;
        Ok(lock(&self.inner.state).full_shards.contains(shard))
    }
}
