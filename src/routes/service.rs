//! Outside the base path, no authentication: `/health`, `/metrics`, `/openapi.yaml`.

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

pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(HttpResponse::Ok().json(Health {
            status: "UP",
            database: "UP",
        })),
        Err(e) => {
            log::warn!("health check: database does not answer: {e}");
            Err(ApiError::DatabaseDown)
        }
    }
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
