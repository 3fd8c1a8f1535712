//! `guestpass conformance`: black-box checks of any Guest Pass API
//! implementation against the blueprint and ../shared/CONTRACT.md.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct ConformanceArgs {
    /// The API's base URL, e.g. http://127.0.0.1:8080/members/v1.0
    #[arg(long)]
    pub base_url: String,
}

/// Runs the checks; `Ok(true)` when none failed.
pub async fn run(args: ConformanceArgs) -> Result<bool, String> {
    let _ = args;
    Err("not implemented yet".into())
}
