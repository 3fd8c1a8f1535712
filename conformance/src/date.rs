//! The blueprint's one date form, `yyyy-MM-dd'T'HH:mm:ss'Z'` (UTC), as the
//! kit judges it. Written here from the contract, deliberately sharing no
//! code with any server: a bug in a server's parser must not hide itself.

/// Unix seconds of a date in the strict form; `None` for anything else.
pub fn parse_strict(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20 {
        return None;
    }
    let shape_ok = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        10 => *c == b'T',
        13 | 16 => *c == b':',
        19 => *c == b'Z',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    let num = |from: usize, to: usize| {
        b[from..to]
            .iter()
            .fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let (hour, minute, second) = (num(11, 13), num(14, 16), num(17, 19));
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // No 24:00:00 and no leap second: the contract lists both as wrong.
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The strict form of Unix seconds `t`.
pub fn format(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blueprint_example_parses() {
        assert_eq!(parse_strict("2010-08-21T22:31:20Z"), Some(1_282_429_880));
        assert_eq!(parse_strict("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_strict("2028-02-29T23:59:59Z"), Some(1_835_481_599));
    }

    #[test]
    fn the_blueprint_counterexamples_and_impossible_values_do_not() {
        for wrong in [
            "2008-05-26T07:23:",
            "2008-05-26T07:23:01.500Z",
            "2008-05-26 07:23:01Z",
            "2008-05-23T07:23:01",
            "2010-08-21T22-31-20Z",
            "2010-08-21t22:31:20Z",
            "2010-08-21T22:31:20z",
            "2010-08-21T22:31:20+00:00",
            "2023-02-30T00:00:00Z",
            "2027-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-00-01T00:00:00Z",
            "2023-01-00T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T23:60:00Z",
            "2023-01-01T23:59:60Z",
            " 2023-01-01T00:00:00Z",
            "2023-01-01T00:00:00Z ",
            "٢٠٢٣-01-01T00:00:00Z",
            "",
        ] {
            assert_eq!(parse_strict(wrong), None, "{wrong:?}");
        }
        assert_eq!(parse_strict("2000-02-29T00:00:00Z"), Some(951_782_400));
    }

    #[test]
    fn formatting_round_trips() {
        for t in [0, 1_282_429_880, 1_835_481_599, 4_102_444_800, 951_782_400] {
            assert_eq!(parse_strict(&format(t)), Some(t), "{t}");
        }
        assert_eq!(format(1_282_429_880), "2010-08-21T22:31:20Z");
    }
}
