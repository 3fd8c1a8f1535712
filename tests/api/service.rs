//! Contract section 6, outside the base path and without authentication:
//! `GET /health` and `GET /openapi.yaml`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use awc::http::Method;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    health_is_200_up_with_the_database_up,
    health_needs_no_authentication_whatever_the_levels,
    health_answers_only_get_with_405_otherwise,
    openapi_yaml_is_served_as_application_yaml_byte_for_byte,
    openapi_yaml_names_all_six_operations,
    openapi_yaml_answers_only_get_with_405_otherwise,
    service_endpoints_are_not_under_the_base_path,
);

const SPEC: &str = include_str!("../../spec/openapi.yaml");
const HEALTH_UP: &str = r#"{"status":"UP","database":"UP"}"#;

async fn get_root(app: &TestApp, path: &str, creds: &Creds) -> Resp {
    app.raw(Method::GET, &app.root_url(path), creds, None).await
}

async fn health_is_200_up_with_the_database_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = get_root(&app, "/health", &Creds::none()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.text, HEALTH_UP);
    assert_eq!(res.header("content-type"), Some("application/json"));
}

async fn health_needs_no_authentication_whatever_the_levels(backend: Backend) {
    for levels in ["client", "chain", "location", "client,chain,location"] {
        let app = spawn_with_levels(backend, levels).await;
        let wrong = Creds::none()
            .with("X-Chain-ID", "no-such-chain")
            .with("X-Chain-Secret", "wrong")
            .with("X-Client-Secret", "")
            .with("X-User-ID", &"u".repeat(300));
        for creds in [Creds::none(), wrong] {
            let res = get_root(&app, "/health", &creds).await;
            assert_eq!(
                (res.status, res.text.as_str()),
                (200, HEALTH_UP),
                "{levels}"
            );
            let res = get_root(&app, "/openapi.yaml", &creds).await;
            assert_eq!(res.status, 200, "{levels}: {}", res.text);
            assert_eq!(res.text, SPEC);
        }
    }
}

#[track_caller]
fn assert_method_not_allowed(res: &Resp, allow: &str, what: &str) {
    assert_eq!(res.status, 405, "{what}: {}", res.text);
    assert_eq!(res.header("allow"), Some(allow), "{what}");
    assert_eq!(
        res.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    assert_eq!(
        res.body["cause"], "methodNotAllowed",
        "{what}: {}",
        res.text
    );
    assert!(
        res.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        res.text
    );
}

async fn health_answers_only_get_with_405_otherwise(backend: Backend) {
    let app = spawn_app(backend).await;
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let body = (method != Method::DELETE).then(|| ("application/json", b"{}".to_vec()));
        let res = app
            .raw(
                method.clone(),
                &app.root_url("/health"),
                &Creds::none(),
                body,
            )
            .await;
        assert_method_not_allowed(&res, "GET", &format!("{method} /health"));
    }
}

async fn openapi_yaml_is_served_as_application_yaml_byte_for_byte(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = get_root(&app, "/openapi.yaml", &Creds::none()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("application/yaml"));
    assert!(!res.text.is_empty());
    assert!(
        res.text == SPEC,
        "the served spec differs from spec/openapi.yaml"
    );
}

async fn openapi_yaml_names_all_six_operations(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = get_root(&app, "/openapi.yaml", &Creds::none()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.text.starts_with("openapi: 3"),
        "{}",
        &res.text[..40.min(res.text.len())]
    );
    for operation in [
        "createGuestPass",
        "getGuestPass",
        "searchGuestPasses",
        "cancelGuestPass",
        "checkinGuest",
        "listCheckins",
    ] {
        // Declared once, at operation level; links from create refer to
        // some of them again, more deeply indented.
        let declared = format!("\n      operationId: {operation}\n");
        assert_eq!(
            res.text.matches(&declared).count(),
            1,
            "{operation} must be declared exactly once"
        );
    }
}

async fn openapi_yaml_answers_only_get_with_405_otherwise(backend: Backend) {
    let app = spawn_app(backend).await;
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let body = (method != Method::DELETE).then(|| ("application/json", b"{}".to_vec()));
        let res = app
            .raw(
                method.clone(),
                &app.root_url("/openapi.yaml"),
                &Creds::none(),
                body,
            )
            .await;
        assert_method_not_allowed(&res, "GET", &format!("{method} /openapi.yaml"));
    }
}

async fn service_endpoints_are_not_under_the_base_path(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/health", "/openapi.yaml"] {
        let res = app.get(path, &Creds::chain_a()).await;
        assert_eq!(res.status, 404, "{}{path}: {}", app.base_path, res.text);
        assert_eq!(
            res.text,
            r#"{"message":"Requested endpoint is not supported","cause":"resourceNotFound"}"#
        );
    }
}

/// PostgreSQL only: an embedded SQLite database cannot be cut off from the
/// running server that holds it open. Connections to the test database are
/// refused and the open ones terminated, then allowed again.
#[actix_web::test]
async fn health_is_503_system_unavailable_when_the_database_does_not_answer_postgres() {
    let Some(admin_url) = postgres_or_skip(
        "health_is_503_system_unavailable_when_the_database_does_not_answer_postgres",
    ) else {
        return;
    };
    let app = spawn_app_with(Backend::Postgres, |c| {
        c.store.pool_timeout = Duration::from_millis(300)
    })
    .await;
    let res = get_root(&app, "/health", &Creds::none()).await;
    assert_eq!((res.status, res.text.as_str()), (200, HEALTH_UP));

    let name = app.db.pg_name();
    let mut admin = PgConnection::establish(&admin_url).expect("connect");
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .expect("cut the database off");

    // Readiness is cached for a second: the next fresh answer must be 503.
    let started = Instant::now();
    let res = health_becomes(&app, 503).await;
    let elapsed = started.elapsed();
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.body["cause"], "systemUnavailable", "{}", res.text);
    assert!(
        res.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        res.text
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "answered after {elapsed:?}"
    );
    // An operation meanwhile is 503 too, not a hang or a 500.
    let res = app.get("/guest-passes", &Creds::chain_a()).await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(res.body["cause"], "systemUnavailable", "{}", res.text);

    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .expect("let the database answer again");
    let res = health_becomes(&app, 200).await;
    assert_eq!((res.status, res.text.as_str()), (200, HEALTH_UP));
}

/// Polls `/health` until its status is `status`, or fails after 10 s (the
/// contract's bound for readiness to follow the database).
async fn health_becomes(app: &TestApp, status: u16) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = get_root(app, "/health", &Creds::none()).await;
        if res.status == status || Instant::now() >= deadline {
            return res;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SQLite: the database path stops naming a file the server can open (a
/// directory stands in its place; the tests run as root in CI, so taking
/// permissions away would prove nothing). The pool keeps no reader idle, so
/// answering needs a new connection: `/health` is 503 `systemUnavailable`,
/// and 200 again once the file is back, without a restart.
#[actix_web::test]
async fn health_is_503_system_unavailable_when_the_sqlite_file_cannot_be_opened() {
    let app = serve(Arc::new(TestDatabase::new(Backend::Sqlite)), |c| {
        c.store.pool_timeout = Duration::from_millis(300);
        c.store.min_idle = 0;
    })
    .await;
    let path = std::path::PathBuf::from(&app.database_url);
    let aside = path.with_extension("aside");
    std::fs::rename(&path, &aside).expect("move the database aside");
    std::fs::create_dir(&path).expect("a directory where the database was");

    let res = health_becomes(&app, 503).await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.body["cause"], "systemUnavailable", "{}", res.text);
    assert_eq!(res.body["status"], "DOWN", "{}", res.text);
    assert_eq!(res.body["database"], "DOWN", "{}", res.text);
    assert!(
        res.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        res.text
    );

    std::fs::remove_dir(&path).expect("remove the directory");
    std::fs::rename(&aside, &path).expect("put the database back");
    let res = health_becomes(&app, 200).await;
    assert_eq!((res.status, res.text.as_str()), (200, HEALTH_UP));
}
