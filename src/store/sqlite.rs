//! The queries compiled for SQLite.

pub type Conn = diesel::sqlite::SqliteConnection;
#[allow(dead_code)]
type Db = diesel::sqlite::Sqlite;

/// The single writer makes check-then-insert atomic.
const CHECK_OVERLAP_FIRST: bool = true;
/// No ANALYZE: the bundled SQLite has STAT4, and with STAT4 samples every
/// new parameter value makes a cached statement re-prepare (a third of a
/// point read's time). The fixed sqlite_stat1 rows of the migrations give the
/// planner what it needs.
const ANALYZE_AFTER_BULK_LOAD: Option<&str> = None;

include!("queries.rs");
