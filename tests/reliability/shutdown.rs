//! Graceful shutdown of a real `poppy-server` under load: SIGTERM lets the
//! requests it is serving finish (a request whose body is still arriving
//! gets its answer), exits 0, releases the worker's job claims at once (a
//! lease of ten minutes does not hold them), and loses nothing accepted.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poppy::adapters::storage::sqlite::{SqliteDatabase, SqliteOptions};
use poppy::core::ports::JobBoard;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    domain, free_port, id_of, project, service_body, write_file, Binary, Client, Proc, DEADLINE,
    POLL,
};

/// Services created before the signal, whose jobs are in flight then.
const BEFORE: usize = 6;
/// Requests held half-sent across the signal.
const HELD: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_requests_releases_claims_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("data");
    // Slow provider calls keep jobs claimed; a ten-minute lease means a
    // claim that was not released would hold its job past the test.
    let config = write_file(
        dir.path(),
        "poppy.toml",
        r#"
[worker]
lease_ms = 600000
shutdown_grace_ms = 100
idle_wait_ms = 20
backoff_base_ms = 10
backoff_max_ms = 50
poll_interval_ms = 20

[limits]
max_services_per_project = 1000

[[providers]]
name = "mock"
latency_ms = 2000
"#,
    );
    let port = free_port();
    let mut server = Proc::start(Binary::ServerWithWorker, &data, &config, port).await;
    let base = server.base.clone().expect("a server has an address");
    let client = Client::new(base.clone());
    let p = project();

    let mut accepted: BTreeSet<String> = BTreeSet::new();
    for i in 0..BEFORE {
        accepted.insert(
            client
                .create(&p, &service_body(&format!("before{i}"), &domain()))
                .await,
        );
    }

    // Requests the server is in the middle of: head and half the body sent.
    let mut held = Vec::new();
    for i in 0..HELD {
        let body = service_body(&format!("held{i}"), &domain()).to_string();
        let (first, rest) = body.split_at(body.len() / 2);
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let head = format!(
            "POST /v1.0/services HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Project-ID: {p}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .await
            .expect("half a request");
        held.push((stream, rest.to_owned()));
    }

    // Background load until the signal: creates and reads, each on a
    // connection of its own.
    let stop = Arc::new(AtomicBool::new(false));
    let before_signal_errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let load_accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for worker in 0..3 {
        let client = Client::unpooled(base.clone());
        let (stop, errors, accepted) = (
            stop.clone(),
            before_signal_errors.clone(),
            load_accepted.clone(),
        );
        let p = p.clone();
        load.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let signalled = stop.load(Ordering::SeqCst);
                let result = if (i + worker) % 8 == 0 {
                    let body = service_body(&format!("load{worker}-{i}"), &domain());
                    client
                        .try_send(Method::POST, "/v1.0/services", Some(&p), Some(&body))
                        .await
                } else {
                    client
                        .try_send(Method::GET, "/v1.0/services?limit=5", Some(&p), None)
                        .await
                };
                match result {
                    Ok(resp) if resp.status == 202 => {
                        let id = id_of(resp.location.as_deref().unwrap_or_default());
                        accepted.lock().unwrap_or_else(|e| e.into_inner()).push(id);
                    }
                    Ok(resp) if resp.status < 500 => {}
                    Ok(resp) => errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("load answer {resp}")),
                    // Once the signal is sent, connections the listener
                    // no longer accepts fail; before it, nothing may.
                    Err(e) if !signalled && !stop.load(Ordering::SeqCst) => errors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("load request failed before the signal: {e}")),
                    Err(_) => {}
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    stop.store(true, Ordering::SeqCst);
    server.terminate();
    // Wait until the listener is closed: the server is shutting down.
    let start = tokio::time::Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        assert!(
            start.elapsed() < DEADLINE,
            "the listener stayed open after SIGTERM"
        );
        tokio::time::sleep(POLL).await;
    }

    // The held requests finish and are answered.
    for (mut stream, rest) in held {
        stream
            .write_all(rest.as_bytes())
            .await
            .expect("the rest of a held request is accepted after SIGTERM");
        let mut answer = Vec::new();
        tokio::time::timeout(DEADLINE, stream.read_to_end(&mut answer))
            .await
            .expect("the held request is answered")
            .expect("no reset on a request in flight");
        let text = String::from_utf8_lossy(&answer).into_owned();
        assert!(text.starts_with("HTTP/1.1 202"), "held request: {text}");
        let location = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("location: ")
                    .or_else(|| l.strip_prefix("Location: "))
            })
            .expect("a Location header")
            .trim()
            .to_owned();
        accepted.insert(id_of(&location));
    }
    for task in load {
        task.await.expect("a load task");
    }
    let status = server.wait_exit().await;
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM:\n{}",
        server.log()
    );
    let errors = before_signal_errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert!(errors.is_empty(), "{errors:?}");
    accepted.extend(
        load_accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned(),
    );

    // Claims were released: jobs are still queued, none is held.
    let db = SqliteDatabase::connect(data.join("poppy.db"), SqliteOptions::default())
        .await
        .expect("open the database");
    let stats = db
        .job_board()
        .stats()
        .await
        .expect("job stats")
        .expect("the SQLite board counts");
    assert!(
        stats.queued > 0,
        "the slow jobs were still queued: {stats:?}"
    );
    assert_eq!(
        stats.claimed,
        0,
        "claims survived the shutdown: {stats:?}\n{}",
        server.log()
    );
    drop(db);

    // The next server deploys every accepted service (the claims being
    // free, well before any lease would have lapsed).
    let next = Proc::start(Binary::ServerWithWorker, &data, &config, free_port()).await;
    let client = Client::new(next.base.clone().expect("an address"));
    for id in &accepted {
        let body = client
            .settled(&p, id)
            .await
            .unwrap_or_else(|| panic!("{id} was lost"));
        assert_eq!(body["status"], json!("deployed"), "{body}");
    }
    drop(next);
}
