//! report's integration tests, in one test binary: one module per concern.
//!
//! One binary instead of one per file, so dependencies are linked and shared helpers compiled
//! once (the test-binary rule of ARCHITECTURE.md); `scripts/run-tests.py` still runs each
//! module as a process of its own. `cargo test -p report --test suite MODULE::` runs one module.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod compare;
mod csv_contract;
mod every_word;
mod plot;
mod thresholds;
