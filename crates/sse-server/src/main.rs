//! `server`: runs ssebench's test server until Ctrl-C (or SIGTERM). Prints one
//! `listening <protocol> <url>` line per listener on stdout once every listener is bound.
//! Flags: `server --help`.

mod cli;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

/// jemalloc rather than glibc's malloc: with its background threads on (the crate's
/// `background_threads` feature) it gives the memory an attack made the server allocate back to
/// the kernel some seconds after it is freed, even while the server is idle
/// (crates/sse-server/FINDINGS.md, "RSS after an attack").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
