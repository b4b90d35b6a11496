//! The `server` binary with the system allocator, for heaptrack (which sees malloc, not the
//! binary's jemalloc): the same flags and behaviour as `src/main.rs`, whose `cli` module it reuses.
//! scripts/profile-memory.sh runs it.

#[path = "../src/cli/mod.rs"]
mod cli;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    cli::init_logging();
    match run(cli::Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: cli::Args) -> anyhow::Result<()> {
    let config = args.config()?;
    let server = sse_server::start(config)
        .await
        .context("cannot start the server")?;
    cli::announce(&server, args.write_cert.as_deref())?;
    cli::shutdown_signal().await?;
    server.shutdown().await;
    Ok(())
}
