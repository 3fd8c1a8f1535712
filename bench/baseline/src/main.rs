//! The yardstick `bench/run` measures every scenario against: actix-web
//! answering `GET /health` with a small JSON body and nothing else. It moves
//! only with the framework and the machine, never with our middleware.
//!
//!   guestpass-baseline [ADDRESS]   (default 127.0.0.1:8090)

use actix_web::{web, App, HttpResponse, HttpServer};

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "UP" }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    HttpServer::new(|| App::new().route("/health", web::get().to(health)))
        .bind(bind)?
        .run()
        .await
}
