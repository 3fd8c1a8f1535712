//! Section 7: what can be seen of the limits over HTTP. The failed-login
//! throttle (tripped with a random ID that belongs to no one, so no real
//! principal is locked out), a burst from one principal queued rather than
//! refused while others are served, and unknown IDs costing no more than
//! known ones. (The rate limit's own 429, the pool's 503, durability and
//! shutdown cannot be caused over HTTP: see the kit's README.)

use std::time::{Duration, Instant};

use crate::client::{Exchange, Request};
use crate::expect::{ensure, Checked, Context, Verdict};
use crate::kit::{join_all, Kit, Who};

/// Requests of the burst check, sent at once (twice the default PostgreSQL pool).
const BURST: usize = 16;

pub async fn run(kit: &Kit) {
    kit.check(
        "limits.failed-auth-throttled-429",
        "More failed authentications of one (address, ID) pair than the limit in a minute → 429 rateLimitsExceeded with Retry-After; other IDs and valid callers unaffected",
        failed_auth_throttled(kit),
    )
    .await;
    kit.check(
        "limits.burst-queued-not-refused",
        "A burst from one principal is queued, not refused (all 200), and another principal is served meanwhile",
        burst(kit),
    )
    .await;
    kit.check(
        "limits.unknown-id-costs-no-more",
        "An unknown ID is answered no slower than a known caller's lookup (median of ten, with slack)",
        unknown_is_cheap(kit),
    )
    .await;
}

/// Headers whose first configured level carries `id` and a wrong secret.
fn failing_headers(kit: &Kit, id: &str) -> Result<crate::client::Headers, Verdict> {
    let first = kit.configured()[0];
    kit.probe_headers(
        first,
        Some(id),
        Some("conformance-wrong-secret-for-a-random-id"),
    )
}

async fn failed_auth_throttled(kit: &Kit) -> Checked {
    let limit = kit.args.failed_auth_limit as usize;
    let id = kit.unknown_id();
    let headers = failing_headers(kit, &id)?;
    let first = kit.configured()[0];
    let mut throttled: Option<(usize, Exchange)> = None;
    for n in 1..=limit + 2 {
        let ex = kit
            .send(Request::get("/guest-passes").headers(&headers).keep_429())
            .await;
        match ex.status() {
            Some(401) => {}
            Some(429) if n > limit => {
                throttled = Some((n, ex));
                break;
            }
            _ => {
                return Err(ex.fail(format!(
                    "HTTP 401 for failure {n} of at most {limit} per minute (429 only after more than {limit})"
                )))
            }
        }
    }
    let Some((n, ex)) = throttled else {
        return Err(Verdict::fail(
            format!(
                "HTTP 429 rateLimitsExceeded once {} failed authentications of one {} came within a minute",
                limit + 1,
                first.id_header()
            ),
            format!("{} answers, all 401", limit + 2),
        ));
    };
    let envelope = ex.expect_json(429, "rateLimitsExceeded with Retry-After")?;
    let retry_after = ex
        .response
        .as_ref()
        .ok()
        .and_then(|r| r.header("retry-after"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    ensure(
        envelope.get("cause").and_then(|c| c.as_str()) == Some("rateLimitsExceeded")
            && retry_after.is_some_and(|s| (1..=60).contains(&s)),
        || {
            ex.fail(format!(
                "HTTP 429 {{\"cause\": \"rateLimitsExceeded\"}} with Retry-After of 1–60 seconds (request {n})"
            ))
        },
    )?;
    // Another pair is not affected: a fresh random ID still gets its 401.
    let other = failing_headers(kit, &kit.unknown_id())?;
    let ex = kit
        .send(Request::get("/guest-passes").headers(&other).keep_429())
        .await;
    ex.expect_unauthorized(first.name(), first.id_header())
        .ctx("another random ID from the same address, right after")?;
    // Nor is a valid caller.
    if let Ok(primary) = kit.primary() {
        let ex = kit
            .send(Request::get("/guest-passes").headers(&primary).keep_429())
            .await;
        ex.expect_object(200, "the search result")
            .ctx("the kit's own credentials from the same address, right after")?;
    }
    Ok(())
}

async fn burst(kit: &Kit) -> Checked {
    let primary = kit.primary()?;
    let mut sends: Vec<_> = (0..BURST)
        .map(|_| {
            kit.send(
                Request::get("/guest-passes?limit=1")
                    .headers(&primary)
                    .keep_429(),
            )
        })
        .collect();
    let other = kit.creds(Who::OtherChain).ok();
    if let Some(other) = &other {
        sends.push(
            kit.send(
                Request::get("/guest-passes?limit=1")
                    .headers(other)
                    .keep_429(),
            ),
        );
    }
    let answers = join_all(sends).await;
    for (i, ex) in answers.iter().enumerate() {
        let who = if i < BURST {
            format!("request {} of {BURST} sent at once by one principal", i + 1)
        } else {
            "another chain's request during the burst".to_owned()
        };
        ex.expect_object(200, "the search result").ctx(who)?;
    }
    Ok(())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

async fn unknown_is_cheap(kit: &Kit) -> Checked {
    let primary = kit.primary()?;
    let pass = kit.upcoming().await?;
    let first = kit.configured()[0];
    // One random ID, asked ten times: what a negative cache is for.
    let unknown = failing_headers(kit, &kit.unknown_id())?;
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        let started = Instant::now();
        let ex = kit.get_pass(&primary, &pass.id).await;
        known_times.push(started.elapsed());
        ex.expect_object(200, "the pass")
            .ctx("a known caller's read")?;
        let started = Instant::now();
        let ex = kit
            .send(Request::get("/guest-passes").headers(&unknown).keep_429())
            .await;
        unknown_times.push(started.elapsed());
        ex.expect_unauthorized(first.name(), first.id_header())
            .ctx("an unknown ID")?;
    }
    let (known, unknown) = (median(known_times), median(unknown_times));
    ensure(unknown <= known * 2 + Duration::from_millis(25), || {
        Verdict::fail(
            "an unknown ID answered within twice a known caller's time, plus 25 ms",
            format!(
                "median {:.1} ms for an unknown ID, {:.1} ms for a known caller's read",
                unknown.as_secs_f64() * 1000.0,
                known.as_secs_f64() * 1000.0
            ),
        )
    })
}
