//! What the checks share: the options (credentials per level and principal),
//! the HTTP client, the passes used by many checks (created once, on first
//! use), the helpers that build requests, and the results so far.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::client::{origin, Exchange, Headers, Http, Request, Settings};
use crate::expect::Verdict;
use crate::levels::Levels;
use crate::report::{CheckResult, Outcome, RunInfo, Section};
use crate::tls::{self, Target};
use crate::ConformanceArgs;

/// The access levels, in the order the contract checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Client,
    Chain,
    Location,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Client => "client",
            Level::Chain => "chain",
            Level::Location => "location",
        }
    }

    pub fn id_header(self) -> &'static str {
        match self {
            Level::Client => "X-Client-ID",
            Level::Chain => "X-Chain-ID",
            Level::Location => "X-Location-ID",
        }
    }

    pub fn secret_header(self) -> &'static str {
        match self {
            Level::Client => "X-Client-Secret",
            Level::Chain => "X-Chain-Secret",
            Level::Location => "X-Location-Secret",
        }
    }

    /// The headers that must be present (`X-Client-ID` is optional).
    pub fn required_headers(self) -> &'static [&'static str] {
        match self {
            Level::Client => &["X-Client-Secret"],
            Level::Chain => &["X-Chain-ID", "X-Chain-Secret"],
            Level::Location => &["X-Location-ID", "X-Location-Secret"],
        }
    }
}

/// Whose credentials a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// `--chain-*` and `--location-*`: the caller the kit is mostly.
    Primary,
    /// `--second-location-*` (same chain).
    SecondLocation,
    /// `--other-chain-*`.
    OtherChain,
}

/// A pass the kit created and what it sent for it.
#[derive(Debug, Clone)]
pub struct Pass {
    pub id: String,
    pub code: String,
    pub location: String,
    pub email: String,
    pub valid_from: String,
    pub valid_until: String,
    /// The 201 body.
    pub created: Value,
    /// The headers that created it (its owner's).
    pub owner: Headers,
}

/// The pass that expires during the run, and when (kit clock) it surely has.
#[derive(Debug, Clone)]
pub struct Expiring {
    pub pass: Pass,
    pub expired_at: Instant,
}

pub struct Kit {
    pub http: Http,
    pub levels: Levels,
    pub args: ConformanceArgs,
    started_at: i64,
    only: Vec<String>,
    results: RefCell<Vec<CheckResult>>,
    upcoming: OnceCell<Result<Pass, Verdict>>,
    active: OnceCell<Result<Pass, Verdict>>,
    expiring: OnceCell<Result<Expiring, Verdict>>,
    starting: OnceCell<Result<Expiring, Verdict>>,
    idempotency: OnceCell<Result<(), Verdict>>,
}

pub const CHECKIN_CODE_ALPHABET: &str = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const DAY: i64 = 86_400;

impl Kit {
    pub fn new(args: &ConformanceArgs, timeout: Duration) -> Result<Self, crate::Error> {
        let usage = crate::Error::Usage;
        let base = args.base_url.trim().trim_end_matches('/').to_owned();
        Target::parse(&base).map_err(|e| usage(format!("--base-url: {e}")))?;
        let root = match &args.root_url {
            Some(root) => {
                Target::parse(root).map_err(|e| usage(format!("--root-url: {e}")))?;
                root.trim().trim_end_matches('/').to_owned()
            }
            None => origin(&base).to_owned(),
        };
        let tracked_ids = [
            &args.client_id,
            &args.chain_id,
            &args.location_id,
            &args.second_location_id,
            &args.other_chain_id,
            &args.other_chain_location_id,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        let settings = Settings {
            timeout,
            tls: tls::client_config(args.ca_cert.as_deref())?,
            ca_given: args.ca_cert.is_some(),
            max_rps: args.max_rps,
            auth_failure_budget: args.auth_failure_budget,
            tracked_ids,
        };
        let only = args
            .only
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            http: Http::new(&base, &root, settings),
            levels: args.levels,
            args: args.clone(),
            started_at: now(),
            only,
            results: RefCell::new(Vec::new()),
            upcoming: OnceCell::new(),
            active: OnceCell::new(),
            expiring: OnceCell::new(),
            starting: OnceCell::new(),
            idempotency: OnceCell::new(),
        })
    }

    pub fn into_results(self) -> Vec<CheckResult> {
        self.results.into_inner()
    }

    /// Every secret the kit was given (the report scrubs them).
    pub fn secrets(&self) -> Vec<String> {
        let a = &self.args;
        [
            &a.client_secret,
            &a.chain_secret,
            &a.location_secret,
            &a.second_location_secret,
            &a.other_chain_secret,
            &a.other_chain_location_secret,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }

    /// What the report says about the run besides the results.
    pub fn run_info(&self) -> RunInfo {
        RunInfo {
            base_url: self.args.base_url.trim().trim_end_matches('/').to_owned(),
            levels: self.levels.to_string(),
            started_at: ts(self.started_at),
            kit_version: crate::VERSION.to_owned(),
            demo: self.args.demo,
            max_rps: self.args.max_rps,
            auth_failure_budget: self.args.auth_failure_budget,
            politeness: self.http.politeness(),
        }
    }

    pub fn selected(&self, id: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| id.contains(p.as_str()))
    }

    /// Runs one check (unless `--only` leaves it out) and records its outcome.
    pub async fn check(
        &self,
        id: &'static str,
        requirement: &'static str,
        body: impl Future<Output = Result<(), Verdict>>,
    ) {
        if !self.selected(id) {
            return;
        }
        let started = Instant::now();
        let outcome = body.await;
        self.record(id, requirement, outcome, started.elapsed());
    }

    pub fn record(
        &self,
        id: &'static str,
        requirement: &'static str,
        outcome: Result<(), Verdict>,
        duration: Duration,
    ) {
        let outcome = match outcome {
            Ok(()) => Outcome::Passed,
            Err(Verdict::Fail(f)) => Outcome::Failed(*f),
            Err(Verdict::Skip(reason)) => Outcome::Skipped(reason),
            Err(Verdict::NotApplicable(reason)) => Outcome::NotApplicable(reason),
        };
        self.results.borrow_mut().push(CheckResult {
            id,
            section: Section::of(id),
            requirement,
            outcome,
            duration,
        });
    }

    // ---- levels and credentials ------------------------------------------

    /// The configured levels, in checking order.
    pub fn configured(&self) -> Vec<Level> {
        [
            (self.levels.client, Level::Client),
            (self.levels.chain, Level::Chain),
            (self.levels.location, Level::Location),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, l)| l)
        .collect()
    }

    pub fn is_configured(&self, level: Level) -> bool {
        self.configured().contains(&level)
    }

    pub fn required_headers(&self) -> Vec<&'static str> {
        self.configured()
            .into_iter()
            .flat_map(|l| l.required_headers().iter().copied())
            .collect()
    }

    /// `{"X-Chain-ID": "missing", ...}` for these header names.
    pub fn missing(headers: &[&str]) -> Value {
        Value::Object(
            headers
                .iter()
                .map(|h| ((*h).to_owned(), json!("missing")))
                .collect(),
        )
    }

    /// The ID (optional for the client) and secret of `who` at `level`.
    fn pair(&self, who: Who, level: Level) -> Result<(Option<String>, String), Verdict> {
        let a = &self.args;
        let (id, secret, options) = match (level, who) {
            (Level::Client, _) => (
                a.client_id.clone(),
                a.client_secret.clone(),
                "--client-secret",
            ),
            (Level::Chain, Who::Primary | Who::SecondLocation) => (
                a.chain_id.clone(),
                a.chain_secret.clone(),
                "--chain-id and --chain-secret",
            ),
            (Level::Chain, Who::OtherChain) => (
                a.other_chain_id.clone(),
                a.other_chain_secret.clone(),
                "--other-chain-id and --other-chain-secret",
            ),
            (Level::Location, Who::Primary) => (
                a.location_id.clone(),
                a.location_secret.clone(),
                "--location-id and --location-secret",
            ),
            (Level::Location, Who::SecondLocation) => (
                a.second_location_id.clone(),
                a.second_location_secret.clone(),
                "--second-location-id and --second-location-secret",
            ),
            (Level::Location, Who::OtherChain) => (
                a.other_chain_location_id.clone(),
                a.other_chain_location_secret.clone(),
                "--other-chain-location-id and --other-chain-location-secret",
            ),
        };
        match (id, secret) {
            (id, Some(secret)) if level == Level::Client => Ok((id, secret)),
            (Some(id), Some(secret)) => Ok((Some(id), secret)),
            _ => Err(Verdict::skip(format!(
                "needs {options} ({} level is configured)",
                level.name()
            ))),
        }
    }

    fn add_level(headers: Headers, level: Level, id: Option<&str>, secret: &str) -> Headers {
        let headers = match id {
            Some(id) => headers.with(level.id_header(), id),
            None => headers,
        };
        headers.with(level.secret_header(), secret)
    }

    /// Valid access headers of `who` for every configured level.
    pub fn creds(&self, who: Who) -> Result<Headers, Verdict> {
        let mut headers = Headers::none();
        for level in self.configured() {
            let (id, secret) = self.pair(who, level)?;
            headers = Self::add_level(headers, level, id.as_deref(), &secret);
        }
        Ok(headers)
    }

    pub fn primary(&self) -> Result<Headers, Verdict> {
        self.creds(Who::Primary)
    }

    /// Headers to probe `level`: valid ones for the levels checked before it,
    /// `id`/`secret` (or the valid ones) for it, and present placeholders for
    /// the levels after it.
    pub fn probe_headers(
        &self,
        level: Level,
        id: Option<&str>,
        secret: Option<&str>,
    ) -> Result<Headers, Verdict> {
        let mut headers = Headers::none();
        let mut before = true;
        for l in self.configured() {
            if l == level {
                before = false;
                let (valid_id, valid_secret) = match (id, secret) {
                    // Both given: the valid pair is neither needed nor required.
                    (Some(id), Some(secret)) => (Some(id.to_owned()), secret.to_owned()),
                    _ => self.pair(Who::Primary, l)?,
                };
                let id = id.map(str::to_owned).or(valid_id);
                let secret = secret.map(str::to_owned).unwrap_or(valid_secret);
                headers = Self::add_level(headers, l, id.as_deref(), &secret);
            } else if before {
                let (id, secret) = self.pair(Who::Primary, l)?;
                headers = Self::add_level(headers, l, id.as_deref(), &secret);
            } else {
                // A fresh random ID each time: a fixed placeholder would pile up
                // failed authentications against one ID.
                headers = Self::add_level(
                    headers,
                    l,
                    Some(&self.unknown_id()),
                    "conformance-placeholder-secret",
                );
            }
        }
        Ok(headers)
    }

    // ---- locations and scope ---------------------------------------------

    pub fn location(&self) -> Result<String, Verdict> {
        self.args.location_id.clone().ok_or_else(|| {
            Verdict::skip("needs --location-id (the location the kit creates its passes at)")
        })
    }

    pub fn second_location(&self) -> Option<String> {
        self.args.second_location_id.clone()
    }

    pub fn other_location(&self) -> Option<String> {
        self.args.other_chain_location_id.clone()
    }

    /// With location level the scope is one location; otherwise the chain's
    /// (or, client level alone, the deployment's) locations.
    pub fn second_in_scope(&self) -> bool {
        !self.levels.location
    }

    pub fn other_chain_in_scope(&self) -> bool {
        !self.levels.location && !self.levels.chain
    }

    /// The caller that owns passes at the second location.
    pub fn second_owner(&self) -> Result<Headers, Verdict> {
        if self.second_in_scope() {
            self.primary()
        } else {
            self.creds(Who::SecondLocation)
        }
    }

    // ---- data --------------------------------------------------------------

    pub fn email(&self) -> String {
        format!(
            "conformance+{}@example.invalid",
            uuid::Uuid::new_v4().simple()
        )
    }

    pub fn unknown_id(&self) -> String {
        format!("conformance-unknown-{}", uuid::Uuid::new_v4().simple())
    }

    /// A code from the code alphabet that no pass has (10 random characters).
    pub fn unknown_code(&self) -> String {
        let alphabet = CHECKIN_CODE_ALPHABET.as_bytes();
        uuid::Uuid::new_v4()
            .as_bytes()
            .iter()
            .take(10)
            .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
            .collect()
    }

    /// A valid create body; `from`/`until` are Unix seconds.
    pub fn pass_body(&self, location: &str, email: &str, from: i64, until: i64) -> Value {
        json!({
            "locationId": location,
            "firstName": "Conformance",
            "lastName": "Check",
            "email": email,
            "validFrom": ts(from),
            "validUntil": ts(until),
        })
    }

    /// A valid body for a pass starting tomorrow, a week long, at the primary location.
    pub fn upcoming_body(&self) -> Result<Value, Verdict> {
        let from = minute(now() + DAY);
        Ok(self.pass_body(&self.location()?, &self.email(), from, from + 7 * DAY))
    }

    // ---- operations ----------------------------------------------------------

    pub async fn send(&self, req: Request) -> Exchange {
        self.http.send(req).await
    }

    pub async fn create(&self, headers: &Headers, body: &Value) -> Exchange {
        self.send(Request::post_json("/guest-passes", body).headers(headers))
            .await
    }

    pub async fn get_pass(&self, headers: &Headers, id: &str) -> Exchange {
        self.send(Request::get(format!("/guest-passes/{id}")).headers(headers))
            .await
    }

    pub async fn cancel(&self, headers: &Headers, id: &str) -> Exchange {
        self.send(Request::delete(format!("/guest-passes/{id}")).headers(headers))
            .await
    }

    pub async fn list_checkins(&self, headers: &Headers, id: &str) -> Exchange {
        self.send(Request::get(format!("/guest-passes/{id}/checkins")).headers(headers))
            .await
    }

    pub async fn checkin(&self, headers: &Headers, code: &str, location: &str) -> Exchange {
        let body = json!({"checkinCode": code, "locationId": location});
        self.send(Request::post_json("/checkins", &body).headers(headers))
            .await
    }

    pub async fn search(&self, headers: &Headers, query: &[(&str, &str)]) -> Exchange {
        self.send(Request::get(search_target(query)).headers(headers))
            .await
    }

    /// Creates a pass and insists on 201 with an id and a code.
    pub async fn create_pass(&self, headers: &Headers, body: &Value) -> Result<Pass, Verdict> {
        let ex = self.create(headers, body).await;
        self.create_pass_from(&ex, headers, body)
    }

    /// A pass at the primary location from tomorrow, for a week (with a phone number).
    pub async fn upcoming(&self) -> Result<Pass, Verdict> {
        self.upcoming
            .get_or_init(|| async {
                let headers = self.primary()?;
                let mut body = self.upcoming_body()?;
                body["phone"] = json!("+49 30 1234567");
                self.create_pass(&headers, &body).await
            })
            .await
            .clone()
    }

    /// A pass valid now (from five minutes ago, for an hour) at the primary location.
    pub async fn active(&self) -> Result<Pass, Verdict> {
        self.active
            .get_or_init(|| async { self.create_active(&self.primary()?).await })
            .await
            .clone()
    }

    pub async fn create_active(&self, headers: &Headers) -> Result<Pass, Verdict> {
        let t = now();
        let body = self.pass_body(&self.location()?, &self.email(), t - 300, t + 3600);
        self.create_pass(headers, &body).await
    }

    /// Starts the passes whose validUntil (and validFrom) fall a few seconds
    /// into the run; created early so the wait overlaps the other checks.
    pub async fn start_boundaries(&self) {
        let _ = self.expiring().await;
        let _ = self.starting().await;
    }

    async fn expiring(&self) -> Result<Expiring, Verdict> {
        self.expiring
            .get_or_init(|| self.boundary_pass(Boundary::Until))
            .await
            .clone()
    }

    async fn starting(&self) -> Result<Expiring, Verdict> {
        self.starting
            .get_or_init(|| self.boundary_pass(Boundary::From))
            .await
            .clone()
    }

    /// A pass whose validUntil (or validFrom) is 4 seconds away, and the
    /// kit-clock instant by which the server's clock has surely passed it.
    async fn boundary_pass(&self, boundary: Boundary) -> Result<Expiring, Verdict> {
        let headers = self.primary()?;
        let t = now();
        let instant = t + 4;
        let (from, until) = match boundary {
            Boundary::Until => (t - 60, instant),
            Boundary::From => (instant, instant + 3600),
        };
        let body = self.pass_body(&self.location()?, &self.email(), from, until);
        let ex = self.create(&headers, &body).await;
        let answered_at = Instant::now();
        if ex.status() == Some(400) && boundary == Boundary::Until {
            return Err(Verdict::skip(
                "the server refused a pass valid for the next 4 seconds; its clock seems ahead of the kit's",
            ));
        }
        let pass = self.create_pass_from(&ex, &headers, &body)?;
        // The server's createdAt (whole seconds, so at most its now) tells
        // its clock: the instant comes at the latest instant - createdAt
        // seconds after the server answered.
        let server_now = pass
            .created
            .get("createdAt")
            .and_then(Value::as_str)
            .and_then(parse_strict)
            .unwrap_or(t);
        let remaining = u64::try_from(instant - server_now).unwrap_or(0);
        if remaining > 30 {
            return Err(Verdict::skip(format!(
                "the server's clock is {}s behind the kit's; waiting for the instant would take too long",
                remaining - 4
            )));
        }
        Ok(Expiring {
            pass,
            expired_at: answered_at + Duration::from_secs(remaining) + Duration::from_millis(300),
        })
    }

    fn create_pass_from(
        &self,
        ex: &Exchange,
        headers: &Headers,
        body: &Value,
    ) -> Result<Pass, Verdict> {
        let expected = "HTTP 201 with the created guest pass (a pass this check needs)";
        let created = ex.expect_json(201, expected)?;
        let text = |key: &str| created.get(key).and_then(Value::as_str).map(str::to_owned);
        let sent = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        match (text("guestPassId"), text("checkinCode")) {
            (Some(id), Some(code)) => Ok(Pass {
                id,
                code,
                location: sent("locationId"),
                email: sent("email"),
                valid_from: sent("validFrom"),
                valid_until: sent("validUntil"),
                created: created.clone(),
                owner: headers.clone(),
            }),
            _ => Err(ex.fail(expected)),
        }
    }

    /// The expiring pass, once it has expired (waits for the rest of its time).
    pub async fn expired(&self) -> Result<Pass, Verdict> {
        let expiring = self.expiring().await?;
        wait_until(expiring.expired_at).await;
        Ok(expiring.pass)
    }

    /// The starting pass, once its validFrom has come, and its validFrom.
    pub async fn started(&self) -> Result<Pass, Verdict> {
        let starting = self.starting().await?;
        wait_until(starting.expired_at).await;
        Ok(starting.pass)
    }

    /// Whether the server offers `Idempotency-Key` (§8): `--idempotency on`,
    /// or with `auto`, its OpenAPI document names the header.
    pub async fn idempotency_offered(&self) -> Result<(), Verdict> {
        self.idempotency
            .get_or_init(|| async {
                match self.args.idempotency {
                    crate::Idempotency::On => Ok(()),
                    crate::Idempotency::Off => Err(Verdict::skip(
                        "--idempotency off: the server does not offer Idempotency-Key",
                    )),
                    crate::Idempotency::Auto => {
                        let ex = self.send(Request::get("/openapi.yaml").at_root()).await;
                        let named = ex
                            .response
                            .as_ref()
                            .is_ok_and(|r| r.status == 200 && r.text.contains("Idempotency-Key"));
                        if named {
                            Ok(())
                        } else {
                            Err(Verdict::skip(
                                "the server's /openapi.yaml does not name Idempotency-Key, so it does not offer it (--idempotency on checks it anyway)",
                            ))
                        }
                    }
                }
            })
            .await
            .clone()
    }

    /// Cancels every pass the kit saw created, with its creator's headers
    /// (or the primary ones when those no longer work).
    pub async fn cleanup(&self) -> Result<(), Verdict> {
        let created = self.http.created();
        let mut failures = Vec::new();
        for pass in &created {
            let ex = self.cancel(&pass.headers, &pass.id).await;
            if ex.status() == Some(204) {
                continue;
            }
            let retry = match self.primary() {
                Ok(primary) if primary != pass.headers => {
                    Some(self.cancel(&primary, &pass.id).await)
                }
                _ => None,
            };
            match retry {
                Some(r) if r.status() == Some(204) => {}
                _ => failures.push(ex),
            }
        }
        match failures.first() {
            None => Ok(()),
            Some(ex) => Err(ex.fail(format!(
                "HTTP 204 for cancelling each of the {} passes the kit created ({} were not cancelled)",
                created.len(),
                failures.len()
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    From,
    Until,
}

async fn wait_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        tokio::time::sleep(at - now).await;
    }
}

/// Polls the futures together on this task (awc's client is not `Send`) and
/// returns their outputs in order.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// `/guest-passes?...` with the parameters form-encoded.
pub fn search_target(query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        "/guest-passes".to_owned()
    } else {
        format!(
            "/guest-passes?{}",
            serde_urlencoded::to_string(query).unwrap_or_default()
        )
    }
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Rounded down to the minute, so related passes line up.
pub fn minute(t: i64) -> i64 {
    t - t.rem_euclid(60)
}

/// The blueprint's form, `yyyy-MM-dd'T'HH:mm:ss'Z'`.
pub fn ts(t: i64) -> String {
    crate::date::format(t)
}

/// Only the strict form parses; anything else is `None` (the kit's own parser).
pub fn parse_strict(text: &str) -> Option<i64> {
    crate::date::parse_strict(text)
}

pub fn is_strict(value: &Value) -> bool {
    value.as_str().and_then(parse_strict).is_some()
}

pub fn is_uuid(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.len() == 36 && uuid::Uuid::try_parse(s).is_ok())
}

pub fn is_checkin_code(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.chars().count() == 10 && s.chars().all(|c| CHECKIN_CODE_ALPHABET.contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_the_strict_form() {
        assert_eq!(ts(1_282_429_880), "2010-08-21T22:31:20Z");
        assert_eq!(parse_strict("2010-08-21T22:31:20Z"), Some(1_282_429_880));
        assert_eq!(parse_strict("2010-08-21T22:31:20+00:00"), None);
        assert_eq!(minute(125), 120);
    }

    #[test]
    fn search_parameters_are_encoded() {
        assert_eq!(
            search_target(&[("validAt", "2026-01-01T00:00:00+00:00"), ("email", "a b")]),
            "/guest-passes?validAt=2026-01-01T00%3A00%3A00%2B00%3A00&email=a+b"
        );
    }
}
