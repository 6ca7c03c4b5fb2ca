//! Decoded JSON columns of recently read services.
//!
//! A service row keeps its definition and provider details as JSON text;
//! parsing them was the largest cost of `get` and `list` after SQLite
//! itself (a quarter of a list request). Hot services are read again and
//! again (dashboards poll them, listings page over them), so the store keeps
//! what it parsed, keyed by service id *and the exact text it parsed*: a hit
//! is a byte comparison and a clone, and any change to the row (by this
//! process, another process sharing the file, or a delete and re-create
//! under the same id) is a miss, never a stale answer.
//!
//! Bounded by entry count; a full shard drops an arbitrary entry.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use poppy_core::model::{ProviderDetail, ServiceId, ServiceSpec};

/// Shards, so readers on different threads rarely meet on one lock.
const SHARDS: usize = 8;

/// What one row's JSON columns decoded to.
pub(crate) struct Decoded {
    spec_text: Box<str>,
    details_text: Box<str>,
    pub(crate) spec: ServiceSpec,
    pub(crate) provider_details: BTreeMap<String, ProviderDetail>,
}

/// The cache; `capacity == 0` turns it off.
pub(crate) struct DecodeCache {
    shards: Vec<Mutex<HashMap<ServiceId, Arc<Decoded>>>>,
    per_shard: usize,
}

impl DecodeCache {
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS);
        let shards = if per_shard == 0 { 0 } else { SHARDS };
        Self {
            shards: (0..shards).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard,
        }
    }

    fn shard(&self, id: &ServiceId) -> Option<&Mutex<HashMap<ServiceId, Arc<Decoded>>>> {
        if self.shards.is_empty() {
            return None;
        }
        // The low bits of a UUID are random (v4 and v7 alike).
        let index = (id.as_uuid().as_u128() as usize) % self.shards.len();
        self.shards.get(index)
    }

    /// What `spec_text` and `details_text` of service `id` decode to: from
    /// the cache when this exact text was decoded before, else from `decode`
    /// (and remembered).
    pub(crate) fn get_or_decode<E>(
        &self,
        id: &ServiceId,
        spec_text: &str,
        details_text: &str,
        decode: impl FnOnce() -> Result<Decoded, E>,
    ) -> Result<Arc<Decoded>, E> {
        let Some(shard) = self.shard(id) else {
            return decode().map(Arc::new);
        };
        let cached = shard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned();
        if let Some(hit) = cached {
            if *hit.spec_text == *spec_text && *hit.details_text == *details_text {
                return Ok(hit);
            }
        }
        let decoded = Arc::new(decode()?);
        let mut map = shard.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.per_shard && !map.contains_key(id) {
            if let Some(evicted) = map.keys().next().copied() {
                map.remove(&evicted);
            }
        }
        map.insert(*id, decoded.clone());
        Ok(decoded)
    }
}

impl Decoded {
    pub(crate) fn new(
        spec_text: &str,
        details_text: &str,
        spec: ServiceSpec,
        provider_details: BTreeMap<String, ProviderDetail>,
    ) -> Self {
        Self {
            spec_text: spec_text.into(),
            details_text: details_text.into(),
            spec,
            provider_details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> ServiceSpec {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "domains": [],
            "origins": [],
            "flavor_id": "standard"
        }))
        .unwrap()
    }

    fn decode(name: &str, calls: &mut u32) -> Result<Decoded, ()> {
        *calls += 1;
        Ok(Decoded::new(name, "{}", spec(name), BTreeMap::new()))
    }

    #[test]
    fn same_text_is_decoded_once_and_changed_text_again() {
        let cache = DecodeCache::new(16);
        let id = ServiceId::new_random();
        let mut calls = 0;
        let a = cache
            .get_or_decode(&id, "one", "{}", || decode("one", &mut calls))
            .unwrap();
        let b = cache
            .get_or_decode(&id, "one", "{}", || decode("one", &mut calls))
            .unwrap();
        assert_eq!(calls, 1);
        assert_eq!(a.spec.name, b.spec.name);
        let c = cache
            .get_or_decode(&id, "two", "{}", || decode("two", &mut calls))
            .unwrap();
        assert_eq!(calls, 2);
        assert_eq!(c.spec.name, "two");
        let d = cache
            .get_or_decode(&id, "two", "{\"x\":1}", || decode("two", &mut calls))
            .unwrap();
        assert_eq!(calls, 3, "changed provider details are decoded again");
        assert_eq!(d.spec.name, "two");
    }

    #[test]
    fn capacity_bounds_entries_and_zero_turns_it_off() {
        let cache = DecodeCache::new(16);
        let mut calls = 0;
        for _ in 0..100 {
            let id = ServiceId::new_random();
            cache
                .get_or_decode(&id, "s", "{}", || decode("s", &mut calls))
                .unwrap();
        }
        let held: usize = cache.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= 16, "{held} entries held");

        let off = DecodeCache::new(0);
        let id = ServiceId::new_random();
        let mut calls = 0;
        off.get_or_decode(&id, "s", "{}", || decode("s", &mut calls))
            .unwrap();
        off.get_or_decode(&id, "s", "{}", || decode("s", &mut calls))
            .unwrap();
        assert_eq!(calls, 2);
    }
}
