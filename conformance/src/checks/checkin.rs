//! Section 5, `checkinGuest`: 201 with the visit, the field reasons, 404 for
//! code and location, and the four 422 reasons.

use serde_json::{json, Value};

use crate::client::Request;
use crate::expect::{ensure, Checked, Context, Verdict};
use crate::kit::{is_strict, is_uuid, Kit, Pass};

pub async fn run(kit: &Kit) {
    kit.check(
        "checkin.active-pass-is-201",
        "POST /checkins with the code of an active pass → 201 {checkinId, guestPassId, locationId, checkedInAt}",
        active(kit),
    )
    .await;
    kit.check(
        "checkin.repeat-visit-is-201",
        "Every successful check-in is a new visit: the same pass again → 201 with a new checkinId",
        repeat(kit),
    )
    .await;
    kit.check(
        "checkin.missing-and-wrong-fields",
        "checkinCode and locationId: absent, null or blank → missing; not a string → wrongFormat; too long → tooLong",
        fields(kit),
    )
    .await;
    kit.check(
        "checkin.unknown-code-is-404",
        "No pass with the code in scope → 404 entityNotFound, parameter checkinCode",
        unknown_code(kit),
    )
    .await;
    kit.check(
        "checkin.unknown-location-is-404",
        "An unknown locationId → 404 entityNotFound, parameter locationId",
        unknown_location(kit),
    )
    .await;
    kit.check(
        "checkin.not-yet-valid-is-422",
        "An upcoming pass → 422 checkinFailed, reason guestPassNotYetValid; no visit recorded",
        not_yet_valid(kit),
    )
    .await;
    kit.check(
        "checkin.cancelled-is-422",
        "A cancelled pass → 422 checkinFailed, reason guestPassCancelled; no visit recorded",
        cancelled(kit),
    )
    .await;
    kit.check(
        "checkin.wrong-location-is-422",
        "An active pass at another location of the scope → 422 checkinFailed, reason wrongLocation",
        wrong_location(kit),
    )
    .await;
}

pub async fn run_started(kit: &Kit) {
    kit.check(
        "checkin.from-the-instant-of-validFrom-is-201",
        "A pass whose validFrom has just come checks in (201); validFrom is inclusive",
        async {
            let pass = kit.started().await?;
            checked_in(kit, &pass).await.map(|_| ())
        },
    )
    .await;
}

pub async fn run_expired(kit: &Kit) {
    kit.check(
        "checkin.expired-is-422",
        "An expired pass → 422 checkinFailed, reason guestPassExpired",
        async {
            let pass = kit.expired().await?;
            kit.checkin(&pass.owner, &pass.code, &pass.location)
                .await
                .expect_unprocessable("checkinFailed", "guestPassExpired")
        },
    )
    .await;
}

/// A 201 check-in of `pass` at its own location; returns the checkinId.
async fn checked_in(kit: &Kit, pass: &Pass) -> Result<String, Verdict> {
    let ex = kit.checkin(&pass.owner, &pass.code, &pass.location).await;
    let expected = format!(
        "HTTP 201 {{checkinId: <uuid>, guestPassId: {}, locationId: {}, checkedInAt: <strict date>}}",
        pass.id, pass.location
    );
    let body = ex.expect_object(201, &expected)?;
    let ok = body.get("checkinId").is_some_and(is_uuid)
        && body.get("guestPassId") == Some(&json!(pass.id))
        && body.get("locationId") == Some(&json!(pass.location))
        && body.get("checkedInAt").is_some_and(is_strict);
    ensure(ok, || ex.fail(expected))?;
    Ok(body["checkinId"].as_str().unwrap_or_default().to_owned())
}

async fn active(kit: &Kit) -> Checked {
    let pass = kit.active().await?;
    checked_in(kit, &pass).await.map(|_| ())
}

async fn repeat(kit: &Kit) -> Checked {
    let pass = kit.active().await?;
    let first = checked_in(kit, &pass).await.ctx("the first visit")?;
    let second = checked_in(kit, &pass).await.ctx("the second visit")?;
    ensure(first != second, || {
        Verdict::fail(
            "a new checkinId for the second visit",
            format!("{first} twice"),
        )
    })
}

async fn fields(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let location = kit.location()?;
    let code = kit.unknown_code();
    let send = |body: Value| kit.send(Request::post_json("/checkins", &body).headers(&headers));
    send(json!({}))
        .await
        .expect_bad_request(json!({"checkinCode": "missing", "locationId": "missing"}))
        .ctx("an empty object")?;
    send(json!({"checkinCode": null, "locationId": null}))
        .await
        .expect_bad_request(json!({"checkinCode": "missing", "locationId": "missing"}))
        .ctx("both null")?;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("checkinCode", json!(""), "missing"),
        ("checkinCode", json!("   "), "missing"),
        ("checkinCode", json!(12345), "wrongFormat"),
        ("checkinCode", json!(["A"]), "wrongFormat"),
        ("checkinCode", json!("ABCDEFGHJKM"), "tooLong"),
        ("locationId", json!(""), "missing"),
        ("locationId", json!(" "), "missing"),
        ("locationId", json!(7), "wrongFormat"),
        ("locationId", json!({"id": location}), "wrongFormat"),
        ("locationId", json!("l".repeat(65)), "tooLong"),
    ];
    for (field, value, reason) in cases {
        let mut body = json!({"checkinCode": code, "locationId": location});
        body[field] = value.clone();
        send(body)
            .await
            .expect_bad_request(json!({ field: reason }))
            .ctx(format!("{field} {value}"))?;
    }
    Ok(())
}

async fn unknown_code(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    kit.checkin(&headers, &kit.unknown_code(), &kit.location()?)
        .await
        .expect_not_found("checkinCode")
}

async fn unknown_location(kit: &Kit) -> Checked {
    let pass = kit.active().await?;
    kit.checkin(&pass.owner, &pass.code, &kit.unknown_id())
        .await
        .expect_not_found("locationId")
}

/// A failed check-in records nothing.
async fn no_visits(kit: &Kit, pass: &Pass) -> Checked {
    let ex = kit.list_checkins(&pass.owner, &pass.id).await;
    let body = ex.expect_json(200, "the visit history")?;
    ensure(body.get("checkins") == Some(&json!([])), || {
        ex.fail("HTTP 200 {\"checkins\": []} after the failed check-in")
    })
}

async fn not_yet_valid(kit: &Kit) -> Checked {
    let pass = kit.upcoming().await?;
    kit.checkin(&pass.owner, &pass.code, &pass.location)
        .await
        .expect_unprocessable("checkinFailed", "guestPassNotYetValid")?;
    no_visits(kit, &pass).await
}

async fn cancelled(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let pass = kit.create_active(&headers).await?;
    kit.cancel(&headers, &pass.id)
        .await
        .expect_status(204)
        .ctx("cancelling the pass")?;
    kit.checkin(&headers, &pass.code, &pass.location)
        .await
        .expect_unprocessable("checkinFailed", "guestPassCancelled")?;
    no_visits(kit, &pass).await
}

async fn wrong_location(kit: &Kit) -> Checked {
    if kit.levels.location {
        return Err(Verdict::not_applicable(
            "with location level another location is outside the caller's scope (404), so wrongLocation cannot arise",
        ));
    }
    let Some(second) = kit.second_location() else {
        return Err(Verdict::skip("needs --second-location-id"));
    };
    let pass = kit.active().await?;
    kit.checkin(&pass.owner, &pass.code, &second)
        .await
        .expect_unprocessable("checkinFailed", "wrongLocation")
        .ctx(format!(
            "the code of a pass for {} at {second}",
            pass.location
        ))
}
