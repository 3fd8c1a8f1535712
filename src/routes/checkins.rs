//! `checkinGuest` and `listCheckins`: the guest at the door, and the visit history.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::domain::{
    CheckinCodeText, CheckinId, FieldErrors, GuestPassId, LocationId, UtcTimestamp,
};
use crate::error::{ApiError, Unprocessable};
use crate::extract::{Caller, JsonBody};
use crate::state::AppState;
use crate::store::rows::CheckinRow;
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
    body: JsonBody,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.object().await?;
    let mut errors = FieldErrors::default();
    let code = errors.check(
        "checkinCode",
        CheckinCodeText::parse(body.get("checkinCode")),
    );
    let location_id = errors.check("locationId", LocationId::parse(body.get("locationId")));
    let (Some(code), Some(location_id)) = (code, location_id) else {
        return Err(errors.into());
    };
    let door = state
        .auth
        .location_in_scope(&caller.scope, location_id.as_str())
        .await?;
    let outcome = state
        .store
        .check_in(code.into_string(), door, caller.scope, UtcTimestamp::now())
        .await?;
    match outcome {
        CheckinOutcome::CheckedIn(row) => Ok(HttpResponse::Created().json(CheckinBody::from(row))),
        CheckinOutcome::Refused(failure) => Err(Unprocessable::CheckinFailed(failure).into()),
        CheckinOutcome::UnknownCode => Err(ApiError::not_found(
            "checkinCode",
            "No guest pass has this check-in code",
        )),
    }
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
