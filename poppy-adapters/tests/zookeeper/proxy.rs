//! A loopback TCP proxy in front of ZooKeeper that the tests can break:
//! cut every connection, refuse new ones (the ensemble is "down"), or let
//! the server apply a write but swallow its answer (and every answer after
//! it), which is a connection lost at the worst moment.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Forward everything, but from the first write request on (create,
    /// delete, setData, multi) drop every answer.
    SwallowFromWrite,
    /// Refuse connections.
    Down,
}

/// ZooKeeper op codes of writes.
const WRITE_OPS: [i32; 5] = [1, 2, 5, 14, 15];

struct Shared {
    mode: watch::Sender<Mode>,
    /// Bumped to close every open connection.
    cut: watch::Sender<u64>,
    /// Set once a write passed in `SwallowFromWrite` mode.
    swallowing: AtomicBool,
}

pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.cut.send_modify(|n| *n += 1);
    }
}

impl Proxy {
    /// A proxy on an ephemeral loopback port forwarding to `upstream`.
    pub async fn start(upstream: &str) -> Self {
        let upstream: SocketAddr = upstream.parse().expect("POPPY_TEST_ZOOKEEPER is host:port");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            mode: watch::Sender::new(Mode::Pass),
            cut: watch::Sender::new(0),
            swallowing: AtomicBool::new(false),
        });
        let accept = {
            let shared = shared.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    if *shared.mode.borrow() == Mode::Down {
                        drop(client);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        continue;
                    };
                    tokio::spawn(relay(client, server, shared.clone()));
                }
            })
        };
        Self {
            addr,
            shared,
            accept,
        }
    }

    /// `host:port` to give the board.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Switches mode. Leaving `SwallowFromWrite` or entering `Down` also
    /// cuts every connection (a half-swallowed stream is garbage).
    pub fn set(&self, mode: Mode) {
        let before = self.shared.mode.send_replace(mode);
        self.shared.swallowing.store(false, Ordering::SeqCst);
        if mode == Mode::Down || before == Mode::SwallowFromWrite {
            self.cut_all();
        }
    }

    /// Closes every open connection (the client reconnects through the proxy).
    pub fn cut_all(&self) {
        self.shared.cut.send_modify(|n| *n += 1);
    }
}

async fn relay(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let mut cut = shared.cut.subscribe();
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut frames = Frames::default();
        loop {
            match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let wrote = frames.feed(&buf[..n]);
                    if wrote && *shared.mode.borrow() == Mode::SwallowFromWrite {
                        shared.swallowing.store(true, Ordering::SeqCst);
                    }
                    if server_write.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if shared.swallowing.load(Ordering::SeqCst) {
                        continue;
                    }
                    if client_write.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        () = up => {}
        () = down => {}
        _ = cut.changed() => {}
    }
}

/// Splits the client's byte stream into ZooKeeper frames (4-byte length,
/// then the body; after the connect request each body starts with the
/// request header `xid: i32, type: i32`).
#[derive(Default)]
struct Frames {
    pending: Vec<u8>,
    connected: bool,
}

impl Frames {
    /// Adds bytes; whether a complete write request went by.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        self.pending.extend_from_slice(bytes);
        let mut saw_write = false;
        while let Some(len) = self.pending.get(..4) {
            let len =
                usize::try_from(i32::from_be_bytes([len[0], len[1], len[2], len[3]])).unwrap_or(0);
            if self.pending.len() < 4 + len {
                break;
            }
            let body: Vec<u8> = self.pending.drain(..4 + len).skip(4).collect();
            if !self.connected {
                self.connected = true;
                continue;
            }
            if let Some(op) = body.get(4..8) {
                let op = i32::from_be_bytes([op[0], op[1], op[2], op[3]]);
                saw_write |= WRITE_OPS.contains(&op);
            }
        }
        saw_write
    }
}
