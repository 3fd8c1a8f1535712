//! Named threads that serve one queue (PostgreSQL's batching writer, the
//! batching reader), joined when their owner is dropped: what they hold is
//! finished and their connections closed before the drop returns, not while
//! the process is exiting.

use std::sync::Arc;
use std::thread::{self, JoinHandle};

pub struct Joined(Vec<JoinHandle<()>>);

impl Joined {
    /// `count` threads (at least one) named `name-0`, `name-1`, … each
    /// running `serve`. One that cannot start is logged and left out: the
    /// others serve the queue.
    pub fn spawn<F>(name: &str, count: usize, serve: F) -> Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        let serve = Arc::new(serve);
        let mut threads = Vec::new();
        for n in 0..count.max(1) {
            let serve = serve.clone();
            match thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || serve())
            {
                Ok(thread) => threads.push(thread),
                Err(e) => log::error!("cannot start thread {name}-{n}: {e}"),
            }
        }
        Self(threads)
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        for thread in self.0.drain(..) {
            let _ = thread.join();
        }
    }
}
