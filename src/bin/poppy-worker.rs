//! `poppy-worker`: runs provisioning jobs against shared storage, for
//! deployments with several API servers and workers.

// mimalloc: the request path allocates many small, short-lived objects; the
// system allocator spent a fifth of a list request in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use poppy::adapters::Registry;
use poppy::config::Config;
use tracing::{error, info};

/// Poppy job worker.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (the same one the servers use).
    #[arg(long, env = "POPPY_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the embedded database [default: ./poppy-data].
    #[arg(long, env = "POPPY_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("poppy-worker: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = config.apply_env() {
        eprintln!("poppy-worker: {e}");
        return ExitCode::from(2);
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    poppy::telemetry::init(&config.log);
    let poppy = match poppy::assemble(&config, &Registry::builtin()).await {
        Ok(poppy) => poppy,
        Err(e) => {
            error!(error = %e, "cannot start");
            eprintln!("poppy-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let runner = poppy.runner();
    info!(worker = %runner.config().worker_id, "worker running");
    runner.run(poppy::http::shutdown_signal()).await;
    ExitCode::SUCCESS
}
