//! `checkinGuest` and `listCheckins`: the guest at the door, and the visit history.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::app::AppState;
use crate::domain::{BoundedText, GuestPassStatus, LocationId, UtcTimestamp};
use crate::error::{ApiError, CheckinFailure, FieldErrors, Unprocessable};
use crate::json_body;
use crate::store::models::CheckinRow;
use crate::store::{read, write};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckinBody {
    checkin_id: String,
    guest_pass_id: String,
    location_id: String,
    checked_in_at: UtcTimestamp,
}

impl From<CheckinRow> for CheckinBody {
    fn from(row: CheckinRow) -> Self {
        Self {
            checkin_id: row.id,
            guest_pass_id: row.guest_pass_id,
            location_id: row.location_id,
            checked_in_at: UtcTimestamp::from_epoch_seconds(row.checked_in_at),
        }
    }
}

type CheckinCodeText = BoundedText<{ crate::domain::CHECKIN_CODE_LENGTH }>;

pub async fn checkin(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.caller(&req).await?;
    let body = json_body::read_object(&req, payload, state.body_timeout).await?;
    let mut errors = FieldErrors::default();
    let code = errors.check(
        "checkinCode",
        CheckinCodeText::parse(body.get("checkinCode")),
    );
    let location_id = errors.check("locationId", LocationId::parse(body.get("locationId")));
    let (Some(code), Some(location_id)) = (code, location_id) else {
        return Err(ApiError::BadRequest(errors));
    };
    let location = state
        .auth
        .location_in_scope(&caller.scope, location_id.as_str())
        .await?;
    let now = UtcTimestamp::now();
    let checkin = CheckinRow {
        id: crate::ids::new_ordered_uuid(),
        guest_pass_id: String::new(),
        location_id: location.id,
        checked_in_at: now.epoch_seconds(),
    };
    let scope = caller.scope;
    let outcome = write!(&state.store, |conn, q| {
        let Some(pass) = q::find_pass_by_code(conn, code.as_str(), &scope)? else {
            return Ok(Err(ApiError::not_found(
                "checkinCode",
                "No guest pass has this check-in code",
            )));
        };
        let valid_from = UtcTimestamp::from_epoch_seconds(pass.valid_from);
        let valid_until = UtcTimestamp::from_epoch_seconds(pass.valid_until);
        let failure =
            match GuestPassStatus::at(now, valid_from, valid_until, pass.cancelled_at.is_some()) {
                GuestPassStatus::Cancelled => Some(CheckinFailure::GuestPassCancelled),
                GuestPassStatus::Expired => Some(CheckinFailure::GuestPassExpired),
                GuestPassStatus::Upcoming => Some(CheckinFailure::GuestPassNotYetValid),
                GuestPassStatus::Active if pass.location_id != checkin.location_id => {
                    Some(CheckinFailure::WrongLocation)
                }
                GuestPassStatus::Active => None,
            };
        if let Some(failure) = failure {
            return Ok(Err(ApiError::Unprocessable(Unprocessable::CheckinFailed(
                failure,
            ))));
        }
        let row = CheckinRow {
            guest_pass_id: pass.id,
            ..checkin
        };
        q::insert_checkin(conn, &row)?;
        Ok::<_, ApiError>(Ok(row))
    })?;
    Ok(HttpResponse::Created().json(CheckinBody::from(outcome?)))
}

#[derive(Serialize)]
struct CheckinList {
    checkins: Vec<CheckinBody>,
}

pub async fn list(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.caller(&req).await?;
    let id = super::guest_pass_id(&path)?;
    let (scope, lookup) = (caller.scope, id.clone());
    let rows = read!(&state.store, |conn, q| {
        match q::find_pass(conn, &lookup, &scope)? {
            Some(_) => q::list_checkins(conn, &lookup).map(Some),
            None => Ok(None),
        }
    })?
    .ok_or_else(|| ApiError::guest_pass_not_found(&id))?;
    Ok(HttpResponse::Ok().json(CheckinList {
        checkins: rows.into_iter().map(CheckinBody::from).collect(),
    }))
}
