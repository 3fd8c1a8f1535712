//! Builds the actix application: one builder, used by `main` and by the tests.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer, ResponseError};

use crate::auth::{Authenticator, Caller};
use crate::config::Config;
use crate::domain::Reason;
use crate::error::{ApiError, FieldErrors};
use crate::limits::RateLimit;
use crate::metrics::{self, Gauges, Metrics};
use crate::routes::{checkins, fallback, guest_passes, service};
use crate::store::{Store, StoreError};

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    pub auth: Authenticator,
    pub base_path: String,
    pub max_period_days: u32,
    pub rate_limit: RateLimit,
    pub metrics: Metrics,
    pub body_timeout: std::time::Duration,
}

impl AppState {
    /// Authenticates the request, then charges the caller's token bucket:
    /// limiting after authentication keeps buckets to real principals.
    pub async fn caller(&self, req: &actix_web::HttpRequest) -> Result<Caller, ApiError> {
        let caller = self.auth.authenticate(req).await?;
        self.rate_limit.check(&caller.scope)?;
        Ok(caller)
    }

    pub fn gauges(&self) -> Gauges {
        let (pool_in_use, pool_idle) = self.store.pool_state();
        Gauges {
            pool_in_use,
            pool_idle,
            rate_limit_buckets: self.rate_limit.buckets(),
            rate_limit_rejections: self.rate_limit.rejections(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("{0}")]
    Tls(String),
}

pub struct Application {
    port: u16,
    server: Server,
    store: Store,
}

impl Application {
    /// Opens (and migrates) the store, binds the listener and builds the
    /// server; nothing runs until `run_until_stopped` is awaited.
    pub fn build(config: Config) -> Result<Self, StartError> {
        let store = Store::open(&config.store)?;
        Self::build_with_store(config, store)
    }

    pub fn build_with_store(config: Config, store: Store) -> Result<Self, StartError> {
        let listener = TcpListener::bind(&config.bind)
            .map_err(|e| StartError::Bind(config.bind.clone(), e))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartError::Bind(config.bind.clone(), e))?
            .port();
        let state = web::Data::from(Arc::new(AppState {
            auth: Authenticator::new(config.auth_levels, store.clone(), config.credential_cache),
            store: store.clone(),
            base_path: config.base_path.clone(),
            max_period_days: config.max_period_days,
            rate_limit: RateLimit::new(config.rate_limit, config.rate_burst),
            metrics: Metrics::default(),
            body_timeout: config.body_timeout,
        }));
        let tls = match &config.tls {
            Some(files) => Some(files.server_config().map_err(StartError::Tls)?),
            None => None,
        };
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(observe))
                .configure(|cfg| routes(cfg, &state.base_path))
        })
        .workers(config.workers.max(1))
        .disable_signals()
        .shutdown_timeout(config.shutdown_timeout.as_secs());
        let server = match tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls),
            None => server.listen(listener),
        }
        .map_err(|e| StartError::Bind(config.bind.clone(), e))?
        .run();
        Ok(Self {
            port,
            server,
            store,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully: stop
    /// accepting, let in-flight requests finish (bounded by the shutdown
    /// timeout), then drop the pools. actix's own handling treats SIGINT as
    /// an immediate stop, so the signals are handled here instead.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        actix_web::rt::spawn(async move {
            if shutdown_signal().await {
                log::info!("shutting down: finishing in-flight requests");
                handle.stop(true).await;
            }
        });
        self.server.await
    }
}

/// Resolves on SIGTERM or SIGINT; `false` if the signals cannot be watched.
async fn shutdown_signal() -> bool {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => true,
                _ = int.recv() => true,
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            log::error!("cannot watch SIGTERM/SIGINT: {e}");
            false
        }
    }
}

fn routes(cfg: &mut web::ServiceConfig, base_path: &str) {
    cfg.service(
        web::resource("/health")
            .route(web::get().to(service::health))
            .default_service(fallback::method_not_allowed("GET")),
    )
    .service(
        web::resource("/metrics")
            .route(web::get().to(service::metrics))
            .default_service(fallback::method_not_allowed("GET")),
    )
    .service(
        web::resource("/openapi.yaml")
            .route(web::get().to(service::openapi))
            .default_service(fallback::method_not_allowed("GET")),
    )
    .service(
        web::scope(base_path)
            .service(
                web::resource("/guest-passes")
                    .route(web::post().to(guest_passes::create))
                    .route(web::get().to(guest_passes::search))
                    .default_service(fallback::method_not_allowed("GET, POST")),
            )
            .service(
                web::resource("/guest-passes/{guestPassId}")
                    .route(web::get().to(guest_passes::get))
                    .route(web::delete().to(guest_passes::cancel))
                    .default_service(fallback::method_not_allowed("GET, DELETE")),
            )
            .service(
                web::resource("/guest-passes/{guestPassId}/checkins")
                    .route(web::get().to(checkins::list))
                    .default_service(fallback::method_not_allowed("GET")),
            )
            .service(
                web::resource("/checkins")
                    .route(web::post().to(checkins::checkin))
                    .default_service(fallback::method_not_allowed("POST")),
            ),
    )
    .default_service(web::to(fallback::resource_not_found));
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every request: a request id (the client's, when it sent a sane one), one
/// log line without query string or body (they carry personal data), and a
/// last guard that no framework-made error leaves without the envelope.
async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.to_str().is_ok())
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&crate::ids::new_uuid()).unwrap_or(HeaderValue::from_static("-"))
        });
    let method = req.method().clone();
    let path = req.path().to_owned();
    let response = match next.call(req).await {
        Ok(response) => ensure_envelope(response.map_into_boxed_body()),
        Err(error) => {
            // Only framework internals end up here; they still get an envelope.
            log::error!("{} {method} {path}: {error}", id_text(&request_id));
            return Err(error);
        }
    };
    let mut response = response;
    response
        .headers_mut()
        .insert(X_REQUEST_ID, request_id.clone());
    let status = response.status();
    let elapsed = started.elapsed().as_secs_f64();
    let elapsed_ms = elapsed * 1000.0;
    if let Some(state) = response.request().app_data::<web::Data<AppState>>() {
        let template = response.request().match_pattern();
        let operation = metrics::operation(&method, template.as_deref(), &state.base_path);
        state.metrics.record(operation, status.as_u16(), elapsed);
    }
    let id = id_text(&request_id);
    if status.is_server_error() {
        let detail = response
            .response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_default();
        log::error!(
            "{id} {method} {path} {} {elapsed_ms:.1}ms {detail}",
            status.as_u16()
        );
    } else {
        log::info!("{id} {method} {path} {} {elapsed_ms:.1}ms", status.as_u16());
    }
    Ok(response)
}

fn id_text(value: &HeaderValue) -> &str {
    value.to_str().unwrap_or("-")
}

/// Framework defaults never leak: an error response that is not JSON is
/// replaced by the envelope for its status.
fn ensure_envelope(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return response;
    }
    let error = match status.as_u16() {
        404 => ApiError::ResourceNotFound,
        405 => ApiError::MethodNotAllowed { allow: "" },
        413 => FieldErrors::single("body", Reason::TooLarge),
        415 => FieldErrors::single("Content-Type", Reason::WrongFormat),
        400..=499 => FieldErrors::single("body", Reason::WrongFormat),
        503 => ApiError::Unavailable(format!("framework answered {status}")),
        _ => ApiError::Internal(format!("framework answered {status}")),
    };
    let (req, _) = response.into_parts();
    ServiceResponse::new(req, error.error_response())
}
