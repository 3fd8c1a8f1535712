//! Opening the store: migrations, connection settings, the pools and the
//! SQLite writer.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, Pool};
use diesel::result::Error as DieselError;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::pool::{Manager, Pooled};
use super::{writer, Store};

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
    statement_timeout_ms: u128,
}

impl CustomizeConnection<Pooled<PgConnection>, diesel::r2d2::Error> for PgSetup {
    fn on_acquire(&self, pooled: &mut Pooled<PgConnection>) -> Result<(), diesel::r2d2::Error> {
        let conn = &mut pooled.conn;
        // A hung statement must not hold a pooled connection forever.
        conn.batch_execute(&format!(
            "SET statement_timeout = {}",
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
        let mut conn =
            PgConnection::establish(database_url).map_err(|e| OpenError::Connect(e.to_string()))?;
        // Several instances may start at once against one database.
        conn.batch_execute("SELECT pg_advisory_lock(7240385)")
            .map_err(|e| OpenError::Migrate(e.to_string()))?;
        let result = conn.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
        let _ = conn.batch_execute("SELECT pg_advisory_unlock(7240385)");
        result.map_err(migrate_err)
    } else {
        let mut conn = SqliteConnection::establish(database_url)
            .map_err(|e| OpenError::Connect(e.to_string()))?;
        conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
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
        if is_postgres_url(&config.database_url) {
            let pool = Pool::builder()
                .max_size(config.pool_size.max(1))
                .min_idle(Some(config.min_idle))
                .connection_timeout(timeout)
                .connection_customizer(Box::new(PgSetup {
                    statement_timeout_ms: timeout.as_millis().max(1000) * 2,
                }))
                .build(Manager::new(&config.database_url))
                .map_err(|e| OpenError::Connect(e.to_string()))?;
            Ok(Store::Postgres(pool))
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
            let mut conn = writable.connect(&config.database_url)?;
            // The writer touches index pages all over the table: keep more of
            // them in memory than SQLite's 2 MB default. Its automatic
            // checkpoint waits for 32 MB of WAL instead of 4 MB (a page changed
            // by many commits is copied back once), and by then the background
            // checkpointer has copied most of it.
            conn.batch_execute("PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 8000;")
                .map_err(|e| OpenError::Connect(e.to_string()))?;
            let checkpoint = writable.connect(&config.database_url)?;
            Ok(Store::Sqlite {
                readers,
                writer: writer::Writer::start(conn, checkpoint, timeout),
            })
        }
    }
}
