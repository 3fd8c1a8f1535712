//! Rate limiting: a token bucket (GCRA, from `governor`) per authenticated
//! principal. Limiting happens after authentication, so bad credentials never
//! create buckets, and idle buckets are evicted: memory stays bounded by the
//! number of real principals active recently.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::domain::Scope;
use crate::error::ApiError;

/// How often idle buckets are swept out.
const EVICT_EVERY: Duration = Duration::from_secs(30);

pub struct RateLimit {
    limiter: Option<DefaultKeyedRateLimiter<Scope>>,
    started: Instant,
    last_evicted_secs: AtomicU64,
    rejections: AtomicUsize,
}

impl RateLimit {
    /// `per_second` 0 turns limiting off; `burst` 0 means "same as the rate".
    pub fn new(per_second: u32, burst: u32) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            limiter,
            started: Instant::now(),
            last_evicted_secs: AtomicU64::new(0),
            rejections: AtomicUsize::new(0),
        }
    }

    pub fn check(&self, principal: &Scope) -> Result<(), ApiError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        self.evict_idle(limiter);
        limiter.check_key(principal).map_err(|not_until| {
            self.rejections.fetch_add(1, Ordering::Relaxed);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Whole seconds, rounded up, and never 0: "retry now" would only bounce again.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::RateLimited {
                retry_after_secs: secs.max(1),
            }
        })
    }

    fn evict_idle(&self, limiter: &DefaultKeyedRateLimiter<Scope>) {
        let now = self.started.elapsed().as_secs();
        let last = self.last_evicted_secs.load(Ordering::Relaxed);
        if now >= last + EVICT_EVERY.as_secs()
            && self
                .last_evicted_secs
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Buckets currently held (for metrics and the memory bound).
    pub fn buckets(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.len())
    }

    pub fn rejections(&self) -> usize {
        self.rejections.load(Ordering::Relaxed)
    }

    /// Sweeps idle buckets now (tests, and the memory figure in the notes).
    pub fn evict_now(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_refuses_with_a_retry_after() {
        let limit = RateLimit::new(1, 3);
        let who = Scope::Chain("a".into());
        for _ in 0..3 {
            assert!(limit.check(&who).is_ok());
        }
        match limit.check(&who) {
            Err(ApiError::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("expected 429, got {other:?}"),
        }
        // Another principal has its own bucket.
        assert!(limit.check(&Scope::Chain("b".into())).is_ok());
        assert_eq!(limit.rejections(), 1);
    }

    fn rss_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn idle_buckets_are_evicted_so_memory_follows_active_principals() {
        let limit = RateLimit::new(1000, 1);
        let before = rss_kib();
        // 100,000 requests from 10,000 distinct principals.
        for i in 0..100_000u32 {
            let _ = limit.check(&Scope::Location(format!("location-{}", i % 10_000)));
        }
        let held = limit.buckets();
        let grown = rss_kib().saturating_sub(before);
        assert_eq!(held, 10_000);
        // At 1000/s a bucket is full again after 1 ms: every principal is idle.
        std::thread::sleep(Duration::from_millis(20));
        limit.evict_now();
        assert_eq!(limit.buckets(), 0);
        eprintln!(
            "rate limiter: {held} buckets, process RSS grew {grown} KiB; after eviction 0 buckets"
        );
    }

    #[test]
    fn zero_turns_it_off() {
        let limit = RateLimit::new(0, 0);
        for _ in 0..10_000 {
            assert!(limit.check(&Scope::Deployment).is_ok());
        }
        assert_eq!(limit.buckets(), 0);
    }
}
