//! Rendered service bodies, reused while the service is unchanged.
//!
//! Rendering and serialising a service was the largest cost of `GET
//! /services` (two fifths of a request listing 20) and a tenth of `GET
//! /services/{id}`. A store that keeps revisions gives every snapshot the
//! revision of the stored service it shows (`ports::Snapshot`), and a new
//! revision on every write, never one a service id had before. So the JSON
//! rendered from a snapshot is kept under its project, id and revision, for
//! the base URL it was rendered with (links carry the host, scheme and mount
//! prefix of the request), and served again for that revision:
//!
//! - `GET /services` reuses the body of every listed snapshot at the same
//!   revision;
//! - `GET /services/{id}` asks the store for the service *unless* it is
//!   still at the held revision (`ServiceApi::get_service_if_changed`), so
//!   an unchanged service costs a look-up of its revision, not a read and a
//!   decode of the row; the service itself need not be held in memory, only
//!   its body (a kilobyte or two where the decoded service takes several).
//!
//! A snapshot without a revision is rendered every time. Bounded by entry
//! count, with `quick_cache`'s S3-FIFO eviction (a scan over many services
//! does not push out the hot ones).

use std::sync::Arc;

use axum::body::Bytes;
use poppy_core::model::{ProjectId, Service, ServiceId};
use poppy_core::ports::{Revision, ServicePage, Snapshot};
use quick_cache::sync::Cache;

use crate::extract::Links;
use crate::render::{Link, ServiceView};

/// A body and what it was rendered from (behind an `Arc` in the cache: a
/// look-up clones the entry, which must not copy its strings).
struct Rendered {
    // The project too, although ids are unique: a body is only ever
    // served to the project it was read for.
    project: ProjectId,
    revision: Revision,
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

    /// The body held for service `id` of `project` rendered with `links`,
    /// and the revision it shows (to ask the store whether it still is
    /// the current one).
    pub(crate) fn held(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        links: &Links,
    ) -> Option<(Revision, Bytes)> {
        let hit = self.entries.as_ref()?.get(id)?;
        (hit.project == *project && *hit.base_url == *links.base_url())
            .then(|| (hit.revision, hit.json.clone()))
    }

    /// `snapshot` as `GET /services/{id}` renders it with `links`.
    pub(crate) fn json(&self, snapshot: &Snapshot, links: &Links) -> serde_json::Result<Bytes> {
        let service = &snapshot.service;
        let (Some(entries), Some(revision)) = (&self.entries, snapshot.revision) else {
            return render(service, links);
        };
        if let Some(hit) = entries.get(&service.id) {
            if hit.revision == revision
                && hit.project == service.project_id
                && *hit.base_url == *links.base_url()
            {
                return Ok(hit.json.clone());
            }
        }
        let json = render(service, links)?;
        entries.insert(
            service.id,
            Arc::new(Rendered {
                project: service.project_id.clone(),
                revision,
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
    use poppy_core::testkit::fixtures;

    fn snapshot(name: &str, revision: u128) -> Snapshot {
        let mut service = fixtures::service(&ProjectId::new("tenant"));
        service.spec.name = name.to_owned();
        Snapshot {
            service: Arc::new(service),
            revision: Some(Revision::new(revision)),
        }
    }

    /// `snapshot`'s service at another revision, renamed.
    fn next(snapshot: &Snapshot, name: &str, revision: u128) -> Snapshot {
        let mut service = (*snapshot.service).clone();
        service.spec.name = name.to_owned();
        Snapshot {
            service: Arc::new(service),
            revision: Some(Revision::new(revision)),
        }
    }

    fn text(bytes: &Bytes) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_same_revision_and_base_is_served_again_anything_else_is_rendered() {
        let cache = RenderedServices::new(16);
        let links = Links::for_base("http://a.example");
        let first = snapshot("first", 1);
        let a = cache.json(&first, &links).unwrap();
        let b = cache.json(&first, &links).unwrap();
        assert_eq!(a.as_ptr(), b.as_ptr(), "a hit shares the rendered bytes");
        assert_eq!(a, render(&first.service, &links).unwrap());

        // The store's next revision of the same service: rendered anew.
        let second = next(&first, "second", 2);
        let c = cache.json(&second, &links).unwrap();
        assert!(text(&c).contains("\"second\""), "{}", text(&c));

        // Another host: its own links.
        let other = Links::for_base("https://b.example");
        let d = cache.json(&second, &other).unwrap();
        assert!(text(&d).contains("https://b.example/v1.0/services/"));
        assert!(!text(&d).contains("a.example"));
    }

    #[test]
    fn the_held_body_is_offered_for_its_project_and_base_only() {
        let cache = RenderedServices::new(16);
        let links = Links::for_base("http://a.example");
        let first = snapshot("first", 7);
        let (project, id) = (first.service.project_id.clone(), first.service.id);
        assert!(cache.held(&project, &id, &links).is_none());
        let body = cache.json(&first, &links).unwrap();

        let (revision, held) = cache.held(&project, &id, &links).expect("held");
        assert_eq!(revision, Revision::new(7));
        assert_eq!(held, body);
        assert!(
            cache
                .held(&ProjectId::new("someone-else"), &id, &links)
                .is_none(),
            "another project's body is never offered"
        );
        assert!(cache
            .held(&project, &id, &Links::for_base("http://b.example"))
            .is_none());
        assert!(cache
            .held(&project, &ServiceId::new_random(), &links)
            .is_none());
    }

    #[test]
    fn a_snapshot_without_a_revision_is_always_rendered() {
        let cache = RenderedServices::new(16);
        let links = Links::for_base("http://a.example");
        let mut unrevised = snapshot("first", 0);
        unrevised.revision = None;
        let a = cache.json(&unrevised, &links).unwrap();
        let b = cache.json(&unrevised, &links).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.as_ptr(), b.as_ptr(), "nothing is kept without a revision");
        let service = &unrevised.service;
        assert!(cache
            .held(&service.project_id, &service.id, &links)
            .is_none());
    }

    #[test]
    fn capacity_bounds_entries_and_zero_turns_it_off() {
        let links = Links::for_base("http://a.example");
        let cache = RenderedServices::new(16);
        let held: Vec<_> = (0..100).map(|i| snapshot(&format!("s{i}"), i)).collect();
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
        let service = &held[0].service;
        assert!(off.held(&service.project_id, &service.id, &links).is_none());
    }
}
