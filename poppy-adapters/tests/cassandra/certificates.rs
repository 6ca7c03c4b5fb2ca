//! The certificate query layer without a server: statements against the
//! tables of migration `0005_certificates`, bind values, record, queue and
//! setting round trips through the values a statement binds and the rows
//! the server would return, and the answers of the lightweight transactions
//! (including every `[applied] = false` case).

use cdrs_tokio::frame::message_result::ColType;
use cdrs_tokio::types::value::Value;
use poppy_adapters::storage::cassandra::queries::certs::{
    self, CertDeleteOutcome, CertRow, CertUpdateOutcome, QueueSettle, QueueWrite, StoredQueue,
    RECENT_WRITES,
};
use poppy_adapters::storage::cassandra::queries::cql;
use poppy_adapters::storage::cassandra::{statements, CassandraError, MIGRATIONS};
use poppy_core::model::{CertDetails, CertQueue, CertStatus, CertType, ProjectId, SslCertificate};
use poppy_core::ports::PortError;
use serde_json::json;
use uuid::Uuid;

use super::queries::schema;
use super::rows::{lwt_answer, row, rows, text};

fn cert() -> SslCertificate {
    let mut cert = SslCertificate::new(
        ProjectId::new("p1"),
        "premium",
        "WWW.Example.COM",
        CertType::San,
        1_700_000_000_000,
    );
    let mut details = CertDetails::with_status(CertStatus::Deployed);
    details.cert_domain = Some("san1.example.net".to_owned());
    details.extra_info.sps_id = Some(42);
    details
        .extra_info
        .other
        .insert("custom".to_owned(), json!({"k": [1, 2]}));
    cert.cert_details.insert("akamai".to_owned(), details);
    cert.settle_status();
    cert.updated_at += 5;
    cert
}

fn corrupt_column(error: CassandraError) -> &'static str {
    match error {
        CassandraError::CorruptRow { column, .. } => column,
        other => panic!("expected a CorruptRow error, got {other:?}"),
    }
}

/// The row [`cql::GET_CERT`] returns for what [`cql::INSERT_CERT`] bound.
fn stored_cert_row(insert: &[Value]) -> cdrs_tokio::types::rows::Row {
    row(&[
        ("domain_name", text(), insert[0].clone()),
        ("project_id", text(), insert[1].clone()),
        ("status", text(), insert[4].clone()),
        ("body", text(), insert[5].clone()),
    ])
}

#[test]
fn the_migration_creates_the_certificate_tables_with_their_keys() {
    let tables = schema();
    let columns = |table: &str| -> Vec<String> {
        tables
            .get(table)
            .unwrap_or_else(|| panic!("no table {table}"))
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(
        columns("certificate_info"),
        [
            "body",
            "cert_type",
            "domain_name",
            "flavor_id",
            "project_id",
            "status",
            "updated_at"
        ]
    );
    assert_eq!(columns("cert_status"), ["domain_name", "status"]);
    assert_eq!(
        columns("cert_queues"),
        ["items", "provider", "queue", "recent_writes", "version"]
    );
    assert_eq!(
        columns("cert_settings"),
        ["provider", "setting_key", "value"]
    );
    let migration = MIGRATIONS
        .iter()
        .find(|m| m.name == "0005_certificates")
        .expect("migration 0005_certificates");
    let created = statements(migration.cql);
    let table = |name: &str| {
        created
            .iter()
            .find(|s| s.starts_with(&format!("CREATE TABLE IF NOT EXISTS {name} (")))
            .cloned()
            .unwrap_or_else(|| panic!("{name} is not created by 0005"))
    };
    assert!(table("certificate_info").contains("PRIMARY KEY (domain_name)"));
    let status = table("cert_status");
    assert!(
        status.contains("PRIMARY KEY (status, domain_name)")
            && status.contains("CLUSTERING ORDER BY (domain_name ASC)"),
        "a status lists its domains ascending in one partition: {status}"
    );
    assert!(
        table("cert_queues").contains("PRIMARY KEY ((provider, queue))"),
        "one partition (one compare-and-set cell set) per queue"
    );
    assert!(table("cert_settings").contains("PRIMARY KEY (provider, setting_key)"));
    assert_eq!(
        MIGRATIONS.last().map(|m| m.name),
        Some("0005_certificates"),
        "appended after the shipped migrations"
    );
}

#[test]
fn certificate_writes_are_the_conditional_statements_the_contract_needs() {
    assert!(cql::INSERT_CERT.ends_with(" IF NOT EXISTS"));
    assert!(cql::UPDATE_CERT.ends_with("WHERE domain_name = ? IF status = ?"));
    assert!(cql::DELETE_CERT.ends_with("WHERE domain_name = ? IF project_id = ?"));
    assert!(cql::SET_CERT_QUEUE.ends_with("WHERE provider = ? AND queue = ? IF version = ?"));
    assert!(
        !cql::PUT_CERT_SETTING.contains(" IF "),
        "settings are plain upserts"
    );
    assert!(
        cql::LIST_CERTS_BY_STATUS.contains("domain_name > ?")
            && cql::LIST_CERTS_BY_STATUS.contains("ORDER BY domain_name ASC")
            && cql::LIST_CERTS_BY_STATUS.ends_with("LIMIT ?")
    );
    for statement in [cql::INSERT_CERT, cql::GET_CERT, cql::UPDATE_CERT] {
        assert!(statement.contains("certificate_info"), "{statement}");
    }
    // Every certificate statement is prepared at start with the others.
    for statement in [
        cql::INSERT_CERT,
        cql::GET_CERT,
        cql::GET_CERT_STATUS,
        cql::UPDATE_CERT,
        cql::DELETE_CERT,
        cql::INDEX_CERT_STATUS,
        cql::UNINDEX_CERT_STATUS,
        cql::LIST_CERTS_BY_STATUS,
        cql::GET_CERT_QUEUE,
        cql::SET_CERT_QUEUE,
        cql::GET_CERT_SETTING,
        cql::PUT_CERT_SETTING,
    ] {
        assert!(cql::ALL.contains(&statement), "not prepared: {statement}");
    }
}

#[test]
fn a_certificate_round_trips_through_its_insert_values_under_its_lower_case_key() {
    let cert = cert();
    let row = CertRow::encode(&cert).expect("encode");
    assert_eq!(row.domain, "www.example.com");
    assert_eq!(row.status, CertStatus::Deployed);
    let values = row.insert_values();
    assert_eq!(values[0], Value::new("www.example.com"), "domain_name");
    assert_eq!(values[1], Value::new("p1"), "project_id");
    assert_eq!(values[2], Value::new("premium"), "flavor_id");
    assert_eq!(values[3], Value::new("san"), "cert_type");
    assert_eq!(values[4], Value::new("deployed"), "status");
    assert_eq!(values[6], Value::new(cert.updated_at), "updated_at");
    let stored = stored_cert_row(&values);
    assert_eq!(certs::cert_from_row(&stored).expect("decode"), cert);
    assert_eq!(
        certs::cert_project_from_row(&stored).expect("project"),
        ProjectId::new("p1")
    );
    assert_eq!(
        certs::cert_status_from_row(&stored).expect("status"),
        CertStatus::Deployed
    );
    // Look-ups by any case bind the lower-case key.
    assert_eq!(
        certs::cert_key_values("WWW.EXAMPLE.com"),
        vec![Value::new("www.example.com")]
    );
    assert_eq!(
        certs::delete_cert_values("Www.Example.Com", &ProjectId::new("p9")),
        vec![Value::new("www.example.com"), Value::new("p9")]
    );
}

#[test]
fn update_values_set_the_record_and_check_the_status_read() {
    let cert = cert();
    let row = CertRow::encode(&cert).expect("encode");
    let values = row.update_values(CertStatus::CreateInProgress);
    assert_eq!(values.len(), 8);
    assert_eq!(values[0], Value::new("p1"), "SET project_id");
    assert_eq!(
        values[3],
        Value::new("deployed"),
        "SET status = the new one"
    );
    assert_eq!(values[4], Value::new(row.body.as_str()), "SET body");
    assert_eq!(
        values[6],
        Value::new("www.example.com"),
        "WHERE domain_name"
    );
    assert_eq!(
        values[7],
        Value::new("create_in_progress"),
        "IF status = the status read"
    );
}

#[test]
fn status_index_values_carry_the_timestamp_and_start_below_every_domain() {
    let row = CertRow::encode(&cert()).expect("encode");
    assert_eq!(
        row.index_values(77),
        vec![
            Value::new("deployed"),
            Value::new("www.example.com"),
            Value::new(77_i64)
        ]
    );
    assert_eq!(
        certs::unindex_cert_status_values(78, CertStatus::Failed, "WWW.example.com"),
        vec![
            Value::new(78_i64),
            Value::new("failed"),
            Value::new("www.example.com")
        ]
    );
    assert_eq!(
        certs::list_certs_by_status_values(CertStatus::Deployed, None, u32::MAX),
        vec![Value::new("deployed"), Value::new(""), Value::new(i32::MAX)],
        "no marker: the empty text sorts before every domain"
    );
    assert_eq!(
        certs::list_certs_by_status_values(CertStatus::Failed, Some("b.com"), 3)[1],
        Value::new("b.com")
    );
    let entry = row_of_domain("a.example.com");
    assert_eq!(
        certs::cert_index_entry_from_row(&entry).expect("entry"),
        "a.example.com"
    );
}

fn row_of_domain(domain: &str) -> cdrs_tokio::types::rows::Row {
    row(&[("domain_name", text(), Value::new(domain))])
}

#[test]
fn bad_certificate_rows_are_errors_naming_the_column() {
    let values = CertRow::encode(&cert()).expect("encode").insert_values();
    let mut bad_body = values.clone();
    bad_body[5] = Value::new("{\"domain_name\": 3");
    let error = certs::cert_from_row(&stored_cert_row(&bad_body)).expect_err("bad body");
    assert!(error.to_string().contains("www.example.com"), "{error}");
    assert_eq!(corrupt_column(error), "body");

    let mut bad_status = values.clone();
    bad_status[4] = Value::new("sleeping");
    assert_eq!(
        corrupt_column(
            certs::cert_status_from_row(&stored_cert_row(&bad_status)).expect_err("bad status")
        ),
        "status"
    );
    let mut null_body = values;
    null_body[5] = Value::Null;
    assert_eq!(
        corrupt_column(certs::cert_from_row(&stored_cert_row(&null_body)).expect_err("null")),
        "body"
    );
}

#[test]
fn a_refused_insert_is_the_contract_conflict() {
    assert!(certs::cert_inserted(&lwt_answer(true, &[])).expect("applied"));
    // A refused `IF NOT EXISTS` answers with the existing row.
    let existing = lwt_answer(
        false,
        &[
            ("domain_name", text(), Value::new("www.example.com")),
            ("project_id", text(), Value::new("p2")),
        ],
    );
    assert!(!certs::cert_inserted(&existing).expect("refused"));
    assert!(matches!(
        certs::cert_inserted(&[]),
        Err(CassandraError::UnexpectedAnswer { .. })
    ));
    match certs::cert_exists("WWW.Example.com") {
        PortError::Conflict(message) => {
            assert_eq!(message, "Certificate already exists for www.example.com")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn answers_of_the_conditional_update_are_read() {
    let expected = CertStatus::CreateInProgress;
    let status = |v: Value| lwt_answer(false, &[("status", text(), v)]);
    assert_eq!(
        certs::cert_update_outcome(&lwt_answer(true, &[]), expected).expect("applied"),
        CertUpdateOutcome::Applied
    );
    assert_eq!(
        certs::cert_update_outcome(&lwt_answer(false, &[]), expected).expect("bare"),
        CertUpdateOutcome::Unknown,
        "a bare [applied] = false (Cassandra's answer for a missing row) is settled by a read"
    );
    assert_eq!(
        certs::cert_update_outcome(&status(Value::Null), expected).expect("null"),
        CertUpdateOutcome::Missing
    );
    assert_eq!(
        certs::cert_update_outcome(&status(Value::new("failed")), expected).expect("moved"),
        CertUpdateOutcome::Moved {
            found: CertStatus::Failed
        }
    );
    assert_eq!(
        certs::cert_update_outcome(&status(Value::new("create_in_progress")), expected)
            .expect("same"),
        CertUpdateOutcome::Unknown,
        "refused although the status matched: read again"
    );
    assert_eq!(
        corrupt_column(
            certs::cert_update_outcome(&status(Value::new("sleeping")), expected)
                .expect_err("corrupt")
        ),
        "status"
    );
}

#[test]
fn answers_of_the_conditional_delete_are_read() {
    assert_eq!(
        certs::cert_delete_outcome(&lwt_answer(true, &[])).expect("applied"),
        CertDeleteOutcome::Deleted
    );
    assert_eq!(
        certs::cert_delete_outcome(&lwt_answer(
            false,
            &[("project_id", text(), Value::new("p2"))]
        ))
        .expect("other project"),
        CertDeleteOutcome::OtherProject(ProjectId::new("p2")),
        "another project's record is left alone"
    );
    assert_eq!(
        certs::cert_delete_outcome(&lwt_answer(false, &[])).expect("missing"),
        CertDeleteOutcome::Missing
    );
    assert!(certs::cert_delete_outcome(&[]).is_err());
}

/// The row [`cql::GET_CERT_QUEUE`] returns after `write` was applied.
fn stored_queue_row(write: &QueueWrite) -> Vec<cdrs_tokio::types::rows::Row> {
    let values = write.values("akamai", CertQueue::SanMapping);
    rows(
        &[
            ("version", ColType::Bigint),
            ("items", text()),
            ("recent_writes", text()),
        ],
        vec![vec![
            values[0].clone(),
            values[1].clone(),
            values[2].clone(),
        ]],
    )
}

fn decode(rows: &[cdrs_tokio::types::rows::Row]) -> StoredQueue {
    certs::queue_from_rows("akamai", CertQueue::SanMapping, rows).expect("queue")
}

#[test]
fn a_queue_round_trips_in_order_through_its_compare_and_set() {
    assert_eq!(
        certs::queue_key_values("akamai", CertQueue::Retry),
        vec![Value::new("akamai"), Value::new("retry_list")]
    );
    let empty = decode(&[]);
    assert_eq!(empty, StoredQueue::empty(), "no row: a queue never written");

    let first = QueueWrite::after(&empty, &[json!({"n": 0})]).expect("first");
    assert_eq!(first.expected, None);
    assert_eq!(first.version, 1);
    let values = first.values("akamai", CertQueue::SanMapping);
    assert_eq!(values[3], Value::new("akamai"));
    assert_eq!(values[4], Value::new("san_mapping"));
    assert_eq!(
        values[5],
        Value::Null,
        "the first write expects IF version = null"
    );

    let stored = decode(&stored_queue_row(&first));
    assert_eq!(stored.version, Some(1));
    assert_eq!(stored.items, vec![json!({"n": 0})]);
    assert_eq!(stored.recent_writes, vec![first.write_id]);

    let mut items = stored.items.clone();
    items.extend([json!({"n": 1}), json!("two"), json!(3)]);
    let second = QueueWrite::after(&stored, &items).expect("second");
    assert_eq!(second.expected, Some(1));
    assert_eq!(second.version, 2);
    assert_eq!(
        second.values("akamai", CertQueue::SanMapping)[5],
        Value::new(1_i64),
        "IF version = the version read"
    );
    assert_ne!(second.write_id, first.write_id, "a fresh id per attempt");
    let stored = decode(&stored_queue_row(&second));
    assert_eq!(stored.items, items, "first in, first out");
    assert_eq!(stored.recent_writes, vec![first.write_id, second.write_id]);
}

#[test]
fn a_queue_remembers_a_bounded_number_of_write_ids() {
    let mut stored = StoredQueue::empty();
    let mut ids = Vec::new();
    for n in 0..(RECENT_WRITES + 5) {
        let write = QueueWrite::after(&stored, &[json!(n)]).expect("write");
        ids.push(write.write_id);
        stored = decode(&stored_queue_row(&write));
    }
    assert_eq!(stored.recent_writes.len(), RECENT_WRITES);
    assert_eq!(
        stored.recent_writes,
        ids[ids.len() - RECENT_WRITES..],
        "the newest ids, oldest first"
    );
    assert_eq!(
        stored.version,
        Some(i64::try_from(RECENT_WRITES + 5).expect("small"))
    );
}

#[test]
fn a_lost_queue_answer_is_settled_by_the_write_ids() {
    let base = decode(&stored_queue_row(
        &QueueWrite::after(&StoredQueue::empty(), &[json!(1)]).expect("base"),
    ));
    let ours = QueueWrite::after(&base, &[json!(1), json!(2)]).expect("ours");

    // Nobody wrote: ours was not applied.
    assert_eq!(ours.settle(&base), QueueSettle::NotApplied);
    // Ours is stored.
    let applied = decode(&stored_queue_row(&ours));
    assert_eq!(ours.settle(&applied), QueueSettle::Applied);
    // Another process won the same version with the same items: not ours.
    let rival = QueueWrite::after(&base, &[json!(1), json!(2)]).expect("rival");
    let rival_stored = decode(&stored_queue_row(&rival));
    assert_eq!(rival_stored.items, applied.items);
    assert_eq!(ours.settle(&rival_stored), QueueSettle::NotApplied);
    // Ours was applied, then others wrote after it: still recognised.
    let mut later = applied.clone();
    for n in 0..5 {
        later = decode(&stored_queue_row(
            &QueueWrite::after(&later, &[json!(n)]).expect("later"),
        ));
    }
    assert_eq!(ours.settle(&later), QueueSettle::Applied);
    // More writes since than the row remembers, ours not among them.
    let mut flood = rival_stored;
    for n in 0..RECENT_WRITES {
        flood = decode(&stored_queue_row(
            &QueueWrite::after(&flood, &[json!(n)]).expect("flood"),
        ));
    }
    assert_eq!(ours.settle(&flood), QueueSettle::Unknown);
}

#[test]
fn bad_queue_rows_are_errors_naming_the_column() {
    let columns = [
        ("version", ColType::Bigint),
        ("items", text()),
        ("recent_writes", text()),
    ];
    let bad_items = rows(
        &columns,
        vec![vec![
            Value::new(1_i64),
            Value::new("{\"not\": \"a list\"}"),
            Value::new("[]"),
        ]],
    );
    let error = certs::queue_from_rows("akamai", CertQueue::Retry, &bad_items).expect_err("items");
    assert!(error.to_string().contains("akamai"), "{error}");
    assert_eq!(corrupt_column(error), "items");
    let bad_ids = rows(
        &columns,
        vec![vec![
            Value::new(1_i64),
            Value::new("[]"),
            Value::new("[\"not-a-uuid\"]"),
        ]],
    );
    assert_eq!(
        corrupt_column(
            certs::queue_from_rows("akamai", CertQueue::Retry, &bad_ids).expect_err("ids")
        ),
        "recent_writes"
    );
}

#[test]
fn a_setting_round_trips_and_a_bad_one_is_an_error() {
    let value = json!({"spsId": 2, "enabled": true, "names": ["a", "b"]});
    let values = certs::put_setting_values("akamai", "san:x", &value).expect("encode");
    assert_eq!(values[0], Value::new("akamai"));
    assert_eq!(values[1], Value::new("san:x"));
    assert_eq!(
        certs::setting_key_values("akamai", "san:x"),
        values[..2].to_vec()
    );
    let stored = rows(&[("value", text())], vec![vec![values[2].clone()]]);
    assert_eq!(
        certs::setting_from_rows("akamai", "san:x", &stored).expect("decode"),
        Some(value)
    );
    assert_eq!(
        certs::setting_from_rows("akamai", "san:x", &[]).expect("missing"),
        None
    );
    let bad = rows(&[("value", text())], vec![vec![Value::new("{")]]);
    assert_eq!(
        corrupt_column(certs::setting_from_rows("akamai", "san:x", &bad).expect_err("bad")),
        "value"
    );
}

#[test]
fn queue_write_ids_are_uuids_not_counters() {
    let write = QueueWrite::after(&StoredQueue::empty(), &[]).expect("write");
    assert_eq!(write.write_id.get_version_num(), 4);
    assert_eq!(write.items, "[]");
    let ids: Vec<Uuid> = serde_json::from_str(&write.recent_writes).expect("ids");
    assert_eq!(ids, vec![write.write_id]);
}
