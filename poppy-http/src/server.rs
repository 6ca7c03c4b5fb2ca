//! The accept loop behind [`crate::serve`]: hyper's HTTP/1 connection
//! builder with the limits `axum::serve` does not expose, so slow or
//! flooding clients are bounded:
//!
//! - request line + headers must arrive within
//!   [`HttpConfig::header_read_timeout`]; the same timer closes a kept-alive
//!   connection that sends nothing (slowloris, idle sockets);
//! - more than [`HttpConfig::max_headers`] fields, or more than
//!   [`HttpConfig::max_header_bytes`] bytes of them → 431, connection closed;
//! - a body that does not arrive is bounded by the request timeout of the
//!   middleware stack (504).
//!
//! Shutdown: stop accepting, let every connection finish the request it is
//! serving (idle ones close at once), then return.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::HttpConfig;

/// Pause after an accept error that is not about one connection (out of
/// file descriptors): retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    config: &HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_headers(config.max_headers.max(1))
        .max_header_size(config.max_header_bytes.max(1));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _remote)) => stream,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                tracing::error!(%error, "accepting a connection failed; pausing");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        // A response hyper writes in more than one piece (a body of more
        // than a few KiB) would otherwise wait for the client's delayed ACK
        // (Nagle): tens of milliseconds on a kept-alive connection.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(
            app.clone()
                .map_request(|request: Request<Incoming>| request.map(Body::new)),
        );
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Header timeouts, resets and malformed requests end up
                // here; they concern one client only.
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(
        connections = graceful.count(),
        "shutting down: no new connections; finishing the requests in flight"
    );
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one incoming connection (it went away before it was
/// accepted), after which accepting goes on at once.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
