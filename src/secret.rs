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
    #[error("a secret must be 1 to {MAX_LEN} visible ASCII characters (no spaces)")]
    NotVisibleAscii,
    #[error(
        "a chosen secret needs at least {MIN_CHOSEN_BITS:.0} bits of entropy; this one carries \
         about {bits:.0} by a conservative estimate. Leave out --secret to get a generated \
         one, or use e.g. 32 random hex characters or 30 random letters and digits (runs like \
         aaaa, sequences like 1234 and repeats like abcabc do not count)"
    )]
    TooWeak { bits: f64 },
}

/// Whether an operator may use `secret`: visible ASCII, at most `MAX_LEN`
/// characters, and at least `MIN_CHOSEN_BITS` by `estimated_bits`.
pub fn check_chosen(secret: &str) -> Result<(), WeakSecret> {
    if secret.is_empty() || secret.len() > MAX_LEN || !secret.bytes().all(|b| b.is_ascii_graphic())
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
///   upper case 26, digits 10, other visible characters 32. A class counts
///   only with at least two counted characters (see below), so that a
///   single `!` or a run `%%%%` appended does not enlarge the pool of every
///   other character.
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
/// 32 random hex characters rate about 163 bits on average and fail about
/// once in 90,000 draws (chance repeats and runs, or a single letter among
/// digits); 40 random letters and digits, what `generate` makes, rate about
/// 238 bits and none of two million draws came near 128.
pub fn estimated_bits(secret: &str) -> f64 {
    let (effective, fresh) = effective_length(secret.as_bytes());
    let mut per_class = [0usize; 4];
    for &b in &fresh {
        per_class[usize::from(class(b))] += 1;
    }
    let pool: u32 = per_class
        .iter()
        .zip(POOL_SIZES)
        .filter(|(n, _)| **n >= 2)
        .map(|(_, size)| size)
        .sum();
    if pool < 2 {
        return 0.0;
    }
    effective as f64 * f64::from(pool).log2()
}

/// The pool each class adds, in `class` order: lower case, upper case,
/// digits, other visible characters (space is not allowed).
const POOL_SIZES: [u32; 4] = [26, 26, 10, 32];

fn class(b: u8) -> u8 {
    match b {
        b'a'..=b'z' => 0,
        b'A'..=b'Z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    }
}

/// How many characters of `bytes` are not predictable from the ones before
/// (see `estimated_bits`), and those of them that are neither a repeat nor
/// part of one.
fn effective_length(bytes: &[u8]) -> (usize, Vec<u8>) {
    let mut effective = 0;
    let mut fresh = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let repeat = longest_earlier_match(bytes, i);
        if repeat >= MIN_REPEAT {
            effective += 1;
            i += repeat;
        } else {
            if !continues_run_or_sequence(bytes, i) {
                effective += 1;
                fresh.push(bytes[i]);
            }
            i += 1;
        }
    }
    (effective, fresh)
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
    // On every authenticated request: hex into the stack, not a String.
    let mut text = [0u8; 64];
    hex_into(&raw_digest(salt, secret), &mut text);
    text.ct_eq(stored_hash.as_bytes()).into()
}

fn raw_digest(salt: &str, secret: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0u8]);
    hasher.update(secret.as_bytes());
    hasher.finalize().into()
}

fn digest(salt: &str, secret: &str) -> String {
    hex(&raw_digest(salt, secret))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_into(bytes: &[u8; 32], out: &mut [u8; 64]) {
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect()
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

    /// 18 random letters and digits: about 107 bits, short of 128 on its own.
    const BASE: &str = "t7Kq2ZpX9mVbR4wLc8";

    fn refused(secret: &str) -> bool {
        matches!(check_chosen(secret), Err(WeakSecret::TooWeak { .. }))
    }

    #[test]
    fn the_base_alone_falls_short_and_twelve_random_characters_more_pass() {
        assert!(refused(BASE), "{}", estimated_bits(BASE));
        assert_eq!(check_chosen(&format!("{BASE}Hn3Jd8RfU2sY")), Ok(()));
    }

    #[test]
    fn a_run_is_refused() {
        assert!(refused("aaaaaaaaaaaaaaaa"));
        assert!(refused(&format!("{BASE}aaaaaaaaaaaa")));
        assert!(refused(&format!("{BASE}%%%%%%%%%%%%")));
    }

    #[test]
    fn an_ascending_sequence_is_refused() {
        assert!(refused(&format!("{BASE}abcdefghijkl")));
        assert!(refused(&format!("{BASE}0123456789")));
        assert!(refused(
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        ));
    }

    #[test]
    fn a_descending_sequence_is_refused() {
        assert!(refused(&format!("{BASE}9876543210")));
        assert!(refused(&format!("{BASE}ZYXWVUTSRQPO")));
    }

    #[test]
    fn a_repeated_word_is_refused() {
        assert!(refused("passwordpassword"));
        assert!(refused(&format!("{BASE}{}", &BASE[..12])));
    }

    #[test]
    fn a_repeated_short_pattern_is_refused() {
        assert!(refused(&format!("{BASE}abcabcabcabc")));
        assert!(refused(&format!("{BASE}x9x9x9x9x9x9")));
    }

    #[test]
    fn a_name_with_a_counting_tail_is_refused() {
        assert!(refused("chain-a-secret-0123456789"));
        assert!(refused("sixteen-chars-xy"));
    }

    #[test]
    fn a_secret_too_short_for_128_bits_from_any_pool_is_refused() {
        // 19 characters from all 94 visible ones: 19 × 6.55 = 124 bits.
        assert!(refused("k#8Qz!2mW^7pR&4vX@9"));
    }

    #[test]
    fn spaces_other_characters_and_overlong_secrets_are_refused() {
        let strong = format!("{BASE}Hn3Jd8RfU2sY");
        for bad in [
            String::new(),
            format!("{strong} x"),
            format!("{strong}\t"),
            format!("{strong}é"),
            "a1B2".repeat(300),
        ] {
            assert_eq!(
                check_chosen(&bad),
                Err(WeakSecret::NotVisibleAscii),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_refusal_says_what_is_needed() {
        let message = check_chosen("passwordpassword")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("128 bits"), "{message}");
        assert!(message.contains("--secret"), "{message}");
        assert!(!message.contains("passwordpassword"), "{message}");
    }

    #[test]
    fn the_pool_is_the_classes_with_two_counted_characters() {
        let per_char = |s: &str| estimated_bits(s) / effective_length(s.as_bytes()).0 as f64;
        assert!((per_char("k3m8") - 36f64.log2()).abs() < 1e-9);
        assert!((per_char("kQmZ") - 52f64.log2()).abs() < 1e-9);
        assert!((per_char("k3Q#m8Z!") - 94f64.log2()).abs() < 1e-9);
        // One digit does not make the pool 36 for every letter.
        assert!((per_char("kqmzw3") - 26f64.log2()).abs() < 1e-9);
        // A run or a repeat adds nothing to the pool.
        assert!((per_char("kqmzw%%%%") - 26f64.log2()).abs() < 1e-9);
        assert_eq!(estimated_bits("7777"), 0.0);
    }

    #[test]
    fn generated_secrets_always_pass() {
        for _ in 0..2000 {
            let secret = generate();
            assert_eq!(check_chosen(&secret), Ok(()), "{secret}");
        }
    }

    #[test]
    fn random_hex_and_alphanumeric_secrets_pass() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261129);
        let draw = |rng: &mut rand::rngs::StdRng, alphabet: &[u8], len: usize| -> String {
            (0..len)
                .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
                .collect()
        };
        for _ in 0..2000 {
            let hex = draw(&mut rng, b"0123456789abcdef", 32);
            assert_eq!(check_chosen(&hex), Ok(()), "{hex}");
            let upper = hex.to_ascii_uppercase();
            assert_eq!(check_chosen(&upper), Ok(()), "{upper}");
            let alnum = draw(
                &mut rng,
                b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                40,
            );
            assert_eq!(check_chosen(&alnum), Ok(()), "{alnum}");
        }
    }
}
