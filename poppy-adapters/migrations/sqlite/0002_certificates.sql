-- Poppy's SQLite schema, version 2: SSL certificates and the operator queues.
--
-- Applied once per database file, after 0001, inside the same kind of
-- BEGIN IMMEDIATE transaction; PRAGMA user_version becomes 2.

-- One certificate record per domain (lower-case), across projects. The
-- record is a JSON document; the columns queries filter on are plain columns.
CREATE TABLE certificates (
    domain_name TEXT    NOT NULL PRIMARY KEY,
    project_id  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
-- Operator look-up by status (`GET /admin/certificates?status=`).
CREATE INDEX certificates_by_status ON certificates (status, domain_name);

-- The per-provider queues (retry list, SAN mapping). `seq` is the enqueue
-- order (AUTOINCREMENT: never reused, so FIFO survives deletes).
CREATE TABLE certificate_queue (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    queue    TEXT NOT NULL,
    item     TEXT NOT NULL
);
CREATE INDEX certificate_queue_by_name ON certificate_queue (provider, queue, seq);

-- Per-provider certificate settings (shared certificate configs, limits).
CREATE TABLE certificate_settings (
    provider TEXT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (provider, key)
) WITHOUT ROWID;
