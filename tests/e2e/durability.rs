//! Process-level durability of the real `poppy-server` binary: an accepted
//! service survives a SIGKILL (the job is in the database, not in memory),
//! and SIGTERM stops the server cleanly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tempfile::TempDir;

use crate::support::{domain, id_of, project, Api, DEADLINE, POLL};

/// Worker settings that keep the tests quick.
const FAST_WORKER: &str = r#"
[worker]
idle_wait_ms = 20
backoff_base_ms = 10
backoff_max_ms = 50
poll_interval_ms = 20
lease_ms = 300
"#;

/// A `poppy-server` child process and what it logged.
struct Process {
    child: Child,
    log: Arc<Mutex<String>>,
    api: Api,
}

impl Process {
    /// Starts the binary on an ephemeral port and waits (bounded) until it
    /// answers `GET /v1.0/ping`.
    async fn start(data_dir: &Path, config: &Path, worker: bool) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_poppy-server"));
        command
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .env_remove("POPPY_LOG_FORMAT")
            .env_remove("POPPY_LISTEN")
            .env_remove("POPPY_DATA_DIR")
            .env_remove("POPPY_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if !worker {
            command.arg("--no-worker");
        }
        let mut child = command.spawn().expect("start poppy-server");
        let stderr = child.stderr.take().expect("the child's stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        // Drains stderr for the whole life of the process, so the child
        // never blocks on a full pipe, and reports the bound address.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_address(&line) {
                    let _ = tx.send(addr);
                }
                let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut process = Self {
            child,
            log,
            api: Api::new(String::new()),
        };
        let addr = process.wait_for_address(&rx).await;
        process.api = Api::new(format!("http://{addr}"));
        process.wait_until_ready().await;
        process
    }

    fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("query the child's state")
    }

    async fn wait_for_address(&mut self, rx: &Receiver<String>) -> String {
        let start = tokio::time::Instant::now();
        loop {
            if let Ok(addr) = rx.try_recv() {
                return addr;
            }
            if let Some(status) = self.exited() {
                panic!(
                    "poppy-server exited ({status}) before listening:\n{}",
                    self.log()
                );
            }
            assert!(
                start.elapsed() < DEADLINE,
                "poppy-server did not log its address within {DEADLINE:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    async fn wait_until_ready(&mut self) {
        let start = tokio::time::Instant::now();
        loop {
            let ping = self.api.get_anonymous("/v1.0/ping").await;
            if ping.status == 204 {
                return;
            }
            if let Some(status) = self.exited() {
                panic!("poppy-server exited ({status}):\n{}", self.log());
            }
            assert!(
                start.elapsed() < DEADLINE,
                "not ready within {DEADLINE:?}: {ping}\n{}",
                self.log()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL poppy-server");
        self.child.wait().expect("reap poppy-server");
    }

    /// SIGTERM, then wait (bounded) for the exit status.
    async fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill -TERM");
        assert!(sent.success(), "kill -TERM failed: {sent}");
        let start = tokio::time::Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            if start.elapsed() > DEADLINE {
                let log = self.log();
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("poppy-server did not stop within {DEADLINE:?} of SIGTERM:\n{log}");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A test that failed half-way leaves no server behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `127.0.0.1:PORT` from the server's `listening on http://ADDR` line.
fn listening_address(line: &str) -> Option<String> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    addr.contains(':').then_some(addr)
}

fn write_config(dir: &TempDir, extra: &str) -> std::path::PathBuf {
    let path = dir.path().join("poppy.toml");
    std::fs::write(&path, format!("{FAST_WORKER}\n{extra}")).expect("write the configuration file");
    path
}

fn service() -> serde_json::Value {
    json!({"name": "durable", "flavor_id": "standard", "domains": [{"domain": domain()}],
           "origins": [{"origin": "origin.example.com"}]})
}

#[tokio::test]
async fn an_accepted_service_survives_sigkill() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let config = write_config(&dir, "");
    let p = project();

    let first = Process::start(&data, &config, false).await;
    let location = first.api.create(&p, &service()).await.unwrap();
    let id = id_of(&location);
    first.kill();

    let second = Process::start(&data, &config, true).await;
    let moved = format!("{}/v1.0/services/{id}", second.api.base());
    let deployed = second
        .api
        .wait_status(&p, &moved, "deployed")
        .await
        .unwrap_or_else(|e| panic!("{e}\nserver log:\n{}", second.log()));
    assert_eq!(deployed["id"], json!(id));
    assert_eq!(second.api.service_ids(&p).await, [id]);
    let status = second.terminate().await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[tokio::test]
async fn a_job_cut_off_mid_flow_is_finished_after_restart() {
    // The provider takes a while, so the kill most likely lands while the
    // worker holds the job; whether it did or not, the restarted server
    // must finish it (at-least-once: the lease lapses and it is reclaimed).
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let slow = write_config(&dir, "[[providers]]\nname = \"mock\"\nlatency_ms = 400\n");
    let p = project();

    let first = Process::start(&data, &slow, true).await;
    let location = first.api.create(&p, &service()).await.unwrap();
    let id = id_of(&location);
    first.kill();

    let second = Process::start(&data, &slow, true).await;
    let moved = format!("{}/v1.0/services/{id}", second.api.base());
    second
        .api
        .wait_status(&p, &moved, "deployed")
        .await
        .unwrap_or_else(|e| panic!("{e}\nserver log:\n{}", second.log()));
}

#[tokio::test]
async fn sigterm_stops_the_server_with_success() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    let config = write_config(&dir, "");
    let p = project();
    let server = Process::start(&data, &config, true).await;
    let (location, _) = server.api.deployed(&p, &service()).await.unwrap();
    let status = server.terminate().await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert_eq!(status.code(), Some(0));

    // What it stored is still there after a clean stop.
    let again = Process::start(&data, &config, false).await;
    let moved = format!("{}/v1.0/services/{}", again.api.base(), id_of(&location));
    let resp = again.api.get(&p, &moved).await;
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.json()["status"], "deployed");
}
