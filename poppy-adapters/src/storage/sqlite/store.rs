//! [`ServiceStore`] and [`FlavorStore`] on SQLite.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use poppy_core::model::{
    Flavor, Job, OperatorStatus, ProjectId, Service, ServiceId, ServiceStatus,
};
use poppy_core::ports::{Current, FlavorStore, PortError, Revision, ServiceStore, Snapshot};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::decoded::DecodeCache;
use super::error::{corrupt, is_constraint, text, Fail, SqliteError};
use super::{SqliteDatabase, NAME};
use crate::jobs::sqlite::JobRow;

/// The hot read queries, public so diagnostics can `EXPLAIN` them.
pub mod sql {
    /// One service by `(project_id, service_id)`.
    pub const GET_SERVICE: &str = "SELECT project_id, service_id, status, operator_status, \
        version, spec, provider_details, created_at, updated_at, generation \
        FROM services WHERE project_id = ?1 AND service_id = ?2";
    /// The revision of one service, from the small `services_revision`
    /// index instead of the row.
    pub const REVISION_OF_SERVICE: &str = "SELECT version, generation \
        FROM services INDEXED BY services_revision WHERE project_id = ?1 AND service_id = ?2";
    /// A page of a project's services after a marker (keyset pagination).
    pub const LIST_SERVICES: &str = "SELECT project_id, service_id, status, operator_status, \
        version, spec, provider_details, created_at, updated_at, generation \
        FROM services WHERE project_id = ?1 AND service_id > ?2 \
        ORDER BY service_id LIMIT ?3";
    /// The ids and revisions of the page [`LIST_SERVICES`] reads, from the
    /// `services_revision` index.
    pub const REVISIONS_OF_PAGE: &str = "SELECT service_id, version, generation \
        FROM services INDEXED BY services_revision WHERE project_id = ?1 AND service_id > ?2 \
        ORDER BY service_id LIMIT ?3";
    /// Live services of a project (limit check).
    pub const COUNT_SERVICES: &str = "SELECT COUNT(*) FROM services \
        INDEXED BY services_revision WHERE project_id = ?1 AND status <> 'delete_in_progress'";
    /// Live services of a project, counted up to `?2` only: the limit check
    /// costs the same however many services a project has.
    pub const COUNT_SERVICES_UP_TO: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM services \
        INDEXED BY services_revision \
        WHERE project_id = ?1 AND status <> 'delete_in_progress' LIMIT ?2)";
    /// Services in a status, any project, after a marker.
    pub const LIST_BY_STATUS: &str = "SELECT project_id, service_id FROM services \
        WHERE status = ?1 AND service_id > ?2 ORDER BY service_id LIMIT ?3";
    /// The service holding a domain.
    pub const FIND_BY_DOMAIN: &str = "SELECT s.project_id, s.service_id, s.status, \
        s.operator_status, s.version, s.spec, s.provider_details, s.created_at, s.updated_at, \
        s.generation FROM domains AS d JOIN services AS s \
        ON s.project_id = d.project_id AND s.service_id = d.service_id \
        WHERE d.domain = ?1";
    /// Domains served by a provider host name.
    pub const DOMAINS_BY_PROVIDER_URL: &str =
        "SELECT DISTINCT domain FROM provider_urls WHERE provider_url = ?1 ORDER BY domain";
}

/// Services, their indexes and flavors in a [`SqliteDatabase`].
///
/// With [`SqliteStore::with_outbox`] on, `create` and `update` write the job
/// they are given in the same transaction as the service, into the table a
/// [`SqliteJobBoard`](crate::jobs::sqlite::SqliteJobBoard) on the same
/// database reads. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    db: SqliteDatabase,
    outbox: bool,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("db", &self.db)
            .field("outbox", &self.outbox)
            .finish()
    }
}

impl SqliteStore {
    /// A store on `db`, outbox off.
    pub fn new(db: &SqliteDatabase) -> Self {
        Self {
            db: db.clone(),
            outbox: false,
        }
    }

    /// Turns the outbox on or off (see the type's docs).
    pub fn with_outbox(mut self, outbox: bool) -> Self {
        self.outbox = outbox;
        self
    }

    /// The database this store writes to.
    pub fn database(&self) -> &SqliteDatabase {
        &self.db
    }

    /// The outbox job to write with a service, if any.
    fn outbox_job(&self, job: Option<&Job>) -> Result<Option<JobRow>, PortError> {
        match job {
            Some(job) if self.outbox => Ok(Some(
                JobRow::encode(job).map_err(|e| e.into_port("encode job"))?,
            )),
            _ => Ok(None),
        }
    }
}

/// A service encoded for storage, owned so it can move to a blocking task.
struct ServiceRow {
    project_id: String,
    service_id: String,
    status: &'static str,
    operator_status: &'static str,
    version: i64,
    spec: String,
    provider_details: String,
    created_at: i64,
    updated_at: i64,
    domains: BTreeSet<String>,
    /// `(provider_url, domain)` pairs of the provider details.
    provider_urls: BTreeSet<(String, String)>,
}

impl ServiceRow {
    fn encode(service: &Service) -> Result<Self, Fail> {
        let what = || format!("service {}/{}", service.project_id, service.id);
        let json = |value: Result<String, serde_json::Error>| {
            value.map_err(|e| {
                Fail::Adapter(SqliteError::Encode {
                    what: what(),
                    message: e.to_string(),
                })
            })
        };
        let version = i64::try_from(service.version).map_err(|_| {
            Fail::Port(PortError::Invalid(format!(
                "service {} version {} is out of range",
                service.id, service.version
            )))
        })?;
        let provider_urls = service
            .provider_details
            .values()
            .flat_map(|detail| &detail.access_urls)
            .filter_map(|url| {
                url.provider_url
                    .as_ref()
                    .map(|p| (p.clone(), url.domain.clone()))
            })
            .collect();
        Ok(Self {
            project_id: service.project_id.as_str().to_owned(),
            service_id: service.id.to_string(),
            status: service.status.as_str(),
            operator_status: service.operator_status.as_str(),
            version,
            spec: json(serde_json::to_string(&service.spec))?,
            provider_details: json(serde_json::to_string(&service.provider_details))?,
            created_at: service.created_at,
            updated_at: service.updated_at,
            domains: service.domain_names().map(str::to_owned).collect(),
            provider_urls,
        })
    }

    /// Claims every domain not yet held by this service; a domain held by
    /// another service is a `Conflict` and the caller rolls back.
    fn claim_domains<'a>(
        &self,
        conn: &Connection,
        domains: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), Fail> {
        let mut claim = conn.prepare_cached(
            "INSERT INTO domains (domain, project_id, service_id) VALUES (?1, ?2, ?3) \
             ON CONFLICT (domain) DO NOTHING",
        )?;
        let mut holder =
            conn.prepare_cached("SELECT project_id, service_id FROM domains WHERE domain = ?1")?;
        for domain in domains {
            if claim.execute(params![domain, self.project_id, self.service_id])? == 1 {
                continue;
            }
            let (project, service): (String, String) =
                holder.query_row([domain], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if project != self.project_id || service != self.service_id {
                return Err(Fail::Port(PortError::Conflict(format!(
                    "Domain {domain} has already been taken"
                ))));
            }
        }
        Ok(())
    }

    /// Replaces the provider-URL index rows of this service.
    fn index_provider_urls(&self, conn: &Connection) -> Result<(), Fail> {
        conn.prepare_cached("DELETE FROM provider_urls WHERE project_id = ?1 AND service_id = ?2")?
            .execute(params![self.project_id, self.service_id])?;
        let mut insert = conn.prepare_cached(
            "INSERT OR IGNORE INTO provider_urls (provider_url, domain, project_id, service_id) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (url, domain) in &self.provider_urls {
            insert.execute(params![url, domain, self.project_id, self.service_id])?;
        }
        Ok(())
    }
}

/// The revision of a row with `version` and `generation`.
fn revision(version: i64, generation: i64) -> Revision {
    // Both as their 64 bits: distinct pairs give distinct revisions.
    Revision::new(u128::from(version as u64) << 64 | u128::from(generation as u64))
}

/// The revision of row `(project, id)` from the `services_revision` index.
fn revision_of(conn: &Connection, project: &str, id: &str) -> Result<Option<Revision>, Fail> {
    Ok(conn
        .prepare_cached(sql::REVISION_OF_SERVICE)?
        .query_row([project, id], |r| Ok(revision(r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Row `(project, id)` unless it is at revision `held`: the revision from
/// the index first (when the caller or the cache may hold it), the row
/// itself only when neither does.
fn current_service(
    conn: &Connection,
    cache: &DecodeCache,
    project: &str,
    id: ServiceId,
    held: Option<Revision>,
) -> Result<Option<Current>, Fail> {
    let id_text = id.to_string();
    if held.is_some() || cache.is_on() {
        let Some(revision) = revision_of(conn, project, &id_text)? else {
            return Ok(None);
        };
        if held == Some(revision) {
            return Ok(Some(Current::Unchanged));
        }
        if let Some(service) = cache.get(&id, revision) {
            return Ok(Some(Current::Changed(Snapshot {
                service,
                revision: Some(revision),
            })));
        }
    }
    // Not held (or changed since the look-up): the row itself.
    let mut stmt = conn.prepare_cached(sql::GET_SERVICE)?;
    let mut rows = stmt.query([project, id_text.as_str()])?;
    match rows.next()? {
        Some(row) => Ok(Some(Current::Changed(snapshot_from_row(row, cache)?))),
        None => Ok(None),
    }
}

/// Decodes a row with the columns of [`sql::GET_SERVICE`], in its order,
/// or takes the service decoded from the same revision of the row from
/// `cache`. Bad data is an error naming the row, never a panic.
fn snapshot_from_row(row: &Row<'_>, cache: &DecodeCache) -> Result<Snapshot, Fail> {
    let project = text(row, 0)?;
    let id_text = text(row, 1)?;
    let what = || format!("services row ({project}, {id_text})");
    let id = ServiceId::from_str(id_text).map_err(|e| corrupt(what(), "service_id", e))?;
    let stored_version: i64 = row.get(4)?;
    let revision = revision(stored_version, row.get(9)?);
    let service = cache.get_or_decode(&id, revision, || {
        let status =
            ServiceStatus::from_str(text(row, 2)?).map_err(|e| corrupt(what(), "status", e))?;
        let operator_status = OperatorStatus::from_str(text(row, 3)?)
            .map_err(|e| corrupt(what(), "operator_status", e))?;
        let version = u64::try_from(stored_version).map_err(|_| {
            corrupt(
                what(),
                "version",
                format!("negative version {stored_version}"),
            )
        })?;
        let spec = serde_json::from_str(text(row, 5)?).map_err(|e| corrupt(what(), "spec", e))?;
        let provider_details = serde_json::from_str(text(row, 6)?)
            .map_err(|e| corrupt(what(), "provider_details", e))?;
        Ok::<_, Fail>(Service {
            id,
            project_id: ProjectId::new(project),
            spec,
            status,
            operator_status,
            provider_details,
            version,
            created_at: row.get(7)?,
            updated_at: row.get(8)?,
        })
    })?;
    Ok(Snapshot {
        service,
        revision: Some(revision),
    })
}

/// The held services of the page `LIST_SERVICES` would read, when every
/// one of them is held at its current revision (read from the index).
fn page_from_cache(
    conn: &Connection,
    cache: &DecodeCache,
    page: (&str, &str, u32),
) -> Result<Option<Vec<Snapshot>>, Fail> {
    let (project, after, limit) = page;
    let mut stmt = conn.prepare_cached(sql::REVISIONS_OF_PAGE)?;
    let mut rows = stmt.query(params![project, after, i64::from(limit)])?;
    let mut out = Vec::with_capacity(limit.min(1_000) as usize);
    while let Some(row) = rows.next()? {
        let Ok(id) = ServiceId::from_str(text(row, 0)?) else {
            // The full read reports the bad id with the row it is in.
            return Ok(None);
        };
        let revision = revision(row.get(1)?, row.get(2)?);
        match cache.get(&id, revision) {
            Some(service) => out.push(Snapshot {
                service,
                revision: Some(revision),
            }),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

fn id_after(marker: Option<ServiceId>) -> String {
    // The empty string sorts before every id, the nil UUID included.
    marker.map(|m| m.to_string()).unwrap_or_default()
}

fn sql_count(n: i64, what: &'static str) -> Result<u64, Fail> {
    u64::try_from(n).map_err(|_| corrupt(what, "count", format!("negative count {n}")))
}

#[async_trait]
impl ServiceStore for SqliteStore {
    fn name(&self) -> &str {
        NAME
    }

    async fn is_alive(&self) -> bool {
        self.db
            .read("ping", |c| {
                Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)
            })
            .await
            .is_ok()
    }

    fn writes_jobs(&self) -> bool {
        self.outbox
    }

    async fn create(
        &self,
        service: &Service,
        max_services: u32,
        job: Option<Job>,
    ) -> Result<(), PortError> {
        let row = ServiceRow::encode(service).map_err(|e| e.into_port("encode service"))?;
        let job = self.outbox_job(job.as_ref())?;
        let posted = job.is_some();
        self.db
            .write("create service", move |tx| {
                let live: i64 = tx
                    .prepare_cached(sql::COUNT_SERVICES_UP_TO)?
                    .query_row(params![row.project_id, i64::from(max_services)], |r| {
                        r.get(0)
                    })?;
                if sql_count(live, "services")? >= u64::from(max_services) {
                    return Err(Fail::Port(PortError::LimitReached(format!(
                        "Maximum Services Limit of {max_services} reached!"
                    ))));
                }
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO services (project_id, service_id, status, operator_status, \
                         version, spec, provider_details, created_at, updated_at, generation) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, random())",
                    )?
                    .execute(params![
                        row.project_id,
                        row.service_id,
                        row.status,
                        row.operator_status,
                        row.version,
                        row.spec,
                        row.provider_details,
                        row.created_at,
                        row.updated_at,
                    ]);
                match inserted {
                    Err(e) if is_constraint(&e) => {
                        return Err(Fail::Port(PortError::Conflict(format!(
                            "service {} already exists",
                            row.service_id
                        ))))
                    }
                    other => other?,
                };
                row.claim_domains(tx, &row.domains)?;
                row.index_provider_urls(tx)?;
                if let Some(job) = &job {
                    job.insert(tx)?;
                }
                Ok(())
            })
            .await?;
        if posted {
            self.db.wake_worker();
        }
        Ok(())
    }

    async fn get(&self, project: &ProjectId, id: &ServiceId) -> Result<Option<Service>, PortError> {
        Ok(self
            .get_shared(project, id)
            .await?
            .map(Arc::unwrap_or_clone))
    }

    async fn list(
        &self,
        project: &ProjectId,
        marker: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<Service>, PortError> {
        let shared = self.list_shared(project, marker, limit).await?;
        Ok(shared
            .into_iter()
            .map(|snapshot| Arc::unwrap_or_clone(snapshot.service))
            .collect())
    }

    async fn get_shared(
        &self,
        project: &ProjectId,
        id: &ServiceId,
    ) -> Result<Option<Arc<Service>>, PortError> {
        let (project, id) = (project.as_str().to_owned(), *id);
        let cache = self.db.decoded();
        self.db
            .read("get service", move |c| {
                Ok(match current_service(c, &cache, &project, id, None)? {
                    Some(Current::Changed(snapshot)) => Some(snapshot.service),
                    // Nothing was held, so nothing is unchanged.
                    Some(Current::Unchanged) | None => None,
                })
            })
            .await
    }

    async fn get_if_changed(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        held: Option<Revision>,
    ) -> Result<Option<Current>, PortError> {
        let (project, id) = (project.as_str().to_owned(), *id);
        let cache = self.db.decoded();
        self.db
            .read("get service", move |c| {
                current_service(c, &cache, &project, id, held)
            })
            .await
    }

    async fn list_shared(
        &self,
        project: &ProjectId,
        marker: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<Snapshot>, PortError> {
        let (project, after) = (project.as_str().to_owned(), id_after(marker));
        let cache = self.db.decoded();
        self.db
            .read("list services", move |c| {
                if cache.is_on() {
                    if let Some(held) = page_from_cache(c, &cache, (&project, &after, limit))? {
                        return Ok(held);
                    }
                }
                let mut stmt = c.prepare_cached(sql::LIST_SERVICES)?;
                let mut rows = stmt.query(params![project, after, i64::from(limit)])?;
                let mut out = Vec::with_capacity(limit.min(1_000) as usize);
                while let Some(row) = rows.next()? {
                    out.push(snapshot_from_row(row, &cache)?);
                }
                Ok(out)
            })
            .await
    }

    async fn update(&self, service: &Service, job: Option<Job>) -> Result<u64, PortError> {
        let mut row = ServiceRow::encode(service).map_err(|e| e.into_port("encode service"))?;
        let expected = row.version;
        let new_version = service.version.checked_add(1).ok_or_else(|| {
            PortError::Invalid(format!("service {} version overflows", service.id))
        })?;
        row.version = i64::try_from(new_version).map_err(|_| {
            PortError::Invalid(format!(
                "service {} version {new_version} is out of range",
                service.id
            ))
        })?;
        let job = self.outbox_job(job.as_ref())?;
        let posted = job.is_some();
        self.db
            .write("update service", move |tx| {
                let stored: Option<i64> = tx
                    .prepare_cached(
                        "SELECT version FROM services WHERE project_id = ?1 AND service_id = ?2",
                    )?
                    .query_row([&row.project_id, &row.service_id], |r| r.get(0))
                    .optional()?;
                let Some(stored) = stored else {
                    return Err(Fail::Port(PortError::NotFound(format!(
                        "service {}",
                        row.service_id
                    ))));
                };
                if stored != expected {
                    return Err(Fail::Port(PortError::Conflict(format!(
                        "service {} is at version {stored}, not {expected}: changed concurrently",
                        row.service_id
                    ))));
                }
                tx.prepare_cached(
                    "UPDATE services SET status = ?3, operator_status = ?4, version = ?5, \
                     spec = ?6, provider_details = ?7, created_at = ?8, updated_at = ?9 \
                     WHERE project_id = ?1 AND service_id = ?2",
                )?
                .execute(params![
                    row.project_id,
                    row.service_id,
                    row.status,
                    row.operator_status,
                    row.version,
                    row.spec,
                    row.provider_details,
                    row.created_at,
                    row.updated_at,
                ])?;

                let held: HashSet<String> = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT domain FROM domains WHERE project_id = ?1 AND service_id = ?2",
                    )?;
                    let held = stmt
                        .query_map([&row.project_id, &row.service_id], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    held
                };
                let mut release = tx.prepare_cached("DELETE FROM domains WHERE domain = ?1")?;
                for domain in held.iter().filter(|d| !row.domains.contains(*d)) {
                    release.execute([domain])?;
                }
                row.claim_domains(tx, row.domains.iter().filter(|d| !held.contains(*d)))?;
                row.index_provider_urls(tx)?;
                if let Some(job) = &job {
                    job.insert(tx)?;
                }
                Ok(())
            })
            .await?;
        if posted {
            self.db.wake_worker();
        }
        Ok(new_version)
    }

    async fn delete(&self, project: &ProjectId, id: &ServiceId) -> Result<(), PortError> {
        let (project, id) = (project.as_str().to_owned(), id.to_string());
        self.db
            .write("delete service", move |tx| {
                // The index rows go explicitly, not only by ON DELETE CASCADE,
                // so a connection without foreign keys cannot leave claims behind.
                for table in ["domains", "provider_urls", "services"] {
                    tx.prepare_cached(&format!(
                        "DELETE FROM {table} WHERE project_id = ?1 AND service_id = ?2"
                    ))?
                    .execute([&project, &id])?;
                }
                Ok(())
            })
            .await
    }

    async fn count(&self, project: &ProjectId) -> Result<u64, PortError> {
        let project = project.as_str().to_owned();
        self.db
            .read("count services", move |c| {
                let n: i64 = c
                    .prepare_cached(sql::COUNT_SERVICES)?
                    .query_row([&project], |r| r.get(0))?;
                sql_count(n, "services")
            })
            .await
    }

    async fn find_by_domain(&self, domain: &str) -> Result<Option<Service>, PortError> {
        let domain = domain.to_owned();
        let cache = self.db.decoded();
        self.db
            .read("find service by domain", move |c| {
                let mut stmt = c.prepare_cached(sql::FIND_BY_DOMAIN)?;
                let mut rows = stmt.query([&domain])?;
                match rows.next()? {
                    Some(row) => snapshot_from_row(row, &cache).map(Some),
                    None => Ok(None),
                }
            })
            .await
            .map(|found| found.map(|snapshot| Arc::unwrap_or_clone(snapshot.service)))
    }

    async fn list_by_status(
        &self,
        status: ServiceStatus,
        after: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<(ProjectId, ServiceId)>, PortError> {
        let after = id_after(after);
        self.db
            .read("list services by status", move |c| {
                let mut stmt = c.prepare_cached(sql::LIST_BY_STATUS)?;
                let mut rows = stmt.query(params![status.as_str(), after, i64::from(limit)])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let project = text(row, 0)?;
                    let id = text(row, 1)?;
                    let service_id = ServiceId::from_str(id).map_err(|e| {
                        corrupt(format!("services row ({project}, {id})"), "service_id", e)
                    })?;
                    out.push((ProjectId::new(project), service_id));
                }
                Ok(out)
            })
            .await
    }

    async fn domains_by_provider_url(&self, provider_url: &str) -> Result<Vec<String>, PortError> {
        let url = provider_url.to_owned();
        self.db
            .read("domains by provider url", move |c| {
                let mut stmt = c.prepare_cached(sql::DOMAINS_BY_PROVIDER_URL)?;
                let domains = stmt
                    .query_map([&url], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(domains)
            })
            .await
    }

    async fn get_limit(&self, project: &ProjectId) -> Result<Option<u32>, PortError> {
        let project = project.as_str().to_owned();
        self.db
            .read("get service limit", move |c| {
                let limit: Option<i64> = c
                    .prepare_cached(
                        "SELECT max_services FROM service_limits WHERE project_id = ?1",
                    )?
                    .query_row([&project], |r| r.get(0))
                    .optional()?;
                limit
                    .map(|n| {
                        u32::try_from(n).map_err(|_| {
                            corrupt(
                                format!("service_limits row ({project})"),
                                "max_services",
                                format!("{n} is not a valid limit"),
                            )
                        })
                    })
                    .transpose()
            })
            .await
    }

    async fn set_limit(&self, project: &ProjectId, limit: u32) -> Result<(), PortError> {
        let project = project.as_str().to_owned();
        self.db
            .write("set service limit", move |tx| {
                tx.prepare_cached(
                    "INSERT INTO service_limits (project_id, max_services) VALUES (?1, ?2) \
                     ON CONFLICT (project_id) DO UPDATE SET max_services = excluded.max_services",
                )?
                .execute(params![project, i64::from(limit)])?;
                Ok(())
            })
            .await
    }
}

fn flavor_from_row(row: &Row<'_>) -> Result<Flavor, Fail> {
    let id = text(row, 0)?;
    serde_json::from_str(text(row, 1)?)
        .map_err(|e| corrupt(format!("flavors row ({id})"), "body", e))
}

#[async_trait]
impl FlavorStore for SqliteStore {
    async fn list(&self) -> Result<Vec<Flavor>, PortError> {
        self.db
            .read("list flavors", |c| {
                let mut stmt =
                    c.prepare_cached("SELECT flavor_id, body FROM flavors ORDER BY flavor_id")?;
                let mut rows = stmt.query([])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(flavor_from_row(row)?);
                }
                Ok(out)
            })
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<Flavor>, PortError> {
        let id = id.to_owned();
        self.db
            .read("get flavor", move |c| {
                let mut stmt =
                    c.prepare_cached("SELECT flavor_id, body FROM flavors WHERE flavor_id = ?1")?;
                let mut rows = stmt.query([&id])?;
                match rows.next()? {
                    Some(row) => flavor_from_row(row).map(Some),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn create(&self, flavor: &Flavor) -> Result<(), PortError> {
        let id = flavor.id.clone();
        let body = serde_json::to_string(flavor).map_err(|e| {
            PortError::from(SqliteError::Encode {
                what: format!("flavor {id}"),
                message: e.to_string(),
            })
        })?;
        self.db
            .write("create flavor", move |tx| {
                let inserted = tx
                    .prepare_cached("INSERT INTO flavors (flavor_id, body) VALUES (?1, ?2)")?
                    .execute([&id, &body]);
                match inserted {
                    Err(e) if is_constraint(&e) => Err(Fail::Port(PortError::Conflict(format!(
                        "flavor {id} already exists"
                    )))),
                    other => Ok(other.map(drop)?),
                }
            })
            .await
    }

    async fn delete(&self, id: &str) -> Result<(), PortError> {
        let id = id.to_owned();
        self.db
            .write("delete flavor", move |tx| {
                tx.prepare_cached("DELETE FROM flavors WHERE flavor_id = ?1")?
                    .execute([&id])?;
                Ok(())
            })
            .await
    }
}
