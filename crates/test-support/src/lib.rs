//! Test helpers shared by the workspace's tests (not published).
//!
//! - [`server`]: start the test server in-process on port 0, on the test's runtime or on its own
//!   ([`ServerThread`]); [`target`]: a server's addresses and certificate ([`Endpoints`]),
//!   in this process or another ([`Target`]);
//! - [`client`]: one real client per [`Protocol`] (TCP, TLS with ALPN, hyper's HTTP/1.1 or HTTP/2
//!   connection), plus the deliberately wrong clients that listeners must refuse;
//! - [`sse`]: read an event stream through `sse_wire::Parser`;
//! - [`ws`]: a WebSocket client for the `ws` and `wss` listeners;
//! - [`stall`]: requests that never finish (stalled POST bodies, zero-window HTTP/2 readers);
//! - [`abuse`]: misbehaving clients (raw bytes, slow readers, byte-at-a-time senders, rapid
//!   reset) and the process's resident memory; [`probe`]: the latency a well-behaved client sees;
//! - [`protocol_tests!`]: write a test once as `async fn name(p: Protocol)` and get one
//!   `#[tokio::test]` per protocol; [`http2_tests!`] does the same for `h2` and `h2c` only,
//!   [`websocket_tests!`] for `ws` and `wss`.
//!
//! Every wait is bounded: helpers panic with a message rather than hang.

pub mod abuse;
pub mod client;
pub mod probe;
pub mod server;
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

/// Generates, for each `async fn name(p: Protocol)` listed, a module `name` holding one
/// `#[tokio::test]` per protocol: `name::h1`, `name::h1_tls`, `name::h2`, `name::h2c`, `name::ws`,
/// `name::wss` (the WebSocket listeners serve every HTTP/1.1 route too).
#[macro_export]
macro_rules! protocol_tests {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn h1() {
                super::$test($crate::Protocol::H1).await
            }
            #[tokio::test]
            async fn h1_tls() {
                super::$test($crate::Protocol::H1Tls).await
            }
            #[tokio::test]
            async fn h2() {
                super::$test($crate::Protocol::H2).await
            }
            #[tokio::test]
            async fn h2c() {
                super::$test($crate::Protocol::H2c).await
            }
            #[tokio::test]
            async fn ws() {
                super::$test($crate::Protocol::Ws).await
            }
            #[tokio::test]
            async fn wss() {
                super::$test($crate::Protocol::Wss).await
            }
        }
    )+};
}

/// Like [`protocol_tests!`], for the WebSocket listeners only: `name::ws` and `name::wss`.
#[macro_export]
macro_rules! websocket_tests {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn ws() {
                super::$test($crate::Protocol::Ws).await
            }
            #[tokio::test]
            async fn wss() {
                super::$test($crate::Protocol::Wss).await
            }
        }
    )+};
}

/// Like [`protocol_tests!`], for the HTTP/2 listeners only: `name::h2` and `name::h2c`.
#[macro_export]
macro_rules! http2_tests {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn h2() {
                super::$test($crate::Protocol::H2).await
            }
            #[tokio::test]
            async fn h2c() {
                super::$test($crate::Protocol::H2c).await
            }
        }
    )+};
}
