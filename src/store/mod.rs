//! Persistence: SQLite (embedded default) or PostgreSQL (shared by several
//! instances), chosen by the database URL. Queries are plain functions in
//! `queries.rs`, compiled once per backend; this module owns the pools, the
//! SQLite single writer and the mapping of database failures to `ApiError`.

pub mod models;
pub mod pool;
pub mod postgres;
pub mod schema;
pub mod sqlite;
mod writer;

use std::time::Duration;

use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{CustomizeConnection, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiError;
use models::GuestPassRow;
use pool::{Manager, Pooled};

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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
}

pub enum CreateOutcome {
    Created(Box<GuestPassRow>),
    AlreadyCreated,
}

/// A chain, location or client about to be provisioned.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    pub id: String,
    pub name: String,
    pub chain_id: Option<String>,
    pub secret_salt: String,
    pub secret_hash: String,
    pub created_at: i64,
}

pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

#[derive(Clone)]
pub enum Store {
    Sqlite {
        readers: Pool<Manager<SqliteConnection>>,
        writer: writer::Writer,
    },
    Postgres(Pool<Manager<PgConnection>>),
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
pub fn migrate(database_url: &str) -> Result<(), StoreError> {
    let migrate_err =
        |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migrate(e.to_string());
    if is_postgres_url(database_url) {
        let mut conn = PgConnection::establish(database_url)
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        // Several instances may start at once against one database.
        conn.batch_execute("SELECT pg_advisory_lock(7240385)")
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        let result = conn.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
        let _ = conn.batch_execute("SELECT pg_advisory_unlock(7240385)");
        result.map_err(migrate_err)
    } else {
        let mut conn = SqliteConnection::establish(database_url)
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(migrate_err)
    }
}

impl Store {
    /// Migrates, then opens the pools (and, for SQLite, the single writer).
    pub fn open(config: &StoreConfig) -> Result<Self, StoreError> {
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
                .map_err(|e| StoreError::Connect(e.to_string()))?;
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
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            let mut conn = SqliteConnection::establish(&config.database_url)
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            SqliteSetup {
                query_only: false,
                ..setup
            }
            .apply(&mut conn)
            .map_err(|e| StoreError::Connect(e.to_string()))?;
            // The writer touches index pages all over the table: keep more of
            // them in memory than SQLite's 2 MB default. Its automatic
            // checkpoint waits for 32 MB of WAL instead of 4 MB (a page changed
            // by many commits is copied back once), and by then the background
            // checkpointer has copied most of it.
            conn.batch_execute("PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 8000;")
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            let mut checkpoint = SqliteConnection::establish(&config.database_url)
                .map_err(|e| StoreError::Connect(e.to_string()))?;
            SqliteSetup {
                query_only: false,
                ..setup
            }
            .apply(&mut checkpoint)
            .map_err(|e| StoreError::Connect(e.to_string()))?;
            Ok(Store::Sqlite {
                readers,
                writer: writer::Writer::start(conn, checkpoint, timeout),
            })
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite { .. } => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// (connections in use, idle connections) of the read pool.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = match self {
            Store::Sqlite { readers, .. } => readers.state(),
            Store::Postgres(pool) => pool.state(),
        };
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }
}

pub(crate) fn checkout<M>(pool: &Pool<M>) -> Result<PooledConnection<M>, ApiError>
where
    M: diesel::r2d2::ManageConnection,
{
    pool.get()
        .map_err(|e| ApiError::Unavailable(format!("no database connection: {e}")))
}

/// Runs blocking database work on actix's blocking thread pool, off the async workers.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    web::block(work).await.map_err(ApiError::internal)?
}

/// Runs `$body` on a pooled connection of `$pool`, off the async workers,
/// with `$q` bound to the query module `$module`.
macro_rules! on_pool {
    ($pool:expr, $module:ident, |$conn:ident, $q:ident| $body:expr) => {{
        let pool = $pool.clone();
        $crate::store::blocking(move || {
            use $crate::store::$module as $q;
            let mut pooled = $crate::store::checkout(&pool)?;
            let result = (|| {
                let $conn = &mut pooled.conn;
                Ok($body?)
            })();
            pooled.settle(result)
        })
        .await
    }};
}

/// Runs `$body` with `$conn` bound to a connection for reading and `$q` to the
/// query module of the configured backend.
macro_rules! read {
    ($store:expr, |$conn:ident, $q:ident| $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite { readers, .. } => {
                $crate::store::on_pool!(readers, sqlite, |$conn, $q| $body)
            }
            $crate::store::Store::Postgres(pool) => {
                $crate::store::on_pool!(pool, postgres, |$conn, $q| $body)
            }
        }
    };
}

/// Like `read!`, but on SQLite the work goes to the single writer, which
/// commits queued writes together (group commit).
macro_rules! write {
    ($store:expr, |$conn:ident, $q:ident| $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite { writer, .. } => {
                writer
                    .run(move |$conn| {
                        use $crate::store::sqlite as $q;
                        Ok($body?)
                    })
                    .await
            }
            $crate::store::Store::Postgres(pool) => {
                $crate::store::on_pool!(pool, postgres, |$conn, $q| $body)
            }
        }
    };
}

pub(crate) use {on_pool, read, write};

impl From<DieselError> for ApiError {
    fn from(error: DieselError) -> Self {
        if is_unavailable(&error) {
            ApiError::Unavailable(error.to_string())
        } else {
            ApiError::Internal(error.to_string())
        }
    }
}

/// Failures that mean "the database is not there right now" (503, retry)
/// rather than a bug (500).
fn is_unavailable(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(kind, info) => {
            matches!(
                kind,
                DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand
                    | DatabaseErrorKind::ReadOnlyTransaction
                    | DatabaseErrorKind::SerializationFailure
            ) || {
                let m = info.message().to_ascii_lowercase();
                [
                    "locked",
                    "busy",
                    "readonly",
                    "read-only",
                    "disk i/o",
                    "unable to open",
                    "no such table",
                    "connection",
                    "terminating",
                    "shutting down",
                    "statement timeout",
                    "canceling statement",
                    "disk is full",
                ]
                .iter()
                .any(|needle| m.contains(needle))
            }
        }
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}
