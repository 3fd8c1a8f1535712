//! The queries compiled for PostgreSQL, and what PostgreSQL does its own
//! way: creates serialised per person with an advisory lock, check-ins that
//! hold their pass against a concurrent cancel, transactions that retry a
//! deadlock and never commit late.

use std::sync::atomic::Ordering;
use std::time::Instant;

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::sql_types::{HasSqlType, Untyped};

use super::{Stats, StoreError};

pub type Conn = diesel::pg::PgConnection;
#[allow(dead_code)]
type Db = diesel::pg::Pg;

/// VACUUM too: it marks the freshly loaded pages all-visible, so a search's
/// count is an index-only scan instead of a visit to every row's page.
const ANALYZE_AFTER_BULK_LOAD: Option<&str> = Some("VACUUM ANALYZE guest_passes");

include!("queries.rs");

/// A batch of the batching reader (`lookups`): every pass read by id in one
/// statement, one round trip, each then checked against its own reader's
/// scope; every person's search in one more.
pub fn read_batch(conn: &mut Conn, reads: &[Read]) -> Vec<Result<Found, StoreError>> {
    let ids: Vec<&str> = reads
        .iter()
        .filter_map(|read| match read {
            Read::Pass { id, .. } => Some(id.as_str()),
            Read::Person { .. } => None,
        })
        .collect();
    let passes = if ids.is_empty() {
        Ok(Vec::new())
    } else {
        guest_passes::table
            .filter(guest_passes::id.eq_any(&ids))
            .select(GuestPassRow::as_select())
            .load::<GuestPassRow>(conn)
            .map_err(StoreError::from)
    };
    let by_id: std::collections::HashMap<&str, &GuestPassRow> = passes
        .iter()
        .flatten()
        .map(|row| (row.id.as_str(), row))
        .collect();
    let persons: Vec<(&str, &EmailKey, i64)> = reads
        .iter()
        .filter_map(|read| match read {
            Read::Person {
                location_id,
                email_key,
                limit,
            } => Some((location_id.as_str(), email_key, *limit)),
            Read::Pass { .. } => None,
        })
        .collect();
    let mut people = match find_persons(conn, &persons) {
        Ok(found) => Ok(found.into_iter()),
        Err(e) => Err(StoreError::from(e)),
    };
    reads
        .iter()
        .map(|read| match (read, &passes, &mut people) {
            (Read::Pass { id, scope }, Ok(_), _) => {
                let row = by_id.get(id.as_str()).filter(|row| row.in_scope(scope));
                Ok(Found::Pass(row.map(|row| Box::new((*row).clone()))))
            }
            (Read::Pass { .. }, Err(e), _) => Err(e.clone()),
            (Read::Person { .. }, _, Ok(found)) => found
                .next()
                .map(Found::Person)
                .ok_or_else(|| StoreError::Internal("a person's search went unanswered".into())),
            (Read::Person { .. }, _, Err(e)) => Err(e.clone()),
        })
        .collect()
}

#[derive(QueryableByName)]
struct PersonPass {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(embed)]
    pass: GuestPassRow,
}

/// `find_person` for several persons in one statement, one round trip: for
/// each, at most `limit + 1` of its passes, read from the location + e-mail
/// index. Planned on every run: a plan cached while the table was small
/// could scan it whole for every person as it grows.
fn find_persons(
    conn: &mut Conn,
    persons: &[(&str, &EmailKey, i64)],
) -> QueryResult<Vec<Option<Vec<GuestPassRow>>>> {
    if persons.is_empty() {
        return Ok(Vec::new());
    }
    let rows = diesel::sql_query(
        "SELECT input.n, p.* \
         FROM unnest($1::text[], $2::text[], $3::int8[]) WITH ORDINALITY \
             AS input(location_id, email_key, lim, n) \
         CROSS JOIN LATERAL ( \
             SELECT g.id, g.chain_id, g.location_id, g.first_name, g.last_name, g.email, \
                 g.email_key, g.phone, g.valid_from, g.valid_until, g.checkin_code, \
                 g.created_at, g.created_by, g.cancelled_at, g.cancelled_by \
             FROM guest_passes AS g \
             WHERE g.location_id = input.location_id AND g.email_key = input.email_key \
             LIMIT input.lim + 1) AS p",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(persons.iter().map(|p| p.0).collect::<Vec<_>>())
    .bind::<diesel::sql_types::Array<Text>, _>(
        persons.iter().map(|p| p.1.as_str()).collect::<Vec<_>>(),
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(persons.iter().map(|p| p.2).collect::<Vec<_>>())
    .load::<PersonPass>(conn)?;
    let mut found: Vec<Vec<GuestPassRow>> = persons.iter().map(|_| Vec::new()).collect();
    for row in rows {
        let person = usize::try_from(row.n - 1)
            .ok()
            .and_then(|i| found.get_mut(i));
        if let Some(person) = person {
            person.push(row.pass);
        }
    }
    Ok(found
        .into_iter()
        .zip(persons)
        .map(|(rows, (_, _, limit))| newest_first(rows, *limit))
        .collect())
}

/// Fixed SQL that diesel keeps prepared on each connection (cached by its
/// text and bind types), for the statements written out in SQL: a
/// `sql_query` marks itself unsafe to cache, so PostgreSQL parsed, analysed
/// and planned it on every run, a quarter of its CPU time in a batch of
/// creates. Bound like a `sql_query`: `$1`, `$2`, … in order of `bind`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Prepared(&'static str);

pub(super) fn prepared(sql: &'static str) -> Prepared {
    Prepared(sql)
}

/// `query` with one more bind parameter.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bound<Q, V, ST> {
    query: Q,
    value: V,
    sql_type: PhantomData<ST>,
}

/// Binding, on the statement and on each of its binds.
pub(super) trait Bind: Sized {
    fn bind<ST, V>(self, value: V) -> Bound<Self, V, ST> {
        Bound {
            query: self,
            value,
            sql_type: PhantomData,
        }
    }
}

impl Bind for Prepared {}
impl<Q, V, ST> Bind for Bound<Q, V, ST> {}

impl QueryFragment<Pg> for Prepared {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}

impl<Q, V, ST> QueryFragment<Pg> for Bound<Q, V, ST>
where
    Q: QueryFragment<Pg>,
    V: ToSql<ST, Pg>,
    Pg: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        // The placeholder is in the SQL already.
        out.push_bind_param_value_only::<ST, V>(&self.value)
    }
}

// Not a static id: diesel then caches the statement by its SQL text.
impl QueryId for Prepared {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, V, ST> QueryId for Bound<Q, V, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared {
    type SqlType = Untyped;
}

impl<Q, V, ST> Query for Bound<Q, V, ST> {
    type SqlType = Untyped;
}

impl<Q, V, ST> RunQueryDsl<Conn> for Bound<Q, V, ST> {}

/// The first key of the advisory locks that serialise creates of one person
/// at one location (the second is a hash of the two): any number of
/// instances then insert one at a time per person, so the exclusion
/// constraint never has two uncommitted rows waiting on each other, which is
/// how it deadlocked. Migrations lock a single bigint key, a separate key
/// space.
pub(super) const PERSON_LOCK: i32 = 72_403;

/// The first key of the advisory locks that make concurrent requests with
/// one idempotency key wait for each other, on any instance. A keyed write
/// takes this lock first and the person's lock (above) last, so no two
/// transactions can wait on each other.
const KEY_LOCK: i32 = 72_404;

fn lock_key(conn: &mut Conn, keyed: &KeyedRequest) -> QueryResult<()> {
    lock_keys(conn, std::iter::once(keyed))
}

/// Takes the locks of several keys in one statement, in byte order of the
/// keys (`COLLATE "C"`, the order a batch's persons are locked in too), so
/// two transactions that lock some of the same keys never wait on each
/// other in a cycle.
pub(super) fn lock_keys<'a>(
    conn: &mut Conn,
    keys: impl Iterator<Item = &'a KeyedRequest>,
) -> QueryResult<()> {
    let (mut principals, mut operations, mut names) = (Vec::new(), Vec::new(), Vec::new());
    for keyed in keys {
        principals.push(keyed.principal.as_str());
        operations.push(keyed.operation.as_str());
        names.push(keyed.key.as_str());
    }
    if principals.is_empty() {
        return Ok(());
    }
    prepared(
        "SELECT count(pg_advisory_xact_lock($1, hashtext(p || chr(10) || o || chr(10) || k))) \
         FROM (SELECT p, o, k FROM unnest($2::text[], $3::text[], $4::text[]) AS t(p, o, k) \
               GROUP BY p, o, k ORDER BY p COLLATE \"C\", o COLLATE \"C\", k COLLATE \"C\") \
         AS keys",
    )
    .bind::<diesel::sql_types::Integer, _>(KEY_LOCK)
    .bind::<diesel::sql_types::Array<Text>, _>(principals)
    .bind::<diesel::sql_types::Array<Text>, _>(operations)
    .bind::<diesel::sql_types::Array<Text>, _>(names)
    .execute(conn)
    .map(|_| ())
}

/// One statement, one round trip: take the person's lock (held to the end
/// of this statement's transaction), then insert. The exclusion constraint
/// `guest_passes_no_overlap` decides; by the time the lock is granted, every
/// earlier create of that person has committed or rolled back, so the check
/// sees it. An overlap is skipped (`ON CONFLICT … DO NOTHING`), not raised,
/// so a transaction around the create (a keyed one) stays usable to store
/// the 422. A multi-row form (locks taken in key order) batches the same way.
///
/// The row is only inserted while the database's clock is before
/// `not_after_ms` (the request's deadline, epoch milliseconds): a statement
/// that reaches a stalled server and runs only after the request was
/// answered 503 writes nothing. (This trusts the two hosts' clocks to agree
/// within the watchdog's grace.)
fn insert_unless_overlapping(
    conn: &mut Conn,
    row: &GuestPassRow,
    not_after_ms: i64,
) -> QueryResult<bool> {
    let outcome = prepared(
        "WITH person AS ( \
             SELECT clock_timestamp() < to_timestamp($17::float8 / 1000) AS in_time \
             FROM (SELECT pg_advisory_xact_lock($16, hashtext($3 || chr(10) || $7))) AS locked), \
         inserted AS ( \
             INSERT INTO guest_passes (id, chain_id, location_id, first_name, last_name, email, \
             email_key, phone, valid_from, valid_until, checkin_code, created_at, created_by, \
             cancelled_at, cancelled_by) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 \
             FROM person WHERE in_time \
             ON CONFLICT ON CONSTRAINT guest_passes_no_overlap DO NOTHING \
             RETURNING 1) \
         SELECT (SELECT in_time FROM person) AS in_time, \
                (SELECT count(*) FROM inserted) AS inserted",
    )
    .bind::<Text, _>(&row.id)
    .bind::<Text, _>(&row.chain_id)
    .bind::<Text, _>(&row.location_id)
    .bind::<Text, _>(&row.first_name)
    .bind::<Text, _>(&row.last_name)
    .bind::<Text, _>(&row.email)
    .bind::<Text, _>(&row.email_key)
    .bind::<Nullable<Text>, _>(&row.phone)
    .bind::<BigInt, _>(row.valid_from)
    .bind::<BigInt, _>(row.valid_until)
    .bind::<Text, _>(&row.checkin_code)
    .bind::<BigInt, _>(row.created_at)
    .bind::<Nullable<Text>, _>(&row.created_by)
    .bind::<Nullable<BigInt>, _>(row.cancelled_at)
    .bind::<Nullable<Text>, _>(&row.cancelled_by)
    .bind::<diesel::sql_types::Integer, _>(PERSON_LOCK)
    .bind::<BigInt, _>(not_after_ms)
    .get_result::<Inserted>(conn)?;
    if !outcome.in_time {
        return Err(past_deadline());
    }
    Ok(outcome.inserted == 1)
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    in_time: bool,
    #[diesel(sql_type = BigInt)]
    inserted: i64,
}

/// As the database reports a cancelled statement: the store answers 503.
pub(super) fn past_deadline() -> DieselError {
    DieselError::DatabaseError(
        DatabaseErrorKind::Unknown,
        Box::new("canceling statement: the request's deadline passed".to_owned()),
    )
}

/// `FOR SHARE`: a concurrent cancel (an UPDATE of the row) waits for this
/// transaction, and a check-in that comes second sees the cancellation.
fn pass_for_checkin(
    conn: &mut Conn,
    code: &str,
    scope: &Scope,
) -> QueryResult<Option<GuestPassRow>> {
    let query = guest_passes::table
        .filter(guest_passes::checkin_code.eq(code))
        .select(GuestPassRow::as_select())
        .for_share();
    scoped_single!(query, scope, conn)
}

/// A transaction's way out other than the database's own errors.
enum TxError {
    Db(DieselError),
    /// The deadline passed before the commit: rolled back.
    Late,
    /// A test seam failed the commit.
    Injected(String),
}

impl From<DieselError> for TxError {
    fn from(e: DieselError) -> Self {
        TxError::Db(e)
    }
}

/// How often a transaction that lost a deadlock or a serialization conflict
/// is run again before the request is answered 503.
const ATTEMPTS: u32 = 3;

/// Runs `work` in a transaction of its own: again after a deadlock (40P01)
/// or serialization failure (40001), at most `ATTEMPTS` times, each retry
/// counted; never committed once `deadline` has passed, so a request that
/// is answered 503 for lack of time wrote nothing.
pub fn in_transaction<T>(
    conn: &mut Conn,
    stats: &Stats,
    seams: &Seams,
    deadline: Instant,
    mut work: impl FnMut(&mut Conn) -> QueryResult<T>,
) -> Result<T, StoreError> {
    let mut attempt = 1;
    loop {
        let outcome = conn.transaction::<T, TxError, _>(|conn| {
            let value = work(conn)?;
            if let Reached::Fail(detail) = seams.reach(seams::BEFORE_COMMIT) {
                return Err(TxError::Injected(detail));
            }
            if Instant::now() > deadline {
                return Err(TxError::Late);
            }
            Ok(value)
        });
        match outcome {
            Ok(value) => return Ok(value),
            Err(TxError::Db(e)) if attempt < ATTEMPTS && is_retryable(&e) => {
                stats.retries.fetch_add(1, Ordering::Relaxed);
                attempt += 1;
            }
            Err(TxError::Db(e)) => return Err(e.into()),
            Err(TxError::Late) => {
                return Err(StoreError::Unavailable(
                    "the transaction ran past its deadline and was rolled back".into(),
                ))
            }
            Err(TxError::Injected(detail)) => return Err(StoreError::Unavailable(detail)),
        }
    }
}

fn is_retryable(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

#[derive(QueryableByName)]
struct ReadOnly {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    read_only: bool,
}

/// Whether this database refuses writes: a standby in recovery, or
/// `default_transaction_read_only` set (it applies to new sessions).
pub fn is_read_only(conn: &mut Conn) -> QueryResult<bool> {
    diesel::sql_query(
        "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS read_only",
    )
    .get_result::<ReadOnly>(conn)
    .map(|row| row.read_only)
}
