//! The embedded schema migrations and the pure parts of applying them:
//! statement splitting, the keyspace statement, which migrations are due.

use std::collections::BTreeSet;

use super::config::Replication;

/// One embedded `.cql` file of `migrations/cassandra/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The file name without `.cql`; what `schema_migrations` records.
    pub name: &'static str,
    /// The file's text: statements separated by `;`, `--` comments.
    pub cql: &'static str,
}

/// Every migration, in the order they are applied. Append only: never edit,
/// rename or reorder a shipped file.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_initial_schema",
        cql: include_str!("../../../migrations/cassandra/0001_initial_schema.cql"),
    },
    Migration {
        name: "0002_service_limits",
        cql: include_str!("../../../migrations/cassandra/0002_service_limits.cql"),
    },
    Migration {
        name: "0003_service_status",
        cql: include_str!("../../../migrations/cassandra/0003_service_status.cql"),
    },
    Migration {
        name: "0004_provider_url_domain",
        cql: include_str!("../../../migrations/cassandra/0004_provider_url_domain.cql"),
    },
    Migration {
        name: "0005_certificates",
        cql: include_str!("../../../migrations/cassandra/0005_certificates.cql"),
    },
];

/// The table recording applied migrations, created before any migration.
pub const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
    (name text PRIMARY KEY, applied_at timestamp)";
/// The names of applied migrations.
pub const LIST_APPLIED: &str = "SELECT name FROM schema_migrations";
/// Records one applied migration (`name`, `applied_at` in milliseconds).
pub const RECORD_APPLIED: &str = "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)";

/// `CREATE KEYSPACE IF NOT EXISTS` for `keyspace` (a validated identifier).
pub fn create_keyspace_cql(keyspace: &str, replication: &Replication) -> String {
    format!(
        "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {} \
         AND durable_writes = true",
        replication.cql_map()
    )
}

/// The migrations still to apply given the names already recorded, in
/// order; `Err` with the unknown names when the keyspace was migrated by a
/// newer build.
pub fn pending(applied: &BTreeSet<String>) -> Result<Vec<&'static Migration>, Vec<String>> {
    let unknown: Vec<String> = applied
        .iter()
        .filter(|name| !MIGRATIONS.iter().any(|m| m.name == name.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    Ok(MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(m.name))
        .collect())
}

/// The statements of a CQL script: split at `;` outside string literals,
/// `--`/`//` line comments and `/* */` block comments removed, runs of
/// whitespace outside literals made one space, empty statements dropped.
pub fn statements(script: &str) -> Vec<String> {
    #[derive(PartialEq)]
    enum State {
        Code,
        Quoted,
        LineComment,
        BlockComment,
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let mut state = State::Code;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match state {
            State::Code => match c {
                '\'' => {
                    current.push(c);
                    state = State::Quoted;
                }
                '-' if chars.peek() == Some(&'-') => state = State::LineComment,
                '/' if chars.peek() == Some(&'/') => state = State::LineComment,
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    state = State::BlockComment;
                }
                ';' => push_statement(&mut out, &mut current),
                c if c.is_whitespace() => space(&mut current),
                c => current.push(c),
            },
            State::Quoted => {
                current.push(c);
                if c == '\'' {
                    // `''` is an escaped quote inside the literal.
                    if chars.peek() == Some(&'\'') {
                        current.push('\'');
                        chars.next();
                    } else {
                        state = State::Code;
                    }
                }
            }
            State::LineComment => {
                if c == '\n' {
                    space(&mut current);
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    space(&mut current);
                    state = State::Code;
                }
            }
        }
    }
    push_statement(&mut out, &mut current);
    out
}

/// One space between words outside literals, none leading.
fn space(current: &mut String) {
    if !current.is_empty() && !current.ends_with(' ') {
        current.push(' ');
    }
}

fn push_statement(out: &mut Vec<String>, current: &mut String) {
    let statement = current.trim();
    if !statement.is_empty() {
        out.push(statement.to_owned());
    }
    current.clear();
}
