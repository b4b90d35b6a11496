//! `server`: runs ssebench's test server until Ctrl-C (or SIGTERM). Prints one
//! `listening <protocol> <url>` line per listener on stdout once every listener is bound.
//! Flags: `server --help`.

mod cli;

use std::process::ExitCode;

/// jemalloc rather than glibc's malloc: with its background threads on (the crate's
/// `background_threads` feature) it gives the memory an attack made the server allocate back to
/// the kernel some seconds after it is freed, even while the server is idle
/// (crates/sse-server/FINDINGS.md, "RSS after an attack"). The `jemalloc` feature, on by default.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    cli::main().await
}
