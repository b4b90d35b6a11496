//! bench's integration tests, in one test binary: one module per concern.
//!
//! One binary instead of one per file: each test binary links every dependency again and
//! compiles the shared helpers again, about 2 s of a core each in a cold build, for dozens of
//! binaries. `scripts/run-tests.py` still runs each module as a process of its own (the binary
//! with the module's tests named exactly), classed as the binary it replaced was; a plain
//! `cargo test -p bench --test suite MODULE::` runs one module.
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
