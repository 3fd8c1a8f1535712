//! The queries compiled for SQLite.

pub type Conn = diesel::sqlite::SqliteConnection;
#[allow(dead_code)]
type Db = diesel::sqlite::Sqlite;

/// The single writer makes check-then-insert atomic.
pub const CHECK_OVERLAP_FIRST: bool = true;

include!("queries.rs");
