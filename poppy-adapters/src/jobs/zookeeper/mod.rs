//! The ZooKeeper job board (feature `zookeeper`), for deployments with
//! several workers that share a ZooKeeper ensemble.
//!
//! Layout under the configured root (see `layout.rs`):
//! - `jobs/<service id>_<job id>_<seq>` — one persistent sequential node per
//!   queued job, its data the [`Job`] as JSON. The sequence orders jobs by
//!   posting time; the ids in the name let one `getChildren` find the head
//!   of every service's queue (only a head may be claimed).
//! - `ids/<job id>` — created in the same transaction as the job, so that
//!   posting a job twice queues it once.
//! - `locks/<job id>` — a claim: an **ephemeral** node owned by the claiming
//!   worker's session, holding the claim token, the worker, `lease_until`
//!   and the job's node name. A worker that dies loses its claims when its
//!   session expires; a worker that is alive but stuck loses them when the
//!   lease lapses (a claimer deletes the stale lock by version and creates
//!   its own in one transaction).
//! - `failed/<job node>` — jobs a worker gave up on, for operators.
//!
//! Every change is one versioned `multi` transaction: claiming sets the
//! job's data (attempts + 1) at the version read and creates the lock;
//! `checkpoint`, `retry` and `release` check the lock's version, so a
//! holder whose lock was taken over or vanished gets `Conflict`;
//! `complete` deletes job, lock and id together; `fail` moves the job to
//! `failed/`. Retries store `not_before` in the job's data.
//!
//! Connection losses are retried inside the board for
//! [`ZookeeperConfig::connect_timeout_ms`], then reported as
//! `PortError::Unavailable`. A retried write first checks whether its lost
//! attempt was applied (a claim recognises its own token; `complete`,
//! `fail`, `retry`, `release` check their result), so a job's effects are
//! neither lost nor doubled. An expired session is replaced by a new one.

mod config;
mod layout;
mod session;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use poppy_core::clock::{now_ms, Millis};
use poppy_core::model::{Claim, Job, ServiceId};
use poppy_core::ports::{JobBoard, PortError};
use rand::seq::SliceRandom;
use uuid::Uuid;
use zookeeper_client as zk;

pub use config::{ZookeeperConfig, ZookeeperConfigError};
use layout::{count_for, queue_heads, FailedJob, JobNode, Lock, Paths};
use session::{Fail, Session};

/// The driver's name in configuration and health reports.
pub const NAME: &str = "zookeeper";

/// Heads of service queues examined per round trip while claiming: their
/// reads are sent together (pipelined) and tried in random order, so that
/// concurrent claimers mostly pick different jobs.
const CLAIM_BATCH: usize = 8;
/// How many times an operation re-reads after losing a version race to a
/// concurrent change it is allowed to follow (its own heartbeat).
const VERSION_RACES: usize = 8;
/// How long a job's future `not_before` is trusted without reading it again.
const NOT_DUE_TTL: Duration = Duration::from_secs(5);

/// Why the board could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZookeeperError {
    /// The configuration is unusable (see [`ZookeeperConfig::validate`]).
    #[error(transparent)]
    Config(#[from] ZookeeperConfigError),
    /// No session could be opened within `connect_timeout_ms`.
    #[error("[jobs] zookeeper: no session with {hosts} within {timeout_ms} ms: {message}")]
    Connect {
        hosts: String,
        timeout_ms: u64,
        message: String,
    },
}

/// The job board on ZooKeeper; see the [module documentation](self).
/// Cheap to clone: clones share one session.
#[derive(Clone)]
pub struct ZkJobBoard {
    inner: Arc<Inner>,
}

struct Inner {
    session: Session,
    paths: Paths,
    /// Job node → its future `not_before` and when that was read, so that
    /// claimers do not re-read every waiting job on every scan. Only filled
    /// from jobs seen without a lock: such a job changes only once claimed,
    /// which its `not_before` forbids until then.
    not_due: Mutex<HashMap<String, (Millis, tokio::time::Instant)>>,
}

impl fmt::Debug for ZkJobBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZkJobBoard")
            .field("hosts", &self.inner.session.hosts())
            .field("root", &self.inner.paths.root)
            .finish()
    }
}

/// One write of a `multi` transaction, kept as data so a transaction can
/// be rebuilt when one of its writes turns out to be moot.
#[derive(Debug, Clone)]
enum Op {
    Check(String, i32),
    Delete(String, Option<i32>),
    Set(String, Vec<u8>, Option<i32>),
    Create(String, Vec<u8>, zk::CreateMode),
}

impl Op {
    fn path(&self) -> &str {
        match self {
            Op::Check(path, _)
            | Op::Delete(path, _)
            | Op::Set(path, _, _)
            | Op::Create(path, _, _) => path,
        }
    }
}

/// How a transaction failed.
enum TxnError {
    /// Write number `index` was refused (`NodeExists`, `BadVersion`…).
    Op { index: usize, error: zk::Error },
    /// The request itself failed (connection…).
    Request(zk::Error),
}

async fn commit(client: &zk::Client, ops: &[Op]) -> Result<(), TxnError> {
    let acls = zk::Acls::anyone_all();
    let mut txn = client.new_multi_writer();
    for op in ops {
        let added = match op {
            Op::Check(path, version) => txn.add_check_version(path, *version),
            Op::Delete(path, version) => txn.add_delete(path, *version),
            Op::Set(path, data, version) => txn.add_set_data(path, data, *version),
            Op::Create(path, data, mode) => txn.add_create(path, data, &mode.with_acls(acls)),
        };
        added.map_err(TxnError::Request)?;
    }
    match txn.commit().await {
        Ok(_) => Ok(()),
        Err(zk::MultiWriteError::OperationFailed { index, source }) => Err(TxnError::Op {
            index,
            error: source,
        }),
        Err(zk::MultiWriteError::RequestFailed { source }) => Err(TxnError::Request(source)),
    }
}

fn encode<T: serde::Serialize>(value: &T, what: &str) -> Result<Vec<u8>, Fail> {
    serde_json::to_vec(value).map_err(|e| {
        Fail::Port(PortError::internal(
            NAME,
            format!("cannot encode {what}: {e}"),
        ))
    })
}

fn corrupt(path: &str, e: impl fmt::Display) -> Fail {
    Fail::Port(PortError::internal(
        NAME,
        format!("znode {path} does not hold what the board wrote: {e}"),
    ))
}

fn lost(claim: &Claim) -> Fail {
    Fail::Port(PortError::Conflict(format!(
        "job {}: lease lost (completed, failed, released, claimed by another worker, or its \
         ZooKeeper session expired)",
        claim.job.id
    )))
}

fn lease_until(now: Millis, lease: Duration) -> Millis {
    now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
}

impl ZkJobBoard {
    /// Checks `config`, opens a session and creates the board's nodes under
    /// its root if missing. Fails if no session opens within
    /// `connect_timeout_ms`.
    pub async fn connect(config: ZookeeperConfig) -> Result<Self, ZookeeperError> {
        config.validate()?;
        let paths = Paths::new(&config.root);
        let timeout = config.connect_timeout();
        let board = Self {
            inner: Arc::new(Inner {
                session: Session::new(config, paths.clone()),
                paths,
                not_due: Mutex::new(HashMap::new()),
            }),
        };
        let session = &board.inner.session;
        let connect_error = |message: String| ZookeeperError::Connect {
            hosts: session.hosts().to_owned(),
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            message,
        };
        match tokio::time::timeout(timeout, session.client()).await {
            Ok(Ok(_)) => Ok(board),
            Ok(Err(e)) => Err(connect_error(e.to_string())),
            Err(_) => Err(connect_error("timed out".to_owned())),
        }
    }

    /// The configuration the board runs with.
    pub fn config(&self) -> &ZookeeperConfig {
        self.inner.session.config()
    }

    /// Jobs a worker gave up on (`fail`), oldest first, with the reason.
    pub async fn failed_jobs(&self, limit: usize) -> Result<Vec<(Job, String)>, PortError> {
        let paths = &self.inner.paths;
        self.inner
            .session
            .run("list failed jobs", |client, _| async move {
                let mut names: Vec<JobNode> = client
                    .list_children(&paths.failed)
                    .await?
                    .iter()
                    .filter_map(|n| JobNode::parse(n))
                    .collect();
                names.sort_by_key(|n| n.seq);
                names.truncate(limit);
                let reads: Vec<_> = names
                    .iter()
                    .map(|n| client.get_data(&paths.failed(&n.name)))
                    .collect();
                let mut out = Vec::new();
                for (node, read) in names.iter().zip(reads) {
                    let (data, _) = match read.await {
                        Ok(found) => found,
                        Err(zk::Error::NoNode) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    let failed: FailedJob = serde_json::from_slice(&data)
                        .map_err(|e| corrupt(&paths.failed(&node.name), e))?;
                    out.push((failed.job, failed.reason));
                }
                Ok(out)
            })
            .await
    }

    fn known_not_due(&self, node: &str, now: Millis) -> bool {
        let cache = self
            .inner
            .not_due
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache.get(node).is_some_and(|(not_before, read_at)| {
            *not_before > now && read_at.elapsed() < NOT_DUE_TTL
        })
    }

    fn remember_not_due(&self, node: &str, not_before: Millis) {
        let mut cache = self
            .inner
            .not_due
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache.insert(node.to_owned(), (not_before, tokio::time::Instant::now()));
    }

    /// Drops cache entries of jobs that left the queue.
    fn prune_not_due(&self, children: &[String]) {
        let mut cache = self
            .inner
            .not_due
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.is_empty() {
            return;
        }
        let present: HashSet<&str> = children.iter().map(String::as_str).collect();
        cache.retain(|node, _| present.contains(node.as_str()));
    }

    /// The earliest known future `not_before`, for `wait_for_work`.
    fn next_due(&self, now: Millis) -> Option<Millis> {
        let cache = self
            .inner
            .not_due
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache
            .values()
            .map(|(at, _)| *at)
            .filter(|at| *at > now)
            .min()
    }

    /// The lock of `claim`'s job with its version, if `claim` still holds it.
    async fn held(&self, client: &zk::Client, claim: &Claim) -> Result<Option<(Lock, i32)>, Fail> {
        let path = self.inner.paths.lock(&claim.job.id);
        match client.get_data(&path).await {
            Ok((data, stat)) => match serde_json::from_slice::<Lock>(&data) {
                Ok(lock) if lock.token == claim.token => Ok(Some((lock, stat.version))),
                Ok(_) => Ok(None),
                Err(e) => Err(corrupt(&path, e)),
            },
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The job's data and version under `jobs/<node>`.
    async fn read_job(&self, client: &zk::Client, node: &str) -> Result<Option<(Job, i32)>, Fail> {
        let path = self.inner.paths.job(node);
        match client.get_data(&path).await {
            Ok((data, stat)) => {
                let job = serde_json::from_slice(&data).map_err(|e| corrupt(&path, e))?;
                Ok(Some((job, stat.version)))
            }
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The node name of `claim`'s job under `dir` (`jobs/` or `failed/`),
    /// found by listing; used only to check the result of an attempt whose
    /// answer was lost, when the lock that names the node is gone.
    async fn find_node(
        &self,
        client: &zk::Client,
        dir: &str,
        claim: &Claim,
    ) -> Result<Option<String>, Fail> {
        let prefix = format!("{}_{}_", claim.job.service_id, claim.job.id);
        Ok(client
            .list_children(dir)
            .await?
            .into_iter()
            .find(|n| n.starts_with(&prefix)))
    }

    /// Whether `claim`'s job sits unclaimed in the queue and `check` holds
    /// for its data: the result of a `retry`/`release` whose answer was lost.
    async fn requeued_with(
        &self,
        client: &zk::Client,
        claim: &Claim,
        check: impl Fn(&Job) -> bool,
    ) -> Result<bool, Fail> {
        if client
            .check_stat(&self.inner.paths.lock(&claim.job.id))
            .await?
            .is_some()
        {
            return Ok(false);
        }
        let Some(node) = self
            .find_node(client, &self.inner.paths.jobs, claim)
            .await?
        else {
            return Ok(false);
        };
        Ok(self
            .read_job(client, &node)
            .await?
            .is_some_and(|(job, _)| check(&job)))
    }

    /// One claim attempt; `token` is the same across attempts of one
    /// `claim` call, so a lock carrying it is this call's own lost success.
    async fn try_claim(
        &self,
        client: &zk::Client,
        worker: &str,
        lease: Duration,
        token: Uuid,
    ) -> Result<Option<Claim>, Fail> {
        let paths = &self.inner.paths;
        let (children, locks) = {
            let children = client.list_children(&paths.jobs);
            let locks = client.list_children(&paths.locks);
            (children.await?, locks.await?)
        };
        let locks: HashSet<String> = locks.into_iter().collect();
        self.prune_not_due(&children);
        let now = now_ms();
        let heads: Vec<JobNode> = queue_heads(&children)
            .into_iter()
            .filter(|h| !self.known_not_due(&h.name, now))
            .collect();
        for batch in heads.chunks(CLAIM_BATCH) {
            // Send every read of the batch before awaiting any: one round trip.
            let reads: Vec<_> = batch
                .iter()
                .map(|head| {
                    let lock = locks
                        .contains(&head.job.to_string())
                        .then(|| client.get_data(&paths.lock(&head.job)));
                    (lock, client.get_data(&paths.job(&head.name)))
                })
                .collect();
            let mut results = Vec::with_capacity(batch.len());
            for (head, (lock, job)) in batch.iter().zip(reads) {
                let lock = match lock {
                    None => None,
                    Some(read) => match read.await {
                        Ok((data, stat)) => {
                            Some((serde_json::from_slice::<Lock>(&data).ok(), stat.version))
                        }
                        Err(zk::Error::NoNode) => None,
                        Err(e) => return Err(e.into()),
                    },
                };
                let job = match job.await {
                    Ok(found) => Some(found),
                    Err(zk::Error::NoNode) => None,
                    Err(e) => return Err(e.into()),
                };
                results.push((head, lock, job));
            }
            results.shuffle(&mut rand::rng());
            for (head, lock, job) in results {
                let Some((data, job_stat)) = job else {
                    continue;
                };
                let job_path = paths.job(&head.name);
                let mut job: Job = match serde_json::from_slice(&data) {
                    Ok(job) => job,
                    Err(e) => {
                        self.park_undecodable(client, head, &data, &e.to_string())
                            .await;
                        continue;
                    }
                };
                if let Some((Some(held), _)) = &lock {
                    if held.token == token {
                        // Our own claim, applied by an attempt whose answer was lost.
                        return Ok(Some(Claim {
                            job,
                            worker: held.worker.clone(),
                            token,
                            lease_until: held.lease_until,
                        }));
                    }
                    if held.lease_until > now {
                        continue;
                    }
                }
                if job.not_before > now {
                    if lock.is_none() {
                        self.remember_not_due(&head.name, job.not_before);
                    }
                    continue;
                }
                job.attempts = job.attempts.saturating_add(1);
                let until = lease_until(now, lease);
                let lock_path = paths.lock(&head.job);
                let new_lock = Lock {
                    token,
                    worker: worker.to_owned(),
                    lease_until: until,
                    node: head.name.clone(),
                };
                let mut ops = Vec::with_capacity(3);
                if let Some((_, version)) = lock {
                    // A lapsed lease: take the job over from its stuck holder.
                    ops.push(Op::Delete(lock_path.clone(), Some(version)));
                }
                ops.push(Op::Set(
                    job_path,
                    encode(&job, "job")?,
                    Some(job_stat.version),
                ));
                ops.push(Op::Create(
                    lock_path,
                    encode(&new_lock, "lock")?,
                    zk::CreateMode::Ephemeral,
                ));
                match commit(client, &ops).await {
                    Ok(()) => {
                        return Ok(Some(Claim {
                            job,
                            worker: worker.to_owned(),
                            token,
                            lease_until: until,
                        }))
                    }
                    // Another claimer or holder changed it first.
                    Err(TxnError::Op { .. }) => continue,
                    Err(TxnError::Request(e)) => return Err(e.into()),
                }
            }
        }
        Ok(None)
    }

    /// A job node no worker can decode would block its service forever;
    /// move it to `failed/` (raw data kept) for an operator.
    async fn park_undecodable(
        &self,
        client: &zk::Client,
        head: &JobNode,
        data: &[u8],
        error: &str,
    ) {
        let paths = &self.inner.paths;
        tracing::error!(node = %head.name, %error,
            "zookeeper: job data cannot be decoded; moving it to failed/");
        let ops = [
            Op::Delete(paths.job(&head.name), None),
            Op::Create(
                paths.failed(&head.name),
                data.to_vec(),
                zk::CreateMode::Persistent,
            ),
        ];
        if commit(client, &ops).await.is_err() {
            tracing::warn!(node = %head.name, "zookeeper: could not park the undecodable job");
        }
    }

    /// Runs the writes `build` makes from the held lock (and its version)
    /// while `claim` holds its job, following the claim's own heartbeats
    /// (which bump the lock's version) and dropping writes that are moot.
    async fn with_lock<F, Fut>(
        &self,
        client: &zk::Client,
        claim: &Claim,
        mut build: F,
    ) -> Result<bool, Fail>
    where
        F: FnMut(Lock, i32) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<Op>, Fail>>,
    {
        for _ in 0..VERSION_RACES {
            let Some((lock, version)) = self.held(client, claim).await? else {
                return Ok(false);
            };
            let mut ops = build(lock, version).await?;
            loop {
                match commit(client, &ops).await {
                    Ok(()) => return Ok(true),
                    // The lock or the job changed (our own heartbeat, or a
                    // takeover): read again.
                    Err(TxnError::Op {
                        error: zk::Error::BadVersion,
                        ..
                    })
                    | Err(TxnError::Op {
                        index: 0,
                        error: zk::Error::NoNode,
                    }) => break,
                    // A node to delete is already gone, or one to create is
                    // already there (an operator's cleanup, an earlier
                    // attempt): that write is moot.
                    Err(TxnError::Op {
                        index,
                        error: zk::Error::NoNode,
                    }) if matches!(ops.get(index), Some(Op::Delete(..))) => {
                        ops.remove(index);
                    }
                    Err(TxnError::Op {
                        index,
                        error: zk::Error::NodeExists,
                    }) if matches!(ops.get(index), Some(Op::Create(..))) => {
                        ops.remove(index);
                    }
                    Err(TxnError::Op { index, error }) => {
                        return Err(Fail::Port(PortError::internal(
                            NAME,
                            format!(
                                "job {}: write {index} of a transaction ({}) failed: {error}",
                                claim.job.id,
                                ops.get(index).map_or("?", Op::path)
                            ),
                        )))
                    }
                    Err(TxnError::Request(e)) => return Err(e.into()),
                }
            }
        }
        Err(lost(claim))
    }
}

#[async_trait]
impl JobBoard for ZkJobBoard {
    fn name(&self) -> &str {
        NAME
    }

    async fn is_alive(&self) -> bool {
        let session = &self.inner.session;
        let root = &self.inner.paths.root;
        let probe = async {
            let client = session.client().await?;
            client.check_stat(root).await
        };
        matches!(
            tokio::time::timeout(session.config().connect_timeout(), probe).await,
            Ok(Ok(Some(_)))
        )
    }

    async fn post(&self, job: &Job) -> Result<(), PortError> {
        let paths = &self.inner.paths;
        let data = encode(job, "job").map_err(|f| match f {
            Fail::Port(e) => e,
            Fail::Zk(e) => PortError::internal(NAME, e),
        })?;
        let ops = [
            Op::Create(paths.id(&job.id), Vec::new(), zk::CreateMode::Persistent),
            Op::Create(
                paths.job_prefix(job),
                data,
                zk::CreateMode::PersistentSequential,
            ),
        ];
        let session = &self.inner.session;
        session
            .run("post job", |client, _| {
                let ops = &ops;
                async move {
                    match commit(&client, ops).await {
                        Ok(()) => Ok(()),
                        // Posted before (maybe by an attempt whose answer was lost).
                        Err(TxnError::Op {
                            index: 0,
                            error: zk::Error::NodeExists,
                        }) => Ok(()),
                        Err(TxnError::Op {
                            error: zk::Error::NoNode,
                            ..
                        }) => {
                            // Someone removed the board's directories.
                            session.ensure_directories(&client).await?;
                            Err(zk::Error::ConnectionLoss.into())
                        }
                        Err(TxnError::Op { index, error }) => Err(Fail::Port(PortError::internal(
                            NAME,
                            format!("post of job {}: write {index} failed: {error}", job.id),
                        ))),
                        Err(TxnError::Request(e)) => Err(e.into()),
                    }
                }
            })
            .await
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, PortError> {
        let token = Uuid::new_v4();
        self.inner
            .session
            .run("claim job", |client, _| async move {
                self.try_claim(&client, worker, lease, token).await
            })
            .await
    }

    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<Claim, PortError> {
        let path = self.inner.paths.lock(&claim.job.id);
        let until = lease_until(now_ms(), lease);
        self.inner
            .session
            .run("heartbeat job", |client, _| {
                let path = &path;
                async move {
                    for _ in 0..VERSION_RACES {
                        let Some((mut lock, version)) = self.held(&client, claim).await? else {
                            return Err(lost(claim));
                        };
                        lock.lease_until = lock.lease_until.max(until);
                        match client
                            .set_data(path, &encode(&lock, "lock")?, Some(version))
                            .await
                        {
                            Ok(_) => {
                                let mut renewed = claim.clone();
                                renewed.lease_until = lock.lease_until;
                                return Ok(renewed);
                            }
                            Err(zk::Error::BadVersion | zk::Error::NoNode) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                    Err(lost(claim))
                }
            })
            .await
    }

    async fn checkpoint(
        &self,
        claim: &Claim,
        progress: &serde_json::Value,
    ) -> Result<(), PortError> {
        let paths = &self.inner.paths;
        self.inner
            .session
            .run("checkpoint job", |client, _| async move {
                let done = self
                    .with_lock(&client, claim, |lock, version| {
                        let client = &client;
                        async move {
                            let Some((mut job, job_version)) =
                                self.read_job(client, &lock.node).await?
                            else {
                                return Err(lost(claim));
                            };
                            job.progress = progress.clone();
                            Ok(vec![
                                Op::Check(paths.lock(&claim.job.id), version),
                                Op::Set(
                                    paths.job(&lock.node),
                                    encode(&job, "job")?,
                                    Some(job_version),
                                ),
                            ])
                        }
                    })
                    .await?;
                if done {
                    Ok(())
                } else {
                    Err(lost(claim))
                }
            })
            .await
    }

    async fn complete(&self, claim: &Claim) -> Result<(), PortError> {
        let paths = &self.inner.paths;
        self.inner
            .session
            .run("complete job", |client, uncertain| async move {
                let done = self
                    .with_lock(&client, claim, |lock, version| async move {
                        Ok(vec![
                            Op::Delete(paths.lock(&claim.job.id), Some(version)),
                            Op::Delete(paths.job(&lock.node), None),
                            Op::Delete(paths.id(&claim.job.id), None),
                        ])
                    })
                    .await?;
                if done {
                    return Ok(());
                }
                // A lost answer: the id goes only with a completed job.
                if uncertain && client.check_stat(&paths.id(&claim.job.id)).await?.is_none() {
                    return Ok(());
                }
                Err(lost(claim))
            })
            .await
    }

    async fn retry(&self, claim: &Claim, not_before: Millis, error: &str) -> Result<(), PortError> {
        let paths = &self.inner.paths;
        self.inner
            .session
            .run("retry job", |client, uncertain| async move {
                let done = self
                    .with_lock(&client, claim, |lock, version| {
                        let client = &client;
                        async move {
                            let Some((mut job, job_version)) =
                                self.read_job(client, &lock.node).await?
                            else {
                                return Err(lost(claim));
                            };
                            job.not_before = not_before;
                            job.last_error = Some(error.to_owned());
                            Ok(vec![
                                Op::Delete(paths.lock(&claim.job.id), Some(version)),
                                Op::Set(
                                    paths.job(&lock.node),
                                    encode(&job, "job")?,
                                    Some(job_version),
                                ),
                            ])
                        }
                    })
                    .await?;
                if done
                    || (uncertain
                        && self
                            .requeued_with(&client, claim, |job| {
                                job.not_before == not_before
                                    && job.last_error.as_deref() == Some(error)
                            })
                            .await?)
                {
                    Ok(())
                } else {
                    Err(lost(claim))
                }
            })
            .await
    }

    async fn fail(&self, claim: &Claim, reason: &str) -> Result<(), PortError> {
        let paths = &self.inner.paths;
        self.inner
            .session
            .run("fail job", |client, uncertain| async move {
                let done = self
                    .with_lock(&client, claim, |lock, version| {
                        let client = &client;
                        async move {
                            let Some((job, job_version)) =
                                self.read_job(client, &lock.node).await?
                            else {
                                return Err(lost(claim));
                            };
                            let failed = FailedJob {
                                job,
                                reason: reason.to_owned(),
                                failed_at: now_ms(),
                            };
                            // The id stays: re-posting a failed job is a no-op.
                            Ok(vec![
                                Op::Delete(paths.lock(&claim.job.id), Some(version)),
                                Op::Delete(paths.job(&lock.node), Some(job_version)),
                                Op::Create(
                                    paths.failed(&lock.node),
                                    encode(&failed, "failed job")?,
                                    zk::CreateMode::Persistent,
                                ),
                            ])
                        }
                    })
                    .await?;
                if done
                    || (uncertain
                        && self
                            .find_node(&client, &paths.failed, claim)
                            .await?
                            .is_some())
                {
                    Ok(())
                } else {
                    Err(lost(claim))
                }
            })
            .await
    }

    async fn release(&self, claim: &Claim) -> Result<(), PortError> {
        let paths = &self.inner.paths;
        let released_attempts = claim.job.attempts.saturating_sub(1);
        self.inner
            .session
            .run("release job", |client, uncertain| async move {
                let done = self
                    .with_lock(&client, claim, |lock, version| {
                        let client = &client;
                        async move {
                            let Some((mut job, job_version)) =
                                self.read_job(client, &lock.node).await?
                            else {
                                return Err(lost(claim));
                            };
                            job.attempts = job.attempts.saturating_sub(1);
                            Ok(vec![
                                Op::Delete(paths.lock(&claim.job.id), Some(version)),
                                Op::Set(
                                    paths.job(&lock.node),
                                    encode(&job, "job")?,
                                    Some(job_version),
                                ),
                            ])
                        }
                    })
                    .await?;
                if done
                    || (uncertain
                        && self
                            .requeued_with(&client, claim, |job| job.attempts == released_attempts)
                            .await?)
                {
                    Ok(())
                } else {
                    Err(lost(claim))
                }
            })
            .await
    }

    async fn pending_for(&self, service: &ServiceId) -> Result<usize, PortError> {
        let paths = &self.inner.paths;
        self.inner
            .session
            .run("count pending jobs", |client, _| async move {
                let children = client.list_children(&paths.jobs).await?;
                Ok(count_for(&children, service))
            })
            .await
    }

    async fn wait_for_work(&self, timeout: Duration) {
        let start = tokio::time::Instant::now();
        let now = now_ms();
        let wait = match self.next_due(now) {
            Some(at) => timeout.min(Duration::from_millis(
                u64::try_from(at.saturating_sub(now)).unwrap_or(0),
            )),
            None => timeout,
        };
        let deadline = start + wait;
        let session = &self.inner.session;
        let jobs = &self.inner.paths.jobs;
        let watched = tokio::time::timeout_at(deadline, async {
            let client = session.client().await?;
            let (_, watcher) = client.list_and_watch_children(jobs).await?;
            Ok::<_, zk::Error>(watcher)
        })
        .await;
        match watched {
            // A job was posted or removed (the next of its service may be due).
            Ok(Ok(watcher)) => {
                let _ = tokio::time::timeout_at(deadline, watcher.changed()).await;
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, "zookeeper: cannot watch for work; sleeping");
                tokio::time::sleep_until(deadline).await;
            }
            Err(_) => {}
        }
    }
}
