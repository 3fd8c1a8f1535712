//! Section 5, `listCheckins`: the visit history, oldest first; 404 as for retrieve.

use serde_json::{json, Value};

use crate::expect::{ensure, Checked, Context};
use crate::kit::{is_strict, is_uuid, parse_strict, Kit};

use super::get::{malformed_ids, short};

pub async fn run(kit: &Kit) {
    kit.check(
        "list-checkins.empty-for-a-new-pass",
        "A pass without visits → 200 {\"checkins\": []}",
        empty(kit),
    )
    .await;
    kit.check(
        "list-checkins.visits-oldest-first",
        "Every visit is listed with checkinId, guestPassId, locationId, checkedInAt, oldest first",
        visits(kit),
    )
    .await;
    kit.check(
        "list-checkins.unknown-id-is-404",
        "An unknown or malformed guestPassId → 404 entityNotFound, parameter guestPassId",
        unknown(kit),
    )
    .await;
}

async fn empty(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let pass = kit.create_pass(&headers, &kit.upcoming_body()?).await?;
    let ex = kit.list_checkins(&headers, &pass.id).await;
    let body = ex.expect_json(200, "{\"checkins\": []}")?;
    ensure(body == &json!({"checkins": []}), || {
        ex.fail("HTTP 200 {\"checkins\": []}")
    })
}

async fn visits(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let pass = kit.create_active(&headers).await?;
    let mut ids = Vec::new();
    for i in 0..2 {
        let ex = kit.checkin(&headers, &pass.code, &pass.location).await;
        let body = ex
            .expect_object(201, "the visit")
            .ctx(format!("check-in {}", i + 1))?;
        ids.push(body.get("checkinId").cloned().unwrap_or_default());
    }
    let ex = kit.list_checkins(&headers, &pass.id).await;
    let body = ex.expect_json(200, "the visit history")?;
    let list = body
        .get("checkins")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let well_formed = list.len() == 2
        && list.iter().all(|c| {
            c.get("checkinId").is_some_and(is_uuid)
                && c.get("guestPassId") == Some(&json!(pass.id))
                && c.get("locationId") == Some(&json!(pass.location))
                && c.get("checkedInAt").is_some_and(is_strict)
        });
    let listed: Vec<Value> = list.iter().map(|c| c["checkinId"].clone()).collect();
    let same_visits = {
        let (mut a, mut b) = (listed.clone(), ids.clone());
        a.sort_by_key(Value::to_string);
        b.sort_by_key(Value::to_string);
        a == b
    };
    let times: Vec<Option<i64>> = list
        .iter()
        .map(|c| c["checkedInAt"].as_str().and_then(parse_strict))
        .collect();
    let oldest_first = times.windows(2).all(|w| w[0] <= w[1]);
    ensure(well_formed && same_visits && oldest_first, || {
        ex.fail(format!(
            "HTTP 200 with the two visits {} of pass {}, oldest first",
            json!(ids),
            pass.id
        ))
    })
}

async fn unknown(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    kit.list_checkins(&headers, &uuid::Uuid::new_v4().to_string())
        .await
        .expect_not_found("guestPassId")
        .ctx("an unknown guestPassId")?;
    for id in malformed_ids() {
        kit.list_checkins(&headers, &id)
            .await
            .expect_not_found("guestPassId")
            .ctx(format!("guestPassId {:?}", short(&id)))?;
    }
    Ok(())
}
