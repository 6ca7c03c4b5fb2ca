//! The certificate part of the query layer: bind values of the certificate
//! statements, row decoding, and the reading of their lightweight-transaction
//! answers. Pure functions, unit-tested without Cassandra;
//! [`crate::storage::cassandra::CassandraCertificateStore`] sequences them.

use std::str::FromStr;

use cdrs_tokio::types::rows::Row;
use cdrs_tokio::types::value::Value;
use poppy_core::model::{CertQueue, CertStatus, ProjectId, SslCertificate};
use poppy_core::ports::PortError;
use serde_json::Value as Json;
use uuid::Uuid;

use super::{applied, column, corrupt, limit_value, nullable, Values};
use crate::storage::cassandra::error::CassandraError;

/// The key of a certificate record: domains are case-insensitive.
pub fn cert_key(domain: &str) -> String {
    domain.to_ascii_lowercase()
}

/// The message of the contract for a second record of a domain.
pub fn cert_exists(domain: &str) -> PortError {
    PortError::Conflict(format!(
        "Certificate already exists for {}",
        cert_key(domain)
    ))
}

fn encode_error(what: String, e: serde_json::Error) -> PortError {
    PortError::from(CassandraError::Encode {
        what,
        message: e.to_string(),
    })
}

/// A certificate encoded for its `certificate_info` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRow {
    /// Lower-case: the partition key.
    pub domain: String,
    pub project_id: String,
    pub flavor_id: String,
    pub cert_type: &'static str,
    pub status: CertStatus,
    /// The whole record as JSON.
    pub body: String,
    pub updated_at: i64,
}

impl CertRow {
    /// Encodes `cert`; its domain becomes the lower-case key.
    pub fn encode(cert: &SslCertificate) -> Result<Self, PortError> {
        let domain = cert_key(&cert.domain_name);
        let body = serde_json::to_string(cert)
            .map_err(|e| encode_error(format!("certificate {domain}"), e))?;
        Ok(Self {
            domain,
            project_id: cert.project_id.as_str().to_owned(),
            flavor_id: cert.flavor_id.clone(),
            cert_type: cert.cert_type.as_str(),
            status: cert.status,
            body,
            updated_at: cert.updated_at,
        })
    }

    /// Values of [`super::cql::INSERT_CERT`].
    pub fn insert_values(&self) -> Values {
        vec![
            Value::new(self.domain.as_str()),
            Value::new(self.project_id.as_str()),
            Value::new(self.flavor_id.as_str()),
            Value::new(self.cert_type),
            Value::new(self.status.as_str()),
            Value::new(self.body.as_str()),
            Value::new(self.updated_at),
        ]
    }

    /// Values of [`super::cql::UPDATE_CERT`]: this row if the stored status
    /// is `expected`.
    pub fn update_values(&self, expected: CertStatus) -> Values {
        vec![
            Value::new(self.project_id.as_str()),
            Value::new(self.flavor_id.as_str()),
            Value::new(self.cert_type),
            Value::new(self.status.as_str()),
            Value::new(self.body.as_str()),
            Value::new(self.updated_at),
            Value::new(self.domain.as_str()),
            Value::new(expected.as_str()),
        ]
    }

    /// Values of [`super::cql::INDEX_CERT_STATUS`] for this row's status,
    /// written at `timestamp` (µs).
    pub fn index_values(&self, timestamp: i64) -> Values {
        index_cert_status_values(self.status, &self.domain, timestamp)
    }
}

/// Values of [`super::cql::GET_CERT`] and [`super::cql::GET_CERT_STATUS`].
pub fn cert_key_values(domain: &str) -> Values {
    vec![Value::new(cert_key(domain))]
}

/// Values of [`super::cql::DELETE_CERT`]: `domain` if `project` owns it.
pub fn delete_cert_values(domain: &str, project: &ProjectId) -> Values {
    vec![Value::new(cert_key(domain)), Value::new(project.as_str())]
}

/// Values of [`super::cql::INDEX_CERT_STATUS`].
pub fn index_cert_status_values(status: CertStatus, domain: &str, timestamp: i64) -> Values {
    vec![
        Value::new(status.as_str()),
        Value::new(cert_key(domain)),
        Value::new(timestamp),
    ]
}

/// Values of [`super::cql::UNINDEX_CERT_STATUS`].
pub fn unindex_cert_status_values(timestamp: i64, status: CertStatus, domain: &str) -> Values {
    vec![
        Value::new(timestamp),
        Value::new(status.as_str()),
        Value::new(cert_key(domain)),
    ]
}

/// Values of [`super::cql::LIST_CERTS_BY_STATUS`]: no marker starts at the
/// empty string, the smallest `text` there is.
pub fn list_certs_by_status_values(status: CertStatus, after: Option<&str>, limit: u32) -> Values {
    vec![
        Value::new(status.as_str()),
        Value::new(after.unwrap_or("")),
        Value::new(limit_value(limit)),
    ]
}

/// Values of [`super::cql::GET_CERT_QUEUE`].
pub fn queue_key_values(provider: &str, queue: CertQueue) -> Values {
    vec![Value::new(provider), Value::new(queue.as_str())]
}

/// Values of [`super::cql::GET_CERT_SETTING`].
pub fn setting_key_values(provider: &str, key: &str) -> Values {
    vec![Value::new(provider), Value::new(key)]
}

/// Values of [`super::cql::PUT_CERT_SETTING`]: the setting as JSON.
pub fn put_setting_values(provider: &str, key: &str, value: &Json) -> Result<Values, PortError> {
    let text = serde_json::to_string(value)
        .map_err(|e| encode_error(format!("{provider} certificate setting {key}"), e))?;
    Ok(vec![
        Value::new(provider),
        Value::new(key),
        Value::new(text),
    ])
}

// ---------------------------------------------------------------- decoding

/// Decodes a row of [`super::cql::GET_CERT`]: the record is the JSON
/// `body`. Bad data is an error naming the row and column, never a panic.
pub fn cert_from_row(row: &Row) -> Result<SslCertificate, CassandraError> {
    let unnamed = || "certificate_info row".to_owned();
    let domain: String = column(row, "domain_name", &unnamed)?;
    let what = || format!("certificate_info row ({domain})");
    let body: String = column(row, "body", &what)?;
    serde_json::from_str(&body).map_err(|e| corrupt(what(), "body", e))
}

/// The owner in a row of [`super::cql::GET_CERT`].
pub fn cert_project_from_row(row: &Row) -> Result<ProjectId, CassandraError> {
    let project: String = column(row, "project_id", &|| "certificate_info row".to_owned())?;
    Ok(ProjectId::new(project))
}

/// The status in a row of [`super::cql::GET_CERT`] or
/// [`super::cql::GET_CERT_STATUS`].
pub fn cert_status_from_row(row: &Row) -> Result<CertStatus, CassandraError> {
    let what = || "certificate_info row".to_owned();
    let status: String = column(row, "status", &what)?;
    CertStatus::from_str(&status).map_err(|e| corrupt(what(), "status", e))
}

/// The domain of a row of [`super::cql::LIST_CERTS_BY_STATUS`].
pub fn cert_index_entry_from_row(row: &Row) -> Result<String, CassandraError> {
    column(row, "domain_name", &|| "cert_status row".to_owned())
}

/// A `cert_queues` row as read by [`super::cql::GET_CERT_QUEUE`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoredQueue {
    /// `None` when the queue was never written: the next write expects
    /// `IF version = null`.
    pub version: Option<i64>,
    pub items: Vec<Json>,
    /// The ids of the last writes (at most [`RECENT_WRITES`]), oldest first.
    pub recent_writes: Vec<Uuid>,
}

impl StoredQueue {
    /// A queue never written.
    pub fn empty() -> Self {
        Self {
            version: None,
            items: Vec::new(),
            recent_writes: Vec::new(),
        }
    }
}

/// Decodes the rows of [`super::cql::GET_CERT_QUEUE`]: no row is an empty
/// queue never written.
pub fn queue_from_rows(
    provider: &str,
    queue: CertQueue,
    rows: &[Row],
) -> Result<StoredQueue, CassandraError> {
    let Some(row) = rows.first() else {
        return Ok(StoredQueue::empty());
    };
    let what = || format!("cert_queues row ({provider}, {queue})");
    let version: Option<i64> = nullable(row, "version", &what)?;
    let json_list = |name: &'static str| -> Result<Option<String>, CassandraError> {
        nullable(row, name, &what)
    };
    let items = match json_list("items")? {
        None => Vec::new(),
        Some(text) => serde_json::from_str(&text).map_err(|e| corrupt(what(), "items", e))?,
    };
    let recent_writes = match json_list("recent_writes")? {
        None => Vec::new(),
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| corrupt(what(), "recent_writes", e))?
        }
    };
    Ok(StoredQueue {
        version,
        items,
        recent_writes,
    })
}

/// The setting in the rows of [`super::cql::GET_CERT_SETTING`].
pub fn setting_from_rows(
    provider: &str,
    key: &str,
    rows: &[Row],
) -> Result<Option<Json>, CassandraError> {
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let what = || format!("cert_settings row ({provider}, {key})");
    let text: Option<String> = nullable(row, "value", &what)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt(what(), "value", e)))
        .transpose()
}

// ------------------------------------------------------ lightweight writes

/// How many write ids a queue row remembers: enough to settle a lost
/// answer unless that many other writes landed on the same queue while the
/// writer waited for its serial read.
pub const RECENT_WRITES: usize = 32;

/// One compare-and-set of a queue: from the stored version to the next,
/// tagged with a fresh write id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueWrite {
    /// The version read (`None`: no row yet), the condition.
    pub expected: Option<i64>,
    pub version: i64,
    /// The new queue as a JSON array.
    pub items: String,
    pub write_id: Uuid,
    /// The stored ids with this one appended, as a JSON array.
    pub recent_writes: String,
}

/// Whether a write whose answer was lost happened, from a serial read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueSettle {
    Applied,
    NotApplied,
    /// More writes landed since than the row remembers: cannot tell.
    Unknown,
}

impl QueueWrite {
    /// The write that turns `stored` into `items`.
    pub fn after(stored: &StoredQueue, items: &[Json]) -> Result<Self, PortError> {
        let version = stored.version.unwrap_or(0).checked_add(1).ok_or_else(|| {
            PortError::Invalid("certificate queue version overflows bigint".to_owned())
        })?;
        let items = serde_json::to_string(items)
            .map_err(|e| encode_error("certificate queue items".to_owned(), e))?;
        let write_id = Uuid::new_v4();
        let keep = stored.recent_writes.len().min(RECENT_WRITES - 1);
        let mut recent = stored.recent_writes[stored.recent_writes.len() - keep..].to_vec();
        recent.push(write_id);
        let recent_writes = serde_json::to_string(&recent)
            .map_err(|e| encode_error("certificate queue write ids".to_owned(), e))?;
        Ok(Self {
            expected: stored.version,
            version,
            items,
            write_id,
            recent_writes,
        })
    }

    /// Values of [`super::cql::SET_CERT_QUEUE`] for `(provider, queue)`.
    pub fn values(&self, provider: &str, queue: CertQueue) -> Values {
        vec![
            Value::new(self.version),
            Value::new(self.items.as_str()),
            Value::new(self.recent_writes.as_str()),
            Value::new(provider),
            Value::new(queue.as_str()),
            match self.expected {
                Some(v) => Value::new(v),
                None => Value::Null,
            },
        ]
    }

    /// Whether this write happened, given `now`, a serial read after its
    /// answer was lost. Every attempt has its own id, so an identical queue
    /// written by another process is not mistaken for ours, and ours is
    /// recognised even when later writes followed it.
    pub fn settle(&self, now: &StoredQueue) -> QueueSettle {
        if now.recent_writes.contains(&self.write_id) {
            return QueueSettle::Applied;
        }
        let since = now
            .version
            .unwrap_or(0)
            .saturating_sub(self.expected.unwrap_or(0));
        if usize::try_from(since).is_ok_and(|n| n <= now.recent_writes.len()) {
            QueueSettle::NotApplied
        } else {
            QueueSettle::Unknown
        }
    }
}

/// The answer to [`super::cql::INSERT_CERT`]: `false` when the domain
/// already has a record (the contract's `Conflict`).
pub fn cert_inserted(rows: &[Row]) -> Result<bool, CassandraError> {
    applied(rows)
}

/// The answer to [`super::cql::UPDATE_CERT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertUpdateOutcome {
    Applied,
    /// The record does not exist.
    Missing,
    /// The stored status is not the one read: read again and retry.
    Moved {
        found: CertStatus,
    },
    /// Not applied, and the answer does not say why: read the row.
    Unknown,
}

/// Reads the answer to [`super::cql::UPDATE_CERT`] expecting `expected`:
/// a refused conditional update answers with the stored `status`; for a
/// missing row Cassandra answers a bare `[applied] = false` (→ `Unknown`,
/// settled by a serial read) or a null status.
pub fn cert_update_outcome(
    rows: &[Row],
    expected: CertStatus,
) -> Result<CertUpdateOutcome, CassandraError> {
    if applied(rows)? {
        return Ok(CertUpdateOutcome::Applied);
    }
    let Some(row) = rows.first() else {
        return Ok(CertUpdateOutcome::Unknown);
    };
    if !row.contains_column("status") {
        return Ok(CertUpdateOutcome::Unknown);
    }
    let what = || "certificate update answer".to_owned();
    let found: Option<String> = nullable(row, "status", &what)?;
    Ok(match found {
        None => CertUpdateOutcome::Missing,
        Some(found) => {
            let found = CertStatus::from_str(&found).map_err(|e| corrupt(what(), "status", e))?;
            if found == expected {
                CertUpdateOutcome::Unknown
            } else {
                CertUpdateOutcome::Moved { found }
            }
        }
    })
}

/// The answer to [`super::cql::DELETE_CERT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertDeleteOutcome {
    /// The owner's record was deleted.
    Deleted,
    /// The record belongs to another project and is left alone.
    OtherProject(ProjectId),
    /// There was no record (a bare `[applied] = false`).
    Missing,
}

/// Reads the answer to [`super::cql::DELETE_CERT`]: a refused conditional
/// delete answers with the stored `project_id`, or bare when no row.
pub fn cert_delete_outcome(rows: &[Row]) -> Result<CertDeleteOutcome, CassandraError> {
    if applied(rows)? {
        return Ok(CertDeleteOutcome::Deleted);
    }
    let project: Option<String> = match rows.first() {
        Some(row) => nullable(row, "project_id", &|| {
            "certificate delete answer".to_owned()
        })?,
        None => None,
    };
    Ok(match project {
        Some(project) => CertDeleteOutcome::OtherProject(ProjectId::new(project)),
        None => CertDeleteOutcome::Missing,
    })
}
