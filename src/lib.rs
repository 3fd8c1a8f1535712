//! guestpass: the Guest Pass API of EGYM's MMS blueprint, on SQLite or PostgreSQL.

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod ids;
pub mod json_body;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod routes;
pub mod secret;
pub mod store;
pub mod tls;
