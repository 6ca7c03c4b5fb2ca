//! What each [`DnsManager`](crate::ports::DnsManager) call must do to the
//! zone, planned from the sharding settings: drivers execute the plan.

use std::collections::BTreeSet;

use super::shards::{normalize, Sharding, ZoneKind, ZoneRef};
use crate::model::{AccessUrl, CertificateType, ProviderLink, Service};
use crate::ports::PortError;

/// A CNAME to create or re-point (`name → target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CnameRecord {
    /// Lower-case, without a trailing dot.
    pub name: String,
    pub zone: ZoneRef,
    pub target: String,
    pub ttl: u32,
}

/// A CNAME to delete.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordRef {
    pub name: String,
    pub zone: ZoneRef,
}

/// One access URL and the record behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRecord {
    pub access_url: AccessUrl,
    pub record: CnameRecord,
}

/// The plan of a `create` or an `update`.
///
/// Drivers apply `upserts` first (create or re-point, idempotently), then
/// `deletes` (a missing record is already deleted). Run again after a
/// failure anywhere, the same plan converges to the same zone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdatePlan {
    /// One per link, in the links' order: what the call returns.
    pub access_urls: Vec<AccessUrl>,
    /// Records to create or re-point, one per name.
    pub upserts: Vec<CnameRecord>,
    /// Records of domains no longer linked, none of them in `upserts`.
    pub deletes: Vec<RecordRef>,
}

/// A link whose record cannot be planned: the message says why and which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("operator record {name} for domain {domain} is longer than DNS allows (253 characters, 63 per label)")]
    NameTooLong { domain: String, name: String },
    #[error("shared-certificate domain {domain} is not under the shared-SSL suffix {suffix:?} of this DNS driver")]
    SharedOutsideSuffix { domain: String, suffix: String },
    #[error("link for domain {domain} has an empty provider host name")]
    EmptyTarget { domain: String },
}

impl From<PlanError> for PortError {
    fn from(error: PlanError) -> Self {
        PortError::Invalid(error.to_string())
    }
}

impl Sharding {
    /// The records of a new service: every link gets its record, named from
    /// the domain alone (so planning twice gives the same names).
    pub fn plan_create(
        &self,
        service: &Service,
        links: &[ProviderLink],
    ) -> Result<UpdatePlan, PlanError> {
        self.plan_update(service, &[], links)
    }

    /// Records that make the zone match `links`, given the access URLs the
    /// provider had (`current`): a domain still linked keeps its operator
    /// record (re-pointed at the new href) so tenants' CNAMEs keep working;
    /// a new domain gets a new record; records of domains no longer linked
    /// are deleted.
    pub fn plan_update(
        &self,
        service: &Service,
        current: &[AccessUrl],
        links: &[ProviderLink],
    ) -> Result<UpdatePlan, PlanError> {
        let mut plan = UpdatePlan::default();
        for link in links {
            let planned = self.plan_link(service, current, link)?;
            // Two links of one domain: one record, pointing at the last.
            plan.upserts.retain(|r| r.name != planned.record.name);
            plan.upserts.push(planned.record);
            plan.access_urls.push(planned.access_url);
        }
        let kept: BTreeSet<&str> = plan.upserts.iter().map(|r| r.name.as_str()).collect();
        let mut deletes = BTreeSet::new();
        for old in current {
            for record in self.records_of(old) {
                if !kept.contains(record.name.as_str()) {
                    deletes.insert(record);
                }
            }
        }
        plan.deletes = deletes.into_iter().collect();
        Ok(plan)
    }

    /// Records named by `access_urls` (their `operator_url`, and the
    /// `old_operator_url` an https upgrade retains); names outside the
    /// operator's zones have no record and are skipped.
    pub fn plan_delete(&self, access_urls: &[AccessUrl]) -> Vec<RecordRef> {
        let all: BTreeSet<RecordRef> = access_urls
            .iter()
            .flat_map(|u| self.records_of(u))
            .collect();
        all.into_iter().collect()
    }

    /// The records `set_enabled` re-points: at [`not_found_target`]
    /// when disabling, back at each `provider_url` when enabling (a URL
    /// without a provider URL is left alone).
    ///
    /// [`not_found_target`]: Sharding::not_found_target
    pub fn plan_set_enabled(&self, access_urls: &[AccessUrl], enabled: bool) -> Vec<CnameRecord> {
        let mut records: Vec<CnameRecord> = Vec::new();
        for url in access_urls {
            let Some(name) = url.operator_url.as_deref() else {
                continue;
            };
            let Some(zone) = self.zone_of(name, url.shared_ssl_flag) else {
                continue;
            };
            let target = if enabled {
                match url.provider_url.as_deref().filter(|t| !t.is_empty()) {
                    Some(t) => normalize(t),
                    None => continue,
                }
            } else {
                self.not_found_target().to_owned()
            };
            let name = normalize(name);
            records.retain(|r| r.name != name);
            records.push(CnameRecord {
                name,
                zone,
                target,
                ttl: self.settings().ttl,
            });
        }
        records
    }

    fn plan_link(
        &self,
        service: &Service,
        current: &[AccessUrl],
        link: &ProviderLink,
    ) -> Result<PlannedRecord, PlanError> {
        let target = normalize(&link.href);
        if target.is_empty() {
            return Err(PlanError::EmptyTarget {
                domain: link.domain.clone(),
            });
        }
        let shared = is_shared(service, link);
        let existing = current
            .iter()
            .filter(|u| normalize(&u.domain) == normalize(&link.domain))
            .find_map(|u| {
                let name = u
                    .operator_url
                    .as_deref()
                    .or(u.old_operator_url.as_deref())?;
                let zone = self.zone_of(name, u.shared_ssl_flag || shared)?;
                Some((normalize(name), zone, u.shared_ssl_flag))
            });
        let (name, zone, shared_ssl_flag) = match existing {
            Some((name, zone, was_shared)) => (name, zone, was_shared || shared),
            None if shared => {
                let (name, zone) = self.shared_record(&link.domain)?;
                (name, zone, true)
            }
            None => {
                let domain = normalize(&link.domain);
                let zone = self.shard_zone(self.shard_of(&domain));
                (format!("{domain}.{}", zone.name), zone, false)
            }
        };
        if !fits_dns(&name) {
            return Err(PlanError::NameTooLong {
                domain: link.domain.clone(),
                name,
            });
        }
        Ok(PlannedRecord {
            access_url: AccessUrl {
                domain: link.domain.clone(),
                provider_url: Some(link.href.clone()),
                operator_url: Some(name.clone()),
                shared_ssl_flag,
                old_operator_url: None,
            },
            record: CnameRecord {
                name,
                zone,
                target,
                ttl: self.settings().ttl,
            },
        })
    }

    /// A shared-certificate domain is its own record, in the shard it was
    /// given (`shop.scdn2.secure.poppycdn.net` in `scdn2.secure.poppycdn.net`).
    fn shared_record(&self, domain: &str) -> Result<(String, ZoneRef), PlanError> {
        let name = normalize(domain);
        match self.zone_of(&name, true) {
            Some(zone) if zone.kind == ZoneKind::SharedSsl => Ok((name, zone)),
            _ => Err(PlanError::SharedOutsideSuffix {
                domain: domain.to_owned(),
                suffix: self.settings().shared_ssl_domain_suffix.clone(),
            }),
        }
    }

    fn records_of(&self, url: &AccessUrl) -> Vec<RecordRef> {
        [url.operator_url.as_deref(), url.old_operator_url.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|name| {
                let zone = self.zone_of(name, url.shared_ssl_flag)?;
                Some(RecordRef {
                    name: normalize(name),
                    zone,
                })
            })
            .collect()
    }
}

/// Whether the link is for a shared-certificate domain: as the service
/// says, or as the link says when the service does not name the domain.
fn is_shared(service: &Service, link: &ProviderLink) -> bool {
    service
        .spec
        .domains
        .iter()
        .find(|d| normalize(&d.domain) == normalize(&link.domain))
        .map_or(link.certificate == Some(CertificateType::Shared), |d| {
            d.is_shared_ssl()
        })
}

fn fits_dns(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}
