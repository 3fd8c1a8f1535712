//! Logging: env_logger's format and filters (`RUST_LOG`), written to standard
//! error by a background thread, so a request never waits for a write(2):
//! lines are written in batches, every few milliseconds.

use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::OnceLock;
use std::time::Duration;

/// Lines waiting beyond this many make the logging request wait: backpressure
/// rather than unbounded memory or silently lost lines.
const QUEUE: usize = 16 * 1024;
const WRITE_EVERY: Duration = Duration::from_millis(10);

enum Message {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
}

static SENDER: OnceLock<SyncSender<Message>> = OnceLock::new();

struct Pipe(SyncSender<Message>);

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .send(Message::Line(buf.to_vec()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "log writer stopped"))?;
        Ok(buf.len())
    }

    // The writer thread flushes whenever it runs out of lines.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs the logger; `default_level` applies when `RUST_LOG` is unset.
pub fn init(default_level: &str) {
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    let spawned = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(rx));
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level));
    if spawned.is_ok() {
        let _ = SENDER.set(tx.clone());
        builder.target(env_logger::Target::Pipe(Box::new(Pipe(tx))));
    }
    builder.init();
}

/// Waits (briefly) until every line logged so far is written: call before exit.
pub fn flush() {
    if let Some(sender) = SENDER.get() {
        let (ack, done) = mpsc::sync_channel(1);
        if sender.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv_timeout(Duration::from_secs(2));
        }
    }
}

/// Wakes every few milliseconds and writes whatever queued up. Never waiting
/// on the channel means a logging thread never has to wake this one (a futex
/// call per line on the request path); lines reach stderr at most
/// `WRITE_EVERY` late.
fn write_lines(lines: Receiver<Message>) {
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
