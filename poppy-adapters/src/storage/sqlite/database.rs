//! The shared SQLite database: one writer connection, a pool of readers,
//! embedded migrations, and the in-process "work was posted" signal.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use poppy_core::ports::PortError;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, Semaphore};

use super::decoded::DecodeCache;
use super::error::{Fail, SqliteError};

/// Embedded migrations, applied in order; `PRAGMA user_version` holds how
/// many have been applied. Append only: never edit or reorder a shipped file.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        "0002_certificates",
        include_str!("../../../migrations/sqlite/0002_certificates.sql"),
    ),
    (
        "0003_service_revision",
        include_str!("../../../migrations/sqlite/0003_service_revision.sql"),
    ),
];

/// The schema version this build migrates databases to.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Tuning of a file-backed [`SqliteDatabase`]. Every field has a default,
/// so `SqliteOptions::default()` is a working configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Reader connections; default: available parallelism, at least 2.
    pub readers: Option<usize>,
    /// How long a statement waits for another connection's (or process's)
    /// lock before failing with a retryable `Unavailable`, in milliseconds.
    pub busy_timeout_ms: u64,
    /// SQLite page cache per connection, in KiB.
    pub cache_size_kib: u32,
    /// Bytes of the database file read through `mmap`; 0 (the default)
    /// turns it off. A mapping saves a `pread` per page on cold reads, but
    /// every page touched stays in the process's resident set (a large
    /// database shows up as hundreds of MB of RSS), and each time a write
    /// grows the file every connection unmaps and remaps it, which costs
    /// TLB shootdowns across cores. The benchmarks measured no read gain
    /// worth that (see the README's performance section).
    pub mmap_size: u64,
    /// Prepared statements kept per connection.
    pub statement_cache: usize,
    /// Services kept decoded for the next read of the same row (0 turns it
    /// off); see `decoded.rs`. About 7.5 KB each (parsed form, allocator
    /// overhead): the default costs ~16 MB. `GET /services/{id}` of an
    /// unchanged service needs only its rendered body (the transport's
    /// `render_cache`, far smaller per service), so this one stays small.
    pub decode_cache: usize,
    /// WAL pages past which the writer checkpoints between two batches so
    /// the WAL starts over from its beginning (see `Checkpoints`); bounds
    /// the WAL file under sustained writes. About 256 MB by default.
    pub wal_restart_pages: u32,
    /// Create missing parent directories of the database file.
    pub create_dirs: bool,
    /// Run a read on the calling task's thread when a reader connection is
    /// idle, instead of handing it to tokio's blocking pool. Reads are single
    /// indexed statements served from the page cache, shorter
    /// than the two thread wake-ups of the hand-off; turn it off when the
    /// database lives on storage slow enough that a read can block for long.
    pub inline_reads: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            readers: None,
            busy_timeout_ms: 5_000,
            cache_size_kib: 8 * 1024,
            mmap_size: 0,
            statement_cache: 64,
            decode_cache: 2048,
            wal_restart_pages: 64_000,
            create_dirs: true,
            inline_reads: true,
        }
    }
}

impl SqliteOptions {
    /// Sets the number of reader connections.
    pub fn with_readers(mut self, readers: usize) -> Self {
        self.readers = Some(readers);
        self
    }

    /// Sets how long to wait for a lock held elsewhere.
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.busy_timeout_ms)
    }

    fn reader_count(&self) -> usize {
        match self.readers {
            Some(n) => n.max(1),
            None => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .max(2),
        }
    }
}

/// A SQLite database shared by [`SqliteStore`](super::SqliteStore) and
/// [`SqliteJobBoard`](crate::jobs::sqlite::SqliteJobBoard).
///
/// File-backed databases run in WAL mode with one writer connection (every
/// write is a `BEGIN IMMEDIATE` transaction, so several processes can share
/// the file) and a pool of reader connections that never wait for the
/// writer. Writes run on a thread of their own, one after the other; reads
/// run on tokio's blocking pool, or on the calling thread when
/// [`SqliteOptions::inline_reads`] is on and a reader is idle.
///
/// Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct SqliteDatabase {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    location: String,
    path: Option<PathBuf>,
    /// Queue of the writer thread, which owns the writer connection.
    writer: Writer,
    /// `None` for an in-memory database: its only connection is the writer.
    readers: Option<ReaderPool>,
    /// Woken when a job may have become claimable in this process.
    pub(crate) work: Notify,
    /// [`SqliteOptions::inline_reads`].
    inline_reads: bool,
    /// Shared by every store on this database.
    decoded: Arc<DecodeCache>,
}

struct ReaderPool {
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection: a task takes a connection only while
    /// holding a permit, so `idle` is never empty when it looks.
    permits: Arc<Semaphore>,
}

impl fmt::Debug for SqliteDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteDatabase")
            .field("location", &self.inner.location)
            .field(
                "readers",
                &self
                    .inner
                    .readers
                    .as_ref()
                    .map(|r| r.permits.available_permits()),
            )
            .finish()
    }
}

impl SqliteDatabase {
    /// Opens (creating if needed) the database file at `path`, switches it to
    /// WAL and applies pending migrations.
    ///
    /// Blocking: call it before starting the runtime, from a blocking task,
    /// or use [`SqliteDatabase::connect`].
    pub fn open(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self, SqliteError> {
        let path = path.as_ref();
        let location = path.display().to_string();
        if options.create_dirs {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| SqliteError::CreateDir {
                    path: dir.to_owned(),
                    source,
                })?;
            }
        }
        let open_err = |source| SqliteError::Open {
            location: location.clone(),
            source,
        };
        let deadline = Instant::now() + options.busy_timeout();

        let writer = Connection::open(path).map_err(open_err)?;
        configure(&writer, options).map_err(open_err)?;
        // Switching to WAL needs a moment of exclusive access; another
        // process opening the same new file at once may hold it.
        retry_busy(deadline, || {
            writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        })
        .map_err(open_err)
        .map(|mode| {
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(%location, %mode, "sqlite: WAL unavailable, readers will wait for writers");
            }
        })?;
        migrate(&writer, &location, deadline)?;
        let checkpoints = start_checkpointer(path, options, &location)?;
        // The checkpointer thread checkpoints instead of the commit that
        // crosses the threshold (see `start_checkpointer`).
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(open_err)?;

        let mut idle = Vec::new();
        for _ in 0..options.reader_count() {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(open_err)?;
            configure(&reader, options).map_err(open_err)?;
            idle.push(reader);
        }
        let permits = Arc::new(Semaphore::new(idle.len()));
        Self::from_parts(
            location,
            Some(path.to_owned()),
            writer,
            Some(ReaderPool {
                idle: Mutex::new(idle),
                permits,
            }),
            options.inline_reads,
            Some(checkpoints),
            options.decode_cache,
        )
    }

    /// [`SqliteDatabase::open`] on tokio's blocking pool.
    pub async fn connect(
        path: impl Into<PathBuf>,
        options: SqliteOptions,
    ) -> Result<Self, SqliteError> {
        let path = path.into();
        tokio::task::spawn_blocking(move || Self::open(&path, &options))
            .await
            .map_err(|e| SqliteError::Task {
                op: "open",
                message: e.to_string(),
            })?
    }

    /// A private in-memory database (tests, demos). It has a single
    /// connection, so reads wait for writes; it vanishes when the last clone
    /// is dropped and is not shared with other processes.
    pub fn open_in_memory() -> Result<Self, SqliteError> {
        let location = ":memory:".to_owned();
        let open_err = |source| SqliteError::Open {
            location: location.clone(),
            source,
        };
        let conn = Connection::open_in_memory().map_err(open_err)?;
        configure(&conn, &SqliteOptions::default()).map_err(open_err)?;
        migrate(&conn, &location, Instant::now())?;
        let decode_cache = SqliteOptions::default().decode_cache;
        Self::from_parts(location, None, conn, None, false, None, decode_cache)
    }

    fn from_parts(
        location: String,
        path: Option<PathBuf>,
        writer: Connection,
        readers: Option<ReaderPool>,
        inline_reads: bool,
        checkpoints: Option<Checkpoints>,
        decode_cache: usize,
    ) -> Result<Self, SqliteError> {
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Writer::start(writer, &location, checkpoints)?,
                location,
                path,
                readers,
                work: Notify::new(),
                inline_reads,
                decoded: Arc::new(DecodeCache::new(decode_cache)),
            }),
        })
    }

    /// The database file, `None` when in memory.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// A service and flavor store on this database (outbox off).
    pub fn store(&self) -> super::SqliteStore {
        super::SqliteStore::new(self)
    }

    /// A job board on this database.
    pub fn job_board(&self) -> crate::jobs::sqlite::SqliteJobBoard {
        crate::jobs::sqlite::SqliteJobBoard::new(self)
    }

    /// The schema version stored in the database (`PRAGMA user_version`).
    pub async fn schema_version(&self) -> Result<i64, PortError> {
        self.read("read schema version", |c| {
            Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)
        })
        .await
    }

    /// `EXPLAIN QUERY PLAN` of `sql` (parameters unbound), one line per
    /// plan step: a diagnostic to check that a query uses its index.
    pub async fn explain(&self, sql: &str) -> Result<Vec<String>, PortError> {
        let sql = format!("EXPLAIN QUERY PLAN {sql}");
        self.read("explain query plan", move |c| {
            let mut stmt = c.prepare(&sql)?;
            // The plan does not depend on the values: bind NULLs.
            let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
            let mut rows = stmt.query(rusqlite::params_from_iter(nulls))?;
            let mut plan = Vec::new();
            while let Some(row) = rows.next()? {
                plan.push(row.get::<_, String>(3)?);
            }
            Ok(plan)
        })
        .await
    }

    /// The decoded-row cache of this database's stores.
    pub(crate) fn decoded(&self) -> Arc<DecodeCache> {
        self.inner.decoded.clone()
    }

    /// Wakes the in-process waiters of `wait_for_work`, and leaves a permit
    /// for the next one so a worker between an empty claim and its wait does
    /// not miss the job.
    pub(crate) fn wake_worker(&self) {
        self.inner.work.notify_waiters();
        self.inner.work.notify_one();
    }

    /// Runs `f` on a reader connection (outside any explicit transaction: a
    /// single statement is its own consistent snapshot): right here when a
    /// reader is idle and [`SqliteOptions::inline_reads`] is on, otherwise
    /// on the blocking pool once a reader frees up.
    ///
    /// `f` is `FnMut` because a database without readers (in memory) runs
    /// reads on the writer, where a batch may run twice (see
    /// [`SqliteDatabase::write`]).
    pub(crate) async fn read<T, F>(&self, op: &'static str, mut f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, Fail> + Send + 'static,
    {
        let Some(pool) = &self.inner.readers else {
            return self.inner.writer.run(op, f).await;
        };
        if self.inner.inline_reads {
            if let Ok(permit) = pool.permits.clone().try_acquire_owned() {
                // Declared first, dropped last, as below.
                let _permit = permit;
                let checkout = Checkout::take(pool);
                return match checkout.conn.as_ref() {
                    Some(conn) => f(conn).map_err(|e| e.into_port(op)),
                    None => Err(task_error(op, "no idle reader despite a permit")),
                };
            }
        }
        let permit = pool
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| task_error(op, e))?;
        let inner = self.inner.clone();
        run_blocking(op, move || {
            // Declared first, dropped last: the connection is back in the
            // pool before the permit that lets another task take it.
            let _permit = permit;
            let Some(pool) = &inner.readers else {
                return Err(task_fail(op, "reader pool vanished"));
            };
            let checkout = Checkout::take(pool);
            match checkout.conn.as_ref() {
                Some(conn) => f(conn),
                None => Err(task_fail(op, "no idle reader despite a permit")),
            }
        })
        .await
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer connection
    /// and answers once that transaction is committed; an `Err` from `f`
    /// undoes everything `f` wrote (and nothing else).
    ///
    /// Writes queued together share one transaction (group commit); one
    /// write's failure rolls back only that write, and none is answered
    /// before the commit that makes it durable. `f` may run twice, the
    /// first run rolled back (see [`run_batch`]). See [`Writer`].
    pub(crate) async fn write<T, F>(&self, op: &'static str, f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, Fail> + Send + 'static,
    {
        self.inner.writer.run(op, f).await
    }
}

/// Most writes committed together. Bounds the time the first write of a
/// batch waits for the commit, and the transaction's size.
const MAX_BATCH: usize = 256;

/// A write for the writer thread (see [`Writer::run`]).
trait Write: Send {
    /// Runs the write inside the batch's transaction; true when it
    /// succeeded. May run a second time after the first run was rolled
    /// back (see [`run_batch`]); only the last run's outcome counts.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Hands the last run's outcome, or the commit's failure, to the
    /// caller. A write that never ran drops its reply (its caller gets an
    /// error).
    fn deliver(self: Box<Self>, commit_failed: Option<&rusqlite::Error>);
}

type WriteJob = Box<dyn Write>;

/// A caller's write closure, its last outcome and where the outcome goes.
struct Pending<T, F> {
    write: F,
    outcome: Option<Result<T, Fail>>,
    reply: tokio::sync::oneshot::Sender<Result<T, Fail>>,
}

impl<T, F> Write for Pending<T, F>
where
    T: Send,
    F: FnMut(&Connection) -> Result<T, Fail> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let outcome = (self.write)(conn);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn deliver(self: Box<Self>, commit_failed: Option<&rusqlite::Error>) {
        let Some(outcome) = self.outcome else {
            return;
        };
        let outcome = match (outcome, commit_failed) {
            (Ok(_), Some(e)) => Err(Fail::Sql(copy_error(e))),
            (outcome, _) => outcome,
        };
        // The caller may have gone (a dropped request): nothing to do.
        let _ = self.reply.send(outcome);
    }
}

/// The writer connection on a thread of its own, fed by a queue.
///
/// Writes are serialised on one connection anyway; a dedicated thread runs
/// them back to back, where a mutex plus a blocking-pool task per write
/// left the connection idle between writes while the next waiter was
/// woken, scheduled and handed to a pool thread.
///
/// Group commit: the thread takes every write queued while it was busy (up
/// to [`MAX_BATCH`]) and runs them in one `BEGIN IMMEDIATE` transaction
/// (see [`run_batch`]). A commit writes every page it changed to the WAL,
/// and concurrent creates change the same few pages (the tables' and
/// indexes' last leaves), so one commit for many writes saves most of that
/// I/O; under load it raised durable creates several-fold (README,
/// performance). A lone write is a batch of one, with no added wait.
///
/// The thread ends when the last [`SqliteDatabase`] clone is dropped (the
/// queue closes).
struct Writer {
    queue: std::sync::mpsc::Sender<WriteJob>,
}

impl Writer {
    fn start(
        mut conn: Connection,
        location: &str,
        checkpoints: Option<Checkpoints>,
    ) -> Result<Self, SqliteError> {
        let (queue, jobs) = std::sync::mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("poppy-sqlite-writer".to_owned())
            .spawn(move || {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                while let Ok(job) = jobs.recv() {
                    batch.push(job);
                    while batch.len() < MAX_BATCH {
                        match jobs.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    run_batch(&mut conn, &mut batch);
                    if let Some(checkpoints) = &checkpoints {
                        checkpoints.after_batch(&conn);
                    }
                }
            })
            .map_err(|e| SqliteError::Task {
                op: "start the writer thread",
                message: format!("{location}: {e}"),
            })?;
        Ok(Self { queue })
    }

    /// Runs `f` on the writer connection, after the writes queued before it,
    /// and answers once its batch is committed. `f` may run twice: if a
    /// write of its batch fails, the batch is rolled back and run again
    /// (see [`run_batch`]), so `f` must not move out what it captured.
    async fn run<T, F>(&self, op: &'static str, f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, Fail> + Send + 'static,
    {
        let (reply, result) = tokio::sync::oneshot::channel::<Result<T, Fail>>();
        let job: WriteJob = Box::new(Pending {
            write: f,
            outcome: None,
            reply,
        });
        self.queue
            .send(job)
            .map_err(|_| task_error(op, "the writer thread has stopped"))?;
        match result.await {
            Ok(outcome) => outcome.map_err(|e| e.into_port(op)),
            Err(_) => Err(task_error(op, "the write panicked")),
        }
    }
}

/// Runs the writes of `batch` in one transaction, commits, then answers
/// them (and empties `batch`).
///
/// First all in one go: a savepoint per write would let one failure be
/// undone alone, but SQLite copies every page a savepoint touches into its
/// sub-journal (an eighth of the writer's time under durable creates), and
/// writes rarely fail. If one fails (or panics), the transaction is rolled
/// back and the batch runs again with a savepoint per write, so a failure
/// undoes that write alone; a panicking write is dropped (its caller gets an
/// error). If the transaction cannot begin or commit, every write that
/// succeeded gets that error instead of its result.
///
/// Failed writes are answered after the commit too: a write that lost to an
/// earlier write of the same batch (a domain taken, say) must be able to
/// read what it lost to, so it can say so.
fn run_batch(conn: &mut Connection, batch: &mut Vec<WriteJob>) {
    if !run_in_one_go(conn, batch) {
        run_with_savepoints(conn, batch);
    }
    batch.clear();
}

/// Runs every write of `batch` straight in one transaction and answers
/// them once it committed; false, with the transaction rolled back and
/// nothing answered, when a write failed (a panicking one is removed).
fn run_in_one_go(conn: &mut Connection, batch: &mut Vec<WriteJob>) -> bool {
    let Some(tx) = begin(conn, batch) else {
        return true;
    };
    for index in 0..batch.len() {
        let job = &mut batch[index];
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&tx))) {
            Ok(true) => {}
            failed => {
                if failed.is_err() {
                    batch.remove(index);
                }
                if let Err(e) = tx.rollback() {
                    tracing::warn!(error = %e, "could not roll back a write batch");
                }
                return false;
            }
        }
    }
    commit_and_answer(tx, batch.drain(..).map(|job| (true, job)).collect());
    true
}

/// Runs every write of `batch` in one transaction, each in a savepoint: a
/// write that fails (or panics) is rolled back to its savepoint.
fn run_with_savepoints(conn: &mut Connection, batch: &mut Vec<WriteJob>) {
    let Some(tx) = begin(conn, batch) else {
        return;
    };
    let mut answers: Vec<(bool, WriteJob)> = Vec::with_capacity(batch.len());
    for mut job in batch.drain(..) {
        if let Err(e) = tx.execute_batch("SAVEPOINT write") {
            // Without a savepoint the job's failure could not be undone
            // alone: do not run it (its caller sees the write fail).
            tracing::warn!(error = %e, "could not open a savepoint");
            continue;
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&tx))) {
            Ok(true) => {
                if let Err(e) = tx.execute_batch("RELEASE write") {
                    tracing::warn!(error = %e, "could not release a savepoint");
                }
                answers.push((true, job));
            }
            Ok(false) => {
                undo_savepoint(&tx);
                answers.push((false, job));
            }
            // A panicking job is dropped with its reply (its caller gets
            // an error).
            Err(_) => undo_savepoint(&tx),
        }
    }
    commit_and_answer(tx, answers);
}

/// The batch's `BEGIN IMMEDIATE` transaction; `None`, with every write of
/// `batch` dropped unrun (their callers get an error: the writer lost its
/// lock or its file), when it cannot begin.
fn begin<'c>(conn: &'c mut Connection, batch: &mut Vec<WriteJob>) -> Option<Transaction<'c>> {
    match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => Some(tx),
        Err(e) => {
            tracing::warn!(error = %e, "could not begin a write transaction");
            batch.clear();
            None
        }
    }
}

/// Commits `tx`, then answers each write: its own outcome, or the
/// commit's failure for a write that had succeeded.
fn commit_and_answer(tx: Transaction<'_>, answers: Vec<(bool, WriteJob)>) {
    let committed = tx.commit();
    if let Err(e) = &committed {
        tracing::warn!(error = %e, writes = answers.len(), "a write batch failed to commit");
    }
    for (succeeded, job) in answers {
        match &committed {
            Err(e) if succeeded => job.deliver(Some(e)),
            _ => job.deliver(None),
        }
    }
}

fn undo_savepoint(tx: &Connection) {
    if let Err(e) = tx.execute_batch("ROLLBACK TO write; RELEASE write") {
        tracing::warn!(error = %e, "could not roll back a savepoint");
    }
}

/// `rusqlite::Error` is not `Clone`; one commit failure is reported to
/// every write of its batch, with its SQLite code (busy stays retryable).
fn copy_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

/// How long the checkpointer lets commits accumulate before it runs.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(10);

/// The writer's side of WAL checkpointing (see [`start_checkpointer`]).
pub(crate) struct Checkpoints {
    nudge: std::sync::mpsc::SyncSender<()>,
    /// Set by the checkpointer when the WAL has grown past
    /// [`SqliteOptions::wal_restart_pages`]; taken by the writer, which then
    /// checkpoints.
    restart_wanted: Arc<AtomicBool>,
}

impl Checkpoints {
    /// Called by the writer thread between batches.
    ///
    /// A `PASSIVE` checkpoint on another connection never catches up with a
    /// writer that commits without pause, and SQLite only starts the WAL
    /// over when a write transaction begins with every frame copied back.
    /// Without this the WAL grew by every page ever written for as long as
    /// writes kept coming (4.6 GB after 50,000 creates), and each new frame
    /// landed on fresh file pages the kernel had to allocate and zero, which
    /// cost the writer more than the writes themselves. So once the WAL is
    /// past the threshold, the writer checkpoints between two batches; the
    /// checkpointer has already copied most frames, so this copies only the
    /// last few, and the next batch writes from the start of the WAL again.
    ///
    /// That checkpoint stalls writes for a few milliseconds (it waits for
    /// the WAL and the database file to reach the disk), so it must be
    /// rare: with a 16 MB threshold creates had p99/p50 6.5; with 64 MB 2.6
    /// alone but 5.6–8.6 while the worker also writes; with the default
    /// 256 MB 2.2–2.7 in both cases (`cargo bench --bench load`).
    fn after_batch(&self, conn: &Connection) {
        // One attempt per request: when a reader still holds an older
        // snapshot the checkpoint stays incomplete, and the checkpointer asks
        // again on its next pass rather than the writer retrying (and
        // syncing) after every batch.
        if self.restart_wanted.swap(false, Ordering::Relaxed) {
            if let Err(error) = passive_checkpoint(conn) {
                tracing::warn!(%error, "sqlite: WAL checkpoint by the writer failed");
            }
        }
        // Full means a nudge is already pending.
        let _ = self.nudge.try_send(());
    }
}

/// Runs `PRAGMA wal_checkpoint(PASSIVE)`: frames in the WAL, frames copied.
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

/// Starts the thread that checkpoints the WAL into the database file, on a
/// connection of its own, and returns where the writer nudges it.
///
/// SQLite's default is to checkpoint in the commit that takes the WAL past
/// 1,000 pages: that write then also copies every page back and waits for
/// two `fsync`s, which under load put a several-millisecond stall on one
/// write in a hundred (the p99 of durable creates). Here the writer only
/// nudges this thread after each batch; it waits [`CHECKPOINT_DELAY`] so
/// nudges coalesce, then runs a `PASSIVE` checkpoint, which never blocks
/// the writer or readers. Pages rewritten many times between checkpoints
/// are copied once. When the WAL has grown past
/// [`SqliteOptions::wal_restart_pages`] it asks the writer to finish the job
/// (see [`Checkpoints::after_batch`]). The thread ends with the writer (the
/// nudges' channel closes).
fn start_checkpointer(
    path: &Path,
    options: &SqliteOptions,
    location: &str,
) -> Result<Checkpoints, SqliteError> {
    let conn = Connection::open(path)
        .and_then(|conn| configure(&conn, options).map(|()| conn))
        .map_err(|source| SqliteError::Open {
            location: location.to_owned(),
            source,
        })?;
    let (nudge, nudges) = std::sync::mpsc::sync_channel::<()>(1);
    let restart_wanted = Arc::new(AtomicBool::new(false));
    let wanted = restart_wanted.clone();
    let restart_pages = i64::from(options.wal_restart_pages);
    let thread_location = location.to_owned();
    let spawned = std::thread::Builder::new()
        .name("poppy-sqlite-checkpointer".to_owned())
        .spawn(move || {
            while nudges.recv().is_ok() {
                std::thread::sleep(CHECKPOINT_DELAY);
                while nudges.try_recv().is_ok() {}
                match passive_checkpoint(&conn) {
                    Ok((log, _)) if log >= restart_pages => {
                        wanted.store(true, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(location = %thread_location, %error, "sqlite: WAL checkpoint failed");
                    }
                }
            }
        });
    match spawned {
        Ok(_) => Ok(Checkpoints {
            nudge,
            restart_wanted,
        }),
        Err(e) => Err(SqliteError::Task {
            op: "start the checkpointer thread",
            message: format!("{location}: {e}"),
        }),
    }
}

/// A reader connection taken from the pool; returned on drop, even when the
/// closure using it panics.
struct Checkout<'a> {
    pool: &'a ReaderPool,
    conn: Option<Connection>,
}

impl<'a> Checkout<'a> {
    fn take(pool: &'a ReaderPool) -> Self {
        let conn = pool
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        Self { pool, conn }
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

async fn run_blocking<T, F>(op: &'static str, f: F) -> Result<T, PortError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Fail> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(|e| e.into_port(op)),
        Err(e) => Err(task_error(op, e)),
    }
}

fn task_fail(op: &'static str, message: impl fmt::Display) -> Fail {
    Fail::Adapter(SqliteError::Task {
        op,
        message: message.to_string(),
    })
}

fn task_error(op: &'static str, message: impl fmt::Display) -> PortError {
    task_fail(op, message).into_port(op)
}

/// Per-connection settings (not stored in the file).
fn configure(conn: &Connection, options: &SqliteOptions) -> rusqlite::Result<()> {
    conn.busy_timeout(options.busy_timeout())?;
    conn.set_prepared_statement_cache_capacity(options.statement_cache);
    conn.pragma_update(None, "foreign_keys", true)?;
    // Plans that do not depend on bound values. Without this, SQLite
    // (built with STAT4) re-prepares a statement whenever a value bound to a
    // range or LIMIT changes, which cost a list request a fifth of its time;
    // every query here is an indexed lookup whose best plan is the same for
    // any value.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // WAL + NORMAL: commits do not fsync; a power loss can lose the last
    // transactions but never corrupts the file.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -i64::from(options.cache_size_kib))?;
    // `PRAGMA mmap_size` answers with the new size, hence query_row.
    let mmap = i64::try_from(options.mmap_size).unwrap_or(i64::MAX);
    conn.query_row(&format!("PRAGMA mmap_size = {mmap}"), [], |_| Ok(()))
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(()),
            e => Err(e),
        })?;
    Ok(())
}

/// Applies pending migrations in one `BEGIN IMMEDIATE` transaction, so a
/// second process opening the same file waits and then finds nothing to do.
fn migrate(conn: &Connection, location: &str, deadline: Instant) -> Result<(), SqliteError> {
    let mig_err = |name, source| SqliteError::Migration {
        location: location.to_owned(),
        name,
        source,
    };
    retry_busy(deadline, || conn.execute_batch("BEGIN IMMEDIATE"))
        .map_err(|e| mig_err("begin", e))?;
    let result = (|| {
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| mig_err("read user_version", e))?;
        if found > SCHEMA_VERSION {
            return Err(SqliteError::SchemaTooNew {
                location: location.to_owned(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        let mut applied = false;
        for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
            let version = index as i64 + 1;
            if version <= found {
                continue;
            }
            // Some migrations rebuild an index over every service: say so
            // before a large file keeps the process busy for a while.
            tracing::info!(%location, migration = name, "sqlite: applying migration");
            conn.execute_batch(sql).map_err(|e| mig_err(name, e))?;
            conn.pragma_update(None, "user_version", version)
                .map_err(|e| mig_err(name, e))?;
            tracing::info!(%location, migration = name, "sqlite: applied migration");
            applied = true;
        }
        conn.execute_batch("COMMIT")
            .map_err(|e| mig_err("commit", e))?;
        if applied {
            // Fresh statistics so the planner picks the indexes from the start.
            let _ = conn.execute_batch("PRAGMA optimize");
        }
        Ok(())
    })();
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

/// Retries `f` while SQLite reports the database busy, until `deadline`.
/// Used where SQLite may fail fast instead of calling the busy handler.
fn retry_busy<T>(
    deadline: Instant,
    mut f: impl FnMut() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    loop {
        match f() {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tokio::sync::oneshot;

    use super::*;

    type Reply<T> = oneshot::Receiver<Result<T, Fail>>;

    fn job<T, F>(write: F) -> (WriteJob, Reply<T>)
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, Fail> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: WriteJob = Box::new(Pending {
            write,
            outcome: None,
            reply,
        });
        (job, answer)
    }

    /// A write inserting `key`, counting its runs in `runs`.
    fn insert(key: &'static str, runs: &Arc<AtomicUsize>) -> (WriteJob, Reply<()>) {
        let runs = runs.clone();
        job(move |c| {
            runs.fetch_add(1, Ordering::SeqCst);
            c.execute("INSERT INTO t (k) VALUES (?1)", [key])?;
            Ok(())
        })
    }

    fn database() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)")
            .unwrap();
        conn
    }

    fn keys(conn: &Connection) -> Vec<String> {
        let mut stmt = conn.prepare("SELECT k FROM t ORDER BY k").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn a_batch_that_succeeds_runs_each_write_once() {
        let mut conn = database();
        let runs = Arc::new(AtomicUsize::new(0));
        let (a, a_reply) = insert("a", &runs);
        let (b, b_reply) = insert("b", &runs);
        let mut batch = vec![a, b];
        run_batch(&mut conn, &mut batch);
        assert!(batch.is_empty());
        assert_eq!(keys(&conn), ["a", "b"]);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        for mut reply in [a_reply, b_reply] {
            assert!(matches!(reply.try_recv(), Ok(Ok(()))));
        }
    }

    #[test]
    fn a_failed_write_is_undone_alone_and_the_others_commit() {
        let mut conn = database();
        let runs = Arc::new(AtomicUsize::new(0));
        let (a, mut a_reply) = insert("a", &runs);
        // Writes, then fails: what it wrote must go, and only that.
        let (b, mut b_reply) = job(|c| {
            c.execute("INSERT INTO t (k) VALUES ('b')", [])?;
            Err::<(), _>(Fail::Port(PortError::Conflict("b lost".to_owned())))
        });
        let (c, mut c_reply) = insert("c", &runs);
        let mut batch = vec![a, b, c];
        run_batch(&mut conn, &mut batch);
        assert!(batch.is_empty());
        assert_eq!(keys(&conn), ["a", "c"]);
        // `a` ran in the first attempt and again in the second; `c` only in
        // the second (the first stopped at `b`).
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert!(matches!(a_reply.try_recv(), Ok(Ok(()))));
        assert!(matches!(
            b_reply.try_recv(),
            Ok(Err(Fail::Port(PortError::Conflict(m)))) if m == "b lost"
        ));
        assert!(matches!(c_reply.try_recv(), Ok(Ok(()))));
    }

    #[test]
    fn a_panicking_write_is_dropped_and_the_others_commit() {
        let mut conn = database();
        let runs = Arc::new(AtomicUsize::new(0));
        let (a, mut a_reply) = insert("a", &runs);
        let (b, mut b_reply) = job(|c| -> Result<(), Fail> {
            c.execute("INSERT INTO t (k) VALUES ('b')", [])?;
            panic!("a write that panics");
        });
        let (c, mut c_reply) = insert("c", &runs);
        let mut batch = vec![a, b, c];
        run_batch(&mut conn, &mut batch);
        assert_eq!(keys(&conn), ["a", "c"]);
        assert!(matches!(a_reply.try_recv(), Ok(Ok(()))));
        assert!(
            matches!(
                b_reply.try_recv(),
                Err(oneshot::error::TryRecvError::Closed)
            ),
            "the panicking write's caller sees its reply dropped"
        );
        assert!(matches!(c_reply.try_recv(), Ok(Ok(()))));
    }
}
