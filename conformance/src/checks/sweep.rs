//! Last: rules every response of the run must have kept, checked over all
//! the exchanges the kit made (dates, envelopes, 422 pairs, codes, secrets).

use std::collections::HashMap;

use serde_json::Value;

use crate::client::Exchange;
use crate::expect::{Checked, Verdict};
use crate::kit::{is_checkin_code, is_strict, Kit};

const DATE_KEYS: [&str; 5] = [
    "validFrom",
    "validUntil",
    "createdAt",
    "cancelledAt",
    "checkedInAt",
];
const REASONS: [&str; 9] = [
    "missing",
    "wrongFormat",
    "tooLong",
    "tooLarge",
    "outOfRange",
    "inPast",
    "periodTooLong",
    "greaterThanValidUntil",
    "lessThanValidFrom",
];
const CHECKIN_REASONS: [&str; 4] = [
    "guestPassCancelled",
    "guestPassExpired",
    "guestPassNotYetValid",
    "wrongLocation",
];

pub async fn run(kit: &Kit) {
    kit.check(
        "dates.every-response-date-strict",
        "Every date in every response is yyyy-MM-dd'T'HH:mm:ss'Z': never fractions, never +00:00",
        sweep(kit, loose_date),
    )
    .await;
    kit.check(
        "envelopes.every-error-is-an-envelope",
        "Every error response is application/json with message and the cause (and extra fields) its status has in the table",
        sweep(kit, not_an_envelope),
    )
    .await;
    kit.check(
        "envelopes.only-listed-422s",
        "422 only with the pairs the operation lists: create guestPassAlreadyCreated, check-in checkinFailed/<4 reasons>, both idempotencyKeyReused",
        sweep(kit, unlisted_422),
    )
    .await;
    kit.check(
        "envelopes.rate-limited-429",
        "A 429 is rateLimitsExceeded with Retry-After in whole seconds (every 429 the run met, e.g. from the failed-authentication throttle)",
        any_429(kit),
    )
    .await;
    kit.check(
        "headers.no-store-on-every-response",
        "Every response under the base path during the run carried Cache-Control: no-store",
        base_path_sweep(kit),
    )
    .await;
    kit.check(
        "pass.checkin-codes-well-formed-and-unique",
        "checkinCode: 10 characters without look-alikes, unique across passes",
        codes(kit),
    )
    .await;
    kit.check(
        "auth.secrets-never-echoed",
        "Secrets are never returned: no response carries a secret the kit sent",
        secrets(kit),
    )
    .await;
}

/// Checks `rule` on every answered exchange; reports the first offender.
async fn sweep(kit: &Kit, rule: fn(&Exchange) -> Option<String>) -> Checked {
    sweep_where(kit, rule).await
}

async fn sweep_where(kit: &Kit, rule: impl Fn(&Exchange) -> Option<String>) -> Checked {
    let log = kit.http.log();
    let answered: Vec<&Exchange> = log.iter().filter(|e| e.response.is_ok()).collect();
    if answered.is_empty() {
        return Err(Verdict::skip(
            "no responses to look at (the server answered nothing, or --only left no requests)",
        ));
    }
    let offenders: Vec<(&Exchange, String)> = answered
        .iter()
        .filter_map(|e| rule(e).map(|why| (*e, why)))
        .collect();
    match offenders.first() {
        None => Ok(()),
        Some((ex, why)) => Err(ex.fail(format!(
            "{why} ({} of {} responses break the rule, this one among them)",
            offenders.len(),
            answered.len()
        ))),
    }
}

fn looks_like_a_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && matches!(b[10], b'T' | b't' | b' ')
}

fn find_loose(value: &Value, key: Option<&str>) -> Option<String> {
    match value {
        // `errors` maps parameter names (validFrom, ...) to reasons, not dates.
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() != "errors")
            .find_map(|(k, v)| find_loose(v, Some(k))),
        Value::Array(items) => items.iter().find_map(|v| find_loose(v, key)),
        Value::String(s) => {
            let date_key = key.is_some_and(|k| DATE_KEYS.contains(&k));
            ((date_key || looks_like_a_date(s)) && !is_strict(value))
                .then(|| format!("{}: {value}", key.unwrap_or("a value")))
        }
        Value::Null => None,
        other => key
            .filter(|k| DATE_KEYS.contains(k))
            .map(|k| format!("{k}: {other}")),
    }
}

fn loose_date(ex: &Exchange) -> Option<String> {
    let json = ex.json()?;
    find_loose(json, None).map(|what| format!("every date strict, but {what}"))
}

fn not_an_envelope(ex: &Exchange) -> Option<String> {
    let r = ex.response.as_ref().ok()?;
    if r.status < 400 {
        return None;
    }
    let envelope = "an application/json object with a message and a cause";
    let Some(body) = r
        .json
        .as_ref()
        .and_then(Value::as_object)
        .filter(|_| r.is_json())
    else {
        return Some(format!("HTTP {} as {envelope}", r.status));
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str);
    if text("message").is_none_or(|m| m.trim().is_empty()) || text("cause").is_none() {
        return Some(format!("HTTP {} as {envelope}", r.status));
    }
    let cause = text("cause").unwrap_or_default();
    let ok = match r.status {
        400 => {
            cause == "badRequest"
                && text("message") == Some("Bad Request")
                && body
                    .get("errors")
                    .and_then(Value::as_object)
                    .is_some_and(|e| {
                        !e.is_empty()
                            && e.values()
                                .all(|v| v.as_str().is_some_and(|r| REASONS.contains(&r)))
                    })
        }
        401 => {
            cause == "unauthorizedAccess"
                && text("accessLevel").is_some_and(|l| ["client", "chain", "location"].contains(&l))
        }
        404 => {
            (cause == "entityNotFound" && text("parameter").is_some())
                || (cause == "resourceNotFound"
                    && text("message") == Some("Requested endpoint is not supported"))
        }
        405 => cause == "methodNotAllowed" && r.header("allow").is_some(),
        422 => text("reason").is_some(),
        429 => {
            cause == "rateLimitsExceeded"
                && r.header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .is_some_and(|s| s >= 1)
        }
        500 => cause == "internalUnexpectedError",
        503 => cause == "systemUnavailable",
        _ => false,
    };
    (!ok).then(|| {
        format!(
            "HTTP {} with the envelope the table gives that status (400 badRequest + errors of listed reasons, 401 + accessLevel, 404 + parameter or resourceNotFound, 405 + Allow, 422 + reason, 429 + Retry-After, 500, 503; no other status)",
            r.status
        )
    })
}

fn unlisted_422(ex: &Exchange) -> Option<String> {
    if ex.status() != Some(422) {
        return None;
    }
    let body = ex.json();
    let field = |k: &str| {
        body.and_then(|b| b.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let (cause, reason) = (field("cause"), field("reason"));
    let path = ex.request.path.split('?').next().unwrap_or_default();
    let listed = match ex.request.method.as_str() {
        // idempotencyKeyReused: §8, where the server offers Idempotency-Key.
        "POST" if path.ends_with("/guest-passes") => {
            (cause == "guestPassAlreadyCreated" && reason == "guestPassAlreadyCreated")
                || (cause == "idempotencyKeyReused" && reason == "idempotencyKeyReused")
        }
        "POST" if path.ends_with("/checkins") => {
            (cause == "checkinFailed" && CHECKIN_REASONS.contains(&reason))
                || (cause == "idempotencyKeyReused" && reason == "idempotencyKeyReused")
        }
        _ => false,
    };
    (!listed).then(|| format!("no 422 but the operation's listed pairs; got {cause}/{reason}"))
}

async fn base_path_sweep(kit: &Kit) -> Checked {
    let base = kit.http.base_path().to_owned();
    let under = move |ex: &Exchange| {
        let path = ex.request.path.split('?').next().unwrap_or_default();
        path == base || path.starts_with(&format!("{base}/"))
    };
    if !kit
        .http
        .log()
        .iter()
        .any(|e| e.response.is_ok() && under(e))
    {
        return Err(Verdict::skip("no response under the base path to look at"));
    }
    let base = kit.http.base_path().to_owned();
    sweep_where(kit, move |ex| {
        let path = ex.request.path.split('?').next().unwrap_or_default();
        let inside = path == base || path.starts_with(&format!("{base}/"));
        inside
            .then(|| super::headers::missing_no_store(ex))
            .flatten()
    })
    .await
}

async fn any_429(kit: &Kit) -> Checked {
    let seen = kit.http.log().iter().any(|e| e.status() == Some(429));
    if !seen {
        return Err(Verdict::skip(
            "the run met no 429 (the kit does not flood a server to trip its rate limit); the envelope of any 429 is checked when one comes",
        ));
    }
    sweep(kit, |ex| {
        (ex.status() == Some(429))
            .then(|| not_an_envelope(ex))
            .flatten()
    })
    .await
}

async fn codes(kit: &Kit) -> Checked {
    let log = kit.http.log();
    let mut by_code: HashMap<String, String> = HashMap::new();
    let mut seen = 0;
    for ex in log
        .iter()
        .filter(|e| e.status().is_some_and(|s| (200..300).contains(&s)))
    {
        let Some(body) = ex.json() else { continue };
        let passes: Vec<&Value> = match body.get("guestPasses").and_then(Value::as_array) {
            Some(list) => list.iter().collect(),
            None => vec![body],
        };
        for pass in passes {
            let (Some(id), Some(code)) = (pass.get("guestPassId"), pass.get("checkinCode")) else {
                continue;
            };
            seen += 1;
            if !is_checkin_code(code) {
                return Err(ex.fail(format!(
                    "checkinCode of 10 characters from 23456789ABCDEFGHJKMNPQRSTUVWXYZ, got {code}"
                )));
            }
            let id = id.as_str().unwrap_or_default().to_owned();
            let code = code.as_str().unwrap_or_default().to_owned();
            if let Some(other) = by_code.insert(code.clone(), id.clone()) {
                if other != id {
                    return Err(ex.fail(format!(
                        "a checkinCode unique across passes, but {code} belongs to {other} and {id}"
                    )));
                }
            }
        }
    }
    if seen == 0 {
        return Err(Verdict::skip("no guest pass came back during the run"));
    }
    Ok(())
}

async fn secrets(kit: &Kit) -> Checked {
    let a = &kit.args;
    let secrets: Vec<&String> = [
        &a.client_secret,
        &a.chain_secret,
        &a.location_secret,
        &a.second_location_secret,
        &a.other_chain_secret,
        &a.other_chain_location_secret,
    ]
    .into_iter()
    .flatten()
    .filter(|s| s.len() >= 8)
    .collect();
    if secrets.is_empty() {
        return Err(Verdict::skip("no secrets given"));
    }
    let log = kit.http.log();
    if log.iter().all(|e| e.response.is_err()) {
        return Err(Verdict::skip("no responses to look at"));
    }
    for ex in log.iter() {
        let Ok(r) = &ex.response else { continue };
        let leaked = secrets.iter().any(|s| {
            r.text.contains(s.as_str()) || r.headers.iter().any(|(_, v)| v.contains(s.as_str()))
        });
        if leaked {
            // The report must not repeat the secret either.
            return Err(Verdict::fail(
                "no secret in any response",
                format!(
                    "HTTP {} to {} {} contains a secret the kit sent (body not shown)",
                    r.status, ex.request.method, ex.request.path
                ),
            ));
        }
    }
    Ok(())
}
