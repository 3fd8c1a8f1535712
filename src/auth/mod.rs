//! Authentication: the blueprint's access headers → the caller's `Scope`,
//! for the levels the deployment configures. Verified credentials are cached
//! for a bounded time so the hot path makes no database round trip for them.

mod levels;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;

use crate::domain::{FieldErrors, Location, LocationId, PrincipalKind, Reason, Scope, UserId};
use crate::error::{AccessLevel, ApiError};
use crate::secret;
use crate::store::rows::CredentialRow;
use crate::store::Store;
pub use levels::AuthLevels;

pub const X_CLIENT_ID: &str = "X-Client-ID";
pub const X_CLIENT_SECRET: &str = "X-Client-Secret";
pub const X_CHAIN_ID: &str = "X-Chain-ID";
pub const X_CHAIN_SECRET: &str = "X-Chain-Secret";
pub const X_LOCATION_ID: &str = "X-Location-ID";
pub const X_LOCATION_SECRET: &str = "X-Location-Secret";
pub const X_USER_ID: &str = "X-User-ID";

/// Longer header values are refused before any lookup.
const MAX_HEADER_VALUE: usize = 1024;
/// The cache only ever holds principals that exist; this caps it anyway.
const MAX_CACHED: usize = 100_000;

/// Who is calling, as far as the contract cares.
#[derive(Debug, Clone)]
pub struct Identity {
    pub scope: Scope,
    /// The narrowest principal authenticated, as `kind:id` (e.g.
    /// `chain:fitx`): what idempotency keys belong to.
    pub principal: String,
    /// `X-User-ID`, recorded as who created or cancelled a pass.
    pub user_id: Option<UserId>,
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
    /// Serving with `--demo`: only then do the demo principals (whose
    /// secrets are public) authenticate; otherwise the store reads them as
    /// absent, so they answer exactly like unknown ids.
    demo: bool,
}

impl Authenticator {
    /// `ttl` bounds how long a rotated or removed secret keeps working; zero
    /// turns the cache off. `demo`: whether demo principals authenticate.
    pub fn new(levels: AuthLevels, store: Store, ttl: Duration, demo: bool) -> Self {
        Self {
            levels,
            store,
            ttl,
            cache: Default::default(),
            clients: RwLock::new(None),
            demo,
        }
    }

    pub fn levels(&self) -> AuthLevels {
        self.levels
    }

    /// Checks the access headers of every configured level: first that none
    /// is missing (all missing ones named at once), then each level in the
    /// order client, chain, location.
    pub async fn authenticate(&self, req: &HttpRequest) -> Result<Identity, ApiError> {
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
        let mut principal = String::new();
        if self.levels.client {
            principal = format!("client:{}", self.verify_client(req).await?);
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
            principal = format!("chain:{}", row.id);
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
            principal = format!("location:{}", row.id);
        }

        let user_id = match req.headers().get(X_USER_ID).map(|v| v.to_str()) {
            None => None,
            Some(Ok(v)) => Some(UserId::parse(v).map_err(|r| ApiError::bad_request(X_USER_ID, r))?),
            Some(Err(_)) => return Err(ApiError::bad_request(X_USER_ID, Reason::WrongFormat)),
        };
        Ok(Identity {
            scope,
            principal,
            user_id,
        })
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

    /// The client whose secret the request carries; its id.
    async fn verify_client(&self, req: &HttpRequest) -> Result<String, ApiError> {
        let level = AccessLevel::Client;
        let Header::Value(secret) = header(req, X_CLIENT_SECRET) else {
            return Err(unauthorized(level, X_CLIENT_SECRET));
        };
        match header(req, X_CLIENT_ID) {
            Header::Missing => {
                let clients = self.clients().await?;
                clients
                    .iter()
                    .find(|c| secret::verify(secret, &c.secret_salt, &c.secret_hash))
                    .map(|c| c.id.clone())
                    .ok_or_else(|| unauthorized(level, X_CLIENT_SECRET))
            }
            Header::Invalid => Err(unauthorized(level, X_CLIENT_ID)),
            Header::Value(id) => {
                let row = self
                    .credential(PrincipalKind::Client, id)
                    .await?
                    .ok_or_else(|| unauthorized(level, X_CLIENT_ID))?;
                secret::verify(secret, &row.secret_salt, &row.secret_hash)
                    .then(|| row.id.clone())
                    .ok_or_else(|| unauthorized(level, X_CLIENT_SECRET))
            }
        }
    }

    /// The location `id` if it exists inside `scope`; otherwise the contract's
    /// 404 for parameter `locationId` (outside the scope reads as unknown).
    /// Served from the same cache as the credentials.
    pub async fn location_in_scope(&self, scope: &Scope, id: &str) -> Result<Location, ApiError> {
        self.credential(PrincipalKind::Location, id)
            .await?
            .and_then(|row| {
                row.chain_id.as_ref().map(|chain_id| Location {
                    id: LocationId::from_stored(row.id.clone()),
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
        let row = self
            .store
            .credential(kind, id.to_owned(), self.demo)
            .await?
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
        let rows = Arc::new(self.store.client_credentials(self.demo).await?);
        if let Ok(mut cached) = self.clients.write() {
            *cached = Some((Instant::now(), rows.clone()));
        }
        Ok(rows)
    }
}
