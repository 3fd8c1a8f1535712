//! Section 5, `getGuestPass`: 200 with the pass, 404 for unknown or malformed IDs.

use crate::expect::{ensure, Checked, Context};
use crate::kit::Kit;

pub async fn run(kit: &Kit) {
    kit.check(
        "get.returns-the-pass",
        "GET /guest-passes/{guestPassId} → 200 with the pass as created",
        returns_the_pass(kit),
    )
    .await;
    kit.check(
        "get.unknown-id-is-404",
        "An unknown guestPassId → 404 entityNotFound, parameter guestPassId",
        unknown(kit),
    )
    .await;
    kit.check(
        "get.malformed-id-is-404",
        "A malformed guestPassId → 404 entityNotFound, parameter guestPassId (never 400)",
        malformed(kit),
    )
    .await;
}

async fn returns_the_pass(kit: &Kit) -> Checked {
    let pass = kit.upcoming().await?;
    let ex = kit.get_pass(&pass.owner, &pass.id).await;
    let body = ex.expect_json(200, "the pass")?;
    let same = pass
        .created
        .as_object()
        .is_some_and(|created| created.iter().all(|(k, v)| body.get(k) == Some(v)));
    ensure(same, || {
        ex.fail(format!(
            "HTTP 200 with the pass as created: {}",
            pass.created
        ))
    })
}

/// Malformed IDs a path can carry.
pub fn malformed_ids() -> Vec<String> {
    vec![
        "not-a-uuid".into(),
        "12345".into(),
        uuid::Uuid::new_v4().simple().to_string(),
        format!("{}0", uuid::Uuid::new_v4()),
        "x".repeat(300),
        "%20".into(),
        "%E2%82%AC".into(),
        "a%2Fb".into(),
    ]
}

async fn unknown(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    kit.get_pass(&headers, &uuid::Uuid::new_v4().to_string())
        .await
        .expect_not_found("guestPassId")
}

async fn malformed(kit: &Kit) -> Checked {
    let headers = kit.primary()?;
    for id in malformed_ids() {
        kit.get_pass(&headers, &id)
            .await
            .expect_not_found("guestPassId")
            .ctx(format!("guestPassId {:?}", short(&id)))?;
    }
    Ok(())
}

pub fn short(id: &str) -> String {
    if id.len() > 40 {
        format!("{}… ({} characters)", &id[..20], id.len())
    } else {
        id.to_owned()
    }
}
