//! Contract section 7, a fair share of the database per principal: one
//! principal's flood of expensive requests is queued on its own slots (and
//! refused with 429 when it waited the pool timeout), while every other
//! principal keeps being served; nobody gets 503 for lack of a connection.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use guestpass::store::seams;

use crate::common::*;
use crate::{on_both_backends, on_postgres};

on_both_backends!(a_flood_of_deep_searches_from_one_chain_leaves_another_chain_served);
// Only a request that holds a pool connection takes a slot: on SQLite that is
// a read (writes queue for the single writer), on PostgreSQL also a cancel
// or an unbatched write, which is where a test can hold one inside the store.
on_postgres!(
    a_principal_over_its_share_waits_the_pool_timeout_then_gets_429,
    reads_queued_for_the_batching_reader_take_no_slot,
    postgres_checkins_queued_for_the_batching_writer_take_no_slot,
    postgres_keyed_checkins_queued_for_the_batching_writer_take_no_slot,
    postgres_keyed_creates_queued_for_the_batching_writer_take_no_slot,
);

/// Passes seeded into chain A, so a deep page costs real work.
const SEEDED: u64 = 40_000;
/// Concurrent deep searches from chain A, as measured in issue 11.
const FLOODERS: usize = 48;
/// Short enough that, without the share, chain B's reads queue behind the
/// flood on the shared pool for longer than this (and get 503).
const FLOOD_POOL_TIMEOUT_MS: u64 = 200;
/// Searches each flooder sends, one after the other.
const ROUNDS: usize = 3;

/// Chain A floods `offset=9900&limit=100` while chain B reads its own pass
/// over and over: every answer to B is 200; A's are 200 (served in turn)
/// or 429 (waited its whole share timeout), never 503.
async fn a_flood_of_deep_searches_from_one_chain_leaves_another_chain_served(backend: Backend) {
    // The test pool (4) gives each principal 2 connections by default. A
    // short pool timeout: without the share, B would queue behind A's flood
    // on the shared pool for longer than this and get 503.
    let app = spawn_seeded_app_with(backend, LOC_A1, SEEDED, |c| {
        c.store.pool_timeout = Duration::from_millis(FLOOD_POOL_TIMEOUT_MS);
        // Credentials from memory: the pool serves only the requests' own work.
        c.credential_cache = Duration::from_secs(600);
    })
    .await;
    let own = chain_b_pass_path(&app).await;

    let flood_done = std::cell::Cell::new(false);
    let started = Instant::now();
    let flood = async {
        let answers = join_all((0..FLOODERS).map(|_| async {
            let mut statuses = Vec::new();
            for _ in 0..ROUNDS {
                let res = app
                    .get("/guest-passes?offset=9900&limit=100", &Creds::chain_a())
                    .await;
                if res.status == 429 {
                    assert_eq!(res.header("Retry-After"), Some("1"), "{}", res.text);
                    assert_eq!(res.body["cause"], "rateLimitsExceeded", "{}", res.text);
                }
                statuses.push((res.status, res.text));
            }
            statuses
        }))
        .await;
        flood_done.set(true);
        answers.into_iter().flatten().collect::<Vec<_>>()
    };
    let reader = async {
        let mut answers = Vec::new();
        // Reads for as long as the flood lasts (at least a few).
        while !flood_done.get() || answers.len() < 5 {
            let res = app.get(&own, &Creds::chain_b()).await;
            answers.push((res.status, res.text));
        }
        answers
    };
    let (flooded, read) = tokio::join!(flood, reader);

    for (status, text) in &read {
        assert_eq!(
            *status, 200,
            "chain B was not served during the flood: {text}"
        );
    }
    let served = flooded.iter().filter(|(s, _)| *s == 200).count();
    for (status, text) in &flooded {
        assert!(
            *status == 200 || *status == 429,
            "the flooding chain got {status}, not 200 or 429: {text}"
        );
    }
    // A's flood was queued, not refused wholesale.
    assert!(served > 0, "no deep search of chain A was served");
    eprintln!(
        "{backend:?}: in {:?}, chain B {} reads, all 200; chain A {served} of {} searches 200, \
         the rest 429",
        started.elapsed(),
        read.len(),
        flooded.len()
    );
}

/// With one connection per principal and chain A's first write held inside
/// the store, A's next writes queue for its one slot: the last of them is
/// refused with 429 and `Retry-After: 1` once it has waited the pool timeout
/// (never at once), while chain B is served meanwhile.
async fn a_principal_over_its_share_waits_the_pool_timeout_then_gets_429(backend: Backend) {
    let timeout = Duration::from_millis(1500);
    let app = spawn_one_slot_unbatched_app(backend, timeout).await;
    let own = chain_b_pass_path(&app).await;

    // A keyed write, held before its own transaction's commit.
    let point = seams::BEFORE_COMMIT;
    let seams = app.store().seams();
    seams.hold(point);
    let keyed = || Creds::chain_a().with("Idempotency-Key", &uuid::Uuid::new_v4().to_string());
    let (creds_a, first_body) = (keyed(), pass_body(LOC_A1, &unique_email()));
    let held = app.create(&creds_a, &first_body);
    let rest = async {
        let arrived = app.arrivals(point, 1, Duration::from_secs(10)).await;
        assert!(arrived, "the first write never reached the store");
        // Two more of A's writes queue for its one slot. The held write
        // keeps it until its own deadline; the second then gets the slot
        // (and is held in turn) or times out as well; the third has waited
        // its whole pool timeout by the time either frees it.
        let queued = async {
            let second_body = pass_body(LOC_A1, &unique_email());
            let creds_second = keyed();
            let second = app.create(&creds_second, &second_body);
            let third = async {
                // Queued strictly after the second.
                actix_web::rt::time::sleep(Duration::from_millis(50)).await;
                let started = Instant::now();
                let res = app
                    .create(&keyed(), &pass_body(LOC_A1, &unique_email()))
                    .await;
                (res, started.elapsed())
            };
            tokio::join!(second, third)
        };
        // Chain B, meanwhile: served at once, whatever A waits for.
        let other = async {
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
            app.get(&own, &Creds::chain_b()).await
        };
        tokio::join!(queued, other)
    };
    let (first, ((second, (third, waited)), other)) = tokio::join!(held, rest);
    seams.release(point);

    assert_eq!(other.status, 200, "chain B was not served: {}", other.text);
    assert_eq!(third.status, 429, "{}", third.text);
    assert_eq!(third.header("Retry-After"), Some("1"), "{}", third.text);
    assert_eq!(third.body["cause"], "rateLimitsExceeded", "{}", third.text);
    // It queued for a slot rather than being turned away at once.
    assert!(
        waited >= timeout.mul_f32(0.9),
        "refused after {waited:?}, before the pool timeout {timeout:?}"
    );
    // The held write and the second met their deadlines (503: nothing
    // written) or the share's (429); none of them was written.
    assert_eq!(first.status, 503, "{}", first.text);
    assert!(
        second.status == 429 || second.status == 503,
        "{}: {}",
        second.status,
        second.text
    );
    let metrics = app.metrics().await;
    assert!(
        metric(&metrics, "guestpass_share_refusals_total") >= 1,
        "no share refusal counted: {metrics}"
    );
    // The slot is free again: A is served once its writes are done.
    let later = app.get("/guest-passes/unknown", &Creds::chain_a()).await;
    assert_eq!(later.status, 404, "{}", later.text);
}

/// Reads by id and searches for one person at a location queue for the
/// batching reader and hold no pool connection while they wait, so they
/// take no slot: with chain A's one slot held by a write stuck before its
/// commit, A's other searches (which hold a connection) wait for the slot
/// and get 429 — a search of all its passes, and one for a person with more
/// passes at the location than its page holds —, while A's read of a pass
/// by id and its search for a person are answered at once.
async fn reads_queued_for_the_batching_reader_take_no_slot(backend: Backend) {
    let app = spawn_one_slot_unbatched_app(backend, Duration::from_millis(1500)).await;
    let email = unique_email();
    let pass = app.create_ok(LOC_A1, &email).await;
    let path = format!(
        "/guest-passes/{}",
        pass["guestPassId"].as_str().unwrap_or_default()
    );
    let busy = unique_email();
    for start in [1, 4] {
        let res = app
            .create(&Creds::chain_a(), &pass_body_at(LOC_A1, &busy, start, 2))
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    let person = |email: &str, limit: u32| {
        let query = serde_urlencoded::to_string([
            ("locationId", LOC_A1),
            ("email", email),
            ("limit", &limit.to_string()),
        ])
        .unwrap_or_default();
        format!("/guest-passes?{query}")
    };
    let seams = app.store().seams();
    seams.hold(seams::BEFORE_COMMIT);
    let keyed = Creds::chain_a().with("Idempotency-Key", &uuid::Uuid::new_v4().to_string());
    let body = pass_body(LOC_A1, &unique_email());
    let held = app.create(&keyed, &body);
    let meanwhile = async {
        let arrived = app
            .arrivals(seams::BEFORE_COMMIT, 1, Duration::from_secs(10))
            .await;
        assert!(arrived, "the write never reached its commit");
        // All wait less than the held write keeps the slot (its deadline
        // and the watchdog's grace): only those that need no slot are served.
        let chain_a = Creds::chain_a();
        let (found, crowded) = (person(&email, 20), person(&busy, 1));
        let answers = tokio::join!(
            app.get(&path, &chain_a),
            app.get(&found, &chain_a),
            app.get("/guest-passes", &chain_a),
            app.get(&crowded, &chain_a),
        );
        seams.release(seams::BEFORE_COMMIT);
        answers
    };
    let (_, (read, found, search, crowded)) = tokio::join!(held, meanwhile);
    assert_eq!(search.status, 429, "the slot was not held: {}", search.text);
    assert_eq!(crowded.status, 429, "{}", crowded.text);
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["guestPassId"], pass["guestPassId"]);
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.body["total"], 1, "{}", found.text);
    assert_eq!(
        found.body["guestPasses"][0]["guestPassId"],
        pass["guestPassId"]
    );
}

/// SQLite's writes hold no pool connection (they queue for the single
/// writer), so they take no slot: with one slot per principal and the writer
/// held at its first commit, three more writes of the same chain all reach
/// the writer's queue instead of waiting for the chain's slot, and all four
/// are written once it goes on.
#[actix_web::test]
async fn sqlite_writes_queued_for_the_writer_take_no_slot() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.principal_connections = Some(1);
        c.store.pool_timeout = Duration::from_secs(10);
    })
    .await;
    let seams = app.store().seams();
    seams.hold(seams::BEFORE_COMMIT);
    let keyed = || Creds::chain_a().with("Idempotency-Key", &uuid::Uuid::new_v4().to_string());
    let (creds, body) = (keyed(), pass_body(LOC_A1, &unique_email()));
    let first = app.create(&creds, &body);
    let rest = async {
        let arrived = app
            .arrivals(seams::BEFORE_COMMIT, 1, Duration::from_secs(10))
            .await;
        assert!(arrived, "the first write never reached its commit");
        let more = join_all((0..3).map(|_| {
            let (creds, body) = (keyed(), pass_body(LOC_A1, &unique_email()));
            let app = &app;
            async move { app.create(&creds, &body).await }
        }));
        let watch = async {
            app.queue_reaches(3).await;
            seams.release(seams::BEFORE_COMMIT);
        };
        tokio::join!(more, watch)
    };
    // `queue_reaches` fails the test unless all three queued behind the first.
    let (first, (more, ())) = tokio::join!(first, rest);
    assert_eq!(first.status, 201, "{}", first.text);
    for res in &more {
        assert_eq!(res.status, 201, "{}", res.text);
    }
    assert_eq!(app.count_passes(), 4);
}

/// PostgreSQL's check-ins queue for the batching writer and hold no pool
/// connection of their own, so they take no slot: with one slot per
/// principal and one check-in held at its decision inside a batch, three
/// more of the same chain reach the other batching writer (and its batch
/// reaches the same point) instead of waiting for the chain's slot, and all
/// four visits are recorded once it goes on.
async fn postgres_checkins_queued_for_the_batching_writer_take_no_slot(backend: Backend) {
    queued_checkins_take_no_slot(backend, Creds::chain_a).await;
}

/// The same with an `Idempotency-Key` on every check-in: a keyed check-in
/// runs in the batch's transaction too.
async fn postgres_keyed_checkins_queued_for_the_batching_writer_take_no_slot(backend: Backend) {
    queued_checkins_take_no_slot(backend, || {
        Creds::chain_a().with("Idempotency-Key", &uuid::Uuid::new_v4().to_string())
    })
    .await;
}

async fn queued_checkins_take_no_slot(backend: Backend, creds: impl Fn() -> Creds) {
    let app = spawn_one_slot_batching_app(backend).await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        let pass = active_pass(&app).await;
        codes.push(pass["checkinCode"].as_str().unwrap_or_default().to_owned());
    }
    let creds: Vec<Creds> = (0..4).map(|_| creds()).collect();
    let answers = four_writes_with_the_first_held(&app, seams::CHECKIN_DECIDED, |i| {
        app.checkin(&creds[i], &codes[i], LOC_A1)
    })
    .await;
    for res in &answers {
        assert_eq!(res.status, 201, "{}", res.text);
    }
    let visits = app
        .db
        .sql_count("SELECT CAST(COUNT(*) AS TEXT) AS value FROM checkins");
    assert_eq!(visits, 4);
}

/// Creates with an `Idempotency-Key` run in the batching writer's
/// transaction as well, and take no slot either: the first held before its
/// batch commits, three more of the same chain reach the other writer.
async fn postgres_keyed_creates_queued_for_the_batching_writer_take_no_slot(backend: Backend) {
    let app = spawn_one_slot_batching_app(backend).await;
    let creds: Vec<Creds> = (0..4)
        .map(|_| Creds::chain_a().with("Idempotency-Key", &uuid::Uuid::new_v4().to_string()))
        .collect();
    let bodies: Vec<_> = (0..4).map(|_| pass_body(LOC_A1, &unique_email())).collect();
    let answers = four_writes_with_the_first_held(&app, seams::BEFORE_COMMIT, |i| {
        app.create(&creds[i], &bodies[i])
    })
    .await;
    for res in &answers {
        assert_eq!(res.status, 201, "{}", res.text);
    }
    assert_eq!(app.count_passes(), 4);
}

/// One slot per principal, no batching writer: each write runs in its own
/// transaction and holds a connection (and so the slot) while a test holds
/// it there.
async fn spawn_one_slot_unbatched_app(backend: Backend, pool_timeout: Duration) -> TestApp {
    spawn_app_with(backend, move |c| {
        c.store.pool_timeout = pool_timeout;
        c.principal_connections = Some(1);
        c.store.pg_batch_writers = 0;
    })
    .await
}

/// One slot per principal, two batching writers.
async fn spawn_one_slot_batching_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| {
        c.principal_connections = Some(1);
        c.store.pg_batch_writers = 2;
        c.store.pool_timeout = Duration::from_secs(10);
    })
    .await
}

/// Sends `write(0)` with `point` held; once it is there, `write(1..4)`: they
/// must reach `point` as well (the other writer's batch), which they cannot
/// while waiting for the principal's one slot. Then releases `point` and
/// returns the four answers.
async fn four_writes_with_the_first_held<F>(
    app: &TestApp,
    point: &'static str,
    write: impl Fn(usize) -> F,
) -> Vec<Resp>
where
    F: std::future::Future<Output = Resp>,
{
    let seams = app.store().seams();
    seams.hold(point);
    let first = write(0);
    let rest = async {
        let arrived = app.arrivals(point, 1, Duration::from_secs(10)).await;
        assert!(arrived, "the first write never reached its batch");
        let more = join_all((1..4).map(&write));
        let watch = async {
            let arrived = app.arrivals(point, 2, Duration::from_secs(5)).await;
            seams.release(point);
            arrived
        };
        tokio::join!(more, watch)
    };
    let (first, (more, second_batch_arrived)) = tokio::join!(first, rest);
    assert!(
        second_batch_arrived,
        "the other writes waited for the chain's slot instead of the batching writer"
    );
    std::iter::once(first).chain(more).collect()
}

/// The path of a new pass of chain B, the principal that must keep being served.
async fn chain_b_pass_path(app: &TestApp) -> String {
    let created = app
        .create(&Creds::chain_b(), &pass_body(LOC_B1, &unique_email()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    format!("/guest-passes/{}", created.id())
}
