//! Replay storms (issue 26): clients reconnecting with `Last-Event-ID: 0` to a channel whose ring
//! is full, over and over, after replays nobody reads took every replay slot. Each replay is
//! bounded in bytes (`max_replay_bytes`: the older messages are reported as a `replay-gap`), at
//! most `max_concurrent_replays` run at once, the unread ones give their slots up, and a
//! well-behaved client keeps its latency.

// Test helpers are plain async fns, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use sse_server::Protocol;
use test_support::attacker::{replay_request, unread_request};
use test_support::client::listener_addr;
use test_support::{connect, eventually, within, DeliveryProbe, SseReader};

use common::{check_latency, probe_latency, start, total, TEST};

const MESSAGE: usize = 16 * 1024;
const MESSAGES: u64 = 256;
const MAX_REPLAY: usize = 256 * 1024;
const CONCURRENT: usize = 2;
const STORMERS: usize = 8;
const STORM: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_storm_is_bounded_and_does_not_starve_others() {
    let mut config = test_support::test_config();
    config.max_replay_bytes = MAX_REPLAY;
    config.max_concurrent_replays = CONCURRENT;
    // Small socket buffers, so that a replay nobody reads stalls within its first 256 KiB.
    config.socket_send_buffer_bytes = Some(16 * 1024);
    let server = start(config);
    within(TEST, "the replay-storm scenario", async {
        let mut poster = connect(&server, Protocol::H1).await;
        for _ in 0..MESSAGES {
            let (status, _) = poster
                .post("/messages?channel=history", "x".repeat(MESSAGE))
                .await;
            assert_eq!(status, StatusCode::ACCEPTED);
        }
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        // Replays nobody reads take every slot first.
        let addr = listener_addr(&server, Protocol::H1);
        let request = replay_request(addr, "/events?channel=history&interval_ms=60000", "0");
        let mut unread = Vec::new();
        for _ in 0..CONCURRENT {
            unread.push(unread_request(addr, 16 * 1024, &request).await.unwrap());
        }
        eventually("the unread replays hold every slot", || {
            server.stats().replays_active == CONCURRENT as u64
        })
        .await;
        let pulled = Arc::new(AtomicU64::new(0));
        let most_active = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + STORM;
        let stormers = (0..STORMERS).map(|_| {
            let (server, pulled) = (&server, Arc::clone(&pulled));
            async move {
                let mut replays = 0u64;
                while Instant::now() < deadline {
                    let mut client = connect(server, Protocol::H1).await;
                    let resp = client
                        .get("/events?channel=history", &[("last-event-id", "0")])
                        .await;
                    let mut stream = SseReader::new(resp);
                    // The gap first: the replay is cut to its newest messages.
                    let gap = stream.event_of("replay-gap").await;
                    assert!(gap.data.starts_with(r#"{"missed_from":1,"#), "{}", gap.data);
                    let (mut bytes, mut count) = (0, 0);
                    loop {
                        let m = stream.event_of("message").await;
                        bytes += m.data.len();
                        count += 1;
                        if m.id == MESSAGES.to_string() {
                            break;
                        }
                    }
                    assert!(bytes <= MAX_REPLAY, "a replay of {bytes} bytes");
                    // Cut to the newest messages that fit in the bound, each counted whole (its
                    // data and its id, event and data lines): 16 messages' data alone fill
                    // 256 KiB, so with their framing 15 fit.
                    let fit = MAX_REPLAY / MESSAGE - 1;
                    assert_eq!(count, fit, "messages in a replay cut to {MAX_REPLAY} bytes");
                    pulled.fetch_add(bytes as u64, Ordering::Relaxed);
                    replays += 1;
                }
                replays
            }
        });
        let watch = async {
            while Instant::now() < deadline {
                let active = server.stats().replays_active;
                most_active.fetch_max(active, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let (replays, latencies, ()) = tokio::join!(
            futures_util::future::join_all(stormers),
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                probe_latency(&mut probe).await
            },
            watch
        );
        let replays: u64 = replays.iter().sum();
        eprintln!(
            "{STORMERS} clients replaying from id 0 for {STORM:?}: {replays} replays, {} MiB \
             pulled, at most {} at once",
            pulled.load(Ordering::Relaxed) >> 20,
            most_active.load(Ordering::Relaxed)
        );
        check_latency(&latencies, "a replay storm");
        assert!(replays >= STORMERS as u64, "every stormer got its replays");
        assert!(most_active.load(Ordering::Relaxed) <= CONCURRENT as u64);
        let stats = server.stats();
        assert_eq!(
            total(&stats, |l| l.replays_truncated),
            replays + CONCURRENT as u64
        );
        assert!(
            total(&stats, |l| l.replays_waited) > 0,
            "replays waited for a slot"
        );
        drop(unread);
    })
    .await;
}
