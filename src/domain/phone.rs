//! `Phone`: `^\+?[0-9 ()\-]{5,32}$`, checked without a regex engine.

use serde_json::Value;

use super::Reason;

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
pub struct Phone(String);

impl Phone {
    /// Absent or `null` is "not set"; anything else must match the pattern,
    /// the empty string included.
    pub fn parse(value: Option<&Value>) -> Result<Option<Self>, Reason> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if matches_pattern(s) => Ok(Some(Self(s.clone()))),
            Some(_) => Err(Reason::WrongFormat),
        }
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn matches_pattern(s: &str) -> bool {
    let rest = s.strip_prefix('+').unwrap_or(s);
    (5..=32).contains(&rest.len())
        && rest
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b' ' | b'(' | b')' | b'-'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_the_pattern() {
        for ok in [
            "+49 30 1234567",
            "12345",
            "(030) 123-456",
            &"1".repeat(32),
            "+12345",
        ] {
            assert!(Phone::parse(Some(&json!(ok))).unwrap().is_some(), "{ok}");
        }
        assert_eq!(Phone::parse(None), Ok(None));
        assert_eq!(Phone::parse(Some(&json!(null))), Ok(None));
    }

    #[test]
    fn rejects_everything_else() {
        let too_long = "1".repeat(33);
        for bad in [
            "",
            "1234",
            "++12345",
            "12345a",
            " +12345",
            "+",
            too_long.as_str(),
            "１２３４５",
        ] {
            assert_eq!(
                Phone::parse(Some(&json!(bad))),
                Err(Reason::WrongFormat),
                "{bad}"
            );
        }
        assert_eq!(Phone::parse(Some(&json!(12345))), Err(Reason::WrongFormat));
    }
}
