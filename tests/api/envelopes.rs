//! Contract section 3, error envelopes: exact bodies, the framework cases
//! (unknown paths, wrong methods, bad bodies and content types, oversized
//! bodies, a locked database) answered with the blueprint's envelopes, and
//! the request id on every response.

use std::time::{Duration, Instant};

use awc::http::Method;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    bad_request_body_is_exact_with_errors_sorted_by_parameter,
    unauthorized_body_is_exact,
    resource_not_found_body_is_exact,
    entity_not_found_body_has_exactly_message_cause_and_parameter,
    unprocessable_body_has_exactly_message_cause_and_reason,
    every_error_response_is_json_with_message_and_cause,
    unknown_paths_inside_and_outside_the_base_path_are_404_resource_not_found,
    wrong_method_on_each_resource_is_405_with_the_allow_header,
    a_body_that_is_not_a_json_object_is_400_body_wrong_format,
    a_non_json_content_type_is_400_content_type_wrong_format,
    no_content_type_is_400_content_type_missing,
    json_with_a_charset_parameter_is_accepted,
    a_body_over_64_kib_is_400_body_too_large_and_64_kib_is_accepted,
    a_chunked_body_over_64_kib_is_400_body_too_large,
    a_database_locked_past_the_pool_timeout_is_503_system_unavailable,
    every_response_carries_a_request_id_and_a_client_one_is_echoed,
);

/// `{"message":…,"cause":…,…}` exactly as the server must write it.
fn envelope(message: &str, cause: &str, extra: &[(&str, &str)]) -> String {
    let q = |s: &str| Value::String(s.to_owned()).to_string();
    let mut text = format!("{{\"message\":{},\"cause\":{}", q(message), q(cause));
    for (name, value) in extra {
        text.push_str(&format!(",{}:{}", q(name), q(value)));
    }
    text.push('}');
    text
}

const BODY_WRONG_FORMAT: &str =
    r#"{"message":"Bad Request","cause":"badRequest","errors":{"body":"wrongFormat"}}"#;
const BODY_TOO_LARGE: &str =
    r#"{"message":"Bad Request","cause":"badRequest","errors":{"body":"tooLarge"}}"#;
const CONTENT_TYPE_WRONG_FORMAT: &str =
    r#"{"message":"Bad Request","cause":"badRequest","errors":{"Content-Type":"wrongFormat"}}"#;
const CONTENT_TYPE_MISSING: &str =
    r#"{"message":"Bad Request","cause":"badRequest","errors":{"Content-Type":"missing"}}"#;
const RESOURCE_NOT_FOUND: &str =
    r#"{"message":"Requested endpoint is not supported","cause":"resourceNotFound"}"#;

#[track_caller]
fn assert_json_error(res: &Resp, status: u16, text: &str, what: &str) {
    assert_eq!(res.status, status, "{what}: {}", res.text);
    assert_eq!(res.text, text, "{what}");
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "{what}"
    );
}

async fn post_raw(app: &TestApp, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
    app.raw(
        Method::POST,
        &app.url(path),
        &Creds::chain_a(),
        Some((content_type, body)),
    )
    .await
}

/// A valid create body padded with an unknown field to exactly `size` bytes.
fn padded_body(size: usize) -> Vec<u8> {
    let mut body = pass_body(LOC_A1, &unique_email());
    body["padding"] = json!("");
    let base = serde_json::to_vec(&body).expect("json").len();
    assert!(size >= base, "{size} < {base}");
    body["padding"] = json!("p".repeat(size - base));
    let bytes = serde_json::to_vec(&body).expect("json");
    assert_eq!(bytes.len(), size);
    bytes
}

async fn bad_request_body_is_exact_with_errors_sorted_by_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .create(
            &Creds::chain_a(),
            &json!({"validUntil": "soon", "phone": "x", "firstName": "   ", "email": 3}),
        )
        .await;
    assert_json_error(
        &res,
        400,
        r#"{"message":"Bad Request","cause":"badRequest","errors":{"email":"wrongFormat","firstName":"missing","lastName":"missing","locationId":"missing","phone":"wrongFormat","validFrom":"missing","validUntil":"wrongFormat"}}"#,
        "create",
    );
    let res = app.checkin(&Creds::chain_a(), "", "").await;
    assert_json_error(
        &res,
        400,
        r#"{"message":"Bad Request","cause":"badRequest","errors":{"checkinCode":"missing","locationId":"missing"}}"#,
        "checkin",
    );
    let res = app
        .get(
            "/guest-passes?status=nope&limit=0&offset=x",
            &Creds::chain_a(),
        )
        .await;
    assert_json_error(
        &res,
        400,
        r#"{"message":"Bad Request","cause":"badRequest","errors":{"limit":"outOfRange","offset":"wrongFormat","status":"wrongFormat"}}"#,
        "search",
    );
    let res = app.get("/guest-passes", &Creds::none()).await;
    assert_json_error(
        &res,
        400,
        r#"{"message":"Bad Request","cause":"badRequest","errors":{"X-Chain-ID":"missing","X-Chain-Secret":"missing"}}"#,
        "headers",
    );
}

async fn unauthorized_body_is_exact(backend: Backend) {
    let app = spawn_with_levels(backend, "client,chain,location").await;
    let all = Creds::client()
        .and(Creds::chain_a())
        .and(Creds::location(LOC_A1, LOC_A1_SECRET));
    let cases = [
        (
            all.clone()
                .without("X-Chain-Secret")
                .with("X-Chain-Secret", "wrong-secret-0123456789"),
            r#"{"message":"X-Chain-Secret is invalid","cause":"unauthorizedAccess","accessLevel":"chain"}"#,
        ),
        (
            all.clone()
                .without("X-Location-ID")
                .with("X-Location-ID", LOC_B1),
            r#"{"message":"X-Location-ID is invalid","cause":"unauthorizedAccess","accessLevel":"location"}"#,
        ),
        (
            all.clone()
                .without("X-Client-ID")
                .with("X-Client-ID", "nobody"),
            r#"{"message":"X-Client-ID is invalid","cause":"unauthorizedAccess","accessLevel":"client"}"#,
        ),
    ];
    for (creds, text) in cases {
        let res = app.get("/guest-passes", &creds).await;
        assert_json_error(&res, 401, text, text);
    }
}

async fn resource_not_found_body_is_exact(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get("/no-such-endpoint", &Creds::chain_a()).await;
    assert_json_error(&res, 404, RESOURCE_NOT_FOUND, "unknown endpoint");
}

async fn entity_not_found_body_has_exactly_message_cause_and_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .get(
            &format!("/guest-passes/{}", uuid::Uuid::new_v4()),
            &Creds::chain_a(),
        )
        .await;
    let message = res.body["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{}", res.text);
    assert_json_error(
        &res,
        404,
        &envelope(message, "entityNotFound", &[("parameter", "guestPassId")]),
        "guestPassId",
    );
    let res = app
        .create(&Creds::chain_a(), &pass_body(LOC_B1, &unique_email()))
        .await;
    let message = res.body["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{}", res.text);
    assert_json_error(
        &res,
        404,
        &envelope(message, "entityNotFound", &[("parameter", "locationId")]),
        "locationId",
    );
}

async fn unprocessable_body_has_exactly_message_cause_and_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = pass_body(LOC_A1, &unique_email());
    let first = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let res = app.create(&Creds::chain_a(), &body).await;
    let message = res.body["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{}", res.text);
    assert_json_error(
        &res,
        422,
        &envelope(
            message,
            "guestPassAlreadyCreated",
            &[("reason", "guestPassAlreadyCreated")],
        ),
        "422",
    );
}

async fn every_error_response_is_json_with_message_and_cause(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = Creds::chain_a();
    let body = pass_body(LOC_A1, &unique_email());
    assert_eq!(app.create(&creds, &body).await.status, 201);
    let wrong = Creds::none()
        .with("X-Chain-ID", CHAIN_A)
        .with("X-Chain-Secret", "wrong-secret-0123456789");
    let responses = vec![
        ("400 fields", app.create(&creds, &json!({})).await),
        (
            "400 headers",
            app.get("/guest-passes", &Creds::none()).await,
        ),
        (
            "400 body",
            post_raw(&app, "/guest-passes", "application/json", b"{".to_vec()).await,
        ),
        (
            "400 content type",
            post_raw(&app, "/checkins", "text/plain", b"{}".to_vec()).await,
        ),
        ("401", app.get("/guest-passes", &wrong).await),
        ("404 entity", app.get("/guest-passes/nope", &creds).await),
        ("404 resource", app.get("/nope", &creds).await),
        (
            "405",
            app.raw(Method::PATCH, &app.url("/checkins"), &creds, None)
                .await,
        ),
        ("422", app.create(&creds, &body).await),
    ];
    for (what, res) in responses {
        assert!(res.status >= 400, "{what}: {}", res.text);
        assert_eq!(
            res.header("content-type"),
            Some("application/json"),
            "{what}"
        );
        for field in ["message", "cause"] {
            assert!(
                res.body[field].as_str().is_some_and(|v| !v.is_empty()),
                "{what}: {field} in {}",
                res.text
            );
        }
    }
}

async fn unknown_paths_inside_and_outside_the_base_path_are_404_resource_not_found(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let id = uuid::Uuid::new_v4();
    let base = app.base_path.clone();
    let paths = [
        format!("{base}/no-such-endpoint"),
        format!("{base}/guest-passes/"),
        format!("{base}/guest-passes/{id}/"),
        format!("{base}/guest-passes/{id}/checkins/"),
        format!("{base}/guest-passes/{id}/checkins/x"),
        format!("{base}/guest-passes/{id}/visits"),
        format!("{base}/checkins/"),
        format!("{base}/checkins/K7QX9MPT2A"),
        format!("{base}/GUEST-PASSES"),
        format!("{base}/"),
        base.clone(),
        format!("{base}guest-passes"),
        "/guest-passes".to_owned(),
        "/checkins".to_owned(),
        "/members/v2.0/guest-passes".to_owned(),
        "/no-such-endpoint".to_owned(),
        "/".to_owned(),
        "/health/".to_owned(),
        "/openapi.json".to_owned(),
    ];
    for path in &paths {
        for method in [Method::GET, Method::POST, Method::DELETE, Method::PUT] {
            let body = matches!(method, Method::POST | Method::PUT)
                .then(|| ("application/json", b"{}".to_vec()));
            let res = app
                .raw(method.clone(), &app.root_url(path), &Creds::chain_a(), body)
                .await;
            assert_json_error(&res, 404, RESOURCE_NOT_FOUND, &format!("{method} {path}"));
        }
    }
}

async fn wrong_method_on_each_resource_is_405_with_the_allow_header(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = uuid::Uuid::new_v4();
    let resources = [
        (
            "/guest-passes".to_owned(),
            "GET, POST",
            vec![Method::PUT, Method::PATCH, Method::DELETE],
        ),
        (
            format!("/guest-passes/{id}"),
            "GET, DELETE",
            vec![Method::POST, Method::PUT, Method::PATCH],
        ),
        (
            format!("/guest-passes/{id}/checkins"),
            "GET",
            vec![Method::POST, Method::PUT, Method::PATCH, Method::DELETE],
        ),
        (
            "/checkins".to_owned(),
            "POST",
            vec![Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
        ),
    ];
    for (path, allow, methods) in resources {
        for method in methods {
            for creds in [Creds::chain_a(), Creds::none()] {
                let body = matches!(method, Method::POST | Method::PUT | Method::PATCH)
                    .then(|| ("application/json", b"{}".to_vec()));
                let res = app.raw(method.clone(), &app.url(&path), &creds, body).await;
                let what = format!("{method} {path}");
                assert_eq!(res.status, 405, "{what}: {}", res.text);
                assert_eq!(res.header("allow"), Some(allow), "{what}");
                assert_eq!(
                    res.header("content-type"),
                    Some("application/json"),
                    "{what}"
                );
                let message = res.body["message"].as_str().unwrap_or_default();
                assert!(!message.is_empty(), "{what}: {}", res.text);
                assert_eq!(
                    res.text,
                    envelope(message, "methodNotAllowed", &[]),
                    "{what}"
                );
            }
        }
    }
}

async fn a_body_that_is_not_a_json_object_is_400_body_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let valid = serde_json::to_vec(&pass_body(LOC_A1, &unique_email())).expect("json");
    let truncated = valid[..valid.len() - 10].to_vec();
    let mut invalid_utf8 = br#"{"locationId":"a-1","firstName":"J"#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid_utf8.extend_from_slice(br#"ne","lastName":"Doe"}"#);
    let mut lone_surrogate_escape = valid.clone();
    lone_surrogate_escape.truncate(valid.len() - 1);
    lone_surrogate_escape.extend_from_slice(br#","x":"\ud800"}"#);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("malformed", b"{not json}".to_vec()),
        ("single quotes", b"{'locationId': 'a-1'}".to_vec()),
        ("truncated", truncated),
        ("only an opening brace", b"{".to_vec()),
        ("an array", b"[]".to_vec()),
        ("an array of the object", [b"[", &valid[..], b"]"].concat()),
        ("a string", br#""a-1""#.to_vec()),
        ("a number", b"42".to_vec()),
        ("true", b"true".to_vec()),
        ("null", b"null".to_vec()),
        ("empty", Vec::new()),
        ("whitespace only", b"  \n ".to_vec()),
        ("invalid UTF-8 in a string", invalid_utf8),
        ("trailing garbage", [&valid[..], b" x"].concat()),
        ("two objects", [&valid[..], &valid[..]].concat()),
        ("lone surrogate escape", lone_surrogate_escape),
    ];
    for path in ["/guest-passes", "/checkins"] {
        for (what, body) in &bodies {
            let res = post_raw(&app, path, "application/json", body.clone()).await;
            assert_json_error(&res, 400, BODY_WRONG_FORMAT, &format!("{path} {what}"));
        }
    }
    assert_eq!(app.count_passes(), 0);
}

async fn a_non_json_content_type_is_400_content_type_wrong_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let json_bytes = serde_json::to_vec(&pass_body(LOC_A1, &unique_email())).expect("json");
    let form = b"locationId=a-1&firstName=Jane&lastName=Doe".to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("text/plain", json_bytes.clone()),
        ("text/plain; charset=utf-8", json_bytes.clone()),
        ("application/x-www-form-urlencoded", form),
        ("application/xml", b"<pass/>".to_vec()),
        ("multipart/form-data; boundary=x", json_bytes.clone()),
        ("application/octet-stream", json_bytes.clone()),
        ("nonsense", json_bytes.clone()),
    ];
    for path in ["/guest-passes", "/checkins"] {
        for (content_type, body) in &cases {
            let res = post_raw(&app, path, content_type, body.clone()).await;
            assert_json_error(
                &res,
                400,
                CONTENT_TYPE_WRONG_FORMAT,
                &format!("{path} {content_type}"),
            );
        }
    }
    assert_eq!(app.count_passes(), 0);
}

async fn no_content_type_is_400_content_type_missing(backend: Backend) {
    let app = spawn_app(backend).await;
    // The helper sends no Content-Type when given an empty one (awc adds
    // none for a raw body).
    let body = serde_json::to_vec(&pass_body(LOC_A1, &unique_email())).expect("json");
    for path in ["/guest-passes", "/checkins"] {
        let res = post_raw(&app, path, "", body.clone()).await;
        assert_json_error(&res, 400, CONTENT_TYPE_MISSING, path);
    }
    assert_eq!(app.count_passes(), 0);
}

async fn json_with_a_charset_parameter_is_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    for content_type in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
    ] {
        let body = serde_json::to_vec(&pass_body(LOC_A1, &unique_email())).expect("json");
        let res = post_raw(&app, "/guest-passes", content_type, body).await;
        assert_eq!(res.status, 201, "{content_type}: {}", res.text);
    }
}

async fn a_body_over_64_kib_is_400_body_too_large_and_64_kib_is_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    for size in [65_537, 65_600, 1024 * 1024] {
        let res = post_raw(&app, "/guest-passes", "application/json", padded_body(size)).await;
        assert_json_error(&res, 400, BODY_TOO_LARGE, &format!("{size} bytes"));
    }
    assert_eq!(app.count_passes(), 0);
    for size in [65_535, 65_536] {
        let res = post_raw(&app, "/guest-passes", "application/json", padded_body(size)).await;
        assert_eq!(res.status, 201, "{size} bytes: {}", res.text);
    }
    assert_eq!(app.count_passes(), 2);
}

async fn a_chunked_body_over_64_kib_is_400_body_too_large(backend: Backend) {
    let app = spawn_app(backend).await;
    let send_chunked = |bytes: Vec<u8>| {
        let app = &app;
        async move {
            // Without a Content-Length, in several chunks.
            let chunks: Vec<Result<actix_web::web::Bytes, std::io::Error>> = bytes
                .chunks(16 * 1024)
                .map(|c| Ok(actix_web::web::Bytes::copy_from_slice(c)))
                .collect();
            let mut req = app
                .client
                .post(app.url("/guest-passes"))
                .insert_header(("Content-Type", "application/json"));
            for (name, value) in &Creds::chain_a().0 {
                req = req.insert_header((name.as_str(), value.as_str()));
            }
            let mut res = req
                .send_stream(futures_util::stream::iter(chunks))
                .await
                .expect("request");
            let body = res.body().await.expect("body");
            (
                res.status().as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
            )
        }
    };
    let (status, text) = send_chunked(padded_body(65_537)).await;
    assert_eq!((status, text.as_str()), (400, BODY_TOO_LARGE));
    let (status, text) = send_chunked(padded_body(200_000)).await;
    assert_eq!((status, text.as_str()), (400, BODY_TOO_LARGE));
    assert_eq!(app.count_passes(), 0);
    let (status, text) = send_chunked(padded_body(65_536)).await;
    assert_eq!(status, 201, "{text}");
}

/// Holds a write lock on the test database until dropped or released.
enum Lock {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Lock {
    fn take(app: &TestApp) -> Self {
        match app.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&app.database_url).expect("connect");
                conn.batch_execute("BEGIN EXCLUSIVE").expect("lock");
                Lock::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&app.database_url).expect("connect");
                conn.batch_execute("BEGIN; LOCK TABLE guest_passes IN ACCESS EXCLUSIVE MODE")
                    .expect("lock");
                Lock::Postgres(conn)
            }
        }
    }

    fn release(self) {
        match self {
            Lock::Sqlite(mut conn) => conn.batch_execute("ROLLBACK").expect("unlock"),
            Lock::Postgres(mut conn) => conn.batch_execute("ROLLBACK").expect("unlock"),
        }
    }
}

async fn a_database_locked_past_the_pool_timeout_is_503_system_unavailable(backend: Backend) {
    // SQLite: another writer holds the database; PostgreSQL: another
    // transaction holds the table. Either way the request must not hang.
    let app = spawn_app_with(backend, |c| {
        c.store.pool_timeout = Duration::from_millis(300)
    })
    .await;
    let body = pass_body(LOC_A1, &unique_email());
    let lock = Lock::take(&app);
    let started = Instant::now();
    let res = app.create(&Creds::chain_a(), &body).await;
    let elapsed = started.elapsed();
    assert_eq!(res.status, 503, "{}", res.text);
    let message = res.body["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{}", res.text);
    assert_eq!(res.text, envelope(message, "systemUnavailable", &[]));
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert!(
        elapsed < Duration::from_secs(5),
        "answered after {elapsed:?}"
    );
    // No internal detail leaks to the client.
    let lower = res.text.to_lowercase();
    for detail in [
        "locked",
        "sqlite",
        "diesel",
        "statement",
        "timeout",
        "postgres",
    ] {
        assert!(!lower.contains(detail), "{detail} in {}", res.text);
    }

    // A 503 did nothing: once the lock is gone, the client's retry of the
    // same request creates the pass (rather than meeting it as a 422), and
    // only that one pass exists.
    lock.release();
    let res = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(res.status, 201, "retry after 503: {}", res.text);
    assert_eq!(app.count_passes(), 1);
}

async fn every_response_carries_a_request_id_and_a_client_one_is_echoed(backend: Backend) {
    let app = spawn_app(backend).await;
    let creds = Creds::chain_a();
    let requests = |creds: Creds| {
        let app = &app;
        let body = pass_body(LOC_A1, &unique_email());
        async move {
            vec![
                ("201", app.create(&creds, &body).await),
                ("422", app.create(&creds, &body).await),
                ("200", app.get("/guest-passes", &creds).await),
                ("400", app.create(&creds, &json!({})).await),
                (
                    "401",
                    app.get(
                        "/guest-passes",
                        &creds
                            .clone()
                            .without("X-Chain-Secret")
                            .with("X-Chain-Secret", "wrong-secret-0123456789"),
                    )
                    .await,
                ),
                ("404", app.get("/guest-passes/nope", &creds).await),
                ("404 resource", app.get("/nope", &creds).await),
                (
                    "405",
                    app.raw(Method::PUT, &app.url("/checkins"), &creds, None)
                        .await,
                ),
                (
                    "health",
                    app.raw(Method::GET, &app.root_url("/health"), &creds, None)
                        .await,
                ),
                (
                    "openapi",
                    app.raw(Method::GET, &app.root_url("/openapi.yaml"), &creds, None)
                        .await,
                ),
            ]
        }
    };
    let mut ids = Vec::new();
    for (what, res) in requests(creds.clone()).await {
        let id = res.header("x-request-id").unwrap_or_default().to_owned();
        assert!(!id.is_empty(), "{what}: no X-Request-ID");
        ids.push(id);
    }
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");

    let sent = "client-request-7f3a9c";
    for (what, res) in requests(creds.with("X-Request-ID", sent)).await {
        assert_eq!(res.header("x-request-id"), Some(sent), "{what}");
    }
}
