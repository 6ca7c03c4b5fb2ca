//! Request validation (reference §3): every rule of the original, with all
//! field errors of a body reported at once, each with its JSON pointer.
//!
//! Bodies are validated from raw JSON (`serde_json::Value`) so that type
//! errors ("port must be an integer") are reported per field like any other
//! rule instead of as one opaque parse failure.

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
    Create,
    Update,
}

/// Validates a service body (POST, or a patched view) and returns the
/// normalised spec: domains lower-cased, origins stripped, default rules
/// filled in. Shared-SSL domains keep their bare label here; the manager
/// assigns shards.
pub fn service(body: &Value, mode: Mode, options: &Options) -> Result<ServiceSpec, Vec<FieldError>> {
    let _ = (body, mode, options);
    unimplemented!("validate::service")
}

/// The client view of a spec a JSON patch is applied to (§2.6.5): shared
/// domains are shown by their bare label, every domain carries `protocol`
/// and `certificate` (null for http), each origin `hostheadervalue`.
pub fn patch_view(spec: &ServiceSpec) -> Value {
    let _ = spec;
    unimplemented!("validate::patch_view")
}

/// Applies an RFC 6902 patch (`add`, `remove`, `replace`, `move`, `copy`,
/// `test`) to `view`. A body that is not an array of operations, or an
/// operation that fails, is an error naming the operation.
pub fn apply_patch(view: &Value, patch: &Value) -> Result<Value, Vec<FieldError>> {
    let _ = (view, patch);
    unimplemented!("validate::apply_patch")
}

/// Validates a flavor body (§2.7); `providers` are the configured provider names.
pub fn flavor(body: &Value, providers: &[String]) -> Result<Flavor, Vec<FieldError>> {
    let _ = (body, providers);
    unimplemented!("validate::flavor")
}

/// `GET /services` query (§2.1.3): returns `(marker, limit)`.
pub fn list_query(query: &ListQuery, max_limit: u32) -> Result<(Option<ServiceId>, u32), Error> {
    let _ = (query, max_limit);
    unimplemented!("validate::list_query")
}

/// Purge query (§2.6.7): returns `(target, hard)`.
pub fn purge_query(query: &PurgeQuery) -> Result<(PurgeTarget, bool), Error> {
    let _ = query;
    unimplemented!("validate::purge_query")
}

/// A service id in a URL: `Invalid service id` unless a UUID.
pub fn service_id(raw: &str) -> Result<ServiceId, Error> {
    raw.parse()
        .map_err(|_| Error::BadRequest("Invalid service id".to_owned()))
}

/// A domain in a URL (`is_valid_domain_by_name`, §3.1): a normal domain or a
/// shared-SSL label, 3..253 characters.
pub fn domain_param(domain: &str) -> Result<(), Error> {
    let _ = domain;
    unimplemented!("validate::domain_param")
}

/// A project id in an admin URL: `^[a-zA-Z0-9_\-\.]{1,256}$`.
pub fn project_id_param(project: &str) -> Result<(), Error> {
    let _ = project;
    unimplemented!("validate::project_id_param")
}
