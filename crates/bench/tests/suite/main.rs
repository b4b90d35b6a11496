//! bench's integration tests, in one test binary: one module per concern.
//!
//! One binary instead of one per file, so dependencies are linked and shared helpers compiled
//! once (the test-binary rule of ARCHITECTURE.md); `scripts/run-tests.py` still runs each
//! module as a process of its own. `cargo test -p bench --test suite MODULE::` runs one module.
//!
//! Two stay binaries of their own beside this one, since they must run alone on the machine
//! (`scripts/run-tests.py`, HEAVY): `cli` (real runs of the `bench` binary, busy on a core) and
//! `failures` (it dials a port it freed, which another test's server may bind meanwhile).

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod answer_targets;
mod answers;
mod gate;
mod websocket;
