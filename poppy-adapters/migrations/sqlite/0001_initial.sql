-- Poppy's SQLite schema, version 1.
--
-- Applied once per database file inside a BEGIN IMMEDIATE transaction; the
-- number of applied migrations is kept in PRAGMA user_version.
--
-- Ids are TEXT: a service id is its hyphenated lower-case UUID, so the BINARY
-- order of the column is the order of `ServiceId` and keyset pagination
-- (`service_id > marker ORDER BY service_id`) walks the primary key.

-- One row per service. The tenant's definition and the per-provider state are
-- JSON documents; the columns queries filter on are plain columns.
-- WITHOUT ROWID: the primary key is the table, so a page of a project's
-- services is one range read of the clustered key.
CREATE TABLE services (
    project_id       TEXT    NOT NULL,
    service_id       TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    operator_status  TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    spec             TEXT    NOT NULL,
    provider_details TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (project_id, service_id)
) WITHOUT ROWID;

-- Operator look-up by status (reconciler, admin); covers (project_id, service_id).
CREATE INDEX services_by_status ON services (status, service_id);
-- Per-project count of live services (limit check) without reading the JSON.
CREATE INDEX services_by_project_status ON services (project_id, status);

-- Global domain claims: the primary key makes a second claim a constraint
-- violation inside the writing transaction.
CREATE TABLE domains (
    domain     TEXT NOT NULL PRIMARY KEY,
    project_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    FOREIGN KEY (project_id, service_id)
        REFERENCES services (project_id, service_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX domains_by_service ON domains (project_id, service_id);

-- Reverse index: which domains a provider host name serves.
CREATE TABLE provider_urls (
    provider_url TEXT NOT NULL,
    domain       TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    service_id   TEXT NOT NULL,
    PRIMARY KEY (provider_url, domain, project_id, service_id),
    FOREIGN KEY (project_id, service_id)
        REFERENCES services (project_id, service_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX provider_urls_by_service ON provider_urls (project_id, service_id);

-- Per-project service limits set by an operator.
CREATE TABLE service_limits (
    project_id   TEXT    NOT NULL PRIMARY KEY,
    max_services INTEGER NOT NULL
) WITHOUT ROWID;

-- Flavors, each a JSON document.
CREATE TABLE flavors (
    flavor_id TEXT NOT NULL PRIMARY KEY,
    body      TEXT NOT NULL
) WITHOUT ROWID;

-- The job board. `seq` is the post order (AUTOINCREMENT: never reused, even
-- after the newest job is deleted). `body` is the job as posted; the
-- columns after it are the mutable state and win over the body's copies.
-- Times are milliseconds since the Unix epoch.
CREATE TABLE jobs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    project_id  TEXT    NOT NULL,
    service_id  TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  INTEGER NOT NULL,
    lease_token TEXT,
    lease_owner TEXT,
    lease_until INTEGER,
    progress    TEXT,
    last_error  TEXT,
    state       TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'failed')),
    created_at  INTEGER NOT NULL
);
-- "Is there an older queued job of this service?" and pending_for.
CREATE INDEX jobs_queued_by_service ON jobs (service_id, seq) WHERE state = 'queued';
-- The claim scan walks queued jobs in post order, skipping failed ones.
CREATE INDEX jobs_queued ON jobs (seq) WHERE state = 'queued';
