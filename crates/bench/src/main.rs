//! `bench`: a thin binary over `loadgen`, `sse-server` and `report`.
//!
//! Exit codes: 0 success; 1 a run that failed or stopped early (results so far are written), or a
//! regression found by `compare`; 2 unusable input (a bad scenario file, bad flags, unreadable
//! reports); 130 interrupted by Ctrl-C (results so far are written).

mod cli;
mod cmd_browser;
mod cmd_compare;
mod cmd_plot;
mod embedded;
mod limits;
mod meta;
mod progress;
mod rows;
mod run_cmd;
mod runner;
mod scenario;
mod summary;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Some(cli::Command::Compare(args)) => cmd_compare::run(args),
        Some(cli::Command::Plot(args)) => cmd_plot::run(args),
        Some(cli::Command::Browser(args)) => cmd_browser::run(args),
        Some(cli::Command::Run(args)) => run_cmd::run(args),
        None => run_cmd::run(cli.run),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}
