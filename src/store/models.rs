//! Rows as the store reads and writes them, and the scope a caller may see.

use diesel::prelude::*;

use super::schema::{checkins, guest_passes};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = guest_passes)]
pub struct GuestPassRow {
    pub id: String,
    pub chain_id: String,
    pub location_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub email_key: String,
    pub phone: Option<String>,
    pub valid_from: i64,
    pub valid_until: i64,
    pub checkin_code: String,
    pub created_at: i64,
    pub created_by: Option<String>,
    pub cancelled_at: Option<i64>,
    pub cancelled_by: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = checkins)]
pub struct CheckinRow {
    pub id: String,
    pub guest_pass_id: String,
    pub location_id: String,
    pub checked_in_at: i64,
}

/// A principal's stored credential: what authentication compares a secret with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRow {
    pub id: String,
    /// The chain a location belongs to; `None` for chains and clients.
    pub chain_id: Option<String>,
    pub secret_salt: String,
    pub secret_hash: String,
}

/// What a caller may see and change: the narrowest level it authenticated at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The whole deployment (client level alone).
    Deployment,
    Chain(String),
    Location(String),
}

/// A location as the scope checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationRow {
    pub id: String,
    pub chain_id: String,
}

impl Scope {
    pub fn contains(&self, location: &LocationRow) -> bool {
        match self {
            Scope::Deployment => true,
            Scope::Chain(chain) => *chain == location.chain_id,
            Scope::Location(id) => *id == location.id,
        }
    }
}

/// The filters of `searchGuestPasses`, already parsed.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub location_id: Option<String>,
    pub email_key: Option<String>,
    pub checkin_code: Option<String>,
    pub status: Option<crate::domain::GuestPassStatus>,
    pub valid_at: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// Which principal table a credential lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    Client = 0,
    Chain = 1,
    Location = 2,
}
