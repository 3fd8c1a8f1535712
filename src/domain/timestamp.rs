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

impl fmt::Display for UtcTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DateTime::<Utc>::from_timestamp(self.0, 0) {
            Some(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%SZ")),
            // Only reachable for values no parser produced; never emit a non-blueprint form.
            None => f.write_str("9999-12-31T23:59:59Z"),
        }
    }
}

impl serde::Serialize for UtcTimestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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
