//! Contract section 5, `DELETE /guest-passes/{guestPassId}` (cancelGuestPass):
//! 204, idempotent, who cancelled, scope, and the period it frees.

use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    cancel_is_204_with_an_empty_body_and_the_pass_then_reads_cancelled,
    cancelling_a_cancelled_pass_is_204_and_keeps_the_first_cancelled_at,
    x_user_id_is_recorded_as_who_cancelled_and_not_overwritten,
    x_user_id_over_256_characters_is_400_and_cancels_nothing,
    unknown_or_malformed_id_is_404_guest_pass_id,
    another_chains_pass_is_404_and_stays_uncancelled,
    another_locations_pass_is_404_for_a_location_level_caller_and_stays_uncancelled,
    a_cancelled_pass_frees_its_period_for_an_identical_create,
);

fn path(id: &str) -> String {
    format!("/guest-passes/{id}")
}

fn epoch_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn epoch_of(date: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(date.as_str().unwrap_or_default())
        .map(|d| d.timestamp())
        .unwrap_or_else(|e| panic!("{date}: {e}"))
}

fn cancelled_at_column(app: &TestApp, id: &str) -> Option<String> {
    app.sql_text(&format!(
        "SELECT CAST(cancelled_at AS TEXT) AS value FROM guest_passes WHERE id = '{id}'"
    ))
}

fn cancelled_by_column(app: &TestApp, id: &str) -> Option<String> {
    app.sql_text(&format!(
        "SELECT cancelled_by AS value FROM guest_passes WHERE id = '{id}'"
    ))
}

/// The pass as created, minus what cancelling is allowed to change.
fn unchanging(pass: &Value) -> Value {
    let mut pass = pass.clone();
    if let Some(object) = pass.as_object_mut() {
        object.remove("status");
        object.remove("cancelledAt");
    }
    pass
}

async fn cancel_is_204_with_an_empty_body_and_the_pass_then_reads_cancelled(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_ok(LOC_A1, &unique_email()).await;
    let id = created["guestPassId"].as_str().unwrap_or_default();
    let before = epoch_now();
    let res = app.delete(&path(id), &Creds::chain_a()).await;
    let after = epoch_now();
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(res.text, "");

    let read = app.get(&path(id), &Creds::chain_a()).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["status"], "CANCELLED");
    assert!(
        is_strict_date(&read.body["cancelledAt"]),
        "{}",
        read.body["cancelledAt"]
    );
    let at = epoch_of(&read.body["cancelledAt"]);
    assert!(
        (before..=after).contains(&at),
        "{at} not in {before}..={after}"
    );
    // The record is kept as it was, only cancelled.
    assert_eq!(unchanging(&read.body), unchanging(&created));
    let res = app
        .get("/guest-passes?status=CANCELLED", &Creds::chain_a())
        .await;
    assert_eq!(res.body["total"], 1, "{}", res.text);
    assert_eq!(res.body["guestPasses"][0], read.body);
    assert_eq!(app.count_passes(), 1);
}

async fn cancelling_a_cancelled_pass_is_204_and_keeps_the_first_cancelled_at(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_ok(LOC_A1, &unique_email()).await;
    let id = created["guestPassId"].as_str().unwrap_or_default();
    let res = app.delete(&path(id), &Creds::chain_a()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    // Pretend the first cancel happened long ago: a second cancel that
    // rewrote the time would show.
    app.sql(&format!(
        "UPDATE guest_passes SET cancelled_at = 1700000000 WHERE id = '{id}'"
    ));
    let first = app.get(&path(id), &Creds::chain_a()).await;
    assert_eq!(first.body["cancelledAt"], "2023-11-14T22:13:20Z");

    for _ in 0..2 {
        let res = app.delete(&path(id), &Creds::chain_a()).await;
        assert_eq!(res.status, 204, "{}", res.text);
        assert_eq!(res.text, "");
    }
    let read = app.get(&path(id), &Creds::chain_a()).await;
    assert_eq!(read.body, first.body);
    assert_eq!(read.body["status"], "CANCELLED");
    assert_eq!(cancelled_at_column(&app, id).as_deref(), Some("1700000000"));
}

async fn x_user_id_is_recorded_as_who_cancelled_and_not_overwritten(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_ok(LOC_A1, &unique_email()).await;
    let id = created["guestPassId"].as_str().unwrap_or_default();
    assert_eq!(cancelled_by_column(&app, id), None);
    let res = app
        .delete(
            &path(id),
            &Creds::chain_a().with("X-User-ID", "front-desk-7"),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(
        cancelled_by_column(&app, id).as_deref(),
        Some("front-desk-7")
    );
    let res = app
        .delete(&path(id), &Creds::chain_a().with("X-User-ID", "manager-2"))
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    let res = app.delete(&path(id), &Creds::chain_a()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(
        cancelled_by_column(&app, id).as_deref(),
        Some("front-desk-7")
    );
    // 256 characters is the maximum, and is recorded whole.
    let other = app.create_ok(LOC_A1, &unique_email()).await;
    let other_id = other["guestPassId"].as_str().unwrap_or_default();
    let user = "u".repeat(256);
    let res = app
        .delete(&path(other_id), &Creds::chain_a().with("X-User-ID", &user))
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(cancelled_by_column(&app, other_id), Some(user));
}

async fn x_user_id_over_256_characters_is_400_and_cancels_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_ok(LOC_A1, &unique_email()).await;
    let id = created["guestPassId"].as_str().unwrap_or_default();
    let res = app
        .delete(
            &path(id),
            &Creds::chain_a().with("X-User-ID", &"u".repeat(257)),
        )
        .await;
    res.assert_bad_request(json!({"X-User-ID": "tooLong"}));
    let read = app.get(&path(id), &Creds::chain_a()).await;
    assert_eq!(read.body["status"], "UPCOMING", "{}", read.text);
    assert_eq!(cancelled_at_column(&app, id), None);
}

async fn unknown_or_malformed_id_is_404_guest_pass_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_ok(LOC_A1, &unique_email()).await;
    let id = created["guestPassId"].as_str().unwrap_or_default();
    for unknown in [
        uuid::Uuid::new_v4().to_string(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
        "not-a-uuid".to_owned(),
        "123".to_owned(),
        format!("{id}0"),
        id[..35].to_owned(),
        "x%27%20OR%20%271%27%3D%271".to_owned(),
    ] {
        let res = app.delete(&path(&unknown), &Creds::chain_a()).await;
        res.assert_entity_not_found("guestPassId");
    }
    let read = app.get(&path(id), &Creds::chain_a()).await;
    assert_eq!(read.body["status"], "UPCOMING", "{}", read.text);
}

async fn another_chains_pass_is_404_and_stays_uncancelled(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app.create_ok(LOC_A1, &unique_email()).await;
    let id = created["guestPassId"].as_str().unwrap_or_default();
    let res = app
        .delete(&path(id), &Creds::chain_b().with("X-User-ID", "intruder"))
        .await;
    res.assert_entity_not_found("guestPassId");
    let read = app.get(&path(id), &Creds::chain_a()).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["status"], "UPCOMING");
    assert!(read.body.get("cancelledAt").is_none(), "{}", read.text);
    assert_eq!(cancelled_at_column(&app, id), None);
    assert_eq!(cancelled_by_column(&app, id), None);
    // Chain B's own pass, and chain A at its other location, work.
    let res = app
        .create(&Creds::chain_b(), &pass_body(LOC_B1, &unique_email()))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let res = app.delete(&path(&res.id()), &Creds::chain_b()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    let at_a2 = app.create_ok(LOC_A2, &unique_email()).await;
    let res = app
        .delete(
            &path(at_a2["guestPassId"].as_str().unwrap_or_default()),
            &Creds::chain_a(),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
}

async fn another_locations_pass_is_404_for_a_location_level_caller_and_stays_uncancelled(
    backend: Backend,
) {
    let app = spawn_with_levels(backend, "location").await;
    let a1 = Creds::location(LOC_A1, LOC_A1_SECRET);
    let a2 = Creds::location(LOC_A2, LOC_A2_SECRET);
    let res = app.create(&a1, &pass_body(LOC_A1, &unique_email())).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.id();
    let res = app.delete(&path(&id), &a2).await;
    res.assert_entity_not_found("guestPassId");
    let read = app.get(&path(&id), &a1).await;
    assert_eq!(read.body["status"], "UPCOMING", "{}", read.text);
    assert_eq!(cancelled_at_column(&app, &id), None);
    // Its own location may cancel it.
    let res = app.delete(&path(&id), &a1).await;
    assert_eq!(res.status, 204, "{}", res.text);
    let read = app.get(&path(&id), &a1).await;
    assert_eq!(read.body["status"], "CANCELLED", "{}", read.text);
}

async fn a_cancelled_pass_frees_its_period_for_an_identical_create(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = pass_body(LOC_A1, &unique_email());
    let first = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let res = app.create(&Creds::chain_a(), &body).await;
    res.assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated");

    let res = app.delete(&path(&first.id()), &Creds::chain_a()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    let second = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.body["status"], "UPCOMING");
    assert_ne!(second.id(), first.id());
    // The new pass blocks the period again; the cancelled one stays cancelled.
    let res = app.create(&Creds::chain_a(), &body).await;
    res.assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated");
    let read = app.get(&path(&first.id()), &Creds::chain_a()).await;
    assert_eq!(read.body["status"], "CANCELLED", "{}", read.text);
    assert_eq!(app.count_passes(), 2);
}
