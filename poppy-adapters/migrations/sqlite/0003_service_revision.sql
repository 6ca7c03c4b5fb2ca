-- Poppy's SQLite schema, version 3: the revision of a service row.
--
-- Applied once per database file, after 0002, inside the same kind of
-- BEGIN IMMEDIATE transaction; PRAGMA user_version becomes 3.

-- Which incarnation of a service id a row is: every insert draws a new
-- random value, so a service deleted and created again under the same id is
-- told apart from the old one even at the same version. Rows written before
-- this migration keep 0; their next version still tells every update apart.
ALTER TABLE services ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- (version, generation) is the revision of a row: every write through the
-- store bumps the version (optimistic concurrency already requires it). The
-- index holds the revisions of all services in a few pages, so the store can
-- tell whether the services it keeps decoded are still current without
-- reading the rows' JSON (a service row is a kilobyte or more; the rows of
-- 10,000 services do not fit in a reader's page cache, this index does).
--
-- With the status, it also answers the per-project counts (the limit check
-- of every create) that services_by_project_status answered: one index fewer
-- for every write to update.
CREATE INDEX services_revision
    ON services (project_id, service_id, version, generation, status);
DROP INDEX services_by_project_status;
