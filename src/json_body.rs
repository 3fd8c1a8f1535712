//! Reads a request body as a JSON object, with the contract's reasons for
//! everything that can be wrong with the request as a whole.

use std::time::Duration;

use actix_web::{web, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::domain::Reason;
use crate::error::{ApiError, FieldErrors};

/// The contract's body limit.
pub const MAX_BODY: usize = 64 * 1024;

/// Reads the body within `timeout`: a client that trickles or stalls its
/// upload gets `{"body": "wrongFormat"}` instead of holding a worker's slot.
pub async fn read_object(
    req: &HttpRequest,
    payload: web::Payload,
    timeout: Duration,
) -> Result<Map<String, Value>, ApiError> {
    match req.mime_type() {
        Ok(Some(mime)) if mime.essence_str() == "application/json" => {}
        Ok(None) if req.headers().get("content-type").is_none() => {
            return Err(FieldErrors::single("Content-Type", Reason::Missing))
        }
        _ => return Err(FieldErrors::single("Content-Type", Reason::WrongFormat)),
    }
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(FieldErrors::single("body", Reason::TooLarge));
    }
    let capacity = declared.unwrap_or(1024).min(MAX_BODY as u64) as usize;
    let body = tokio::time::timeout(timeout, collect(payload, capacity))
        .await
        .map_err(|_| FieldErrors::single("body", Reason::WrongFormat))??;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(FieldErrors::single("body", Reason::WrongFormat)),
    }
}

async fn collect(mut payload: web::Payload, capacity: usize) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::with_capacity(capacity);
    while let Some(chunk) = payload.next().await {
        // A broken or truncated upload is a body we could not read.
        let chunk = chunk.map_err(|_| FieldErrors::single("body", Reason::WrongFormat))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FieldErrors::single("body", Reason::TooLarge));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
