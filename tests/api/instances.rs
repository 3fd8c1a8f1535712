//! Several instances on one database (the scale-out store's reason to be):
//! overlapping creates on every instance end in exactly one 201; a cancel
//! racing check-ins never leaves a visit recorded after the cancellation; a
//! deadlock is retried and counted; a database that stops answering gets a
//! 503 in bounded time. On SQLite (one instance by design) the same rules
//! are checked on a single instance.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use guestpass::store::seams;
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    overlapping_creates_on_every_instance_end_in_exactly_one_201,
    keyed_overlapping_creates_end_in_one_pass_and_one_answer_per_key,
    a_cancel_never_commits_between_a_checkins_decision_and_its_visit,
    cancels_racing_checkins_answer_only_201_204_or_422_cancelled,
    a_deadlock_is_retried_and_counted_and_one_that_persists_is_503,
);

/// Three instances (their own pools) on PostgreSQL; one on SQLite, whose
/// single writer is the design. On PostgreSQL the first two batch their
/// writes (the default) and the third sends each write alone, so batches
/// meet each other and single writes on one database.
async fn instances(backend: Backend) -> Vec<TestApp> {
    let first = spawn_app(backend).await;
    let mut apps = vec![];
    if backend == Backend::Postgres {
        apps.push(serve(first.db.clone(), |_| {}).await);
        apps.push(serve(first.db.clone(), |c| c.store.pg_batch_writers = 0).await);
    }
    apps.insert(0, first);
    apps
}

fn date(epoch: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(epoch, 0)
        .expect("valid time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The pattern a retrying partner produces: one person, one location,
/// periods that differ but all share a day, the e-mail's case varied,
/// spread over every instance at once.
async fn overlapping_creates_on_every_instance_end_in_exactly_one_201(backend: Backend) {
    let apps = instances(backend).await;
    let rounds = if backend == Backend::Postgres {
        100
    } else {
        20
    };
    let day = 86_400;
    let base = (chrono::Utc::now().timestamp() / day + 30) * day;
    let mut slowest = Duration::ZERO;
    for round in 0..rounds {
        let person = format!(
            "Contended.{round}.{}@Example.com",
            uuid::Uuid::new_v4().simple()
        );
        let requests = (0..32).map(|i| {
            let app = &apps[i % apps.len()];
            let email = if i % 2 == 0 {
                person.to_lowercase()
            } else {
                person.to_uppercase()
            };
            let body = json!({
                "locationId": LOC_A1, "firstName": "Con", "lastName": "Tention", "email": email,
                "validFrom": date(base + (i as i64 % 5) * day),
                "validUntil": date(base + (5 + i as i64 % 3) * day),
            });
            async move {
                let started = Instant::now();
                let res = app.create(&Creds::chain_a(), &body).await;
                (res, started.elapsed())
            }
        });
        let answers = join_all(requests).await;
        let mut created = 0;
        for (res, took) in &answers {
            slowest = slowest.max(*took);
            match res.status {
                201 => created += 1,
                422 => {
                    res.assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated")
                }
                other => panic!("round {round}: {other} {}", res.text),
            }
        }
        assert_eq!(created, 1, "round {round}: {created} passes created");
    }
    let live = apps[0].db.sql_count(
        "SELECT CAST(COUNT(*) AS TEXT) AS value FROM guest_passes WHERE cancelled_at IS NULL",
    );
    assert_eq!(live, rounds as i64);
    eprintln!(
        "{rounds} rounds x 32 creates on {} instance(s): slowest answer {slowest:?}",
        apps.len()
    );
}

/// The same contention with `Idempotency-Key`s: four keys, eight requests
/// each (one body per key), spread over every instance. One pass per round;
/// every request of a key gets the same answer, byte for byte.
async fn keyed_overlapping_creates_end_in_one_pass_and_one_answer_per_key(backend: Backend) {
    let apps = instances(backend).await;
    let rounds = if backend == Backend::Postgres { 30 } else { 10 };
    let day = 86_400;
    let base = (chrono::Utc::now().timestamp() / day + 60) * day;
    for round in 0..rounds {
        let person = format!(
            "keyed.{round}.{}@example.com",
            uuid::Uuid::new_v4().simple()
        );
        let keys: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let requests = (0..32).map(|i| {
            let app = &apps[i % apps.len()];
            let k = i % 4;
            let creds = Creds::chain_a().with("Idempotency-Key", &keys[k]);
            let body = json!({
                "locationId": LOC_A1, "firstName": "Key", "lastName": format!("Ed {k}"),
                "email": person, "validFrom": date(base + k as i64 * day),
                "validUntil": date(base + (5 + k as i64) * day),
            });
            async move { (k, app.create(&creds, &body).await) }
        });
        let answers = join_all(requests).await;
        let mut by_key: Vec<Option<String>> = vec![None; 4];
        let mut created = std::collections::HashSet::new();
        for (k, res) in &answers {
            match res.status {
                201 => {
                    created.insert(res.id());
                }
                422 => {
                    res.assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated")
                }
                other => panic!("round {round}: {other} {}", res.text),
            }
            match &by_key[*k] {
                None => by_key[*k] = Some(res.text.clone()),
                Some(first) => assert_eq!(first, &res.text, "round {round}, key {k}"),
            }
        }
        assert_eq!(created.len(), 1, "round {round}: {created:?}");
    }
    let live = apps[0].db.sql_count(
        "SELECT CAST(COUNT(*) AS TEXT) AS value FROM guest_passes WHERE cancelled_at IS NULL",
    );
    assert_eq!(live, rounds as i64);
}

/// A pass valid from an hour ago for a week.
/// Deterministic: the check-in is held (by a test seam) after it decided
/// the pass admits the guest and before it records the visit, while a
/// cancel of that pass is sent to another instance. The cancel may only
/// complete after the visit is recorded; were it to complete first, the
/// visit recorded afterwards would sit on a pass already cancelled.
async fn a_cancel_never_commits_between_a_checkins_decision_and_its_visit(backend: Backend) {
    let apps = instances(backend).await;
    let (door, office) = (&apps[0], &apps[apps.len() - 1]);
    let pass = active_pass(door).await;
    let code = pass["checkinCode"].as_str().unwrap_or_default().to_owned();
    let id = pass["guestPassId"].as_str().unwrap_or_default().to_owned();
    let seams = door.store().seams();
    seams.hold(seams::CHECKIN_DECIDED);

    let creds = Creds::chain_a();
    let checkin = door.checkin(&creds, &code, LOC_A1);
    let cancel_answered = std::cell::Cell::new(false);
    let cancel = async {
        let arrived = door
            .arrivals(seams::CHECKIN_DECIDED, 1, Duration::from_secs(30))
            .await;
        assert!(arrived, "the check-in never reached its decision");
        let cancelled = office
            .delete(&format!("/guest-passes/{id}"), &Creds::chain_a())
            .await;
        cancel_answered.set(true);
        cancelled
    };
    // Whether the cancel was answered while the check-in was still held
    // between its decision and its visit: the order in which the two
    // answers reach the client afterwards proves nothing either way.
    let release = async {
        wait_until_cancel_waits_or_answers(office, backend, &cancel_answered).await;
        let answered_while_held = cancel_answered.get();
        seams.release(seams::CHECKIN_DECIDED);
        answered_while_held
    };
    let (checked_in, cancelled, answered_while_held) = tokio::join!(checkin, cancel, release);
    assert!(
        !answered_while_held,
        "the cancel was answered before the check-in recorded its visit"
    );
    assert_eq!(cancelled.status, 204, "{}", cancelled.text);
    assert_eq!(checked_in.status, 201, "{}", checked_in.text);
}

/// Until the cancel is blocked behind the held check-in (PostgreSQL: its
/// UPDATE waits on the check-in's row lock; SQLite: it is queued for the
/// single writer), or has been answered (the bug), or a deadline passes.
async fn wait_until_cancel_waits_or_answers(
    app: &TestApp,
    backend: Backend,
    answered: &std::cell::Cell<bool>,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !answered.get() {
        let waiting = match backend {
            Backend::Postgres => app.db.sql_count(
                "SELECT CAST(COUNT(*) AS TEXT) AS value FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE%guest_passes%'",
            ),
            Backend::Sqlite => {
                i64::try_from(metric(&app.metrics().await, "guestpass_writer_queue"))
                    .unwrap_or(i64::MAX)
            }
        };
        if waiting > 0 {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Many rounds of one cancel racing ten check-ins over every instance:
/// every answer is 201, 204 or 422 `guestPassCancelled`, and the visits
/// recorded are exactly the check-ins answered 201.
async fn cancels_racing_checkins_answer_only_201_204_or_422_cancelled(backend: Backend) {
    let apps = instances(backend).await;
    let mut recorded_total = 0;
    for round in 0..30 {
        let pass = active_pass(&apps[0]).await;
        let code = pass["checkinCode"].as_str().unwrap_or_default().to_owned();
        let id = pass["guestPassId"].as_str().unwrap_or_default().to_owned();
        let checkins = (0..10).map(|i| {
            let app = &apps[i % apps.len()];
            let code = code.clone();
            async move { app.checkin(&Creds::chain_a(), &code, LOC_A1).await }
        });
        let path = format!("/guest-passes/{id}");
        let creds = Creds::chain_a();
        let cancel = apps[round % apps.len()].delete(&path, &creds);
        let (answers, cancelled) = tokio::join!(join_all(checkins), cancel);
        assert_eq!(cancelled.status, 204, "{}", cancelled.text);
        let mut ok = 0;
        for res in &answers {
            match res.status {
                201 => ok += 1,
                422 => res.assert_unprocessable("checkinFailed", "guestPassCancelled"),
                other => panic!("round {round}: {other} {}", res.text),
            }
        }
        let listed = apps[0]
            .get(&format!("{path}/checkins"), &Creds::chain_a())
            .await;
        let visits = listed.body["checkins"].as_array().map_or(0, Vec::len);
        assert_eq!(visits, ok, "round {round}");
        recorded_total += ok;
    }
    eprintln!("30 rounds: {recorded_total} of 300 check-ins came before their cancel");
}

/// The safety net: a deadlock (here injected where the check-in records
/// its visit, as PostgreSQL would report it) is retried and counted in
/// `/metrics`; one that persists through every retry is 503, never 500.
async fn a_deadlock_is_retried_and_counted_and_one_that_persists_is_503(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = active_pass(&app).await;
    let code = pass["checkinCode"].as_str().unwrap_or_default().to_owned();
    let seams = app.store().seams();

    seams.fail(seams::CHECKIN_DECIDED, "deadlock detected", false);
    let res = app.checkin(&Creds::chain_a(), &code, LOC_A1).await;
    let metrics = app
        .raw(
            awc::http::Method::GET,
            &app.root_url("/metrics"),
            &Creds::none(),
            None,
        )
        .await;
    if backend == Backend::Postgres {
        assert_eq!(res.status, 201, "{}", res.text);
        assert!(
            metrics.text.contains("guestpass_db_retries_total 1\n"),
            "{}",
            metrics.text
        );
    } else {
        // SQLite has no deadlocks (one writer): the error is the request's own.
        assert_eq!(res.status, 503, "{}", res.text);
    }

    seams.fail(seams::CHECKIN_DECIDED, "deadlock detected", true);
    let res = app.checkin(&Creds::chain_a(), &code, LOC_A1).await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"message": "The service is temporarily unavailable; retry with exponential backoff", "cause": "systemUnavailable"})
    );
    seams.clear(seams::CHECKIN_DECIDED);
    let listed = app
        .get(
            &format!(
                "/guest-passes/{}/checkins",
                pass["guestPassId"].as_str().unwrap_or_default()
            ),
            &Creds::chain_a(),
        )
        .await;
    let expected = usize::from(backend == Backend::Postgres);
    assert_eq!(
        listed.body["checkins"].as_array().map_or(0, Vec::len),
        expected,
        "a 503 recorded nothing; the retried one recorded one visit"
    );
}

/// A TCP relay in front of PostgreSQL that can be frozen: it then keeps
/// every connection open and forwards nothing, like a database host that
/// still accepts TCP but never answers.
struct Freezer {
    port: u16,
    frozen: Arc<AtomicBool>,
}

impl Freezer {
    fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let frozen = Arc::new(AtomicBool::new(false));
        let flag = frozen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let flag = flag.clone();
                std::thread::spawn(move || {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                        return;
                    };
                    let (c2, s2) = match (client.try_clone(), server.try_clone()) {
                        (Ok(c), Ok(s)) => (c, s),
                        _ => return,
                    };
                    let f2 = flag.clone();
                    std::thread::spawn(move || pump(c2, s2, f2));
                    pump(server, client, flag);
                });
            }
        });
        Self { port, frozen }
    }
}

/// Frozen, it reads nothing more, so requests pile up in the socket buffers
/// and are answered late, after the thaw: a stalled host, not a lost one.
fn pump(mut from: TcpStream, mut to: TcpStream, frozen: Arc<AtomicBool>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        while frozen.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

crate::on_postgres!(a_database_that_stops_answering_gets_503_in_bounded_time_and_recovers);

/// A database host that accepts TCP but never answers: requests get 503
/// within the pool timeout plus the watchdog's grace instead of hanging,
/// and once it answers again, so does the server (no restart).
async fn a_database_that_stops_answering_gets_503_in_bounded_time_and_recovers(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend));
    let upstream: u16 = db
        .url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or(5432);
    let freezer = Freezer::start(upstream);
    let through = db
        .url
        .replacen(&format!(":{upstream}/"), &format!(":{}/", freezer.port), 1);
    let app = serve_url(db.clone(), &through, |c| {
        c.store.pool_timeout = Duration::from_secs(1);
    })
    .await;
    provision(app.store()).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let path = format!(
        "/guest-passes/{}",
        pass["guestPassId"].as_str().unwrap_or_default()
    );
    assert_eq!(app.get(&path, &Creds::chain_a()).await.status, 200);

    freezer.frozen.store(true, Ordering::Release);
    for _ in 0..3 {
        let started = Instant::now();
        let res = app.get(&path, &Creds::chain_a()).await;
        assert_eq!(res.status, 503, "{}", res.text);
        assert_eq!(res.body["cause"], "systemUnavailable");
        eprintln!("frozen database: 503 after {:?}", started.elapsed());
    }
    let refused = unique_email();
    let res = app
        .create(&Creds::chain_a(), &pass_body(LOC_A1, &refused))
        .await;
    assert_eq!(res.status, 503, "{}", res.text);

    freezer.frozen.store(false, Ordering::Release);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app.get(&path, &Creds::chain_a()).await;
        if res.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered: {}", res.text);
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // The create answered 503 reached the database only after the thaw, past
    // its deadline: it must not have been written then.
    let written = app.db.sql_count(&format!(
        "SELECT CAST(COUNT(*) AS TEXT) AS value FROM guest_passes WHERE email = '{refused}'"
    ));
    assert_eq!(
        written, 0,
        "a create answered 503 was written after the thaw"
    );
}

crate::on_postgres!(passes_from_before_the_person_key_keep_the_overlap_rule_after_migrating);

/// A PostgreSQL database with passes from before the overlap constraint
/// was led by the person key (its migration undone, as `down.sql` does):
/// the next server's start migrates it, the constraint is rebuilt over the
/// existing passes, and an overlapping create for one of them is still 422.
async fn passes_from_before_the_person_key_keep_the_overlap_rule_after_migrating(backend: Backend) {
    let before = spawn_app(backend).await;
    let email = unique_email();
    let existing = before.create_ok(LOC_A1, &email).await;
    before.create_ok(LOC_A1, &unique_email()).await;
    before.sql(include_str!(
        "../../migrations/postgres/2026-12-01-000000_person_key/down.sql"
    ));
    before.sql("DELETE FROM __diesel_schema_migrations WHERE version = '20261201000000'");
    let keyed = "SELECT CAST(COUNT(*) AS TEXT) AS value FROM pg_constraint \
                 WHERE conname = 'guest_passes_no_overlap' \
                 AND pg_get_constraintdef(oid) LIKE '%hashtextextended%'";
    assert_eq!(
        before.db.sql_count(keyed),
        0,
        "down.sql left the person key"
    );

    let after = serve(before.db.clone(), |_| {}).await;
    assert_eq!(after.db.sql_count(keyed), 1, "the start did not migrate");
    let overlapping = after
        .create(&Creds::chain_a(), &pass_body(LOC_A1, &email))
        .await;
    overlapping.assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated");
    let later = after
        .create(&Creds::chain_a(), &pass_body_at(LOC_A1, &email, 30, 7))
        .await;
    assert_eq!(later.status, 201, "{}", later.text);
    assert_ne!(later.body["guestPassId"], existing["guestPassId"]);
    assert_eq!(after.count_passes(), 3);
}
