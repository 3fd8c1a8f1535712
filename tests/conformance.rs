//! The conformance kit (the `guestpass-conformance` crate) against our
//! server: it passes at every level set (all credentials given), over https
//! with a throwaway CA, against `--demo` with at most the three checks no
//! HTTP request can arrange skipped, and against the default rate limit; it
//! fails the right checks against a deliberately broken server, and a server
//! that never answers makes checks fail within the timeout instead of
//! hanging the kit.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use guestpass::app::Application;
use guestpass::config::Config;
use guestpass_conformance::{self as conformance, ConformanceArgs};
use serde_json::{json, Value};

#[path = "common/pg_url.rs"]
mod pg_url;
#[path = "common/principals.rs"]
#[allow(dead_code)]
mod principals;
use pg_url::postgres_url;
use principals::*;

// ---- our server ----------------------------------------------------------------

enum Backend {
    Sqlite,
    Postgres(String),
}

/// Our server on a random port with a fresh database, provisioned with two
/// chains (A with two locations, B with one) and a client.
struct Ours {
    base_url: String,
    _dir: Option<tempfile::TempDir>,
    pg_database: Option<(String, String)>,
}

impl Drop for Ours {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_database.take() {
            if let Ok(mut conn) = PgConnection::establish(&admin_url) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

async fn spawn_ours(backend: Backend, levels: &str) -> Ours {
    spawn_ours_with(backend, levels, |_| {}, false).await
}

/// As `spawn_ours`, with the configuration adjusted by `tweak`, and with
/// the demo principals (`serve --demo`) instead of the test fixtures when `demo`.
async fn spawn_ours_with(
    backend: Backend,
    levels: &str,
    tweak: impl FnOnce(&mut Config),
    demo: bool,
) -> Ours {
    let (database_url, dir, pg_database) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("guestpass.db");
            (path.to_string_lossy().into_owned(), Some(dir), None)
        }
        Backend::Postgres(admin_url) => {
            let name = format!("gp_conf_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create test database");
            let url = pg_url::database_url(&admin_url, &name);
            (url, None, Some((admin_url, name)))
        }
    };
    let mut config = Config::new(database_url);
    config.bind = "127.0.0.1:0".into();
    config.workers = 2;
    config.shutdown_timeout = Duration::from_secs(1);
    config.auth_levels = levels.parse().expect("levels");
    config.rate_limit = 0;
    // The demo principals authenticate only in demo mode.
    config.demo = demo;
    tweak(&mut config);
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let base_path = config.base_path.clone();
    let application = Application::build(config).expect("build the application");
    let port = application.port();
    let store = application.store().clone();
    if demo {
        guestpass::admin::ensure_demo(&store)
            .await
            .expect("provision the demo");
    } else {
        provision(&store).await;
    }
    actix_web::rt::spawn(application.run_until_stopped());
    Ours {
        base_url: format!("{scheme}://127.0.0.1:{port}{base_path}"),
        _dir: dir,
        pg_database,
    }
}

/// The kit's options with every credential of the provisioned deployment.
fn all_credentials(base_url: &str, levels: &str) -> Vec<String> {
    [
        ("--base-url", base_url),
        ("--levels", levels),
        ("--client-id", CLIENT),
        ("--client-secret", CLIENT_SECRET),
        ("--chain-id", CHAIN_A),
        ("--chain-secret", CHAIN_A_SECRET),
        ("--location-id", LOC_A1),
        ("--location-secret", LOC_A1_SECRET),
        ("--second-location-id", LOC_A2),
        ("--second-location-secret", LOC_A2_SECRET),
        ("--other-chain-id", CHAIN_B),
        ("--other-chain-secret", CHAIN_B_SECRET),
        ("--other-chain-location-id", LOC_B1),
        ("--other-chain-location-secret", LOC_B1_SECRET),
        // Our contract includes Idempotency-Key (§8), whatever the spec says yet.
        ("--idempotency", "on"),
        // The test servers run without a rate limit: no need to pace.
        ("--max-rps", "0"),
    ]
    .iter()
    .flat_map(|(k, v)| [k.to_string(), v.to_string()])
    .collect()
}

/// Runs the kit through its public entry point with `--format json
/// --output FILE` and returns what `run` said and the parsed report.
async fn run_kit(mut options: Vec<String>) -> (bool, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.json");
    options.extend(["--format".into(), "json".into(), "--output".into()]);
    options.push(path.to_string_lossy().into_owned());
    let args = ConformanceArgs::parse_from(options).expect("kit options");
    let ok = conformance::run(args).await.expect("the kit runs");
    let text = std::fs::read_to_string(&path).expect("the report file");
    (ok, serde_json::from_str(&text).expect("a JSON report"))
}

fn with_status<'a>(report: &'a Value, status: &str) -> Vec<&'a str> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["status"] == status)
        .map(|r| r["id"].as_str().unwrap_or_default())
        .collect()
}

fn failures(report: &Value) -> String {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["status"] == "failed")
        .map(|r| format!("{:#}", r))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks no implementation can be made to show over HTTP (500 needs a bug,
/// 503 a dead database). A 429 on demand comes from the failed-authentication
/// throttle, so `envelopes.rate-limited-429` runs (and must pass).
const NEVER_RUNNABLE: [&str; 3] = [
    "envelopes.internal-error-500",
    "envelopes.unavailable-503",
    "service.health-503",
];

/// Checks of the 2026-11-29 contract additions that this branch's server
/// does not implement yet (main is building them): the only checks allowed
/// to fail against our server here. Empty this list once the server has them.
const PENDING_ON_MAIN: [&str; 0] = [];

/// Runs the kit with `options` and insists: nothing failed (but the checks
/// pending on main), exactly the never-runnable checks skipped, exactly
/// `not_applicable` not applicable.
async fn kit_passes(options: Vec<String>, label: &str, not_applicable: &[&str]) -> Value {
    let started = Instant::now();
    let (ok, report) = run_kit(options).await;
    eprintln!("{label}: {} in {:?}", report["summary"], started.elapsed());
    let failed = with_status(&report, "failed");
    let unexpected: Vec<&str> = failed
        .iter()
        .copied()
        .filter(|id| !PENDING_ON_MAIN.contains(id))
        .collect();
    assert_eq!(unexpected, Vec::<&str>::new(), "{}", failures(&report));
    if !failed.is_empty() {
        eprintln!("{label}: failing, pending on main: {failed:?}");
    }
    assert_eq!(ok, failed.is_empty());
    let mut skipped = with_status(&report, "skipped");
    skipped.sort_unstable();
    let mut expected = NEVER_RUNNABLE.to_vec();
    expected.sort_unstable();
    assert_eq!(skipped, expected, "{report:#}");
    let mut na = with_status(&report, "notApplicable");
    na.sort_unstable();
    let mut expected = not_applicable.to_vec();
    expected.sort_unstable();
    assert_eq!(na, expected, "{report:#}");
    let passed = with_status(&report, "passed");
    for id in [
        "create.concurrent-identical-creates",
        "pass.status-expired",
        "pass.active-from-the-instant-of-validFrom",
        "checkin.expired-is-422",
        "cancel.kit-cleanup",
        "dates.every-response-date-strict",
        "envelopes.every-error-is-an-envelope",
        // Issue 11 items 3 and 6: passed, not merely not failed.
        "limits.failed-auth-throttled-429",
        "envelopes.rate-limited-429",
        "headers.request-id-replaced-otherwise",
        "headers.cache-control-no-store",
        "headers.no-store-on-every-response",
    ] {
        assert!(passed.contains(&id), "{id} did not pass: {report:#}");
    }
    report
}

async fn ours_passes(backend: Backend, levels: &str, not_applicable: &[&str]) {
    let ours = spawn_ours(backend, levels).await;
    kit_passes(
        all_credentials(&ours.base_url, levels),
        &format!("levels {levels}"),
        not_applicable,
    )
    .await;
}

/// What each level set cannot exercise, by the contract's own logic.
const CHAIN_NA: [&str; 2] = [
    "auth.client-id-optional",
    "auth.location-outside-chain-is-401",
];
const ALL_LEVELS_NA: [&str; 3] = [
    "auth.unconfigured-levels-ignored",
    // A location-level caller's scope is one location: no other location to be wrong at.
    "checkin.wrong-location-is-422",
    "auth.scope-covers-own-locations",
];

#[actix_web::test]
async fn ours_passes_at_chain_level() {
    ours_passes(Backend::Sqlite, "chain", &CHAIN_NA).await;
}

#[actix_web::test]
async fn ours_passes_at_chain_and_location_level() {
    let na = [
        "auth.client-id-optional",
        "checkin.wrong-location-is-422",
        "auth.scope-covers-own-locations",
    ];
    ours_passes(Backend::Sqlite, "chain,location", &na).await;
}

#[actix_web::test]
async fn ours_passes_at_client_chain_and_location_level() {
    ours_passes(Backend::Sqlite, "client,chain,location", &ALL_LEVELS_NA).await;
}

#[actix_web::test]
async fn ours_passes_at_client_level_alone() {
    let na = [
        "auth.location-outside-chain-is-401",
        // The client's scope is the whole deployment: nothing is outside it.
        "auth.scope-foreign-location-is-404",
        "auth.scope-foreign-pass-is-404",
    ];
    ours_passes(Backend::Sqlite, "client", &na).await;
}

#[actix_web::test]
async fn ours_passes_on_postgres() {
    let Some(url) = postgres_url() else {
        eprintln!("skipped: GUESTPASS_TEST_POSTGRES_URL is not set");
        return;
    };
    ours_passes(
        Backend::Postgres(url.clone()),
        "client,chain,location",
        &ALL_LEVELS_NA,
    )
    .await;
    ours_passes(Backend::Postgres(url), "chain", &CHAIN_NA).await;
}

/// A CA made for one test, and a certificate it signed for 127.0.0.1 and localhost.
struct ThrowawayCa {
    dir: tempfile::TempDir,
}

impl ThrowawayCa {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "guestpass throwaway test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().expect("server key");
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("server certificate parameters");
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let write = |name: &str, pem: String| {
            std::fs::write(dir.path().join(name), pem).expect("write PEM");
        };
        write("ca.pem", ca_cert.pem());
        write("cert.pem", cert.pem());
        write("key.pem", key.serialize_pem());
        Self { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn files(&self) -> guestpass::tls::TlsFiles {
        guestpass::tls::TlsFiles {
            cert: self.path("cert.pem"),
            key: self.path("key.pem"),
        }
    }
}

#[actix_web::test]
async fn ours_passes_over_https_with_a_private_ca_and_a_bad_certificate_stops_the_run() {
    let ca = ThrowawayCa::new();
    let files = ca.files();
    let ours = spawn_ours_with(
        Backend::Sqlite,
        "chain",
        |config| config.tls = Some(files),
        false,
    )
    .await;
    assert!(ours.base_url.starts_with("https://"), "{}", ours.base_url);
    let ca_path = ca.path("ca.pem").to_string_lossy().into_owned();
    let mut options = all_credentials(&ours.base_url, "chain");
    options.extend(["--ca-cert".to_owned(), ca_path]);
    kit_passes(options, "https", &CHAIN_NA).await;

    // Without the CA the certificate does not verify: the run stops before any check.
    let started = Instant::now();
    let args =
        ConformanceArgs::parse_from(all_credentials(&ours.base_url, "chain")).expect("kit options");
    let error = conformance::run(args)
        .await
        .expect_err("an untrusted certificate");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let message = error.to_string();
    assert!(
        matches!(error, conformance::Error::Connection(_)),
        "{message}"
    );
    assert!(
        message.contains("UnknownIssuer") && !message.contains('\n'),
        "{message}"
    );
}

#[actix_web::test]
async fn the_demo_is_complete_every_runnable_check_runs_with_demo_alone() {
    let ours = spawn_ours_with(Backend::Sqlite, "chain", |_| {}, true).await;
    let options = vec![
        "--base-url".to_owned(),
        ours.base_url.clone(),
        "--demo".to_owned(),
        "--idempotency".to_owned(),
        "on".to_owned(),
        "--max-rps".to_owned(),
        "0".to_owned(),
    ];
    let mut na = CHAIN_NA.to_vec();
    na.push("auth.demo-principals-refused-outside-demo");
    let report = kit_passes(options, "demo", &na).await;
    assert_eq!(report["run"]["demo"], true);
}

#[actix_web::test]
async fn the_kits_copy_of_the_demo_principals_matches_the_servers() {
    use guestpass::admin::*;
    use guestpass_conformance::demo;
    let pairs = [
        (DEMO_CHAIN_ID, demo::CHAIN_ID),
        (DEMO_CHAIN_SECRET, demo::CHAIN_SECRET),
        (DEMO_LOCATION_ID, demo::LOCATION_ID),
        (DEMO_LOCATION_SECRET, demo::LOCATION_SECRET),
        (DEMO_SECOND_LOCATION_ID, demo::SECOND_LOCATION_ID),
        (DEMO_SECOND_LOCATION_SECRET, demo::SECOND_LOCATION_SECRET),
        (DEMO_OTHER_CHAIN_ID, demo::OTHER_CHAIN_ID),
        (DEMO_OTHER_CHAIN_SECRET, demo::OTHER_CHAIN_SECRET),
        (DEMO_OTHER_CHAIN_LOCATION_ID, demo::OTHER_CHAIN_LOCATION_ID),
        (
            DEMO_OTHER_CHAIN_LOCATION_SECRET,
            demo::OTHER_CHAIN_LOCATION_SECRET,
        ),
        (DEMO_CLIENT_ID, demo::CLIENT_ID),
        (DEMO_CLIENT_SECRET, demo::CLIENT_SECRET),
    ];
    for (server, kit) in pairs {
        assert_eq!(server, kit);
    }
}

#[actix_web::test]
async fn ours_passes_with_the_default_rate_limit_at_the_kits_default_pace() {
    let ours = spawn_ours_with(
        Backend::Sqlite,
        "chain",
        |config| {
            // What `serve` runs with unless told otherwise: 100/s, burst 200.
            config.rate_limit = 100;
            config.rate_burst = 200;
        },
        false,
    )
    .await;
    let mut options = all_credentials(&ours.base_url, "chain");
    // Drop `--max-rps 0`: the kit's default pace.
    options.truncate(options.len() - 2);
    kit_passes(options, "default rate limit", &CHAIN_NA).await;
}

#[actix_web::test]
async fn missing_credentials_are_skips_with_reasons_and_the_text_report_ends_with_the_counts() {
    let ours = spawn_ours(Backend::Sqlite, "chain").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.txt");
    let args = ConformanceArgs::parse_from([
        "--base-url",
        &ours.base_url,
        "--only",
        "auth.,get.",
        "--output",
        path.to_str().expect("path"),
    ])
    .expect("kit options");
    assert!(conformance::run(args).await.expect("the kit runs"));
    let text = std::fs::read_to_string(&path).expect("report");
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" skipped (2 not applicable to levels chain)"),
        "{text}"
    );
    assert!(last.contains(" passed, 0 failed, "), "{text}");
    // Without credentials only the checks that need none run.
    assert!(
        text.contains("SKIP auth.wrong-secret-is-401: needs --chain-id and --chain-secret"),
        "{text}"
    );
    assert!(
        text.contains("SKIP get.unknown-id-is-404: needs --chain-id and --chain-secret"),
        "{text}"
    );
    assert!(
        !text.contains("dates."),
        "--only leaves other sections out: {text}"
    );

    let report = conformance::execute(
        ConformanceArgs::parse_from([
            "--base-url",
            &ours.base_url,
            "--only",
            "auth.missing-headers",
        ])
        .expect("kit options"),
    )
    .await
    .expect("the kit runs");
    assert_eq!(report.results.len(), 1);
    assert_eq!(report.failed(), 0);
    let junit = report.junit();
    assert!(
        junit.contains("<testsuite name=\"1. Authentication headers\" tests=\"1\""),
        "{junit}"
    );
}

#[actix_web::test]
async fn secrets_never_reach_a_report() {
    let ours = spawn_ours(Backend::Sqlite, "chain").await;
    let mut options = all_credentials(&ours.base_url, "chain");
    // A wrong base path: everything fails, so every request is in the report.
    options[1] = ours.base_url.replace("/members/v1.0", "/elsewhere");
    let (ok, report) = run_kit(options).await;
    assert!(!ok);
    let text = report.to_string();
    let redacted = format!("<redacted, {} characters>", CHAIN_A_SECRET.len());
    assert!(text.contains(&redacted), "{text}");
    for secret in [CHAIN_A_SECRET, CLIENT_SECRET, LOC_A1_SECRET, CHAIN_B_SECRET] {
        assert!(!text.contains(secret), "{secret} leaked into the report");
    }
}

// ---- a deliberately broken server -------------------------------------------

type Passes = Arc<Mutex<HashMap<String, Value>>>;

/// Chain-level auth done carelessly: 400 without `errors`, 401 without `accessLevel`.
fn careless_auth(req: &HttpRequest) -> Option<HttpResponse> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    match (header("X-Chain-ID"), header("X-Chain-Secret")) {
        (Some(id), Some(secret)) if id == CHAIN_A && secret == CHAIN_A_SECRET => None,
        (None, _) | (_, None) => Some(
            HttpResponse::BadRequest()
                .json(json!({"message": "credentials missing", "cause": "badRequest"})),
        ),
        _ => Some(
            HttpResponse::Unauthorized()
                .json(json!({"message": "unauthorized", "cause": "unauthorizedAccess"})),
        ),
    }
}

/// Accepts anything RFC 3339 parses; answers with fractions and `+00:00`.
fn lenient_date(value: &Value) -> Option<String> {
    let parsed = chrono::DateTime::parse_from_rfc3339(value.as_str()?).ok()?;
    Some(
        parsed
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
    )
}

async fn broken_create(
    req: HttpRequest,
    body: web::Json<Value>,
    passes: web::Data<Passes>,
) -> HttpResponse {
    if let Some(response) = careless_auth(&req) {
        return response;
    }
    let (Some(from), Some(until)) = (
        lenient_date(&body["validFrom"]),
        lenient_date(&body["validUntil"]),
    ) else {
        return HttpResponse::BadRequest()
            .json(json!({"message": "bad dates", "cause": "badRequest"}));
    };
    let id = uuid::Uuid::new_v4().to_string();
    let code: String = id
        .chars()
        .filter(char::is_ascii_digit)
        .filter(|c| *c >= '2')
        .take(10)
        .collect();
    let pass = json!({
        "guestPassId": id,
        "locationId": body["locationId"],
        "firstName": body["firstName"],
        "lastName": body["lastName"],
        "email": body["email"],
        "validFrom": from,
        "validUntil": until,
        "status": "UPCOMING",
        "checkinCode": format!("{code:A<10}"),
        "createdAt": chrono::Utc::now().to_rfc3339(),
    });
    passes.lock().expect("lock").insert(id, pass.clone());
    // No Location header either.
    HttpResponse::Created().json(pass)
}

async fn broken_get(
    req: HttpRequest,
    id: web::Path<String>,
    passes: web::Data<Passes>,
) -> HttpResponse {
    if let Some(response) = careless_auth(&req) {
        return response;
    }
    match passes.lock().expect("lock").get(id.as_str()) {
        Some(pass) => HttpResponse::Ok().json(pass),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn broken_cancel(
    req: HttpRequest,
    id: web::Path<String>,
    passes: web::Data<Passes>,
) -> HttpResponse {
    if let Some(response) = careless_auth(&req) {
        return response;
    }
    match passes.lock().expect("lock").get_mut(id.as_str()) {
        Some(pass) => {
            pass["status"] = json!("CANCELLED");
            HttpResponse::NoContent().finish()
        }
        None => HttpResponse::NotFound().finish(),
    }
}

async fn broken_search(req: HttpRequest) -> HttpResponse {
    if let Some(response) = careless_auth(&req) {
        return response;
    }
    HttpResponse::Ok().json(json!({"guestPasses": [], "limit": 20, "offset": 0, "total": 0}))
}

/// Framework defaults everywhere else: 404/405 without bodies, the JSON
/// extractor's own 400/413/415 answers.
fn spawn_broken() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let passes: Passes = Arc::default();
    let server = HttpServer::new(move || {
        App::new().app_data(web::Data::new(passes.clone())).service(
            web::scope("/members/v1.0")
                .service(
                    web::resource("/guest-passes")
                        .route(web::post().to(broken_create))
                        .route(web::get().to(broken_search)),
                )
                .service(
                    web::resource("/guest-passes/{id}")
                        .route(web::get().to(broken_get))
                        .route(web::delete().to(broken_cancel)),
                ),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    actix_web::rt::spawn(server);
    format!("http://127.0.0.1:{port}/members/v1.0")
}

#[actix_web::test]
async fn the_kit_fails_a_broken_server_on_the_right_checks() {
    let base_url = spawn_broken();
    let (ok, report) = run_kit(all_credentials(&base_url, "chain")).await;
    assert!(!ok, "a broken server must not pass");
    let failed = with_status(&report, "failed");
    for id in [
        // framework-default 404 and 405
        "envelopes.unknown-path-is-resourceNotFound",
        "envelopes.wrong-method-is-methodNotAllowed",
        // framework-default JSON errors: text bodies, 413, 415
        "envelopes.malformed-body-create",
        "envelopes.wrong-content-type",
        "envelopes.oversized-body-is-tooLarge",
        "envelopes.every-error-is-an-envelope",
        // 400 without errors, 401 without accessLevel
        "auth.missing-headers-every-operation",
        "auth.missing-level-headers",
        "auth.wrong-secret-is-401",
        "auth.unknown-id-is-401",
        // lenient dates in, +00:00 and fractions out
        "dates.wrong-forms-in-validFrom",
        "dates.wrong-forms-in-validUntil",
        "dates.created-pass-dates-strict",
        "dates.every-response-date-strict",
        // no Location, no duplicate rule, no field validation
        "create.201-with-location-header",
        "create.duplicate-overlap-is-422",
        "create.concurrent-identical-creates",
        "create.missing-fields",
        "get.unknown-id-is-404",
        "checkin.active-pass-is-201",
    ] {
        assert!(
            failed.contains(&id),
            "{id} should fail against the broken server: {report:#}"
        );
    }
    // What the broken server does get right still passes.
    let passed = with_status(&report, "passed");
    assert!(
        passed.contains(&"auth.header-names-case-insensitive"),
        "{report:#}"
    );
    // The text report shows what came back and the request, without secrets.
    let result = report["results"]
        .as_array()
        .and_then(|rs| {
            rs.iter()
                .find(|r| r["id"] == "dates.created-pass-dates-strict")
        })
        .expect("the result");
    assert!(
        result["got"]
            .as_str()
            .unwrap_or_default()
            .contains("+00:00"),
        "{result:#}"
    );
}

// ---- a server that never answers -------------------------------------------------

#[actix_web::test]
async fn a_hanging_server_fails_checks_within_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let mut options = all_credentials(&format!("http://127.0.0.1:{port}/members/v1.0"), "chain");
    options.extend(["--timeout-ms".into(), "300".into()]);
    let started = Instant::now();
    let (ok, report) = tokio::time::timeout(Duration::from_secs(60), run_kit(options))
        .await
        .expect("the kit must not hang");
    assert!(!ok);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let failed = with_status(&report, "failed");
    assert!(
        failed.contains(&"auth.missing-headers-every-operation"),
        "{report:#}"
    );
    assert!(
        failed.contains(&"create.201-with-location-header"),
        "{report:#}"
    );
    let first = report["results"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["status"] == "failed"))
        .expect("a failure");
    let got = first["got"].as_str().unwrap_or_default();
    assert!(
        got.contains("no answer within 300 ms") || got.contains("not sent"),
        "{first:#}"
    );
    assert_eq!(report["summary"]["passed"], 0, "{report:#}");
}
