//! Rate limiting: a token bucket (GCRA, from `governor`) per authenticated
//! principal. Limiting happens after authentication, so bad credentials never
//! create buckets, and idle buckets are evicted: memory stays bounded by the
//! number of real principals active recently.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::domain::Scope;
use crate::error::ApiError;

/// A clock that moves only when advanced: what `RateClock::Manual` runs on.
pub use governor::clock::FakeRelativeClock;

/// How often idle buckets are swept out.
const EVICT_EVERY: Duration = Duration::from_secs(30);

/// The time the buckets refill by: the system's, or one that moves only when
/// a test advances it (so a test of the limit does not race the refill).
#[derive(Debug, Clone, Default)]
pub enum RateClock {
    #[default]
    System,
    Manual(FakeRelativeClock),
}

/// Monotonic time since the ticker was made, on a `RateClock`: what the
/// failed-authentication throttle and the credential caches measure their
/// windows with, so their tests can move time instead of sleeping.
#[derive(Debug, Clone)]
pub struct Ticker {
    clock: RateClock,
    origin: Instant,
}

impl Ticker {
    pub fn new(clock: RateClock) -> Self {
        Self {
            clock,
            origin: Instant::now(),
        }
    }

    pub fn now(&self) -> Duration {
        match &self.clock {
            RateClock::System => self.origin.elapsed(),
            RateClock::Manual(clock) => Duration::from_nanos(u64::from(clock.now())),
        }
    }
}

type Limiter<C> =
    RateLimiter<Scope, DefaultKeyedStateStore<Scope>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The buckets on their clock. Production is always `System`: one branch
/// per check, the limiter itself is governor's default, unchanged.
enum Buckets {
    System(Limiter<DefaultClock>),
    Manual(Limiter<FakeRelativeClock>),
}

/// Takes a token from `who`'s bucket, or says how long until there is one.
fn take<C: Clock>(limiter: &Limiter<C>, who: &Scope) -> Result<(), Duration> {
    limiter
        .check_key(who)
        .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
}

impl Buckets {
    fn take(&self, who: &Scope) -> Result<(), Duration> {
        match self {
            Buckets::System(l) => take(l, who),
            Buckets::Manual(l) => take(l, who),
        }
    }

    fn evict_idle(&self) {
        match self {
            Buckets::System(l) => {
                l.retain_recent();
                l.shrink_to_fit();
            }
            Buckets::Manual(l) => {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Buckets::System(l) => l.len(),
            Buckets::Manual(l) => l.len(),
        }
    }
}

pub struct RateLimit {
    limiter: Option<Buckets>,
    started: Instant,
    last_evicted_secs: AtomicU64,
    rejections: AtomicUsize,
}

impl RateLimit {
    /// `per_second` 0 turns limiting off; `burst` 0 means "same as the rate".
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self::with_clock(per_second, burst, RateClock::System)
    }

    pub fn with_clock(per_second: u32, burst: u32, clock: RateClock) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate);
            let quota = Quota::per_second(rate).allow_burst(burst);
            match clock {
                RateClock::System => Buckets::System(RateLimiter::keyed(quota)),
                RateClock::Manual(clock) => {
                    Buckets::Manual(RateLimiter::dashmap_with_clock(quota, clock))
                }
            }
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
        limiter.take(principal).map_err(|wait| {
            self.rejections.fetch_add(1, Ordering::Relaxed);
            ApiError::retry_after(wait)
        })
    }

    fn evict_idle(&self, limiter: &Buckets) {
        let now = self.started.elapsed().as_secs();
        let last = self.last_evicted_secs.load(Ordering::Relaxed);
        if now >= last + EVICT_EVERY.as_secs()
            && self
                .last_evicted_secs
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            limiter.evict_idle();
        }
    }

    /// Buckets currently held (for metrics and the memory bound).
    pub fn buckets(&self) -> usize {
        self.limiter.as_ref().map_or(0, Buckets::len)
    }

    pub fn rejections(&self) -> usize {
        self.rejections.load(Ordering::Relaxed)
    }

    /// Sweeps idle buckets now (tests, and the memory figure in the notes).
    pub fn evict_now(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.evict_idle();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes this thread holds on the heap, by a counting allocator: the
    /// limiter allocates on the thread that calls it, so other tests running
    /// in parallel do not blur the figure the way process RSS would.
    mod heap {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        struct Counting;

        thread_local! {
            static LIVE: Cell<isize> = const { Cell::new(0) };
        }

        fn add(bytes: isize) {
            let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
        }

        // SAFETY: every call goes straight to `System`; only the count is ours.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                add(layout.size() as isize);
                System.alloc(layout)
            }
            unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
                add(layout.size() as isize);
                System.alloc_zeroed(layout)
            }
            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                add(-(layout.size() as isize));
                System.dealloc(ptr, layout)
            }
            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                add(new_size as isize - layout.size() as isize);
                System.realloc(ptr, layout, new_size)
            }
        }

        #[global_allocator]
        static COUNTING: Counting = Counting;

        pub fn live() -> isize {
            LIVE.with(Cell::get)
        }
    }

    #[test]
    fn allows_the_burst_then_refuses_with_a_retry_after() {
        let clock = FakeRelativeClock::default();
        let limit = RateLimit::with_clock(1, 3, RateClock::Manual(clock.clone()));
        let who = Scope::Chain("a".into());
        for _ in 0..3 {
            assert!(limit.check(&who).is_ok());
        }
        // One token a second: the next one is exactly a second away.
        match limit.check(&who) {
            Err(ApiError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected 429, got {other:?}"),
        }
        // Another principal has its own bucket.
        assert!(limit.check(&Scope::Chain("b".into())).is_ok());
        assert_eq!(limit.rejections(), 1);
        // Retry-After tells the truth: just before it, still refused; at it, served.
        clock.advance(Duration::from_millis(999));
        assert!(limit.check(&who).is_err());
        clock.advance(Duration::from_millis(1));
        assert!(limit.check(&who).is_ok());
        assert!(limit.check(&who).is_err());
        assert_eq!(limit.rejections(), 3);
    }

    #[test]
    fn idle_buckets_are_evicted_so_memory_follows_active_principals() {
        // Measured on x86_64 with 10,000 keys `Location("location-N")`:
        // 80 bytes per bucket; after the sweep, exactly what the empty
        // limiter held. The bound per bucket leaves room for the hash
        // table's growth policy (up to twice the entries), not for a bucket
        // that outlives its principal.
        const PRINCIPALS: u32 = 10_000;
        const BYTES_PER_BUCKET: isize = 256;
        const SLACK_WHEN_EMPTY: isize = 1024;

        let clock = FakeRelativeClock::default();
        let before = heap::live();
        let limit = RateLimit::with_clock(1000, 1, RateClock::Manual(clock.clone()));
        let empty = heap::live() - before;
        // 100,000 requests from 10,000 distinct principals.
        for i in 0..100_000u32 {
            let _ = limit.check(&Scope::Location(format!("location-{}", i % PRINCIPALS)));
        }
        let held = limit.buckets();
        let grown = heap::live() - before - empty;
        assert_eq!(held, PRINCIPALS as usize);
        assert!(
            grown <= PRINCIPALS as isize * BYTES_PER_BUCKET,
            "{held} buckets hold {grown} bytes"
        );
        // At 1000/s a bucket is full again after 1 ms: every principal is idle.
        clock.advance(Duration::from_millis(20));
        limit.evict_now();
        let after = heap::live() - before;
        assert_eq!(limit.buckets(), 0);
        assert!(
            after <= empty + SLACK_WHEN_EMPTY,
            "no bucket left, yet the limiter holds {after} bytes (empty, it held {empty})"
        );
        eprintln!(
            "rate limiter: empty {empty} bytes; {held} buckets {grown} bytes more \
             ({} per bucket); after eviction 0 buckets, {after} bytes",
            grown / held as isize
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
