//! `bench`: ssebench's command line, as a library the thin `bench` binary calls.
//!
//! - [`cli`]: the flags (clap); [`commands`]: one function per command, each returning an
//!   [`ExitStatus`](exit::ExitStatus) ([`exit`]: one meaning per exit code);
//! - [`scenario`]: scenario files in two stages (raw TOML, then a validated
//!   [`Scenario`](scenario::Scenario)), `--set` overrides, and the target resolved from the file
//!   and the flags;
//! - [`run`]: the run loop, one for every client kind ([`run::Client`]: the emulation, a real
//!   browser): per point a [`run::Measurement`], its report rows, the progress line; at the end
//!   the summary table.
//!
//! Data flows one way: scenario file -> `Scenario` -> run loop -> `Measurement` per point ->
//! report rows (CSV) -> summary and plot.

pub mod cli;
pub mod commands;
pub mod exit;
pub mod run;
pub mod scenario;
