//! `AppState`: what every request shares — the store, the authenticator, the
//! rate limiter, the metrics and the API's settings.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::metrics::{Gauges, Metrics};
use crate::rate_limit::RateLimit;
use crate::store::Store;

pub struct AppState {
    pub store: Store,
    pub auth: Authenticator,
    pub rate_limit: RateLimit,
    pub metrics: Metrics,
    /// Where the API lives, e.g. `/members/v1.0`; never ends with `/`.
    pub base_path: String,
    pub max_period_days: u32,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
}

impl AppState {
    pub fn new(config: &Config, store: Store) -> Self {
        Self {
            auth: Authenticator::new(
                config.auth_levels,
                store.clone(),
                config.credential_cache,
                config.demo,
            ),
            store,
            rate_limit: RateLimit::new(config.rate_limit, config.rate_burst),
            metrics: Metrics::default(),
            base_path: config.base_path.clone(),
            max_period_days: config.max_period_days,
            body_timeout: config.body_timeout,
        }
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
            db_retries: self.store.stats().retries.load(Ordering::Relaxed),
            db_stalls: self.store.stats().stalls.load(Ordering::Relaxed),
        }
    }
}
