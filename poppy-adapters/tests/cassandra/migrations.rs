//! The embedded migrations: their order, their idempotence, statement
//! splitting, and which are due.

use std::collections::BTreeSet;

use poppy_adapters::storage::cassandra::{
    create_keyspace_cql, pending, statements, Replication, CREATE_MIGRATIONS_TABLE, MIGRATIONS,
};

#[test]
fn migrations_are_numbered_in_order_without_gaps() {
    assert!(!MIGRATIONS.is_empty());
    for (index, migration) in MIGRATIONS.iter().enumerate() {
        let number = format!("{:04}_", index + 1);
        assert!(
            migration.name.starts_with(&number),
            "migration {index} is named {}, expected the prefix {number}",
            migration.name
        );
    }
    let names: BTreeSet<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
    assert_eq!(names.len(), MIGRATIONS.len(), "migration names are unique");
}

#[test]
fn every_migration_statement_can_run_twice() {
    for migration in MIGRATIONS {
        let statements = statements(migration.cql);
        assert!(
            !statements.is_empty(),
            "{} has no statement",
            migration.name
        );
        for statement in statements {
            assert!(
                statement.starts_with("CREATE TABLE IF NOT EXISTS ")
                    || statement.starts_with("CREATE INDEX IF NOT EXISTS ")
                    || statement.starts_with("CREATE TYPE IF NOT EXISTS ")
                    || statement.starts_with("ALTER TABLE "),
                "{}: `{statement}` is not idempotent, so two processes migrating at once or a \
                 re-run after a failure would fail",
                migration.name
            );
            assert!(
                !statement.contains("--") && !statement.contains(';'),
                "{}: comments and separators are stripped: `{statement}`",
                migration.name
            );
        }
    }
    assert!(CREATE_MIGRATIONS_TABLE.starts_with("CREATE TABLE IF NOT EXISTS schema_migrations"));
}

#[test]
fn the_services_table_counts_live_services_per_project_partition() {
    let first = statements(MIGRATIONS[0].cql);
    let services = first
        .iter()
        .find(|s| s.starts_with("CREATE TABLE IF NOT EXISTS services "))
        .expect("services table");
    assert!(services.contains("live_count int STATIC"), "{services}");
    assert!(
        services.contains("PRIMARY KEY (project_id, service_id)"),
        "{services}"
    );
    assert!(services.contains("service_id uuid"), "{services}");
    assert!(
        services.contains("CLUSTERING ORDER BY (service_id ASC)"),
        "{services}"
    );
}

#[test]
fn statements_split_on_separators_outside_literals_and_comments() {
    let script = "-- Poppy's schema; first\n\
                  CREATE TABLE a (x text); // it's a comment\n\
                  /* block; with 'quote */ INSERT INTO a (x) VALUES ('semi;colon''s');\n\
                  \n  ;  ;\n\
                  DROP TABLE a";
    assert_eq!(
        statements(script),
        vec![
            "CREATE TABLE a (x text)".to_owned(),
            "INSERT INTO a (x) VALUES ('semi;colon''s')".to_owned(),
            "DROP TABLE a".to_owned(),
        ]
    );
    assert!(statements("-- only a comment\n").is_empty());
}

#[test]
fn pending_lists_the_migrations_not_yet_recorded_in_order() {
    let all: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
    let due = |applied: &[&str]| {
        pending(&applied.iter().map(|s| (*s).to_owned()).collect())
            .map(|ms| ms.iter().map(|m| m.name).collect::<Vec<_>>())
    };
    assert_eq!(due(&[]), Ok(all.clone()));
    assert_eq!(due(&all[..1]), Ok(all[1..].to_vec()));
    assert_eq!(due(&all), Ok(Vec::new()));
    assert_eq!(
        due(&[all[0], "9999_from_the_future"]),
        Err(vec!["9999_from_the_future".to_owned()]),
        "a migration this build does not know means a newer schema"
    );
}

#[test]
fn the_keyspace_statement_carries_the_replication() {
    assert_eq!(
        create_keyspace_cql("poppy", &Replication::Simple(1)),
        "CREATE KEYSPACE IF NOT EXISTS poppy WITH replication = {'class': 'SimpleStrategy', \
         'replication_factor': 1} AND durable_writes = true"
    );
}
