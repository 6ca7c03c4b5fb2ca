//! `--wait`: poll a service until its write has settled, showing a spinner
//! with the state of each of its providers.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::client::{CliError, Client};

/// How long and how often to poll.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    pub(crate) timeout: Duration,
    pub(crate) poll: Duration,
}

/// How a wait ended.
#[derive(Debug)]
pub(crate) enum Settled {
    /// The service is gone (a delete finished).
    Gone,
    /// The service as it settled (`deployed`, `failed` or `disabled`).
    Service(Value),
}

fn status(service: &Value) -> &str {
    service.get("status").and_then(Value::as_str).unwrap_or("")
}

/// Whether the service's state ends the wait for `action`. A delete ends
/// when the service is gone or the delete failed; the other writes when no
/// job is in progress any more.
fn settled(service: &Value, action: &str) -> bool {
    match (action, status(service)) {
        ("delete", s) => s == "failed",
        (_, s) => matches!(s, "deployed" | "failed" | "disabled"),
    }
}

fn errors(service: &Value) -> Vec<&str> {
    service
        .get("errors")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

fn access_urls(service: &Value) -> usize {
    service
        .get("links")
        .and_then(Value::as_array)
        .map_or(0, |links| {
            links
                .iter()
                .filter(|l| l.get("rel").and_then(Value::as_str) == Some("access_url"))
                .count()
        })
}

/// One line: the service status and what each provider is doing, as far as
/// the API shows it (the status, the access URLs and the error messages).
pub(crate) fn describe(service: &Value, providers: &[String]) -> String {
    let status = status(service);
    let errors = errors(service);
    let mut parts = vec![status.to_owned()];
    for provider in providers {
        let state = match status {
            "deployed" | "disabled" => {
                let urls = access_urls(service);
                format!(
                    "deployed ({urls} access URL{})",
                    if urls == 1 { "" } else { "s" }
                )
            }
            "failed" => {
                let own = errors
                    .iter()
                    .find(|e| e.to_lowercase().contains(&provider.to_lowercase()))
                    .or_else(|| (providers.len() == 1).then(|| errors.first()).flatten());
                match own {
                    Some(message) => format!("failed: {message}"),
                    None => "failed".to_owned(),
                }
            }
            "delete_in_progress" => "deleting".to_owned(),
            "update_in_progress" => "updating".to_owned(),
            _ => "deploying".to_owned(),
        };
        parts.push(format!("{provider}: {state}"));
    }
    if providers.is_empty() {
        parts.extend(errors.iter().map(|e| format!("error: {e}")));
    }
    parts.join(" · ")
}

/// The provider names of the service's flavor; none when the flavor cannot
/// be read (deleted meanwhile), which only makes the display plainer.
async fn providers(client: &Client, service: &Value) -> Vec<String> {
    let Some(flavor_id) = service.get("flavor_id").and_then(Value::as_str) else {
        return Vec::new();
    };
    match client.get_flavor(flavor_id).await {
        Ok(flavor) => flavor
            .get("providers")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|p| p.get("provider").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Polls service `id` until its `action` (create, update, delete, purge)
/// settled, showing progress on stderr: a spinner on a terminal, one line
/// per change otherwise.
pub(crate) async fn until_settled(
    client: &Client,
    id: &str,
    action: &str,
    wait: &Wait,
) -> Result<Settled, CliError> {
    let started = Instant::now();
    let spinner = ProgressBar::new_spinner();
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.enable_steady_tick(Duration::from_millis(120));
    let attended = !spinner.is_hidden();
    let mut names: Option<Vec<String>> = None;
    let mut last_line = String::new();
    let result = loop {
        let service = match client.find_service(id).await {
            Ok(Some(service)) => service,
            Ok(None) => break Ok(Settled::Gone),
            Err(e) => break Err(e),
        };
        if names.is_none() {
            names = Some(providers(client, &service).await);
        }
        let line = format!(
            "service {id}: {}",
            describe(&service, names.as_deref().unwrap_or_default())
        );
        if line != last_line {
            if attended {
                spinner.set_message(line.clone());
            } else {
                eprintln!("{line}");
            }
            last_line = line;
        }
        if settled(&service, action) {
            break Ok(Settled::Service(service));
        }
        if started.elapsed() >= wait.timeout {
            break Err(CliError::Other(format!(
                "timed out after {}s waiting for service {id} to settle (last: {})",
                wait.timeout.as_secs(),
                status(&service)
            )));
        }
        tokio::time::sleep(wait.poll).await;
    };
    spinner.finish_and_clear();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_provider_shows_its_state() {
        let names = vec!["mock".to_owned(), "akamai".to_owned()];
        let deploying = json!({"status": "create_in_progress", "errors": [], "links": []});
        assert_eq!(
            describe(&deploying, &names),
            "create_in_progress · mock: deploying · akamai: deploying"
        );
        let failed =
            json!({"status": "failed", "errors": [{"message": "akamai refused: bad rule"}]});
        assert_eq!(
            describe(&failed, &names),
            "failed · mock: failed · akamai: failed: akamai refused: bad rule"
        );
        let deployed = json!({"status": "deployed", "links": [{"href": "a", "rel": "access_url"}]});
        assert_eq!(
            describe(&deployed, &names[..1]),
            "deployed · mock: deployed (1 access URL)"
        );
    }

    #[test]
    fn deletes_settle_only_when_failed() {
        assert!(!settled(&json!({"status": "deployed"}), "delete"));
        assert!(settled(&json!({"status": "failed"}), "delete"));
        assert!(settled(&json!({"status": "deployed"}), "create"));
        assert!(!settled(&json!({"status": "update_in_progress"}), "update"));
    }
}
