//! `[storage] driver = "cassandra"` options: defaults, parsing, validation,
//! secrets.

use std::time::Duration;

use poppy_adapters::storage::cassandra::{
    parse_consistency, CassandraConfig, CassandraConfigError, Consistency, Replication,
    ReplicationFactor, PASSWORD_ENV,
};

fn parse(text: &str) -> Result<CassandraConfig, toml::de::Error> {
    toml::from_str(text)
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn an_empty_section_gives_the_documented_defaults() {
    let config = parse("").expect("empty section");
    assert_eq!(config, CassandraConfig::default());
    let settings = config.build_with_env(no_env).expect("defaults are valid");
    assert_eq!(settings.contact_points, vec!["127.0.0.1:9042".to_owned()]);
    assert_eq!(settings.keyspace, "poppy");
    assert_eq!(settings.write_consistency, Consistency::LocalQuorum);
    assert_eq!(
        settings.read_consistency,
        Consistency::LocalQuorum,
        "reads default to `consistency`"
    );
    assert_eq!(settings.serial_consistency, Consistency::Serial);
    assert_eq!(settings.replication, Replication::Simple(1));
    assert!(
        !settings.automatic_schema_migration,
        "off by default, as in the original"
    );
    assert_eq!(settings.connect_timeout, Duration::from_secs(5));
    assert_eq!(settings.credentials, None);
}

#[test]
fn every_key_is_read() {
    let config = parse(
        r#"
        contact_points = ["10.0.0.1:9042", "cass-2.internal:19042"]
        keyspace = "Poppy_Prod"
        username = "poppy"
        password = "s3cret"
        consistency = "quorum"
        read_consistency = "ONE"
        serial_consistency = "LOCAL_SERIAL"
        replication_strategy = "NetworkTopologyStrategy"
        replication_factor = { dc1 = 3, dc2 = 2 }
        automatic_schema_migration = true
        connect_timeout_ms = 1500
        "#,
    )
    .expect("full section");
    let settings = config.build_with_env(no_env).expect("valid");
    assert_eq!(settings.contact_points.len(), 2);
    assert_eq!(
        settings.keyspace, "poppy_prod",
        "unquoted CQL names are lower-case"
    );
    assert_eq!(settings.write_consistency, Consistency::Quorum);
    assert_eq!(settings.read_consistency, Consistency::One);
    assert_eq!(settings.serial_consistency, Consistency::LocalSerial);
    assert!(settings.automatic_schema_migration);
    assert_eq!(settings.connect_timeout, Duration::from_millis(1500));
    let (user, password) = settings.credentials.clone().expect("credentials");
    assert_eq!((user.as_str(), password.expose()), ("poppy", "s3cret"));
    assert_eq!(
        settings.replication.cql_map(),
        "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"
    );
}

#[test]
fn unknown_keys_are_refused() {
    let error = parse("hosts = [\"a:1\"]").expect_err("unknown key");
    assert!(error.to_string().contains("hosts"), "{error}");
}

#[test]
fn passwords_never_show_in_debug_output() {
    let config = CassandraConfig {
        username: Some("poppy".to_owned()),
        password: Some("hunter2-secret".to_owned()),
        ..CassandraConfig::default()
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let settings = format!("{:?}", config.build_with_env(no_env).expect("valid"));
    assert!(!settings.contains("hunter2-secret"), "{settings}");
}

#[test]
fn the_password_can_come_from_the_environment() {
    let config = CassandraConfig {
        username: Some("poppy".to_owned()),
        ..CassandraConfig::default()
    };
    let env = |name: &str| (name == PASSWORD_ENV).then(|| "from-env".to_owned());
    let (_, password) = config
        .build_with_env(env)
        .expect("valid")
        .credentials
        .expect("credentials");
    assert_eq!(password.expose(), "from-env");
    let mut in_file = config.clone();
    in_file.password = Some("from-file".to_owned());
    let (_, password) = in_file
        .build_with_env(env)
        .expect("valid")
        .credentials
        .expect("credentials");
    assert_eq!(
        password.expose(),
        "from-file",
        "the file wins over the environment"
    );
    assert_eq!(
        config.build_with_env(no_env),
        Err(CassandraConfigError::MissingPassword)
    );
    // A password in the environment without a user configures nothing.
    assert_eq!(
        CassandraConfig::default()
            .build_with_env(env)
            .expect("valid")
            .credentials,
        None
    );
    let orphan = CassandraConfig {
        password: Some("p".to_owned()),
        ..CassandraConfig::default()
    };
    assert_eq!(
        orphan.build_with_env(no_env),
        Err(CassandraConfigError::MissingUsername)
    );
}

#[test]
fn invalid_values_are_named() {
    let build = |text: &str| parse(text).expect("parses").build_with_env(no_env);
    assert_eq!(
        build("contact_points = []"),
        Err(CassandraConfigError::NoContactPoints)
    );
    assert_eq!(
        build("contact_points = [\"localhost\"]"),
        Err(CassandraConfigError::BadContactPoint(
            "localhost".to_owned()
        ))
    );
    assert_eq!(
        build("contact_points = [\":9042\"]"),
        Err(CassandraConfigError::BadContactPoint(":9042".to_owned()))
    );
    for keyspace in ["1poppy", "poppy-prod", "poppy; DROP", "", &"k".repeat(49)] {
        assert_eq!(
            build(&format!("keyspace = {keyspace:?}")),
            Err(CassandraConfigError::BadKeyspace(keyspace.to_owned())),
            "{keyspace}"
        );
    }
    let error = build("consistency = \"MOST\"").expect_err("bad level");
    assert!(
        error.to_string().contains("`consistency` = 'MOST'"),
        "{error}"
    );
    let error = build("read_consistency = \"sometimes\"").expect_err("bad level");
    assert!(error.to_string().contains("read_consistency"), "{error}");
    for level in ["ANY", "SERIAL", "LOCAL_SERIAL"] {
        let error =
            build(&format!("consistency = {level:?}")).expect_err("not for writes and reads");
        assert!(
            error.to_string().contains("both reads and writes"),
            "{level}: {error}"
        );
    }
    assert!(
        build("read_consistency = \"ANY\"").is_err(),
        "ANY does not read"
    );
    assert_eq!(
        build("read_consistency = \"SERIAL\"").map(|s| s.read_consistency),
        Ok(Consistency::Serial),
        "linearizable reads are allowed"
    );
    let error = build("serial_consistency = \"QUORUM\"").expect_err("not serial");
    assert!(
        error.to_string().contains("SERIAL or LOCAL_SERIAL"),
        "{error}"
    );
    assert!(matches!(
        build("replication_strategy = \"EverywhereStrategy\""),
        Err(CassandraConfigError::BadStrategy(_))
    ));
    assert!(matches!(
        build("replication_factor = 0"),
        Err(CassandraConfigError::BadReplicationFactor(_))
    ));
    assert!(
        matches!(
            build("replication_factor = { dc1 = 3 }"),
            Err(CassandraConfigError::BadReplicationFactor(_))
        ),
        "per data center needs NetworkTopologyStrategy"
    );
    assert!(matches!(
        build("replication_strategy = \"NetworkTopologyStrategy\"\nreplication_factor = { \"dc'1\" = 3 }"),
        Err(CassandraConfigError::BadReplicationFactor(_))
    ), "a quote in a data center name would break the CQL literal");
    assert_eq!(
        build("connect_timeout_ms = 0"),
        Err(CassandraConfigError::ZeroTimeout)
    );
}

#[test]
fn replication_maps_are_cql_literals() {
    let settings = |strategy: &str, factor: ReplicationFactor| {
        CassandraConfig {
            replication_strategy: strategy.to_owned(),
            replication_factor: factor,
            ..CassandraConfig::default()
        }
        .build_with_env(no_env)
        .expect("valid")
        .replication
    };
    assert_eq!(
        settings("SimpleStrategy", ReplicationFactor::Uniform(3)).cql_map(),
        "{'class': 'SimpleStrategy', 'replication_factor': 3}"
    );
    assert_eq!(
        settings(
            "org.apache.cassandra.locator.NetworkTopologyStrategy",
            ReplicationFactor::Uniform(2)
        ),
        Replication::NetworkUniform(2),
        "the fully qualified class name is accepted"
    );
    assert_eq!(
        Replication::NetworkUniform(2).cql_map(),
        "{'class': 'NetworkTopologyStrategy', 'replication_factor': 2}"
    );
}

#[test]
fn consistency_names_are_read_in_any_case() {
    for (name, level) in [
        ("ONE", Consistency::One),
        ("local_quorum", Consistency::LocalQuorum),
        ("Local-One", Consistency::LocalOne),
        ("EACH_QUORUM", Consistency::EachQuorum),
        ("all", Consistency::All),
        ("local_serial", Consistency::LocalSerial),
    ] {
        assert_eq!(parse_consistency("consistency", name), Ok(level), "{name}");
    }
    assert!(parse_consistency("consistency", "QUORUMS").is_err());
}
