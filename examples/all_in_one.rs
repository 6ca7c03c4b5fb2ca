//! Everything in one process: Poppy with its embedded defaults (SQLite in a
//! temporary directory, in-process worker, mock provider, default DNS) on a
//! loopback port, driven through its REST API like any client would.
//!
//! ```sh
//! cargo run --example all_in_one
//! ```

use std::time::Duration;

use poppy::adapters::Registry;
use poppy::config::Config;
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let config = Config {
        data_dir: data.path().to_owned(),
        ..Config::default()
    };
    let poppy = poppy::assemble(&config, &Registry::builtin()).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/v1.0", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        poppy
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
    });
    println!("Poppy is serving {base}");

    let http = reqwest::Client::new();
    let created = http
        .post(format!("{base}/services"))
        .header("X-Project-ID", "demo")
        .json(&json!({
            "name": "my website",
            "domains": [{"domain": "www.example-shop.com"}],
            "origins": [{"origin": "origin.example-shop.com"}],
            "flavor_id": "standard"
        }))
        .send()
        .await?;
    let location = created
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Location header")?
        .to_owned();
    println!(
        "POST /services -> {} (Location: {location})",
        created.status()
    );

    // Poll until the worker has deployed it.
    let mut service = Value::Null;
    for _ in 0..200 {
        service = http
            .get(&location)
            .header("X-Project-ID", "demo")
            .send()
            .await?
            .json()
            .await?;
        if service["status"] != "create_in_progress" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    println!("status: {}", service["status"]);
    for link in service["links"].as_array().into_iter().flatten() {
        if link["rel"] == "access_url" {
            println!("CNAME www.example-shop.com to {}", link["href"]);
        }
    }

    let _ = stop.send(());
    server.await??;
    Ok(())
}
