//! Contract §8, `Idempotency-Key` on `createGuestPass` and `checkinGuest`:
//! a retry is answered again, byte for byte, instead of done again.

use awc::http::Method;
use futures_util::future::join_all;
use guestpass::rate_limit::{FakeRelativeClock, RateClock};
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    a_retried_create_is_answered_again_byte_for_byte_and_creates_nothing,
    a_reformatted_body_is_the_same_request,
    the_same_key_with_another_body_is_422_idempotency_key_reused,
    a_malformed_key_is_400_reported_with_the_other_parameters,
    simultaneous_creates_with_one_key_make_one_pass_and_identical_answers,
    a_stored_422_is_replayed_even_after_the_conflicting_pass_is_cancelled,
    a_retried_checkin_records_one_visit,
    keys_belong_to_one_principal_and_one_operation,
    an_expired_key_runs_again_and_expired_keys_are_deleted,
    answers_other_than_201_and_422_are_not_stored,
    a_create_whose_location_left_the_scope_is_still_replayed,
    keyed_creates_written_together_each_get_their_own_answer,
);

const KEY: &str = "Idempotency-Key";

fn keyed(key: &str) -> Creds {
    Creds::chain_a().with(KEY, key)
}

fn new_key() -> String {
    format!("retry-{}", uuid::Uuid::new_v4())
}

/// POSTs `body` exactly as given (bytes), with `creds`.
async fn post_raw(app: &TestApp, path: &str, creds: &Creds, body: &str) -> Resp {
    app.raw(
        Method::POST,
        &app.url(path),
        creds,
        Some(("application/json", body.as_bytes().to_vec())),
    )
    .await
}

fn replayed(res: &Resp) -> bool {
    res.header("idempotent-replayed") == Some("true")
}

#[track_caller]
fn assert_same_answer(first: &Resp, again: &Resp) {
    assert_eq!(again.status, first.status, "{}", again.text);
    assert_eq!(again.text, first.text, "not byte for byte");
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("content-type"), Some("application/json"));
    assert!(replayed(again), "no Idempotent-Replayed: true");
}

async fn a_retried_create_is_answered_again_byte_for_byte_and_creates_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = new_key();
    let body = pass_body(LOC_A1, &unique_email());
    let first = app.create(&keyed(&key), &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(!replayed(&first));
    assert!(first.header("location").is_some());
    for _ in 0..3 {
        let again = app.create(&keyed(&key), &body).await;
        assert_same_answer(&first, &again);
    }
    assert_eq!(app.count_passes(), 1);
    // Without the key the same body is a new request: the 422 of the rule.
    app.create(&Creds::chain_a(), &body)
        .await
        .assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated");
    let metrics = app
        .raw(Method::GET, &app.root_url("/metrics"), &Creds::none(), None)
        .await;
    assert!(
        metrics
            .text
            .contains("guestpass_idempotent_replays_total 3\n"),
        "{}",
        metrics.text
    );
}

async fn a_reformatted_body_is_the_same_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = new_key();
    let body = pass_body(LOC_A1, &unique_email());
    let compact = serde_json::to_string(&body).expect("json");
    let first = post_raw(&app, "/guest-passes", &keyed(&key), &compact).await;
    assert_eq!(first.status, 201, "{}", first.text);
    // Other whitespace, other key order, an escaped character: the same JSON.
    let fields = body.as_object().expect("object");
    let mut pairs: Vec<String> = fields
        .iter()
        .rev()
        .map(|(k, v)| format!("\n  {:?} :  {}", k, v))
        .collect();
    pairs[0] = pairs[0].replace("Jane", "J\\u0061ne");
    let pretty = format!("{{{}\n}}", pairs.join(" ,"));
    assert_ne!(pretty, compact);
    let again = post_raw(&app, "/guest-passes", &keyed(&key), &pretty).await;
    assert_same_answer(&first, &again);
    assert_eq!(app.count_passes(), 1);
}

async fn the_same_key_with_another_body_is_422_idempotency_key_reused(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = new_key();
    let body = pass_body(LOC_A1, &unique_email());
    assert_eq!(app.create(&keyed(&key), &body).await.status, 201);
    let mut other = body.clone();
    other["lastName"] = json!("Roe");
    let res = app.create(&keyed(&key), &other).await;
    res.assert_unprocessable("idempotencyKeyReused", "idempotencyKeyReused");
    assert_eq!(
        res.text,
        r#"{"message":"This Idempotency-Key was already used with another request body","cause":"idempotencyKeyReused","reason":"idempotencyKeyReused"}"#
    );
    assert!(!replayed(&res));
    assert_eq!(app.count_passes(), 1);
    // On check-in too.
    let code = app.create_ok(LOC_A1, &unique_email()).await["checkinCode"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let key = new_key();
    let checkin = |location: &'static str| {
        let (app, key, code) = (&app, key.clone(), code.clone());
        async move {
            app.post_json(
                "/checkins",
                &keyed(&key),
                &json!({"checkinCode": code, "locationId": location}),
            )
            .await
        }
    };
    assert_eq!(checkin(LOC_A1).await.status, 422); // upcoming: stored 422
    checkin(LOC_A2)
        .await
        .assert_unprocessable("idempotencyKeyReused", "idempotencyKeyReused");
}

async fn a_malformed_key_is_400_reported_with_the_other_parameters(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = pass_body(LOC_A1, &unique_email());
    for bad in ["".to_owned(), "k".repeat(256), "tab\tinside".to_owned()] {
        let res = app.create(&keyed(&bad), &body).await;
        res.assert_bad_request(json!({"Idempotency-Key": "wrongFormat"}));
    }
    // A non-ASCII value, as raw header bytes.
    let res = app
        .raw(
            Method::POST,
            &app.url("/guest-passes"),
            &Creds::chain_a().with(KEY, "caf\u{e9}"),
            Some(("application/json", serde_json::to_vec(&body).expect("json"))),
        )
        .await;
    res.assert_bad_request(json!({"Idempotency-Key": "wrongFormat"}));
    // Together with the body's own reasons, and with a body that is not JSON.
    let mut broken = body.clone();
    broken["email"] = json!("not-an-address");
    app.create(&keyed(""), &broken)
        .await
        .assert_bad_request(json!({"Idempotency-Key": "wrongFormat", "email": "wrongFormat"}));
    post_raw(&app, "/guest-passes", &keyed(""), "{")
        .await
        .assert_bad_request(json!({"Idempotency-Key": "wrongFormat", "body": "wrongFormat"}));
    app.post_json(
        "/checkins",
        &keyed(&"x".repeat(300)),
        &json!({"locationId": LOC_A1}),
    )
    .await
    .assert_bad_request(json!({"Idempotency-Key": "wrongFormat", "checkinCode": "missing"}));
    // The longest key and one with spaces and punctuation are fine.
    for good in [
        "k".repeat(255),
        "a key: with / spaces & (punctuation)!".to_owned(),
    ] {
        let res = app
            .create(&keyed(&good), &pass_body(LOC_A1, &unique_email()))
            .await;
        assert_eq!(res.status, 201, "{good}: {}", res.text);
    }
    assert_eq!(app.count_passes(), 2);
}

/// On PostgreSQL the requests are spread over two instances.
async fn simultaneous_creates_with_one_key_make_one_pass_and_identical_answers(backend: Backend) {
    let first = spawn_app(backend).await;
    let mut apps = vec![];
    if backend == Backend::Postgres {
        apps.push(serve(first.db.clone(), |_| {}).await);
    }
    apps.insert(0, first);
    for _ in 0..3 {
        let key = new_key();
        let body = pass_body(LOC_A1, &unique_email());
        let answers = join_all((0..16).map(|i| {
            let (app, key, body) = (&apps[i % apps.len()], key.clone(), body.clone());
            async move { app.create(&keyed(&key), &body).await }
        }))
        .await;
        let original: Vec<&Resp> = answers.iter().filter(|r| !replayed(r)).collect();
        assert_eq!(original.len(), 1, "one request ran, the others replayed");
        for res in &answers {
            assert_eq!(res.status, 201, "{}", res.text);
            assert_eq!(res.text, original[0].text);
            assert_eq!(res.header("location"), original[0].header("location"));
        }
    }
    assert_eq!(apps[0].count_passes(), 3);
}

async fn a_stored_422_is_replayed_even_after_the_conflicting_pass_is_cancelled(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = pass_body(LOC_A1, &unique_email());
    let existing = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(existing.status, 201);
    let key = new_key();
    let first = app.create(&keyed(&key), &body).await;
    first.assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated");
    let cancelled = app
        .delete(
            &format!("/guest-passes/{}", existing.id()),
            &Creds::chain_a(),
        )
        .await;
    assert_eq!(cancelled.status, 204);
    let again = app.create(&keyed(&key), &body).await;
    assert_same_answer(&first, &again);
    assert_eq!(app.count_passes(), 1);
    // A new key is a new request: now it is created.
    assert_eq!(app.create(&keyed(&new_key()), &body).await.status, 201);
}

async fn a_retried_checkin_records_one_visit(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = pass_body_at(LOC_A1, &unique_email(), 0, 7);
    body["validFrom"] = json!(now_plus(-3600));
    let pass = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(pass.status, 201, "{}", pass.text);
    let code = pass.body["checkinCode"].as_str().unwrap_or_default();
    let key = new_key();
    let checkin = json!({"checkinCode": code, "locationId": LOC_A1});
    let first = app.post_json("/checkins", &keyed(&key), &checkin).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.header("location").is_none());
    let creds = keyed(&key);
    let answers = join_all((0..4).map(|_| app.post_json("/checkins", &creds, &checkin))).await;
    for again in &answers {
        assert_same_answer(&first, again);
    }
    let listed = app
        .get(
            &format!("/guest-passes/{}/checkins", pass.id()),
            &Creds::chain_a(),
        )
        .await;
    assert_eq!(listed.body["checkins"].as_array().map(Vec::len), Some(1));
    // An unknown code is 404, which is not stored: a retry runs again.
    let unknown = json!({"checkinCode": "ZZZZZZZZZZ", "locationId": LOC_A1});
    let key = new_key();
    for _ in 0..2 {
        let res = app.post_json("/checkins", &keyed(&key), &unknown).await;
        res.assert_entity_not_found("checkinCode");
        assert!(!replayed(&res));
    }
}

async fn keys_belong_to_one_principal_and_one_operation(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = new_key();
    let a = app
        .create(&keyed(&key), &pass_body(LOC_A1, &unique_email()))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    // Chain B, the same key, another body: its own request.
    let b = app
        .create(
            &Creds::chain_b().with(KEY, &key),
            &pass_body(LOC_B1, &unique_email()),
        )
        .await;
    assert_eq!(b.status, 201, "{}", b.text);
    assert!(!replayed(&b));
    assert_ne!(a.id(), b.id());
    // The same key on the other operation: its own request (a 404 here).
    let other = app
        .post_json(
            "/checkins",
            &keyed(&key),
            &json!({"checkinCode": "ZZZZZZZZZZ", "locationId": LOC_A1}),
        )
        .await;
    other.assert_entity_not_found("checkinCode");
    assert_eq!(app.count_passes(), 2);
}

async fn an_expired_key_runs_again_and_expired_keys_are_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = new_key();
    let body = pass_body(LOC_A1, &unique_email());
    assert_eq!(app.create(&keyed(&key), &body).await.status, 201);
    let count = || {
        app.db
            .sql_count("SELECT CAST(COUNT(*) AS TEXT) AS value FROM idempotency_keys")
    };
    assert_eq!(count(), 1);
    // A day and a minute later (set in the database, not waited for).
    app.sql("UPDATE idempotency_keys SET created_at = created_at - 86460");
    let mut other = pass_body(LOC_A1, &unique_email());
    other["firstName"] = json!("Later");
    let again = app.create(&keyed(&key), &other).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert!(!replayed(&again));
    assert_eq!(count(), 1, "the expired row gave way to the new one");
    // Expiry removes what is older than the TTL, and only that.
    app.create(&keyed(&new_key()), &pass_body(LOC_A1, &unique_email()))
        .await;
    app.sql(&format!(
        "UPDATE idempotency_keys SET created_at = created_at - 90000 WHERE idempotency_key = '{key}'"
    ));
    let deleted = guestpass::admin::prune_keys(app.store(), 24, 1000)
        .await
        .expect("prune keys");
    assert_eq!(deleted, 1);
    assert_eq!(count(), 1);
}

async fn answers_other_than_201_and_422_are_not_stored(backend: Backend) {
    let clock = FakeRelativeClock::default();
    let limited = clock.clone();
    let app = spawn_app_with(backend, move |c| {
        c.rate_limit = 1;
        c.rate_burst = 1;
        c.rate_clock = RateClock::Manual(limited);
    })
    .await;
    let key = new_key();
    let body = pass_body(LOC_A1, &unique_email());
    // 400: a broken body with the key; then the right body runs.
    let mut broken = body.clone();
    broken["validFrom"] = json!("tomorrow");
    assert_eq!(app.create(&keyed(&key), &broken).await.status, 400);
    clock.advance(std::time::Duration::from_secs(1));
    // 401: a wrong secret with the key.
    let wrong = Creds::none()
        .with("X-Chain-ID", CHAIN_A)
        .with("X-Chain-Secret", "wrong")
        .with(KEY, &key);
    assert_eq!(app.create(&wrong, &body).await.status, 401);
    // 404: an unknown location with the key.
    let mut nowhere = body.clone();
    nowhere["locationId"] = json!("nowhere");
    assert_eq!(app.create(&keyed(&key), &nowhere).await.status, 404);
    // 429: the principal's bucket is empty now.
    let limited = app.create(&keyed(&key), &body).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    clock.advance(std::time::Duration::from_secs(1));
    let res = app.create(&keyed(&key), &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert!(!replayed(&res));
    assert_eq!(app.count_passes(), 1);
}

/// A fresh key is looked up only inside its write; a retry whose write can no
/// longer run (its location was disabled since) still gets the stored answer,
/// and a new key gets the 404 of the missing location.
async fn a_create_whose_location_left_the_scope_is_still_replayed(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = new_key();
    let body = pass_body(LOC_A1, &unique_email());
    let first = app.create(&keyed(&key), &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    guestpass::admin::set_disabled(
        app.store(),
        guestpass::domain::PrincipalKind::Location,
        LOC_A1,
        true,
    )
    .await
    .expect("disable the location");
    let again = app.create(&keyed(&key), &body).await;
    assert_same_answer(&first, &again);
    assert!(replayed(&again));
    let fresh = app
        .create(&keyed(&new_key()), &pass_body(LOC_A1, &unique_email()))
        .await;
    assert_eq!(fresh.status, 404, "{}", fresh.text);
    assert_eq!(app.count_passes(), 1);
}

/// Keyed creates that reach the writer together (PostgreSQL: one statement
/// for the batch's keyed creates; SQLite: one group commit) each get the
/// answer they would get alone: a fresh key 201; a retry its stored answer;
/// a key with another body 422 `idempotencyKeyReused`; an expired key runs
/// again; an overlap 422, stored; two keys for one new person one 201 and
/// one 422; a key sent twice one 201 and its replay. The writer is held at
/// the commit of an earlier write so that all of them queue up behind it;
/// on PostgreSQL no batch may have failed and been run one write at a time.
async fn keyed_creates_written_together_each_get_their_own_answer(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.store.pg_batch_writers = 1).await;
    let (retried, reused, expired) = (new_key(), new_key(), new_key());
    let retried_body = pass_body(LOC_A1, &unique_email());
    let first = app.create(&keyed(&retried), &retried_body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let reused_body = pass_body(LOC_A1, &unique_email());
    assert_eq!(app.create(&keyed(&reused), &reused_body).await.status, 201);
    let expired_body = pass_body(LOC_A1, &unique_email());
    assert_eq!(
        app.create(&keyed(&expired), &expired_body).await.status,
        201
    );
    app.sql(&format!(
        "UPDATE idempotency_keys SET created_at = created_at - 86460 \
         WHERE idempotency_key = '{expired}'"
    ));
    let taken = pass_body(LOC_A1, &unique_email());
    assert_eq!(app.create(&Creds::chain_a(), &taken).await.status, 201);
    let person = pass_body(LOC_A1, &unique_email());
    let twice = (new_key(), pass_body(LOC_A1, &unique_email()));
    let rivals = (new_key(), new_key());

    // In the batch, in this order.
    let requests: Vec<(String, Value)> = vec![
        (new_key(), pass_body(LOC_A1, &unique_email())),
        (retried.clone(), retried_body.clone()),
        (reused.clone(), pass_body(LOC_A1, &unique_email())),
        (expired.clone(), pass_body(LOC_A1, &unique_email())),
        (new_key(), taken.clone()),
        (rivals.0.clone(), person.clone()),
        (rivals.1.clone(), person.clone()),
        twice.clone(),
        twice.clone(),
        (new_key(), pass_body(LOC_A1, &unique_email())),
    ];
    let passes_before = app.count_passes();
    let held_body = pass_body(LOC_A1, &unique_email());
    let held_creds = keyed(&new_key());
    let held = app.create(&held_creds, &held_body);
    let together = requests
        .iter()
        .map(|(key, body)| {
            let (app, creds) = (&app, keyed(key));
            async move { app.create(&creds, body).await }
        })
        .collect();
    let (held, answers) = app.written_together(held, together).await;
    assert_eq!(held.status, 201, "{}", held.text);

    let fresh = |res: &Resp| {
        assert_eq!(res.status, 201, "{}", res.text);
        assert!(!replayed(res), "a fresh key was answered as a replay");
    };
    fresh(&answers[0]);
    assert_same_answer(&first, &answers[1]);
    answers[2].assert_unprocessable("idempotencyKeyReused", "idempotencyKeyReused");
    fresh(&answers[3]);
    assert_eq!(answers[3].body["email"], requests[3].1["email"]);
    answers[4].assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated");
    assert!(!replayed(&answers[4]));
    let rival_statuses = [answers[5].status, answers[6].status];
    assert!(
        rival_statuses.contains(&201) && rival_statuses.contains(&422),
        "one person, two keys: {rival_statuses:?}"
    );
    let (original, replay) = if replayed(&answers[8]) {
        (&answers[7], &answers[8])
    } else {
        (&answers[8], &answers[7])
    };
    fresh(original);
    assert_same_answer(original, replay);
    fresh(&answers[9]);
    // Five passes: the two fresh keys, the expired key's, one rival, `twice`.
    assert_eq!(app.count_passes(), passes_before + 1 + 5);

    // Every answer was stored with its key: each retry gets it again.
    for (i, (key, body)) in requests.iter().enumerate() {
        if i == 2 {
            continue; // the reused key keeps its first answer
        }
        let again = app.create(&keyed(key), body).await;
        let first = if i == 7 || i == 8 {
            original
        } else {
            &answers[i]
        };
        assert_same_answer(first, &again);
    }
    let again = app.create(&keyed(&reused), &reused_body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert!(replayed(&again));
    if backend == Backend::Postgres {
        let splits = metric(&app.metrics().await, "guestpass_batch_splits_total");
        assert_eq!(splits, 0, "a batch failed and was run one write at a time");
    }
}
