//! The SQLite single writer: one connection on one thread takes every write,
//! and commits whatever is queued in one transaction (group commit). SQLite
//! allows one writer at a time anyway; queuing here instead of in the busy
//! handler turns lock contention into batching, and makes "check for an
//! overlapping pass, then insert" atomic without retries.
//!
//! What a client hears is what happened, whatever fails:
//! - a write is answered only once its group transaction has committed;
//! - a write whose requester stopped waiting is never committed: it is
//!   either skipped, or its whole batch rolls back (its state is checked
//!   under the job's lock right before the commit);
//! - a job that fails with a database error (a full disk, an I/O error) or
//!   panics ends its batch: the batch rolls back, the jobs not yet run are
//!   not run, and every job of the batch is answered 503 (the panicking or
//!   failing job itself 500/503): no job is written and answered 503;
//! - a panic never kills the writer, and a connection left unusable is
//!   reopened; both are counted;
//! - the writer beats a heartbeat, so readiness sees a writer that is stuck;
//! - before each commit it checks that the database path still names the
//!   file it opened: a deleted or replaced file is never written to again.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::SqliteConnection;
use tokio::sync::oneshot;

use super::seams::{self, Reached, Seams};
use super::StoreError;

/// How many queued writes one transaction takes at most.
const MAX_BATCH: usize = 256;
/// Writes waiting beyond this many are refused with 503 instead of queueing forever.
const QUEUE_DEPTH: usize = 4096;
/// How often an idle writer beats its heartbeat.
const BEAT: Duration = Duration::from_millis(500);
/// How long a requester whose write is already committing waits for the
/// outcome before giving up with 500 (the outcome is then unknown, so 503,
/// which promises nothing was written, would be a lie).
const COMMIT_WAIT: Duration = Duration::from_secs(30);
/// How often the background checkpointer copies the WAL into the database:
/// often enough that, under a stream of creates (~40k WAL frames a second),
/// the writer's own checkpoint finds little left to copy. Every 200 ms, the
/// writer spent a tenth of its time checkpointing (perf), and the batches
/// queued behind such a checkpoint waited for it: p99 of creates 9.8 ms
/// against 7.0 ms now, of check-ins 17.4 against 7.6 (bench/RESULTS.md). The
/// price is more copying in all (a page changed by many commits is copied
/// more often), on the other core. An idle database costs a PASSIVE
/// checkpoint with nothing to copy.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// Opens a fresh writer connection (after the old one became unusable).
pub type Reopen = Box<dyn Fn() -> Result<SqliteConnection, String> + Send>;

/// Where a job is, as its requester and the writer both see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Queued,
    Running,
    /// Past the last check: the commit is on its way, the requester waits.
    Committing,
    /// The requester stopped waiting (and answered 503): never commit it.
    Abandoned,
}

struct Ticket(Mutex<Stage>);

impl Ticket {
    fn stage(&self) -> std::sync::MutexGuard<'_, Stage> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The writer takes a job: `false` when its requester already left.
    fn start(&self) -> bool {
        let mut stage = self.stage();
        if *stage == Stage::Queued {
            *stage = Stage::Running;
            true
        } else {
            false
        }
    }

    /// The writer's last check before the commit: `false` when the requester left.
    fn commit(&self) -> bool {
        let mut stage = self.stage();
        if *stage == Stage::Running {
            *stage = Stage::Committing;
            true
        } else {
            false
        }
    }

    /// The requester stops waiting: `false` when the commit is already on its way.
    fn abandon(&self) -> bool {
        let mut stage = self.stage();
        if *stage == Stage::Committing {
            false
        } else {
            *stage = Stage::Abandoned;
            true
        }
    }
}

/// How a batch ended, as told to each of its jobs.
enum Commit {
    Committed,
    RolledBack(String),
}

/// A job that ran: whether it ends the batch, and how to answer it.
struct Ran {
    ends_batch: Option<String>,
    answer: Box<dyn FnOnce(Commit) + Send>,
}

struct Job {
    ticket: Arc<Ticket>,
    deadline: Instant,
    run: Box<dyn FnOnce(&mut SqliteConnection) -> Ran + Send>,
}

/// What readiness and `/metrics` read about the writer.
pub struct WriterHealth {
    started: Instant,
    heartbeat_ms: AtomicU64,
    /// The last write failure for want of space or I/O; cleared by a commit.
    failure: Mutex<Option<String>>,
    /// The database file as opened (`None`: not a plain path, not checked).
    file: Option<FileIdentity>,
    /// The database path no longer names the file the writer opened.
    lost_file: AtomicBool,
    pub queued: AtomicUsize,
    pub panics: AtomicU64,
    pub restarts: AtomicU64,
}

impl WriterHealth {
    fn beat(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.heartbeat_ms.store(ms, Ordering::Relaxed);
    }

    /// How long since the writer last showed it was alive.
    pub fn silence(&self) -> Duration {
        let beat = Duration::from_millis(self.heartbeat_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(beat)
    }

    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set_failure(&self, failure: Option<String>) {
        *self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = failure;
    }

    /// Whether the database path still names the file opened at start. A
    /// change is said in the log once each way: writes stop while the path
    /// names another file or none, and resume only if the very same file
    /// (device and inode) is put back; a replaced file needs a restart.
    pub fn file_holds(&self) -> bool {
        let Some(file) = &self.file else {
            return true;
        };
        let holds = file.holds();
        let was_lost = self.lost_file.swap(!holds, Ordering::Relaxed);
        match (holds, was_lost) {
            (false, false) => log::error!(
                "the SQLite database file {} was deleted or replaced while serving: writes \
                 are refused (503) and readiness fails until that same file is back or the \
                 server is restarted",
                file.path.display()
            ),
            (true, true) => log::warn!(
                "the SQLite database file {} is back: writes resume",
                file.path.display()
            ),
            _ => {}
        }
        holds
    }
}

/// The database file as the writer opened it: (device, inode).
#[derive(Debug, Clone)]
pub struct FileIdentity {
    path: std::path::PathBuf,
    device: u64,
    inode: u64,
}

impl FileIdentity {
    pub fn of(path: &str) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            path: path.into(),
            device: meta.dev(),
            inode: meta.ino(),
        })
    }

    /// Whether the path still names this file, and the file still has a name.
    pub fn holds(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.path)
            .is_ok_and(|m| m.dev() == self.device && m.ino() == self.inode && m.nlink() > 0)
    }
}

#[derive(Clone)]
pub struct Writer {
    jobs: SyncSender<Job>,
    timeout: Duration,
    health: Arc<WriterHealth>,
    seams: Arc<Seams>,
    /// Dropped with the last `Writer`: tells the checkpointer to finish.
    _checkpointer: Arc<mpsc::Sender<()>>,
}

/// Everything the writer thread owns.
struct Worker {
    conn: SqliteConnection,
    reopen: Reopen,
    health: Arc<WriterHealth>,
    seams: Arc<Seams>,
}

impl Writer {
    /// `conn` takes every write; `reopen` replaces it when it becomes
    /// unusable. `checkpoint`, a second connection, copies committed WAL
    /// pages into the database file beside it (PASSIVE: never blocking the
    /// writer), so the writer's own automatic checkpoint (see `Store::open`)
    /// finds little left to copy and a request queued behind it is not
    /// stalled for the whole copy.
    pub fn start(
        conn: SqliteConnection,
        reopen: Reopen,
        checkpoint: SqliteConnection,
        file: Option<FileIdentity>,
        timeout: Duration,
        seams: Arc<Seams>,
    ) -> Self {
        let (jobs, queue) = mpsc::sync_channel(QUEUE_DEPTH);
        let health = Arc::new(WriterHealth {
            started: Instant::now(),
            heartbeat_ms: AtomicU64::new(0),
            failure: Mutex::new(None),
            file,
            lost_file: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            panics: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        });
        let worker = Worker {
            conn,
            reopen,
            health: health.clone(),
            seams: seams.clone(),
        };
        let spawned = thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || worker.serve(queue));
        if let Err(e) = spawned {
            // Without the thread every write answers 503 (the queue is closed)
            // and readiness fails (no heartbeat).
            log::error!("cannot start the SQLite writer thread: {e}");
        }
        let (stop, stopped) = mpsc::channel();
        let spawned = thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_until_stopped(checkpoint, stopped));
        if let Err(e) = spawned {
            log::warn!("cannot start the SQLite checkpoint thread: {e}");
        }
        Self {
            jobs,
            timeout,
            health,
            seams,
            _checkpointer: Arc::new(stop),
        }
    }

    pub fn health(&self) -> &WriterHealth {
        &self.health
    }

    /// Runs `work` inside the next group transaction and answers only once
    /// that transaction has committed. `work` makes its changes and returns;
    /// a `Conflict` or `NotFound` it returns is its own answer (the statement
    /// undid itself), any other error ends the batch (see the module doc).
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.run_within(self.timeout, work).await
    }

    /// `run`, with a deadline of its own (a readiness probe must answer fast).
    pub async fn run_within<T, F>(&self, timeout: Duration, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, mut rx) = oneshot::channel::<Result<T, StoreError>>();
        let ticket = Arc::new(Ticket(Mutex::new(Stage::Queued)));
        let deadline = Instant::now() + timeout;
        let health = self.health.clone();
        let points = self.seams.clone();
        let job = Job {
            ticket: ticket.clone(),
            deadline,
            run: Box::new(move |conn| {
                let attempt =
                    catch_unwind(AssertUnwindSafe(|| match points.reach(seams::WRITE_JOB) {
                        Reached::Fail(detail) => Err(StoreError::Unavailable(detail)),
                        Reached::Go => work(conn),
                    }));
                let (result, ends_batch) = match attempt {
                    Ok(Ok(value)) => (Ok(value), None),
                    Ok(Err(e @ (StoreError::Conflict(_) | StoreError::NotFound))) => (Err(e), None),
                    Ok(Err(e)) => {
                        let why = e.to_string();
                        (Err(e), Some(why))
                    }
                    Err(_) => {
                        health.panics.fetch_add(1, Ordering::Relaxed);
                        let why = "a write panicked".to_owned();
                        (Err(StoreError::Internal(why.clone())), Some(why))
                    }
                };
                Ran {
                    ends_batch,
                    answer: Box::new(move |commit| {
                        let answer = match (commit, result) {
                            (Commit::Committed, result) => result,
                            // Its own failure is its answer; the others were undone.
                            (Commit::RolledBack(_), Err(own)) => Err(own),
                            (Commit::RolledBack(why), Ok(_)) => Err(StoreError::Unavailable(
                                format!("the write was rolled back: {why}"),
                            )),
                        };
                        let _ = tx.send(answer);
                    }),
                }
            }),
        };
        self.health.queued.fetch_add(1, Ordering::Relaxed);
        self.jobs.try_send(job).map_err(|e| {
            self.health.queued.fetch_sub(1, Ordering::Relaxed);
            match e {
                TrySendError::Full(_) => StoreError::Unavailable("the write queue is full".into()),
                TrySendError::Disconnected(_) => {
                    StoreError::Unavailable("the writer has stopped".into())
                }
            }
        })?;
        match tokio::time::timeout_at(deadline.into(), &mut rx).await {
            Ok(Ok(answer)) => answer,
            // Dropped unrun: its batch ended before it (nothing of it was written).
            Ok(Err(_)) => Err(StoreError::Unavailable(
                "the write was not run: its batch failed".into(),
            )),
            Err(_) if ticket.abandon() => Err(StoreError::Unavailable(
                "the write waited too long for the database".into(),
            )),
            Err(_) => match tokio::time::timeout(COMMIT_WAIT, rx).await {
                Ok(Ok(answer)) => answer,
                _ => Err(StoreError::Internal(
                    "the writer did not report the outcome of a commit".into(),
                )),
            },
        }
    }
}

impl Worker {
    /// Ends when every sender is gone, i.e. the server has shut down.
    fn serve(mut self, queue: Receiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            self.health.beat();
            match collect(&queue, BEAT, MAX_BATCH, &mut batch) {
                Collected::Some => {}
                Collected::Nothing => continue,
                Collected::Closed => return,
            }
            self.health.queued.fetch_sub(batch.len(), Ordering::Relaxed);
            let jobs = std::mem::take(&mut batch);
            // A bug outside the jobs must not end the writer either.
            if catch_unwind(AssertUnwindSafe(|| self.commit_batch(jobs))).is_err() {
                self.health.panics.fetch_add(1, Ordering::Relaxed);
                log::error!("the SQLite writer panicked outside a write; reopening its connection");
                self.restart();
            }
        }
    }

    fn commit_batch(&mut self, jobs: Vec<Job>) {
        let now = Instant::now();
        // Past its deadline, a job's requester is leaving: make sure of it.
        let jobs: Vec<Job> = jobs
            .into_iter()
            .filter(|job| {
                if now > job.deadline {
                    job.ticket.abandon();
                }
                job.ticket.start()
            })
            .collect();
        if jobs.is_empty() {
            return;
        }
        if !self.health.file_holds() {
            return; // dropping the jobs answers them 503: nothing written
        }
        if let Err(e) =
            AnsiTransactionManager::begin_transaction_sql(&mut self.conn, "BEGIN IMMEDIATE")
        {
            self.note_failure(&e.to_string());
            log::error!("SQLite writer cannot begin a transaction: {e}");
            if matches!(e, diesel::result::Error::BrokenTransactionManager) {
                self.restart();
            }
            return;
        }
        let mut answers = Vec::with_capacity(jobs.len());
        let mut ended: Option<String> = None;
        let mut tickets = Vec::with_capacity(jobs.len());
        for job in jobs {
            tickets.push(job.ticket);
            let ran = (job.run)(&mut self.conn);
            answers.push(ran.answer);
            if let Some(why) = ran.ends_batch {
                ended = Some(why);
                break;
            }
        }
        // Jobs after one that ended the batch were dropped unrun above.
        if ended.is_none() {
            if let Reached::Fail(detail) = self.seams.reach(seams::BEFORE_COMMIT) {
                ended = Some(detail);
            } else if !self.health.file_holds() {
                ended = Some("the database file is gone".into());
            } else if !tickets.iter().all(|t| t.commit()) {
                ended = Some("a requester stopped waiting".into());
            }
        }
        let outcome = match ended {
            None => <AnsiTransactionManager as TransactionManager<SqliteConnection>>::commit_transaction(
                &mut self.conn,
            )
            .map_err(|e| e.to_string()),
            Some(why) => {
                self.rollback();
                Err(why)
            }
        };
        match &outcome {
            Ok(()) => self.health.set_failure(None),
            Err(why) => {
                self.note_failure(why);
                log::error!(
                    "SQLite group commit of {} writes rolled back: {why}",
                    answers.len()
                );
                if self.in_broken_state() {
                    self.restart();
                }
            }
        }
        for answer in answers {
            answer(match &outcome {
                Ok(()) => Commit::Committed,
                Err(why) => Commit::RolledBack(why.clone()),
            });
        }
    }

    fn rollback(&mut self) {
        let rolled =
            <AnsiTransactionManager as TransactionManager<SqliteConnection>>::rollback_transaction(
                &mut self.conn,
            );
        if let Err(e) = rolled {
            // SQLite may have rolled back by itself (an I/O error or a full
            // disk does that); diesel then no longer trusts the connection.
            log::warn!("SQLite writer rollback: {e}");
        }
    }

    fn in_broken_state(&mut self) -> bool {
        matches!(
            AnsiTransactionManager::transaction_manager_status_mut(&mut self.conn)
                .transaction_depth(),
            Err(_) | Ok(Some(_))
        )
    }

    /// A new connection for the writer, when the old one cannot be trusted.
    fn restart(&mut self) {
        self.health.restarts.fetch_add(1, Ordering::Relaxed);
        match (self.reopen)() {
            Ok(conn) => self.conn = conn,
            Err(e) => log::error!("SQLite writer cannot reopen its connection: {e}"),
        }
    }

    /// Remembers a failure that means the disk cannot take writes.
    fn note_failure(&self, why: &str) {
        let lower = why.to_ascii_lowercase();
        if [
            "disk is full",
            "disk i/o",
            "i/o error",
            "readonly",
            "read-only",
            "unable to open",
        ]
        .iter()
        .any(|needle| lower.contains(needle))
        {
            self.health.set_failure(Some(why.to_owned()));
        }
    }
}

fn checkpoint_until_stopped(mut conn: SqliteConnection, stopped: Receiver<()>) {
    loop {
        match stopped.recv_timeout(CHECKPOINT_EVERY) {
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    log::debug!("SQLite background checkpoint skipped: {e}");
                }
            }
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// What `collect` found.
pub(super) enum Collected {
    Some,
    /// Nothing arrived within the wait.
    Nothing,
    /// Every sender is gone: the server has shut down.
    Closed,
}

/// A group commit's batch: waits up to `wait` for one job, then takes what
/// else is already queued, up to `max` in all, without waiting again.
pub(super) fn collect<T>(
    queue: &Receiver<T>,
    wait: Duration,
    max: usize,
    batch: &mut Vec<T>,
) -> Collected {
    match queue.recv_timeout(wait) {
        Ok(job) => batch.push(job),
        Err(RecvTimeoutError::Timeout) => return Collected::Nothing,
        Err(RecvTimeoutError::Disconnected) => return Collected::Closed,
    }
    while batch.len() < max {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Collected::Some
}
