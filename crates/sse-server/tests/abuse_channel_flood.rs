//! A channel flood: 64 KiB POSTs to hundreds of distinct channels that nobody watches. Every
//! such channel used to stay forever with its ring (12 000 of them held 826 MB). Now the rings
//! together stay within the replay budget: once it is full, each new channel displaces the least
//! recently active one nobody watches (it used to be refused with 503 until the idle timeout,
//! locking new channels out), and idle channels are evicted with their rings. (Whether the allocator then gives the freed pages back to the kernel
//! is its own business: the test prints the resident memory after eviction and checks the
//! counters.)
//!
//! Alone in its test binary: it measures this process's resident memory.

// Test helpers are plain async fns, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use http::StatusCode;
use sse_server::Protocol;
use test_support::abuse::{filler, rss_bytes};
use test_support::{connect, test_config, within, DeliveryProbe};

use common::{check_latency, probe_latency, start, total, TEST};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_flood_stays_within_the_replay_budget_and_is_evicted() {
    const MESSAGE: usize = 64 * 1024;
    const CHANNELS: usize = 600;
    const BUDGET: usize = 8 << 20;
    let mut config = test_config();
    config.replay_budget_bytes = BUDGET;
    config.max_body_bytes = MESSAGE;
    // Longer than the flood takes, so that the budget, not eviction, is what refuses it.
    config.channel_idle_timeout = Duration::from_secs(3);
    let server = start(config);
    within(TEST, "the channel-flood scenario", async {
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        let baseline = rss_bytes().unwrap();
        // Two cleartext posters: the flood is about memory, and a debug-build TLS client per
        // listener would mostly measure this machine's CPU.
        let flood = [Protocol::H1, Protocol::H2c].map(|p| {
            let server = &server;
            async move {
                let mut poster = connect(server, p).await;
                let (mut accepted, mut refused, mut peak) = (0u64, 0u64, 0u64);
                for i in (0..CHANNELS).filter(|i| (i % 2 == 0) == (p == Protocol::H1)) {
                    let path = format!("/messages?channel=flood-{i}");
                    let (status, body) = poster.post(&path, filler(MESSAGE)).await;
                    match status {
                        StatusCode::ACCEPTED => accepted += 1,
                        StatusCode::SERVICE_UNAVAILABLE => {
                            assert!(body.starts_with("replay budget full"), "{body}");
                            refused += 1;
                        }
                        other => panic!("{p}: {other}: {body}"),
                    }
                    peak = peak.max(rss_bytes().unwrap());
                }
                (accepted, refused, peak)
            }
        });
        let (results, latencies) = tokio::join!(
            futures_util::future::join_all(flood),
            probe_latency(&mut probe)
        );
        let accepted: u64 = results.iter().map(|r| r.0).sum();
        let refused: u64 = results.iter().map(|r| r.1).sum();
        let peak = results.iter().map(|r| r.2).max().unwrap();
        let stats = server.stats();
        eprintln!(
            "{CHANNELS} POSTs of {} KiB to distinct channels: {accepted} accepted, {refused} \
             refused; replay {} KiB of {} KiB; rss baseline {} MiB, peak {} MiB",
            MESSAGE >> 10,
            stats.replay_bytes >> 10,
            stats.replay_budget_bytes >> 10,
            baseline >> 20,
            peak >> 20
        );
        check_latency(&latencies, "a channel flood");
        assert_eq!((accepted, refused), (CHANNELS as u64, 0));
        assert!(
            stats.channels_displaced > 0,
            "older channels gave way to the newer"
        );
        assert_eq!(total(&stats, |l| l.replay_budget_refusals), 0);
        assert!(stats.replay_bytes <= BUDGET as u64);
        // What was accepted is what the budget holds: 8 MiB, plus the flood's in-flight bodies and
        // 16 MiB for the allocator and this test's clients. Keeping every message would be 37 MiB.
        let bound = (BUDGET + 4 * 2 * MESSAGE + (16 << 20)) as u64;
        assert!(bound < (CHANNELS * MESSAGE) as u64);
        let grew = peak.saturating_sub(baseline);
        assert!(
            grew < bound,
            "rss grew by {} MiB, over the bound of {} MiB",
            grew >> 20,
            bound >> 20
        );
        // Nobody watches the flooded channels: they go at the idle timeout, and the memory with
        // them (the probe's channel stays).
        test_support::eventually("the flooded channels are evicted", || {
            let stats = server.stats();
            stats.channels == 1 && stats.channels_evicted + stats.channels_displaced == accepted
        })
        .await;
        let after = rss_bytes().unwrap();
        assert!(
            server.stats().replay_bytes < 10_000,
            "only the probe's messages are kept"
        );
        eprintln!(
            "after eviction: rss {} MiB (baseline {} MiB), replay {} bytes",
            after >> 20,
            baseline >> 20,
            server.stats().replay_bytes
        );
        assert!(
            probe.sample().await < common::PROBE_P99,
            "the probe still works"
        );
    })
    .await;
}
