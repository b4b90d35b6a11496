//! loadgen's integration tests, in one test binary: one module per concern.
//!
//! One binary instead of one per file, so dependencies are linked and shared helpers compiled
//! once (the test-binary rule of ARCHITECTURE.md); `scripts/run-tests.py` still runs each
//! module as a process of its own. `cargo test -p loadgen --test suite MODULE::` runs one module.
//!
//! Two stay binaries of their own beside this one, since they must run alone on the machine
//! (`scripts/run-tests.py`, HEAVY): `http2_client` (a server-side count of streams open at once)
//! and `target_down` (it dials a port it freed, which another test's server may bind meanwhile).

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod answer_buffering;
mod answer_framings;
mod answers;
mod browser_pool;
mod hostile_streams;
mod http2_refusals;
mod http2_slots;
mod http3_client;
mod loss_proof;
mod post_timing;
mod probe;
mod queue_order;
mod replays;
mod server_delay;
mod slot_reuse;
mod tls_trust;
mod websocket;
