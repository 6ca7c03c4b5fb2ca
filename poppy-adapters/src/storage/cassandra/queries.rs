//! The query layer without a server: the CQL of every statement, the bind
//! values each takes (model → values), row decoding (rows → model), the
//! reading of lightweight-transaction answers, and Cassandra's `uuid`
//! order. Everything here is a pure function, unit-tested without Cassandra;
//! [`super::CassandraStore`] only sequences these with the driver.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::str::FromStr;

use cdrs_tokio::types::rows::Row;
use cdrs_tokio::types::value::Value;
use cdrs_tokio::types::IntoRustByName;
use poppy_core::model::{Flavor, OperatorStatus, ProjectId, Service, ServiceId, ServiceStatus};
use poppy_core::ports::PortError;
use uuid::Uuid;

use super::error::CassandraError;

pub mod certs;

/// The statements, with `?` for each bind value. Table names are not
/// qualified: the session runs in the configured keyspace.
pub mod cql {
    /// The columns of a service row, in the order [`super::service_from_row`] reads.
    pub const SERVICE_COLUMNS: &str = "project_id, service_id, status, operator_status, \
        version, spec, provider_details, created_at, updated_at";

    /// Inserts a service row unless it exists (in a batch with
    /// [`SET_LIVE_COUNT`]). Values: [`super::ServiceRow::insert_values`].
    pub const INSERT_SERVICE: &str = "INSERT INTO services (project_id, service_id, status, \
        operator_status, version, spec, provider_details, created_at, updated_at) \
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS";
    /// Sets the project's live-service count if it is still what was read.
    /// Values: [`super::live_count_values`].
    pub const SET_LIVE_COUNT: &str =
        "UPDATE services SET live_count = ? WHERE project_id = ? IF live_count = ?";
    /// The project's live-service count (static column; no row when the
    /// project never had a service). Values: [`super::project_values`].
    pub const GET_LIVE_COUNT: &str = "SELECT live_count FROM services WHERE project_id = ? LIMIT 1";
    /// One service. Values: [`super::key_values`].
    pub const GET_SERVICE: &str = "SELECT project_id, service_id, status, operator_status, \
        version, spec, provider_details, created_at, updated_at \
        FROM services WHERE project_id = ? AND service_id = ?";
    /// A service's status only (index checks). Values: [`super::key_values`].
    pub const GET_SERVICE_STATUS: &str =
        "SELECT status FROM services WHERE project_id = ? AND service_id = ?";
    /// A page of a project's services after a marker, in the clustering
    /// (`uuid`) order. Values: [`super::list_values`].
    pub const LIST_SERVICES: &str = "SELECT project_id, service_id, status, operator_status, \
        version, spec, provider_details, created_at, updated_at \
        FROM services WHERE project_id = ? AND service_id > ? \
        ORDER BY service_id ASC LIMIT ?";
    /// Replaces a service if its version is the one read.
    /// Values: [`super::ServiceRow::update_values`].
    pub const UPDATE_SERVICE: &str = "UPDATE services SET status = ?, operator_status = ?, \
        version = ?, spec = ?, provider_details = ?, created_at = ?, updated_at = ? \
        WHERE project_id = ? AND service_id = ? IF version = ?";
    /// [`UPDATE_SERVICE`] that also moves the live-service count (a status
    /// change into or out of `delete_in_progress`).
    /// Values: [`super::ServiceRow::update_counted_values`].
    pub const UPDATE_SERVICE_COUNTED: &str = "UPDATE services SET status = ?, \
        operator_status = ?, version = ?, spec = ?, provider_details = ?, created_at = ?, \
        updated_at = ?, live_count = ? \
        WHERE project_id = ? AND service_id = ? IF version = ? AND live_count = ?";
    /// Deletes a service if its version is the one read (alone, or in a
    /// batch with [`SET_LIVE_COUNT`]). Values: [`super::delete_values`].
    pub const DELETE_SERVICE: &str =
        "DELETE FROM services WHERE project_id = ? AND service_id = ? IF version = ?";

    /// Claims a domain for a service unless someone holds it.
    /// Values: [`super::ServiceRow::claim_values`].
    pub const CLAIM_DOMAIN: &str = "INSERT INTO domain_names (domain_name, project_id, \
        service_id) VALUES (?, ?, ?) IF NOT EXISTS";
    /// The holder of a domain and when it claimed it (microseconds).
    /// Values: [`super::domain_values`].
    pub const GET_DOMAIN: &str = "SELECT project_id, service_id, WRITETIME(service_id) AS \
        claimed_at FROM domain_names WHERE domain_name = ?";
    /// Releases a domain if the given service still holds it.
    /// Values: [`super::release_values`].
    pub const RELEASE_DOMAIN: &str =
        "DELETE FROM domain_names WHERE domain_name = ? IF service_id = ?";

    /// Adds a service to the status index. Values: [`super::ServiceRow::index_status_values`].
    pub const INDEX_STATUS: &str = "INSERT INTO service_status (status, service_id, \
        project_id) VALUES (?, ?, ?) USING TIMESTAMP ?";
    /// Removes a service from a status of the index. Values: [`super::unindex_status_values`].
    pub const UNINDEX_STATUS: &str =
        "DELETE FROM service_status USING TIMESTAMP ? WHERE status = ? AND service_id = ?";
    /// Index entries of a status after an id. Values: [`super::list_by_status_values`].
    pub const LIST_BY_STATUS: &str = "SELECT project_id, service_id FROM service_status \
        WHERE status = ? AND service_id > ? ORDER BY service_id ASC LIMIT ?";

    /// Adds a `(provider_url, domain)` pair of a service.
    /// Values: [`super::ServiceRow::index_provider_url_values`].
    pub const INDEX_PROVIDER_URL: &str = "INSERT INTO provider_url_domain (provider_url, \
        domain_name, project_id, service_id) VALUES (?, ?, ?, ?) USING TIMESTAMP ?";
    /// Removes a `(provider_url, domain)` pair. Values: [`super::unindex_provider_url_values`].
    pub const UNINDEX_PROVIDER_URL: &str = "DELETE FROM provider_url_domain USING TIMESTAMP ? \
        WHERE provider_url = ? AND domain_name = ?";
    /// Candidate domains of a provider host name. Values: [`super::provider_url_values`].
    pub const DOMAINS_BY_PROVIDER_URL: &str = "SELECT domain_name, project_id, service_id \
        FROM provider_url_domain WHERE provider_url = ?";

    /// A project's service limit. Values: [`super::project_values`].
    pub const GET_LIMIT: &str = "SELECT project_limit FROM service_limits WHERE project_id = ?";
    /// Sets a project's service limit. Values: [`super::set_limit_values`].
    pub const SET_LIMIT: &str = "UPDATE service_limits SET project_limit = ? WHERE project_id = ?";

    /// Every flavor (a small table).
    pub const LIST_FLAVORS: &str = "SELECT flavor_id, body FROM flavors";
    /// One flavor. Values: [`super::flavor_key_values`].
    pub const GET_FLAVOR: &str = "SELECT flavor_id, body FROM flavors WHERE flavor_id = ?";
    /// Inserts a flavor unless the id exists. Values: [`super::flavor_values`].
    pub const INSERT_FLAVOR: &str =
        "INSERT INTO flavors (flavor_id, body) VALUES (?, ?) IF NOT EXISTS";
    /// Deletes a flavor (conditional like its insert: a row's writes are
    /// all lightweight transactions or none are). Values: [`super::flavor_key_values`].
    pub const DELETE_FLAVOR: &str = "DELETE FROM flavors WHERE flavor_id = ? IF EXISTS";

    /// Inserts a certificate record unless its domain has one.
    /// Values: [`super::certs::CertRow::insert_values`].
    pub const INSERT_CERT: &str = "INSERT INTO certificate_info (domain_name, project_id, \
        flavor_id, cert_type, status, body, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) \
        IF NOT EXISTS";
    /// A certificate record. Values: [`super::certs::cert_key_values`].
    pub const GET_CERT: &str = "SELECT domain_name, project_id, status, body \
        FROM certificate_info WHERE domain_name = ?";
    /// A certificate's status only (index checks). Values: [`super::certs::cert_key_values`].
    pub const GET_CERT_STATUS: &str = "SELECT status FROM certificate_info WHERE domain_name = ?";
    /// Replaces a certificate record if its status is the one read.
    /// Values: [`super::certs::CertRow::update_values`].
    pub const UPDATE_CERT: &str = "UPDATE certificate_info SET project_id = ?, flavor_id = ?, \
        cert_type = ?, status = ?, body = ?, updated_at = ? WHERE domain_name = ? \
        IF status = ?";
    /// Deletes a certificate record if it belongs to the project.
    /// Values: [`super::certs::delete_cert_values`].
    pub const DELETE_CERT: &str = "DELETE FROM certificate_info WHERE domain_name = ? \
        IF project_id = ?";
    /// Adds a domain to a status of the certificate index.
    /// Values: [`super::certs::index_cert_status_values`].
    pub const INDEX_CERT_STATUS: &str = "INSERT INTO cert_status (status, domain_name) \
        VALUES (?, ?) USING TIMESTAMP ?";
    /// Removes a domain from a status of the certificate index.
    /// Values: [`super::certs::unindex_cert_status_values`].
    pub const UNINDEX_CERT_STATUS: &str =
        "DELETE FROM cert_status USING TIMESTAMP ? WHERE status = ? AND domain_name = ?";
    /// Index entries of a certificate status after a domain.
    /// Values: [`super::certs::list_certs_by_status_values`].
    pub const LIST_CERTS_BY_STATUS: &str = "SELECT domain_name FROM cert_status \
        WHERE status = ? AND domain_name > ? ORDER BY domain_name ASC LIMIT ?";
    /// A certificate queue with its version. Values: [`super::certs::queue_key_values`].
    pub const GET_CERT_QUEUE: &str = "SELECT version, items, recent_writes FROM cert_queues \
        WHERE provider = ? AND queue = ?";
    /// Swaps a certificate queue if its version is the one read (`null`:
    /// no row yet). Values: [`super::certs::QueueWrite::values`].
    pub const SET_CERT_QUEUE: &str = "UPDATE cert_queues SET version = ?, items = ?, \
        recent_writes = ? WHERE provider = ? AND queue = ? IF version = ?";
    /// A certificate setting. Values: [`super::certs::setting_key_values`].
    pub const GET_CERT_SETTING: &str =
        "SELECT value FROM cert_settings WHERE provider = ? AND setting_key = ?";
    /// Writes a certificate setting (last write wins).
    /// Values: [`super::certs::put_setting_values`].
    pub const PUT_CERT_SETTING: &str =
        "INSERT INTO cert_settings (provider, setting_key, value) VALUES (?, ?, ?)";

    /// Liveness probe.
    pub const PING: &str = "SELECT release_version FROM system.local";

    /// Every prepared statement, for preparing once at start and for tests.
    pub const ALL: &[&str] = &[
        INSERT_SERVICE,
        SET_LIVE_COUNT,
        GET_LIVE_COUNT,
        GET_SERVICE,
        GET_SERVICE_STATUS,
        LIST_SERVICES,
        UPDATE_SERVICE,
        UPDATE_SERVICE_COUNTED,
        DELETE_SERVICE,
        CLAIM_DOMAIN,
        GET_DOMAIN,
        RELEASE_DOMAIN,
        INDEX_STATUS,
        UNINDEX_STATUS,
        LIST_BY_STATUS,
        INDEX_PROVIDER_URL,
        UNINDEX_PROVIDER_URL,
        DOMAINS_BY_PROVIDER_URL,
        GET_LIMIT,
        SET_LIMIT,
        LIST_FLAVORS,
        GET_FLAVOR,
        INSERT_FLAVOR,
        DELETE_FLAVOR,
        INSERT_CERT,
        GET_CERT,
        GET_CERT_STATUS,
        UPDATE_CERT,
        DELETE_CERT,
        INDEX_CERT_STATUS,
        UNINDEX_CERT_STATUS,
        LIST_CERTS_BY_STATUS,
        GET_CERT_QUEUE,
        SET_CERT_QUEUE,
        GET_CERT_SETTING,
        PUT_CERT_SETTING,
        PING,
    ];
}

/// Bind values of one statement, in the order of its `?`.
pub type Values = Vec<Value>;

/// The message of the contract for a domain held by another service.
pub fn domain_taken(domain: &str) -> PortError {
    PortError::Conflict(format!("Domain {domain} has already been taken"))
}

/// A service encoded for its row and its index rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub project_id: String,
    pub service_id: Uuid,
    pub status: ServiceStatus,
    pub operator_status: OperatorStatus,
    pub version: i64,
    /// The [`poppy_core::model::ServiceSpec`] as JSON.
    pub spec: String,
    /// The provider details map as JSON.
    pub provider_details: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The domains the service claims.
    pub domains: BTreeSet<String>,
    /// `(provider_url, domain)` pairs of its access URLs.
    pub provider_urls: BTreeSet<(String, String)>,
}

impl ServiceRow {
    /// Encodes `service`; a version beyond `i64` is `Invalid`.
    pub fn encode(service: &Service) -> Result<Self, PortError> {
        let version = i64::try_from(service.version).map_err(|_| {
            PortError::Invalid(format!(
                "service {} version {} is out of range",
                service.id, service.version
            ))
        })?;
        let json = |value: Result<String, serde_json::Error>| {
            value.map_err(|e| {
                PortError::from(CassandraError::Encode {
                    what: format!("service {}/{}", service.project_id, service.id),
                    message: e.to_string(),
                })
            })
        };
        Ok(Self {
            project_id: service.project_id.as_str().to_owned(),
            service_id: *service.id.as_uuid(),
            status: service.status,
            operator_status: service.operator_status,
            version,
            spec: json(serde_json::to_string(&service.spec))?,
            provider_details: json(serde_json::to_string(&service.provider_details))?,
            created_at: service.created_at,
            updated_at: service.updated_at,
            domains: service.domain_names().map(str::to_owned).collect(),
            provider_urls: provider_urls(service),
        })
    }

    /// Whether the service counts against the project's limit.
    pub fn is_live(&self) -> bool {
        is_live(self.status)
    }

    /// Values of [`cql::INSERT_SERVICE`].
    pub fn insert_values(&self) -> Values {
        vec![
            Value::new(self.project_id.as_str()),
            Value::new(self.service_id),
            Value::new(self.status.as_str()),
            Value::new(self.operator_status.as_str()),
            Value::new(self.version),
            Value::new(self.spec.as_str()),
            Value::new(self.provider_details.as_str()),
            Value::new(self.created_at),
            Value::new(self.updated_at),
        ]
    }

    fn set_values(&self) -> Values {
        vec![
            Value::new(self.status.as_str()),
            Value::new(self.operator_status.as_str()),
            Value::new(self.version),
            Value::new(self.spec.as_str()),
            Value::new(self.provider_details.as_str()),
            Value::new(self.created_at),
            Value::new(self.updated_at),
        ]
    }

    /// Values of [`cql::UPDATE_SERVICE`]: this row (its `version` already
    /// the new one) if the stored version is `expected`.
    pub fn update_values(&self, expected: i64) -> Values {
        let mut values = self.set_values();
        values.push(Value::new(self.project_id.as_str()));
        values.push(Value::new(self.service_id));
        values.push(Value::new(expected));
        values
    }

    /// Values of [`cql::UPDATE_SERVICE_COUNTED`]: as
    /// [`ServiceRow::update_values`], and the count goes from `seen` (as
    /// read; `None` for no value) to `count`.
    pub fn update_counted_values(&self, expected: i64, count: i32, seen: Option<i32>) -> Values {
        let mut values = self.set_values();
        values.push(Value::new(count));
        values.push(Value::new(self.project_id.as_str()));
        values.push(Value::new(self.service_id));
        values.push(Value::new(expected));
        values.push(optional(seen));
        values
    }

    /// Values of [`cql::GET_SERVICE`] and the other single-row statements.
    pub fn key_values(&self) -> Values {
        vec![
            Value::new(self.project_id.as_str()),
            Value::new(self.service_id),
        ]
    }

    /// Values of [`cql::CLAIM_DOMAIN`] for `domain`.
    pub fn claim_values(&self, domain: &str) -> Values {
        vec![
            Value::new(domain),
            Value::new(self.project_id.as_str()),
            Value::new(self.service_id),
        ]
    }

    /// Values of [`cql::INDEX_STATUS`] written at `timestamp` (µs).
    pub fn index_status_values(&self, timestamp: i64) -> Values {
        vec![
            Value::new(self.status.as_str()),
            Value::new(self.service_id),
            Value::new(self.project_id.as_str()),
            Value::new(timestamp),
        ]
    }

    /// Values of [`cql::INDEX_PROVIDER_URL`] for one pair, at `timestamp` (µs).
    pub fn index_provider_url_values(&self, url: &str, domain: &str, timestamp: i64) -> Values {
        vec![
            Value::new(url),
            Value::new(domain),
            Value::new(self.project_id.as_str()),
            Value::new(self.service_id),
            Value::new(timestamp),
        ]
    }
}

/// Whether a service in `status` counts against its project's limit.
pub fn is_live(status: ServiceStatus) -> bool {
    status != ServiceStatus::DeleteInProgress
}

/// The `(provider_url, domain)` pairs of a service's access URLs.
pub fn provider_urls(service: &Service) -> BTreeSet<(String, String)> {
    service
        .provider_details
        .values()
        .flat_map(|detail| &detail.access_urls)
        .filter_map(|url| {
            url.provider_url
                .as_ref()
                .map(|p| (p.clone(), url.domain.clone()))
        })
        .collect()
}

fn optional(value: Option<i32>) -> Value {
    match value {
        Some(n) => Value::new(n),
        None => Value::Null,
    }
}

/// A `LIMIT` bind value: Cassandra takes an `int`.
pub fn limit_value(limit: u32) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX)
}

/// Values of the single-row statements by `(project, id)`.
pub fn key_values(project: &ProjectId, id: &ServiceId) -> Values {
    vec![Value::new(project.as_str()), Value::new(*id.as_uuid())]
}

/// Values of statements by project only.
pub fn project_values(project: &ProjectId) -> Values {
    vec![Value::new(project.as_str())]
}

/// Values of [`cql::LIST_SERVICES`]: no marker starts at the nil id, the
/// smallest `uuid` there is.
pub fn list_values(project: &ProjectId, marker: Option<ServiceId>, limit: u32) -> Values {
    vec![
        Value::new(project.as_str()),
        Value::new(*marker.unwrap_or_else(ServiceId::nil).as_uuid()),
        Value::new(limit_value(limit)),
    ]
}

/// Values of [`cql::SET_LIVE_COUNT`]: from `seen` (`None`: no value yet) to `count`.
pub fn live_count_values(project: &str, count: i32, seen: Option<i32>) -> Values {
    vec![Value::new(count), Value::new(project), optional(seen)]
}

/// Values of [`cql::DELETE_SERVICE`].
pub fn delete_values(project: &str, id: Uuid, expected: i64) -> Values {
    vec![Value::new(project), Value::new(id), Value::new(expected)]
}

/// Values of [`cql::GET_DOMAIN`].
pub fn domain_values(domain: &str) -> Values {
    vec![Value::new(domain)]
}

/// Values of [`cql::RELEASE_DOMAIN`]: `domain` if `holder` holds it.
pub fn release_values(domain: &str, holder: Uuid) -> Values {
    vec![Value::new(domain), Value::new(holder)]
}

/// Values of [`cql::UNINDEX_STATUS`].
pub fn unindex_status_values(timestamp: i64, status: ServiceStatus, id: Uuid) -> Values {
    vec![
        Value::new(timestamp),
        Value::new(status.as_str()),
        Value::new(id),
    ]
}

/// Values of [`cql::LIST_BY_STATUS`].
pub fn list_by_status_values(
    status: ServiceStatus,
    after: Option<ServiceId>,
    limit: u32,
) -> Values {
    vec![
        Value::new(status.as_str()),
        Value::new(*after.unwrap_or_else(ServiceId::nil).as_uuid()),
        Value::new(limit_value(limit)),
    ]
}

/// Values of [`cql::UNINDEX_PROVIDER_URL`].
pub fn unindex_provider_url_values(timestamp: i64, url: &str, domain: &str) -> Values {
    vec![Value::new(timestamp), Value::new(url), Value::new(domain)]
}

/// Values of [`cql::DOMAINS_BY_PROVIDER_URL`].
pub fn provider_url_values(url: &str) -> Values {
    vec![Value::new(url)]
}

/// Values of [`cql::SET_LIMIT`]; a limit beyond `int` is `Invalid`.
pub fn set_limit_values(project: &ProjectId, limit: u32) -> Result<Values, PortError> {
    let limit = i32::try_from(limit).map_err(|_| {
        PortError::Invalid(format!(
            "service limit {limit} of project {project} is out of range"
        ))
    })?;
    Ok(vec![Value::new(limit), Value::new(project.as_str())])
}

/// Values of [`cql::GET_FLAVOR`] and [`cql::DELETE_FLAVOR`].
pub fn flavor_key_values(id: &str) -> Values {
    vec![Value::new(id)]
}

/// Values of [`cql::INSERT_FLAVOR`]: the id and the flavor as JSON.
pub fn flavor_values(flavor: &Flavor) -> Result<Values, PortError> {
    let body = serde_json::to_string(flavor).map_err(|e| {
        PortError::from(CassandraError::Encode {
            what: format!("flavor {}", flavor.id),
            message: e.to_string(),
        })
    })?;
    Ok(vec![Value::new(flavor.id.as_str()), Value::new(body)])
}

// ---------------------------------------------------------------- decoding

/// Column `name` of `row`, present and not null.
fn column<T>(row: &Row, name: &'static str, what: &dyn Fn() -> String) -> Result<T, CassandraError>
where
    Row: IntoRustByName<T>,
{
    if !row.contains_column(name) {
        return Err(corrupt(what(), name, "missing column"));
    }
    match row.get_by_name(name) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(corrupt(what(), name, "missing or null")),
        Err(e) => Err(corrupt(what(), name, e)),
    }
}

/// Column `name` of `row`, `None` when null or absent.
fn nullable<T>(
    row: &Row,
    name: &'static str,
    what: &dyn Fn() -> String,
) -> Result<Option<T>, CassandraError>
where
    Row: IntoRustByName<T>,
{
    // The driver reports an absent column as an error, not as null.
    if !row.contains_column(name) {
        return Ok(None);
    }
    row.get_by_name(name).map_err(|e| corrupt(what(), name, e))
}

fn corrupt(what: String, column: &'static str, message: impl std::fmt::Display) -> CassandraError {
    CassandraError::CorruptRow {
        what,
        column,
        message: message.to_string(),
    }
}

/// Decodes a row with the columns of [`cql::GET_SERVICE`]. Bad data is an
/// error naming the row and column, never a panic.
pub fn service_from_row(row: &Row) -> Result<Service, CassandraError> {
    let unnamed = || "services row".to_owned();
    let project: String = column(row, "project_id", &unnamed)?;
    let id: Uuid = column(row, "service_id", &unnamed)?;
    let what = || format!("services row ({project}, {id})");
    let status: String = column(row, "status", &what)?;
    let operator_status: String = column(row, "operator_status", &what)?;
    let version: i64 = column(row, "version", &what)?;
    let spec: String = column(row, "spec", &what)?;
    let details: String = column(row, "provider_details", &what)?;
    Ok(Service {
        id: ServiceId::from_uuid(id),
        status: ServiceStatus::from_str(&status).map_err(|e| corrupt(what(), "status", e))?,
        operator_status: OperatorStatus::from_str(&operator_status)
            .map_err(|e| corrupt(what(), "operator_status", e))?,
        version: u64::try_from(version)
            .map_err(|_| corrupt(what(), "version", format!("negative version {version}")))?,
        spec: serde_json::from_str(&spec).map_err(|e| corrupt(what(), "spec", e))?,
        provider_details: serde_json::from_str(&details)
            .map_err(|e| corrupt(what(), "provider_details", e))?,
        created_at: column(row, "created_at", &what)?,
        updated_at: column(row, "updated_at", &what)?,
        project_id: ProjectId::new(project),
    })
}

/// The status in a row of [`cql::GET_SERVICE_STATUS`].
pub fn status_from_row(row: &Row) -> Result<ServiceStatus, CassandraError> {
    let what = || "services row".to_owned();
    let status: String = column(row, "status", &what)?;
    ServiceStatus::from_str(&status).map_err(|e| corrupt(what(), "status", e))
}

/// The live-service count from the rows of [`cql::GET_LIVE_COUNT`]: `None`
/// when the project has no partition or no count yet.
pub fn live_count_from_rows(rows: &[Row]) -> Result<Option<i32>, CassandraError> {
    match rows.first() {
        None => Ok(None),
        Some(row) => nullable(row, "live_count", &|| "services static row".to_owned()),
    }
}

/// A domain's holder as read by [`cql::GET_DOMAIN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainClaim {
    pub project: ProjectId,
    pub service: ServiceId,
    /// When the claim was written, microseconds since the epoch.
    pub claimed_at: Option<i64>,
}

/// Decodes a row of [`cql::GET_DOMAIN`].
pub fn claim_from_row(domain: &str, row: &Row) -> Result<DomainClaim, CassandraError> {
    let what = || format!("domain_names row ({domain})");
    let project: String = column(row, "project_id", &what)?;
    let service: Uuid = column(row, "service_id", &what)?;
    Ok(DomainClaim {
        project: ProjectId::new(project),
        service: ServiceId::from_uuid(service),
        claimed_at: nullable(row, "claimed_at", &what)?,
    })
}

/// Decodes a row of [`cql::LIST_BY_STATUS`].
pub fn status_entry_from_row(row: &Row) -> Result<(ProjectId, ServiceId), CassandraError> {
    let what = || "service_status row".to_owned();
    let project: String = column(row, "project_id", &what)?;
    let id: Uuid = column(row, "service_id", &what)?;
    Ok((ProjectId::new(project), ServiceId::from_uuid(id)))
}

/// Decodes a row of [`cql::DOMAINS_BY_PROVIDER_URL`]: `(domain, project, service)`.
pub fn provider_url_entry_from_row(
    row: &Row,
) -> Result<(String, ProjectId, ServiceId), CassandraError> {
    let what = || "provider_url_domain row".to_owned();
    let domain: String = column(row, "domain_name", &what)?;
    let project: String = column(row, "project_id", &what)?;
    let id: Uuid = column(row, "service_id", &what)?;
    Ok((domain, ProjectId::new(project), ServiceId::from_uuid(id)))
}

/// The limit from the rows of [`cql::GET_LIMIT`].
pub fn limit_from_rows(project: &ProjectId, rows: &[Row]) -> Result<Option<u32>, CassandraError> {
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let what = || format!("service_limits row ({project})");
    let limit: Option<i32> = nullable(row, "project_limit", &what)?;
    limit
        .map(|n| {
            u32::try_from(n)
                .map_err(|_| corrupt(what(), "project_limit", format!("{n} is not a valid limit")))
        })
        .transpose()
}

/// Decodes a row of [`cql::GET_FLAVOR`].
pub fn flavor_from_row(row: &Row) -> Result<Flavor, CassandraError> {
    let unnamed = || "flavors row".to_owned();
    let id: String = column(row, "flavor_id", &unnamed)?;
    let what = || format!("flavors row ({id})");
    let body: String = column(row, "body", &what)?;
    serde_json::from_str(&body).map_err(|e| corrupt(what(), "body", e))
}

// ------------------------------------------------------ lightweight writes

/// Whether a conditional statement or batch was applied: the `[applied]`
/// column of its first answer row.
pub fn applied(rows: &[Row]) -> Result<bool, CassandraError> {
    let row = rows
        .first()
        .ok_or_else(|| CassandraError::UnexpectedAnswer {
            op: "conditional write",
            message: "no [applied] row in the answer".to_owned(),
        })?;
    column(row, "[applied]", &|| "conditional write answer".to_owned())
}

/// The answer to [`cql::CLAIM_DOMAIN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The domain is ours (just claimed, or already ours from an earlier try).
    Claimed,
    /// Another service holds it.
    HeldBy(ProjectId, ServiceId),
    /// Not applied, and the answer does not say who holds it: read it.
    Unknown,
}

/// Reads the answer to [`cql::CLAIM_DOMAIN`] by `ours`: a refused insert
/// answers with the existing row.
pub fn claim_outcome(rows: &[Row], ours: Uuid) -> Result<ClaimOutcome, CassandraError> {
    if applied(rows)? {
        return Ok(ClaimOutcome::Claimed);
    }
    let Some(row) = rows.first() else {
        return Ok(ClaimOutcome::Unknown);
    };
    let what = || "domain claim answer".to_owned();
    let project: Option<String> = nullable(row, "project_id", &what)?;
    let service: Option<Uuid> = nullable(row, "service_id", &what)?;
    Ok(match (project, service) {
        (_, Some(service)) if service == ours => ClaimOutcome::Claimed,
        (Some(project), Some(service)) => {
            ClaimOutcome::HeldBy(ProjectId::new(project), ServiceId::from_uuid(service))
        }
        _ => ClaimOutcome::Unknown,
    })
}

/// The answer to a conditional write of one service row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Applied,
    /// The service row does not exist.
    Missing,
    /// The stored version is not the expected one.
    Stale {
        found: i64,
    },
    /// The version matched, so the live-service count moved under us.
    CountMoved,
    /// Not applied, and the answer does not say why: read the row.
    Unknown,
}

/// Reads the answer to [`cql::UPDATE_SERVICE`] or
/// [`cql::UPDATE_SERVICE_COUNTED`] expecting version `expected`: a refused
/// conditional update answers with the current values of its condition
/// columns (`version`, and `live_count`).
pub fn update_outcome(rows: &[Row], expected: i64) -> Result<WriteOutcome, CassandraError> {
    if applied(rows)? {
        return Ok(WriteOutcome::Applied);
    }
    let Some(row) = rows.first() else {
        return Ok(WriteOutcome::Unknown);
    };
    if !row.contains_column("version") {
        return Ok(WriteOutcome::Unknown);
    }
    let version: Option<i64> = nullable(row, "version", &|| "update answer".to_owned())?;
    Ok(match version {
        None => WriteOutcome::Missing,
        Some(found) if found != expected => WriteOutcome::Stale { found },
        Some(_) => WriteOutcome::CountMoved,
    })
}

// --------------------------------------------------------------- ordering

/// Cassandra's order of `uuid` values (its `UUIDType`): by version first;
/// version-1 (time) UUIDs by their timestamp; then by the bytes as
/// unsigned numbers.
///
/// For two version-4 UUIDs (every id Poppy creates) this is the byte order
/// of `Uuid: Ord`, which `ServiceId` and the SQLite store use; it differs
/// only when versions differ (a version-1 or nil marker sorts before every
/// version-4 id whatever its bytes). `list` and `list_by_status` return ids
/// in this order and their marker is compared in it.
pub fn uuid_order(a: &Uuid, b: &Uuid) -> Ordering {
    let (a_hi, a_lo) = a.as_u64_pair();
    let (b_hi, b_lo) = b.as_u64_pair();
    let version = |hi: u64| (hi >> 12) & 0xf;
    let (a_version, b_version) = (version(a_hi), version(b_hi));
    a_version
        .cmp(&b_version)
        .then_with(|| {
            if a_version == 1 {
                time_ordered(a_hi).cmp(&time_ordered(b_hi))
            } else {
                a_hi.cmp(&b_hi)
            }
        })
        .then_with(|| a_lo.cmp(&b_lo))
}

/// The 60-bit timestamp of a version-1 UUID's high half, most significant
/// part first (time_hi, time_mid, time_low), version bits dropped.
fn time_ordered(hi: u64) -> u64 {
    let time_low = hi >> 32;
    let time_mid = (hi >> 16) & 0xffff;
    let time_hi = hi & 0x0fff;
    (time_hi << 48) | (time_mid << 32) | time_low
}
