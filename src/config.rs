//! The server's typed configuration: what `serve` reads from flags and the
//! environment, and what tests build directly. `defaults` is the one place
//! every default is written; the command line shows the same constants.

use std::time::Duration;

use crate::auth::{AuthLevels, AuthSettings, TrustedProxies};
use crate::rate_limit::RateClock;
use crate::store::{is_postgres_url, SqliteSync, StoreConfig};

/// Every default of `serve`, used by both `Config::new` and the command line.
pub mod defaults {
    pub const DATABASE_URL: &str = "guestpass.db";
    pub const BIND: &str = "127.0.0.1:8080";
    pub const BASE_PATH: &str = "/members/v1.0";
    pub const AUTH_LEVELS: &str = "chain";
    pub const MAX_PERIOD_DAYS: u32 = 30;
    /// SQLite readers are cheap and local. Eight, so that one principal's
    /// share (half the pool) is four readers: with two, a single busy
    /// tenant's reads queued for its slots and lost a third of their
    /// throughput (bench/run get: 36k → 44k req/s with eight).
    pub const SQLITE_POOL_SIZE: u32 = 8;
    /// PostgreSQL connections cost the server a process each, and more of
    /// them than cores only adds contention.
    pub const POSTGRES_POOL_SIZE: u32 = 8;
    pub const POOL_TIMEOUT_MS: u64 = 5000;
    /// `FULL` survives power loss.
    pub const SQLITE_SYNCHRONOUS: super::SqliteSync = super::SqliteSync::Full;
    pub const CREDENTIAL_CACHE_SECS: u64 = 5;
    /// The longest `--credential-cache-secs` accepted: how long a removed or
    /// rotated secret may keep working at worst.
    pub const MAX_CREDENTIAL_CACHE_SECS: u64 = 300;
    /// How long an unknown ID is remembered as unknown (at most the
    /// credential cache's TTL): long enough that a flood of unknown IDs
    /// costs no database reads, short enough that a newly added principal
    /// works a moment later.
    pub const NEGATIVE_CACHE_SECS: u64 = 3;
    /// Failed authentications per minute per (client address, presented ID).
    pub const AUTH_FAILURE_LIMIT: u32 = 30;
    pub const SHUTDOWN_TIMEOUT_SECS: u64 = 30;
    pub const RATE_LIMIT: u32 = 100;
    pub const RATE_BURST: u32 = 200;
    pub const BODY_TIMEOUT_SECS: u64 = 10;
    pub const IDEMPOTENCY_TTL_HOURS: u64 = 24;
    /// PostgreSQL: threads that send queued creates together (one statement
    /// per batch) and queued check-ins together (one transaction per batch).
    pub const PG_BATCH_WRITERS: u64 = 2;

    /// Database connections one principal may hold at once: half the pool,
    /// at least one, so one tenant's flood always leaves room for the others.
    pub fn principal_connections(pool_size: u32) -> u32 {
        (pool_size / 2).max(1)
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub store: StoreConfig,
    /// Where the API lives, e.g. `/members/v1.0`; never ends with `/`.
    pub base_path: String,
    pub auth_levels: AuthLevels,
    pub max_period_days: u32,
    /// HTTP worker threads.
    pub workers: usize,
    /// How long a verified credential is trusted without asking the database;
    /// also how long a rotated secret may keep working.
    pub credential_cache: Duration,
    /// How long an unknown ID is remembered as unknown (capped by
    /// `credential_cache`).
    pub negative_cache: Duration,
    /// Failed authentications per minute per (client address, presented
    /// ID) before that pair is answered 429 (0: no throttle).
    pub auth_failure_limit: u32,
    /// Peers whose `X-Forwarded-For` names the client address.
    pub trusted_proxies: TrustedProxies,
    /// What the credential caches and the failure throttle measure time
    /// with: the system clock, except in tests that move time themselves.
    pub auth_clock: RateClock,
    pub shutdown_timeout: Duration,
    /// Requests per second per principal (0: no limit) and the bucket size.
    pub rate_limit: u32,
    pub rate_burst: u32,
    /// What the rate limit's buckets refill by: the system clock, except in
    /// tests that move time themselves.
    pub rate_clock: RateClock,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// How long an idempotency key (and its answer) is kept.
    pub idempotency_ttl: Duration,
    /// Serve the front desk web app at `/desk/`.
    pub desk: bool,
    /// Serve HTTPS with these PEM files instead of plain HTTP.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Demo mode (`serve --demo`): the demo principals, whose secrets are
    /// public, authenticate only while it is on.
    pub demo: bool,
    /// Requests one principal may run against the database at once (0: no
    /// cap); `None` is the default, `defaults::principal_connections` of
    /// whatever the pool size ends up being.
    pub principal_connections: Option<u32>,
}

impl Config {
    /// The per-principal share in effect (0: no cap).
    pub fn principal_connections(&self) -> u32 {
        self.principal_connections
            .unwrap_or_else(|| defaults::principal_connections(self.store.pool_size))
    }
}

impl Config {
    /// Defaults for everything but the database, as `serve` would use them.
    pub fn new(database_url: impl Into<String>) -> Self {
        let database_url = database_url.into();
        let pool_size = default_pool_size(&database_url);
        Self {
            bind: defaults::BIND.into(),
            store: StoreConfig {
                database_url,
                pool_size,
                pool_timeout: Duration::from_millis(defaults::POOL_TIMEOUT_MS),
                sqlite_synchronous: defaults::SQLITE_SYNCHRONOUS,
                pg_batch_writers: defaults::PG_BATCH_WRITERS as usize,
                min_idle: 1,
            },
            base_path: defaults::BASE_PATH.into(),
            auth_levels: AuthLevels::default(),
            max_period_days: defaults::MAX_PERIOD_DAYS,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            credential_cache: Duration::from_secs(defaults::CREDENTIAL_CACHE_SECS),
            negative_cache: Duration::from_secs(defaults::NEGATIVE_CACHE_SECS),
            auth_failure_limit: defaults::AUTH_FAILURE_LIMIT,
            trusted_proxies: TrustedProxies::default(),
            auth_clock: RateClock::System,
            shutdown_timeout: Duration::from_secs(defaults::SHUTDOWN_TIMEOUT_SECS),
            rate_limit: defaults::RATE_LIMIT,
            rate_burst: defaults::RATE_BURST,
            rate_clock: RateClock::System,
            body_timeout: Duration::from_secs(defaults::BODY_TIMEOUT_SECS),
            idempotency_ttl: Duration::from_secs(defaults::IDEMPOTENCY_TTL_HOURS * 3600),
            desk: false,
            tls: None,
            demo: false,
            principal_connections: None,
        }
    }
}

impl Config {
    pub fn auth_settings(&self) -> AuthSettings {
        AuthSettings {
            levels: self.auth_levels,
            credential_cache: self.credential_cache,
            negative_cache: self.negative_cache,
            failure_limit: self.auth_failure_limit,
            trusted_proxies: self.trusted_proxies.clone(),
            clock: self.auth_clock.clone(),
            demo: self.demo,
        }
    }
}

pub fn default_pool_size(database_url: &str) -> u32 {
    if is_postgres_url(database_url) {
        defaults::POSTGRES_POOL_SIZE
    } else {
        defaults::SQLITE_POOL_SIZE
    }
}

/// `/members/v1.0/` → `/members/v1.0`; `members` → `/members`; `/` → ``.
pub fn normalize_base_path(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_normalized() {
        assert_eq!(normalize_base_path("/members/v1.0"), "/members/v1.0");
        assert_eq!(normalize_base_path("members/v1.0/"), "/members/v1.0");
        assert_eq!(normalize_base_path("/"), "");
    }

    #[test]
    fn the_default_share_is_half_the_pool_and_at_least_one() {
        let mut config = Config::new("guestpass.db");
        config.store.pool_size = 8;
        assert_eq!(config.principal_connections(), 4);
        config.store.pool_size = 1;
        assert_eq!(config.principal_connections(), 1);
        config.principal_connections = Some(0);
        assert_eq!(config.principal_connections(), 0);
    }

    #[test]
    fn the_default_levels_parse() {
        assert_eq!(
            defaults::AUTH_LEVELS.parse::<AuthLevels>(),
            Ok(AuthLevels::default())
        );
    }
}
