//! PostgreSQL's batching writer for creates: requests that arrive while a
//! batch is in the database queue up, and go out together as one multi-row
//! statement (one round trip, one commit, one WAL flush for N creates).
//!
//! The multi-instance guarantees of the single-row create hold: the
//! statement takes every person's advisory lock first, in key order (so two
//! batches, on any instances, never wait on each other in a cycle), then
//! inserts with `ON CONFLICT ON CONSTRAINT guest_passes_no_overlap DO
//! NOTHING`; a row not inserted is the 422. Each row carries its request's
//! deadline into the database, as the single-row create does. A batch that
//! fails as a whole (it cannot: a check-in code clash, one in ~10^14) is run
//! again row by row, where a clash draws a new code.
//!
//! Check-ins, and creates that carry an `Idempotency-Key`, queue here too:
//! the ones that arrive together run in one transaction, one commit for N
//! writes, and the keyed creates among them as one statement (keys looked
//! up, passes inserted, answers stored). Each keeps the guarantees of its own transaction: a check-in
//! holds its pass `FOR SHARE` until the commit (a cancel waits for it); a
//! keyed write stores its answer with its key in the same commit, and
//! concurrent requests with one key, on any instance, wait for each other.
//! Locks are taken in one order by every transaction — the batch's keys
//! first (one statement, in key order), then the check-ins' passes (shared
//! locks), then the keyed creates' persons in person order, the order a
//! batch of creates locks them in — so two batches never wait on each
//! other in a cycle. A batch that fails is run again one write per
//! transaction.

use std::any::Any;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::r2d2::Pool;
use diesel::sql_types::{Array, BigInt, Binary, Bool, Integer, Nullable, Text};
use diesel::PgConnection;
use tokio::sync::oneshot;

use super::pool::Manager;
use super::postgres::{self, Bind};
use super::rows::{GuestPassRow, Keyed, KeyedRequest, StoredAnswer};
use super::seams::Seams;
use super::threads::Joined;
use super::writer::{collect, Collected};
use super::{CreateOutcome, Stats, StoreError};

/// Writes per batch at most.
const MAX_BATCH: usize = 128;
/// Writes waiting beyond this many are refused with 503.
const QUEUE_DEPTH: usize = 4096;

enum Job {
    Create(CreateJob),
    /// Runs in the batch's transaction.
    Together(TxJob),
}

struct CreateJob {
    row: GuestPassRow,
    not_after_ms: i64,
    reply: oneshot::Sender<Result<CreateOutcome, StoreError>>,
}

type Value = Box<dyn Any + Send>;
type Work = Box<dyn FnMut(&mut PgConnection) -> QueryResult<Value> + Send>;

/// A write that runs in the batch's transaction: `work` may run more than
/// once (the transaction is retried after a deadlock, or the batch is run
/// again one write at a time), and only the run that commits is answered.
struct TxJob {
    /// The idempotency key, locked before any of the batch's writes runs.
    key: Option<KeyedRequest>,
    /// (location, email key) of a create: creates run in this order, after
    /// the writes without one.
    person: Option<(String, String)>,
    /// A keyed create, as the batch's one keyed-create statement takes it;
    /// `work` does the same write on its own.
    keyed_create: Option<Box<KeyedCreate>>,
    deadline: Instant,
    work: Work,
    reply: oneshot::Sender<Result<Value, StoreError>>,
}

/// A create with an `Idempotency-Key`, with both answers it can store
/// rendered in advance (a 201 for this very row, the 422), so that a batch's
/// keyed creates are one statement: the keys looked up, the passes
/// inserted and the answers stored together.
pub struct KeyedCreate {
    pub row: GuestPassRow,
    pub not_after_ms: i64,
    pub created: StoredAnswer,
    pub overlapping: StoredAnswer,
}

/// What a batch's transaction shares with the store's other transactions.
struct Context {
    stats: Arc<Stats>,
    seams: Arc<Seams>,
    queued: Arc<AtomicUsize>,
}

/// Dropped, it closes its queue and waits for its writers to finish what
/// they hold: a batch in flight commits (or fails) and its connection is
/// closed before the drop returns, not while the process is exiting.
pub struct Batcher {
    // Fields drop in order: the queue closes before the writers are joined.
    jobs: SyncSender<Job>,
    /// Writes sent and not yet taken into a batch.
    queued: Arc<AtomicUsize>,
    _writers: Joined,
}

impl Batcher {
    /// `threads` writers, each taking a pooled connection per batch.
    pub fn start(
        pool: Pool<Manager<PgConnection>>,
        threads: usize,
        stats: Arc<Stats>,
        seams: Arc<Seams>,
    ) -> Self {
        let (jobs, queue) = mpsc::sync_channel(QUEUE_DEPTH);
        let queue = std::sync::Mutex::new(queue);
        let queued = Arc::new(AtomicUsize::new(0));
        let context = Context {
            stats,
            seams,
            queued: queued.clone(),
        };
        Self {
            jobs,
            queued,
            _writers: Joined::spawn("pg-batcher", threads, move || {
                serve(&pool, &queue, &context)
            }),
        }
    }

    /// Writes waiting for a batch.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Creates `row` in the next batch; answers once that batch committed.
    pub async fn create(
        &self,
        row: GuestPassRow,
        not_after_ms: i64,
        wait: Duration,
    ) -> Result<CreateOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Job::Create(CreateJob {
            row,
            not_after_ms,
            reply,
        }))?;
        // Past its deadline the row cannot be inserted any more (it carries
        // the deadline into the database): a 503 here wrote nothing.
        await_answer(answer, wait).await
    }

    /// Runs `work` in the next batch's transaction (after taking `key`'s
    /// lock, with the other keys of the batch); answers once that batch
    /// committed. Past `deadline` the batch does not commit, so a 503 after
    /// `wait` (the deadline plus a grace) wrote nothing.
    pub async fn together<T: Send + 'static>(
        &self,
        key: Option<KeyedRequest>,
        person: Option<(String, String)>,
        deadline: Instant,
        wait: Duration,
        work: impl FnMut(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.enqueue_together(key, person, None, deadline, wait, work)
            .await
    }

    /// Like `together`, for a keyed create: the batch's keyed creates go
    /// out as one statement; `work` is the same create on its own, for a
    /// later request with a key already in the batch and for a batch run
    /// again one write at a time.
    pub async fn create_keyed(
        &self,
        keyed: KeyedRequest,
        create: KeyedCreate,
        deadline: Instant,
        wait: Duration,
        work: impl FnMut(&mut PgConnection) -> QueryResult<Keyed<CreateOutcome>> + Send + 'static,
    ) -> Result<Keyed<CreateOutcome>, StoreError> {
        let person = (
            create.row.location_id.as_str().to_owned(),
            create.row.email_key.as_str().to_owned(),
        );
        self.enqueue_together(
            Some(keyed),
            Some(person),
            Some(Box::new(create)),
            deadline,
            wait,
            work,
        )
        .await
    }

    async fn enqueue_together<T: Send + 'static>(
        &self,
        key: Option<KeyedRequest>,
        person: Option<(String, String)>,
        keyed_create: Option<Box<KeyedCreate>>,
        deadline: Instant,
        wait: Duration,
        mut work: impl FnMut(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Job::Together(TxJob {
            key,
            person,
            keyed_create,
            deadline,
            work: Box::new(move |conn| work(conn).map(|value| Box::new(value) as Value)),
            reply,
        }))?;
        let value = await_answer(answer, wait).await?;
        value
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| StoreError::Internal("a batched write answered another type".into()))
    }

    fn enqueue(&self, job: Job) -> Result<(), StoreError> {
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.jobs.try_send(job).map_err(|e| {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            match e {
                TrySendError::Full(_) => StoreError::Unavailable("the write queue is full".into()),
                TrySendError::Disconnected(_) => {
                    StoreError::Unavailable("the batching writer has stopped".into())
                }
            }
        })
    }
}

async fn await_answer<T>(
    answer: oneshot::Receiver<Result<T, StoreError>>,
    wait: Duration,
) -> Result<T, StoreError> {
    match tokio::time::timeout(wait, answer).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => Err(StoreError::Unavailable(
            "the batching writer dropped the write".into(),
        )),
        Err(_) => Err(StoreError::Unavailable(
            "the database did not answer in time".into(),
        )),
    }
}

type Queue = std::sync::Mutex<Receiver<Job>>;

fn serve(pool: &Pool<Manager<PgConnection>>, queue: &Queue, context: &Context) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        {
            // One writer collects at a time; the others wait their turn here.
            let Ok(queue) = queue.lock() else { return };
            match collect(&queue, Duration::from_secs(1), MAX_BATCH, &mut batch) {
                Collected::Some => {}
                Collected::Nothing => continue,
                Collected::Closed => return,
            }
            context.queued.fetch_sub(batch.len(), Ordering::Relaxed);
        }
        // A panic ends its batch, never the writer: the batch's replies are
        // dropped (each request is answered 503), and its connection, left
        // inside the transaction, is discarded by the pool, which rolls the
        // transaction back.
        if catch_unwind(AssertUnwindSafe(|| run(pool, batch, context))).is_err() {
            context.stats.batch_panics.fetch_add(1, Ordering::Relaxed);
            log::error!("a PostgreSQL batch panicked; its writes were answered 503");
        }
    }
}

fn run(pool: &Pool<Manager<PgConnection>>, batch: Vec<Job>, context: &Context) {
    let (mut creates, mut together) = (Vec::new(), Vec::new());
    for job in batch {
        match job {
            Job::Create(job) => creates.push(job),
            Job::Together(job) => together.push(job),
        }
    }
    let mut pooled = match pool.get() {
        Ok(pooled) => pooled,
        Err(e) => {
            let why = format!("no database connection: {e}");
            for job in creates {
                let _ = job.reply.send(Err(StoreError::Unavailable(why.clone())));
            }
            for job in together {
                let _ = job.reply.send(Err(StoreError::Unavailable(why.clone())));
            }
            return;
        }
    };
    let started = Instant::now();
    if !creates.is_empty() {
        run_creates(&mut pooled, creates, context);
    }
    if !together.is_empty() {
        run_together(&mut pooled, together, context);
    }
    log::trace!("batch done in {:?}", started.elapsed());
}

type PgPooled = diesel::r2d2::PooledConnection<Manager<PgConnection>>;

fn run_creates(pooled: &mut PgPooled, batch: Vec<CreateJob>, context: &Context) {
    let outcome = insert_batch(&mut pooled.conn, &batch);
    match outcome {
        Ok(rows) => {
            for (job, (created, in_time)) in batch.into_iter().zip(rows) {
                let answer = match (in_time, created) {
                    (false, _) => Err(StoreError::Unavailable(
                        "the request's deadline passed before its batch ran".into(),
                    )),
                    (true, true) => Ok(CreateOutcome::Created(Box::new(job.row))),
                    (true, false) => Ok(CreateOutcome::AlreadyCreated),
                };
                let _ = job.reply.send(answer);
            }
        }
        Err(e) => {
            context.stats.batch_splits.fetch_add(1, Ordering::Relaxed);
            log::warn!(
                "a batch of {} creates failed ({e}); running them one by one",
                batch.len()
            );
            for job in batch {
                let answer = postgres::insert_pass(&mut pooled.conn, job.row, job.not_after_ms)
                    .map_err(StoreError::from);
                let answer = pooled.settle(answer);
                let _ = job.reply.send(answer);
            }
        }
    }
}

/// The transactional writes of one batch in one transaction, which commits
/// only while the earliest of their deadlines has not passed. Those already
/// late are answered 503 unrun.
fn run_together(pooled: &mut PgPooled, batch: Vec<TxJob>, context: &Context) {
    let now = Instant::now();
    let (late, mut batch): (Vec<_>, Vec<_>) = batch.into_iter().partition(|j| j.deadline <= now);
    for job in late {
        let _ = job.reply.send(Err(StoreError::Unavailable(
            "the request's deadline passed before its batch ran".into(),
        )));
    }
    let Some(deadline) = batch.iter().map(|j| j.deadline).min() else {
        return;
    };
    // Stable: the writes without a person keep their order, first.
    batch.sort_by(|a, b| a.person.cmp(&b.person));
    let together = in_transaction(pooled, context, deadline, &mut batch, Mode::Together);
    match together {
        Ok(values) => {
            for (job, value) in batch.into_iter().zip(values) {
                let _ = job.reply.send(Ok(value));
            }
        }
        // Alone already: nothing to run another way.
        Err(e) if batch.len() == 1 && batch[0].keyed_create.is_none() => {
            let answer = pooled.settle(Err(e));
            if let Some(job) = batch.into_iter().next() {
                let _ = job.reply.send(answer);
            }
        }
        Err(e) => {
            context.stats.batch_splits.fetch_add(1, Ordering::Relaxed);
            log::warn!(
                "a batch of {} writes failed ({e}); running them one by one",
                batch.len()
            );
            for mut job in batch {
                let deadline = job.deadline;
                let job_alone = std::slice::from_mut(&mut job);
                let answer = in_transaction(pooled, context, deadline, job_alone, Mode::Alone)
                    .and_then(|mut values| {
                        values.pop().ok_or_else(|| {
                            StoreError::Internal("a batched write answered nothing".into())
                        })
                    });
                let answer = pooled.settle(answer);
                let _ = job.reply.send(answer);
            }
        }
    }
}

/// How a transaction runs its keyed creates.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// In one statement.
    Together,
    /// Each by its own `work`, after the batch failed: the write that
    /// failed it fails alone, and the others go through.
    Alone,
}

/// Runs `jobs` in one transaction, their keys locked first, then in order:
/// the writes without a person (check-ins), the keyed creates (in one
/// statement, persons locked in order, unless `mode` is `Alone`), and last
/// the requests whose key an earlier one in this batch carries (they find
/// its answer, stored by now).
fn in_transaction(
    pooled: &mut PgPooled,
    context: &Context,
    deadline: Instant,
    jobs: &mut [TxJob],
    mode: Mode,
) -> Result<Vec<Value>, StoreError> {
    postgres::in_transaction(
        &mut pooled.conn,
        &context.stats,
        &context.seams,
        deadline,
        |conn| {
            postgres::lock_keys(conn, jobs.iter().filter_map(|j| j.key.as_ref()))?;
            let mut keys = HashSet::new();
            let set: Vec<bool> = jobs
                .iter()
                .map(|j| match (&j.key, &j.keyed_create) {
                    (Some(k), Some(_)) if mode == Mode::Together => keys.insert(k.identity()),
                    _ => false,
                })
                .collect();
            let mut values: Vec<Option<Value>> = jobs.iter().map(|_| None).collect();
            for (job, value) in jobs.iter_mut().zip(&mut values) {
                if job.person.is_none() {
                    *value = Some((job.work)(conn)?);
                }
            }
            let creates: Vec<(&KeyedRequest, &KeyedCreate)> = jobs
                .iter()
                .zip(&set)
                .filter(|(_, in_set)| **in_set)
                .filter_map(|(j, _)| Some((j.key.as_ref()?, j.keyed_create.as_deref()?)))
                .collect();
            if !creates.is_empty() {
                let mut created = create_keyed_batch(conn, &creates)?.into_iter();
                for (value, _) in values.iter_mut().zip(&set).filter(|(_, s)| **s) {
                    *value = created.next();
                }
            }
            for (job, value) in jobs.iter_mut().zip(&mut values) {
                if value.is_none() {
                    *value = Some((job.work)(conn)?);
                }
            }
            values
                .into_iter()
                .map(|v| v.ok_or(diesel::result::Error::RollbackTransaction))
                .collect()
        },
    )
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = Bool)]
    created: bool,
    #[diesel(sql_type = Bool)]
    in_time: bool,
}

/// One statement for the whole batch; for each job in order, whether its
/// row was inserted and whether it was still in time.
fn insert_batch(conn: &mut PgConnection, batch: &[CreateJob]) -> QueryResult<Vec<(bool, bool)>> {
    let column = |f: fn(&CreateJob) -> String| batch.iter().map(f).collect::<Vec<_>>();
    let optional = |f: fn(&CreateJob) -> Option<String>| batch.iter().map(f).collect::<Vec<_>>();
    let number = |f: fn(&CreateJob) -> i64| batch.iter().map(f).collect::<Vec<_>>();
    let rows = postgres::prepared(
        "WITH input AS ( \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::int8[], $10::int8[], $11::text[], \
                 $12::int8[], $13::text[], $14::int8[]) WITH ORDINALITY \
             AS t(id, chain_id, location_id, first_name, last_name, email, email_key, phone, \
                 valid_from, valid_until, checkin_code, created_at, created_by, not_after_ms, n)), \
         locked AS ( \
             SELECT count(pg_advisory_xact_lock($15, hashtext(location_id || chr(10) || email_key))) \
             FROM (SELECT location_id, email_key FROM input GROUP BY location_id, email_key \
                   ORDER BY location_id COLLATE \"C\", email_key COLLATE \"C\") AS people), \
         timely AS ( \
             SELECT input.*, clock_timestamp() < to_timestamp(not_after_ms::float8 / 1000) \
                 AS in_time \
             FROM input, locked), \
         inserted AS ( \
             INSERT INTO guest_passes (id, chain_id, location_id, first_name, last_name, email, \
                 email_key, phone, valid_from, valid_until, checkin_code, created_at, created_by) \
             SELECT id, chain_id, location_id, first_name, last_name, email, email_key, phone, \
                 valid_from, valid_until, checkin_code, created_at, created_by \
             FROM timely WHERE in_time ORDER BY n \
             ON CONFLICT ON CONSTRAINT guest_passes_no_overlap DO NOTHING \
             RETURNING id) \
         SELECT inserted.id IS NOT NULL AS created, timely.in_time \
         FROM timely LEFT JOIN inserted ON inserted.id = timely.id ORDER BY timely.n",
    )
    .bind::<Array<Text>, _>(column(|j| j.row.id.to_string()))
    .bind::<Array<Text>, _>(column(|j| j.row.chain_id.clone()))
    .bind::<Array<Text>, _>(column(|j| j.row.location_id.as_str().to_owned()))
    .bind::<Array<Text>, _>(column(|j| j.row.first_name.as_str().to_owned()))
    .bind::<Array<Text>, _>(column(|j| j.row.last_name.as_str().to_owned()))
    .bind::<Array<Text>, _>(column(|j| j.row.email.as_str().to_owned()))
    .bind::<Array<Text>, _>(column(|j| j.row.email_key.as_str().to_owned()))
    .bind::<Array<Nullable<Text>>, _>(optional(|j| {
        j.row.phone.as_ref().map(|p| p.as_str().to_owned())
    }))
    .bind::<Array<BigInt>, _>(number(|j| j.row.valid_from.epoch_seconds()))
    .bind::<Array<BigInt>, _>(number(|j| j.row.valid_until.epoch_seconds()))
    .bind::<Array<Text>, _>(column(|j| j.row.checkin_code.as_str().to_owned()))
    .bind::<Array<BigInt>, _>(number(|j| j.row.created_at.epoch_seconds()))
    .bind::<Array<Nullable<Text>>, _>(optional(|j| {
        j.row.created_by.as_ref().map(|u| u.as_str().to_owned())
    }))
    .bind::<Array<BigInt>, _>(number(|j| j.not_after_ms))
    .bind::<diesel::sql_types::Integer, _>(postgres::PERSON_LOCK)
    .load::<Inserted>(conn)?;
    if rows.len() != batch.len() {
        return Err(diesel::result::Error::QueryBuilderError(
            "a batch answered for another number of rows".into(),
        ));
    }
    Ok(rows.into_iter().map(|r| (r.created, r.in_time)).collect())
}

#[derive(QueryableByName)]
struct KeyedOutcome {
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = Nullable<Integer>)]
    status: Option<i32>,
    #[diesel(sql_type = Nullable<Binary>)]
    body: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    location: Option<String>,
}

/// A batch's keyed creates (no two with one key) in one statement, their
/// keys already locked by this transaction: each key's live answer is
/// looked up; for the keys without one, the persons are locked in order
/// and the passes inserted (an overlap is skipped: the 422), then each
/// answer is stored with its key, replacing an expired one. For each create
/// in order, what `with_locked_key` around `insert_pass` answers. A create
/// past its deadline fails the statement (the batch is then run again one
/// write at a time, where it is answered 503 alone).
fn create_keyed_batch(
    conn: &mut PgConnection,
    creates: &[(&KeyedRequest, &KeyedCreate)],
) -> QueryResult<Vec<Value>> {
    let column =
        |f: fn(&GuestPassRow) -> &str| creates.iter().map(|(_, c)| f(&c.row)).collect::<Vec<_>>();
    let optional = |f: fn(&GuestPassRow) -> Option<&str>| {
        creates.iter().map(|(_, c)| f(&c.row)).collect::<Vec<_>>()
    };
    let number = |f: fn(&KeyedRequest, &KeyedCreate) -> i64| {
        creates.iter().map(|(k, c)| f(k, c)).collect::<Vec<_>>()
    };
    let key = |f: fn(&KeyedRequest) -> &str| creates.iter().map(|(k, _)| f(k)).collect::<Vec<_>>();
    let status = |f: fn(&KeyedCreate) -> &StoredAnswer| {
        creates
            .iter()
            .map(|(_, c)| i32::from(f(c).status))
            .collect::<Vec<_>>()
    };
    let body = |f: fn(&KeyedCreate) -> &StoredAnswer| {
        creates
            .iter()
            .map(|(_, c)| f(c).body.as_slice())
            .collect::<Vec<_>>()
    };
    let location = |f: fn(&KeyedCreate) -> &StoredAnswer| {
        creates
            .iter()
            .map(|(_, c)| f(c).location.as_deref())
            .collect::<Vec<_>>()
    };
    // Planned on every run, unlike the other batch statements: it reads
    // `idempotency_keys`, and a plan cached while that table was small (a
    // hash join over all of it) would be kept as it grows, until the next
    // ANALYZE: 15% fewer keyed creates a second in the first minute.
    let rows = diesel::sql_query(
        "WITH input AS ( \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::int8[], $10::int8[], $11::text[], \
                 $12::int8[], $13::text[], $14::int8[], $16::text[], $17::text[], $18::text[], \
                 $19::text[], $20::int8[], $21::int8[], $22::int4[], $23::bytea[], $24::text[], \
                 $25::int4[], $26::bytea[], $27::text[]) WITH ORDINALITY \
             AS t(id, chain_id, location_id, first_name, last_name, email, email_key, phone, \
                 valid_from, valid_until, checkin_code, created_at, created_by, not_after_ms, \
                 principal, operation, idempotency_key, request_hash, keyed_at, live_after, \
                 created_status, created_body, created_location, \
                 overlap_status, overlap_body, overlap_location, n)), \
         stored AS ( \
             SELECT input.n, k.request_hash = input.request_hash AS same, k.status, k.body, \
                 k.location \
             FROM input JOIN idempotency_keys AS k ON k.principal = input.principal \
                 AND k.operation = input.operation \
                 AND k.idempotency_key = input.idempotency_key \
             WHERE k.created_at >= input.live_after), \
         fresh AS (SELECT * FROM input WHERE n NOT IN (SELECT n FROM stored)), \
         locked AS ( \
             SELECT count(pg_advisory_xact_lock($15, hashtext(location_id || chr(10) || email_key))) \
             FROM (SELECT location_id, email_key FROM fresh GROUP BY location_id, email_key \
                   ORDER BY location_id COLLATE \"C\", email_key COLLATE \"C\") AS people), \
         timely AS ( \
             SELECT fresh.*, clock_timestamp() < to_timestamp(not_after_ms::float8 / 1000) \
                 AS in_time \
             FROM fresh, locked), \
         inserted AS ( \
             INSERT INTO guest_passes (id, chain_id, location_id, first_name, last_name, email, \
                 email_key, phone, valid_from, valid_until, checkin_code, created_at, created_by) \
             SELECT id, chain_id, location_id, first_name, last_name, email, email_key, phone, \
                 valid_from, valid_until, checkin_code, created_at, created_by \
             FROM timely WHERE in_time ORDER BY n \
             ON CONFLICT ON CONSTRAINT guest_passes_no_overlap DO NOTHING \
             RETURNING id), \
         answered AS ( \
             SELECT timely.*, inserted.id IS NOT NULL AS created \
             FROM timely LEFT JOIN inserted ON inserted.id = timely.id), \
         remembered AS ( \
             INSERT INTO idempotency_keys (principal, operation, idempotency_key, request_hash, \
                 status, body, location, created_at) \
             SELECT principal, operation, idempotency_key, request_hash, \
                 CASE WHEN created THEN created_status ELSE overlap_status END, \
                 CASE WHEN created THEN created_body ELSE overlap_body END, \
                 CASE WHEN created THEN created_location ELSE overlap_location END, \
                 keyed_at \
             FROM answered WHERE in_time \
             ON CONFLICT (principal, operation, idempotency_key) DO UPDATE SET \
                 request_hash = excluded.request_hash, status = excluded.status, \
                 body = excluded.body, location = excluded.location, \
                 created_at = excluded.created_at) \
         SELECT CASE WHEN stored.n IS NOT NULL THEN \
                     CASE WHEN stored.same THEN 'replay' ELSE 'reused' END \
                 WHEN NOT answered.in_time THEN 'late' \
                 WHEN answered.created THEN 'created' ELSE 'overlap' END AS outcome, \
             stored.status, stored.body, stored.location \
         FROM input LEFT JOIN stored ON stored.n = input.n \
             LEFT JOIN answered ON answered.n = input.n \
         ORDER BY input.n",
    )
    .bind::<Array<Text>, _>(column(|r| r.id.as_str()))
    .bind::<Array<Text>, _>(column(|r| &r.chain_id))
    .bind::<Array<Text>, _>(column(|r| r.location_id.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.first_name.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.last_name.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.email.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.email_key.as_str()))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.phone.as_ref().map(|p| p.as_str())))
    .bind::<Array<BigInt>, _>(number(|_, c| c.row.valid_from.epoch_seconds()))
    .bind::<Array<BigInt>, _>(number(|_, c| c.row.valid_until.epoch_seconds()))
    .bind::<Array<Text>, _>(column(|r| r.checkin_code.as_str()))
    .bind::<Array<BigInt>, _>(number(|_, c| c.row.created_at.epoch_seconds()))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.created_by.as_ref().map(|u| u.as_str())))
    .bind::<Array<BigInt>, _>(number(|_, c| c.not_after_ms))
    .bind::<Integer, _>(postgres::PERSON_LOCK)
    .bind::<Array<Text>, _>(key(|k| &k.principal))
    .bind::<Array<Text>, _>(key(|k| k.operation.as_str()))
    .bind::<Array<Text>, _>(key(|k| k.key.as_str()))
    .bind::<Array<Text>, _>(key(|k| &k.request_hash))
    .bind::<Array<BigInt>, _>(number(|k, _| k.now.epoch_seconds()))
    .bind::<Array<BigInt>, _>(number(|k, _| k.live_after.epoch_seconds()))
    .bind::<Array<Integer>, _>(status(|c| &c.created))
    .bind::<Array<Binary>, _>(body(|c| &c.created))
    .bind::<Array<Nullable<Text>>, _>(location(|c| &c.created))
    .bind::<Array<Integer>, _>(status(|c| &c.overlapping))
    .bind::<Array<Binary>, _>(body(|c| &c.overlapping))
    .bind::<Array<Nullable<Text>>, _>(location(|c| &c.overlapping))
    .load::<KeyedOutcome>(conn)?;
    if rows.len() != creates.len() {
        return Err(diesel::result::Error::QueryBuilderError(
            "a batch answered for another number of rows".into(),
        ));
    }
    creates
        .iter()
        .zip(rows)
        .map(|((_, create), row)| {
            let keyed = match row.outcome.as_str() {
                "replay" => Keyed::Replay(StoredAnswer {
                    status: row
                        .status
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(500),
                    body: row.body.unwrap_or_default(),
                    location: row.location,
                }),
                "reused" => Keyed::Reused,
                "created" => Keyed::Ran {
                    value: CreateOutcome::Created(Box::new(create.row.clone())),
                    answer: Some(create.created.clone()),
                },
                "overlap" => Keyed::Ran {
                    value: CreateOutcome::AlreadyCreated,
                    answer: Some(create.overlapping.clone()),
                },
                _ => return Err(postgres::past_deadline()),
            };
            Ok(Box::new(keyed) as Value)
        })
        .collect()
}
