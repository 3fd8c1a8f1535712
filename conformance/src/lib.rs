//! guestpass-conformance: black-box checks of any Guest Pass API
//! implementation against EGYM's Guest Pass API Blueprint and the contract
//! in `spec/README.md`, over HTTP or HTTPS.
//!
//! `client` sends the requests (a deadline on each, pacing, 429s waited
//! out), `tls` builds the trust store and checks the certificate before the
//! run, `kit` holds what the checks share (credentials, fixtures, results),
//! `checks` has one module per contract section, `report` renders the
//! results as text, JSON, JUnit XML or a Markdown certification record.

mod checks;
mod client;
pub mod date;
pub mod demo;
mod expect;
mod kit;
pub mod levels;
mod pace;
mod report;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, ValueEnum};

pub use levels::Levels;
pub use report::{Outcome, Report, RunInfo, Section};

/// The kit's version, as a certification record names it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone, Args)]
pub struct ConformanceArgs {
    /// The API's base URL, e.g. https://gp.example.org/members/v1.0 (http:// or https://).
    #[arg(long, env = "GUESTPASS_CONFORMANCE_BASE_URL")]
    pub base_url: String,
    /// Where /health, /livez, /readyz, /openapi.yaml and /metrics live (default: scheme and host of --base-url).
    #[arg(long)]
    pub root_url: Option<String>,
    /// The access levels the server requires: any of client, chain, location, comma-separated.
    #[arg(long, default_value = "chain")]
    pub levels: Levels,
    /// Fill in every ID and secret not given otherwise with the documented
    /// demo principals of `guestpass serve --demo`.
    #[arg(long)]
    pub demo: bool,
    /// A PEM file of CA certificates trusted besides Mozilla's roots (for a private CA).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
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
    pub output: Option<PathBuf>,
    /// Deadline of every request; a server that does not answer in time fails the check.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// The server's configured maximum pass period, in days (the contract's default is 30).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub max_period_days: u32,
    /// How many identical creates the concurrency check sends at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=100))]
    pub concurrency: u32,
    /// At most this many requests per second (0: no pacing). The default
    /// stays well under the contract's default limit of 100/s per principal.
    #[arg(long, default_value_t = 50)]
    pub max_rps: u32,
    /// At most this many failed authentications (401) per presented ID per
    /// minute, for the IDs given to the kit; it waits rather than exceed it.
    /// Checks that need more use random IDs that belong to no one.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub auth_failure_budget: u32,
    /// The server's failed-authentication limit per minute (contract default
    /// 30): the throttling check sends one more than this with a random ID.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub failed_auth_limit: u32,
    /// Whether the server offers Idempotency-Key (§8): `auto` reads its
    /// /openapi.yaml, `on` requires it, `off` skips those checks.
    #[arg(long, value_enum, default_value = "auto")]
    pub idempotency: Idempotency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Idempotency {
    Auto,
    On,
    Off,
}

/// The command line of the standalone binary.
#[derive(Parser)]
#[command(
    name = "guestpass-conformance",
    version,
    about = "Checks any Guest Pass API implementation against the blueprint, over HTTP or HTTPS.",
    after_help = "Exit status: 0 every check passed, 1 a check failed, 2 a usage or connection error."
)]
pub struct Cli {
    #[command(flatten)]
    pub args: ConformanceArgs,
}

/// Only there so `ConformanceArgs::parse_from` can reuse clap's parsing.
#[derive(Parser)]
#[command(name = "guestpass-conformance", no_binary_name = true)]
struct Standalone {
    #[command(flatten)]
    args: ConformanceArgs,
}

impl ConformanceArgs {
    /// Parses the options (without a program name), for callers that are not the CLI.
    pub fn parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Standalone::try_parse_from(args).map(|s| s.args)
    }

    /// Every ID and secret not given, filled in from the documented demo.
    fn with_demo(mut self) -> Self {
        if !self.demo {
            return self;
        }
        let fill = |slot: &mut Option<String>, value: &str| {
            if slot.is_none() {
                *slot = Some(value.to_owned());
            }
        };
        fill(&mut self.client_id, demo::CLIENT_ID);
        fill(&mut self.client_secret, demo::CLIENT_SECRET);
        fill(&mut self.chain_id, demo::CHAIN_ID);
        fill(&mut self.chain_secret, demo::CHAIN_SECRET);
        fill(&mut self.location_id, demo::LOCATION_ID);
        fill(&mut self.location_secret, demo::LOCATION_SECRET);
        fill(&mut self.second_location_id, demo::SECOND_LOCATION_ID);
        fill(
            &mut self.second_location_secret,
            demo::SECOND_LOCATION_SECRET,
        );
        fill(&mut self.other_chain_id, demo::OTHER_CHAIN_ID);
        fill(&mut self.other_chain_secret, demo::OTHER_CHAIN_SECRET);
        fill(
            &mut self.other_chain_location_id,
            demo::OTHER_CHAIN_LOCATION_ID,
        );
        fill(
            &mut self.other_chain_location_secret,
            demo::OTHER_CHAIN_LOCATION_SECRET,
        );
        self
    }
}

/// Why a run could not take place at all: exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The options do not make sense (a bad URL, an unreadable --ca-cert).
    Usage(String),
    /// The server cannot be reached, or its certificate does not verify.
    Connection(String),
    /// The report could not be written.
    Output(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) | Error::Connection(m) | Error::Output(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// Runs the checks and writes the report; `Ok(true)` when none failed.
pub async fn run(args: ConformanceArgs) -> Result<bool, Error> {
    let format = args.format;
    let output = args.output.clone();
    let report = execute(args).await?;
    let rendered = match format {
        Format::Text => report.text(),
        Format::Json => report.json(),
        Format::Junit => report.junit(),
        Format::Markdown => report.markdown(),
    };
    match output {
        Some(path) => std::fs::write(&path, rendered)
            .map_err(|e| Error::Output(format!("cannot write {}: {e}", path.display())))?,
        None => print!("{rendered}"),
    }
    Ok(report.failed() == 0)
}

/// Runs the checks and returns their results, without printing anything.
pub async fn execute(args: ConformanceArgs) -> Result<Report, Error> {
    let started = Instant::now();
    let args = args.with_demo();
    let kit = kit::Kit::new(&args, Duration::from_millis(args.timeout_ms))?;
    kit.http.preflight().await?;
    checks::run_all(&kit).await;
    let info = kit.run_info();
    let secrets = kit.secrets();
    Ok(Report::new(kit.into_results(), started.elapsed())
        .with_info(info)
        .with_secrets(secrets))
}

/// What a command line does with a run: the report, errors on stderr as one
/// line, and the exit status (0 passed, 1 a check failed, 2 usage or connection).
pub async fn run_cli(args: ConformanceArgs, program: &str) -> ExitCode {
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::from(2)
        }
    }
}
