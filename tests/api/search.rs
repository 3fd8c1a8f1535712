//! Contract section 5, `GET /guest-passes` (searchGuestPasses): every filter
//! alone and combined, paging and its reasons, the order, and scope.

use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    search_answers_the_list_envelope_with_default_limit_and_offset,
    results_are_newest_created_first_with_ties_by_guest_pass_id_ascending,
    limit_and_offset_page_through_the_results_with_the_full_total,
    offset_past_the_end_is_an_empty_page_with_the_right_total,
    limit_outside_1_to_100_is_out_of_range_and_non_integers_are_wrong_format,
    offset_below_zero_is_out_of_range_and_non_integers_are_wrong_format,
    offset_above_ten_thousand_is_out_of_range,
    status_other_than_the_four_upper_case_values_is_wrong_format,
    valid_at_that_is_not_a_strict_date_is_wrong_format,
    several_bad_parameters_are_reported_together,
    location_id_restricts_the_results_to_that_location,
    location_id_unknown_or_outside_scope_is_404_location_id,
    email_matches_exactly_ignoring_case,
    checkin_code_matches_exactly,
    status_filter_agrees_with_the_status_shown,
    valid_at_finds_non_cancelled_passes_whose_half_open_period_contains_it,
    filters_combine,
    a_chain_never_sees_another_chains_passes,
    a_location_level_caller_sees_only_its_location,
    a_client_level_caller_sees_every_chain,
    one_persons_passes_at_a_location_are_listed_newest_first_at_every_page_size,
);

/// `GET /guest-passes` with the query parameters, percent-encoded.
async fn search(app: &TestApp, creds: &Creds, query: &[(&str, &str)]) -> Resp {
    let query = serde_urlencoded::to_string(query).expect("query");
    app.get(&format!("/guest-passes?{query}"), creds).await
}

/// Asserts a 200 list whose `total` is the number of passes listed (one
/// page), and returns the ids in the order listed.
#[track_caller]
fn listed(res: &Resp) -> Vec<String> {
    assert_eq!(res.status, 200, "{}", res.text);
    let ids = ids_of(res);
    assert_eq!(res.body["total"], json!(ids.len()), "{}", res.text);
    ids
}

fn ids_of(res: &Resp) -> Vec<String> {
    res.body["guestPasses"]
        .as_array()
        .unwrap_or_else(|| panic!("no guestPasses array: {}", res.text))
        .iter()
        .map(|p| p["guestPassId"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn ids(passes: &[&Value]) -> Vec<String> {
    sorted(
        passes
            .iter()
            .map(|p| p["guestPassId"].as_str().unwrap_or_default().to_owned())
            .collect(),
    )
}

fn epoch_now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn date(epoch: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(epoch, 0)
        .expect("valid time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn body_with_period(location: &str, email: &str, from: i64, until: i64) -> Value {
    let mut body = pass_body(location, email);
    body["validFrom"] = json!(date(from));
    body["validUntil"] = json!(date(until));
    body
}

async fn create_with(app: &TestApp, creds: &Creds, body: &Value) -> Value {
    let res = app.create(creds, body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body
}

fn code(pass: &Value) -> &str {
    pass["checkinCode"].as_str().unwrap_or_default()
}

fn id(pass: &Value) -> &str {
    pass["guestPassId"].as_str().unwrap_or_default()
}

/// Moves a pass's period into the past: it ended three days ago.
fn expire(app: &TestApp, pass: &Value) {
    let now = epoch_now();
    app.sql(&format!(
        "UPDATE guest_passes SET valid_from = {}, valid_until = {} WHERE id = '{}'",
        now - 10 * 86_400,
        now - 3 * 86_400,
        id(pass)
    ));
}

async fn cancel(app: &TestApp, creds: &Creds, pass: &Value) {
    let res = app
        .delete(&format!("/guest-passes/{}", id(pass)), creds)
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
}

async fn search_answers_the_list_envelope_with_default_limit_and_offset(backend: Backend) {
    let app = spawn_app(backend).await;
    let empty = search(&app, &Creds::chain_a(), &[]).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(
        empty.body,
        json!({"guestPasses": [], "limit": 20, "offset": 0, "total": 0})
    );
    assert_eq!(empty.header("content-type"), Some("application/json"));

    let mut created = Vec::new();
    for location in [LOC_A1, LOC_A2, LOC_A1] {
        created.push(app.create_ok(location, &unique_email()).await);
    }
    let res = search(&app, &Creds::chain_a(), &[]).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let keys: Vec<&String> = res.body.as_object().expect("object").keys().collect();
    assert_eq!(
        sorted(keys.into_iter().cloned().collect()),
        ["guestPasses", "limit", "offset", "total"]
    );
    assert_eq!(res.body["limit"], 20);
    assert_eq!(res.body["offset"], 0);
    assert_eq!(res.body["total"], 3);
    // Every listed pass is exactly what a read of it shows.
    let listed = res.body["guestPasses"].as_array().expect("array");
    assert_eq!(listed.len(), 3);
    for pass in listed {
        let read = app
            .get(&format!("/guest-passes/{}", id(pass)), &Creds::chain_a())
            .await;
        assert_eq!(read.status, 200, "{}", read.text);
        assert_eq!(pass, &read.body);
    }
    assert_eq!(
        sorted(ids_of(&res)),
        ids(&created.iter().collect::<Vec<_>>())
    );
    // Explicit limit and offset are echoed.
    let res = search(&app, &Creds::chain_a(), &[("limit", "2"), ("offset", "1")]).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        (&res.body["limit"], &res.body["offset"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(res.body["total"], 3);
    assert_eq!(ids_of(&res).len(), 2);
}

async fn results_are_newest_created_first_with_ties_by_guest_pass_id_ascending(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut passes = Vec::new();
    for _ in 0..7 {
        passes.push(id(&app.create_ok(LOC_A1, &unique_email()).await).to_owned());
    }
    // createdAt has second resolution: make the order deterministic. The
    // first created is the newest; five share one second; the last is oldest.
    let now = epoch_now();
    let created_at = |i: usize| match i {
        0 => now - 10,
        6 => now - 500,
        _ => now - 100,
    };
    for (i, pass) in passes.iter().enumerate() {
        app.sql(&format!(
            "UPDATE guest_passes SET created_at = {} WHERE id = '{pass}'",
            created_at(i)
        ));
    }
    let mut expected = vec![passes[0].clone()];
    expected.extend(sorted(passes[1..6].to_vec()));
    expected.push(passes[6].clone());

    let res = search(&app, &Creds::chain_a(), &[]).await;
    assert_eq!(listed(&res), expected);
    for pass in res.body["guestPasses"].as_array().expect("array") {
        let i = passes.iter().position(|p| p == id(pass)).expect("known");
        assert_eq!(pass["createdAt"], json!(date(created_at(i))));
    }
    // Pages cut through the tie without losing or repeating a pass.
    let mut paged = Vec::new();
    for offset in [0, 2, 4, 6] {
        let res = search(
            &app,
            &Creds::chain_a(),
            &[("limit", "2"), ("offset", &offset.to_string())],
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.body["total"], 7);
        paged.extend(ids_of(&res));
    }
    assert_eq!(paged, expected);
    // The same order holds under a filter.
    let res = search(&app, &Creds::chain_a(), &[("locationId", LOC_A1)]).await;
    assert_eq!(listed(&res), expected);
}

async fn limit_and_offset_page_through_the_results_with_the_full_total(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..25 {
        let location = if i % 2 == 0 { LOC_A1 } else { LOC_A2 };
        app.create_ok(location, &unique_email()).await;
    }
    let all = search(&app, &Creds::chain_a(), &[("limit", "100")]).await;
    let all_ids = listed(&all);
    assert_eq!(all_ids.len(), 25);
    assert_eq!(all.body["limit"], 100);
    // The whole list follows the rule: createdAt descending, then id ascending.
    let keys: Vec<(String, String)> = all.body["guestPasses"]
        .as_array()
        .expect("array")
        .iter()
        .map(|p| {
            (
                p["createdAt"].as_str().unwrap_or_default().to_owned(),
                id(p).to_owned(),
            )
        })
        .collect();
    for pair in keys.windows(2) {
        let ((created_a, id_a), (created_b, id_b)) = (&pair[0], &pair[1]);
        assert!(
            created_a > created_b || (created_a == created_b && id_a < id_b),
            "{pair:?}"
        );
    }

    // Default limit 20.
    let first = search(&app, &Creds::chain_a(), &[]).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["total"], 25);
    assert_eq!(first.body["limit"], 20);
    assert_eq!(ids_of(&first), all_ids[..20]);
    let rest = search(&app, &Creds::chain_a(), &[("offset", "20")]).await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert_eq!(rest.body["total"], 25);
    assert_eq!(rest.body["offset"], 20);
    assert_eq!(ids_of(&rest), all_ids[20..]);
    // Boundaries: limit 1 and 100 are allowed; offset 0 is the start.
    let one = search(&app, &Creds::chain_a(), &[("limit", "1"), ("offset", "24")]).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(ids_of(&one), all_ids[24..]);
    assert_eq!(one.body["total"], 25);
    let zero = search(&app, &Creds::chain_a(), &[("limit", "7"), ("offset", "0")]).await;
    assert_eq!(ids_of(&zero), all_ids[..7]);
    // Pages of 7 cover everything exactly once, in order.
    let mut paged = Vec::new();
    for offset in (0..25).step_by(7) {
        let res = search(
            &app,
            &Creds::chain_a(),
            &[("limit", "7"), ("offset", &offset.to_string())],
        )
        .await;
        assert_eq!(res.body["total"], 25, "{}", res.text);
        paged.extend(ids_of(&res));
    }
    assert_eq!(paged, all_ids);
    // The total counts the filtered set, not the page.
    let res = search(
        &app,
        &Creds::chain_a(),
        &[("locationId", LOC_A2), ("limit", "5")],
    )
    .await;
    assert_eq!(res.body["total"], 12, "{}", res.text);
    assert_eq!(ids_of(&res).len(), 5);
}

async fn offset_past_the_end_is_an_empty_page_with_the_right_total(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..3 {
        app.create_ok(LOC_A1, &unique_email()).await;
    }
    for offset in ["3", "4", "1000"] {
        let res = search(&app, &Creds::chain_a(), &[("offset", offset)]).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(
            res.body,
            json!({"guestPasses": [], "limit": 20, "offset": offset.parse::<i64>().unwrap_or(-1), "total": 3})
        );
    }
    let res = search(&app, &Creds::chain_a(), &[("offset", "2")]).await;
    assert_eq!(ids_of(&res).len(), 1, "{}", res.text);
}

async fn limit_outside_1_to_100_is_out_of_range_and_non_integers_are_wrong_format(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.create_ok(LOC_A1, &unique_email()).await;
    for (limit, reason) in [
        ("0", "outOfRange"),
        ("101", "outOfRange"),
        ("-5", "outOfRange"),
        ("abc", "wrongFormat"),
        ("1.5", "wrongFormat"),
        ("", "wrongFormat"),
        ("ten", "wrongFormat"),
    ] {
        let res = search(&app, &Creds::chain_a(), &[("limit", limit)]).await;
        res.assert_bad_request(json!({ "limit": reason }));
    }
    for limit in ["1", "100"] {
        let res = search(&app, &Creds::chain_a(), &[("limit", limit)]).await;
        assert_eq!(res.status, 200, "limit={limit}: {}", res.text);
        assert_eq!(res.body["limit"], limit.parse::<i64>().unwrap_or(-1));
        assert_eq!(res.body["total"], 1);
    }
}

async fn offset_below_zero_is_out_of_range_and_non_integers_are_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    for (offset, reason) in [
        ("-1", "outOfRange"),
        ("x", "wrongFormat"),
        ("1.5", "wrongFormat"),
        ("", "wrongFormat"),
    ] {
        let res = search(&app, &Creds::chain_a(), &[("offset", offset)]).await;
        res.assert_bad_request(json!({ "offset": reason }));
    }
    let res = search(&app, &Creds::chain_a(), &[("offset", "0")]).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

/// Deeper pages cost every tenant (contract §5): 10,000 is the last offset
/// served; beyond it, however large, is `outOfRange`.
async fn offset_above_ten_thousand_is_out_of_range(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_ok(LOC_A1, &unique_email()).await;
    let res = search(&app, &Creds::chain_a(), &[("offset", "10000")]).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["offset"], json!(10_000), "{}", res.text);
    assert_eq!(res.body["total"], json!(1), "{}", res.text);
    for offset in ["10001", "250000", "99999999999999999999"] {
        let res = search(&app, &Creds::chain_a(), &[("offset", offset)]).await;
        res.assert_bad_request(json!({ "offset": "outOfRange" }));
    }
}

async fn status_other_than_the_four_upper_case_values_is_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    for status in [
        "active",
        "Active",
        "upcoming",
        "cancelled",
        "CANCELED",
        "VALID",
        "",
        " ACTIVE",
        "ACTIVE ",
        "1",
    ] {
        let res = search(&app, &Creds::chain_a(), &[("status", status)]).await;
        res.assert_bad_request(json!({"status": "wrongFormat"}));
    }
    for status in ["UPCOMING", "ACTIVE", "EXPIRED", "CANCELLED"] {
        let res = search(&app, &Creds::chain_a(), &[("status", status)]).await;
        assert_eq!(res.status, 200, "status={status}: {}", res.text);
    }
}

async fn valid_at_that_is_not_a_strict_date_is_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    for valid_at in [
        "",
        "2026-12-01",
        "2026-12-01T06:00Z",
        "2026-12-01T06:00:00",
        "2026-12-01T06:00:00.500Z",
        "2026-12-01 06:00:00Z",
        "2026-12-01t06:00:00Z",
        "2026-12-01T06:00:00z",
        "2026-12-01T06:00:00+00:00",
        "2023-02-30T00:00:00Z",
        "2026-12-01T24:00:00Z",
        " 2026-12-01T06:00:00Z",
        "1767225600",
        "now",
    ] {
        let res = search(&app, &Creds::chain_a(), &[("validAt", valid_at)]).await;
        assert_eq!(res.status, 400, "validAt={valid_at:?}: {}", res.text);
        res.assert_bad_request(json!({"validAt": "wrongFormat"}));
    }
    let res = search(
        &app,
        &Creds::chain_a(),
        &[("validAt", "2026-12-01T06:00:00Z")],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

async fn several_bad_parameters_are_reported_together(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = search(
        &app,
        &Creds::chain_a(),
        &[
            ("status", "active"),
            ("validAt", "2026-12-01"),
            ("limit", "0"),
            ("offset", "x"),
        ],
    )
    .await;
    res.assert_bad_request(json!({
        "status": "wrongFormat",
        "validAt": "wrongFormat",
        "limit": "outOfRange",
        "offset": "wrongFormat",
    }));
    let res = search(
        &app,
        &Creds::chain_a(),
        &[
            ("limit", "abc"),
            ("offset", "-1"),
            ("email", "x@example.com"),
        ],
    )
    .await;
    res.assert_bad_request(json!({"limit": "wrongFormat", "offset": "outOfRange"}));
}

async fn location_id_restricts_the_results_to_that_location(backend: Backend) {
    let app = spawn_app(backend).await;
    let a1 = [
        app.create_ok(LOC_A1, &unique_email()).await,
        app.create_ok(LOC_A1, &unique_email()).await,
    ];
    let a2 = [app.create_ok(LOC_A2, &unique_email()).await];
    let res = search(&app, &Creds::chain_a(), &[("locationId", LOC_A1)]).await;
    assert_eq!(sorted(listed(&res)), ids(&a1.iter().collect::<Vec<_>>()));
    assert!(res.body["guestPasses"]
        .as_array()
        .expect("array")
        .iter()
        .all(|p| p["locationId"] == LOC_A1));
    let res = search(&app, &Creds::chain_a(), &[("locationId", LOC_A2)]).await;
    assert_eq!(sorted(listed(&res)), ids(&a2.iter().collect::<Vec<_>>()));
    let res = search(&app, &Creds::chain_a(), &[]).await;
    assert_eq!(listed(&res).len(), 3);
}

async fn location_id_unknown_or_outside_scope_is_404_location_id(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_ok(LOC_A1, &unique_email()).await;
    let res = app
        .create(&Creds::chain_b(), &pass_body(LOC_B1, &unique_email()))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    for (creds, location) in [
        (Creds::chain_a(), "no-such-location"),
        (Creds::chain_a(), LOC_B1),
        (Creds::chain_b(), LOC_A1),
        (Creds::chain_b(), LOC_A2),
        (Creds::chain_a(), "A-1"),
    ] {
        let res = search(&app, &creds, &[("locationId", location)]).await;
        res.assert_entity_not_found("locationId");
    }
}

async fn email_matches_exactly_ignoring_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let email = format!("Jane.Doe+{tag}@Example.COM");
    let at_a1 = app.create_ok(LOC_A1, &email).await;
    let at_a2 = app.create_ok(LOC_A2, &email).await;
    let other = app
        .create_ok(LOC_A1, &format!("jane.doe+{tag}@example.org"))
        .await;
    let both = ids(&[&at_a1, &at_a2]);
    for query in [
        email.clone(),
        email.to_lowercase(),
        email.to_uppercase(),
        format!("jane.doe+{tag}@example.com"),
    ] {
        let res = search(&app, &Creds::chain_a(), &[("email", &query)]).await;
        assert_eq!(sorted(listed(&res)), both, "email={query}");
        // The address is shown as it was created.
        assert!(res.body["guestPasses"]
            .as_array()
            .expect("array")
            .iter()
            .all(|p| p["email"] == json!(email)));
    }
    // Not a substring, prefix or pattern match.
    for query in [
        format!("Jane.Doe+{tag}"),
        format!("ane.Doe+{tag}@Example.COM"),
        format!("Jane.Doe+{tag}@Example.CO"),
        "%".to_owned(),
        format!("Jane.Doe+{tag}@Example.CO_"),
        format!("Jane.Doe+{tag}@Example.%"),
        "example.com".to_owned(),
    ] {
        let res = search(&app, &Creds::chain_a(), &[("email", &query)]).await;
        assert_eq!(listed(&res), Vec::<String>::new(), "email={query:?}");
    }
    let res = search(
        &app,
        &Creds::chain_a(),
        &[("email", &format!("JANE.DOE+{tag}@EXAMPLE.ORG"))],
    )
    .await;
    assert_eq!(listed(&res), vec![id(&other).to_owned()]);
}

async fn checkin_code_matches_exactly(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let other = app.create_ok(LOC_A1, &unique_email()).await;
    let res = search(&app, &Creds::chain_a(), &[("checkinCode", code(&pass))]).await;
    assert_eq!(listed(&res), vec![id(&pass).to_owned()]);
    assert_eq!(
        res.body["guestPasses"][0]["checkinCode"],
        pass["checkinCode"]
    );
    let res = search(&app, &Creds::chain_a(), &[("checkinCode", code(&other))]).await;
    assert_eq!(listed(&res), vec![id(&other).to_owned()]);
    for query in [
        code(&pass)[..9].to_owned(),
        code(&pass)[1..].to_owned(),
        format!("{}X", code(&pass)),
        code(&pass).to_lowercase(),
        "%".to_owned(),
        format!("{}_", &code(&pass)[..9]),
        "ZZZZZZZZZZ".to_owned(),
    ] {
        let res = search(&app, &Creds::chain_a(), &[("checkinCode", &query)]).await;
        assert_eq!(listed(&res), Vec::<String>::new(), "checkinCode={query:?}");
    }
}

fn active_body(location: &str, email: &str) -> Value {
    let now = epoch_now();
    body_with_period(location, email, now - 3600, now + 3 * 86_400)
}

async fn status_filter_agrees_with_the_status_shown(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = Creds::chain_a();
    let upcoming = app.create_ok(LOC_A1, &unique_email()).await;
    let active = create_with(&app, &creds, &active_body(LOC_A2, &unique_email())).await;
    assert_eq!(active["status"], "ACTIVE");
    // An active pass made so by moving its start into the past in the database.
    let moved_active = app.create_ok(LOC_A1, &unique_email()).await;
    app.sql(&format!(
        "UPDATE guest_passes SET valid_from = {} WHERE id = '{}'",
        epoch_now() - 86_400,
        id(&moved_active)
    ));
    let expired = app.create_ok(LOC_A1, &unique_email()).await;
    expire(&app, &expired);
    let cancelled_upcoming = app.create_ok(LOC_A2, &unique_email()).await;
    cancel(&app, &creds, &cancelled_upcoming).await;
    let cancelled_active = create_with(&app, &creds, &active_body(LOC_A1, &unique_email())).await;
    cancel(&app, &creds, &cancelled_active).await;
    let cancelled_expired = app.create_ok(LOC_A1, &unique_email()).await;
    cancel(&app, &creds, &cancelled_expired).await;
    expire(&app, &cancelled_expired);

    let expected = [
        ("UPCOMING", ids(&[&upcoming])),
        ("ACTIVE", ids(&[&active, &moved_active])),
        ("EXPIRED", ids(&[&expired])),
        (
            "CANCELLED",
            ids(&[&cancelled_upcoming, &cancelled_active, &cancelled_expired]),
        ),
    ];
    for (status, want) in &expected {
        let res = search(&app, &creds, &[("status", status)]).await;
        assert_eq!(&sorted(listed(&res)), want, "status={status}");
        for pass in res.body["guestPasses"].as_array().expect("array") {
            assert_eq!(&pass["status"], status, "{pass}");
            let read = app
                .get(&format!("/guest-passes/{}", id(pass)), &creds)
                .await;
            assert_eq!(&read.body["status"], status, "{}", read.text);
        }
    }
    let res = search(&app, &creds, &[]).await;
    assert_eq!(listed(&res).len(), 7);
}

async fn valid_at_finds_non_cancelled_passes_whose_half_open_period_contains_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = Creds::chain_a();
    let start = epoch_now() + 2 * 86_400;
    let week = 7 * 86_400;
    let first = create_with(
        &app,
        &creds,
        &body_with_period(LOC_A1, &unique_email(), start, start + week),
    )
    .await;
    let next = create_with(
        &app,
        &creds,
        &body_with_period(LOC_A2, &unique_email(), start + week, start + 2 * week),
    )
    .await;
    let cancelled = create_with(
        &app,
        &creds,
        &body_with_period(LOC_A1, &unique_email(), start, start + week),
    )
    .await;
    cancel(&app, &creds, &cancelled).await;
    let expired = app.create_ok(LOC_A1, &unique_email()).await;
    expire(&app, &expired);
    let now = epoch_now();

    for (at, want) in [
        (start, ids(&[&first])),
        (start + 3600, ids(&[&first])),
        (start + week - 1, ids(&[&first])),
        (start + week, ids(&[&next])),
        (start + 2 * week - 1, ids(&[&next])),
        (start - 1, vec![]),
        (start + 2 * week, vec![]),
        // A past instant finds what was valid then, though it has expired.
        (now - 5 * 86_400, ids(&[&expired])),
        (now - 3 * 86_400, vec![]),
    ] {
        let res = search(&app, &creds, &[("validAt", &date(at))]).await;
        assert_eq!(sorted(listed(&res)), want, "validAt={}", date(at));
    }
}

async fn filters_combine(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = Creds::chain_a();
    let now = epoch_now();
    let (d1, d8) = (now + 86_400, now + 8 * 86_400);
    let email = format!("Combo+{}@example.com", uuid::Uuid::new_v4().simple());
    let other_email = unique_email();
    // Cancelled first, so that the identical pass after it is allowed.
    let cancelled = create_with(&app, &creds, &body_with_period(LOC_A1, &email, d1, d8)).await;
    cancel(&app, &creds, &cancelled).await;
    let upcoming_a1 = create_with(&app, &creds, &body_with_period(LOC_A1, &email, d1, d8)).await;
    let upcoming_a2 = create_with(&app, &creds, &body_with_period(LOC_A2, &email, d1, d8)).await;
    let other_person = create_with(
        &app,
        &creds,
        &body_with_period(LOC_A1, &other_email, d1, d8),
    )
    .await;
    let active = create_with(
        &app,
        &creds,
        &body_with_period(LOC_A1, &email, now - 3600, now + 12 * 3600),
    )
    .await;
    let in_period = date(d1 + 3600);
    let active_now = date(now + 6 * 3600);
    let lower = email.to_lowercase();

    type Query<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(Query, Vec<String>)> = vec![
        (
            vec![("email", &lower)],
            ids(&[&cancelled, &upcoming_a1, &upcoming_a2, &active]),
        ),
        (
            vec![("locationId", LOC_A1), ("email", &lower)],
            ids(&[&cancelled, &upcoming_a1, &active]),
        ),
        (
            vec![
                ("locationId", LOC_A1),
                ("email", &email),
                ("status", "UPCOMING"),
            ],
            ids(&[&upcoming_a1]),
        ),
        (
            vec![
                ("locationId", LOC_A1),
                ("email", &email),
                ("status", "CANCELLED"),
            ],
            ids(&[&cancelled]),
        ),
        (
            vec![("locationId", LOC_A1), ("status", "UPCOMING")],
            ids(&[&upcoming_a1, &other_person]),
        ),
        (vec![("locationId", LOC_A2), ("status", "ACTIVE")], vec![]),
        (
            vec![("email", &email), ("validAt", &in_period)],
            ids(&[&upcoming_a1, &upcoming_a2]),
        ),
        (
            vec![("locationId", LOC_A1), ("validAt", &in_period)],
            ids(&[&upcoming_a1, &other_person]),
        ),
        (
            vec![
                ("locationId", LOC_A1),
                ("email", &email),
                ("validAt", &active_now),
            ],
            ids(&[&active]),
        ),
        (vec![("status", "ACTIVE"), ("validAt", &in_period)], vec![]),
        (
            vec![("status", "CANCELLED"), ("validAt", &in_period)],
            vec![],
        ),
        (
            vec![("checkinCode", code(&upcoming_a1)), ("email", &email)],
            ids(&[&upcoming_a1]),
        ),
        (
            vec![("checkinCode", code(&upcoming_a1)), ("email", &other_email)],
            vec![],
        ),
        (
            vec![("checkinCode", code(&upcoming_a1)), ("locationId", LOC_A2)],
            vec![],
        ),
        (
            vec![("checkinCode", code(&upcoming_a1)), ("status", "ACTIVE")],
            vec![],
        ),
        (
            vec![
                ("locationId", LOC_A1),
                ("email", &lower),
                ("checkinCode", code(&upcoming_a1)),
                ("status", "UPCOMING"),
                ("validAt", &in_period),
                ("limit", "5"),
                ("offset", "0"),
            ],
            ids(&[&upcoming_a1]),
        ),
    ];
    for (query, want) in cases {
        let res = search(&app, &creds, &query).await;
        assert_eq!(sorted(listed(&res)), want, "{query:?}");
    }
    // Paging applies to the filtered set.
    let res = search(
        &app,
        &creds,
        &[("email", &email), ("limit", "1"), ("offset", "1")],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["total"], 4);
    assert_eq!(ids_of(&res).len(), 1);
}

async fn a_chain_never_sees_another_chains_passes(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = unique_email();
    let a1 = app.create_ok(LOC_A1, &email).await;
    let a2 = app.create_ok(LOC_A2, &email).await;
    let b1 = create_with(&app, &Creds::chain_b(), &pass_body(LOC_B1, &email)).await;

    let res = search(&app, &Creds::chain_b(), &[]).await;
    assert_eq!(listed(&res), vec![id(&b1).to_owned()]);
    let res = search(&app, &Creds::chain_a(), &[]).await;
    assert_eq!(sorted(listed(&res)), ids(&[&a1, &a2]));
    // Not by email, code, status or date either. (b-1's pass was created last,
    // so chain A's passes are valid at its start too.)
    for query in [
        vec![("email", email.as_str())],
        vec![("status", "UPCOMING")],
        vec![("validAt", b1["validFrom"].as_str().unwrap_or_default())],
    ] {
        let res = search(&app, &Creds::chain_b(), &query).await;
        assert_eq!(listed(&res), vec![id(&b1).to_owned()], "{query:?}");
    }
    for pass in [&a1, &a2] {
        let res = search(&app, &Creds::chain_b(), &[("checkinCode", code(pass))]).await;
        assert_eq!(
            res.body,
            json!({"guestPasses": [], "limit": 20, "offset": 0, "total": 0})
        );
    }
    let res = search(&app, &Creds::chain_a(), &[("checkinCode", code(&b1))]).await;
    assert_eq!(listed(&res), Vec::<String>::new());
}

async fn a_location_level_caller_sees_only_its_location(backend: Backend) {
    let app = spawn_with_levels(backend, "location").await;
    let a1_creds = Creds::location(LOC_A1, LOC_A1_SECRET);
    let a2_creds = Creds::location(LOC_A2, LOC_A2_SECRET);
    let b1_creds = Creds::location(LOC_B1, LOC_B1_SECRET);
    let email = unique_email();
    let a1 = create_with(&app, &a1_creds, &pass_body(LOC_A1, &email)).await;
    let a2 = create_with(&app, &a2_creds, &pass_body(LOC_A2, &email)).await;
    let b1 = create_with(&app, &b1_creds, &pass_body(LOC_B1, &email)).await;

    let res = search(&app, &a2_creds, &[]).await;
    assert_eq!(listed(&res), vec![id(&a2).to_owned()]);
    let res = search(&app, &a2_creds, &[("email", &email)]).await;
    assert_eq!(listed(&res), vec![id(&a2).to_owned()]);
    let res = search(&app, &a2_creds, &[("locationId", LOC_A2)]).await;
    assert_eq!(listed(&res), vec![id(&a2).to_owned()]);
    for pass in [&a1, &b1] {
        let res = search(&app, &a2_creds, &[("checkinCode", code(pass))]).await;
        assert_eq!(listed(&res), Vec::<String>::new());
    }
    for location in [LOC_A1, LOC_B1] {
        let res = search(&app, &a2_creds, &[("locationId", location)]).await;
        res.assert_entity_not_found("locationId");
    }
    let res = search(&app, &a1_creds, &[]).await;
    assert_eq!(listed(&res), vec![id(&a1).to_owned()]);
}

async fn a_client_level_caller_sees_every_chain(backend: Backend) {
    let app = spawn_with_levels(backend, "client").await;
    let creds = Creds::client();
    let mut all = Vec::new();
    for location in [LOC_A1, LOC_A2, LOC_B1] {
        all.push(create_with(&app, &creds, &pass_body(location, &unique_email())).await);
    }
    let res = search(&app, &creds, &[]).await;
    assert_eq!(sorted(listed(&res)), ids(&all.iter().collect::<Vec<_>>()));
    let res = search(&app, &creds, &[("locationId", LOC_B1)]).await;
    assert_eq!(listed(&res), vec![id(&all[2]).to_owned()]);
    let res = search(&app, &creds, &[("checkinCode", code(&all[0]))]).await;
    assert_eq!(listed(&res), vec![id(&all[0]).to_owned()]);
    let res = search(&app, &creds, &[("locationId", "no-such-location")]).await;
    res.assert_entity_not_found("locationId");
}

/// The search a client makes before it creates a pass (a location and an
/// e-mail, the first page) is answered by the batching reader while the
/// person's passes there fit the page, and the usual way when they do not:
/// both give the same order, the same ties and the same total.
async fn one_persons_passes_at_a_location_are_listed_newest_first_at_every_page_size(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let email = format!("Person.{}@Example.com", uuid::Uuid::new_v4().simple());
    let mut passes = Vec::new();
    for start in [1, 4, 7, 10, 13] {
        let res = app
            .create(&Creds::chain_a(), &pass_body_at(LOC_A1, &email, start, 2))
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        passes.push(id(&res.body).to_owned());
    }
    // Not this person at this location.
    app.create_ok(LOC_A2, &email).await;
    app.create_ok(LOC_A1, &unique_email()).await;
    let res = app
        .delete(&format!("/guest-passes/{}", passes[2]), &Creds::chain_a())
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    let now = epoch_now();
    for (i, pass) in passes.iter().enumerate() {
        let created_at = match i {
            0 => now - 10,
            4 => now - 500,
            _ => now - 100,
        };
        app.sql(&format!(
            "UPDATE guest_passes SET created_at = {created_at} WHERE id = '{pass}'"
        ));
    }
    let mut expected = vec![passes[0].clone()];
    expected.extend(sorted(passes[1..4].to_vec()));
    expected.push(passes[4].clone());

    for limit in 1..=7 {
        let limit_text = limit.to_string();
        for query in [email.clone(), email.to_lowercase()] {
            let params = [
                ("locationId", LOC_A1),
                ("email", query.as_str()),
                ("limit", limit_text.as_str()),
            ];
            let res = search(&app, &Creds::chain_a(), &params).await;
            assert_eq!(res.status, 200, "{}", res.text);
            assert_eq!(res.body["total"], 5, "limit={limit}: {}", res.text);
            assert_eq!(res.body["limit"], limit, "{}", res.text);
            let shown = expected.len().min(limit);
            assert_eq!(ids_of(&res), expected[..shown], "limit={limit}");
        }
    }
}
