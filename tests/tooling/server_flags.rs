//! `poppy-server --print-default-config` and `--check-config`.

use poppy::config::Config;

use crate::support::run;

const SERVER: &str = env!("CARGO_BIN_EXE_poppy-server");

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_default_config_text_parses_back_to_the_default() {
    let parsed = Config::from_toml(poppy::default_config::DEFAULT_CONFIG_TOML)
        .expect("the default configuration parses");
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        serde_json::to_value(Config::default()).unwrap()
    );
}

#[tokio::test]
async fn print_default_config_prints_the_commented_default() {
    let (code, stdout, stderr) = run(SERVER, args(&["--print-default-config"]), vec![]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, poppy::default_config::DEFAULT_CONFIG_TOML);
    assert!(stdout.lines().filter(|l| l.starts_with('#')).count() > 10);
    let parsed = Config::from_toml(&stdout).expect("printed text parses");
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        serde_json::to_value(Config::default()).unwrap()
    );
}

#[tokio::test]
async fn check_config_accepts_a_valid_file_and_touches_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("poppy.toml");
    std::fs::write(&file, crate::support::TWO_PROVIDERS).unwrap();
    let data = dir.path().join("data");
    let (code, stdout, stderr) = run(
        SERVER,
        args(&["--check-config", "--config", file.to_str().unwrap()]),
        vec![("POPPY_DATA_DIR".into(), data.to_str().unwrap().into())],
    )
    .await;
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");
    assert!(
        stdout.contains("provider   broken (driver mock)"),
        "{stdout}"
    );
    assert!(stdout.contains("flavor     doomed -> broken"), "{stdout}");
    assert!(!data.exists(), "the check created the data directory");
}

#[tokio::test]
async fn check_config_rejects_what_would_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("unparsable", "[server\nlisten = 1", "invalid"),
        ("unknown key", "bogus = 1\n", "bogus"),
        (
            "flavor of a missing provider",
            "[[flavors]]\nid = \"x\"\nproviders = [\"nope\"]\n",
            "nope",
        ),
        (
            "bad driver option",
            "[[providers]]\nname = \"mock\"\nfailure_rate = 3.0\n",
            "failure_rate",
        ),
        (
            "unknown driver",
            "[[providers]]\nname = \"mock\"\n[[providers]]\nname = \"x\"\ndriver = \"no-such-driver\"\n",
            "no-such-driver",
        ),
    ];
    for (name, text, needle) in cases {
        let file = dir.path().join(format!("{}.toml", name.replace(' ', "-")));
        std::fs::write(&file, text).unwrap();
        let (code, stdout, stderr) = run(
            SERVER,
            args(&["--check-config", "--config", file.to_str().unwrap()]),
            vec![],
        )
        .await;
        assert_eq!(code, 2, "{name}: stdout {stdout} stderr {stderr}");
        assert!(stderr.contains(needle), "{name}: {stderr}");
        if !matches!(name, "unparsable" | "unknown key") {
            // (TOML syntax errors come with a snippet of the file.)
            assert_eq!(
                stderr.trim().lines().count(),
                1,
                "{name}: one line: {stderr}"
            );
        }
    }
}
