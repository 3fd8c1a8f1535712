//! The batching writer's statements: each takes all of a batch's writes of
//! one kind, one round trip for the lot.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Binary, Bool, Integer, Nullable, Text};
use diesel::PgConnection;

use super::{CreateJob, KeyedCreate, Value};
use crate::store::postgres::{self, Bind};
use crate::store::rows::{
    CheckinRequest, CheckinRow, GuestPassRow, Keyed, KeyedRequest, StoredAnswer,
};
use crate::store::schema::guest_passes;
use crate::store::seams::Seams;
use crate::store::{CheckinOutcome, CreateOutcome};

/// The part of a batch create that both kinds share, from the CTE `$rows`
/// (the requests to insert, with their deadlines and their order `n`): every
/// person's advisory lock first, in key order (so two batches, on any
/// instances, never wait on each other in a cycle); then `timely`, the rows
/// with whether their deadline is still ahead; then `inserted`, the ids of
/// those inserted (an overlap is skipped: the 422). `$15` is the person
/// lock's first key. A literal, so that the statements stay `&'static str`
/// (diesel caches prepared statements by their text).
macro_rules! insert_passes {
    ($rows:literal) => {
        concat!(
            "locked AS ( \
                 SELECT count(pg_advisory_xact_lock($15, \
                     hashtext(location_id || chr(10) || email_key))) \
                 FROM (SELECT location_id, email_key FROM ", $rows, " \
                       GROUP BY location_id, email_key \
                       ORDER BY location_id COLLATE \"C\", email_key COLLATE \"C\") AS people), \
             timely AS ( \
                 SELECT ", $rows, ".*, \
                     clock_timestamp() < to_timestamp(not_after_ms::float8 / 1000) AS in_time \
                 FROM ", $rows, ", locked), \
             inserted AS ( \
                 INSERT INTO guest_passes (id, chain_id, location_id, first_name, last_name, \
                     email, email_key, phone, valid_from, valid_until, checkin_code, created_at, \
                     created_by) \
                 SELECT id, chain_id, location_id, first_name, last_name, email, email_key, \
                     phone, valid_from, valid_until, checkin_code, created_at, created_by \
                 FROM timely WHERE in_time ORDER BY n \
                 ON CONFLICT ON CONSTRAINT guest_passes_no_overlap DO NOTHING \
                 RETURNING id)"
        )
    };
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = Bool)]
    created: bool,
    #[diesel(sql_type = Bool)]
    in_time: bool,
}

/// One statement for the whole batch; for each job in order, whether its
/// row was inserted and whether it was still in time.
pub(super) fn insert_batch(
    conn: &mut PgConnection,
    batch: &[CreateJob],
) -> QueryResult<Vec<(bool, bool)>> {
    let column = |f: fn(&CreateJob) -> String| batch.iter().map(f).collect::<Vec<_>>();
    let optional = |f: fn(&CreateJob) -> Option<String>| batch.iter().map(f).collect::<Vec<_>>();
    let number = |f: fn(&CreateJob) -> i64| batch.iter().map(f).collect::<Vec<_>>();
    let rows = postgres::prepared(concat!(
        "WITH input AS ( \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::int8[], $10::int8[], $11::text[], \
                 $12::int8[], $13::text[], $14::int8[]) WITH ORDINALITY \
             AS t(id, chain_id, location_id, first_name, last_name, email, email_key, phone, \
                 valid_from, valid_until, checkin_code, created_at, created_by, not_after_ms, n)), \
         ",
        insert_passes!("input"),
        " \
         SELECT inserted.id IS NOT NULL AS created, timely.in_time \
         FROM timely LEFT JOIN inserted ON inserted.id = timely.id ORDER BY timely.n"
    ))
    .bind::<Array<Text>, _>(column(|j| j.row.id.to_string()))
    .bind::<Array<Text>, _>(column(|j| j.row.chain_id.clone()))
    .bind::<Array<Text>, _>(column(|j| j.row.location_id.as_str().to_owned()))
    .bind::<Array<Text>, _>(column(|j| j.row.first_name.as_str().to_owned()))
    .bind::<Array<Text>, _>(column(|j| j.row.last_name.as_str().to_owned()))
    .bind::<Array<Text>, _>(column(|j| j.row.email.as_str().to_owned()))
    .bind::<Array<Text>, _>(column(|j| j.row.email_key.as_str().to_owned()))
    .bind::<Array<Nullable<Text>>, _>(optional(|j| {
        j.row.phone.as_ref().map(|p| p.as_str().to_owned())
    }))
    .bind::<Array<BigInt>, _>(number(|j| j.row.valid_from.epoch_seconds()))
    .bind::<Array<BigInt>, _>(number(|j| j.row.valid_until.epoch_seconds()))
    .bind::<Array<Text>, _>(column(|j| j.row.checkin_code.as_str().to_owned()))
    .bind::<Array<BigInt>, _>(number(|j| j.row.created_at.epoch_seconds()))
    .bind::<Array<Nullable<Text>>, _>(optional(|j| {
        j.row.created_by.as_ref().map(|u| u.as_str().to_owned())
    }))
    .bind::<Array<BigInt>, _>(number(|j| j.not_after_ms))
    .bind::<diesel::sql_types::Integer, _>(postgres::PERSON_LOCK)
    .load::<Inserted>(conn)?;
    if rows.len() != batch.len() {
        return Err(diesel::result::Error::QueryBuilderError(
            "a batch answered for another number of rows".into(),
        ));
    }
    Ok(rows.into_iter().map(|r| (r.created, r.in_time)).collect())
}

#[derive(QueryableByName)]
struct KeyedOutcome {
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = Nullable<Integer>)]
    status: Option<i32>,
    #[diesel(sql_type = Nullable<Binary>)]
    body: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    location: Option<String>,
}

/// A batch's keyed creates (no two with one key) in one statement, their
/// keys already locked by this transaction: each key's live answer is
/// looked up; for the keys without one, the persons are locked in order
/// and the passes inserted (an overlap is skipped: the 422), then each
/// answer is stored with its key, replacing an expired one. For each create
/// in order, what `with_locked_key` around `insert_pass` answers. A create
/// past its deadline fails the statement (the batch is then run again one
/// write at a time, where it is answered 503 alone).
pub(super) fn create_keyed_batch(
    conn: &mut PgConnection,
    creates: &[(&KeyedRequest, &KeyedCreate)],
) -> QueryResult<Vec<Value>> {
    let column =
        |f: fn(&GuestPassRow) -> &str| creates.iter().map(|(_, c)| f(&c.row)).collect::<Vec<_>>();
    let optional = |f: fn(&GuestPassRow) -> Option<&str>| {
        creates.iter().map(|(_, c)| f(&c.row)).collect::<Vec<_>>()
    };
    let number = |f: fn(&KeyedRequest, &KeyedCreate) -> i64| {
        creates.iter().map(|(k, c)| f(k, c)).collect::<Vec<_>>()
    };
    let key = |f: fn(&KeyedRequest) -> &str| creates.iter().map(|(k, _)| f(k)).collect::<Vec<_>>();
    let status = |f: fn(&KeyedCreate) -> &StoredAnswer| {
        creates
            .iter()
            .map(|(_, c)| i32::from(f(c).status))
            .collect::<Vec<_>>()
    };
    let body = |f: fn(&KeyedCreate) -> &StoredAnswer| {
        creates
            .iter()
            .map(|(_, c)| f(c).body.as_slice())
            .collect::<Vec<_>>()
    };
    let location = |f: fn(&KeyedCreate) -> &StoredAnswer| {
        creates
            .iter()
            .map(|(_, c)| f(c).location.as_deref())
            .collect::<Vec<_>>()
    };
    // Planned on every run, unlike the other batch statements: it reads
    // `idempotency_keys`, and a plan cached while that table was small (a
    // hash join over all of it) would be kept as it grows, until the next
    // ANALYZE: 15% fewer keyed creates a second in the first minute.
    let rows = diesel::sql_query(concat!(
        "WITH input AS ( \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::int8[], $10::int8[], $11::text[], \
                 $12::int8[], $13::text[], $14::int8[], $16::text[], $17::text[], $18::text[], \
                 $19::text[], $20::int8[], $21::int8[], $22::int4[], $23::bytea[], $24::text[], \
                 $25::int4[], $26::bytea[], $27::text[]) WITH ORDINALITY \
             AS t(id, chain_id, location_id, first_name, last_name, email, email_key, phone, \
                 valid_from, valid_until, checkin_code, created_at, created_by, not_after_ms, \
                 principal, operation, idempotency_key, request_hash, keyed_at, live_after, \
                 created_status, created_body, created_location, \
                 overlap_status, overlap_body, overlap_location, n)), \
         stored AS ( \
             SELECT input.n, k.request_hash = input.request_hash AS same, k.status, k.body, \
                 k.location \
             FROM input JOIN idempotency_keys AS k ON k.principal = input.principal \
                 AND k.operation = input.operation \
                 AND k.idempotency_key = input.idempotency_key \
             WHERE k.created_at >= input.live_after), \
         fresh AS (SELECT * FROM input WHERE n NOT IN (SELECT n FROM stored)), \
         ",
        insert_passes!("fresh"),
        ", \
         answered AS ( \
             SELECT timely.*, inserted.id IS NOT NULL AS created \
             FROM timely LEFT JOIN inserted ON inserted.id = timely.id), \
         remembered AS ( \
             INSERT INTO idempotency_keys (principal, operation, idempotency_key, request_hash, \
                 status, body, location, created_at) \
             SELECT principal, operation, idempotency_key, request_hash, \
                 CASE WHEN created THEN created_status ELSE overlap_status END, \
                 CASE WHEN created THEN created_body ELSE overlap_body END, \
                 CASE WHEN created THEN created_location ELSE overlap_location END, \
                 keyed_at \
             FROM answered WHERE in_time \
             ON CONFLICT (principal, operation, idempotency_key) DO UPDATE SET \
                 request_hash = excluded.request_hash, status = excluded.status, \
                 body = excluded.body, location = excluded.location, \
                 created_at = excluded.created_at) \
         SELECT CASE WHEN stored.n IS NOT NULL THEN \
                     CASE WHEN stored.same THEN 'replay' ELSE 'reused' END \
                 WHEN NOT answered.in_time THEN 'late' \
                 WHEN answered.created THEN 'created' ELSE 'overlap' END AS outcome, \
             stored.status, stored.body, stored.location \
         FROM input LEFT JOIN stored ON stored.n = input.n \
             LEFT JOIN answered ON answered.n = input.n \
         ORDER BY input.n"
    ))
    .bind::<Array<Text>, _>(column(|r| r.id.as_str()))
    .bind::<Array<Text>, _>(column(|r| &r.chain_id))
    .bind::<Array<Text>, _>(column(|r| r.location_id.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.first_name.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.last_name.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.email.as_str()))
    .bind::<Array<Text>, _>(column(|r| r.email_key.as_str()))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.phone.as_ref().map(|p| p.as_str())))
    .bind::<Array<BigInt>, _>(number(|_, c| c.row.valid_from.epoch_seconds()))
    .bind::<Array<BigInt>, _>(number(|_, c| c.row.valid_until.epoch_seconds()))
    .bind::<Array<Text>, _>(column(|r| r.checkin_code.as_str()))
    .bind::<Array<BigInt>, _>(number(|_, c| c.row.created_at.epoch_seconds()))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.created_by.as_ref().map(|u| u.as_str())))
    .bind::<Array<BigInt>, _>(number(|_, c| c.not_after_ms))
    .bind::<Integer, _>(postgres::PERSON_LOCK)
    .bind::<Array<Text>, _>(key(|k| &k.principal))
    .bind::<Array<Text>, _>(key(|k| k.operation.as_str()))
    .bind::<Array<Text>, _>(key(|k| k.key.as_str()))
    .bind::<Array<Text>, _>(key(|k| &k.request_hash))
    .bind::<Array<BigInt>, _>(number(|k, _| k.now.epoch_seconds()))
    .bind::<Array<BigInt>, _>(number(|k, _| k.live_after.epoch_seconds()))
    .bind::<Array<Integer>, _>(status(|c| &c.created))
    .bind::<Array<Binary>, _>(body(|c| &c.created))
    .bind::<Array<Nullable<Text>>, _>(location(|c| &c.created))
    .bind::<Array<Integer>, _>(status(|c| &c.overlapping))
    .bind::<Array<Binary>, _>(body(|c| &c.overlapping))
    .bind::<Array<Nullable<Text>>, _>(location(|c| &c.overlapping))
    .load::<KeyedOutcome>(conn)?;
    if rows.len() != creates.len() {
        return Err(diesel::result::Error::QueryBuilderError(
            "a batch answered for another number of rows".into(),
        ));
    }
    creates
        .iter()
        .zip(rows)
        .map(|((_, create), row)| {
            let keyed = match row.outcome.as_str() {
                "replay" => Keyed::Replay(StoredAnswer {
                    status: row
                        .status
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(500),
                    body: row.body.unwrap_or_default(),
                    location: row.location,
                }),
                "reused" => Keyed::Reused,
                "created" => Keyed::Ran {
                    value: CreateOutcome::Created(Box::new(create.row.clone())),
                    answer: Some(create.created.clone()),
                },
                "overlap" => Keyed::Ran {
                    value: CreateOutcome::AlreadyCreated,
                    answer: Some(create.overlapping.clone()),
                },
                _ => return Err(postgres::past_deadline()),
            };
            Ok(Box::new(keyed) as Value)
        })
        .collect()
}

/// A batch's check-ins without a key, in two statements: every pass their
/// codes name, read and held `FOR SHARE` (a cancel waits for this
/// transaction, as it does for a check-in alone), then the visits admitted,
/// inserted together. Each check-in is decided as one alone is, its pass
/// checked against its own caller's scope. For each in order, its outcome.
pub(super) fn check_in_batch(
    conn: &mut PgConnection,
    requests: &[&CheckinRequest],
    seams: &Seams,
) -> QueryResult<Vec<Value>> {
    let codes: Vec<&str> = requests.iter().map(|r| r.code.as_str()).collect();
    let passes = guest_passes::table
        .filter(guest_passes::checkin_code.eq_any(&codes))
        .select(GuestPassRow::as_select())
        .for_share()
        .load::<GuestPassRow>(conn)?;
    let by_code: HashMap<&str, &GuestPassRow> = passes
        .iter()
        .map(|pass| (pass.checkin_code.as_str(), pass))
        .collect();
    let outcomes = requests
        .iter()
        .map(|r| {
            let pass = by_code
                .get(r.code.as_str())
                .copied()
                .filter(|pass| pass.in_scope(&r.scope));
            postgres::decide_checkin(pass, &r.door, r.now, seams)
        })
        .collect::<QueryResult<Vec<_>>>()?;
    let visits: Vec<&CheckinRow> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            CheckinOutcome::CheckedIn(visit) => Some(visit),
            _ => None,
        })
        .collect();
    if !visits.is_empty() {
        let column = |f: fn(&CheckinRow) -> &str| visits.iter().map(|v| f(v)).collect::<Vec<_>>();
        postgres::prepared(
            "INSERT INTO checkins (id, guest_pass_id, location_id, checked_in_at) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[])",
        )
        .bind::<Array<Text>, _>(column(|v| v.id.as_str()))
        .bind::<Array<Text>, _>(column(|v| v.guest_pass_id.as_str()))
        .bind::<Array<Text>, _>(column(|v| v.location_id.as_str()))
        .bind::<Array<BigInt>, _>(
            visits
                .iter()
                .map(|v| v.checked_in_at.epoch_seconds())
                .collect::<Vec<_>>(),
        )
        .execute(conn)?;
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| Box::new(outcome) as Value)
        .collect())
}
