//! Recently read services, decoded.
//!
//! A service row keeps its definition and provider details as JSON text;
//! parsing them was the largest cost of `get` and `list` after SQLite
//! itself (a quarter of a list request). Hot services are read again and
//! again (dashboards poll them, listings page over them), so the store keeps
//! the services it decoded, keyed by service id and checked against *the
//! exact text it parsed and every other column*: a hit is a byte comparison
//! and a reference count, and any change to the row (by this process,
//! another process sharing the file, or a delete and re-create under the
//! same id) is a miss, never a stale answer.
//!
//! A hit hands out the same `Arc<Service>` as the read before it, which is
//! what `ServiceStore::get_shared` promises: callers may cache what they
//! derive from a service by the `Arc`'s identity.
//!
//! Bounded by entry count, with `quick_cache`'s S3-FIFO eviction: a
//! one-off read of many services (a client paging through all of them)
//! does not push out the ones read again and again.

use std::sync::Arc;

use poppy_core::model::{Service, ServiceId};
use quick_cache::sync::Cache;

/// A decoded row and the JSON text it was decoded from.
struct Decoded {
    spec_text: Box<[u8]>,
    details_text: Box<[u8]>,
    service: Arc<Service>,
}

/// The cache; `capacity == 0` turns it off.
pub(crate) struct DecodeCache {
    entries: Option<Cache<ServiceId, Arc<Decoded>>>,
}

impl DecodeCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: (capacity > 0).then(|| Cache::new(capacity)),
        }
    }

    /// The service of row `id`, whose JSON columns hold `spec_text` and
    /// `details_text` (bytes as stored) and whose other columns
    /// `same_columns` compares: the
    /// cached one when the texts are the same and `same_columns` accepts it,
    /// else what `decode` builds (and remembers).
    pub(crate) fn get_or_decode<E>(
        &self,
        id: &ServiceId,
        spec_text: &[u8],
        details_text: &[u8],
        same_columns: impl Fn(&Service) -> bool,
        decode: impl FnOnce() -> Result<Service, E>,
    ) -> Result<Arc<Service>, E> {
        let Some(entries) = &self.entries else {
            return decode().map(Arc::new);
        };
        if let Some(hit) = entries.get(id) {
            if *hit.spec_text == *spec_text
                && *hit.details_text == *details_text
                && same_columns(&hit.service)
            {
                return Ok(hit.service.clone());
            }
        }
        let service = Arc::new(decode()?);
        entries.insert(
            *id,
            Arc::new(Decoded {
                spec_text: spec_text.into(),
                details_text: details_text.into(),
                service: service.clone(),
            }),
        );
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

    fn service(id: ServiceId, name: &str, version: u64) -> Service {
        let spec = serde_json::from_value(serde_json::json!({
            "name": name,
            "domains": [],
            "origins": [],
            "flavor_id": "standard"
        }))
        .unwrap();
        let mut service = Service::new(ProjectId::new("p"), spec, 0);
        service.id = id;
        service.version = version;
        service
    }

    fn read(
        cache: &DecodeCache,
        id: ServiceId,
        texts: (&str, &str),
        version: u64,
        calls: &mut u32,
    ) -> Arc<Service> {
        cache
            .get_or_decode(
                &id,
                texts.0.as_bytes(),
                texts.1.as_bytes(),
                |s| s.version == version,
                || {
                    *calls += 1;
                    Ok::<_, ()>(service(id, texts.0, version))
                },
            )
            .unwrap()
    }

    #[test]
    fn the_same_row_is_decoded_once_and_shared_and_a_changed_one_again() {
        let cache = DecodeCache::new(16);
        let id = ServiceId::new_random();
        let mut calls = 0;
        let a = read(&cache, id, ("one", "{}"), 0, &mut calls);
        let b = read(&cache, id, ("one", "{}"), 0, &mut calls);
        assert_eq!(calls, 1);
        assert!(Arc::ptr_eq(&a, &b), "a hit hands out the same snapshot");
        let c = read(&cache, id, ("two", "{}"), 0, &mut calls);
        assert_eq!(calls, 2);
        assert_eq!(c.spec.name, "two");
        let d = read(&cache, id, ("two", "{\"x\":1}"), 0, &mut calls);
        assert_eq!(calls, 3, "changed provider details are decoded again");
        let e = read(&cache, id, ("two", "{\"x\":1}"), 1, &mut calls);
        assert_eq!(calls, 4, "a changed column is decoded again");
        assert!(!Arc::ptr_eq(&d, &e));
        assert_eq!(a.spec.name, "one", "a snapshot never changes");
    }

    #[test]
    fn capacity_bounds_entries_and_zero_turns_it_off() {
        let cache = DecodeCache::new(16);
        let mut calls = 0;
        for _ in 0..100 {
            read(&cache, ServiceId::new_random(), ("s", "{}"), 0, &mut calls);
        }
        assert!(cache.len() <= 16, "{} entries held", cache.len());

        let off = DecodeCache::new(0);
        let id = ServiceId::new_random();
        let mut calls = 0;
        let a = read(&off, id, ("s", "{}"), 0, &mut calls);
        let b = read(&off, id, ("s", "{}"), 0, &mut calls);
        assert_eq!(calls, 2);
        assert!(!Arc::ptr_eq(&a, &b));
    }
}
