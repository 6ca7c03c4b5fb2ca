//! The router on a real loopback listener, with a real HTTP client.

use std::net::SocketAddr;
use std::sync::Arc;

use poppy_core::ports::Transport;
use poppy_http::{serve, HttpConfig, HttpTransport};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::fake::{Fake, Gate, CREATED_ID, PROJECT, SERVICE_ID};

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(fake: &Arc<Fake>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(
        listener,
        fake.api(),
        HttpConfig::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    Running { addr, stop, task }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn a_real_client_creates_reads_and_is_refused_over_loopback() {
    let fake = Fake::new();
    let server = start(&fake).await;
    let base = format!("http://{}/v1.0", server.addr);
    let client = client();

    let created = client
        .post(format!("{base}/services"))
        .header("x-project-id", PROJECT)
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    assert_eq!(
        created.headers()["location"],
        format!("{base}/services/{CREATED_ID}").as_str()
    );
    assert!(created.headers().contains_key("x-request-id"));
    assert_eq!(created.text().await.unwrap(), "");

    let read = client
        .get(format!("{base}/services/{SERVICE_ID}"))
        .header("x-project-id", PROJECT)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["content-type"], "application/json");
    let body: serde_json::Value = read.json().await.unwrap();
    assert_eq!(
        body["links"][0]["href"],
        format!("{base}/services/{SERVICE_ID}")
    );

    let too_big = client
        .post(format!("{base}/services"))
        .header("x-project-id", PROJECT)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    let message: serde_json::Value = too_big.json().await.unwrap();
    assert!(message["message"].is_string());

    let missing = client.get(format!("{base}/services")).send().await.unwrap();
    assert_eq!(missing.status(), 400);

    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn graceful_shutdown_completes_an_in_flight_request() {
    let fake = Fake::new();
    let gate = Gate::default();
    *fake.gate.lock().unwrap() = Some(gate.clone());
    let server = start(&fake).await;
    let url = format!("http://{}/v1.0/services/{SERVICE_ID}", server.addr);

    let in_flight = tokio::spawn(async move {
        client()
            .get(url)
            .header("x-project-id", PROJECT)
            .send()
            .await
    });
    // The handler is running now.
    gate.entered.notified().await;

    server.stop.send(()).unwrap();
    // Shutdown has begun once the listener is closed: new connections are
    // refused (bounded wait for the server task to see the signal).
    let mut refused = false;
    for _ in 0..500 {
        if TcpStream::connect(server.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener should close once shutdown starts");
    assert!(
        !server.task.is_finished(),
        "serve must wait for the in-flight request"
    );

    gate.release.notify_one();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], SERVICE_ID);
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn http_transport_serves_through_the_core_trait() {
    let fake = Fake::new();
    let transport = Arc::new(
        HttpTransport::bind("127.0.0.1:0", HttpConfig::default())
            .await
            .unwrap(),
    );
    let addr = transport.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let api = fake.api();
    let serving = {
        let transport = transport.clone();
        tokio::spawn(async move {
            transport
                .serve(
                    api,
                    Box::pin(async move {
                        let _ = stopped.await;
                    }),
                )
                .await
        })
    };

    let ping = client()
        .get(format!("http://{addr}/v1.0/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(ping.status(), 204);

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    // The listener was consumed: a second serve fails instead of panicking.
    let again = transport
        .serve(fake.api(), Box::pin(std::future::ready(())))
        .await;
    assert!(again.is_err());
}

#[cfg(unix)]
#[tokio::test]
async fn shutdown_signal_resolves_on_sigterm() {
    use tokio::signal::unix::{signal, SignalKind};
    // Installs tokio's SIGTERM handler for the process first, so the signals
    // below can never take the default action (ending the test binary).
    let _guard = signal(SignalKind::terminate()).unwrap();
    let waiting = tokio::spawn(poppy_http::shutdown_signal());
    // The spawned future registers its own listener when first polled;
    // signal until it has seen one (bounded).
    for _ in 0..200 {
        if waiting.is_finished() {
            break;
        }
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        waiting.is_finished(),
        "shutdown_signal did not resolve on SIGTERM"
    );
    waiting.await.unwrap();
}
