//! Where the board keeps things in ZooKeeper, and how nodes are named and
//! encoded.
//!
//! ```text
//! <root>/jobs/<service id>_<job id>_<sequence>   persistent sequential; data: the Job (JSON)
//! <root>/ids/<job id>                            persistent, empty; makes `post` idempotent
//! <root>/locks/<job id>                          ephemeral; data: Lock (JSON)
//! <root>/failed/<job node name>                  persistent; data: FailedJob (JSON)
//! ```
//!
//! The job node's name carries the service and job ids so that one
//! `getChildren` of `jobs/` tells which job heads each service's queue,
//! and the sequence ZooKeeper appends orders all jobs by posting time.

use std::collections::BTreeMap;

use poppy_core::clock::Millis;
use poppy_core::model::{Job, JobId, ServiceId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The board's paths under its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paths {
    pub root: String,
    pub jobs: String,
    pub ids: String,
    pub locks: String,
    pub failed: String,
}

impl Paths {
    pub fn new(root: &str) -> Self {
        Self {
            root: root.to_owned(),
            jobs: format!("{root}/jobs"),
            ids: format!("{root}/ids"),
            locks: format!("{root}/locks"),
            failed: format!("{root}/failed"),
        }
    }

    /// The directories to create on connect, parents first.
    pub fn directories(&self) -> [&str; 5] {
        [&self.root, &self.jobs, &self.ids, &self.locks, &self.failed]
    }

    /// The path given to a sequential create of `job`.
    pub fn job_prefix(&self, job: &Job) -> String {
        format!("{}/{}_{}_", self.jobs, job.service_id, job.id)
    }

    pub fn job(&self, node: &str) -> String {
        format!("{}/{node}", self.jobs)
    }

    pub fn id(&self, job: &JobId) -> String {
        format!("{}/{job}", self.ids)
    }

    pub fn lock(&self, job: &JobId) -> String {
        format!("{}/{job}", self.locks)
    }

    pub fn failed(&self, node: &str) -> String {
        format!("{}/{node}", self.failed)
    }
}

/// A child of `jobs/`, parsed from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobNode {
    pub name: String,
    pub service: ServiceId,
    pub job: JobId,
    pub seq: i64,
}

impl JobNode {
    /// `None` for a name the board did not write.
    pub fn parse(name: &str) -> Option<Self> {
        let mut parts = name.splitn(3, '_');
        let service = Uuid::parse_str(parts.next()?).ok()?;
        let job = Uuid::parse_str(parts.next()?).ok()?;
        let seq = parts.next()?;
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            name: name.to_owned(),
            service: ServiceId::from_uuid(service),
            job: JobId::from_uuid(job),
            seq: seq.parse().ok()?,
        })
    }
}

/// The oldest job of each service (the only one of its service that may be
/// claimed), oldest first. Names the board did not write are skipped.
pub(crate) fn queue_heads<S: AsRef<str>>(children: &[S]) -> Vec<JobNode> {
    let mut heads: BTreeMap<ServiceId, JobNode> = BTreeMap::new();
    for node in children.iter().filter_map(|c| JobNode::parse(c.as_ref())) {
        match heads.get(&node.service) {
            Some(head) if head.seq <= node.seq => {}
            _ => {
                heads.insert(node.service, node);
            }
        }
    }
    let mut heads: Vec<JobNode> = heads.into_values().collect();
    heads.sort_by_key(|n| n.seq);
    heads
}

/// How many children of `jobs/` belong to `service`.
pub(crate) fn count_for<S: AsRef<str>>(children: &[S], service: &ServiceId) -> usize {
    let prefix = format!("{service}_");
    children
        .iter()
        .filter(|c| c.as_ref().starts_with(&prefix))
        .count()
}

/// A claim, as the ephemeral lock node of a job stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Lock {
    pub token: Uuid,
    pub worker: String,
    pub lease_until: Millis,
    /// The claimed job's node under `jobs/`, so holders find it by job id.
    pub node: String,
}

/// A job a worker gave up on, under `failed/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FailedJob {
    pub job: Job,
    pub reason: String,
    pub failed_at: Millis,
}

#[cfg(test)]
mod tests {
    use poppy_core::model::{JobKind, ProjectId};

    use super::*;

    fn job(service: ServiceId) -> Job {
        Job::new(ProjectId::new("p"), service, JobKind::CreateService, 1_000)
    }

    fn name_of(paths: &Paths, job: &Job, seq: i64) -> String {
        let prefix = paths.job_prefix(job);
        let name = prefix.trim_start_matches(&format!("{}/", paths.jobs));
        format!("{name}{seq:010}")
    }

    #[test]
    fn job_node_names_round_trip() {
        let paths = Paths::new("/poppy");
        let job = job(ServiceId::new_random());
        let name = name_of(&paths, &job, 42);
        let node = JobNode::parse(&name).expect("parses");
        assert_eq!(node.service, job.service_id);
        assert_eq!(node.job, job.id);
        assert_eq!(node.seq, 42);
        assert_eq!(paths.job(&name), format!("/poppy/jobs/{name}"));
    }

    #[test]
    fn foreign_names_are_ignored() {
        for name in [
            "",
            "x",
            "job-0000000001",
            "a_b_1",
            "00000000-0000-0000-0000-000000000000_x_1",
            "00000000-0000-0000-0000-000000000000_00000000-0000-0000-0000-000000000000_",
            "00000000-0000-0000-0000-000000000000_00000000-0000-0000-0000-000000000000_1a",
        ] {
            assert_eq!(JobNode::parse(name), None, "{name:?}");
        }
    }

    #[test]
    fn heads_are_the_oldest_job_of_each_service_oldest_first() {
        let paths = Paths::new("/r");
        let (a, b) = (ServiceId::new_random(), ServiceId::new_random());
        let (a1, a2, b1) = (job(a), job(a), job(b));
        let children = vec![
            name_of(&paths, &a2, 7),
            "garbage".to_owned(),
            name_of(&paths, &b1, 5),
            name_of(&paths, &a1, 3),
        ];
        let heads: Vec<JobId> = queue_heads(&children).into_iter().map(|n| n.job).collect();
        assert_eq!(heads, vec![a1.id, b1.id]);
        assert_eq!(count_for(&children, &a), 2);
        assert_eq!(count_for(&children, &b), 1);
        assert_eq!(count_for(&children, &ServiceId::new_random()), 0);
    }

    #[test]
    fn lock_data_is_json() {
        let lock = Lock {
            token: Uuid::new_v4(),
            worker: "w-1".to_owned(),
            lease_until: 123,
            node: "n".to_owned(),
        };
        let text = serde_json::to_string(&lock).expect("encodes");
        assert!(text.contains("\"lease_until\":123"), "{text}");
        let back: Lock = serde_json::from_str(&text).expect("decodes");
        assert_eq!(back, lock);
    }
}
