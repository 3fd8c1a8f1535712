//! `GuestPassPeriod`: `[validFrom, validUntil)`, in the future, not longer than
//! the deployment's maximum.

use serde_json::Value;

use super::{Reason, UtcTimestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestPassPeriod {
    pub valid_from: UtcTimestamp,
    pub valid_until: UtcTimestamp,
}

/// The reasons for the two date fields, each `None` when that field is fine.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PeriodErrors {
    pub valid_from: Option<Reason>,
    pub valid_until: Option<Reason>,
}

impl GuestPassPeriod {
    pub fn parse(
        valid_from: Option<&Value>,
        valid_until: Option<&Value>,
        now: UtcTimestamp,
        max_days: u32,
    ) -> Result<Self, PeriodErrors> {
        let from = parse_date(valid_from);
        let until = parse_date(valid_until);
        let (from, until) = match (from, until) {
            (Ok(from), Ok(until)) => (from, until),
            (from, until) => {
                // validUntil's own rule needs no validFrom: report it too.
                let until = until.and_then(|u| if u <= now { Err(Reason::InPast) } else { Ok(u) });
                return Err(PeriodErrors {
                    valid_from: from.err(),
                    valid_until: until.err(),
                });
            }
        };
        let mut errors = PeriodErrors::default();
        if from >= until {
            errors.valid_from = Some(Reason::GreaterThanValidUntil);
            errors.valid_until = Some(Reason::LessThanValidFrom);
        } else if until <= now {
            errors.valid_until = Some(Reason::InPast);
        } else if until.epoch_seconds() - from.epoch_seconds() > i64::from(max_days) * 86_400 {
            errors.valid_until = Some(Reason::PeriodTooLong);
        }
        if errors == PeriodErrors::default() {
            Ok(Self {
                valid_from: from,
                valid_until: until,
            })
        } else {
            Err(errors)
        }
    }
}

/// A date field: absent or `null` → `missing`; anything but the strict form,
/// the empty string included → `wrongFormat`.
pub fn parse_date(value: Option<&Value>) -> Result<UtcTimestamp, Reason> {
    match value {
        None | Some(Value::Null) => Err(Reason::Missing),
        Some(Value::String(s)) => UtcTimestamp::parse(s).map_err(|_| Reason::WrongFormat),
        Some(_) => Err(Reason::WrongFormat),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: &str = "2026-11-23T12:00:00Z";

    fn period(from: &str, until: &str) -> Result<GuestPassPeriod, PeriodErrors> {
        let now = UtcTimestamp::parse(NOW).unwrap();
        GuestPassPeriod::parse(Some(&json!(from)), Some(&json!(until)), now, 30)
    }

    #[test]
    fn accepts_a_future_week() {
        assert!(period("2026-12-01T06:00:00Z", "2026-12-08T06:00:00Z").is_ok());
    }

    #[test]
    fn accepts_a_period_that_already_started() {
        assert!(period("2026-11-20T06:00:00Z", "2026-11-24T06:00:00Z").is_ok());
    }

    #[test]
    fn equal_or_reversed_bounds_blame_both_fields() {
        for (from, until) in [
            ("2026-12-08T06:00:00Z", "2026-12-01T06:00:00Z"),
            ("2026-12-01T06:00:00Z", "2026-12-01T06:00:00Z"),
        ] {
            let e = period(from, until).unwrap_err();
            assert_eq!(e.valid_from, Some(Reason::GreaterThanValidUntil));
            assert_eq!(e.valid_until, Some(Reason::LessThanValidFrom));
        }
    }

    #[test]
    fn an_end_at_or_before_now_is_in_past() {
        let e = period("2026-11-01T00:00:00Z", NOW).unwrap_err();
        assert_eq!(e.valid_until, Some(Reason::InPast));
        assert_eq!(e.valid_from, None);
    }

    #[test]
    fn exactly_the_maximum_is_allowed_one_second_more_is_not() {
        assert!(period("2026-12-01T00:00:00Z", "2026-12-31T00:00:00Z").is_ok());
        let e = period("2026-12-01T00:00:00Z", "2026-12-31T00:00:01Z").unwrap_err();
        assert_eq!(e.valid_until, Some(Reason::PeriodTooLong));
    }

    #[test]
    fn an_end_in_the_past_is_reported_even_when_the_start_is_malformed() {
        let now = UtcTimestamp::parse(NOW).unwrap();
        let past = json!("2026-11-01T00:00:00Z");
        let e = GuestPassPeriod::parse(Some(&json!("x")), Some(&past), now, 30).unwrap_err();
        assert_eq!(e.valid_from, Some(Reason::WrongFormat));
        assert_eq!(e.valid_until, Some(Reason::InPast));
    }

    #[test]
    fn format_errors_are_reported_for_each_field() {
        let now = UtcTimestamp::parse(NOW).unwrap();
        let e = GuestPassPeriod::parse(None, Some(&json!("")), now, 30).unwrap_err();
        assert_eq!(e.valid_from, Some(Reason::Missing));
        assert_eq!(e.valid_until, Some(Reason::WrongFormat));
        let e = GuestPassPeriod::parse(Some(&json!(5)), Some(&json!(null)), now, 30).unwrap_err();
        assert_eq!(e.valid_from, Some(Reason::WrongFormat));
        assert_eq!(e.valid_until, Some(Reason::Missing));
    }
}
