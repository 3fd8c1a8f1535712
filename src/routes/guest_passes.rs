//! `createGuestPass`, `getGuestPass`, `searchGuestPasses`, `cancelGuestPass`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::app::AppState;
use crate::domain::{GuestPassStatus, NewGuestPass, Reason, UtcTimestamp};
use crate::error::{ApiError, FieldErrors, Unprocessable};
use crate::json_body;
use crate::store::models::{GuestPassRow, Scope, SearchFilter};
use crate::store::{read, write, CreateOutcome};

/// A guest pass as the contract shows it; the status is computed for `now`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestPassBody {
    guest_pass_id: String,
    location_id: String,
    first_name: String,
    last_name: String,
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    valid_from: UtcTimestamp,
    valid_until: UtcTimestamp,
    status: GuestPassStatus,
    checkin_code: String,
    created_at: UtcTimestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_at: Option<UtcTimestamp>,
}

impl GuestPassBody {
    pub fn new(row: GuestPassRow, now: UtcTimestamp) -> Self {
        let valid_from = UtcTimestamp::from_epoch_seconds(row.valid_from);
        let valid_until = UtcTimestamp::from_epoch_seconds(row.valid_until);
        let cancelled_at = row.cancelled_at.map(UtcTimestamp::from_epoch_seconds);
        Self {
            status: GuestPassStatus::at(now, valid_from, valid_until, cancelled_at.is_some()),
            guest_pass_id: row.id,
            location_id: row.location_id,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            phone: row.phone,
            valid_from,
            valid_until,
            checkin_code: row.checkin_code,
            created_at: UtcTimestamp::from_epoch_seconds(row.created_at),
            cancelled_at,
        }
    }
}

pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.caller(&req).await?;
    let body = json_body::read_object(&req, payload, state.body_timeout).await?;
    let now = UtcTimestamp::now();
    let new =
        NewGuestPass::parse(&body, now, state.max_period_days).map_err(ApiError::BadRequest)?;
    let location = state
        .auth
        .location_in_scope(&caller.scope, new.location_id.as_str())
        .await?;
    let row = GuestPassRow {
        id: crate::ids::new_ordered_uuid(),
        chain_id: location.chain_id,
        location_id: location.id,
        first_name: new.first_name.into_string(),
        last_name: new.last_name.into_string(),
        email_key: new.email.key(),
        email: new.email.as_str().to_owned(),
        phone: new.phone.map(|p| p.as_str().to_owned()),
        valid_from: new.period.valid_from.epoch_seconds(),
        valid_until: new.period.valid_until.epoch_seconds(),
        checkin_code: crate::domain::CheckinCode::generate().as_str().to_owned(),
        created_at: now.epoch_seconds(),
        created_by: caller.user_id,
        cancelled_at: None,
        cancelled_by: None,
    };
    let created = write!(&state.store, |conn, q| q::insert_pass(
        conn,
        row,
        q::CHECK_OVERLAP_FIRST
    ))?;
    match created {
        CreateOutcome::Created(row) => {
            let location = format!("{}/guest-passes/{}", state.base_path, row.id);
            Ok(HttpResponse::Created()
                .insert_header((header::LOCATION, location))
                .json(GuestPassBody::new(*row, now)))
        }
        CreateOutcome::AlreadyCreated => Err(ApiError::Unprocessable(
            Unprocessable::GuestPassAlreadyCreated,
        )),
    }
}

pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.caller(&req).await?;
    let id = super::guest_pass_id(&path)?;
    let scope = caller.scope;
    let lookup = id.clone();
    let row = read!(&state.store, |conn, q| q::find_pass(conn, &lookup, &scope))?
        .ok_or_else(|| ApiError::guest_pass_not_found(&id))?;
    Ok(HttpResponse::Ok().json(GuestPassBody::new(row, UtcTimestamp::now())))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GuestPassList {
    guest_passes: Vec<GuestPassBody>,
    limit: i64,
    offset: i64,
    total: i64,
}

pub async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.caller(&req).await?;
    let now = UtcTimestamp::now();
    let filter = parse_search(req.query_string())?;
    // A location filter that is inside the caller's scope *is* the scope:
    // narrowing to it lets the count read the location + email index alone,
    // without visiting each row for its chain.
    let scope = match &filter.location_id {
        Some(id) => {
            let location = state.auth.location_in_scope(&caller.scope, id).await?;
            Scope::Location(location.id)
        }
        None => caller.scope,
    };
    let (limit, offset) = (filter.limit, filter.offset);
    let (rows, total) = read!(&state.store, |conn, q| q::search(
        conn,
        &scope,
        &filter,
        now.epoch_seconds()
    ))?;
    Ok(HttpResponse::Ok().json(GuestPassList {
        guest_passes: rows
            .into_iter()
            .map(|row| GuestPassBody::new(row, now))
            .collect(),
        limit,
        offset,
        total,
    }))
}

/// The query parameters of `searchGuestPasses`; unknown ones are ignored,
/// a repeated one counts by its first value.
fn parse_search(query: &str) -> Result<SearchFilter, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut errors = FieldErrors::default();
    let status = param("status").and_then(|s| {
        errors.check(
            "status",
            GuestPassStatus::parse(s).ok_or(Reason::WrongFormat),
        )
    });
    let valid_at = param("validAt").and_then(|s| {
        errors.check(
            "validAt",
            UtcTimestamp::parse(s).map_err(|_| Reason::WrongFormat),
        )
    });
    let limit = errors.check("limit", bounded_integer(param("limit"), 20, 1, 100));
    let offset = errors.check("offset", bounded_integer(param("offset"), 0, 0, i64::MAX));
    errors.into_result()?;
    Ok(SearchFilter {
        location_id: param("locationId").map(str::to_owned),
        email_key: param("email").map(crate::domain::email_key),
        checkin_code: param("checkinCode").map(str::to_owned),
        status,
        valid_at: valid_at.map(UtcTimestamp::epoch_seconds),
        limit: limit.unwrap_or(20),
        offset: offset.unwrap_or(0),
    })
}

/// Not an integer → `wrongFormat`; an integer outside `[min, max]`, however
/// large → `outOfRange`.
fn bounded_integer(raw: Option<&str>, default: i64, min: i64, max: i64) -> Result<i64, Reason> {
    let Some(raw) = raw else { return Ok(default) };
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::WrongFormat);
    }
    match raw.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Reason::OutOfRange),
    }
}

pub async fn cancel(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.caller(&req).await?;
    let id = super::guest_pass_id(&path)?;
    let now = UtcTimestamp::now().epoch_seconds();
    let (scope, user, target) = (caller.scope, caller.user_id, id.clone());
    write!(&state.store, |conn, q| q::cancel_pass(
        conn,
        &target,
        &scope,
        now,
        user.as_deref()
    ))?
    .ok_or_else(|| ApiError::guest_pass_not_found(&id))?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_offsets_follow_the_contract() {
        assert_eq!(bounded_integer(None, 20, 1, 100), Ok(20));
        assert_eq!(bounded_integer(Some("100"), 20, 1, 100), Ok(100));
        assert_eq!(
            bounded_integer(Some("0"), 20, 1, 100),
            Err(Reason::OutOfRange)
        );
        assert_eq!(
            bounded_integer(Some("101"), 20, 1, 100),
            Err(Reason::OutOfRange)
        );
        assert_eq!(
            bounded_integer(Some("-1"), 0, 0, i64::MAX),
            Err(Reason::OutOfRange)
        );
        assert_eq!(
            bounded_integer(Some("99999999999999999999999"), 0, 0, i64::MAX),
            Err(Reason::OutOfRange)
        );
        for bad in ["", "ten", "1.5", "1e2", " 5", "+5", "-"] {
            assert_eq!(
                bounded_integer(Some(bad), 20, 1, 100),
                Err(Reason::WrongFormat),
                "{bad}"
            );
        }
    }
}
