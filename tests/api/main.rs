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
mod fairness;
mod faults;
mod guard;
mod hardening;
mod idempotency;
mod instances;
mod plans;
mod principals;
mod retrieve;
mod search;
mod service;

/// A plain `cargo test` without PostgreSQL runs only the SQLite half: each
/// `::postgres` test then returns at once and still shows "ok". This test
/// says so where it can be seen, and fails in CI (`CI` set).
#[test]
fn postgres_half_skipped_without_database_url() {
    common::report_postgres_half("tests/api");
}
