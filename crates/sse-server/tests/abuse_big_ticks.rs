//! Slow readers of large ticks: clients that ask for 1 MiB ticks every few milliseconds and never
//! read. Each used to hold about 3 MB of the server's memory until the write-stall timeout (the
//! tick built whole, a copy for hyper, hyper's buffer); now an event goes out in 16 KiB frames
//! whose padding is shared static memory, and hyper buffers at most `send_buffer_bytes`, so each
//! costs a small bounded amount whatever the tick size.
//!
//! Alone in its test binary: it measures this process's resident memory.

// Test helpers are plain async fns, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use sse_server::Protocol;
use test_support::abuse::{rss_bytes, slow_reader};
use test_support::{test_config, within, DeliveryProbe};

use common::{check_latency, health, probe_latency, start, tcp_arms, total, TEST};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_readers_of_1_mib_ticks_cost_a_bounded_amount_each() {
    const READERS_PER_LISTENER: u64 = 6;
    const TICK: usize = 1 << 20;
    let mut config = test_config();
    // Longer than the test: the send-side bounds alone must hold memory down here.
    config.write_stall_timeout = Duration::from_secs(60);
    let send_buffer = config.send_buffer_bytes as u64;
    let server = start(config);
    within(TEST, "the big-tick slow-reader scenario", async {
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        let baseline = rss_bytes().unwrap();
        let path = format!("/events?channel=big&interval_ms=5&size={TICK}");
        let mut readers = Vec::new();
        for p in tcp_arms() {
            for _ in 0..READERS_PER_LISTENER {
                readers.push(slow_reader(&server, p, &path).await);
            }
        }
        let slow = readers.len() as u64;
        // The readers' sockets fill up (the kernel's buffers, outside this process), then the
        // server stops producing for them: wait until no more events go out.
        let mut last = u64::MAX;
        let mut still = 0;
        let mut peak = 0;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            peak = peak.max(rss_bytes().unwrap());
            let stats = server.stats();
            let sent = total(&stats, |l| l.events_sent);
            still = if sent == last { still + 1 } else { 0 };
            last = sent;
            if still == 5 && total(&stats, |l| l.streams_open) == slow + 1 {
                break;
            }
        }
        assert_eq!(still, 5, "the slow readers' streams stopped being written");
        let latencies = probe_latency(&mut probe).await;
        peak = peak.max(rss_bytes().unwrap());
        let grew = peak.saturating_sub(baseline);
        let ticks_sent = last;
        eprintln!(
            "{slow} slow readers of {} KiB ticks: {ticks_sent} ticks written before their sockets \
             filled; rss baseline {} MiB, peak {} MiB (+{} KiB, {} KiB per reader)",
            TICK >> 10,
            baseline >> 20,
            peak >> 20,
            grew >> 10,
            (grew / slow) >> 10
        );
        check_latency(&latencies, &format!("{slow} slow readers of 1 MiB ticks"));
        // Per reader: hyper's send buffer, one frame waiting, rustls's 64 KiB of records, the
        // connection's own state; generously 4 x the send buffer. Plus 16 MiB for the allocator
        // and this test's clients. A whole 1 MiB tick held per reader would fail it.
        let bound = slow * 4 * send_buffer + (16 << 20);
        assert!(
            bound < slow * TICK as u64,
            "the bound is below what one held tick per reader would cost"
        );
        assert!(
            grew < bound,
            "rss grew by {} KiB with {slow} slow readers, over the bound of {} KiB",
            grew >> 10,
            bound >> 10
        );
        drop(readers);
        test_support::eventually("the slow readers' streams end", || {
            total(&server.stats(), |l| l.streams_open) == 1
        })
        .await;
        health(&server, Protocol::H1).await;
    })
    .await;
}
