//! Authentication: the blueprint's access headers → the caller's `Scope`,
//! for the levels the deployment configures. Verified credentials are cached
//! for a bounded time so the hot path makes no database round trip for them.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;

use crate::domain::Reason;
use crate::error::{AccessLevel, ApiError, FieldErrors};
use crate::secret;
use crate::store::models::{CredentialRow, LocationRow, PrincipalKind, Scope};
use crate::store::{read, Store};

pub const X_CLIENT_ID: &str = "X-Client-ID";
pub const X_CLIENT_SECRET: &str = "X-Client-Secret";
pub const X_CHAIN_ID: &str = "X-Chain-ID";
pub const X_CHAIN_SECRET: &str = "X-Chain-Secret";
pub const X_LOCATION_ID: &str = "X-Location-ID";
pub const X_LOCATION_SECRET: &str = "X-Location-Secret";
pub const X_USER_ID: &str = "X-User-ID";

/// Longer header values are refused before any lookup.
const MAX_HEADER_VALUE: usize = 1024;
const MAX_USER_ID: usize = 256;
/// The cache only ever holds principals that exist; this caps it anyway.
const MAX_CACHED: usize = 100_000;

/// Which access levels every operation requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLevels {
    pub client: bool,
    pub chain: bool,
    pub location: bool,
}

impl Default for AuthLevels {
    fn default() -> Self {
        Self {
            client: false,
            chain: true,
            location: false,
        }
    }
}

impl FromStr for AuthLevels {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut levels = Self {
            client: false,
            chain: false,
            location: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "client" => levels.client = true,
                "chain" => levels.chain = true,
                "location" => levels.location = true,
                other => {
                    return Err(format!(
                        "unknown access level '{other}' (client, chain, location)"
                    ))
                }
            }
        }
        if levels
            == (Self {
                client: false,
                chain: false,
                location: false,
            })
        {
            return Err("at least one access level is required (client, chain, location)".into());
        }
        Ok(levels)
    }
}

impl fmt::Display for AuthLevels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.client, "client"),
            (self.chain, "chain"),
            (self.location, "location"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        f.write_str(&names.join(","))
    }
}

/// Who is calling, as far as the contract cares.
#[derive(Debug, Clone)]
pub struct Caller {
    pub scope: Scope,
    /// `X-User-ID`, recorded as who created or cancelled a pass.
    pub user_id: Option<String>,
}

enum Header<'a> {
    Missing,
    /// Present but not usable: not visible ASCII, or over the length limit.
    Invalid,
    Value(&'a str),
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Header<'a> {
    match req.headers().get(name).map(|v| v.to_str()) {
        None => Header::Missing,
        Some(Err(_)) => Header::Invalid,
        Some(Ok(v)) if v.trim().is_empty() => Header::Missing,
        Some(Ok(v)) if v.len() > MAX_HEADER_VALUE => Header::Invalid,
        Some(Ok(v)) => Header::Value(v),
    }
}

fn unauthorized(level: AccessLevel, header: &'static str) -> ApiError {
    ApiError::Unauthorized { level, header }
}

/// Principal id → (when it was read, its credential).
type CredentialCache = HashMap<String, (Instant, Arc<CredentialRow>)>;

pub struct Authenticator {
    levels: AuthLevels,
    store: Store,
    ttl: Duration,
    /// Per kind (client, chain, location), so a lookup borrows the header's
    /// value instead of allocating a key; rows are shared, not copied.
    cache: [RwLock<CredentialCache>; 3],
    clients: RwLock<Option<(Instant, Arc<Vec<CredentialRow>>)>>,
}

impl Authenticator {
    /// `ttl` bounds how long a rotated or removed secret keeps working; zero
    /// turns the cache off.
    pub fn new(levels: AuthLevels, store: Store, ttl: Duration) -> Self {
        Self {
            levels,
            store,
            ttl,
            cache: Default::default(),
            clients: RwLock::new(None),
        }
    }

    pub fn levels(&self) -> AuthLevels {
        self.levels
    }

    /// Checks the access headers of every configured level: first that none
    /// is missing (all missing ones named at once), then each level in the
    /// order client, chain, location.
    pub async fn authenticate(&self, req: &HttpRequest) -> Result<Caller, ApiError> {
        let mut missing = FieldErrors::default();
        let required: &[(bool, &str)] = &[
            (self.levels.client, X_CLIENT_SECRET),
            (self.levels.chain, X_CHAIN_ID),
            (self.levels.chain, X_CHAIN_SECRET),
            (self.levels.location, X_LOCATION_ID),
            (self.levels.location, X_LOCATION_SECRET),
        ];
        for (_, name) in required.iter().filter(|(on, _)| *on) {
            if matches!(header(req, name), Header::Missing) {
                missing.add(name, Reason::Missing);
            }
        }
        missing.into_result()?;

        let mut scope = Scope::Deployment;
        if self.levels.client {
            self.verify_client(req).await?;
        }
        if self.levels.chain {
            let row = self
                .verify(
                    req,
                    PrincipalKind::Chain,
                    AccessLevel::Chain,
                    X_CHAIN_ID,
                    X_CHAIN_SECRET,
                )
                .await?;
            scope = Scope::Chain(row.id.clone());
        }
        if self.levels.location {
            let row = self
                .verify(
                    req,
                    PrincipalKind::Location,
                    AccessLevel::Location,
                    X_LOCATION_ID,
                    X_LOCATION_SECRET,
                )
                .await?;
            scope = Scope::Location(row.id.clone());
        }

        let user_id = match req.headers().get(X_USER_ID).map(|v| v.to_str()) {
            None => None,
            Some(Ok(v)) if v.chars().count() <= MAX_USER_ID => Some(v.to_owned()),
            Some(Ok(_)) => return Err(FieldErrors::single(X_USER_ID, Reason::TooLong)),
            Some(Err(_)) => return Err(FieldErrors::single(X_USER_ID, Reason::WrongFormat)),
        };
        Ok(Caller { scope, user_id })
    }

    async fn verify(
        &self,
        req: &HttpRequest,
        kind: PrincipalKind,
        level: AccessLevel,
        id_header: &'static str,
        secret_header: &'static str,
    ) -> Result<Arc<CredentialRow>, ApiError> {
        let Header::Value(id) = header(req, id_header) else {
            return Err(unauthorized(level, id_header));
        };
        let row = self
            .credential(kind, id)
            .await?
            .ok_or_else(|| unauthorized(level, id_header))?;
        if kind == PrincipalKind::Location && self.levels.chain {
            // The chain was verified just before; its id is the header's value.
            let chain = match header(req, X_CHAIN_ID) {
                Header::Value(chain) => Some(chain),
                _ => None,
            };
            if row.chain_id.as_deref() != chain {
                return Err(unauthorized(level, id_header));
            }
        }
        match header(req, secret_header) {
            Header::Value(secret) if secret::verify(secret, &row.secret_salt, &row.secret_hash) => {
                Ok(row)
            }
            _ => Err(unauthorized(level, secret_header)),
        }
    }

    async fn verify_client(&self, req: &HttpRequest) -> Result<(), ApiError> {
        let level = AccessLevel::Client;
        let Header::Value(secret) = header(req, X_CLIENT_SECRET) else {
            return Err(unauthorized(level, X_CLIENT_SECRET));
        };
        match header(req, X_CLIENT_ID) {
            Header::Missing => {
                let clients = self.clients().await?;
                let known = clients
                    .iter()
                    .any(|c| secret::verify(secret, &c.secret_salt, &c.secret_hash));
                known
                    .then_some(())
                    .ok_or_else(|| unauthorized(level, X_CLIENT_SECRET))
            }
            Header::Invalid => Err(unauthorized(level, X_CLIENT_ID)),
            Header::Value(id) => {
                let row = self
                    .credential(PrincipalKind::Client, id)
                    .await?
                    .ok_or_else(|| unauthorized(level, X_CLIENT_ID))?;
                secret::verify(secret, &row.secret_salt, &row.secret_hash)
                    .then_some(())
                    .ok_or_else(|| unauthorized(level, X_CLIENT_SECRET))
            }
        }
    }

    /// The location `id` if it exists inside `scope`; otherwise the contract's
    /// 404 for parameter `locationId` (outside the scope reads as unknown).
    /// Served from the same cache as the credentials.
    pub async fn location_in_scope(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<LocationRow, ApiError> {
        self.credential(PrincipalKind::Location, id)
            .await?
            .and_then(|row| {
                row.chain_id.as_ref().map(|chain_id| LocationRow {
                    id: row.id.clone(),
                    chain_id: chain_id.clone(),
                })
            })
            .filter(|location| scope.contains(location))
            .ok_or_else(|| ApiError::location_not_found(id))
    }

    async fn credential(
        &self,
        kind: PrincipalKind,
        id: &str,
    ) -> Result<Option<Arc<CredentialRow>>, ApiError> {
        let slot = &self.cache[kind as usize];
        if let Ok(cache) = slot.read() {
            if let Some((at, row)) = cache.get(id) {
                if at.elapsed() < self.ttl {
                    return Ok(Some(row.clone()));
                }
            }
        }
        let lookup = id.to_owned();
        let row = read!(&self.store, |conn, q| q::find_credential(
            conn, kind, &lookup
        ))?
        .map(Arc::new);
        if let (Some(row), false) = (&row, self.ttl.is_zero()) {
            if let Ok(mut cache) = slot.write() {
                if cache.len() >= MAX_CACHED {
                    cache.retain(|_, (at, _)| at.elapsed() < self.ttl);
                    if cache.len() >= MAX_CACHED {
                        cache.clear();
                    }
                }
                cache.insert(id.to_owned(), (Instant::now(), row.clone()));
            }
        }
        Ok(row)
    }

    async fn clients(&self) -> Result<Arc<Vec<CredentialRow>>, ApiError> {
        if let Ok(cached) = self.clients.read() {
            if let Some((at, rows)) = cached.as_ref() {
                if at.elapsed() < self.ttl {
                    return Ok(rows.clone());
                }
            }
        }
        let rows = Arc::new(read!(&self.store, |conn, q| q::client_credentials(conn))?);
        if let Ok(mut cached) = self.clients.write() {
            *cached = Some((Instant::now(), rows.clone()));
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_any_combination_and_print_back() {
        let l: AuthLevels = "client, location".parse().unwrap();
        assert!(l.client && !l.chain && l.location);
        assert_eq!(l.to_string(), "client,location");
        assert_eq!(
            "chain".parse::<AuthLevels>().unwrap(),
            AuthLevels::default()
        );
        assert!("".parse::<AuthLevels>().is_err());
        assert!("chain,gym".parse::<AuthLevels>().is_err());
    }
}
