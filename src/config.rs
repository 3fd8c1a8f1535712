//! The server's typed configuration: what `serve` reads from flags and the
//! environment, and what tests build directly.

use std::time::Duration;

use crate::auth::AuthLevels;
use crate::store::{is_postgres_url, SqliteSync, StoreConfig};

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
    pub shutdown_timeout: Duration,
    /// Requests per second per principal (0: no limit) and the bucket size.
    pub rate_limit: u32,
    pub rate_burst: u32,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// Serve HTTPS with these PEM files instead of plain HTTP.
    pub tls: Option<crate::tls::TlsFiles>,
}

impl Config {
    /// Defaults for everything but the database, as `serve` would use them.
    pub fn new(database_url: impl Into<String>) -> Self {
        let database_url = database_url.into();
        let pool_size = default_pool_size(&database_url);
        Self {
            bind: "127.0.0.1:8080".into(),
            store: StoreConfig {
                database_url,
                pool_size,
                pool_timeout: Duration::from_millis(5000),
                sqlite_synchronous: SqliteSync::Full,
                min_idle: 1,
            },
            base_path: "/members/v1.0".into(),
            auth_levels: AuthLevels::default(),
            max_period_days: 30,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            credential_cache: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(30),
            rate_limit: 0,
            rate_burst: 0,
            body_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}

/// SQLite readers are cheap and local; PostgreSQL connections cost the server
/// a process each, and more of them than cores only adds contention.
pub fn default_pool_size(database_url: &str) -> u32 {
    if is_postgres_url(database_url) {
        8
    } else {
        4
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
}
