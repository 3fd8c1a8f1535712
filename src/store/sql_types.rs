//! How domain values are stored: text and integer columns, written from and
//! read back into the domain types (read-back trusts the store, which only
//! ever holds values that were parsed on the way in).

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{BigInt, Text};

use crate::domain::{
    BoundedText, CheckinCode, CheckinId, Email, EmailKey, GuestPassId, Phone, UserId, UtcTimestamp,
};

macro_rules! text_column {
    ($($ty:ty),+ $(,)?) => {$(
        impl<DB: Backend> ToSql<Text, DB> for $ty
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $ty
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                String::from_sql(bytes).map(<$ty>::from_stored)
            }
        }
    )+};
}

text_column!(
    GuestPassId,
    CheckinId,
    Email,
    EmailKey,
    Phone,
    CheckinCode,
    UserId,
);

impl<DB: Backend, const MAX: usize> ToSql<Text, DB> for BoundedText<MAX>
where
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_str().to_sql(out)
    }
}

impl<DB: Backend, const MAX: usize> FromSql<Text, DB> for BoundedText<MAX>
where
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        String::from_sql(bytes).map(Self::from_stored)
    }
}

/// Whole seconds since the Unix epoch: the API has second precision, and
/// integers compare and index the same way on both backends.
impl<DB: Backend> ToSql<BigInt, DB> for UtcTimestamp
where
    i64: ToSql<BigInt, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_epoch_seconds().to_sql(out)
    }
}

impl<DB: Backend> FromSql<BigInt, DB> for UtcTimestamp
where
    i64: FromSql<BigInt, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        i64::from_sql(bytes).map(Self::from_epoch_seconds)
    }
}
