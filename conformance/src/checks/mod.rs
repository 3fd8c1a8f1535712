//! The checks, one module per contract section (section 5 one per
//! operation). Each module's `run` declares its checks in order; every check
//! has a stable id (`<section>.<rule>`), a one-line requirement and a body.

mod auth;
mod cancel;
mod checkin;
mod create;
mod dates;
mod envelopes;
mod get;
mod headers;
mod idempotency;
mod limits;
mod list_checkins;
mod pass;
mod search;
mod service;
mod sweep;

use std::time::Instant;

use crate::kit::Kit;

/// The checks that need the passes whose validFrom or validUntil comes during the run.
const BOUNDARY_CHECKS: [&str; 5] = [
    "pass.status-expired",
    "search.by-status-expired",
    "checkin.expired-is-422",
    "pass.active-from-the-instant-of-validFrom",
    "checkin.from-the-instant-of-validFrom-is-201",
];

pub async fn run_all(kit: &Kit) {
    if BOUNDARY_CHECKS.iter().any(|id| kit.selected(id)) {
        kit.start_boundaries().await;
    }
    auth::run(kit).await;
    dates::run(kit).await;
    envelopes::run(kit).await;
    pass::run(kit).await;
    create::run(kit).await;
    get::run(kit).await;
    search::run(kit).await;
    cancel::run(kit).await;
    checkin::run(kit).await;
    list_checkins::run(kit).await;
    service::run(kit).await;
    limits::run(kit).await;
    idempotency::run(kit).await;
    headers::run(kit).await;
    expiry(kit).await;

    // The kit cleans up whatever `--only` selected: every pass it saw created.
    if !kit.http.created().is_empty() {
        let started = Instant::now();
        let outcome = kit.cleanup().await;
        kit.record(
            "cancel.kit-cleanup",
            "Every pass the kit created is cancelled at the end (DELETE → 204)",
            outcome,
            started.elapsed(),
        );
    }
    sweep::run(kit).await;
}

/// Last, so the instants have passed by the time they run.
async fn expiry(kit: &Kit) {
    pass::run_started(kit).await;
    checkin::run_started(kit).await;
    pass::run_expired(kit).await;
    search::run_expired(kit).await;
    checkin::run_expired(kit).await;
}
