//! Replays nobody reads (issue 26): a thousand reconnects with `Last-Event-ID: 0` to a channel
//! whose ring is full, whose clients never read a byte. Each used to copy the whole ring into its
//! stream at once (about 235 KB a replay in the run); now a replay is fed from the ring as
//! the client takes it, so an unread one costs about what a live stream costs.
//!
//! Alone in its test binary: it measures this process's resident memory.

// Test helpers are plain async fns, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use http::StatusCode;
use sse_server::Protocol;
use test_support::abuse::rss_bytes;
use test_support::attacker::{replay_request, unread_request};
use test_support::client::listener_addr;
use test_support::{connect, eventually, within, DeliveryProbe};

use common::{check_latency, probe_latency, start, TEST};

const REPLAYS: usize = 1000;
/// What an unread replay may cost the server, beyond its socket: a live stream's few KiB, with
/// room for the allocator. (Copying a ring of 1024 messages cost about 130 KiB a replay.)
const PER_REPLAY: u64 = 40 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_replays_cost_no_more_than_live_streams() {
    let server = start(test_support::test_config());
    within(TEST, "the unread-replay scenario", async {
        let mut poster = connect(&server, Protocol::H1).await;
        // A full ring (1024 messages by default) of 1 KiB messages: a replay of 1 MiB, more than
        // the server's socket buffer and the client's small receive buffer take.
        for _ in 0..1024 {
            let (status, _) = poster
                .post("/messages?channel=history", "x".repeat(1024))
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
        }
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        let baseline = rss_bytes().unwrap();
        let addr = listener_addr(&server, Protocol::H1);
        let request = replay_request(addr, "/events?channel=history&interval_ms=60000", "0");
        let mut readers = Vec::with_capacity(REPLAYS);
        for _ in 0..REPLAYS {
            readers.push(unread_request(addr, 16 * 1024, &request).await.unwrap());
        }
        eventually("every replay has begun", || {
            server.stats().listener(Protocol::H1).unwrap().streams_open == REPLAYS as u64
        })
        .await;
        let latencies = probe_latency(&mut probe).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let grew = rss_bytes().unwrap().saturating_sub(baseline);
        eprintln!(
            "{REPLAYS} unread replays of a 1024-message ring: rss grew {} MiB ({} KiB each)",
            grew >> 20,
            grew / REPLAYS as u64 / 1024
        );
        check_latency(&latencies, "a thousand unread replays");
        assert!(
            grew < PER_REPLAY * REPLAYS as u64,
            "rss grew {} KiB per unread replay",
            grew / REPLAYS as u64 / 1024
        );
        drop(readers);
    })
    .await;
}
