//! Section 3: the error envelopes, including what a framework would answer
//! by itself (unknown paths, wrong methods, malformed, oversized and
//! mistyped bodies), and all failing parameters reported together.

use awc::http::Method;
use serde_json::{json, Value};

use crate::client::{Headers, Request};
use crate::expect::{Checked, Context, Verdict};
use crate::kit::{minute, now, Kit, DAY};

/// The contract's body limit.
const MAX_BODY: usize = 64 * 1024;

pub async fn run(kit: &Kit) {
    kit.check(
        "envelopes.unknown-path-is-resourceNotFound",
        "No such endpoint → 404 resourceNotFound, \"Requested endpoint is not supported\"",
        unknown_paths(kit),
    )
    .await;
    kit.check(
        "envelopes.wrong-method-is-methodNotAllowed",
        "A known path with a wrong method → 405 methodNotAllowed with an Allow header listing the right methods",
        wrong_methods(kit),
    )
    .await;
    kit.check(
        "envelopes.malformed-body-create",
        "createGuestPass: a body that is not a JSON object → 400 {\"body\": \"wrongFormat\"}",
        malformed_bodies(kit, "/guest-passes"),
    )
    .await;
    kit.check(
        "envelopes.malformed-body-checkin",
        "checkinGuest: a body that is not a JSON object → 400 {\"body\": \"wrongFormat\"}",
        malformed_bodies(kit, "/checkins"),
    )
    .await;
    kit.check(
        "envelopes.wrong-content-type",
        "A content type other than JSON → 400 {\"Content-Type\": \"wrongFormat\"}, never 415",
        wrong_content_types(kit),
    )
    .await;
    kit.check(
        "envelopes.missing-content-type",
        "A body without Content-Type → 400 naming Content-Type (missing, or wrongFormat), never 415",
        missing_content_type(kit),
    )
    .await;
    kit.check(
        "envelopes.json-content-type-parameters-accepted",
        "application/json with parameters (charset) or in another case is JSON",
        json_variants_accepted(kit),
    )
    .await;
    kit.check(
        "envelopes.oversized-body-is-tooLarge",
        "A body over 64 KiB → 400 {\"body\": \"tooLarge\"}, with or without Content-Length, never 413",
        oversized(kit),
    )
    .await;
    kit.check(
        "envelopes.body-at-limit-accepted",
        "A body of exactly 64 KiB (65536 bytes) is accepted on both POST operations; unknown fields are ignored",
        at_limit(kit),
    )
    .await;
    kit.check(
        "envelopes.all-failing-parameters-together",
        "All failing parameters of a request are reported together in one 400, not just the first",
        all_together(kit),
    )
    .await;
    kit.check(
        "envelopes.internal-error-500",
        "Anything unexpected → 500 internalUnexpectedError, the detail only in the log",
        async {
            Err(Verdict::skip(
                "no request can cause an unexpected error on purpose; any 500 the kit meets is checked by envelopes.every-error-is-an-envelope",
            ))
        },
    )
    .await;
    kit.check(
        "envelopes.unavailable-503",
        "Database unreachable or pool exhausted → 503 systemUnavailable",
        async {
            Err(Verdict::skip(
                "needs the server's database down, which cannot be arranged over HTTP",
            ))
        },
    )
    .await;
}

/// The primary credentials when given: the request should only be wrong in one way.
fn creds_if_any(kit: &Kit) -> Headers {
    kit.primary().unwrap_or_default()
}

async fn unknown_paths(kit: &Kit) -> Checked {
    let headers = creds_if_any(kit);
    let id = uuid::Uuid::new_v4();
    let probes = [
        (Method::GET, String::new()),
        (Method::GET, "/".to_owned()),
        (Method::GET, "/conformance-unknown".to_owned()),
        (Method::POST, "/conformance-unknown".to_owned()),
        (Method::GET, "/guest-pass".to_owned()),
        (Method::GET, format!("/guest-passes/{id}/unknown")),
        (Method::GET, format!("/guest-passes/{id}/checkins/{id}")),
        (Method::DELETE, format!("/checkins/{id}")),
        (Method::GET, "/Guest-Passes".to_owned()),
    ];
    for (method, path) in probes {
        let label = format!("{method} {}{path}", kit.http.base_path());
        kit.send(Request::new(method, path).headers(&headers))
            .await
            .expect_resource_not_found()
            .ctx(label)?;
    }
    Ok(())
}

async fn wrong_methods(kit: &Kit) -> Checked {
    let headers = creds_if_any(kit);
    let id = uuid::Uuid::new_v4();
    let table: [(String, Vec<Method>, &[&str]); 4] = [
        (
            "/guest-passes".into(),
            vec![Method::PUT, Method::PATCH, Method::DELETE],
            &["GET", "POST"],
        ),
        (
            format!("/guest-passes/{id}"),
            vec![Method::POST, Method::PUT, Method::PATCH],
            &["GET", "DELETE"],
        ),
        (
            format!("/guest-passes/{id}/checkins"),
            vec![Method::POST, Method::PUT, Method::DELETE],
            &["GET"],
        ),
        (
            "/checkins".into(),
            vec![Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
            &["POST"],
        ),
    ];
    for (path, methods, allow) in table {
        for method in methods {
            let label = format!("{method} {}{path}", kit.http.base_path());
            kit.send(Request::new(method, path.clone()).headers(&headers))
                .await
                .expect_method_not_allowed(allow)
                .ctx(label)?;
        }
    }
    Ok(())
}

async fn malformed_bodies(kit: &Kit, path: &'static str) -> Checked {
    let headers = kit.primary()?;
    let bodies: [&[u8]; 11] = [
        b"{\"locationId\": ",
        b"{",
        b"",
        b"[]",
        b"null",
        b"\"a string\"",
        b"42",
        b"{\"firstName\": \"Jane\",}",
        b"{} {}",
        b"{\"firstName\": \"\xff\xfe\"}",
        b"<guestPass/>",
    ];
    for body in bodies {
        let label = format!("body {:?}", String::from_utf8_lossy(body));
        kit.send(
            Request::new(Method::POST, path)
                .headers(&headers)
                .raw_body(Some("application/json"), body),
        )
        .await
        .expect_bad_request(json!({"body": "wrongFormat"}))
        .ctx(label)?;
    }
    Ok(())
}

fn valid_create_body(kit: &Kit) -> Result<Value, Verdict> {
    let from = minute(now() + DAY);
    Ok(kit.pass_body(&kit.location()?, &kit.email(), from, from + DAY))
}

async fn wrong_content_types(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let types = [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=conformance",
        "application/octet-stream",
        "application/jsonx",
    ];
    for content_type in types {
        let body = valid_create_body(kit)?;
        kit.send(
            Request::new(Method::POST, "/guest-passes")
                .headers(&headers)
                .raw_body(Some(content_type), body.to_string()),
        )
        .await
        .expect_bad_request(json!({"Content-Type": "wrongFormat"}))
        .ctx(format!("create with Content-Type {content_type}"))?;
        let body = json!({"checkinCode": kit.unknown_code(), "locationId": kit.location()?});
        kit.send(
            Request::new(Method::POST, "/checkins")
                .headers(&headers)
                .raw_body(Some(content_type), body.to_string()),
        )
        .await
        .expect_bad_request(json!({"Content-Type": "wrongFormat"}))
        .ctx(format!("check-in with Content-Type {content_type}"))?;
    }
    Ok(())
}

async fn missing_content_type(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let body = valid_create_body(kit)?;
    kit.send(
        Request::new(Method::POST, "/guest-passes")
            .headers(&headers)
            .raw_body(None, body.to_string()),
    )
    .await
    .expect_bad_request_any("Content-Type", &["missing", "wrongFormat"])
    .ctx("create without Content-Type")?;
    let body = json!({"checkinCode": kit.unknown_code(), "locationId": kit.location()?});
    kit.send(
        Request::new(Method::POST, "/checkins")
            .headers(&headers)
            .raw_body(None, body.to_string()),
    )
    .await
    .expect_bad_request_any("Content-Type", &["missing", "wrongFormat"])
    .ctx("check-in without Content-Type")
}

async fn json_variants_accepted(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    for content_type in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON",
    ] {
        let body = valid_create_body(kit)?;
        kit.send(
            Request::new(Method::POST, "/guest-passes")
                .headers(&headers)
                .raw_body(Some(content_type), body.to_string()),
        )
        .await
        .expect_object(201, "the created pass")
        .ctx(format!("Content-Type {content_type}"))?;
    }
    Ok(())
}

/// `body` with an unknown `padding` field that makes it exactly `size` bytes.
fn padded(body: &Value, size: usize) -> Vec<u8> {
    let mut body = body.clone();
    body["padding"] = json!("");
    let bare = body.to_string().len();
    body["padding"] = json!("x".repeat(size.saturating_sub(bare)));
    body.to_string().into_bytes()
}

async fn oversized(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let checkin = json!({"checkinCode": kit.unknown_code(), "locationId": kit.location()?});
    for (path, body) in [
        ("/guest-passes", valid_create_body(kit)?),
        ("/checkins", checkin),
    ] {
        for (size, chunked) in [(MAX_BODY + 1, false), (MAX_BODY + 1, true)] {
            let mut req = Request::new(Method::POST, path)
                .headers(&headers)
                .raw_body(Some("application/json"), padded(&body, size));
            if chunked {
                req = req.chunked();
            }
            let how = if chunked {
                "chunked"
            } else {
                "with Content-Length"
            };
            kit.send(req)
                .await
                .expect_bad_request(json!({"body": "tooLarge"}))
                .ctx(format!("POST {path}: a JSON object of {size} bytes, {how}"))?;
        }
    }
    Ok(())
}

async fn at_limit(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    for chunked in [false, true] {
        let mut req = Request::new(Method::POST, "/guest-passes")
            .headers(&headers)
            .raw_body(
                Some("application/json"),
                padded(&valid_create_body(kit)?, MAX_BODY),
            );
        if chunked {
            req = req.chunked();
        }
        let how = if chunked {
            "chunked"
        } else {
            "with Content-Length"
        };
        kit.send(req)
            .await
            .expect_object(201, "the created pass")
            .ctx(format!("a valid body padded to 65536 bytes, {how}"))?;
    }
    // An unknown code: a body the server read and looked at answers 404, not 400 tooLarge.
    let checkin = json!({"checkinCode": kit.unknown_code(), "locationId": kit.location()?});
    kit.send(
        Request::new(Method::POST, "/checkins")
            .headers(&headers)
            .raw_body(Some("application/json"), padded(&checkin, MAX_BODY)),
    )
    .await
    .expect_not_found("checkinCode")
    .ctx("a check-in body (unknown code) padded to 65536 bytes")
}

async fn all_together(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    kit.create(&headers, &json!({"phone": "x"}))
        .await
        .expect_bad_request(json!({
            "locationId": "missing",
            "firstName": "missing",
            "lastName": "missing",
            "email": "missing",
            "phone": "wrongFormat",
            "validFrom": "missing",
            "validUntil": "missing",
        }))
        .ctx("create with only a wrong phone")?;
    let location = kit.location()?;
    let t = now();
    let body = json!({
        "locationId": location,
        "firstName": 1,
        "lastName": "Check",
        "email": "not-an-address",
        "validFrom": "2026-12-01 06:00:00Z",
        "validUntil": crate::kit::ts(t - 3600),
    });
    kit.create(&headers, &body)
        .await
        .expect_bad_request(json!({
            "firstName": "wrongFormat",
            "email": "wrongFormat",
            "validFrom": "wrongFormat",
            "validUntil": "inPast",
        }))
        .ctx("create with four different faults")?;
    kit.search(
        &headers,
        &[
            ("status", "x"),
            ("validAt", "y"),
            ("limit", "0"),
            ("offset", "-1"),
        ],
    )
    .await
    .expect_bad_request(json!({
        "status": "wrongFormat",
        "validAt": "wrongFormat",
        "limit": "outOfRange",
        "offset": "outOfRange",
    }))
    .ctx("search with four wrong parameters")?;
    kit.send(Request::post_json("/checkins", &json!({})).headers(&headers))
        .await
        .expect_bad_request(json!({"checkinCode": "missing", "locationId": "missing"}))
        .ctx("check-in with an empty object")?;
    Ok(())
}
