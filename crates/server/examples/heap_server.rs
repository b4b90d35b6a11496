//! The `server` binary with the system allocator, for heaptrack (which sees malloc, not the
//! binary's jemalloc): the same flags and behaviour as `src/main.rs`, whose `cli` module it reuses.
//! scripts/profile-memory.sh runs it.

#[path = "../src/cli/mod.rs"]
mod cli;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    cli::main().await
}
