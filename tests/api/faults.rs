//! Faults, real and injected, and what the client, readiness and the disk
//! say about them (contract §6, §7): readiness fails while the store cannot
//! write and recovers by itself; a 503 means nothing was written; a
//! panicking or failing write harms no other; liveness never asks the
//! database.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use awc::http::Method;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use futures_util::future::join_all;
use guestpass::store::seams;
use serde_json::Value;

use crate::common::*;

const READY: &str = r#"{"status":"UP","database":"UP"}"#;

async fn probe(app: &TestApp, path: &str) -> Resp {
    app.raw(Method::GET, &app.root_url(path), &Creds::none(), None)
        .await
}

/// Polls `path` until it answers `status` (readiness is cached for a
/// second), for at most 10 s, the contract's bound; returns the last answer.
async fn becomes(app: &TestApp, path: &str, status: u16) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = probe(app, path).await;
        if res.status == status || Instant::now() >= deadline {
            return res;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_unavailable(res: &Resp) {
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(res.body["cause"], "systemUnavailable", "{}", res.text);
}

#[actix_web::test]
async fn liveness_never_asks_the_database_and_readiness_is_health() {
    let app = spawn_app(Backend::Sqlite).await;
    let live = probe(&app, "/livez").await;
    assert_eq!(
        (live.status, live.text.as_str()),
        (200, r#"{"status":"UP"}"#)
    );
    let ready = probe(&app, "/readyz").await;
    assert_eq!((ready.status, ready.text.as_str()), (200, READY));
    let health = probe(&app, "/health").await;
    assert_eq!((health.status, health.text.as_str()), (200, READY));
    for path in ["/livez", "/readyz"] {
        let res = app
            .raw(Method::POST, &app.root_url(path), &Creds::none(), None)
            .await;
        assert_eq!(res.status, 405, "{path}");
        assert_eq!(res.header("allow"), Some("GET"), "{path}");
    }
}

/// A write that panics is answered 500, alone; the writer goes on, and the
/// panic is counted.
#[actix_web::test]
async fn a_panicking_write_is_500_and_the_writer_goes_on() {
    let app = spawn_app(Backend::Sqlite).await;
    app.store().seams().panic(seams::WRITE_JOB, false);
    let res = app
        .create(&Creds::chain_a(), &pass_body(LOC_A1, &unique_email()))
        .await;
    assert_eq!(res.status, 500, "{}", res.text);
    assert_eq!(
        res.text,
        r#"{"message":"Internal Server Error","cause":"internalUnexpectedError"}"#
    );
    assert_eq!(app.count_passes(), 0);
    app.create_ok(LOC_A1, &unique_email()).await;
    assert_eq!(app.count_passes(), 1);
    assert_eq!(
        metric(&app.metrics().await, "guestpass_writer_panics_total"),
        1
    );
    let ready = becomes(&app, "/readyz", 200).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
}

/// The writer is stuck inside a write past its bound: readiness fails (and
/// liveness does not); the write's requester stops waiting and is answered
/// 503, so that write must never be committed, even when the writer moves
/// on; then readiness recovers.
#[actix_web::test]
async fn a_stuck_writer_fails_readiness_and_its_abandoned_write_is_never_committed() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.store.pool_timeout = Duration::from_millis(500)
    })
    .await;
    let seams = app.store().seams();
    seams.hold(seams::WRITE_JOB);
    let email = unique_email();
    let body = pass_body(LOC_A1, &email);
    let creds = Creds::chain_a();
    let stuck = app.create(&creds, &body);
    let watch = async {
        let arrived = app
            .arrivals(seams::WRITE_JOB, 1, Duration::from_secs(10))
            .await;
        assert!(arrived, "the write never reached the writer");
        let ready = becomes(&app, "/readyz", 503).await;
        let live = probe(&app, "/livez").await;
        (ready, live)
    };
    let (answer, (ready, live)) = tokio::join!(stuck, watch);
    assert_unavailable(&answer);
    assert_unavailable(&ready);
    assert_eq!(ready.body["database"], "DOWN", "{}", ready.text);
    assert_eq!(live.status, 200, "{}", live.text);

    seams.release(seams::WRITE_JOB);
    let ready = becomes(&app, "/readyz", 200).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(app.count_passes(), 0, "the abandoned write was committed");
    // Not even its retry is refused as a duplicate: nothing of it exists.
    let retry = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
}

/// A commit that is slow while its requesters give up: every one of them is
/// answered 503, and none of their writes is committed when the commit
/// would finally go ahead.
#[actix_web::test]
async fn a_slow_commit_whose_requesters_left_commits_nothing() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.store.pool_timeout = Duration::from_millis(500)
    })
    .await;
    let seams = app.store().seams();
    seams.hold(seams::BEFORE_COMMIT);
    let answers = join_all((0..5).map(|_| {
        let body = pass_body(LOC_A1, &unique_email());
        let app = &app;
        async move { app.create(&Creds::chain_a(), &body).await }
    }))
    .await;
    for res in &answers {
        assert_unavailable(res);
    }
    seams.release(seams::BEFORE_COMMIT);
    let ready = becomes(&app, "/readyz", 200).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(app.count_passes(), 0, "a write answered 503 was committed");
}

/// A write fails in the middle of a group commit the way SQLite fails on an
/// I/O error or a full disk (the statement fails and SQLite rolls the whole
/// transaction back): every write of that batch is answered 503 and none is
/// written, not even those that ran before it or were queued after it; the
/// writer goes on.
#[actix_web::test]
async fn a_write_failing_mid_batch_answers_the_whole_batch_503_and_writes_none() {
    let app = spawn_app(Backend::Sqlite).await;
    let seams = app.store().seams();
    // The first write holds the writer at its commit while eight more queue.
    seams.hold(seams::BEFORE_COMMIT);
    let (creds, body) = (Creds::chain_a(), pass_body(LOC_A1, &unique_email()));
    let first = app.create(&creds, &body);
    let batch = async {
        let arrived = app
            .arrivals(seams::BEFORE_COMMIT, 1, Duration::from_secs(10))
            .await;
        assert!(arrived, "the first write never reached its commit");
        let queued = join_all((0..8).map(|_| {
            let body = pass_body(LOC_A1, &unique_email());
            let app = &app;
            async move { app.create(&Creds::chain_a(), &body).await }
        }));
        let release = async {
            app.queue_reaches(8).await;
            // The fourth write of the next batch (arrival 1 was the first write).
            seams.fail_on_arrival(seams::WRITE_JOB, 5, "disk I/O error");
            seams.release(seams::BEFORE_COMMIT);
        };
        tokio::join!(queued, release).0
    };
    let (first, batch) = tokio::join!(first, batch);
    assert_eq!(first.status, 201, "{}", first.text);
    for res in &batch {
        assert_unavailable(res);
    }
    assert_eq!(
        app.count_passes(),
        1,
        "a write of the failed batch was written"
    );
    app.create_ok(LOC_A1, &unique_email()).await;
    assert_eq!(app.count_passes(), 2);
}

/// The database file is deleted while serving: from then on no write is
/// acknowledged (a restart would lose it), readiness fails, liveness holds;
/// the log says why. A restart makes a new, empty database, which holds
/// nothing that was acknowledged after the deletion.
#[actix_web::test]
async fn a_deleted_database_file_fails_closed() {
    let app = spawn_app(Backend::Sqlite).await;
    app.create_ok(LOC_A1, &unique_email()).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", app.database_url));
    }
    let mut acknowledged = vec![];
    for _ in 0..5 {
        let res = app
            .create(&Creds::chain_a(), &pass_body(LOC_A1, &unique_email()))
            .await;
        if res.status == 201 {
            acknowledged.push(res.id());
        } else {
            assert_unavailable(&res);
        }
    }
    assert!(
        acknowledged.is_empty(),
        "acknowledged after the deletion: {acknowledged:?}"
    );
    let ready = becomes(&app, "/readyz", 503).await;
    assert_unavailable(&ready);
    assert_eq!(probe(&app, "/livez").await.status, 200);

    let restarted = serve(app.db.clone(), |_| {}).await;
    assert_eq!(restarted.count_passes(), 0);
}

/// The same file put back (same device and inode) lets writes resume; they
/// were refused meanwhile.
#[actix_web::test]
async fn writes_resume_when_the_very_same_file_is_back() {
    let app = spawn_app(Backend::Sqlite).await;
    let path = std::path::PathBuf::from(&app.database_url);
    let aside = path.with_extension("aside");
    std::fs::rename(&path, &aside).expect("move the database aside");
    let res = app
        .create(&Creds::chain_a(), &pass_body(LOC_A1, &unique_email()))
        .await;
    assert_unavailable(&res);
    std::fs::rename(&aside, &path).expect("put it back");
    let ready = becomes(&app, "/readyz", 200).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    app.create_ok(LOC_A1, &unique_email()).await;
    assert_eq!(app.count_passes(), 1);
}

/// A tmpfs of 24 MiB, filled: root only (CI runs as root); elsewhere the
/// test says it was skipped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            Some(Self { dir })
        } else {
            // As with PostgreSQL: a skip is visible, and CI does not forgive it.
            assert!(
                !in_ci(),
                "CI is set and a tmpfs cannot be mounted (needs root): the full-disk test must run"
            );
            eprintln!(
                "\n!!! skipped: cannot mount a tmpfs here (needs root); \
                 the full-disk test did not run !!!\n"
            );
            None
        }
    }

    fn filler(&self) -> std::path::PathBuf {
        self.dir.path().join("filler")
    }

    /// Writes zeros until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.filler()).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A full disk: creates are 503 and readiness fails within 10 s; when space
/// comes back, readiness and writes recover without a restart; every
/// acknowledged create survives a restart.
#[actix_web::test]
async fn a_full_disk_fails_readiness_and_recovers_when_space_returns() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let db = Arc::new(TestDatabase::at(
        Backend::Sqlite,
        disk.dir.path().join("guestpass.db"),
    ));
    let app = serve(db.clone(), |_| {}).await;
    provision(app.store()).await;
    let mut acknowledged: Vec<Value> = vec![];
    for _ in 0..20 {
        acknowledged.push(app.create_ok(LOC_A1, &unique_email()).await);
    }
    disk.fill();
    let mut refused = 0;
    for _ in 0..200 {
        let res = app
            .create(&Creds::chain_a(), &pass_body(LOC_A1, &unique_email()))
            .await;
        match res.status {
            201 => acknowledged.push(res.body),
            _ => {
                assert_unavailable(&res);
                refused += 1;
                if refused >= 3 {
                    break;
                }
            }
        }
    }
    assert!(refused >= 3, "the full disk never refused a create");
    let ready = becomes(&app, "/readyz", 503).await;
    assert_unavailable(&ready);
    assert_eq!(probe(&app, "/livez").await.status, 200);

    std::fs::remove_file(disk.filler()).expect("free the disk");
    let ready = becomes(&app, "/readyz", 200).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    acknowledged.push(app.create_ok(LOC_A1, &unique_email()).await);

    let restarted = serve(db.clone(), |_| {}).await;
    for pass in &acknowledged {
        let id = pass["guestPassId"].as_str().unwrap_or_default();
        let res = restarted
            .get(&format!("/guest-passes/{id}"), &Creds::chain_a())
            .await;
        assert_eq!(res.status, 200, "acknowledged {id} lost: {}", res.text);
    }
    drop(app);
    drop(restarted);
}

fn as_admin(statement: &str) {
    let admin = postgres_url().expect("GUESTPASS_TEST_POSTGRES_URL");
    PgConnection::establish(&admin)
        .expect("connect")
        .batch_execute(statement)
        .expect("admin statement");
}

fn kill_connections(name: &str) {
    as_admin(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ));
}

crate::on_postgres!(
    every_connection_killed_is_never_a_500_and_recovers,
    a_read_only_database_fails_readiness_and_writes_until_it_is_writable,
    a_batched_checkin_answered_503_records_no_visit,
    a_batched_keyed_create_answered_503_keeps_neither_its_pass_nor_its_key,
    a_panicking_batch_is_503_commits_nothing_and_the_batching_writer_goes_on,
);

/// A check-in queued for PostgreSQL's batching writer and held there past
/// its deadline is answered 503, and its batch does not commit afterwards:
/// once the batch's transaction has ended (a cancel of the pass, which waits
/// on the check-in's `FOR SHARE` lock, gets through), no visit is recorded.
/// Two things stop that commit, both set by the pool timeout: the batch's
/// own deadline check before its commit, and the session's
/// `idle_in_transaction_session_timeout` (the hold outlasts it). Seen failing
/// with both removed; either alone keeps the rule.
async fn a_batched_checkin_answered_503_records_no_visit(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.store.pool_timeout = Duration::from_secs(1);
        c.store.pg_batch_writers = 1;
    })
    .await;
    let pass = active_pass(&app).await;
    let code = pass["checkinCode"].as_str().unwrap_or_default().to_owned();
    let id = pass["guestPassId"].as_str().unwrap_or_default().to_owned();
    let seams = app.store().seams();
    seams.hold(seams::CHECKIN_DECIDED);
    let creds = Creds::chain_a();
    let (res, arrived) = tokio::join!(
        app.checkin(&creds, &code, LOC_A1),
        app.arrivals(seams::CHECKIN_DECIDED, 1, Duration::from_secs(10))
    );
    assert!(arrived, "the check-in never reached its batch");
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(res.body["cause"], "systemUnavailable");
    seams.release(seams::CHECKIN_DECIDED);

    let cancelled = app.delete(&format!("/guest-passes/{id}"), &creds).await;
    assert_eq!(cancelled.status, 204, "{}", cancelled.text);
    let visits = app
        .db
        .sql_count("SELECT CAST(COUNT(*) AS TEXT) AS value FROM checkins");
    assert_eq!(visits, 0, "a check-in answered 503 recorded its visit");
}

/// A create with an `Idempotency-Key`, held in its batch's transaction past
/// its deadline, is answered 503, and neither its pass nor its key is kept:
/// the same request sent again (it waits on the key's lock until the held
/// transaction has ended) runs anew — not a replay — and makes the one pass.
async fn a_batched_keyed_create_answered_503_keeps_neither_its_pass_nor_its_key(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.store.pool_timeout = Duration::from_secs(1);
        c.store.pg_batch_writers = 1;
    })
    .await;
    let seams = app.store().seams();
    seams.hold(seams::BEFORE_COMMIT);
    let creds = Creds::chain_a().with("Idempotency-Key", &uuid::Uuid::new_v4().to_string());
    let body = pass_body(LOC_A1, &unique_email());
    let (res, arrived) = tokio::join!(
        app.create(&creds, &body),
        app.arrivals(seams::BEFORE_COMMIT, 1, Duration::from_secs(10))
    );
    assert!(arrived, "the create never reached its batch's commit");
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(res.body["cause"], "systemUnavailable");
    seams.release(seams::BEFORE_COMMIT);

    let again = app.create(&creds, &body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(
        again.header("idempotent-replayed"),
        None,
        "the retry was answered from a key stored by the create answered 503"
    );
    assert_eq!(app.count_passes(), 1);
}

/// A check-in that panics inside PostgreSQL's batching writer (one writer)
/// is answered 503 and records no visit; the writer goes on (the next
/// check-in is 201, where a dead writer would leave every queued write 503
/// while `/readyz` stays up), and the panic is counted.
async fn a_panicking_batch_is_503_commits_nothing_and_the_batching_writer_goes_on(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |c| c.store.pg_batch_writers = 1).await;
    let pass = active_pass(&app).await;
    let code = pass["checkinCode"].as_str().unwrap_or_default().to_owned();
    let creds = Creds::chain_a();
    app.store().seams().panic(seams::CHECKIN_DECIDED, false);
    let res = app.checkin(&creds, &code, LOC_A1).await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(res.body["cause"], "systemUnavailable");

    let again = app.checkin(&creds, &code, LOC_A1).await;
    assert_eq!(again.status, 201, "{}", again.text);
    let visits = app
        .db
        .sql_count("SELECT CAST(COUNT(*) AS TEXT) AS value FROM checkins");
    assert_eq!(visits, 1, "the panicking check-in recorded its visit");
    assert_eq!(
        metric(&app.metrics().await, "guestpass_batch_panics_total"),
        1
    );
}

/// PostgreSQL kills every connection of ours: requests meanwhile are 503 at
/// worst (never 500, never a hang), and the server recovers by itself.
async fn every_connection_killed_is_never_a_500_and_recovers(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let path = format!(
        "/guest-passes/{}",
        pass["guestPassId"].as_str().unwrap_or_default()
    );
    kill_connections(app.db.pg_name());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = app.get(&path, &Creds::chain_a()).await;
        match res.status {
            200 => break,
            503 => assert_unavailable(&res),
            other => panic!("{other}: {}", res.text),
        }
        assert!(Instant::now() < deadline, "never recovered");
    }
    let res = app
        .create(&Creds::chain_a(), &pass_body(LOC_A1, &unique_email()))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let ready = becomes(&app, "/readyz", 200).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
}

/// The database turns read-only (`default_transaction_read_only`, new
/// sessions): readiness fails and creates are 503 with nothing written;
/// once it is writable again, both recover without a restart.
async fn a_read_only_database_fails_readiness_and_writes_until_it_is_writable(backend: Backend) {
    let app = spawn_app(backend).await;
    let name = app.db.pg_name();
    as_admin(&format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = on"
    ));
    kill_connections(name);
    let ready = becomes(&app, "/readyz", 503).await;
    assert_unavailable(&ready);
    let email = unique_email();
    let res = app
        .create(&Creds::chain_a(), &pass_body(LOC_A1, &email))
        .await;
    assert_unavailable(&res);
    assert_eq!(app.count_passes(), 0);

    as_admin(&format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = off"
    ));
    kill_connections(name);
    let ready = becomes(&app, "/readyz", 200).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = app
            .create(&Creds::chain_a(), &pass_body(LOC_A1, &email))
            .await;
        if res.status == 201 {
            break;
        }
        assert_unavailable(&res);
        assert!(Instant::now() < deadline, "writes never recovered");
    }
}

/// A server starting while another process still holds the SQLite file
/// (say, the previous instance's last checkpoint) waits for the lock like
/// every other statement does, instead of failing its migration at once
/// with "database is locked".
#[test]
fn migrating_sqlite_waits_for_another_connections_lock() {
    let db = TestDatabase::new(Backend::Sqlite);
    guestpass::store::migrate(&db.url).expect("the first migration");
    let mut holder = diesel::SqliteConnection::establish(&db.url).expect("connect");
    holder
        .batch_execute("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;")
        .expect("take the file for this connection alone");
    let releaser = std::thread::spawn(move || {
        // How long the lock is held, not a synchronisation: the migration
        // below must wait for it whatever the machine's speed.
        std::thread::sleep(Duration::from_millis(300));
        drop(holder);
    });
    let migrated = guestpass::store::migrate(&db.url);
    releaser.join().expect("the lock holder");
    assert!(migrated.is_ok(), "{migrated:?}");
}

crate::on_both_backends!(
    a_read_batch_the_database_does_not_answer_is_503_in_bounded_time_and_reads_go_on,
    a_panicking_read_batch_is_500_and_the_reading_thread_goes_on,
);

/// The batching reader is stuck before its batch reaches the database (as
/// when the database stops answering): the read is answered 503 once its
/// deadline and the watchdog's grace have passed, never hung, and counted as
/// a stall; once the reader goes on, reads are served again.
async fn a_read_batch_the_database_does_not_answer_is_503_in_bounded_time_and_reads_go_on(
    backend: Backend,
) {
    let timeout = Duration::from_millis(500);
    let app = spawn_app_with(backend, |c| c.store.pool_timeout = timeout).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let path = format!(
        "/guest-passes/{}",
        pass["guestPassId"].as_str().unwrap_or_default()
    );
    let seams = app.store().seams();
    seams.hold(seams::READ_BATCH);
    let started = Instant::now();
    let stuck = app.get(&path, &Creds::chain_a()).await;
    let waited = started.elapsed();
    seams.release(seams::READ_BATCH);
    assert_unavailable(&stuck);
    assert!(
        waited >= timeout,
        "answered after {waited:?}, before its deadline"
    );
    assert!(
        metric(&app.metrics().await, "guestpass_db_stalls_total") >= 1,
        "the stall was not counted"
    );
    let served = app.get(&path, &Creds::chain_a()).await;
    assert_eq!(served.status, 200, "{}", served.text);
    assert_eq!(served.body["guestPassId"], pass["guestPassId"]);
}

/// A batch of reads that panics is answered 500 (the read was not served,
/// nothing was changed); the reading thread goes on, and the panic is
/// counted.
async fn a_panicking_read_batch_is_500_and_the_reading_thread_goes_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let path = format!(
        "/guest-passes/{}",
        pass["guestPassId"].as_str().unwrap_or_default()
    );
    app.store().seams().panic(seams::READ_BATCH, false);
    let res = app.get(&path, &Creds::chain_a()).await;
    assert_eq!(res.status, 500, "{}", res.text);
    assert_eq!(
        res.text,
        r#"{"message":"Internal Server Error","cause":"internalUnexpectedError"}"#
    );
    let served = app.get(&path, &Creds::chain_a()).await;
    assert_eq!(served.status, 200, "{}", served.text);
    assert_eq!(
        metric(&app.metrics().await, "guestpass_read_panics_total"),
        1
    );
}
