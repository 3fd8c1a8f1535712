//! Contract section 5, `POST /guest-passes` (createGuestPass): fields and
//! their reasons, scope, and the 422 rule, also under concurrency.

use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    created_pass_is_201_with_location_header_and_the_contract_shape,
    text_fields_are_stored_and_echoed_trimmed,
    each_field_reason_is_reported,
    all_failing_fields_are_reported_together,
    period_rules_have_their_reasons,
    the_maximum_period_is_configurable,
    unknown_fields_are_ignored,
    bad_input_changes_nothing,
    location_outside_scope_or_unknown_is_404_location_id,
    overlapping_pass_for_the_same_email_and_location_is_422,
    email_comparison_for_the_422_rule_ignores_case,
    adjacent_periods_and_other_locations_do_not_conflict,
    of_32_simultaneous_identical_creates_exactly_one_is_201,
    x_user_id_is_recorded_as_creator,
);

async fn created_pass_is_201_with_location_header_and_the_contract_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = pass_body(LOC_A1, "jane.doe@example.com");
    body["phone"] = json!("+49 30 1234567");
    let res = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let pass = &res.body;
    let id = res.id();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(
        res.header("location"),
        Some(format!("{}/guest-passes/{id}", app.base_path).as_str())
    );
    assert_eq!(pass["locationId"], LOC_A1);
    assert_eq!(pass["firstName"], "Jane");
    assert_eq!(pass["lastName"], "Doe");
    assert_eq!(pass["email"], "jane.doe@example.com");
    assert_eq!(pass["phone"], "+49 30 1234567");
    assert_eq!(pass["validFrom"], body["validFrom"]);
    assert_eq!(pass["validUntil"], body["validUntil"]);
    assert_eq!(pass["status"], "UPCOMING");
    assert!(is_strict_date(&pass["createdAt"]), "{}", pass["createdAt"]);
    assert!(pass.get("cancelledAt").is_none());
    let code = pass["checkinCode"].as_str().unwrap_or_default();
    assert_eq!(code.len(), 10);
    assert!(
        code.bytes()
            .all(|c| b"23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(&c)),
        "{code}"
    );

    // The Location header names a pass that can be read back, identical.
    let location = res.header("location").unwrap_or_default().to_owned();
    let read = app
        .raw(
            awc::http::Method::GET,
            &app.root_url(&location),
            &Creds::chain_a(),
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body, res.body);

    // Without a phone, the field is left out rather than null.
    let res = app
        .create(&Creds::chain_a(), &pass_body(LOC_A1, &unique_email()))
        .await;
    assert_eq!(res.status, 201);
    assert!(res.body.get("phone").is_none(), "{}", res.text);
}

async fn text_fields_are_stored_and_echoed_trimmed(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = pass_body(LOC_A1, " Jane.Doe@Example.com ");
    body["firstName"] = json!("  Jane ");
    body["lastName"] = json!("\tDoe\n");
    body["locationId"] = json!(" a-1 ");
    let res = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["firstName"], "Jane");
    assert_eq!(res.body["lastName"], "Doe");
    assert_eq!(res.body["email"], "Jane.Doe@Example.com");
    assert_eq!(res.body["locationId"], LOC_A1);
}

async fn each_field_reason_is_reported(backend: Backend) {
    let app = spawn_app(backend).await;
    let long = |n: usize| Value::String("x".repeat(n));
    let long_email = Value::String(format!("{}@example.com", "a".repeat(243)));
    let cases: Vec<(&str, Option<Value>, &str)> = vec![
        ("locationId", None, "missing"),
        ("locationId", Some(Value::Null), "missing"),
        ("locationId", Some(json!(17)), "wrongFormat"),
        ("locationId", Some(json!("   ")), "missing"),
        ("locationId", Some(long(65)), "tooLong"),
        ("firstName", None, "missing"),
        ("firstName", Some(Value::Null), "missing"),
        ("firstName", Some(json!(true)), "wrongFormat"),
        ("firstName", Some(json!({"a": 1})), "wrongFormat"),
        ("firstName", Some(json!("")), "missing"),
        ("firstName", Some(long(101)), "tooLong"),
        ("lastName", None, "missing"),
        ("lastName", Some(json!(["Doe"])), "wrongFormat"),
        ("lastName", Some(json!(" ")), "missing"),
        ("lastName", Some(long(101)), "tooLong"),
        ("email", None, "missing"),
        ("email", Some(json!(1)), "wrongFormat"),
        ("email", Some(json!("")), "missing"),
        ("email", Some(long_email), "tooLong"),
        ("email", Some(json!("not-an-address")), "wrongFormat"),
        ("email", Some(json!("jane@")), "wrongFormat"),
        ("phone", Some(json!("")), "wrongFormat"),
        ("phone", Some(json!("1234")), "wrongFormat"),
        ("phone", Some(json!("+49 30 12a4567")), "wrongFormat"),
        ("phone", Some(json!(4930123456_i64)), "wrongFormat"),
        ("phone", Some(Value::String("1".repeat(33))), "wrongFormat"),
        ("validFrom", None, "missing"),
        ("validFrom", Some(Value::Null), "missing"),
        ("validFrom", Some(json!("")), "wrongFormat"),
        ("validFrom", Some(json!(1767225600)), "wrongFormat"),
        ("validUntil", None, "missing"),
        ("validUntil", Some(json!("")), "wrongFormat"),
        ("validUntil", Some(json!("tomorrow")), "wrongFormat"),
    ];
    for (field, value, reason) in cases {
        let mut body = pass_body(LOC_A1, &unique_email());
        match &value {
            None => {
                body.as_object_mut().map(|o| o.remove(field));
            }
            Some(v) => body[field] = v.clone(),
        }
        let res = app.create(&Creds::chain_a(), &body).await;
        assert_eq!(res.status, 400, "{field}={value:?}: {}", res.text);
        assert_eq!(
            res.body["errors"],
            json!({ field: reason }),
            "{field}={value:?}"
        );
    }
    // Boundaries that are fine, each sent and echoed.
    let mut body = pass_body(LOC_A1, &unique_email());
    body["firstName"] = long(100);
    body["lastName"] = Value::String("é".repeat(100));
    body["phone"] = Value::String("1".repeat(32));
    let res = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    for field in ["firstName", "lastName", "phone"] {
        assert_eq!(res.body[field], body[field], "{field}: {}", res.text);
    }
    // A null phone is "not set": accepted, and left out of the pass.
    let mut body = pass_body(LOC_A1, &unique_email());
    body["phone"] = Value::Null;
    let res = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert!(res.body.get("phone").is_none(), "{}", res.text);
}

async fn all_failing_fields_are_reported_together(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.create(&Creds::chain_a(), &json!({"phone": "x"})).await;
    res.assert_bad_request(json!({
        "locationId": "missing",
        "firstName": "missing",
        "lastName": "missing",
        "email": "missing",
        "phone": "wrongFormat",
        "validFrom": "missing",
        "validUntil": "missing",
    }));
    let res = app
        .create(
            &Creds::chain_a(),
            &json!({
                "locationId": LOC_A1,
                "firstName": 1,
                "lastName": "Doe",
                "email": "bad",
                "validFrom": "2026-12-01 06:00:00Z",
                "validUntil": now_plus(-60),
            }),
        )
        .await;
    res.assert_bad_request(json!({
        "firstName": "wrongFormat",
        "email": "wrongFormat",
        "validFrom": "wrongFormat",
        "validUntil": "inPast",
    }));
}

async fn period_rules_have_their_reasons(backend: Backend) {
    let app = spawn_app(backend).await;
    let with_period = |from: String, until: String| {
        let mut body = pass_body(LOC_A1, &unique_email());
        body["validFrom"] = json!(from);
        body["validUntil"] = json!(until);
        body
    };
    // validFrom ≥ validUntil: both fields carry their reason.
    for (from, until) in [
        (now_plus(7200), now_plus(3600)),
        (now_plus(3600), now_plus(3600)),
    ] {
        let res = app
            .create(&Creds::chain_a(), &with_period(from, until))
            .await;
        res.assert_bad_request(json!({
            "validFrom": "greaterThanValidUntil",
            "validUntil": "lessThanValidFrom",
        }));
    }
    // validUntil ≤ now.
    let res = app
        .create(
            &Creds::chain_a(),
            &with_period(now_plus(-7200), now_plus(-3600)),
        )
        .await;
    res.assert_bad_request(json!({"validUntil": "inPast"}));
    // Longer than 30 days (the default maximum), by one second.
    let res = app
        .create(
            &Creds::chain_a(),
            &with_period(now_plus(3600), now_plus(3600 + 30 * 86_400 + 1)),
        )
        .await;
    res.assert_bad_request(json!({"validUntil": "periodTooLong"}));
    // Exactly 30 days is allowed; so is a period that already started.
    let res = app
        .create(
            &Creds::chain_a(),
            &with_period(now_plus(3600), now_plus(3600 + 30 * 86_400)),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let res = app
        .create(
            &Creds::chain_a(),
            &with_period(now_plus(-3600), now_plus(3600)),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["status"], "ACTIVE");
}

async fn the_maximum_period_is_configurable(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.max_period_days = 7).await;
    let res = app
        .create(
            &Creds::chain_a(),
            &pass_body_at(LOC_A1, &unique_email(), 1, 8),
        )
        .await;
    res.assert_bad_request(json!({"validUntil": "periodTooLong"}));
    let res = app
        .create(
            &Creds::chain_a(),
            &pass_body_at(LOC_A1, &unique_email(), 1, 7),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
}

async fn unknown_fields_are_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = pass_body(LOC_A1, &unique_email());
    body["status"] = json!("CANCELLED");
    body["guestPassId"] = json!("00000000-0000-4000-8000-000000000000");
    body["favouriteMachine"] = json!({"name": "leg press"});
    let res = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["status"], "UPCOMING");
    assert_ne!(res.id(), "00000000-0000-4000-8000-000000000000");
    assert!(res.body.get("favouriteMachine").is_none());
}

async fn bad_input_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = pass_body(LOC_A1, &unique_email());
    body["email"] = json!("nope");
    assert_eq!(app.create(&Creds::chain_a(), &body).await.status, 400);
    let res = app
        .create(&Creds::chain_b(), &pass_body(LOC_A1, &unique_email()))
        .await;
    assert_eq!(res.status, 404);
    let res = app
        .create(
            &Creds::chain_a()
                .without("X-Chain-Secret")
                .with("X-Chain-Secret", "nope"),
            &pass_body(LOC_A1, &unique_email()),
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(app.count_passes(), 0);
}

async fn location_outside_scope_or_unknown_is_404_location_id(backend: Backend) {
    let app = spawn_app(backend).await;
    for (creds, location) in [
        (Creds::chain_a(), "no-such-location"),
        (Creds::chain_a(), LOC_B1),
        (Creds::chain_b(), LOC_A1),
    ] {
        let res = app
            .create(&creds, &pass_body(location, &unique_email()))
            .await;
        res.assert_entity_not_found("locationId");
    }
    let app = spawn_with_levels(backend, "location").await;
    let res = app
        .create(
            &Creds::location(LOC_A1, LOC_A1_SECRET),
            &pass_body(LOC_A2, &unique_email()),
        )
        .await;
    res.assert_entity_not_found("locationId");
    let res = app
        .create(
            &Creds::location(LOC_A1, LOC_A1_SECRET),
            &pass_body(LOC_A1, &unique_email()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
}

async fn overlapping_pass_for_the_same_email_and_location_is_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = unique_email();
    assert_eq!(
        app.create(&Creds::chain_a(), &pass_body_at(LOC_A1, &email, 2, 7))
            .await
            .status,
        201
    );
    for (start, days) in [(2, 7), (1, 2), (8, 3), (3, 1), (1, 20)] {
        let res = app
            .create(
                &Creds::chain_a(),
                &pass_body_at(LOC_A1, &email, start, days),
            )
            .await;
        res.assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated");
    }
    assert_eq!(app.count_passes(), 1);
}

async fn email_comparison_for_the_422_rule_ignores_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = unique_email();
    app.create_ok(LOC_A1, &email).await;
    let res = app
        .create(&Creds::chain_a(), &pass_body(LOC_A1, &email.to_uppercase()))
        .await;
    res.assert_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated");
}

async fn adjacent_periods_and_other_locations_do_not_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = unique_email();
    let first = pass_body_at(LOC_A1, &email, 1, 7);
    assert_eq!(app.create(&Creds::chain_a(), &first).await.status, 201);
    // [from, until) intervals: the next one may start exactly where this one ends.
    let mut next = pass_body_at(LOC_A1, &email, 8, 7);
    next["validFrom"] = first["validUntil"].clone();
    let res = app.create(&Creds::chain_a(), &next).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let mut before = pass_body_at(LOC_A1, &email, 0, 1);
    before["validUntil"] = first["validFrom"].clone();
    before["validFrom"] = json!(now_plus(60));
    let res = app.create(&Creds::chain_a(), &before).await;
    assert_eq!(res.status, 201, "{}", res.text);
    // The same period at another location, or for another person, is fine.
    let res = app
        .create(&Creds::chain_a(), &pass_body_at(LOC_A2, &email, 1, 7))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let res = app
        .create(&Creds::chain_b(), &pass_body_at(LOC_B1, &email, 1, 7))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let res = app
        .create(
            &Creds::chain_a(),
            &pass_body_at(LOC_A1, &unique_email(), 1, 7),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
}

async fn of_32_simultaneous_identical_creates_exactly_one_is_201(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.store.pool_size = 8).await;
    for round in 0..3 {
        let body = pass_body(LOC_A1, &format!("race{round}-{}", unique_email()));
        let creds = Creds::chain_a();
        let requests = (0..32).map(|_| app.create(&creds, &body));
        let statuses: Vec<u16> = futures_util::future::join_all(requests)
            .await
            .into_iter()
            .map(|r| r.status)
            .collect();
        let created = statuses.iter().filter(|s| **s == 201).count();
        let refused = statuses.iter().filter(|s| **s == 422).count();
        assert_eq!((created, refused), (1, 31), "round {round}: {statuses:?}");
    }
    assert_eq!(app.count_passes(), 3);
}

async fn x_user_id_is_recorded_as_creator(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .create(
            &Creds::chain_a().with("X-User-ID", "front-desk-7"),
            &pass_body(LOC_A1, &unique_email()),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let who = app.sql_text(&format!(
        "SELECT created_by AS value FROM guest_passes WHERE id = '{}'",
        res.id()
    ));
    assert_eq!(who.as_deref(), Some("front-desk-7"));
    // Over 256 characters is 400 tooLong, and nothing is created.
    let res = app
        .create(
            &Creds::chain_a().with("X-User-ID", &"u".repeat(257)),
            &pass_body(LOC_A1, &unique_email()),
        )
        .await;
    res.assert_bad_request(json!({"X-User-ID": "tooLong"}));
    assert_eq!(app.count_passes(), 1);
}
