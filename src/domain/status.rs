//! `GuestPassStatus`: computed at read time from the clock, never stored.

use serde::Serialize;

use super::UtcTimestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GuestPassStatus {
    Upcoming,
    Active,
    Expired,
    Cancelled,
}

impl GuestPassStatus {
    pub fn at(
        now: UtcTimestamp,
        valid_from: UtcTimestamp,
        valid_until: UtcTimestamp,
        cancelled: bool,
    ) -> Self {
        if cancelled {
            Self::Cancelled
        } else if now >= valid_until {
            Self::Expired
        } else if now < valid_from {
            Self::Upcoming
        } else {
            Self::Active
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "UPCOMING" => Some(Self::Upcoming),
            "ACTIVE" => Some(Self::Active),
            "EXPIRED" => Some(Self::Expired),
            "CANCELLED" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_contract_at_every_boundary() {
        let t = UtcTimestamp::from_epoch_seconds;
        let (from, until) = (t(100), t(200));
        assert_eq!(
            GuestPassStatus::at(t(99), from, until, false),
            GuestPassStatus::Upcoming
        );
        assert_eq!(
            GuestPassStatus::at(t(100), from, until, false),
            GuestPassStatus::Active
        );
        assert_eq!(
            GuestPassStatus::at(t(199), from, until, false),
            GuestPassStatus::Active
        );
        assert_eq!(
            GuestPassStatus::at(t(200), from, until, false),
            GuestPassStatus::Expired
        );
        assert_eq!(
            GuestPassStatus::at(t(150), from, until, true),
            GuestPassStatus::Cancelled
        );
    }

    #[test]
    fn parses_only_the_four_names() {
        assert_eq!(
            GuestPassStatus::parse("ACTIVE"),
            Some(GuestPassStatus::Active)
        );
        assert_eq!(GuestPassStatus::parse("active"), None);
        assert_eq!(GuestPassStatus::parse(""), None);
    }
}
