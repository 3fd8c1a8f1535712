//! Contract section 5, `POST /checkins` (checkinGuest) and
//! `GET /guest-passes/{guestPassId}/checkins` (listCheckins).

use awc::http::Method;
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    checkin_of_an_active_pass_is_201_with_the_contract_shape_and_is_listed,
    each_body_field_reason_is_reported,
    both_bad_fields_are_reported_together,
    a_body_that_is_not_a_json_object_is_400_body_wrong_format,
    unknown_checkin_code_is_404_checkin_code,
    unknown_or_out_of_scope_location_is_404_location_id,
    another_chains_pass_is_404_checkin_code,
    a_location_level_caller_checks_in_only_passes_of_its_location,
    cancelled_pass_is_422_guest_pass_cancelled,
    expired_pass_is_422_guest_pass_expired,
    upcoming_pass_is_422_guest_pass_not_yet_valid,
    active_pass_at_another_location_of_the_chain_is_422_wrong_location,
    checkins_are_listed_oldest_first,
    a_pass_without_checkins_lists_an_empty_array,
    listing_checkins_of_an_unknown_or_foreign_pass_is_404_guest_pass_id,
    twenty_concurrent_checkins_of_one_pass_are_all_201_and_all_listed,
    checkins_written_together_each_get_their_own_answer,
);

fn epoch_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn date(epoch: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(epoch, 0)
        .expect("valid time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn epoch_of(date: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(date.as_str().unwrap_or_default())
        .map(|d| d.timestamp())
        .unwrap_or_else(|e| panic!("{date}: {e}"))
}

/// A pass valid from an hour ago for a week (a start in the past is allowed).
fn active_body(location: &str) -> Value {
    let mut body = pass_body_at(location, &unique_email(), 0, 7);
    body["validFrom"] = json!(now_plus(-3600));
    body
}

async fn create_active(app: &TestApp, creds: &Creds, location: &str) -> Value {
    let res = app.create(creds, &active_body(location)).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["status"], "ACTIVE", "{}", res.text);
    res.body
}

fn code(pass: &Value) -> &str {
    pass["checkinCode"].as_str().unwrap_or_default()
}

fn id(pass: &Value) -> &str {
    pass["guestPassId"].as_str().unwrap_or_default()
}

fn list_path(pass: &Value) -> String {
    format!("/guest-passes/{}/checkins", id(pass))
}

fn count_checkins(app: &TestApp) -> i64 {
    app.sql_text("SELECT CAST(COUNT(*) AS TEXT) AS value FROM checkins")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

async fn post_raw(app: &TestApp, body: &str) -> Resp {
    app.raw(
        Method::POST,
        &app.url("/checkins"),
        &Creds::chain_a(),
        Some(("application/json", body.as_bytes().to_vec())),
    )
    .await
}

async fn checkin_of_an_active_pass_is_201_with_the_contract_shape_and_is_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let before = epoch_now();
    let res = app.checkin(&Creds::chain_a(), code(&pass), LOC_A1).await;
    let after = epoch_now();
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let mut keys: Vec<&str> = res
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["checkedInAt", "checkinId", "guestPassId", "locationId"]
    );
    let checkin_id = res.body["checkinId"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(checkin_id).is_ok(), "{checkin_id}");
    assert_eq!(res.body["guestPassId"], pass["guestPassId"]);
    assert_eq!(res.body["locationId"], LOC_A1);
    assert!(is_strict_date(&res.body["checkedInAt"]), "{}", res.text);
    let at = epoch_of(&res.body["checkedInAt"]);
    assert!(
        (before..=after).contains(&at),
        "{at} not in {before}..={after}"
    );

    let list = app.get(&list_path(&pass), &Creds::chain_a()).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body, json!({"checkins": [res.body.clone()]}));
    // A pass may be used again while it is active: each visit is recorded.
    let again = app.checkin(&Creds::chain_a(), code(&pass), LOC_A1).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_ne!(again.body["checkinId"], res.body["checkinId"]);
    let list = app.get(&list_path(&pass), &Creds::chain_a()).await;
    assert_eq!(list.body["checkins"].as_array().map(Vec::len), Some(2));
    // Checking in changes nothing about the pass.
    let read = app
        .get(&format!("/guest-passes/{}", id(&pass)), &Creds::chain_a())
        .await;
    assert_eq!(read.body, pass);
}

async fn each_body_field_reason_is_reported(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let valid = json!({"checkinCode": code(&pass), "locationId": LOC_A1});
    let long = |n: usize| Value::String("A".repeat(n));
    let cases: Vec<(&str, Option<Value>, &str)> = vec![
        ("checkinCode", None, "missing"),
        ("checkinCode", Some(Value::Null), "missing"),
        ("checkinCode", Some(json!("")), "missing"),
        ("checkinCode", Some(json!("   ")), "missing"),
        ("checkinCode", Some(json!(1234567890)), "wrongFormat"),
        ("checkinCode", Some(json!(true)), "wrongFormat"),
        ("checkinCode", Some(json!([code(&pass)])), "wrongFormat"),
        (
            "checkinCode",
            Some(json!({"code": code(&pass)})),
            "wrongFormat",
        ),
        ("checkinCode", Some(long(11)), "tooLong"),
        (
            "checkinCode",
            Some(json!(format!("{}X", code(&pass)))),
            "tooLong",
        ),
        ("locationId", None, "missing"),
        ("locationId", Some(Value::Null), "missing"),
        ("locationId", Some(json!("")), "missing"),
        ("locationId", Some(json!(" \t ")), "missing"),
        ("locationId", Some(json!(17)), "wrongFormat"),
        ("locationId", Some(json!([LOC_A1])), "wrongFormat"),
        ("locationId", Some(long(65)), "tooLong"),
    ];
    for (field, value, reason) in cases {
        let mut body = valid.clone();
        match &value {
            None => {
                body.as_object_mut().map(|o| o.remove(field));
            }
            Some(v) => body[field] = v.clone(),
        }
        let res = app.post_json("/checkins", &Creds::chain_a(), &body).await;
        assert_eq!(res.status, 400, "{field}={value:?}: {}", res.text);
        res.assert_bad_request(json!({ field: reason }));
    }
    // At the maximum lengths the values are looked up, not refused.
    let res = app.checkin(&Creds::chain_a(), "ZZZZZZZZZZ", LOC_A1).await;
    res.assert_entity_not_found("checkinCode");
    let res = app
        .checkin(&Creds::chain_a(), code(&pass), &"a".repeat(64))
        .await;
    res.assert_entity_not_found("locationId");
    assert_eq!(count_checkins(&app), 0);
}

async fn both_bad_fields_are_reported_together(backend: Backend) {
    let app = spawn_app(backend).await;
    for (body, errors) in [
        (
            json!({}),
            json!({"checkinCode": "missing", "locationId": "missing"}),
        ),
        (
            json!({"checkinCode": null, "locationId": ""}),
            json!({"checkinCode": "missing", "locationId": "missing"}),
        ),
        (
            json!({"checkinCode": 7, "locationId": "x".repeat(65)}),
            json!({"checkinCode": "wrongFormat", "locationId": "tooLong"}),
        ),
        (
            json!({"checkinCode": "A".repeat(11), "locationId": false}),
            json!({"checkinCode": "tooLong", "locationId": "wrongFormat"}),
        ),
    ] {
        let res = app.post_json("/checkins", &Creds::chain_a(), &body).await;
        res.assert_bad_request(errors);
    }
    assert_eq!(count_checkins(&app), 0);
}

async fn a_body_that_is_not_a_json_object_is_400_body_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let valid = json!({"checkinCode": code(&pass), "locationId": LOC_A1}).to_string();
    for body in [
        "{".to_owned(),
        valid[..valid.len() - 1].to_owned(),
        format!("{valid},"),
        "{'checkinCode': 'X'}".to_owned(),
        "not json".to_owned(),
        "[]".to_owned(),
        format!("[{valid}]"),
        "\"checkin\"".to_owned(),
        "42".to_owned(),
        "null".to_owned(),
    ] {
        let res = post_raw(&app, &body).await;
        assert_eq!(res.status, 400, "{body}: {}", res.text);
        res.assert_bad_request(json!({"body": "wrongFormat"}));
    }
    assert_eq!(count_checkins(&app), 0);
    // The same request, well formed, works.
    let res = post_raw(&app, &valid).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

async fn unknown_checkin_code_is_404_checkin_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let real = code(&pass);
    for unknown in [
        "ZZZZZZZZZZ".to_owned(),
        real[..9].to_owned(),
        format!("{}%", &real[..9]),
        format!("{}_", &real[..9]),
        "%".to_owned(),
    ] {
        let res = app.checkin(&Creds::chain_a(), &unknown, LOC_A1).await;
        res.assert_entity_not_found("checkinCode");
    }
    assert_eq!(count_checkins(&app), 0);
}

async fn unknown_or_out_of_scope_location_is_404_location_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    for location in ["no-such-location", LOC_B1, "A-1"] {
        let res = app.checkin(&Creds::chain_a(), code(&pass), location).await;
        res.assert_entity_not_found("locationId");
    }
    let b_pass = create_active(&app, &Creds::chain_b(), LOC_B1).await;
    let res = app.checkin(&Creds::chain_b(), code(&b_pass), LOC_A1).await;
    res.assert_entity_not_found("locationId");
    assert_eq!(count_checkins(&app), 0);
    let list = app.get(&list_path(&pass), &Creds::chain_a()).await;
    assert_eq!(list.body, json!({"checkins": []}));
}

async fn another_chains_pass_is_404_checkin_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let a_pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let res = app.checkin(&Creds::chain_b(), code(&a_pass), LOC_B1).await;
    res.assert_entity_not_found("checkinCode");
    assert_eq!(count_checkins(&app), 0);
    // Its own chain checks it in.
    let res = app.checkin(&Creds::chain_a(), code(&a_pass), LOC_A1).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

async fn a_location_level_caller_checks_in_only_passes_of_its_location(backend: Backend) {
    let app = spawn_with_levels(backend, "location").await;
    let a1 = Creds::location(LOC_A1, LOC_A1_SECRET);
    let a2 = Creds::location(LOC_A2, LOC_A2_SECRET);
    let pass = create_active(&app, &a1, LOC_A1).await;
    // The pass of a-1 is outside a-2's scope: as if it did not exist.
    let res = app.checkin(&a2, code(&pass), LOC_A2).await;
    res.assert_entity_not_found("checkinCode");
    // a-1 itself is outside a-2's scope.
    let res = app.checkin(&a2, code(&pass), LOC_A1).await;
    res.assert_entity_not_found("locationId");
    assert_eq!(count_checkins(&app), 0);
    let res = app.get(&list_path(&pass), &a2).await;
    res.assert_entity_not_found("guestPassId");

    let res = app.checkin(&a1, code(&pass), LOC_A1).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let list = app.get(&list_path(&pass), &a1).await;
    assert_eq!(list.body, json!({"checkins": [res.body]}));
}

/// Asserts the 422 reason, and that nothing was recorded.
async fn assert_checkin_fails(app: &TestApp, pass: &Value, location: &str, reason: &str) {
    let res = app.checkin(&Creds::chain_a(), code(pass), location).await;
    res.assert_unprocessable("checkinFailed", reason);
    assert_eq!(count_checkins(app), 0);
    let list = app.get(&list_path(pass), &Creds::chain_a()).await;
    assert_eq!(list.body, json!({"checkins": []}), "{}", list.text);
}

async fn cancelled_pass_is_422_guest_pass_cancelled(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let res = app
        .delete(&format!("/guest-passes/{}", id(&pass)), &Creds::chain_a())
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_checkin_fails(&app, &pass, LOC_A1, "guestPassCancelled").await;
    // An upcoming pass, cancelled, is refused for the same reason.
    let upcoming = app.create_ok(LOC_A1, &unique_email()).await;
    let res = app
        .delete(
            &format!("/guest-passes/{}", id(&upcoming)),
            &Creds::chain_a(),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_checkin_fails(&app, &upcoming, LOC_A1, "guestPassCancelled").await;
}

async fn expired_pass_is_422_guest_pass_expired(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let now = epoch_now();
    app.sql(&format!(
        "UPDATE guest_passes SET valid_from = {}, valid_until = {} WHERE id = '{}'",
        now - 10 * 86_400,
        now - 3 * 86_400,
        id(&pass)
    ));
    assert_checkin_fails(&app, &pass, LOC_A1, "guestPassExpired").await;
    // validUntil itself is no longer valid: [validFrom, validUntil).
    let until = epoch_now();
    app.sql(&format!(
        "UPDATE guest_passes SET valid_from = {}, valid_until = {until} WHERE id = '{}'",
        until - 86_400,
        id(&pass)
    ));
    assert_checkin_fails(&app, &pass, LOC_A1, "guestPassExpired").await;
}

async fn upcoming_pass_is_422_guest_pass_not_yet_valid(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    assert_eq!(pass["status"], "UPCOMING");
    assert_checkin_fails(&app, &pass, LOC_A1, "guestPassNotYetValid").await;
    // Once its period has started (moved in the database) it is accepted.
    app.sql(&format!(
        "UPDATE guest_passes SET valid_from = {} WHERE id = '{}'",
        epoch_now() - 60,
        id(&pass)
    ));
    let res = app.checkin(&Creds::chain_a(), code(&pass), LOC_A1).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

async fn active_pass_at_another_location_of_the_chain_is_422_wrong_location(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    assert_checkin_fails(&app, &pass, LOC_A2, "wrongLocation").await;
    let res = app.checkin(&Creds::chain_a(), code(&pass), LOC_A1).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["locationId"], LOC_A1);
}

async fn checkins_are_listed_oldest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let other = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let mut made = Vec::new();
    for _ in 0..3 {
        let res = app.checkin(&Creds::chain_a(), code(&pass), LOC_A1).await;
        assert_eq!(res.status, 201, "{}", res.text);
        made.push(res.body);
    }
    let res = app.checkin(&Creds::chain_a(), code(&other), LOC_A1).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let other_checkin = res.body;
    // Second resolution: give the visits distinct times, the first made the newest.
    let now = epoch_now();
    let times = [now - 10, now - 300, now - 100];
    for (checkin, at) in made.iter_mut().zip(times) {
        app.sql(&format!(
            "UPDATE checkins SET checked_in_at = {at} WHERE id = '{}'",
            checkin["checkinId"].as_str().unwrap_or_default()
        ));
        checkin["checkedInAt"] = json!(date(at));
    }
    let list = app.get(&list_path(&pass), &Creds::chain_a()).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        list.body,
        json!({"checkins": [made[1].clone(), made[2].clone(), made[0].clone()]})
    );
    // Another pass's visits are its own.
    let list = app.get(&list_path(&other), &Creds::chain_a()).await;
    assert_eq!(list.body, json!({"checkins": [other_checkin]}));
}

async fn a_pass_without_checkins_lists_an_empty_array(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let list = app.get(&list_path(&pass), &Creds::chain_a()).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.header("content-type"), Some("application/json"));
    assert_eq!(list.body, json!({"checkins": []}));
}

async fn listing_checkins_of_an_unknown_or_foreign_pass_is_404_guest_pass_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let res = app.checkin(&Creds::chain_a(), code(&pass), LOC_A1).await;
    assert_eq!(res.status, 201, "{}", res.text);
    for unknown in [
        uuid::Uuid::new_v4().to_string(),
        "not-a-uuid".to_owned(),
        format!("{}0", id(&pass)),
    ] {
        let res = app
            .get(
                &format!("/guest-passes/{unknown}/checkins"),
                &Creds::chain_a(),
            )
            .await;
        res.assert_entity_not_found("guestPassId");
    }
    let res = app.get(&list_path(&pass), &Creds::chain_b()).await;
    res.assert_entity_not_found("guestPassId");
    let res = app.get(&list_path(&pass), &Creds::chain_a()).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

async fn twenty_concurrent_checkins_of_one_pass_are_all_201_and_all_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, &Creds::chain_a(), LOC_A1).await;
    let creds = Creds::chain_a();
    let requests = (0..20).map(|_| app.checkin(&creds, code(&pass), LOC_A1));
    let responses = futures_util::future::join_all(requests).await;
    let mut ids: Vec<String> = Vec::new();
    for res in &responses {
        assert_eq!(res.status, 201, "{}", res.text);
        ids.push(
            res.body["checkinId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    let list = app.get(&list_path(&pass), &Creds::chain_a()).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let mut listed: Vec<String> = list.body["checkins"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["checkinId"].as_str().unwrap_or_default().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, ids);
    assert_eq!(count_checkins(&app), 20);
}

/// Check-ins that queue behind a write held at its commit go out together
/// (on PostgreSQL the batch's passes read by one statement and its visits
/// inserted by another): each is still decided on its own pass, in its own
/// caller's scope, and only the admitted ones record a visit.
async fn checkins_written_together_each_get_their_own_answer(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.store.pg_batch_writers = 1).await;
    let (a, b) = (Creds::chain_a(), Creds::chain_b());
    let active = create_active(&app, &a, LOC_A1).await;
    let b_pass = create_active(&app, &b, LOC_B1).await;
    let cancelled = create_active(&app, &a, LOC_A1).await;
    let res = app
        .delete(&format!("/guest-passes/{}", id(&cancelled)), &a)
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    let upcoming = app.create_ok(LOC_A1, &unique_email()).await;
    let expired = create_active(&app, &a, LOC_A1).await;
    app.sql(&format!(
        "UPDATE guest_passes SET valid_from = {}, valid_until = {} WHERE id = '{}'",
        epoch_now() - 10 * 86_400,
        epoch_now() - 3 * 86_400,
        id(&expired)
    ));
    let held_pass = create_active(&app, &a, LOC_A1).await;

    // In the batch, in this order.
    let requests: Vec<(&Creds, &str, &str)> = vec![
        (&a, code(&active), LOC_A1),
        (&a, code(&active), LOC_A1),
        (&a, "ZZZZZZZZZZ", LOC_A1),
        (&a, code(&b_pass), LOC_A1),
        (&a, code(&cancelled), LOC_A1),
        (&a, code(&upcoming), LOC_A1),
        (&a, code(&expired), LOC_A1),
        (&a, code(&active), LOC_A2),
        (&b, code(&b_pass), LOC_B1),
    ];
    let together = requests
        .iter()
        .map(|(creds, code, door)| app.checkin(creds, code, door))
        .collect();
    let held = app.checkin(&a, code(&held_pass), LOC_A1);
    let (held, answers) = app.written_together(held, together).await;
    assert_eq!(held.status, 201, "{}", held.text);

    for (i, res) in answers.iter().enumerate() {
        let (_, _, door) = requests[i];
        match i {
            0 | 1 | 8 => {
                assert_eq!(res.status, 201, "{i}: {}", res.text);
                assert_eq!(res.body["locationId"], door, "{i}: {}", res.text);
            }
            2 | 3 => res.assert_entity_not_found("checkinCode"),
            4 => res.assert_unprocessable("checkinFailed", "guestPassCancelled"),
            5 => res.assert_unprocessable("checkinFailed", "guestPassNotYetValid"),
            6 => res.assert_unprocessable("checkinFailed", "guestPassExpired"),
            _ => res.assert_unprocessable("checkinFailed", "wrongLocation"),
        }
    }
    assert_eq!(answers[0].body["guestPassId"], active["guestPassId"]);
    assert_eq!(answers[8].body["guestPassId"], b_pass["guestPassId"]);
    assert_ne!(answers[0].body["checkinId"], answers[1].body["checkinId"]);

    // Exactly the admitted visits were recorded, each on its own pass.
    let mut expected: Vec<String> = answers[..2]
        .iter()
        .map(|res| {
            res.body["checkinId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    expected.sort();
    assert_eq!(visit_ids(&app, &a, &active).await, expected);
    assert_eq!(visit_ids(&app, &b, &b_pass).await.len(), 1);
    for pass in [&cancelled, &upcoming, &expired] {
        assert_eq!(visit_ids(&app, &a, pass).await, Vec::<String>::new());
    }
    assert_eq!(count_checkins(&app), 4);
    if backend == Backend::Postgres {
        let splits = metric(&app.metrics().await, "guestpass_batch_splits_total");
        assert_eq!(splits, 0, "a batch failed and was run one write at a time");
    }
}

/// The ids of a pass's listed visits, sorted.
async fn visit_ids(app: &TestApp, creds: &Creds, pass: &Value) -> Vec<String> {
    let res = app.get(&list_path(pass), creds).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let mut ids: Vec<String> = res.body["checkins"]
        .as_array()
        .map(|visits| {
            visits
                .iter()
                .map(|v| v["checkinId"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}
