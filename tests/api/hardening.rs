//! Contract sections 6–7 and the faults of real deployments: rate limits,
//! metrics, hostile input at the HTTP level.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use awc::http::Method;
use guestpass::rate_limit::{FakeRelativeClock, RateClock};
use serde_json::json;

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    over_the_rate_limit_is_429_with_retry_after_per_principal,
    bad_credentials_never_create_rate_limit_buckets,
    metrics_count_requests_by_operation_template_not_raw_path,
    deeply_nested_json_and_huge_numbers_are_400_body_wrong_format,
);

const UNKNOWN_ID: &str = "/guest-passes/00000000-0000-4000-8000-000000000000";

async fn over_the_rate_limit_is_429_with_retry_after_per_principal(backend: Backend) {
    // The buckets refill only when the test moves their clock: however slow
    // the machine, no token comes back between the requests below.
    let clock = FakeRelativeClock::default();
    let app = spawn_app_with(backend, {
        let clock = clock.clone();
        move |c| {
            c.rate_limit = 1;
            c.rate_burst = 3;
            c.rate_clock = RateClock::Manual(clock);
        }
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get(UNKNOWN_ID, &Creds::chain_a()).await.status, 404);
    }
    let res = app.get(UNKNOWN_ID, &Creds::chain_a()).await;
    assert_eq!(res.status, 429, "{}", res.text);
    assert_eq!(
        res.text,
        r#"{"message":"Rate limit exceeded. Retry after the number of seconds in the Retry-After header","cause":"rateLimitsExceeded"}"#
    );
    // One token a second, none left: the next is exactly one second away.
    assert_eq!(res.header("retry-after"), Some("1"), "{:?}", res.headers);
    // Another principal has its own bucket.
    assert_eq!(app.get(UNKNOWN_ID, &Creds::chain_b()).await.status, 404);
    // Retry-After is honest: a moment before it, still refused; after it, served.
    clock.advance(Duration::from_millis(999));
    assert_eq!(app.get(UNKNOWN_ID, &Creds::chain_a()).await.status, 429);
    clock.advance(Duration::from_millis(1));
    assert_eq!(app.get(UNKNOWN_ID, &Creds::chain_a()).await.status, 404);
    let metrics = app
        .raw(Method::GET, &app.root_url("/metrics"), &Creds::none(), None)
        .await;
    assert!(
        metrics
            .text
            .contains("guestpass_rate_limit_rejections_total 2\n"),
        "{}",
        metrics.text
    );
}

async fn bad_credentials_never_create_rate_limit_buckets(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.rate_limit = 1;
        c.rate_burst = 1;
    })
    .await;
    for i in 0..50 {
        let creds = Creds::none()
            .with("X-Chain-ID", &format!("attacker-{i}"))
            .with("X-Chain-Secret", "guess-0123456789");
        assert_eq!(app.get(UNKNOWN_ID, &creds).await.status, 401);
    }
    let metrics = app
        .raw(Method::GET, &app.root_url("/metrics"), &Creds::none(), None)
        .await;
    assert!(
        metrics.text.contains("guestpass_rate_limit_buckets 0\n"),
        "{}",
        metrics.text
    );
    // ...and the real principal is not starved by them.
    assert_eq!(app.get(UNKNOWN_ID, &Creds::chain_a()).await.status, 404);
}

async fn metrics_count_requests_by_operation_template_not_raw_path(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let id = pass["guestPassId"].as_str().unwrap_or_default().to_owned();
    for _ in 0..2 {
        assert_eq!(
            app.get(&format!("/guest-passes/{id}"), &Creds::chain_a())
                .await
                .status,
            200
        );
    }
    assert_eq!(app.get("/no/such/path", &Creds::none()).await.status, 404);
    let res = app
        .raw(Method::GET, &app.root_url("/metrics"), &Creds::none(), None)
        .await;
    assert_eq!(res.status, 200);
    assert!(res
        .header("content-type")
        .is_some_and(|v| v.starts_with("text/plain")));
    let text = &res.text;
    for line in [
        "guestpass_requests_total{operation=\"createGuestPass\",status=\"201\"} 1\n",
        "guestpass_requests_total{operation=\"getGuestPass\",status=\"200\"} 2\n",
        "guestpass_requests_total{operation=\"unmatched\",status=\"404\"} 1\n",
        "guestpass_request_duration_seconds_count{operation=\"getGuestPass\"} 2\n",
        "# TYPE guestpass_request_duration_seconds histogram\n",
        "# TYPE guestpass_db_pool_connections_in_use gauge\n",
        "# TYPE guestpass_db_pool_connections_idle gauge\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains(&id), "a raw id leaked into a label");
}

async fn deeply_nested_json_and_huge_numbers_are_400_body_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = app.url("/guest-passes");
    let nested = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    for body in [
        nested.as_str(),
        r#"{"firstName": 1e999999}"#,
        "{\"a\":\"\\ud800\"}",
    ] {
        let res = app
            .raw(
                Method::POST,
                &url,
                &Creds::chain_a(),
                Some(("application/json", body.as_bytes().to_vec())),
            )
            .await;
        res.assert_bad_request(json!({"body": "wrongFormat"}));
    }
    // A huge integer where a string belongs is just the wrong type.
    let mut body = pass_body(LOC_A1, &unique_email());
    body["firstName"] = serde_json::from_str("123456789012345678901234567890").unwrap_or_default();
    app.create(&Creds::chain_a(), &body)
        .await
        .assert_bad_request(json!({"firstName": "wrongFormat"}));
    assert_eq!(app.count_passes(), 0);
}

/// Sends raw bytes on a fresh connection, says it will send nothing more,
/// and returns everything the server answered until it closed (the empty
/// string if it closed without a word).
fn exchange(address: &str, request: &[u8]) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let _ = stream.write_all(request);
    let _ = stream.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    // What arrived before a reset is kept in `out`.
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

async fn still_serving(app: &TestApp) {
    let res = app
        .raw(Method::GET, &app.root_url("/health"), &Creds::none(), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[actix_web::test]
async fn oversized_headers_are_refused_and_the_server_keeps_serving() {
    let app = spawn_app(Backend::Sqlite).await;
    let address = app.address.clone();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        let request = format!(
            "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(128 * 1024)
        );
        exchange(&address, request.as_bytes())
    })
    .await
    .unwrap_or_default();
    // Refused means answered: 431 Request Header Fields Too Large. The
    // request head never ends inside the server's buffer, so no request
    // exists for the app to wrap in an envelope: the status line is the
    // answer. A connection closed without one is not a refusal a client can
    // act on, and a 2xx would mean the limit is not there.
    assert!(
        answer.starts_with("HTTP/1.1 431 "),
        "expected a 431, got {:?}",
        &answer[..answer.len().min(200)]
    );
    still_serving(&app).await;
}

#[actix_web::test]
async fn a_stalled_body_is_answered_400_within_the_body_timeout() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.body_timeout = Duration::from_millis(500)
    })
    .await;
    let (address, path) = (app.address.clone(), app.url("/guest-passes"));
    let path = path.trim_start_matches(&address).to_owned();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        // 100 bytes promised, 7 sent, and then nothing: only the server's
        // body timeout can produce an answer (the read gives up after 20 s).
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nX-Chain-ID: {CHAIN_A}\r\nX-Chain-Secret: {CHAIN_A_SECRET}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"first"
        );
        let host = address.trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(host).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).ok();
        let _ = stream.write_all(head.as_bytes());
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:.300}");
    assert!(
        answer.contains(r#""errors":{"body":"wrongFormat"}"#),
        "{answer:.300}"
    );
    still_serving(&app).await;
}

#[actix_web::test]
async fn a_truncated_body_changes_nothing_and_the_server_keeps_serving() {
    let app = spawn_app(Backend::Sqlite).await;
    let (address, path) = (app.address.clone(), app.url("/guest-passes"));
    let path = path.trim_start_matches(&address).to_owned();
    // A valid pass, padded with whitespace the request promises and the
    // truncated upload never sends: everything up to the cut is a complete
    // JSON object, so a server that took the end of the upload for the end
    // of the body would store this pass.
    let body = serde_json::to_string(&pass_body(LOC_A1, &unique_email())).unwrap_or_default();
    let padded = format!("{body}{}", " ".repeat(64));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nX-Chain-ID: {CHAIN_A}\r\nX-Chain-Secret: {CHAIN_A_SECRET}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        padded.len()
    );
    let send = |request: String| {
        let address = address.clone();
        actix_web::rt::task::spawn_blocking(move || exchange(&address, request.as_bytes()))
    };
    // The upload stops (the client shuts its side) before the padding.
    let answer = send(format!("{head}{body}")).await.unwrap_or_default();
    // The server read what came, saw the upload end short and answered:
    // the request is over, so whatever it wrote is in the database now.
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:.300}");
    assert!(
        answer.contains(r#""errors":{"body":"wrongFormat"}"#),
        "{answer:.300}"
    );
    assert_eq!(app.count_passes(), 0);

    // The very same request, complete, creates the pass: what was cut off
    // was the only thing wrong with it (and nothing of it was stored
    // before, or this would be a 422 overlap).
    let answer = send(format!("{head}{padded}")).await.unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer:.300}");
    assert_eq!(app.count_passes(), 1);
    still_serving(&app).await;
}
