//! `ApiError`: every cause of the blueprint, and the only place that writes
//! its error envelopes.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::Reason;

/// The authentication level a 401 names in `accessLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLevel {
    Client,
    Chain,
    Location,
}

/// Parameter name → reason, reported all together in one 400.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Reason>);

impl FieldErrors {
    pub fn add(&mut self, parameter: &str, reason: Reason) {
        self.0.entry(parameter.to_owned()).or_insert(reason);
    }

    /// Records the reason of a failed parse and keeps the value of a good one,
    /// so every field of a body is checked before anything is reported.
    pub fn check<T>(&mut self, parameter: &str, parsed: Result<T, Reason>) -> Option<T> {
        parsed.map_err(|reason| self.add(parameter, reason)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::BadRequest(self))
        }
    }

    pub fn single(parameter: &str, reason: Reason) -> ApiError {
        let mut errors = Self::default();
        errors.add(parameter, reason);
        ApiError::BadRequest(errors)
    }
}

/// The 422 cause/reason pairs; only those the contract defines per operation exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unprocessable {
    GuestPassAlreadyCreated,
    CheckinFailed(CheckinFailure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CheckinFailure {
    GuestPassCancelled,
    GuestPassExpired,
    GuestPassNotYetValid,
    WrongLocation,
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
    MethodNotAllowed { allow: &'static str },
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
    cause: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a BTreeMap<String, Reason>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_level: Option<AccessLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'a str>,
}

impl Envelope<'_> {
    fn new<'a>(message: &'a str, cause: &'a str) -> Envelope<'a> {
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
        let unauthorized;
        let envelope = match self {
            Self::BadRequest(errors) => Envelope {
                errors: Some(&errors.0),
                ..Envelope::new("Bad Request", "badRequest")
            },
            Self::Unauthorized { level, .. } => {
                unauthorized = self.to_string();
                Envelope {
                    access_level: Some(*level),
                    ..Envelope::new(&unauthorized, "unauthorizedAccess")
                }
            }
            Self::EntityNotFound { parameter, message } => Envelope {
                parameter: Some(parameter),
                ..Envelope::new(message, "entityNotFound")
            },
            Self::ResourceNotFound => {
                Envelope::new("Requested endpoint is not supported", "resourceNotFound")
            }
            Self::MethodNotAllowed { .. } => Envelope::new(
                "The method is not supported for this endpoint; see the Allow header",
                "methodNotAllowed",
            ),
            Self::Unprocessable(Unprocessable::GuestPassAlreadyCreated) => Envelope {
                reason: Some("guestPassAlreadyCreated"),
                ..Envelope::new(
                    "Cannot create a guest pass for this email at this location: \
                     a guest pass overlapping the period was already created",
                    "guestPassAlreadyCreated",
                )
            },
            Self::Unprocessable(Unprocessable::CheckinFailed(failure)) => {
                let (reason, message) = match failure {
                    CheckinFailure::GuestPassCancelled => (
                        "guestPassCancelled",
                        "Cannot check in: the guest pass was cancelled",
                    ),
                    CheckinFailure::GuestPassExpired => (
                        "guestPassExpired",
                        "Cannot check in: the guest pass has expired",
                    ),
                    CheckinFailure::GuestPassNotYetValid => (
                        "guestPassNotYetValid",
                        "Cannot check in: the guest pass is not valid yet",
                    ),
                    CheckinFailure::WrongLocation => (
                        "wrongLocation",
                        "Cannot check in: the guest pass is for another location",
                    ),
                };
                Envelope {
                    reason: Some(reason),
                    ..Envelope::new(message, "checkinFailed")
                }
            }
            Self::RateLimited { .. } => Envelope::new(
                "Rate limit exceeded. Retry after the number of seconds in the Retry-After header",
                "rateLimitsExceeded",
            ),
            Self::Internal(_) => Envelope::new("Internal Server Error", "internalUnexpectedError"),
            Self::Unavailable(_) => Envelope::new(
                "The service is temporarily unavailable; retry with exponential backoff",
                "systemUnavailable",
            ),
            Self::DatabaseDown => Envelope {
                status: Some("DOWN"),
                database: Some("DOWN"),
                ..Envelope::new("The database does not answer", "systemUnavailable")
            },
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, *allow));
            }
            Self::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        response.json(envelope)
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
