//! Black-box tests of the contract (../shared/CONTRACT.md), over real HTTP,
//! one file per contract section; each runs on SQLite and on PostgreSQL.

mod helpers;

mod auth;
mod create;
mod dates;
mod envelopes;
mod retrieve;
mod service;
