//! Authentication: the blueprint's access headers → the caller's `Scope`,
//! for the levels the deployment configures. Verified credentials are cached
//! for a bounded time so the hot path makes no database round trip for them;
//! IDs found missing are remembered briefly too (`negative`). Failed
//! authentication is throttled per (client address, presented ID)
//! (`throttle`, `client_address`).

mod client_address;
mod levels;
mod negative;
mod throttle;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::HttpRequest;

use crate::domain::{FieldErrors, Location, LocationId, PrincipalKind, Reason, Scope, UserId};
use crate::error::{AccessLevel, ApiError};
use crate::rate_limit::{RateClock, Ticker};
use crate::secret;
use crate::store::rows::CredentialRow;
use crate::store::Store;
pub use client_address::TrustedProxies;
pub use levels::AuthLevels;
use negative::NegativeCache;
use throttle::{PairKey, Throttle};

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

/// Principal id → (when it was read, on the ticker; its credential).
type CredentialCache = HashMap<String, (Duration, Arc<CredentialRow>)>;

/// The ID value a pair is keyed by when the header is present but unusable
/// (not visible ASCII, or too long): all such requests of one address share
/// one pair, so they are throttled together.
const INVALID_ID: &str = "\0invalid";

/// What the authenticator is configured with (from `Config`).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub levels: AuthLevels,
    /// How long a verified credential is trusted without a lookup; bounds
    /// how long a rotated or removed secret keeps working. Zero: no cache.
    pub credential_cache: Duration,
    /// How long an unknown ID is remembered as unknown; never longer than
    /// `credential_cache` (an unknown ID is not remembered longer than a
    /// known one would be).
    pub negative_cache: Duration,
    /// Failed authentications per minute per (address, ID); 0: no throttle.
    pub failure_limit: u32,
    pub trusted_proxies: TrustedProxies,
    /// What the caches and the throttle measure time with.
    pub clock: RateClock,
    /// Serving with `--demo`: only then do the demo principals (whose
    /// secrets are public) authenticate.
    pub demo: bool,
}

pub struct Authenticator {
    levels: AuthLevels,
    store: Store,
    ttl: Duration,
    /// Per kind (client, chain, location), so a lookup borrows the header's
    /// value instead of allocating a key; rows are shared, not copied.
    cache: [RwLock<CredentialCache>; 3],
    clients: RwLock<Option<(Duration, Arc<Vec<CredentialRow>>)>>,
    missing: NegativeCache,
    throttle: Throttle,
    trusted_proxies: TrustedProxies,
    ticker: Ticker,
    /// Serving with `--demo`: only then do the demo principals (whose
    /// secrets are public) authenticate; otherwise the store reads them as
    /// absent, so they answer exactly like unknown ids.
    demo: bool,
}

impl Authenticator {
    pub fn new(settings: AuthSettings, store: Store) -> Self {
        Self {
            levels: settings.levels,
            store,
            ttl: settings.credential_cache,
            cache: Default::default(),
            clients: RwLock::new(None),
            missing: NegativeCache::new(settings.negative_cache.min(settings.credential_cache)),
            throttle: Throttle::new(settings.failure_limit),
            trusted_proxies: settings.trusted_proxies,
            ticker: Ticker::new(settings.clock),
            demo: settings.demo,
        }
    }

    /// (address, ID) pairs the throttle holds.
    pub fn throttled_pairs(&self) -> usize {
        self.throttle.pairs()
    }

    /// Requests refused by the throttle so far.
    pub fn throttle_refusals(&self) -> u64 {
        self.throttle.refused()
    }

    /// IDs the negative cache holds.
    pub fn known_missing(&self) -> usize {
        self.missing.len()
    }

    /// The address failures are counted against (see `client_address`).
    fn client_address(&self, req: &HttpRequest) -> IpAddr {
        // No peer address only happens for requests not made over a socket.
        let peer = req
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        if self.trusted_proxies.is_empty() {
            return peer.to_canonical();
        }
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        self.trusted_proxies.client_address(peer, &forwarded)
    }

    /// The throttle's pair for each configured level, in the order client,
    /// chain, location: the level's ID header as presented (a client sending
    /// only its secret is the pair with the empty ID).
    fn pairs(&self, req: &HttpRequest) -> Vec<(AccessLevel, PairKey)> {
        let address = self.client_address(req);
        let levels = [
            (
                self.levels.client,
                PrincipalKind::Client,
                AccessLevel::Client,
                X_CLIENT_ID,
            ),
            (
                self.levels.chain,
                PrincipalKind::Chain,
                AccessLevel::Chain,
                X_CHAIN_ID,
            ),
            (
                self.levels.location,
                PrincipalKind::Location,
                AccessLevel::Location,
                X_LOCATION_ID,
            ),
        ];
        levels
            .into_iter()
            .filter(|(on, ..)| *on)
            .map(|(_, kind, level, name)| {
                let id = match header(req, name) {
                    Header::Missing => "",
                    Header::Invalid => INVALID_ID,
                    Header::Value(id) => id,
                };
                (level, self.throttle.key(address, kind, id))
            })
            .collect()
    }

    pub fn levels(&self) -> AuthLevels {
        self.levels
    }

    /// Checks the access headers of every configured level: first that none
    /// is missing (all missing ones named at once), then that no presented
    /// (address, ID) pair is throttled, then each level in the order client,
    /// chain, location; a level that fails counts against its pair.
    pub async fn authenticate(&self, req: &HttpRequest) -> Result<Identity, ApiError> {
        self.require_headers(req)?;
        if !self.throttle.is_on() {
            return self.verify_all(req).await;
        }
        let pairs = self.pairs(req);
        let now = self.ticker.now();
        // The longest wait of any throttled pair: retrying earlier would only
        // be refused again.
        if let Some(wait) = pairs
            .iter()
            .filter_map(|(_, key)| self.throttle.wait(*key, now))
            .max()
        {
            return Err(ApiError::retry_after(wait));
        }
        let result = self.verify_all(req).await;
        if let Err(ApiError::Unauthorized { level, .. }) = &result {
            if let Some((_, key)) = pairs.iter().find(|(l, _)| l == level) {
                self.throttle.failed(*key, self.ticker.now());
            }
        }
        result
    }

    /// 400 naming every missing header of the configured levels at once.
    fn require_headers(&self, req: &HttpRequest) -> Result<(), ApiError> {
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
        Ok(missing.into_result()?)
    }

    async fn verify_all(&self, req: &HttpRequest) -> Result<Identity, ApiError> {
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
        let secret = match header(req, secret_header) {
            Header::Value(secret) => Some(secret),
            _ => None,
        };
        let row = self
            .row_for_secret(kind, id, secret)
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
        match secret {
            Some(secret) if matches(secret, &row) => Ok(row),
            _ => Err(unauthorized(level, secret_header)),
        }
    }

    /// The credential of `id`, read again from the store when `secret` does
    /// not match a cached entry: the secret may have been rotated since, and
    /// a new secret must work at once (only an old one may linger, for at
    /// most the cache's TTL). Each such re-read belongs to a failure unless
    /// the new secret matches, so the throttle bounds how often a guesser
    /// can make one.
    async fn row_for_secret(
        &self,
        kind: PrincipalKind,
        id: &str,
        secret: Option<&str>,
    ) -> Result<Option<Arc<CredentialRow>>, ApiError> {
        match self.credential(kind, id).await? {
            Some(Cached { row, fresh: false }) if secret.is_some_and(|s| !matches(s, &row)) => {
                self.read_credential(kind, id).await
            }
            other => Ok(other.map(|c| c.row)),
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
                let find = |clients: &[CredentialRow]| {
                    clients
                        .iter()
                        .find(|c| matches(secret, c))
                        .map(|c| c.id.clone())
                };
                let (clients, fresh) = self.clients().await?;
                match find(&clients) {
                    Some(id) => Ok(id),
                    // As for one principal: a secret rotated since the list
                    // was cached works at once.
                    None if !fresh => find(&self.read_clients().await?)
                        .ok_or_else(|| unauthorized(level, X_CLIENT_SECRET)),
                    None => Err(unauthorized(level, X_CLIENT_SECRET)),
                }
            }
            Header::Invalid => Err(unauthorized(level, X_CLIENT_ID)),
            Header::Value(id) => {
                let row = self
                    .row_for_secret(PrincipalKind::Client, id, Some(secret))
                    .await?
                    .ok_or_else(|| unauthorized(level, X_CLIENT_ID))?;
                matches(secret, &row)
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
            .and_then(|Cached { row, .. }| {
                row.chain_id.as_ref().map(|chain_id| Location {
                    id: LocationId::from_stored(row.id.clone()),
                    chain_id: chain_id.clone(),
                })
            })
            .filter(|location| scope.contains(location))
            .ok_or_else(|| ApiError::location_not_found(id))
    }

    /// The credential of `id`: from the cache while it is fresh, known
    /// missing while the negative cache says so, else read from the store.
    async fn credential(&self, kind: PrincipalKind, id: &str) -> Result<Option<Cached>, ApiError> {
        let now = self.ticker.now();
        if let Ok(cache) = self.cache[kind as usize].read() {
            if let Some((at, row)) = cache.get(id) {
                if now.saturating_sub(*at) < self.ttl {
                    return Ok(Some(Cached {
                        row: row.clone(),
                        fresh: false,
                    }));
                }
            }
        }
        if self.missing.is_known_missing(kind, id, now) {
            return Ok(None);
        }
        Ok(self
            .read_credential(kind, id)
            .await?
            .map(|row| Cached { row, fresh: true }))
    }

    /// Reads `id` from the store and caches what it found, or that it found
    /// nothing.
    async fn read_credential(
        &self,
        kind: PrincipalKind,
        id: &str,
    ) -> Result<Option<Arc<CredentialRow>>, ApiError> {
        let row = self
            .store
            .credential(kind, id.to_owned(), self.demo)
            .await?
            .map(Arc::new);
        let now = self.ticker.now();
        if row.is_none() {
            self.missing.remember_missing(kind, id, now);
        }
        if self.ttl.is_zero() {
            return Ok(row);
        }
        if let Ok(mut cache) = self.cache[kind as usize].write() {
            match &row {
                Some(row) => {
                    if cache.len() >= MAX_CACHED && !cache.contains_key(id) {
                        let ttl = self.ttl;
                        cache.retain(|_, (at, _)| now.saturating_sub(*at) < ttl);
                        if cache.len() >= MAX_CACHED {
                            cache.clear();
                        }
                    }
                    cache.insert(id.to_owned(), (now, row.clone()));
                }
                // Removed or disabled meanwhile: forget it at once.
                None => {
                    cache.remove(id);
                }
            }
        }
        Ok(row)
    }

    /// Every client's credential (for a client secret sent without its ID);
    /// whether it was just read.
    async fn clients(&self) -> Result<(Arc<Vec<CredentialRow>>, bool), ApiError> {
        if let Ok(cached) = self.clients.read() {
            if let Some((at, rows)) = cached.as_ref() {
                if self.ticker.now().saturating_sub(*at) < self.ttl {
                    return Ok((rows.clone(), false));
                }
            }
        }
        Ok((self.read_clients().await?, true))
    }

    async fn read_clients(&self) -> Result<Arc<Vec<CredentialRow>>, ApiError> {
        let rows = Arc::new(self.store.client_credentials(self.demo).await?);
        if let Ok(mut cached) = self.clients.write() {
            *cached = Some((self.ticker.now(), rows.clone()));
        }
        Ok(rows)
    }
}

/// A credential and whether it was just read from the store (then reading
/// it again could not tell anything new).
struct Cached {
    row: Arc<CredentialRow>,
    fresh: bool,
}

fn matches(secret: &str, row: &CredentialRow) -> bool {
    secret::verify(secret, &row.secret_salt, &row.secret_hash)
}
