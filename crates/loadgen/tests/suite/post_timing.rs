//! POSTs on an open-loop schedule, timed from their scheduled instant (coordinated omission), on
//! every arm with POSTs (the scripted server speaks no WebSocket; `websocket.rs` times the
//! WebSocket arms' messages).
//!
//! The expectations come from what the numbers mean (`docs/measurement.md`, "What a number means";
//! `scenarios/README.md`): each client sends `rate` POSTs per second at fixed instants, offset by
//! `index / clients` of a period, whatever happened to earlier ones; `post_rtt` runs from the
//! POST's scheduled instant to its response read to the end, `post_queue_wait` from the scheduled
//! instant to its slot. A load generator that timed from the moment a slot was free, or from the
//! moment its task happened to run, would hide exactly the wait the benchmark exists to show.

use std::time::{Duration, Instant};

use loadgen::{Counter, Latency, PointOutcome, Protocol, Target};
use test_support::emulation;
use test_support::scripted::{self, Options, Reply, Step, Then};

const SECOND_US: u64 = 1_000_000;

/// Runs `clients` clients of `streams` streams each, POSTing `rate` times a second for
/// `duration` after `warmup`, against `target`.
async fn run_posts(
    target: Target,
    (clients, streams): (u32, u32),
    rate: f64,
    warmup: Duration,
    duration: Duration,
) -> PointOutcome {
    let mut config = emulation::point(target);
    config.workload.clients = clients;
    config.workload.streams_per_client = streams;
    config.workload.posts.rate_per_client = rate;
    config.workload.warmup = warmup;
    config.workload.duration = duration;
    config.workload.reconnect_delay = Duration::from_secs(30);
    let out = emulation::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    assert_eq!(
        out.metrics.total_errors(),
        0,
        "{:?}",
        emulation::errors(&out)
    );
    out
}

/// Six streams hold every slot (the six HTTP/1.1 connections; on HTTP/2, a server allowing six
/// streams) for 2.5 s from the start; the one POST, scheduled at 0.3 s, gets a slot only when they
/// end: it waited at least 2.2 s, and its round trip took at least as long.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn behind_held_slots(arm: Protocol) {
    let slots = loadgen::defaults::CONNECTIONS_PER_ORIGIN;
    let options = Options {
        max_concurrent_streams: Some(slots as u32),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, |_| Reply {
        then: Then::End,
        ..Reply::events(vec![
            Step::Write(b"data: holding a slot\n\n".to_vec()),
            Step::Sleep(Duration::from_millis(2500)),
        ])
    })
    .await;
    // One POST (0.25 a second for 4 s), at the end of the warm-up.
    let warmup = Duration::from_millis(300);
    let out = run_posts(
        target,
        (1, slots as u32),
        0.25,
        warmup,
        Duration::from_secs(4),
    )
    .await;
    let m = &out.metrics;
    assert_eq!(m.get(Counter::StreamsOpened), slots as u64);
    assert_eq!(m.get(Counter::PostsScheduled), 1);
    assert_eq!(m.get(Counter::PostsCompleted), 1);
    assert_eq!(seen.post_indices(), [Some(0)]);
    let (rtt, queue_wait) = (
        m.histogram(Latency::PostRtt),
        m.histogram(Latency::PostQueueWait),
    );
    assert_eq!((rtt.len(), m.censored(Latency::PostRtt)), (1, 0));
    assert_eq!(
        (queue_wait.len(), m.censored(Latency::PostQueueWait)),
        (1, 0)
    );
    assert!(rtt.min() >= 2 * SECOND_US, "post_rtt {} us", rtt.min());
    assert!(
        queue_wait.min() >= 2 * SECOND_US,
        "post_queue_wait {} us",
        queue_wait.min()
    );
}

/// One POST scheduled at 0.5 s, while the client's only thread is stalled from 0.1 s to 1.6 s
/// (a load generator that cannot keep up): its task runs 1.1 s late, and that lateness is part of
/// its wait and its round trip. Nothing else holds a slot.
#[test_support::arms(sse, flavor = "current_thread")]
async fn late_task(arm: Protocol) {
    let (target, seen) = scripted::serve(arm, |_| Reply::events(Vec::new())).await;
    let start = Instant::now();
    let stall = tokio::spawn(async move {
        tokio::time::sleep_until((start + Duration::from_millis(100)).into()).await;
        // Blocks the runtime's one thread on purpose.
        std::thread::sleep(Duration::from_millis(1500));
    });
    let out = run_posts(
        target,
        (1, 0),
        0.5,
        Duration::from_millis(500),
        Duration::from_secs(2),
    )
    .await;
    stall.await.expect("the stall ends");
    let m = &out.metrics;
    assert_eq!(m.get(Counter::PostsCompleted), 1);
    assert_eq!(seen.post_indices(), [Some(0)]);
    let (rtt, queue_wait) = (
        m.histogram(Latency::PostRtt),
        m.histogram(Latency::PostQueueWait),
    );
    assert_eq!((rtt.len(), queue_wait.len()), (1, 1));
    assert!(rtt.min() >= SECOND_US, "post_rtt {} us", rtt.min());
    assert!(
        queue_wait.min() >= SECOND_US,
        "post_queue_wait {} us: timed from when its task ran, not from its schedule",
        queue_wait.min()
    );
}

/// Two clients, one POST every 2 s each for 4 s: client 0 at 0 and 2 s, client 1 half a period
/// later (1 and 3 s). No POST reaches the server before its instant; nothing holds a slot, so the
/// server sees them alternate, each client's in its own order (client 1's tokens start after
/// client 0's two): 0, 2, 1, 3. The POSTs are a second apart, so only a harness stalled for a
/// second (its `client_lag`) could reorder them, and the last one has a second to complete.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn schedule(arm: Protocol) {
    let (target, seen) = scripted::serve(arm, |_| Reply::events(Vec::new())).await;
    let (rate, warmup) = (0.5, Duration::from_millis(300));
    let before = Instant::now();
    let out = run_posts(target, (2, 1), rate, warmup, Duration::from_secs(4)).await;
    let m = &out.metrics;
    let lag = m.latency(Latency::ClientLag);
    assert_eq!(m.get(Counter::PostsScheduled), 4, "client lag {lag:?}");
    assert_eq!(m.get(Counter::PostsCompleted), 4, "client lag {lag:?}");
    let arrivals = seen.post_arrivals();
    for &(index, at) in &arrivals {
        // Token index = client x 2 + k; POST k of client c is due at (k + c / 2) / rate.
        let index = index.expect("a POST carries its token");
        let (client, k) = (index / 2, index % 2);
        let due = warmup + Duration::from_secs_f64((k as f64 + client as f64 / 2.0) / rate);
        assert!(
            at >= before + due,
            "POST {index} reached the server {:?} after the start, before its instant {due:?}",
            at - before
        );
    }
    let order: Vec<u64> = arrivals.into_iter().filter_map(|(i, _)| i).collect();
    assert_eq!(order, [0, 2, 1, 3], "client lag {lag:?}");
}

/// `fanout` runs from the instant the POST is written, not from the instant it got its slot: a
/// POST that must open a connection first (HTTP/1.1 over TLS: the stream holds the first one)
/// waits 600 ms for the server's TLS handshake, and that wait is in its `post_rtt`, not in the
/// fan-out of its message to the stream (a chat server: each POST is echoed to the open stream).
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn fanout(arm: Protocol) {
    let handshake = Duration::from_millis(600);
    let options = Options {
        echo_posts: true,
        tls_delay: handshake,
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, |_| Reply::events(Vec::new())).await;
    // One POST (0.5 a second for 2 s), at the end of a warm-up long enough for the stream to
    // open through its own slow handshake.
    let out = run_posts(
        target,
        (1, 1),
        0.5,
        Duration::from_millis(1500),
        Duration::from_secs(2),
    )
    .await;
    let m = &out.metrics;
    assert_eq!(m.get(Counter::StreamsOpened), 1);
    assert_eq!(m.get(Counter::PostsCompleted), 1);
    assert_eq!(seen.post_indices(), [Some(0)]);
    let fanout = m.histogram(Latency::Fanout);
    assert_eq!(fanout.len(), 1, "the stream got the echo");
    assert!(
        fanout.max() < 300_000,
        "fanout {} us includes the connection's setup",
        fanout.max()
    );
    if arm == Protocol::H1Tls {
        let rtt = m.histogram(Latency::PostRtt);
        assert!(
            rtt.min() >= handshake.as_micros() as u64,
            "post_rtt {} us",
            rtt.min()
        );
    }
}
