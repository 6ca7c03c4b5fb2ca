//! Shard settings, record names and zones.

use rand::seq::SliceRandom;

/// The operator's sharding settings, as the original's
/// `[drivers:dns:rackspace]` options (§7.4). Drivers read them from their
/// configuration section and hand them to [`Sharding::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardSettings {
    /// The operator's CDN domain tenants CNAME to (`poppycdn.net`).
    pub url: String,
    /// Label prefix of the record shards (`cdn` → `cdn3.poppycdn.net`).
    pub shard_prefix: String,
    /// Number of record shards `<prefix>1..<prefix>N`; `0` puts every record
    /// straight under `url` (`<domain>.<url>`).
    pub num_shards: u32,
    /// A shard holding this many records or more is full (`is_shard_full`).
    pub records_limit: u32,
    /// Label prefix of the shared-SSL shards (`scdn`).
    pub shared_ssl_shard_prefix: String,
    /// Number of shared-SSL shards; `0` makes the suffix itself the only shard.
    pub shared_ssl_num_shards: u32,
    /// Zone of the shared-SSL shards (`secure.poppycdn.net`); empty turns
    /// shared-SSL domains off (no shards are offered).
    pub shared_ssl_domain_suffix: String,
    /// Where a disabled service's records point (`notfound.poppycdn.net`).
    pub url_404: String,
    /// TTL of the CNAME records, in seconds.
    pub ttl: u32,
}

impl Default for ShardSettings {
    /// The original's defaults, with `url` and `url_404` still to be set.
    fn default() -> Self {
        Self {
            url: String::new(),
            shard_prefix: "cdn".to_owned(),
            num_shards: 10,
            records_limit: 400,
            shared_ssl_shard_prefix: "scdn".to_owned(),
            shared_ssl_num_shards: 5,
            shared_ssl_domain_suffix: String::new(),
            url_404: String::new(),
            ttl: 300,
        }
    }
}

/// A sharding setting that cannot be used; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardConfigError {
    #[error("{key} must be a domain name like 'poppycdn.net', got {value:?}")]
    NotADomain { key: &'static str, value: String },
    #[error("{key} must be a single DNS label like 'cdn' (letters, digits, '-'), got {value:?}")]
    NotALabel { key: &'static str, value: String },
    #[error("{key} must be at least 1, got {value}")]
    TooSmall { key: &'static str, value: u32 },
}

/// Which kind of zone a record lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ZoneKind {
    /// A record shard `<prefix><k>.<url>` (or `url` itself without shards).
    Shard,
    /// A shared-SSL shard `<prefix><i>.<suffix>` (or the suffix itself).
    SharedSsl,
}

/// The zone a record belongs to: the original's "subdomain" of the
/// operator's domain. Drivers map it to their own zone (a Rackspace domain,
/// the closest Route53 hosted zone).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ZoneRef {
    /// Lower-case, without a trailing dot (`cdn3.poppycdn.net`).
    pub name: String,
    pub kind: ZoneKind,
}

/// The sharding logic over validated [`ShardSettings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharding {
    settings: ShardSettings,
}

impl Sharding {
    /// Checks `settings` (names normalised to lower case, no trailing dot).
    pub fn new(mut settings: ShardSettings) -> Result<Self, ShardConfigError> {
        settings.url = normalize(&settings.url);
        settings.url_404 = normalize(&settings.url_404);
        settings.shared_ssl_domain_suffix = normalize(&settings.shared_ssl_domain_suffix);
        settings.shard_prefix = settings.shard_prefix.to_ascii_lowercase();
        settings.shared_ssl_shard_prefix = settings.shared_ssl_shard_prefix.to_ascii_lowercase();
        if !is_domain(&settings.url) {
            return Err(ShardConfigError::NotADomain {
                key: "url",
                value: settings.url,
            });
        }
        if !is_domain(&settings.url_404) {
            return Err(ShardConfigError::NotADomain {
                key: "url_404",
                value: settings.url_404,
            });
        }
        if settings.num_shards > 0 && !is_label(&settings.shard_prefix) {
            return Err(ShardConfigError::NotALabel {
                key: "shard_prefix",
                value: settings.shard_prefix,
            });
        }
        if !settings.shared_ssl_domain_suffix.is_empty() {
            if !is_domain(&settings.shared_ssl_domain_suffix) {
                return Err(ShardConfigError::NotADomain {
                    key: "shared_ssl_domain_suffix",
                    value: settings.shared_ssl_domain_suffix,
                });
            }
            if settings.shared_ssl_num_shards > 0 && !is_label(&settings.shared_ssl_shard_prefix) {
                return Err(ShardConfigError::NotALabel {
                    key: "shared_ssl_shard_prefix",
                    value: settings.shared_ssl_shard_prefix,
                });
            }
        }
        if settings.records_limit == 0 {
            return Err(ShardConfigError::TooSmall {
                key: "records_limit",
                value: 0,
            });
        }
        if settings.ttl == 0 {
            return Err(ShardConfigError::TooSmall {
                key: "ttl",
                value: 0,
            });
        }
        Ok(Self { settings })
    }

    /// The validated settings (names in lower case, no trailing dot).
    pub fn settings(&self) -> &ShardSettings {
        &self.settings
    }

    /// The shard (`1..=num_shards`) of `domain`: a stable hash of the
    /// lower-case name, so the same domain always gets the same record.
    /// `None` when sharding is off (`num_shards = 0`).
    pub fn shard_of(&self, domain: &str) -> Option<u32> {
        let n = self.settings.num_shards;
        (n > 0).then(|| {
            let hash = fnv1a(normalize(domain).as_bytes());
            // The remainder is below n, which is a u32.
            u32::try_from(hash % u64::from(n)).unwrap_or(0) + 1
        })
    }

    /// The zone of record shard `shard` (`cdn3.poppycdn.net`), or `url`
    /// for `None`.
    pub fn shard_zone(&self, shard: Option<u32>) -> ZoneRef {
        let s = &self.settings;
        let name = match shard {
            Some(k) => format!("{}{k}.{}", s.shard_prefix, s.url),
            None => s.url.clone(),
        };
        ZoneRef {
            name,
            kind: ZoneKind::Shard,
        }
    }

    /// Every record shard zone, in order.
    pub fn shard_zones(&self) -> Vec<ZoneRef> {
        match self.settings.num_shards {
            0 => vec![self.shard_zone(None)],
            n => (1..=n).map(|k| self.shard_zone(Some(k))).collect(),
        }
    }

    /// The operator record for a (non-shared) `domain`:
    /// `<domain>.<prefix><k>.<url>`.
    pub fn operator_name(&self, domain: &str) -> String {
        let zone = self.shard_zone(self.shard_of(domain));
        format!("{}.{}", normalize(domain), zone.name)
    }

    /// Whether shared-SSL domains are offered (a suffix is configured).
    pub fn shared_ssl_enabled(&self) -> bool {
        !self.settings.shared_ssl_domain_suffix.is_empty()
    }

    /// Every shared-SSL shard, in order: `<prefix><i>.<suffix>` for `i` in
    /// `1..=shared_ssl_num_shards`, the suffix alone when that is `0`, none
    /// when no suffix is configured.
    pub fn shared_ssl_shards(&self) -> Vec<String> {
        let s = &self.settings;
        if !self.shared_ssl_enabled() {
            return Vec::new();
        }
        match s.shared_ssl_num_shards {
            0 => vec![s.shared_ssl_domain_suffix.clone()],
            n => (1..=n)
                .map(|i| {
                    format!(
                        "{}{i}.{}",
                        s.shared_ssl_shard_prefix, s.shared_ssl_domain_suffix
                    )
                })
                .collect(),
        }
    }

    /// [`shared_ssl_shards`](Self::shared_ssl_shards) in a fresh random
    /// order, so new shared domains spread over the shards (as the original).
    pub fn shared_ssl_shards_shuffled(&self) -> Vec<String> {
        let mut shards = self.shared_ssl_shards();
        shards.shuffle(&mut rand::rng());
        shards
    }

    /// Whether `shard` is one of [`shared_ssl_shards`](Self::shared_ssl_shards).
    pub fn is_shared_ssl_shard(&self, shard: &str) -> bool {
        let shard = normalize(shard);
        self.shared_ssl_shards().contains(&shard)
    }

    /// The zone of a shared-SSL shard name, for counting its records.
    pub fn shared_ssl_zone(&self, shard: &str) -> ZoneRef {
        ZoneRef {
            name: normalize(shard),
            kind: ZoneKind::SharedSsl,
        }
    }

    /// A shard holding `records` records is full (`>= records_limit`).
    pub fn is_full(&self, records: u64) -> bool {
        records >= u64::from(self.settings.records_limit)
    }

    /// Where a disabled service's records point.
    pub fn not_found_target(&self) -> &str {
        &self.settings.url_404
    }

    /// The zone holding operator record `operator_url`, derived from the
    /// name alone (the label just before `url` or the shared suffix), so
    /// records made under other shard counts are still found. `None` when
    /// the name is not in the operator's zones (the default driver's
    /// operator URL is the provider's own host name): there is no record.
    pub fn zone_of(&self, operator_url: &str, shared: bool) -> Option<ZoneRef> {
        let name = normalize(operator_url);
        let shard = self.shard_zone_of_name(&name);
        // A name in a numbered record shard is a record of that shard
        // whatever the flag says; otherwise the flag, or the shared suffix
        // when the flag is missing (older access URLs), decides.
        match shard {
            Some((zone, true)) if !shared => Some(zone),
            shard => self
                .shared_zone_of_name(&name)
                .or(shard.map(|(zone, _)| zone)),
        }
    }

    /// The record shard of `name`, and whether it was a numbered shard.
    fn shard_zone_of_name(&self, name: &str) -> Option<(ZoneRef, bool)> {
        let s = &self.settings;
        let rest = name.strip_suffix(&s.url)?.strip_suffix('.')?;
        if rest.is_empty() {
            return None;
        }
        let (zone, numbered) = match rest.rsplit_once('.') {
            Some((_, label)) if is_numbered(label, &s.shard_prefix) => {
                (format!("{label}.{}", s.url), true)
            }
            _ => (s.url.clone(), false),
        };
        Some((
            ZoneRef {
                name: zone,
                kind: ZoneKind::Shard,
            },
            numbered,
        ))
    }

    fn shared_zone_of_name(&self, name: &str) -> Option<ZoneRef> {
        let s = &self.settings;
        if !self.shared_ssl_enabled() {
            return None;
        }
        let rest = name
            .strip_suffix(&s.shared_ssl_domain_suffix)?
            .strip_suffix('.')?;
        if rest.is_empty() {
            return None;
        }
        let zone = match rest.rsplit_once('.') {
            Some((_, label)) if is_numbered(label, &s.shared_ssl_shard_prefix) => {
                format!("{label}.{}", s.shared_ssl_domain_suffix)
            }
            _ => s.shared_ssl_domain_suffix.clone(),
        };
        Some(ZoneRef {
            name: zone,
            kind: ZoneKind::SharedSsl,
        })
    }
}

/// Lower case, without a trailing dot or surrounding blanks.
pub(super) fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `label` is `prefix` followed by a decimal shard number.
fn is_numbered(label: &str, prefix: &str) -> bool {
    label
        .strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

fn is_domain(name: &str) -> bool {
    !name.is_empty() && name.len() <= 253 && name.split('.').all(is_label)
}

/// 64-bit FNV-1a: a fixed, well-spread hash (unlike `std`'s keyed hasher,
/// its values never change between runs or releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(PRIME))
}
