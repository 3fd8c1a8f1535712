//! `SearchFilter`: the query parameters of `searchGuestPasses`, parsed.

use super::{email_key, EmailKey, FieldErrors, GuestPassStatus, Reason, UtcTimestamp};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
/// Deeper pages cost every tenant: the contract caps `offset`.
pub const MAX_OFFSET: i64 = 10_000;

#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub location_id: Option<String>,
    pub email_key: Option<EmailKey>,
    pub checkin_code: Option<String>,
    pub status: Option<GuestPassStatus>,
    pub valid_at: Option<UtcTimestamp>,
    pub limit: i64,
    pub offset: i64,
}

impl SearchFilter {
    /// Unknown parameters are ignored; a repeated one counts by its first value.
    pub fn parse(query: &str) -> Result<Self, FieldErrors> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let param = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut errors = FieldErrors::default();
        let status = param("status").and_then(|s| {
            errors.check(
                "status",
                GuestPassStatus::parse(s).ok_or(Reason::WrongFormat),
            )
        });
        let valid_at = param("validAt").and_then(|s| {
            errors.check(
                "validAt",
                UtcTimestamp::parse(s).map_err(|_| Reason::WrongFormat),
            )
        });
        let limit = errors.check(
            "limit",
            bounded_integer(param("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT),
        );
        let offset = errors.check("offset", bounded_integer(param("offset"), 0, 0, MAX_OFFSET));
        errors.into_result()?;
        Ok(Self {
            location_id: param("locationId").map(str::to_owned),
            email_key: param("email").map(email_key),
            checkin_code: param("checkinCode").map(str::to_owned),
            status,
            valid_at,
            limit: limit.unwrap_or(DEFAULT_LIMIT),
            offset: offset.unwrap_or(0),
        })
    }

    /// The e-mail of a search for one person at one location (the search a
    /// client makes before it creates a pass): a location and an e-mail,
    /// nothing else, the first page.
    pub fn person(&self) -> Option<&EmailKey> {
        match self {
            Self {
                location_id: Some(_),
                email_key: Some(email),
                checkin_code: None,
                status: None,
                valid_at: None,
                offset: 0,
                ..
            } => Some(email),
            _ => None,
        }
    }
}

/// Not an integer → `wrongFormat`; an integer outside `[min, max]`, however
/// large → `outOfRange`.
fn bounded_integer(raw: Option<&str>, default: i64, min: i64, max: i64) -> Result<i64, Reason> {
    let Some(raw) = raw else { return Ok(default) };
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::WrongFormat);
    }
    match raw.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Reason::OutOfRange),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_offsets_follow_the_contract() {
        assert_eq!(bounded_integer(None, 20, 1, 100), Ok(20));
        assert_eq!(bounded_integer(Some("100"), 20, 1, 100), Ok(100));
        assert_eq!(
            bounded_integer(Some("0"), 20, 1, 100),
            Err(Reason::OutOfRange)
        );
        assert_eq!(
            bounded_integer(Some("101"), 20, 1, 100),
            Err(Reason::OutOfRange)
        );
        assert_eq!(
            bounded_integer(Some("-1"), 0, 0, i64::MAX),
            Err(Reason::OutOfRange)
        );
        assert_eq!(
            bounded_integer(Some("99999999999999999999999"), 0, 0, i64::MAX),
            Err(Reason::OutOfRange)
        );
        for bad in ["", "ten", "1.5", "1e2", " 5", "+5", "-"] {
            assert_eq!(
                bounded_integer(Some(bad), 20, 1, 100),
                Err(Reason::WrongFormat),
                "{bad}"
            );
        }
    }

    #[test]
    fn offset_is_capped_at_ten_thousand() {
        assert_eq!(
            SearchFilter::parse("offset=10000").map(|f| f.offset).ok(),
            Some(10_000)
        );
        for deep in ["10001", "250000", "99999999999999999999999"] {
            let errors = SearchFilter::parse(&format!("offset={deep}")).unwrap_err();
            assert_eq!(
                errors.as_map().get("offset"),
                Some(&Reason::OutOfRange),
                "{deep}"
            );
        }
    }

    #[test]
    fn a_person_search_is_a_location_and_an_email_on_the_first_page_and_nothing_else() {
        let person = |query: &str| {
            SearchFilter::parse(query)
                .ok()
                .and_then(|f| f.person().map(|e| e.as_str().to_owned()))
        };
        let at = "locationId=gym-1&email=Jane%40Example.com";
        assert_eq!(person(at).as_deref(), Some("jane@example.com"));
        assert!(person(&format!("{at}&limit=100&offset=0")).is_some());
        for other in [
            "&offset=1",
            "&status=ACTIVE",
            "&validAt=2026-12-01T00:00:00Z",
            "&checkinCode=ABCDEFGHJK",
        ] {
            assert_eq!(person(&format!("{at}{other}")), None, "{other}");
        }
        assert_eq!(person("email=jane%40example.com"), None);
        assert_eq!(person("locationId=gym-1"), None);
    }

    #[test]
    fn every_failing_parameter_is_reported() {
        let errors = SearchFilter::parse("status=active&validAt=x&limit=0&offset=a").unwrap_err();
        assert_eq!(errors.as_map().len(), 4);
    }
}
