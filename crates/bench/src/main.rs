//! `bench`: a thin binary over the `bench` library. Exit codes: 0 success; 1 a run that failed or
//! stopped early (what was measured is written), a regression found by `compare`, or a report
//! that cannot be written; 2 unusable input; 130 interrupted by Ctrl-C.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bench::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    bench::commands::dispatch(cli).into()
}
