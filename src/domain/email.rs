//! `Email`: a trimmed, syntactically valid address of at most 254 characters.

use serde_json::Value;
use validator::ValidateEmail;

use super::{BoundedText, Reason};

#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(transparent)]
pub struct Email(String);

/// The form of an address compared for "the same person": lower-cased, so
/// the contract's 422 rule and search match addresses case-insensitively.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct EmailKey(String);

impl EmailKey {
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Email {
    pub fn parse(value: Option<&Value>) -> Result<Self, Reason> {
        let text = BoundedText::<254>::parse(value)?.into_string();
        if text.validate_email() {
            Ok(Self(text))
        } else {
            Err(Reason::WrongFormat)
        }
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> EmailKey {
        normalize(&self.0)
    }
}

/// The key of any text a caller sends as an address (search takes it as is).
pub fn normalize(email: &str) -> EmailKey {
    EmailKey(email.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_keys_them_case_insensitively() {
        let e = Email::parse(Some(&json!(" Jane.Doe+gp@Example.COM "))).unwrap();
        assert_eq!(e.as_str(), "Jane.Doe+gp@Example.COM");
        assert_eq!(e.key().as_str(), "jane.doe+gp@example.com");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "jane",
            "jane@",
            "@example.com",
            "jane doe@example.com",
            "jane@@x.com",
        ] {
            assert_eq!(
                Email::parse(Some(&json!(bad))),
                Err(Reason::WrongFormat),
                "{bad}"
            );
        }
    }

    #[test]
    fn length_is_checked_before_format() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(Some(&json!(long))), Err(Reason::TooLong));
        assert_eq!(Email::parse(Some(&json!(""))), Err(Reason::Missing));
        assert_eq!(Email::parse(Some(&json!(7))), Err(Reason::WrongFormat));
    }
}
