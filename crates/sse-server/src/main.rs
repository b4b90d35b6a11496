//! `server`: runs ssebench's test server until Ctrl-C (or SIGTERM). Prints one
//! `listening <protocol> <url>` line per listener on stdout once every listener is bound.
//! Flags: `server --help`.

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
