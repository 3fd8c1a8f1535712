//! Identifiers the server assigns: guest pass and check-in ids (UUID v7, in
//! creation order) and request ids (UUID v4).

use rand::Rng;

/// A version 7 UUID: a millisecond timestamp, then 74 random bits. New rows
/// get ids in creation order, so each insert appends to the primary key's
/// index instead of dirtying a random page of it; the random bits keep ids
/// unguessable. (The creation time is no secret: it is `createdAt`.)
fn ordered_uuid() -> String {
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let random: [u8; 10] = rand::rng().random();
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

/// A version 4 UUID from the thread-local CSPRNG. `Uuid::new_v4` asks the
/// kernel (a getrandom syscall) for every id; at tens of thousands of
/// requests per second that syscall showed up in profiles.
pub fn random_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::rng().random())
        .into_uuid()
        .to_string()
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize,
                 diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(ordered_uuid())
            }

            /// Only the canonical lower-case hyphenated form names an id:
            /// anything else cannot exist, so it needs no lookup.
            pub fn parse(raw: &str) -> Option<Self> {
                match uuid::Uuid::try_parse(raw) {
                    Ok(id) if id.hyphenated().to_string() == raw => Some(Self(raw.to_owned())),
                    _ => None,
                }
            }

            /// A value read back from the store, which only ever holds parsed ids.
            pub fn from_stored(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// `guestPassId`.
    GuestPassId
);
uuid_id!(
    /// `checkinId`.
    CheckinId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_canonical_version_4_uuids_and_distinct() {
        let (a, b) = (random_uuid(), random_uuid());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.hyphenated().to_string(), a);
    }

    #[test]
    fn generated_ids_are_version_7_and_sort_by_time() {
        let a = GuestPassId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = GuestPassId::generate();
        assert_eq!(
            uuid::Uuid::parse_str(a.as_str()).unwrap().get_version_num(),
            7
        );
        assert!(a.as_str() < b.as_str(), "{a} !< {b}");
    }

    #[test]
    fn only_the_canonical_form_parses() {
        let id = GuestPassId::generate();
        assert_eq!(GuestPassId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(GuestPassId::parse(&id.as_str().to_uppercase()), None);
        assert_eq!(GuestPassId::parse(&id.as_str().replace('-', "")), None);
        assert_eq!(GuestPassId::parse(""), None);
        assert_eq!(GuestPassId::parse(&"x".repeat(2000)), None);
    }
}
