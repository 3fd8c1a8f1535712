//! Provisioning and housekeeping behind `guestpass admin`, `prune` and
//! `serve --demo`.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::auth::{
    AuthLevels, X_CHAIN_ID, X_CHAIN_SECRET, X_CLIENT_SECRET, X_LOCATION_ID, X_LOCATION_SECRET,
};
use crate::domain::UtcTimestamp;
use crate::error::ApiError;
use crate::secret;
use crate::store::models::{GuestPassRow, PrincipalKind};
use crate::store::{read, write, NewPrincipal, Store};

/// The demo's fixed credentials, documented in the README. Never use them
/// for real data: anyone who reads the README knows them.
pub const DEMO_CHAIN_ID: &str = "demo-chain";
pub const DEMO_CHAIN_SECRET: &str = "demo-chain-secret-not-for-production";
pub const DEMO_LOCATION_ID: &str = "demo-gym";
pub const DEMO_LOCATION_SECRET: &str = "demo-location-secret-not-for-production";
pub const DEMO_CLIENT_ID: &str = "demo-client";
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret-not-for-production";
/// A second location of the demo chain, and a second chain with one location:
/// what a conformance run needs for scope and wrongLocation (`guestpass-conformance --demo`).
pub const DEMO_SECOND_LOCATION_ID: &str = "demo-gym-2";
pub const DEMO_SECOND_LOCATION_SECRET: &str = "demo-location-2-secret-not-for-production";
pub const DEMO_OTHER_CHAIN_ID: &str = "demo-chain-2";
pub const DEMO_OTHER_CHAIN_SECRET: &str = "demo-chain-2-secret-not-for-production";
pub const DEMO_OTHER_CHAIN_LOCATION_ID: &str = "demo-chain-2-gym";
pub const DEMO_OTHER_CHAIN_LOCATION_SECRET: &str = "demo-location-3-secret-not-for-production";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{kind} '{id}' already exists; nothing was changed")]
    Exists { kind: &'static str, id: String },
    #[error("{kind} '{id}' does not exist; nothing was changed")]
    Missing { kind: &'static str, id: String },
    #[error("database error: {0}")]
    Database(String),
}

impl From<ApiError> for AdminError {
    fn from(e: ApiError) -> Self {
        AdminError::Database(e.to_string())
    }
}

fn kind_name(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Client => "client",
        PrincipalKind::Chain => "chain",
        PrincipalKind::Location => "location",
    }
}

/// Ids travel in HTTP headers, so they must be visible ASCII.
fn check_id(what: &str, id: &str) -> Result<(), AdminError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AdminError::Invalid(format!(
            "{what} id must be 1 to 64 visible ASCII characters (no spaces)"
        )));
    }
    Ok(())
}

fn chosen_secret(secret: Option<String>) -> Result<String, AdminError> {
    match secret {
        None => Ok(secret::generate()),
        Some(s) if (16..=1024).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(s)
        }
        Some(_) => Err(AdminError::Invalid(
            "a secret must be 16 to 1024 visible ASCII characters".into(),
        )),
    }
}

/// Adds a chain, location (with `chain`) or client; returns its secret, the
/// only time it is ever shown.
pub async fn add_principal(
    store: &Store,
    kind: PrincipalKind,
    id: &str,
    name: Option<String>,
    chain: Option<String>,
    secret: Option<String>,
) -> Result<String, AdminError> {
    check_id(kind_name(kind), id)?;
    let secret = chosen_secret(secret)?;
    if let Some(chain) = &chain {
        let lookup = chain.clone();
        if read!(store, |conn, q| q::find_credential(
            conn,
            PrincipalKind::Chain,
            &lookup
        ))?
        .is_none()
        {
            return Err(AdminError::Missing {
                kind: "chain",
                id: chain.clone(),
            });
        }
    }
    let hashed = secret::hash(&secret);
    let principal = NewPrincipal {
        id: id.to_owned(),
        name: name.unwrap_or_else(|| id.to_owned()),
        chain_id: chain,
        secret_salt: hashed.salt,
        secret_hash: hashed.hash,
        created_at: UtcTimestamp::now().epoch_seconds(),
    };
    let inserted = write!(store, |conn, q| Ok::<_, ApiError>(q::insert_principal(
        conn, kind, &principal
    )))?;
    match inserted {
        Ok(()) => Ok(secret),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(AdminError::Exists {
                kind: kind_name(kind),
                id: id.to_owned(),
            })
        }
        Err(e) => Err(AdminError::Database(e.to_string())),
    }
}

pub async fn rotate_secret(
    store: &Store,
    kind: PrincipalKind,
    id: &str,
    secret: Option<String>,
) -> Result<String, AdminError> {
    let secret = chosen_secret(secret)?;
    let hashed = secret::hash(&secret);
    let target = id.to_owned();
    let changed = write!(store, |conn, q| q::set_secret(
        conn,
        kind,
        &target,
        &hashed.salt,
        &hashed.hash
    ))?;
    if changed {
        Ok(secret)
    } else {
        Err(AdminError::Missing {
            kind: kind_name(kind),
            id: id.to_owned(),
        })
    }
}

/// Creates the demo chains, locations and client unless they exist.
pub async fn ensure_demo(store: &Store) -> Result<(), AdminError> {
    let demo = [
        (PrincipalKind::Chain, DEMO_CHAIN_ID, None, DEMO_CHAIN_SECRET),
        (
            PrincipalKind::Location,
            DEMO_LOCATION_ID,
            Some(DEMO_CHAIN_ID),
            DEMO_LOCATION_SECRET,
        ),
        (
            PrincipalKind::Location,
            DEMO_SECOND_LOCATION_ID,
            Some(DEMO_CHAIN_ID),
            DEMO_SECOND_LOCATION_SECRET,
        ),
        (
            PrincipalKind::Chain,
            DEMO_OTHER_CHAIN_ID,
            None,
            DEMO_OTHER_CHAIN_SECRET,
        ),
        (
            PrincipalKind::Location,
            DEMO_OTHER_CHAIN_LOCATION_ID,
            Some(DEMO_OTHER_CHAIN_ID),
            DEMO_OTHER_CHAIN_LOCATION_SECRET,
        ),
        (
            PrincipalKind::Client,
            DEMO_CLIENT_ID,
            None,
            DEMO_CLIENT_SECRET,
        ),
    ];
    for (kind, id, chain, secret) in demo {
        let name = Some(format!("Demo {}", kind_name(kind)));
        match add_principal(
            store,
            kind,
            id,
            name,
            chain.map(str::to_owned),
            Some(secret.to_owned()),
        )
        .await
        {
            Ok(_) | Err(AdminError::Exists { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A ready-to-paste curl that creates a guest pass with the demo credentials.
pub fn demo_curl(base_url: &str, levels: AuthLevels) -> String {
    let now = UtcTimestamp::now();
    let from = now.plus_seconds(3600);
    let until = from.plus_seconds(7 * 86_400);
    let mut headers = Vec::new();
    if levels.client {
        headers.push(format!("-H '{X_CLIENT_SECRET}: {DEMO_CLIENT_SECRET}'"));
    }
    if levels.chain {
        headers.push(format!("-H '{X_CHAIN_ID}: {DEMO_CHAIN_ID}'"));
        headers.push(format!("-H '{X_CHAIN_SECRET}: {DEMO_CHAIN_SECRET}'"));
    }
    if levels.location {
        headers.push(format!("-H '{X_LOCATION_ID}: {DEMO_LOCATION_ID}'"));
        headers.push(format!("-H '{X_LOCATION_SECRET}: {DEMO_LOCATION_SECRET}'"));
    }
    format!(
        "curl -i -X POST '{base_url}/guest-passes' \\\n  -H 'Content-Type: application/json' \\\n  {} \\\n  \
         -d '{{\"locationId\": \"{DEMO_LOCATION_ID}\", \"firstName\": \"Jane\", \"lastName\": \"Doe\", \
         \"email\": \"jane.doe@example.com\", \"validFrom\": \"{from}\", \"validUntil\": \"{until}\"}}'",
        headers.join(" \\\n  ")
    )
}

/// Deletes, batch by batch, passes whose period ended more than `days` days
/// ago, with their check-ins; returns how many (or would, with `dry_run`).
pub async fn prune(store: &Store, days: u32, dry_run: bool, batch: i64) -> Result<u64, AdminError> {
    let before = UtcTimestamp::now()
        .plus_seconds(-(i64::from(days) * 86_400))
        .epoch_seconds();
    if dry_run {
        let n = read!(store, |conn, q| q::count_prunable(conn, before))?;
        return Ok(n.max(0) as u64);
    }
    let mut total = 0u64;
    loop {
        let deleted = write!(store, |conn, q| q::prune_batch(conn, before, batch))?;
        total += deleted as u64;
        if (deleted as i64) < batch {
            return Ok(total);
        }
    }
}

/// The check-in code of seeded pass `n`: n in base 31 over the code alphabet,
/// ten digits, so every seeded code is valid and unique.
pub fn seed_code(mut n: u64) -> String {
    let alphabet = crate::domain::CHECKIN_CODE_ALPHABET;
    let mut code = [alphabet[0]; crate::domain::CHECKIN_CODE_LENGTH];
    for slot in code.iter_mut().rev() {
        *slot = alphabet[(n % alphabet.len() as u64) as usize];
        n /= alphabet.len() as u64;
    }
    String::from_utf8_lossy(&code).into_owned()
}

/// Inserts `count` active passes (valid from an hour ago for a week) at
/// `location`, in batches; returns how many.
pub async fn seed(store: &Store, location: &str, count: u64) -> Result<u64, AdminError> {
    let lookup = location.to_owned();
    let chain_id = read!(store, |conn, q| q::find_location(conn, &lookup))?
        .ok_or_else(|| AdminError::Missing {
            kind: "location",
            id: location.to_owned(),
        })?
        .chain_id;
    let now = UtcTimestamp::now().epoch_seconds();
    let mut done = 0u64;
    while done < count {
        let batch: Vec<GuestPassRow> = (done..count.min(done + 1000))
            .map(|n| GuestPassRow {
                id: format!("00000000-0000-4000-8000-{n:012}"),
                chain_id: chain_id.clone(),
                location_id: location.to_owned(),
                first_name: "Seed".into(),
                last_name: format!("Guest {n}"),
                email: format!("seed-{n}@example.invalid"),
                email_key: format!("seed-{n}@example.invalid"),
                phone: None,
                valid_from: now - 3600,
                valid_until: now + 7 * 86_400,
                checkin_code: seed_code(n),
                created_at: now - 3600 + (n % 3600) as i64,
                created_by: Some("seed".into()),
                cancelled_at: None,
                cancelled_by: None,
            })
            .collect();
        let n = batch.len() as u64;
        write!(store, |conn, q| q::insert_passes(conn, &batch))?;
        done += n;
    }
    write!(store, |conn, q| q::analyze(conn))?;
    Ok(done)
}
