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
//! writes. Each keeps the guarantees of its own transaction: a check-in
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
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::r2d2::Pool;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::PgConnection;
use tokio::sync::oneshot;

use super::pool::Manager;
use super::rows::{GuestPassRow, KeyedRequest};
use super::seams::Seams;
use super::threads::Joined;
use super::writer::{collect, Collected};
use super::{postgres, CreateOutcome, Stats, StoreError};

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
    deadline: Instant,
    work: Work,
    reply: oneshot::Sender<Result<Value, StoreError>>,
}

/// What a batch's transaction shares with the store's other transactions.
struct Context {
    stats: Arc<Stats>,
    seams: Arc<Seams>,
}

/// Dropped, it closes its queue and waits for its writers to finish what
/// they hold: a batch in flight commits (or fails) and its connection is
/// closed before the drop returns, not while the process is exiting.
pub struct Batcher {
    // Fields drop in order: the queue closes before the writers are joined.
    jobs: SyncSender<Job>,
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
        let context = Context { stats, seams };
        Self {
            jobs,
            _writers: Joined::spawn("pg-batcher", threads, move || {
                serve(&pool, &queue, &context)
            }),
        }
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
        mut work: impl FnMut(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Job::Together(TxJob {
            key,
            person,
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
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Unavailable("the write queue is full".into()),
            TrySendError::Disconnected(_) => {
                StoreError::Unavailable("the batching writer has stopped".into())
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
        run_creates(&mut pooled, creates);
    }
    if !together.is_empty() {
        run_together(&mut pooled, together, context);
    }
    log::trace!("batch done in {:?}", started.elapsed());
}

type PgPooled = diesel::r2d2::PooledConnection<Manager<PgConnection>>;

fn run_creates(pooled: &mut PgPooled, batch: Vec<CreateJob>) {
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
    let together = in_transaction(pooled, context, deadline, &mut batch);
    match together {
        Ok(values) => {
            for (job, value) in batch.into_iter().zip(values) {
                let _ = job.reply.send(Ok(value));
            }
        }
        Err(e) if batch.len() == 1 => {
            let answer = pooled.settle(Err(e));
            if let Some(job) = batch.into_iter().next() {
                let _ = job.reply.send(answer);
            }
        }
        Err(e) => {
            log::warn!(
                "a batch of {} writes failed ({e}); running them one by one",
                batch.len()
            );
            for mut job in batch {
                let deadline = job.deadline;
                let answer =
                    in_transaction(pooled, context, deadline, std::slice::from_mut(&mut job))
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

/// Runs `jobs` in order in one transaction, their keys locked first.
fn in_transaction(
    pooled: &mut PgPooled,
    context: &Context,
    deadline: Instant,
    jobs: &mut [TxJob],
) -> Result<Vec<Value>, StoreError> {
    postgres::in_transaction(
        &mut pooled.conn,
        &context.stats,
        &context.seams,
        deadline,
        |conn| {
            postgres::lock_keys(conn, jobs.iter().filter_map(|j| j.key.as_ref()))?;
            jobs.iter_mut().map(|j| (j.work)(conn)).collect()
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
    let rows = diesel::sql_query(
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
