//! Opening the store: migrations, connection settings, the pools and the
//! SQLite writer.

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, Pool};
use diesel::result::Error as DieselError;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::batch::Batcher;
use super::lookups::Lookups;
use super::pool::{Manager, Pooled};
use super::seams::Seams;
use super::{postgres, sqlite, writer, Backend, Shared, Stats, Store};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How to reach the database, and how long a request may wait for it.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub database_url: String,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    /// SQLite `synchronous`: `FULL` survives power loss, `NORMAL` only a crash.
    pub sqlite_synchronous: SqliteSync,
    /// PostgreSQL: threads that send queued creates as one statement each
    /// (0: every create is its own statement).
    pub pg_batch_writers: usize,
    /// Connections the pool keeps open while idle. One-shot commands use 0:
    /// a pool thread still refilling inside libpq when the process exits can
    /// crash it.
    pub min_idle: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSync {
    Normal,
    Full,
}

/// Threads of the batching reader (`lookups`). SQLite: one, which drains
/// its queue without sleeping under load; a second only adds wake-ups on two
/// cores (a prototype: 70.7k vs 65.0k reads/s). PostgreSQL: two, so one
/// batch collects while the other waits for its round trip (four, and a
/// fair split of the queue between them, measured worse: bench/RESULTS.md).
const SQLITE_LOOKUP_THREADS: usize = 1;
const PG_LOOKUP_THREADS: usize = 2;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
}

pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `:memory:` and its URI forms: a database each connection would have alone.
fn is_in_memory(url: &str) -> bool {
    url == ":memory:" || url.contains("mode=memory") || url.starts_with("file::memory:")
}

/// libpq settings added to a PostgreSQL URL that does not set them: a server
/// that accepts TCP but never answers fails a connection attempt after a few
/// seconds instead of hanging it forever, and TCP keepalives (plus a bound on
/// unacknowledged sends) notice a peer that vanished while idle.
const PG_CONNECTION_DEFAULTS: [(&str, &str); 6] = [
    ("connect_timeout", "5"),
    ("keepalives", "1"),
    ("keepalives_idle", "30"),
    ("keepalives_interval", "10"),
    ("keepalives_count", "3"),
    ("tcp_user_timeout", "30000"),
];

/// `url` with every `PG_CONNECTION_DEFAULTS` entry it does not set itself.
pub fn with_connection_defaults(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let set: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .collect();
    let mut out = url.to_owned();
    let mut separator = if url.contains('?') { '&' } else { '?' };
    for (name, value) in PG_CONNECTION_DEFAULTS {
        if !set.contains(&name) {
            out.push(separator);
            out.push_str(name);
            out.push('=');
            out.push_str(value);
            separator = '&';
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
struct SqliteSetup {
    busy_timeout_ms: u128,
    synchronous: SqliteSync,
    query_only: bool,
}

impl SqliteSetup {
    fn apply(&self, conn: &mut SqliteConnection) -> Result<(), DieselError> {
        let sync = match self.synchronous {
            SqliteSync::Normal => "NORMAL",
            SqliteSync::Full => "FULL",
        };
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = {sync}; \
             PRAGMA query_only = {};",
            self.busy_timeout_ms,
            u8::from(self.query_only)
        ))
    }

    fn connect(&self, url: &str) -> Result<SqliteConnection, OpenError> {
        let mut conn =
            SqliteConnection::establish(url).map_err(|e| OpenError::Connect(e.to_string()))?;
        self.apply(&mut conn)
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        Ok(conn)
    }
}

impl CustomizeConnection<Pooled<SqliteConnection>, diesel::r2d2::Error> for SqliteSetup {
    fn on_acquire(&self, pooled: &mut Pooled<SqliteConnection>) -> Result<(), diesel::r2d2::Error> {
        self.apply(&mut pooled.conn)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

#[derive(Debug, Clone, Copy)]
struct PgSetup {
    /// Also the bound on a transaction left idle (a client that died in one).
    statement_timeout_ms: u128,
}

impl CustomizeConnection<Pooled<PgConnection>, diesel::r2d2::Error> for PgSetup {
    fn on_acquire(&self, pooled: &mut Pooled<PgConnection>) -> Result<(), diesel::r2d2::Error> {
        let conn = &mut pooled.conn;
        // A hung statement must not hold a pooled connection forever.
        conn.batch_execute(&format!(
            "SET statement_timeout = {0}; SET idle_in_transaction_session_timeout = {0}",
            self.statement_timeout_ms
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Runs the embedded migrations for the backend the URL names.
pub fn migrate(database_url: &str) -> Result<(), OpenError> {
    let migrate_err =
        |e: Box<dyn std::error::Error + Send + Sync>| OpenError::Migrate(e.to_string());
    if is_postgres_url(database_url) {
        let mut conn = PgConnection::establish(&with_connection_defaults(database_url))
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        // Several instances may start at once against one database.
        conn.batch_execute("SELECT pg_advisory_lock(7240385)")
            .map_err(|e| OpenError::Migrate(e.to_string()))?;
        let result = conn.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
        let _ = conn.batch_execute("SELECT pg_advisory_unlock(7240385)");
        result.map_err(migrate_err)
    } else {
        let mut conn = SqliteConnection::establish(database_url)
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")
            .map_err(|e| OpenError::Migrate(e.to_string()))?;
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(migrate_err)
    }
}

impl Store {
    /// Migrates, then opens the pools (and, for SQLite, the single writer).
    pub fn open(config: &StoreConfig) -> Result<Self, OpenError> {
        migrate(&config.database_url)?;
        let timeout = config.pool_timeout.max(Duration::from_millis(1));
        let (seams, stats) = (Arc::new(Seams::default()), Arc::new(Stats::default()));
        let shared = |batcher, lookups| {
            Arc::new(Shared {
                timeout,
                seams: seams.clone(),
                stats: stats.clone(),
                batcher,
                lookups,
            })
        };
        if is_in_memory(&config.database_url) {
            return Err(OpenError::Connect(
                "an in-memory SQLite database would be private to each of the server's \
                 connections (writes would vanish from reads): give a file path"
                    .into(),
            ));
        }
        if is_postgres_url(&config.database_url) {
            let pool = Pool::builder()
                .max_size(config.pool_size.max(1))
                .min_idle(Some(config.min_idle))
                .connection_timeout(timeout)
                .connection_customizer(Box::new(PgSetup {
                    // A live server ends a statement within the request's
                    // own bound; a stalled one is the watchdog's (`blocking`).
                    statement_timeout_ms: timeout.as_millis().max(1000),
                }))
                .build(Manager::new(&with_connection_defaults(
                    &config.database_url,
                )))
                .map_err(|e| OpenError::Connect(e.to_string()))?;
            let batcher = (config.pg_batch_writers > 0).then(|| {
                Batcher::start(
                    pool.clone(),
                    config.pg_batch_writers,
                    stats.clone(),
                    seams.clone(),
                )
            });
            let lookups = Lookups::start(
                pool.clone(),
                PG_LOOKUP_THREADS,
                postgres::read_batch,
                stats.clone(),
                seams.clone(),
            );
            Ok(Store {
                backend: Backend::Postgres(pool),
                shared: shared(batcher, lookups),
            })
        } else {
            let setup = SqliteSetup {
                busy_timeout_ms: timeout.as_millis(),
                synchronous: config.sqlite_synchronous,
                query_only: true,
            };
            let readers = Pool::builder()
                .max_size(config.pool_size.max(1))
                .min_idle(Some(config.min_idle))
                .connection_timeout(timeout)
                .connection_customizer(Box::new(setup))
                .build(Manager::new(&config.database_url))
                .map_err(|e| OpenError::Connect(e.to_string()))?;
            let writable = SqliteSetup {
                query_only: false,
                ..setup
            };
            let url = config.database_url.clone();
            let open_writer = move || -> Result<SqliteConnection, OpenError> {
                let mut conn = writable.connect(&url)?;
                // The writer touches index pages all over the table: keep more
                // of them in memory than SQLite's 2 MB default. Its automatic
                // checkpoint waits for 128 MB of WAL instead of 4 MB (a page
                // changed by many commits is copied back once), and by then the
                // background checkpointer has copied most of it: the writer's
                // own checkpoint only finishes the copy so that the WAL can
                // start over (the background one cannot: the writer keeps
                // appending). At 32 MB, under a stream of creates, it ran
                // every fifth of a second, in the writer's time.
                conn.batch_execute(
                    "PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 32000;",
                )
                .map_err(|e| OpenError::Connect(e.to_string()))?;
                Ok(conn)
            };
            let conn = open_writer()?;
            let checkpoint = writable.connect(&config.database_url)?;
            let lookups = Lookups::start(
                readers.clone(),
                SQLITE_LOOKUP_THREADS,
                sqlite::read_batch,
                stats.clone(),
                seams.clone(),
            );
            let shared = shared(None, lookups);
            let writer = writer::Writer::start(
                conn,
                Box::new(move || open_writer().map_err(|e| e.to_string())),
                checkpoint,
                writer::FileIdentity::of(&config.database_url),
                timeout,
                shared.seams.clone(),
            );
            Ok(Store {
                backend: Backend::Sqlite { readers, writer },
                shared,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_defaults_fill_in_only_what_the_url_leaves_out() {
        let url = with_connection_defaults("postgres://u@h/db");
        assert!(url.starts_with("postgres://u@h/db?connect_timeout=5&keepalives=1&"));
        let url = with_connection_defaults("postgres://u@h/db?connect_timeout=20&sslmode=disable");
        assert!(
            url.starts_with("postgres://u@h/db?connect_timeout=20&sslmode=disable&keepalives=1")
        );
        assert_eq!(url.matches("connect_timeout").count(), 1);
    }
}
