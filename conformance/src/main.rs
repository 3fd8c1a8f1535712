//! `guestpass-conformance`: the kit's command line.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Usage errors exit with 2 (clap's own convention), like connection errors.
    let cli = guestpass_conformance::Cli::parse();
    // awc's client lives on one thread: the kit runs on a single-threaded actix runtime.
    actix_rt::System::new().block_on(guestpass_conformance::run_cli(
        cli.args,
        "guestpass-conformance",
    ))
}
