//! The SQLite job board (feature `sqlite`): the `jobs` table of a
//! [`SqliteDatabase`], claimed with one atomic `UPDATE … RETURNING`.
//!
//! Workers in several processes may share the database: claims, lease checks
//! and completions are single write transactions, and a lease is a token
//! plus an expiry time stored in the row. Only the "work was posted" wake-up
//! is in-process; other processes find new jobs by polling
//! (`wait_for_work` returns after its timeout).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use poppy_core::clock::{now_ms, Millis};
use poppy_core::model::{Claim, Job, ServiceId};
use poppy_core::ports::{JobBoard, JobStats, PortError};
use rusqlite::{params, Connection, Row};
use uuid::Uuid;

use crate::storage::sqlite::{
    corrupt, text, text_or_null, Fail, SqliteDatabase, SqliteError, NAME,
};

/// Hands out the oldest job that is due, not leased (or whose lease lapsed),
/// and has no older queued job of the same service. One statement, run in a
/// `BEGIN IMMEDIATE` transaction, so two claimers never get the same job.
const CLAIM: &str = "UPDATE jobs \
    SET attempts = attempts + 1, lease_token = ?1, lease_owner = ?2, lease_until = ?3 \
    WHERE seq = ( \
        SELECT j.seq FROM jobs AS j \
        WHERE j.state = 'queued' \
          AND j.not_before <= ?4 \
          AND (j.lease_until IS NULL OR j.lease_until <= ?4) \
          AND NOT EXISTS ( \
              SELECT 1 FROM jobs AS o \
              WHERE o.service_id = j.service_id AND o.state = 'queued' AND o.seq < j.seq) \
        ORDER BY j.seq LIMIT 1) \
    RETURNING seq, id, body, attempts, not_before, progress, last_error";

/// The job board on a [`SqliteDatabase`]. Cheap to clone.
#[derive(Clone)]
pub struct SqliteJobBoard {
    db: SqliteDatabase,
}

impl fmt::Debug for SqliteJobBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteJobBoard")
            .field("db", &self.db)
            .finish()
    }
}

impl SqliteJobBoard {
    /// A job board on `db`.
    pub fn new(db: &SqliteDatabase) -> Self {
        Self { db: db.clone() }
    }

    /// The database this board uses.
    pub fn database(&self) -> &SqliteDatabase {
        &self.db
    }

    /// Jobs a worker gave up on (`fail`), oldest first, for operators.
    pub async fn failed_jobs(&self, limit: u32) -> Result<Vec<Job>, PortError> {
        self.db
            .read("list failed jobs", move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT seq, id, body, attempts, not_before, progress, last_error \
                     FROM jobs WHERE state = 'failed' ORDER BY seq LIMIT ?1",
                )?;
                let mut rows = stmt.query([i64::from(limit)])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(job_from_row(row)?);
                }
                Ok(out)
            })
            .await
    }

    /// The earliest time after `now` at which a queued job's backoff or
    /// lease ends.
    async fn next_deadline(&self, now: Millis) -> Result<Option<Millis>, PortError> {
        self.db
            .read("next job deadline", move |c| {
                Ok(c.prepare_cached(
                    "SELECT MIN(CASE WHEN lease_until > ?1 THEN lease_until \
                                     WHEN not_before > ?1 THEN not_before END) \
                     FROM jobs WHERE state = 'queued'",
                )?
                .query_row([now], |r| r.get(0))?)
            })
            .await
    }

    /// Runs a statement that must touch the claimed job's row while the
    /// claim's token still holds it; otherwise the lease was lost.
    async fn with_lease<F>(
        &self,
        op: &'static str,
        claim: &Claim,
        mut f: F,
    ) -> Result<(), PortError>
    where
        F: FnMut(&Connection, &str, &str) -> rusqlite::Result<usize> + Send + 'static,
    {
        let id = claim.job.id.to_string();
        let token = claim.token.to_string();
        self.db
            .write(op, move |tx| {
                if f(tx, &id, &token)? == 1 {
                    Ok(())
                } else {
                    Err(lost_lease(&id))
                }
            })
            .await
    }
}

fn lost_lease(id: &str) -> Fail {
    Fail::Port(PortError::Conflict(format!(
        "job {id}: lease lost (completed, failed or claimed by another worker)"
    )))
}

fn lease_until(now: Millis, lease: Duration) -> Millis {
    now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

/// A job encoded for the `jobs` table, owned so it can move to a blocking
/// task. Shared with the store's outbox so both write the same row.
pub(crate) struct JobRow {
    id: String,
    project_id: String,
    service_id: String,
    body: String,
    attempts: i64,
    not_before: Millis,
    progress: Option<String>,
    last_error: Option<String>,
    created_at: Millis,
}

impl JobRow {
    pub(crate) fn encode(job: &Job) -> Result<Self, Fail> {
        let encode_err = |e: serde_json::Error| {
            Fail::Adapter(SqliteError::Encode {
                what: format!("job {}", job.id),
                message: e.to_string(),
            })
        };
        let progress = if job.progress.is_null() {
            None
        } else {
            Some(serde_json::to_string(&job.progress).map_err(encode_err)?)
        };
        Ok(Self {
            id: job.id.to_string(),
            project_id: job.project_id.as_str().to_owned(),
            service_id: job.service_id.to_string(),
            body: serde_json::to_string(job).map_err(encode_err)?,
            attempts: i64::from(job.attempts),
            not_before: job.not_before,
            progress,
            last_error: job.last_error.clone(),
            created_at: job.created_at,
        })
    }

    /// Inserts the job unless one with its id exists (posting is
    /// idempotent). Returns whether a row was added.
    pub(crate) fn insert(&self, conn: &Connection) -> rusqlite::Result<bool> {
        let added = conn
            .prepare_cached(
                "INSERT INTO jobs (id, project_id, service_id, body, attempts, not_before, \
                 progress, last_error, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
            )?
            .execute(params![
                self.id,
                self.project_id,
                self.service_id,
                self.body,
                self.attempts,
                self.not_before,
                self.progress,
                self.last_error,
                self.created_at,
            ])?;
        Ok(added == 1)
    }
}

/// Decodes `seq, id, body, attempts, not_before, progress, last_error`; the
/// mutable columns win over the copies in the posted body.
fn job_from_row(row: &Row<'_>) -> Result<Job, Fail> {
    let seq: i64 = row.get(0)?;
    let id = text(row, 1)?;
    let what = || format!("jobs row {seq} (id {id})");
    let mut job: Job =
        serde_json::from_str(text(row, 2)?).map_err(|e| corrupt(what(), "body", e))?;
    let attempts: i64 = row.get(3)?;
    job.attempts = u32::try_from(attempts)
        .map_err(|_| corrupt(what(), "attempts", format!("{attempts} out of range")))?;
    job.not_before = row.get(4)?;
    job.progress = match text_or_null(row, 5)? {
        Some(text) => serde_json::from_str(text).map_err(|e| corrupt(what(), "progress", e))?,
        None => serde_json::Value::Null,
    };
    job.last_error = row.get(6)?;
    Ok(job)
}

#[async_trait]
impl JobBoard for SqliteJobBoard {
    fn name(&self) -> &str {
        NAME
    }

    async fn is_alive(&self) -> bool {
        self.db
            .read("ping", |c| {
                Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)
            })
            .await
            .is_ok()
    }

    async fn post(&self, job: &Job) -> Result<(), PortError> {
        let row = JobRow::encode(job).map_err(|e| e.into_port("encode job"))?;
        let added = self
            .db
            .write("post job", move |tx| Ok(row.insert(tx)?))
            .await?;
        if added {
            self.db.wake_worker();
        }
        Ok(())
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, PortError> {
        let worker = worker.to_owned();
        let token = Uuid::new_v4();
        let outcome = self
            .db
            .write("claim job", move |tx| {
                let now = now_ms();
                let until = lease_until(now, lease);
                let mut stmt = tx.prepare_cached(CLAIM)?;
                let mut rows = stmt.query(params![token.to_string(), worker, until, now])?;
                let Some(row) = rows.next()? else {
                    return Ok(Ok(None));
                };
                let seq: i64 = row.get(0)?;
                match job_from_row(row) {
                    Ok(job) => Ok(Ok(Some(Claim {
                        job,
                        worker: worker.clone(),
                        token,
                        lease_until: until,
                    }))),
                    Err(bad) => {
                        drop(rows);
                        drop(stmt);
                        // A row no worker can decode would be claimed again
                        // and again; park it as failed for an operator and
                        // commit that, then report the error.
                        let message = match bad {
                            Fail::Adapter(e) => e,
                            Fail::Sql(e) => SqliteError::CorruptRow {
                                what: format!("jobs row {seq}"),
                                column: "*",
                                message: e.to_string(),
                            },
                            Fail::Port(e) => return Err(Fail::Port(e)),
                        };
                        tx.prepare_cached(
                            "UPDATE jobs SET state = 'failed', last_error = ?2, \
                             lease_token = NULL, lease_owner = NULL, lease_until = NULL \
                             WHERE seq = ?1",
                        )?
                        .execute(params![seq, message.to_string()])?;
                        Ok(Err(message))
                    }
                }
            })
            .await?;
        outcome.map_err(PortError::from)
    }

    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<Claim, PortError> {
        let until = lease_until(now_ms(), lease);
        self.with_lease("heartbeat job", claim, move |c, id, token| {
            c.prepare_cached(
                "UPDATE jobs SET lease_until = ?3 \
                 WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'",
            )?
            .execute(params![id, token, until])
        })
        .await?;
        let mut renewed = claim.clone();
        renewed.lease_until = until;
        Ok(renewed)
    }

    async fn checkpoint(
        &self,
        claim: &Claim,
        progress: &serde_json::Value,
    ) -> Result<(), PortError> {
        let progress = serde_json::to_string(progress).map_err(|e| {
            PortError::from(SqliteError::Encode {
                what: format!("progress of job {}", claim.job.id),
                message: e.to_string(),
            })
        })?;
        self.with_lease("checkpoint job", claim, move |c, id, token| {
            c.prepare_cached(
                "UPDATE jobs SET progress = ?3 \
                 WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'",
            )?
            .execute(params![id, token, progress])
        })
        .await
    }

    async fn complete(&self, claim: &Claim) -> Result<(), PortError> {
        self.with_lease("complete job", claim, |c, id, token| {
            c.prepare_cached(
                "DELETE FROM jobs WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'",
            )?
            .execute(params![id, token])
        })
        .await?;
        // The service's next job, if any, is claimable now.
        self.db.wake_worker();
        Ok(())
    }

    async fn retry(&self, claim: &Claim, not_before: Millis, error: &str) -> Result<(), PortError> {
        let error = error.to_owned();
        self.with_lease("retry job", claim, move |c, id, token| {
            c.prepare_cached(
                "UPDATE jobs SET not_before = ?3, last_error = ?4, \
                 lease_token = NULL, lease_owner = NULL, lease_until = NULL \
                 WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'",
            )?
            .execute(params![id, token, not_before, error])
        })
        .await?;
        self.db.wake_worker();
        Ok(())
    }

    async fn fail(&self, claim: &Claim, reason: &str) -> Result<(), PortError> {
        let reason = reason.to_owned();
        self.with_lease("fail job", claim, move |c, id, token| {
            c.prepare_cached(
                "UPDATE jobs SET state = 'failed', last_error = ?3, \
                 lease_token = NULL, lease_owner = NULL, lease_until = NULL \
                 WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'",
            )?
            .execute(params![id, token, reason])
        })
        .await?;
        self.db.wake_worker();
        Ok(())
    }

    async fn release(&self, claim: &Claim) -> Result<(), PortError> {
        self.with_lease("release job", claim, |c, id, token| {
            c.prepare_cached(
                "UPDATE jobs SET attempts = MAX(attempts - 1, 0), \
                 lease_token = NULL, lease_owner = NULL, lease_until = NULL \
                 WHERE id = ?1 AND lease_token = ?2 AND state = 'queued'",
            )?
            .execute(params![id, token])
        })
        .await?;
        self.db.wake_worker();
        Ok(())
    }

    async fn pending_for(&self, service: &ServiceId) -> Result<usize, PortError> {
        let service = service.to_string();
        self.db
            .read("count pending jobs", move |c| {
                let n: i64 = c
                    .prepare_cached(
                        "SELECT COUNT(*) FROM jobs WHERE service_id = ?1 AND state = 'queued'",
                    )?
                    .query_row([&service], |r| r.get(0))?;
                usize::try_from(n).map_err(|_| {
                    corrupt(
                        format!("jobs of service {service}"),
                        "count",
                        format!("{n}"),
                    )
                })
            })
            .await
    }

    async fn stats(&self) -> Result<Option<JobStats>, PortError> {
        let now = now_ms();
        self.db
            .read("job board stats", move |c| {
                let (queued, claimed, oldest): (i64, i64, Option<i64>) = c
                    .prepare_cached(
                        "SELECT COUNT(*), \
                                COALESCE(SUM(CASE WHEN lease_until > ?1 THEN 1 ELSE 0 END), 0), \
                                MIN(created_at) \
                         FROM jobs WHERE state = 'queued'",
                    )?
                    .query_row([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                Ok(Some(JobStats {
                    queued: u64::try_from(queued).unwrap_or(0),
                    claimed: u64::try_from(claimed).unwrap_or(0),
                    oldest_created_at: oldest,
                }))
            })
            .await
    }

    async fn wait_for_work(&self, timeout: Duration) {
        // Wake up when a retry's backoff or a lease ends, not a whole
        // timeout later. Another process's posts are not signalled here: the
        // timeout is the polling interval for them.
        let now = now_ms();
        let wait = match self.next_deadline(now).await {
            Ok(Some(at)) => {
                timeout.min(Duration::from_millis(u64::try_from(at - now).unwrap_or(0)))
            }
            Ok(None) => timeout,
            Err(error) => {
                tracing::debug!(%error, "sqlite: cannot read the next job deadline");
                timeout
            }
        };
        let _ = tokio::time::timeout(wait, self.db.inner.work.notified()).await;
    }
}
