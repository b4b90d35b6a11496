//! End-to-end: the emulated browser against the embedded test server, on port 0.
//!
//! Each test is written once and run on every arm with event streams by `test_support::arms`; the
//! expectations that differ (the six-connection ceiling) are computed from the arm, never copied.
//! The WebSocket arms are not in the HTTP pool (`websocket.rs` tests their own rules).

// Test helpers outside `#[test]` functions may panic on setup failures.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use loadgen::{
    run_point, Counter, Latency, Metrics, PointConfig, PointOutcome, Protocol, Target, Trust,
};
use sse_server::{ServerConfig, Stats};
use test_support::emulation;
use test_support::scripted::{self, Reply, Step};
use tokio_util::sync::CancellationToken;

struct Run {
    streams_per_client: u32,
    post_rate: f64,
    warmup: Duration,
    duration: Duration,
    events_query: &'static str,
    reconnect_delay: Duration,
    tweak: fn(&mut ServerConfig),
}

impl Default for Run {
    fn default() -> Self {
        Run {
            streams_per_client: 8,
            post_rate: 0.0,
            warmup: Duration::from_millis(500),
            duration: Duration::from_millis(1500),
            events_query: "",
            reconnect_delay: Duration::from_secs(30),
            tweak: |_| {},
        }
    }
}

async fn run(arm: Protocol, spec: Run) -> (PointOutcome, Stats) {
    let (server, target) = emulation::embedded(arm, spec.tweak).await;
    let mut config = emulation::point(target);
    let workload = &mut config.workload;
    workload.streams_per_client = spec.streams_per_client;
    workload.paths.events = format!("/events?channel=t{}", spec.events_query);
    workload.posts.rate_per_client = spec.post_rate;
    workload.warmup = spec.warmup;
    workload.duration = spec.duration;
    workload.reconnect_delay = spec.reconnect_delay;
    let outcome = emulation::run(&config).await;
    let stats = server.stats();
    server.shutdown().await;
    assert!(outcome.fatal.is_none(), "fatal: {:?}", outcome.fatal);
    (outcome, stats)
}

/// 8 EventSources and three POSTs (0, 0.5 and 1 s into the 1.5 s measured) in one client:
/// HTTP/1.1 opens exactly 6, queues 2, and its POSTs wait behind them for the whole run; HTTP/2
/// and HTTP/3 open all 8 on one connection, and each POST completes and reaches all 8 streams.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn ceiling(arm: Protocol) {
    let (out, stats) = run(
        arm,
        Run {
            post_rate: 2.0,
            ..Run::default()
        },
    )
    .await;
    let m = &out.metrics;
    let (opened, queued, conns) = if arm.is_multiplexed() {
        (8, 0, 1)
    } else {
        (6, 2, 6)
    };
    assert_eq!(m.get(Counter::StreamsRequested), 8);
    assert_eq!(m.get(Counter::StreamsOpened), opened);
    assert_eq!(out.streams_queued_at_end, queued);
    assert_eq!(out.streams_open_at_end, opened);
    assert_eq!(m.get(Counter::ConnectionsCarryingRequests), conns);
    assert_eq!(stats.listeners[0].connections_carrying_requests, conns);
    let scheduled = m.get(Counter::PostsScheduled);
    assert_eq!(scheduled, 3, "2 a second for 1.5 s");
    if arm.is_multiplexed() {
        // The last POST has 500 ms to complete and reach the streams.
        assert_eq!(m.get(Counter::PostsCompleted), scheduled);
        assert_eq!(out.posts_stalled_at_end, 0);
        assert_eq!(
            m.latency(Latency::Fanout).count,
            8 * scheduled,
            "each POST reaches each of the 8 streams once"
        );
        assert_eq!(m.latency(Latency::PostRtt).count, scheduled);
        assert_eq!(m.censored(Latency::PostRtt), 0);
        assert_eq!(m.censored(Latency::PostQueueWait), 0);
    } else {
        assert_eq!(m.get(Counter::PostsCompleted), 0);
        assert_eq!(out.posts_stalled_at_end, scheduled);
        // Every POST waited behind the six streams until the end: a censored sample each, of
        // its queue wait and of its round trip.
        assert_eq!(m.latency(Latency::PostRtt).count, scheduled);
        assert_eq!(m.censored(Latency::PostRtt), scheduled);
        assert_eq!(m.censored(Latency::PostQueueWait), scheduled);
    }
    // The two streams still queued are censored samples of queue_wait and time_to_first_event.
    assert_eq!(m.censored(Latency::QueueWait), queued);
    assert_eq!(m.censored(Latency::TimeToFirstEvent), queued);
    assert_eq!(m.latency(Latency::QueueWait).count, 8);
    assert_eq!(m.latency(Latency::TimeToFirstEvent).count, 8);
    assert!(m.latency(Latency::EventDelivery).count > 0);
    assert_eq!(m.total_errors(), 0);
}

/// 16 streams on HTTP/1.1: ten wait for a slot the whole point, so queue_wait's p99 (and its p50,
/// with 10 of 16 samples) is at least the length of the point. Over HTTP/2 nothing waits.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn censored_queue_wait(arm: Protocol) {
    let (out, _) = run(
        arm,
        Run {
            streams_per_client: 16,
            ..Run::default()
        },
    )
    .await;
    let m = &out.metrics;
    let wait = m.latency(Latency::QueueWait);
    assert_eq!(wait.count, 16);
    if arm.is_multiplexed() {
        assert_eq!(m.censored(Latency::QueueWait), 0);
        assert!(wait.p99 < 1_000_000, "{wait:?}");
    } else {
        assert_eq!(m.censored(Latency::QueueWait), 10);
        let point_us = (out.elapsed.as_micros() as u64).saturating_sub(100_000);
        assert!(
            wait.p99 >= point_us,
            "{wait:?} for a point of {:?}",
            out.elapsed
        );
        assert!(
            wait.p50 >= point_us,
            "{wait:?} for a point of {:?}",
            out.elapsed
        );
    }
}

/// With the server allowing 3 concurrent streams (HTTP/2's SETTINGS, HTTP/3's MAX_STREAMS), the
/// multiplexed arms keep 3 open on their one connection and queue the rest; they never open a
/// second connection. HTTP/1.1 is not affected by the setting.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn max_streams(arm: Protocol) {
    let (out, stats) = run(
        arm,
        Run {
            tweak: |c| {
                c.http2.max_concurrent_streams = 3;
                c.http3_max_streams = 3;
            },
            ..Run::default()
        },
    )
    .await;
    let m = &out.metrics;
    let (opened, queued, conns) = if arm.is_multiplexed() {
        (3, 5, 1)
    } else {
        (6, 2, 6)
    };
    let errors = emulation::errors(&out);
    assert_eq!(m.get(Counter::StreamsOpened), opened, "errors {errors:?}");
    assert_eq!(
        (out.streams_open_at_end, out.streams_queued_at_end),
        (opened, queued),
        "(open, queued) at the end: errors {errors:?}, reconnects {}, requested {}, elapsed {:?}, server {:?}",
        m.get(Counter::Reconnects),
        m.get(Counter::StreamsRequested),
        out.elapsed,
        stats.listeners[0],
    );
    assert_eq!(
        m.get(Counter::ConnectionsOpened),
        conns,
        "errors {errors:?}, reconnects {}",
        m.get(Counter::Reconnects)
    );
    assert_eq!(stats.listeners[0].connections_accepted, conns);
}

/// Every stream requested is open or queued at the end of a point, whatever it waits for: here
/// the server answers every other stream only after the point (its response head comes 60 s
/// late). Those were granted a slot (over HTTP/1.1, three of the six connections; over HTTP/2 and 3,
/// four of the 100 streams) and sent, and are not open: they count as queued, as a browser's
/// EventSource is still `CONNECTING`, beside the two streams over HTTP/1.1 that wait for a
/// connection. A count that dropped a stream between its grant and its answer fails here.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_streams_count_as_queued(arm: Protocol) {
    let (target, seen) = scripted::serve(arm, |n| Reply {
        head_delay: if n % 2 == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(60)
        },
        ..Reply::events(vec![Step::Write(b"data: open\n\n".to_vec())])
    })
    .await;
    let mut config = emulation::point(target);
    config.workload.streams_per_client = 8;
    config.workload.warmup = Duration::from_millis(500);
    config.workload.duration = Duration::from_millis(1000);
    config.workload.reconnect_delay = Duration::from_secs(30);
    let out = emulation::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    let sent = if arm.is_multiplexed() { 8 } else { 6 };
    assert_eq!(seen.requests(), sent, "every granted stream was sent");
    let answered = sent as u64 / 2;
    assert_eq!(m.get(Counter::StreamsRequested), 8);
    assert_eq!(
        (out.streams_open_at_end, out.streams_queued_at_end),
        (answered, 8 - answered),
        "(open, queued) at the end"
    );
}

/// Streams that end (the server ends each after 10 events, a tick at once and one every 50 ms:
/// at least 450 ms after it opened) free their slots: on HTTP/1.1 the queued requests then get
/// new connections, after waiting for the first streams to end; every stream opens on both arms.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn slots_free_up(arm: Protocol) {
    let (out, stats) = run(
        arm,
        Run {
            events_query: "&count=10",
            ..Run::default()
        },
    )
    .await;
    let m = &out.metrics;
    assert_eq!(m.get(Counter::StreamsOpened), 8);
    assert_eq!(out.streams_queued_at_end, 0);
    let conns = if arm.is_multiplexed() { 1 } else { 8 };
    assert_eq!(m.get(Counter::ConnectionsCarryingRequests), conns);
    assert_eq!(stats.listeners[0].connections_carrying_requests, conns);
    // On HTTP/1.1 the 7th and 8th EventSources wait for a slot until a first stream ends, at
    // least 450 ms after it opened on the server. Their wait began when their task asked for a
    // slot, which on a loaded machine (16 tests on 2 cores) can be tens of ms after the first six
    // were sent: 5 events (200 ms) against this 200 ms bound failed once so, in a cold test run.
    // Granted at once (the slot limit broken), they would wait about nothing.
    if !arm.is_multiplexed() {
        let wait = m.latency(Latency::QueueWait).max;
        assert!(wait >= 200_000, "longest queue_wait {wait} us");
    }
}

/// The run refuses a server that negotiates another protocol than the arm pins.
#[tokio::test]
async fn protocol_mismatch_is_fatal() {
    // An h1-tls listener answering the h2 arm: its ALPN offers only http/1.1.
    let config = ServerConfig {
        listeners: vec![(sse_server::Protocol::H1Tls, "127.0.0.1:0".parse().unwrap())],
        ..ServerConfig::default()
    };
    let server = sse_server::start(config).await.unwrap();
    let url = server.url(sse_server::Protocol::H1Tls).unwrap();
    let target = Target::new(
        Protocol::H2,
        &url,
        &Trust::Certificates(vec![server.cert_der()]),
    )
    .unwrap();
    let mut config = PointConfig::new(target);
    config.workload.warmup = Duration::ZERO;
    config.workload.reconnect_delay = Duration::from_millis(100);
    let out = run_point(&config, Arc::new(Metrics::new()), &CancellationToken::new()).await;
    server.shutdown().await;
    let fatal = out.fatal.expect("a mismatch stops the run");
    assert!(out.elapsed < Duration::from_secs(5), "stopped early");
    assert!(
        fatal.message.contains("h2") || fatal.message.contains("TLS"),
        "{}",
        fatal.message
    );
}
