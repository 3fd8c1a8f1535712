//! A small in-memory Guest Pass server, chain level only, written from the
//! contract for the checks of its 2026-11-29 additions (offset cap, /livez,
//! /readyz, failed-login throttling, Idempotency-Key, X-Request-ID,
//! Cache-Control). Each `Faults` flag breaks one rule, so a test can show
//! the check that guards it fails. Not a server to copy: it validates only
//! what those checks send.

use std::collections::HashMap;
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use guestpass_conformance::date;
use serde_json::{json, Value};

pub const CHAIN_A: &str = "fake-chain-a";
pub const CHAIN_A_SECRET: &str = "fake-chain-a-secret-0123456789";
pub const LOC_A1: &str = "fake-a-1";
pub const LOC_A2: &str = "fake-a-2";
pub const CHAIN_B: &str = "fake-chain-b";
pub const CHAIN_B_SECRET: &str = "fake-chain-b-secret-0123456789";
pub const LOC_B1: &str = "fake-b-1";
const FAILED_AUTH_LIMIT: usize = 30;
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Rules the fake breaks on purpose.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Replays without `Idempotent-Replayed: true`.
    pub no_replay_header: bool,
    /// Echoes any X-Request-ID, however it looks.
    pub echo_any_request_id: bool,
    /// Never throttles failed logins.
    pub no_throttle: bool,
    /// No Cache-Control on errors.
    pub no_store_only_on_success: bool,
    /// Accepts any offset.
    pub no_offset_cap: bool,
}

struct Pass {
    chain: String,
    json: Value,
    from: i64,
    until: i64,
    cancelled_at: Option<i64>,
}

#[derive(Default)]
struct State {
    passes: Vec<Pass>,
    checkins: HashMap<String, Vec<Value>>,
    /// (chain, operation, key) → (request body, status, response body).
    keys: HashMap<(String, &'static str, String), (Value, u16, String)>,
    failures: HashMap<(IpAddr, String), Vec<Instant>>,
}

struct Fake {
    faults: Faults,
    state: Mutex<State>,
}

type Data = web::Data<Arc<Fake>>;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn envelope(status: u16, body: Value) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .content_type("application/json")
        .body(body.to_string())
}

fn bad_request(errors: Value) -> HttpResponse {
    envelope(
        400,
        json!({"message": "Bad Request", "cause": "badRequest", "errors": errors}),
    )
}

fn not_found(parameter: &str) -> HttpResponse {
    envelope(
        404,
        json!({"message": format!("{parameter} not found"), "cause": "entityNotFound", "parameter": parameter}),
    )
}

fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move || async move {
        let mut res = envelope(
            405,
            json!({"message": "Method not allowed", "cause": "methodNotAllowed"}),
        );
        res.headers_mut().insert(
            actix_web::http::header::ALLOW,
            HeaderValue::from_static(allow),
        );
        res
    })
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn chain_locations(chain: &str) -> &'static [&'static str] {
    match chain {
        CHAIN_A => &[LOC_A1, LOC_A2],
        CHAIN_B => &[LOC_B1],
        _ => &[],
    }
}

/// Chain-level authentication with the failed-login throttle of §7.
// A test double: the error is the response itself, boxing it would buy nothing.
#[allow(clippy::result_large_err)]
fn authenticate(fake: &Fake, req: &HttpRequest) -> Result<String, HttpResponse> {
    let id = header(req, "X-Chain-ID")
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let secret = header(req, "X-Chain-Secret")
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let (Some(id), Some(secret)) = (id, secret) else {
        let mut errors = serde_json::Map::new();
        if id.is_none() {
            errors.insert("X-Chain-ID".into(), json!("missing"));
        }
        if secret.is_none() {
            errors.insert("X-Chain-Secret".into(), json!("missing"));
        }
        return Err(bad_request(Value::Object(errors)));
    };
    let ip = req
        .peer_addr()
        .map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip());
    let mut state = fake.state.lock().expect("lock");
    let failures = state.failures.entry((ip, id.to_owned())).or_default();
    failures.retain(|t| t.elapsed() < Duration::from_secs(60));
    if !fake.faults.no_throttle && failures.len() > FAILED_AUTH_LIMIT {
        let mut res = envelope(
            429,
            json!({"message": "Too many failed logins", "cause": "rateLimitsExceeded"}),
        );
        res.headers_mut().insert(
            HeaderName::from_static("retry-after"),
            HeaderValue::from_static("60"),
        );
        return Err(res);
    }
    let expected = match id {
        CHAIN_A => Some(CHAIN_A_SECRET),
        CHAIN_B => Some(CHAIN_B_SECRET),
        _ => None,
    };
    let fault = match expected {
        None => Some("X-Chain-ID"),
        Some(s) if s != secret => Some("X-Chain-Secret"),
        Some(_) => None,
    };
    if let Some(at_fault) = fault {
        failures.push(Instant::now());
        return Err(envelope(
            401,
            json!({"message": format!("{at_fault} is invalid"), "cause": "unauthorizedAccess", "accessLevel": "chain"}),
        ));
    }
    Ok(id.to_owned())
}

fn status_of(pass: &Pass) -> &'static str {
    let t = now();
    if pass.cancelled_at.is_some() {
        "CANCELLED"
    } else if t >= pass.until {
        "EXPIRED"
    } else if t < pass.from {
        "UPCOMING"
    } else {
        "ACTIVE"
    }
}

fn shown(pass: &Pass) -> Value {
    let mut v = pass.json.clone();
    v["status"] = json!(status_of(pass));
    if let Some(at) = pass.cancelled_at {
        v["cancelledAt"] = json!(date::format(at));
    }
    v
}

/// The Idempotency-Key rules of §8 around `process`.
fn idempotent(
    fake: &Fake,
    req: &HttpRequest,
    chain: &str,
    operation: &'static str,
    body: &[u8],
    process: impl FnOnce(&mut State, &Value) -> (u16, String),
) -> HttpResponse {
    let parsed: Option<Value> = serde_json::from_slice(body).ok().filter(Value::is_object);
    let key = match req.headers().get("Idempotency-Key") {
        None => None,
        Some(v) => {
            let bytes = v.as_bytes();
            if bytes.is_empty()
                || bytes.len() > 255
                || !bytes.iter().all(|b| (0x20..=0x7e).contains(b))
            {
                return bad_request(json!({"Idempotency-Key": "wrongFormat"}));
            }
            Some(String::from_utf8_lossy(bytes).into_owned())
        }
    };
    let Some(parsed) = parsed else {
        return bad_request(json!({"body": "wrongFormat"}));
    };
    let mut state = fake.state.lock().expect("lock");
    let slot = key.map(|k| (chain.to_owned(), operation, k));
    if let Some(slot) = &slot {
        if let Some((stored_body, status, text)) = state.keys.get(slot) {
            if *stored_body != parsed {
                return envelope(
                    422,
                    json!({"message": "The key was used with another body", "cause": "idempotencyKeyReused", "reason": "idempotencyKeyReused"}),
                );
            }
            let mut res = HttpResponse::build(
                actix_web::http::StatusCode::from_u16(*status).expect("status"),
            );
            res.content_type("application/json");
            if !fake.faults.no_replay_header {
                res.insert_header(("Idempotent-Replayed", "true"));
            }
            return res.body(text.clone());
        }
    }
    let (status, text) = process(&mut state, &parsed);
    if let Some(slot) = slot {
        if status == 201 || status == 422 {
            state.keys.insert(slot, (parsed, status, text.clone()));
        }
    }
    let mut res =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"));
    if status == 201 && operation == "create" {
        if let Some(id) = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["guestPassId"].as_str().map(str::to_owned))
        {
            res.insert_header(("Location", format!("/members/v1.0/guest-passes/{id}")));
        }
    }
    res.content_type("application/json").body(text)
}

fn error_text(status: u16, body: Value) -> (u16, String) {
    (status, body.to_string())
}

async fn create(req: HttpRequest, body: web::Bytes, fake: Data) -> HttpResponse {
    let chain = match authenticate(&fake, &req) {
        Ok(c) => c,
        Err(res) => return res,
    };
    idempotent(&fake, &req, &chain.clone(), "create", &body, |state, b| {
        let text = |k: &str| {
            b.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or("")
        };
        let mut errors = serde_json::Map::new();
        for field in ["locationId", "firstName", "lastName", "email"] {
            if text(field).is_empty() {
                errors.insert(field.into(), json!("missing"));
            }
        }
        let from = date::parse_strict(text("validFrom"));
        let until = date::parse_strict(text("validUntil"));
        if from.is_none() {
            errors.insert("validFrom".into(), json!("wrongFormat"));
        }
        if until.is_none() {
            errors.insert("validUntil".into(), json!("wrongFormat"));
        }
        if !errors.is_empty() {
            return error_text(
                400,
                json!({"message": "Bad Request", "cause": "badRequest", "errors": errors}),
            );
        }
        let (from, until) = (from.unwrap_or(0), until.unwrap_or(0));
        let location = text("locationId");
        if !chain_locations(&chain).contains(&location) {
            return error_text(
                404,
                json!({"message": "no such location", "cause": "entityNotFound", "parameter": "locationId"}),
            );
        }
        let email = text("email").to_lowercase();
        let taken = state.passes.iter().any(|p| {
            p.cancelled_at.is_none()
                && p.json["locationId"] == json!(location)
                && p.json["email"].as_str().unwrap_or("").to_lowercase() == email
                && p.from < until
                && from < p.until
        });
        if taken {
            return error_text(
                422,
                json!({"message": "already created", "cause": "guestPassAlreadyCreated", "reason": "guestPassAlreadyCreated"}),
            );
        }
        let id = uuid::Uuid::new_v4();
        let code: String = id
            .as_bytes()
            .iter()
            .take(10)
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        let json = json!({
            "guestPassId": id.to_string(),
            "locationId": location,
            "firstName": text("firstName"),
            "lastName": text("lastName"),
            "email": text("email"),
            "validFrom": date::format(from),
            "validUntil": date::format(until),
            "checkinCode": code,
            "createdAt": date::format(now()),
        });
        let pass = Pass {
            chain: chain.clone(),
            json,
            from,
            until,
            cancelled_at: None,
        };
        let shown = shown(&pass);
        state.passes.push(pass);
        (201, shown.to_string())
    })
}

async fn checkin(req: HttpRequest, body: web::Bytes, fake: Data) -> HttpResponse {
    let chain = match authenticate(&fake, &req) {
        Ok(c) => c,
        Err(res) => return res,
    };
    idempotent(&fake, &req, &chain.clone(), "checkin", &body, |state, b| {
        let code = b["checkinCode"].as_str().unwrap_or("");
        let location = b["locationId"].as_str().unwrap_or("");
        let Some(pass) = state
            .passes
            .iter()
            .find(|p| p.chain == chain && p.json["checkinCode"] == json!(code))
        else {
            return error_text(
                404,
                json!({"message": "no such code", "cause": "entityNotFound", "parameter": "checkinCode"}),
            );
        };
        if !chain_locations(&chain).contains(&location) {
            return error_text(
                404,
                json!({"message": "no such location", "cause": "entityNotFound", "parameter": "locationId"}),
            );
        }
        let reason = match status_of(pass) {
            "CANCELLED" => Some("guestPassCancelled"),
            "EXPIRED" => Some("guestPassExpired"),
            "UPCOMING" => Some("guestPassNotYetValid"),
            _ if pass.json["locationId"] != json!(location) => Some("wrongLocation"),
            _ => None,
        };
        if let Some(reason) = reason {
            return error_text(
                422,
                json!({"message": "check-in failed", "cause": "checkinFailed", "reason": reason}),
            );
        }
        let id = pass.json["guestPassId"].as_str().unwrap_or("").to_owned();
        let visit = json!({
            "checkinId": uuid::Uuid::new_v4().to_string(),
            "guestPassId": id,
            "locationId": location,
            "checkedInAt": date::format(now()),
        });
        state.checkins.entry(id).or_default().push(visit.clone());
        (201, visit.to_string())
    })
}

async fn search(req: HttpRequest, fake: Data) -> HttpResponse {
    let chain = match authenticate(&fake, &req) {
        Ok(c) => c,
        Err(res) => return res,
    };
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let number = |name: &str, default: i64, max: i64, min: i64| match query.get(name) {
        None => Ok(default),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(_) => Err("outOfRange"),
            Err(_)
                if !v.is_empty()
                    && v.trim_start_matches('-')
                        .bytes()
                        .all(|b| b.is_ascii_digit()) =>
            {
                Err("outOfRange")
            }
            Err(_) => Err("wrongFormat"),
        },
    };
    let max_offset = if fake.faults.no_offset_cap {
        i64::MAX
    } else {
        10_000
    };
    let (limit, offset) = match (
        number("limit", 20, 100, 1),
        number("offset", 0, max_offset, 0),
    ) {
        (Ok(l), Ok(o)) => (l, o),
        (l, o) => {
            let mut errors = serde_json::Map::new();
            if let Err(r) = l {
                errors.insert("limit".into(), json!(r));
            }
            if let Err(r) = o {
                errors.insert("offset".into(), json!(r));
            }
            return bad_request(Value::Object(errors));
        }
    };
    let state = fake.state.lock().expect("lock");
    let email = query.get("email").map(|e| e.to_lowercase());
    let mut found: Vec<Value> = state
        .passes
        .iter()
        .filter(|p| p.chain == chain)
        .filter(|p| {
            email
                .as_ref()
                .is_none_or(|e| p.json["email"].as_str().unwrap_or("").to_lowercase() == *e)
        })
        .map(shown)
        .collect();
    found.reverse();
    let total = found.len();
    let page: Vec<Value> = found
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    envelope(
        200,
        json!({"guestPasses": page, "limit": limit, "offset": offset, "total": total}),
    )
}

async fn get(req: HttpRequest, id: web::Path<String>, fake: Data) -> HttpResponse {
    let chain = match authenticate(&fake, &req) {
        Ok(c) => c,
        Err(res) => return res,
    };
    let state = fake.state.lock().expect("lock");
    match state
        .passes
        .iter()
        .find(|p| p.chain == chain && p.json["guestPassId"] == json!(id.as_str()))
    {
        Some(p) => envelope(200, shown(p)),
        None => not_found("guestPassId"),
    }
}

async fn cancel(req: HttpRequest, id: web::Path<String>, fake: Data) -> HttpResponse {
    let chain = match authenticate(&fake, &req) {
        Ok(c) => c,
        Err(res) => return res,
    };
    let mut state = fake.state.lock().expect("lock");
    match state
        .passes
        .iter_mut()
        .find(|p| p.chain == chain && p.json["guestPassId"] == json!(id.as_str()))
    {
        Some(p) => {
            p.cancelled_at.get_or_insert(now());
            HttpResponse::NoContent().finish()
        }
        None => not_found("guestPassId"),
    }
}

async fn list_checkins(req: HttpRequest, id: web::Path<String>, fake: Data) -> HttpResponse {
    let chain = match authenticate(&fake, &req) {
        Ok(c) => c,
        Err(res) => return res,
    };
    let state = fake.state.lock().expect("lock");
    if !state
        .passes
        .iter()
        .any(|p| p.chain == chain && p.json["guestPassId"] == json!(id.as_str()))
    {
        return not_found("guestPassId");
    }
    let visits = state.checkins.get(id.as_str()).cloned().unwrap_or_default();
    envelope(200, json!({"checkins": visits}))
}

fn well_formed_request_id(v: &str) -> bool {
    (1..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// Starts the fake on a random port; returns its base URL.
pub fn spawn(faults: Faults) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let fake = Arc::new(Fake {
        faults,
        state: Mutex::new(State::default()),
    });
    let server = HttpServer::new(move || {
        let health = || web::get().to(|| async { envelope(200, json!({"status": "UP", "database": "UP"})) });
        App::new()
            .app_data(web::Data::new(fake.clone()))
            .wrap_fn(move |req, srv| {
                let sent = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let under_base = req.path().starts_with("/members/v1.0");
                let fut = srv.call(req);
                async move {
                    let mut res = fut.await?;
                    let id = match sent {
                        Some(v) if faults.echo_any_request_id || well_formed_request_id(&v) => v,
                        _ => uuid::Uuid::new_v4().to_string(),
                    };
                    let headers = res.headers_mut();
                    if let Ok(v) = HeaderValue::from_str(&id) {
                        headers.insert(HeaderName::from_static("x-request-id"), v);
                    }
                    let success = res.status().is_success();
                    if under_base && (success || !faults.no_store_only_on_success) {
                        res.headers_mut().insert(
                            actix_web::http::header::CACHE_CONTROL,
                            HeaderValue::from_static("no-store"),
                        );
                    }
                    Ok(res)
                }
            })
            .service(
                web::resource("/health")
                    .route(health())
                    .default_service(method_not_allowed("GET")),
            )
            .service(
                web::resource("/readyz")
                    .route(health())
                    .default_service(method_not_allowed("GET")),
            )
            .service(
                web::resource("/livez")
                    .route(web::get().to(|| async { envelope(200, json!({"status": "UP"})) }))
                    .default_service(method_not_allowed("GET")),
            )
            .service(
                web::scope("/members/v1.0")
                    .service(
                        web::resource("/guest-passes")
                            .route(web::post().to(create))
                            .route(web::get().to(search))
                            .default_service(method_not_allowed("GET, POST")),
                    )
                    .service(
                        web::resource("/guest-passes/{id}")
                            .route(web::get().to(get))
                            .route(web::delete().to(cancel))
                            .default_service(method_not_allowed("GET, DELETE")),
                    )
                    .service(
                        web::resource("/guest-passes/{id}/checkins")
                            .route(web::get().to(list_checkins))
                            .default_service(method_not_allowed("GET")),
                    )
                    .service(
                        web::resource("/checkins")
                            .route(web::post().to(checkin))
                            .default_service(method_not_allowed("POST")),
                    ),
            )
            .default_service(web::to(|| async {
                envelope(
                    404,
                    json!({"message": "Requested endpoint is not supported", "cause": "resourceNotFound"}),
                )
            }))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    actix_web::rt::spawn(server);
    format!("http://127.0.0.1:{port}/members/v1.0")
}
