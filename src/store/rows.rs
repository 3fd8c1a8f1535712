//! Rows as the store reads and writes them, in domain types.

use diesel::prelude::*;

use super::schema::{checkins, guest_passes};
use crate::domain::{
    CheckinCode, CheckinId, Email, EmailKey, GuestPassId, GuestPassStatus, IdempotencyKey,
    KeyedOperation, Location, LocationId, NewGuestPass, PersonName, Phone, PrincipalKind, Scope,
    UserId, UtcTimestamp,
};

/// `treat_none_as_default_value = false`: an absent phone or canceller is
/// bound as NULL instead of leaving its column out, so every insert is one
/// statement text and diesel caches it by type instead of rendering its SQL
/// for every create to look it up (a sixth of a create's instructions).
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = guest_passes, treat_none_as_default_value = false)]
pub struct GuestPassRow {
    pub id: GuestPassId,
    pub chain_id: String,
    pub location_id: LocationId,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub email_key: EmailKey,
    pub phone: Option<Phone>,
    pub valid_from: UtcTimestamp,
    pub valid_until: UtcTimestamp,
    pub checkin_code: CheckinCode,
    pub created_at: UtcTimestamp,
    pub created_by: Option<UserId>,
    pub cancelled_at: Option<UtcTimestamp>,
    pub cancelled_by: Option<UserId>,
}

impl GuestPassRow {
    /// Whether a caller with `scope` may see this pass: the rule the
    /// queries' scope filters state in SQL.
    pub fn in_scope(&self, scope: &Scope) -> bool {
        match scope {
            Scope::Deployment => true,
            Scope::Chain(chain) => self.chain_id == *chain,
            Scope::Location(location) => self.location_id.as_str() == location,
        }
    }

    /// The one way from a parsed create request to a row: the store assigns
    /// the id and the check-in code.
    pub fn new(
        pass: NewGuestPass,
        location: Location,
        created_by: Option<UserId>,
        now: UtcTimestamp,
    ) -> Self {
        Self {
            id: GuestPassId::generate(),
            chain_id: location.chain_id,
            location_id: location.id,
            first_name: pass.first_name,
            last_name: pass.last_name,
            email_key: pass.email.key(),
            email: pass.email,
            phone: pass.phone,
            valid_from: pass.period.valid_from,
            valid_until: pass.period.valid_until,
            checkin_code: CheckinCode::generate(),
            created_at: now,
            created_by,
            cancelled_at: None,
            cancelled_by: None,
        }
    }

    pub fn status_at(&self, now: UtcTimestamp) -> GuestPassStatus {
        GuestPassStatus::at(
            now,
            self.valid_from,
            self.valid_until,
            self.cancelled_at.is_some(),
        )
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = checkins)]
pub struct CheckinRow {
    pub id: CheckinId,
    pub guest_pass_id: GuestPassId,
    pub location_id: LocationId,
    pub checked_in_at: UtcTimestamp,
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

/// A chain, location or client about to be provisioned.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    pub id: String,
    pub name: String,
    pub chain_id: Option<String>,
    pub secret_salt: String,
    pub secret_hash: String,
    pub created_at: UtcTimestamp,
    /// One of the demo's principals: it authenticates only in demo mode.
    pub demo: bool,
}

/// A chain, location or client as `admin list` shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalRow {
    pub kind: PrincipalKind,
    pub id: String,
    /// Clients have no name.
    pub name: Option<String>,
    /// The chain a location belongs to; `None` for chains and clients.
    pub chain_id: Option<String>,
    pub created_at: UtcTimestamp,
    /// Set while the principal is disabled: it then authenticates as unknown.
    pub disabled_at: Option<UtcTimestamp>,
    pub demo: bool,
}

/// A request that carries an `Idempotency-Key`: whose it is, for which
/// operation, the key, the body's fingerprint, and from when on a stored
/// key counts as live (older ones have expired).
#[derive(Debug, Clone)]
pub struct KeyedRequest {
    pub principal: String,
    pub operation: KeyedOperation,
    pub key: IdempotencyKey,
    pub request_hash: String,
    pub now: UtcTimestamp,
    pub live_after: UtcTimestamp,
}

impl KeyedRequest {
    /// What names the key: one principal's key for one operation.
    pub fn identity(&self) -> (&str, &str, &str) {
        (&self.principal, self.operation.as_str(), self.key.as_str())
    }
}

/// A check-in as the store takes it: the code as sent, the door (a
/// location in the caller's scope), the caller's scope and the request's time.
#[derive(Debug, Clone)]
pub struct CheckinRequest {
    pub code: String,
    pub door: Location,
    pub scope: Scope,
    pub now: UtcTimestamp,
}

/// An answer as it was first given: the status, the exact body bytes and,
/// for a create, the `Location` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    pub location: Option<String>,
}

/// What a keyed write did.
pub enum Keyed<T> {
    /// It ran; `answer` is what was stored with the key (201 and 422 only).
    Ran {
        value: T,
        answer: Option<StoredAnswer>,
    },
    /// The key was used before with the same body: its answer, again.
    Replay(StoredAnswer),
    /// The key was used before with another body.
    Reused,
}
