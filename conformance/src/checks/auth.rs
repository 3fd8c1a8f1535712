//! Section 1: the access headers (missing → 400, invalid → 401 with the
//! first failing level), `X-User-ID`, and scope isolation.

use serde_json::{json, Value};

use crate::client::{Headers, Request};
use crate::expect::{ensure, Checked, Context, Verdict};
use crate::kit::{now, Kit, Level, Who, DAY};

pub async fn run(kit: &Kit) {
    kit.check(
        "auth.missing-headers-every-operation",
        "A request without access headers → 400 whose errors name every required header as missing, on every operation",
        missing_everywhere(kit),
    )
    .await;
    kit.check(
        "auth.missing-level-headers",
        "Each configured level's headers absent (the others valid) → 400 naming exactly that level's required headers as missing",
        missing_levels(kit),
    )
    .await;
    kit.check(
        "auth.missing-each-header",
        "Each required header absent on its own → 400 naming exactly that header",
        missing_each(kit),
    )
    .await;
    kit.check(
        "auth.blank-header-is-missing",
        "A required header that is empty or only whitespace counts as absent → 400 missing",
        blank_is_missing(kit),
    )
    .await;
    kit.check(
        "auth.unknown-id-is-401",
        "An unknown ID → 401 unauthorizedAccess, accessLevel of its level, message naming the ID header",
        unknown_id(kit),
    )
    .await;
    kit.check(
        "auth.wrong-secret-is-401",
        "A wrong secret → 401 unauthorizedAccess, accessLevel of its level, message naming the secret header",
        wrong_secret(kit),
    )
    .await;
    kit.check(
        "auth.over-long-value-is-401",
        "A header value over 1024 characters → 401 unauthorizedAccess at its level, naming that header",
        over_long(kit),
    )
    .await;
    kit.check(
        "auth.value-of-1024-is-an-ordinary-unknown-value",
        "A header value of exactly 1024 characters is looked up like any other: 401 at its level naming that header (never 400, 431 or 5xx)",
        at_1024(kit),
    )
    .await;
    kit.check(
        "auth.first-failing-level-reported",
        "Levels are checked client, then chain, then location; the 401's accessLevel is the first failing one",
        first_failing_level(kit),
    )
    .await;
    kit.check(
        "auth.location-outside-chain-is-401",
        "Chain and location level: a location of another chain → 401, accessLevel location, \"X-Location-ID is invalid\"",
        location_outside_chain(kit),
    )
    .await;
    kit.check(
        "auth.header-names-case-insensitive",
        "Header names are case-insensitive: lower-case and Camel-Case names authenticate alike",
        names_case_insensitive(kit),
    )
    .await;
    kit.check(
        "auth.values-compared-exactly",
        "Header values are compared exactly: another case, a prefix or an extra character → 401",
        values_exact(kit),
    )
    .await;
    kit.check(
        "auth.checked-before-anything-else",
        "Authentication is checked before the body, the query and the path entity",
        before_anything_else(kit),
    )
    .await;
    kit.check(
        "auth.unconfigured-levels-ignored",
        "Headers of levels that are not configured are ignored, even when wrong",
        unconfigured_ignored(kit),
    )
    .await;
    kit.check(
        "auth.client-id-optional",
        "Client level: X-Client-ID is optional; the secret alone authenticates",
        client_id_optional(kit),
    )
    .await;
    kit.check(
        "auth.x-user-id-up-to-256",
        "X-User-ID is optional, up to 256 characters; longer → 400 {\"X-User-ID\": \"tooLong\"}",
        x_user_id(kit),
    )
    .await;
    kit.check(
        "auth.demo-principals-refused-outside-demo",
        "The published demo credentials (guestpass serve --demo) are answered 401 like unknown IDs by a server not in demo mode",
        demo_refused(kit),
    )
    .await;
    kit.check(
        "auth.scope-foreign-location-is-404",
        "A location outside the caller's scope is answered like one that does not exist: 404 entityNotFound locationId",
        foreign_location(kit),
    )
    .await;
    kit.check(
        "auth.scope-foreign-pass-is-404",
        "A pass outside the caller's scope is answered like one that does not exist (404) and is never listed or changed",
        foreign_pass(kit),
    )
    .await;
    kit.check(
        "auth.scope-covers-own-locations",
        "Without location level the scope covers every location of the chain (client level alone: the deployment)",
        covers_own_locations(kit),
    )
    .await;
}

/// Runs what the given credentials allow; skipped only when nothing could run.
#[derive(Default)]
pub struct Partial {
    ran: usize,
    skipped: Vec<String>,
}

impl Partial {
    /// `Ok(None)` when the probe needs credentials that were not given.
    pub fn take<T>(&mut self, r: Result<T, Verdict>) -> Result<Option<T>, Verdict> {
        match r {
            Ok(v) => {
                self.ran += 1;
                Ok(Some(v))
            }
            Err(Verdict::Skip(reason)) => {
                if !self.skipped.contains(&reason) {
                    self.skipped.push(reason);
                }
                Ok(None)
            }
            Err(fail) => Err(fail),
        }
    }

    pub fn finish(self) -> Checked {
        if self.ran == 0 && !self.skipped.is_empty() {
            Err(Verdict::Skip(self.skipped.join("; ")))
        } else {
            Ok(())
        }
    }
}

/// Present but unknown headers for every configured level; the IDs are
/// random, so no real principal's failure count grows.
fn placeholders(kit: &Kit) -> Headers {
    let mut headers = Headers::none();
    for level in kit.configured() {
        if level != Level::Client {
            headers = headers.with(level.id_header(), &kit.unknown_id());
        }
        headers = headers.with(level.secret_header(), "conformance-placeholder-secret");
    }
    headers
}

/// Unknown IDs and wrong secrets for every configured level.
fn all_wrong(kit: &Kit) -> Headers {
    let mut headers = Headers::none();
    for level in kit.configured() {
        if level != Level::Client {
            headers = headers.with(level.id_header(), &kit.unknown_id());
        }
        headers = headers.with(level.secret_header(), &wrong_secret_value());
    }
    headers
}

fn wrong_secret_value() -> String {
    format!("conformance-wrong-secret-{}", uuid::Uuid::new_v4().simple())
}

/// The header a 401 names when every header of `level` is wrong.
fn first_header_at_fault(level: Level, sent: &Headers) -> &'static str {
    if sent.get(level.id_header()).is_some() {
        level.id_header()
    } else {
        level.secret_header()
    }
}

/// One request per operation, with a body that would otherwise be fine.
fn every_operation(kit: &Kit) -> Vec<Request> {
    let id = uuid::Uuid::new_v4();
    let location = kit
        .args
        .location_id
        .clone()
        .unwrap_or_else(|| "conformance-location".into());
    let from = now() + DAY;
    vec![
        Request::post_json(
            "/guest-passes",
            &kit.pass_body(&location, &kit.email(), from, from + DAY),
        ),
        Request::get("/guest-passes"),
        Request::get(format!("/guest-passes/{id}")),
        Request::delete(format!("/guest-passes/{id}")),
        Request::get(format!("/guest-passes/{id}/checkins")),
        Request::post_json(
            "/checkins",
            &json!({"checkinCode": kit.unknown_code(), "locationId": location}),
        ),
    ]
}

async fn missing_everywhere(kit: &Kit) -> Checked {
    let expected = Kit::missing(&kit.required_headers());
    for req in every_operation(kit) {
        let label = format!("{} {}", req.method, req.target);
        kit.send(req.headers(&Headers::none()))
            .await
            .expect_bad_request(expected.clone())
            .ctx(label)?;
    }
    Ok(())
}

fn not_configured(level: Level) -> Verdict {
    Verdict::not_applicable(format!(
        "{} level is not configured (--levels)",
        level.name()
    ))
}

async fn missing_levels(kit: &Kit) -> Checked {
    for level in kit.configured() {
        let others = kit.primary().unwrap_or_else(|_| placeholders(kit));
        let headers = others
            .without(level.id_header())
            .without(level.secret_header());
        let expected = Kit::missing(level.required_headers());
        for req in every_operation(kit).into_iter().take(2) {
            let label = format!(
                "{} level absent: {} {}",
                level.name(),
                req.method,
                req.target
            );
            kit.send(req.headers(&headers))
                .await
                .expect_bad_request(expected.clone())
                .ctx(label)?;
        }
    }
    Ok(())
}

async fn missing_each(kit: &Kit) -> Checked {
    let all = kit.primary().unwrap_or_else(|_| placeholders(kit));
    for header in kit.required_headers() {
        kit.search(&all.clone().without(header), &[])
            .await
            .expect_bad_request(Kit::missing(&[header]))
            .ctx(format!("without {header}"))?;
    }
    Ok(())
}

async fn blank_is_missing(kit: &Kit) -> Checked {
    let all = kit.primary().unwrap_or_else(|_| placeholders(kit));
    for header in kit.required_headers() {
        for blank in ["", "   "] {
            kit.search(&all.clone().with(header, blank), &[])
                .await
                .expect_bad_request(Kit::missing(&[header]))
                .ctx(format!("{header}: {blank:?}"))?;
        }
    }
    Ok(())
}

async fn unknown_id(kit: &Kit) -> Checked {
    let mut partial = Partial::default();
    for level in kit.configured() {
        let unknown = kit.unknown_id();
        let Some(headers) = partial.take(kit.probe_headers(level, Some(&unknown), None))? else {
            continue;
        };
        kit.search(&headers, &[])
            .await
            .expect_unauthorized(level.name(), level.id_header())
            .ctx(format!("{}: {unknown}", level.id_header()))?;
    }
    partial.finish()
}

async fn wrong_secret(kit: &Kit) -> Checked {
    let mut partial = Partial::default();
    for level in kit.configured() {
        let wrong = wrong_secret_value();
        let Some(headers) = partial.take(kit.probe_headers(level, None, Some(&wrong)))? else {
            continue;
        };
        kit.search(&headers, &[])
            .await
            .expect_unauthorized(level.name(), level.secret_header())
            .ctx(format!("a wrong {}", level.secret_header()))?;
    }
    partial.finish()
}

async fn over_long(kit: &Kit) -> Checked {
    let long = "x".repeat(1025);
    let mut partial = Partial::default();
    for level in kit.configured() {
        if let Some(headers) = partial.take(kit.probe_headers(level, Some(&long), None))? {
            kit.search(&headers, &[])
                .await
                .expect_unauthorized(level.name(), level.id_header())
                .ctx(format!("{} of 1025 characters", level.id_header()))?;
        }
        if let Some(headers) = partial.take(kit.probe_headers(level, None, Some(&long)))? {
            kit.search(&headers, &[])
                .await
                .expect_unauthorized(level.name(), level.secret_header())
                .ctx(format!("{} of 1025 characters", level.secret_header()))?;
        }
    }
    partial.finish()
}

async fn at_1024(kit: &Kit) -> Checked {
    let mut partial = Partial::default();
    for level in kit.configured() {
        // Random, so that no real ID's failure count grows.
        let id = format!("{}-{}", kit.unknown_id(), "x".repeat(1024))
            .chars()
            .take(1024)
            .collect::<String>();
        if let Some(headers) = partial.take(kit.probe_headers(level, Some(&id), None))? {
            kit.search(&headers, &[])
                .await
                .expect_unauthorized(level.name(), level.id_header())
                .ctx(format!("{} of 1024 characters", level.id_header()))?;
        }
        let secret = "s".repeat(1024);
        if let Some(headers) = partial.take(kit.probe_headers(level, None, Some(&secret)))? {
            kit.search(&headers, &[])
                .await
                .expect_unauthorized(level.name(), level.secret_header())
                .ctx(format!("{} of 1024 characters", level.secret_header()))?;
        }
    }
    partial.finish()
}

/// With one level this still holds: every header wrong → that level, naming its ID header.
async fn first_failing_level(kit: &Kit) -> Checked {
    let levels = kit.configured();
    let wrong = all_wrong(kit);
    let mut partial = Partial::default();
    for (i, level) in levels.iter().enumerate() {
        // Valid headers for the levels before `level`, wrong ones from it on.
        let mut headers = wrong.clone();
        let mut complete = true;
        for earlier in &levels[..i] {
            let valid = match partial.take(kit.probe_headers(*earlier, None, None))? {
                Some(h) => h,
                None => {
                    complete = false;
                    break;
                }
            };
            for header in [earlier.id_header(), earlier.secret_header()] {
                headers = match valid.get(header) {
                    Some(v) => headers.with(header, v),
                    None => headers.without(header),
                };
            }
        }
        if !complete {
            continue;
        }
        let at_fault = first_header_at_fault(*level, &headers);
        kit.search(&headers, &[])
            .await
            .expect_unauthorized(level.name(), at_fault)
            .ctx(format!(
                "levels before {} valid, {} and after wrong",
                level.name(),
                level.name()
            ))?;
    }
    partial.finish()
}

async fn location_outside_chain(kit: &Kit) -> Checked {
    if !(kit.levels.chain && kit.levels.location) {
        return Err(Verdict::not_applicable(
            "the rule needs both chain and location level configured",
        ));
    }
    let (Some(id), Some(secret)) = (
        kit.args.other_chain_location_id.clone(),
        kit.args.other_chain_location_secret.clone(),
    ) else {
        return Err(Verdict::skip(
            "needs --other-chain-location-id and --other-chain-location-secret",
        ));
    };
    let headers = kit
        .primary()?
        .with("X-Location-ID", &id)
        .with("X-Location-Secret", &secret);
    kit.search(&headers, &[])
        .await
        .expect_unauthorized("location", "X-Location-ID")
}

async fn names_case_insensitive(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    kit.send(Request::get("/guest-passes").headers(&headers))
        .await
        .expect_object(200, "the search result")
        .ctx("header names in lower case")?;
    kit.send(Request::get("/guest-passes").headers(&headers).camel_case())
        .await
        .expect_object(200, "the search result")
        .ctx("header names in Camel-Case")?;
    Ok(())
}

fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

async fn values_exact(kit: &Kit) -> Checked {
    let mut partial = Partial::default();
    for level in kit.configured() {
        let Some(valid) = partial.take(kit.probe_headers(level, None, None))? else {
            continue;
        };
        let secret = valid
            .get(level.secret_header())
            .unwrap_or_default()
            .to_owned();
        let mut variants = vec![
            ("with an extra character", format!("{secret}x")),
            (
                "cut by one character",
                secret
                    .chars()
                    .take(secret.chars().count().saturating_sub(1))
                    .collect(),
            ),
        ];
        if swap_case(&secret) != secret {
            variants.push(("in another case", swap_case(&secret)));
        }
        for (what, value) in variants {
            if value.trim().is_empty() {
                continue;
            }
            kit.search(&valid.clone().with(level.secret_header(), &value), &[])
                .await
                .expect_unauthorized(level.name(), level.secret_header())
                .ctx(format!("{} {what}", level.secret_header()))?;
        }
        if let Some(id) = valid.get(level.id_header()) {
            if swap_case(id) != id {
                kit.search(&valid.clone().with(level.id_header(), &swap_case(id)), &[])
                    .await
                    .expect_unauthorized(level.name(), level.id_header())
                    .ctx(format!("{} in another case", level.id_header()))?;
            }
        }
    }
    partial.finish()
}

async fn before_anything_else(kit: &Kit) -> Checked {
    let wrong = all_wrong(kit);
    let first = kit.configured()[0];
    let at_fault = first_header_at_fault(first, &wrong);
    let id = uuid::Uuid::new_v4();
    let malformed = || Request::new(awc::http::Method::POST, "/guest-passes");
    let probes = vec![
        (
            "a malformed body",
            malformed().raw_body(Some("application/json"), "{\"locationId\": "),
        ),
        (
            "a text/plain body",
            malformed().raw_body(Some("text/plain"), "hello"),
        ),
        (
            "an empty object",
            Request::post_json("/guest-passes", &json!({})),
        ),
        (
            "bad query parameters",
            Request::get("/guest-passes?limit=abc&status=nope&validAt=never"),
        ),
        (
            "an unknown location",
            Request::get(format!("/guest-passes?locationId={}", kit.unknown_id())),
        ),
        (
            "an unknown pass",
            Request::get(format!("/guest-passes/{id}")),
        ),
        (
            "cancelling an unknown pass",
            Request::delete(format!("/guest-passes/{id}")),
        ),
        (
            "check-ins of an unknown pass",
            Request::get(format!("/guest-passes/{id}/checkins")),
        ),
        (
            "a malformed check-in body",
            Request::new(awc::http::Method::POST, "/checkins")
                .raw_body(Some("application/json"), "[1,"),
        ),
    ];
    for (what, req) in probes {
        let label = format!("invalid credentials and {what}");
        kit.send(req.headers(&wrong))
            .await
            .expect_unauthorized(first.name(), at_fault)
            .ctx(label)?;
    }
    let missing = Kit::missing(&kit.required_headers());
    let probes = vec![
        (
            "a malformed body",
            malformed().raw_body(Some("application/json"), "{\"locationId\": "),
        ),
        (
            "an empty object",
            Request::post_json("/guest-passes", &json!({})),
        ),
        (
            "bad query parameters",
            Request::get("/guest-passes?limit=abc&status=nope"),
        ),
    ];
    for (what, req) in probes {
        kit.send(req)
            .await
            .expect_bad_request(missing.clone())
            .ctx(format!(
                "no access headers and {what} (only the headers are named)"
            ))?;
    }
    Ok(())
}

async fn unconfigured_ignored(kit: &Kit) -> Checked {
    let unconfigured: Vec<Level> = [Level::Client, Level::Chain, Level::Location]
        .into_iter()
        .filter(|l| !kit.is_configured(*l))
        .collect();
    if unconfigured.is_empty() {
        return Err(Verdict::not_applicable("every level is configured"));
    }
    let mut headers = kit.primary()?;
    for level in &unconfigured {
        headers = headers
            .with(level.id_header(), &kit.unknown_id())
            .with(level.secret_header(), &wrong_secret_value());
    }
    kit.search(&headers, &[])
        .await
        .expect_object(200, "the search result")
        .ctx("valid headers plus wrong ones of levels that are not configured")?;
    let mut headers = kit.primary()?;
    for level in &unconfigured {
        headers = headers
            .with(level.id_header(), &"x".repeat(1025))
            .with(level.secret_header(), "");
    }
    kit.search(&headers, &[])
        .await
        .expect_object(200, "the search result")
        .ctx("valid headers plus over-long and blank ones of levels that are not configured")?;
    Ok(())
}

async fn client_id_optional(kit: &Kit) -> Checked {
    if !kit.levels.client {
        return Err(not_configured(Level::Client));
    }
    let headers = kit.primary()?;
    kit.search(&headers.clone().without("X-Client-ID"), &[])
        .await
        .expect_object(200, "the search result")
        .ctx("X-Client-Secret without X-Client-ID")?;
    kit.search(&headers.clone().with("X-Client-ID", ""), &[])
        .await
        .expect_object(200, "the search result")
        .ctx("X-Client-Secret with a blank X-Client-ID")?;
    if headers.get("X-Client-ID").is_some() {
        kit.search(&headers, &[])
            .await
            .expect_object(200, "the search result")
            .ctx("X-Client-Secret with its X-Client-ID")?;
    }
    Ok(())
}

async fn x_user_id(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let ok = "u".repeat(256);
    let long = "u".repeat(257);
    kit.search(&headers.clone().with("X-User-ID", &ok), &[])
        .await
        .expect_object(200, "the search result")
        .ctx("search with X-User-ID of 256 characters")?;
    kit.search(&headers.clone().with("X-User-ID", &long), &[])
        .await
        .expect_bad_request(json!({"X-User-ID": "tooLong"}))
        .ctx("search with X-User-ID of 257 characters")?;
    let body = kit.upcoming_body()?;
    kit.create(&headers.clone().with("X-User-ID", &long), &body)
        .await
        .expect_bad_request(json!({"X-User-ID": "tooLong"}))
        .ctx("create with X-User-ID of 257 characters")?;
    kit.create(&headers.clone().with("X-User-ID", &ok), &body)
        .await
        .expect_object(201, "the created pass")
        .ctx("create with X-User-ID of 256 characters")?;
    Ok(())
}

async fn demo_refused(kit: &Kit) -> Checked {
    if kit.args.demo {
        return Err(Verdict::not_applicable(
            "--demo: the server under test is in demo mode, where the demo principals authenticate",
        ));
    }
    use crate::demo;
    let mut headers = Headers::none();
    for level in kit.configured() {
        let (id, secret) = match level {
            Level::Client => (demo::CLIENT_ID, demo::CLIENT_SECRET),
            Level::Chain => (demo::CHAIN_ID, demo::CHAIN_SECRET),
            Level::Location => (demo::LOCATION_ID, demo::LOCATION_SECRET),
        };
        headers = headers
            .with(level.id_header(), id)
            .with(level.secret_header(), secret);
    }
    let first = kit.configured()[0];
    kit.search(&headers, &[])
        .await
        .expect_unauthorized(first.name(), first.id_header())
        .ctx("every configured level with the demo credentials")
}

fn search_is_empty(body: &Value) -> bool {
    body.get("total") == Some(&json!(0))
        && body
            .get("guestPasses")
            .and_then(Value::as_array)
            .is_some_and(|a| a.is_empty())
}

async fn foreign_location(kit: &Kit) -> Checked {
    let mut foreign = Vec::new();
    if !kit.second_in_scope() {
        foreign.extend(kit.second_location().map(|l| ("the second location", l)));
    }
    if !kit.other_chain_in_scope() {
        foreign.extend(
            kit.other_location()
                .map(|l| ("the other chain's location", l)),
        );
    }
    if foreign.is_empty() {
        return Err(if kit.other_chain_in_scope() {
            Verdict::not_applicable(
                "client level alone grants the whole deployment: no location is outside the scope",
            )
        } else if kit.levels.location {
            Verdict::skip("needs --second-location-id or --other-chain-location-id")
        } else {
            Verdict::skip("needs --other-chain-location-id")
        });
    }
    let headers = kit.primary()?;
    let own = kit.upcoming().await?;
    for (what, location) in foreign {
        let from = now() + DAY;
        kit.create(
            &headers,
            &kit.pass_body(&location, &kit.email(), from, from + DAY),
        )
        .await
        .expect_not_found("locationId")
        .ctx(format!("create at {what} ({location})"))?;
        kit.search(&headers, &[("locationId", &location)])
            .await
            .expect_not_found("locationId")
            .ctx(format!("search at {what} ({location})"))?;
        kit.checkin(&headers, &own.code, &location)
            .await
            .expect_not_found("locationId")
            .ctx(format!("check-in of an own pass at {what} ({location})"))?;
    }
    Ok(())
}

async fn foreign_pass(kit: &Kit) -> Checked {
    let mut owners = Vec::new();
    if !kit.second_in_scope() {
        owners.push((
            "the second location",
            Who::SecondLocation,
            kit.second_location(),
        ));
    }
    if !kit.other_chain_in_scope() {
        owners.push(("the other chain", Who::OtherChain, kit.other_location()));
    }
    if owners.is_empty() {
        return Err(Verdict::not_applicable(
            "client level alone grants the whole deployment: no pass is outside the scope",
        ));
    }
    let primary = kit.primary()?;
    let own_location = kit.location()?;
    let mut partial = Partial::default();
    for (what, who, location) in owners {
        let location = match location {
            Some(l) => Ok(l),
            None => Err(Verdict::skip(match who {
                Who::SecondLocation => "needs --second-location-id and --second-location-secret",
                _ => "needs --other-chain-location-id and the other chain's credentials",
            })),
        };
        let Some(location) = partial.take(location)? else {
            continue;
        };
        let Some(owner) = partial.take(kit.creds(who))? else {
            continue;
        };
        let from = now() + DAY;
        let body = kit.pass_body(&location, &kit.email(), from, from + DAY);
        let pass = kit
            .create_pass(&owner, &body)
            .await
            .ctx(format!("creating a pass as {what} (at {location})"))?;
        let label = |op: &str| format!("{op} a pass of {what} with the primary credentials");
        kit.get_pass(&primary, &pass.id)
            .await
            .expect_not_found("guestPassId")
            .ctx(label("retrieving"))?;
        kit.list_checkins(&primary, &pass.id)
            .await
            .expect_not_found("guestPassId")
            .ctx(label("listing the check-ins of"))?;
        kit.cancel(&primary, &pass.id)
            .await
            .expect_not_found("guestPassId")
            .ctx(label("cancelling"))?;
        let ex = kit.search(&primary, &[("email", &pass.email)]).await;
        let found = ex.expect_object(200, "an empty result")?;
        ensure(search_is_empty(&Value::Object(found.clone())), || {
            ex.fail(format!(
                "HTTP 200 with no passes: {}",
                label("searching for")
            ))
        })?;
        kit.checkin(&primary, &pass.code, &own_location)
            .await
            .expect_not_found("checkinCode")
            .ctx(label("checking in with the code of"))?;
        let ex = kit.get_pass(&owner, &pass.id).await;
        let body = ex.expect_object(200, "the pass")?;
        ensure(body.get("status") != Some(&json!("CANCELLED")), || {
            ex.fail(format!(
                "the pass of {what} still not cancelled after another scope's DELETE"
            ))
        })?;
    }
    partial.finish()
}

async fn covers_own_locations(kit: &Kit) -> Checked {
    if kit.levels.location {
        return Err(Verdict::not_applicable(
            "with location level a caller's scope is its one location",
        ));
    }
    let mut targets = Vec::new();
    targets.extend(kit.second_location().map(|l| ("the second location", l)));
    if kit.other_chain_in_scope() {
        targets.extend(
            kit.other_location()
                .map(|l| ("the other chain's location", l)),
        );
    }
    if targets.is_empty() {
        return Err(Verdict::skip("needs --second-location-id"));
    }
    let headers = kit.primary()?;
    for (what, location) in targets {
        let from = now() + DAY;
        let body = kit.pass_body(&location, &kit.email(), from, from + DAY);
        let pass = kit
            .create_pass(&headers, &body)
            .await
            .ctx(format!("create at {what} ({location})"))?;
        kit.get_pass(&headers, &pass.id)
            .await
            .expect_object(200, "the pass")
            .ctx(format!("retrieve a pass at {what}"))?;
        let ex = kit
            .search(
                &headers,
                &[("locationId", &location), ("email", &pass.email)],
            )
            .await;
        let body = ex.expect_object(200, "the search result")?;
        ensure(body.get("total") == Some(&json!(1)), || {
            ex.fail(format!("HTTP 200 listing the one pass at {what}"))
        })?;
    }
    Ok(())
}
