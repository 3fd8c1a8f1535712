//! The kit's HTTP client: awc (rustls for https) with a deadline on every
//! request, pacing (`--max-rps`, the failed-authentication budget), 429s
//! waited out and counted, a log of every exchange for the final sweeps, and
//! a record of each request for the report with secret header values
//! redacted. After a few requests in a row got no answer, the rest fail at
//! once, so a hung server costs seconds, not hours.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Duration;

use awc::http::Method;
use bytes::Bytes;
use serde_json::Value;

use crate::pace::{AuthBudget, Pacer};
use crate::tls::{self, Target};

/// After this many requests in a row without an answer the server counts as gone.
const DEAD_AFTER: u32 = 3;
/// A 429 is waited out (its `Retry-After`, at most this long) and retried;
/// a failed-authentication throttle may last a minute.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(65);
const RETRIES_ON_429: u32 = 5;
const MAX_RESPONSE: usize = 4 * 1024 * 1024;

/// The headers of a request, in order; names as the blueprint spells them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request as a check builds it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Path (and query) below the base URL, or below the root URL when `at_root`.
    pub target: String,
    pub at_root: bool,
    pub headers: Headers,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
    /// Send the body with chunked transfer encoding (no Content-Length).
    pub chunked: bool,
    /// Send header names as `X-Chain-Id` instead of awc's lower case.
    pub camel_case: bool,
    /// Hand a 429 to the check instead of waiting it out and retrying.
    pub keep_429: bool,
}

impl Request {
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            at_root: false,
            headers: Headers::none(),
            content_type: None,
            body: None,
            chunked: false,
            camel_case: false,
            keep_429: false,
        }
    }

    pub fn get(target: impl Into<String>) -> Self {
        Self::new(Method::GET, target)
    }

    pub fn delete(target: impl Into<String>) -> Self {
        Self::new(Method::DELETE, target)
    }

    pub fn post_json(target: impl Into<String>, body: &Value) -> Self {
        Self::new(Method::POST, target).raw_body(Some("application/json"), body.to_string())
    }

    pub fn headers(mut self, headers: &Headers) -> Self {
        self.headers = headers.clone();
        self
    }

    pub fn raw_body(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = content_type.map(str::to_owned);
        self.body = Some(body.into());
        self
    }

    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    pub fn camel_case(mut self) -> Self {
        self.camel_case = true;
        self
    }

    pub fn at_root(mut self) -> Self {
        self.at_root = true;
        self
    }

    pub fn keep_429(mut self) -> Self {
        self.keep_429 = true;
        self
    }
}

/// A request as the report shows it: secret values redacted, long values cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The URL's path and query.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl RequestRecord {
    fn of(req: &Request, path: String) -> Self {
        let mut headers: Vec<(String, String)> = req
            .headers
            .0
            .iter()
            .map(|(name, value)| (name.clone(), shown_header_value(name, value)))
            .collect();
        if let Some(ct) = &req.content_type {
            headers.push(("Content-Type".into(), cut(ct, 200)));
        }
        if req.chunked {
            headers.push(("Transfer-Encoding".into(), "chunked".into()));
        }
        Self {
            method: req.method.to_string(),
            path,
            headers,
            body: req.body.as_ref().map(|b| preview(b)),
        }
    }
}

/// Secret values never reach a report; their length is what a reader needs.
fn shown_header_value(name: &str, value: &str) -> String {
    if name.to_ascii_lowercase().ends_with("-secret") {
        format!("<redacted, {} characters>", value.chars().count())
    } else {
        cut(value, 120)
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let head: String = text.chars().take(max / 2).collect();
        format!("{head}… ({} characters)", text.chars().count())
    }
}

fn preview(bytes: &[u8]) -> String {
    const MAX: usize = 1000;
    let text = String::from_utf8_lossy(bytes);
    if bytes.len() <= MAX {
        text.into_owned()
    } else {
        let head: String = text.chars().take(200).collect();
        format!("{head}… ({} bytes)", bytes.len())
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub json: Option<Value>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type without parameters, lower case.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    pub fn is_json(&self) -> bool {
        self.media_type().as_deref() == Some("application/json")
    }

    /// One line for a report: status, the headers that matter, the body.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("HTTP {}", self.status)];
        for name in ["Content-Type", "Allow", "Location", "Retry-After"] {
            if let Some(value) = self.header(name) {
                parts.push(format!("{name}: {}", cut(value, 120)));
            }
        }
        if self.text.is_empty() {
            parts.push("empty body".into());
        } else {
            parts.push(format!("body: {}", cut(&self.text, 600)));
        }
        parts.join("; ")
    }
}

/// A request and its answer, or why there was none.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: RequestRecord,
    pub response: Result<Response, String>,
}

impl Exchange {
    pub fn json(&self) -> Option<&Value> {
        self.response.as_ref().ok().and_then(|r| r.json.as_ref())
    }

    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().ok().map(|r| r.status)
    }

    pub fn got(&self) -> String {
        match &self.response {
            Ok(r) => r.summary(),
            Err(e) => format!("no response: {e}"),
        }
    }
}

/// A pass the kit saw created, and the headers that created it.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub headers: Headers,
}

/// How the client treats the server: the deadline, TLS trust, pacing.
pub struct Settings {
    pub timeout: Duration,
    pub tls: Arc<rustls::ClientConfig>,
    pub ca_given: bool,
    pub max_rps: u32,
    pub auth_failure_budget: u32,
    /// The IDs given to the kit: their failed authentications are budgeted.
    pub tracked_ids: Vec<String>,
}

/// What the politeness cost, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Politeness {
    /// 429 answers waited out and retried.
    pub retried_429: u32,
    pub waited_429: Duration,
    /// Pauses to stay within the failed-authentication budget.
    pub budget_pauses: u32,
    pub waited_budget: Duration,
    /// Time spent waiting for `--max-rps`.
    pub waited_rate: Duration,
    pub requests: u32,
}

pub struct Http {
    client: awc::Client,
    base: String,
    root: String,
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    ca_given: bool,
    pacer: Pacer,
    budget: AuthBudget,
    retried_429: Cell<u32>,
    waited_429: Cell<Duration>,
    requests: Cell<u32>,
    silent_in_a_row: Cell<u32>,
    log: RefCell<Vec<Exchange>>,
    created: RefCell<Vec<Created>>,
}

impl Http {
    pub fn new(base_url: &str, root_url: &str, settings: Settings) -> Self {
        let timeout = settings.timeout;
        let connector = awc::Connector::new()
            .timeout(timeout)
            .rustls_0_23(settings.tls.clone());
        // awc's own deadline only backs up the kit's, which reports uniformly.
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(timeout + Duration::from_secs(1))
            .disable_redirects()
            .finish();
        Self {
            client,
            base: base_url.trim_end_matches('/').to_owned(),
            root: root_url.trim_end_matches('/').to_owned(),
            timeout,
            tls: settings.tls,
            ca_given: settings.ca_given,
            pacer: Pacer::new(settings.max_rps),
            budget: AuthBudget::new(settings.auth_failure_budget, settings.tracked_ids),
            retried_429: Cell::new(0),
            waited_429: Cell::new(Duration::ZERO),
            requests: Cell::new(0),
            silent_in_a_row: Cell::new(0),
            log: RefCell::new(Vec::new()),
            created: RefCell::new(Vec::new()),
        }
    }

    /// Reaches the base URL's and the root URL's host (completing the TLS
    /// handshake for https) before any check runs.
    pub async fn preflight(&self) -> Result<(), crate::Error> {
        let mut seen = Vec::new();
        for url in [&self.base, &self.root] {
            let target = Target::parse(url).map_err(crate::Error::Usage)?;
            if seen.contains(&target) {
                continue;
            }
            // On a thread of its own: the handshake blocks, and the server may
            // share this thread's runtime (as in tests).
            let (tx, rx) = tokio::sync::oneshot::channel();
            let (config, timeout, ca_given, t) = (
                self.tls.clone(),
                self.timeout,
                self.ca_given,
                target.clone(),
            );
            std::thread::spawn(move || {
                let _ = tx.send(tls::preflight(&t, &config, timeout, ca_given));
            });
            rx.await.map_err(|_| {
                crate::Error::Connection("the connection check ended without an answer".into())
            })??;
            seen.push(target);
        }
        Ok(())
    }

    pub fn politeness(&self) -> Politeness {
        let (budget_pauses, waited_budget) = self.budget.pauses();
        Politeness {
            retried_429: self.retried_429.get(),
            waited_429: self.waited_429.get(),
            budget_pauses,
            waited_budget,
            waited_rate: self.pacer.waited(),
            requests: self.requests.get(),
        }
    }

    /// The path part of the base URL, e.g. `/members/v1.0`.
    pub fn base_path(&self) -> &str {
        url_path(&self.base)
    }

    /// Resolves a `Location` header the way a client would.
    pub fn resolve(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else if location.starts_with('/') {
            format!("{}{location}", origin(&self.base))
        } else {
            format!("{}/{location}", self.base)
        }
    }

    pub fn log(&self) -> std::cell::Ref<'_, Vec<Exchange>> {
        self.log.borrow()
    }

    pub fn created(&self) -> Vec<Created> {
        self.created.borrow().clone()
    }

    /// Sends `req` to an absolute URL (used for `Location` headers).
    pub async fn send_to(&self, url: &str, req: Request) -> Exchange {
        self.exchange(url.to_owned(), req).await
    }

    pub async fn send(&self, req: Request) -> Exchange {
        let url = if req.at_root {
            format!("{}{}", self.root, req.target)
        } else {
            format!("{}{}", self.base, req.target)
        };
        self.exchange(url, req).await
    }

    async fn exchange(&self, url: String, req: Request) -> Exchange {
        let record = RequestRecord::of(&req, url_path(&url).to_owned());
        let presented = self.budget.presented(&req.headers.0);
        let mut retries = 0;
        loop {
            let response = if self.silent_in_a_row.get() >= DEAD_AFTER {
                Err(format!(
                    "not sent: the server left the last {DEAD_AFTER} requests unanswered"
                ))
            } else {
                let wait = self.budget.wait_for(&presented).max(self.pacer.reserve());
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                self.requests.set(self.requests.get() + 1);
                match tokio::time::timeout(self.timeout, self.perform(&url, &req)).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
                }
            };
            if let Ok(r) = &response {
                if r.status == 401 {
                    let level = r
                        .json
                        .as_ref()
                        .and_then(|b| b.get("accessLevel"))
                        .and_then(Value::as_str);
                    self.budget.record_failure(&presented, level);
                }
            }
            match &response {
                Ok(_) => self.silent_in_a_row.set(0),
                Err(_) => self.silent_in_a_row.set(self.silent_in_a_row.get() + 1),
            }
            let exchange = Exchange {
                request: record.clone(),
                response,
            };
            self.log.borrow_mut().push(exchange.clone());
            self.note_created(&req, &exchange);
            if let Ok(r) = &exchange.response {
                if r.status == 429 && !req.keep_429 && retries < RETRIES_ON_429 {
                    retries += 1;
                    let wait = r
                        .header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs)
                        .unwrap_or(Duration::from_secs(1))
                        .clamp(Duration::from_millis(100), MAX_RETRY_WAIT);
                    self.retried_429.set(self.retried_429.get() + 1);
                    self.waited_429.set(self.waited_429.get() + wait);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return exchange;
        }
    }

    /// Every pass the server says it created is remembered for the cleanup,
    /// whatever the check expected.
    fn note_created(&self, req: &Request, exchange: &Exchange) {
        let is_create = req.method == Method::POST
            && !req.at_root
            && req.target.trim_end_matches('/') == "/guest-passes";
        if !is_create || exchange.status() != Some(201) {
            return;
        }
        if let Some(id) = exchange
            .json()
            .and_then(|b| b.get("guestPassId"))
            .and_then(Value::as_str)
        {
            self.created.borrow_mut().push(Created {
                id: id.to_owned(),
                headers: req.headers.clone(),
            });
        }
    }

    async fn perform(&self, url: &str, req: &Request) -> Result<Response, String> {
        let mut builder = self.client.request(req.method.clone(), url);
        for (name, value) in &req.headers.0 {
            builder = builder.append_header((name.as_str(), value.as_str()));
        }
        if let Some(ct) = &req.content_type {
            builder = builder.insert_header(("Content-Type", ct.as_str()));
        }
        if req.camel_case {
            builder = builder.camel_case();
        }
        let sent = match (&req.body, req.chunked) {
            (None, _) => builder.send().await,
            (Some(body), false) => builder.send_body(body.clone()).await,
            (Some(body), true) => {
                let chunks: Vec<Result<Bytes, std::io::Error>> = body
                    .chunks(8 * 1024)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                builder
                    .send_stream(futures_util::stream::iter(chunks))
                    .await
            }
        };
        let mut res = sent.map_err(|e| format!("request failed: {e}"))?;
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let bytes = res
            .body()
            .limit(MAX_RESPONSE)
            .await
            .map_err(|e| format!("HTTP {status}, but reading the body failed: {e}"))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).ok();
        Ok(Response {
            status,
            headers,
            text,
            json,
        })
    }
}

/// `http://host:port` of a URL.
pub fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// The path (and query) of a URL; `/` when it has none.
pub fn url_path(url: &str) -> &str {
    let rest = &url[origin(url).len()..];
    if rest.is_empty() {
        "/"
    } else {
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_origin_and_path() {
        assert_eq!(
            origin("http://127.0.0.1:8080/members/v1.0"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(origin("http://h:1"), "http://h:1");
        assert_eq!(url_path("http://h:1/a/b?c=d"), "/a/b?c=d");
        assert_eq!(url_path("http://h:1"), "/");
    }

    #[test]
    fn secrets_are_redacted_in_records() {
        let req = Request::get("/guest-passes").headers(
            &Headers::none()
                .with("X-Chain-ID", "chain-a")
                .with("X-Chain-Secret", "s3cr3t-value"),
        );
        let record = RequestRecord::of(&req, "/x".into());
        let shown = format!("{record:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("chain-a"));
        assert!(shown.contains("<redacted, 12 characters>"));
    }
}
