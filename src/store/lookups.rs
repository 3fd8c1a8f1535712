//! Reads of one pass by its id (`getGuestPass`), and searches for one
//! person at one location (`searchGuestPasses` by location and e-mail, the
//! search a client makes before it creates a pass), batched: the reads that
//! arrive while a batch is in the database queue up, and a reading thread
//! takes them all at once. Handing each read to a blocking thread of its own
//! costs two thread wake-ups per request, more than the read itself
//! (bench/RESULTS.md, "Where a SQLite read's time goes"); a reading thread
//! that drains its queue is woken once per batch, and under load not at all.
//!
//! A queued read holds no pool connection (the reading thread holds one per
//! batch), so it takes no slot of its principal's share: the share is there
//! for the requests whose cost the caller chooses (the other searches), and
//! a queued read costs a small, bounded work whoever sends it. A read by id
//! is one row; a person's search reads at most one row more than its page
//! holds (`find_person`), and a person with more passes than that at the
//! location is searched the usual way, on a slot. Reads wait in arrival
//! order.
//!
//! SQLite runs a batch's reads one after the other on one connection (each
//! a cached statement of a few microseconds); PostgreSQL answers a batch's
//! reads by id in one statement, one round trip (`id = ANY($1)`), checks
//! each read's scope on the rows it gets back, and runs its person searches
//! one cached statement each (`postgres::read_batch`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::r2d2::{Pool, R2D2Connection};
use tokio::sync::oneshot;

use super::pool::Manager;
use super::rows::GuestPassRow;
use super::seams::{self, Reached, Seams};
use super::threads::Joined;
use super::writer::{collect, Collected};
use super::{Stats, StoreError, WATCHDOG_GRACE};
use crate::domain::{EmailKey, GuestPassId, Scope};

/// Reads per batch at most.
const MAX_BATCH: usize = 256;
/// Reads waiting beyond this many are refused with 503.
const QUEUE_DEPTH: usize = 4096;

/// One read of a batch.
pub enum Read {
    /// The pass with `id`, if there is one in `scope`.
    Pass { id: GuestPassId, scope: Scope },
    /// Every pass of the person with `email_key` at `location_id` (which is
    /// in the caller's scope), if there are at most `limit`.
    Person {
        location_id: String,
        email_key: EmailKey,
        limit: i64,
    },
}

/// What a read found, by its kind.
pub enum Found {
    Pass(Option<Box<GuestPassRow>>),
    /// Newest first; `None`: the person has more than `limit` passes there.
    Person(Option<Vec<GuestPassRow>>),
}

type Answer = Result<Found, StoreError>;

/// How a backend answers a batch: one answer per read, in order.
pub type ReadBatch<C> = fn(&mut C, &[Read]) -> Vec<Answer>;

struct Job {
    read: Read,
    deadline: Instant,
    reply: oneshot::Sender<Answer>,
}

/// Dropped, it closes its queue and joins its threads: a batch in flight is
/// answered and its connection returned before the drop returns.
pub struct Lookups {
    // Fields drop in order: the queue closes before the threads are joined.
    jobs: SyncSender<Job>,
    _threads: Joined,
}

impl Lookups {
    /// `threads` reading threads, each taking a pooled connection per batch.
    pub fn start<C>(
        pool: Pool<Manager<C>>,
        threads: usize,
        read: ReadBatch<C>,
        stats: Arc<Stats>,
        seams: Arc<Seams>,
    ) -> Self
    where
        C: R2D2Connection + Send + 'static,
    {
        let (jobs, queue) = mpsc::sync_channel(QUEUE_DEPTH);
        let queue = Mutex::new(queue);
        Self {
            jobs,
            _threads: Joined::spawn("lookups", threads, move || {
                serve(&pool, &queue, read, &stats, &seams)
            }),
        }
    }

    /// What `read` finds; 503 when the database does not answer by
    /// `deadline` (with the watchdog's grace, as every operation).
    pub async fn find(&self, read: Read, deadline: Instant, stats: &Stats) -> Answer {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            read,
            deadline,
            reply,
        };
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Unavailable("the read queue is full".into()),
            TrySendError::Disconnected(_) => {
                StoreError::Unavailable("the reading threads have stopped".into())
            }
        })?;
        let limit = deadline.saturating_duration_since(Instant::now()) + WATCHDOG_GRACE;
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(answer)) => answer,
            // Dropped unanswered: its batch panicked.
            Ok(Err(_)) => Err(StoreError::Internal("the read was not answered".into())),
            Err(_) => {
                stats.stalls.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                ))
            }
        }
    }
}

type Queue = Mutex<Receiver<Job>>;

fn serve<C>(
    pool: &Pool<Manager<C>>,
    queue: &Queue,
    read: ReadBatch<C>,
    stats: &Stats,
    seams: &Seams,
) where
    C: R2D2Connection + Send + 'static,
{
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        {
            // One thread collects at a time; the others wait their turn here.
            let Ok(queue) = queue.lock() else { return };
            match collect(&queue, Duration::from_secs(1), MAX_BATCH, &mut batch) {
                Collected::Some => {}
                Collected::Nothing => continue,
                Collected::Closed => return,
            }
        }
        // A panic ends its batch, never the thread: the batch's replies are
        // dropped, and each of its requests is answered 500.
        if catch_unwind(AssertUnwindSafe(|| run(pool, batch, read, seams))).is_err() {
            stats.read_panics.fetch_add(1, Ordering::Relaxed);
            log::error!("a batch of reads panicked; its requests were answered 500");
        }
    }
}

fn run<C>(pool: &Pool<Manager<C>>, batch: Vec<Job>, read: ReadBatch<C>, seams: &Seams)
where
    C: R2D2Connection + Send + 'static,
{
    let now = Instant::now();
    let mut reads = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    for job in batch {
        // A requester that gave up (or is about to) costs the database nothing.
        if job.deadline <= now {
            let _ = job.reply.send(Err(StoreError::Unavailable(
                "the read waited too long for the database".into(),
            )));
        } else if !job.reply.is_closed() {
            reads.push(job.read);
            replies.push(job.reply);
        }
    }
    if reads.is_empty() {
        return;
    }
    if let Reached::Fail(detail) = seams.reach(seams::READ_BATCH) {
        for reply in replies {
            let _ = reply.send(Err(StoreError::Unavailable(detail.clone())));
        }
        return;
    }
    let mut pooled = match pool.get() {
        Ok(pooled) => pooled,
        Err(e) => {
            let why = format!("no database connection: {e}");
            for reply in replies {
                let _ = reply.send(Err(StoreError::Unavailable(why.clone())));
            }
            return;
        }
    };
    let answers = read(&mut pooled.conn, &reads);
    for (reply, answer) in replies.into_iter().zip(answers) {
        let _ = reply.send(pooled.settle(answer));
    }
}
