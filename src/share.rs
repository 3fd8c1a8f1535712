//! A fair share of the database per principal (contract §7): a principal
//! holds at most `per_principal` requests past authentication at once, so
//! one tenant's flood of expensive requests cannot take every pool
//! connection away from the others. Its further requests queue for one of
//! its own slots, up to a deadline (the pool timeout), and are then refused
//! with 429: the flood is slowed down on its own queue, never on the shared
//! pool where everyone else waits too.
//!
//! One counting semaphore per principal with requests in flight; an entry is
//! removed as soon as nobody holds or waits for it, so memory stays bounded
//! by the principals active at this moment.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::ApiError;

type Slots = HashMap<String, Arc<Semaphore>>;

pub struct Share {
    /// `None`: no cap (`--principal-connections 0`).
    inner: Option<Arc<Inner>>,
    /// Requests refused because their principal's slots stayed taken.
    refusals: Arc<AtomicU64>,
}

struct Inner {
    per_principal: usize,
    wait: Duration,
    slots: Mutex<Slots>,
}

impl Inner {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        // The map stays consistent even if a holder panicked: every change
        // is a single insert or remove.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One of a principal's slots, held for as long as its request runs;
/// dropping it frees the slot (and the principal's entry when idle).
pub struct SharePermit {
    held: Option<Entry>,
}

impl SharePermit {
    /// No slot: for a request that holds no pool connection.
    pub fn none() -> Self {
        Self { held: None }
    }
}

impl std::fmt::Debug for SharePermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharePermit")
    }
}

impl Drop for SharePermit {
    fn drop(&mut self) {
        if let Some(entry) = &self.held {
            entry.semaphore().add_permits(1);
        }
    }
}

/// A reference to a principal's semaphore, by a request holding or waiting
/// for one of its slots. However it ends (a permit dropped, a wait timed out
/// or the request abandoned while waiting), the last one out removes the
/// principal's entry.
struct Entry {
    inner: Arc<Inner>,
    principal: String,
    semaphore: Arc<Semaphore>,
}

impl Entry {
    fn semaphore(&self) -> &Semaphore {
        &self.semaphore
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let mut slots = self.inner.slots();
        // Only the map's reference and this one left: nobody else holds or
        // waits (each does through an `Entry`, cloned under this lock).
        if slots
            .get(&self.principal)
            .is_some_and(|s| Arc::ptr_eq(s, &self.semaphore) && Arc::strong_count(s) == 2)
        {
            slots.remove(&self.principal);
        }
    }
}

impl Share {
    /// `per_principal` slots each (0: no cap); a request waits at most `wait`.
    pub fn new(per_principal: u32, wait: Duration) -> Self {
        let inner = (per_principal > 0).then(|| {
            Arc::new(Inner {
                per_principal: per_principal as usize,
                wait,
                slots: Mutex::new(HashMap::new()),
            })
        });
        Self {
            inner,
            refusals: Arc::default(),
        }
    }

    /// Waits for one of `principal`'s slots; 429 with `Retry-After: 1` when
    /// none frees up within the wait.
    pub async fn acquire(&self, principal: &str) -> Result<SharePermit, ApiError> {
        let Some(inner) = &self.inner else {
            return Ok(SharePermit { held: None });
        };
        let semaphore = inner
            .slots()
            .entry(principal.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(inner.per_principal)))
            .clone();
        let entry = Entry {
            inner: inner.clone(),
            principal: principal.to_owned(),
            semaphore,
        };
        // A free slot is taken at once, without arming a timer.
        let taken = entry
            .semaphore()
            .try_acquire()
            .map(|permit| permit.forget())
            .is_ok();
        if taken {
            return Ok(SharePermit { held: Some(entry) });
        }
        let acquired = match tokio::time::timeout(inner.wait, entry.semaphore().acquire()).await {
            Ok(Ok(permit)) => {
                // The slot is given back by `SharePermit`'s drop instead, so
                // no permit borrows the entry.
                permit.forget();
                true
            }
            // Timed out (or, never in practice, the semaphore was closed).
            _ => false,
        };
        if acquired {
            return Ok(SharePermit { held: Some(entry) });
        }
        drop(entry);
        self.refusals.fetch_add(1, Ordering::Relaxed);
        Err(ApiError::RateLimited {
            retry_after_secs: 1,
        })
    }

    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// Principals with requests holding or waiting for a slot.
    pub fn principals(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| inner.slots().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_principal_waits_for_its_own_slots_only() {
        let share = Share::new(1, Duration::from_millis(50));
        let held = share.acquire("chain:a").await.unwrap();
        // Another principal is not affected by a's taken slot.
        let other = share.acquire("chain:b").await.unwrap();
        // a's second request waits the whole time, then is refused.
        let refused = share.acquire("chain:a").await.unwrap_err();
        assert!(matches!(
            refused,
            ApiError::RateLimited {
                retry_after_secs: 1
            }
        ));
        assert_eq!(share.refusals(), 1);
        drop(held);
        drop(other);
        // Idle principals leave nothing behind.
        assert_eq!(share.principals(), 0);
        let again = share.acquire("chain:a").await.unwrap();
        assert_eq!(share.principals(), 1);
        drop(again);
        assert_eq!(share.principals(), 0);
    }

    #[actix_web::test]
    async fn a_queued_request_gets_the_slot_when_it_frees() {
        let share = std::rc::Rc::new(Share::new(1, Duration::from_secs(30)));
        let held = share.acquire("chain:a").await.unwrap();
        let waiter = {
            let share = share.clone();
            actix_web::rt::spawn(async move { share.acquire("chain:a").await.map(|_| ()) })
        };
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(share.principals(), 1);
        drop(held);
        assert!(waiter.await.unwrap().is_ok());
        assert_eq!(share.refusals(), 0);
        assert_eq!(share.principals(), 0);
    }

    #[actix_web::test]
    async fn an_abandoned_wait_leaves_nothing_behind() {
        let share = Share::new(1, Duration::from_secs(30));
        let held = share.acquire("chain:a").await.unwrap();
        // Polled once (it queues), then dropped, as when the client leaves.
        let abandoned = futures_util::FutureExt::now_or_never(share.acquire("chain:a"));
        assert!(abandoned.is_none());
        assert_eq!(share.principals(), 1);
        drop(held);
        assert_eq!(share.principals(), 0);
    }

    #[actix_web::test]
    async fn no_cap_lets_everything_through() {
        let share = Share::new(0, Duration::ZERO);
        let mut permits = Vec::new();
        for _ in 0..50 {
            permits.push(share.acquire("chain:a").await.unwrap());
        }
        assert_eq!(share.principals(), 0);
        assert_eq!(share.refusals(), 0);
    }
}
