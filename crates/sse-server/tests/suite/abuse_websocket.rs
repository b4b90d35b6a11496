//! WebSockets against the connection limit (issue 26): upgrades that never send a frame, with the
//! server writing ticks to them, fill `max_connections`; so do sockets from one client address
//! that answer pings and nothing else. Newcomers on every listener are served all the same, and
//! the silent sockets are closed at the WebSocket idle timeout, counted.

// Test helpers are plain async fns, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use http::StatusCode;
use sse_server::Protocol;
use test_support::attacker::{ponging_websocket, silent_websocket, source};
use test_support::client::listener_addr;
use test_support::{connect, eventually, test_config, within, ClientSpec, DeliveryProbe};
use test_support::{Endpoints, ServerThread, TestClient};
use tokio::sync::Mutex;

use common::{check_latency, probe_latency, start, total, TEST};

/// One test at a time: each measures latency.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Ticks every 100 ms: the server keeps writing to the attacker's sockets.
const ATTACK_PATH: &str = "/ws?channel=attack&interval_ms=100";

/// Two new clients on every listener, kept open (each holds a slot), each served `GET /health`.
async fn newcomers(server: &ServerThread) -> Vec<TestClient> {
    let mut served = Vec::new();
    for p in Protocol::ALL {
        for _ in 0..2 {
            let mut client = connect(server, p).await;
            assert_eq!(client.get_text("/health").await.0, StatusCode::OK, "{p}");
            served.push(client);
        }
    }
    served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_websockets_do_not_lock_out_newcomers() {
    let _serial = SERIAL.lock().await;
    const SILENT: usize = 200;
    const IDLE: Duration = Duration::from_secs(3);
    let mut config = test_config();
    // The probe's two connections, then the silent sockets fill the server.
    config.max_connections = SILENT + 2;
    config.websocket_idle_timeout = IDLE;
    let server = start(config);
    within(TEST, "the silent-WebSocket scenario", async {
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        probe.sample().await;
        let mut silent = Vec::with_capacity(SILENT);
        let opened = Instant::now();
        for i in 0..SILENT {
            let p = [Protocol::Ws, Protocol::Wss][i % 2];
            silent.push(
                silent_websocket(&server, p, ATTACK_PATH, None)
                    .await
                    .unwrap(),
            );
        }
        eventually("the server is full", || {
            total(&server.stats(), |l| l.connections_open) == (SILENT + 2) as u64
        })
        .await;
        let (latencies, served) = tokio::join!(probe_latency(&mut probe), newcomers(&server));
        check_latency(&latencies, "silent WebSockets filling the server");
        let stats = server.stats();
        eprintln!(
            "{SILENT} silent WebSockets: {} newcomers served, {} sockets reclaimed, {} refused",
            served.len(),
            total(&stats, |l| l.connections_reclaimed),
            total(&stats, |l| l.connections_refused),
        );
        assert_eq!(total(&stats, |l| l.connections_refused), 0);
        assert_eq!(
            total(&stats, |l| l.connections_reclaimed),
            served.len() as u64,
            "one silent socket's slot for each newcomer"
        );
        // The others are closed at the idle timeout, and counted.
        for socket in &mut silent {
            let closed = socket.closed(IDLE * 3).await;
            assert!(
                closed.is_some(),
                "a silent socket outlived the idle timeout"
            );
        }
        assert!(
            opened.elapsed() >= IDLE,
            "closed at the timeout, not before"
        );
        let stats = server.stats();
        assert_eq!(
            total(&stats, |l| l.websocket_idle_timeouts)
                + total(&stats, |l| l.connections_reclaimed),
            SILENT as u64
        );
        assert!(
            probe.sample().await < common::PROBE_P99,
            "the probe still works"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_address_cannot_hold_every_slot() {
    let _serial = SERIAL.lock().await;
    const SOCKETS: usize = 100;
    const SHARE: usize = 20;
    let mut config = test_config();
    config.max_connections = SOCKETS + 2;
    config.connection_share_per_address = SHARE;
    let server = start(config);
    within(TEST, "the one-address scenario", async {
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        probe.sample().await;
        // Live sockets as far as the protocol can tell (they answer pings), all from 127.0.0.2.
        let mut sockets = Vec::with_capacity(SOCKETS);
        for _ in 0..SOCKETS {
            sockets.push(
                ponging_websocket(&server, ATTACK_PATH, Some(source(0)))
                    .await
                    .unwrap(),
            );
        }
        eventually("the server is full", || {
            total(&server.stats(), |l| l.connections_open) == (SOCKETS + 2) as u64
        })
        .await;
        // Long enough for every socket to have answered a ping.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (latencies, served) = tokio::join!(probe_latency(&mut probe), newcomers(&server));
        check_latency(&latencies, "one client address holding every slot");
        let stats = server.stats();
        assert_eq!(total(&stats, |l| l.connections_refused), 0);
        assert_eq!(
            total(&stats, |l| l.connections_reclaimed_over_share),
            served.len() as u64,
            "each newcomer took a slot from the address over its share"
        );
        eventually("the reclaimed sockets are closed", || {
            sockets.iter().filter(|s| s.is_closed()).count() == served.len()
        })
        .await;
        // The address over its share gets no more: it cannot take others' slots.
        let spec = ClientSpec::for_protocol(Protocol::H1);
        let addr = listener_addr(&server, Protocol::H1);
        let refused = async {
            let mut greedy = TestClient::connect_from(Some(source(0)), addr, &spec, &server.cert())
                .await
                .ok()?;
            greedy
                .request(http::Method::GET, "/health", &[], bytes::Bytes::new())
                .await
                .ok()
        };
        assert!(
            refused.await.is_none(),
            "a newcomer from the greedy address is refused"
        );
        assert_eq!(total(&server.stats(), |l| l.connections_refused), 1);
    })
    .await;
}
