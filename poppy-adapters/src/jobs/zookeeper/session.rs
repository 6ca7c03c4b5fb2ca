//! The board's ZooKeeper session: connecting, reconnecting after an
//! expiry, and running one operation through connection losses.
//!
//! The client library reconnects by itself within a session; requests in
//! flight when a connection drops fail with `ConnectionLoss`, and a session
//! the ensemble expired (or that could not reconnect within its timeout)
//! ends in `SessionExpired`, after which this module opens a new session.
//! Ephemeral lock nodes belong to a session, so the old session's claims
//! are gone by then: their holders' next operations see a missing lock and
//! get `Conflict`.

use std::future::Future;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use poppy_core::ports::PortError;
use rand::Rng;
use tokio::time::Instant;
use zookeeper_client as zk;

use super::config::ZookeeperConfig;
use super::layout::Paths;
use super::NAME;

/// Why one attempt at an operation stopped.
#[derive(Debug)]
pub(crate) enum Fail {
    /// A ZooKeeper error: connection problems are retried, the rest are
    /// reported as `Internal`.
    Zk(zk::Error),
    /// A verdict of the board itself (`Conflict`, `Internal`…), returned as is.
    Port(PortError),
}

impl From<zk::Error> for Fail {
    fn from(error: zk::Error) -> Self {
        Fail::Zk(error)
    }
}

impl From<PortError> for Fail {
    fn from(error: PortError) -> Self {
        Fail::Port(error)
    }
}

/// Whether a ZooKeeper error means "the request may or may not have been
/// applied; the connection or session is the problem".
fn is_connection_error(error: &zk::Error) -> bool {
    matches!(
        error,
        zk::Error::ConnectionLoss
            | zk::Error::Timeout
            | zk::Error::SessionExpired
            | zk::Error::SessionMoved
            | zk::Error::ClientClosed
            | zk::Error::NoHosts
            | zk::Error::Throttled
            // What the library hands pending requests when their connection
            // broke: an I/O error or "no response from connection".
            | zk::Error::Custom(_)
    )
}

fn is_terminal(state: zk::SessionState) -> bool {
    matches!(
        state,
        zk::SessionState::Expired | zk::SessionState::Closed | zk::SessionState::AuthFailed
    )
}

/// Longest pause between two attempts of one operation.
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// First pause after a connection loss.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
/// Shortest time an attempt is given, even when the budget is nearly spent.
const MIN_ATTEMPT: Duration = Duration::from_millis(200);

/// One ZooKeeper session at a time, replaced when it expires.
#[derive(Debug)]
pub(crate) struct Session {
    config: ZookeeperConfig,
    hosts: String,
    paths: Paths,
    client: RwLock<Option<zk::Client>>,
    /// Held while a new session is being opened, so concurrent operations
    /// that all saw the expiry open one session, not one each.
    connecting: tokio::sync::Mutex<()>,
}

impl Session {
    pub fn new(config: ZookeeperConfig, paths: Paths) -> Self {
        Self {
            hosts: config.connect_string(),
            config,
            paths,
            client: RwLock::new(None),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    pub fn config(&self) -> &ZookeeperConfig {
        &self.config
    }

    pub fn hosts(&self) -> &str {
        &self.hosts
    }

    /// The live client, if the current session has not ended.
    fn current(&self) -> Option<zk::Client> {
        let guard = self.client.read().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().filter(|c| !is_terminal(c.state())).cloned()
    }

    /// The live client, opening a new session (and the board's directories)
    /// if there is none. Not bounded in time: callers put a timeout on it.
    pub async fn client(&self) -> Result<zk::Client, zk::Error> {
        if let Some(client) = self.current() {
            return Ok(client);
        }
        let _connecting = self.connecting.lock().await;
        if let Some(client) = self.current() {
            return Ok(client);
        }
        let client = zk::Client::connector()
            .with_session_timeout(self.config.session_timeout())
            .connect(&self.hosts)
            .await?;
        self.ensure_directories(&client).await?;
        tracing::info!(hosts = %self.hosts, root = %self.paths.root,
            session = %client.session_id(), "zookeeper: session opened");
        *self.client.write().unwrap_or_else(PoisonError::into_inner) = Some(client.clone());
        Ok(client)
    }

    /// Forgets `client` if it is still the current one (its session ended).
    fn drop_session(&self, client: &zk::Client) {
        let mut guard = self.client.write().unwrap_or_else(PoisonError::into_inner);
        if guard
            .as_ref()
            .is_some_and(|c| c.session_id() == client.session_id())
        {
            tracing::warn!(hosts = %self.hosts, session = %client.session_id(),
                "zookeeper: session ended; claims held through it are gone, opening a new one");
            *guard = None;
        }
    }

    /// Creates the root and the board's directories that are missing.
    pub async fn ensure_directories(&self, client: &zk::Client) -> Result<(), zk::Error> {
        let options = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        // The root's own parents, then the root and its children.
        let mut parents = Vec::new();
        let mut at = 0;
        while let Some(i) = self.paths.root[at + 1..].find('/') {
            at += i + 1;
            parents.push(&self.paths.root[..at]);
        }
        for dir in parents.into_iter().chain(self.paths.directories()) {
            match client.create(dir, &[], &options).await {
                Ok(_) | Err(zk::Error::NodeExists) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Runs `attempt` until it succeeds, fails for a reason other than the
    /// connection, or the connect timeout is spent (then `Unavailable`).
    ///
    /// `attempt` gets the client and whether an earlier attempt may have
    /// been applied without an answer (connection lost mid-request); it
    /// must then check what is already done instead of doing it twice.
    pub async fn run<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, PortError>
    where
        F: FnMut(zk::Client, bool) -> Fut,
        Fut: Future<Output = Result<T, Fail>>,
    {
        let budget = self.config.connect_timeout();
        let deadline = Instant::now() + budget;
        let mut uncertain = false;
        let mut pause = FIRST_BACKOFF;
        loop {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(MIN_ATTEMPT);
            let outcome = tokio::time::timeout(left, async {
                let client = self.client().await.map_err(|e| (None, e))?;
                if client.state() != zk::SessionState::SyncConnected {
                    // Requests made while disconnected wait in the client and
                    // go out on reconnection, long after this operation gave
                    // up: a late post or claim nobody expects. Send nothing.
                    return Err((Some(client), zk::Error::ConnectionLoss));
                }
                if uncertain {
                    // Read our own possibly-applied write, whichever server
                    // the session moved to.
                    client
                        .sync(&self.paths.root)
                        .await
                        .map_err(|e| (Some(client.clone()), e))?;
                }
                match attempt(client.clone(), uncertain).await {
                    Ok(value) => Ok(Ok(value)),
                    Err(Fail::Port(error)) => Ok(Err(error)),
                    Err(Fail::Zk(error)) => Err((Some(client), error)),
                }
            })
            .await;
            let error = match outcome {
                Ok(Ok(Ok(value))) => return Ok(value),
                Ok(Ok(Err(port))) => return Err(port),
                Ok(Err((client, error))) => {
                    if !is_connection_error(&error) {
                        return Err(PortError::internal(
                            NAME,
                            format!("{what} (under {}): {error}", self.paths.root),
                        ));
                    }
                    if let Some(client) = client {
                        if matches!(error, zk::Error::SessionExpired | zk::Error::ClientClosed)
                            || is_terminal(client.state())
                        {
                            self.drop_session(&client);
                        }
                    }
                    error.to_string()
                }
                Err(_elapsed) => format!("no answer within {}ms", left.as_millis()),
            };
            uncertain = true;
            if Instant::now() >= deadline {
                return Err(PortError::Unavailable {
                    backend: NAME.to_owned(),
                    message: format!(
                        "{what}: {error} (ZooKeeper at {}, retried for {}ms)",
                        self.hosts,
                        budget.as_millis()
                    ),
                    retry_after: Some(Duration::from_secs(1)),
                });
            }
            tracing::debug!(%error, what, "zookeeper: connection problem; retrying");
            let jittered = rand::rng().random_range(pause / 2..=pause);
            tokio::time::sleep(jittered.min(deadline.saturating_duration_since(Instant::now())))
                .await;
            pause = (pause * 2).min(MAX_BACKOFF);
        }
    }
}
