//! Section 5, `searchGuestPasses`: the page shape, each filter, the
//! parameter reasons, the order and paging.

use serde_json::{json, Map, Value};

use crate::client::Exchange;
use crate::expect::{ensure, Checked, Context, Verdict};
use crate::kit::{minute, now, parse_strict, ts, Kit, DAY};

pub async fn run(kit: &Kit) {
    kit.check(
        "search.response-shape",
        "GET /guest-passes → 200 {guestPasses: [...], limit: 20, offset: 0, total}",
        shape(kit),
    )
    .await;
    kit.check(
        "search.empty-result",
        "A search that matches nothing → 200 with an empty guestPasses and total 0",
        empty(kit),
    )
    .await;
    kit.check(
        "search.by-email",
        "email is an exact match, case-insensitive",
        by_email(kit),
    )
    .await;
    kit.check(
        "search.by-checkin-code",
        "checkinCode is an exact match",
        by_code(kit),
    )
    .await;
    kit.check(
        "search.by-status",
        "status filters by the status computed now",
        by_status(kit),
    )
    .await;
    kit.check(
        "search.status-invalid-is-wrongFormat",
        "status other than UPCOMING, ACTIVE, EXPIRED, CANCELLED → 400 {\"status\": \"wrongFormat\"}",
        status_invalid(kit),
    )
    .await;
    kit.check(
        "search.by-validAt",
        "validAt matches passes whose [validFrom, validUntil) contains it",
        by_valid_at(kit),
    )
    .await;
    kit.check(
        "search.validAt-excludes-cancelled",
        "validAt matches only passes that are not cancelled",
        valid_at_not_cancelled(kit),
    )
    .await;
    kit.check(
        "search.by-location",
        "locationId restricts the result to one location",
        by_location(kit),
    )
    .await;
    kit.check(
        "search.unknown-location-is-404",
        "An unknown locationId → 404 entityNotFound, parameter locationId",
        unknown_location(kit),
    )
    .await;
    kit.check(
        "search.limit-and-offset-validated",
        "limit: integer 1–100, offset: integer ≥ 0; not an integer → wrongFormat, out of range → outOfRange",
        limit_offset(kit),
    )
    .await;
    kit.check(
        "search.offset-capped-at-10000",
        "offset 10000 is the deepest page (200); offset 10001 → 400 {\"offset\": \"outOfRange\"}",
        offset_cap(kit),
    )
    .await;
    kit.check(
        "search.order-and-paging",
        "Newest createdAt first (ties by guestPassId); limit and offset page through total",
        order_and_paging(kit),
    )
    .await;
}

pub async fn run_expired(kit: &Kit) {
    kit.check(
        "search.by-status-expired",
        "status=EXPIRED finds a pass once now ≥ validUntil",
        async {
            let pass = kit.expired().await?;
            let found = ids(
                kit,
                &pass.owner,
                &[("email", &pass.email), ("status", "EXPIRED")],
            )
            .await?;
            expect_ids(&found, &[&pass.id]).ctx("status=EXPIRED")?;
            let found = ids(
                kit,
                &pass.owner,
                &[("email", &pass.email), ("status", "ACTIVE")],
            )
            .await?;
            expect_ids(&found, &[]).ctx("status=ACTIVE")
        },
    )
    .await;
}

/// The ids of a 200 search result, with the exchange for reporting.
async fn ids(
    kit: &Kit,
    headers: &crate::client::Headers,
    query: &[(&str, &str)],
) -> Result<(Vec<String>, Exchange), Verdict> {
    let ex = kit.search(headers, query).await;
    let body = ex.expect_object(200, "the search result")?;
    let Some(passes) = body.get("guestPasses").and_then(Value::as_array) else {
        return Err(ex.fail("HTTP 200 with a guestPasses array"));
    };
    let ids = passes
        .iter()
        .map(|p| p["guestPassId"].as_str().unwrap_or_default().to_owned())
        .collect();
    Ok((ids, ex))
}

fn expect_ids(found: &(Vec<String>, Exchange), want: &[&str]) -> Checked {
    let (ids, ex) = found;
    let body = ex.json().cloned().unwrap_or_default();
    ensure(
        ids.iter().map(String::as_str).eq(want.iter().copied())
            && body.get("total") == Some(&json!(want.len())),
        || {
            ex.fail(if want.is_empty() {
                "HTTP 200 with no passes and total 0".to_owned()
            } else {
                format!("HTTP 200 with exactly {want:?} and total {}", want.len())
            })
        },
    )
}

fn page_problems(body: &Map<String, Value>, limit: i64, offset: i64) -> Vec<String> {
    let mut problems = Vec::new();
    let passes = body.get("guestPasses").and_then(Value::as_array);
    if passes.is_none() {
        problems.push("guestPasses is not an array".to_owned());
    }
    if body.get("limit") != Some(&json!(limit)) {
        problems.push(format!("limit is not {limit}"));
    }
    if body.get("offset") != Some(&json!(offset)) {
        problems.push(format!("offset is not {offset}"));
    }
    let len = passes.map_or(0, Vec::len);
    match body.get("total").and_then(Value::as_i64) {
        Some(total) if total >= 0 && (len == 0 || total >= offset + len as i64) => {}
        _ => problems.push("total is not a count of the matches".to_owned()),
    }
    if len as i64 > limit {
        problems.push(format!("more than {limit} passes"));
    }
    for pass in passes.into_iter().flatten() {
        let complete = [
            "guestPassId",
            "locationId",
            "firstName",
            "lastName",
            "email",
            "validFrom",
            "validUntil",
            "status",
            "checkinCode",
            "createdAt",
        ]
        .iter()
        .all(|k| pass.get(*k).is_some_and(Value::is_string));
        if !complete {
            problems.push(format!("a pass without all the contract's fields: {pass}"));
            break;
        }
    }
    problems
}

async fn shape(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    // At least one pass in scope, so the items get looked at too.
    kit.upcoming().await?;
    let ex = kit.search(&headers, &[]).await;
    let body = ex.expect_object(200, "the search result")?;
    let problems = page_problems(body, 20, 0);
    ensure(problems.is_empty(), || {
        ex.fail(format!(
            "HTTP 200 {{guestPasses, limit: 20, offset: 0, total}} ({})",
            problems.join("; ")
        ))
    })
}

async fn empty(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let found = ids(kit, &headers, &[("email", &kit.email())]).await?;
    expect_ids(&found, &[])
}

async fn by_email(kit: &Kit) -> Checked {
    let pass = kit.upcoming().await?;
    let h = &pass.owner;
    expect_ids(&ids(kit, h, &[("email", &pass.email)]).await?, &[&pass.id])
        .ctx("the email as created")?;
    let upper = pass.email.to_uppercase();
    expect_ids(&ids(kit, h, &[("email", &upper)]).await?, &[&pass.id])
        .ctx("the email in upper case")?;
    let prefix = &pass.email[..pass.email.len() - 1];
    expect_ids(&ids(kit, h, &[("email", prefix)]).await?, &[]).ctx("a prefix of the email")
}

async fn by_code(kit: &Kit) -> Checked {
    let pass = kit.upcoming().await?;
    let h = &pass.owner;
    expect_ids(
        &ids(kit, h, &[("checkinCode", &pass.code)]).await?,
        &[&pass.id],
    )
    .ctx("the code")?;
    let prefix = &pass.code[..pass.code.len().saturating_sub(1)];
    expect_ids(&ids(kit, h, &[("checkinCode", prefix)]).await?, &[]).ctx("a prefix of the code")
}

async fn by_status(kit: &Kit) -> Checked {
    let pass = kit.upcoming().await?;
    for (status, matches) in [
        ("UPCOMING", true),
        ("ACTIVE", false),
        ("EXPIRED", false),
        ("CANCELLED", false),
    ] {
        let want: &[&str] = if matches { &[&pass.id] } else { &[] };
        let found = ids(
            kit,
            &pass.owner,
            &[("email", &pass.email), ("status", status)],
        )
        .await?;
        expect_ids(&found, want).ctx(format!("an upcoming pass, status={status}"))?;
    }
    let active = kit.active().await?;
    let found = ids(
        kit,
        &active.owner,
        &[("email", &active.email), ("status", "ACTIVE")],
    )
    .await?;
    expect_ids(&found, &[&active.id]).ctx("an active pass, status=ACTIVE")
}

async fn status_invalid(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    for status in ["upcoming", "Active", "FOO", "", "UPCOMING,ACTIVE"] {
        kit.search(&headers, &[("status", status)])
            .await
            .expect_bad_request(json!({"status": "wrongFormat"}))
            .ctx(format!("status={status:?}"))?;
    }
    Ok(())
}

async fn by_valid_at(kit: &Kit) -> Checked {
    let pass = kit.upcoming().await?;
    let (Some(from), Some(until)) = (
        parse_strict(&pass.valid_from),
        parse_strict(&pass.valid_until),
    ) else {
        return Err(Verdict::fail("the kit's own pass dates", "unparsable"));
    };
    for (what, at, matches) in [
        ("validFrom (inclusive)", from, true),
        ("a second before validFrom", from - 1, false),
        ("a second before validUntil", until - 1, true),
        ("validUntil (exclusive)", until, false),
    ] {
        let want: &[&str] = if matches { &[&pass.id] } else { &[] };
        let found = ids(
            kit,
            &pass.owner,
            &[("email", &pass.email), ("validAt", &ts(at))],
        )
        .await?;
        expect_ids(&found, want).ctx(format!("validAt {what}"))?;
    }
    Ok(())
}

async fn valid_at_not_cancelled(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let pass = kit.create_pass(&headers, &kit.upcoming_body()?).await?;
    kit.cancel(&headers, &pass.id)
        .await
        .expect_status(204)
        .ctx("cancelling the pass")?;
    let mid = parse_strict(&pass.valid_from).unwrap_or_default() + 3600;
    let found = ids(
        kit,
        &headers,
        &[("email", &pass.email), ("validAt", &ts(mid))],
    )
    .await?;
    expect_ids(&found, &[]).ctx("a cancelled pass, validAt inside its period")?;
    let found = ids(kit, &headers, &[("email", &pass.email)]).await?;
    expect_ids(&found, &[&pass.id]).ctx("a cancelled pass, without validAt")?;
    let found = ids(
        kit,
        &headers,
        &[("email", &pass.email), ("status", "CANCELLED")],
    )
    .await?;
    expect_ids(&found, &[&pass.id]).ctx("a cancelled pass, status=CANCELLED")
}

async fn by_location(kit: &Kit) -> Checked {
    let pass = kit.upcoming().await?;
    let found = ids(
        kit,
        &pass.owner,
        &[("email", &pass.email), ("locationId", &pass.location)],
    )
    .await?;
    expect_ids(&found, &[&pass.id]).ctx("the pass's location")?;
    if let (Some(second), true) = (kit.second_location(), kit.second_in_scope()) {
        let found = ids(
            kit,
            &pass.owner,
            &[("email", &pass.email), ("locationId", &second)],
        )
        .await?;
        expect_ids(&found, &[]).ctx("another location in scope")?;
    }
    Ok(())
}

async fn unknown_location(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    kit.search(&headers, &[("locationId", &kit.unknown_id())])
        .await
        .expect_not_found("locationId")
}

async fn limit_offset(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let cases: [(&str, &str, &str); 13] = [
        ("limit", "0", "outOfRange"),
        ("limit", "101", "outOfRange"),
        ("limit", "-5", "outOfRange"),
        ("limit", "99999999999999999999999", "outOfRange"),
        ("limit", "abc", "wrongFormat"),
        ("limit", "1.5", "wrongFormat"),
        ("limit", "1e2", "wrongFormat"),
        ("limit", "", "wrongFormat"),
        ("offset", "-1", "outOfRange"),
        ("offset", "99999999999999999999999", "outOfRange"),
        ("offset", "x", "wrongFormat"),
        ("offset", "0.5", "wrongFormat"),
        ("offset", "", "wrongFormat"),
    ];
    for (parameter, value, reason) in cases {
        kit.search(&headers, &[(parameter, value)])
            .await
            .expect_bad_request(json!({ parameter: reason }))
            .ctx(format!("{parameter}={value:?}"))?;
    }
    for (limit, offset) in [(1, 0), (100, 0), (20, 5)] {
        let ex = kit
            .search(
                &headers,
                &[
                    ("limit", &limit.to_string()),
                    ("offset", &offset.to_string()),
                ],
            )
            .await;
        let body = ex.expect_object(200, "the search result")?;
        let problems = page_problems(body, limit, offset);
        ensure(problems.is_empty(), || {
            ex.fail(format!(
                "HTTP 200 with limit {limit}, offset {offset} ({})",
                problems.join("; ")
            ))
        })?;
    }
    Ok(())
}

async fn offset_cap(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let ex = kit
        .search(&headers, &[("offset", "10000"), ("limit", "1")])
        .await;
    let body = ex
        .expect_object(200, "the search result")
        .ctx("offset=10000")?;
    ensure(body.get("offset") == Some(&json!(10000)), || {
        ex.fail("HTTP 200 with offset 10000")
    })?;
    for offset in ["10001", "20000"] {
        kit.search(&headers, &[("offset", offset)])
            .await
            .expect_bad_request(json!({"offset": "outOfRange"}))
            .ctx(format!("offset={offset}"))?;
    }
    Ok(())
}

async fn order_and_paging(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let location = kit.location()?;
    let email = kit.email();
    let t = minute(now() + DAY);
    for i in 0..3 {
        let from = t + i * DAY;
        kit.create_pass(
            &headers,
            &kit.pass_body(&location, &email, from, from + DAY),
        )
        .await
        .ctx(format!("creating pass {} of 3", i + 1))?;
    }
    let ex = kit.search(&headers, &[("email", &email)]).await;
    let body = ex.expect_object(200, "the search result")?;
    let passes = body
        .get("guestPasses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let key = |p: &Value| {
        (
            std::cmp::Reverse(p["createdAt"].as_str().and_then(parse_strict)),
            p["guestPassId"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let mut sorted = passes.clone();
    sorted.sort_by_key(key);
    ensure(
        passes.len() == 3 && body.get("total") == Some(&json!(3)) && sorted == passes,
        || {
            ex.fail(
                "HTTP 200 with the 3 passes, newest createdAt first, ties by guestPassId, total 3",
            )
        },
    )?;
    let all: Vec<String> = passes
        .iter()
        .map(|p| p["guestPassId"].as_str().unwrap_or_default().to_owned())
        .collect();
    for offset in 0..=3usize {
        let query = [
            ("email", email.as_str()),
            ("limit", "1"),
            ("offset", &offset.to_string()),
        ];
        let (found, ex) = ids(kit, &headers, &query).await?;
        let want: Vec<String> = all.iter().skip(offset).take(1).cloned().collect();
        let body = ex.json().cloned().unwrap_or_default();
        ensure(
            found == want
                && body.get("total") == Some(&json!(3))
                && body.get("limit") == Some(&json!(1))
                && body.get("offset") == Some(&json!(offset)),
            || {
                ex.fail(format!(
                    "HTTP 200 with {want:?}, limit 1, offset {offset}, total 3"
                ))
            },
        )?;
    }
    Ok(())
}
