//! Domain types built once at the edge from request input; past the edge,
//! nothing can hold a value the contract forbids.

mod checkin_code;
mod email;
mod guest_pass;
pub mod period;
mod phone;
mod reason;
mod status;
mod text;
mod timestamp;

pub use checkin_code::{
    CheckinCode, ALPHABET as CHECKIN_CODE_ALPHABET, LENGTH as CHECKIN_CODE_LENGTH,
};
pub use email::{normalize as email_key, Email};
pub use guest_pass::NewGuestPass;
pub use period::GuestPassPeriod;
pub use phone::Phone;
pub use reason::Reason;
pub use status::GuestPassStatus;
pub use text::{BoundedText, LocationId, PersonName};
pub use timestamp::UtcTimestamp;
