//! API secrets: generated from the OS's CSPRNG, stored only as salted
//! SHA-256, compared in constant time; an operator's own secret is accepted
//! only when a conservative estimate gives it at least 128 bits.

use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 40 alphanumeric characters ≈ 238 bits. Secrets are machine-made keys, not
/// passwords, so a salted SHA-256 is the right cost: a slow KDF would only
/// slow every request.
pub fn generate() -> String {
    // ThreadRng is a CSPRNG (ChaCha12) seeded and reseeded from the OS.
    Alphanumeric.sample_string(&mut rand::rng(), 40)
}

/// What the contract (§1) asks of a secret an operator chooses.
pub const MIN_CHOSEN_BITS: f64 = 128.0;
/// The longest secret accepted: authentication refuses longer header values.
pub const MAX_LEN: usize = 1024;
/// A substring seen before counts as a repeat from this length on. Three
/// catches `abcabc`; two would penalise random secrets for chance pairs (a
/// pair recurs in most 32-character hex strings).
const MIN_REPEAT: usize = 3;

/// Why an operator's secret is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeakSecret {
    #[error(
        "a secret must be visible ASCII characters only (no spaces), at most {MAX_LEN} of them"
    )]
    NotVisibleAscii,
    #[error(
        "this secret carries about {bits:.0} bits of entropy by a conservative estimate; at \
         least {MIN_CHOSEN_BITS:.0} are needed. Leave out --secret to get a generated one, or \
         use e.g. 32 random hex characters or 24 random letters and digits (runs like aaaa, \
         sequences like 1234 and repeats like abcabc do not count)"
    )]
    TooWeak { bits: f64 },
}

/// `secret` if an operator may use it: visible ASCII, at most `MAX_LEN`
/// characters, and at least `MIN_CHOSEN_BITS` by `estimated_bits`.
pub fn check_chosen(secret: &str) -> Result<(), WeakSecret> {
    if secret.is_empty()
        || secret.len() > MAX_LEN
        || !secret.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(WeakSecret::NotVisibleAscii);
    }
    let bits = estimated_bits(secret);
    if bits < MIN_CHOSEN_BITS {
        return Err(WeakSecret::TooWeak { bits });
    }
    Ok(())
}

/// A conservative estimate of the entropy of a visible-ASCII secret, in
/// bits: `effective length × log2(pool)`.
///
/// - The pool is the sum of the character classes present: lower case 26,
///   upper case 26, digits 10, other visible characters 32.
/// - The effective length counts the characters that are not predictable
///   from the ones before them. Not counted: a character that continues a
///   run or a sequence (the third and later of `aaaa`, `abcd`, `1234`,
///   `9876`: same class, the same step of -1, 0 or +1 as the step before
///   it). A repeat of an earlier substring of at least `MIN_REPEAT`
///   characters (the second `password` of `passwordpassword`, the second
///   `abc` of `abcabc`; overlapping ones such as `ababab` too) counts as one
///   character, whatever its length: where it starts is all it adds.
///
/// It treats what is left as drawn at random from the pool, so it cannot
/// see a word or a keyboard pattern (`Tr0ub4dor&3`); such secrets are too
/// short to reach 128 bits anyway. For random secrets it has room to spare:
/// 32 random hex characters rate about 165 bits and fail about once in
/// 170,000 draws (those with chance repeats and runs), 40 random letters and
/// digits about 238 bits and never fail.
pub fn estimated_bits(secret: &str) -> f64 {
    let bytes = secret.as_bytes();
    let pool: u32 = [
        (bytes.iter().any(u8::is_ascii_lowercase), 26),
        (bytes.iter().any(u8::is_ascii_uppercase), 26),
        (bytes.iter().any(u8::is_ascii_digit), 10),
        (bytes.iter().any(|b| !b.is_ascii_alphanumeric()), 32),
    ]
    .iter()
    .filter(|(present, _)| *present)
    .map(|(_, size)| size)
    .sum();
    if pool < 2 {
        return 0.0;
    }
    effective_length(bytes) as f64 * f64::from(pool).log2()
}

/// How many characters of `bytes` are not predictable from the ones before
/// (see `estimated_bits`).
fn effective_length(bytes: &[u8]) -> usize {
    let mut effective = 0;
    let mut i = 0;
    while i < bytes.len() {
        let repeat = longest_earlier_match(bytes, i);
        if repeat >= MIN_REPEAT {
            effective += 1;
            i += repeat;
        } else {
            if !continues_run_or_sequence(bytes, i) {
                effective += 1;
            }
            i += 1;
        }
    }
    effective
}

/// The length of the longest prefix of `bytes[at..]` that also starts at an
/// earlier position (it may overlap `at`, as in `ababab`).
fn longest_earlier_match(bytes: &[u8], at: usize) -> usize {
    let rest = &bytes[at..];
    (0..at)
        .map(|start| {
            bytes[start..]
                .iter()
                .zip(rest)
                .take_while(|(a, b)| a == b)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Whether `bytes[at]` takes the same step (-1, 0 or +1) from the character
/// before it as that one took from its own predecessor, within one class.
fn continues_run_or_sequence(bytes: &[u8], at: usize) -> bool {
    if at < 2 {
        return false;
    }
    let (a, b, c) = (bytes[at - 2], bytes[at - 1], bytes[at]);
    let class = |x: u8| -> u8 {
        match x {
            b'a'..=b'z' => 0,
            b'A'..=b'Z' => 1,
            b'0'..=b'9' => 2,
            _ => 3,
        }
    };
    let step = i16::from(b) - i16::from(a);
    class(a) == class(b)
        && class(b) == class(c)
        && (-1..=1).contains(&step)
        && i16::from(c) - i16::from(b) == step
}

pub struct Hashed {
    pub salt: String,
    pub hash: String,
}

pub fn hash(secret: &str) -> Hashed {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = hex(&salt);
    let hash = digest(&salt, secret);
    Hashed { salt, hash }
}

pub fn verify(secret: &str, salt: &str, stored_hash: &str) -> bool {
    digest(salt, secret)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

fn digest(salt: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0u8]);
    hasher.update(secret.as_bytes());
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_long_and_distinct() {
        let (a, b) = (generate(), generate());
        assert!(a.len() >= 32 && a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn verifies_only_the_right_secret() {
        let h = hash("s3cret");
        assert!(verify("s3cret", &h.salt, &h.hash));
        assert!(!verify("s3cret ", &h.salt, &h.hash));
        assert!(!verify("", &h.salt, &h.hash));
        assert!(!h.hash.contains("s3cret"));
    }

    #[test]
    fn the_same_secret_hashes_differently_each_time() {
        assert_ne!(hash("same").hash, hash("same").hash);
    }
}
