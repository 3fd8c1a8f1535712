//! Outside the base path, no authentication: the probes (`/livez`, and
//! `/readyz` = `/health`), `/metrics`, `/openapi.yaml`.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// The contract, as shipped in `spec/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../spec/openapi.yaml");

#[derive(Serialize)]
struct Health {
    status: &'static str,
    database: &'static str,
}

/// Readiness (`/health`, `/readyz`): 200 only when the store can read and
/// write now (see `Store::readiness`). The answer is cached for a second:
/// probes come often, and the write probe writes.
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.readiness().await {
        Ok(()) => Ok(HttpResponse::Ok().json(Health {
            status: "UP",
            database: "UP",
        })),
        Err(_) => Err(ApiError::DatabaseDown),
    }
}

#[derive(Serialize)]
struct Live {
    status: &'static str,
}

/// Liveness: the process answers HTTP. Never touches the database, so an
/// orchestrator does not restart a healthy process because its database blips.
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(Live { status: "UP" })
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(&state.gauges()))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}
