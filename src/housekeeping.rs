//! What the server does by itself in the background: it deletes expired
//! idempotency keys, a bounded batch at a time, and counts what is left.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::web;

use crate::domain::UtcTimestamp;
use crate::state::AppState;

/// How often expired keys are swept.
const EVERY: Duration = Duration::from_secs(60);
/// Keys deleted per statement (one short write at a time, never a long one).
pub const BATCH: i64 = 1000;
/// At most this many batches per sweep; the rest waits for the next one.
const BATCHES_PER_SWEEP: usize = 100;

/// Runs until the server stops.
pub async fn run(state: web::Data<AppState>) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        sweep(&state).await;
    }
}

async fn sweep(state: &AppState) {
    let ttl = i64::try_from(state.idempotency_ttl.as_secs()).unwrap_or(i64::MAX);
    let before = UtcTimestamp::now().plus_seconds(-ttl);
    for _ in 0..BATCHES_PER_SWEEP {
        match state.store.delete_expired_keys(before, BATCH).await {
            Ok(n) if (n as i64) < BATCH => break,
            Ok(_) => {}
            Err(e) => {
                log::warn!("expired idempotency keys not swept: {e}");
                break;
            }
        }
    }
    if let Ok(n) = state.store.count_keys().await {
        state.metrics.idempotency_keys.store(n, Ordering::Relaxed);
    }
}
