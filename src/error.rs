//! `ApiError`: every cause of the blueprint, and the only place that writes
//! its error envelopes. Cause and reason strings are the serde names of the
//! enums below, never typed by hand.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::{CheckinFailure, FieldErrors, Reason};
use crate::store::StoreError;

/// The authentication level a 401 names in `accessLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLevel {
    Client,
    Chain,
    Location,
}

/// The blueprint's `cause` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Cause {
    BadRequest,
    UnauthorizedAccess,
    EntityNotFound,
    ResourceNotFound,
    MethodNotAllowed,
    GuestPassAlreadyCreated,
    CheckinFailed,
    IdempotencyKeyReused,
    RateLimitsExceeded,
    InternalUnexpectedError,
    SystemUnavailable,
}

/// The 422 cause/reason pairs; only those the contract defines per operation exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unprocessable {
    GuestPassAlreadyCreated,
    CheckinFailed(CheckinFailure),
    /// An `Idempotency-Key` sent again with another body (contract §8).
    IdempotencyKeyReused,
}

/// A 422's `reason`: for a cause without sub-reasons, the cause itself.
#[derive(Serialize)]
#[serde(untagged)]
enum UnprocessableReason {
    Cause(Cause),
    Checkin(CheckinFailure),
}

impl Unprocessable {
    fn cause(self) -> Cause {
        match self {
            Self::GuestPassAlreadyCreated => Cause::GuestPassAlreadyCreated,
            Self::CheckinFailed(_) => Cause::CheckinFailed,
            Self::IdempotencyKeyReused => Cause::IdempotencyKeyReused,
        }
    }

    fn reason(self) -> UnprocessableReason {
        match self {
            Self::CheckinFailed(failure) => UnprocessableReason::Checkin(failure),
            other => UnprocessableReason::Cause(other.cause()),
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::GuestPassAlreadyCreated => {
                "Cannot create a guest pass for this email at this location: \
                 a guest pass overlapping the period was already created"
            }
            Self::CheckinFailed(CheckinFailure::GuestPassCancelled) => {
                "Cannot check in: the guest pass was cancelled"
            }
            Self::CheckinFailed(CheckinFailure::GuestPassExpired) => {
                "Cannot check in: the guest pass has expired"
            }
            Self::CheckinFailed(CheckinFailure::GuestPassNotYetValid) => {
                "Cannot check in: the guest pass is not valid yet"
            }
            Self::CheckinFailed(CheckinFailure::WrongLocation) => {
                "Cannot check in: the guest pass is for another location"
            }
            Self::IdempotencyKeyReused => {
                "This Idempotency-Key was already used with another request body"
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {0:?}")]
    BadRequest(FieldErrors),
    #[error("{header} is invalid")]
    Unauthorized {
        level: AccessLevel,
        header: &'static str,
    },
    #[error("{message}")]
    EntityNotFound {
        parameter: &'static str,
        message: String,
    },
    #[error("no such endpoint")]
    ResourceNotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("unprocessable: {0:?}")]
    Unprocessable(Unprocessable),
    #[error("rate limit exceeded")]
    RateLimited { retry_after_secs: u64 },
    /// The detail is for the log; the client gets the blueprint's generic message.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// `/health` when the database does not answer: 503 with `status: DOWN`.
    #[error("database down")]
    DatabaseDown,
}

impl ApiError {
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    pub fn not_found(parameter: &'static str, message: impl Into<String>) -> Self {
        Self::EntityNotFound {
            parameter,
            message: message.into(),
        }
    }

    pub fn guest_pass_not_found(id: &str) -> Self {
        Self::not_found(
            "guestPassId",
            format!("Guest pass '{}' is not found", clip(id)),
        )
    }

    pub fn location_not_found(id: &str) -> Self {
        Self::not_found(
            "locationId",
            format!("Location '{}' is not found", clip(id)),
        )
    }

    /// 429 `rateLimitsExceeded` with `Retry-After` in whole seconds, rounded
    /// up and never 0: "retry now" would only bounce again.
    pub fn retry_after(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self::RateLimited {
            retry_after_secs: secs.max(1),
        }
    }

    pub fn bad_request(parameter: &str, reason: Reason) -> Self {
        Self::BadRequest(FieldErrors::single(parameter, reason))
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::BadRequest(errors)
    }
}

impl From<Unprocessable> for ApiError {
    fn from(unprocessable: Unprocessable) -> Self {
        Self::Unprocessable(unprocessable)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(detail) => Self::Unavailable(detail),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Echoing a multi-kilobyte path segment back would only help an attacker.
fn clip(id: &str) -> String {
    match id.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &id[..end]),
        None => id.to_owned(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    message: &'a str,
    cause: Cause,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a std::collections::BTreeMap<String, Reason>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_level: Option<AccessLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<UnprocessableReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'a str>,
}

impl Envelope<'_> {
    fn new(message: &str, cause: Cause) -> Envelope<'_> {
        Envelope {
            message,
            cause,
            errors: None,
            access_level: None,
            parameter: None,
            reason: None,
            status: None,
            database: None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::EntityNotFound { .. } | Self::ResourceNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable(_) | Self::DatabaseDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            Self::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        response
            .content_type("application/json")
            .body(self.envelope_bytes())
    }
}

impl ApiError {
    /// The envelope, as the response body carries it (an idempotent replay
    /// stores and sends exactly these bytes).
    pub fn envelope_bytes(&self) -> Vec<u8> {
        let unauthorized;
        let envelope = match self {
            Self::BadRequest(errors) => Envelope {
                errors: Some(errors.as_map()),
                ..Envelope::new("Bad Request", Cause::BadRequest)
            },
            Self::Unauthorized { level, .. } => {
                unauthorized = self.to_string();
                Envelope {
                    access_level: Some(*level),
                    ..Envelope::new(&unauthorized, Cause::UnauthorizedAccess)
                }
            }
            Self::EntityNotFound { parameter, message } => Envelope {
                parameter: Some(parameter),
                ..Envelope::new(message, Cause::EntityNotFound)
            },
            Self::ResourceNotFound => Envelope::new(
                "Requested endpoint is not supported",
                Cause::ResourceNotFound,
            ),
            Self::MethodNotAllowed { .. } => Envelope::new(
                "The method is not supported for this endpoint; see the Allow header",
                Cause::MethodNotAllowed,
            ),
            Self::Unprocessable(what) => Envelope {
                reason: Some(what.reason()),
                ..Envelope::new(what.message(), what.cause())
            },
            Self::RateLimited { .. } => Envelope::new(
                "Rate limit exceeded. Retry after the number of seconds in the Retry-After header",
                Cause::RateLimitsExceeded,
            ),
            Self::Internal(_) => {
                Envelope::new("Internal Server Error", Cause::InternalUnexpectedError)
            }
            Self::Unavailable(_) => Envelope::new(
                "The service is temporarily unavailable; retry with exponential backoff",
                Cause::SystemUnavailable,
            ),
            Self::DatabaseDown => Envelope {
                status: Some("DOWN"),
                database: Some("DOWN"),
                ..Envelope::new("The database does not answer", Cause::SystemUnavailable)
            },
        };
        // Serializing plain strings and enums cannot fail.
        serde_json::to_vec(&envelope).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    async fn body_of(error: ApiError) -> String {
        let bytes = to_bytes(error.error_response().into_body()).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn bad_request_lists_every_parameter() {
        let mut errors = FieldErrors::default();
        errors.add("locationId", Reason::Missing);
        errors.add("firstName", Reason::TooLong);
        assert_eq!(
            body_of(ApiError::BadRequest(errors)).await,
            r#"{"message":"Bad Request","cause":"badRequest","errors":{"firstName":"tooLong","locationId":"missing"}}"#
        );
    }

    #[actix_web::test]
    async fn unauthorized_names_the_header_and_level() {
        let e = ApiError::Unauthorized {
            level: AccessLevel::Location,
            header: "X-Location-Secret",
        };
        assert_eq!(
            body_of(e).await,
            r#"{"message":"X-Location-Secret is invalid","cause":"unauthorizedAccess","accessLevel":"location"}"#
        );
    }

    #[actix_web::test]
    async fn unprocessable_pairs_carry_their_cause_and_reason() {
        assert_eq!(
            body_of(Unprocessable::GuestPassAlreadyCreated.into()).await,
            r#"{"message":"Cannot create a guest pass for this email at this location: a guest pass overlapping the period was already created","cause":"guestPassAlreadyCreated","reason":"guestPassAlreadyCreated"}"#
        );
        assert_eq!(
            body_of(Unprocessable::CheckinFailed(CheckinFailure::WrongLocation).into()).await,
            r#"{"message":"Cannot check in: the guest pass is for another location","cause":"checkinFailed","reason":"wrongLocation"}"#
        );
    }

    #[actix_web::test]
    async fn internal_detail_never_reaches_the_client() {
        let body = body_of(ApiError::internal("disk I/O error at /secret/path")).await;
        assert_eq!(
            body,
            r#"{"message":"Internal Server Error","cause":"internalUnexpectedError"}"#
        );
    }

    #[test]
    fn long_ids_are_clipped_in_messages() {
        let e = ApiError::guest_pass_not_found(&"x".repeat(5000));
        assert!(e.to_string().len() < 120);
    }
}
