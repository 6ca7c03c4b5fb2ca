//! Poppy inside your own axum application: its REST API mounted under
//! `/cdn`, next to your own routes, with its worker running in the same
//! process.
//!
//! ```sh
//! cargo run --example embed_in_axum
//! curl -s http://127.0.0.1:3000/cdn/v1.0/flavors -H 'X-Project-ID: me'
//! ```

use axum::routing::get;
use axum::Router;
use poppy::adapters::Registry;
use poppy::config::Config;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config {
        data_dir: std::env::temp_dir().join("poppy-embed-example"),
        ..Config::default()
    };
    let poppy = poppy::assemble(&config, &Registry::builtin()).await?;

    // Your application's own routes, and Poppy's API under a prefix. Links
    // and Location headers Poppy returns include the prefix.
    let app = Router::new()
        .route("/", get(|| async { "my application" }))
        .nest(
            "/cdn",
            poppy::http::router(poppy.api(), poppy.http_config()),
        );

    // Poppy's worker, stopped together with the server.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = poppy.runner();
    let mut worker_stop = stop_rx.clone();
    let worker = tokio::spawn(async move {
        runner
            .run(async move {
                let _ = worker_stop.wait_for(|stop| *stop).await;
            })
            .await
    });

    let addr = std::env::var("EXAMPLE_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr} (Poppy under /cdn/v1.0); Ctrl-C stops");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            poppy::http::shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await?;
    worker.await?;
    Ok(())
}
