//! Trimmed, length-bounded text fields of a request body, and the reason order
//! the contract fixes for them.

use serde_json::Value;

use super::Reason;

/// A string field read from a JSON body: absent or `null` → `missing`; not a
/// string → `wrongFormat`; blank after trimming → `missing`; longer than `MAX`
/// characters → `tooLong`. The value is kept trimmed.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(transparent)]
pub struct BoundedText<const MAX: usize>(String);

impl<const MAX: usize> BoundedText<MAX> {
    pub fn parse(value: Option<&Value>) -> Result<Self, Reason> {
        match value {
            None | Some(Value::Null) => Err(Reason::Missing),
            Some(Value::String(s)) => Self::parse_str(s),
            Some(_) => Err(Reason::WrongFormat),
        }
    }

    pub fn parse_str(s: &str) -> Result<Self, Reason> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            Err(Reason::Missing)
        } else if trimmed.chars().count() > MAX {
            Err(Reason::TooLong)
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }

    /// A value read back from the store, which only ever holds parsed values.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

pub type LocationId = BoundedText<64>;
pub type PersonName = BoundedText<100>;
/// What the guest types or a scanner reads at the door; matched exactly.
pub type CheckinCodeText = BoundedText<{ super::checkin_code::LENGTH }>;

/// `X-User-ID`: who created or cancelled a pass, as the caller names them;
/// kept as sent (no trimming), at most 256 characters.
#[derive(
    Debug, Clone, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct UserId(String);

impl UserId {
    pub const MAX: usize = 256;

    pub fn parse(s: &str) -> Result<Self, Reason> {
        if s.chars().count() <= Self::MAX {
            Ok(Self(s.to_owned()))
        } else {
            Err(Reason::TooLong)
        }
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reasons_come_in_the_contract_order() {
        assert_eq!(PersonName::parse(None), Err(Reason::Missing));
        assert_eq!(PersonName::parse(Some(&json!(null))), Err(Reason::Missing));
        assert_eq!(
            PersonName::parse(Some(&json!(42))),
            Err(Reason::WrongFormat)
        );
        assert_eq!(
            PersonName::parse(Some(&json!(["Jane"]))),
            Err(Reason::WrongFormat)
        );
        assert_eq!(
            PersonName::parse(Some(&json!(" \t "))),
            Err(Reason::Missing)
        );
        assert_eq!(
            PersonName::parse(Some(&json!("x".repeat(101)))),
            Err(Reason::TooLong)
        );
    }

    #[test]
    fn keeps_the_value_trimmed_and_counts_characters_not_bytes() {
        assert_eq!(
            PersonName::parse(Some(&json!("  Jane "))).unwrap().as_str(),
            "Jane"
        );
        assert!(PersonName::parse(Some(&json!("é".repeat(100)))).is_ok());
        assert!(LocationId::parse(Some(&json!("l".repeat(64)))).is_ok());
        assert_eq!(
            LocationId::parse(Some(&json!("l".repeat(65)))),
            Err(Reason::TooLong)
        );
    }
}
