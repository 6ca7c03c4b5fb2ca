//! Rendered service bodies, reused while the service is unchanged.
//!
//! Rendering and serialising a service was the largest cost of `GET
//! /services` (two fifths of a request listing 20) and a tenth of `GET
//! /services/{id}`. The store hands out a shared snapshot (`Arc<Service>`)
//! and the *same* `Arc` for as long as the stored row is unchanged
//! (`ServiceStore::get_shared`), so the JSON rendered from a snapshot can be
//! served again whenever the store hands out that snapshot again, for the
//! same base URL (links carry the host, scheme and mount prefix of the
//! request). Each entry keeps a `Weak` of the snapshot it rendered: that
//! keeps the allocation (not the service) alive, so no other snapshot can
//! ever have the same address, and address equality means the very same,
//! immutable service. A store that builds a new `Arc` per read never hits.
//!
//! Bounded by entry count, with `quick_cache`'s S3-FIFO eviction (a scan
//! over many services does not push out the hot ones).

use std::sync::{Arc, Weak};

use axum::body::Bytes;
use poppy_core::model::{Service, ServiceId};
use poppy_core::ports::ServicePage;
use quick_cache::sync::Cache;

use crate::extract::Links;
use crate::render::{Link, ServiceView};

struct Rendered {
    service: Weak<Service>,
    base_url: Box<str>,
    json: Bytes,
}

/// The cache; `capacity == 0` turns it off.
pub(crate) struct RenderedServices {
    entries: Option<Cache<ServiceId, Arc<Rendered>>>,
}

impl RenderedServices {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: (capacity > 0).then(|| Cache::new(capacity)),
        }
    }

    /// `service` as `GET /services/{id}` renders it with `links`.
    pub(crate) fn json(&self, service: &Arc<Service>, links: &Links) -> serde_json::Result<Bytes> {
        let Some(entries) = &self.entries else {
            return render(service, links);
        };
        if let Some(hit) = entries.get(&service.id) {
            if std::ptr::eq(hit.service.as_ptr(), Arc::as_ptr(service))
                && *hit.base_url == *links.base_url()
            {
                return Ok(hit.json.clone());
            }
        }
        let json = render(service, links)?;
        entries.insert(
            service.id,
            Arc::new(Rendered {
                service: Arc::downgrade(service),
                base_url: links.base_url().into(),
                json: json.clone(),
            }),
        );
        Ok(json)
    }

    /// `GET /services`: `{"links": [next?], "services": [...]}`, each service
    /// as [`RenderedServices::json`] renders it (the same bytes a
    /// serialised list view would be).
    pub(crate) fn list_json(&self, page: &ServicePage, links: &Links) -> serde_json::Result<Bytes> {
        let next: Vec<Link> = page
            .next_marker
            .iter()
            .map(|marker| {
                Link::new(
                    links.link(&format!("/services?marker={marker}&limit={}", page.limit)),
                    "next",
                )
            })
            .collect();
        let services = page
            .services
            .iter()
            .map(|service| self.json(service, links))
            .collect::<serde_json::Result<Vec<_>>>()?;
        let size = services.iter().map(|s| s.len() + 1).sum::<usize>() + 64;
        let mut body = Vec::with_capacity(size);
        body.extend_from_slice(b"{\"links\":");
        serde_json::to_writer(&mut body, &next)?;
        body.extend_from_slice(b",\"services\":[");
        for (i, service) in services.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(service);
        }
        body.extend_from_slice(b"]}");
        Ok(Bytes::from(body))
    }
}

fn render(service: &Service, links: &Links) -> serde_json::Result<Bytes> {
    serde_json::to_vec(&ServiceView::new(service, links)).map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use poppy_core::model::ProjectId;
    use poppy_core::testkit::fixtures;

    fn snapshot(name: &str) -> Arc<Service> {
        let mut service = fixtures::service(&ProjectId::new("tenant"));
        service.spec.name = name.to_owned();
        Arc::new(service)
    }

    fn text(bytes: &Bytes) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_same_snapshot_and_base_is_served_again_anything_else_is_rendered() {
        let cache = RenderedServices::new(16);
        let links = Links::for_base("http://a.example");
        let first = snapshot("first");
        let a = cache.json(&first, &links).unwrap();
        let b = cache.json(&first, &links).unwrap();
        assert_eq!(a.as_ptr(), b.as_ptr(), "a hit shares the rendered bytes");
        assert_eq!(a, render(&first, &links).unwrap());

        // The store's next snapshot of the same service (same id): rendered anew.
        let mut changed = (*first).clone();
        changed.spec.name = "second".to_owned();
        let second = Arc::new(changed);
        let c = cache.json(&second, &links).unwrap();
        assert!(text(&c).contains("\"second\""), "{}", text(&c));

        // Another host: its own links.
        let other = Links::for_base("https://b.example");
        let d = cache.json(&second, &other).unwrap();
        assert!(text(&d).contains("https://b.example/v1.0/services/"));
        assert!(!text(&d).contains("a.example"));
    }

    #[test]
    fn a_dropped_snapshot_is_never_mistaken_for_a_new_one() {
        let cache = RenderedServices::new(16);
        let links = Links::for_base("http://a.example");
        let old = snapshot("old");
        let id = old.id;
        cache.json(&old, &links).unwrap();
        drop(old);
        for _ in 0..100 {
            // New snapshots of the same id, allocated while the entry's
            // `Weak` holds the old address: each is rendered from itself.
            let mut fresh = (*snapshot("fresh")).clone();
            fresh.id = id;
            let fresh = Arc::new(fresh);
            let json = cache.json(&fresh, &links).unwrap();
            assert!(text(&json).contains("\"fresh\""));
        }
    }

    #[test]
    fn capacity_bounds_entries_and_zero_turns_it_off() {
        let links = Links::for_base("http://a.example");
        let cache = RenderedServices::new(16);
        let held: Vec<_> = (0..100).map(|i| snapshot(&format!("s{i}"))).collect();
        for service in &held {
            cache.json(service, &links).unwrap();
        }
        let entries = cache.entries.as_ref().map_or(0, Cache::len);
        assert!(entries <= 16, "{entries} entries held");

        let off = RenderedServices::new(0);
        let a = off.json(&held[0], &links).unwrap();
        let b = off.json(&held[0], &links).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.as_ptr(), b.as_ptr(), "nothing is kept with capacity 0");
    }
}
