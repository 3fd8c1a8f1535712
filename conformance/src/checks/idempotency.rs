//! Section 8 (added 2026-11-29): `Idempotency-Key` on the two POST
//! operations, where the server offers it (`--idempotency`): replays byte
//! for byte with `Idempotent-Replayed: true`, a reused key with another body
//! is 422 `idempotencyKeyReused`, malformed keys are 400, answers other than
//! 201/422 are not stored, keys are per principal and operation, and a
//! concurrent repeat waits and replays.

use serde_json::{json, Value};

use crate::client::{Exchange, Headers, Request};
use crate::expect::{ensure, Checked, Context, Verdict};
use crate::kit::{join_all, Kit, Who};

const HEADER: &str = "Idempotency-Key";

pub async fn run(kit: &Kit) {
    kit.check(
        "idempotency.create-replayed",
        "createGuestPass: the same key and the same JSON body (other whitespace and key order) → the stored 201 byte for byte, Idempotent-Replayed: true, no second pass",
        create_replayed(kit),
    )
    .await;
    kit.check(
        "idempotency.checkin-replayed",
        "checkinGuest: the same key and body → the stored 201 byte for byte, Idempotent-Replayed: true, no second visit",
        checkin_replayed(kit),
    )
    .await;
    kit.check(
        "idempotency.422-stored-and-replayed",
        "A 422 is stored with its key: the retry gets the same 422 even after the conflict is gone",
        stored_422(kit),
    )
    .await;
    kit.check(
        "idempotency.key-reused-with-another-body-is-422",
        "The same key with another body → 422 idempotencyKeyReused / idempotencyKeyReused, on both operations",
        reused(kit),
    )
    .await;
    kit.check(
        "idempotency.malformed-key-is-400",
        "An Idempotency-Key that is not 1–255 printable ASCII characters → 400 {\"Idempotency-Key\": \"wrongFormat\"}; 255 characters are accepted",
        malformed(kit),
    )
    .await;
    kit.check(
        "idempotency.errors-not-stored",
        "400, 401 and 404 answers are not stored: a retry with the same key runs again",
        errors_not_stored(kit),
    )
    .await;
    kit.check(
        "idempotency.scoped-to-principal-and-operation",
        "A key belongs to one principal and one operation: the same key elsewhere is a new request",
        scoped(kit),
    )
    .await;
    kit.check(
        "idempotency.concurrent-repeat-replays",
        "The same key and body sent at once: one pass, and every answer the same 201 body",
        concurrent(kit),
    )
    .await;
}

fn key() -> String {
    format!("conformance-{}", uuid::Uuid::new_v4())
}

/// A POST of `body` (already serialized) with `key`.
fn keyed(path: &str, headers: &Headers, key: &str, body: String) -> Request {
    Request::new(awc::http::Method::POST, path)
        .headers(&headers.clone().with(HEADER, key))
        .raw_body(Some("application/json"), body)
}

/// The same JSON, written differently: pretty-printed, keys in reverse order.
fn rewritten(body: &Value) -> String {
    match body.as_object() {
        Some(map) => {
            let fields: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!("  {} :  {}", json!(k), v))
                .collect();
            format!("{{\n{}\n}}\n", fields.join(",\n"))
        }
        None => body.to_string(),
    }
}

fn replayed_header(ex: &Exchange) -> Option<String> {
    ex.response
        .as_ref()
        .ok()
        .and_then(|r| r.header("idempotent-replayed"))
        .map(|v| v.trim().to_ascii_lowercase())
}

/// `again` is `first` replayed: same status, same bytes, the header.
fn expect_replay(first: &Exchange, again: &Exchange) -> Checked {
    let (Ok(a), Ok(b)) = (&first.response, &again.response) else {
        return Err(again.fail("an answer to the retry"));
    };
    ensure(
        a.status == b.status
            && a.text == b.text
            && replayed_header(again).as_deref() == Some("true"),
        || {
            again.fail(format!(
                "HTTP {} with the first answer's body byte for byte and Idempotent-Replayed: true (first answer: {})",
                a.status,
                a.summary()
            ))
        },
    )
}

fn not_replayed(ex: &Exchange) -> Checked {
    ensure(replayed_header(ex).as_deref() != Some("true"), || {
        ex.fail("a first answer without Idempotent-Replayed: true")
    })
}

async fn total(kit: &Kit, headers: &Headers, email: &str) -> Result<i64, Verdict> {
    let ex = kit.search(headers, &[("email", email)]).await;
    let body = ex.expect_object(200, "the search result")?;
    body.get("total")
        .and_then(Value::as_i64)
        .ok_or_else(|| ex.fail("HTTP 200 with a total"))
}

async fn create_replayed(kit: &Kit) -> Checked {
    kit.idempotency_offered().await?;
    let headers = kit.primary()?;
    let body = kit.upcoming_body()?;
    let email = body["email"].as_str().unwrap_or_default().to_owned();
    let k = key();
    let first = kit
        .send(keyed("/guest-passes", &headers, &k, body.to_string()))
        .await;
    first
        .expect_object(201, "the created pass")
        .ctx("the first request")?;
    not_replayed(&first)?;
    let again = kit
        .send(keyed("/guest-passes", &headers, &k, rewritten(&body)))
        .await;
    expect_replay(&first, &again).ctx("the retry, the body written differently")?;
    let n = total(kit, &headers, &email).await?;
    ensure(n == 1, || {
        Verdict::fail(
            "exactly one pass after a create and its retry",
            format!("{n} passes"),
        )
    })
}

async fn checkin_replayed(kit: &Kit) -> Checked {
    kit.idempotency_offered().await?;
    let headers = kit.primary()?;
    let pass = kit.create_active(&headers).await?;
    let body = json!({"checkinCode": pass.code, "locationId": pass.location});
    let k = key();
    let first = kit
        .send(keyed("/checkins", &headers, &k, body.to_string()))
        .await;
    first
        .expect_object(201, "the visit")
        .ctx("the first check-in")?;
    not_replayed(&first)?;
    let again = kit
        .send(keyed("/checkins", &headers, &k, rewritten(&body)))
        .await;
    expect_replay(&first, &again).ctx("the retried check-in")?;
    let ex = kit.list_checkins(&headers, &pass.id).await;
    let visits = ex.expect_object(200, "the visit history")?;
    let n = visits
        .get("checkins")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    ensure(n == 1, || {
        ex.fail(format!(
            "exactly one visit after a check-in and its retry (got {n})"
        ))
    })
}

async fn stored_422(kit: &Kit) -> Checked {
    kit.idempotency_offered().await?;
    let headers = kit.primary()?;
    let body = kit.upcoming_body()?;
    let blocker = kit
        .create_pass(&headers, &body)
        .await
        .ctx("the first pass")?;
    let k = key();
    let first = kit
        .send(keyed("/guest-passes", &headers, &k, body.to_string()))
        .await;
    first
        .expect_unprocessable("guestPassAlreadyCreated", "guestPassAlreadyCreated")
        .ctx("the duplicate, with a key")?;
    kit.cancel(&headers, &blocker.id)
        .await
        .expect_status(204)
        .ctx("cancelling the first pass, so a new run would succeed")?;
    let again = kit
        .send(keyed("/guest-passes", &headers, &k, body.to_string()))
        .await;
    expect_replay(&first, &again).ctx("the retry of the duplicate after the cancel")
}

async fn reused(kit: &Kit) -> Checked {
    kit.idempotency_offered().await?;
    let headers = kit.primary()?;
    let k = key();
    let body = kit.upcoming_body()?;
    kit.send(keyed("/guest-passes", &headers, &k, body.to_string()))
        .await
        .expect_object(201, "the created pass")
        .ctx("the first create")?;
    let other = kit.upcoming_body()?;
    kit.send(keyed("/guest-passes", &headers, &k, other.to_string()))
        .await
        .expect_unprocessable("idempotencyKeyReused", "idempotencyKeyReused")
        .ctx("the same key with another email")?;
    let pass = kit.create_active(&headers).await?;
    let k = key();
    let body = json!({"checkinCode": pass.code, "locationId": pass.location});
    kit.send(keyed("/checkins", &headers, &k, body.to_string()))
        .await
        .expect_object(201, "the visit")
        .ctx("the first check-in")?;
    let other = json!({"checkinCode": pass.code, "locationId": kit.unknown_id()});
    kit.send(keyed("/checkins", &headers, &k, other.to_string()))
        .await
        .expect_unprocessable("idempotencyKeyReused", "idempotencyKeyReused")
        .ctx("the same check-in key with another locationId")
}

async fn malformed(kit: &Kit) -> Checked {
    kit.idempotency_offered().await?;
    let headers = kit.primary()?;
    let long = "k".repeat(256);
    let bad = ["", long.as_str(), "schl\u{fc}ssel", "a\tb"];
    let checkin = json!({"checkinCode": kit.unknown_code(), "locationId": kit.location()?});
    for value in bad {
        let label = format!("Idempotency-Key {:?}", super::get::short(value));
        kit.send(keyed(
            "/guest-passes",
            &headers,
            value,
            kit.upcoming_body()?.to_string(),
        ))
        .await
        .expect_bad_request(json!({HEADER: "wrongFormat"}))
        .ctx(format!("create, {label}"))?;
        kit.send(keyed("/checkins", &headers, value, checkin.to_string()))
            .await
            .expect_bad_request(json!({HEADER: "wrongFormat"}))
            .ctx(format!("check-in, {label}"))?;
    }
    // 255 printable characters, a space and punctuation inside: a good key.
    let printable: String = (0x21u8..=0x7e).map(char::from).collect();
    let mut good: String = format!("{} {printable}", key())
        .chars()
        .cycle()
        .take(254)
        .collect();
    // Not a space at either end: HTTP would trim it away.
    good.push('z');
    kit.send(keyed(
        "/guest-passes",
        &headers,
        &good,
        kit.upcoming_body()?.to_string(),
    ))
    .await
    .expect_object(201, "the created pass")
    .ctx("an Idempotency-Key of 255 printable characters")?;
    Ok(())
}

async fn errors_not_stored(kit: &Kit) -> Checked {
    kit.idempotency_offered().await?;
    let headers = kit.primary()?;
    let k = key();
    let mut invalid = kit.upcoming_body()?;
    invalid["firstName"] = json!("");
    kit.send(keyed("/guest-passes", &headers, &k, invalid.to_string()))
        .await
        .expect_bad_request(json!({"firstName": "missing"}))
        .ctx("a 400 with a key")?;
    let ex = kit
        .send(keyed(
            "/guest-passes",
            &headers,
            &k,
            kit.upcoming_body()?.to_string(),
        ))
        .await;
    ex.expect_object(201, "the created pass")
        .ctx("the same key after the 400, with a valid body")?;
    not_replayed(&ex)?;

    // A random ID: the 401 costs no real principal's failure budget.
    let k = key();
    let body = kit.upcoming_body()?;
    let first = kit.configured()[0];
    let wrong = kit.probe_headers(first, Some(&kit.unknown_id()), None)?;
    kit.send(keyed("/guest-passes", &wrong, &k, body.to_string()))
        .await
        .expect_unauthorized(first.name(), first.id_header())
        .ctx("a 401 with a key")?;
    let ex = kit
        .send(keyed("/guest-passes", &headers, &k, body.to_string()))
        .await;
    ex.expect_object(201, "the created pass")
        .ctx("the same key and body after the 401, with valid credentials")?;
    not_replayed(&ex)?;

    let k = key();
    let mut unknown = kit.upcoming_body()?;
    unknown["locationId"] = json!(kit.unknown_id());
    kit.send(keyed("/guest-passes", &headers, &k, unknown.to_string()))
        .await
        .expect_not_found("locationId")
        .ctx("a 404 with a key")?;
    let ex = kit
        .send(keyed(
            "/guest-passes",
            &headers,
            &k,
            kit.upcoming_body()?.to_string(),
        ))
        .await;
    ex.expect_object(201, "the created pass")
        .ctx("the same key after the 404, with a valid body")?;
    not_replayed(&ex)
}

async fn scoped(kit: &Kit) -> Checked {
    kit.idempotency_offered().await?;
    let headers = kit.primary()?;
    let k = key();
    let pass = kit.create_active(&headers).await?;
    // The key of a create, used for a check-in: another operation, a new request.
    kit.send(keyed(
        "/guest-passes",
        &headers,
        &k,
        kit.upcoming_body()?.to_string(),
    ))
    .await
    .expect_object(201, "the created pass")
    .ctx("a create with the key")?;
    let body = json!({"checkinCode": pass.code, "locationId": pass.location});
    let ex = kit
        .send(keyed("/checkins", &headers, &k, body.to_string()))
        .await;
    ex.expect_object(201, "the visit")
        .ctx("a check-in with the create's key")?;
    not_replayed(&ex)?;
    // Another principal with the same key: its own request. At client level
    // alone every chain is reached with the one client's credentials: one
    // principal, so there is no other to try.
    if !kit.levels.chain && !kit.levels.location {
        return Ok(());
    }
    let (Ok(other), Some(location)) = (kit.creds(Who::OtherChain), kit.other_location()) else {
        return Ok(());
    };
    let mut body = kit.upcoming_body()?;
    body["locationId"] = json!(location);
    let ex = kit
        .send(keyed("/guest-passes", &other, &k, body.to_string()))
        .await;
    ex.expect_object(201, "the created pass")
        .ctx("another chain's create with the same key")?;
    not_replayed(&ex)
}

async fn concurrent(kit: &Kit) -> Checked {
    kit.idempotency_offered().await?;
    let headers = kit.primary()?;
    let body = kit.upcoming_body()?;
    let email = body["email"].as_str().unwrap_or_default().to_owned();
    let k = key();
    let n = kit.args.concurrency.min(5) as usize;
    let sends = (0..n)
        .map(|_| kit.send(keyed("/guest-passes", &headers, &k, body.to_string())))
        .collect();
    let answers = join_all(sends).await;
    let first_text = answers[0].response.as_ref().map(|r| r.text.clone()).ok();
    for ex in &answers {
        ex.expect_object(201, "the created pass")
            .ctx(format!("{n} identical keyed creates at once"))?;
        let same = ex.response.as_ref().ok().map(|r| r.text.clone()) == first_text;
        ensure(same, || {
            ex.fail("the same 201 body for every one of the identical keyed creates")
        })?;
    }
    let fresh = answers
        .iter()
        .filter(|ex| replayed_header(ex).as_deref() != Some("true"))
        .count();
    ensure(fresh == 1, || {
        Verdict::fail(
            "exactly one answer without Idempotent-Replayed: true",
            format!("{fresh} of {n}"),
        )
    })?;
    let total = total(kit, &headers, &email).await?;
    ensure(total == 1, || {
        Verdict::fail("exactly one pass", format!("{total} passes"))
    })
}
