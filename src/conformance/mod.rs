//! `guestpass conformance`: black-box checks of any Guest Pass API
//! implementation against the blueprint and CONTRACT.md, over plain HTTP.
//!
//! `client` sends the requests (a deadline on each), `kit` holds what the
//! checks share (credentials, fixtures, results), `checks` has one module per
//! contract section, `report` renders the results as text, JSON or JUnit XML.

mod checks;
mod client;
mod expect;
mod kit;
mod report;

use std::time::{Duration, Instant};

use clap::{Args, Parser, ValueEnum};

use crate::auth::AuthLevels;

pub use report::{Outcome, Report, Section};

#[derive(Debug, Clone, Args)]
pub struct ConformanceArgs {
    /// The API's base URL, e.g. http://127.0.0.1:8080/members/v1.0 (plain http).
    #[arg(long, env = "GUESTPASS_CONFORMANCE_BASE_URL")]
    pub base_url: String,
    /// Where /health, /openapi.yaml and /metrics live (default: scheme and host of --base-url).
    #[arg(long)]
    pub root_url: Option<String>,
    /// The access levels the server requires: any of client, chain, location, comma-separated.
    #[arg(long, default_value = "chain")]
    pub levels: AuthLevels,
    /// Client level: the client's secret.
    #[arg(
        long,
        env = "GUESTPASS_CONFORMANCE_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// Client level: the client's ID (optional; sent with the secret when given).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Chain level: the chain the kit works in.
    #[arg(long)]
    pub chain_id: Option<String>,
    #[arg(
        long,
        env = "GUESTPASS_CONFORMANCE_CHAIN_SECRET",
        hide_env_values = true
    )]
    pub chain_secret: Option<String>,
    /// The location the kit creates its passes at (a location of --chain-id);
    /// needed at every level, its secret only at location level.
    #[arg(long)]
    pub location_id: Option<String>,
    #[arg(
        long,
        env = "GUESTPASS_CONFORMANCE_LOCATION_SECRET",
        hide_env_values = true
    )]
    pub location_secret: Option<String>,
    /// Another location of the same chain: wrongLocation check-ins and location scope.
    #[arg(long)]
    pub second_location_id: Option<String>,
    #[arg(
        long,
        env = "GUESTPASS_CONFORMANCE_SECOND_LOCATION_SECRET",
        hide_env_values = true
    )]
    pub second_location_secret: Option<String>,
    /// Another chain, with one of its locations: chain scope isolation.
    #[arg(long)]
    pub other_chain_id: Option<String>,
    #[arg(
        long,
        env = "GUESTPASS_CONFORMANCE_OTHER_CHAIN_SECRET",
        hide_env_values = true
    )]
    pub other_chain_secret: Option<String>,
    #[arg(long)]
    pub other_chain_location_id: Option<String>,
    #[arg(
        long,
        env = "GUESTPASS_CONFORMANCE_OTHER_CHAIN_LOCATION_SECRET",
        hide_env_values = true
    )]
    pub other_chain_location_secret: Option<String>,
    /// Run only the checks whose id contains this text (several: comma-separated).
    #[arg(long)]
    pub only: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
    /// Deadline of every request; a server that does not answer in time fails the check.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// The server's configured maximum pass period, in days (the contract's default is 30).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub max_period_days: u32,
    /// How many identical creates the concurrency check sends at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=100))]
    pub concurrency: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
}

/// Only there so `ConformanceArgs::parse_from` can reuse clap's parsing.
#[derive(Parser)]
#[command(name = "guestpass-conformance", no_binary_name = true)]
struct Standalone {
    #[command(flatten)]
    args: ConformanceArgs,
}

impl ConformanceArgs {
    /// Parses the options as `guestpass conformance` would (without the
    /// program and subcommand names), for callers that are not the CLI.
    pub fn parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Standalone::try_parse_from(args).map(|s| s.args)
    }
}

/// Runs the checks and writes the report; `Ok(true)` when none failed.
pub async fn run(args: ConformanceArgs) -> Result<bool, String> {
    let format = args.format;
    let output = args.output.clone();
    let report = execute(args).await?;
    let rendered = match format {
        Format::Text => report.text(),
        Format::Json => report.json(),
        Format::Junit => report.junit(),
    };
    match output {
        Some(path) => std::fs::write(&path, rendered)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => print!("{rendered}"),
    }
    Ok(report.failed() == 0)
}

/// Runs the checks and returns their results, without printing anything.
pub async fn execute(args: ConformanceArgs) -> Result<Report, String> {
    let started = Instant::now();
    let kit = kit::Kit::new(&args, Duration::from_millis(args.timeout_ms))?;
    checks::run_all(&kit).await;
    Ok(Report::new(kit.into_results(), started.elapsed()))
}
