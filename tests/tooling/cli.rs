//! The `poppy` CLI as a real process against a real server.

use serde_json::{json, Value};

use crate::support::{project, run, service_body, Server};

const POPPY: &str = env!("CARGO_BIN_EXE_poppy");

/// Runs `poppy` against `server` as `project`, no config file, fast polls.
async fn poppy(url: &str, project: &str, args: &[&str]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut list: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    if list.iter().any(|a| a == "--wait") {
        list.extend([
            "--poll-ms".to_owned(),
            "20".to_owned(),
            "--timeout".to_owned(),
            "60".to_owned(),
        ]);
    }
    let env = vec![
        ("POPPY_URL".to_owned(), url.to_owned()),
        ("POPPY_PROJECT_ID".to_owned(), project.to_owned()),
        ("HOME".to_owned(), home.path().to_str().unwrap().to_owned()),
        (
            "XDG_CONFIG_HOME".to_owned(),
            home.path().to_str().unwrap().to_owned(),
        ),
    ];
    run(POPPY, list, env).await
}

fn write_json(dir: &tempfile::TempDir, name: &str, value: &Value) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_wait_exits_0_when_deployed_and_5_when_failed() {
    let server = Server::start().await;
    let p = project();
    let dir = tempfile::tempdir().unwrap();

    let good = write_json(&dir, "good.json", &service_body("standard"));
    let (code, stdout, stderr) = poppy(
        &server.url,
        &p,
        &[
            "service", "create", "-f", &good, "--wait", "--output", "json",
        ],
    )
    .await;
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let service: Value = serde_json::from_str(&stdout).expect("json output");
    assert_eq!(service["status"], "deployed");
    // Without a terminal the progress is one line per change on stderr.
    assert!(stderr.contains("mock: deployed"), "{stderr}");

    let bad = write_json(&dir, "bad.json", &service_body("doomed"));
    let (code, stdout, stderr) = poppy(
        &server.url,
        &p,
        &["service", "create", "-f", &bad, "--wait", "-o", "json"],
    )
    .await;
    assert_eq!(code, 5, "stdout: {stdout}\nstderr: {stderr}");
    let service: Value = serde_json::from_str(&stdout).expect("json output");
    assert_eq!(service["status"], "failed");
    assert!(stderr.contains("broken: failed"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_line_with_their_exit_code() {
    let server = Server::start().await;
    let p = project();
    let dir = tempfile::tempdir().unwrap();

    // 400: the server's message, on one line, exit 3.
    let invalid = write_json(&dir, "invalid.json", &json!({"name": "x"}));
    let (code, stdout, stderr) =
        poppy(&server.url, &p, &["service", "create", "-f", &invalid]).await;
    assert_eq!(code, 3, "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("poppy: POST /v1.0/services: 400"),
        "{stderr}"
    );
    assert!(stderr.contains("/origins"), "{stderr}");

    // 404 is a 4xx too.
    let (code, _, stderr) = poppy(
        &server.url,
        &p,
        &["service", "get", "00000000-0000-4000-8000-000000000000"],
    )
    .await;
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");

    // Nobody listening: exit 4.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (code, _, stderr) = poppy(&format!("http://{closed}"), &p, &["service", "list"]).await;
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.starts_with("poppy: cannot reach"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // Usage: exit 2 (no project id; bad arguments).
    let (code, _, stderr) = poppy(&server.url, "", &["service", "list"]).await;
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(
        POPPY,
        vec!["service".into(), "list".into()],
        vec![("HOME".into(), "/nonexistent".into())],
    )
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no project id"), "{stderr}");
    let (code, _, _) = poppy(&server.url, &p, &["service", "purge", "x"]).await;
    assert_eq!(code, 2);
    let (code, stdout, _) = run(POPPY, vec!["--help".into()], vec![]).await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("Exit codes:") && stdout.contains("5  --wait"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_through_its_life_in_table_and_json() {
    let server = Server::start().await;
    let p = project();
    let dir = tempfile::tempdir().unwrap();
    let body = service_body("standard");
    let file = write_json(&dir, "service.json", &body);

    let (code, stdout, stderr) = poppy(&server.url, &p, &["service", "create", "-f", &file]).await;
    assert_eq!(code, 0, "{stderr}");
    let id = stdout
        .strip_prefix("service ")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("unexpected output {stdout}"))
        .to_owned();
    server.wait_for(&p, &id, "deployed").await;

    let (code, stdout, _) = poppy(&server.url, &p, &["service", "list"]).await;
    assert_eq!(code, 0);
    let mut lines = stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "NAME", "STATUS", "FLAVOR", "DOMAINS"]);
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[0], id);
    assert_eq!(row[2], "deployed");

    let (code, stdout, _) = poppy(&server.url, &p, &["service", "list", "--output", "json"]).await;
    assert_eq!(code, 0);
    let page: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(page["services"][0]["id"], id.as_str());

    let (code, stdout, _) = poppy(&server.url, &p, &["service", "get", &id]).await;
    assert_eq!(code, 0);
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["status", "deployed"]),
        "{stdout}"
    );
    assert!(
        stdout.contains(body["domains"][0]["domain"].as_str().unwrap()),
        "{stdout}"
    );

    let patch = write_json(
        &dir,
        "patch.json",
        &json!([{"op": "replace", "path": "/name", "value": "renamed.example.com"}]),
    );
    let (code, stdout, stderr) = poppy(
        &server.url,
        &p,
        &[
            "service", "patch", &id, "-f", &patch, "--wait", "-o", "json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let service: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(service["name"], "renamed.example.com");
    assert_eq!(service["status"], "deployed");

    let (code, _, stderr) = poppy(
        &server.url,
        &p,
        &["service", "purge", &id, "--all", "--soft", "--wait"],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = poppy(
        &server.url,
        &p,
        &["service", "purge", &id, "--url", "/img/*"],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");

    let (code, stdout, stderr) =
        poppy(&server.url, &p, &["service", "delete", &id, "--wait"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), format!("service {id}: deleted"));
    let (code, _, _) = poppy(&server.url, &p, &["service", "get", &id]).await;
    assert_eq!(code, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flavors_and_a_config_file() {
    let server = Server::start().await;
    let p = project();
    let dir = tempfile::tempdir().unwrap();
    // The project and URL from a config file only.
    let config = dir.path().join("cli.toml");
    std::fs::write(
        &config,
        format!(
            "url = \"{}\"\nproject_id = \"{p}\"\noutput = \"json\"\n",
            server.url
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let only_config = |args: &[&str]| {
        let mut list: Vec<String> = vec!["--config".into(), config.clone()];
        list.extend(args.iter().map(|s| (*s).to_owned()));
        run(POPPY, list, vec![("HOME".into(), "/nonexistent".into())])
    };

    let (code, stdout, stderr) = only_config(&["flavor", "list"]).await;
    assert_eq!(code, 0, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> = list["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["doomed", "standard"]);

    let flavor = write_json(
        &dir,
        "flavor.json",
        &json!({"id": "extra", "providers": [{"provider": "mock",
               "links": [{"href": "http://www.mock.com", "rel": "provider_url"}]}]}),
    );
    let (code, stdout, stderr) = only_config(&["flavor", "create", "-f", &flavor]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()["id"],
        "extra"
    );
    let (code, stdout, _) = only_config(&["flavor", "get", "extra", "--output", "table"]).await;
    assert_eq!(code, 0);
    assert_eq!(stdout, "ID     PROVIDERS\nextra  mock\n");
    let (code, _, _) = only_config(&["flavor", "delete", "extra"]).await;
    assert_eq!(code, 0);
    let (code, _, stderr) = only_config(&["flavor", "get", "extra"]).await;
    assert_eq!(code, 3, "{stderr}");

    // A broken config file is a usage error.
    std::fs::write(dir.path().join("bad.toml"), "colour = 1\n").unwrap();
    let (code, _, stderr) = run(
        POPPY,
        vec![
            "--config".into(),
            dir.path().join("bad.toml").to_str().unwrap().into(),
            "flavor".into(),
            "list".into(),
        ],
        vec![],
    )
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");
}
