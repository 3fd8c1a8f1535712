//! guestpass: the Guest Pass API of EGYM's MMS blueprint, on SQLite or PostgreSQL.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod desk;
pub mod domain;
pub mod error;
pub mod extract;
mod housekeeping;
pub mod logging;
pub mod metrics;
mod observe;
pub mod rate_limit;
pub mod routes;
pub mod secret;
pub mod share;
pub mod state;
pub mod store;
pub mod tls;
