//! `NewGuestPass`: a create request, parsed; every field error reported at once.

use serde_json::{Map, Value};

use super::period::PeriodErrors;
use super::{Email, FieldErrors, GuestPassPeriod, LocationId, PersonName, Phone, UtcTimestamp};

#[derive(Debug, Clone)]
pub struct NewGuestPass {
    pub location_id: LocationId,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub phone: Option<Phone>,
    pub period: GuestPassPeriod,
}

impl NewGuestPass {
    pub fn parse(
        body: &Map<String, Value>,
        now: UtcTimestamp,
        max_period_days: u32,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let location_id = errors.check("locationId", LocationId::parse(body.get("locationId")));
        let first_name = errors.check("firstName", PersonName::parse(body.get("firstName")));
        let last_name = errors.check("lastName", PersonName::parse(body.get("lastName")));
        let email = errors.check("email", Email::parse(body.get("email")));
        let phone = errors.check("phone", Phone::parse(body.get("phone")));
        let period = GuestPassPeriod::parse(
            body.get("validFrom"),
            body.get("validUntil"),
            now,
            max_period_days,
        )
        .map_err(
            |PeriodErrors {
                 valid_from,
                 valid_until,
             }| {
                if let Some(reason) = valid_from {
                    errors.add("validFrom", reason);
                }
                if let Some(reason) = valid_until {
                    errors.add("validUntil", reason);
                }
            },
        )
        .ok();
        match (location_id, first_name, last_name, email, phone, period) {
            (
                Some(location_id),
                Some(first_name),
                Some(last_name),
                Some(email),
                Some(phone),
                Some(period),
            ) if errors.is_empty() => Ok(Self {
                location_id,
                first_name,
                last_name,
                email,
                phone,
                period,
            }),
            _ => Err(errors),
        }
    }
}
