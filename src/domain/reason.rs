//! The blueprint's parameter-level reasons, as they appear in a 400's `errors` map.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    Missing,
    WrongFormat,
    TooLong,
    TooLarge,
    OutOfRange,
    InPast,
    PeriodTooLong,
    GreaterThanValidUntil,
    LessThanValidFrom,
}
