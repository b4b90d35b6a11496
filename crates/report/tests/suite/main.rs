//! report's integration tests, in one test binary: one module per concern.
//!
//! One binary instead of one per file: each test binary links every dependency again and
//! compiles the shared helpers again, about 2 s of a core each in a cold build, for dozens of
//! binaries. `scripts/run-tests.py` still runs each module as a process of its own (the binary
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
