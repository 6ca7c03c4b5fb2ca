//! The operator's CNAME zone, as pure code (reference §7.3–7.4).
//!
//! After a provider returns its access URLs, Poppy gives the tenant a stable
//! name in the operator's zone that points at the provider:
//! `<domain>.<shard_prefix><k>.<url>` (`www.example.com.cdn3.poppycdn.net`).
//! Shared-certificate domains are their own record
//! (`shop.scdn2.secure.poppycdn.net`). This module decides every name, zone
//! and target; DNS drivers ([`DnsManager`](crate::ports::DnsManager)
//! adapters) only create, re-point and delete the records it plans.
//!
//! # Shard choice
//!
//! The original picked a random shard per call. Here the shard of a domain
//! is a **stable hash** of the (lower-case) domain ([`Sharding::shard_of`]):
//! a retried flow step, or a `create` repeated after a crash between the DNS
//! call and its checkpoint, names the very same record, so nothing is left
//! behind and `create` is idempotent by construction. An FNV-1a hash spreads
//! domains evenly over the shards; it is fixed (not `std`'s randomly keyed
//! hasher) so names survive restarts and upgrades.

mod plan;
mod shards;

pub use plan::{CnameRecord, PlanError, PlannedRecord, RecordRef, UpdatePlan};
pub use shards::{ShardConfigError, ShardSettings, Sharding, ZoneKind, ZoneRef};

#[cfg(test)]
mod tests;
