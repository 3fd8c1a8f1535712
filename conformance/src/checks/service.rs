//! Section 6: `/health`, `/openapi.yaml` and `/metrics` below the root URL, no authentication.

use serde_json::json;

use crate::client::Request;
use crate::expect::{ensure, Checked, Verdict};
use crate::kit::Kit;

pub async fn run(kit: &Kit) {
    kit.check(
        "service.health",
        "GET /health (no authentication) → 200 {\"status\": \"UP\", \"database\": \"UP\"}",
        health(kit),
    )
    .await;
    kit.check(
        "service.openapi",
        "GET /openapi.yaml (no authentication) → 200 with the OpenAPI document",
        openapi(kit),
    )
    .await;
    kit.check(
        "service.metrics",
        "GET /metrics (no authentication) → 200 in Prometheus text format",
        metrics(kit),
    )
    .await;
    kit.check(
        "service.health-503",
        "GET /health → 503 systemUnavailable when the database does not answer",
        async {
            Err(Verdict::skip(
                "needs the server's database down, which cannot be arranged over HTTP",
            ))
        },
    )
    .await;
}

async fn health(kit: &Kit) -> Checked {
    let ex = kit.send(Request::get("/health").at_root()).await;
    let body = ex.expect_object(200, "{\"status\": \"UP\", \"database\": \"UP\"}")?;
    ensure(
        body.get("status") == Some(&json!("UP")) && body.get("database") == Some(&json!("UP")),
        || ex.fail("HTTP 200 {\"status\": \"UP\", \"database\": \"UP\"}"),
    )
}

async fn openapi(kit: &Kit) -> Checked {
    let ex = kit.send(Request::get("/openapi.yaml").at_root()).await;
    let response = ex.expect_status(200)?;
    ensure(response.text.contains("openapi:"), || {
        ex.fail("HTTP 200 with a YAML document containing `openapi:`")
    })
}

async fn metrics(kit: &Kit) -> Checked {
    let ex = kit.send(Request::get("/metrics").at_root()).await;
    let response = ex.expect_status(200)?;
    ensure(
        response.media_type().as_deref() == Some("text/plain"),
        || ex.fail("HTTP 200, Content-Type text/plain (Prometheus text format)"),
    )
}
