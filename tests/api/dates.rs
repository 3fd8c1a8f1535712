//! Contract section 2, dates: `yyyy-MM-dd'T'HH:mm:ss'Z'` in UTC and nothing
//! else, in requests (`wrongFormat`) and in every response.

use chrono::Datelike;
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    every_non_strict_form_of_valid_from_is_wrong_format,
    every_non_strict_form_of_valid_until_is_wrong_format,
    impossible_calendar_values_are_wrong_format_not_a_period_reason,
    a_date_that_is_not_a_json_string_is_wrong_format,
    both_dates_wrong_are_reported_together,
    a_leap_day_in_the_future_is_accepted_and_echoed_as_sent,
    the_first_and_last_second_of_a_day_are_accepted,
    valid_at_in_the_search_query_follows_the_same_format,
    every_date_in_every_response_is_in_the_strict_form,
);

/// Forms a lenient parser would take for the valid date `d`
/// (`yyyy-MM-ddTHH:mm:ssZ`), each differing from it only in form.
fn non_strict_forms(d: &str) -> Vec<(&'static str, String)> {
    assert!(is_strict_date(&json!(d)), "{d}");
    let (date, time) = (&d[..10], &d[11..19]);
    let fullwidth = |s: &str| -> String {
        s.chars()
            .map(|c| match c.to_digit(10) {
                Some(n) => char::from_u32(0xFF10 + n).unwrap_or(c),
                None => c,
            })
            .collect()
    };
    let arabic_indic = |s: &str| -> String {
        s.chars()
            .map(|c| match c.to_digit(10) {
                Some(n) => char::from_u32(0x0660 + n).unwrap_or(c),
                None => c,
            })
            .collect()
    };
    vec![
        ("missing seconds", format!("{date}T{}Z", &time[..5])),
        ("missing seconds and Z", format!("{date}T{}", &time[..5])),
        ("fraction .500", format!("{date}T{time}.500Z")),
        ("fraction .5", format!("{date}T{time}.5Z")),
        ("fraction .000", format!("{date}T{time}.000Z")),
        ("fraction .123456789", format!("{date}T{time}.123456789Z")),
        ("space instead of T", format!("{date} {time}Z")),
        ("lowercase t", format!("{date}t{time}Z")),
        ("lowercase z", format!("{date}T{time}z")),
        ("lowercase t and z", format!("{date}t{time}z")),
        ("missing Z", format!("{date}T{time}")),
        ("offset +00:00", format!("{date}T{time}+00:00")),
        ("offset -00:00", format!("{date}T{time}-00:00")),
        ("offset +0000", format!("{date}T{time}+0000")),
        ("offset +00", format!("{date}T{time}+00")),
        ("Z and offset", format!("{date}T{time}Z+00:00")),
        ("offset +01:00", format!("{date}T{time}+01:00")),
        ("UTC suffix", format!("{date}T{time} UTC")),
        (
            "time separated with -",
            format!("{date}T{}Z", time.replace(':', "-")),
        ),
        ("date only", date.to_owned()),
        ("date only with Z", format!("{date}Z")),
        ("time only", format!("{time}Z")),
        ("slashes", format!("{}T{time}Z", date.replace('-', "/"))),
        (
            "basic format",
            format!("{}T{}Z", date.replace('-', ""), time.replace(':', "")),
        ),
        (
            "fullwidth year",
            format!("{}{}T{time}Z", fullwidth(&date[..4]), &date[4..]),
        ),
        (
            "fullwidth day digit",
            format!("{}{}T{time}Z", &date[..9], fullwidth(&date[9..])),
        ),
        ("arabic-indic digits", arabic_indic(d)),
        ("leading space", format!(" {d}")),
        ("trailing space", format!("{d} ")),
        ("leading tab", format!("\t{d}")),
        ("trailing newline", format!("{d}\n")),
        ("non-breaking space", format!("{d}\u{a0}")),
        ("signed year", format!("+{d}")),
        ("five-digit year", format!("0{d}")),
        ("two-digit year", d[2..].to_owned()),
        (
            "one-digit month",
            format!(
                "{}-{}-{}T{time}Z",
                &date[..4],
                date[5..7].trim_start_matches('0'),
                &date[8..]
            ),
        ),
        ("doubled T", format!("{date}TT{time}Z")),
        ("epoch seconds as text", chrono_epoch(d).to_string()),
        ("empty string", String::new()),
        ("just Z", "Z".into()),
    ]
    .into_iter()
    .filter(|(_, form)| form != d)
    .collect()
}

fn chrono_epoch(d: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(d)
        .map(|t| t.timestamp())
        .unwrap_or_default()
}

async fn every_non_strict_form_of_valid_from_is_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let valid = pass_body(LOC_A1, &unique_email());
    // The unchanged body is fine, so each form alone is what fails.
    let res = app.create(&Creds::chain_a(), &valid).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let from = valid["validFrom"].as_str().unwrap_or_default().to_owned();
    for (what, form) in non_strict_forms(&from) {
        let mut body = pass_body(LOC_A1, &unique_email());
        body["validUntil"] = valid["validUntil"].clone();
        body["validFrom"] = json!(form);
        let res = app.create(&Creds::chain_a(), &body).await;
        assert_eq!(res.status, 400, "{what} {form:?}: {}", res.text);
        assert_eq!(
            res.body["errors"],
            json!({"validFrom": "wrongFormat"}),
            "{what} {form:?}"
        );
    }
    assert_eq!(app.count_passes(), 1);
}

async fn every_non_strict_form_of_valid_until_is_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let valid = pass_body(LOC_A1, &unique_email());
    let until = valid["validUntil"].as_str().unwrap_or_default().to_owned();
    for (what, form) in non_strict_forms(&until) {
        let mut body = pass_body(LOC_A1, &unique_email());
        body["validFrom"] = valid["validFrom"].clone();
        body["validUntil"] = json!(form);
        let res = app.create(&Creds::chain_a(), &body).await;
        assert_eq!(res.status, 400, "{what} {form:?}: {}", res.text);
        assert_eq!(
            res.body["errors"],
            json!({"validUntil": "wrongFormat"}),
            "{what} {form:?}"
        );
    }
    assert_eq!(app.count_passes(), 0);
}

async fn impossible_calendar_values_are_wrong_format_not_a_period_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    // Near each impossible value is a possible one a lenient parser would
    // roll over to; with a partner date that makes a valid period, only the
    // form can be at fault.
    let year = chrono::Utc::now().format("%Y").to_string();
    let next: i32 = year.parse::<i32>().unwrap_or(2026) + 1;
    let non_leap = if next % 4 == 0 { next + 1 } else { next };
    let cases = [
        format!("{non_leap}-02-29T10:00:00Z"),
        format!("{next}-02-30T10:00:00Z"),
        format!("{next}-04-31T10:00:00Z"),
        format!("{next}-01-32T10:00:00Z"),
        format!("{next}-01-00T10:00:00Z"),
        format!("{next}-13-01T10:00:00Z"),
        format!("{next}-00-10T10:00:00Z"),
        format!("{next}-03-10T24:00:00Z"),
        format!("{next}-03-10T23:60:00Z"),
        format!("{next}-03-10T23:59:60Z"),
        format!("{next}-06-30T23:59:60Z"),
        format!("{next}-03-10T25:00:00Z"),
        format!("{next}-03-10T10:00:99Z"),
        "2023-02-30T10:00:00Z".to_owned(),
        "2023-02-29T10:00:00Z".to_owned(),
        "2100-02-29T10:00:00Z".to_owned(),
    ];
    for bad in cases {
        let mut body = pass_body(LOC_A1, &unique_email());
        body["validFrom"] = json!(bad);
        body["validUntil"] = json!(format!("{next}-03-20T10:00:00Z"));
        let res = app.create(&Creds::chain_a(), &body).await;
        assert_eq!(res.status, 400, "validFrom {bad}: {}", res.text);
        assert_eq!(
            res.body["errors"],
            json!({"validFrom": "wrongFormat"}),
            "{bad}"
        );

        let mut body = pass_body(LOC_A1, &unique_email());
        body["validFrom"] = json!(format!("{next}-02-20T10:00:00Z"));
        body["validUntil"] = json!(bad);
        let res = app.create(&Creds::chain_a(), &body).await;
        assert_eq!(res.status, 400, "validUntil {bad}: {}", res.text);
        assert_eq!(
            res.body["errors"],
            json!({"validUntil": "wrongFormat"}),
            "{bad}"
        );
    }
    assert_eq!(app.count_passes(), 0);
}

async fn a_date_that_is_not_a_json_string_is_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let valid = pass_body(LOC_A1, &unique_email());
    let epoch = chrono_epoch(valid["validFrom"].as_str().unwrap_or_default());
    for value in [
        json!(epoch),
        json!(epoch as f64 + 0.5),
        json!(epoch * 1000),
        json!(true),
        json!([valid["validFrom"]]),
        json!({"date": valid["validFrom"]}),
    ] {
        for field in ["validFrom", "validUntil"] {
            let mut body = valid.clone();
            body["email"] = json!(unique_email());
            body[field] = value.clone();
            let res = app.create(&Creds::chain_a(), &body).await;
            assert_eq!(res.status, 400, "{field}={value}: {}", res.text);
            assert_eq!(
                res.body["errors"],
                json!({ field: "wrongFormat" }),
                "{value}"
            );
        }
    }
}

async fn both_dates_wrong_are_reported_together(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = pass_body(LOC_A1, &unique_email());
    body["validFrom"] = json!("2030-01-01T10:00:00.000Z");
    body["validUntil"] = json!("2030-01-05T10:00:00+00:00");
    app.create(&Creds::chain_a(), &body)
        .await
        .assert_bad_request(json!({"validFrom": "wrongFormat", "validUntil": "wrongFormat"}));
}

/// The first leap year whose February, from the 20th on, is still ahead:
/// both periods below are then in the future whenever the test runs.
fn next_leap_year() -> i32 {
    let now = chrono::Utc::now().naive_utc();
    (now.year()..)
        .find(|&y| {
            chrono::NaiveDate::from_ymd_opt(y, 2, 29).is_some()
                && chrono::NaiveDate::from_ymd_opt(y, 2, 20)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .is_some_and(|start| start > now)
        })
        .unwrap_or(2028)
}

async fn a_leap_day_in_the_future_is_accepted_and_echoed_as_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let y = next_leap_year();
    for (from, until) in [
        (
            format!("{y}-02-29T10:00:00Z"),
            format!("{y}-03-05T10:00:00Z"),
        ),
        (
            format!("{y}-02-20T00:00:00Z"),
            format!("{y}-02-29T23:59:59Z"),
        ),
    ] {
        let mut body = pass_body(LOC_A1, &unique_email());
        body["validFrom"] = json!(from);
        body["validUntil"] = json!(until);
        let res = app.create(&Creds::chain_a(), &body).await;
        assert_eq!(res.status, 201, "{from}..{until}: {}", res.text);
        assert_eq!(res.body["validFrom"], json!(from));
        assert_eq!(res.body["validUntil"], json!(until));
        let read = app
            .get(&format!("/guest-passes/{}", res.id()), &Creds::chain_a())
            .await;
        assert_eq!(read.body["validFrom"], json!(from), "{}", read.text);
        assert_eq!(read.body["validUntil"], json!(until));
    }
}

async fn the_first_and_last_second_of_a_day_are_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let next: i32 = chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap_or(2026)
        + 1;
    for (from, until) in [
        (
            format!("{next}-01-01T00:00:00Z"),
            format!("{next}-01-01T23:59:59Z"),
        ),
        (
            format!("{next}-12-31T00:00:00Z"),
            format!("{next}-12-31T23:59:59Z"),
        ),
    ] {
        let mut body = pass_body(LOC_A1, &unique_email());
        body["validFrom"] = json!(from);
        body["validUntil"] = json!(until);
        let res = app.create(&Creds::chain_a(), &body).await;
        assert_eq!(res.status, 201, "{from}..{until}: {}", res.text);
        assert_eq!(res.body["validFrom"], json!(from));
        assert_eq!(res.body["validUntil"], json!(until));
    }
}

async fn valid_at_in_the_search_query_follows_the_same_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let d = now_plus(3 * 86_400);
    let res = app
        .get(&format!("/guest-passes?validAt={d}"), &Creds::chain_a())
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    for (what, form) in non_strict_forms(&d) {
        let query: String = form.bytes().map(|b| format!("%{b:02X}")).collect();
        let res = app
            .get(&format!("/guest-passes?validAt={query}"), &Creds::chain_a())
            .await;
        assert_eq!(res.status, 400, "{what} {form:?}: {}", res.text);
        assert_eq!(
            res.body["errors"],
            json!({"validAt": "wrongFormat"}),
            "{what}"
        );
    }
}

/// Every field of `value` (recursively) that holds a date, with its path.
fn dates_in(value: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{path}.{key}");
                if key.ends_with("At") || key == "validFrom" || key == "validUntil" {
                    out.push((here.clone(), v.clone()));
                }
                dates_in(v, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                dates_in(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

async fn every_date_in_every_response_is_in_the_strict_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = Creds::chain_a();
    // An active pass (for a check-in) and an upcoming one, one cancelled.
    let active_body = {
        let mut b = pass_body(LOC_A1, &unique_email());
        b["validFrom"] = json!(now_plus(-3600));
        b["validUntil"] = json!(now_plus(3600));
        b
    };
    let active = app.create(&creds, &active_body).await;
    assert_eq!(active.status, 201, "{}", active.text);
    assert_eq!(active.body["validFrom"], active_body["validFrom"]);
    let upcoming = app
        .create(&creds, &pass_body(LOC_A2, &unique_email()))
        .await;
    assert_eq!(upcoming.status, 201, "{}", upcoming.text);
    let code = active.body["checkinCode"].as_str().unwrap_or_default();
    let checkin = app.checkin(&creds, code, LOC_A1).await;
    assert_eq!(checkin.status, 201, "{}", checkin.text);
    let cancel = app
        .delete(&format!("/guest-passes/{}", upcoming.id()), &creds)
        .await;
    assert_eq!(cancel.status, 204, "{}", cancel.text);

    let responses = vec![
        ("create", active.body.clone()),
        ("checkin", checkin.body.clone()),
        (
            "get active",
            app.get(&format!("/guest-passes/{}", active.id()), &creds)
                .await
                .body,
        ),
        (
            "get cancelled",
            app.get(&format!("/guest-passes/{}", upcoming.id()), &creds)
                .await
                .body,
        ),
        ("search", app.get("/guest-passes", &creds).await.body),
        (
            "checkins",
            app.get(&format!("/guest-passes/{}/checkins", active.id()), &creds)
                .await
                .body,
        ),
    ];
    let mut seen = Vec::new();
    for (what, body) in &responses {
        let mut dates = Vec::new();
        dates_in(body, what, &mut dates);
        assert!(!dates.is_empty(), "{what}: {body}");
        for (path, value) in dates {
            assert!(is_strict_date(&value), "{path} = {value}");
            seen.push(path);
        }
    }
    // The ones the contract names are all among them.
    for expected in [
        "create.validFrom",
        "create.validUntil",
        "create.createdAt",
        "checkin.checkedInAt",
        "get cancelled.cancelledAt",
        "search.guestPasses[0].createdAt",
        "checkins.checkins[0].checkedInAt",
    ] {
        assert!(seen.iter().any(|p| p == expected), "{expected} in {seen:?}");
    }
}
