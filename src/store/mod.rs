//! Persistence: SQLite (embedded default) or PostgreSQL (shared by several
//! instances), chosen by the database URL. This module owns the operations
//! the API and the CLI call, in domain types, and answers in `StoreError`.
//!
//! The SQL is written once, in `queries.rs`, and `include!`d by `sqlite.rs`
//! and `postgres.rs`: each backend compiles it against its own concrete
//! connection type. That keeps diesel's prepared-statement cache and full
//! type checking without generic trait bounds on every query, and it leaves
//! room for the few places where the backends must differ (the overlap
//! strategy, planner statistics), which each backend file states up front.
//! diesel's `MultiConnection` was the alternative; it dispatches per query,
//! and every domain column type would need a third mapping.

mod batch;
mod error;
mod lookups;
mod open;
mod pool;
pub mod postgres;
pub mod rows;
pub mod schema;
pub mod seams;
mod sql_types;
pub mod sqlite;
mod threads;
mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::r2d2::{Pool, PooledConnection};
use diesel::{PgConnection, SqliteConnection};

use crate::domain::{
    CheckinFailure, EmailKey, GuestPassId, Location, NewGuestPass, PrincipalKind, Scope,
    SearchFilter, UserId, UtcTimestamp,
};
use batch::KeyedCreate;
pub use error::StoreError;
use lookups::{Found, Read};
pub use open::{is_postgres_url, migrate, OpenError, SqliteSync, StoreConfig};
use pool::Manager;
use rows::{
    CheckinRequest, CheckinRow, CredentialRow, GuestPassRow, Keyed, KeyedRequest, NewPrincipal,
    PrincipalRow, StoredAnswer,
};
use seams::Seams;

pub enum CreateOutcome {
    Created(Box<GuestPassRow>),
    AlreadyCreated,
}

/// What `remove_principal` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    Removed(Removed),
    /// Nothing was removed: the chain or location still has this many
    /// passes, and removing them too was not asked for.
    HasPasses(i64),
}

/// What went with a removed principal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    pub passes: usize,
    pub checkins: usize,
    pub locations: usize,
}

pub enum CheckinOutcome {
    CheckedIn(CheckinRow),
    Refused(CheckinFailure),
    /// No pass in the caller's scope has that code.
    UnknownCode,
}

/// How an operation uses the database: what decides whether it holds one of
/// the pool's connections while it is served, the thing a principal's share
/// counts (contract §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Searches and visit histories: a pooled connection each, for as long
    /// as they run.
    Read,
    /// `createGuestPass` and `checkinGuest`: queued for a writer on SQLite
    /// and, with batching on, on PostgreSQL.
    Queued,
    /// `getGuestPass`: queued for the batching reader (`lookups`).
    Lookup,
    /// `searchGuestPasses`: a person's search at a location is queued for
    /// the batching reader; the handler takes a slot for any other search
    /// (and for a person with more passes than the page holds) before it
    /// runs on a pooled connection.
    Search,
    /// Cancel.
    Write,
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    shared: Arc<Shared>,
}

#[derive(Clone)]
enum Backend {
    Sqlite {
        readers: Pool<Manager<SqliteConnection>>,
        writer: writer::Writer,
    },
    Postgres(Pool<Manager<PgConnection>>),
}

/// What every operation of a store shares, whichever connection runs it.
struct Shared {
    /// How long an operation may wait for the database, from its start.
    timeout: Duration,
    seams: Arc<Seams>,
    stats: Arc<Stats>,
    /// PostgreSQL's batching writer for creates and check-ins, when it is on.
    batcher: Option<batch::Batcher>,
    /// The batching reader of passes by id.
    lookups: lookups::Lookups,
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Stats {
    /// Transactions run again after a deadlock or serialization failure.
    pub retries: AtomicU64,
    /// Operations answered 503 because the database did not answer in time.
    pub stalls: AtomicU64,
    /// PostgreSQL batches that panicked (their writes answered 503, nothing
    /// committed; the batching writer went on).
    pub batch_panics: AtomicU64,
    /// PostgreSQL batches that failed as a whole and were run again one
    /// write at a time (a check-in code clash, a write past its deadline).
    pub batch_splits: AtomicU64,
    /// Batches of reads by id that panicked (their reads answered 500; the
    /// reading thread went on).
    pub read_panics: AtomicU64,
}

/// A watchdog fires this long after an operation's deadline: past the
/// deadline a write no longer commits (it checks before its commit), so the
/// grace only covers a commit already on its way when the deadline passed.
const WATCHDOG_GRACE: Duration = Duration::from_secs(1);
/// Readiness answers fast: its write probe waits at most this long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

fn checkout<M>(pool: &Pool<M>) -> Result<PooledConnection<M>, StoreError>
where
    M: diesel::r2d2::ManageConnection,
{
    pool.get()
        .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))
}

/// Runs blocking database work on actix's blocking thread pool, off the
/// async workers, and gives up on it (503) when it outlives `deadline`:
/// a database that accepts connections but never answers must not hang the
/// request.
async fn blocking<T, F>(shared: &Shared, deadline: Instant, work: F) -> Result<T, StoreError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let limit = deadline.saturating_duration_since(Instant::now()) + WATCHDOG_GRACE;
    match tokio::time::timeout(limit, actix_web::web::block(work)).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(StoreError::Internal(e.to_string())),
        Err(_) => {
            shared.stats.stalls.fetch_add(1, Ordering::Relaxed);
            Err(StoreError::Unavailable(
                "the database did not answer in time".into(),
            ))
        }
    }
}

/// Runs `$body` on a pooled connection of `$pool`, off the async workers,
/// with `$q` bound to the query module `$module`.
macro_rules! on_pool {
    ($store:expr, $pool:expr, $module:ident, |$conn:ident, $q:ident| $body:expr) => {{
        let pool = $pool.clone();
        let deadline = Instant::now() + $store.shared.timeout;
        blocking(&$store.shared, deadline, move || {
            use self::$module as $q;
            let mut pooled = checkout(&pool)?;
            let result = {
                let $conn = &mut pooled.conn;
                $body.map_err(StoreError::from)
            };
            pooled.settle(result)
        })
        .await
    }};
}

/// Runs `$body` with `$conn` bound to a connection for reading and `$q` to
/// the query module of the configured backend.
macro_rules! reading {
    ($store:expr, |$conn:ident, $q:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite { readers, .. } => on_pool!($store, readers, sqlite, |$conn, $q| $body),
            Backend::Postgres(pool) => on_pool!($store, pool, postgres, |$conn, $q| $body),
        }
    };
}

/// Like `reading!`, for a write. On SQLite the work goes to the single
/// writer, which commits queued writes together (group commit); on
/// PostgreSQL it runs on a pooled connection as one statement.
macro_rules! writing {
    ($store:expr, |$conn:ident, $q:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite { writer, .. } => {
                writer
                    .run(move |$conn| {
                        use self::sqlite as $q;
                        $body.map_err(StoreError::from)
                    })
                    .await
            }
            Backend::Postgres(pool) => on_pool!($store, pool, postgres, |$conn, $q| $body),
        }
    };
}

/// Like `writing!`, for a write of several statements that must commit
/// together. PostgreSQL runs it in its own transaction, again after a
/// deadlock or serialization failure (a bounded number of times), and never
/// commits it past its deadline. On SQLite the writer's group transaction
/// already holds every job.
macro_rules! transaction {
    ($store:expr, |$conn:ident, $q:ident| $body:expr) => {
        match &$store.backend {
            Backend::Sqlite { .. } => writing!($store, |$conn, $q| $body),
            Backend::Postgres(pool) => {
                let pool = pool.clone();
                let shared = $store.shared.clone();
                let deadline = Instant::now() + shared.timeout;
                blocking(&$store.shared, deadline, move || {
                    use self::postgres as $q;
                    let mut pooled = checkout(&pool)?;
                    let result = postgres::in_transaction(
                        &mut pooled.conn,
                        &shared.stats,
                        &shared.seams,
                        deadline,
                        |$conn| $body,
                    );
                    pooled.settle(result)
                })
                .await
            }
        }
    };
}

impl Store {
    /// Closes the store once this is its last handle, waiting at most
    /// `within` for the others to go: PostgreSQL's batching writers finish
    /// the batch they hold, and the pooled connections are closed, before it
    /// returns. The server calls it after it stopped serving, so the process
    /// does not exit while a thread is still inside libpq: exit tears down
    /// the TLS library under it (a SIGSEGV at shutdown, diesel-rs/diesel#3441).
    /// False when other handles outlived `within`.
    pub async fn close(self, within: Duration) -> bool {
        let Store { backend, shared } = self;
        drop(backend);
        let deadline = Instant::now() + within;
        let mut shared = shared;
        loop {
            match Arc::try_unwrap(shared) {
                // Joining the writers blocks: off the async workers.
                Ok(last) => return actix_web::web::block(move || drop(last)).await.is_ok(),
                Err(_) if Instant::now() >= deadline => return false,
                Err(still_shared) => {
                    shared = still_shared;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Whether an operation of this kind holds a pool connection while it
    /// runs. Reads always do. Writes that wait in a queue the store serves
    /// in order hold none: every SQLite write (its single writer), and
    /// PostgreSQL creates and check-ins, keyed or not, while the batching
    /// writer is on;
    /// a queued write holds nobody else's connection, and counting it would
    /// only shrink the batches that make writes cheap.
    pub fn holds_a_connection(&self, access: Access) -> bool {
        match (&self.backend, access) {
            (_, Access::Read) => true,
            (_, Access::Lookup | Access::Search) => false,
            (Backend::Sqlite { .. }, _) => false,
            (Backend::Postgres(_), Access::Queued) => self.shared.batcher.is_none(),
            (Backend::Postgres(_), Access::Write) => true,
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// The store's test seams (see `seams`): nothing is armed unless a test arms it.
    pub fn seams(&self) -> &Seams {
        &self.shared.seams
    }

    /// (connections in use, idle connections) of the read pool.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = match &self.backend {
            Backend::Sqlite { readers, .. } => readers.state(),
            Backend::Postgres(pool) => pool.state(),
        };
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }

    /// A batched write starting now: the deadline its batch must commit by,
    /// and how long its request waits for the answer (a grace longer).
    fn batch_deadline(&self) -> (Instant, Duration) {
        (
            Instant::now() + self.shared.timeout,
            self.shared.timeout + WATCHDOG_GRACE,
        )
    }

    /// An operation starting now must not write after this (epoch milliseconds).
    fn wall_clock_deadline_ms(&self) -> i64 {
        let deadline = std::time::SystemTime::now() + self.shared.timeout;
        deadline
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// Whether the store can serve reads *and* writes now; the reason when not.
    /// SQLite: the writer is alive and not stuck, the database path still
    /// names the file it opened, a read goes through the schema, and a write
    /// that needs new pages commits (clearing an earlier full-disk or I/O
    /// failure). PostgreSQL: a connection answers and the database is not
    /// read-only.
    pub async fn readiness(&self) -> Result<(), String> {
        match &self.backend {
            Backend::Sqlite { writer, .. } => {
                let health = writer.health();
                if !health.file_holds() {
                    return Err("the database file was deleted or replaced".into());
                }
                let silence = health.silence();
                if silence > self.stuck_after() {
                    return Err(format!("the writer has been silent for {silence:?}"));
                }
                reading!(self, |conn, q| q::ping(conn)).map_err(|e| format!("reads fail: {e}"))?;
                writer
                    .run_within(self.shared.timeout.min(PROBE_TIMEOUT), |conn| {
                        sqlite::probe_write(conn).map_err(StoreError::from)
                    })
                    .await
                    .map_err(|e| format!("writes fail: {e}"))?;
                match health.failure() {
                    Some(failure) => Err(format!("the last write failed: {failure}")),
                    None => Ok(()),
                }
            }
            Backend::Postgres(pool) => {
                let read_only = on_pool!(self, pool, postgres, |conn, q| q::is_read_only(conn))
                    .map_err(|e| format!("the database does not answer: {e}"))?;
                if read_only {
                    Err("the database is read-only".into())
                } else {
                    Ok(())
                }
            }
        }
    }

    /// A writer silent longer than this is stuck (a batch takes milliseconds;
    /// an idle writer beats twice a second).
    fn stuck_after(&self) -> Duration {
        (self.shared.timeout * 2).max(Duration::from_secs(2))
    }

    /// PostgreSQL's batching writer's counters, when it is on: (batches that
    /// panicked, batches run again one write at a time, queued writes).
    pub fn batcher_stats(&self) -> Option<(u64, u64, usize)> {
        self.shared.batcher.as_ref().map(|batcher| {
            let stats = &self.shared.stats;
            (
                stats.batch_panics.load(Ordering::Relaxed),
                stats.batch_splits.load(Ordering::Relaxed),
                batcher.queued(),
            )
        })
    }

    /// The SQLite writer's counters: (panics, connection restarts, queued writes).
    pub fn writer_stats(&self) -> Option<(u64, u64, usize)> {
        match &self.backend {
            Backend::Sqlite { writer, .. } => {
                let h = writer.health();
                Some((
                    h.panics.load(Ordering::Relaxed),
                    h.restarts.load(Ordering::Relaxed),
                    h.queued.load(Ordering::Relaxed),
                ))
            }
            Backend::Postgres(_) => None,
        }
    }

    /// The credential of an enabled principal; demo principals count only
    /// in `demo_mode` (otherwise they read as absent, like disabled ones).
    pub async fn credential(
        &self,
        kind: PrincipalKind,
        id: String,
        demo_mode: bool,
    ) -> Result<Option<CredentialRow>, StoreError> {
        reading!(self, |conn, q| q::find_credential(
            conn, kind, &id, demo_mode
        ))
    }

    /// Every enabled client; demo ones only in `demo_mode`.
    pub async fn client_credentials(
        &self,
        demo_mode: bool,
    ) -> Result<Vec<CredentialRow>, StoreError> {
        reading!(self, |conn, q| q::client_credentials(conn, demo_mode))
    }

    pub async fn find_location(&self, id: String) -> Result<Option<Location>, StoreError> {
        reading!(self, |conn, q| q::find_location(conn, &id))
    }

    /// Stores a new pass unless a live pass of the same person overlaps it
    /// at that location. The store assigns its id and check-in code.
    pub async fn create_pass(
        &self,
        pass: NewGuestPass,
        location: Location,
        created_by: Option<UserId>,
        now: UtcTimestamp,
    ) -> Result<CreateOutcome, StoreError> {
        let row = GuestPassRow::new(pass, location, created_by, now);
        let not_after_ms = self.wall_clock_deadline_ms();
        if let Some(batcher) = &self.shared.batcher {
            let wait = self.shared.timeout + WATCHDOG_GRACE;
            return batcher.create(row, not_after_ms, wait).await;
        }
        writing!(self, |conn, q| q::insert_pass(conn, row, not_after_ms))
    }

    /// Like `create_pass`, for a request with an `Idempotency-Key`: runs
    /// only if the key is new, and stores `render`'s answer with the key in
    /// the same transaction as the pass.
    pub async fn create_pass_keyed(
        &self,
        pass: NewGuestPass,
        location: Location,
        created_by: Option<UserId>,
        keyed: KeyedRequest,
        render: impl Fn(&CreateOutcome) -> Option<StoredAnswer> + Send + 'static,
    ) -> Result<Keyed<CreateOutcome>, StoreError> {
        let row = GuestPassRow::new(pass, location, created_by, keyed.now);
        let not_after_ms = self.wall_clock_deadline_ms();
        if let Some(batcher) = &self.shared.batcher {
            let rendered = (
                render(&CreateOutcome::Created(Box::new(row.clone()))),
                render(&CreateOutcome::AlreadyCreated),
            );
            let (deadline, wait) = self.batch_deadline();
            let work = {
                let (keyed, row) = (keyed.clone(), row.clone());
                move |conn: &mut PgConnection| {
                    postgres::with_locked_key(
                        conn,
                        &keyed,
                        |conn| postgres::insert_pass(conn, row.clone(), not_after_ms),
                        &render,
                    )
                }
            };
            // Both outcomes are stored (a create answers 201 or 422).
            if let (Some(created), Some(overlapping)) = rendered {
                let create = KeyedCreate {
                    row,
                    not_after_ms,
                    created,
                    overlapping,
                };
                return batcher
                    .create_keyed(keyed, create, deadline, wait, work)
                    .await;
            }
            let person = (
                row.location_id.as_str().to_owned(),
                row.email_key.as_str().to_owned(),
            );
            return batcher
                .together(Some(keyed), Some(person), deadline, wait, work)
                .await;
        }
        transaction!(self, |conn, q| q::with_key(
            conn,
            &keyed,
            |conn| q::insert_pass(conn, row.clone(), not_after_ms),
            &render
        ))
    }

    /// Like `check_in`, for a request with an `Idempotency-Key`.
    pub async fn check_in_keyed(
        &self,
        code: String,
        door: Location,
        scope: Scope,
        keyed: KeyedRequest,
        render: impl Fn(&CheckinOutcome) -> Option<StoredAnswer> + Send + 'static,
    ) -> Result<Keyed<CheckinOutcome>, StoreError> {
        let seams = self.shared.seams.clone();
        if let Some(batcher) = &self.shared.batcher {
            let (deadline, wait) = self.batch_deadline();
            return batcher
                .together(Some(keyed.clone()), None, deadline, wait, move |conn| {
                    postgres::with_locked_key(
                        conn,
                        &keyed,
                        |conn| postgres::check_in(conn, &code, &door, &scope, keyed.now, &seams),
                        &render,
                    )
                })
                .await;
        }
        transaction!(self, |conn, q| q::with_key(
            conn,
            &keyed,
            |conn| q::check_in(conn, &code, &door, &scope, keyed.now, &seams),
            &render
        ))
    }

    /// The live answer stored under a key, and the fingerprint it answered:
    /// a retry is answered from here without queuing for a write.
    pub async fn find_answer(
        &self,
        keyed: KeyedRequest,
    ) -> Result<Option<(String, StoredAnswer)>, StoreError> {
        reading!(self, |conn, q| q::find_key(conn, &keyed))
    }

    /// Deletes up to about `batch` idempotency keys stored before `before`.
    pub async fn delete_expired_keys(
        &self,
        before: UtcTimestamp,
        batch: i64,
    ) -> Result<usize, StoreError> {
        writing!(self, |conn, q| q::delete_expired_keys(conn, before, batch))
    }

    pub async fn count_keys(&self) -> Result<i64, StoreError> {
        reading!(self, |conn, q| q::count_keys(conn))
    }

    pub async fn find_pass(
        &self,
        id: GuestPassId,
        scope: Scope,
    ) -> Result<Option<GuestPassRow>, StoreError> {
        match self.find(Read::Pass { id, scope }).await? {
            Found::Pass(row) => Ok(row.map(|row| *row)),
            Found::Person(_) => Err(StoreError::Internal("a read by id found a person".into())),
        }
    }

    /// Every pass of the person with `email_key` at `location_id` (which
    /// must be in the caller's scope), newest first, if there are at most
    /// `limit`: a search's whole answer, from the batching reader. `None`
    /// when there are more (`search` then finds its page and total).
    pub async fn find_person(
        &self,
        location_id: String,
        email_key: EmailKey,
        limit: i64,
    ) -> Result<Option<Vec<GuestPassRow>>, StoreError> {
        let read = Read::Person {
            location_id,
            email_key,
            limit,
        };
        match self.find(read).await? {
            Found::Person(rows) => Ok(rows),
            Found::Pass(_) => Err(StoreError::Internal("a search found a pass by id".into())),
        }
    }

    async fn find(&self, read: Read) -> Result<Found, StoreError> {
        let deadline = Instant::now() + self.shared.timeout;
        self.shared
            .lookups
            .find(read, deadline, &self.shared.stats)
            .await
    }

    /// One page of the passes in `scope` that match `filter`, and how many match.
    pub async fn search(
        &self,
        scope: Scope,
        filter: SearchFilter,
        now: UtcTimestamp,
    ) -> Result<(Vec<GuestPassRow>, i64), StoreError> {
        reading!(self, |conn, q| q::search(conn, &scope, &filter, now))
    }

    /// `false` when no pass with that id is in scope.
    pub async fn cancel_pass(
        &self,
        id: GuestPassId,
        scope: Scope,
        now: UtcTimestamp,
        by: Option<UserId>,
    ) -> Result<bool, StoreError> {
        transaction!(self, |conn, q| q::cancel_pass(
            conn,
            id.as_str(),
            &scope,
            now,
            by.as_ref()
        ))
    }

    pub async fn check_in(
        &self,
        code: String,
        door: Location,
        scope: Scope,
        now: UtcTimestamp,
    ) -> Result<CheckinOutcome, StoreError> {
        let seams = self.shared.seams.clone();
        if let Some(batcher) = &self.shared.batcher {
            let (deadline, wait) = self.batch_deadline();
            let request = CheckinRequest {
                code,
                door,
                scope,
                now,
            };
            let alone = request.clone();
            return batcher
                .check_in(request, deadline, wait, move |conn| {
                    let r = &alone;
                    postgres::check_in(conn, &r.code, &r.door, &r.scope, r.now, &seams)
                })
                .await;
        }
        transaction!(self, |conn, q| q::check_in(
            conn, &code, &door, &scope, now, &seams
        ))
    }

    /// `None` when no pass with that id is in scope.
    pub async fn list_checkins(
        &self,
        id: GuestPassId,
        scope: Scope,
    ) -> Result<Option<Vec<CheckinRow>>, StoreError> {
        reading!(self, |conn, q| q::list_checkins(conn, id.as_str(), &scope))
    }

    /// `Conflict` when the id exists.
    pub async fn add_principal(
        &self,
        kind: PrincipalKind,
        principal: NewPrincipal,
    ) -> Result<(), StoreError> {
        writing!(self, |conn, q| q::insert_principal(conn, kind, &principal))
    }

    /// `NotFound` when there is no such principal.
    pub async fn set_secret(
        &self,
        kind: PrincipalKind,
        id: String,
        salt: String,
        hash: String,
    ) -> Result<(), StoreError> {
        writing!(self, |conn, q| q::set_secret(conn, kind, &id, &salt, &hash))
    }

    pub async fn prune_batch(&self, before: UtcTimestamp, batch: i64) -> Result<usize, StoreError> {
        transaction!(self, |conn, q| q::prune_batch(conn, before, batch))
    }

    pub async fn count_prunable(&self, before: UtcTimestamp) -> Result<i64, StoreError> {
        reading!(self, |conn, q| q::count_prunable(conn, before))
    }

    /// Bulk insert for seeding (benchmarks, demos), without the overlap rule.
    pub async fn insert_passes(&self, rows: Vec<GuestPassRow>) -> Result<usize, StoreError> {
        writing!(self, |conn, q| q::insert_passes(conn, &rows))
    }

    /// Refreshes the planner's statistics after a bulk load, where that helps.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        writing!(self, |conn, q| q::analyze(conn))
    }
}

/// Principals for `admin list`, `disable`, `enable` and `remove`.
impl Store {
    /// Every chain, location and client (chains, then locations, then
    /// clients, each by id).
    pub async fn list_principals(&self) -> Result<Vec<PrincipalRow>, StoreError> {
        reading!(self, |conn, q| q::list_principals(conn))
    }

    /// Whether `id` names a principal of `kind`, enabled or not.
    pub async fn principal_exists(
        &self,
        kind: PrincipalKind,
        id: String,
    ) -> Result<bool, StoreError> {
        reading!(self, |conn, q| q::principal_exists(conn, kind, &id))
    }

    /// Disables (`disable`) or enables a principal; `false` when it already
    /// was. `NotFound` when there is no such principal.
    pub async fn set_disabled(
        &self,
        kind: PrincipalKind,
        id: String,
        disable: bool,
    ) -> Result<bool, StoreError> {
        let at = disable.then(UtcTimestamp::now);
        writing!(self, |conn, q| q::set_disabled(conn, kind, &id, at))
    }

    /// Deletes a principal in one transaction (a chain with its locations);
    /// one that still has passes only `with_passes`. `NotFound` when there
    /// is no such principal.
    pub async fn remove_principal(
        &self,
        kind: PrincipalKind,
        id: String,
        with_passes: bool,
    ) -> Result<RemoveOutcome, StoreError> {
        transaction!(self, |conn, q| q::remove_principal(
            conn,
            kind,
            &id,
            with_passes
        ))
    }
}
