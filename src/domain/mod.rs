//! Domain types built once at the edge from request input; past the edge,
//! nothing can hold a value the contract forbids. Stored values keep their
//! types down to the database (the store maps them to columns).

pub mod checkin;
mod checkin_code;
mod email;
mod field_errors;
mod guest_pass;
mod idempotency;
mod ids;
pub mod period;
mod phone;
mod reason;
mod scope;
mod search;
mod status;
mod text;
mod timestamp;

pub use checkin::CheckinFailure;
pub use checkin_code::{
    CheckinCode, ALPHABET as CHECKIN_CODE_ALPHABET, LENGTH as CHECKIN_CODE_LENGTH,
};
pub use email::{normalize as email_key, Email, EmailKey};
pub use field_errors::FieldErrors;
pub use guest_pass::NewGuestPass;
pub use idempotency::{request_hash, IdempotencyKey, KeyedOperation};
pub use ids::{random_uuid, CheckinId, GuestPassId};
pub use period::GuestPassPeriod;
pub use phone::Phone;
pub use reason::Reason;
pub use scope::{Location, PrincipalKind, Scope};
pub use search::{SearchFilter, MAX_OFFSET};
pub use status::GuestPassStatus;
pub use text::{BoundedText, CheckinCodeText, LocationId, PersonName, UserId};
pub use timestamp::UtcTimestamp;
