//! Contract sections 6–7 and the faults of real deployments: rate limits,
//! metrics, hostile input at the HTTP level.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use awc::http::Method;
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
    let app = spawn_app_with(backend, |c| {
        c.rate_limit = 1;
        c.rate_burst = 3;
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
    let retry: u64 = res
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(retry >= 1, "Retry-After: {:?}", res.header("retry-after"));
    // Another principal has its own bucket.
    assert_eq!(app.get(UNKNOWN_ID, &Creds::chain_b()).await.status, 404);
    let metrics = app
        .raw(Method::GET, &app.root_url("/metrics"), &Creds::none(), None)
        .await;
    assert!(
        metrics
            .text
            .contains("guestpass_rate_limit_rejections_total 1\n"),
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

/// Sends raw bytes on a fresh connection and returns what came back (or
/// the empty string if the server closed it).
fn exchange(address: &str, request: &[u8], pause: Option<Duration>, rest: &[u8]) -> String {
    let host = address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let _ = stream.write_all(request);
    if let Some(pause) = pause {
        std::thread::sleep(pause);
    }
    let _ = stream.write_all(rest);
    let mut out = Vec::new();
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
        exchange(&address, request.as_bytes(), None, b"")
    })
    .await
    .unwrap_or_default();
    // HTTP leaves the server only a 431 or a closed connection here; never a 2xx.
    assert!(
        answer.is_empty()
            || answer.starts_with("HTTP/1.1 431")
            || answer.starts_with("HTTP/1.1 400"),
        "{answer:.200}"
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
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nX-Chain-ID: {CHAIN_A}\r\nX-Chain-Secret: {CHAIN_A_SECRET}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"first"
        );
        exchange(&address, head.as_bytes(), Some(Duration::from_secs(2)), b"")
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
    let body = serde_json::to_string(&pass_body(LOC_A1, &unique_email())).unwrap_or_default();
    let cut = body[..body.len() / 2].to_owned();
    actix_web::rt::task::spawn_blocking(move || {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nX-Chain-ID: {CHAIN_A}\r\nX-Chain-Secret: {CHAIN_A_SECRET}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{cut}",
            body.len()
        );
        let host = address.trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(host).expect("connect");
        let _ = stream.write_all(head.as_bytes());
        // Close mid-body.
        let _ = stream.shutdown(std::net::Shutdown::Both);
    })
    .await
    .unwrap_or_default();
    still_serving(&app).await;
    assert_eq!(app.count_passes(), 0);
}
