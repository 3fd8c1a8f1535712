//! The SQLite single writer: one connection on one thread takes every write,
//! and commits whatever is queued in one transaction (group commit). SQLite
//! allows one writer at a time anyway; queuing here instead of in the busy
//! handler turns lock contention into batching, and makes "check for an
//! overlapping pass, then insert" atomic without retries.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::SqliteConnection;
use tokio::sync::oneshot;

use super::StoreError;

/// How many queued writes one transaction takes at most.
const MAX_BATCH: usize = 256;
/// Writes waiting beyond this many are refused with 503 instead of queueing forever.
const QUEUE_DEPTH: usize = 4096;

type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&mut SqliteConnection) -> Reply + Send>;

/// How often the background checkpointer copies the WAL into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct Writer {
    jobs: SyncSender<Job>,
    timeout: Duration,
    /// Dropped with the last `Writer`: tells the checkpointer to finish.
    _checkpointer: Arc<mpsc::Sender<()>>,
}

impl Writer {
    /// `conn` takes every write. `checkpoint`, a second connection, copies
    /// committed WAL pages into the database file beside it (PASSIVE: never
    /// blocking the writer), so the writer's own automatic checkpoint (see
    /// `Store::open`) finds little left to copy and a request queued behind
    /// it is not stalled for the whole copy.
    pub fn start(conn: SqliteConnection, checkpoint: SqliteConnection, timeout: Duration) -> Self {
        let (jobs, queue) = mpsc::sync_channel(QUEUE_DEPTH);
        let spawned = thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, queue));
        if let Err(e) = spawned {
            // Without the thread every write answers 503 (the queue is closed).
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
            _checkpointer: Arc::new(stop),
        }
    }

    /// Runs `work` inside the next group transaction and answers only once
    /// that transaction has committed: a client never hears of a write that
    /// could still be rolled back. A write that
    /// waited in the queue past its deadline is not run at all and answers
    /// 503, so a 503 from here always means "nothing was written".
    pub async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut SqliteConnection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let deadline = Instant::now() + self.timeout;
        let job: Job = Box::new(move |conn| {
            let result = if tx.is_closed() {
                Err(StoreError::Unavailable("the client is gone".into()))
            } else if Instant::now() > deadline {
                Err(StoreError::Unavailable(
                    "the write waited too long for the database".into(),
                ))
            } else {
                // No savepoint per job: every job makes at most one change,
                // as its last statement (a failing statement undoes itself),
                // or opens its own `conn.transaction` (prune). A savepoint
                // each made SQLite journal every page it touched: 9% of a create.
                work(conn)
            };
            Box::new(move |commit: Result<(), String>| {
                let answer = match commit {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::Unavailable(format!("commit failed: {e}"))),
                };
                let _ = tx.send(answer);
            })
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Unavailable("the write queue is full".into()),
            TrySendError::Disconnected(_) => {
                StoreError::Unavailable("the writer has stopped".into())
            }
        })?;
        // The writer answers every job (run, expired, or dropped when the
        // batch could not begin). This bound only guards against a writer
        // stuck in the file system; it must outlast the busy timeout.
        match tokio::time::timeout(self.timeout * 3 + Duration::from_secs(1), rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(StoreError::Unavailable(
                "the database could not take the write".into(),
            )),
            Err(_) => Err(StoreError::Unavailable(
                "timed out waiting for the writer".into(),
            )),
        }
    }
}

fn run(mut conn: SqliteConnection, queue: Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut replies: Vec<Reply> = Vec::with_capacity(MAX_BATCH);
    // Ends when every sender is gone, i.e. the server has shut down.
    while let Ok(first) = queue.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = conn.immediate_transaction::<_, diesel::result::Error, _>(|conn| {
            replies.extend(batch.drain(..).map(|job| job(conn)));
            Ok(())
        });
        batch.clear();
        let outcome = outcome.map_err(|e| e.to_string());
        if let Err(e) = &outcome {
            log::error!(
                "SQLite group commit of {} writes failed: {e}",
                replies.len()
            );
        }
        for reply in replies.drain(..) {
            reply(outcome.clone());
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
