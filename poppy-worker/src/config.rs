//! Runner settings.

use std::time::Duration;

use poppy_core::flows::FlowSettings;

/// How a [`Runner`](crate::Runner) claims and retries jobs.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Names this worker's claims (shows in logs and the job board).
    pub worker_id: String,
    /// Jobs run at once (flows mostly wait on providers).
    pub concurrency: usize,
    /// Lease of a claim; heartbeats renew it every third of it. A worker
    /// that dies loses its jobs to others after at most this long.
    pub lease: Duration,
    /// Failed runs after which the service is marked `failed`.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Longest wait for new work when the job board cannot notify (other
    /// processes posting).
    pub idle_wait: Duration,
    /// On shutdown, how long running flows may take to finish before their
    /// claims are released.
    pub shutdown_grace: Duration,
    /// Run the reconciler this often (`None`: never). Needed only when the
    /// store does not write jobs in the same transaction as services.
    pub reconcile_every: Option<Duration>,
    /// The reconciler leaves services changed more recently than this alone.
    pub reconcile_min_age: Duration,
    pub flow: FlowSettings,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            worker_id: default_worker_id(),
            concurrency: 8,
            lease: Duration::from_secs(30),
            max_attempts: 10,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            idle_wait: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(10),
            reconcile_every: Some(Duration::from_secs(60)),
            reconcile_min_age: Duration::from_secs(60),
            flow: FlowSettings::default(),
        }
    }
}

fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}
