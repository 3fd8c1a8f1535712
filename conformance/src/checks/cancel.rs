//! Section 5, `cancelGuestPass`: 204, the record kept, idempotent, 404.

use serde_json::{json, Value};

use crate::expect::{ensure, Checked, Context};
use crate::kit::Kit;

use super::get::{malformed_ids, short};

pub async fn run(kit: &Kit) {
    kit.check(
        "cancel.cancels-and-keeps-the-record",
        "DELETE → 204 without a body; the pass stays retrievable with status CANCELLED and cancelledAt",
        cancels(kit),
    )
    .await;
    kit.check(
        "cancel.repeat-is-204-and-changes-nothing",
        "Cancelling a cancelled pass is also 204 and changes nothing (cancelledAt stays)",
        repeat(kit),
    )
    .await;
    kit.check(
        "cancel.unknown-id-is-404",
        "An unknown or malformed guestPassId → 404 entityNotFound, parameter guestPassId",
        unknown(kit),
    )
    .await;
}

async fn cancels(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let pass = kit.create_pass(&headers, &kit.upcoming_body()?).await?;
    let ex = kit.cancel(&headers, &pass.id).await;
    let response = ex.expect_status(204)?;
    ensure(response.text.is_empty(), || {
        ex.fail("HTTP 204 with no body")
    })?;
    let ex = kit.get_pass(&headers, &pass.id).await;
    let body = ex.expect_json(200, "the cancelled pass")?;
    ensure(
        body.get("status") == Some(&json!("CANCELLED")) && body.get("cancelledAt").is_some(),
        || ex.fail("HTTP 200 with status CANCELLED and cancelledAt"),
    )
}

async fn repeat(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    let pass = kit.create_pass(&headers, &kit.upcoming_body()?).await?;
    kit.cancel(&headers, &pass.id)
        .await
        .expect_status(204)
        .ctx("the first cancel")?;
    let first = kit.get_pass(&headers, &pass.id).await;
    let before = first.expect_json(200, "the cancelled pass")?.clone();
    // cancelledAt has whole seconds: let one pass, so a change would show.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    kit.cancel(&headers, &pass.id)
        .await
        .expect_status(204)
        .ctx("the second cancel")?;
    let ex = kit.get_pass(&headers, &pass.id).await;
    let after = ex.expect_json(200, "the cancelled pass")?;
    let at = |v: &Value| v.get("cancelledAt").cloned();
    ensure(
        after.get("status") == Some(&json!("CANCELLED"))
            && at(after) == at(&before)
            && at(after).is_some(),
        || {
            ex.fail(format!(
                "HTTP 200, status CANCELLED, cancelledAt still {}",
                at(&before).unwrap_or_default()
            ))
        },
    )
}

async fn unknown(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    kit.cancel(&headers, &uuid::Uuid::new_v4().to_string())
        .await
        .expect_not_found("guestPassId")
        .ctx("an unknown guestPassId")?;
    for id in malformed_ids() {
        kit.cancel(&headers, &id)
            .await
            .expect_not_found("guestPassId")
            .ctx(format!("guestPassId {:?}", short(&id)))?;
    }
    Ok(())
}
