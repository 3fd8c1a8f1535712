//! The queries compiled for PostgreSQL.

pub type Conn = diesel::pg::PgConnection;
#[allow(dead_code)]
type Db = diesel::pg::Pg;

/// The exclusion constraint `guest_passes_no_overlap` decides, in one statement.
const CHECK_OVERLAP_FIRST: bool = false;
const ANALYZE_AFTER_BULK_LOAD: Option<&str> = Some("ANALYZE guest_passes");

include!("queries.rs");
