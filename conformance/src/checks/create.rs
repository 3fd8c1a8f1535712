//! Section 5, `createGuestPass`: 201 with Location, every field's reasons,
//! the period rules, 404 for locations, the one 422 and its concurrency rule.

use serde_json::{json, Value};

use crate::client::Request;
use crate::expect::{ensure, Checked, Context, Verdict};
use crate::kit::{join_all, minute, now, ts, Kit, DAY};

const TEXT_FIELDS: [&str; 4] = ["locationId", "firstName", "lastName", "email"];

pub async fn run(kit: &Kit) {
    kit.check(
        "create.201-with-location-header",
        "A valid create → 201 with the pass and a Location header that retrieves it",
        created_with_location(kit),
    )
    .await;
    kit.check(
        "create.missing-fields",
        "A required field absent, null or (text fields) blank → missing; an empty date → wrongFormat",
        missing_fields(kit),
    )
    .await;
    kit.check(
        "create.wrong-types",
        "A text field that is not a JSON string → wrongFormat",
        wrong_types(kit),
    )
    .await;
    kit.check(
        "create.too-long",
        "locationId over 64, names over 100, email over 254 characters → tooLong",
        too_long(kit),
    )
    .await;
    kit.check(
        "create.lengths-in-characters",
        "Names of 100 non-ASCII characters and an email of 254 characters are accepted",
        lengths_in_characters(kit),
    )
    .await;
    kit.check(
        "create.locationId-of-64-is-looked-up",
        "A locationId of exactly 64 characters passes validation and is looked up: 404 entityNotFound locationId, not 400",
        location_of_64(kit),
    )
    .await;
    kit.check(
        "create.reason-precedence",
        "Reasons per field in the contract's order: blank before tooLong, trimmed before the length, tooLong before the email format, wrongFormat dates before the period rules",
        precedence(kit),
    )
    .await;
    kit.check(
        "create.email-format",
        "An email that is not a valid address → wrongFormat",
        email_format(kit),
    )
    .await;
    kit.check(
        "create.phone-rejected",
        "A phone not matching ^\\+?[0-9 ()\\-]{5,32}$ (the empty string, a number included) → wrongFormat",
        phone_rejected(kit),
    )
    .await;
    kit.check(
        "create.phone-accepted",
        "A phone matching ^\\+?[0-9 ()\\-]{5,32}$ is accepted and echoed",
        phone_accepted(kit),
    )
    .await;
    kit.check(
        "create.text-fields-trimmed",
        "Text fields are stored and echoed trimmed",
        trimmed(kit),
    )
    .await;
    kit.check(
        "create.unknown-fields-ignored",
        "Unknown body fields are ignored, server-assigned ones included",
        unknown_fields(kit),
    )
    .await;
    kit.check(
        "create.unknown-location-is-404",
        "An unknown locationId → 404 entityNotFound, parameter locationId",
        unknown_location(kit),
    )
    .await;
    kit.check(
        "create.period-order-reasons",
        "validFrom ≥ validUntil → validFrom greaterThanValidUntil and validUntil lessThanValidFrom",
        period_order(kit),
    )
    .await;
    kit.check(
        "create.validUntil-in-past",
        "validUntil ≤ now → validUntil inPast (before periodTooLong)",
        in_past(kit),
    )
    .await;
    kit.check(
        "create.period-too-long",
        "validUntil more than the maximum period (--max-period-days) after validFrom → periodTooLong",
        too_long_period(kit),
    )
    .await;
    kit.check(
        "create.period-at-maximum-accepted",
        "A period of exactly the maximum is accepted",
        period_at_maximum(kit),
    )
    .await;
    kit.check(
        "create.validFrom-in-past-accepted",
        "validFrom may lie in the past when validUntil is in the future",
        from_in_past(kit),
    )
    .await;
    kit.check(
        "create.duplicate-overlap-is-422",
        "Same email, same location, overlapping period, not cancelled → 422 guestPassAlreadyCreated",
        duplicate_overlap(kit),
    )
    .await;
    kit.check(
        "create.duplicate-email-case-insensitive",
        "The duplicate rule compares emails case-insensitively",
        duplicate_case(kit),
    )
    .await;
    kit.check(
        "create.adjacent-periods-allowed",
        "Periods are [validFrom, validUntil): one ending where the other starts do not overlap",
        adjacent(kit),
    )
    .await;
    kit.check(
        "create.cancelled-pass-does-not-block",
        "A cancelled pass does not block a new one for the same email, location and period",
        cancelled_does_not_block(kit),
    )
    .await;
    kit.check(
        "create.same-email-other-location-allowed",
        "The same email and period at another location is not a duplicate",
        other_location(kit),
    )
    .await;
    kit.check(
        "create.concurrent-identical-creates",
        "Of simultaneous identical creates exactly one gets 201, the others 422 guestPassAlreadyCreated",
        concurrent(kit),
    )
    .await;
}

/// A valid body for tomorrow (a week) at the primary location, with `field` changed or removed.
fn body_with(kit: &Kit, field: &str, value: Option<Value>) -> Result<Value, Verdict> {
    let mut body = kit.upcoming_body()?;
    match value {
        Some(v) => body[field] = v,
        None => {
            if let Some(o) = body.as_object_mut() {
                o.remove(field);
            }
        }
    }
    Ok(body)
}

async fn expect_reason(kit: &Kit, field: &str, value: Option<Value>, reason: &str) -> Checked {
    let headers = kit.primary()?;
    let label = match &value {
        None => format!("{field} absent"),
        Some(v) => format!("{field} {}", short(v)),
    };
    let body = body_with(kit, field, value)?;
    kit.create(&headers, &body)
        .await
        .expect_bad_request(json!({ field: reason }))
        .ctx(label)
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 {
        format!(
            "{}… ({} characters)",
            text.chars().take(20).collect::<String>(),
            text.chars().count()
        )
    } else {
        text
    }
}

async fn created_with_location(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let ex = kit.create(&headers, &kit.upcoming_body()?).await;
    let created = ex.expect_object(201, "the created pass")?;
    let id = created
        .get("guestPassId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let location = ex
        .response
        .as_ref()
        .ok()
        .and_then(|r| r.header("location"))
        .map(str::to_owned);
    let Some(location) =
        location.filter(|l| !id.is_empty() && l.trim_end_matches('/').ends_with(id))
    else {
        return Err(ex.fail(format!(
            "HTTP 201 with a Location header ending in /guest-passes/{id}"
        )));
    };
    let url = kit.http.resolve(&location);
    let got = kit
        .http
        .send_to(&url, Request::get("").headers(&headers))
        .await;
    let body = got
        .expect_object(200, "the pass")
        .ctx("GET the Location header")?;
    ensure(body.get("guestPassId") == Some(&json!(id)), || {
        got.fail("HTTP 200 with the created pass at its Location")
    })
}

async fn missing_fields(kit: &Kit) -> Checked {
    for field in TEXT_FIELDS {
        for value in [None, Some(Value::Null), Some(json!("")), Some(json!("   "))] {
            expect_reason(kit, field, value, "missing").await?;
        }
    }
    for field in ["validFrom", "validUntil"] {
        expect_reason(kit, field, None, "missing").await?;
        expect_reason(kit, field, Some(Value::Null), "missing").await?;
        expect_reason(kit, field, Some(json!("")), "wrongFormat").await?;
    }
    Ok(())
}

async fn wrong_types(kit: &Kit) -> Checked {
    for field in TEXT_FIELDS {
        for value in [json!(17), json!(true), json!({"a": 1}), json!(["x"])] {
            expect_reason(kit, field, Some(value), "wrongFormat").await?;
        }
    }
    Ok(())
}

async fn too_long(kit: &Kit) -> Checked {
    let cases = [
        ("locationId", "l".repeat(65)),
        ("firstName", "x".repeat(101)),
        ("lastName", "x".repeat(101)),
        ("email", format!("{}@example.invalid", "a".repeat(239))),
    ];
    for (field, value) in cases {
        expect_reason(kit, field, Some(json!(value)), "tooLong").await?;
    }
    Ok(())
}

async fn lengths_in_characters(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let mut body = kit.upcoming_body()?;
    body["firstName"] = json!("é".repeat(100));
    body["lastName"] = json!("ß".repeat(100));
    kit.create(&headers, &body)
        .await
        .expect_object(201, "the created pass")
        .ctx("firstName and lastName of 100 two-byte characters")?;
    // 64-character local part, 189-character domain of labels ≤ 63: 254 in all.
    let local = format!("conformance+{}", uuid::Uuid::new_v4().simple());
    let local = format!("{local}{}", "x".repeat(64 - local.len()));
    let domain = format!(
        "{}.{}.{}.invalid",
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(53)
    );
    let email = format!("{local}@{domain}");
    let mut body = kit.upcoming_body()?;
    body["email"] = json!(email);
    kit.create(&headers, &body)
        .await
        .expect_object(201, "the created pass")
        .ctx(format!("an email of {} characters", email.len()))?;
    Ok(())
}

async fn location_of_64(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let id: String = format!("{}{}", kit.unknown_id(), "l".repeat(64))
        .chars()
        .take(64)
        .collect();
    let body = body_with(kit, "locationId", Some(json!(id)))?;
    kit.create(&headers, &body)
        .await
        .expect_not_found("locationId")
        .ctx("an unknown locationId of 64 characters")
}

async fn precedence(kit: &Kit) -> Checked {
    expect_reason(kit, "firstName", Some(json!(" ".repeat(101))), "missing")
        .await
        .ctx("101 spaces are blank before they are too long")?;
    expect_reason(kit, "email", Some(json!("a".repeat(255))), "tooLong")
        .await
        .ctx("255 characters without an @ are too long before they are malformed")?;
    expect_reason(
        kit,
        "lastName",
        Some(json!(vec!["x".repeat(101)])),
        "wrongFormat",
    )
    .await
    .ctx("a list is the wrong type before anything about its length")?;
    // Trimming comes before the length: 100 characters inside whitespace are fine.
    let headers = kit.primary()?;
    let name = "n".repeat(100);
    let body = body_with(kit, "firstName", Some(json!(format!("  {name}\t"))))?;
    let ex = kit.create(&headers, &body).await;
    let created = ex
        .expect_object(201, "the created pass")
        .ctx("firstName of 100 characters inside whitespace")?;
    ensure(created.get("firstName") == Some(&json!(name)), || {
        ex.fail("HTTP 201 echoing the firstName trimmed to its 100 characters")
    })?;
    // A malformed date leaves nothing to compare; validUntil's own rules still apply.
    let location = kit.location()?;
    let n = now();
    let max = i64::from(kit.args.max_period_days) * DAY;
    let mut body = kit.pass_body(&location, &kit.email(), n, n + max + 2 * DAY);
    body["validFrom"] = json!("yesterday");
    kit.create(&headers, &body)
        .await
        .expect_bad_request(json!({"validFrom": "wrongFormat"}))
        .ctx("validFrom malformed, validUntil beyond the maximum period from now")?;
    let mut body = kit.pass_body(&location, &kit.email(), n, n - 3600);
    body["validFrom"] = json!("yesterday");
    kit.create(&headers, &body)
        .await
        .expect_bad_request(json!({"validFrom": "wrongFormat", "validUntil": "inPast"}))
        .ctx("validFrom malformed, validUntil an hour ago")?;
    let mut body = kit.pass_body(&location, &kit.email(), n + DAY, n + 2 * DAY);
    body["validUntil"] = json!("");
    kit.create(&headers, &body)
        .await
        .expect_bad_request(json!({"validUntil": "wrongFormat"}))
        .ctx("validUntil empty, validFrom fine")
}

async fn email_format(kit: &Kit) -> Checked {
    for bad in [
        "not-an-address",
        "jane@",
        "@example.invalid",
        "jane doe@example.invalid",
        "jane@@example.invalid",
    ] {
        expect_reason(kit, "email", Some(json!(bad)), "wrongFormat").await?;
    }
    Ok(())
}

async fn phone_rejected(kit: &Kit) -> Checked {
    let values = [
        json!(""),
        json!("1234"),
        json!("+49 30 12a4567"),
        json!("++49 30 1234567"),
        json!("49 30 1234567 ext. 5"),
        json!("1".repeat(33)),
        json!(4930123456_i64),
        json!(["+49 30 1234567"]),
    ];
    for value in values {
        expect_reason(kit, "phone", Some(value), "wrongFormat").await?;
    }
    Ok(())
}

async fn phone_accepted(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    for phone in ["+49 30 1234567", "(030) 123-4567", "12345", &"1".repeat(32)] {
        let body = body_with(kit, "phone", Some(json!(phone)))?;
        let ex = kit.create(&headers, &body).await;
        let created = ex
            .expect_object(201, "the created pass")
            .ctx(format!("phone {phone:?}"))?;
        ensure(created.get("phone") == Some(&json!(phone)), || {
            ex.fail(format!("HTTP 201 echoing phone {phone:?}"))
        })?;
    }
    Ok(())
}

async fn trimmed(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let location = kit.location()?;
    let email = kit.email();
    let mut body = kit.upcoming_body()?;
    body["locationId"] = json!(format!(" {location} "));
    body["firstName"] = json!("  Jane  ");
    body["lastName"] = json!("\tDoe\n");
    body["email"] = json!(format!("  {email} "));
    let ex = kit.create(&headers, &body).await;
    let created = ex.expect_object(201, "the created pass")?;
    let want =
        json!({"locationId": location, "firstName": "Jane", "lastName": "Doe", "email": email});
    let echoed = ["locationId", "firstName", "lastName", "email"]
        .iter()
        .all(|k| created.get(*k) == Some(&want[*k]));
    ensure(echoed, || ex.fail(format!("HTTP 201 echoing {want}")))
}

async fn unknown_fields(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let mut body = kit.upcoming_body()?;
    body["conformanceExtra"] = json!({"nested": [1, 2, {"deep": null}]});
    body["status"] = json!("CANCELLED");
    body["createdAt"] = json!("2000-01-01T00:00:00Z");
    body["cancelledAt"] = json!("2000-01-02T00:00:00Z");
    let ex = kit.create(&headers, &body).await;
    let created = ex.expect_object(201, "the created pass")?;
    ensure(
        created.get("status") == Some(&json!("UPCOMING"))
            && created.get("createdAt") != Some(&json!("2000-01-01T00:00:00Z"))
            && !created.contains_key("cancelledAt")
            && !created.contains_key("conformanceExtra"),
        || ex.fail("HTTP 201 with status UPCOMING, its own createdAt, no cancelledAt"),
    )
}

async fn unknown_location(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let body = body_with(kit, "locationId", Some(json!(kit.unknown_id())))?;
    kit.create(&headers, &body)
        .await
        .expect_not_found("locationId")
}

async fn period(kit: &Kit, from: i64, until: i64) -> Result<crate::client::Exchange, Verdict> {
    let headers = kit.primary()?;
    let body = kit.pass_body(&kit.location()?, &kit.email(), from, until);
    Ok(kit.create(&headers, &body).await)
}

async fn period_order(kit: &Kit) -> Checked {
    let t = minute(now() + 2 * DAY);
    let n = now();
    let both = json!({"validFrom": "greaterThanValidUntil", "validUntil": "lessThanValidFrom"});
    for (what, from, until) in [
        ("validFrom = validUntil", t, t),
        ("validFrom after validUntil", t + DAY, t),
        (
            "both in the past, validFrom after validUntil",
            n - 3600,
            n - 7200,
        ),
    ] {
        period(kit, from, until)
            .await?
            .expect_bad_request(both.clone())
            .ctx(format!("{what} ({} / {})", ts(from), ts(until)))?;
    }
    Ok(())
}

async fn in_past(kit: &Kit) -> Checked {
    let n = now();
    let max = i64::from(kit.args.max_period_days) * DAY;
    for (what, from, until) in [
        ("validUntil an hour ago", n - 2 * 3600, n - 3600),
        (
            "validUntil an hour ago, period over the maximum",
            n - max - 2 * DAY,
            n - 3600,
        ),
    ] {
        period(kit, from, until)
            .await?
            .expect_bad_request(json!({"validUntil": "inPast"}))
            .ctx(format!("{what} ({} / {})", ts(from), ts(until)))?;
    }
    Ok(())
}

async fn too_long_period(kit: &Kit) -> Checked {
    let max = i64::from(kit.args.max_period_days) * DAY;
    let t = minute(now() + DAY);
    let n = now();
    for (what, from, until) in [
        ("one second over the maximum", t, t + max + 1),
        ("a day over the maximum", t, t + max + DAY),
        ("from the past, over the maximum", n - max - DAY, n + 3600),
    ] {
        period(kit, from, until)
            .await?
            .expect_bad_request(json!({"validUntil": "periodTooLong"}))
            .ctx(format!("{what} ({} / {})", ts(from), ts(until)))?;
    }
    Ok(())
}

async fn period_at_maximum(kit: &Kit) -> Checked {
    let max = i64::from(kit.args.max_period_days) * DAY;
    let t = minute(now() + DAY);
    period(kit, t, t + max)
        .await?
        .expect_object(201, "the created pass")
        .ctx(format!(
            "a period of exactly {} days",
            kit.args.max_period_days
        ))
        .map(|_| ())
}

async fn from_in_past(kit: &Kit) -> Checked {
    let n = now();
    let ex = period(kit, n - DAY, n + 3600).await?;
    let created = ex.expect_object(201, "the created pass")?;
    ensure(created.get("status") == Some(&json!("ACTIVE")), || {
        ex.fail("HTTP 201 with status ACTIVE")
    })
}

/// Creates the first pass of a duplicate probe: `[t, t + 7 days)`.
async fn first_pass(kit: &Kit, email: &str, t: i64) -> Result<crate::kit::Pass, Verdict> {
    let headers = kit.primary()?;
    let body = kit.pass_body(&kit.location()?, email, t, t + 7 * DAY);
    kit.create_pass(&headers, &body)
        .await
        .ctx("creating the first pass")
}

async fn duplicate_overlap(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let location = kit.location()?;
    let email = kit.email();
    let t = minute(now() + 2 * DAY);
    first_pass(kit, &email, t).await?;
    for (what, from, until) in [
        ("the same period", t, t + 7 * DAY),
        ("a later overlapping period", t + DAY, t + 8 * DAY),
        ("an earlier overlapping period", t - DAY, t + 1),
        ("a period inside", t + 3600, t + 7200),
        ("a period around", t - DAY, t + 8 * DAY),
    ] {
        let body = kit.pass_body(&location, &email, from, until);
        kit.create(&headers, &body)
            .await
            .expect_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated")
            .ctx(format!("{what} ({} / {})", ts(from), ts(until)))?;
    }
    Ok(())
}

async fn duplicate_case(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let email = kit.email();
    let t = minute(now() + 2 * DAY);
    first_pass(kit, &email, t).await?;
    let upper = email.to_uppercase();
    let body = kit.pass_body(&kit.location()?, &upper, t, t + 7 * DAY);
    kit.create(&headers, &body)
        .await
        .expect_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated")
        .ctx(format!("the same pass for {upper}"))
}

async fn adjacent(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let location = kit.location()?;
    let email = kit.email();
    let t = minute(now() + 2 * DAY);
    first_pass(kit, &email, t).await?;
    for (what, from, until) in [
        ("starting where the first ends", t + 7 * DAY, t + 8 * DAY),
        ("ending where the first starts", t - DAY, t),
    ] {
        kit.create(&headers, &kit.pass_body(&location, &email, from, until))
            .await
            .expect_object(201, "the created pass")
            .ctx(format!("{what} ({} / {})", ts(from), ts(until)))?;
    }
    Ok(())
}

async fn cancelled_does_not_block(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let email = kit.email();
    let t = minute(now() + 2 * DAY);
    let first = first_pass(kit, &email, t).await?;
    kit.cancel(&headers, &first.id)
        .await
        .expect_status(204)
        .ctx("cancelling the first pass")?;
    let body = kit.pass_body(&kit.location()?, &email, t, t + 7 * DAY);
    kit.create(&headers, &body)
        .await
        .expect_object(201, "the created pass")
        .ctx("the same pass again after cancelling the first")
        .map(|_| ())
}

async fn other_location(kit: &Kit) -> Checked {
    let Some(second) = kit.second_location() else {
        return Err(Verdict::skip("needs --second-location-id"));
    };
    let owner = kit.second_owner()?;
    let email = kit.email();
    let t = minute(now() + 2 * DAY);
    first_pass(kit, &email, t).await?;
    kit.create(&owner, &kit.pass_body(&second, &email, t, t + 7 * DAY))
        .await
        .expect_object(201, "the created pass")
        .ctx(format!("the same email and period at {second}"))
        .map(|_| ())
}

async fn concurrent(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let t = minute(now() + 2 * DAY);
    let body = kit.pass_body(&kit.location()?, &kit.email(), t, t + 7 * DAY);
    let n = kit.args.concurrency as usize;
    let sends = (0..n).map(|_| kit.create(&headers, &body)).collect();
    let answers = join_all(sends).await;
    let created: Vec<_> = answers
        .iter()
        .filter(|ex| ex.status() == Some(201))
        .collect();
    let odd: Vec<_> = answers
        .iter()
        .filter(|ex| {
            ex.status() != Some(201)
                && ex
                    .expect_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated")
                    .is_err()
        })
        .collect();
    let expected = format!(
        "{n} simultaneous identical creates: exactly one HTTP 201, {} × HTTP 422 guestPassAlreadyCreated",
        n - 1
    );
    if let Some(ex) = odd.first() {
        return Err(ex.fail(format!(
            "{expected} (got {} × 201 and {} other answers, this one among them)",
            created.len(),
            odd.len()
        )));
    }
    match created.as_slice() {
        [_] => Ok(()),
        [] => Err(answers[0].fail(format!("{expected} (got no 201)"))),
        [_, second, ..] => Err(second.fail(format!(
            "{expected} (got {} × 201, this one among them)",
            created.len()
        ))),
    }
}
