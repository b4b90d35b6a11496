//! sse-server's integration tests, in one test binary: one module per concern.
//!
//! One binary instead of one per file, so dependencies are linked and shared helpers compiled
//! once (the test-binary rule of ARCHITECTURE.md); `scripts/run-tests.py` still runs each
//! module as a process of its own. `cargo test -p sse-server --test suite MODULE::` runs one module.
//!
//! Four stay binaries of their own beside this one, since each measures its own process's resident
//! memory and must run alone in it: `abuse_memory`, `abuse_replay_memory`, `abuse_big_ticks` and
//! `abuse_channel_flood`.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod abuse;
mod abuse_channels;
mod abuse_http2_streams;
mod abuse_replay;
mod abuse_websocket;
mod answers;
mod budget;
mod events;
mod faults;
mod gate_faults;
mod h3;
mod http2_timeouts;
mod listeners;
mod messages;
mod routes;
mod timeouts;
mod websocket;
