//! Test helpers shared by the workspace's tests (not published).
//!
//! - [`server`]: start the test server in-process on port 0, on the test's runtime or on its own
//!   ([`ServerThread`]); [`target`]: a server's addresses and certificate ([`Endpoints`]),
//!   in this process or another ([`Target`]);
//! - [`client`]: one real client per [`Protocol`] (TCP, TLS with ALPN, hyper's HTTP/1.1 or HTTP/2
//!   connection; QUIC with h3), plus the deliberately wrong clients that listeners must refuse;
//! - [`sse`]: read an event stream through `sse_wire::Parser`;
//! - [`ws`]: a WebSocket client for the `ws` and `wss` listeners;
//! - [`emulation`]: the emulated clients (`loadgen`) against the embedded server of one arm;
//!   [`scripted`]: a server that answers as a test's script says (hostile streams, held slots,
//!   SETTINGS, GOAWAY and refusals on cue), for the emulation's tests;
//! - [`proxy`]: a TCP proxy that buffers the server's bytes, as a reverse proxy with response
//!   buffering does (what makes a streamed answer arrive in bursts);
//! - [`stall`]: requests that never finish (stalled POST bodies, zero-window HTTP/2 readers);
//! - [`relay`]: a UDP relay a test can cut, for a QUIC peer that goes silent;
//! - [`silent`]: connections that open and send nothing (speculative, or holding a slot), on TCP
//!   and QUIC;
//! - [`abuse`]: misbehaving clients (raw bytes, slow readers, byte-at-a-time senders, rapid
//!   reset) and the process's resident memory; [`attacker`]: clients from other loopback
//!   addresses, silent WebSockets, stalled HTTP/2 streams beside a moving one, replay requests;
//!   [`probe`]: the latency a well-behaved client sees;
//! - [`arms`]: write a test once as `async fn name(arm: Protocol)` under
//!   `#[test_support::arms(SELECTION)]` and get `name::h1`, `name::h2c`, ... one `#[tokio::test]`
//!   per arm the selection takes (`all`, `sse`, `http1`, `http2`, `multiplexed`, `websocket`,
//!   `tls`, `tcp`, or one arm's name), the arms read from `Protocol::ALL`; and
//!   [`browsers`]: `fn name(browser: BrowserProfile, arm: Protocol)` under
//!   `#[test_support::browsers(SELECTION)]` gives `name::chromium::h3`, ... one test per browser
//!   of `BrowserProfile::ALL` and arm of the selection it speaks (`BrowserProfile::speaks`).
//!
//! Every wait is bounded: helpers panic with a message rather than hang.

pub mod abuse;
pub mod attacker;
pub mod client;
pub mod emulation;
pub mod probe;
pub mod proxy;
pub mod relay;
pub mod scripted;
pub mod server;
pub mod silent;
pub mod sse;
pub mod stall;
pub mod target;
pub mod ws;

use std::future::Future;
use std::time::Duration;

pub use client::{connect, ClientSpec, ConnectError, TestClient};
pub use probe::{DeliveryProbe, Latencies};
pub use server::{spawn_default_server, spawn_server, test_config, ServerThread};
pub use sse::{SseEvent, SseItem, SseReader};
pub use sse_server::Protocol;
pub use target::{Endpoints, Target};
/// One test per protocol arm, and per browser and arm: see the [`test_macros`] crate.
pub use test_macros::{arms, browsers};
pub use vocab::BrowserProfile;

/// The bound on any single wait inside these helpers.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `f`, panicking with `what` if it takes longer than `limit`.
pub async fn within<F: Future>(limit: Duration, what: &str, f: F) -> F::Output {
    match tokio::time::timeout(limit, f).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// Polls `condition` every 10 ms until it holds, panicking with `what` after [`WAIT`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    within(WAIT, what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
