//! API secrets: generated from the OS's CSPRNG, stored only as salted
//! SHA-256, compared in constant time.

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
