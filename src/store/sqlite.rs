//! The queries compiled for SQLite, and what SQLite does its own way.

pub type Conn = diesel::sqlite::SqliteConnection;
#[allow(dead_code)]
type Db = diesel::sqlite::Sqlite;

/// No ANALYZE: the bundled SQLite has STAT4, and with STAT4 samples every
/// new parameter value makes a cached statement re-prepare (a third of a
/// point read's time). The fixed sqlite_stat1 rows of the migrations give the
/// planner what it needs.
const ANALYZE_AFTER_BULK_LOAD: Option<&str> = None;

include!("queries.rs");

use super::StoreError;

/// A batch of the batching reader (`lookups`): one cached statement per
/// read, on the batch's connection.
pub fn read_batch(conn: &mut Conn, reads: &[Read]) -> Vec<Result<Found, StoreError>> {
    reads
        .iter()
        .map(|read| read_one(conn, read).map_err(StoreError::from))
        .collect()
}

/// The single writer runs one write at a time, so asking first and then
/// inserting is atomic. (The writer keeps deadlines itself.)
fn insert_unless_overlapping(
    conn: &mut Conn,
    row: &GuestPassRow,
    _not_after_ms: i64,
) -> QueryResult<bool> {
    if overlapping(conn, row)? {
        return Ok(false);
    }
    diesel::insert_into(guest_passes::table)
        .values(row)
        .execute(conn)
        .map(|_| true)
}

/// The single writer runs one write at a time: no cancel can come between.
fn pass_for_checkin(
    conn: &mut Conn,
    code: &str,
    scope: &Scope,
) -> QueryResult<Option<GuestPassRow>> {
    let query = guest_passes::table
        .filter(guest_passes::checkin_code.eq(code))
        .select(GuestPassRow::as_select());
    scoped_single!(query, scope, conn)
}

/// Readiness' write probe (see the `health_probe` migration).
pub fn probe_write(conn: &mut Conn) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO health_probe (id, filler, written_at) VALUES (1, zeroblob(32768), unixepoch()) \
         ON CONFLICT (id) DO UPDATE SET filler = zeroblob(32768), written_at = unixepoch()",
    )
    .execute(conn)
    .map(|_| ())
}

/// The single writer runs one keyed write at a time: nothing to wait for.
fn lock_key(_conn: &mut Conn, _keyed: &KeyedRequest) -> QueryResult<()> {
    Ok(())
}
