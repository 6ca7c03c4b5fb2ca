//! [`CertificateStore`] on Cassandra: the `certificate_info`, `cert_status`,
//! `cert_queues` and `cert_settings` tables of migration
//! `0005_certificates`, sequenced over [`super::queries::certs`].

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use poppy_core::model::{CertQueue, CertStatus, ProjectId, SslCertificate};
use poppy_core::ports::{CertificateStore, PortError};
use serde_json::Value as Json;

use super::error::CassandraError;
use super::queries::certs::{
    self, CertDeleteOutcome, CertRow, CertUpdateOutcome, QueueSettle, QueueWrite, StoredQueue,
};
use super::queries::{self, cql};
use super::session::{Db, Level};
use super::store::{backoff, INDEX_PAGE, MAX_ATTEMPTS};
use super::{CassandraStore, NAME};

/// SSL certificate records, their status index, the per-provider queues and
/// settings in the store's keyspace. Cheap to clone; shares the session of
/// the [`CassandraStore`] it came from.
///
/// How the contract is kept:
/// - Records: every write of a `certificate_info` row is a lightweight
///   transaction. `create` is `INSERT … IF NOT EXISTS`, so of two processes
///   creating one domain exactly one wins and the other gets `Conflict`;
///   `update` is `UPDATE … IF status = <the status read>`, retried after a
///   fresh read when the status moved; `delete` is
///   `DELETE … IF project_id = ?`, so only the owner removes it.
/// - Status index (`cert_status`, partition = status, clustering = domain):
///   it may hold more rows than the truth, never fewer, and
///   `list_by_status` checks each candidate against the record. A writer
///   adds the row of the new status before its transaction and again after
///   it (with a fresh client timestamp), and removes the old status's row
///   with a timestamp taken before its transaction. Any removal that races
///   a later write therefore carries an older timestamp than that write's
///   second index row, and loses.
/// - Queues: one row per queue, swapped by compare-and-set on a version
///   (see the private `swap_queue` for why).
/// - Settings: plain upserts, last write wins.
#[derive(Clone)]
pub struct CassandraCertificateStore {
    db: Arc<Db>,
}

impl fmt::Debug for CassandraCertificateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CassandraCertificateStore")
            .field("db", &self.db)
            .finish()
    }
}

impl CassandraStore {
    /// The certificate store on this store's session and keyspace.
    pub fn certificates(&self) -> CassandraCertificateStore {
        CassandraCertificateStore {
            db: Arc::clone(&self.db),
        }
    }
}

/// A record as stored, with the columns the conditions compare.
struct Stored {
    cert: SslCertificate,
    project: ProjectId,
    status: CertStatus,
}

impl CassandraCertificateStore {
    async fn stored(&self, domain: &str, level: Level) -> Result<Option<Stored>, PortError> {
        let rows = self
            .db
            .read(
                "get certificate",
                cql::GET_CERT,
                certs::cert_key_values(domain),
                level,
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(Stored {
            cert: certs::cert_from_row(row)?,
            project: certs::cert_project_from_row(row)?,
            status: certs::cert_status_from_row(row)?,
        }))
    }

    /// Writes the index row of `row`'s status at a fresh timestamp.
    async fn index(&self, row: &CertRow) -> Result<(), CassandraError> {
        self.db
            .write(
                "index certificate status",
                cql::INDEX_CERT_STATUS,
                row.index_values(self.db.timestamp()),
            )
            .await
    }

    /// The second index write, after the record changed: its failure is
    /// logged, not returned, as the record is written and the row of the
    /// first write is there unless a removal raced it.
    async fn reindex(&self, row: &CertRow) {
        if let Err(e) = self.index(row).await {
            tracing::warn!(domain = %row.domain, error = %e,
                "cassandra: could not refresh a certificate status index row");
        }
    }

    /// Removes `domain` from `statuses` of the index at `at` (µs). Best
    /// effort: a row left behind is filtered out by `list_by_status`.
    async fn unindex(&self, domain: &str, statuses: &[CertStatus], at: i64) {
        for status in statuses {
            let removed = self
                .db
                .write(
                    "unindex certificate status",
                    cql::UNINDEX_CERT_STATUS,
                    certs::unindex_cert_status_values(at, *status, domain),
                )
                .await;
            if let Err(e) = removed {
                tracing::warn!(domain, error = %e,
                    "cassandra: stale certificate status index row left");
            }
        }
    }

    async fn read_queue(
        &self,
        provider: &str,
        queue: CertQueue,
        level: Level,
    ) -> Result<StoredQueue, PortError> {
        let rows = self
            .db
            .read(
                "read certificate queue",
                cql::GET_CERT_QUEUE,
                certs::queue_key_values(provider, queue),
                level,
            )
            .await?;
        Ok(certs::queue_from_rows(provider, queue, &rows)?)
    }

    /// Replaces the queue `(provider, queue)` with `next(stored)` and
    /// returns the stored queue it replaced, atomically.
    ///
    /// Why one row holding the whole queue, changed by compare-and-set on a
    /// version (`UPDATE … IF version = ?`), rather than a row per item: the
    /// contract needs `replace_queue` and `take_queue` to swap the whole
    /// queue at once against concurrent `enqueue`s. With a row per item that
    /// takes a conditional batch deleting every item read and inserting
    /// every new one, which grows with the queue and meets Cassandra's batch
    /// size limit (50 kB by default), and leaves a tombstone per item. With
    /// one row, every operation is one lightweight transaction on one
    /// partition: a concurrent write makes the condition fail, and the loser
    /// reads again and retries, so an item enqueued concurrently is either in
    /// what a take returns or in the queue after it, never lost. The queues
    /// are short operator lists (the original kept each in one ZooKeeper
    /// node), so rewriting one is cheap.
    ///
    /// A lost answer (timeout) is settled by a serial read: the row keeps
    /// the ids of its last writes, so the writer sees whether its own write
    /// happened even if others wrote after it.
    async fn swap_queue(
        &self,
        op: &'static str,
        provider: &str,
        queue: CertQueue,
        next: impl Fn(&StoredQueue) -> Vec<Json>,
    ) -> Result<StoredQueue, PortError> {
        for attempt in 0..MAX_ATTEMPTS {
            let stored = self.read_queue(provider, queue, Level::Serial).await?;
            let items = next(&stored);
            if items == stored.items {
                // Nothing changes (taking an empty queue): the serial read
                // is the atomic step.
                return Ok(stored);
            }
            let write = QueueWrite::after(&stored, &items)?;
            match self
                .db
                .conditional(op, cql::SET_CERT_QUEUE, write.values(provider, queue))
                .await
            {
                Ok(rows) if queries::applied(&rows)? => return Ok(stored),
                // Another writer moved the version: read again.
                Ok(_) => {}
                Err(e) if e.outcome_unknown() => {
                    let now = self.read_queue(provider, queue, Level::Serial).await?;
                    match write.settle(&now) {
                        QueueSettle::Applied => return Ok(stored),
                        QueueSettle::NotApplied => {}
                        QueueSettle::Unknown => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
            backoff(attempt).await;
        }
        Err(CassandraError::Contention {
            op,
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }
}

#[async_trait]
impl CertificateStore for CassandraCertificateStore {
    fn name(&self) -> &str {
        NAME
    }

    async fn create(&self, cert: &SslCertificate) -> Result<(), PortError> {
        let row = CertRow::encode(cert)?;
        // A taken domain is refused before touching the index.
        if self.stored(&row.domain, Level::Write).await?.is_some() {
            return Err(certs::cert_exists(&row.domain));
        }
        // Indexed before the insert so a crash after it leaves no record
        // unlisted; the row of a refused insert is filtered by readers.
        self.index(&row).await?;
        for attempt in 0..MAX_ATTEMPTS {
            match self
                .db
                .conditional("create certificate", cql::INSERT_CERT, row.insert_values())
                .await
            {
                Ok(rows) if certs::cert_inserted(&rows)? => {
                    self.reindex(&row).await;
                    return Ok(());
                }
                Ok(_) => return Err(certs::cert_exists(&row.domain)),
                Err(e) if e.outcome_unknown() => {}
                Err(e) => return Err(e.into()),
            }
            // The answer was lost: the serial read also finishes the insert
            // if it is still in its Paxos round.
            match self.stored(&row.domain, Level::Serial).await? {
                Some(stored) if stored.cert == *cert => {
                    self.reindex(&row).await;
                    return Ok(());
                }
                Some(_) => return Err(certs::cert_exists(&row.domain)),
                None => backoff(attempt).await,
            }
        }
        Err(CassandraError::Contention {
            op: "create certificate",
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    async fn get(&self, domain: &str) -> Result<Option<SslCertificate>, PortError> {
        Ok(self.stored(domain, Level::Read).await?.map(|s| s.cert))
    }

    async fn update(&self, cert: &SslCertificate) -> Result<(), PortError> {
        let row = CertRow::encode(cert)?;
        let not_found = || PortError::NotFound(format!("certificate for {}", row.domain));
        for attempt in 0..MAX_ATTEMPTS {
            let Some(stored) = self.stored(&row.domain, Level::Serial).await? else {
                return Err(not_found());
            };
            // Taken before the write: see the index notes on the type.
            let prune_at = self.db.timestamp();
            self.index(&row).await?;
            let outcome = match self
                .db
                .conditional(
                    "update certificate",
                    cql::UPDATE_CERT,
                    row.update_values(stored.status),
                )
                .await
            {
                Ok(rows) => certs::cert_update_outcome(&rows, stored.status)?,
                Err(e) if e.outcome_unknown() => {
                    match self.stored(&row.domain, Level::Serial).await? {
                        Some(now) if now.cert == *cert => CertUpdateOutcome::Applied,
                        _ => CertUpdateOutcome::Unknown,
                    }
                }
                Err(e) => return Err(e.into()),
            };
            match outcome {
                CertUpdateOutcome::Applied => {
                    if stored.status != row.status {
                        self.unindex(&row.domain, &[stored.status], prune_at).await;
                    }
                    self.reindex(&row).await;
                    return Ok(());
                }
                CertUpdateOutcome::Missing => return Err(not_found()),
                // The status moved or the answer said nothing: read again.
                CertUpdateOutcome::Moved { .. } | CertUpdateOutcome::Unknown => {
                    backoff(attempt).await
                }
            }
        }
        Err(CassandraError::Contention {
            op: "update certificate",
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    async fn delete(&self, domain: &str, project: &ProjectId) -> Result<(), PortError> {
        let key = certs::cert_key(domain);
        for attempt in 0..MAX_ATTEMPTS {
            let prune_at = self.db.timestamp();
            match self
                .db
                .conditional(
                    "delete certificate",
                    cql::DELETE_CERT,
                    certs::delete_cert_values(&key, project),
                )
                .await
            {
                Ok(rows) => {
                    if certs::cert_delete_outcome(&rows)? == CertDeleteOutcome::Deleted {
                        self.unindex(&key, CertStatus::ALL, prune_at).await;
                    }
                    // Another project's record, or none: left alone.
                    return Ok(());
                }
                Err(e) if e.outcome_unknown() => {}
                Err(e) => return Err(e.into()),
            }
            match self.stored(&key, Level::Serial).await? {
                None => {
                    self.unindex(&key, CertStatus::ALL, prune_at).await;
                    return Ok(());
                }
                Some(stored) if stored.project != *project => return Ok(()),
                Some(_) => backoff(attempt).await,
            }
        }
        Err(CassandraError::Contention {
            op: "delete certificate",
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    async fn list_by_status(&self, status: CertStatus) -> Result<Vec<String>, PortError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .db
                .read(
                    "list certificates by status",
                    cql::LIST_CERTS_BY_STATUS,
                    certs::list_certs_by_status_values(status, after.as_deref(), INDEX_PAGE),
                    Level::Read,
                )
                .await?;
            for row in &rows {
                let domain = certs::cert_index_entry_from_row(row)?;
                let current = self
                    .db
                    .read(
                        "check certificate status index",
                        cql::GET_CERT_STATUS,
                        certs::cert_key_values(&domain),
                        Level::Read,
                    )
                    .await?;
                let current = current
                    .first()
                    .map(certs::cert_status_from_row)
                    .transpose()?;
                if current == Some(status) {
                    out.push(domain.clone());
                }
                after = Some(domain);
            }
            if rows.len() < INDEX_PAGE as usize {
                return Ok(out);
            }
        }
    }

    async fn queue(&self, provider: &str, queue: CertQueue) -> Result<Vec<Json>, PortError> {
        Ok(self.read_queue(provider, queue, Level::Read).await?.items)
    }

    async fn enqueue(
        &self,
        provider: &str,
        queue: CertQueue,
        item: &Json,
    ) -> Result<(), PortError> {
        self.swap_queue("enqueue certificate item", provider, queue, |stored| {
            let mut items = stored.items.clone();
            items.push(item.clone());
            items
        })
        .await
        .map(drop)
    }

    async fn replace_queue(
        &self,
        provider: &str,
        queue: CertQueue,
        items: &[Json],
    ) -> Result<Vec<Json>, PortError> {
        Ok(self
            .swap_queue("replace certificate queue", provider, queue, |_| {
                items.to_vec()
            })
            .await?
            .items)
    }

    async fn take_queue(&self, provider: &str, queue: CertQueue) -> Result<Vec<Json>, PortError> {
        Ok(self
            .swap_queue("take certificate queue", provider, queue, |_| Vec::new())
            .await?
            .items)
    }

    async fn get_setting(&self, provider: &str, key: &str) -> Result<Option<Json>, PortError> {
        let rows = self
            .db
            .read(
                "read certificate setting",
                cql::GET_CERT_SETTING,
                certs::setting_key_values(provider, key),
                Level::Read,
            )
            .await?;
        Ok(certs::setting_from_rows(provider, key, &rows)?)
    }

    async fn put_setting(&self, provider: &str, key: &str, value: &Json) -> Result<(), PortError> {
        self.db
            .write(
                "write certificate setting",
                cql::PUT_CERT_SETTING,
                certs::put_setting_values(provider, key, value)?,
            )
            .await?;
        Ok(())
    }
}
