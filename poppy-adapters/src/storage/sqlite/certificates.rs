//! [`CertificateStore`] on SQLite: the `certificates`,
//! `certificate_queue` and `certificate_settings` tables of migration
//! `0002_certificates`, in the same database file as the services, so the
//! queues survive restarts and are shared by every process on the file.

use std::fmt;

use async_trait::async_trait;
use poppy_core::model::{CertQueue, CertStatus, ProjectId, SslCertificate};
use poppy_core::ports::{CertificateStore, PortError};
use rusqlite::{params, OptionalExtension};
use serde_json::Value;

use super::error::{corrupt, is_constraint, Fail, SqliteError};
use super::{SqliteDatabase, NAME};

/// SSL certificate records, queues and settings in a [`SqliteDatabase`].
/// Cheap to clone.
#[derive(Clone)]
pub struct SqliteCertificateStore {
    db: SqliteDatabase,
}

impl fmt::Debug for SqliteCertificateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteCertificateStore")
            .field("db", &self.db)
            .finish()
    }
}

impl SqliteDatabase {
    /// A certificate store on this database.
    pub fn certificates(&self) -> SqliteCertificateStore {
        SqliteCertificateStore { db: self.clone() }
    }
}

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<String, Fail> {
    serde_json::to_string(value).map_err(|e| {
        Fail::Adapter(SqliteError::Encode {
            what: what.to_owned(),
            message: e.to_string(),
        })
    })
}

fn decode_cert(domain: &str, body: &str) -> Result<SslCertificate, Fail> {
    serde_json::from_str(body).map_err(|e| corrupt(format!("certificate {domain}"), "body", e))
}

fn decode_value(what: String, column: &'static str, text: &str) -> Result<Value, Fail> {
    serde_json::from_str(text).map_err(|e| corrupt(what, column, e))
}

/// A certificate encoded for storage, owned so it can move to a blocking task.
struct CertRow {
    domain: String,
    project: String,
    status: &'static str,
    body: String,
    updated_at: i64,
}

impl CertRow {
    fn encode(cert: &SslCertificate) -> Result<Self, PortError> {
        let domain = cert.domain_name.to_ascii_lowercase();
        let body = encode(&format!("certificate {domain}"), cert)
            .map_err(|e| e.into_port("encode certificate"))?;
        Ok(Self {
            domain,
            project: cert.project_id.as_str().to_owned(),
            status: cert.status.as_str(),
            body,
            updated_at: cert.updated_at,
        })
    }
}

fn read_queue(
    conn: &rusqlite::Connection,
    provider: &str,
    queue: &str,
) -> Result<Vec<Value>, Fail> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, item FROM certificate_queue WHERE provider = ?1 AND queue = ?2 ORDER BY seq",
    )?;
    let mut rows = stmt.query(params![provider, queue])?;
    let mut items = Vec::new();
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let text: String = row.get(1)?;
        items.push(decode_value(
            format!("{provider} {queue} queue item {seq}"),
            "item",
            &text,
        )?);
    }
    Ok(items)
}

fn delete_queue(conn: &rusqlite::Connection, provider: &str, queue: &str) -> Result<(), Fail> {
    conn.prepare_cached("DELETE FROM certificate_queue WHERE provider = ?1 AND queue = ?2")?
        .execute(params![provider, queue])?;
    Ok(())
}

fn encode_items(items: &[Value]) -> Result<Vec<String>, PortError> {
    items
        .iter()
        .map(|v| encode("certificate queue item", v).map_err(|e| e.into_port("encode queue item")))
        .collect()
}

#[async_trait]
impl CertificateStore for SqliteCertificateStore {
    fn name(&self) -> &str {
        NAME
    }

    async fn create(&self, cert: &SslCertificate) -> Result<(), PortError> {
        let row = CertRow::encode(cert)?;
        self.db
            .write("create certificate", move |tx| {
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO certificates (domain_name, project_id, status, body, updated_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![row.domain, row.project, row.status, row.body, row.updated_at]);
                match inserted {
                    Ok(_) => Ok(()),
                    Err(e) if is_constraint(&e) => Err(Fail::Port(PortError::Conflict(format!(
                        "Certificate already exists for {}",
                        row.domain
                    )))),
                    Err(e) => Err(e.into()),
                }
            })
            .await
    }

    async fn get(&self, domain: &str) -> Result<Option<SslCertificate>, PortError> {
        let domain = domain.to_ascii_lowercase();
        self.db
            .read("get certificate", move |conn| {
                let body: Option<String> = conn
                    .prepare_cached("SELECT body FROM certificates WHERE domain_name = ?1")?
                    .query_row([&domain], |r| r.get(0))
                    .optional()?;
                body.map(|b| decode_cert(&domain, &b)).transpose()
            })
            .await
    }

    async fn update(&self, cert: &SslCertificate) -> Result<(), PortError> {
        let row = CertRow::encode(cert)?;
        self.db
            .write("update certificate", move |tx| {
                let changed = tx
                    .prepare_cached(
                        "UPDATE certificates SET project_id = ?2, status = ?3, body = ?4, \
                         updated_at = ?5 WHERE domain_name = ?1",
                    )?
                    .execute(params![
                        row.domain,
                        row.project,
                        row.status,
                        row.body,
                        row.updated_at
                    ])?;
                if changed == 0 {
                    return Err(Fail::Port(PortError::NotFound(format!(
                        "certificate for {}",
                        row.domain
                    ))));
                }
                Ok(())
            })
            .await
    }

    async fn delete(&self, domain: &str, project: &ProjectId) -> Result<(), PortError> {
        let domain = domain.to_ascii_lowercase();
        let project = project.as_str().to_owned();
        self.db
            .write("delete certificate", move |tx| {
                tx.prepare_cached(
                    "DELETE FROM certificates WHERE domain_name = ?1 AND project_id = ?2",
                )?
                .execute(params![domain, project])?;
                Ok(())
            })
            .await
    }

    async fn list_by_status(&self, status: CertStatus) -> Result<Vec<String>, PortError> {
        self.db
            .read("list certificates by status", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT domain_name FROM certificates WHERE status = ?1 ORDER BY domain_name",
                )?;
                let domains = stmt
                    .query_map([status.as_str()], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(domains)
            })
            .await
    }

    async fn queue(&self, provider: &str, queue: CertQueue) -> Result<Vec<Value>, PortError> {
        let provider = provider.to_owned();
        self.db
            .read("read certificate queue", move |conn| {
                read_queue(conn, &provider, queue.as_str())
            })
            .await
    }

    async fn enqueue(
        &self,
        provider: &str,
        queue: CertQueue,
        item: &Value,
    ) -> Result<(), PortError> {
        let provider = provider.to_owned();
        let item = encode_items(std::slice::from_ref(item))?;
        self.db
            .write("enqueue certificate item", move |tx| {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO certificate_queue (provider, queue, item) VALUES (?1, ?2, ?3)",
                )?;
                for text in &item {
                    insert.execute(params![provider, queue.as_str(), text])?;
                }
                Ok(())
            })
            .await
    }

    async fn replace_queue(
        &self,
        provider: &str,
        queue: CertQueue,
        items: &[Value],
    ) -> Result<Vec<Value>, PortError> {
        let provider = provider.to_owned();
        let items = encode_items(items)?;
        self.db
            .write("replace certificate queue", move |tx| {
                let previous = read_queue(tx, &provider, queue.as_str())?;
                delete_queue(tx, &provider, queue.as_str())?;
                let mut insert = tx.prepare_cached(
                    "INSERT INTO certificate_queue (provider, queue, item) VALUES (?1, ?2, ?3)",
                )?;
                for text in &items {
                    insert.execute(params![provider, queue.as_str(), text])?;
                }
                Ok(previous)
            })
            .await
    }

    async fn take_queue(&self, provider: &str, queue: CertQueue) -> Result<Vec<Value>, PortError> {
        let provider = provider.to_owned();
        self.db
            .write("take certificate queue", move |tx| {
                let items = read_queue(tx, &provider, queue.as_str())?;
                delete_queue(tx, &provider, queue.as_str())?;
                Ok(items)
            })
            .await
    }

    async fn get_setting(&self, provider: &str, key: &str) -> Result<Option<Value>, PortError> {
        let (provider, key) = (provider.to_owned(), key.to_owned());
        self.db
            .read("read certificate setting", move |conn| {
                let text: Option<String> = conn
                    .prepare_cached(
                        "SELECT value FROM certificate_settings WHERE provider = ?1 AND key = ?2",
                    )?
                    .query_row(params![provider, key], |r| r.get(0))
                    .optional()?;
                text.map(|t| decode_value(format!("{provider} setting {key}"), "value", &t))
                    .transpose()
            })
            .await
    }

    async fn put_setting(&self, provider: &str, key: &str, value: &Value) -> Result<(), PortError> {
        let (provider, key) = (provider.to_owned(), key.to_owned());
        let text = encode(&format!("{provider} setting {key}"), value)
            .map_err(|e| e.into_port("encode setting"))?;
        self.db
            .write("write certificate setting", move |tx| {
                tx.prepare_cached(
                    "INSERT INTO certificate_settings (provider, key, value) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (provider, key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![provider, key, text])?;
                Ok(())
            })
            .await
    }
}
