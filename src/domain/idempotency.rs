//! `Idempotency-Key` (contract §8): the key a caller sends so that a retried
//! create or check-in is answered again instead of done again, and the
//! fingerprint of the request it was first sent with.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Reason;

/// 1–255 printable ASCII characters (space included), as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const HEADER: &'static str = "Idempotency-Key";

    pub fn parse(raw: &[u8]) -> Result<Self, Reason> {
        let printable = raw.iter().all(|b| (0x20..=0x7e).contains(b));
        match std::str::from_utf8(raw) {
            Ok(s) if printable && (1..=255).contains(&s.len()) => Ok(Self(s.to_owned())),
            _ => Err(Reason::WrongFormat),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The operations that take a key; keys of one never answer the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyedOperation {
    CreateGuestPass,
    CheckinGuest,
}

impl KeyedOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyedOperation::CreateGuestPass => "createGuestPass",
            KeyedOperation::CheckinGuest => "checkinGuest",
        }
    }
}

/// A fingerprint of a JSON body that ignores what JSON ignores: whitespace
/// and the order of an object's keys (and writes 1.0 as 1). SHA-256 of the
/// canonical form, hex.
pub fn request_hash(body: &Map<String, Value>) -> String {
    let mut canonical = Vec::with_capacity(256);
    write_canonical(&Value::Object(body.clone()), &mut canonical);
    let digest = Sha256::digest(&canonical);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(&Value::String(key.clone()), out);
                out.push(b':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 && n.is_f64() => {
                out.extend_from_slice((f as i64).to_string().as_bytes())
            }
            _ => out.extend_from_slice(n.to_string().as_bytes()),
        },
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hash(v: Value) -> String {
        match v {
            Value::Object(map) => request_hash(&map),
            _ => unreachable!("objects only"),
        }
    }

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        assert!(IdempotencyKey::parse(b"a").is_ok());
        assert!(IdempotencyKey::parse(b"retry 1: create/2026").is_ok());
        assert!(IdempotencyKey::parse("k".repeat(255).as_bytes()).is_ok());
        for bad in [
            b"".to_vec(),
            "k".repeat(256).into_bytes(),
            b"tab\there".to_vec(),
            "caf\u{e9}".as_bytes().to_vec(),
            b"nul\0".to_vec(),
            b"del\x7f".to_vec(),
        ] {
            assert_eq!(
                IdempotencyKey::parse(&bad),
                Err(Reason::WrongFormat),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_same_json_hashes_the_same_whatever_its_layout() {
        let a = hash(json!({"a": 1, "b": [1, {"y": "z", "x": null}], "c": "é"}));
        let b: Value = serde_json::from_str(
            "{ \"c\":\"\\u00e9\",\n \"b\":[1.0,{\"x\":null,\"y\":\"z\"}], \"a\":1 }",
        )
        .unwrap();
        assert_eq!(a, hash(b));
    }

    #[test]
    fn another_value_hashes_differently() {
        let a = hash(json!({"firstName": "Jane"}));
        assert_ne!(a, hash(json!({"firstName": "Jane "})));
        assert_ne!(a, hash(json!({"firstName": "Jane", "phone": null})));
        assert_ne!(hash(json!({"n": 1})), hash(json!({"n": "1"})));
        assert_ne!(hash(json!({"n": 1})), hash(json!({"n": 1.5})));
    }
}
