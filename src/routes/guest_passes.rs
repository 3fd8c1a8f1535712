//! `createGuestPass`, `getGuestPass`, `searchGuestPasses`, `cancelGuestPass`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::domain::{
    CheckinCode, Email, FieldErrors, GuestPassId, GuestPassStatus, KeyedOperation::CreateGuestPass,
    LocationId, NewGuestPass, PersonName, Phone, Scope, SearchFilter, UtcTimestamp,
};
use crate::error::{ApiError, Unprocessable};
use crate::extract::{Caller, JsonBody};
use crate::routes::idempotency;
use crate::state::AppState;
use crate::store::rows::{GuestPassRow, StoredAnswer};
use crate::store::CreateOutcome;

/// A guest pass as the contract shows it; the status is computed for `now`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestPassBody {
    guest_pass_id: GuestPassId,
    location_id: LocationId,
    first_name: PersonName,
    last_name: PersonName,
    email: Email,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<Phone>,
    valid_from: UtcTimestamp,
    valid_until: UtcTimestamp,
    status: GuestPassStatus,
    checkin_code: CheckinCode,
    created_at: UtcTimestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_at: Option<UtcTimestamp>,
}

impl GuestPassBody {
    pub fn new(row: GuestPassRow, now: UtcTimestamp) -> Self {
        Self {
            status: row.status_at(now),
            guest_pass_id: row.id,
            location_id: row.location_id,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            phone: row.phone,
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            checkin_code: row.checkin_code,
            created_at: row.created_at,
            cancelled_at: row.cancelled_at,
        }
    }
}

pub async fn create(
    caller: Caller,
    req: HttpRequest,
    body: JsonBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let now = UtcTimestamp::now();
    let mut errors = FieldErrors::default();
    let key = idempotency::key(&req, &mut errors);
    let body = errors.absorb(body.object().await);
    let pass = body
        .as_ref()
        .and_then(|b| errors.absorb(NewGuestPass::parse(b, now, state.max_period_days)));
    let (Some(body), Some(pass), true) = (body, pass, errors.is_empty()) else {
        return Err(errors.into());
    };
    let keyed =
        key.map(|key| idempotency::request(&caller, CreateGuestPass, key, &body, now, &state));
    let location = match state
        .auth
        .location_in_scope(&caller.scope, pass.location_id.as_str())
        .await
    {
        Ok(location) => location,
        Err(error) => return idempotency::replay_or(&state, keyed.as_ref(), error).await,
    };
    let Some(keyed) = keyed else {
        let outcome = state
            .store
            .create_pass(pass, location, caller.user_id, now)
            .await?;
        return Ok(idempotency::send(
            &created(&outcome, &state.base_path, now),
            false,
            &state,
        ));
    };
    let base_path = state.base_path.clone();
    let ran = state
        .store
        .create_pass_keyed(pass, location, caller.user_id, keyed, move |outcome| {
            Some(created(outcome, &base_path, now))
        })
        .await?;
    // Every create outcome is stored; nothing is left to answer otherwise.
    idempotency::answer(ran, &state, |outcome| {
        Ok(idempotency::send(
            &created(&outcome, &state.base_path, now),
            false,
            &state,
        ))
    })
}

/// The answer to a create: 201 with the pass and its `Location`, or the 422.
fn created(outcome: &CreateOutcome, base_path: &str, now: UtcTimestamp) -> StoredAnswer {
    match outcome {
        CreateOutcome::Created(row) => idempotency::json_answer(
            StatusCode::CREATED,
            serde_json::to_vec(&GuestPassBody::new((**row).clone(), now)).unwrap_or_default(),
            Some(format!("{base_path}/guest-passes/{}", row.id)),
        ),
        CreateOutcome::AlreadyCreated => {
            idempotency::error_answer(&Unprocessable::GuestPassAlreadyCreated.into())
        }
    }
}

pub async fn get(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = GuestPassId::parse(&path).ok_or_else(|| ApiError::guest_pass_not_found(&path))?;
    let row = state
        .store
        .find_pass(id, caller.scope)
        .await?
        .ok_or_else(|| ApiError::guest_pass_not_found(&path))?;
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
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let now = UtcTimestamp::now();
    let filter = SearchFilter::parse(req.query_string())?;
    // A location filter that is inside the caller's scope *is* the scope:
    // narrowing to it lets the count read the location + email index alone,
    // without visiting each row for its chain.
    let scope = match &filter.location_id {
        Some(id) => {
            let location = state.auth.location_in_scope(&caller.scope, id).await?;
            Scope::Location(location.id.into_string())
        }
        None => caller.scope,
    };
    let (limit, offset) = (filter.limit, filter.offset);
    let person = match (&scope, filter.person()) {
        (Scope::Location(location), Some(email)) => {
            state
                .store
                .find_person(location.clone(), email.clone(), limit)
                .await?
        }
        _ => None,
    };
    let (rows, total) = match person {
        Some(rows) => {
            let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            (rows, total)
        }
        None => {
            // Its cost is the caller's choice: it runs on one of its slots.
            let _slot = state.share.acquire(&caller.principal).await?;
            state.store.search(scope, filter, now).await?
        }
    };
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

pub async fn cancel(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = GuestPassId::parse(&path).ok_or_else(|| ApiError::guest_pass_not_found(&path))?;
    let found = state
        .store
        .cancel_pass(id, caller.scope, UtcTimestamp::now(), caller.user_id)
        .await?;
    if !found {
        return Err(ApiError::guest_pass_not_found(&path));
    }
    Ok(HttpResponse::NoContent().finish())
}
