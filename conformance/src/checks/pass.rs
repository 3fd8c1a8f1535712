//! Section 4: the guest pass as the server shows it, and its computed status.

use serde_json::{json, Value};

use crate::expect::{ensure, Checked, Context, Verdict};
use crate::kit::{is_checkin_code, is_uuid, now, parse_strict, Kit};

/// How far the server's clock may be from the kit's for createdAt/cancelledAt.
const CLOCK_SLACK: i64 = 15 * 60;

pub async fn run(kit: &Kit) {
    kit.check(
        "pass.fields-of-a-created-pass",
        "A pass has guestPassId (UUID), the fields as sent, status, a 10-character checkinCode without look-alikes, createdAt, no cancelledAt",
        fields(kit),
    )
    .await;
    kit.check(
        "pass.phone-left-out-when-not-set",
        "phone is left out of the pass (not null) when not set",
        phone_left_out(kit),
    )
    .await;
    kit.check(
        "pass.status-upcoming",
        "status is UPCOMING while now < validFrom",
        status_of(kit, Fixture::Upcoming),
    )
    .await;
    kit.check(
        "pass.status-active",
        "status is ACTIVE from validFrom until validUntil",
        status_of(kit, Fixture::Active),
    )
    .await;
    kit.check(
        "pass.status-cancelled",
        "A cancelled pass shows status CANCELLED and cancelledAt, the rest unchanged",
        cancelled(kit),
    )
    .await;
}

pub async fn run_started(kit: &Kit) {
    kit.check(
        "pass.active-from-the-instant-of-validFrom",
        "A pass is UPCOMING before validFrom and ACTIVE from that instant on (a pass created to start a few seconds into the run)",
        async {
            let pass = kit.started().await?;
            ensure(pass.created.get("status") == Some(&json!("UPCOMING")), || {
                Verdict::fail(
                    "status UPCOMING in the 201 of a pass starting in 4 seconds",
                    pass.created.to_string(),
                )
            })?;
            let ex = kit.get_pass(&pass.owner, &pass.id).await;
            let body = ex.expect_json(200, "the pass")?;
            ensure(body.get("status") == Some(&json!("ACTIVE")), || {
                ex.fail(format!("HTTP 200 with status ACTIVE once {} has come", pass.valid_from))
            })
        },
    )
    .await;
}

pub async fn run_expired(kit: &Kit) {
    kit.check(
        "pass.status-expired",
        "status is EXPIRED once now ≥ validUntil (a pass created valid for a few seconds)",
        async {
            let pass = kit.expired().await?;
            let ex = kit.get_pass(&pass.owner, &pass.id).await;
            let body = ex.expect_json(200, "the pass")?;
            ensure(body.get("status") == Some(&json!("EXPIRED")), || {
                ex.fail("HTTP 200 with status EXPIRED")
            })
        },
    )
    .await;
}

/// What is wrong with `pass` as a created pass for `sent`.
pub fn shape_problems(pass: &Value, sent: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if !is_uuid(&pass["guestPassId"]) {
        problems.push(format!("guestPassId {} is not a UUID", pass["guestPassId"]));
    }
    for key in [
        "locationId",
        "firstName",
        "lastName",
        "email",
        "phone",
        "validFrom",
        "validUntil",
    ] {
        let want = match sent.get(key) {
            Some(Value::String(s)) => json!(s.trim()),
            Some(Value::Null) | None => continue,
            Some(other) => other.clone(),
        };
        if pass.get(key) != Some(&want) {
            problems.push(format!(
                "{key} is {} instead of {want}",
                pass.get(key).unwrap_or(&Value::Null)
            ));
        }
    }
    if !["UPCOMING", "ACTIVE", "EXPIRED", "CANCELLED"]
        .iter()
        .any(|s| pass["status"] == json!(s))
    {
        problems.push(format!("status {} is none of the four", pass["status"]));
    }
    if !is_checkin_code(&pass["checkinCode"]) {
        problems.push(format!(
            "checkinCode {} is not 10 characters of 23456789ABCDEFGHJKMNPQRSTUVWXYZ",
            pass["checkinCode"]
        ));
    }
    match pass["createdAt"].as_str().and_then(parse_strict) {
        Some(t) if (t - now()).abs() <= CLOCK_SLACK => {}
        _ => problems.push(format!(
            "createdAt {} is not a strict date near now",
            pass["createdAt"]
        )),
    }
    if pass.get("cancelledAt").is_some() && pass["status"] != json!("CANCELLED") {
        problems.push("cancelledAt on a pass that is not cancelled".into());
    }
    problems
}

async fn fields(kit: &Kit) -> Checked {
    let pass = kit.upcoming().await?;
    let mut sent = json!({
        "locationId": pass.location,
        "firstName": "Conformance",
        "lastName": "Check",
        "email": pass.email,
        "phone": "+49 30 1234567",
        "validFrom": pass.valid_from,
        "validUntil": pass.valid_until,
    });
    let mut problems = shape_problems(&pass.created, &sent);
    if pass.created["status"] != json!("UPCOMING") {
        problems.push(format!(
            "status {} instead of UPCOMING",
            pass.created["status"]
        ));
    }
    if pass.created.get("cancelledAt").is_some() {
        problems.push("cancelledAt on a new pass".into());
    }
    sent["status"] = json!("UPCOMING");
    ensure(problems.is_empty(), || {
        Verdict::fail(
            format!("the created pass {sent} with its server-assigned fields"),
            format!("{} (in {})", problems.join("; "), pass.created),
        )
    })
}

async fn phone_left_out(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    for phone in [None, Some(Value::Null)] {
        let mut body = kit.upcoming_body()?;
        if let Some(p) = &phone {
            body["phone"] = p.clone();
        }
        let ex = kit.create(&headers, &body).await;
        let created = ex.expect_object(201, "the created pass")?;
        ensure(!created.contains_key("phone"), || {
            ex.fail("HTTP 201 with a pass that has no phone field")
        })
        .ctx(if phone.is_some() {
            "phone null"
        } else {
            "no phone"
        })?;
    }
    Ok(())
}

enum Fixture {
    Upcoming,
    Active,
}

async fn status_of(kit: &Kit, fixture: Fixture) -> Checked {
    let (pass, status) = match fixture {
        Fixture::Upcoming => (kit.upcoming().await?, "UPCOMING"),
        Fixture::Active => (kit.active().await?, "ACTIVE"),
    };
    let ex = kit.get_pass(&pass.owner, &pass.id).await;
    let body = ex.expect_json(200, "the pass")?;
    ensure(body.get("status") == Some(&json!(status)), || {
        ex.fail(format!("HTTP 200 with status {status}"))
    })
}

async fn cancelled(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let pass = kit.create_pass(&headers, &kit.upcoming_body()?).await?;
    kit.cancel(&headers, &pass.id)
        .await
        .expect_status(204)
        .map(|_| ())
        .ctx("cancelling the pass")?;
    let ex = kit.get_pass(&headers, &pass.id).await;
    let body = ex.expect_object(200, "the cancelled pass")?;
    let mut problems = Vec::new();
    if body.get("status") != Some(&json!("CANCELLED")) {
        problems.push("status is not CANCELLED");
    }
    match body
        .get("cancelledAt")
        .and_then(Value::as_str)
        .and_then(parse_strict)
    {
        Some(t) if (t - now()).abs() <= CLOCK_SLACK => {}
        _ => problems.push("cancelledAt is not a strict date near now"),
    }
    for key in [
        "guestPassId",
        "locationId",
        "email",
        "validFrom",
        "validUntil",
        "checkinCode",
        "createdAt",
    ] {
        if body.get(key) != pass.created.get(key) {
            problems.push("a field changed on cancelling");
            break;
        }
    }
    ensure(problems.is_empty(), || {
        ex.fail(format!(
            "HTTP 200, status CANCELLED, cancelledAt, everything else as created ({})",
            problems.join(", ")
        ))
    })
}
