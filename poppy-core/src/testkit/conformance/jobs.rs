//! Conformance of a [`JobBoard`] to its "# Contract".
//!
//! Each check uses its own random project and only handles jobs of that
//! project: a job of another project that `claim` hands out is held until
//! the check has what it needs, then released (which does not count the
//! attempt). So leftovers of other runs do not disturb the suite, but no
//! worker may serve the board while the suite runs.
//!
//! Leases are short (200 ms) and lapses are waited for generously (400 ms,
//! then polling for up to 30 s); jobs due "later" are due 3 s later. The
//! whole suite takes about 7 s.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::{err, join_all, ok};
use crate::clock;
use crate::model::{Claim, Job, JobId, ProjectId, ServiceId};
use crate::ports::{JobBoard, PortError};
use crate::testkit::fixtures;

const PORT: &str = "JobBoard";
const WORKER: &str = "conformance-worker";
/// A lease no check outlives.
const LONG: Duration = Duration::from_secs(30);
/// A lease the lapse checks let expire.
const SHORT: Duration = Duration::from_millis(200);
/// How long the lapse checks sleep past a [`SHORT`] claim.
const LAPSE: Duration = Duration::from_millis(400);
/// How far in the future a "later" job is due.
const LATER_MS: i64 = 3_000;
/// The longest a due job may take to become claimable.
const EVENTUALLY: Duration = Duration::from_secs(30);

/// Runs every check of the job board contract.
pub async fn run_all(board: &dyn JobBoard) {
    post_is_idempotent(board).await;
    nothing_to_claim_for_a_fresh_project(board).await;
    claim_counts_the_attempt_and_holds_the_job(board).await;
    jobs_of_a_service_run_in_post_order(board).await;
    not_before_is_respected(board).await;
    lapsed_lease_is_reclaimable(board).await;
    heartbeat_extends_the_lease(board).await;
    checkpoint_carries_progress(board).await;
    release_does_not_count_the_attempt(board).await;
    retry_keeps_the_job(board).await;
    complete_and_fail_remove_the_job(board).await;
    concurrent_claimers_never_share_a_job(board).await;
    wait_for_work_returns(board).await;
}

/// Claims until a job of `project` comes out (or nothing does), holding
/// other projects' jobs meanwhile and releasing them afterwards.
async fn claim_own_as(
    board: &dyn JobBoard,
    project: &ProjectId,
    worker: &str,
    lease: Duration,
    what: &str,
) -> Option<Claim> {
    let mut foreign = Vec::new();
    let mut own = None;
    for _ in 0..10_000 {
        match ok(
            board.claim(worker, lease).await,
            format!("{PORT}: claim ({what})"),
        ) {
            Some(claim) if &claim.job.project_id == project => {
                own = Some(claim);
                break;
            }
            Some(claim) => foreign.push(claim),
            None => break,
        }
    }
    for claim in &foreign {
        ok(
            board.release(claim).await,
            format!(
                "{PORT}: release of another run's job {} ({what})",
                claim.job.id
            ),
        );
    }
    own
}

async fn claim_own(
    board: &dyn JobBoard,
    project: &ProjectId,
    lease: Duration,
    what: &str,
) -> Option<Claim> {
    claim_own_as(board, project, WORKER, lease, what).await
}

/// Claims a job of `project` that must be (or soon become) claimable.
async fn claim_eventually(
    board: &dyn JobBoard,
    project: &ProjectId,
    lease: Duration,
    what: &str,
) -> Claim {
    let start = Instant::now();
    loop {
        if let Some(claim) = claim_own(board, project, lease, what).await {
            return claim;
        }
        assert!(
            start.elapsed() < EVENTUALLY,
            "{PORT}: {what}: no job became claimable within {EVENTUALLY:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[track_caller]
fn assert_job(claim: &Claim, expected: &Job, what: &str) {
    assert_eq!(
        claim.job.id, expected.id,
        "{PORT}: {what}: claim handed out job {} ({:?}), expected job {} ({:?})",
        claim.job.id, claim.job.kind, expected.id, expected.kind
    );
}

async fn post(board: &dyn JobBoard, job: &Job, c: &str) {
    ok(
        board.post(job).await,
        format!("{PORT} ({c}): post of job {}", job.id),
    );
}

async fn pending(board: &dyn JobBoard, service: &ServiceId, c: &str) -> usize {
    ok(
        board.pending_for(service).await,
        format!("{PORT} ({c}): pending_for({service})"),
    )
}

async fn complete(board: &dyn JobBoard, claim: &Claim, c: &str) {
    ok(
        board.complete(claim).await,
        format!(
            "{PORT} ({c}): complete of a live claim of job {}",
            claim.job.id
        ),
    );
}

fn job(project: &ProjectId) -> Job {
    fixtures::job_for(project, ServiceId::new_random())
}

/// Posting the same job twice queues it once.
pub async fn post_is_idempotent(board: &dyn JobBoard) {
    const C: &str = "post_is_idempotent";
    let project = ProjectId::random();
    let job = job(&project);
    post(board, &job, C).await;
    post(board, &job, C).await;
    assert_eq!(
        pending(board, &job.service_id, C).await,
        1,
        "{PORT} ({C}): posting the same job id twice must queue it once"
    );
    let claim = claim_eventually(board, &project, LONG, C).await;
    assert_job(&claim, &job, C);
    post(board, &job, C).await;
    let again = claim_own(board, &project, LONG, C).await;
    assert!(
        again.is_none(),
        "{PORT} ({C}): re-posting a claimed job must not make a second claimable copy, got \
         {again:?}"
    );
    complete(board, &claim, C).await;
    assert_eq!(
        pending(board, &job.service_id, C).await,
        0,
        "{PORT} ({C}): pending_for after complete"
    );
}

/// `claim` returns `None` when no job (of this run) is claimable.
pub async fn nothing_to_claim_for_a_fresh_project(board: &dyn JobBoard) {
    const C: &str = "nothing_to_claim_for_a_fresh_project";
    let project = ProjectId::random();
    let claim = claim_own(board, &project, LONG, C).await;
    assert!(
        claim.is_none(),
        "{PORT} ({C}): claim with nothing posted must be Ok(None), got {claim:?}"
    );
    assert_eq!(
        pending(board, &ServiceId::new_random(), C).await,
        0,
        "{PORT} ({C}): pending_for of a service without jobs must be 0"
    );
}

/// `claim` increments `attempts`, names the worker, carries the job as
/// posted, and the job is not claimable again while the lease holds.
pub async fn claim_counts_the_attempt_and_holds_the_job(board: &dyn JobBoard) {
    const C: &str = "claim_counts_the_attempt_and_holds_the_job";
    let project = ProjectId::random();
    let job = job(&project);
    post(board, &job, C).await;
    let before = clock::now_ms();
    let claim = claim_eventually(board, &project, LONG, C).await;
    assert_job(&claim, &job, C);
    assert_eq!(
        claim.job.attempts,
        job.attempts + 1,
        "{PORT} ({C}): claim must increment the job's attempts"
    );
    let mut as_posted = claim.job.clone();
    as_posted.attempts = job.attempts;
    assert_eq!(
        as_posted, job,
        "{PORT} ({C}): the claimed job must carry every field as posted (kind, ids, progress, \
         not_before, created_at) apart from attempts"
    );
    assert_eq!(
        claim.worker, WORKER,
        "{PORT} ({C}): the claim must name the claiming worker"
    );
    assert!(
        claim.lease_until > before,
        "{PORT} ({C}): lease_until ({}) must lie in the future of the claim ({before})",
        claim.lease_until
    );
    assert_eq!(
        pending(board, &job.service_id, C).await,
        1,
        "{PORT} ({C}): a claimed job is still pending"
    );
    let second = claim_own(board, &project, LONG, C).await;
    assert!(
        second.is_none(),
        "{PORT} ({C}): a job whose lease holds must not be handed out again, got {second:?}"
    );
    complete(board, &claim, C).await;
}

/// Jobs of one service are handed out one at a time, oldest first: the
/// next becomes claimable when the older one completes or fails, not when
/// it is released.
pub async fn jobs_of_a_service_run_in_post_order(board: &dyn JobBoard) {
    const C: &str = "jobs_of_a_service_run_in_post_order";
    let project = ProjectId::random();
    for ending in ["complete", "fail", "release"] {
        let service = ServiceId::new_random();
        let first = fixtures::job_for(&project, service);
        let second = fixtures::job_for(&project, service);
        post(board, &first, C).await;
        post(board, &second, C).await;
        let claim = claim_eventually(board, &project, LONG, C).await;
        assert_job(
            &claim,
            &first,
            &format!("{C}: the older of two jobs of a service must be handed out first"),
        );
        let early = claim_own(board, &project, LONG, C).await;
        assert!(
            early.is_none(),
            "{PORT} ({C}): a job must not be claimable while an older job of the same service \
             exists (held); got {early:?}"
        );
        let claim = match ending {
            "complete" => {
                complete(board, &claim, C).await;
                claim_eventually(board, &project, LONG, C).await
            }
            "fail" => {
                ok(
                    board.fail(&claim, "conformance: given up").await,
                    format!("{PORT} ({C}): fail"),
                );
                claim_eventually(board, &project, LONG, C).await
            }
            _ => {
                ok(
                    board.release(&claim).await,
                    format!("{PORT} ({C}): release"),
                );
                let again = claim_eventually(board, &project, LONG, C).await;
                assert_job(
                    &again,
                    &first,
                    &format!("{C}: after release the older job must still come first"),
                );
                complete(board, &again, C).await;
                claim_eventually(board, &project, LONG, C).await
            }
        };
        assert_job(
            &claim,
            &second,
            &format!("{C}: after the older job ended ({ending}) the next job of the service"),
        );
        complete(board, &claim, C).await;
        assert_eq!(
            pending(board, &service, C).await,
            0,
            "{PORT} ({C}): pending_for after both jobs ended"
        );
    }
}

/// A job is not claimable before its `not_before` (posted or set by
/// `retry`), is once it passes, and blocks younger jobs of its service
/// while it waits.
pub async fn not_before_is_respected(board: &dyn JobBoard) {
    const C: &str = "not_before_is_respected";
    let project = ProjectId::random();
    let waiting_service = ServiceId::new_random();
    let mut later = fixtures::job_for(&project, waiting_service);
    later.not_before = clock::now_ms() + LATER_MS;
    let mut due = job(&project);
    due.not_before = clock::now_ms() - 1_000;
    let blocked = fixtures::job_for(&project, waiting_service);
    post(board, &later, C).await;
    post(board, &due, C).await;
    post(board, &blocked, C).await;

    let claim = claim_eventually(board, &project, LONG, C).await;
    assert_job(
        &claim,
        &due,
        &format!(
            "{C}: only the job whose not_before passed is claimable (the other is due in \
             {LATER_MS} ms, the third is behind it)"
        ),
    );
    complete(board, &claim, C).await;
    let early = claim_own(board, &project, LONG, C).await;
    assert!(
        early.is_none(),
        "{PORT} ({C}): a job due in {LATER_MS} ms must not be claimable now, nor a younger job \
         of its service; got {early:?}"
    );

    let claim = claim_eventually(board, &project, LONG, C).await;
    assert_job(
        &claim,
        &later,
        &format!("{C}: once its not_before passed, the older job of the service comes first"),
    );
    assert_eq!(claim.job.attempts, 1, "{PORT} ({C}): first claim, attempts");
    ok(
        board
            .retry(
                &claim,
                clock::now_ms() + LATER_MS,
                "conformance: retry later",
            )
            .await,
        format!("{PORT} ({C}): retry in {LATER_MS} ms"),
    );
    let early = claim_own(board, &project, LONG, C).await;
    assert!(
        early.is_none(),
        "{PORT} ({C}): a job retried {LATER_MS} ms into the future must not be claimable now, \
         nor a younger job of its service; got {early:?}"
    );
    let claim = claim_eventually(board, &project, LONG, C).await;
    assert_job(&claim, &later, &format!("{C}: the retried job once due"));
    assert_eq!(
        claim.job.attempts, 2,
        "{PORT} ({C}): a retried job's second claim must have attempts 2"
    );
    complete(board, &claim, C).await;
    let claim = claim_eventually(board, &project, LONG, C).await;
    assert_job(&claim, &blocked, &format!("{C}: the younger job last"));
    complete(board, &claim, C).await;
}

/// A lapsed lease makes the job claimable again with a new token; the old
/// holder's heartbeat, checkpoint, complete, retry and fail are `Conflict`.
pub async fn lapsed_lease_is_reclaimable(board: &dyn JobBoard) {
    const C: &str = "lapsed_lease_is_reclaimable";
    let project = ProjectId::random();
    let job = job(&project);
    post(board, &job, C).await;
    let old = claim_eventually(board, &project, SHORT, C).await;
    tokio::time::sleep(LAPSE).await;
    let new = claim_eventually(board, &project, LONG, C).await;
    assert_job(
        &new,
        &job,
        &format!("{C}: a job whose lease lapsed must be claimable again"),
    );
    assert_ne!(
        new.token, old.token,
        "{PORT} ({C}): a re-claimed job must get a new token"
    );
    assert_eq!(
        new.job.attempts, 2,
        "{PORT} ({C}): the re-claim of a lapsed job counts a second attempt"
    );

    let progress = serde_json::json!({"step": "stale"});
    let now = clock::now_ms();
    let stale: [(&str, Result<(), PortError>); 5] = [
        ("heartbeat", board.heartbeat(&old, LONG).await.map(|_| ())),
        ("checkpoint", board.checkpoint(&old, &progress).await),
        ("complete", board.complete(&old).await),
        ("retry", board.retry(&old, now, "stale").await),
        ("fail", board.fail(&old, "stale").await),
    ];
    for (operation, result) in stale {
        let error = err(
            result,
            format!("{PORT} ({C}): {operation} with the claim whose lease lapsed"),
        );
        assert!(
            matches!(error, PortError::Conflict(_)),
            "{PORT} ({C}): {operation} by the old holder of a re-claimed job must be Conflict \
             (its token no longer matches), got {error:?}"
        );
    }
    assert_eq!(
        pending(board, &job.service_id, C).await,
        1,
        "{PORT} ({C}): the old holder's complete/fail must not remove the job"
    );
    let renewed = ok(
        board.heartbeat(&new, LONG).await,
        format!("{PORT} ({C}): heartbeat of the new claim"),
    );
    assert_eq!(
        renewed.token, new.token,
        "{PORT} ({C}): heartbeat must keep the claim's token"
    );
    ok(
        board.checkpoint(&new, &serde_json::Value::Null).await,
        format!("{PORT} ({C}): checkpoint of the new claim"),
    );
    complete(board, &new, C).await;
    assert_eq!(
        pending(board, &job.service_id, C).await,
        0,
        "{PORT} ({C}): pending_for after the new holder completed"
    );
}

/// `heartbeat` extends the lease: the job stays held past its first lease.
pub async fn heartbeat_extends_the_lease(board: &dyn JobBoard) {
    const C: &str = "heartbeat_extends_the_lease";
    let project = ProjectId::random();
    let job = job(&project);
    post(board, &job, C).await;
    let claim = claim_eventually(board, &project, SHORT, C).await;
    let renewed = ok(
        board.heartbeat(&claim, LONG).await,
        format!("{PORT} ({C}): heartbeat"),
    );
    assert_eq!(
        (renewed.job.id, renewed.token),
        (claim.job.id, claim.token),
        "{PORT} ({C}): heartbeat must return the same job and token"
    );
    assert!(
        renewed.lease_until > claim.lease_until,
        "{PORT} ({C}): heartbeat for {LONG:?} must move lease_until ({}) past the {SHORT:?} \
         lease ({})",
        renewed.lease_until,
        claim.lease_until
    );
    tokio::time::sleep(LAPSE).await;
    let stolen = claim_own(board, &project, LONG, C).await;
    assert!(
        stolen.is_none(),
        "{PORT} ({C}): a job whose lease a heartbeat extended to {LONG:?} was handed out again \
         after its first {SHORT:?} lease: {stolen:?}"
    );
    complete(board, &renewed, C).await;
}

/// `checkpoint` stores progress that the next claim carries.
pub async fn checkpoint_carries_progress(board: &dyn JobBoard) {
    const C: &str = "checkpoint_carries_progress";
    let project = ProjectId::random();
    let job = job(&project);
    post(board, &job, C).await;
    let claim = claim_eventually(board, &project, LONG, C).await;
    let first = serde_json::json!({"step": "provider", "provider_service_ids": {"mock": "p-1"}});
    ok(
        board.checkpoint(&claim, &first).await,
        format!("{PORT} ({C}): checkpoint"),
    );
    ok(
        board.release(&claim).await,
        format!("{PORT} ({C}): release"),
    );
    let claim = claim_eventually(board, &project, LONG, C).await;
    assert_eq!(
        claim.job.progress, first,
        "{PORT} ({C}): the claim after a release must carry the checkpointed progress"
    );
    let second = serde_json::json!({"step": "dns", "cnames": ["a.cdn.example"]});
    ok(
        board.checkpoint(&claim, &second).await,
        format!("{PORT} ({C}): second checkpoint"),
    );
    ok(
        board
            .retry(&claim, clock::now_ms() - 1_000, "conformance: retry now")
            .await,
        format!("{PORT} ({C}): retry"),
    );
    let claim = claim_eventually(board, &project, LONG, C).await;
    assert_eq!(
        claim.job.progress, second,
        "{PORT} ({C}): the claim after a retry must carry the last checkpointed progress"
    );
    complete(board, &claim, C).await;
}

/// `release` gives the job back at once without counting the attempt.
pub async fn release_does_not_count_the_attempt(board: &dyn JobBoard) {
    const C: &str = "release_does_not_count_the_attempt";
    let project = ProjectId::random();
    let job = job(&project);
    post(board, &job, C).await;
    let claim = claim_eventually(board, &project, LONG, C).await;
    ok(
        board.release(&claim).await,
        format!("{PORT} ({C}): release"),
    );
    let again = claim_own(board, &project, LONG, C).await;
    let Some(again) = again else {
        panic!("{PORT} ({C}): a released job must be claimable at once, claim gave None");
    };
    assert_job(&again, &job, C);
    assert_eq!(
        again.job.attempts, claim.job.attempts,
        "{PORT} ({C}): release must not count the attempt"
    );
    complete(board, &again, C).await;
}

/// `retry` keeps the job queued and claimable at `not_before`.
pub async fn retry_keeps_the_job(board: &dyn JobBoard) {
    const C: &str = "retry_keeps_the_job";
    let project = ProjectId::random();
    let job = job(&project);
    post(board, &job, C).await;
    let claim = claim_eventually(board, &project, LONG, C).await;
    ok(
        board
            .retry(&claim, clock::now_ms() - 1_000, "conformance: transient")
            .await,
        format!("{PORT} ({C}): retry"),
    );
    assert_eq!(
        pending(board, &job.service_id, C).await,
        1,
        "{PORT} ({C}): a retried job is still pending"
    );
    let again = claim_eventually(board, &project, LONG, C).await;
    assert_job(&again, &job, C);
    assert_eq!(
        again.job.attempts, 2,
        "{PORT} ({C}): the claim after a retry counts a second attempt"
    );
    complete(board, &again, C).await;
}

/// `complete` and `fail` remove the job: `pending_for` drops to 0 and it
/// is never handed out again.
pub async fn complete_and_fail_remove_the_job(board: &dyn JobBoard) {
    const C: &str = "complete_and_fail_remove_the_job";
    let project = ProjectId::random();
    let done = job(&project);
    let failed = job(&project);
    post(board, &done, C).await;
    post(board, &failed, C).await;
    for job in [&done, &failed] {
        assert_eq!(
            pending(board, &job.service_id, C).await,
            1,
            "{PORT} ({C}): pending_for after post"
        );
    }
    let mut claims = Vec::new();
    for _ in 0..2 {
        claims.push(claim_eventually(board, &project, LONG, C).await);
    }
    let ids: BTreeSet<JobId> = claims.iter().map(|c| c.job.id).collect();
    assert_eq!(
        ids,
        BTreeSet::from([done.id, failed.id]),
        "{PORT} ({C}): two claims must hand out the two posted jobs"
    );
    for claim in &claims {
        if claim.job.id == done.id {
            complete(board, claim, C).await;
        } else {
            ok(
                board.fail(claim, "conformance: permanent").await,
                format!("{PORT} ({C}): fail"),
            );
        }
    }
    for (job, how) in [(&done, "complete"), (&failed, "fail")] {
        assert_eq!(
            pending(board, &job.service_id, C).await,
            0,
            "{PORT} ({C}): {how} must remove the job (pending_for 0)"
        );
    }
    let after = claim_own(board, &project, LONG, C).await;
    assert!(
        after.is_none(),
        "{PORT} ({C}): a completed or failed job must never be handed out again, got {after:?}"
    );
}

/// 8 concurrent claimers over 50 jobs: every job handed out exactly once.
pub async fn concurrent_claimers_never_share_a_job(board: &dyn JobBoard) {
    const C: &str = "concurrent_claimers_never_share_a_job";
    let project = ProjectId::random();
    let jobs: Vec<Job> = (0..50).map(|_| job(&project)).collect();
    for job in &jobs {
        post(board, job, C).await;
    }
    let claimers = (0..8)
        .map(|n| {
            let project = &project;
            async move {
                let worker = format!("{WORKER}-{n}");
                let mut handled = Vec::new();
                while let Some(claim) = claim_own_as(board, project, &worker, LONG, C).await {
                    // Let the other claimers in between claim and complete.
                    tokio::task::yield_now().await;
                    handled.push(claim.job.id);
                    complete(board, &claim, C).await;
                }
                handled
            }
        })
        .collect();
    let handled: Vec<JobId> = join_all(claimers).await.into_iter().flatten().collect();
    let unique: BTreeSet<JobId> = handled.iter().copied().collect();
    assert_eq!(
        unique.len(),
        handled.len(),
        "{PORT} ({C}): {} claims by 8 concurrent claimers handed out only {} distinct jobs: a \
         job was given to two claimers at once",
        handled.len(),
        unique.len()
    );
    let posted: BTreeSet<JobId> = jobs.iter().map(|j| j.id).collect();
    assert_eq!(
        unique, posted,
        "{PORT} ({C}): the claimers together must handle every posted job"
    );
    for job in &jobs {
        assert_eq!(
            pending(board, &job.service_id, C).await,
            0,
            "{PORT} ({C}): pending_for after every job completed"
        );
    }
}

/// `wait_for_work` returns: after its timeout, and when a job is posted
/// while it waits (only a generous upper bound is checked).
pub async fn wait_for_work_returns(board: &dyn JobBoard) {
    const C: &str = "wait_for_work_returns";
    let bound = Duration::from_secs(30);
    let waited = tokio::time::timeout(bound, board.wait_for_work(Duration::from_millis(100))).await;
    assert!(
        waited.is_ok(),
        "{PORT} ({C}): wait_for_work(100ms) did not return within {bound:?}"
    );

    let project = ProjectId::random();
    let job = job(&project);
    let waited = tokio::time::timeout(bound, async {
        tokio::join!(board.wait_for_work(Duration::from_secs(5)), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            post(board, &job, C).await;
        })
    })
    .await;
    assert!(
        waited.is_ok(),
        "{PORT} ({C}): wait_for_work(5s) with a job posted meanwhile did not return within \
         {bound:?}"
    );
    let claim = claim_eventually(board, &project, LONG, C).await;
    complete(board, &claim, C).await;
}
