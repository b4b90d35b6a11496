//! The server under slow readers: clients that open an event stream and never read it. Their
//! subscriber queues overflow, which closes their streams, so the server's memory stays bounded
//! however much is posted, and a well-behaved client keeps its latency meanwhile.
//!
//! Alone in its test binary: it measures this process's resident memory, which other tests
//! running beside it (or before it, leaving freed memory for the allocator to reuse) would blur.

// Test helpers are plain async fns, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use http::StatusCode;
use sse_server::Protocol;
use test_support::abuse::{filler, rss_bytes, slow_reader};
use test_support::{connect, eventually, test_config, within, DeliveryProbe};

use common::{check_latency, health, probe_latency, start, tcp_arms, total, TEST};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_readers_are_closed_and_memory_stays_bounded() {
    const READERS_PER_LISTENER: usize = 10;
    const MESSAGE: usize = 64 * 1024;
    const MESSAGES: usize = 2000;
    const POSTERS: usize = 2;
    let mut config = test_config();
    config.replay_ring = 64;
    config.subscriber_queue = 4;
    config.max_body_bytes = MESSAGE;
    // Longer than the test: the overflow policy alone must bound memory here (the write-stall
    // timeout has its own test in listeners.rs).
    config.write_stall_timeout = Duration::from_secs(60);
    let server = start(config.clone());
    within(TEST, "the slow-reader scenario", async {
        let mut readers = Vec::new();
        for p in tcp_arms() {
            for _ in 0..READERS_PER_LISTENER {
                readers.push(
                    slow_reader(
                        &server,
                        p,
                        "/events?channel=slow&interval_ms=60000",
                    )
                    .await,
                );
            }
        }
        let slow = readers.len() as u64;
        eventually("every slow reader subscribed", || {
            server.stats().subscribers == slow
        })
        .await;
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        let baseline = rss_bytes().unwrap();

        let started = Instant::now();
        let posting = (0..POSTERS).map(|i| {
            let p = [Protocol::H1, Protocol::H2c][i % 2];
            let server = &server;
            async move {
                let mut poster = connect(server, p).await;
                let body = filler(MESSAGE);
                let mut peak = 0;
                for _ in 0..MESSAGES / POSTERS {
                    let (status, _) = poster.post("/messages?channel=slow", body.clone()).await;
                    assert_eq!(status, StatusCode::ACCEPTED);
                    peak = peak.max(rss_bytes().unwrap());
                }
                peak
            }
        });
        let (peaks, latencies) = tokio::join!(
            futures_util::future::join_all(posting),
            probe_latency(&mut probe)
        );
        let peak = peaks.into_iter().max().unwrap();
        let posted_in = started.elapsed();
        let stats = server.stats();
        eprintln!(
            "posted {} MiB in {posted_in:.1?}; rss baseline {} MiB, peak {} MiB (+{} MiB); overflows {}",
            (MESSAGES * MESSAGE) >> 20,
            baseline >> 20,
            peak >> 20,
            peak.saturating_sub(baseline) >> 20,
            total(&stats, |l| l.overflows),
        );
        let during = format!(
            "{MESSAGES} messages of {} KiB to {slow} slow readers",
            MESSAGE >> 10
        );
        check_latency(&latencies, &during);
        eventually("every slow reader overflowed", || {
            total(&server.stats(), |l| l.overflows) == slow
        })
        .await;
        for p in tcp_arms() {
            let l = server.stats().listener(p).unwrap().clone();
            assert_eq!(l.overflows, READERS_PER_LISTENER as u64, "{p}: {l:?}");
        }
        // Overflowed subscribers leave the hub at once. Their streams (with the few messages
        // still queued) go when their connections do: here when the readers leave, otherwise at
        // the write-stall timeout.
        assert_eq!(server.stats().subscribers, 1, "only the probe is subscribed");
        // The bound: the messages the server may hold at once, at worst all distinct (the ring's,
        // and each slow reader's queue), what one connection buffers (hyper queues references to
        // the messages themselves; rustls copies up to 64 KiB of plaintext and its records;
        // 256 KiB each), and 32 MiB for the allocator and this test's own clients.
        let ring = (config.replay_ring as u64) * MESSAGE as u64;
        let queues = slow * config.subscriber_queue as u64 * MESSAGE as u64;
        let buffers = slow * 256 * 1024;
        let bound = ring + queues + buffers + (32 << 20);
        let posted = (MESSAGES * MESSAGE) as u64;
        assert!(
            posted > bound,
            "the test posts more than the bound, so retaining what was posted would fail it"
        );
        assert!(
            peak.saturating_sub(baseline) < bound,
            "rss grew by {} MiB, over the bound of {} MiB",
            peak.saturating_sub(baseline) >> 20,
            bound >> 20
        );
        drop(readers);
        eventually("the slow readers' streams end with their connections", || {
            total(&server.stats(), |l| l.streams_open) == 1
        })
        .await;
        health(&server, Protocol::H1).await;
    })
    .await;
}
