//! Identifiers: UUIDs for passes, check-ins and request ids.

use rand::Rng;

/// A version 4 UUID from the thread-local CSPRNG. `Uuid::new_v4` asks the
/// kernel (a getrandom syscall) for every id; at tens of thousands of
/// requests per second that syscall showed up in profiles.
pub fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::rng().random())
        .into_uuid()
        .to_string()
}

/// A version 7 UUID: a millisecond timestamp, then 74 random bits. New
/// passes get ids in creation order, so each insert appends to the primary
/// key's index instead of dirtying a random page of it; the random bits keep
/// ids unguessable. (The creation time is no secret: it is `createdAt`.)
pub fn new_ordered_uuid() -> String {
    let millis = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let random: [u8; 10] = rand::rng().random();
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
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

    #[test]
    fn ordered_ids_are_version_7_and_sort_by_time() {
        let a = new_ordered_uuid();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_ordered_uuid();
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7);
        assert!(a < b, "{a} !< {b}");
    }
}
