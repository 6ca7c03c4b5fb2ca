//! [`ServiceStore`] and [`FlavorStore`] on Cassandra: the write protocols
//! (domain claims, limit, optimistic version, index maintenance) sequenced
//! over the pure query layer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use poppy_core::model::{Flavor, Job, ProjectId, Service, ServiceId, ServiceStatus};
use poppy_core::ports::{FlavorStore, PortError, ServiceStore};
use uuid::Uuid;

use super::config::{CassandraConfig, CassandraSettings};
use super::error::CassandraError;
use super::queries::{self, cql, ClaimOutcome, ServiceRow, WriteOutcome};
use super::session::{Db, Level};
use super::NAME;

/// Attempts of one lightweight-transaction loop before giving up with a
/// retryable `Unavailable` (contention or repeated timeouts).
pub(super) const MAX_ATTEMPTS: u32 = 24;
/// A claim whose service does not hold the domain is taken over only when
/// older than this: a younger one may belong to a write still under way.
const ORPHAN_CLAIM_GRACE: Duration = Duration::from_secs(600);
/// Index candidates read per round by the checking look-ups.
pub(super) const INDEX_PAGE: u32 = 100;

/// Services, their indexes and flavors in a Cassandra keyspace.
///
/// Every row of `services` and `domain_names` is written only by
/// lightweight transactions: `create` claims each domain with
/// `INSERT … IF NOT EXISTS`, then inserts the service and bumps the
/// project's live-service count in one conditional batch on the project's
/// partition (the limit check); `update` is `UPDATE … IF version = ?`;
/// `delete` is `DELETE … IF version = ?` with the count. A failed step
/// releases the claims it made. The status and provider-URL indexes are
/// written with client timestamps before the service changes and pruned
/// after, so they never miss a service; look-ups check each candidate
/// against `services`.
///
/// The store shares no transaction with a job board: `writes_jobs` is
/// false and the caller posts jobs itself. Cheap to clone.
#[derive(Clone)]
pub struct CassandraStore {
    pub(super) db: Arc<Db>,
}

impl fmt::Debug for CassandraStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CassandraStore")
            .field("db", &self.db)
            .finish()
    }
}

/// What a `create` or `update` did before failing, to undo.
#[derive(Default)]
struct Undo {
    claimed: Vec<String>,
    indexed: bool,
}

impl CassandraStore {
    /// Connects with `config` (validated first), migrating when configured.
    pub async fn connect(config: &CassandraConfig) -> Result<Self, CassandraError> {
        Self::connect_with(config.build()?).await
    }

    /// Connects with validated settings.
    pub async fn connect_with(settings: CassandraSettings) -> Result<Self, CassandraError> {
        Ok(Self {
            db: Arc::new(Db::connect(settings).await?),
        })
    }

    /// The settings the store runs with.
    pub fn settings(&self) -> &CassandraSettings {
        &self.db.settings
    }

    /// The names recorded in `schema_migrations`.
    pub async fn applied_migrations(&self) -> Result<BTreeSet<String>, PortError> {
        Ok(self.db.applied_migrations().await?)
    }

    async fn service_at(
        &self,
        project: &ProjectId,
        id: &ServiceId,
        level: Level,
    ) -> Result<Option<Service>, PortError> {
        let rows = self
            .db
            .read(
                "get service",
                cql::GET_SERVICE,
                queries::key_values(project, id),
                level,
            )
            .await?;
        Ok(rows.first().map(queries::service_from_row).transpose()?)
    }

    async fn live_count(&self, project: &str, level: Level) -> Result<Option<i32>, PortError> {
        let rows = self
            .db
            .read(
                "read live service count",
                cql::GET_LIVE_COUNT,
                queries::project_values(&ProjectId::new(project)),
                level,
            )
            .await?;
        Ok(queries::live_count_from_rows(&rows)?)
    }

    /// Claims `domain` for `row`'s service; `Conflict` if another service
    /// holds it. An orphaned claim (its service gone or no longer listing
    /// the domain, and older than [`ORPHAN_CLAIM_GRACE`]) is taken over.
    async fn claim(&self, row: &ServiceRow, domain: &str) -> Result<(), PortError> {
        for attempt in 0..MAX_ATTEMPTS {
            let answer = self
                .db
                .conditional("claim domain", cql::CLAIM_DOMAIN, row.claim_values(domain))
                .await;
            match answer {
                Ok(rows) => {
                    if queries::claim_outcome(&rows, row.service_id)? == ClaimOutcome::Claimed {
                        return Ok(());
                    }
                }
                Err(e) if e.outcome_unknown() => {}
                Err(e) => return Err(e.into()),
            }
            // Held, or unknown: the serial read also finishes any claim
            // still in its Paxos round.
            let rows = self
                .db
                .read(
                    "read domain claim",
                    cql::GET_DOMAIN,
                    queries::domain_values(domain),
                    Level::Serial,
                )
                .await?;
            let Some(found) = rows.first() else {
                backoff(attempt).await;
                continue;
            };
            let claim = queries::claim_from_row(domain, found)?;
            if *claim.service.as_uuid() == row.service_id {
                return Ok(());
            }
            if !self.is_orphan(domain, &claim).await? {
                return Err(queries::domain_taken(domain));
            }
            tracing::warn!(
                domain,
                holder = %claim.service,
                "cassandra: taking over an orphaned domain claim"
            );
            match self
                .db
                .conditional(
                    "release orphaned domain claim",
                    cql::RELEASE_DOMAIN,
                    queries::release_values(domain, *claim.service.as_uuid()),
                )
                .await
            {
                Ok(_) => {}
                Err(e) if e.outcome_unknown() => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CassandraError::Contention {
            op: "claim domain",
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    /// A claim left by a writer that died between its claim and its
    /// service write (or its release).
    async fn is_orphan(
        &self,
        domain: &str,
        claim: &queries::DomainClaim,
    ) -> Result<bool, PortError> {
        let grace = i64::try_from(ORPHAN_CLAIM_GRACE.as_micros()).unwrap_or(i64::MAX);
        let old_enough = claim
            .claimed_at
            .is_some_and(|at| self.db.timestamp().saturating_sub(at) > grace);
        if !old_enough {
            return Ok(false);
        }
        let holder = self
            .service_at(&claim.project, &claim.service, Level::Serial)
            .await?;
        Ok(holder.is_none_or(|s| !s.domain_names().any(|d| d == domain)))
    }

    /// Releases claims of `holder`; failures are logged, as an unreleased
    /// claim is taken over later (see [`CassandraStore::claim`]).
    async fn release(&self, domains: &[String], holder: Uuid) {
        for domain in domains {
            let released = self
                .db
                .conditional(
                    "release domain",
                    cql::RELEASE_DOMAIN,
                    queries::release_values(domain, holder),
                )
                .await;
            if let Err(e) = released {
                tracing::warn!(domain, error = %e, "cassandra: could not release a domain claim");
            }
        }
    }

    /// Writes the index rows of `row`: its status, and the provider-URL
    /// pairs not in `except`.
    async fn index(
        &self,
        row: &ServiceRow,
        status: bool,
        except: &BTreeSet<(String, String)>,
    ) -> Result<(), PortError> {
        let at = self.db.timestamp();
        if status {
            self.db
                .write(
                    "index status",
                    cql::INDEX_STATUS,
                    row.index_status_values(at),
                )
                .await?;
        }
        for (url, domain) in row.provider_urls.difference(except) {
            self.db
                .write(
                    "index provider url",
                    cql::INDEX_PROVIDER_URL,
                    row.index_provider_url_values(url, domain, at),
                )
                .await?;
        }
        Ok(())
    }

    /// Removes index rows at `at` (µs): the service in `statuses`, and the
    /// provider-URL `pairs`. Best effort: a row left behind is filtered out
    /// by the look-ups.
    async fn unindex(
        &self,
        id: Uuid,
        statuses: &[ServiceStatus],
        pairs: impl IntoIterator<Item = &(String, String)>,
        at: i64,
    ) {
        for status in statuses {
            let removed = self
                .db
                .write(
                    "unindex status",
                    cql::UNINDEX_STATUS,
                    queries::unindex_status_values(at, *status, id),
                )
                .await;
            if let Err(e) = removed {
                tracing::warn!(service = %id, error = %e, "cassandra: stale status index row left");
            }
        }
        for (url, domain) in pairs {
            let removed = self
                .db
                .write(
                    "unindex provider url",
                    cql::UNINDEX_PROVIDER_URL,
                    queries::unindex_provider_url_values(at, url, domain),
                )
                .await;
            if let Err(e) = removed {
                tracing::warn!(url, domain, error = %e, "cassandra: stale provider url row left");
            }
        }
    }

    /// Claims, indexes and inserts; `undo` records what to take back.
    async fn create_steps(
        &self,
        service: &Service,
        row: &ServiceRow,
        max_services: u32,
        undo: &mut Undo,
    ) -> Result<(), PortError> {
        for domain in unique(service.domain_names()) {
            self.claim(row, domain).await?;
            undo.claimed.push(domain.to_owned());
        }
        undo.indexed = true;
        self.index(row, true, &BTreeSet::new()).await?;
        for attempt in 0..MAX_ATTEMPTS {
            let answer = if row.is_live() {
                let seen = self.live_count(&row.project_id, Level::Serial).await?;
                let live = seen.unwrap_or(0).max(0);
                if u64::try_from(live).unwrap_or(0) >= u64::from(max_services) {
                    return Err(limit_reached(max_services));
                }
                self.db
                    .conditional_batch(
                        "create service",
                        vec![
                            (
                                cql::SET_LIVE_COUNT,
                                queries::live_count_values(&row.project_id, live + 1, seen),
                            ),
                            (cql::INSERT_SERVICE, row.insert_values()),
                        ],
                    )
                    .await
            } else {
                self.db
                    .conditional("create service", cql::INSERT_SERVICE, row.insert_values())
                    .await
            };
            match answer {
                Ok(rows) if queries::applied(&rows)? => return Ok(()),
                Ok(_) => {}
                Err(e) if e.outcome_unknown() => {}
                Err(e) => return Err(e.into()),
            }
            // Not applied: the count moved, or the row exists (an earlier
            // attempt that timed out, or a second create of this id).
            if let Some(stored) = self
                .service_at(&service.project_id, &service.id, Level::Serial)
                .await?
            {
                return if stored == *service {
                    Ok(())
                } else {
                    Err(PortError::Conflict(format!(
                        "service {} already exists",
                        service.id
                    )))
                };
            }
            backoff(attempt).await;
        }
        Err(CassandraError::Contention {
            op: "create service",
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    /// Takes back a failed create's claims and index rows, once a serial
    /// read shows its service row absent; otherwise leaves them.
    async fn undo_create(&self, service: &Service, row: &ServiceRow, undo: Undo) {
        if undo.claimed.is_empty() && !undo.indexed {
            return;
        }
        match self
            .service_at(&service.project_id, &service.id, Level::Serial)
            .await
        {
            Ok(None) => {
                // Index rows first, then claims: once a domain is free, a
                // new holder's index rows must not meet our deletions.
                if undo.indexed {
                    let at = self.db.timestamp();
                    self.unindex(row.service_id, &[row.status], &row.provider_urls, at)
                        .await;
                }
                self.release(&undo.claimed, row.service_id).await;
            }
            Ok(Some(_)) => {}
            Err(e) => tracing::warn!(
                service = %service.id,
                error = %e,
                "cassandra: create failed and its outcome is unknown; its claims stay"
            ),
        }
    }

    /// Runs the conditional update until it is applied or refused.
    async fn write_update(
        &self,
        service: &Service,
        row: &ServiceRow,
        old: &ServiceRow,
        expected: i64,
    ) -> Result<(), PortError> {
        let counted = old.is_live() != row.is_live();
        let mut written = service.clone();
        written.version = u64::try_from(row.version).unwrap_or(u64::MAX);
        for attempt in 0..MAX_ATTEMPTS {
            let answer = if counted {
                let seen = self.live_count(&row.project_id, Level::Serial).await?;
                let live = seen.unwrap_or(0).max(0);
                let count = if row.is_live() {
                    live.saturating_add(1)
                } else {
                    (live - 1).max(0)
                };
                self.db
                    .conditional(
                        "update service",
                        cql::UPDATE_SERVICE_COUNTED,
                        row.update_counted_values(expected, count, seen),
                    )
                    .await
            } else {
                self.db
                    .conditional(
                        "update service",
                        cql::UPDATE_SERVICE,
                        row.update_values(expected),
                    )
                    .await
            };
            let outcome = match answer {
                Ok(rows) => queries::update_outcome(&rows, expected)?,
                Err(e) if e.outcome_unknown() => WriteOutcome::Unknown,
                Err(e) => return Err(e.into()),
            };
            match outcome {
                WriteOutcome::Applied => return Ok(()),
                WriteOutcome::CountMoved => {}
                WriteOutcome::Missing => return Err(not_found(&service.id)),
                WriteOutcome::Stale { .. } | WriteOutcome::Unknown => {
                    match self
                        .service_at(&service.project_id, &service.id, Level::Serial)
                        .await?
                    {
                        None => return Err(not_found(&service.id)),
                        // An earlier attempt that timed out was applied.
                        Some(stored) if stored == written => return Ok(()),
                        Some(stored) if stored.version == service.version => {}
                        Some(stored) => return Err(stale(&service.id, stored.version, expected)),
                    }
                }
            }
            backoff(attempt).await;
        }
        Err(CassandraError::Contention {
            op: "update service",
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }
}

#[async_trait]
impl ServiceStore for CassandraStore {
    fn name(&self) -> &str {
        NAME
    }

    async fn is_alive(&self) -> bool {
        self.db
            .read("ping", cql::PING, Vec::new(), Level::Read)
            .await
            .is_ok()
    }

    async fn create(
        &self,
        service: &Service,
        max_services: u32,
        _job: Option<Job>,
    ) -> Result<(), PortError> {
        let row = ServiceRow::encode(service)?;
        // A cheap early refusal before claiming anything; the check that
        // counts is the conditional batch.
        if row.is_live() {
            let live = self.live_count(&row.project_id, Level::Write).await?;
            if u64::try_from(live.unwrap_or(0)).unwrap_or(0) >= u64::from(max_services) {
                return Err(limit_reached(max_services));
            }
        }
        let mut undo = Undo::default();
        let result = self
            .create_steps(service, &row, max_services, &mut undo)
            .await;
        if result.is_err() {
            self.undo_create(service, &row, undo).await;
        }
        result
    }

    async fn get(&self, project: &ProjectId, id: &ServiceId) -> Result<Option<Service>, PortError> {
        self.service_at(project, id, Level::Read).await
    }

    async fn list(
        &self,
        project: &ProjectId,
        marker: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<Service>, PortError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .read(
                "list services",
                cql::LIST_SERVICES,
                queries::list_values(project, marker, limit),
                Level::Read,
            )
            .await?;
        Ok(rows
            .iter()
            .map(queries::service_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn update(&self, service: &Service, _job: Option<Job>) -> Result<u64, PortError> {
        let mut row = ServiceRow::encode(service)?;
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
        let stored = self
            .service_at(&service.project_id, &service.id, Level::Write)
            .await?
            .ok_or_else(|| not_found(&service.id))?;
        if stored.version != service.version {
            return Err(stale(&service.id, stored.version, expected));
        }
        let old = ServiceRow::encode(&stored)?;
        let added: Vec<&str> = unique(service.domain_names())
            .filter(|d| !old.domains.contains(*d))
            .collect();
        let removed: Vec<String> = old.domains.difference(&row.domains).cloned().collect();

        let mut undo = Undo::default();
        let before = async {
            for domain in &added {
                self.claim(&row, domain).await?;
                undo.claimed.push((*domain).to_owned());
            }
            self.index(&row, row.status != old.status, &old.provider_urls)
                .await
        };
        let mut result = before.await;
        // Taken before the write: a later writer's index rows carry later
        // timestamps, so the pruning below never removes them.
        let prune_at = self.db.timestamp();
        if result.is_ok() {
            result = self.write_update(service, &row, &old, expected).await;
        }
        if let Err(e) = result {
            // Claims are released only when the write surely did not happen.
            if !matches!(
                e,
                PortError::Unavailable { .. } | PortError::Internal { .. }
            ) {
                self.release(&undo.claimed, row.service_id).await;
            } else if let Ok(Some(stored)) = self
                .service_at(&service.project_id, &service.id, Level::Serial)
                .await
            {
                if stored.version == service.version {
                    self.release(&undo.claimed, row.service_id).await;
                }
            }
            return Err(e);
        }
        let old_status: &[ServiceStatus] = if old.status != row.status {
            &[old.status]
        } else {
            &[]
        };
        self.unindex(
            row.service_id,
            old_status,
            old.provider_urls.difference(&row.provider_urls),
            prune_at,
        )
        .await;
        self.release(&removed, row.service_id).await;
        Ok(new_version)
    }

    async fn delete(&self, project: &ProjectId, id: &ServiceId) -> Result<(), PortError> {
        let mut attempted: Option<ServiceRow> = None;
        for attempt in 0..MAX_ATTEMPTS {
            let Some(stored) = self.service_at(project, id, Level::Serial).await? else {
                if let Some(row) = attempted {
                    // Gone after an attempt of ours whose answer was lost:
                    // clean what only this id owns (the provider-URL pairs
                    // may already belong to a new holder of the domains).
                    let at = self.db.timestamp();
                    self.unindex(row.service_id, ServiceStatus::ALL, [], at)
                        .await;
                    let domains: Vec<String> = row.domains.iter().cloned().collect();
                    self.release(&domains, row.service_id).await;
                }
                return Ok(());
            };
            let row = ServiceRow::encode(&stored)?;
            let delete = (
                cql::DELETE_SERVICE,
                queries::delete_values(&row.project_id, row.service_id, row.version),
            );
            let answer = if row.is_live() {
                let seen = self.live_count(&row.project_id, Level::Serial).await?;
                let count = (seen.unwrap_or(0) - 1).max(0);
                self.db
                    .conditional_batch(
                        "delete service",
                        vec![
                            (
                                cql::SET_LIVE_COUNT,
                                queries::live_count_values(&row.project_id, count, seen),
                            ),
                            delete,
                        ],
                    )
                    .await
            } else {
                self.db
                    .conditional("delete service", delete.0, delete.1)
                    .await
            };
            match answer {
                Ok(rows) if queries::applied(&rows)? => {
                    // Index rows before claims: see `undo_create`.
                    let at = self.db.timestamp();
                    self.unindex(row.service_id, ServiceStatus::ALL, &row.provider_urls, at)
                        .await;
                    let domains: Vec<String> = row.domains.iter().cloned().collect();
                    self.release(&domains, row.service_id).await;
                    return Ok(());
                }
                Ok(_) => {}
                Err(e) if e.outcome_unknown() => attempted = Some(row),
                Err(e) => return Err(e.into()),
            }
            backoff(attempt).await;
        }
        Err(CassandraError::Contention {
            op: "delete service",
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    async fn count(&self, project: &ProjectId) -> Result<u64, PortError> {
        let live = self.live_count(project.as_str(), Level::Read).await?;
        Ok(u64::try_from(live.unwrap_or(0)).unwrap_or(0))
    }

    async fn find_by_domain(&self, domain: &str) -> Result<Option<Service>, PortError> {
        let rows = self
            .db
            .read(
                "find service by domain",
                cql::GET_DOMAIN,
                queries::domain_values(domain),
                Level::Read,
            )
            .await?;
        let Some(found) = rows.first() else {
            return Ok(None);
        };
        let claim = queries::claim_from_row(domain, found)?;
        // A claim whose service is gone, or no longer lists the domain, is
        // a write under way or an orphan: nobody holds the domain yet.
        Ok(self
            .service_at(&claim.project, &claim.service, Level::Read)
            .await?
            .filter(|s| s.domain_names().any(|d| d == domain)))
    }

    async fn list_by_status(
        &self,
        status: ServiceStatus,
        after: Option<ServiceId>,
        limit: u32,
    ) -> Result<Vec<(ProjectId, ServiceId)>, PortError> {
        let mut out = Vec::new();
        let mut after = after;
        while out.len() < limit as usize {
            let rows = self
                .db
                .read(
                    "list services by status",
                    cql::LIST_BY_STATUS,
                    queries::list_by_status_values(status, after, INDEX_PAGE),
                    Level::Read,
                )
                .await?;
            for row in &rows {
                let (project, id) = queries::status_entry_from_row(row)?;
                after = Some(id);
                let current = self
                    .db
                    .read(
                        "check status index",
                        cql::GET_SERVICE_STATUS,
                        queries::key_values(&project, &id),
                        Level::Read,
                    )
                    .await?;
                let current = current.first().map(queries::status_from_row).transpose()?;
                if current == Some(status) {
                    out.push((project, id));
                    if out.len() == limit as usize {
                        break;
                    }
                }
            }
            if rows.len() < INDEX_PAGE as usize {
                break;
            }
        }
        Ok(out)
    }

    async fn domains_by_provider_url(&self, provider_url: &str) -> Result<Vec<String>, PortError> {
        let rows = self
            .db
            .read(
                "domains by provider url",
                cql::DOMAINS_BY_PROVIDER_URL,
                queries::provider_url_values(provider_url),
                Level::Read,
            )
            .await?;
        let mut by_service: BTreeMap<(ProjectId, ServiceId), Vec<String>> = BTreeMap::new();
        for row in &rows {
            let (domain, project, id) = queries::provider_url_entry_from_row(row)?;
            by_service.entry((project, id)).or_default().push(domain);
        }
        let mut domains = BTreeSet::new();
        for ((project, id), candidates) in by_service {
            let Some(service) = self.service_at(&project, &id, Level::Read).await? else {
                continue;
            };
            let served = queries::provider_urls(&service);
            domains.extend(
                candidates
                    .into_iter()
                    .filter(|d| served.contains(&(provider_url.to_owned(), d.clone()))),
            );
        }
        Ok(domains.into_iter().collect())
    }

    async fn get_limit(&self, project: &ProjectId) -> Result<Option<u32>, PortError> {
        let rows = self
            .db
            .read(
                "get service limit",
                cql::GET_LIMIT,
                queries::project_values(project),
                Level::Read,
            )
            .await?;
        Ok(queries::limit_from_rows(project, &rows)?)
    }

    async fn set_limit(&self, project: &ProjectId, limit: u32) -> Result<(), PortError> {
        self.db
            .write(
                "set service limit",
                cql::SET_LIMIT,
                queries::set_limit_values(project, limit)?,
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl FlavorStore for CassandraStore {
    async fn list(&self) -> Result<Vec<Flavor>, PortError> {
        let rows = self
            .db
            .read("list flavors", cql::LIST_FLAVORS, Vec::new(), Level::Read)
            .await?;
        let mut flavors = rows
            .iter()
            .map(queries::flavor_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // The table is ordered by token, not by id.
        flavors.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(flavors)
    }

    async fn get(&self, id: &str) -> Result<Option<Flavor>, PortError> {
        let rows = self
            .db
            .read(
                "get flavor",
                cql::GET_FLAVOR,
                queries::flavor_key_values(id),
                Level::Read,
            )
            .await?;
        Ok(rows.first().map(queries::flavor_from_row).transpose()?)
    }

    async fn create(&self, flavor: &Flavor) -> Result<(), PortError> {
        let values = queries::flavor_values(flavor)?;
        for attempt in 0..MAX_ATTEMPTS {
            match self
                .db
                .conditional("create flavor", cql::INSERT_FLAVOR, values.clone())
                .await
            {
                Ok(rows) if queries::applied(&rows)? => return Ok(()),
                Ok(_) => return Err(flavor_exists(&flavor.id)),
                Err(e) if e.outcome_unknown() => {}
                Err(e) => return Err(e.into()),
            }
            let rows = self
                .db
                .read(
                    "get flavor",
                    cql::GET_FLAVOR,
                    queries::flavor_key_values(&flavor.id),
                    Level::Serial,
                )
                .await?;
            match rows.first().map(queries::flavor_from_row).transpose()? {
                Some(stored) if stored == *flavor => return Ok(()),
                Some(_) => return Err(flavor_exists(&flavor.id)),
                None => backoff(attempt).await,
            }
        }
        Err(CassandraError::Contention {
            op: "create flavor",
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    async fn delete(&self, id: &str) -> Result<(), PortError> {
        // Not applied means there was nothing to delete: success.
        self.db
            .conditional(
                "delete flavor",
                cql::DELETE_FLAVOR,
                queries::flavor_key_values(id),
            )
            .await?;
        Ok(())
    }
}

fn unique<'a>(domains: impl Iterator<Item = &'a str>) -> impl Iterator<Item = &'a str> {
    let mut seen = BTreeSet::new();
    domains.filter(move |d| seen.insert(*d))
}

fn limit_reached(max_services: u32) -> PortError {
    PortError::LimitReached(format!("Maximum Services Limit of {max_services} reached!"))
}

fn not_found(id: &ServiceId) -> PortError {
    PortError::NotFound(format!("service {id}"))
}

fn stale(id: &ServiceId, stored: u64, expected: i64) -> PortError {
    PortError::Conflict(format!(
        "service {id} is at version {stored}, not {expected}: changed concurrently"
    ))
}

fn flavor_exists(id: &str) -> PortError {
    PortError::Conflict(format!("flavor {id} already exists"))
}

/// A short randomized pause between attempts of a contended transaction,
/// growing with the attempt, so racing writers spread out.
pub(super) async fn backoff(attempt: u32) {
    let ceiling = 5 * u64::from(attempt.min(10) + 1);
    let pause = rand::random_range(1..=ceiling);
    tokio::time::sleep(Duration::from_millis(pause)).await;
}
