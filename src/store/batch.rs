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
//! writes; the keyed creates among them as one statement (keys looked up,
//! passes inserted, answers stored), the check-ins without a key as two
//! (passes read, visits inserted). Each keeps the guarantees of its own transaction: a check-in
//! holds its pass `FOR SHARE` until the commit (a cancel waits for it); a
//! keyed write stores its answer with its key in the same commit, and
//! concurrent requests with one key, on any instance, wait for each other.
//! Locks are taken in one order by every transaction — the batch's keys
//! first (one statement, in key order), then the check-ins' passes (shared
//! locks), then the keyed creates' persons in person order, the order a
//! batch of creates locks them in — so two batches never wait on each
//! other in a cycle. A batch that fails is run again one write per
//! transaction.

mod statements;

use std::any::Any;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::r2d2::Pool;
use diesel::PgConnection;
use tokio::sync::oneshot;

use super::pool::Manager;
use super::postgres;
use super::rows::{CheckinRequest, GuestPassRow, Keyed, KeyedRequest, StoredAnswer};
use super::seams::Seams;
use super::threads::Joined;
use super::writer::{collect, Collected};
use super::{CheckinOutcome, CreateOutcome, Stats, StoreError};
use statements::{check_in_batch, create_keyed_batch, insert_batch};

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
    /// The write as the batch's statement for all writes of its kind takes
    /// it; `work` does the same write on its own.
    set: Option<SetWrite>,
    deadline: Instant,
    work: Work,
    reply: oneshot::Sender<Result<Value, StoreError>>,
}

/// The writes a batch runs together with the others of their kind.
enum SetWrite {
    KeyedCreate(Box<KeyedCreate>),
    /// Without a key: a keyed check-in stores its answer with its key, by
    /// its `work`.
    CheckIn(Box<CheckinRequest>),
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

    /// A check-in without a key in the next batch's transaction: the
    /// batch's check-ins are decided on the passes one statement reads, and
    /// their visits inserted by one more; `work` is the same check-in on its
    /// own, for a batch run again one write at a time.
    pub async fn check_in(
        &self,
        request: CheckinRequest,
        deadline: Instant,
        wait: Duration,
        work: impl FnMut(&mut PgConnection) -> QueryResult<CheckinOutcome> + Send + 'static,
    ) -> Result<CheckinOutcome, StoreError> {
        let set = SetWrite::CheckIn(Box::new(request));
        self.enqueue_together(None, None, Some(set), deadline, wait, work)
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
            Some(SetWrite::KeyedCreate(Box::new(create))),
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
        set: Option<SetWrite>,
        deadline: Instant,
        wait: Duration,
        mut work: impl FnMut(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Job::Together(TxJob {
            key,
            person,
            set,
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
        Err(e) if batch.len() == 1 && !batch[0].runs_otherwise_alone() => {
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

/// How a transaction runs its keyed creates and its check-ins.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Each kind in its own statement.
    Together,
    /// Each by its own `work`, after the batch failed: the write that
    /// failed it fails alone, and the others go through.
    Alone,
}

impl TxJob {
    fn check_in(&self) -> Option<&CheckinRequest> {
        match &self.set {
            Some(SetWrite::CheckIn(request)) => Some(request),
            _ => None,
        }
    }

    fn keyed_create(&self) -> Option<(&KeyedRequest, &KeyedCreate)> {
        match (&self.key, &self.set) {
            (Some(key), Some(SetWrite::KeyedCreate(create))) => Some((key, create)),
            _ => None,
        }
    }

    /// Whether, alone in a batch that failed, running it by its `work`
    /// could answer otherwise: a keyed create past its deadline fails the
    /// statement, and alone it is answered 503 for itself.
    fn runs_otherwise_alone(&self) -> bool {
        self.keyed_create().is_some()
    }
}

/// Runs `jobs` in one transaction, their keys locked first, then in order:
/// the writes without a person (the check-ins: those without a key in two
/// statements unless `mode` is `Alone`), the keyed creates (in one
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
    let (mut checkins, mut creates) = (Vec::new(), Vec::new());
    if mode == Mode::Together {
        let mut keys = HashSet::new();
        for (i, job) in jobs.iter().enumerate() {
            if job.check_in().is_some() {
                checkins.push(i);
            } else if let Some((key, _)) = job.keyed_create() {
                if keys.insert(key.identity()) {
                    creates.push(i);
                }
            }
        }
    }
    postgres::in_transaction(
        &mut pooled.conn,
        &context.stats,
        &context.seams,
        deadline,
        |conn| {
            postgres::lock_keys(conn, jobs.iter().filter_map(|j| j.key.as_ref()))?;
            let mut values: Vec<Option<Value>> = jobs.iter().map(|_| None).collect();
            if !checkins.is_empty() {
                let requests: Vec<&CheckinRequest> = checkins
                    .iter()
                    .filter_map(|&i| jobs[i].check_in())
                    .collect();
                let answers = check_in_batch(conn, &requests, &context.seams)?;
                for (&i, answer) in checkins.iter().zip(answers) {
                    values[i] = Some(answer);
                }
            }
            for (job, value) in jobs.iter_mut().zip(&mut values) {
                if job.person.is_none() && value.is_none() {
                    *value = Some((job.work)(conn)?);
                }
            }
            if !creates.is_empty() {
                let requests: Vec<(&KeyedRequest, &KeyedCreate)> = creates
                    .iter()
                    .filter_map(|&i| jobs[i].keyed_create())
                    .collect();
                let answers = create_keyed_batch(conn, &requests)?;
                for (&i, answer) in creates.iter().zip(answers) {
                    values[i] = Some(answer);
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
