//! The HTTP/3 client as Chromium behaves, each expectation from a capture of Chromium 156 on this
//! machine (`scripts/h3-capture/FINDINGS.md`), against the scripted QUIC server:
//!
//! - Q3: a server whose MAX_STREAMS allows 3 open streams gets 3; the rest wait in the client, on
//!   the same connection, and leave in the order they were made, the POST after the EventSources
//!   made before it;
//! - Q4: MAX_STREAMS raised late: the queued requests go out at once, on the same connection;
//! - Q6: GOAWAY with streams below and above its id: those below run on; those above, refused
//!   with `H3_REQUEST_REJECTED`, go out again on a second connection without an error;
//! - Q7: a stream reset before its response is sent again (Chromium), up to the retry bound, or
//!   fails (Firefox);
//! - Q8: CONNECTION_CLOSE: the open streams fail and come back on a new connection.
//!
//! Written for the `h3` arm alone: these are QUIC's own events.

use std::time::Duration;

use loadgen::{BrowserProfile, Counter, ErrorClass, Latency, PointConfig, PointOutcome, Protocol};
use test_support::emulation;
use test_support::scripted::{self, Options, Reply, Step, Then};

/// A stream that sends an event every 50 ms for a long while.
fn ticking() -> Reply {
    let mut steps = Vec::new();
    for n in 0..200 {
        steps.push(Step::Write(format!("data: {n}\n\n").into_bytes()));
        steps.push(Step::Sleep(Duration::from_millis(50)));
    }
    Reply::events(steps)
}

fn point(target: loadgen::Target, streams: u32) -> PointConfig {
    let mut config = emulation::point(target);
    config.workload.streams_per_client = streams;
    config.workload.warmup = Duration::from_millis(500);
    config.workload.duration = Duration::from_millis(2000);
    config.workload.reconnect_delay = Duration::from_secs(30);
    config
}

async fn run(config: &PointConfig) -> PointOutcome {
    let out = emulation::run(config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    out
}

/// Ten streams ending 300 ms after they start and one POST, a server allowing 3 open streams: 3
/// run at a time, all ten go through on the one connection, and the POST, made after the ten,
/// reaches the server after all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_3_in_request_order() {
    let options = Options {
        max_concurrent_streams: Some(3),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(Protocol::H3, options, |_| Reply {
        then: Then::End,
        ..Reply::events(vec![
            Step::Write(b"data: short\n\n".to_vec()),
            Step::Sleep(Duration::from_millis(300)),
        ])
    })
    .await;
    let mut config = point(target, 10);
    // One POST, at the end of a warm-up during which the streams queue.
    config.workload.warmup = Duration::from_millis(100);
    config.workload.posts.rate_per_client = 0.5;
    let out = run(&config).await;
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(seen.max_open(), 3, "streams open at once, server view");
    // Each stream once (they end, and come back only after 30 s); the POST is not counted.
    assert_eq!(seen.requests(), 10);
    assert_eq!(m.get(Counter::StreamsOpened), 10);
    assert_eq!(m.get(Counter::ConnectionsOpened), 1);
    assert_eq!(m.get(Counter::ConnectionsCarryingRequests), 1);
    assert_eq!(m.get(Counter::PostsCompleted), 1);
    assert_eq!(
        seen.gets_before_posts(),
        [10],
        "the POST left the queue after the ten EventSources made before it"
    );
    let wait = m.histogram(Latency::PostQueueWait);
    assert!(wait.min() >= 500_000, "the POST waited {} us", wait.min());
    assert_eq!(m.get(Counter::RequestsRetried), 0);
}

/// Ten held streams, a server allowing 3 and raising its MAX_STREAMS to 10 after 1 s: 3 open, 7
/// queued, then all 10 on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_streams_raised_late() {
    let options = Options {
        max_concurrent_streams: Some(3),
        raise_streams: Some((Duration::from_secs(1), 10)),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(Protocol::H3, options, |_| ticking()).await;
    let out = run(&point(target, 10)).await;
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(m.get(Counter::StreamsOpened), 10);
    assert_eq!(out.streams_open_at_end, 10);
    assert_eq!(out.streams_queued_at_end, 0);
    assert_eq!(seen.max_open(), 10);
    assert_eq!(m.get(Counter::ConnectionsOpened), 1);
    // Seven waited for the raise, about a second.
    let wait = m.histogram(Latency::QueueWait);
    assert_eq!(wait.count_between(800_000, u64::MAX), 7, "{wait:?}");
}

/// The same limit, never raised: 3 open, 7 counted queued at the end (censored), no second
/// connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_streams_held() {
    let options = Options {
        max_concurrent_streams: Some(3),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(Protocol::H3, options, |_| ticking()).await;
    let out = run(&point(target, 10)).await;
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(m.get(Counter::StreamsOpened), 3);
    assert_eq!(out.streams_open_at_end, 3);
    assert_eq!(out.streams_queued_at_end, 7);
    assert_eq!(m.censored(Latency::QueueWait), 7);
    assert_eq!(seen.requests(), 3);
    assert_eq!(m.get(Counter::ConnectionsCarryingRequests), 1);
}

/// GOAWAY as the third request arrives, with seven more already sent: the three below its id
/// stream on the old connection; the seven above, rejected, are sent again on a second
/// connection, none counted as an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goaway_below_and_above() {
    let options = Options {
        goaway_after: Some(3),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(Protocol::H3, options, |_| ticking()).await;
    let out = run(&point(target, 10)).await;
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(m.get(Counter::StreamsOpened), 10);
    assert_eq!(out.streams_open_at_end, 10);
    assert_eq!(m.get(Counter::ConnectionsCarryingRequests), 2);
    assert_eq!(seen.requests(), 10, "the server answered each stream once");
    // Each of the seven goes to the second connection once: counted retried if it was sent
    // before the client read the GOAWAY (the server then rejects it, H3_REQUEST_REJECTED), moved
    // without a count if not (loadgen's `Attempt::Moved`), so the count is not fixed at 7; a
    // rejection read before the GOAWAY sends it once more on the old connection, within the
    // retry bound (3 each). The ten sent in a burst at the start are ahead of the GOAWAY, so at
    // least one is rejected. The exact checks are above: ten answered once, two connections,
    // no error.
    let retried = m.get(Counter::RequestsRetried);
    assert!((1..=7 * 3).contains(&retried), "{retried} retried");
    // The old connection kept delivering to its three streams.
    assert!(m.get(Counter::EventsReceived) >= 10 * 20, "{m:?}");
}

/// Every stream reset before its response (`H3_REQUEST_REJECTED`): Chromium sends it again, up
/// to the bound (3), then it is one `errors_rst_stream`; Firefox fails it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_before_the_response() {
    for (profile, requests, retried) in [
        (BrowserProfile::Chromium, 1 + 3, 3),
        (BrowserProfile::Firefox, 1, 0),
    ] {
        let options = Options {
            reset_streams: Some(h2::Reason::REFUSED_STREAM),
            ..Options::default()
        };
        let (target, seen) =
            scripted::serve_with(Protocol::H3, options, |_| Reply::events(Vec::new())).await;
        let mut config = point(target, 1);
        config.profile = profile;
        config.workload.warmup = Duration::ZERO;
        config.workload.duration = Duration::from_secs(1);
        let out = run(&config).await;
        let m = &out.metrics;
        assert_eq!(seen.requests(), requests, "{profile}");
        assert_eq!(m.get(Counter::RequestsRetried), retried, "{profile}");
        assert_eq!(
            m.errors(ErrorClass::RstStream),
            1,
            "{profile}: {:?}",
            emulation::errors(&out)
        );
        assert_eq!(m.total_errors(), 1, "{profile}");
        assert_eq!(m.get(Counter::StreamsOpened), 0, "{profile}");
    }
}

/// CONNECTION_CLOSE (`H3_NO_ERROR`) 700 ms into the first connection: its three streams fail
/// (`errors_reset`) and reconnect after their delay on a second connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close() {
    let options = Options {
        close_after: Some((Duration::from_millis(700), 0x100)),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(Protocol::H3, options, |_| ticking()).await;
    let mut config = point(target, 3);
    config.workload.reconnect_delay = Duration::from_millis(200);
    let out = run(&config).await;
    let m = &out.metrics;
    assert_eq!(
        m.errors(ErrorClass::Reset),
        3,
        "{:?}",
        emulation::errors(&out)
    );
    assert_eq!(m.total_errors(), 3);
    assert_eq!(m.get(Counter::Reconnects), 3);
    assert_eq!(m.get(Counter::ConnectionsOpened), 2);
    assert_eq!(out.streams_open_at_end, 3);
    assert_eq!(seen.requests(), 6);
}

/// The client's QUIC packets are tallied per point; nothing is lost on loopback. `connect` (the
/// handshake) is timed once, for the one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_packets_and_connect() {
    let (target, _) = scripted::serve(Protocol::H3, |_| ticking()).await;
    let out = run(&point(target, 2)).await;
    let quic = out.quic.expect("an h3 point tallies its QUIC packets");
    assert!(quic.sent > 0, "{quic:?}");
    assert_eq!(quic.lost, 0, "{quic:?}");
    let connect = out.metrics.latency(Latency::Connect);
    assert_eq!(connect.count, 1, "{connect:?}");
    assert!(connect.p50 < 1_000_000, "{connect:?}");
}

/// Against the embedded server with a short first-request deadline (2 s) and POSTs for 2 s after
/// it: a connection that carried requests keeps running past the deadline, however often new
/// requests come (a server that cut it would show as `errors_reset` and a second connection).
/// The deadline was 300 ms, which a handshake that lost one packet misses (a QUIC probe timeout is
/// about 1 s at quinn's initial RTT of 333 ms): a CI run beside the loss-proof suite failed with 7
/// resets, what a cut before the first request shows (not reproduced alone or under busy loops).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_servers_first_request_deadline() {
    let (server, target) = emulation::embedded(Protocol::H3, |c| {
        c.header_read_timeout = Duration::from_secs(2);
    })
    .await;
    let mut config = emulation::point(target);
    config.workload.streams_per_client = 2;
    config.workload.posts.rate_per_client = 10.0;
    config.workload.duration = Duration::from_secs(4);
    let out = run(&config).await;
    server.shutdown().await;
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(m.get(Counter::ConnectionsOpened), 1);
    assert!(m.get(Counter::PostsCompleted) >= 10, "{m:?}");
}
