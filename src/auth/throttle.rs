//! Failed authentication throttled per (client address, presented ID):
//! more than `limit` failures of a pair within a minute and every further
//! request of that pair is refused, without a credential lookup, until the
//! minute that began with the pair's first failure has passed. A success
//! does not reset the count: resetting would take a shard lock on every
//! authenticated request, and the window passes on its own within a minute.
//!
//! Memory is bounded whatever an attacker sends: pairs are kept as 64-bit
//! keyed hashes (never the ID itself, which may be 1 KB) in a fixed number
//! of shards of bounded size; only failures create entries.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::domain::PrincipalKind;

pub const WINDOW: Duration = Duration::from_secs(60);
const SHARDS: usize = 64;
/// Pairs per shard: 64 × 1024 = 65,536 pairs, about 3 MB at most.
const PER_SHARD: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Window {
    /// When the pair's first failure of this window happened.
    start: Duration,
    failures: u32,
}

/// A pair, hashed with a per-process random key: collisions cannot be aimed
/// at another caller's pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PairKey(u64);

pub struct Throttle {
    limit: u32,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<PairKey, Window>>>,
    per_shard: usize,
    refused: AtomicU64,
}

impl Throttle {
    /// `limit` failures per minute per pair; 0 turns throttling off.
    pub fn new(limit: u32) -> Self {
        Self::with_capacity(limit, PER_SHARD)
    }

    fn with_capacity(limit: u32, per_shard: usize) -> Self {
        Self {
            limit,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard,
            refused: AtomicU64::new(0),
        }
    }

    pub fn is_on(&self) -> bool {
        self.limit > 0
    }

    pub fn key(&self, address: IpAddr, kind: PrincipalKind, id: &str) -> PairKey {
        PairKey(self.hasher.hash_one((address, kind as u8, id)))
    }

    fn shard(&self, key: PairKey) -> &Mutex<HashMap<PairKey, Window>> {
        // The low bits also pick the bucket inside the map; the high ones
        // spread the shards independently of that.
        &self.shards[(key.0 >> 58) as usize % SHARDS]
    }

    /// How long the pair must still wait, if it is over the limit now.
    pub fn wait(&self, key: PairKey, now: Duration) -> Option<Duration> {
        if !self.is_on() {
            return None;
        }
        let shard = self.shard(key).lock().ok()?;
        let window = shard.get(&key)?;
        let ends = window.start + WINDOW;
        (window.failures >= self.limit && now < ends).then(|| {
            self.refused.fetch_add(1, Ordering::Relaxed);
            ends - now
        })
    }

    /// Counts one failed authentication of the pair.
    pub fn failed(&self, key: PairKey, now: Duration) {
        if !self.is_on() {
            return;
        }
        let Ok(mut shard) = self.shard(key).lock() else {
            return;
        };
        if let Some(window) = shard.get_mut(&key) {
            if now < window.start + WINDOW {
                window.failures = window.failures.saturating_add(1);
            } else {
                *window = Window {
                    start: now,
                    failures: 1,
                };
            }
            return;
        }
        if shard.len() >= self.per_shard {
            make_room(&mut shard, self.limit, now);
        }
        shard.insert(
            key,
            Window {
                start: now,
                failures: 1,
            },
        );
    }

    /// Pairs held (for metrics and the memory bound).
    pub fn pairs(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok().map(|s| s.len()))
            .sum()
    }

    /// Requests refused with 429 so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// Frees at least one slot of a full shard: first the windows that have
/// passed; then the pairs with the fewest failures, all of them at once (a
/// flood of random IDs is a shard full of single failures, gone in one
/// sweep), so a guesser cannot wash out the count of the pair it cares about
/// with cheap fresh pairs: it would have to bring a whole shard's pairs up to
/// that count first. Throttled pairs go last, the oldest first.
fn make_room(shard: &mut HashMap<PairKey, Window>, limit: u32, now: Duration) {
    let full = shard.len();
    shard.retain(|_, w| now < w.start + WINDOW);
    if shard.len() < full {
        return;
    }
    let Some(fewest) = shard.values().map(|w| w.failures).min() else {
        return;
    };
    if fewest < limit {
        shard.retain(|_, w| w.failures > fewest);
    } else if let Some(oldest) = shard.iter().min_by_key(|(_, w)| w.start).map(|(k, _)| *k) {
        shard.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn over_the_limit_a_pair_waits_until_its_window_passes() {
        let t = Throttle::new(3);
        let key = t.key(addr("1.2.3.4"), PrincipalKind::Chain, "a");
        let start = Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(t.wait(key, start), None);
            t.failed(key, start);
        }
        assert_eq!(t.wait(key, start), Some(WINDOW));
        let later = start + Duration::from_secs(45);
        assert_eq!(t.wait(key, later), Some(Duration::from_secs(15)));
        // Other IDs from the same address, and the same ID from another.
        assert_eq!(
            t.wait(t.key(addr("1.2.3.4"), PrincipalKind::Chain, "b"), later),
            None
        );
        assert_eq!(
            t.wait(t.key(addr("1.2.3.5"), PrincipalKind::Chain, "a"), later),
            None
        );
        assert_eq!(
            t.wait(t.key(addr("1.2.3.4"), PrincipalKind::Location, "a"), later),
            None
        );
        assert_eq!(t.wait(key, start + WINDOW), None);
        // A new window starts from nothing.
        t.failed(key, start + WINDOW);
        assert_eq!(t.wait(key, start + WINDOW), None);
        assert_eq!(t.refused(), 2);
    }

    #[test]
    fn zero_turns_it_off() {
        let t = Throttle::new(0);
        let key = t.key(addr("1.2.3.4"), PrincipalKind::Chain, "a");
        for _ in 0..100 {
            t.failed(key, Duration::ZERO);
        }
        assert_eq!(t.wait(key, Duration::ZERO), None);
        assert_eq!(t.pairs(), 0);
    }

    #[test]
    fn a_flood_of_pairs_stays_bounded_and_washes_out_neither_throttled_nor_counting_pairs() {
        let t = Throttle::with_capacity(3, 16);
        let now = Duration::from_secs(1);
        let throttled = t.key(addr("9.9.9.9"), PrincipalKind::Chain, "guessed");
        let counting = t.key(addr("9.9.9.9"), PrincipalKind::Chain, "being guessed");
        for _ in 0..3 {
            t.failed(throttled, now);
        }
        t.failed(counting, now);
        t.failed(counting, now);
        // 100,000 fresh pairs, one failure each, in the same minute.
        for i in 0..100_000u32 {
            let key = t.key(addr("1.2.3.4"), PrincipalKind::Chain, &i.to_string());
            t.failed(key, now);
        }
        assert!(t.pairs() <= SHARDS * 16, "{} pairs", t.pairs());
        assert!(t.wait(throttled, now).is_some());
        // The guesser's two failures still count: one more and it is throttled.
        assert_eq!(t.wait(counting, now), None);
        t.failed(counting, now);
        assert!(t.wait(counting, now).is_some());
    }
}
