//! report's integration tests, in one test binary: one module per concern.
//!
//! One binary instead of one per file: each test binary linked every dependency again and
//! compiled the shared helpers again; merging the four crates' 46 files into these four binaries
//! took a cold `cargo test --no-run` from 137 to 105 s of wall and 257 to 197 s of CPU here (two
//! A/B pairs, 2 cores). `scripts/run-tests.py` still runs each module as a process of its own (the binary
//! with the module's tests named exactly), classed as the binary it replaced was; a plain
//! `cargo test -p report --test suite MODULE::` runs one module.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod compare;
mod csv_contract;
mod every_word;
mod plot;
mod thresholds;
