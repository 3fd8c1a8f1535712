//! The check-in rule: whether a guest pass admits its guest at a location, now.

use serde::Serialize;

use super::{GuestPassStatus, LocationId};

/// Why a pass does not admit its guest: the 422 reasons of `checkinGuest`,
/// in the order the contract checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CheckinFailure {
    GuestPassCancelled,
    GuestPassExpired,
    GuestPassNotYetValid,
    WrongLocation,
}

/// A pass admits its guest when it is active and was issued for the door
/// the guest stands at.
pub fn admit(
    status: GuestPassStatus,
    issued_for: &LocationId,
    door: &LocationId,
) -> Result<(), CheckinFailure> {
    match status {
        GuestPassStatus::Cancelled => Err(CheckinFailure::GuestPassCancelled),
        GuestPassStatus::Expired => Err(CheckinFailure::GuestPassExpired),
        GuestPassStatus::Upcoming => Err(CheckinFailure::GuestPassNotYetValid),
        GuestPassStatus::Active if issued_for != door => Err(CheckinFailure::WrongLocation),
        GuestPassStatus::Active => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(id: &str) -> LocationId {
        LocationId::from_stored(id.into())
    }

    #[test]
    fn an_active_pass_admits_at_its_own_location_only() {
        assert_eq!(admit(GuestPassStatus::Active, &loc("a"), &loc("a")), Ok(()));
        assert_eq!(
            admit(GuestPassStatus::Active, &loc("a"), &loc("b")),
            Err(CheckinFailure::WrongLocation)
        );
    }

    #[test]
    fn the_status_is_decided_before_the_location() {
        for (status, failure) in [
            (
                GuestPassStatus::Cancelled,
                CheckinFailure::GuestPassCancelled,
            ),
            (GuestPassStatus::Expired, CheckinFailure::GuestPassExpired),
            (
                GuestPassStatus::Upcoming,
                CheckinFailure::GuestPassNotYetValid,
            ),
        ] {
            assert_eq!(admit(status, &loc("a"), &loc("a")), Err(failure));
            assert_eq!(admit(status, &loc("a"), &loc("b")), Err(failure));
        }
    }

    #[test]
    fn reasons_are_named_as_the_contract_names_them() {
        let names: Vec<String> = [
            CheckinFailure::GuestPassCancelled,
            CheckinFailure::GuestPassExpired,
            CheckinFailure::GuestPassNotYetValid,
            CheckinFailure::WrongLocation,
        ]
        .iter()
        .map(|f| serde_json::to_string(f).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "\"guestPassCancelled\"",
                "\"guestPassExpired\"",
                "\"guestPassNotYetValid\"",
                "\"wrongLocation\""
            ]
        );
    }
}
