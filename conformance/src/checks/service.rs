//! Section 6: `/health`, `/openapi.yaml` and `/metrics` below the root URL, no authentication.

use awc::http::Method;
use serde_json::json;

use crate::client::Request;
use crate::expect::{ensure, Checked, Context, Verdict};
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
        "GET /metrics (no authentication) → 200 in Prometheus text format: requests counted by status, a latency histogram",
        metrics(kit),
    )
    .await;
    kit.check(
        "service.livez",
        "GET /livez (no authentication) → 200 {\"status\": \"UP\"}; another method → 405 with Allow: GET",
        livez(kit),
    )
    .await;
    kit.check(
        "service.readyz",
        "GET /readyz (no authentication) → the same answer as /health; another method → 405 with Allow: GET",
        readyz(kit),
    )
    .await;
    kit.check(
        "service.wrong-method-is-405",
        "/health, /metrics and /openapi.yaml with another method → 405 methodNotAllowed, Allow: GET",
        wrong_methods(kit, &["/health", "/metrics", "/openapi.yaml"]),
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

async fn livez(kit: &Kit) -> Checked {
    let ex = kit.send(Request::get("/livez").at_root()).await;
    let body = ex.expect_object(200, "{\"status\": \"UP\"}")?;
    ensure(body.get("status") == Some(&json!("UP")), || {
        ex.fail("HTTP 200 {\"status\": \"UP\"}")
    })?;
    wrong_methods(kit, &["/livez"]).await
}

async fn readyz(kit: &Kit) -> Checked {
    let health = kit.send(Request::get("/health").at_root()).await;
    let ready = kit.send(Request::get("/readyz").at_root()).await;
    let (Ok(h), Ok(r)) = (&health.response, &ready.response) else {
        return Err(ready.fail("answers from /health and /readyz"));
    };
    ensure(
        r.status == h.status && r.json.is_some() && r.json == h.json,
        || ready.fail(format!("the answer of /health: {}", h.summary())),
    )?;
    wrong_methods(kit, &["/readyz"]).await
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
    )?;
    let problems = prometheus_problems(&response.text);
    ensure(problems.is_empty(), || {
        ex.fail(format!(
            "HTTP 200 in Prometheus text format with a latency histogram and requests by status ({})",
            problems.join("; ")
        ))
    })
}

/// What keeps `text` from being the contract's metrics: lines that are
/// not samples, no histogram, no sample labelled with an HTTP status.
pub fn prometheus_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut histogram = false;
    let mut by_status = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            if words.first() == Some(&"TYPE") && words.get(2) == Some(&"histogram") {
                histogram = true;
            }
            continue;
        }
        let (series, value) = match line.rsplit_once(' ') {
            Some((series, value)) if !series.trim().is_empty() => (series.trim(), value),
            _ => {
                problems.push(format!("not a sample: {line:?}"));
                break;
            }
        };
        // A timestamp may follow the value; then the value is the word before it.
        let value_ok = value.parse::<f64>().is_ok()
            || ["+Inf", "-Inf", "NaN"].contains(&value)
            || series
                .rsplit_once(' ')
                .is_some_and(|(_, v)| v.parse::<f64>().is_ok());
        if !value_ok {
            problems.push(format!("not a sample value: {line:?}"));
            break;
        }
        if let Some((_, labels)) = series.split_once('{') {
            by_status |= labels.split(',').any(|pair| {
                pair.split_once('=').is_some_and(|(_, v)| {
                    let v = v.trim().trim_end_matches('}').trim_matches('"');
                    v.len() == 3
                        && v.bytes().all(|b| b.is_ascii_digit())
                        && v.starts_with(['1', '2', '3', '4', '5'])
                })
            });
        }
    }
    if !histogram {
        problems.push("no histogram (# TYPE … histogram)".into());
    }
    if !by_status {
        problems.push("no sample labelled with an HTTP status".into());
    }
    problems
}

/// Every method but GET on each root resource → 405 with `Allow: GET`.
pub async fn wrong_methods(kit: &Kit, paths: &[&str]) -> Checked {
    for path in paths {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let label = format!("{method} {path}");
            kit.send(Request::new(method, *path).at_root())
                .await
                .expect_method_not_allowed(&["GET"])
                .ctx(label)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::prometheus_problems;

    #[test]
    fn prometheus_text_is_judged() {
        let good = "# HELP r requests\n# TYPE r counter\nr{operation=\"get\",status=\"200\"} 3\n# TYPE d histogram\nd_bucket{le=\"+Inf\"} 3\nd_sum 0.5\nd_count 3\n";
        assert_eq!(prometheus_problems(good), Vec::<String>::new());
        assert_eq!(prometheus_problems("r 1\n").len(), 2);
        assert!(!prometheus_problems("<html>").is_empty());
    }
}
