//! Test seams: named points on the store's write paths where a test can hold
//! a thread, make it fail or make it panic, to prove what happens under a
//! fault instead of arguing it. Nothing is armed in production; reaching an
//! unarmed point costs one atomic load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// After the check-in read its pass and decided, before it records the visit.
pub const CHECKIN_DECIDED: &str = "checkin.decided";
/// Before a write transaction commits (SQLite: the group commit; PostgreSQL:
/// each request's transaction).
pub const BEFORE_COMMIT: &str = "commit.before";
/// Inside a write, where its own work runs (SQLite: the writer thread). A
/// failure here acts as SQLite's own I/O errors do: the statement fails and
/// SQLite rolls the whole transaction back by itself.
pub const WRITE_JOB: &str = "write.job";
/// In the batching reader, before a batch of reads by id goes to the
/// database (held: the database does not answer).
pub const READ_BATCH: &str = "read.batch";

#[derive(Default)]
pub struct Seams {
    armed: AtomicBool,
    points: Mutex<HashMap<&'static str, Arc<Point>>>,
}

impl std::fmt::Debug for Seams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seams")
    }
}

#[derive(Default)]
struct Point {
    state: Mutex<PointState>,
    changed: Condvar,
}

#[derive(Default)]
struct PointState {
    arrivals: usize,
    held: bool,
    fail: Option<(String, Times)>,
    /// Fail the thread that arrives as number `n` (counting from the first).
    fail_at: Option<(usize, String)>,
    panic: Option<Times>,
}

#[derive(Clone, Copy)]
enum Times {
    Once,
    Always,
}

/// What a seam tells the code that reached it.
pub enum Reached {
    Go,
    /// Fail here with this detail, as an I/O error would.
    Fail(String),
}

fn lock(point: &Point) -> MutexGuard<'_, PointState> {
    point
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Seams {
    /// Called by the store at `name`: returns at once unless a test armed it.
    pub fn reach(&self, name: &'static str) -> Reached {
        if !self.armed.load(Ordering::Acquire) {
            return Reached::Go;
        }
        let Some(point) = self.point_if_armed(name) else {
            return Reached::Go;
        };
        let mut state = lock(&point);
        state.arrivals += 1;
        point.changed.notify_all();
        while state.held {
            state = point
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if let Some((n, detail)) = state.fail_at.clone() {
            if state.arrivals == n {
                state.fail_at = None;
                return Reached::Fail(detail);
            }
        }
        if let Some(times) = state.panic {
            if matches!(times, Times::Once) {
                state.panic = None;
            }
            drop(state);
            panic!("test seam {name}: injected panic");
        }
        match state.fail.clone() {
            Some((detail, times)) => {
                if matches!(times, Times::Once) {
                    state.fail = None;
                }
                Reached::Fail(detail)
            }
            None => Reached::Go,
        }
    }

    fn point_if_armed(&self, name: &'static str) -> Option<Arc<Point>> {
        self.points
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .cloned()
    }

    fn point(&self, name: &'static str) -> Arc<Point> {
        self.armed.store(true, Ordering::Release);
        self.points
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(name)
            .or_default()
            .clone()
    }

    /// Threads that reach `name` from now on wait until `release`.
    pub fn hold(&self, name: &'static str) {
        lock(&self.point(name)).held = true;
    }

    pub fn release(&self, name: &'static str) {
        let point = self.point(name);
        lock(&point).held = false;
        point.changed.notify_all();
    }

    /// The next thread (or every thread) that reaches `name` fails there.
    pub fn fail(&self, name: &'static str, detail: &str, always: bool) {
        let times = if always { Times::Always } else { Times::Once };
        lock(&self.point(name)).fail = Some((detail.to_owned(), times));
    }

    /// The thread that reaches `name` as arrival number `n` (the first
    /// arrival since the point was armed is 1) fails there.
    pub fn fail_on_arrival(&self, name: &'static str, n: usize, detail: &str) {
        lock(&self.point(name)).fail_at = Some((n, detail.to_owned()));
    }

    /// The next thread (or every thread) that reaches `name` panics there.
    pub fn panic(&self, name: &'static str, always: bool) {
        let times = if always { Times::Always } else { Times::Once };
        lock(&self.point(name)).panic = Some(times);
    }

    /// Disarms `name`: no more holds, failures or panics there.
    pub fn clear(&self, name: &'static str) {
        let point = self.point(name);
        let mut state = lock(&point);
        state.held = false;
        state.fail = None;
        state.fail_at = None;
        state.panic = None;
        point.changed.notify_all();
    }

    /// How many threads have reached `name` since it was first armed.
    pub fn arrivals(&self, name: &'static str) -> usize {
        lock(&self.point(name)).arrivals
    }

    /// Waits until at least `n` threads have reached `name`; `false` on timeout.
    pub fn wait_for_arrivals(&self, name: &'static str, n: usize, timeout: Duration) -> bool {
        let point = self.point(name);
        let deadline = Instant::now() + timeout;
        let mut state = lock(&point);
        while state.arrivals < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = point
                .changed
                .wait_timeout(state, left)
                .map(|(s, _)| s)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unarmed_point_lets_everyone_through() {
        let seams = Seams::default();
        assert!(matches!(seams.reach(BEFORE_COMMIT), Reached::Go));
    }

    #[test]
    fn a_held_point_waits_for_release_and_counts_arrivals() {
        let seams = Arc::new(Seams::default());
        seams.hold(WRITE_JOB);
        let worker = {
            let seams = seams.clone();
            std::thread::spawn(move || matches!(seams.reach(WRITE_JOB), Reached::Go))
        };
        assert!(seams.wait_for_arrivals(WRITE_JOB, 1, Duration::from_secs(5)));
        assert!(!worker.is_finished());
        seams.release(WRITE_JOB);
        assert!(worker.join().unwrap());
    }

    #[test]
    fn failures_are_once_or_always() {
        let seams = Seams::default();
        seams.fail(BEFORE_COMMIT, "disk full", false);
        assert!(matches!(seams.reach(BEFORE_COMMIT), Reached::Fail(d) if d == "disk full"));
        assert!(matches!(seams.reach(BEFORE_COMMIT), Reached::Go));
        seams.fail(BEFORE_COMMIT, "disk full", true);
        assert!(matches!(seams.reach(BEFORE_COMMIT), Reached::Fail(_)));
        assert!(matches!(seams.reach(BEFORE_COMMIT), Reached::Fail(_)));
        seams.clear(BEFORE_COMMIT);
        assert!(matches!(seams.reach(BEFORE_COMMIT), Reached::Go));
    }
}
