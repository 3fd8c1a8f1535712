//! HTTP handlers, one module per endpoint family. Each reads like the
//! contract: authenticate → parse → store → respond.

pub mod checkins;
pub mod fallback;
pub mod guest_passes;
pub mod service;

use crate::error::ApiError;

/// A path's `guestPassId`: only the canonical lower-case UUID form names a
/// pass; anything else cannot exist and is 404 without a database lookup.
pub fn guest_pass_id(raw: &str) -> Result<String, ApiError> {
    match uuid::Uuid::try_parse(raw) {
        Ok(id) if id.hyphenated().to_string() == raw => Ok(raw.to_owned()),
        _ => Err(ApiError::guest_pass_not_found(raw)),
    }
}
