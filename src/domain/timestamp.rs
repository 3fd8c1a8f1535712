//! `UtcTimestamp`: the blueprint's one date form, `yyyy-MM-dd'T'HH:mm:ss'Z'`, and nothing else.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};

/// Whole seconds since the Unix epoch, UTC. Parsing accepts only the strict
/// form; formatting only ever emits it, so no fraction or offset can leak out.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::BigInt)]
pub struct UtcTimestamp(i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongFormat;

impl UtcTimestamp {
    pub fn now() -> Self {
        Self(Utc::now().timestamp())
    }

    pub fn from_epoch_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    pub fn epoch_seconds(self) -> i64 {
        self.0
    }

    /// Borrowed, for writers that need a reference (the store's column mapping).
    pub fn as_epoch_seconds(&self) -> &i64 {
        &self.0
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds))
    }

    /// Checked byte by byte rather than with a format string: chrono's parsers
    /// are lenient about padding, fractions and offsets, the blueprint is not.
    pub fn parse(text: &str) -> Result<Self, WrongFormat> {
        let b = text.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return Err(WrongFormat);
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, WrongFormat> {
            b[range].iter().try_fold(0u32, |acc, &c| {
                if c.is_ascii_digit() {
                    Ok(acc * 10 + u32::from(c - b'0'))
                } else {
                    Err(WrongFormat)
                }
            })
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        let year = i32::try_from(year).map_err(|_| WrongFormat)?;
        let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(WrongFormat)?;
        // and_hms_opt accepts neither 24:00:00 nor a leap second 23:59:60.
        let time = date.and_hms_opt(hour, minute, second).ok_or(WrongFormat)?;
        Ok(Self(time.and_utc().timestamp()))
    }
}

impl UtcTimestamp {
    /// The blueprint form, written digit by digit: chrono's `format` parses
    /// its format string on every call, and this runs for every date of
    /// every response. Years outside 0000–9999 have no blueprint form.
    fn blueprint_form(self) -> Option<[u8; 20]> {
        use chrono::{Datelike, Timelike};
        let t = DateTime::<Utc>::from_timestamp(self.0, 0)?;
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, value: u32, width: usize| {
            let mut v = value;
            for i in (at..at + width).rev() {
                out[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, year, 4);
        put(5, t.month(), 2);
        put(8, t.day(), 2);
        put(11, t.hour(), 2);
        put(14, t.minute(), 2);
        put(17, t.second(), 2);
        Some(out)
    }
}

impl fmt::Display for UtcTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.blueprint_form() {
            // Only ASCII digits and separators were written.
            Some(bytes) => f.write_str(std::str::from_utf8(&bytes).unwrap_or(LATEST)),
            // Only reachable for values no parser produced; never emit a non-blueprint form.
            None => f.write_str(LATEST),
        }
    }
}

const LATEST: &str = "9999-12-31T23:59:59Z";

impl serde::Serialize for UtcTimestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.blueprint_form() {
            Some(bytes) => s.serialize_str(std::str::from_utf8(&bytes).unwrap_or(LATEST)),
            None => s.serialize_str(LATEST),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parses(text: &str) -> bool {
        UtcTimestamp::parse(text).is_ok()
    }

    #[test]
    fn accepts_the_blueprint_example_and_round_trips_it() {
        let t = UtcTimestamp::parse("2010-08-21T22:31:20Z").unwrap();
        assert_eq!(t.epoch_seconds(), 1_282_429_880);
        assert_eq!(t.to_string(), "2010-08-21T22:31:20Z");
    }

    #[test]
    fn rejects_every_form_the_contract_calls_wrong() {
        for bad in [
            "2008-05-26T07:23:",
            "2008-05-26T07:23Z",
            "2008-05-26T07:23:01.500Z",
            "2008-05-26T07:23:01.5Z",
            "2008-05-26 07:23:01Z",
            "2008-05-26t07:23:01Z",
            "2008-05-26T07:23:01z",
            "2008-05-23T07:23:01",
            "2010-08-21T22-31-20Z",
            "2010-08-21T22:31:20+00:00",
            "2010-08-21T22:31:20+0000",
            "2010-08-21T22:31:20Z+00:00",
            "2023-02-30T10:00:00Z",
            "2023-13-01T10:00:00Z",
            "2023-00-01T10:00:00Z",
            "2023-01-00T10:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T23:60:00Z",
            "2023-01-01T23:59:60Z",
            "２０２３-01-01T10:00:00Z",
            "2023-01-0１T10:00:00Z",
            " 2023-01-01T10:00:00Z",
            "2023-01-01T10:00:00Z ",
            "\t2023-01-01T10:00:00Z",
            "2023-1-01T10:00:00Z",
            "23-01-01T10:00:00Z",
            "+2023-01-01T10:00:0Z",
            "2023-01-01",
            "2023/01/01T10:00:00Z",
            "",
            "Z",
            "1282429880",
        ] {
            assert!(!parses(bad), "{bad:?} must be wrongFormat");
        }
    }

    #[test]
    fn knows_leap_years() {
        assert!(parses("2024-02-29T00:00:00Z"));
        assert!(parses("2000-02-29T00:00:00Z"));
        assert!(!parses("2023-02-29T00:00:00Z"));
        assert!(!parses("1900-02-29T00:00:00Z"));
        assert!(!parses("2100-02-29T00:00:00Z"));
    }

    #[test]
    fn accepts_the_edges_of_the_day_and_year() {
        assert!(parses("2026-12-31T23:59:59Z"));
        assert!(parses("2026-01-01T00:00:00Z"));
        assert!(parses("0001-01-01T00:00:00Z"));
        assert!(parses("9999-12-31T23:59:59Z"));
    }

    #[test]
    fn formats_exactly_as_chrono_does_across_the_four_digit_years() {
        // Year 0000 through 9999, stepping by an odd number of seconds so
        // every field takes many values.
        let first = NaiveDate::from_ymd_opt(0, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let last = NaiveDate::from_ymd_opt(9999, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        let (first, last) = (first.and_utc().timestamp(), last.and_utc().timestamp());
        let mut seconds = first;
        while seconds <= last {
            let expected = DateTime::<Utc>::from_timestamp(seconds, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            let t = UtcTimestamp::from_epoch_seconds(seconds);
            assert_eq!(t.to_string(), expected);
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{expected}\"")
            );
            seconds += 31_556_927;
        }
        assert_eq!(
            UtcTimestamp::from_epoch_seconds(last + 1).to_string(),
            LATEST
        );
        assert_eq!(
            UtcTimestamp::from_epoch_seconds(first - 1).to_string(),
            LATEST
        );
    }

    #[test]
    fn formatting_never_emits_fractions_or_offsets() {
        let now = UtcTimestamp::now().to_string();
        assert!(parses(&now), "{now}");
        for seconds in [0, 1, 59, 86_399, 951_782_400, 4_102_444_799, -1] {
            let text = UtcTimestamp::from_epoch_seconds(seconds).to_string();
            assert_eq!(text.len(), 20, "{text}");
            assert!(text.ends_with('Z') && !text.contains('.') && !text.contains('+'));
            assert_eq!(UtcTimestamp::parse(&text).unwrap().epoch_seconds(), seconds);
        }
    }

    #[test]
    fn serializes_as_the_strict_string() {
        let t = UtcTimestamp::from_epoch_seconds(0);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"1970-01-01T00:00:00Z\""
        );
    }
}
