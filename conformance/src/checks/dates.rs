//! Section 2: the one date form, `yyyy-MM-dd'T'HH:mm:ss'Z'`, in requests
//! (a broad table of wrong forms) and in responses.

use chrono::{Datelike, TimeZone, Utc};
use serde_json::{json, Value};

use crate::expect::{ensure, Checked, Context};
use crate::kit::{is_strict, minute, now, ts, Kit, DAY};

pub async fn run(kit: &Kit) {
    kit.check(
        "dates.wrong-forms-in-validFrom",
        "A validFrom in any form but yyyy-MM-dd'T'HH:mm:ss'Z' → 400 {\"validFrom\": \"wrongFormat\"}",
        wrong_forms_in_body(kit, "validFrom"),
    )
    .await;
    kit.check(
        "dates.wrong-forms-in-validUntil",
        "A validUntil in any form but yyyy-MM-dd'T'HH:mm:ss'Z' → 400 {\"validUntil\": \"wrongFormat\"}",
        wrong_forms_in_body(kit, "validUntil"),
    )
    .await;
    kit.check(
        "dates.wrong-forms-in-validAt",
        "A validAt query parameter in any form but yyyy-MM-dd'T'HH:mm:ss'Z' → 400 {\"validAt\": \"wrongFormat\"}",
        wrong_forms_in_query(kit),
    )
    .await;
    kit.check(
        "dates.non-string-dates-rejected",
        "A date that is not a JSON string (number, boolean, object, array) → wrongFormat",
        non_strings(kit),
    )
    .await;
    kit.check(
        "dates.strict-form-accepted-and-echoed",
        "Strict dates (a leap day, 23:59:59) are accepted and echoed exactly as sent",
        strict_accepted(kit),
    )
    .await;
    kit.check(
        "dates.created-pass-dates-strict",
        "Dates in responses are yyyy-MM-dd'T'HH:mm:ss'Z': never fractions, never +00:00",
        created_dates_strict(kit),
    )
    .await;
}

/// Wrong forms of (about) `t`: every kind the contract lists, and more.
pub fn wrong_forms(t: i64) -> Vec<String> {
    let base = ts(t);
    let (d, hms, hm) = (&base[..10], &base[11..19], &base[11..16]);
    let (year, month, day) = (&base[..4], &base[5..7], &base[8..10]);
    let (h, m, s) = (&base[11..13], &base[14..16], &base[17..19]);
    let next_year: i32 = year.parse::<i32>().unwrap_or(2030) + 1;
    let non_leap = (next_year..).find(|y| y % 4 != 0).unwrap_or(2031);
    let arabic_year: String = year
        .chars()
        .map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap_or(0)).unwrap_or('٠'))
        .collect();
    let fullwidth_day: String = day
        .chars()
        .map(|c| char::from_u32(0xFF10 + c.to_digit(10).unwrap_or(0)).unwrap_or('０'))
        .collect();
    let rfc2822 = Utc
        .timestamp_opt(t, 0)
        .single()
        .map(|d| d.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default();
    vec![
        // missing seconds
        format!("{d}T{hm}"),
        format!("{d}T{hm}:"),
        format!("{d}T{hm}Z"),
        // fractions
        format!("{d}T{hms}.500Z"),
        format!("{d}T{hms}.5Z"),
        format!("{d}T{hms}.000Z"),
        format!("{d}T{hms}.000000000Z"),
        // a space or lowercase t instead of T, lowercase z, no Z
        format!("{d} {hms}Z"),
        format!("{d}t{hms}Z"),
        format!("{d}T{hms}z"),
        format!("{d}t{hms}z"),
        format!("{d}T{hms}"),
        format!("{d} {hms}"),
        format!("{d}T{hms}UTC"),
        format!("{d}T{hms} Z"),
        // offsets
        format!("{d}T{hms}+00:00"),
        format!("{d}T{hms}+0000"),
        format!("{d}T{hms}-00:00"),
        format!("{d}T{hms}+01:00"),
        format!("{d}T{hms}.500+00:00"),
        format!("{d}T{hms}Z+00:00"),
        // other separators and layouts
        format!("{d}T{h}-{m}-{s}Z"),
        format!("{year}/{month}/{day}T{hms}Z"),
        format!("{year}{month}{day}T{h}{m}{s}Z"),
        base[2..].to_owned(),
        format!("+00{base}"),
        format!("{next_year}-1-05T{hms}Z"),
        d.to_owned(),
        rfc2822,
        t.to_string(),
        String::new(),
        // impossible calendar values
        format!("{next_year}-02-30T{hms}Z"),
        format!("{non_leap}-02-29T{hms}Z"),
        format!("{next_year}-04-31T{hms}Z"),
        format!("{next_year}-13-01T{hms}Z"),
        format!("{next_year}-00-10T{hms}Z"),
        format!("{next_year}-01-00T{hms}Z"),
        format!("{next_year}-01-32T{hms}Z"),
        format!("{d}T24:00:00Z"),
        format!("{d}T23:60:00Z"),
        format!("{d}T23:59:60Z"),
        // non-ASCII digits
        format!("{arabic_year}{}", &base[4..]),
        format!("{year}-{month}-{fullwidth_day}T{hms}Z"),
        // surrounding whitespace
        format!(" {base}"),
        format!("{base} "),
        format!("\t{base}"),
        format!("{base}\n"),
    ]
}

async fn wrong_forms_in_body(kit: &Kit, field: &'static str) -> Checked {
    let headers = kit.primary()?;
    let location = kit.location()?;
    let from = minute(now() + DAY);
    let until = from + 2 * DAY;
    let probe_at = if field == "validFrom" { from } else { until };
    for form in wrong_forms(probe_at) {
        let mut body = kit.pass_body(&location, &kit.email(), from, until);
        body[field] = json!(form);
        kit.create(&headers, &body)
            .await
            .expect_bad_request(json!({ field: "wrongFormat" }))
            .ctx(format!("{field} {form:?}"))?;
    }
    Ok(())
}

async fn wrong_forms_in_query(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    for form in wrong_forms(minute(now() + DAY)) {
        kit.search(&headers, &[("validAt", &form)])
            .await
            .expect_bad_request(json!({"validAt": "wrongFormat"}))
            .ctx(format!("validAt {form:?}"))?;
    }
    Ok(())
}

async fn non_strings(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let location = kit.location()?;
    let from = minute(now() + DAY);
    let values = [
        json!(from),
        json!(true),
        json!({"date": ts(from)}),
        json!([ts(from)]),
    ];
    for value in values {
        let mut body = kit.pass_body(&location, &kit.email(), from, from + DAY);
        body["validFrom"] = value.clone();
        body["validUntil"] = value.clone();
        kit.create(&headers, &body)
            .await
            .expect_bad_request(json!({"validFrom": "wrongFormat", "validUntil": "wrongFormat"}))
            .ctx(format!("validFrom and validUntil {value}"))?;
    }
    Ok(())
}

async fn strict_accepted(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let location = kit.location()?;
    let year = Utc::now().year() + 1;
    let leap = (year..).find(|y| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
    let from = format!("{}-02-29T23:59:59Z", leap.unwrap_or(2028));
    let until = format!("{}-03-01T23:59:59Z", leap.unwrap_or(2028));
    let mut body = kit.pass_body(&location, &kit.email(), 0, 0);
    body["validFrom"] = json!(from);
    body["validUntil"] = json!(until);
    let ex = kit.create(&headers, &body).await;
    let created = ex.expect_object(201, "the created pass")?;
    ensure(
        created.get("validFrom") == Some(&json!(from))
            && created.get("validUntil") == Some(&json!(until)),
        || {
            ex.fail(format!(
                "HTTP 201 echoing validFrom {from} and validUntil {until}"
            ))
        },
    )
}

/// The date fields of a pass that are not strict.
pub fn loose_dates(pass: &Value) -> Vec<String> {
    ["validFrom", "validUntil", "createdAt", "cancelledAt"]
        .iter()
        .filter_map(|key| {
            let value = pass.get(*key)?;
            (!is_strict(value)).then(|| format!("{key}: {value}"))
        })
        .collect()
}

async fn created_dates_strict(kit: &Kit) -> Checked {
    let pass = kit.upcoming().await?;
    let loose = loose_dates(&pass.created);
    ensure(loose.is_empty(), || {
        crate::expect::Verdict::fail(
            "validFrom, validUntil and createdAt of the created pass in the strict form",
            format!("{} (in {})", loose.join(", "), pass.created),
        )
    })?;
    let ex = kit.get_pass(&pass.owner, &pass.id).await;
    let body = ex.expect_json(200, "the pass")?;
    ensure(loose_dates(body).is_empty(), || {
        ex.fail("validFrom, validUntil and createdAt of the retrieved pass in the strict form")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wrong_form_is_wrong_for_our_own_parser() {
        for form in wrong_forms(1_798_790_400) {
            assert!(crate::kit::parse_strict(&form).is_none(), "{form:?}");
        }
    }
}
