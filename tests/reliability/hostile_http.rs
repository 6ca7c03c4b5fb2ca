//! Hostile clients against a real server on loopback: oversized and
//! endless bodies, deep nesting, JSON and XML bombs, header floods and
//! slow clients are answered with a 4xx or disconnected, within limits,
//! and the server keeps serving.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{domain, project, service_body, Assembled};

/// Longest wait for a server's reaction in these tests; generous, since
/// the limits under test are far shorter.
const BOUND: Duration = Duration::from_secs(20);

/// A server with short header and request timeouts.
async fn server() -> Assembled {
    Assembled::start(true, |config| {
        config.server.header_read_timeout_ms = 500;
        config.server.request_timeout_secs = 1;
    })
    .await
}

/// What a raw connection got back before the server closed it.
#[derive(Debug)]
struct Raw {
    /// Everything read, as text.
    text: String,
    /// The server closed (EOF or reset) within [`BOUND`].
    closed: bool,
}

impl Raw {
    fn status(&self) -> Option<u16> {
        self.text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
    }
}

/// Reads until the server closes the connection, or [`BOUND`] passes.
async fn read_all(stream: &mut TcpStream) -> Raw {
    let mut bytes = Vec::new();
    let mut buf = [0_u8; 8192];
    let closed = tokio::time::timeout(BOUND, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    Raw {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        closed,
    }
}

/// Sends `request` (ignoring write errors: the server may answer and close
/// before it has read everything) and reads the answer.
async fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.split();
    let write = async {
        let _ = writer.write_all(request).await;
    };
    let read = async {
        let mut bytes = Vec::new();
        let mut buf = [0_u8; 8192];
        let closed = tokio::time::timeout(BOUND, async {
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => bytes.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await
        .is_ok();
        Raw {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            closed,
        }
    };
    let ((), answer) = tokio::join!(write, read);
    answer
}

/// A request with `Connection: close`, so the server closes after answering.
fn request(method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Project-ID: hostile\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn json_request(body: &[u8]) -> Vec<u8> {
    request(
        "POST",
        "/v1.0/services",
        &[
            ("Content-Type", "application/json".to_owned()),
            ("Content-Length", body.len().to_string()),
        ],
        body,
    )
}

/// The server still serves normal requests.
async fn still_serving(server: &Assembled) {
    let p = project();
    let id = server
        .client
        .create(&p, &service_body("after", &domain()))
        .await;
    let body = server.client.settled(&p, &id).await.expect("the service");
    assert_eq!(body["status"], "deployed");
}

#[tokio::test]
async fn oversized_bodies_are_413_whether_declared_or_chunked() {
    let server = server().await;
    let big = vec![b' '; 2 * 1024 * 1024];
    let declared = raw(server.addr, &json_request(&big)).await;
    assert_eq!(declared.status(), Some(413), "{declared:?}");

    // Chunked, no length given: refused once the limit is crossed.
    let mut chunked = request(
        "POST",
        "/v1.0/services",
        &[
            ("Content-Type", "application/json".to_owned()),
            ("Transfer-Encoding", "chunked".to_owned()),
        ],
        b"",
    );
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..32 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let streamed = raw(server.addr, &chunked).await;
    assert_eq!(streamed.status(), Some(413), "{streamed:?}");
    still_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn deep_nesting_is_400_not_a_crash() {
    let server = server().await;
    // Far deeper than any parser's recursion limit.
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let depth = 100_000;
        let body = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let answer = raw(server.addr, &json_request(body.as_bytes())).await;
        assert_eq!(
            answer.status(),
            Some(400),
            "{open} x {depth}: {:?}",
            answer.text.get(..200)
        );
    }

    // Deep, but within the parser's limit, in a field and in a patch.
    let mut nested = json!("x");
    for _ in 0..120 {
        nested = json!([nested]);
    }
    let p = project();
    let mut body = service_body("deep", &domain());
    body["name"] = nested.clone();
    let resp = server.client.post(&p, "/v1.0/services", &body).await;
    assert_eq!(resp.status, 400, "{resp}");
    let id = server
        .client
        .create(&p, &service_body("deep", &domain()))
        .await;
    server.client.settled(&p, &id).await;
    for patch in [
        json!([{"op": "replace", "path": "/name", "value": nested}]),
        json!([{"op": "add", "path": "/origins/0/rules/-", "value": nested}]),
    ] {
        let resp = server
            .client
            .patch(&p, &format!("/v1.0/services/{id}"), &patch)
            .await;
        assert_eq!(resp.status, 400, "{resp}");
    }
    still_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn json_bombs_are_bounded() {
    let server = server().await;
    // A million keys do not fit under the body limit.
    let mut keys = String::from("{");
    for i in 0..1_000_000 {
        keys.push_str(&format!("\"k{i}\":0,"));
    }
    keys.push_str("\"last\":0}");
    let answer = raw(server.addr, &json_request(keys.as_bytes())).await;
    assert_eq!(answer.status(), Some(413), "{:?}", answer.text.get(..200));

    // As many keys as fit: every one is an unknown field, refused at once.
    let mut keys = String::from("{");
    for i in 0..50_000 {
        keys.push_str(&format!("\"k{i}\":0,"));
    }
    keys.push_str("\"last\":0}");
    let answer = raw(server.addr, &json_request(keys.as_bytes())).await;
    assert_eq!(answer.status(), Some(400), "{:?}", answer.text.get(..200));
    assert!(
        answer.text.len() < 64 * 1024,
        "a {} byte body got a {} byte answer",
        keys.len(),
        answer.text.len()
    );

    // Numbers no float holds, and numbers of half a million digits.
    for number in [
        "1e999999".to_owned(),
        "9".repeat(500_000),
        format!("-0.{}1", "0".repeat(500_000)),
    ] {
        let body = format!("{{\"name\": {number}}}");
        let answer = raw(server.addr, &json_request(body.as_bytes())).await;
        assert_eq!(answer.status(), Some(400), "{:?}", answer.text.get(..200));
    }

    // A string as long as the limit allows, and a million-element array.
    let p = project();
    let mut body = service_body("x", &domain());
    body["name"] = json!("n".repeat(900_000));
    let resp = server.client.post(&p, "/v1.0/services", &body).await;
    assert_eq!(resp.status, 400, "{}", resp.status);
    let array = format!("{{\"domains\": [{}0]}}", "0,".repeat(400_000));
    let answer = raw(server.addr, &json_request(array.as_bytes())).await;
    assert_eq!(answer.status(), Some(400), "{:?}", answer.text.get(..200));
    assert!(
        answer.text.len() < 64 * 1024,
        "a {} byte body got a {} byte answer",
        array.len(),
        answer.text.len()
    );

    // XML (a billion-laughs document) is not parsed at all.
    let xml = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#;
    let answer = raw(
        server.addr,
        &request(
            "POST",
            "/v1.0/services",
            &[
                ("Content-Type", "application/xml".to_owned()),
                ("Content-Length", xml.len().to_string()),
            ],
            xml,
        ),
    )
    .await;
    assert_eq!(answer.status(), Some(415), "{answer:?}");
    still_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn header_floods_get_431_or_a_closed_connection() {
    let server = server().await;
    let many: Vec<(&str, String)> = (0..500).map(|i| ("X-Flood", format!("v{i}"))).collect();
    let answer = raw(server.addr, &request("GET", "/v1.0/ping", &many, b"")).await;
    assert_eq!(answer.status(), Some(431), "{answer:?}");
    assert!(answer.closed, "the connection is closed after a 431");

    let huge = [("X-Huge", "h".repeat(1024 * 1024))];
    let answer = raw(server.addr, &request("GET", "/v1.0/ping", &huge, b"")).await;
    assert!(
        answer.closed && matches!(answer.status(), Some(431) | None),
        "a 1 MiB header is refused: {:?}",
        answer.text.get(..200)
    );

    // Just under the limits is served.
    let fine: Vec<(&str, String)> = (0..50).map(|i| ("X-Fine", format!("v{i}"))).collect();
    let answer = raw(server.addr, &request("GET", "/v1.0/ping", &fine, b"")).await;
    assert_eq!(answer.status(), Some(204), "{answer:?}");
    still_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn a_slowloris_client_is_disconnected_by_the_header_timeout() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /v1.0/ping HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .expect("the request line");
    // One header byte every 50 ms: 2000 bytes would take 100 s; the
    // server's 500 ms header timeout must cut it off long before.
    let trickle = "X-Slow: ".to_owned() + &"s".repeat(2000);
    let mut sent = 0;
    let mut cut_off = false;
    for byte in trickle.bytes() {
        if stream.write_all(&[byte]).await.is_err() {
            cut_off = true;
            break;
        }
        sent += 1;
        // A closed connection shows as EOF on a read that does not wait.
        let mut buf = [0_u8; 256];
        match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut_off = true;
                break;
            }
            Ok(Ok(_)) => {
                // An error answer (408) before closing is fine too.
                cut_off = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(
        cut_off,
        "the slow client was never disconnected ({sent} bytes sent)"
    );
    assert!(sent < trickle.len(), "sent everything: {sent}");

    // A connection that sends nothing at all is closed too.
    let mut idle = TcpStream::connect(server.addr).await.expect("connect");
    let answer = read_all(&mut idle).await;
    assert!(answer.closed, "an idle connection stays open: {answer:?}");
    still_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_never_comes_is_timed_out() {
    let server = server().await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let head = request(
        "POST",
        "/v1.0/services",
        &[
            ("Content-Type", "application/json".to_owned()),
            ("Content-Length", "100".to_owned()),
        ],
        b"{\"name\":",
    );
    stream.write_all(&head).await.expect("the head");
    let answer = read_all(&mut stream).await;
    assert!(answer.closed, "the connection was held open: {answer:?}");
    assert_eq!(answer.status(), Some(504), "{answer:?}");
    still_serving(&server).await;
    server.stop().await;
}

/// An embedder serving its own app (Poppy nested under `/cdn`) with
/// `serve_router` gets the same connection limits.
#[tokio::test]
async fn an_embedders_app_served_with_serve_router_gets_the_limits() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = poppy::config::Config {
        data_dir: dir.path().to_owned(),
        ..poppy::config::Config::default()
    };
    let poppy = poppy::assemble(&config, &poppy::adapters::Registry::builtin())
        .await
        .expect("assemble");
    let http = poppy::http::HttpConfig {
        header_read_timeout: Duration::from_millis(300),
        max_headers: 20,
        ..poppy.http_config()
    };
    let app = axum::Router::new().nest("/cdn", poppy::http::router(poppy.api(), http.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        poppy::http::serve_router(listener, app, &http, async {
            let _ = stopped.await;
        })
        .await
    });

    let fine = raw(addr, &request("GET", "/cdn/v1.0/ping", &[], b"")).await;
    assert_eq!(fine.status(), Some(204), "{fine:?}");
    let many: Vec<(&str, String)> = (0..40).map(|i| ("X-Flood", format!("v{i}"))).collect();
    let flood = raw(addr, &request("GET", "/cdn/v1.0/ping", &many, b"")).await;
    assert_eq!(flood.status(), Some(431), "{flood:?}");
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    assert!(
        read_all(&mut idle).await.closed,
        "an idle connection stays open"
    );

    let _ = stop.send(());
    tokio::time::timeout(BOUND, served)
        .await
        .expect("stops")
        .expect("no panic")
        .expect("no I/O error");
}
