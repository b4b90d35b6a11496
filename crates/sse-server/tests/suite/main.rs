//! sse-server's integration tests, in one test binary: one module per concern.
//!
//! One binary instead of one per file: each test binary linked every dependency again and
//! compiled the shared helpers again; merging the four crates' 46 files into these four binaries
//! took a cold `cargo test --no-run` from 137 to 105 s of wall and 257 to 197 s of CPU here (two
//! A/B pairs, 2 cores). `scripts/run-tests.py` still runs each module as a process of its own (the binary
//! with the module's tests named exactly), classed as the binary it replaced was; a plain
//! `cargo test -p sse-server --test suite MODULE::` runs one module.
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
