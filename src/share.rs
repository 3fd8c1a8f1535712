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

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    held: Option<(Arc<Inner>, String, OwnedSemaphorePermit)>,
}

impl std::fmt::Debug for SharePermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharePermit")
    }
}

impl Drop for SharePermit {
    fn drop(&mut self) {
        let Some((inner, principal, permit)) = self.held.take() else {
            return;
        };
        drop(permit);
        let mut slots = inner.slots();
        // Only the map's own reference left: nobody holds a permit (each
        // permit keeps the semaphore alive) and nobody waits (a waiter clones
        // the Arc under this lock before it waits).
        if slots
            .get(&principal)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            slots.remove(&principal);
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
        let acquired = tokio::time::timeout(inner.wait, semaphore.clone().acquire_owned()).await;
        // Our clone must be gone before a permit's drop looks at the count.
        drop(semaphore);
        match acquired {
            Ok(Ok(permit)) => Ok(SharePermit {
                held: Some((inner.clone(), principal.to_owned(), permit)),
            }),
            // Timed out (or, never in practice, the semaphore was closed).
            _ => {
                self.forget_if_idle(inner, principal);
                self.refusals.fetch_add(1, Ordering::Relaxed);
                Err(ApiError::RateLimited {
                    retry_after_secs: 1,
                })
            }
        }
    }

    /// A refused waiter may have been the last to reference the entry.
    fn forget_if_idle(&self, inner: &Inner, principal: &str) {
        let mut slots = inner.slots();
        if slots
            .get(principal)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            slots.remove(principal);
        }
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
