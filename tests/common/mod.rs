//! The one test harness, shared by every test target: a fresh database per
//! test (a temp SQLite file, or a new PostgreSQL database on the server named
//! by `GUESTPASS_TEST_POSTGRES_URL`), the real application on a random
//! loopback port, the provisioned principals, and typed request helpers.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use awc::http::Method;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use guestpass::app::Application;
use guestpass::auth::AuthLevels;
use guestpass::config::Config;
use serde_json::{json, Value};

mod pg_url;
mod principals;
pub use pg_url::postgres_url;
pub use principals::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[actix_web::test]` per backend for `async fn $name(Backend)`.
/// The PostgreSQL one runs when `GUESTPASS_TEST_POSTGRES_URL` is set (CI sets
/// it); without it, it returns at once (and fails when `CI` is set), and
/// `postgres_half_skipped_without_database_url` says so where it can be seen.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }

                #[actix_web::test]
                async fn postgres() {
                    if $crate::common::postgres_or_skip(module_path!()).is_some() {
                        super::$name($crate::common::Backend::Postgres).await
                    }
                }
            }
        )+
    };
}

/// Like `on_both_backends!`, for what only PostgreSQL promises (several
/// instances on one database).
#[macro_export]
macro_rules! on_postgres {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn postgres() {
                    if $crate::common::postgres_url().is_some() {
                        super::$name($crate::common::Backend::Postgres).await
                    } else {
                        eprintln!("skipped: GUESTPASS_TEST_POSTGRES_URL is not set");
                    }
                }
            }
        )+
    };
}

/// Whether this is a CI run (`.ci/run` sets `CI=true`): there a test that
/// cannot run fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The PostgreSQL server to test `test` on; `None` (the test returns, and
/// its "ok" means "not run") when `GUESTPASS_TEST_POSTGRES_URL` is unset.
/// In CI that is a failure, never a skip.
pub fn postgres_or_skip(test: &str) -> Option<String> {
    match postgres_url() {
        Some(url) => Some(url),
        None if in_ci() => panic!(
            "{test}: CI is set but GUESTPASS_TEST_POSTGRES_URL is not: \
             the PostgreSQL half may not be skipped in CI"
        ),
        None => {
            eprintln!("{test}: SKIPPED, GUESTPASS_TEST_POSTGRES_URL is not set");
            None
        }
    }
}

/// What `postgres_half_skipped_without_database_url` of a test target does:
/// with the URL set, check that PostgreSQL answers (one clear failure
/// instead of one per test); without it, print a banner straight to the
/// terminal (the harness hides a passing test's output), or fail in CI.
pub fn report_postgres_half(target: &str) {
    use std::io::Write;
    match postgres_url() {
        Some(url) => {
            if let Err(e) = PgConnection::establish(&url) {
                panic!("GUESTPASS_TEST_POSTGRES_URL is set, but PostgreSQL does not answer: {e}");
            }
        }
        None if in_ci() => panic!(
            "CI is set but GUESTPASS_TEST_POSTGRES_URL is not: the PostgreSQL half of \
             {target} cannot run, and CI does not skip it"
        ),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "\n{bar}\nSKIPPED: the PostgreSQL half of {target} did not run: \
                 GUESTPASS_TEST_POSTGRES_URL is not set.\nEvery `::postgres` test of it \
                 reports \"ok\" without testing anything. Run them with\n  \
                 GUESTPASS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo test\n\
                 (CI does, and fails without it).\n{bar}\n",
                bar = "!".repeat(78)
            );
        }
    }
}

/// The access headers a request carries.
#[derive(Debug, Clone, Default)]
pub struct Creds(pub Vec<(String, String)>);

impl Creds {
    pub fn none() -> Self {
        Self::default()
    }
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn without(mut self, name: &str) -> Self {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }
    pub fn chain_a() -> Self {
        Self::none()
            .with("X-Chain-ID", CHAIN_A)
            .with("X-Chain-Secret", CHAIN_A_SECRET)
    }
    pub fn chain_b() -> Self {
        Self::none()
            .with("X-Chain-ID", CHAIN_B)
            .with("X-Chain-Secret", CHAIN_B_SECRET)
    }
    pub fn location(id: &str, secret: &str) -> Self {
        Self::none()
            .with("X-Location-ID", id)
            .with("X-Location-Secret", secret)
    }
    pub fn client() -> Self {
        Self::none()
            .with("X-Client-ID", CLIENT)
            .with("X-Client-Secret", CLIENT_SECRET)
    }
    pub fn and(mut self, other: Creds) -> Self {
        self.0.extend(other.0);
        self
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the blueprint's 400 with exactly these parameters and reasons.
    #[track_caller]
    pub fn assert_bad_request(&self, errors: Value) {
        assert_eq!(self.status, 400, "{}", self.text);
        assert_eq!(
            self.body,
            json!({"message": "Bad Request", "cause": "badRequest", "errors": errors}),
            "{}",
            self.text
        );
    }

    #[track_caller]
    pub fn assert_unauthorized(&self, level: &str, header: &str) {
        assert_eq!(self.status, 401, "{}", self.text);
        assert_eq!(
            self.body,
            json!({"message": format!("{header} is invalid"), "cause": "unauthorizedAccess", "accessLevel": level}),
        );
    }

    #[track_caller]
    pub fn assert_entity_not_found(&self, parameter: &str) {
        assert_eq!(self.status, 404, "{}", self.text);
        assert_eq!(self.body["cause"], "entityNotFound", "{}", self.text);
        assert_eq!(self.body["parameter"], parameter, "{}", self.text);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    #[track_caller]
    pub fn assert_unprocessable(&self, cause: &str, reason: &str) {
        assert_eq!(self.status, 422, "{}", self.text);
        assert_eq!(self.body["cause"], cause, "{}", self.text);
        assert_eq!(self.body["reason"], reason, "{}", self.text);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    pub fn id(&self) -> String {
        self.body["guestPassId"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A fresh, empty database that is removed when dropped.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// (server URL to drop it from, database name) on PostgreSQL.
    pg: Option<(String, String)>,
}

impl TestDatabase {
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir
                    .path()
                    .join("guestpass.db")
                    .to_string_lossy()
                    .into_owned();
                Self {
                    backend,
                    url,
                    _dir: Some(dir),
                    pg: None,
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_url().expect("GUESTPASS_TEST_POSTGRES_URL");
                let name = format!("gp_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin_url).expect("connect to PostgreSQL");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let url = pg_url::database_url(&admin_url, &name);
                Self {
                    backend,
                    url,
                    _dir: None,
                    pg: Some((admin_url, name)),
                }
            }
        }
    }

    /// A SQLite database at `path` (whose directory the caller owns).
    pub fn at(backend: Backend, path: std::path::PathBuf) -> Self {
        assert_eq!(backend, Backend::Sqlite, "a path names a SQLite database");
        Self {
            backend,
            url: path.to_string_lossy().into_owned(),
            _dir: None,
            pg: None,
        }
    }

    /// The PostgreSQL database's name (empty for SQLite).
    pub fn pg_name(&self) -> &str {
        self.pg.as_ref().map_or("", |(_, name)| name.as_str())
    }

    /// Runs SQL straight against the database, e.g. to move a pass's
    /// period into the past without waiting for the clock.
    pub fn sql(&self, statement: &str) {
        match self.backend {
            Backend::Sqlite => SqliteConnection::establish(&self.url)
                .expect("connect")
                .batch_execute(statement)
                .expect("sql"),
            Backend::Postgres => PgConnection::establish(&self.url)
                .expect("connect")
                .batch_execute(statement)
                .expect("sql"),
        }
    }

    /// The single text value a query selects `AS value`.
    pub fn sql_text(&self, query: &str) -> Option<String> {
        let rows: Vec<TextRow> = match self.backend {
            Backend::Sqlite => diesel::sql_query(query)
                .load(&mut SqliteConnection::establish(&self.url).expect("connect"))
                .expect("query"),
            Backend::Postgres => diesel::sql_query(query)
                .load(&mut PgConnection::establish(&self.url).expect("connect"))
                .expect("query"),
        };
        rows.into_iter().next().and_then(|r| r.value)
    }

    /// The single integer a query selects `AS value` (cast to text).
    pub fn sql_count(&self, query: &str) -> i64 {
        self.sql_text(query)
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg.take() {
            if let Ok(mut conn) = PgConnection::establish(&admin_url) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub address: String,
    pub base_path: String,
    pub database_url: String,
    pub client: awc::Client,
    pub db: Arc<TestDatabase>,
    app_store: guestpass::store::Store,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_with_levels(backend: Backend, levels: &str) -> TestApp {
    let levels: AuthLevels = levels.parse().expect("levels");
    spawn_app_with(backend, move |c| c.auth_levels = levels).await
}

/// Spawns the app on a fresh database provisioned with the fixture
/// principals, after letting the test adjust the configuration.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let app = serve(Arc::new(TestDatabase::new(backend)), adjust).await;
    provision(app.store()).await;
    app
}

/// `spawn_app_with`, with `count` passes seeded at `location` first through
/// a store of its own at the default timeouts: bulk loading on a busy
/// machine must not be bound by a test's deliberately short pool timeout.
pub async fn spawn_seeded_app_with(
    backend: Backend,
    location: &str,
    count: u64,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let db = Arc::new(TestDatabase::new(backend));
    {
        let store = guestpass::store::Store::open(&Config::new(&db.url).store)
            .expect("open a store to seed");
        provision(&store).await;
        guestpass::admin::seed(&store, location, count)
            .await
            .expect("seed");
    }
    serve(db, adjust).await
}

/// Serves `db` as it is (nothing provisioned): the configuration every test
/// starts from, a small pool, no rate limit, no credential cache, then
/// `adjust`. Several apps may serve one database.
pub async fn serve(db: Arc<TestDatabase>, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let url = db.url.clone();
    serve_url(db, &url, adjust).await
}

/// `serve`, reaching `db` through `url` (e.g. a relay in front of it).
pub async fn serve_url(
    db: Arc<TestDatabase>,
    url: &str,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    let mut config = Config::new(url);
    config.bind = "127.0.0.1:0".into();
    config.workers = 2;
    config.credential_cache = Duration::ZERO;
    config.shutdown_timeout = Duration::from_secs(1);
    config.store.pool_size = 4;
    config.store.pool_timeout = Duration::from_secs(5);
    // Tests send bursts from one principal; the rate-limit tests turn it on.
    config.rate_limit = 0;
    // Tests send many wrong credentials from one address on purpose; the
    // failed-authentication tests turn the throttle on.
    config.auth_failure_limit = 0;
    adjust(&mut config);
    let base_path = config.base_path.clone();
    let application = Application::build(config).expect("build the application");
    let port = application.port();
    let app_store = application.store().clone();
    actix_web::rt::spawn(application.run_until_stopped());
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .disable_redirects()
        .finish();
    TestApp {
        backend: db.backend,
        address: format!("http://127.0.0.1:{port}"),
        base_path,
        database_url: db.url.clone(),
        client,
        db,
        app_store,
    }
}

/// A valid create body for `location`, `days_ahead` days from now, a week long.
pub fn pass_body(location: &str, email: &str) -> Value {
    pass_body_at(location, email, 1, 7)
}

pub fn pass_body_at(location: &str, email: &str, start_in_days: i64, days: i64) -> Value {
    let from = now_plus(start_in_days * 86_400);
    let until = now_plus(start_in_days * 86_400 + days * 86_400);
    json!({
        "locationId": location,
        "firstName": "Jane",
        "lastName": "Doe",
        "email": email,
        "validFrom": from,
        "validUntil": until,
    })
}

/// A pass of chain A at `LOC_A1` that admits its guest now.
pub async fn active_pass(app: &TestApp) -> Value {
    let mut body = pass_body_at(LOC_A1, &unique_email(), 0, 7);
    body["validFrom"] = json!(now_plus(-3600));
    let res = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body
}

/// Now plus `seconds`, in the blueprint's format, whole seconds.
pub fn now_plus(seconds: i64) -> String {
    let t = chrono::Utc::now().timestamp() + seconds;
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .expect("valid time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn unique_email() -> String {
    format!("guest+{}@example.com", uuid::Uuid::new_v4().simple())
}

/// `yyyy-MM-dd'T'HH:mm:ss'Z'` and nothing else.
pub fn is_strict_date(value: &Value) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

#[derive(diesel::QueryableByName, Debug)]
pub struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub value: Option<String>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}{}", self.address, self.base_path, path)
    }

    pub fn root_url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn store(&self) -> &guestpass::store::Store {
        &self.app_store
    }

    /// Waits (off the async workers) until `n` threads have reached the
    /// store's seam `point`; false when they did not within `timeout`.
    pub async fn arrivals(&self, point: &'static str, n: usize, timeout: Duration) -> bool {
        let store = self.app_store.clone();
        actix_web::rt::task::spawn_blocking(move || {
            store.seams().wait_for_arrivals(point, n, timeout)
        })
        .await
        .unwrap_or(false)
    }

    /// Sends `held` with the store's writer held at its commit and, once it
    /// is there, every request of `together`: they queue behind it (the
    /// queue gauge shows them all) and go out as the next batch when the
    /// commit is released. The requests are futures not yet polled.
    pub async fn written_together<F: std::future::Future<Output = Resp>>(
        &self,
        held: impl std::future::Future<Output = Resp>,
        together: Vec<F>,
    ) -> (Resp, Vec<Resp>) {
        use guestpass::store::seams::BEFORE_COMMIT;
        let seams = self.store().seams();
        seams.hold(BEFORE_COMMIT);
        let queued = together.len() as u64;
        let rest = async {
            let arrived = self
                .arrivals(BEFORE_COMMIT, 1, Duration::from_secs(10))
                .await;
            assert!(arrived, "the first write never reached its commit");
            let sent = futures_util::future::join_all(together);
            let watch = async {
                self.queue_reaches(queued).await;
                seams.release(BEFORE_COMMIT);
            };
            tokio::join!(sent, watch).0
        };
        tokio::join!(held, rest)
    }

    /// Polls `/metrics` until the writer (SQLite's, or PostgreSQL's batching
    /// writer) has `n` writes queued.
    pub async fn queue_reaches(&self, n: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while metric(&self.metrics().await, "guestpass_writer_queue") < n {
            assert!(
                std::time::Instant::now() < deadline,
                "the writes never queued up"
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `/metrics`, as text.
    pub async fn metrics(&self) -> String {
        self.raw(
            Method::GET,
            &self.root_url("/metrics"),
            &Creds::none(),
            None,
        )
        .await
        .text
    }

    /// Sends a request to `url` (absolute) with the given headers and an
    /// optional raw body with its content type.
    pub async fn raw(
        &self,
        method: Method,
        url: &str,
        creds: &Creds,
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        let mut req = self.client.request(method, url);
        for (name, value) in &creds.0 {
            req = req.insert_header((name.as_str(), value.as_str()));
        }
        let mut res = match body {
            Some((content_type, bytes)) => {
                if !content_type.is_empty() {
                    req = req.insert_header(("Content-Type", content_type));
                }
                req.send_body(bytes).await
            }
            None => req.send().await,
        }
        .expect("request");
        let bytes = res.body().limit(16 * 1024 * 1024).await.expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn get(&self, path: &str, creds: &Creds) -> Resp {
        self.raw(Method::GET, &self.url(path), creds, None).await
    }

    pub async fn delete(&self, path: &str, creds: &Creds) -> Resp {
        self.raw(Method::DELETE, &self.url(path), creds, None).await
    }

    pub async fn post_json(&self, path: &str, creds: &Creds, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("json");
        self.raw(
            Method::POST,
            &self.url(path),
            creds,
            Some(("application/json", bytes)),
        )
        .await
    }

    pub async fn create(&self, creds: &Creds, body: &Value) -> Resp {
        self.post_json("/guest-passes", creds, body).await
    }

    /// Creates a pass with chain A's credentials and asserts it worked.
    pub async fn create_ok(&self, location: &str, email: &str) -> Value {
        let res = self
            .create(&Creds::chain_a(), &pass_body(location, email))
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        res.body
    }

    pub async fn checkin(&self, creds: &Creds, code: &str, location: &str) -> Resp {
        self.post_json(
            "/checkins",
            creds,
            &json!({"checkinCode": code, "locationId": location}),
        )
        .await
    }

    pub fn sql(&self, statement: &str) {
        self.db.sql(statement)
    }

    pub fn sql_text(&self, query: &str) -> Option<String> {
        self.db.sql_text(query)
    }

    pub fn count_passes(&self) -> i64 {
        self.db
            .sql_count("SELECT CAST(COUNT(*) AS TEXT) AS value FROM guest_passes")
    }

    pub fn port(&self) -> u16 {
        self.address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// The API's base URL, e.g. `http://127.0.0.1:PORT/members/v1.0`.
    pub fn base_url(&self) -> String {
        format!("{}{}", self.address, self.base_path)
    }
}

/// The value of the unlabelled metric `name` in a `/metrics` text (0 when absent).
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|v| v.strip_prefix(' '))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}
