//! `StoreError`: what can go wrong below the HTTP layer, in the store's own
//! terms. The API maps it to envelopes (`error.rs`); the CLI to messages.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database is not there right now (unreachable, busy past the
    /// timeout, full, read-only): retry later. Nothing was written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule refused the write (e.g. an id that exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row the operation needs does not exist.
    #[error("not found")]
    NotFound,
    /// A bug or an unexpected database answer; the detail is for the log.
    #[error("database error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::Conflict(error.to_string())
            }
            _ if is_unavailable(&error) => StoreError::Unavailable(error.to_string()),
            _ => StoreError::Internal(error.to_string()),
        }
    }
}

/// Failures that mean "the database is not there right now" (503, retry)
/// rather than a bug (500).
fn is_unavailable(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(kind, info) => {
            matches!(
                kind,
                DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand
                    | DatabaseErrorKind::ReadOnlyTransaction
                    | DatabaseErrorKind::SerializationFailure
            ) || {
                let m = info.message().to_ascii_lowercase();
                [
                    "locked",
                    "busy",
                    "readonly",
                    "read-only",
                    "disk i/o",
                    "unable to open",
                    "no such table",
                    "connection",
                    "terminating",
                    "shutting down",
                    "statement timeout",
                    "canceling statement",
                    "deadline passed",
                    "disk is full",
                    // A deadlock that outlived its retries: try again later.
                    "deadlock detected",
                ]
                .iter()
                .any(|needle| m.contains(needle))
            }
        }
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}
