//! Logging: env_logger's format and filters (`RUST_LOG`), written to standard
//! error by a background thread, so a request never waits for a write(2):
//! lines are written in batches, every few milliseconds. The queue between
//! them is bounded in bytes, not lines (a line can be long), and a full queue
//! drops the line and counts it instead of blocking the request: a stuck
//! standard error must not stall the server nor grow its memory.

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Bytes of log lines that may wait for the writer. A request never waits for
/// the log: past this, lines are dropped and counted (what a stuck or slow
/// standard error costs is missing lines, not memory or a stalled server).
const QUEUE_BYTES: usize = 4 * 1024 * 1024;
const WRITE_EVERY: Duration = Duration::from_millis(10);

/// Lines dropped because the queue was full, for `/metrics`.
static DROPPED: AtomicU64 = AtomicU64::new(0);

pub fn dropped_lines() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

enum Message {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
}

/// The sending side: an unbounded channel (sending never blocks) whose
/// content is bounded by counting the bytes in it.
#[derive(Clone)]
struct Queue {
    tx: Sender<Message>,
    queued: Arc<AtomicUsize>,
    limit: usize,
    dropped: &'static AtomicU64,
}

impl Queue {
    /// Queues `line` unless that would pass the byte limit; whether it did.
    fn offer(&self, line: &[u8]) -> bool {
        let len = line.len();
        // Reserve first, then check: two writers racing cannot both slip in.
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before + len > self.limit || self.tx.send(Message::Line(line.to_vec())).is_err() {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }
}

/// The receiving side: gives back a line's bytes to the queue as it takes it.
struct Drain {
    rx: Receiver<Message>,
    queued: Arc<AtomicUsize>,
}

impl Drain {
    fn try_recv(&self) -> Result<Message, TryRecvError> {
        let message = self.rx.try_recv()?;
        if let Message::Line(line) = &message {
            self.queued.fetch_sub(line.len(), Ordering::AcqRel);
        }
        Ok(message)
    }
}

fn queue(limit: usize, dropped: &'static AtomicU64) -> (Queue, Drain) {
    let (tx, rx) = mpsc::channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        Queue {
            tx,
            queued: queued.clone(),
            limit,
            dropped,
        },
        Drain { rx, queued },
    )
}

static QUEUE: OnceLock<Queue> = OnceLock::new();

struct Pipe(Queue);

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // env_logger writes each record whole; a dropped one is counted, and
        // reported written so the logger does not retry or complain.
        self.0.offer(buf);
        Ok(buf.len())
    }

    // The writer thread flushes whenever it runs out of lines.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs the logger; `default_level` applies when `RUST_LOG` is unset.
pub fn init(default_level: &str) {
    let (queue, drain) = queue(QUEUE_BYTES, &DROPPED);
    let spawned = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(drain));
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level));
    if spawned.is_ok() {
        let _ = QUEUE.set(queue.clone());
        builder.target(env_logger::Target::Pipe(Box::new(Pipe(queue))));
    }
    builder.init();
}

/// Waits (briefly) until every line logged so far is written: call before exit.
pub fn flush() {
    if let Some(queue) = QUEUE.get() {
        let (ack, done) = mpsc::sync_channel(1);
        if queue.tx.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv_timeout(Duration::from_secs(2));
        }
    }
}

/// Wakes every few milliseconds and writes whatever queued up. Never waiting
/// on the channel means a logging thread never has to wake this one (a futex
/// call per line on the request path); lines reach stderr at most
/// `WRITE_EVERY` late.
fn write_lines(lines: Drain) {
    let mut out = BufWriter::with_capacity(64 * 1024, io::stderr());
    loop {
        std::thread::sleep(WRITE_EVERY);
        loop {
            match lines.try_recv() {
                Ok(Message::Line(line)) => {
                    let _ = out.write_all(&line);
                }
                Ok(Message::Flush(ack)) => {
                    let _ = out.flush();
                    let _ = ack.send(());
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = out.flush();
                    return;
                }
            }
        }
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_lines_without_blocking_and_takes_more_once_drained() {
        static DROPPED: AtomicU64 = AtomicU64::new(0);
        let (queue, drain) = queue(100, &DROPPED);
        let line = [b'x'; 30];
        // 3 × 30 bytes fit under 100; the 4th would not, nor would any after.
        for _ in 0..3 {
            assert!(queue.offer(&line));
        }
        for _ in 0..5 {
            assert!(!queue.offer(&line));
        }
        // A small line still fits in what is left.
        assert!(queue.offer(&[b'y'; 10]));
        assert_eq!(DROPPED.load(Ordering::Relaxed), 5);
        // Writing one line out makes room for one more.
        assert!(matches!(drain.try_recv(), Ok(Message::Line(l)) if l.len() == 30));
        assert!(queue.offer(&line));
        assert!(!queue.offer(&line));
        assert_eq!(DROPPED.load(Ordering::Relaxed), 6);
        // What was queued arrives whole and in order; nothing dropped arrives.
        let mut sizes = Vec::new();
        while let Ok(Message::Line(l)) = drain.try_recv() {
            sizes.push(l.len());
        }
        assert_eq!(sizes, [30, 30, 10, 30]);
        assert_eq!(queue.queued.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_line_larger_than_the_whole_queue_is_dropped() {
        static DROPPED: AtomicU64 = AtomicU64::new(0);
        let (queue, _drain) = queue(100, &DROPPED);
        assert!(!queue.offer(&[b'x'; 101]));
        assert!(queue.offer(&[b'x'; 100]));
        assert_eq!(DROPPED.load(Ordering::Relaxed), 1);
    }
}
