//! The command line: `serve`, `migrate`, `admin`, `prune` and `conformance`.
//! Every option can also come from the environment variable named beside it;
//! defaults come from `config::defaults`.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::auth::{AuthLevels, TrustedProxies};
use crate::config::{default_pool_size, defaults, normalize_base_path, Config};
use crate::store::SqliteSync;

#[derive(Debug, Parser)]
#[command(
    name = "guestpass",
    version,
    about = "Guest Pass API server (EGYM MMS blueprint)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve(ServeArgs),
    /// Apply the embedded database migrations and exit.
    Migrate(DatabaseArgs),
    /// Provision chains, locations and clients, rotate their secrets; list, disable, enable, remove them.
    Admin(AdminArgs),
    /// Delete passes (and their check-ins) that ended more than DAYS days ago.
    Prune(PruneArgs),
    /// Check any Guest Pass API implementation against the blueprint, over
    /// HTTP or HTTPS (the same kit as the `guestpass-conformance` binary).
    Conformance(guestpass_conformance::ConformanceArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// A postgres:// or postgresql:// URL selects PostgreSQL; anything else is a SQLite file path.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = defaults::DATABASE_URL,
        hide_env_values = true
    )]
    pub database_url: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on.
    #[arg(long, env = "GUESTPASS_BIND", default_value = defaults::BIND)]
    pub bind: String,
    /// Where the API lives.
    #[arg(long, env = "GUESTPASS_BASE_PATH", default_value = defaults::BASE_PATH)]
    pub base_path: String,
    /// Access levels every operation requires: any of client, chain, location, comma-separated.
    #[arg(long, env = "GUESTPASS_AUTH_LEVELS", default_value = defaults::AUTH_LEVELS)]
    pub auth_levels: AuthLevels,
    /// Longest allowed guest pass, validFrom to validUntil, in days.
    #[arg(long, env = "GUESTPASS_MAX_PERIOD_DAYS", default_value_t = defaults::MAX_PERIOD_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub max_period_days: u32,
    /// Database connections (default: SQLite 8 readers, PostgreSQL 8).
    #[arg(long, env = "GUESTPASS_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub pool_size: Option<u32>,
    /// PostgreSQL: threads that send queued creates together, one multi-row
    /// statement per batch, and queued check-ins together, one transaction
    /// per batch (0: each create and check-in on its own).
    #[arg(long, env = "GUESTPASS_PG_BATCH_WRITERS", default_value_t = defaults::PG_BATCH_WRITERS,
          value_parser = clap::value_parser!(u64).range(0..=16))]
    pub pg_batch_writers: u64,
    /// How long a request waits for the database before it is answered 503.
    #[arg(long, env = "GUESTPASS_POOL_TIMEOUT_MS", default_value_t = defaults::POOL_TIMEOUT_MS,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub pool_timeout_ms: u64,
    /// Database connections one principal (location, else chain, else client) may use at once;
    /// its further requests wait for one of its own, up to the pool timeout, then get 429
    /// (default: half the pool size, at least 1; 0 = no cap).
    #[arg(long, env = "GUESTPASS_PRINCIPAL_CONNECTIONS",
          value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub principal_connections: Option<u32>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "GUESTPASS_WORKERS", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub workers: Option<u32>,
    /// How long a verified credential is trusted without a database lookup (0 = always look up;
    /// at most 300). A rotated or removed secret keeps working at most this long; a new secret
    /// works at once.
    #[arg(long, env = "GUESTPASS_CREDENTIAL_CACHE_SECS", default_value_t = defaults::CREDENTIAL_CACHE_SECS,
          value_parser = clap::value_parser!(u64).range(0..=defaults::MAX_CREDENTIAL_CACHE_SECS))]
    pub credential_cache_secs: u64,
    /// Failed authentications per minute per (client address, presented ID) before every request
    /// of that pair is answered 429 until the minute passes (0 = no throttle).
    #[arg(long, env = "GUESTPASS_AUTH_FAILURE_LIMIT", default_value_t = defaults::AUTH_FAILURE_LIMIT)]
    pub auth_failure_limit: u32,
    /// Comma-separated IPs and CIDRs of reverse proxies whose X-Forwarded-For names the client
    /// address (the rightmost entry that is not itself a trusted proxy). Default: none, the peer
    /// address counts.
    #[arg(
        long,
        env = "GUESTPASS_TRUSTED_PROXIES",
        value_name = "LIST",
        default_value = ""
    )]
    pub trusted_proxies: TrustedProxies,
    /// How long an Idempotency-Key (and the answer stored with it) is kept, in hours.
    #[arg(long, env = "GUESTPASS_IDEMPOTENCY_TTL_HOURS", default_value_t = defaults::IDEMPOTENCY_TTL_HOURS,
          value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub idempotency_ttl_hours: u64,
    /// SQLite durability: full survives power loss, normal only a process crash.
    #[arg(
        long,
        env = "GUESTPASS_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value_t = defaults::SQLITE_SYNCHRONOUS
    )]
    pub sqlite_synchronous: SqliteSync,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish.
    #[arg(long, env = "GUESTPASS_SHUTDOWN_TIMEOUT_SECS", default_value_t = defaults::SHUTDOWN_TIMEOUT_SECS)]
    pub shutdown_timeout_secs: u64,
    /// Requests per second allowed per authenticated principal (location, else chain, else client); 0 turns limiting off.
    #[arg(long, env = "GUESTPASS_RATE_LIMIT", default_value_t = defaults::RATE_LIMIT)]
    pub rate_limit: u32,
    /// How many requests a principal may send at once above the steady rate (0: same as the rate).
    #[arg(long, env = "GUESTPASS_RATE_BURST", default_value_t = defaults::RATE_BURST)]
    pub rate_burst: u32,
    /// Provision a demo chain, location and client with fixed, documented secrets and print a curl to try.
    /// The demo principals authenticate only while the server runs with --demo.
    #[arg(long, env = "GUESTPASS_DEMO")]
    pub demo: bool,
    /// Serve the front desk web app at /desk/ (on with --demo too).
    #[arg(long, env = "GUESTPASS_DESK")]
    pub desk: bool,
    /// Serve HTTPS: the certificate chain, PEM (leaf first). Needs --tls-key.
    #[arg(
        long,
        env = "GUESTPASS_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<std::path::PathBuf>,
    /// Serve HTTPS: the certificate's private key, PEM. Needs --tls-cert.
    #[arg(
        long,
        env = "GUESTPASS_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<std::path::PathBuf>,
}

impl ServeArgs {
    pub fn config(&self) -> Config {
        let url = self.database.database_url.clone();
        let mut config = Config::new(url.clone());
        config.bind = self.bind.clone();
        config.base_path = normalize_base_path(&self.base_path);
        config.auth_levels = self.auth_levels;
        config.max_period_days = self.max_period_days;
        config.store.pool_size = self.pool_size.unwrap_or_else(|| default_pool_size(&url));
        config.store.pool_timeout = Duration::from_millis(self.pool_timeout_ms);
        config.store.sqlite_synchronous = self.sqlite_synchronous;
        config.store.pg_batch_writers = self.pg_batch_writers as usize;
        config.principal_connections = self.principal_connections;
        if let Some(workers) = self.workers {
            config.workers = workers as usize;
        }
        config.credential_cache = Duration::from_secs(self.credential_cache_secs);
        config.negative_cache = Duration::from_secs(defaults::NEGATIVE_CACHE_SECS);
        config.auth_failure_limit = self.auth_failure_limit;
        config.trusted_proxies = self.trusted_proxies.clone();
        config.idempotency_ttl = Duration::from_secs(self.idempotency_ttl_hours * 3600);
        config.shutdown_timeout = Duration::from_secs(self.shutdown_timeout_secs);
        config.rate_limit = self.rate_limit;
        config.rate_burst = self.rate_burst;
        // A demo is for people to try, and the desk is where they try it.
        config.desk = self.desk || self.demo;
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config.tls = Some(crate::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        config.demo = self.demo;
        config
    }
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add a chain; prints its secret.
    AddChain {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// Use this secret instead of a generated one (visible ASCII, at least 128 bits of
        /// entropy: e.g. 32 random hex characters; no runs, sequences or repeats).
        #[arg(long, env = "GUESTPASS_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// Add a location to a chain; prints its secret.
    AddLocation {
        #[arg(long)]
        chain: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, env = "GUESTPASS_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// Add a client (partner-level credential); prints its secret.
    AddClient {
        #[arg(long)]
        id: String,
        #[arg(long, env = "GUESTPASS_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// Insert COUNT synthetic, active passes at a location, for benchmarks and
    /// demos: ids `00000000-0000-4000-8000-<n, 12 digits>`, emails
    /// `seed-<n>@example.invalid`, check-in codes derived from n (see `admin::seed_code`).
    Seed {
        #[arg(long)]
        location: String,
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        count: u64,
    },
    /// Replace the secret of a chain, location or client; prints the new one.
    #[command(group(clap::ArgGroup::new("target").required(true).args(["chain", "location", "client"])))]
    RotateSecret {
        #[arg(long)]
        chain: Option<String>,
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        client: Option<String>,
        #[arg(long, env = "GUESTPASS_SECRET", hide_env_values = true)]
        secret: Option<String>,
    },
    /// List chains, locations and clients: id, name, chain, created, disabled/demo (never secrets).
    List {
        #[arg(long, value_enum, default_value_t = crate::admin::ListFormat::Table)]
        format: crate::admin::ListFormat,
    },
    /// Disable a chain, location or client: it then authenticates as unknown (401), and so do
    /// a disabled chain's locations. Nothing is deleted; `enable` undoes it.
    Disable(PrincipalTarget),
    /// Enable a disabled chain, location or client again.
    Enable(PrincipalTarget),
    /// Delete a chain (with its locations), location or client for good. One that still has
    /// guest passes is refused unless --with-passes is given.
    Remove {
        #[command(flatten)]
        target: PrincipalTarget,
        /// Also delete its guest passes and their check-ins (in the same transaction).
        #[arg(long)]
        with_passes: bool,
    },
}

/// Exactly one of `--chain ID`, `--location ID`, `--client ID`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PrincipalTarget {
    #[arg(long)]
    pub chain: Option<String>,
    #[arg(long)]
    pub location: Option<String>,
    #[arg(long)]
    pub client: Option<String>,
}

impl PrincipalTarget {
    pub fn kind_and_id(self) -> Option<(crate::domain::PrincipalKind, String)> {
        use crate::domain::PrincipalKind;
        match (self.chain, self.location, self.client) {
            (Some(id), _, _) => Some((PrincipalKind::Chain, id)),
            (_, Some(id), _) => Some((PrincipalKind::Location, id)),
            (_, _, Some(id)) => Some((PrincipalKind::Client, id)),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Delete passes whose validUntil is more than this many days in the past.
    #[arg(long, value_parser = clap::value_parser!(u32))]
    pub expired_before: u32,
    /// Only count what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// Passes deleted per transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub batch_size: i64,
    /// Also delete Idempotency-Keys stored more than this many hours ago
    /// (what the server's own expiry does, for servers that are not running).
    #[arg(long, default_value_t = defaults::IDEMPOTENCY_TTL_HOURS,
          value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub idempotency_ttl_hours: u64,
}
