//! Contract section 5, `GET /guest-passes/{guestPassId}` (getGuestPass), and
//! section 4, the guest pass as it is read back: its shape and its status.

use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    an_existing_pass_is_200_and_equals_the_created_body,
    an_unknown_id_is_404_entity_not_found_guest_pass_id,
    malformed_and_non_canonical_ids_are_404_guest_pass_id,
    a_2000_character_id_is_404_without_echoing_it,
    a_pass_of_another_chain_is_404_guest_pass_id,
    the_pass_has_exactly_the_contract_fields,
    phone_is_left_out_when_not_set,
    cancelled_at_appears_only_on_a_cancelled_pass,
    status_is_upcoming_before_valid_from,
    status_is_active_from_valid_from_on,
    status_is_expired_from_valid_until_on,
    status_is_cancelled_after_delete_with_cancelled_at,
    cancelled_wins_over_expired,
    status_is_computed_at_read_time,
    reads_sent_together_each_get_their_own_pass_in_their_own_scope,
);

const FIELDS: [&str; 11] = [
    "guestPassId",
    "locationId",
    "firstName",
    "lastName",
    "email",
    "phone",
    "validFrom",
    "validUntil",
    "status",
    "checkinCode",
    "createdAt",
];

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn sorted(fields: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
    v.sort();
    v
}

fn pass_path(id: &str) -> String {
    format!("/guest-passes/{id}")
}

async fn read(app: &TestApp, id: &str) -> Resp {
    let res = app.get(&pass_path(id), &Creds::chain_a()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res
}

/// Moves a pass's period straight in the database (epoch seconds).
fn set_period(app: &TestApp, id: &str, valid_from: i64, valid_until: i64) {
    app.sql(&format!(
        "UPDATE guest_passes SET valid_from = {valid_from}, valid_until = {valid_until} WHERE id = '{id}'"
    ));
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn epoch(date: &Value) -> i64 {
    date.as_str()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .map(|t| t.timestamp())
        .unwrap_or(i64::MIN)
}

async fn an_existing_pass_is_200_and_equals_the_created_body(backend: Backend) {
    let app = spawn_app(backend).await;
    for phone in [None, Some("+49 30 1234567")] {
        let mut body = pass_body(LOC_A2, &unique_email());
        if let Some(phone) = phone {
            body["phone"] = json!(phone);
        }
        let created = app.create(&Creds::chain_a(), &body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let res = app.get(&pass_path(&created.id()), &Creds::chain_a()).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.header("content-type"), Some("application/json"));
        assert_eq!(res.body, created.body);
        // Reading twice changes nothing.
        assert_eq!(read(&app, &created.id()).await.body, created.body);
    }
}

async fn an_unknown_id_is_404_entity_not_found_guest_pass_id(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_ok(LOC_A1, &unique_email()).await;
    for id in [
        uuid::Uuid::new_v4().to_string(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
        "ffffffff-ffff-4fff-bfff-ffffffffffff".to_owned(),
    ] {
        let res = app.get(&pass_path(&id), &Creds::chain_a()).await;
        res.assert_entity_not_found("guestPassId");
        assert_eq!(res.header("content-type"), Some("application/json"));
    }
}

async fn malformed_and_non_canonical_ids_are_404_guest_pass_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let id = pass["guestPassId"].as_str().unwrap_or_default().to_owned();
    let simple = id.replace('-', "");
    // Upper case, all of it or only its first letter (a v4 UUID has letters
    // in all but a negligible share of cases; then those two are skipped).
    let one_upper = match id.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => format!("{}{}{}", &id[..i], id[i..=i].to_uppercase(), &id[i + 1..]),
        None => id.clone(),
    };
    let ids = [
        id.to_uppercase(),
        one_upper,
        simple,
        format!("%7B{id}%7D"),
        format!("urn:uuid:{id}"),
        format!("{id}%20"),
        format!("%20{id}"),
        format!("{id}0"),
        id[..id.len() - 1].to_owned(),
        "not-a-uuid".to_owned(),
        "123".to_owned(),
        "null".to_owned(),
        "%00".to_owned(),
        "1%27%20OR%20%271%27=%271".to_owned(),
        "x".repeat(36),
    ];
    for bad in ids.into_iter().filter(|bad| *bad != id) {
        let res = app.get(&pass_path(&bad), &Creds::chain_a()).await;
        assert_eq!(res.status, 404, "{bad}: {}", res.text);
        res.assert_entity_not_found("guestPassId");
    }
    // The canonical form still works.
    assert_eq!(read(&app, &id).await.body, pass);
}

async fn a_2000_character_id_is_404_without_echoing_it(backend: Backend) {
    let app = spawn_app(backend).await;
    for long in ["a".repeat(2000), "0123456789".repeat(200)] {
        let res = app.get(&pass_path(&long), &Creds::chain_a()).await;
        res.assert_entity_not_found("guestPassId");
        assert!(!res.text.contains(&long[..200]), "echoed: {}", res.text);
        assert!(res.text.len() < 500, "{} bytes", res.text.len());
    }
}

async fn a_pass_of_another_chain_is_404_guest_pass_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    app.get(&pass_path(id), &Creds::chain_b())
        .await
        .assert_entity_not_found("guestPassId");
    // And the other way round.
    let theirs = app
        .create(&Creds::chain_b(), &pass_body(LOC_B1, &unique_email()))
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    app.get(&pass_path(&theirs.id()), &Creds::chain_a())
        .await
        .assert_entity_not_found("guestPassId");
    let own = app.get(&pass_path(&theirs.id()), &Creds::chain_b()).await;
    assert_eq!(own.body, theirs.body);
}

async fn the_pass_has_exactly_the_contract_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = pass_body(LOC_A1, "Jane.Doe@Example.com");
    body["phone"] = json!("+49 30 1234567");
    body["firstName"] = json!(" Jane ");
    let created = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let res = read(&app, &created.id()).await;
    let pass = &res.body;
    assert_eq!(keys(pass), sorted(&FIELDS), "{}", res.text);
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    let parsed = uuid::Uuid::parse_str(id).expect("a UUID");
    assert_eq!(parsed.hyphenated().to_string(), id);
    assert_eq!(pass["locationId"], LOC_A1);
    assert_eq!(pass["firstName"], "Jane");
    assert_eq!(pass["lastName"], "Doe");
    assert_eq!(pass["email"], "Jane.Doe@Example.com");
    assert_eq!(pass["phone"], "+49 30 1234567");
    assert_eq!(pass["validFrom"], body["validFrom"]);
    assert_eq!(pass["validUntil"], body["validUntil"]);
    assert_eq!(pass["status"], "UPCOMING");
    let code = pass["checkinCode"].as_str().unwrap_or_default();
    assert_eq!(code.len(), 10, "{code}");
    assert!(
        code.bytes()
            .all(|c| c.is_ascii_alphanumeric() && !b"01OILoil".contains(&c)),
        "{code}"
    );
    assert!(is_strict_date(&pass["createdAt"]));
    let created_at = epoch(&pass["createdAt"]);
    assert!((created_at - now()).abs() < 120, "{}", pass["createdAt"]);
    // Every value is a string.
    for field in FIELDS {
        assert!(pass[field].is_string(), "{field}: {}", pass[field]);
    }
}

async fn phone_is_left_out_when_not_set(backend: Backend) {
    let app = spawn_app(backend).await;
    for phone in [None, Some(Value::Null)] {
        let mut body = pass_body(LOC_A1, &unique_email());
        if let Some(p) = phone {
            body["phone"] = p;
        }
        let created = app.create(&Creds::chain_a(), &body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let res = read(&app, &created.id()).await;
        assert!(res.body.get("phone").is_none(), "{}", res.text);
        assert!(!res.text.contains("\"phone\""), "{}", res.text);
        assert_eq!(
            keys(&res.body),
            sorted(
                &FIELDS
                    .iter()
                    .copied()
                    .filter(|f| *f != "phone")
                    .collect::<Vec<_>>()
            )
        );
    }
}

async fn cancelled_at_appears_only_on_a_cancelled_pass(backend: Backend) {
    let app = spawn_app(backend).await;
    // Upcoming, active and expired passes have none.
    let upcoming = app.create_ok(LOC_A1, &unique_email()).await;
    let mut active_body = pass_body(LOC_A1, &unique_email());
    active_body["validFrom"] = json!(now_plus(-60));
    let active = app.create(&Creds::chain_a(), &active_body).await;
    assert_eq!(active.status, 201, "{}", active.text);
    let expired = app.create_ok(LOC_A2, &unique_email()).await;
    let expired_id = expired["guestPassId"].as_str().unwrap_or_default();
    set_period(&app, expired_id, now() - 7200, now() - 3600);
    for (id, status) in [
        (
            upcoming["guestPassId"].as_str().unwrap_or_default(),
            "UPCOMING",
        ),
        (
            active.body["guestPassId"].as_str().unwrap_or_default(),
            "ACTIVE",
        ),
        (expired_id, "EXPIRED"),
    ] {
        let res = read(&app, id).await;
        assert_eq!(res.body["status"], status, "{}", res.text);
        assert!(res.body.get("cancelledAt").is_none(), "{}", res.text);
        assert!(!res.text.contains("cancelledAt"), "{}", res.text);
    }
}

async fn status_is_upcoming_before_valid_from(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    assert_eq!(pass["status"], "UPCOMING");
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    assert_eq!(read(&app, id).await.body["status"], "UPCOMING");
    // Starting in a minute is still upcoming.
    set_period(&app, id, now() + 60, now() + 3600);
    assert_eq!(read(&app, id).await.body["status"], "UPCOMING");
}

async fn status_is_active_from_valid_from_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = pass_body(LOC_A1, &unique_email());
    body["validFrom"] = json!(now_plus(-3600));
    let created = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["status"], "ACTIVE");
    let id = created.id();
    assert_eq!(read(&app, &id).await.body["status"], "ACTIVE");
    // An upcoming pass whose validFrom is moved to now is active: the
    // period includes its first second. Later reads only see a later now.
    let pass = app.create_ok(LOC_A2, &unique_email()).await;
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    let start = now();
    set_period(&app, id, start, start + 3600);
    let res = read(&app, id).await;
    assert_eq!(res.body["status"], "ACTIVE", "{}", res.text);
    assert_eq!(epoch(&res.body["validFrom"]), start);
}

async fn status_is_expired_from_valid_until_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    let (from, until) = (now() - 8 * 86_400, now() - 86_400);
    set_period(&app, id, from, until);
    let res = read(&app, id).await;
    assert_eq!(res.body["status"], "EXPIRED", "{}", res.text);
    assert_eq!(epoch(&res.body["validFrom"]), from);
    assert_eq!(epoch(&res.body["validUntil"]), until);
    assert!(is_strict_date(&res.body["validFrom"]));
    assert!(is_strict_date(&res.body["validUntil"]));
    // validUntil itself is no longer valid: [validFrom, validUntil).
    let end = now();
    set_period(&app, id, end - 3600, end);
    let res = read(&app, id).await;
    assert_eq!(res.body["status"], "EXPIRED", "{}", res.text);
}

async fn status_is_cancelled_after_delete_with_cancelled_at(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    let before = now();
    let res = app.delete(&pass_path(id), &Creds::chain_a()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    let after = now();
    let res = read(&app, id).await;
    assert_eq!(res.body["status"], "CANCELLED", "{}", res.text);
    assert!(is_strict_date(&res.body["cancelledAt"]), "{}", res.text);
    let at = epoch(&res.body["cancelledAt"]);
    assert!(
        (before..=after).contains(&at),
        "{at} not in {before}..={after}"
    );
    let mut expected_keys = FIELDS.to_vec();
    expected_keys.retain(|f| *f != "phone");
    expected_keys.push("cancelledAt");
    assert_eq!(keys(&res.body), sorted(&expected_keys));
    // Everything else is as it was.
    let mut unchanged = res.body.clone();
    if let Some(o) = unchanged.as_object_mut() {
        o.remove("cancelledAt");
        o.insert("status".into(), json!("UPCOMING"));
    }
    assert_eq!(unchanged, pass);
}

async fn cancelled_wins_over_expired(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    assert_eq!(
        app.delete(&pass_path(id), &Creds::chain_a()).await.status,
        204
    );
    set_period(&app, id, now() - 8 * 86_400, now() - 86_400);
    let res = read(&app, id).await;
    assert_eq!(res.body["status"], "CANCELLED", "{}", res.text);
    assert!(is_strict_date(&res.body["cancelledAt"]));
}

async fn status_is_computed_at_read_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    // The same stored pass, read as time "passes" over its period.
    for (from, until, status) in [
        (now() + 3600, now() + 7200, "UPCOMING"),
        (now() - 3600, now() + 3600, "ACTIVE"),
        (now() - 7200, now() - 3600, "EXPIRED"),
        (now() + 86_400, now() + 2 * 86_400, "UPCOMING"),
    ] {
        set_period(&app, id, from, until);
        let res = read(&app, id).await;
        assert_eq!(res.body["status"], status, "{}", res.text);
    }
}

/// Reads by id are answered in batches (on PostgreSQL one statement per
/// batch, each read's scope checked on its own): many at once, by callers of
/// different scopes, for passes in and out of their scope, each get their
/// own answer.
async fn reads_sent_together_each_get_their_own_pass_in_their_own_scope(backend: Backend) {
    let app = spawn_with_levels(backend, "location").await;
    let a1 = Creds::location(LOC_A1, LOC_A1_SECRET);
    let a2 = Creds::location(LOC_A2, LOC_A2_SECRET);
    let b1 = Creds::location(LOC_B1, LOC_B1_SECRET);
    let mut passes = Vec::new();
    for (creds, location) in [(&a1, LOC_A1), (&a1, LOC_A1), (&a2, LOC_A2), (&b1, LOC_B1)] {
        let created = app
            .create(creds, &pass_body(location, &unique_email()))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        passes.push((created.id(), location));
    }
    passes.push(("00000000-0000-4000-8000-000000000000".to_owned(), "nowhere"));
    // Every caller asks for every pass, four times over, all at once.
    let mut cases: Vec<(&Creds, &str, &String, bool)> = Vec::new();
    for _ in 0..4 {
        for (creds, own) in [(&a1, LOC_A1), (&a2, LOC_A2), (&b1, LOC_B1)] {
            for (id, location) in &passes {
                cases.push((creds, own, id, own == *location));
            }
        }
    }
    let paths: Vec<String> = cases.iter().map(|(_, _, id, _)| pass_path(id)).collect();
    let answers = futures_util::future::join_all(
        cases
            .iter()
            .zip(&paths)
            .map(|((creds, ..), path)| app.get(path, creds)),
    )
    .await;
    for ((_, caller, id, visible), res) in cases.iter().zip(&answers) {
        if *visible {
            assert_eq!(res.status, 200, "{caller} reading {id}: {}", res.text);
            assert_eq!(res.body["guestPassId"], json!(id), "{}", res.text);
        } else {
            assert_eq!(res.status, 404, "{caller} reading {id}: {}", res.text);
            res.assert_entity_not_found("guestPassId");
        }
    }
}
