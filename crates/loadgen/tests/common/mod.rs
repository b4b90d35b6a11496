//! Helpers shared by loadgen's integration tests: a point's default settings, the embedded server
//! on port 0 for one arm, and `for_all_arms!` (`for_http2_arms!`, `for_websocket_arms!`) to write
//! a test once and run it on every HTTP arm (every HTTP/2 arm, the WebSocket arms).

#![allow(dead_code)]

pub mod raw;

use std::sync::Arc;
use std::time::Duration;

use loadgen::{run_point, Metrics, PointConfig, PointOutcome, Protocol, Target, Trust};
use sse_server::{RunningServer, ServerConfig};
use tokio_util::sync::CancellationToken;

/// Generates, for `$name`, a module with one `#[tokio::test]` per arm calling `$body(arm)`.
#[macro_export]
macro_rules! for_all_arms {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn h1() {
                $body(loadgen::Protocol::H1).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn h1_tls() {
                $body(loadgen::Protocol::H1Tls).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn h2() {
                $body(loadgen::Protocol::H2).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn h2c() {
                $body(loadgen::Protocol::H2c).await
            }
        }
    };
}

/// Like [`for_all_arms!`], for the WebSocket arms: `$name::ws` and `$name::wss`.
#[macro_export]
macro_rules! for_websocket_arms {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ws() {
                $body(loadgen::Protocol::Ws).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn wss() {
                $body(loadgen::Protocol::Wss).await
            }
        }
    };
}

/// Generates, for `$name`, a module with one `#[tokio::test]` per HTTP/2 arm calling `$body(arm)`.
#[macro_export]
macro_rules! for_http2_arms {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn h2() {
                $body(loadgen::Protocol::H2).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn h2c() {
                $body(loadgen::Protocol::H2c).await
            }
        }
    };
}

/// A point of one client with one stream, no POSTs, short and with a short reconnection delay.
pub fn point(target: Target) -> PointConfig {
    PointConfig {
        events_path: "/events?channel=t".into(),
        messages_path: "/messages?channel=t".into(),
        websocket_path: "/ws?channel=t".into(),
        post_body_bytes: 64,
        warmup: Duration::from_millis(200),
        duration: Duration::from_millis(1500),
        reconnect_delay: Duration::from_millis(100),
        ..PointConfig::new(target)
    }
}

/// The embedded server listening for `arm` only, with `tweak` applied to its configuration.
pub async fn embedded(
    arm: Protocol,
    tweak: impl FnOnce(&mut ServerConfig),
) -> (RunningServer, Target) {
    let protocol = arm;
    let mut config = ServerConfig {
        listeners: vec![(protocol, "127.0.0.1:0".parse().expect("address"))],
        ..ServerConfig::default()
    };
    config.events.interval = Duration::from_millis(50);
    tweak(&mut config);
    let server = sse_server::start(config).await.expect("server starts");
    let url = server.url(protocol).expect("the arm's listener");
    let target =
        Target::new(arm, &url, &Trust::Certificates(vec![server.cert_der()])).expect("target");
    (server, target)
}

/// Runs a point, which must stop by itself within `warmup + duration + 10 s`.
pub async fn run(config: &PointConfig) -> PointOutcome {
    let limit = config.warmup + config.duration + Duration::from_secs(10);
    tokio::time::timeout(
        limit,
        run_point(config, Arc::new(Metrics::new()), &CancellationToken::new()),
    )
    .await
    .expect("a point stops by itself")
}

/// The non-zero error counters, for assertion messages.
pub fn errors(out: &PointOutcome) -> Vec<(&'static str, u64)> {
    loadgen::ErrorClass::ALL
        .iter()
        .map(|&c| (c.name(), out.metrics.errors(c)))
        .filter(|(_, n)| *n > 0)
        .collect()
}
