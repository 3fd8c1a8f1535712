//! Black-box tests of the contract (../shared/CONTRACT.md), over real HTTP,
//! one file per contract section; each runs on SQLite and on PostgreSQL.

mod helpers;

mod auth;
mod cancel;
mod checkins;
mod create;
mod dates;
mod envelopes;
mod hardening;
mod plans;
mod retrieve;
mod search;
mod service;
