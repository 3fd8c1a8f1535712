//! `AppState`: what every request shares — the store, the authenticator, the
//! rate limiter, the metrics and the API's settings.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long a readiness answer is reused.
const READINESS_FRESH: Duration = Duration::from_secs(1);

use crate::auth::Authenticator;
use crate::config::Config;
use crate::metrics::{Gauges, Metrics};
use crate::rate_limit::RateLimit;
use crate::share::Share;
use crate::store::Store;

pub struct AppState {
    pub store: Store,
    /// The last readiness answer and when it was found.
    readiness: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
    pub auth: Authenticator,
    pub rate_limit: RateLimit,
    /// Each principal's share of the database (contract §7).
    pub share: Share,
    pub metrics: Metrics,
    /// Where the API lives, e.g. `/members/v1.0`; never ends with `/`.
    pub base_path: String,
    pub max_period_days: u32,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// How long an idempotency key is kept.
    pub idempotency_ttl: Duration,
}

impl AppState {
    pub fn new(config: &Config, store: Store) -> Self {
        Self {
            auth: Authenticator::new(config.auth_settings(), store.clone()),
            store,
            readiness: tokio::sync::Mutex::new(None),
            rate_limit: RateLimit::with_clock(
                config.rate_limit,
                config.rate_burst,
                config.rate_clock.clone(),
            ),
            share: Share::new(config.principal_connections(), config.store.pool_timeout),
            metrics: Metrics::default(),
            base_path: config.base_path.clone(),
            max_period_days: config.max_period_days,
            body_timeout: config.body_timeout,
            idempotency_ttl: config.idempotency_ttl,
        }
    }

    /// The store's readiness, found at most once a second (callers that come
    /// meanwhile share the answer); a change is logged once.
    pub async fn readiness(&self) -> Result<(), String> {
        let mut cached = self.readiness.lock().await;
        if let Some((at, answer)) = cached.as_ref() {
            if at.elapsed() < READINESS_FRESH {
                return answer.clone();
            }
        }
        let answer = self.store.readiness().await;
        let was_ready = cached.as_ref().is_none_or(|(_, a)| a.is_ok());
        match (&answer, was_ready) {
            (Err(why), true) => log::warn!("not ready: {why}"),
            (Ok(()), false) => log::info!("ready again"),
            _ => {}
        }
        *cached = Some((Instant::now(), answer.clone()));
        answer
    }

    /// The path of a pass, as the `Location` header of a create gives it.
    pub fn pass_path(&self, id: &crate::domain::GuestPassId) -> String {
        format!("{}/guest-passes/{id}", self.base_path)
    }

    pub fn gauges(&self) -> Gauges {
        let (pool_in_use, pool_idle) = self.store.pool_state();
        Gauges {
            pool_in_use,
            pool_idle,
            rate_limit_buckets: self.rate_limit.buckets(),
            rate_limit_rejections: self.rate_limit.rejections(),
            share_refusals: self.share.refusals(),
            db_retries: self.store.stats().retries.load(Ordering::Relaxed),
            db_stalls: self.store.stats().stalls.load(Ordering::Relaxed),
            writer: self.store.writer_stats(),
            batcher: self.store.batcher_stats(),
            read_panics: self.store.stats().read_panics.load(Ordering::Relaxed),
            auth_throttle_pairs: self.auth.throttled_pairs(),
            auth_throttle_refusals: self.auth.throttle_refusals(),
            negative_cache_entries: self.auth.known_missing(),
            log_lines_dropped: crate::logging::dropped_lines(),
        }
    }
}
