//! Provisioning and housekeeping behind `guestpass admin`, `prune` and
//! `serve --demo`: adding, listing, disabling and removing principals.

use crate::auth::{
    AuthLevels, X_CHAIN_ID, X_CHAIN_SECRET, X_CLIENT_SECRET, X_LOCATION_ID, X_LOCATION_SECRET,
};
use crate::domain::{
    CheckinCode, Email, GuestPassId, LocationId, PersonName, PrincipalKind, UserId, UtcTimestamp,
};
use crate::secret;
use crate::store::rows::{GuestPassRow, NewPrincipal, PrincipalRow};
use crate::store::{RemoveOutcome, Store, StoreError};

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
    #[error(
        "{kind} '{id}' still has {passes} guest passes; nothing was changed \
         (--with-passes removes them and their check-ins too)"
    )]
    HasPasses {
        kind: &'static str,
        id: String,
        passes: i64,
    },
    #[error("database error: {0}")]
    Database(String),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::Database(e.to_string())
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

/// The secret to store: a generated one, or the operator's own if it
/// carries at least 128 bits (contract §1).
fn chosen_secret(secret: Option<String>) -> Result<String, AdminError> {
    match secret {
        None => Ok(secret::generate()),
        Some(s) => match secret::check_chosen(&s) {
            Ok(()) => Ok(s),
            Err(weak) => Err(AdminError::Invalid(weak.to_string())),
        },
    }
}

/// The demo's principals (kind, id, chain, secret), in the order they are
/// made. Their ids are reserved, so that every principal with one of these
/// ids is the demo's (the migration that introduced the demo flag relies on
/// it for the first three).
const DEMO: [(PrincipalKind, &str, Option<&str>, &str); 6] = [
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

fn is_demo_id(kind: PrincipalKind, id: &str) -> bool {
    DEMO.iter().any(|(k, demo, _, _)| *k == kind && *demo == id)
}

/// Adds a chain, location (with `chain`) or client; returns its secret, the
/// only time it is ever shown. A chosen `secret` needs 128 bits.
pub async fn add_principal(
    store: &Store,
    kind: PrincipalKind,
    id: &str,
    name: Option<String>,
    chain: Option<String>,
    secret: Option<String>,
) -> Result<String, AdminError> {
    check_id(kind.name(), id)?;
    if is_demo_id(kind, id) {
        return Err(AdminError::Invalid(format!(
            "{} id '{id}' is reserved for the demo (serve --demo)",
            kind.name()
        )));
    }
    let secret = chosen_secret(secret)?;
    provision(store, kind, id, name, chain, secret, false).await
}

/// Stores a new principal with `secret`, which the caller has vetted.
async fn provision(
    store: &Store,
    kind: PrincipalKind,
    id: &str,
    name: Option<String>,
    chain: Option<String>,
    secret: String,
    demo: bool,
) -> Result<String, AdminError> {
    if let Some(chain) = &chain {
        if !store
            .principal_exists(PrincipalKind::Chain, chain.clone())
            .await?
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
        created_at: UtcTimestamp::now(),
        demo,
    };
    match store.add_principal(kind, principal).await {
        Ok(()) => Ok(secret),
        Err(StoreError::Conflict(_)) => Err(AdminError::Exists {
            kind: kind.name(),
            id: id.to_owned(),
        }),
        Err(e) => Err(e.into()),
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
    match store
        .set_secret(kind, id.to_owned(), hashed.salt, hashed.hash)
        .await
    {
        Ok(()) => Ok(secret),
        Err(StoreError::NotFound) => Err(AdminError::Missing {
            kind: kind.name(),
            id: id.to_owned(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Creates the demo's chains, locations and client unless they exist, marked
/// as the demo's: they authenticate only on a server in demo mode. Their
/// secrets are public, so the entropy rule does not apply to them.
pub async fn ensure_demo(store: &Store) -> Result<(), AdminError> {
    for (kind, id, chain, secret) in DEMO {
        let name = Some(format!("Demo {}", kind.name()));
        match provision(
            store,
            kind,
            id,
            name,
            chain.map(str::to_owned),
            secret.to_owned(),
            true,
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

/// How `admin list` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// Aligned columns, for people.
    Table,
    /// One JSON object: `chains`, `locations`, `clients`.
    Json,
}

/// Every chain, location and client, never a secret: a table (one line per
/// principal under a header) or JSON.
pub async fn list(store: &Store, format: ListFormat) -> Result<String, AdminError> {
    let rows = store.list_principals().await?;
    Ok(match format {
        ListFormat::Table => list_table(&rows),
        ListFormat::Json => list_json(&rows),
    })
}

fn list_table(rows: &[PrincipalRow]) -> String {
    // Names are free text from the operator: no control character may
    // break the table's lines.
    let cell = |text: &str| -> String {
        text.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    let mut lines = vec![[
        "KIND".to_owned(),
        "ID".to_owned(),
        "NAME".to_owned(),
        "CHAIN".to_owned(),
        "CREATED".to_owned(),
        "STATUS".to_owned(),
    ]];
    for row in rows {
        let date = |t: UtcTimestamp| t.to_string().chars().take(10).collect::<String>();
        let mut status = Vec::new();
        if let Some(at) = row.disabled_at {
            status.push(format!("disabled since {}", date(at)));
        }
        if row.demo {
            status.push("demo".to_owned());
        }
        if status.is_empty() {
            status.push("active".to_owned());
        }
        lines.push([
            row.kind.name().to_owned(),
            cell(&row.id),
            cell(row.name.as_deref().unwrap_or("-")),
            cell(row.chain_id.as_deref().unwrap_or("-")),
            date(row.created_at),
            status.join(", "),
        ]);
    }
    let mut widths = [0usize; 6];
    for line in &lines {
        for (width, text) in widths.iter_mut().zip(line) {
            *width = (*width).max(text.chars().count());
        }
    }
    lines
        .iter()
        .map(|line| {
            let cells: Vec<String> = line
                .iter()
                .zip(widths)
                .map(|(text, width)| format!("{text:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn list_json(rows: &[PrincipalRow]) -> String {
    let of = |kind: PrincipalKind| -> Vec<serde_json::Value> {
        rows.iter()
            .filter(|row| row.kind == kind)
            .map(|row| {
                let mut entry = serde_json::json!({
                    "id": row.id,
                    "createdAt": row.created_at.to_string(),
                    "disabled": row.disabled_at.is_some(),
                    "disabledAt": row.disabled_at.map(|t| t.to_string()),
                    "demo": row.demo,
                });
                if let Some(name) = &row.name {
                    entry["name"] = name.clone().into();
                }
                if let Some(chain) = &row.chain_id {
                    entry["chainId"] = chain.clone().into();
                }
                entry
            })
            .collect()
    };
    serde_json::json!({
        "chains": of(PrincipalKind::Chain),
        "locations": of(PrincipalKind::Location),
        "clients": of(PrincipalKind::Client),
    })
    .to_string()
}

/// Disables (or, with `disable` false, enables) a principal; says what
/// changed. A disabled principal authenticates as unknown; a chain's
/// locations with it.
pub async fn set_disabled(
    store: &Store,
    kind: PrincipalKind,
    id: &str,
    disable: bool,
) -> Result<String, AdminError> {
    let what = format!("{} '{id}'", kind.name());
    match store.set_disabled(kind, id.to_owned(), disable).await {
        Ok(true) if disable => Ok(format!("{what} disabled")),
        Ok(true) => Ok(format!("{what} enabled")),
        Ok(false) if disable => Ok(format!("{what} was already disabled")),
        Ok(false) => Ok(format!("{what} was not disabled")),
        Err(StoreError::NotFound) => Err(AdminError::Missing {
            kind: kind.name(),
            id: id.to_owned(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a principal for good (a chain with its locations). One that
/// still has passes only `with_passes`, and then with them and their
/// check-ins, all in one transaction; says what went.
pub async fn remove(
    store: &Store,
    kind: PrincipalKind,
    id: &str,
    with_passes: bool,
) -> Result<String, AdminError> {
    match store
        .remove_principal(kind, id.to_owned(), with_passes)
        .await
    {
        Ok(RemoveOutcome::Removed(removed)) => {
            let count = |n: usize, one: &str, many: &str| match n {
                1 => format!("1 {one}"),
                n => format!("{n} {many}"),
            };
            let mut with = Vec::new();
            if kind == PrincipalKind::Chain {
                with.push(count(removed.locations, "location", "locations"));
            }
            if kind != PrincipalKind::Client {
                with.push(count(removed.passes, "guest pass", "guest passes"));
                with.push(count(removed.checkins, "check-in", "check-ins"));
            }
            let with = if with.is_empty() {
                String::new()
            } else {
                format!(" with {}", with.join(", "))
            };
            Ok(format!("removed {} '{id}'{with}", kind.name()))
        }
        Ok(RemoveOutcome::HasPasses(passes)) => Err(AdminError::HasPasses {
            kind: kind.name(),
            id: id.to_owned(),
            passes,
        }),
        Err(StoreError::NotFound) => Err(AdminError::Missing {
            kind: kind.name(),
            id: id.to_owned(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Deletes, batch by batch, idempotency keys stored more than `hours` hours
/// ago; returns how many.
pub async fn prune_keys(store: &Store, hours: u64, batch: i64) -> Result<u64, AdminError> {
    let age = i64::try_from(hours.saturating_mul(3600)).unwrap_or(i64::MAX);
    let before = UtcTimestamp::now().plus_seconds(-age);
    let mut total = 0u64;
    loop {
        let deleted = store.delete_expired_keys(before, batch).await?;
        total += deleted as u64;
        if (deleted as i64) < batch {
            return Ok(total);
        }
    }
}

/// Deletes, batch by batch, passes whose period ended more than `days` days
/// ago, with their check-ins; returns how many (or would, with `dry_run`).
pub async fn prune(store: &Store, days: u32, dry_run: bool, batch: i64) -> Result<u64, AdminError> {
    let before = UtcTimestamp::now().plus_seconds(-(i64::from(days) * 86_400));
    if dry_run {
        let n = store.count_prunable(before).await?;
        return Ok(n.max(0) as u64);
    }
    let mut total = 0u64;
    loop {
        let deleted = store.prune_batch(before, batch).await?;
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
    let place = store
        .find_location(location.to_owned())
        .await?
        .ok_or_else(|| AdminError::Missing {
            kind: "location",
            id: location.to_owned(),
        })?;
    let now = UtcTimestamp::now();
    let mut done = 0u64;
    while done < count {
        let batch: Vec<GuestPassRow> = (done..count.min(done + 1000))
            .map(|n| seeded_pass(n, &place.chain_id, &place.id, now))
            .collect();
        let n = batch.len() as u64;
        store.insert_passes(batch).await?;
        done += n;
    }
    store.analyze().await?;
    Ok(done)
}

/// Seeded pass `n`: predictable values (see `AdminCommand::Seed`), written
/// straight as a row; bulk loading skips the overlap rule, and the values
/// are well-formed by construction.
fn seeded_pass(n: u64, chain_id: &str, location: &LocationId, now: UtcTimestamp) -> GuestPassRow {
    let email = format!("seed-{n}@example.invalid");
    GuestPassRow {
        id: GuestPassId::from_stored(format!("00000000-0000-4000-8000-{n:012}")),
        chain_id: chain_id.to_owned(),
        location_id: location.clone(),
        first_name: PersonName::from_stored("Seed".into()),
        last_name: PersonName::from_stored(format!("Guest {n}")),
        email_key: crate::domain::email_key(&email),
        email: Email::from_stored(email),
        phone: None,
        valid_from: now.plus_seconds(-3600),
        valid_until: now.plus_seconds(7 * 86_400),
        checkin_code: CheckinCode::from_stored(seed_code(n)),
        created_at: now.plus_seconds(-3600 + (n % 3600) as i64),
        created_by: Some(UserId::from_stored("seed".into())),
        cancelled_at: None,
        cancelled_by: None,
    }
}
