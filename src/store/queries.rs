// Query functions shared by both backends. This file is `include!`d by
// `sqlite.rs` and `postgres.rs`, each of which defines `Conn`, `Db` and its
// backend's strategy constants first, so every query is written once and
// compiled for each concrete connection type (see the module doc of `store`).

use diesel::dsl::{count_star, exists};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::domain::{
    checkin, CheckinCode, CheckinId, EmailKey, GuestPassStatus, Location, LocationId,
    PrincipalKind, Scope, SearchFilter, UserId, UtcTimestamp,
};
use crate::store::lookups::{Found, Read};
use crate::store::rows::{
    CheckinRow, CredentialRow, GuestPassRow, Keyed, KeyedRequest, NewPrincipal, PrincipalRow,
    StoredAnswer,
};
use crate::store::schema::{chains, checkins, clients, guest_passes, idempotency_keys, locations};
use crate::store::seams::{self, Reached, Seams};
use crate::store::{CheckinOutcome, CreateOutcome, RemoveOutcome, Removed};

type PassQuery<'a> = guest_passes::BoxedQuery<'a, Db>;

/// Reads through the schema, so a connection that sees no tables (a wrong
/// or replaced file, an in-memory database) fails.
pub fn ping(conn: &mut Conn) -> QueryResult<()> {
    guest_passes::table
        .select(guest_passes::id)
        .limit(1)
        .load::<String>(conn)
        .map(|_| ())
}

/// The credential of an enabled principal; disabled ones, and demo ones
/// unless `demo_mode`, read as absent. A location of a disabled or demo
/// chain counts as disabled or demo itself.
pub fn find_credential(
    conn: &mut Conn,
    kind: PrincipalKind,
    id: &str,
    demo_mode: bool,
) -> QueryResult<Option<CredentialRow>> {
    // `demo = false OR demo = demo_mode`: one statement shape for both modes,
    // so diesel caches one prepared statement.
    let row = match kind {
        PrincipalKind::Client => clients::table
            .find(id)
            .filter(clients::disabled_at.is_null())
            .filter(clients::demo.eq(false).or(clients::demo.eq(demo_mode)))
            .select((clients::id, clients::secret_salt, clients::secret_hash))
            .get_result::<(String, String, String)>(conn)
            .optional()?
            .map(|(id, salt, hash)| (id, None, salt, hash)),
        PrincipalKind::Chain => chains::table
            .find(id)
            .filter(chains::disabled_at.is_null())
            .filter(chains::demo.eq(false).or(chains::demo.eq(demo_mode)))
            .select((chains::id, chains::secret_salt, chains::secret_hash))
            .get_result::<(String, String, String)>(conn)
            .optional()?
            .map(|(id, salt, hash)| (id, None, salt, hash)),
        PrincipalKind::Location => locations::table
            .inner_join(chains::table)
            .filter(locations::id.eq(id))
            .filter(locations::disabled_at.is_null())
            .filter(chains::disabled_at.is_null())
            .filter(locations::demo.eq(false).or(locations::demo.eq(demo_mode)))
            .filter(chains::demo.eq(false).or(chains::demo.eq(demo_mode)))
            .select((
                locations::id,
                locations::chain_id,
                locations::secret_salt,
                locations::secret_hash,
            ))
            .get_result::<(String, String, String, String)>(conn)
            .optional()?
            .map(|(id, chain, salt, hash)| (id, Some(chain), salt, hash)),
    };
    Ok(
        row.map(|(id, chain_id, secret_salt, secret_hash)| CredentialRow {
            id,
            chain_id,
            secret_salt,
            secret_hash,
        }),
    )
}

/// Every enabled client (demo ones only in `demo_mode`), for a request
/// that sends a client secret without its id.
pub fn client_credentials(conn: &mut Conn, demo_mode: bool) -> QueryResult<Vec<CredentialRow>> {
    let rows = clients::table
        .filter(clients::disabled_at.is_null())
        .filter(clients::demo.eq(false).or(clients::demo.eq(demo_mode)))
        .select((clients::id, clients::secret_salt, clients::secret_hash))
        .order(clients::id)
        .load::<(String, String, String)>(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, secret_salt, secret_hash)| CredentialRow {
            id,
            chain_id: None,
            secret_salt,
            secret_hash,
        })
        .collect())
}

pub fn find_location(conn: &mut Conn, id: &str) -> QueryResult<Option<Location>> {
    locations::table
        .find(id)
        .select((locations::id, locations::chain_id))
        .get_result::<(String, String)>(conn)
        .optional()
        .map(|row| {
            row.map(|(id, chain_id)| Location {
                id: LocationId::from_stored(id),
                chain_id,
            })
        })
}

/// Whether a pass that is not cancelled overlaps `row`'s period for the
/// same person at the same location.
#[allow(dead_code)]
fn overlapping(conn: &mut Conn, row: &GuestPassRow) -> QueryResult<bool> {
    diesel::select(exists(
        guest_passes::table
            .filter(guest_passes::location_id.eq(&row.location_id))
            .filter(guest_passes::email_key.eq(&row.email_key))
            .filter(guest_passes::cancelled_at.is_null())
            .filter(guest_passes::valid_from.lt(row.valid_until))
            .filter(guest_passes::valid_until.gt(row.valid_from)),
    ))
    .get_result(conn)
}

/// Inserts a pass unless a live one overlaps it; how the overlap is ruled
/// out is the backend's `insert_unless_overlapping`. Nothing is inserted
/// after `not_after_ms` (epoch milliseconds), the request's deadline.
pub fn insert_pass(
    conn: &mut Conn,
    mut row: GuestPassRow,
    not_after_ms: i64,
) -> QueryResult<CreateOutcome> {
    // A clash of check-in codes is one in ~10^14; a few fresh draws settle it.
    for _ in 0..4 {
        match insert_unless_overlapping(conn, &row, not_after_ms) {
            Ok(true) => return Ok(CreateOutcome::Created(Box::new(row))),
            Ok(false) => return Ok(CreateOutcome::AlreadyCreated),
            Err(DieselError::DatabaseError(kind, info)) => {
                let constraint = info.constraint_name().unwrap_or_default();
                let message = info.message();
                if constraint == "guest_passes_no_overlap" {
                    return Ok(CreateOutcome::AlreadyCreated);
                }
                let code_clash = matches!(kind, DatabaseErrorKind::UniqueViolation)
                    && (constraint.contains("checkin_code") || message.contains("checkin_code"));
                if !code_clash {
                    return Err(DieselError::DatabaseError(kind, info));
                }
                row.checkin_code = CheckinCode::generate();
            }
            Err(other) => return Err(other),
        }
    }
    Err(DieselError::RollbackTransaction)
}

fn scoped<'a>(query: PassQuery<'a>, scope: &'a Scope) -> PassQuery<'a> {
    match scope {
        Scope::Deployment => query,
        Scope::Chain(chain) => query.filter(guest_passes::chain_id.eq(chain)),
        Scope::Location(location) => query.filter(guest_passes::location_id.eq(location)),
    }
}

/// One of three static statements per lookup (not a boxed query), so diesel
/// caches each prepared statement; and no `LIMIT ?` (the key is unique):
/// SQLite 3.47+ reads a bound LIMIT while planning, which makes every rebind
/// re-prepare the statement — 40% of a point read's time.
macro_rules! scoped_single {
    ($query:expr, $scope:expr, $conn:expr) => {
        match $scope {
            Scope::Deployment => $query.load($conn),
            Scope::Chain(chain) => $query
                .filter(guest_passes::chain_id.eq(chain))
                .load($conn),
            Scope::Location(location) => $query
                .filter(guest_passes::location_id.eq(location))
                .load($conn),
        }
        .map(|rows: Vec<GuestPassRow>| rows.into_iter().next())
    };
}

pub fn find_pass(conn: &mut Conn, id: &str, scope: &Scope) -> QueryResult<Option<GuestPassRow>> {
    let query = guest_passes::table
        .filter(guest_passes::id.eq(id))
        .select(GuestPassRow::as_select());
    scoped_single!(query, scope, conn)
}

/// Every pass of the person with `email` at `location`, newest first (the
/// order of a search), if there are at most `limit`; `None` when there are
/// more. At most `limit + 1` rows are read, unsorted, from the location +
/// e-mail index, however many passes the person has: what makes it cheap
/// and bounded enough for the batching reader, whoever sends it.
pub fn find_person(
    conn: &mut Conn,
    location: &str,
    email: &EmailKey,
    limit: i64,
) -> QueryResult<Option<Vec<GuestPassRow>>> {
    let rows = guest_passes::table
        .filter(guest_passes::location_id.eq(location))
        .filter(guest_passes::email_key.eq(email))
        .select(GuestPassRow::as_select())
        .limit(limit.saturating_add(1))
        .load::<GuestPassRow>(conn)?;
    Ok(newest_first(rows, limit))
}

/// A person's passes as `find_person` read them (at most `limit + 1`):
/// sorted as `search` lists them, `ORDER BY created_at DESC, id` (ids are
/// UUIDs: byte order is every collation's order), or `None` when they are
/// more than `limit`.
pub fn newest_first(mut rows: Vec<GuestPassRow>, limit: i64) -> Option<Vec<GuestPassRow>> {
    if i64::try_from(rows.len()).map_or(true, |read| read > limit) {
        return None;
    }
    rows.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.id.as_str().cmp(b.id.as_str()))
    });
    Some(rows)
}

/// One read of the batching reader, on its own.
pub fn read_one(conn: &mut Conn, read: &Read) -> QueryResult<Found> {
    match read {
        Read::Pass { id, scope } => {
            find_pass(conn, id.as_str(), scope).map(|row| Found::Pass(row.map(Box::new)))
        }
        Read::Person {
            location_id,
            email_key,
            limit,
        } => find_person(conn, location_id, email_key, *limit).map(Found::Person),
    }
}

fn filtered<'a>(scope: &'a Scope, filter: &'a SearchFilter, now: UtcTimestamp) -> PassQuery<'a> {
    use crate::store::schema::guest_passes::dsl::*;
    let mut query = scoped(guest_passes.into_boxed(), scope);
    if let Some(location) = &filter.location_id {
        query = query.filter(location_id.eq(location));
    }
    if let Some(key) = &filter.email_key {
        query = query.filter(email_key.eq(key));
    }
    if let Some(code) = &filter.checkin_code {
        query = query.filter(checkin_code.eq(code));
    }
    // The same rules as GuestPassStatus::at, as SQL, so filtering agrees with
    // the status a read computes.
    query = match filter.status {
        None => query,
        Some(GuestPassStatus::Cancelled) => query.filter(cancelled_at.is_not_null()),
        Some(GuestPassStatus::Expired) => query
            .filter(cancelled_at.is_null())
            .filter(valid_until.le(now)),
        Some(GuestPassStatus::Upcoming) => query
            .filter(cancelled_at.is_null())
            .filter(valid_from.gt(now)),
        Some(GuestPassStatus::Active) => query
            .filter(cancelled_at.is_null())
            .filter(valid_from.le(now))
            .filter(valid_until.gt(now)),
    };
    if let Some(at) = filter.valid_at {
        query = query
            .filter(cancelled_at.is_null())
            .filter(valid_from.le(at))
            .filter(valid_until.gt(at));
    }
    query
}

pub fn search(
    conn: &mut Conn,
    scope: &Scope,
    filter: &SearchFilter,
    now: UtcTimestamp,
) -> QueryResult<(Vec<GuestPassRow>, i64)> {
    let count = |conn: &mut Conn| {
        filtered(scope, filter, now)
            .select(count_star())
            .get_result::<i64>(conn)
    };
    let page = |conn: &mut Conn| {
        filtered(scope, filter, now)
            .order((guest_passes::created_at.desc(), guest_passes::id.asc()))
            .limit(filter.limit)
            .offset(filter.offset)
            .select(GuestPassRow::as_select())
            .load(conn)
    };
    if filter.offset == 0 {
        // The usual search (a person at a location, the first page) reads
        // its page first: a page that is not full holds every match, so its
        // length is the total, from the same statement, and nothing needs
        // counting. Only a full first page is counted.
        let rows = page(conn)?;
        let shown = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let total = if shown < filter.limit {
            shown
        } else {
            count(conn)?.max(shown)
        };
        return Ok((rows, total));
    }
    // Deeper pages count first, so an offset past the end costs a count
    // and no walk to it.
    let total = count(conn)?;
    if total <= filter.offset {
        return Ok((Vec::new(), total));
    }
    Ok((page(conn)?, total))
}

/// Cancels a pass in scope, in one statement; `false` when there is no such
/// pass. A pass already cancelled keeps its first `cancelledAt` and
/// `cancelled_by`.
pub fn cancel_pass(
    conn: &mut Conn,
    id: &str,
    scope: &Scope,
    now: UtcTimestamp,
    user: Option<&UserId>,
) -> QueryResult<bool> {
    let live = guest_passes::table
        .filter(guest_passes::id.eq(id))
        .filter(guest_passes::cancelled_at.is_null());
    let set = (
        guest_passes::cancelled_at.eq(now),
        guest_passes::cancelled_by.eq(user),
    );
    let changed = match scope {
        Scope::Deployment => diesel::update(live).set(set).execute(conn)?,
        Scope::Chain(chain) => diesel::update(live.filter(guest_passes::chain_id.eq(chain)))
            .set(set)
            .execute(conn)?,
        Scope::Location(location) => {
            diesel::update(live.filter(guest_passes::location_id.eq(location)))
                .set(set)
                .execute(conn)?
        }
    };
    Ok(changed > 0 || find_pass(conn, id, scope)?.is_some())
}

/// Records a visit at `door` if the pass with `code` (inside `scope`) admits
/// its guest there now. The backend's `pass_for_checkin` keeps the pass from
/// being cancelled until this transaction ends, so a visit is never recorded
/// on a pass whose cancellation committed first.
pub fn check_in(
    conn: &mut Conn,
    code: &str,
    door: &Location,
    scope: &Scope,
    now: UtcTimestamp,
    seams: &Seams,
) -> QueryResult<CheckinOutcome> {
    let pass = pass_for_checkin(conn, code, scope)?;
    let outcome = decide_checkin(pass.as_ref(), door, now, seams)?;
    if let CheckinOutcome::CheckedIn(visit) = &outcome {
        diesel::insert_into(checkins::table)
            .values(visit)
            .execute(conn)?;
    }
    Ok(outcome)
}

/// What a check-in at `door` at `now` does with the pass its code found in
/// the caller's scope (`None`: no such pass): the visit to record, or the
/// answer without one. An error only where a test makes one.
pub fn decide_checkin(
    pass: Option<&GuestPassRow>,
    door: &Location,
    now: UtcTimestamp,
    seams: &Seams,
) -> QueryResult<CheckinOutcome> {
    let Some(pass) = pass else {
        return Ok(CheckinOutcome::UnknownCode);
    };
    if let Err(failure) = checkin::admit(pass.status_at(now), &pass.location_id, &door.id) {
        return Ok(CheckinOutcome::Refused(failure));
    }
    if let Reached::Fail(detail) = seams.reach(seams::CHECKIN_DECIDED) {
        // As the database would report it (a test injects e.g. a deadlock).
        return Err(DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(detail),
        ));
    }
    Ok(CheckinOutcome::CheckedIn(CheckinRow {
        id: CheckinId::generate(),
        guest_pass_id: pass.id.clone(),
        location_id: door.id.clone(),
        checked_in_at: now,
    }))
}

/// The visits of a pass in scope, oldest first; `None` when there is no such pass.
pub fn list_checkins(
    conn: &mut Conn,
    id: &str,
    scope: &Scope,
) -> QueryResult<Option<Vec<CheckinRow>>> {
    if find_pass(conn, id, scope)?.is_none() {
        return Ok(None);
    }
    checkins::table
        .filter(checkins::guest_pass_id.eq(id))
        .order((checkins::checked_in_at.asc(), checkins::id.asc()))
        .select(CheckinRow::as_select())
        .load(conn)
        .map(Some)
}

/// Deletes up to `batch` passes (and their check-ins) whose period ended
/// before `before`; returns how many. Check-ins go first so the delete does
/// not depend on foreign-key cascades being enabled. The batch is chosen by
/// a subquery, not by binding its ids, so any batch size works (SQLite
/// allows 32,766 bound values a statement). Both statements choose the same
/// passes on SQLite, whose single writer lets nothing in between. On
/// PostgreSQL a concurrent write (a cancel) can change which of the passes
/// that ended at the same second the second statement chooses: the
/// check-ins of a pass chosen only by the second go by the foreign key's
/// cascade, and a pass chosen only by the first has lost its check-ins but
/// is prunable, so the next batch takes it. Its own transaction, also on
/// SQLite's writer, so a failure leaves nothing half-deleted.
pub fn prune_batch(conn: &mut Conn, before: UtcTimestamp, batch: i64) -> QueryResult<usize> {
    // An alias: diesel refuses a subquery on the table a DELETE targets.
    // The caller runs both deletes in one transaction (`transaction!`).
    let chosen_passes = diesel::alias!(guest_passes as chosen);
    let chosen = || {
        chosen_passes
            .filter(chosen_passes.field(guest_passes::valid_until).lt(before))
            .select(chosen_passes.field(guest_passes::id))
            .order(chosen_passes.field(guest_passes::valid_until).asc())
            .limit(batch)
    };
    diesel::delete(checkins::table.filter(checkins::guest_pass_id.eq_any(chosen()))).execute(conn)?;
    diesel::delete(guest_passes::table.filter(guest_passes::id.eq_any(chosen()))).execute(conn)
}

pub fn count_prunable(conn: &mut Conn, before: UtcTimestamp) -> QueryResult<i64> {
    guest_passes::table
        .filter(guest_passes::valid_until.lt(before))
        .select(count_star())
        .get_result(conn)
}

pub fn insert_principal(
    conn: &mut Conn,
    kind: PrincipalKind,
    p: &NewPrincipal,
) -> QueryResult<()> {
    match kind {
        PrincipalKind::Client => diesel::insert_into(clients::table)
            .values((
                clients::id.eq(&p.id),
                clients::secret_salt.eq(&p.secret_salt),
                clients::secret_hash.eq(&p.secret_hash),
                clients::created_at.eq(p.created_at),
                clients::demo.eq(p.demo),
            ))
            .execute(conn),
        PrincipalKind::Chain => diesel::insert_into(chains::table)
            .values((
                chains::id.eq(&p.id),
                chains::name.eq(&p.name),
                chains::secret_salt.eq(&p.secret_salt),
                chains::secret_hash.eq(&p.secret_hash),
                chains::created_at.eq(p.created_at),
                chains::demo.eq(p.demo),
            ))
            .execute(conn),
        PrincipalKind::Location => diesel::insert_into(locations::table)
            .values((
                locations::id.eq(&p.id),
                locations::chain_id.eq(p.chain_id.as_deref().unwrap_or_default()),
                locations::name.eq(&p.name),
                locations::secret_salt.eq(&p.secret_salt),
                locations::secret_hash.eq(&p.secret_hash),
                locations::created_at.eq(p.created_at),
                locations::demo.eq(p.demo),
            ))
            .execute(conn),
    }
    .map(|_| ())
}

/// Replaces a principal's secret; `NotFound` when there is no such principal.
pub fn set_secret(
    conn: &mut Conn,
    kind: PrincipalKind,
    id: &str,
    salt: &str,
    hash: &str,
) -> QueryResult<()> {
    let changed = match kind {
        PrincipalKind::Client => diesel::update(clients::table.find(id))
            .set((clients::secret_salt.eq(salt), clients::secret_hash.eq(hash)))
            .execute(conn)?,
        PrincipalKind::Chain => diesel::update(chains::table.find(id))
            .set((chains::secret_salt.eq(salt), chains::secret_hash.eq(hash)))
            .execute(conn)?,
        PrincipalKind::Location => diesel::update(locations::table.find(id))
            .set((
                locations::secret_salt.eq(salt),
                locations::secret_hash.eq(hash),
            ))
            .execute(conn)?,
    };
    if changed == 0 {
        return Err(DieselError::NotFound);
    }
    Ok(())
}

/// Bulk insert for seeding (benchmarks, demos); one statement per call.
pub fn insert_passes(conn: &mut Conn, rows: &[GuestPassRow]) -> QueryResult<usize> {
    diesel::insert_into(guest_passes::table)
        .values(rows)
        .execute(conn)
}

/// Refreshes the planner's statistics after a bulk load, where that helps.
pub fn analyze(conn: &mut Conn) -> QueryResult<()> {
    match ANALYZE_AFTER_BULK_LOAD {
        Some(sql) => diesel::connection::SimpleConnection::batch_execute(conn, sql),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Principals for `admin list`, `disable`, `enable` and `remove`.

/// Runs `$body` with `$t` bound to the schema module of `$kind`'s table; the
/// three tables share the column names used here.
macro_rules! on_principal_table {
    ($kind:expr, |$t:ident| $body:expr) => {
        match $kind {
            PrincipalKind::Client => {
                use crate::store::schema::clients as $t;
                $body
            }
            PrincipalKind::Chain => {
                use crate::store::schema::chains as $t;
                $body
            }
            PrincipalKind::Location => {
                use crate::store::schema::locations as $t;
                $body
            }
        }
    };
}

type PrincipalTuple = (
    String,
    Option<String>,
    Option<String>,
    UtcTimestamp,
    Option<UtcTimestamp>,
    bool,
);

fn principal_row(kind: PrincipalKind, row: PrincipalTuple) -> PrincipalRow {
    let (id, name, chain_id, created_at, disabled_at, demo) = row;
    PrincipalRow {
        kind,
        id,
        name,
        chain_id,
        created_at,
        disabled_at,
        demo,
    }
}

/// Every chain, location and client, each kind ordered by id.
pub fn list_principals(conn: &mut Conn) -> QueryResult<Vec<PrincipalRow>> {
    let chains = chains::table
        .select((
            chains::id,
            chains::name,
            chains::created_at,
            chains::disabled_at,
            chains::demo,
        ))
        .order(chains::id)
        .load::<(String, String, UtcTimestamp, Option<UtcTimestamp>, bool)>(conn)?;
    let locations = locations::table
        .select((
            locations::id,
            locations::name.nullable(),
            locations::chain_id.nullable(),
            locations::created_at,
            locations::disabled_at,
            locations::demo,
        ))
        .order(locations::id)
        .load::<PrincipalTuple>(conn)?;
    let clients = clients::table
        .select((
            clients::id,
            clients::created_at,
            clients::disabled_at,
            clients::demo,
        ))
        .order(clients::id)
        .load::<(String, UtcTimestamp, Option<UtcTimestamp>, bool)>(conn)?;
    let chains = chains
        .into_iter()
        .map(|(id, name, created, disabled, demo)| {
            principal_row(
                PrincipalKind::Chain,
                (id, Some(name), None, created, disabled, demo),
            )
        });
    let locations = locations
        .into_iter()
        .map(|row| principal_row(PrincipalKind::Location, row));
    let clients = clients.into_iter().map(|(id, created, disabled, demo)| {
        principal_row(PrincipalKind::Client, (id, None, None, created, disabled, demo))
    });
    Ok(chains.chain(locations).chain(clients).collect())
}

/// Whether `id` names a principal of `kind`, enabled or not.
pub fn principal_exists(conn: &mut Conn, kind: PrincipalKind, id: &str) -> QueryResult<bool> {
    on_principal_table!(kind, |t| diesel::select(exists(t::table.find(id))).get_result(conn))
}

/// Disables (`Some(now)`) or enables (`None`) a principal; `false` when it
/// already was, keeping the time it was first disabled. `NotFound` when
/// there is no such principal.
pub fn set_disabled(
    conn: &mut Conn,
    kind: PrincipalKind,
    id: &str,
    at: Option<UtcTimestamp>,
) -> QueryResult<bool> {
    let changed = on_principal_table!(kind, |t| match at {
        Some(now) => diesel::update(t::table.find(id).filter(t::disabled_at.is_null()))
            .set(t::disabled_at.eq(now))
            .execute(conn)?,
        None => diesel::update(t::table.find(id).filter(t::disabled_at.is_not_null()))
            .set(t::disabled_at.eq(None::<UtcTimestamp>))
            .execute(conn)?,
    });
    if changed > 0 {
        return Ok(true);
    }
    if principal_exists(conn, kind, id)? {
        Ok(false)
    } else {
        Err(DieselError::NotFound)
    }
}

/// Deletes a principal, in one transaction. A chain goes with its
/// locations; a chain or location that still has passes only with
/// `with_passes`, and then with those passes and their check-ins.
/// `NotFound` when there is no such principal.
pub fn remove_principal(
    conn: &mut Conn,
    kind: PrincipalKind,
    id: &str,
    with_passes: bool,
) -> QueryResult<RemoveOutcome> {
    // The caller runs it as one transaction (`transaction!`; on SQLite a
    // failing statement ends the writer's whole batch): a failure halfway
    // leaves nothing deleted.
    if !principal_exists(conn, kind, id)? {
        return Err(DieselError::NotFound);
    }
    let passes: i64 = match kind {
        PrincipalKind::Client => 0,
        PrincipalKind::Chain => guest_passes::table
            .filter(guest_passes::chain_id.eq(id))
            .select(count_star())
            .get_result(conn)?,
        PrincipalKind::Location => guest_passes::table
            .filter(guest_passes::location_id.eq(id))
            .select(count_star())
            .get_result(conn)?,
    };
    if passes > 0 && !with_passes {
        return Ok(RemoveOutcome::HasPasses(passes));
    }
    let mut removed = Removed::default();
    match kind {
        PrincipalKind::Client => {}
        PrincipalKind::Chain => {
            let of_chain = guest_passes::table
                .filter(guest_passes::chain_id.eq(id))
                .select(guest_passes::id);
            removed.checkins =
                diesel::delete(checkins::table.filter(checkins::guest_pass_id.eq_any(of_chain)))
                    .execute(conn)?;
            removed.passes =
                diesel::delete(guest_passes::table.filter(guest_passes::chain_id.eq(id)))
                    .execute(conn)?;
            removed.locations =
                diesel::delete(locations::table.filter(locations::chain_id.eq(id)))
                    .execute(conn)?;
        }
        PrincipalKind::Location => {
            let at_location = guest_passes::table
                .filter(guest_passes::location_id.eq(id))
                .select(guest_passes::id);
            removed.checkins = diesel::delete(
                checkins::table.filter(checkins::guest_pass_id.eq_any(at_location)),
            )
            .execute(conn)?;
            removed.passes =
                diesel::delete(guest_passes::table.filter(guest_passes::location_id.eq(id)))
                    .execute(conn)?;
        }
    }
    on_principal_table!(kind, |t| diesel::delete(t::table.find(id)).execute(conn))?;
    Ok(RemoveOutcome::Removed(removed))
}

/// The live answer stored under `keyed`'s key, with the fingerprint of the
/// body it answered.
pub fn find_key(
    conn: &mut Conn,
    keyed: &KeyedRequest,
) -> QueryResult<Option<(String, StoredAnswer)>> {
    stored_key(conn, keyed).map(|stored| {
        stored
            .filter(|stored| stored.live)
            .map(|stored| (stored.hash, stored.answer))
    })
}

/// A row of `idempotency_keys`, live or expired.
struct StoredKey {
    hash: String,
    answer: StoredAnswer,
    live: bool,
}

/// What is stored under `keyed`'s key, expired or not: a keyed write reads
/// it once to learn both whether to replay and whether a stale row must go.
fn stored_key(conn: &mut Conn, keyed: &KeyedRequest) -> QueryResult<Option<StoredKey>> {
    idempotency_keys::table
        .find((&keyed.principal, keyed.operation.as_str(), keyed.key.as_str()))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::body,
            idempotency_keys::location,
            idempotency_keys::created_at,
        ))
        .get_result::<(String, i32, Vec<u8>, Option<String>, UtcTimestamp)>(conn)
        .optional()
        .map(|row| {
            row.map(|(hash, status, body, location, created_at)| {
                let status = u16::try_from(status).unwrap_or(500);
                StoredKey {
                    hash,
                    answer: StoredAnswer { status, body, location },
                    live: created_at >= keyed.live_after,
                }
            })
        })
}

/// Runs `work` unless `keyed`'s key was used before: then its stored answer
/// (same body) or `Reused` (another body). When `work` ran and `render`
/// gives an answer, that answer is stored with the key in the same
/// transaction (the caller runs this as one: `transaction!`). Concurrent
/// requests with one key wait for each other (the backend's `lock_key`).
pub fn with_key<T>(
    conn: &mut Conn,
    keyed: &KeyedRequest,
    work: impl FnOnce(&mut Conn) -> QueryResult<T>,
    render: impl Fn(&T) -> Option<StoredAnswer>,
) -> QueryResult<Keyed<T>> {
    lock_key(conn, keyed)?;
    with_locked_key(conn, keyed, work, render)
}

/// `with_key` once this transaction holds the key's lock (a batch takes the
/// locks of all its keys first, in one statement).
pub fn with_locked_key<T>(
    conn: &mut Conn,
    keyed: &KeyedRequest,
    work: impl FnOnce(&mut Conn) -> QueryResult<T>,
    render: impl Fn(&T) -> Option<StoredAnswer>,
) -> QueryResult<Keyed<T>> {
    match stored_key(conn, keyed)? {
        Some(stored) if stored.live => {
            return Ok(if stored.hash == keyed.request_hash {
                Keyed::Replay(stored.answer)
            } else {
                Keyed::Reused
            });
        }
        // An expired row of this key would stand in the new one's way.
        Some(_) => {
            diesel::delete(idempotency_keys::table.find((
                &keyed.principal,
                keyed.operation.as_str(),
                keyed.key.as_str(),
            )))
            .execute(conn)?;
        }
        None => {}
    }
    let value = work(conn)?;
    let answer = render(&value);
    if let Some(answer) = &answer {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::principal.eq(&keyed.principal),
                idempotency_keys::operation.eq(keyed.operation.as_str()),
                idempotency_keys::idempotency_key.eq(keyed.key.as_str()),
                idempotency_keys::request_hash.eq(&keyed.request_hash),
                idempotency_keys::status.eq(i32::from(answer.status)),
                idempotency_keys::body.eq(&answer.body),
                idempotency_keys::location.eq(&answer.location),
                idempotency_keys::created_at.eq(keyed.now),
            ))
            .execute(conn)?;
    }
    Ok(Keyed::Ran { value, answer })
}

/// Deletes up to `batch` keys stored before `before`, oldest first.
pub fn delete_expired_keys(
    conn: &mut Conn,
    before: UtcTimestamp,
    batch: i64,
) -> QueryResult<usize> {
    let expired_keys = diesel::alias!(idempotency_keys as expired);
    let oldest = expired_keys
        .filter(expired_keys.field(idempotency_keys::created_at).lt(before))
        .select(expired_keys.field(idempotency_keys::created_at))
        .order(expired_keys.field(idempotency_keys::created_at).asc())
        .limit(batch)
        .offset(batch - 1);
    // Everything up to the batch's newest creation time: at most a few more
    // than `batch` when keys share that second.
    let last: UtcTimestamp = oldest.get_result(conn).optional()?.unwrap_or(before);
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::created_at.le(last))
            .filter(idempotency_keys::created_at.lt(before)),
    )
    .execute(conn)
}

pub fn count_keys(conn: &mut Conn) -> QueryResult<i64> {
    idempotency_keys::table.select(count_star()).get_result(conn)
}
