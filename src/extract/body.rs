//! `JsonBody`: a request body taken as it arrives and read as a JSON object
//! only when the handler asks, after the caller is authenticated, with the
//! contract's reasons for everything that can be wrong with it as a whole.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::config::defaults::BODY_TIMEOUT_SECS;
use crate::domain::{FieldErrors, Reason};
use crate::state::AppState;

/// The contract's body limit.
pub const MAX_BODY: usize = 64 * 1024;

pub struct JsonBody {
    req: HttpRequest,
    payload: Payload,
}

impl FromRequest for JsonBody {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(Ok(Self {
            req: req.clone(),
            payload: payload.take(),
        }))
    }
}

impl JsonBody {
    /// Reads the body within the configured body timeout: a client that
    /// trickles or stalls its upload gets `{"body": "wrongFormat"}` instead
    /// of holding a worker's slot.
    pub async fn object(self) -> Result<Map<String, Value>, FieldErrors> {
        let req = &self.req;
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
        let timeout = req
            .app_data::<web::Data<AppState>>()
            .map_or(Duration::from_secs(BODY_TIMEOUT_SECS), |state| {
                state.body_timeout
            });
        let capacity = declared.unwrap_or(1024).min(MAX_BODY as u64) as usize;
        let body = tokio::time::timeout(timeout, collect(self.payload, capacity))
            .await
            .map_err(|_| FieldErrors::single("body", Reason::WrongFormat))??;
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(FieldErrors::single("body", Reason::WrongFormat)),
        }
    }
}

async fn collect(mut payload: Payload, capacity: usize) -> Result<web::BytesMut, FieldErrors> {
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
