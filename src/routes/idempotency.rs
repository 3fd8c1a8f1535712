//! `Idempotency-Key` on the wire (contract §8): the header, the answers a
//! keyed request gets back, and how a stored answer is sent again.

use std::sync::atomic::Ordering;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use crate::domain::{request_hash, FieldErrors, IdempotencyKey, KeyedOperation, UtcTimestamp};
use crate::error::{ApiError, Unprocessable};
use crate::extract::Caller;
use crate::state::AppState;
use crate::store::rows::{Keyed, KeyedRequest, StoredAnswer};

/// The response header of an answer sent again.
const REPLAYED: &str = "Idempotent-Replayed";

/// The request's `Idempotency-Key`, if it sent one; a malformed one is
/// reported in `errors` with the request's other parameters.
pub fn key(req: &HttpRequest, errors: &mut FieldErrors) -> Option<IdempotencyKey> {
    let raw = req.headers().get(IdempotencyKey::HEADER)?;
    errors.check(
        IdempotencyKey::HEADER,
        IdempotencyKey::parse(raw.as_bytes()),
    )
}

/// What a keyed request is, for the store.
pub fn request(
    caller: &Caller,
    operation: KeyedOperation,
    key: IdempotencyKey,
    body: &Map<String, Value>,
    now: UtcTimestamp,
    state: &AppState,
) -> KeyedRequest {
    let ttl = i64::try_from(state.idempotency_ttl.as_secs()).unwrap_or(i64::MAX);
    KeyedRequest {
        principal: caller.principal.clone(),
        operation,
        key,
        request_hash: request_hash(body),
        now,
        live_after: now.plus_seconds(-ttl),
    }
}

/// A keyed write is looked up inside its own write (a replay or 422 comes
/// from there), so a fresh key costs no extra read. Only when the write
/// cannot run at all (its location has left the caller's scope since) is
/// the key looked up on its own: a retry of a write that ran still gets the
/// stored answer, instead of `error`.
pub async fn replay_or(
    state: &AppState,
    keyed: Option<&KeyedRequest>,
    error: ApiError,
) -> Result<HttpResponse, ApiError> {
    let Some(keyed) = keyed else {
        return Err(error);
    };
    match state.store.find_answer(keyed.clone()).await? {
        Some((hash, answer)) if hash == keyed.request_hash => Ok(send(&answer, true, state)),
        Some(_) => Err(Unprocessable::IdempotencyKeyReused.into()),
        None => Err(error),
    }
}

/// The response to a keyed write: what ran and was stored, or what was
/// stored before. `unstored` answers a run whose outcome is not stored.
pub fn answer<T>(
    keyed: Keyed<T>,
    state: &AppState,
    unstored: impl FnOnce(T) -> Result<HttpResponse, ApiError>,
) -> Result<HttpResponse, ApiError> {
    match keyed {
        Keyed::Ran {
            answer: Some(answer),
            ..
        } => Ok(send(&answer, false, state)),
        Keyed::Ran {
            value,
            answer: None,
        } => unstored(value),
        Keyed::Replay(answer) => Ok(send(&answer, true, state)),
        Keyed::Reused => Err(Unprocessable::IdempotencyKeyReused.into()),
    }
}

/// An answer as it is stored, for a body and a status.
pub fn json_answer(status: StatusCode, body: Vec<u8>, location: Option<String>) -> StoredAnswer {
    StoredAnswer {
        status: status.as_u16(),
        body,
        location,
    }
}

/// A 4xx as it is stored: the envelope's exact bytes.
pub fn error_answer(error: &ApiError) -> StoredAnswer {
    use actix_web::ResponseError;
    json_answer(error.status_code(), error.envelope_bytes(), None)
}

/// Sends `answer`'s exact bytes (again, when `replayed`).
pub fn send(answer: &StoredAnswer, replayed: bool, state: &AppState) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.content_type("application/json");
    if let Some(location) = &answer.location {
        response.insert_header((header::LOCATION, location.as_str()));
    }
    if replayed {
        state
            .metrics
            .idempotent_replays
            .fetch_add(1, Ordering::Relaxed);
        response.insert_header((REPLAYED, "true"));
    }
    response.body(answer.body.clone())
}
