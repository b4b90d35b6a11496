//! HTTP/2 stream slots counted as Chromium counts them, on both HTTP/2 arms, each expectation from
//! a capture of Chromium 156 on this machine (`scripts/chromium-h2-capture/FINDINGS.md`):
//!
//! - Q2: a server allowing 3 streams gets exactly 3 at once; the others wait in the browser, and
//!   each goes out on the same connection when a stream ends;
//! - Q3: a server allowing 1000 streams gets 256 (`kMaxConcurrentStreamLimit`): with 300
//!   EventSources, 256 open and 44 wait, on one connection.
//!
//! The server counts how many of its responses are open at once: with 1000 allowed, a client
//! that opened one stream too many would show it there, not only in its own counters; with 3
//! allowed (which the server enforces), it shows that the client uses all three.

use std::time::Duration;

use loadgen::{BrowserProfile, Counter, PointOutcome, Protocol, Target, BROWSER_STREAM_CAP};
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

async fn run_streams(target: Target, streams: u32) -> PointOutcome {
    run_streams_as(target, streams, BrowserProfile::Chromium).await
}

async fn run_streams_as(target: Target, streams: u32, profile: BrowserProfile) -> PointOutcome {
    let mut config = emulation::point(target);
    config.profile = profile;
    config.workload.streams_per_client = streams;
    config.workload.warmup = Duration::from_millis(500);
    config.workload.duration = Duration::from_millis(2000);
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

/// Ten streams, a server allowing three, each stream ending 300 ms after it started: three run
/// at a time, and the ten go through in four rounds, all on the first connection.
#[test_support::arms(http2, flavor = "multi_thread", worker_threads = 2)]
async fn limit_3(arm: Protocol) {
    let options = Options {
        max_concurrent_streams: Some(3),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, |_| Reply {
        then: Then::End,
        ..Reply::events(vec![
            Step::Write(b"data: short\n\n".to_vec()),
            Step::Sleep(Duration::from_millis(300)),
        ])
    })
    .await;
    let out = run_streams(target, 10).await;
    let m = &out.metrics;
    assert_eq!(seen.max_open(), 3, "streams open at once, server view");
    assert_eq!(seen.requests(), 10);
    assert_eq!(m.get(Counter::StreamsOpened), 10);
    assert_eq!(out.streams_queued_at_end, 0);
    assert_eq!(m.get(Counter::ConnectionsOpened), 1);
    assert_eq!(m.get(Counter::ConnectionsCarryingRequests), 1);
}

/// 300 streams, a server allowing 1000: Chromium's cap, 256, open; 44 wait on the same
/// connection.
#[test_support::arms(http2, flavor = "multi_thread", worker_threads = 2)]
async fn cap_256(arm: Protocol) {
    assert_eq!(BROWSER_STREAM_CAP, 256);
    let options = Options {
        max_concurrent_streams: Some(1000),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, |_| ticking()).await;
    let out = run_streams(target, 300).await;
    let m = &out.metrics;
    assert_eq!(m.get(Counter::StreamsOpened), 256);
    assert_eq!(out.streams_open_at_end, 256);
    assert_eq!(out.streams_queued_at_end, 300 - 256);
    assert_eq!(seen.requests(), 256);
    assert_eq!(seen.max_open(), 256, "streams open at once, server view");
    assert_eq!(m.get(Counter::ConnectionsCarryingRequests), 1);
}

/// The same with Firefox's rules: Firefox takes the server's limit uncapped
/// (`Http2Session::RecvSettings`; captured: 300 open against a limit of 1000), so all 300 open
/// on the one connection.
#[test_support::arms(http2, flavor = "multi_thread", worker_threads = 2)]
async fn firefox_uncapped(arm: Protocol) {
    let options = Options {
        max_concurrent_streams: Some(1000),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, |_| ticking()).await;
    let out = run_streams_as(target, 300, BrowserProfile::Firefox).await;
    let m = &out.metrics;
    assert_eq!(m.get(Counter::StreamsOpened), 300);
    assert_eq!(out.streams_queued_at_end, 0);
    assert_eq!(seen.max_open(), 300, "streams open at once, server view");
    assert_eq!(m.get(Counter::ConnectionsCarryingRequests), 1);
}
