//! Driver and store errors → what the caller can do (`PortError` kinds).

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::Duration;

use cdrs_tokio::consistency::Consistency;
use cdrs_tokio::error::Error as DriverError;
use cdrs_tokio::frame::message_error::{
    ErrorBody, ErrorType, UnavailableError, WriteTimeoutError, WriteType,
};
use cdrs_tokio::frame::{FromCursor, Version};
use poppy_adapters::storage::cassandra::{classify, CassandraError, Failure};
use poppy_core::ports::PortError;

fn server(ty: ErrorType) -> DriverError {
    let addr: SocketAddr = "127.0.0.1:9042".parse().expect("address");
    DriverError::Server {
        body: ErrorBody {
            message: "from the server".to_owned(),
            ty,
        },
        addr,
    }
}

/// An error frame body as the server encodes it: code, message, details.
fn decoded(code: i32, details: &[u8]) -> DriverError {
    let mut bytes = code.to_be_bytes().to_vec();
    let message = b"from the wire";
    bytes.extend((message.len() as u16).to_be_bytes());
    bytes.extend(message);
    bytes.extend(details);
    let body =
        ErrorBody::from_cursor(&mut Cursor::new(&bytes[..]), Version::V4).expect("error body");
    let addr: SocketAddr = "127.0.0.1:9042".parse().expect("address");
    DriverError::Server { body, addr }
}

fn write_timeout(write_type: WriteType) -> DriverError {
    server(ErrorType::WriteTimeout(WriteTimeoutError {
        cl: Consistency::LocalQuorum,
        received: 1,
        block_for: 2,
        contentions: (write_type == WriteType::Cas).then_some(3),
        write_type,
    }))
}

fn port(source: DriverError) -> PortError {
    CassandraError::query("test statement", source).into()
}

#[test]
fn refusals_before_running_are_retryable_with_a_hint() {
    let unavailable = server(ErrorType::Unavailable(UnavailableError {
        cl: Consistency::Quorum,
        required: 2,
        alive: 1,
    }));
    assert_eq!(
        classify(&unavailable),
        Failure::Refused {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    match port(unavailable) {
        PortError::Unavailable {
            backend,
            message,
            retry_after,
        } => {
            assert_eq!(backend, "cassandra");
            assert!(message.contains("test statement"), "{message}");
            assert_eq!(retry_after, Some(Duration::from_secs(1)));
        }
        other => panic!("Unavailable must map to PortError::Unavailable, got {other:?}"),
    }
    for ty in [ErrorType::Overloaded, ErrorType::IsBootstrapping] {
        let error = server(ty);
        assert!(matches!(
            classify(&error),
            Failure::Refused {
                retry_after: Some(_)
            }
        ));
        assert!(port(error).is_retryable());
    }
}

#[test]
fn timeouts_leave_the_outcome_unknown_and_are_retryable() {
    assert_eq!(
        classify(&write_timeout(WriteType::Cas)),
        Failure::OutcomeUnknown { cas: true }
    );
    assert_eq!(
        classify(&write_timeout(WriteType::Simple)),
        Failure::OutcomeUnknown { cas: false }
    );
    // ReadTimeout: consistency, received, block_for, data_present.
    let mut details = 0x0006_u16.to_be_bytes().to_vec();
    details.extend(1_i32.to_be_bytes());
    details.extend(2_i32.to_be_bytes());
    details.push(0);
    let read_timeout = decoded(0x1200, &details);
    assert!(
        matches!(&read_timeout, DriverError::Server { body, .. } if matches!(body.ty, ErrorType::ReadTimeout(_)))
    );
    assert_eq!(
        classify(&read_timeout),
        Failure::OutcomeUnknown { cas: false }
    );
    for error in [
        write_timeout(WriteType::Cas),
        read_timeout,
        DriverError::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )),
        DriverError::Timeout("request".to_owned()),
        DriverError::General("No nodes available in query plan!".to_owned()),
        DriverError::General("Connection closed while waiting for response!".to_owned()),
    ] {
        let shown = error.to_string();
        let mapped = port(error);
        assert!(
            matches!(mapped, PortError::Unavailable { .. }),
            "{shown} must be Unavailable (retryable), got {mapped:?}"
        );
    }
    let store_error = CassandraError::query("claim domain", write_timeout(WriteType::Cas));
    assert!(
        store_error.outcome_unknown(),
        "the store settles such writes with a serial read"
    );
}

#[test]
fn mistakes_and_setup_errors_are_internal() {
    for (error, what) in [
        (server(ErrorType::Syntax), "syntax"),
        (server(ErrorType::Invalid), "invalid"),
        (server(ErrorType::Unauthorized), "unauthorized"),
        (server(ErrorType::Authentication), "authentication"),
        (server(ErrorType::Config), "config"),
        (server(ErrorType::Server), "server"),
        (
            DriverError::General("Invalid replication".to_owned()),
            "general",
        ),
    ] {
        assert_eq!(classify(&error), Failure::Permanent, "{what}");
        let mapped = port(error);
        match &mapped {
            PortError::Internal { backend, .. } => assert_eq!(backend, "cassandra"),
            other => panic!("{what} must be Internal, got {other:?}"),
        }
        assert!(!mapped.is_retryable());
    }
    assert!(!Failure::Permanent.is_transient());
    assert!(Failure::OutcomeUnknown { cas: false }.is_transient());
}

#[test]
fn store_errors_map_to_port_errors() {
    let contention: PortError = CassandraError::Contention {
        op: "create service",
        attempts: 24,
    }
    .into();
    match contention {
        PortError::Unavailable {
            message,
            retry_after,
            ..
        } => {
            assert!(message.contains("create service"), "{message}");
            assert!(retry_after.is_some());
        }
        other => panic!("contention must be retryable, got {other:?}"),
    }
    let connect: PortError = CassandraError::ConnectTimeout {
        contact_points: "127.0.0.1:9042".to_owned(),
        timeout_ms: 5,
    }
    .into();
    assert!(connect.is_retryable());
    let corrupt: PortError = CassandraError::CorruptRow {
        what: "services row (p, id)".to_owned(),
        column: "spec",
        message: "expected value".to_owned(),
    }
    .into();
    assert!(matches!(corrupt, PortError::Internal { .. }));
    assert!(corrupt.to_string().contains("spec"), "{corrupt}");
    let missing: PortError = CassandraError::SchemaNotMigrated {
        keyspace: "poppy".to_owned(),
        missing: vec!["0001_initial_schema"],
    }
    .into();
    assert!(
        missing.to_string().contains("automatic_schema_migration"),
        "{missing}"
    );
}
