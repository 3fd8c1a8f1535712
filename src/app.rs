//! Builds and runs the HTTP server: one builder, used by `main` and by the tests.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::config::Config;
use crate::observe::observe;
use crate::routes;
use crate::state::AppState;
use crate::store::{OpenError, Store};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] OpenError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    #[error("{0}")]
    Tls(String),
}

/// How long a stopped server waits for its last requests' hold on the store
/// to go before it closes the store.
const STORE_CLOSE_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Application {
    port: u16,
    server: Server,
    store: Store,
    state: web::Data<AppState>,
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
        let state = web::Data::from(Arc::new(AppState::new(&config, store.clone())));
        let desk = crate::desk::DeskSettings::from_config(&config);
        let tls = match &config.tls {
            Some(files) => Some(files.server_config().map_err(StartError::Tls)?),
            None => None,
        };
        let state_for_housekeeping = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(observe))
                // Before the API: with an empty base path its resources
                // would otherwise be matched first.
                .configure(|cfg| {
                    if let Some(desk) = &desk {
                        crate::desk::configure(cfg, desk.clone());
                    }
                })
                .configure(|cfg| routes::configure(cfg, &state.base_path))
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
            state: state_for_housekeeping,
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
        let housekeeping = actix_web::rt::spawn(crate::housekeeping::run(self.state.clone()));
        let handle = self.server.handle();
        actix_web::rt::spawn(async move {
            if shutdown_signal().await {
                log::info!("shutting down: finishing in-flight requests");
                handle.stop(true).await;
            }
        });
        let Application {
            server,
            store,
            state,
            ..
        } = self;
        let served = server.await;
        housekeeping.abort();
        drop(state);
        if !store.close(STORE_CLOSE_WITHIN).await {
            log::warn!(
                "the store was still in use {STORE_CLOSE_WITHIN:?} after the server stopped"
            );
        }
        served
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
