//! The request-observing middleware: a request id on every response (the
//! client's, when it sent a sane one), one log line per request without
//! query string or body (they carry personal data), the request metrics,
//! and a last guard that no framework-made error leaves without the envelope.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, ResponseError};

use crate::domain::Reason;
use crate::error::ApiError;
use crate::routes::Matched;
use crate::state::AppState;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// A logged path is cut here: a 60 KB path would otherwise be 60 KB of log
/// line per request.
const MAX_LOGGED_PATH: usize = 512;

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    // Only an id of the contract's alphabet is echoed or logged: anything
    // else could forge log lines or headers; it is replaced, never repeated.
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| is_request_id(v.as_bytes()))
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&crate::domain::random_uuid())
                .unwrap_or(HeaderValue::from_static("-"))
        });
    let method = req.method().clone();
    let path = clip_path(req.path(), MAX_LOGGED_PATH).to_owned();
    let no_store = req
        .app_data::<web::Data<AppState>>()
        .is_none_or(|state| is_under(req.path(), &state.base_path));
    let mut response = match next.call(req).await {
        Ok(response) => ensure_envelope(response.map_into_boxed_body()),
        Err(error) => {
            // A service that failed instead of answering (only framework
            // internals do): actix renders what we return, so return the
            // envelope for its status, with the headers every answer has,
            // and keep the detail for the log.
            log::error!("{} {method} {path}: {error}", id_text(&request_id));
            let mut answer = envelope_for(error.as_response_error().status_code()).error_response();
            answer.headers_mut().insert(X_REQUEST_ID, request_id);
            if no_store {
                answer
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            return Err(InternalError::from_response(error.to_string(), answer).into());
        }
    };
    response
        .headers_mut()
        .insert(X_REQUEST_ID, request_id.clone());
    if no_store {
        // Answers under the base path hold personal data: no cache keeps them.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
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

/// `[A-Za-z0-9._:-]{1,128}` (contract §9).
fn is_request_id(value: &[u8]) -> bool {
    (1..=128).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// At most `max` bytes of `path`, cut at a character boundary.
fn clip_path(path: &str, max: usize) -> &str {
    if path.len() <= max {
        return path;
    }
    let mut end = max;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

/// Whether `path` is the base path or below it (`/members/v1.0x` is not).
fn is_under(path: &str, base: &str) -> bool {
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_of_the_contract_alphabet_only() {
        assert!(is_request_id(b"abc-DEF_1.2:3"));
        assert!(is_request_id(&[b'a'; 128]));
        assert!(!is_request_id(&[b'a'; 129]));
        assert!(!is_request_id(b""));
        assert!(!is_request_id(b"fake-id GET /x 200"));
        assert!(!is_request_id(b"a\tb"));
        assert!(!is_request_id(b"a/b"));
        assert!(!is_request_id("\u{e9}".as_bytes()));
    }

    #[test]
    fn paths_are_clipped_on_a_character_boundary() {
        assert_eq!(clip_path("/short", 512), "/short");
        let long = format!("/{}", "\u{e9}".repeat(600));
        let clipped = clip_path(&long, 512);
        assert!(clipped.len() <= 512 && clipped.len() >= 510);
        assert!(long.starts_with(clipped));
        assert_eq!(clip_path(&"x".repeat(1000), 512).len(), 512);
    }

    #[test]
    fn under_the_base_path_means_at_or_below_it() {
        assert!(is_under("/members/v1.0", "/members/v1.0"));
        assert!(is_under("/members/v1.0/guest-passes", "/members/v1.0"));
        assert!(!is_under("/members/v1.0x", "/members/v1.0"));
        assert!(!is_under("/health", "/members/v1.0"));
        assert!(is_under("/health", ""));
    }
}
