//! `poppy-server`: the REST API, with an in-process worker by default.

// mimalloc: the request path allocates many small, short-lived objects; the
// system allocator spent a fifth of a list request in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use poppy::adapters::Registry;
use poppy::config::Config;
use tracing::{error, info};

/// Poppy CDN-as-a-Service API server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on [default: 127.0.0.1:8888].
    #[arg(long, env = "POPPY_LISTEN")]
    listen: Option<SocketAddr>,
    /// Directory of the embedded database [default: ./poppy-data].
    #[arg(long, env = "POPPY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, env = "POPPY_CONFIG")]
    config: Option<PathBuf>,
    /// Do not run a worker in this process (run `poppy-worker`s instead).
    #[arg(long)]
    no_worker: bool,
    /// Validate the configuration (parse it, check it, build every driver
    /// with this build's features, the database in a temporary directory),
    /// print what would run and exit: 0 if valid, 2 otherwise.
    #[arg(long, conflicts_with = "print_default_config")]
    check_config: bool,
    /// Print the default configuration, commented, and exit.
    #[arg(long)]
    print_default_config: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_default_config {
        print!("{}", poppy::default_config::DEFAULT_CONFIG_TOML);
        return ExitCode::SUCCESS;
    }
    let mut config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("poppy-server: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = config.apply_env() {
        eprintln!("poppy-server: {e}");
        return ExitCode::from(2);
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if args.no_worker {
        config.server.worker = false;
    }
    if args.check_config {
        return match poppy::check(&config, &Registry::builtin()).await {
            Ok(plan) => {
                println!("{plan}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("poppy-server: check failed: {e}");
                ExitCode::from(2)
            }
        };
    }
    poppy::telemetry::init(&config.log);

    let poppy = match poppy::assemble(&config, &Registry::builtin()).await {
        Ok(poppy) => poppy,
        Err(e) => {
            error!(error = %e, "cannot start");
            eprintln!("poppy-server: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.server.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "poppy-server: cannot listen on {}: {e}",
                config.server.listen
            );
            return ExitCode::from(2);
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| config.server.listen.to_string());
    info!(worker = config.server.worker, data_dir = %config.data_dir.display(), "listening on http://{addr}");
    match poppy.serve(listener, poppy::http::shutdown_signal()).await {
        Ok(()) => {
            info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}
