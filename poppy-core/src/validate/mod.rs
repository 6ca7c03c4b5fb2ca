//! Request validation (reference §3): every rule of the original, with all
//! field errors of a body reported at once, each with its JSON pointer.
//!
//! Bodies are validated from raw JSON (`serde_json::Value`) so that type
//! errors ("port must be an integer") are reported per field like any other
//! rule instead of as one opaque parse failure.

pub mod analytics;
pub mod certificate;
pub mod domain;
mod fields;
mod flavor;
pub mod geo;
pub mod net;
mod patch;
mod query;
mod service;

use serde_json::Value;

use crate::error::{Error, FieldError};
use crate::model::{Flavor, PurgeTarget, ServiceId, ServiceSpec};
use crate::ports::{ListQuery, PurgeQuery};

/// Settings validation depends on.
#[derive(Debug, Clone)]
pub struct Options {
    /// TTL of the caching rule added when a create has none (`default_cache_ttl`).
    pub default_cache_ttl: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            default_cache_ttl: crate::model::DEFAULT_CACHE_TTL,
        }
    }
}

/// Whether a body is a create (defaults such as the default caching rule are
/// added) or the result of a PATCH (no caching default, §2.6.5 step 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `POST /services`: an absent or empty `caching` gets the default entry.
    Create,
    /// A patched view: `caching` stays as the patch left it.
    Update,
}

/// Validates a service body (POST, or a patched view) and returns the
/// normalised spec: domains lower-cased, origins stripped, default rules
/// filled in. Shared-SSL domains keep their bare label here; the manager
/// assigns shards.
///
/// Every problem is reported, each with the JSON pointer of the offending
/// value; keys the reference does not define are errors at every level.
/// Cross-service rules (domain already taken, flavor exists) are the
/// manager's.
pub fn service(
    body: &Value,
    mode: Mode,
    options: &Options,
) -> Result<ServiceSpec, Vec<FieldError>> {
    service::validate(body, mode, options)
}

/// The client view of a spec a JSON patch is applied to (§2.6.5): shared
/// domains are shown by their bare label, every domain carries `protocol`
/// and `certificate` (null for http), each origin `hostheadervalue`.
///
/// For a valid spec, `service(&patch_view(&spec), Mode::Update, ..)` gives
/// the spec back (with shared domains as bare labels).
pub fn patch_view(spec: &ServiceSpec) -> Value {
    patch::view(spec)
}

/// Applies an RFC 6902 patch (`add`, `remove`, `replace`, `move`, `copy`,
/// `test`) to `view`. A body that is not an array of operations, or an
/// operation that fails, is an error naming the operation; its path is
/// `/<index of the operation>`. The result is not validated: pass it to
/// [`service`] with [`Mode::Update`].
pub fn apply_patch(view: &Value, patch: &Value) -> Result<Value, Vec<FieldError>> {
    patch::apply(view, patch)
}

/// Validates a flavor body (§2.7); `providers` are the configured provider names.
/// The first link of each provider becomes its `provider_url`; `limits`
/// is kept as given.
pub fn flavor(body: &Value, providers: &[String]) -> Result<Flavor, Vec<FieldError>> {
    flavor::validate(body, providers)
}

/// `GET /services` query (§2.1.3): returns `(marker, limit)`. The limit
/// defaults to 10 (capped at `max_limit`) and must be an integer in
/// `1..=max_limit`; the marker must be a UUID.
pub fn list_query(query: &ListQuery, max_limit: u32) -> Result<(Option<ServiceId>, u32), Error> {
    query::list_query(query, max_limit)
}

/// Purge query (§2.6.7): returns `(target, hard)`. The target is
/// [`PurgeTarget::All`] only for `all=true`; otherwise the url (default
/// `/*`, which stays a url). `hard` defaults to true.
pub fn purge_query(query: &PurgeQuery) -> Result<(PurgeTarget, bool), Error> {
    query::purge_query(query)
}

/// A service id in a URL: `Invalid service id` unless a UUID.
pub fn service_id(raw: &str) -> Result<ServiceId, Error> {
    raw.parse()
        .map_err(|_| Error::BadRequest("Invalid service id".to_owned()))
}

/// A domain in a URL (`is_valid_domain_by_name`, §3.1): a normal domain or a
/// shared-SSL label, 3..253 characters.
pub fn domain_param(domain: &str) -> Result<(), Error> {
    domain::domain_param(domain)
}

/// A project id in an admin URL: `^[a-zA-Z0-9_\-\.]{1,256}$`.
pub fn project_id_param(project: &str) -> Result<(), Error> {
    query::project_id_param(project)
}
