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
/// canonical form, hex. The canonical form is stored (as its hash) with every
/// key: it must not change between releases, or a retry across an upgrade
/// would no longer match its first request.
pub fn request_hash(body: &Map<String, Value>) -> String {
    let mut canonical = Vec::with_capacity(256);
    write_object(body, &mut canonical);
    let digest = Sha256::digest(&canonical);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json(key, out);
        out.push(b':');
        write_canonical(value, out);
    }
    out.push(b'}');
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_object(map, out),
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
            _ => write_json(n, out),
        },
        other => write_json(other, out),
    }
}

/// serde_json's compact form (strings escaped as `Value`'s `Display` does).
fn write_json<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a string, number, bool or null into a Vec cannot fail.
    let _ = serde_json::to_writer(out, value);
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
    fn the_fingerprint_does_not_change_between_releases() {
        // sha256 of {"a":1,"b":[1,{"x":null,"y":"z"}],"c":"é\n\"q\"","d":true,"e":-2.5}
        let stored = "dd5bedf1bd8c11d053e5ed29a8f9fdf2ccc648ed283ddec5b752a3724d94f429";
        let body = json!({"e": -2.5, "d": true, "c": "é\n\"q\"", "b": [1.0, {"y": "z", "x": null}], "a": 1});
        assert_eq!(hash(body), stored);
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
