//! Contract §7 (throttling of failed authentication, the negative cache),
//! the credential cache after a rotation, and §9 (X-Request-ID,
//! Cache-Control). Time is a manual clock: a window "passes" when the test
//! says so, never by sleeping.

use std::time::Duration;

use awc::http::Method;
use guestpass::domain::PrincipalKind;
use guestpass::rate_limit::{FakeRelativeClock, RateClock};
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    failed_authentication_is_throttled_per_address_and_id_until_the_window_passes,
    a_new_secret_works_on_the_very_next_request_and_an_old_one_lingers_at_most_the_ttl,
    an_unknown_id_is_remembered_briefly_then_read_again,
    every_answer_under_the_base_path_carries_cache_control_no_store,
);

const RATE_LIMITED: &str = r#"{"message":"Rate limit exceeded. Retry after the number of seconds in the Retry-After header","cause":"rateLimitsExceeded"}"#;

fn wrong_chain_a() -> Creds {
    Creds::none()
        .with("X-Chain-ID", CHAIN_A)
        .with("X-Chain-Secret", "wrong-secret-0123456789abcdef")
}

/// A request only authentication can fail (the search without filters).
async fn probe(app: &TestApp, creds: &Creds) -> Resp {
    app.get("/guest-passes", creds).await
}

async fn failed_authentication_is_throttled_per_address_and_id_until_the_window_passes(
    backend: Backend,
) {
    let clock = FakeRelativeClock::default();
    let app = spawn_app_with(backend, {
        let clock = clock.clone();
        move |c| {
            c.auth_failure_limit = 30;
            c.auth_clock = RateClock::Manual(clock);
        }
    })
    .await;
    // 45 wrong secrets for chain A: 30 failures are answered 401, and from
    // the 31st on the pair is refused before any lookup.
    for n in 1..=45 {
        let res = probe(&app, &wrong_chain_a()).await;
        if n <= 30 {
            res.assert_unauthorized("chain", "X-Chain-Secret");
        } else {
            assert_eq!(res.status, 429, "request {n}: {}", res.text);
            assert_eq!(res.text, RATE_LIMITED);
            // The clock has not moved since the first failure: a whole minute.
            assert_eq!(res.header("retry-after"), Some("60"), "request {n}");
        }
    }
    // Another ID from the same address is untouched...
    assert_eq!(probe(&app, &Creds::chain_b()).await.status, 200);
    // ...but the throttled pair is refused even with the right secret.
    let res = probe(&app, &Creds::chain_a()).await;
    assert_eq!(res.status, 429, "{}", res.text);
    // Retry-After tells the truth: a second before the window passes, still
    // refused, with one second to wait; when it has passed, served.
    clock.advance(Duration::from_secs(59));
    let res = probe(&app, &Creds::chain_a()).await;
    assert_eq!(res.status, 429, "{}", res.text);
    assert_eq!(res.header("retry-after"), Some("1"));
    clock.advance(Duration::from_secs(1));
    assert_eq!(probe(&app, &Creds::chain_a()).await.status, 200);
    // A new window: wrong secrets are 401 again, not 429.
    probe(&app, &wrong_chain_a())
        .await
        .assert_unauthorized("chain", "X-Chain-Secret");
    let text = app.metrics().await;
    assert!(
        text.contains("guestpass_auth_throttle_rejections_total 17\n"),
        "{text}"
    );
    // The throttle is not the rate limit: no bucket was made for anyone.
    assert!(text.contains("guestpass_rate_limit_buckets 0\n"), "{text}");
}

/// Unknown IDs count like wrong secrets (the conformance kit's way in), and
/// with the negative cache on they are answered from it.
#[actix_web::test]
async fn unknown_ids_are_throttled_too() {
    let clock = FakeRelativeClock::default();
    let app = spawn_app_with(Backend::Sqlite, {
        let clock = clock.clone();
        move |c| {
            c.auth_failure_limit = 3;
            c.credential_cache = Duration::from_secs(5);
            c.auth_clock = RateClock::Manual(clock);
        }
    })
    .await;
    let unknown = Creds::none()
        .with("X-Chain-ID", "nobody")
        .with("X-Chain-Secret", "wrong-secret-0123456789abcdef");
    for _ in 0..3 {
        probe(&app, &unknown)
            .await
            .assert_unauthorized("chain", "X-Chain-ID");
    }
    assert_eq!(probe(&app, &unknown).await.status, 429);
    assert_eq!(probe(&app, &Creds::chain_a()).await.status, 200);
}

/// `X-Forwarded-For` names the client only when the peer is a trusted proxy;
/// from anyone else it is ignored, so a client cannot pick a fresh address
/// per request. The tests' peer is 127.0.0.1.
#[actix_web::test]
async fn forwarded_for_is_ignored_from_an_untrusted_peer_and_honoured_from_a_trusted_one() {
    let throttled = |proxies: &'static str| {
        move |c: &mut guestpass::config::Config| {
            c.auth_failure_limit = 2;
            c.auth_clock = RateClock::Manual(FakeRelativeClock::default());
            c.trusted_proxies = proxies.parse().expect("proxies");
        }
    };
    let from = |address: &str| wrong_chain_a().with("X-Forwarded-For", address);

    // Untrusted peer: every claimed address is the peer's, one pair.
    let app = spawn_app_with(Backend::Sqlite, throttled("10.0.0.0/8")).await;
    assert_eq!(probe(&app, &from("192.0.2.1")).await.status, 401);
    assert_eq!(probe(&app, &from("192.0.2.2")).await.status, 401);
    assert_eq!(probe(&app, &from("192.0.2.3")).await.status, 429);
    assert_eq!(probe(&app, &wrong_chain_a()).await.status, 429);

    // Trusted peer: the rightmost entry that is not a trusted proxy counts.
    let app = spawn_app_with(Backend::Sqlite, throttled("127.0.0.1, 10.0.0.0/8")).await;
    assert_eq!(probe(&app, &from("192.0.2.1")).await.status, 401);
    assert_eq!(probe(&app, &from("192.0.2.1, 10.1.2.3")).await.status, 401);
    assert_eq!(probe(&app, &from("192.0.2.1")).await.status, 429);
    // What the client wrote left of it is never read.
    assert_eq!(
        probe(&app, &from("198.51.100.7, 192.0.2.1")).await.status,
        429
    );
    // Another client behind the same proxy is its own pair.
    assert_eq!(probe(&app, &from("192.0.2.2")).await.status, 401);
    // The proxy itself (no header) is another pair again.
    assert_eq!(probe(&app, &wrong_chain_a()).await.status, 401);
}

async fn a_new_secret_works_on_the_very_next_request_and_an_old_one_lingers_at_most_the_ttl(
    backend: Backend,
) {
    const TTL: Duration = Duration::from_secs(300);
    const SECOND: &str = "1qsBX7Qm5S5vwD2F3bezGIiFUzW1Yi7NwoOhNzBo";
    const THIRD: &str = "Zp3KfR8tWq1LmN6vXc9BdG2hJ5sY7uE4oA0iTyQe";
    let clock = FakeRelativeClock::default();
    let app = spawn_app_with(backend, {
        let clock = clock.clone();
        move |c| {
            c.credential_cache = TTL;
            c.auth_clock = RateClock::Manual(clock);
        }
    })
    .await;
    let chain_a = |secret: &str| {
        Creds::none()
            .with("X-Chain-ID", CHAIN_A)
            .with("X-Chain-Secret", secret)
    };
    // Cached now.
    assert_eq!(probe(&app, &Creds::chain_a()).await.status, 200);
    rotate(&app, SECOND).await;
    // The new secret does not match the cached entry: the principal is read
    // again, and it works at once.
    assert_eq!(probe(&app, &chain_a(SECOND)).await.status, 200);
    // That read replaced the cached entry: the old secret is gone too.
    probe(&app, &Creds::chain_a())
        .await
        .assert_unauthorized("chain", "X-Chain-Secret");

    // Without a request carrying the new secret, the old one lingers from
    // the cache, but no longer than the TTL.
    rotate(&app, THIRD).await;
    clock.advance(TTL - Duration::from_secs(1));
    assert_eq!(probe(&app, &chain_a(SECOND)).await.status, 200);
    clock.advance(Duration::from_secs(1));
    probe(&app, &chain_a(SECOND))
        .await
        .assert_unauthorized("chain", "X-Chain-Secret");
    assert_eq!(probe(&app, &chain_a(THIRD)).await.status, 200);
}

async fn rotate(app: &TestApp, secret: &str) {
    guestpass::admin::rotate_secret(
        app.store(),
        PrincipalKind::Chain,
        CHAIN_A,
        Some(secret.to_owned()),
    )
    .await
    .expect("rotate");
}

/// A client secret sent without its ID is found in the cached list of
/// clients; a rotated one must work at once there too.
#[actix_web::test]
async fn a_new_client_secret_sent_without_its_id_works_at_once() {
    const NEW: &str = "Zp3KfR8tWq1LmN6vXc9BdG2hJ5sY7uE4oA0iTyQe";
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.auth_levels = "client".parse().expect("levels");
        c.credential_cache = Duration::from_secs(300);
    })
    .await;
    let secret_only = |s: &str| Creds::none().with("X-Client-Secret", s);
    assert_eq!(probe(&app, &secret_only(CLIENT_SECRET)).await.status, 200);
    guestpass::admin::rotate_secret(
        app.store(),
        PrincipalKind::Client,
        CLIENT,
        Some(NEW.to_owned()),
    )
    .await
    .expect("rotate");
    assert_eq!(probe(&app, &secret_only(NEW)).await.status, 200);
}

async fn an_unknown_id_is_remembered_briefly_then_read_again(backend: Backend) {
    const SECRET: &str = "Zp3KfR8tWq1LmN6vXc9BdG2hJ5sY7uE4oA0iTyQe";
    let clock = FakeRelativeClock::default();
    let app = spawn_app_with(backend, {
        let clock = clock.clone();
        move |c| {
            c.credential_cache = Duration::from_secs(60);
            c.negative_cache = Duration::from_secs(3);
            c.auth_clock = RateClock::Manual(clock);
        }
    })
    .await;
    let late = Creds::none()
        .with("X-Chain-ID", "late-chain")
        .with("X-Chain-Secret", SECRET);
    probe(&app, &late)
        .await
        .assert_unauthorized("chain", "X-Chain-ID");
    guestpass::admin::add_principal(
        app.store(),
        PrincipalKind::Chain,
        "late-chain",
        None,
        None,
        Some(SECRET.to_owned()),
    )
    .await
    .expect("add");
    // Still remembered as unknown: no database read for it...
    probe(&app, &late)
        .await
        .assert_unauthorized("chain", "X-Chain-ID");
    assert!(
        app.metrics()
            .await
            .contains("guestpass_auth_negative_cache_entries 1\n"),
        "the unknown id is not in the negative cache"
    );
    // ...until the few seconds have passed.
    clock.advance(Duration::from_secs(3));
    assert_eq!(probe(&app, &late).await.status, 200);
}

async fn every_answer_under_the_base_path_carries_cache_control_no_store(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.auth_failure_limit = 1;
        c.auth_clock = RateClock::Manual(FakeRelativeClock::default());
    })
    .await;
    let id = app.create_ok(LOC_A1, &unique_email()).await["guestPassId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut answers = vec![
        probe(&app, &Creds::chain_a()).await,
        app.get(&format!("/guest-passes/{id}"), &Creds::chain_a())
            .await,
        app.create(&Creds::chain_a(), &pass_body(LOC_A1, &unique_email()))
            .await,
        app.create(&Creds::chain_a(), &json!({})).await,
        app.get(
            "/guest-passes/00000000-0000-4000-8000-000000000000",
            &Creds::chain_a(),
        )
        .await,
        // The framework's own 404 and 405, turned into envelopes.
        app.get("/no/such/endpoint", &Creds::chain_a()).await,
        app.raw(
            Method::PUT,
            &app.url("/guest-passes"),
            &Creds::chain_a(),
            None,
        )
        .await,
        app.raw(Method::PATCH, &app.url(""), &Creds::none(), None)
            .await,
        app.delete(&format!("/guest-passes/{id}"), &Creds::chain_a())
            .await,
        probe(&app, &Creds::chain_a().without("X-Chain-ID")).await,
        probe(&app, &wrong_chain_a()).await,
    ];
    answers.push(probe(&app, &wrong_chain_a()).await);
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 200, 201, 400, 404, 404, 405, 404, 204, 400, 401, 429]
    );
    for res in &answers {
        assert_eq!(
            res.header("cache-control"),
            Some("no-store"),
            "{} {:?}",
            res.status,
            res.headers
        );
    }
}

#[actix_web::test]
async fn a_sane_request_id_is_echoed_and_anything_else_replaced_by_a_fresh_one() {
    let app = spawn_app(Backend::Sqlite).await;
    let with_id = |id: &str| Creds::chain_a().with("X-Request-ID", id);
    let sane = "abc-DEF_123.xyz:42";
    let res = probe(&app, &with_id(sane)).await;
    assert_eq!(res.header("x-request-id"), Some(sane));
    let longest = "a".repeat(128);
    assert_eq!(
        probe(&app, &with_id(&longest)).await.header("x-request-id"),
        Some(longest.as_str())
    );
    let mut seen = Vec::new();
    for forged in [
        "fake-id GET /members/v1.0/guest-passes 200 0.1ms",
        &"a".repeat(129),
        "a/b",
        "id\twith-tab",
        "semi;colon",
    ] {
        let res = probe(&app, &with_id(forged)).await;
        assert_eq!(res.status, 200);
        let replaced = res.header("x-request-id").unwrap_or_default().to_owned();
        assert_ne!(replaced, forged);
        assert!(
            !replaced.is_empty()
                && replaced.len() <= 128
                && replaced
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b)),
            "{replaced:?}"
        );
        assert!(!seen.contains(&replaced), "not fresh: {replaced}");
        seen.push(replaced);
    }
    // Without one, a fresh one too.
    assert!(probe(&app, &Creds::chain_a())
        .await
        .header("x-request-id")
        .is_some_and(|id| !id.is_empty()));
    assert!(app
        .metrics()
        .await
        .contains("# TYPE guestpass_log_lines_dropped_total counter\n"));
}
