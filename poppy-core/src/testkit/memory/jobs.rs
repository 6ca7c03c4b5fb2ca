//! In-memory [`JobBoard`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use uuid::Uuid;

use super::faults::{lock, FailureKind, Faults};
use crate::clock::{self, Millis};
use crate::model::{Claim, Job, JobId, ServiceId};
use crate::ports::{JobBoard, JobStats, PortError};

const BOARD: &str = "memory";

/// Operations of [`MemoryJobBoard`] that can be told to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobOp {
    Post,
    Claim,
    Heartbeat,
    Checkpoint,
    Complete,
    Retry,
    Fail,
    Release,
    PendingFor,
}

impl JobOp {
    fn name(self) -> &'static str {
        match self {
            JobOp::Post => "post",
            JobOp::Claim => "claim",
            JobOp::Heartbeat => "heartbeat",
            JobOp::Checkpoint => "checkpoint",
            JobOp::Complete => "complete",
            JobOp::Retry => "retry",
            JobOp::Fail => "fail",
            JobOp::Release => "release",
            JobOp::PendingFor => "pending_for",
        }
    }
}

#[derive(Debug, Clone)]
struct Lease {
    token: Uuid,
    worker: String,
    until: Millis,
}

#[derive(Debug)]
struct Entry {
    /// Post order: decides which job of a service goes first.
    seq: u64,
    job: Job,
    lease: Option<Lease>,
}

impl Entry {
    fn held_at(&self, now: Millis) -> bool {
        self.lease.as_ref().is_some_and(|l| l.until > now)
    }
}

#[derive(Debug, Default)]
struct BoardState {
    next_seq: u64,
    queued: BTreeMap<JobId, Entry>,
    completed: Vec<Job>,
    failed: Vec<(Job, String)>,
}

impl BoardState {
    /// The oldest claimable job: due, not held, and first of its service.
    fn claimable(&self, now: Millis) -> Option<JobId> {
        self.queued
            .values()
            .filter(|e| e.job.not_before <= now && !e.held_at(now))
            .filter(|e| {
                !self
                    .queued
                    .values()
                    .any(|o| o.job.service_id == e.job.service_id && o.seq < e.seq)
            })
            .min_by_key(|e| e.seq)
            .map(|e| e.job.id)
    }

    /// The entry `claim` still holds, or `Conflict`.
    fn held(&mut self, claim: &Claim) -> Result<&mut Entry, PortError> {
        let lost = || {
            PortError::Conflict(format!(
                "job {} is no longer held by this claim (token {}): its lease lapsed and it was \
                 claimed again, or it already ended",
                claim.job.id, claim.token
            ))
        };
        let entry = self.queued.get_mut(&claim.job.id).ok_or_else(lost)?;
        match &entry.lease {
            Some(lease) if lease.token == claim.token => Ok(entry),
            _ => Err(lost()),
        }
    }

    /// When something may become claimable without anyone calling the board.
    fn next_deadline(&self, now: Millis) -> Option<Millis> {
        self.queued
            .values()
            .filter_map(|e| match &e.lease {
                Some(lease) if lease.until > now => Some(lease.until),
                _ if e.job.not_before > now => Some(e.job.not_before),
                _ => None,
            })
            .min()
    }
}

#[derive(Debug)]
struct BoardInner {
    state: Mutex<BoardState>,
    work: Notify,
    faults: Faults<JobOp>,
    alive: AtomicBool,
}

/// A [`JobBoard`] in memory: leases with tokens, per-service ordering,
/// attempts counted on claim (not on `release`). `wait_for_work` returns at
/// once if a job is claimable, else wakes up when a job is posted, retried,
/// released, completed or failed, or when a `not_before` or a lease comes
/// due (so call it after an empty `claim`, not to pause). Clones share the
/// same queue.
#[derive(Debug, Clone)]
pub struct MemoryJobBoard {
    inner: Arc<BoardInner>,
}

impl Default for MemoryJobBoard {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryJobBoard {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(BoardInner {
                state: Mutex::new(BoardState::default()),
                work: Notify::new(),
                faults: Faults::default(),
                alive: AtomicBool::new(true),
            }),
        }
    }

    /// The next `times` calls of `op` fail with `kind` and change nothing.
    pub fn fail_next(&self, op: JobOp, times: u32, kind: FailureKind) {
        self.inner.faults.fail_next(op, times, kind);
    }

    /// Forgets every planned failure.
    pub fn clear_failures(&self) {
        self.inner.faults.clear();
    }

    /// What `is_alive` reports (true by default).
    pub fn set_alive(&self, alive: bool) {
        self.inner.alive.store(alive, Ordering::SeqCst);
    }

    /// Jobs still queued (claimed or not), in post order.
    pub fn jobs(&self) -> Vec<Job> {
        let state = lock(&self.inner.state);
        let mut entries: Vec<&Entry> = state.queued.values().collect();
        entries.sort_by_key(|e| e.seq);
        entries.into_iter().map(|e| e.job.clone()).collect()
    }

    /// A queued job by id.
    pub fn job(&self, id: &JobId) -> Option<Job> {
        lock(&self.inner.state)
            .queued
            .get(id)
            .map(|e| e.job.clone())
    }

    /// Jobs ended with `complete`, oldest first.
    pub fn completed(&self) -> Vec<Job> {
        lock(&self.inner.state).completed.clone()
    }

    /// Jobs ended with `fail`, with the reason, oldest first.
    pub fn failed(&self) -> Vec<(Job, String)> {
        lock(&self.inner.state).failed.clone()
    }

    /// The worker holding job `id` with a live lease, if any.
    pub fn holder(&self, id: &JobId) -> Option<String> {
        let now = clock::now_ms();
        let state = lock(&self.inner.state);
        let entry = state.queued.get(id)?;
        match &entry.lease {
            Some(lease) if lease.until > now => Some(lease.worker.clone()),
            _ => None,
        }
    }

    fn check(&self, op: JobOp) -> Result<(), PortError> {
        match self.inner.faults.take(op) {
            Some(kind) => Err(kind.to_error(BOARD, op.name())),
            None => Ok(()),
        }
    }

    /// Wakes current waiters, and leaves a permit for the next one so a
    /// worker between an empty `claim` and `wait_for_work` does not miss it.
    fn wake(&self) {
        self.inner.work.notify_waiters();
        self.inner.work.notify_one();
    }
}

fn lease_end(lease: Duration) -> Millis {
    clock::after(lease)
}

#[async_trait]
impl JobBoard for MemoryJobBoard {
    fn name(&self) -> &str {
        BOARD
    }

    async fn is_alive(&self) -> bool {
        self.inner.alive.load(Ordering::SeqCst)
    }

    async fn post(&self, job: &Job) -> Result<(), PortError> {
        self.check(JobOp::Post)?;
        {
            let mut state = lock(&self.inner.state);
            if state.queued.contains_key(&job.id) {
                return Ok(());
            }
            let seq = state.next_seq;
            state.next_seq += 1;
            state.queued.insert(
                job.id,
                Entry {
                    seq,
                    job: job.clone(),
                    lease: None,
                },
            );
        }
        self.wake();
        Ok(())
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>, PortError> {
        self.check(JobOp::Claim)?;
        let now = clock::now_ms();
        let mut state = lock(&self.inner.state);
        let Some(id) = state.claimable(now) else {
            return Ok(None);
        };
        let Some(entry) = state.queued.get_mut(&id) else {
            return Ok(None);
        };
        let token = Uuid::new_v4();
        let until = lease_end(lease);
        entry.job.attempts = entry.job.attempts.saturating_add(1);
        entry.lease = Some(Lease {
            token,
            worker: worker.to_owned(),
            until,
        });
        Ok(Some(Claim {
            job: entry.job.clone(),
            worker: worker.to_owned(),
            token,
            lease_until: until,
        }))
    }

    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<Claim, PortError> {
        self.check(JobOp::Heartbeat)?;
        let mut state = lock(&self.inner.state);
        let entry = state.held(claim)?;
        let until = lease_end(lease);
        if let Some(held) = entry.lease.as_mut() {
            held.until = until;
        }
        Ok(Claim {
            job: entry.job.clone(),
            worker: claim.worker.clone(),
            token: claim.token,
            lease_until: until,
        })
    }

    async fn checkpoint(
        &self,
        claim: &Claim,
        progress: &serde_json::Value,
    ) -> Result<(), PortError> {
        self.check(JobOp::Checkpoint)?;
        let mut state = lock(&self.inner.state);
        state.held(claim)?.job.progress = progress.clone();
        Ok(())
    }

    async fn complete(&self, claim: &Claim) -> Result<(), PortError> {
        self.check(JobOp::Complete)?;
        {
            let mut state = lock(&self.inner.state);
            state.held(claim)?;
            if let Some(entry) = state.queued.remove(&claim.job.id) {
                state.completed.push(entry.job);
            }
        }
        self.wake();
        Ok(())
    }

    async fn retry(&self, claim: &Claim, not_before: Millis, error: &str) -> Result<(), PortError> {
        self.check(JobOp::Retry)?;
        {
            let mut state = lock(&self.inner.state);
            let entry = state.held(claim)?;
            entry.lease = None;
            entry.job.not_before = not_before;
            entry.job.last_error = Some(error.to_owned());
        }
        self.wake();
        Ok(())
    }

    async fn fail(&self, claim: &Claim, reason: &str) -> Result<(), PortError> {
        self.check(JobOp::Fail)?;
        {
            let mut state = lock(&self.inner.state);
            state.held(claim)?;
            if let Some(entry) = state.queued.remove(&claim.job.id) {
                state.failed.push((entry.job, reason.to_owned()));
            }
        }
        self.wake();
        Ok(())
    }

    async fn release(&self, claim: &Claim) -> Result<(), PortError> {
        self.check(JobOp::Release)?;
        {
            let mut state = lock(&self.inner.state);
            let entry = state.held(claim)?;
            entry.lease = None;
            entry.job.attempts = entry.job.attempts.saturating_sub(1);
        }
        self.wake();
        Ok(())
    }

    async fn pending_for(&self, service: &ServiceId) -> Result<usize, PortError> {
        self.check(JobOp::PendingFor)?;
        Ok(lock(&self.inner.state)
            .queued
            .values()
            .filter(|e| &e.job.service_id == service)
            .count())
    }

    async fn stats(&self) -> Result<Option<JobStats>, PortError> {
        let now = clock::now_ms();
        let state = lock(&self.inner.state);
        Ok(Some(JobStats {
            queued: state.queued.len() as u64,
            claimed: state.queued.values().filter(|e| e.held_at(now)).count() as u64,
            oldest_created_at: state.queued.values().map(|e| e.job.created_at).min(),
        }))
    }

    async fn wait_for_work(&self, timeout: Duration) {
        let now = clock::now_ms();
        let deadline = {
            let state = lock(&self.inner.state);
            if state.claimable(now).is_some() {
                return;
            }
            state.next_deadline(now)
        };
        let wait = match deadline {
            Some(at) => {
                let until_due = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
                timeout.min(until_due)
            }
            None => timeout,
        };
        // Either way the caller claims again, so how we woke does not matter.
        let _ = tokio::time::timeout(wait, self.inner.work.notified()).await;
    }
}
