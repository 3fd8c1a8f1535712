//! Random identifiers: UUIDs (version 4) for passes, check-ins and request ids.

use rand::Rng;

/// A version 4 UUID from the thread-local CSPRNG. `Uuid::new_v4` asks the
/// kernel (a getrandom syscall) for every id; at tens of thousands of
/// requests per second that syscall showed up in profiles.
pub fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::rng().random())
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_canonical_version_4_uuids_and_distinct() {
        let (a, b) = (new_uuid(), new_uuid());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.hyphenated().to_string(), a);
    }
}
