//! `CheckinCode`: ten characters from an alphabet without look-alikes, what the
//! guest shows at the door.

use rand::Rng;

/// No 0/O, no 1/I/L: a code read aloud or typed at a front desk stays unambiguous.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
pub const LENGTH: usize = 10;

#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(transparent)]
pub struct CheckinCode(String);

impl CheckinCode {
    /// 31^10 ≈ 8·10^14 codes; the store's unique index catches the rare clash.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let code = (0..LENGTH)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        Self(code)
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_use_only_the_alphabet() {
        for _ in 0..1000 {
            let code = CheckinCode::generate();
            assert_eq!(code.as_str().len(), LENGTH);
            assert!(code.as_str().bytes().all(|c| ALPHABET.contains(&c)));
            assert!(!code.as_str().contains(['0', 'O', '1', 'I', 'L']));
        }
    }
}
