//! Section 9 (added 2026-11-29): `X-Request-ID` echoed only in its one
//! well-formed shape, and `Cache-Control: no-store` on every response under
//! the base path (the sweep in `sweep.rs` looks at every response of the run).

use awc::http::Method;
use serde_json::json;

use crate::client::{Exchange, Headers, Request};
use crate::expect::{ensure, Checked, Context};
use crate::kit::Kit;

pub async fn run(kit: &Kit) {
    kit.check(
        "headers.request-id-echoed-when-well-formed",
        "An X-Request-ID of 1–128 characters of [A-Za-z0-9._:-] comes back unchanged",
        echoed(kit),
    )
    .await;
    kit.check(
        "headers.request-id-replaced-otherwise",
        "Any other X-Request-ID (129 characters, a space, a slash, non-ASCII, …) is replaced by a fresh id, never echoed; none sent → one is made",
        replaced(kit),
    )
    .await;
    kit.check(
        "headers.cache-control-no-store",
        "Responses under the base path carry Cache-Control: no-store, errors included (200, 201, 204, 400, 401, 404, 405)",
        no_store(kit),
    )
    .await;
}

/// The primary credentials when given; the header rules hold for any answer.
fn creds_if_any(kit: &Kit) -> Headers {
    kit.primary().unwrap_or_default()
}

fn request_id(ex: &Exchange) -> Option<String> {
    ex.response
        .as_ref()
        .ok()
        .and_then(|r| r.header("x-request-id"))
        .map(str::to_owned)
}

async fn echoed(kit: &Kit) -> Checked {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
    let full: String = alphabet.chars().cycle().take(128).collect();
    let headers = creds_if_any(kit);
    for value in ["a", "req-2026.11.29:conformance_1", full.as_str()] {
        let ex = kit
            .send(
                Request::get("/guest-passes").headers(&headers.clone().with("X-Request-ID", value)),
            )
            .await;
        ensure(request_id(&ex).as_deref() == Some(value), || {
            ex.fail(format!("X-Request-ID: {value} echoed unchanged"))
        })
        .ctx(format!("an X-Request-ID of {} characters", value.len()))?;
    }
    Ok(())
}

async fn replaced(kit: &Kit) -> Checked {
    let headers = creds_if_any(kit);
    let long = "r".repeat(129);
    let bad = [
        long.as_str(),
        "two words",
        "a/b",
        "a,b",
        "<script>",
        "id\u{e9}",
        "x=1",
    ];
    for value in bad {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let ex = kit
                .send(
                    Request::get("/guest-passes")
                        .headers(&headers.clone().with("X-Request-ID", value)),
                )
                .await;
            let got = request_id(&ex);
            let fresh = got.as_deref().is_some_and(|id| {
                !id.trim().is_empty() && id != value && !seen.contains(&id.to_owned())
            });
            ensure(fresh, || {
                ex.fail("a fresh X-Request-ID of the server's own, not the one sent and not one used before")
            })
            .ctx(format!("X-Request-ID {:?}", super::get::short(value)))?;
            seen.extend(got);
        }
    }
    let ex = kit
        .send(Request::get("/guest-passes").headers(&headers))
        .await;
    ensure(
        request_id(&ex).is_some_and(|id| !id.trim().is_empty()),
        || ex.fail("an X-Request-ID made by the server when the request had none"),
    )
}

fn has_no_store(ex: &Exchange) -> bool {
    ex.response.as_ref().is_ok_and(|r| {
        r.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cache-control"))
            .flat_map(|(_, v)| v.split(','))
            .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
    })
}

pub fn missing_no_store(ex: &Exchange) -> Option<String> {
    (!has_no_store(ex)).then(|| "Cache-Control: no-store on the response".to_owned())
}

async fn no_store(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let mut probes: Vec<(&str, Exchange)> = Vec::new();
    probes.push(("a search (200)", kit.search(&headers, &[]).await));
    let pass = kit.create_pass(&headers, &kit.upcoming_body()?).await?;
    probes.push(("a get (200)", kit.get_pass(&headers, &pass.id).await));
    probes.push(("a cancel (204)", kit.cancel(&headers, &pass.id).await));
    probes.push((
        "a create (201)",
        kit.create(&headers, &kit.upcoming_body()?).await,
    ));
    probes.push((
        "a bad request (400)",
        kit.create(&headers, &json!({})).await,
    ));
    probes.push((
        "no credentials (400)",
        kit.search(&Headers::none(), &[]).await,
    ));
    probes.push((
        "an unknown ID (401)",
        kit.search(
            &kit.probe_headers(kit.configured()[0], Some(&kit.unknown_id()), None)?,
            &[],
        )
        .await,
    ));
    probes.push((
        "an unknown pass (404)",
        kit.get_pass(&headers, &uuid::Uuid::new_v4().to_string())
            .await,
    ));
    probes.push((
        "an unknown path (404)",
        kit.send(Request::get("/conformance-unknown").headers(&headers))
            .await,
    ));
    probes.push((
        "a wrong method (405)",
        kit.send(Request::new(Method::PUT, "/checkins").headers(&headers))
            .await,
    ));
    for (what, ex) in probes {
        if let Some(why) = missing_no_store(&ex) {
            return Err(ex.fail(format!("{why}: {what}")));
        }
    }
    Ok(())
}
