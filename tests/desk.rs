//! The front desk (`/desk/`): its HTTP surface, and the receptionist's path in
//! a real browser (Debian's chromium, headless, driven through chromedriver).
//! Without chromium the browser tests are skipped loudly; with `CI` set, fail.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use awc::http::Method;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use guestpass::admin;
use guestpass::domain::PrincipalKind;

#[path = "common/mod.rs"]
mod common;
use serde_json::{json, Value};

const SECRETS: [&str; 3] = [
    admin::DEMO_CHAIN_SECRET,
    admin::DEMO_LOCATION_SECRET,
    admin::DEMO_CLIENT_SECRET,
];
/// UTC+05:30 all year: a wrong offset, or a lost half hour, shows.
const BROWSER_TZ: &str = "Asia/Kolkata";
const BROWSER_TZ_OFFSET: i64 = 5 * 3600 + 30 * 60;
const SECOND_LOCATION: &str = "demo-gym-annex";
const WAIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------
// The server: demo principals, the desk on, a temp SQLite file.

/// Every request line and header the browser sent, as the server received
/// them: a relay in front of the server that keeps a copy.
struct Tap {
    port: u16,
    connections: Arc<Mutex<Vec<Recording>>>,
}

/// The bytes one connection carried from the browser to the server.
type Recording = Arc<Mutex<Vec<u8>>>;

impl Tap {
    fn start(upstream: u16) -> Tap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the tap");
        let port = listener.local_addr().expect("tap address").port();
        let connections: Arc<Mutex<Vec<Recording>>> = Arc::default();
        let registry = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let copy = Arc::new(Mutex::new(Vec::new()));
                registry.lock().expect("tap").push(copy.clone());
                if let (Ok(c), Ok(s)) = (client.try_clone(), server.try_clone()) {
                    relay(c, s, Some(copy));
                    relay(server, client, None);
                }
            }
        });
        Tap { port, connections }
    }

    /// What the browser sent, one string per connection.
    fn sent(&self) -> Vec<String> {
        self.connections
            .lock()
            .expect("tap")
            .iter()
            .map(|c| String::from_utf8_lossy(&c.lock().expect("tap")).into_owned())
            .collect()
    }
}

fn relay(mut from: TcpStream, mut to: TcpStream, copy: Option<Recording>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if let Some(copy) = &copy {
                copy.lock().expect("tap").extend_from_slice(&buf[..n]);
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// The server's own log lines (one per request: id, method, path, status).
static SERVER_LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct CaptureLog;

impl log::Log for CaptureLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            if let Ok(mut lines) = SERVER_LOG.lock() {
                lines.push(format!("{} {}", record.target(), record.args()));
            }
        }
    }

    fn flush(&self) {}
}

static CAPTURE: CaptureLog = CaptureLog;

struct Desk {
    app_port: u16,
    tap: Tap,
    app: common::TestApp,
    http: awc::Client,
}

async fn start_desk(desk: bool) -> Desk {
    start_desk_with_levels(desk, "chain").await
}

async fn start_desk_with_levels(desk: bool, levels: &str) -> Desk {
    if log::set_logger(&CAPTURE).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    let levels: guestpass::auth::AuthLevels = levels.parse().expect("levels");
    let db = Arc::new(common::TestDatabase::new(common::Backend::Sqlite));
    let app = common::serve(db, |config| {
        config.desk = desk;
        config.auth_levels = levels;
        // The demo principals authenticate only in demo mode.
        config.demo = true;
    })
    .await;
    let app_port = app.port();
    let store = app.store().clone();
    admin::ensure_demo(&store).await.expect("demo principals");
    admin::add_principal(
        &store,
        PrincipalKind::Location,
        SECOND_LOCATION,
        None,
        Some(admin::DEMO_CHAIN_ID.into()),
        Some("pYAnWV73KLVbYVPNWip195Z226Quwn8ZzwtTv49E".into()),
    )
    .await
    .expect("second location");
    Desk {
        app_port,
        tap: Tap::start(app_port),
        app,
        http: awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .disable_redirects()
            .finish(),
    }
}

struct Reply {
    status: u16,
    headers: awc::http::header::HeaderMap,
    body: Value,
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

impl Desk {
    /// Where the browser goes: through the tap.
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.tap.port)
    }

    /// A request of the test's own, straight to the server (not through the
    /// tap), with the demo chain's headers when `authenticated`.
    async fn request(
        &self,
        method: Method,
        path: &str,
        authenticated: bool,
        body: Option<Value>,
    ) -> Reply {
        let url = format!("http://127.0.0.1:{}{path}", self.app_port);
        let mut req = self.http.request(method, url);
        if authenticated {
            req = req
                .insert_header(("X-Chain-ID", admin::DEMO_CHAIN_ID))
                .insert_header(("X-Chain-Secret", admin::DEMO_CHAIN_SECRET));
        }
        let mut res = match body {
            Some(body) => req.send_json(&body).await,
            None => req.send().await,
        }
        .expect("request");
        let bytes = res.body().limit(1 << 20).await.expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    async fn create_pass(&self, location: &str, starts_in: i64, lasts: i64) -> Value {
        let body = json!({
            "locationId": location,
            "firstName": "Api",
            "lastName": "Guest",
            "email": format!("api+{}@example.com", uuid::Uuid::new_v4().simple()),
            "validFrom": utc(now() + starts_in),
            "validUntil": utc(now() + starts_in + lasts),
        });
        let res = self
            .request(Method::POST, "/members/v1.0/guest-passes", true, Some(body))
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        res.body
    }

    async fn get_pass(&self, id: &str) -> Value {
        let res = self
            .request(
                Method::GET,
                &format!("/members/v1.0/guest-passes/{id}"),
                true,
                None,
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        res.body
    }

    /// Moves a pass's period into the past, as if a week had gone by.
    fn expire(&self, code: &str) {
        let ended = now() - 3600;
        self.app.sql(&format!(
            "UPDATE guest_passes SET valid_from = {}, valid_until = {ended} WHERE checkin_code = '{code}'",
            ended - 86_400
        ));
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn utc(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

// ---------------------------------------------------------------------------
// The browser.

struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn find_tools() -> Result<Tools, String> {
    let from_env = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_file())
    };
    let chromium = from_env("GUESTPASS_CHROMIUM")
        .or_else(|| on_path(&["chromium", "chromium-browser", "google-chrome"]));
    let chromedriver = from_env("GUESTPASS_CHROMEDRIVER").or_else(|| on_path(&["chromedriver"]));
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Ok(Tools {
            chromium,
            chromedriver,
        }),
        (chromium, chromedriver) => {
            let missing: Vec<&str> = [
                (chromium.is_none(), "chromium"),
                (chromedriver.is_none(), "chromedriver"),
            ]
            .into_iter()
            .filter_map(|(gone, name)| gone.then_some(name))
            .collect();
            Err(format!("{} not found", missing.join(" and ")))
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

const INSTALL: &str = "apt-get install -y chromium chromium-driver";

/// The tools, or `None` after saying why this test did not run; in CI a
/// missing browser is a failure, never a skip.
fn tools_or_skip(test: &str) -> Option<Tools> {
    match find_tools() {
        Ok(tools) => Some(tools),
        Err(missing) if in_ci() => panic!("{test}: CI is set and {missing}; {INSTALL}"),
        Err(missing) => {
            eprintln!("{test}: SKIPPED, {missing} ({INSTALL})");
            None
        }
    }
}

#[test]
fn browser_tests_skipped_without_chromium() {
    match find_tools() {
        Ok(_) => {}
        Err(missing) if in_ci() => {
            panic!("CI is set and {missing}: the desk's browser tests cannot run. {INSTALL}")
        }
        Err(missing) => {
            // Straight to the terminal: the test harness hides a passing test's output.
            let _ = writeln!(
                std::io::stderr(),
                "\n{bar}\nSKIPPED: the desk's browser tests did not run: {missing}.\n\
                 Install them with `{INSTALL}` (CI does, and fails without them).\n{bar}\n",
                bar = "!".repeat(78)
            );
        }
    }
}

/// One browser at a time: two cores, and each chromium is several processes.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

#[derive(Clone, Copy)]
enum Viewport {
    Desktop,
    Phone,
}

struct Browser {
    client: Client,
    driver: Child,
    driver_port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(tools: &Tools, viewport: Viewport) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let driver_port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(&tools.chromedriver)
            .arg(format!("--port={driver_port}"))
            .env("TZ", BROWSER_TZ)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", driver_port)).is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--force-device-scale-factor=1".into(),
            "--hide-scrollbars".into(),
            "--lang=en-GB".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = json!({ "binary": tools.chromium, "args": [] });
        match viewport {
            Viewport::Desktop => args.push("--window-size=1280,800".into()),
            Viewport::Phone => {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1.0, "touch": true, "mobile": true}
                });
            }
        }
        options["args"] = json!(args);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .expect("a chromium session");
        let session = client
            .session_id()
            .await
            .expect("session id")
            .unwrap_or_default();
        let browser = Browser {
            client,
            driver,
            driver_port,
            session,
            _profile: profile,
        };
        if let Viewport::Desktop = viewport {
            browser.fit_viewport(1280, 800).await;
        }
        browser
    }

    /// Sizes the window so that the page itself gets exactly `width`×`height`.
    async fn fit_viewport(&self, width: i64, height: i64) {
        for _ in 0..3 {
            let inner = self
                .js("return [window.innerWidth, window.innerHeight]")
                .await;
            let (w, h) = (
                inner[0].as_i64().unwrap_or(0),
                inner[1].as_i64().unwrap_or(0),
            );
            if (w, h) == (width, height) {
                return;
            }
            let (ow, oh) = self.client.get_window_size().await.expect("window size");
            let nw = (ow as i64 + width - w).max(100) as u32;
            let nh = (oh as i64 + height - h).max(100) as u32;
            self.client
                .set_window_size(nw, nh)
                .await
                .expect("set window size");
        }
    }

    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `script` (a function body returning a value) until it is truthy.
    async fn wait_for(&self, what: &str, script: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.js(script).await;
            // JavaScript's truthiness: a script may answer `0` for "not yet".
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            if started.elapsed() > WAIT {
                let shot = self.save_screenshot("timeout").await;
                panic!(
                    "timed out waiting for {what}; screenshot {}",
                    shot.display()
                );
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.find(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    async fn replace_text(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Keystrokes to whatever has the focus, as a person at the desk would.
    async fn keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(keys)
            .await
            .expect("keys");
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    async fn screen(&self) -> String {
        self.wait_for(
            "a screen",
            "const s = [...document.querySelectorAll('section.screen')].find(s => !s.hidden); return s ? s.id : null",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    async fn wait_screen(&self, id: &str) {
        self.wait_for(
            &format!("screen {id}"),
            &format!("return !document.getElementById('{id}').hidden"),
        )
        .await;
    }

    async fn active_name(&self) -> String {
        self.js("return document.activeElement && document.activeElement.name")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's address, its referrer, and every URL it loaded or fetched.
    async fn urls_seen(&self) -> Vec<String> {
        let urls = self
            .js("return [location.href, document.referrer, ...performance.getEntries().map(e => e.name)]")
            .await;
        serde_json::from_value(urls).expect("urls")
    }

    async fn save_screenshot(&self, name: &str) -> PathBuf {
        let dir = screenshot_dir();
        let path = dir.join(format!("{name}.png"));
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(&path, png);
        }
        path
    }

    /// Scrolls to the top first, so a screenshot shows the screen as a person sees it on arrival.
    async fn screenshot_top(&self, name: &str) -> PathBuf {
        self.js("window.scrollTo(0, 0)").await;
        let path = self.save_screenshot(name).await;
        assert!(
            path.is_file(),
            "screenshot {} was not written",
            path.display()
        );
        path
    }

    /// Types `typed` and Enter at the door; returns (data-outcome, title, detail).
    async fn check_in(&self, typed: &str) -> (String, String, String) {
        let before = self
            .js("return document.getElementById('outcome').dataset.seq || '0'")
            .await;
        self.type_into("[name='checkinCode']", &format!("{typed}{}", enter()))
            .await;
        let outcome = self
            .wait_for(
                &format!("the outcome of {typed:?}"),
                &format!(
                    "const o = document.getElementById('outcome');
                     return o.dataset.seq !== {before} && o.dataset.outcome !== 'pending' && o.dataset.outcome"
                ),
            )
            .await;
        (
            outcome.as_str().unwrap_or_default().to_owned(),
            self.text("#outcome-title").await,
            self.text("#outcome-detail").await,
        )
    }

    async fn go(&self, screen: &str) {
        self.click(&format!("button.nav[data-screen='{screen}']"))
            .await;
        self.wait_screen(&format!("screen-{screen}")).await;
    }

    /// Fills the new-guest form (dates as datetime-local values, empty =
    /// keep the default) and submits it.
    async fn submit_new_guest(&self, fields: &[(&str, &str)]) {
        for (name, value) in fields {
            if name.starts_with("valid") {
                // A date picker takes keystrokes in the browser's own locale
                // order; its value is what the page reads either way.
                self.js_with(
                    "const i = document.querySelector(`#new-form [name='${arguments[0]}']`); i.value = arguments[1];",
                    vec![json!(name), json!(value)],
                )
                .await;
            } else {
                self.replace_text(&format!("#new-form [name='{name}']"), value)
                    .await;
            }
        }
        self.click("#new-submit").await;
    }

    async fn create_guest(&self, first: &str, fields: &[(&str, &str)]) -> (String, String) {
        let email = format!(
            "{}+{}@example.com",
            first.to_lowercase(),
            uuid::Uuid::new_v4().simple()
        );
        let mut all = vec![
            ("firstName", first),
            ("lastName", "Doe"),
            ("email", email.as_str()),
        ];
        all.extend_from_slice(fields);
        self.submit_new_guest(&all).await;
        let code = self
            .wait_for(
                "the new pass",
                &format!(
                    "const c = document.getElementById('new-pass');
                     return !c.hidden && document.getElementById('new-pass-name').textContent === '{first} Doe'
                       && document.getElementById('new-pass-code').dataset.checkinCode"
                ),
            )
            .await;
        let id = self
            .js("return document.getElementById('new-pass').dataset.guestPassId")
            .await;
        (
            code.as_str().unwrap_or_default().to_owned(),
            id.as_str().unwrap_or_default().to_owned(),
        )
    }
}

impl Drop for Browser {
    /// Ends the session (chromium quits) with a plain request, so that even
    /// a failed test leaves no browser behind; then stops chromedriver.
    fn drop(&mut self) {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.driver_port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = write!(
                stream,
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session, self.driver_port
            );
            // chromedriver answers once chromium has quit, then keeps the
            // connection open: the first bytes of the answer are enough.
            let _ = stream.read(&mut [0u8; 1024]);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn enter() -> char {
    char::from(Key::Enter)
}

fn screenshot_dir() -> PathBuf {
    std::env::var_os("GUESTPASS_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join("desk-screenshots")
        })
}

fn one_browser_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Decodes the QR code in a PNG screenshot.
fn decode_qr(png_bytes: &[u8]) -> String {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("png header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("png size")];
    let frame = reader.next_frame(&mut pixels).expect("png frame");
    let channels = frame.color_type.samples();
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let p = &pixels[y * frame.line_size + x * channels..];
        if channels >= 3 {
            ((u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10) as u8
        } else {
            p[0]
        }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the screenshot");
    grids[0].decode().expect("a readable QR code").1
}

// ---------------------------------------------------------------------------
// Over HTTP, no browser needed.

#[actix_web::test]
async fn without_the_flag_there_is_no_desk() {
    let desk = start_desk(false).await;
    for path in ["/desk/", "/desk", "/desk/config.json", "/desk/desk.js"] {
        let res = desk.request(Method::GET, path, false, None).await;
        assert_eq!(res.status, 404, "{path}");
        assert_eq!(
            res.body,
            json!({"message": "Requested endpoint is not supported", "cause": "resourceNotFound"}),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn the_desk_is_served_with_strict_headers() {
    let desk = start_desk(true).await;
    let page = desk.request(Method::GET, "/desk/", false, None).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .starts_with("default-src 'self'"));
    assert!(page
        .header("content-security-policy")
        .contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert!(page.text.contains("name=\"checkinCode\""));

    for (path, kind) in [
        ("/desk/desk.js", "text/javascript"),
        ("/desk/qr.js", "text/javascript"),
        ("/desk/desk.css", "text/css"),
        ("/desk/icon.svg", "image/svg+xml"),
    ] {
        let res = desk.request(Method::GET, path, false, None).await;
        assert_eq!(res.status, 200, "{path}");
        assert!(res.header("content-type").starts_with(kind), "{path}");
        assert_eq!(res.header("x-frame-options"), "DENY", "{path}");
    }

    let config = desk
        .request(Method::GET, "/desk/config.json", false, None)
        .await;
    assert_eq!(config.status, 200);
    assert_eq!(config.header("cache-control"), "no-store");
    assert_eq!(
        config.body,
        json!({
            "basePath": "/members/v1.0",
            "accessLevels": ["chain"],
            "codeAlphabet": "23456789ABCDEFGHJKMNPQRSTUVWXYZ",
            "codeLength": 10
        })
    );

    let bare = desk.request(Method::GET, "/desk", false, None).await;
    assert_eq!(bare.status, 308);
    assert_eq!(bare.header("location"), "/desk/");

    let unknown = desk.request(Method::GET, "/desk/admin", false, None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["cause"], "resourceNotFound");
    assert_eq!(unknown.header("x-frame-options"), "DENY");

    let post = desk
        .request(Method::POST, "/desk/", false, Some(json!({})))
        .await;
    assert_eq!(post.status, 405);
    assert_eq!(post.body["cause"], "methodNotAllowed");
    assert_eq!(post.header("allow"), "GET");

    // The API itself is unchanged by the desk.
    let api = desk
        .request(Method::GET, "/members/v1.0/guest-passes", true, None)
        .await;
    assert_eq!(api.status, 200, "{}", api.text);

    // Counted under one label of its own, not as the API's `methodNotAllowed`.
    let metrics = desk.request(Method::GET, "/metrics", false, None).await;
    assert!(
        metrics
            .text
            .contains("guestpass_requests_total{operation=\"desk\",status=\"200\"}"),
        "{}",
        metrics.text
    );
    assert!(!metrics
        .text
        .contains("operation=\"methodNotAllowed\",status=\"200\""));
}

// ---------------------------------------------------------------------------
// In the browser.

// Each test has its own runtime on its own thread: holding the lock across
// awaits only queues the other browser tests behind this one.
#[allow(clippy::await_holding_lock)]
#[actix_web::test]
async fn a_receptionist_signs_in_creates_a_guest_checks_guests_in_and_signs_out() {
    let Some(tools) =
        tools_or_skip("a_receptionist_signs_in_creates_a_guest_checks_guests_in_and_signs_out")
    else {
        return;
    };
    let _one = one_browser_at_a_time();
    let desk = start_desk(true).await;
    let b = Browser::start(&tools, Viewport::Desktop).await;
    let started = Instant::now();

    // Sign in: the deployment's levels decide the fields; API names on inputs.
    b.client
        .goto(&desk.url("/desk/"))
        .await
        .expect("open the desk");
    b.wait_screen("screen-signin").await;
    let visible = b
        .js("return [...document.querySelectorAll('#signin-form input')].filter(i => i.offsetParent).map(i => i.name)")
        .await;
    assert_eq!(
        visible,
        json!(["X-Chain-ID", "X-Chain-Secret", "locationId", "X-User-ID"])
    );
    let unlabelled = b
        .js("return [...document.querySelectorAll('input')].filter(i => !i.labels.length).map(i => i.name)")
        .await;
    assert_eq!(unlabelled, json!([]), "every input has a label");
    assert_eq!(
        b.active_name().await,
        "X-Chain-ID",
        "the first field has focus"
    );
    let timezone = b
        .js("return Intl.DateTimeFormat().resolvedOptions().timeZone")
        .await;
    // ICU may answer with the zone's older name.
    assert!(
        timezone == BROWSER_TZ || timezone == "Asia/Calcutta",
        "{timezone}"
    );

    // A wrong secret shows the 401's message.
    b.type_into("[name='X-Chain-ID']", admin::DEMO_CHAIN_ID)
        .await;
    b.type_into("[name='X-Chain-Secret']", "not-the-secret-at-all")
        .await;
    b.type_into(
        "[name='locationId']",
        &format!("{}{}", admin::DEMO_LOCATION_ID, enter()),
    )
    .await;
    let error = b
        .wait_for(
            "the 401 message",
            "const e = document.getElementById('signin-error'); return !e.hidden && e.textContent",
        )
        .await;
    assert_eq!(error, "X-Chain-Secret is invalid");
    assert_eq!(b.active_name().await, "X-Chain-Secret");
    assert_eq!(b.js("return sessionStorage.length").await, 0);

    b.replace_text(
        "[name='X-Chain-Secret']",
        &format!("{}{}", admin::DEMO_CHAIN_SECRET, enter()),
    )
    .await;
    b.wait_screen("screen-door").await;
    assert_eq!(
        b.active_name().await,
        "checkinCode",
        "the door field has focus"
    );
    let stored = b
        .js("return JSON.parse(sessionStorage.getItem('guestpass.desk'))")
        .await;
    assert_eq!(stored["headers"]["X-Chain-ID"], admin::DEMO_CHAIN_ID);
    assert_eq!(stored["locationId"], admin::DEMO_LOCATION_ID);
    assert_eq!(b.js("return localStorage.length").await, 0);
    assert_eq!(
        b.js("return document.querySelectorAll('#signin-form input[type=password]')[1].value")
            .await,
        "",
        "the secret field is cleared once signed in"
    );

    // New guest, reached by keyboard alone: back from the code field to the
    // bar's last button (Sign out), one more to "New guest", Enter.
    let shift_tab = format!("{}{}", char::from(Key::Shift), char::from(Key::Tab));
    b.keys(&shift_tab).await;
    assert_eq!(b.js("return document.activeElement.id").await, "sign-out");
    b.keys(&format!("{shift_tab}{}", enter())).await;
    b.wait_screen("screen-new").await;
    assert_eq!(b.active_name().await, "firstName");

    // The 400's reasons next to their fields.
    b.submit_new_guest(&[
        ("firstName", "  "),
        ("lastName", "Doe"),
        ("email", "not-an-email"),
        ("phone", "call me"),
    ])
    .await;
    let reasons = b
        .wait_for(
            "the field errors",
            "const r = {}; for (const p of document.querySelectorAll('#new-form .field-error')) if (p.dataset.reason) r[p.id] = p.dataset.reason;
             return Object.keys(r).length && r",
        )
        .await;
    assert_eq!(
        reasons,
        json!({"new-firstName-error": "missing", "new-email-error": "wrongFormat", "new-phone-error": "wrongFormat"})
    );
    assert_eq!(
        b.js("return document.querySelector('[name=email]').getAttribute('aria-invalid')")
            .await,
        "true"
    );
    assert_eq!(
        b.active_name().await,
        "firstName",
        "focus on the first field to fix"
    );
    b.replace_text("#new-form [name='phone']", "").await;

    // Created: the code as text and as a QR code that decodes to it.
    let (jane_code, jane_id) = b.create_guest("Jane", &[]).await;
    assert_eq!(jane_code.len(), 10);
    assert!(jane_code
        .bytes()
        .all(|c| b"23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(&c)));
    let qr = b.find("#new-pass-qr svg").await;
    let qr_png = qr.screenshot().await.expect("QR screenshot");
    assert_eq!(
        decode_qr(&qr_png),
        jane_code,
        "the QR code carries the check-in code"
    );
    let jane = desk.get_pass(&jane_id).await;
    assert_eq!(jane["status"], "ACTIVE");
    assert!(
        b.js("return document.querySelector('#new-form [name=firstName]').value === ''")
            .await
            .as_bool()
            .unwrap_or(false),
        "the form is ready for the next guest"
    );
    b.screenshot_top("new-guest-desktop").await;

    // Dates: typed in the browser's zone, sent in strict UTC.
    let tomorrow = chrono::DateTime::from_timestamp(now() + BROWSER_TZ_OFFSET + 86_400, 0)
        .expect("date")
        .date_naive();
    let local_from = format!("{tomorrow}T10:00");
    let local_until = format!("{tomorrow}T18:30");
    let (tom_code, tom_id) = b
        .create_guest(
            "Tom",
            &[("validFrom", &local_from), ("validUntil", &local_until)],
        )
        .await;
    let tom = desk.get_pass(&tom_id).await;
    assert_eq!(tom["validFrom"], format!("{tomorrow}T04:30:00Z"));
    assert_eq!(tom["validUntil"], format!("{tomorrow}T13:00:00Z"));
    let shown = b.text("#new-pass-validity").await;
    assert!(
        // 24-hour or 12-hour clock, as the browser's locale has it.
        shown.contains("10:00") && (shown.contains("18:30") || shown.contains("6:30")),
        "shown in the browser's zone: {shown}"
    );

    let (carl_code, _) = b.create_guest("Carl", &[]).await;

    // The door: every reason a guest may not come in.
    b.go("door").await;
    assert_eq!(b.active_name().await, "checkinCode");
    let (outcome, title, _) = b.check_in("ZZZZZZZZZZ").await;
    assert_eq!(outcome, "notFound", "{title}");
    assert_eq!(
        b.js("return document.getElementById('outcome').dataset.checked")
            .await,
        "server"
    );

    // O, 0, I, L and 1 are in no code: said at once, nothing sent.
    let (outcome, _, detail) = b.check_in(&format!("{}o", &jane_code[..9])).await;
    assert_eq!(outcome, "notFound");
    assert!(detail.contains("Q or D"), "{detail}");
    assert_eq!(
        b.js("return document.getElementById('outcome').dataset.checked")
            .await,
        "locally"
    );
    let (outcome, _, detail) = b.check_in(&format!("{}1", &jane_code[..9])).await;
    assert_eq!(outcome, "notFound");
    assert!(detail.contains("I, L or 1"), "{detail}");

    let (outcome, title, detail) = b.check_in(&tom_code).await;
    assert_eq!(outcome, "guestPassNotYetValid", "{title}");
    assert_eq!(title, "Tom Doe: not valid yet");
    assert!(detail.contains("10:00"), "{detail}");

    let annex = desk.create_pass(SECOND_LOCATION, -60, 86_400).await;
    let (outcome, _, detail) = b
        .check_in(annex["checkinCode"].as_str().unwrap_or_default())
        .await;
    assert_eq!(outcome, "wrongLocation");
    assert!(detail.contains(SECOND_LOCATION), "{detail}");

    let old = desk.create_pass(admin::DEMO_LOCATION_ID, -60, 86_400).await;
    let old_code = old["checkinCode"].as_str().unwrap_or_default();
    desk.expire(old_code);
    let (outcome, _, _) = b.check_in(old_code).await;
    assert_eq!(outcome, "guestPassExpired");

    // A code typed in lower case, with spaces and a dash, and Enter.
    let sloppy = format!(
        " {}-{} {} ",
        jane_code[..3].to_lowercase(),
        &jane_code[3..6],
        jane_code[6..].to_lowercase()
    );
    let (outcome, title, detail) = b.check_in(&sloppy).await;
    assert_eq!(outcome, "checked-in", "{title} / {detail}");
    assert_eq!(title, "Jane Doe — checked in");
    assert_eq!(
        b.js("return document.querySelector('[name=checkinCode]').value")
            .await,
        "",
        "the field clears for the next guest"
    );
    assert_eq!(b.active_name().await, "checkinCode");
    assert_eq!(
        b.js("return document.getElementById('outcome').getAttribute('aria-live')")
            .await,
        "assertive"
    );
    let recent = b
        .js("return [...document.querySelectorAll('#recent li')].map(li => li.dataset.outcome)")
        .await;
    assert_eq!(
        recent,
        json!([
            "checked-in",
            "guestPassExpired",
            "wrongLocation",
            "guestPassNotYetValid",
            "notFound",
            "notFound"
        ]),
        "the last six answers, newest first"
    );
    b.screenshot_top("door-desktop").await;

    // A scanner that reads the same code twice counts one visit.
    let (outcome, _, detail) = b.check_in(&jane_code).await;
    assert_eq!(outcome, "checked-in");
    assert!(detail.contains("counted once"), "{detail}");

    // Today: Jane with her visit, Tom not (tomorrow); Carl cancelled from his details.
    b.go("today").await;
    let visits = b
        .wait_for(
            "Jane's visits",
            &format!(
                "const r = document.querySelector(\"tr[data-guest-pass-id='{jane_id}'] td.visits\");
                 return r && r.dataset.visits"
            ),
        )
        .await;
    assert_eq!(visits, "1");
    let names = b
        .js("return [...document.querySelectorAll('#today-rows button.link')].map(b => b.textContent)")
        .await;
    assert!(names
        .as_array()
        .is_some_and(|n| n.contains(&json!("Carl Doe"))));
    assert!(!names
        .as_array()
        .is_some_and(|n| n.contains(&json!("Tom Doe"))));
    b.click(&format!("tr[data-guest-pass-id='{jane_id}'] button.link"))
        .await;
    b.wait_for(
        "Jane's history",
        "return document.getElementById('detail-title').textContent === 'Jane Doe' && document.querySelectorAll('#detail-visits li').length === 1",
    )
    .await;

    b.screenshot_top("today-desktop").await;

    let carl_button = b
        .js("return [...document.querySelectorAll('#today-rows button.link')].find(b => b.textContent === 'Carl Doe').dataset.guestPassId")
        .await;
    let carl_id = carl_button.as_str().unwrap_or_default().to_owned();
    b.click(&format!("tr[data-guest-pass-id='{carl_id}'] button.link"))
        .await;
    b.wait_for(
        "Carl's details",
        "return document.getElementById('detail-title').textContent === 'Carl Doe'",
    )
    .await;
    b.click("#detail-cancel").await;
    b.wait_for(
        "the confirmation",
        "return document.getElementById('confirm-cancel').open",
    )
    .await;
    // Keyboard: Escape keeps the pass.
    b.find("#confirm-keep")
        .await
        .send_keys(&char::from(Key::Escape).to_string())
        .await
        .expect("escape");
    b.wait_for(
        "the dialog to close",
        "return !document.getElementById('confirm-cancel').open",
    )
    .await;
    assert_eq!(desk.get_pass(&carl_id).await["status"], "ACTIVE");
    b.click("#detail-cancel").await;
    b.click("#confirm-yes").await;
    b.wait_for(
        "Carl's pass cancelled",
        "return [...document.querySelectorAll('#detail-facts dd')].some(d => d.textContent === 'Cancelled')",
    )
    .await;
    assert_eq!(desk.get_pass(&carl_id).await["status"], "CANCELLED");

    b.go("door").await;
    let (outcome, title, _) = b.check_in(&carl_code).await;
    assert_eq!(outcome, "guestPassCancelled");
    assert_eq!(title, "Carl Doe: pass cancelled");

    // Every URL this page has used so far (a reload starts a new list).
    let mut urls = b.urls_seen().await;
    // A reload keeps the tab signed in (sessionStorage survives it).
    b.client.refresh().await.expect("reload");
    b.wait_screen("screen-door").await;

    // Sign out: nothing left in the tab.
    b.click("#sign-out").await;
    b.wait_screen("screen-signin").await;
    assert_eq!(b.js("return sessionStorage.length").await, 0);
    assert_eq!(b.js("return localStorage.length").await, 0);
    let leftovers = b
        .js("return [...document.querySelectorAll('input')].map(i => i.value).filter(v => v)")
        .await;
    assert_eq!(leftovers, json!([]));

    // No secret in any URL: the tab's history and every request it made...
    urls.extend(b.urls_seen().await);
    assert_eq!(b.js("return location.href").await, desk.url("/desk/"));
    assert!(urls.iter().any(|u| u.contains("/members/v1.0/checkins")));
    for url in &urls {
        for secret in SECRETS {
            assert!(!url.contains(secret), "a secret in {url}");
        }
        assert!(!url.to_ascii_lowercase().contains("secret"), "{url}");
    }
    // ...what the server received: secrets only ever in their own header...
    let sent = desk.tap.sent();
    let mut secret_headers = 0;
    for line in sent.iter().flat_map(|c| c.split("\r\n")) {
        if SECRETS.iter().any(|s| line.contains(s)) {
            assert!(
                line.to_ascii_lowercase().starts_with("x-chain-secret: "),
                "a secret outside its header: {line}"
            );
            secret_headers += 1;
        }
        let request_line = ["GET ", "POST ", "DELETE ", "PUT ", "PATCH ", "HEAD "]
            .iter()
            .any(|m| line.starts_with(m));
        if request_line {
            assert!(!line.to_ascii_lowercase().contains("secret"), "{line}");
        }
        assert!(!line.to_ascii_lowercase().starts_with("referer:"), "{line}");
    }
    assert!(secret_headers > 5, "the tap saw the authenticated requests");
    // ...and the server's request log.
    let log = SERVER_LOG.lock().expect("log").clone();
    assert!(log
        .iter()
        .any(|l| l.contains("POST /members/v1.0/checkins 201")));
    for line in &log {
        for secret in SECRETS {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
    }
    eprintln!(
        "receptionist path in the browser: {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[allow(clippy::await_holding_lock)] // see a_receptionist_…
#[actix_web::test]
async fn the_desk_fits_a_phone() {
    let Some(tools) = tools_or_skip("the_desk_fits_a_phone") else {
        return;
    };
    let _one = one_browser_at_a_time();
    // A deployment that wants location credentials: the desk asks for those,
    // and stands at the location they name unless told otherwise.
    let desk = start_desk_with_levels(true, "location").await;
    let b = Browser::start(&tools, Viewport::Phone).await;
    b.client
        .goto(&desk.url("/desk/"))
        .await
        .expect("open the desk");
    b.wait_screen("screen-signin").await;
    let visible = b
        .js("return [...document.querySelectorAll('#signin-form input')].filter(i => i.offsetParent).map(i => i.name)")
        .await;
    assert_eq!(
        visible,
        json!([
            "X-Location-ID",
            "X-Location-Secret",
            "locationId",
            "X-User-ID"
        ])
    );
    b.type_into("[name='X-Location-ID']", admin::DEMO_LOCATION_ID)
        .await;
    b.type_into(
        "[name='X-Location-Secret']",
        &format!("{}{}", admin::DEMO_LOCATION_SECRET, enter()),
    )
    .await;
    b.wait_screen("screen-door").await;
    assert_eq!(
        b.js("return document.getElementById('where-location').textContent")
            .await,
        admin::DEMO_LOCATION_ID
    );
    assert_eq!(b.js("return window.innerWidth").await, 390);
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";

    b.go("new").await;
    let (code, _) = b.create_guest("Jane", &[]).await;
    assert_eq!(b.js(fits).await, true, "new guest: no sideways scrolling");
    let card_top = b
        .js("return document.getElementById('new-pass').getBoundingClientRect().top < document.getElementById('new-form').getBoundingClientRect().top")
        .await;
    assert_eq!(card_top, true, "on a phone the new pass comes first");
    b.screenshot_top("new-guest-phone").await;

    b.go("door").await;
    let (outcome, _, _) = b.check_in(&code.to_lowercase()).await;
    assert_eq!(outcome, "checked-in");
    assert_eq!(b.js(fits).await, true, "door: no sideways scrolling");
    let input_width = b
        .js("return document.querySelector('[name=checkinCode]').getBoundingClientRect().right")
        .await;
    assert!(input_width.as_f64().unwrap_or(999.0) <= 390.0);
    b.screenshot_top("door-phone").await;

    b.go("today").await;
    b.wait_for(
        "the list",
        "return document.querySelectorAll('#today-rows tr').length === 1",
    )
    .await;
    assert_eq!(b.js(fits).await, true, "today: no sideways scrolling");
    assert_eq!(b.screen().await, "screen-today");
}

#[allow(clippy::await_holding_lock)] // see a_receptionist_…
#[actix_web::test]
async fn the_qr_encoder_matches_a_reference_encoder() {
    let Some(tools) = tools_or_skip("the_qr_encoder_matches_a_reference_encoder") else {
        return;
    };
    let _one = one_browser_at_a_time();
    let desk = start_desk(true).await;
    let b = Browser::start(&tools, Viewport::Desktop).await;
    b.client
        .goto(&desk.url("/desk/"))
        .await
        .expect("open the desk");
    b.wait_screen("screen-signin").await;

    // Every mode, and lengths that reach every version from 1 to 40.
    let mut texts: Vec<String> = vec![
        String::new(),
        "K7QX9MPT2A".into(),
        "0123456789".into(),
        "HELLO WORLD $%*+-./:".into(),
        "Grüße, Zürich! ✓".into(),
        "https://example.org/members/v1.0/guest-passes?limit=20".into(),
    ];
    let mut seed = 0x2545_f491_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for len in (1..=60).chain((61..=2300).step_by(29)) {
        texts.push(
            (0..len)
                .map(|_| {
                    char::from(b"abcdefghijklmnopqrstuvwxyz0123456789 .-"[(next() % 39) as usize])
                })
                .collect(),
        );
    }
    for len in (1..=4200).step_by(173) {
        texts.push(
            (0..len)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect(),
        );
    }
    let ours = b
        .js_with(
            "return arguments[0].map(t => { const q = GuestpassQr.encodeText(t, 'M');
               return {version: q.version, mask: q.mask, rows: q.modules.map(r => r.map(m => m ? '1' : '0').join(''))}; })",
            vec![json!(texts)],
        )
        .await;
    let ours = ours.as_array().expect("results");
    let mut versions = std::collections::BTreeSet::new();
    for (text, symbol) in texts.iter().zip(ours) {
        let reference = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium)
            .expect("reference encodes");
        let size = reference.size();
        let rows: Vec<String> = (0..size)
            .map(|y| {
                (0..size)
                    .map(|x| if reference.get_module(x, y) { '1' } else { '0' })
                    .collect()
            })
            .collect();
        assert_eq!(
            symbol["version"],
            json!(reference.version().value()),
            "version for {text:?}"
        );
        assert_eq!(
            symbol["mask"],
            json!(reference.mask().value()),
            "mask for {text:?}"
        );
        assert_eq!(symbol["rows"], json!(rows), "modules for {text:?}");
        versions.insert(reference.version().value());
    }
    assert_eq!(
        versions.len(),
        40,
        "every version was compared: {versions:?}"
    );
}

#[allow(clippy::await_holding_lock)] // see a_receptionist_…
#[actix_web::test]
async fn codes_are_normalised_before_sending() {
    let Some(tools) = tools_or_skip("codes_are_normalised_before_sending") else {
        return;
    };
    let _one = one_browser_at_a_time();
    let desk = start_desk(true).await;
    let b = Browser::start(&tools, Viewport::Desktop).await;
    b.client
        .goto(&desk.url("/desk/"))
        .await
        .expect("open the desk");
    b.wait_screen("screen-signin").await;
    let cases = [
        ("k7qx9mpt2a", "K7QX9MPT2A", None),
        (" K7QX 9MPT 2A\t", "K7QX9MPT2A", None),
        ("K7QX-9MPT-2A", "K7QX9MPT2A", None),
        ("ｋ７ｑｘ９ｍｐｔ２ａ", "K7QX9MPT2A", None), // full width, from an IME
        ("K7QX9MPT2O", "K7QX9MPT2O", Some("lookalike")),
        ("K7QX9MPT20", "K7QX9MPT20", Some("lookalike")),
        ("k7qx9mpt2i", "K7QX9MPT2I", Some("lookalike")),
        ("K7QX9MPT2l", "K7QX9MPT2L", Some("lookalike")),
        ("K7QX9MPT21", "K7QX9MPT21", Some("lookalike")),
        ("K7QX9MPT2Ä", "K7QX9MPT2Ä", Some("character")),
        ("K7QX9MPT2", "K7QX9MPT2", Some("length")),
        (
            "K7QX9MPT2AK7QX9MPT2A",
            "K7QX9MPT2AK7QX9MPT2A",
            Some("length"),
        ),
        ("   ", "", Some("empty")),
    ];
    for (typed, code, problem) in cases {
        let got = b
            .js_with(
                "return GuestpassDesk.normalizeCode(arguments[0], '23456789ABCDEFGHJKMNPQRSTUVWXYZ', 10)",
                vec![json!(typed)],
            )
            .await;
        assert_eq!(got["code"], code, "{typed:?}");
        assert_eq!(got["problem"], json!(problem), "{typed:?}");
    }
    let utc = b
        .js("return GuestpassDesk.toUtc(new Date(Date.UTC(2026, 11, 1, 6, 0, 0, 987)))")
        .await;
    assert_eq!(utc, "2026-12-01T06:00:00Z", "strict: no fraction, Z");
}
