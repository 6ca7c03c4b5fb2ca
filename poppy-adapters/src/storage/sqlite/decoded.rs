//! Recently read services, decoded.
//!
//! A service row keeps its definition and provider details as JSON text;
//! parsing them was the largest cost of `get` and `list` after SQLite
//! itself (a quarter of a list request). Hot services are read again and
//! again (dashboards poll them, listings page over them), so the store keeps
//! the services it decoded, keyed by service id and checked against the
//! row's revision (its `version` and `generation` columns): every write of a
//! row through the store bumps its version and every insert draws a new
//! generation, so a revision names one content of a row. Any change to the
//! row (by this process, another process sharing the file, or a delete and
//! re-create under the same id) is a miss, never a stale answer, and
//! checking costs a look-up in a small index instead of reading the row.
//!
//! A hit hands out the same `Arc<Service>` as the read before it: no copy
//! of the service per read.
//!
//! Bounded by entry count, with `quick_cache`'s S3-FIFO eviction: a
//! one-off read of many services (a client paging through all of them)
//! does not push out the ones read again and again.

use std::sync::Arc;

use poppy_core::model::{Service, ServiceId};
use poppy_core::ports::Revision;
use quick_cache::sync::Cache;

/// The cache; `capacity == 0` turns it off.
pub(crate) struct DecodeCache {
    entries: Option<Cache<ServiceId, (Revision, Arc<Service>)>>,
}

impl DecodeCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: (capacity > 0).then(|| Cache::new(capacity)),
        }
    }

    /// Whether it holds anything at all (capacity above 0).
    pub(crate) fn is_on(&self) -> bool {
        self.entries.is_some()
    }

    /// The service of row `id` at `revision`, if it is held.
    pub(crate) fn get(&self, id: &ServiceId, revision: Revision) -> Option<Arc<Service>> {
        let (held, service) = self.entries.as_ref()?.get(id)?;
        (held == revision).then_some(service)
    }

    /// The service of row `id` at `revision`: the held one, else what
    /// `decode` builds (and is remembered).
    pub(crate) fn get_or_decode<E>(
        &self,
        id: &ServiceId,
        revision: Revision,
        decode: impl FnOnce() -> Result<Service, E>,
    ) -> Result<Arc<Service>, E> {
        if let Some(hit) = self.get(id, revision) {
            return Ok(hit);
        }
        let service = Arc::new(decode()?);
        if let Some(entries) = &self.entries {
            entries.insert(*id, (revision, service.clone()));
        }
        Ok(service)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, Cache::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poppy_core::model::ProjectId;

    fn service(id: ServiceId, name: &str) -> Service {
        let spec = serde_json::from_value(serde_json::json!({
            "name": name,
            "domains": [],
            "origins": [],
            "flavor_id": "standard"
        }))
        .unwrap();
        let mut service = Service::new(ProjectId::new("p"), spec, 0);
        service.id = id;
        service
    }

    fn rev(version: u128, generation: u128) -> Revision {
        Revision::new(version << 64 | generation)
    }

    fn read(
        cache: &DecodeCache,
        id: ServiceId,
        revision: Revision,
        name: &str,
        calls: &mut u32,
    ) -> Arc<Service> {
        cache
            .get_or_decode(&id, revision, || {
                *calls += 1;
                Ok::<_, ()>(service(id, name))
            })
            .unwrap()
    }

    #[test]
    fn the_same_revision_is_decoded_once_and_shared_and_another_one_again() {
        let cache = DecodeCache::new(16);
        let id = ServiceId::new_random();
        let mut calls = 0;
        let a = read(&cache, id, rev(0, 7), "one", &mut calls);
        let b = read(&cache, id, rev(0, 7), "one", &mut calls);
        assert_eq!(calls, 1);
        assert!(Arc::ptr_eq(&a, &b), "a hit hands out the same snapshot");
        assert!(Arc::ptr_eq(&cache.get(&id, rev(0, 7)).unwrap(), &a));

        let c = read(&cache, id, rev(1, 7), "two", &mut calls);
        assert_eq!(calls, 2, "a new version is decoded again");
        assert_eq!(c.spec.name, "two");
        assert!(
            cache.get(&id, rev(0, 7)).is_none(),
            "the old revision is gone"
        );

        let d = read(&cache, id, rev(1, 8), "three", &mut calls);
        assert_eq!(
            calls, 3,
            "a new generation (re-created row) is decoded again"
        );
        assert!(!Arc::ptr_eq(&c, &d));
        assert_eq!(a.spec.name, "one", "a snapshot never changes");
    }

    #[test]
    fn a_failed_decode_is_not_remembered() {
        let cache = DecodeCache::new(16);
        let id = ServiceId::new_random();
        let failed = cache.get_or_decode(&id, rev(0, 1), || Err::<Service, _>("corrupt"));
        assert_eq!(failed.err(), Some("corrupt"));
        assert!(cache.get(&id, rev(0, 1)).is_none());
    }

    #[test]
    fn capacity_bounds_entries_and_zero_turns_it_off() {
        let cache = DecodeCache::new(16);
        let mut calls = 0;
        for _ in 0..100 {
            read(&cache, ServiceId::new_random(), rev(0, 0), "s", &mut calls);
        }
        assert!(cache.len() <= 16, "{} entries held", cache.len());

        let off = DecodeCache::new(0);
        let id = ServiceId::new_random();
        let mut calls = 0;
        let a = read(&off, id, rev(0, 0), "s", &mut calls);
        let b = read(&off, id, rev(0, 0), "s", &mut calls);
        assert_eq!(calls, 2);
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(off.get(&id, rev(0, 0)).is_none());
    }
}
