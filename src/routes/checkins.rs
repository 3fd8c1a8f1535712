//! `checkinGuest` and `listCheckins`: the guest at the door, and the visit history.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::domain::{
    CheckinCodeText, CheckinId, FieldErrors, GuestPassId, KeyedOperation::CheckinGuest, LocationId,
    UtcTimestamp,
};
use crate::error::{ApiError, Unprocessable};
use crate::extract::{Caller, JsonBody};
use crate::routes::idempotency;
use crate::state::AppState;
use crate::store::rows::{CheckinRow, StoredAnswer};
use crate::store::CheckinOutcome;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckinBody {
    checkin_id: CheckinId,
    guest_pass_id: GuestPassId,
    location_id: LocationId,
    checked_in_at: UtcTimestamp,
}

impl From<CheckinRow> for CheckinBody {
    fn from(row: CheckinRow) -> Self {
        Self {
            checkin_id: row.id,
            guest_pass_id: row.guest_pass_id,
            location_id: row.location_id,
            checked_in_at: row.checked_in_at,
        }
    }
}

pub async fn checkin(
    caller: Caller,
    req: HttpRequest,
    body: JsonBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let now = UtcTimestamp::now();
    let mut errors = FieldErrors::default();
    let key = idempotency::key(&req, &mut errors);
    let body = errors.absorb(body.object().await);
    let (code, location_id) = match &body {
        Some(body) => (
            errors.check(
                "checkinCode",
                CheckinCodeText::parse(body.get("checkinCode")),
            ),
            errors.check("locationId", LocationId::parse(body.get("locationId"))),
        ),
        None => (None, None),
    };
    let (Some(body), Some(code), Some(location_id), true) =
        (&body, code, location_id, errors.is_empty())
    else {
        return Err(errors.into());
    };
    let keyed = key.map(|key| idempotency::request(&caller, CheckinGuest, key, body, now, &state));
    let door = match state
        .auth
        .location_in_scope(&caller.scope, location_id.as_str())
        .await
    {
        Ok(door) => door,
        Err(error) => return idempotency::replay_or(&state, keyed.as_ref(), error).await,
    };
    let code = code.into_string();
    let Some(keyed) = keyed else {
        let outcome = state.store.check_in(code, door, caller.scope, now).await?;
        return checked_in(&outcome)
            .map(|answer| idempotency::send(&answer, false, &state))
            .ok_or_else(unknown_code);
    };
    let ran = state
        .store
        .check_in_keyed(code, door, caller.scope, keyed, checked_in)
        .await?;
    idempotency::answer(ran, &state, |_| Err(unknown_code()))
}

/// The answer to a check-in, as stored with an idempotency key: 201 with the
/// visit, or the 422; an unknown code (404) is not stored.
fn checked_in(outcome: &CheckinOutcome) -> Option<StoredAnswer> {
    match outcome {
        CheckinOutcome::CheckedIn(row) => Some(idempotency::json_answer(
            StatusCode::CREATED,
            serde_json::to_vec(&CheckinBody::from(row.clone())).unwrap_or_default(),
            None,
        )),
        CheckinOutcome::Refused(failure) => Some(idempotency::error_answer(
            &Unprocessable::CheckinFailed(*failure).into(),
        )),
        CheckinOutcome::UnknownCode => None,
    }
}

fn unknown_code() -> ApiError {
    ApiError::not_found("checkinCode", "No guest pass has this check-in code")
}

#[derive(Serialize)]
struct CheckinList {
    checkins: Vec<CheckinBody>,
}

pub async fn list(
    caller: Caller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = GuestPassId::parse(&path).ok_or_else(|| ApiError::guest_pass_not_found(&path))?;
    let rows = state
        .store
        .list_checkins(id, caller.scope)
        .await?
        .ok_or_else(|| ApiError::guest_pass_not_found(&path))?;
    Ok(HttpResponse::Ok().json(CheckinList {
        checkins: rows.into_iter().map(CheckinBody::from).collect(),
    }))
}
