//! `poppy`, the command-line client of the REST API.
//!
//! The binary `src/bin/poppy.rs` calls [`main`]; everything else is here so
//! the argument parser and the exit codes are documented in one place.

mod client;
mod output;
mod wait;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use serde_json::Value;

pub use client::{CliError, Client};

/// Exit codes, as documented in `--help`.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Anything else: a local file that cannot be read, a timeout while
    /// waiting.
    pub const OTHER: u8 = 1;
    /// Wrong usage: bad arguments, no project id, an invalid config file.
    pub const USAGE: u8 = 2;
    /// The server refused the request (4xx).
    pub const CLIENT_ERROR: u8 = 3;
    /// The server failed (5xx) or could not be reached.
    pub const SERVER_ERROR: u8 = 4;
    /// `--wait`: the service ended `failed`.
    pub const FAILED: u8 = 5;
}

const AFTER_HELP: &str = "\
Configuration (first found wins): flags (--api-url, --project, --output), then
the environment (POPPY_URL, POPPY_PROJECT_ID, POPPY_OUTPUT), then the config file
(--config, POPPY_CLI_CONFIG, or ~/.config/poppy/cli.toml) with keys `url`,
`project_id` and `output`.

Exit codes:
  0  success
  1  other error (unreadable input file, timed out waiting)
  2  usage error (bad arguments, no project id, invalid config file)
  3  the server refused the request (HTTP 4xx)
  4  the server failed (HTTP 5xx) or could not be reached
  5  --wait: the service ended `failed`";

/// Command-line client of the Poppy CDN API.
#[derive(Debug, Parser)]
#[command(name = "poppy", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// Base URL of the API [default: http://127.0.0.1:8888]. (Not `--url`:
    /// that is the URL path `service purge` purges.)
    #[arg(long = "api-url", global = true, env = "POPPY_URL")]
    api_url: Option<String>,
    /// Project (tenant) id sent as X-Project-ID.
    #[arg(long, global = true, env = "POPPY_PROJECT_ID")]
    project: Option<String>,
    /// Config file [default: ~/.config/poppy/cli.toml].
    #[arg(long, global = true, env = "POPPY_CLI_CONFIG")]
    config: Option<PathBuf>,
    /// Output format [default: table].
    #[arg(long, short, global = true, env = "POPPY_OUTPUT", value_enum)]
    output: Option<Output>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// The server's JSON, as is.
    Json,
    /// Aligned columns for people.
    Table,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// CDN services of the project.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Flavors (which providers a service deploys to).
    #[command(subcommand)]
    Flavor(FlavorCommand),
}

#[derive(Debug, Args)]
struct WaitArgs {
    /// Wait until the service is deployed, failed or gone, showing progress.
    #[arg(long)]
    wait: bool,
    /// Longest wait, in seconds.
    #[arg(long, default_value_t = 1800, requires = "wait")]
    timeout: u64,
    /// Pause between two polls, in milliseconds.
    #[arg(long, default_value_t = 2000, hide = true)]
    poll_ms: u64,
}

impl WaitArgs {
    fn wait(&self) -> Option<wait::Wait> {
        self.wait.then(|| wait::Wait {
            timeout: Duration::from_secs(self.timeout),
            poll: Duration::from_millis(self.poll_ms.max(10)),
        })
    }
}

#[derive(Debug, Subcommand)]
enum ServiceCommand {
    /// Create a service from a JSON file (`-` for stdin).
    Create {
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List the project's services.
    List {
        /// Page size.
        #[arg(long)]
        limit: Option<u32>,
        /// Start after this service id.
        #[arg(long)]
        marker: Option<String>,
    },
    /// Show one service.
    Get { id: String },
    /// Apply a JSON Patch (RFC 6902) file to a service.
    Patch {
        id: String,
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Delete a service.
    Delete {
        id: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Purge cached content of a service.
    Purge {
        id: String,
        /// The URL path to purge.
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        url: Option<String>,
        /// Purge everything.
        #[arg(long)]
        all: bool,
        /// Mark content stale instead of removing it.
        #[arg(long)]
        soft: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

#[derive(Debug, Subcommand)]
enum FlavorCommand {
    /// List flavors.
    List,
    /// Show one flavor.
    Get { id: String },
    /// Create a flavor from a JSON file (`-` for stdin).
    Create {
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Delete a flavor.
    Delete { id: String },
}

/// `~/.config/poppy/cli.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    url: Option<String>,
    project_id: Option<String>,
    output: Option<Output>,
}

/// Settings after flags, environment and config file are merged.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL of the API.
    pub url: String,
    /// Sent as `X-Project-ID`.
    pub project: String,
    pub output: Output,
}

fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("poppy").join("cli.toml"))
}

fn read_config(path: &Path, explicit: bool) -> Result<FileConfig, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(FileConfig::default())
        }
        Err(e) => {
            return Err(CliError::Usage(format!(
                "cannot read config file {}: {e}",
                path.display()
            )))
        }
    };
    toml::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "config file {} is invalid: {}",
            path.display(),
            e.message()
        ))
    })
}

fn settings(global: &Global) -> Result<Settings, CliError> {
    let file = match &global.config {
        Some(path) => read_config(path, true)?,
        None => match default_config_path() {
            Some(path) => read_config(&path, false)?,
            None => FileConfig::default(),
        },
    };
    // An empty flag or variable counts as unset.
    let given = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
    let url = given(&global.api_url)
        .or(file.url)
        .unwrap_or_else(|| "http://127.0.0.1:8888".to_owned());
    let project = given(&global.project).or(file.project_id).ok_or_else(|| {
        CliError::Usage(
            "no project id: pass --project, set POPPY_PROJECT_ID, or put project_id in \
             ~/.config/poppy/cli.toml"
                .to_owned(),
        )
    })?;
    let output = global.output.or(file.output).unwrap_or(Output::Table);
    Ok(Settings {
        url,
        project,
        output,
    })
}

/// Reads a JSON document from `path` (`-` is stdin).
fn read_json(path: &Path) -> Result<Value, CliError> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| CliError::Other(format!("cannot read stdin: {e}")))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::Other(format!("cannot read {}: {e}", path.display())))?
    };
    serde_json::from_str(&text)
        .map_err(|e| CliError::Other(format!("{} is not JSON: {e}", path.display())))
}

/// Parses the arguments, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("poppy: cannot start the async runtime: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("poppy: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs a parsed command; `Ok` carries the exit code of a command that ran
/// (0, or 5 for a service that ended failed).
pub async fn run(cli: Cli) -> Result<u8, CliError> {
    let settings = settings(&cli.global)?;
    let client = Client::new(&settings.url, &settings.project)?;
    let out = output::Printer::new(settings.output);
    match cli.command {
        Command::Service(command) => service(&client, &out, command).await,
        Command::Flavor(command) => flavor(&client, &out, command).await,
    }
}

async fn service(
    client: &Client,
    out: &output::Printer,
    command: ServiceCommand,
) -> Result<u8, CliError> {
    match command {
        ServiceCommand::Create { file, wait } => {
            let body = read_json(&file)?;
            let id = client.create_service(&body).await?;
            finish_write(client, out, &id, "create", wait.wait()).await
        }
        ServiceCommand::List { limit, marker } => {
            let page = client.list_services(limit, marker.as_deref()).await?;
            out.services(&page);
            Ok(exit::OK)
        }
        ServiceCommand::Get { id } => {
            let service = client.get_service(&id).await?;
            out.service(&service);
            Ok(exit::OK)
        }
        ServiceCommand::Patch { id, file, wait } => {
            let patch = read_json(&file)?;
            client.patch_service(&id, &patch).await?;
            finish_write(client, out, &id, "update", wait.wait()).await
        }
        ServiceCommand::Delete { id, wait } => {
            client.delete_service(&id).await?;
            finish_write(client, out, &id, "delete", wait.wait()).await
        }
        ServiceCommand::Purge {
            id,
            url,
            all,
            soft,
            wait,
        } => {
            client
                .purge_service(&id, url.as_deref(), all, !soft)
                .await?;
            finish_write(client, out, &id, "purge", wait.wait()).await
        }
    }
}

/// After an accepted write: print the acceptance, or wait for the outcome
/// and print the service as it ended.
async fn finish_write(
    client: &Client,
    out: &output::Printer,
    id: &str,
    action: &'static str,
    wait: Option<wait::Wait>,
) -> Result<u8, CliError> {
    let Some(wait) = wait else {
        out.accepted(id, action);
        return Ok(exit::OK);
    };
    match wait::until_settled(client, id, action, &wait).await? {
        wait::Settled::Gone => {
            out.gone(id);
            Ok(exit::OK)
        }
        wait::Settled::Service(service) => {
            out.service(&service);
            let failed = service.get("status").and_then(Value::as_str) == Some("failed");
            Ok(if failed { exit::FAILED } else { exit::OK })
        }
    }
}

async fn flavor(
    client: &Client,
    out: &output::Printer,
    command: FlavorCommand,
) -> Result<u8, CliError> {
    match command {
        FlavorCommand::List => out.flavors(&client.list_flavors().await?),
        FlavorCommand::Get { id } => out.flavor(&client.get_flavor(&id).await?),
        FlavorCommand::Create { file } => {
            let body = read_json(&file)?;
            out.flavor(&client.create_flavor(&body).await?);
        }
        FlavorCommand::Delete { id } => {
            client.delete_flavor(&id).await?;
            out.flavor_deleted(&id);
        }
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_parser_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn purge_needs_a_url_or_all_but_not_both() {
        let parse = |args: &[&str]| Cli::try_parse_from(args);
        assert!(parse(&["poppy", "service", "purge", "x"]).is_err());
        assert!(parse(&["poppy", "service", "purge", "x", "--url", "/a", "--all"]).is_err());
        assert!(parse(&["poppy", "service", "purge", "x", "--all", "--soft"]).is_ok());
        // The API's URL is `--api-url`, so it never fills purge's `--url`.
        let cli = parse(&[
            "poppy",
            "--api-url",
            "http://h",
            "service",
            "purge",
            "x",
            "--all",
        ])
        .unwrap();
        match cli.command {
            Command::Service(ServiceCommand::Purge { url, all, .. }) => {
                assert_eq!((url, all), (None, true));
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
