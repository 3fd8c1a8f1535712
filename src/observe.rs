//! The request-observing middleware: a request id on every response (the
//! client's, when it sent a sane one), one log line per request without
//! query string or body (they carry personal data), the request metrics,
//! and a last guard that no framework-made error leaves without the envelope.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use crate::domain::Reason;
use crate::error::ApiError;
use crate::routes::Matched;
use crate::state::AppState;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.to_str().is_ok())
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&crate::domain::random_uuid())
                .unwrap_or(HeaderValue::from_static("-"))
        });
    let method = req.method().clone();
    let path = req.path().to_owned();
    let mut response = match next.call(req).await {
        Ok(response) => ensure_envelope(response.map_into_boxed_body()),
        Err(error) => {
            // A service that failed instead of answering (only framework
            // internals do): actix renders what we return, so return the
            // envelope for its status, and keep the detail for the log.
            log::error!("{} {method} {path}: {error}", id_text(&request_id));
            return Err(envelope_for(error.as_response_error().status_code()).into());
        }
    };
    response
        .headers_mut()
        .insert(X_REQUEST_ID, request_id.clone());
    let status = response.status();
    let elapsed = started.elapsed().as_secs_f64();
    let elapsed_ms = elapsed * 1000.0;
    let request = response.request();
    if let Some(state) = request.app_data::<web::Data<AppState>>() {
        let operation = request
            .app_data::<Matched>()
            .map_or("unmatched", |m| m.operation(&method));
        state.metrics.record(operation, status.as_u16(), elapsed);
    }
    let id = id_text(&request_id);
    if status.is_server_error() {
        let detail = response
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_default();
        log::error!(
            "{id} {method} {path} {} {elapsed_ms:.1}ms {detail}",
            status.as_u16()
        );
    } else {
        log::info!("{id} {method} {path} {} {elapsed_ms:.1}ms", status.as_u16());
    }
    Ok(response)
}

fn id_text(value: &HeaderValue) -> &str {
    value.to_str().unwrap_or("-")
}

/// Framework defaults never leak: an error response that is not JSON is
/// replaced by the envelope for its status.
fn ensure_envelope(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return response;
    }
    let (req, _) = response.into_parts();
    ServiceResponse::new(req, envelope_for(status).error_response())
}

/// The blueprint's error for a status the framework chose.
fn envelope_for(status: StatusCode) -> ApiError {
    match status.as_u16() {
        404 => ApiError::ResourceNotFound,
        405 => ApiError::MethodNotAllowed {
            allow: String::new(),
        },
        413 => ApiError::bad_request("body", Reason::TooLarge),
        415 => ApiError::bad_request("Content-Type", Reason::WrongFormat),
        400..=499 => ApiError::bad_request("body", Reason::WrongFormat),
        503 => ApiError::Unavailable(format!("framework answered {status}")),
        _ => ApiError::Internal(format!("framework answered {status}")),
    }
}
