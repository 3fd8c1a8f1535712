//! The negative cache: IDs the store just said do not exist are remembered
//! for a few seconds, so a flood of unknown IDs costs a hash lookup each
//! instead of a database read (and no more than a known ID does).
//!
//! Bounded: IDs are kept as 64-bit keyed hashes (an ID may be 1 KB), in a
//! fixed number of shards of bounded size. A full shard first drops what has
//! expired, then everything: losing entries only costs database reads.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::Duration;

use crate::domain::PrincipalKind;

const SHARDS: usize = 16;
/// 16 × 4096 = 65,536 IDs, about 2 MB at most.
const PER_SHARD: usize = 4096;

pub struct NegativeCache {
    ttl: Duration,
    hasher: RandomState,
    /// Hash of (kind, id) → when it was found missing.
    shards: Vec<Mutex<HashMap<u64, Duration>>>,
    per_shard: usize,
}

impl NegativeCache {
    /// `ttl` zero turns it off.
    pub fn new(ttl: Duration) -> Self {
        Self::with_capacity(ttl, PER_SHARD)
    }

    fn with_capacity(ttl: Duration, per_shard: usize) -> Self {
        Self {
            ttl,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard,
        }
    }

    fn key(&self, kind: PrincipalKind, id: &str) -> u64 {
        self.hasher.hash_one((kind as u8, id))
    }

    fn shard(&self, key: u64) -> &Mutex<HashMap<u64, Duration>> {
        &self.shards[(key >> 60) as usize % SHARDS]
    }

    /// Whether `id` was found missing less than the TTL ago.
    pub fn is_known_missing(&self, kind: PrincipalKind, id: &str, now: Duration) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let key = self.key(kind, id);
        self.shard(key)
            .lock()
            .ok()
            .and_then(|shard| shard.get(&key).copied())
            .is_some_and(|at| now < at + self.ttl)
    }

    pub fn remember_missing(&self, kind: PrincipalKind, id: &str, now: Duration) {
        if self.ttl.is_zero() {
            return;
        }
        let key = self.key(kind, id);
        let Ok(mut shard) = self.shard(key).lock() else {
            return;
        };
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            let ttl = self.ttl;
            shard.retain(|_, at| now < *at + ttl);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        shard.insert(key, now);
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok().map(|s| s.len()))
            .sum()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_the_ttl_per_kind() {
        let cache = NegativeCache::new(Duration::from_secs(3));
        let t0 = Duration::from_secs(10);
        assert!(!cache.is_known_missing(PrincipalKind::Chain, "x", t0));
        cache.remember_missing(PrincipalKind::Chain, "x", t0);
        assert!(cache.is_known_missing(
            PrincipalKind::Chain,
            "x",
            t0 + Duration::from_millis(2999)
        ));
        assert!(!cache.is_known_missing(PrincipalKind::Chain, "x", t0 + Duration::from_secs(3)));
        assert!(!cache.is_known_missing(PrincipalKind::Location, "x", t0));
        assert!(!cache.is_known_missing(PrincipalKind::Chain, "y", t0));
    }

    #[test]
    fn zero_is_off_and_a_flood_stays_bounded() {
        let off = NegativeCache::new(Duration::ZERO);
        off.remember_missing(PrincipalKind::Chain, "x", Duration::ZERO);
        assert!(!off.is_known_missing(PrincipalKind::Chain, "x", Duration::ZERO));
        assert!(off.is_empty());

        let cache = NegativeCache::with_capacity(Duration::from_secs(3), 8);
        for i in 0..100_000u32 {
            cache.remember_missing(PrincipalKind::Chain, &i.to_string(), Duration::ZERO);
        }
        assert!(cache.len() <= SHARDS * 8, "{}", cache.len());
    }
}
