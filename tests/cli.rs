//! The command line, run as the built binary against a temp SQLite file:
//! `admin` (provisioning and secrets), `migrate` and `prune`.

use std::process::{Command, Output};

use std::sync::Arc;

#[path = "common/mod.rs"]
mod common;
use common::{Backend, TestDatabase};

type Db = TestDatabase;

fn new_db() -> Arc<Db> {
    Arc::new(TestDatabase::new(Backend::Sqlite))
}

/// The single number a `SELECT COUNT(*) …` gives.
fn count(db: &Db, query: &str) -> i64 {
    db.sql_count(&format!("SELECT CAST(({query}) AS TEXT) AS value"))
}

fn pass_ids(db: &Db) -> Vec<String> {
    let ids = db
        .sql_text(
            "SELECT group_concat(id, ',') AS value FROM (SELECT id FROM guest_passes ORDER BY id)",
        )
        .unwrap_or_default();
    ids.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `guestpass <args>` with a clean environment for its own variables.
fn guestpass(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_guestpass"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("GUESTPASS_SECRET")
        .env_remove("RUST_LOG")
        .output()
        .expect("run guestpass");
    Run {
        success: status.success(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `guestpass admin --database-url <db> <args>`.
fn admin(db: &Db, args: &[&str]) -> Run {
    let mut all = vec!["admin", "--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    guestpass(&all)
}

/// The one line an admin command prints: the secret.
#[track_caller]
fn secret_of(run: &Run) -> String {
    assert!(run.success, "stderr: {}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {:?}", run.stdout);
    assert!(run.stdout.ends_with('\n'), "{:?}", run.stdout);
    let secret = lines[0].to_owned();
    assert!(secret.len() >= 32, "{secret:?}");
    assert!(secret.bytes().all(|b| b.is_ascii_graphic()), "{secret:?}");
    secret
}

#[track_caller]
fn assert_fails(run: &Run, mentions: &[&str]) {
    assert!(!run.success, "stdout: {}", run.stdout);
    assert_eq!(run.stdout, "", "nothing on stdout when it fails");
    let stderr = run.stderr.to_lowercase();
    for word in mentions {
        assert!(
            stderr.contains(&word.to_lowercase()),
            "stderr should mention {word:?}: {}",
            run.stderr
        );
    }
}

/// The first whole number in a line of output.
fn first_number(text: &str) -> Option<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

/// The real server, built by the same builder `serve` uses, on the file.
async fn serve(db: &Arc<Db>, levels: &str) -> common::TestApp {
    let levels: guestpass::auth::AuthLevels = levels.parse().expect("levels");
    common::serve(db.clone(), |c| c.auth_levels = levels).await
}

/// The status of a search with these access headers.
async fn status_with(server: &common::TestApp, headers: &[(&str, &str)]) -> u16 {
    let mut creds = common::Creds::none();
    for (name, value) in headers {
        creds = creds.with(name, value);
    }
    server.get("/guest-passes", &creds).await.status
}

fn epoch_now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[test]
fn add_chain_prints_exactly_one_line_the_secret() {
    let db = new_db();
    let first = secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    let second = secret_of(&admin(
        &db,
        &["add-chain", "--id", "chain-2", "--name", "Second Chain"],
    ));
    assert_ne!(first, second, "every generated secret is new");
    let location = secret_of(&admin(
        &db,
        &["add-location", "--chain", "chain-1", "--id", "loc-1"],
    ));
    let client = secret_of(&admin(&db, &["add-client", "--id", "partner"]));
    assert_ne!(location, client);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM chains"), 2);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM locations"), 1);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM clients"), 1);
}

#[test]
fn secrets_are_stored_only_as_hashes() {
    let db = new_db();
    let secret = secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    let stored = count(&db, &format!(
        "SELECT COUNT(*) AS n FROM chains WHERE secret_hash = '{secret}' OR secret_salt = '{secret}' \
         OR name = '{secret}' OR instr(secret_hash, '{secret}') > 0"
    ));
    assert_eq!(stored, 0);
}

#[actix_web::test]
async fn re_adding_an_existing_id_fails_and_leaves_the_old_secret_working() {
    let db = new_db();
    let secret = secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    let again = admin(&db, &["add-chain", "--id", "chain-1"]);
    assert_fails(&again, &["chain-1", "exists"]);
    let chosen = admin(
        &db,
        &[
            "add-chain",
            "--id",
            "chain-1",
            "--secret",
            "L50m8E6WoCu1zhInQXiBIw1Za5EdL3KEbOlJhkKp",
        ],
    );
    assert_fails(&chosen, &["chain-1", "exists"]);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM chains"), 1);

    let server = serve(&db, "chain").await;
    let ok = status_with(
        &server,
        &[("X-Chain-ID", "chain-1"), ("X-Chain-Secret", &secret)],
    )
    .await;
    assert_eq!(ok, 200);
    let refused = status_with(
        &server,
        &[
            ("X-Chain-ID", "chain-1"),
            ("X-Chain-Secret", "L50m8E6WoCu1zhInQXiBIw1Za5EdL3KEbOlJhkKp"),
        ],
    )
    .await;
    assert_eq!(refused, 401);
}

#[test]
fn adding_a_location_or_client_twice_fails_too() {
    let db = new_db();
    secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    secret_of(&admin(
        &db,
        &["add-location", "--chain", "chain-1", "--id", "loc-1"],
    ));
    let again = admin(
        &db,
        &["add-location", "--chain", "chain-1", "--id", "loc-1"],
    );
    assert_fails(&again, &["loc-1", "exists"]);
    secret_of(&admin(&db, &["add-client", "--id", "partner"]));
    assert_fails(
        &admin(&db, &["add-client", "--id", "partner"]),
        &["partner", "exists"],
    );
}

#[test]
fn add_location_with_an_unknown_chain_fails() {
    let db = new_db();
    secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    let run = admin(
        &db,
        &["add-location", "--chain", "no-such-chain", "--id", "loc-1"],
    );
    assert_fails(&run, &["no-such-chain"]);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM locations"), 0);
}

#[actix_web::test]
async fn rotate_secret_prints_a_new_secret_and_only_the_new_one_works() {
    let db = new_db();
    let chain_old = secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    let location_old = secret_of(&admin(
        &db,
        &["add-location", "--chain", "chain-1", "--id", "loc-1"],
    ));
    let client_old = secret_of(&admin(&db, &["add-client", "--id", "partner"]));
    let server = serve(&db, "client,chain,location").await;
    let with = |client: &str, chain: &str, location: &str| {
        [
            ("X-Client-ID", "partner".to_owned()),
            ("X-Client-Secret", client.to_owned()),
            ("X-Chain-ID", "chain-1".to_owned()),
            ("X-Chain-Secret", chain.to_owned()),
            ("X-Location-ID", "loc-1".to_owned()),
            ("X-Location-Secret", location.to_owned()),
        ]
    };
    let status = |headers: [(&'static str, String); 6]| {
        let server = &server;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            status_with(server, &headers).await
        }
    };
    assert_eq!(
        status(with(&client_old, &chain_old, &location_old)).await,
        200
    );

    let chain_new = secret_of(&admin(&db, &["rotate-secret", "--chain", "chain-1"]));
    assert_ne!(chain_new, chain_old);
    assert_eq!(
        status(with(&client_old, &chain_old, &location_old)).await,
        401
    );
    assert_eq!(
        status(with(&client_old, &chain_new, &location_old)).await,
        200
    );

    let location_new = secret_of(&admin(&db, &["rotate-secret", "--location", "loc-1"]));
    assert_ne!(location_new, location_old);
    assert_eq!(
        status(with(&client_old, &chain_new, &location_old)).await,
        401
    );
    assert_eq!(
        status(with(&client_old, &chain_new, &location_new)).await,
        200
    );

    let client_new = secret_of(&admin(&db, &["rotate-secret", "--client", "partner"]));
    assert_ne!(client_new, client_old);
    assert_eq!(
        status(with(&client_old, &chain_new, &location_new)).await,
        401
    );
    assert_eq!(
        status(with(&client_new, &chain_new, &location_new)).await,
        200
    );

    // A chosen secret is printed as given.
    let chosen = "9JLShScFw9muhuosw71ETIzcHxHELIBciDVZsHrR";
    let run = admin(
        &db,
        &["rotate-secret", "--chain", "chain-1", "--secret", chosen],
    );
    assert_eq!(secret_of(&run), chosen);
    assert_eq!(status(with(&client_new, chosen, &location_new)).await, 200);
}

#[test]
fn rotating_the_secret_of_an_unknown_id_fails() {
    let db = new_db();
    secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    for (flag, id) in [
        ("--chain", "no-such-chain"),
        ("--location", "no-such-location"),
        ("--client", "no-such-client"),
    ] {
        let run = admin(&db, &["rotate-secret", flag, id]);
        assert_fails(&run, &[id]);
    }
    // Naming no target at all is a usage error.
    let run = admin(&db, &["rotate-secret"]);
    assert!(!run.success);
    assert_eq!(run.stdout, "");
}

/// 40 random letters and digits: well over 128 bits.
const STRONG: &str = "t7Kq2ZpX9mVbR4wLc8NfJ3hYd6GsE1uAoQiT5eWk";

#[actix_web::test]
async fn a_chosen_secret_with_less_than_128_bits_is_refused() {
    let db = new_db();
    let run = admin(
        &db,
        &[
            "add-chain",
            "--id",
            "chain-1",
            "--secret",
            "fifteen-chars-x",
        ],
    );
    assert_fails(&run, &["secret"]);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM chains"), 0);
    // A strong one is enough, and is printed back as the secret.
    let run = admin(&db, &["add-chain", "--id", "chain-1", "--secret", STRONG]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout, format!("{STRONG}\n"));
    // Rotating to a short secret is refused and keeps the old one.
    let run = admin(
        &db,
        &["rotate-secret", "--chain", "chain-1", "--secret", "short"],
    );
    assert_fails(&run, &["secret"]);
    let server = serve(&db, "chain").await;
    let status = status_with(
        &server,
        &[("X-Chain-ID", "chain-1"), ("X-Chain-Secret", STRONG)],
    )
    .await;
    assert_eq!(status, 200);
}

#[test]
fn weak_chosen_secrets_are_refused_saying_what_is_needed() {
    let db = new_db();
    secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    for weak in [
        "aaaaaaaaaaaaaaaa",
        "passwordpassword",
        "chain-a-secret-0123456789",
        "sixteen-chars-xy",
    ] {
        for args in [
            vec!["add-chain", "--id", "chain-2", "--secret", weak],
            vec![
                "add-location",
                "--chain",
                "chain-1",
                "--id",
                "loc-1",
                "--secret",
                weak,
            ],
            vec!["add-client", "--id", "partner", "--secret", weak],
            vec!["rotate-secret", "--chain", "chain-1", "--secret", weak],
        ] {
            let run = admin(&db, &args);
            assert_fails(&run, &["128 bits", "entropy", "--secret"]);
            assert!(!run.stderr.contains(weak), "{args:?}: {}", run.stderr);
        }
    }
    // From the environment too.
    let run = Command::new(env!("CARGO_BIN_EXE_guestpass"))
        .args([
            "admin",
            "--database-url",
            &db.url,
            "add-client",
            "--id",
            "partner",
        ])
        .env("GUESTPASS_SECRET", "passwordpassword")
        .output()
        .expect("run guestpass");
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("128 bits"));
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM chains"), 1);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM locations"), 0);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM clients"), 0);
    // 32 random hex characters and 40 random letters and digits pass.
    for (id, strong) in [
        ("hex", "3f9a1c0e7b2d4f8a9c6e1b3d5a7f0c2e"),
        ("alnum", STRONG),
    ] {
        let run = admin(&db, &["add-client", "--id", id, "--secret", strong]);
        assert_eq!(secret_of(&run), strong);
    }
}

#[test]
fn migrate_succeeds_twice() {
    let db = new_db();
    for _ in 0..2 {
        let run = guestpass(&["migrate", "--database-url", &db.url]);
        assert!(run.success, "stderr: {}", run.stderr);
    }
    for table in ["chains", "locations", "clients", "guest_passes", "checkins"] {
        assert_eq!(count(&db, &format!("SELECT COUNT(*) AS n FROM {table}")), 0);
    }
    // And on a database that already holds data, nothing is lost.
    secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    let run = guestpass(&["migrate", "--database-url", &db.url]);
    assert!(run.success, "stderr: {}", run.stderr);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM chains"), 1);
}

/// A chain and a location, then passes straight in the table: one that ended
/// 40 days ago (with a check-in), one 2 days ago, one active (with a
/// check-in), one upcoming. Returns their ids in that order.
fn with_passes(db: &Db) -> [&'static str; 4] {
    let run = guestpass(&["migrate", "--database-url", &db.url]);
    assert!(run.success, "stderr: {}", run.stderr);
    secret_of(&admin(db, &["add-chain", "--id", "chain-1"]));
    secret_of(&admin(
        db,
        &["add-location", "--chain", "chain-1", "--id", "loc-1"],
    ));
    let now = epoch_now();
    let day = 86_400;
    let passes = [
        ("old", now - 47 * day, now - 40 * day, "CODE222222"),
        ("recent", now - 9 * day, now - 2 * day, "CODE333333"),
        ("active", now - day, now + 6 * day, "CODE444444"),
        ("upcoming", now + day, now + 8 * day, "CODE555555"),
    ];
    for (id, from, until, code) in passes {
        db.sql(&format!(
            "INSERT INTO guest_passes (id, chain_id, location_id, first_name, last_name, email, \
             email_key, phone, valid_from, valid_until, checkin_code, created_at) VALUES \
             ('{id}', 'chain-1', 'loc-1', 'Jane', 'Doe', '{id}@example.com', '{id}@example.com', \
             NULL, {from}, {until}, '{code}', {from})"
        ));
    }
    for (checkin, pass, at) in [
        ("checkin-old", "old", now - 45 * day),
        ("checkin-active", "active", now - 3600),
    ] {
        db.sql(&format!(
            "INSERT INTO checkins (id, guest_pass_id, location_id, checked_in_at) \
             VALUES ('{checkin}', '{pass}', 'loc-1', {at})"
        ));
    }
    ["old", "recent", "active", "upcoming"]
}

fn prune(db: &Db, args: &[&str]) -> Run {
    let mut all = vec!["prune", "--database-url", db.url.as_str()];
    all.extend_from_slice(args);
    let run = guestpass(&all);
    assert!(run.success, "stderr: {}", run.stderr);
    run
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    ids.sort();
    ids
}

#[test]
fn prune_dry_run_counts_and_deletes_nothing() {
    let db = new_db();
    let all = with_passes(&db);
    let run = prune(&db, &["--expired-before", "30", "--dry-run"]);
    assert_eq!(first_number(&run.stdout), Some(1), "{}", run.stdout);
    assert_eq!(pass_ids(&db), sorted(&all));
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM checkins"), 2);
    let run = prune(&db, &["--expired-before", "0", "--dry-run"]);
    assert_eq!(first_number(&run.stdout), Some(2), "{}", run.stdout);
    assert_eq!(pass_ids(&db), sorted(&all));
}

#[test]
fn prune_deletes_passes_that_ended_before_the_cutoff_with_their_checkins() {
    let db = new_db();
    let [_old, recent, active, upcoming] = with_passes(&db);
    let run = prune(&db, &["--expired-before", "30"]);
    assert_eq!(first_number(&run.stdout), Some(1), "{}", run.stdout);
    assert_eq!(pass_ids(&db), sorted(&[recent, active, upcoming]));
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM checkins WHERE guest_pass_id = 'old'"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM checkins WHERE guest_pass_id = 'active'"
        ),
        1
    );
    // Nothing left that old: a second run deletes nothing.
    let run = prune(&db, &["--expired-before", "30"]);
    assert_eq!(first_number(&run.stdout), Some(0), "{}", run.stdout);
    assert_eq!(pass_ids(&db), sorted(&[recent, active, upcoming]));
}

#[test]
fn prune_with_zero_days_deletes_every_ended_pass_but_never_an_active_or_upcoming_one() {
    let db = new_db();
    let [_old, _recent, active, upcoming] = with_passes(&db);
    let run = prune(&db, &["--expired-before", "0"]);
    assert_eq!(first_number(&run.stdout), Some(2), "{}", run.stdout);
    assert_eq!(pass_ids(&db), sorted(&[active, upcoming]));
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM checkins"), 1);
    let run = prune(&db, &["--expired-before", "0"]);
    assert_eq!(first_number(&run.stdout), Some(0), "{}", run.stdout);
    assert_eq!(pass_ids(&db), sorted(&[active, upcoming]));
}

#[test]
fn prune_refuses_a_negative_or_missing_day_count() {
    let db = new_db();
    let all = with_passes(&db);
    for args in [
        vec!["prune", "--database-url", db.url.as_str()],
        vec![
            "prune",
            "--database-url",
            db.url.as_str(),
            "--expired-before",
            "-1",
        ],
        vec![
            "prune",
            "--database-url",
            db.url.as_str(),
            "--expired-before",
            "soon",
        ],
    ] {
        let run = guestpass(&args);
        assert!(!run.success, "{args:?}: {}", run.stdout);
    }
    assert_eq!(pass_ids(&db), sorted(&all));
}

#[actix_web::test]
async fn secrets_printed_by_admin_work_against_the_server() {
    let db = new_db();
    let chain = secret_of(&admin(&db, &["add-chain", "--id", "chain-1"]));
    let location = secret_of(&admin(
        &db,
        &["add-location", "--chain", "chain-1", "--id", "loc-1"],
    ));
    let client = secret_of(&admin(&db, &["add-client", "--id", "partner"]));
    for (levels, headers, wrong) in [
        (
            "chain",
            [
                ("X-Chain-ID", "chain-1"),
                ("X-Chain-Secret", chain.as_str()),
            ],
            ("X-Chain-ID", "chain-1"),
        ),
        (
            "location",
            [
                ("X-Location-ID", "loc-1"),
                ("X-Location-Secret", location.as_str()),
            ],
            ("X-Location-ID", "loc-1"),
        ),
        (
            "client",
            [
                ("X-Client-ID", "partner"),
                ("X-Client-Secret", client.as_str()),
            ],
            ("X-Client-ID", "partner"),
        ),
    ] {
        let server = serve(&db, levels).await;
        assert_eq!(status_with(&server, &headers).await, 200, "{levels}");
        let wrong_secret = [wrong, (headers[1].0, "not-the-secret-0123456789")];
        assert_eq!(status_with(&server, &wrong_secret).await, 401, "{levels}");
    }
}

#[actix_web::test]
async fn disable_enable_and_remove_from_the_command_line() {
    let db = new_db();
    let [old, ..] = with_passes(&db);
    let chain = secret_of(&admin(&db, &["add-chain", "--id", "chain-2"]));
    let client = secret_of(&admin(&db, &["add-client", "--id", "partner"]));

    let run = admin(&db, &["disable", "--chain", "chain-2"]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout, "chain 'chain-2' disabled\n");
    let server = serve(&db, "chain").await;
    let headers = [
        ("X-Chain-ID", "chain-2"),
        ("X-Chain-Secret", chain.as_str()),
    ];
    assert_eq!(status_with(&server, &headers).await, 401);
    let run = admin(&db, &["enable", "--chain", "chain-2"]);
    assert_eq!(run.stdout, "chain 'chain-2' enabled\n");
    assert_eq!(status_with(&server, &headers).await, 200);

    // Exactly one target, and it must exist.
    for args in [
        vec!["disable"],
        vec!["disable", "--chain", "chain-2", "--client", "partner"],
        vec!["remove", "--location"],
    ] {
        let run = admin(&db, &args);
        assert!(!run.success, "{args:?}");
        assert_eq!(run.stdout, "");
    }
    assert_fails(
        &admin(&db, &["enable", "--client", "nobody"]),
        &["nobody", "does not exist"],
    );

    // A chain with passes goes only with --with-passes, and then with everything.
    let run = admin(&db, &["remove", "--chain", "chain-1"]);
    assert_fails(&run, &["chain-1", "4 guest passes", "--with-passes"]);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM guest_passes"), 4);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM locations"), 1);
    let run = admin(&db, &["remove", "--location", "loc-1"]);
    assert_fails(&run, &["loc-1", "--with-passes"]);
    let run = admin(&db, &["remove", "--chain", "chain-1", "--with-passes"]);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "removed chain 'chain-1' with 1 location, 4 guest passes, 2 check-ins\n"
    );
    assert!(!pass_ids(&db).contains(&old.to_owned()));
    for table in ["guest_passes", "checkins", "locations"] {
        assert_eq!(count(&db, &format!("SELECT COUNT(*) AS n FROM {table}")), 0);
    }
    let run = admin(&db, &["remove", "--client", "partner"]);
    assert_eq!(run.stdout, "removed client 'partner'\n");
    let server = serve(&db, "client").await;
    let headers = [("X-Client-Secret", client.as_str())];
    assert_eq!(status_with(&server, &headers).await, 401);
}

#[test]
fn admin_list_prints_a_table_or_json_and_never_a_secret() {
    let db = new_db();
    let chain = secret_of(&admin(
        &db,
        &["add-chain", "--id", "fitx", "--name", "FitX Gyms"],
    ));
    let location = secret_of(&admin(
        &db,
        &["add-location", "--chain", "fitx", "--id", "berlin-mitte"],
    ));
    let client = secret_of(&admin(&db, &["add-client", "--id", "egym"]));
    assert!(admin(&db, &["disable", "--location", "berlin-mitte"]).success);

    let run = admin(&db, &["list"]);
    assert!(run.success, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    let words = |line: &str| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        words(lines[0]),
        ["KIND", "ID", "NAME", "CHAIN", "CREATED", "STATUS"]
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        words(lines[1]),
        ["chain", "fitx", "FitX", "Gyms", "-", &today, "active"]
    );
    assert_eq!(
        words(lines[2]),
        [
            "location",
            "berlin-mitte",
            "berlin-mitte",
            "fitx",
            &today,
            "disabled",
            "since",
            &today
        ]
    );
    assert_eq!(
        words(lines[3]),
        ["client", "egym", "-", "-", &today, "active"]
    );
    // Columns line up: every row's id starts where the header's ID does.
    let at = lines[0].find("ID").unwrap_or_default();
    for line in &lines[1..] {
        assert_eq!(line.as_bytes()[at - 1], b' ', "{line}");
        assert_ne!(line.as_bytes()[at], b' ', "{line}");
    }

    let run = admin(&db, &["list", "--format", "json"]);
    assert!(run.success, "{}", run.stderr);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(list["chains"][0]["name"], "FitX Gyms");
    assert_eq!(list["locations"][0]["chainId"], "fitx");
    assert_eq!(list["locations"][0]["disabled"], true);
    assert_eq!(list["clients"][0]["id"], "egym");
    assert_eq!(list["clients"][0]["demo"], false);
    for secret in [&chain, &location, &client] {
        assert!(!run.stdout.contains(secret.as_str()));
    }
    assert!(!run.stdout.contains("secret"), "{}", run.stdout);
}

/// `count` expired passes at loc-1 straight into the table (ids and codes
/// from `first`), every tenth with a check-in.
fn expired_passes(db: &Db, first: i64, count: i64) {
    let ended = epoch_now() - 40 * 86_400;
    let last = first + count - 1;
    let (numbers, code) = match db.backend {
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE n(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM n WHERE i < {last}) "
            ),
            "printf('B%09d', i)",
        ),
        Backend::Postgres => (
            format!("WITH n(i) AS (SELECT generate_series({first}, {last})) "),
            "'B' || lpad(i::text, 9, '0')",
        ),
    };
    db.sql(&format!(
        "{numbers} \
         INSERT INTO guest_passes (id, chain_id, location_id, first_name, last_name, email, \
         email_key, valid_from, valid_until, checkin_code, created_at) \
         SELECT 'bulk-' || i, 'chain-1', 'loc-1', 'Jane', 'Doe', 'bulk-' || i || '@example.com', \
         'bulk-' || i || '@example.com', {ended} - 86400, {ended}, {code}, {ended} - 86400 FROM n; \
         INSERT INTO checkins (id, guest_pass_id, location_id, checked_in_at) \
         SELECT 'visit-' || id, id, 'loc-1', {ended} - 3600 FROM guest_passes \
         WHERE id LIKE 'bulk-%' AND CAST(substr(id, 6) AS INTEGER) % 10 = 0;"
    ));
}

/// Prunes 45,000 expired passes in batches of 40,000 (more values than
/// SQLite binds in one statement), then 100,001 in batches of 100,000 (the
/// largest the command line accepts); the fixture's recent, active and
/// upcoming passes stay.
fn prune_large_batches(db: &Db) {
    let [_old, recent, active, upcoming] = with_passes(db);
    let others = || {
        count(
            db,
            "SELECT COUNT(*) AS n FROM guest_passes WHERE id NOT LIKE 'bulk-%'",
        )
    };
    expired_passes(db, 0, 45_000);
    let run = prune(db, &["--expired-before", "30", "--batch-size", "40000"]);
    assert_eq!(first_number(&run.stdout), Some(45_001), "{}", run.stdout);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM guest_passes"), 3);
    assert_eq!(others(), 3);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM checkins"), 1);

    expired_passes(db, 100_000, 100_001);
    let run = prune(db, &["--expired-before", "30", "--batch-size", "100000"]);
    assert_eq!(first_number(&run.stdout), Some(100_001), "{}", run.stdout);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM guest_passes"), 3);
    assert_eq!(count(db, "SELECT COUNT(*) AS n FROM checkins"), 1);
    for id in [recent, active, upcoming] {
        let n = count(
            db,
            &format!("SELECT COUNT(*) AS n FROM guest_passes WHERE id = '{id}'"),
        );
        assert_eq!(n, 1, "{id}");
    }
}

#[test]
fn prune_runs_batches_larger_than_sqlite_can_bind() {
    prune_large_batches(&new_db());
}

#[test]
fn prune_runs_the_largest_batches_on_postgres_too() {
    if common::postgres_url().is_none() {
        eprintln!("skipped: GUESTPASS_TEST_POSTGRES_URL is not set");
        return;
    }
    prune_large_batches(&TestDatabase::new(Backend::Postgres));
}

#[test]
fn an_in_memory_sqlite_database_is_refused_at_start_with_one_line() {
    let run = guestpass(&[
        "serve",
        "--database-url",
        ":memory:",
        "--bind",
        "127.0.0.1:0",
    ]);
    assert_fails(&run, &["in-memory", "file path"]);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

/// `serve` with `args` on a database it must refuse them before opening.
fn serve_refused(args: &[&str]) -> Run {
    let mut all = vec![
        "serve",
        "--database-url",
        "never-opened.db",
        "--bind",
        "127.0.0.1:0",
    ];
    all.extend_from_slice(args);
    guestpass(&all)
}

#[test]
fn a_credential_cache_over_300_seconds_is_refused_before_serving() {
    for too_long in ["301", "99999999999999999"] {
        let run = serve_refused(&["--credential-cache-secs", too_long]);
        assert_fails(&run, &["--credential-cache-secs", "0..=300"]);
    }
}

#[test]
fn trusted_proxies_that_are_not_ips_or_cidrs_are_refused_naming_the_entry() {
    for (list, named) in [
        ("10.0.0.0/8,proxy.local", "proxy.local"),
        ("10.0.0.0/33", "10.0.0.0/33"),
    ] {
        let run = serve_refused(&["--trusted-proxies", list]);
        assert_fails(&run, &["--trusted-proxies", named]);
    }
}
