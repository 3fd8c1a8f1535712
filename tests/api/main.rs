//! Black-box tests of the contract (spec/README.md), over real HTTP,
//! one file per contract section; each runs on SQLite and on PostgreSQL.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod cancel;
mod checkins;
mod create;
mod dates;
mod envelopes;
mod hardening;
mod plans;
mod principals;
mod retrieve;
mod search;
mod service;
