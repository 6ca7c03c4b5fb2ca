//! The query layer without a server: statement text against the schema,
//! bind values against placeholders, model → row → model round trips,
//! answers of lightweight transactions, and the `uuid` order.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use cdrs_tokio::frame::message_result::ColType;
use cdrs_tokio::types::value::Value;
use poppy_adapters::storage::cassandra::queries::certs::{self, CertRow, QueueWrite, StoredQueue};
use poppy_adapters::storage::cassandra::queries::{
    self, cql, ClaimOutcome, ServiceRow, WriteOutcome,
};
use poppy_adapters::storage::cassandra::{statements, CassandraError, MIGRATIONS};
use poppy_core::model::{
    CertQueue, CertStatus, CertType, ProjectId, Service, ServiceId, ServiceStatus, SslCertificate,
};
use poppy_core::ports::PortError;
use poppy_core::testkit::fixtures;
use uuid::Uuid;

use super::rows::{lwt_answer, row, rows, text};

fn rich() -> Service {
    fixtures::rich_service(&ProjectId::random())
}

/// Column name → CQL type of every table, read from the migrations.
pub fn schema() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut tables = BTreeMap::new();
    for migration in MIGRATIONS {
        for statement in statements(migration.cql) {
            let Some(rest) = statement.strip_prefix("CREATE TABLE IF NOT EXISTS ") else {
                continue;
            };
            let (name, body) = rest.split_once(" (").expect("table body");
            // The column list ends at the parenthesis closing the first one.
            let mut depth = 1;
            let end = body
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("closing parenthesis");
            let mut columns = BTreeMap::new();
            for entry in body[..end].split(", ") {
                let mut words = entry.split_whitespace();
                match (words.next(), words.next()) {
                    (Some("PRIMARY"), _) | (_, None) => {}
                    (Some(column), Some(ty)) => {
                        columns.insert(column.to_owned(), ty.to_owned());
                    }
                    (None, _) => {}
                }
            }
            tables.insert(name.to_owned(), columns);
        }
    }
    tables
}

const KEYWORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "and",
    "insert",
    "into",
    "values",
    "if",
    "not",
    "exists",
    "update",
    "set",
    "delete",
    "using",
    "timestamp",
    "order",
    "by",
    "asc",
    "limit",
    "as",
    "writetime",
];

/// The table a statement reads or writes.
fn table_of(statement: &str) -> String {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let after = |keyword: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(keyword))
            .map(|i| words[i + 1].trim_end_matches('(').to_owned())
    };
    match words[0] {
        "SELECT" | "DELETE" => after("FROM"),
        "INSERT" => after("INTO"),
        "UPDATE" => Some(words[1].to_owned()),
        _ => None,
    }
    .expect("statement names a table")
}

#[test]
fn every_statement_uses_only_columns_its_table_has() {
    let schema = schema();
    assert_eq!(
        schema.keys().map(String::as_str).collect::<Vec<_>>(),
        vec![
            "cert_queues",
            "cert_settings",
            "cert_status",
            "certificate_info",
            "domain_names",
            "flavors",
            "provider_url_domain",
            "service_limits",
            "service_status",
            "services"
        ],
        "tables created by the migrations"
    );
    for statement in cql::ALL.iter().filter(|s| **s != cql::PING) {
        let table = table_of(statement);
        let columns = schema.get(&table).unwrap_or_else(|| {
            panic!("`{statement}` uses table {table}, which no migration creates")
        });
        let identifiers = statement
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '[' || c == ']'))
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        for word in identifiers {
            if word == table || KEYWORDS.contains(&word) || word == "claimed_at" {
                continue;
            }
            assert!(
                columns.contains_key(word),
                "`{statement}` names column `{word}`, which table {table} does not have"
            );
        }
    }
}

#[test]
fn statements_use_bare_table_names_and_conditional_writes_where_the_contract_needs_them() {
    for statement in cql::ALL {
        assert!(
            !statement.contains("poppy."),
            "`{statement}` must not name a keyspace: the session runs in the configured one"
        );
    }
    for conditional in [
        cql::INSERT_SERVICE,
        cql::SET_LIVE_COUNT,
        cql::UPDATE_SERVICE,
        cql::UPDATE_SERVICE_COUNTED,
        cql::DELETE_SERVICE,
        cql::CLAIM_DOMAIN,
        cql::RELEASE_DOMAIN,
        cql::INSERT_FLAVOR,
        cql::DELETE_FLAVOR,
        cql::INSERT_CERT,
        cql::UPDATE_CERT,
        cql::DELETE_CERT,
        cql::SET_CERT_QUEUE,
    ] {
        assert!(
            conditional.contains(" IF "),
            "`{conditional}` must be a lightweight transaction"
        );
    }
    for timestamped in [
        cql::INDEX_STATUS,
        cql::UNINDEX_STATUS,
        cql::INDEX_PROVIDER_URL,
        cql::UNINDEX_PROVIDER_URL,
        cql::INDEX_CERT_STATUS,
        cql::UNINDEX_CERT_STATUS,
    ] {
        assert!(
            timestamped.contains("USING TIMESTAMP ?"),
            "`{timestamped}` must carry a client timestamp"
        );
    }
    assert!(
        cql::LIST_SERVICES.contains("service_id > ?") && cql::LIST_SERVICES.ends_with("LIMIT ?")
    );
    assert!(
        cql::LIST_BY_STATUS.contains("service_id > ?") && cql::LIST_BY_STATUS.ends_with("LIMIT ?")
    );
    let unique: BTreeSet<&str> = cql::ALL.iter().copied().collect();
    assert_eq!(
        unique.len(),
        cql::ALL.len(),
        "cql::ALL lists a statement twice"
    );
}

#[test]
fn every_statement_gets_one_value_per_placeholder() {
    let service = rich();
    let row = ServiceRow::encode(&service).expect("encode");
    let project = &service.project_id;
    let flavor = fixtures::unique_flavor();
    let cert = SslCertificate::new(project.clone(), "f", "www.a.com", CertType::San, 1);
    let cert_row = CertRow::encode(&cert).expect("encode certificate");
    let cases: Vec<(&str, Vec<Value>)> = vec![
        (cql::INSERT_SERVICE, row.insert_values()),
        (
            cql::SET_LIVE_COUNT,
            queries::live_count_values("p", 2, Some(1)),
        ),
        (cql::GET_LIVE_COUNT, queries::project_values(project)),
        (cql::GET_SERVICE, row.key_values()),
        (
            cql::GET_SERVICE_STATUS,
            queries::key_values(project, &service.id),
        ),
        (cql::LIST_SERVICES, queries::list_values(project, None, 10)),
        (cql::UPDATE_SERVICE, row.update_values(1)),
        (
            cql::UPDATE_SERVICE_COUNTED,
            row.update_counted_values(1, 2, None),
        ),
        (
            cql::DELETE_SERVICE,
            queries::delete_values("p", Uuid::new_v4(), 3),
        ),
        (cql::CLAIM_DOMAIN, row.claim_values("www.example.com")),
        (cql::GET_DOMAIN, queries::domain_values("www.example.com")),
        (
            cql::RELEASE_DOMAIN,
            queries::release_values("www.example.com", Uuid::new_v4()),
        ),
        (cql::INDEX_STATUS, row.index_status_values(7)),
        (
            cql::UNINDEX_STATUS,
            queries::unindex_status_values(7, ServiceStatus::Failed, Uuid::new_v4()),
        ),
        (
            cql::LIST_BY_STATUS,
            queries::list_by_status_values(ServiceStatus::Failed, None, 5),
        ),
        (
            cql::INDEX_PROVIDER_URL,
            row.index_provider_url_values("u", "d", 7),
        ),
        (
            cql::UNINDEX_PROVIDER_URL,
            queries::unindex_provider_url_values(7, "u", "d"),
        ),
        (
            cql::DOMAINS_BY_PROVIDER_URL,
            queries::provider_url_values("u"),
        ),
        (cql::GET_LIMIT, queries::project_values(project)),
        (
            cql::SET_LIMIT,
            queries::set_limit_values(project, 5).expect("limit"),
        ),
        (cql::LIST_FLAVORS, Vec::new()),
        (cql::GET_FLAVOR, queries::flavor_key_values("f")),
        (
            cql::INSERT_FLAVOR,
            queries::flavor_values(&flavor).expect("flavor"),
        ),
        (cql::DELETE_FLAVOR, queries::flavor_key_values("f")),
        (cql::INSERT_CERT, cert_row.insert_values()),
        (cql::GET_CERT, certs::cert_key_values("www.a.com")),
        (cql::GET_CERT_STATUS, certs::cert_key_values("www.a.com")),
        (
            cql::UPDATE_CERT,
            cert_row.update_values(CertStatus::CreateInProgress),
        ),
        (
            cql::DELETE_CERT,
            certs::delete_cert_values("www.a.com", project),
        ),
        (cql::INDEX_CERT_STATUS, cert_row.index_values(7)),
        (
            cql::UNINDEX_CERT_STATUS,
            certs::unindex_cert_status_values(7, CertStatus::Failed, "www.a.com"),
        ),
        (
            cql::LIST_CERTS_BY_STATUS,
            certs::list_certs_by_status_values(CertStatus::Failed, None, 5),
        ),
        (
            cql::GET_CERT_QUEUE,
            certs::queue_key_values("akamai", CertQueue::Retry),
        ),
        (
            cql::SET_CERT_QUEUE,
            QueueWrite::after(&StoredQueue::empty(), &[])
                .expect("write")
                .values("akamai", CertQueue::Retry),
        ),
        (
            cql::GET_CERT_SETTING,
            certs::setting_key_values("akamai", "san:x"),
        ),
        (
            cql::PUT_CERT_SETTING,
            certs::put_setting_values("akamai", "san:x", &serde_json::json!({})).expect("setting"),
        ),
        (cql::PING, Vec::new()),
    ];
    let covered: BTreeSet<&str> = cases.iter().map(|(s, _)| *s).collect();
    for statement in cql::ALL {
        assert!(
            covered.contains(statement),
            "no bind-value case for `{statement}`"
        );
    }
    for (statement, values) in cases {
        assert_eq!(
            statement.matches('?').count(),
            values.len(),
            "`{statement}` has a different number of placeholders than values bound to it"
        );
    }
}

/// The columns and types of a service row as the server sends them.
fn service_columns() -> Vec<(&'static str, ColType)> {
    vec![
        ("project_id", text()),
        ("service_id", ColType::Uuid),
        ("status", text()),
        ("operator_status", text()),
        ("version", ColType::Bigint),
        ("spec", text()),
        ("provider_details", text()),
        ("created_at", ColType::Bigint),
        ("updated_at", ColType::Bigint),
    ]
}

#[test]
fn a_service_round_trips_through_its_insert_values_and_row_decoding() {
    let service = rich();
    let row = ServiceRow::encode(&service).expect("encode");
    let names: Vec<&str> = cql::SERVICE_COLUMNS.split(", ").collect();
    assert_eq!(
        names,
        service_columns()
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>(),
        "SERVICE_COLUMNS order"
    );
    assert!(
        cql::INSERT_SERVICE.contains(&format!("({})", cql::SERVICE_COLUMNS)),
        "INSERT_SERVICE binds the columns in SERVICE_COLUMNS order"
    );
    assert!(cql::GET_SERVICE.contains(cql::SERVICE_COLUMNS));
    assert!(cql::LIST_SERVICES.contains(cql::SERVICE_COLUMNS));
    // What the insert binds is what the server stores and returns.
    let stored = rows(&service_columns(), vec![row.insert_values()]);
    let decoded = queries::service_from_row(&stored[0]).expect("decode");
    assert_eq!(decoded, service, "every field must survive the round trip");
}

#[test]
fn encoding_keeps_domains_provider_urls_and_liveness() {
    let mut service = rich();
    let row = ServiceRow::encode(&service).expect("encode");
    let domains: BTreeSet<String> = service.domain_names().map(str::to_owned).collect();
    assert_eq!(row.domains, domains);
    assert_eq!(row.provider_urls, queries::provider_urls(&service));
    assert!(
        !row.provider_urls.is_empty(),
        "the rich fixture has access URLs"
    );
    assert!(row.provider_urls.iter().all(|(_, d)| domains.contains(d)));
    assert!(row.is_live());
    service.status = ServiceStatus::DeleteInProgress;
    assert!(!ServiceRow::encode(&service).expect("encode").is_live());

    service.version = u64::MAX;
    match ServiceRow::encode(&service) {
        Err(PortError::Invalid(message)) => assert!(message.contains("out of range"), "{message}"),
        other => panic!("a version beyond bigint must be Invalid, got {other:?}"),
    }
}

#[test]
fn update_values_set_the_new_version_and_check_the_expected_one() {
    let mut service = rich();
    service.version = 7;
    let mut row = ServiceRow::encode(&service).expect("encode");
    row.version = 8;
    let values = row.update_values(7);
    assert_eq!(
        values[2],
        Value::new(8_i64),
        "SET version = the new version"
    );
    assert_eq!(values[7], Value::new(service.project_id.as_str()));
    assert_eq!(values[8], Value::new(*service.id.as_uuid()));
    assert_eq!(
        values[9],
        Value::new(7_i64),
        "IF version = the version read"
    );

    let counted = row.update_counted_values(7, 3, None);
    assert_eq!(
        counted[7],
        Value::new(3_i32),
        "SET live_count = the new count"
    );
    assert_eq!(counted[10], Value::new(7_i64), "IF version = …");
    assert_eq!(
        counted[11],
        Value::Null,
        "IF live_count = null when no count was read"
    );
    assert_eq!(
        row.update_counted_values(7, 3, Some(2))[11],
        Value::new(2_i32)
    );
}

#[test]
fn list_values_start_at_the_nil_id_and_clamp_the_limit() {
    let project = ProjectId::new("p");
    let values = queries::list_values(&project, None, u32::MAX);
    assert_eq!(values[1], Value::new(Uuid::nil()));
    assert_eq!(values[2], Value::new(i32::MAX));
    let marker = ServiceId::new_random();
    assert_eq!(
        queries::list_values(&project, Some(marker), 3)[1],
        Value::new(*marker.as_uuid())
    );
    assert_eq!(
        queries::list_by_status_values(ServiceStatus::Failed, None, 2),
        vec![
            Value::new("failed"),
            Value::new(Uuid::nil()),
            Value::new(2_i32)
        ]
    );
    assert!(matches!(
        queries::set_limit_values(&project, u32::MAX),
        Err(PortError::Invalid(_))
    ));
    assert_eq!(
        queries::live_count_values("p", 1, None),
        vec![Value::new(1_i32), Value::new("p"), Value::Null]
    );
}

fn corrupt_column(error: CassandraError) -> &'static str {
    match error {
        CassandraError::CorruptRow { column, .. } => column,
        other => panic!("expected a CorruptRow error, got {other:?}"),
    }
}

#[test]
fn bad_rows_are_errors_naming_the_column() {
    let service = rich();
    let good = ServiceRow::encode(&service)
        .expect("encode")
        .insert_values();
    for (index, bad, column) in [
        (5, Value::new("{not json"), "spec"),
        (6, Value::new("[]"), "provider_details"),
        (2, Value::new("sleeping"), "status"),
        (3, Value::new("maybe"), "operator_status"),
        (4, Value::new(-1_i64), "version"),
        (7, Value::Null, "created_at"),
    ] {
        let mut values = good.clone();
        values[index] = bad;
        let row = &rows(&service_columns(), vec![values])[0];
        let error = queries::service_from_row(row).expect_err("a bad row must not decode");
        let message = error.to_string();
        assert_eq!(corrupt_column(error), column, "{message}");
        assert!(
            message.contains(&service.id.to_string()),
            "the error names the row: {message}"
        );
    }
    let missing = row(&[("project_id", text(), Value::new("p"))]);
    assert_eq!(
        corrupt_column(queries::service_from_row(&missing).expect_err("missing columns")),
        "service_id"
    );
}

#[test]
fn index_and_limit_rows_decode() {
    let id = Uuid::new_v4();
    let entry = row(&[
        ("project_id", text(), Value::new("p1")),
        ("service_id", ColType::Uuid, Value::new(id)),
    ]);
    assert_eq!(
        queries::status_entry_from_row(&entry).expect("entry"),
        (ProjectId::new("p1"), ServiceId::from_uuid(id))
    );
    let pair = row(&[
        ("domain_name", text(), Value::new("www.a.com")),
        ("project_id", text(), Value::new("p1")),
        ("service_id", ColType::Uuid, Value::new(id)),
    ]);
    assert_eq!(
        queries::provider_url_entry_from_row(&pair).expect("pair"),
        (
            "www.a.com".to_owned(),
            ProjectId::new("p1"),
            ServiceId::from_uuid(id)
        )
    );
    let claim = row(&[
        ("project_id", text(), Value::new("p1")),
        ("service_id", ColType::Uuid, Value::new(id)),
        ("claimed_at", ColType::Bigint, Value::new(42_i64)),
    ]);
    let claim = queries::claim_from_row("www.a.com", &claim).expect("claim");
    assert_eq!(claim.claimed_at, Some(42));
    assert_eq!(claim.service, ServiceId::from_uuid(id));
    let status = row(&[("status", text(), Value::new("update_in_progress"))]);
    assert_eq!(
        queries::status_from_row(&status).expect("status"),
        ServiceStatus::UpdateInProgress
    );

    let project = ProjectId::new("p");
    let limit = |value: Value| rows(&[("project_limit", ColType::Int)], vec![vec![value]]);
    assert_eq!(queries::limit_from_rows(&project, &[]).expect("none"), None);
    assert_eq!(
        queries::limit_from_rows(&project, &limit(Value::new(5_i32))).expect("five"),
        Some(5)
    );
    assert_eq!(
        corrupt_column(
            queries::limit_from_rows(&project, &limit(Value::new(-5_i32))).expect_err("negative")
        ),
        "project_limit"
    );

    let count = |value: Value| rows(&[("live_count", ColType::Int)], vec![vec![value]]);
    assert_eq!(
        queries::live_count_from_rows(&[]).expect("no partition"),
        None
    );
    assert_eq!(
        queries::live_count_from_rows(&count(Value::Null)).expect("null"),
        None
    );
    assert_eq!(
        queries::live_count_from_rows(&count(Value::new(3_i32))).expect("three"),
        Some(3)
    );
}

#[test]
fn a_flavor_round_trips_and_a_bad_body_is_an_error() {
    let mut flavor = fixtures::unique_flavor();
    flavor.limits = Some(serde_json::json!({"domains": 3}));
    let values = queries::flavor_values(&flavor).expect("encode");
    let columns = [("flavor_id", text()), ("body", text())];
    let stored = rows(&columns, vec![values]);
    assert_eq!(
        queries::flavor_from_row(&stored[0]).expect("decode"),
        flavor
    );
    let bad = rows(&columns, vec![vec![Value::new("f"), Value::new("{")]]);
    assert_eq!(
        corrupt_column(queries::flavor_from_row(&bad[0]).expect_err("bad body")),
        "body"
    );
}

#[test]
fn answers_of_conditional_writes_are_read() {
    assert!(queries::applied(&lwt_answer(true, &[])).expect("applied"));
    assert!(!queries::applied(&lwt_answer(false, &[])).expect("not applied"));
    assert!(matches!(
        queries::applied(&[]),
        Err(CassandraError::UnexpectedAnswer { .. })
    ));

    let ours = Uuid::new_v4();
    let other = Uuid::new_v4();
    let holder = |id: Uuid| {
        lwt_answer(
            false,
            &[
                ("domain_name", text(), Value::new("www.a.com")),
                ("project_id", text(), Value::new("p2")),
                ("service_id", ColType::Uuid, Value::new(id)),
            ],
        )
    };
    assert_eq!(
        queries::claim_outcome(&lwt_answer(true, &[]), ours).expect("claimed"),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        queries::claim_outcome(&holder(other), ours).expect("held"),
        ClaimOutcome::HeldBy(ProjectId::new("p2"), ServiceId::from_uuid(other))
    );
    assert_eq!(
        queries::claim_outcome(&holder(ours), ours).expect("ours"),
        ClaimOutcome::Claimed,
        "a claim already ours (an earlier attempt) counts as claimed"
    );
    assert_eq!(
        queries::claim_outcome(&lwt_answer(false, &[]), ours).expect("bare"),
        ClaimOutcome::Unknown
    );

    let version = |v: Value| lwt_answer(false, &[("version", ColType::Bigint, v)]);
    assert_eq!(
        queries::update_outcome(&lwt_answer(true, &[]), 3).expect("applied"),
        WriteOutcome::Applied
    );
    assert_eq!(
        queries::update_outcome(&version(Value::Null), 3).expect("missing"),
        WriteOutcome::Missing
    );
    assert_eq!(
        queries::update_outcome(&version(Value::new(5_i64)), 3).expect("stale"),
        WriteOutcome::Stale { found: 5 }
    );
    assert_eq!(
        queries::update_outcome(&version(Value::new(3_i64)), 3).expect("count moved"),
        WriteOutcome::CountMoved,
        "the version matched, so the other condition (live_count) failed"
    );
    assert_eq!(
        queries::update_outcome(&lwt_answer(false, &[]), 3).expect("bare"),
        WriteOutcome::Unknown,
        "Cassandra answers a bare [applied]=false for a missing row: read it"
    );
}

#[test]
fn a_taken_domain_is_the_contract_conflict() {
    match queries::domain_taken("www.a.com") {
        PortError::Conflict(message) => {
            assert_eq!(message, "Domain www.a.com has already been taken")
        }
        other => panic!("{other:?}"),
    }
}

/// Uuids of version 4 as the suites make them, and markers derived from them.
fn v4_ids(n: usize) -> Vec<Uuid> {
    (0..n).map(|_| Uuid::new_v4()).collect()
}

#[test]
fn cassandra_uuid_order_is_byte_order_for_version_4_ids_and_the_suite_markers() {
    let ids = v4_ids(400);
    for pair in ids.windows(2) {
        assert_eq!(
            queries::uuid_order(&pair[0], &pair[1]),
            pair[0].cmp(&pair[1]),
            "{pair:?}"
        );
    }
    for id in &ids {
        assert_eq!(
            queries::uuid_order(&Uuid::nil(), id),
            Ordering::Less,
            "nil sorts first"
        );
        // The conformance suite starts a walk just below its smallest id.
        let below = Uuid::from_u128(id.as_u128() - 1);
        assert_eq!(
            below.get_version_num(),
            4,
            "lower half of a v4 id is never zero"
        );
        assert_eq!(queries::uuid_order(&below, id), Ordering::Less);
        assert_eq!(queries::uuid_order(id, id), Ordering::Equal);
    }
    let mut by_cassandra = ids.clone();
    by_cassandra.sort_by(queries::uuid_order);
    let mut by_bytes = ids;
    by_bytes.sort();
    assert_eq!(by_cassandra, by_bytes);
}

#[test]
fn cassandra_uuid_order_puts_the_version_first_and_orders_time_uuids_by_time() {
    // Version 1 with the largest possible bytes still sorts before any v4.
    let v1_high = Uuid::from_u128(0xffff_ffff_ffff_1fff_bfff_ffff_ffff_ffff);
    assert_eq!(v1_high.get_version_num(), 1);
    let v4_low = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000);
    assert_eq!(
        v1_high.cmp(&v4_low),
        Ordering::Greater,
        "bytes say v1 is larger"
    );
    assert_eq!(
        queries::uuid_order(&v1_high, &v4_low),
        Ordering::Less,
        "Cassandra says v1 first"
    );

    // Two time UUIDs: the earlier has larger time_low bytes but a smaller
    // time_hi, so time order and byte order disagree.
    let earlier = Uuid::from_u128(0xffff_ffff_0000_1000_8000_0000_0000_0000);
    let later = Uuid::from_u128(0x0000_0000_0000_1001_8000_0000_0000_0000);
    assert_eq!(earlier.cmp(&later), Ordering::Greater);
    assert_eq!(queries::uuid_order(&earlier, &later), Ordering::Less);
}
