//! HTTP/2 streams the server did not process are sent again; streams it failed are errors. On
//! both HTTP/2 arms.
//!
//! RFC 9113, section 8.7: a stream reset with REFUSED_STREAM (or above a GOAWAY's last stream id)
//! was not processed and may be retried; Chromium retries it transparently
//! (`scripts/chromium-h2-capture/FINDINGS.md`, Q4 and Q5). ssebench retries it at most
//! `MAX_UNPROCESSED_RETRIES` (3) times, so that a server refusing everything cannot keep a request
//! looping: the fourth refusal counts as an error. Any other reset was processed (or may have
//! been): it is an error at once, never sent again.

use std::time::Duration;

use loadgen::{Counter, ErrorClass, PointOutcome, Protocol, Target};
use test_support::emulation;
use test_support::scripted::{self, Options, Reply};

/// One stream for 1 s; after a failure it would reconnect only after 30 s.
async fn run_one_stream(target: Target) -> PointOutcome {
    let mut config = emulation::point(target);
    config.workload.warmup = Duration::ZERO;
    config.workload.duration = Duration::from_secs(1);
    config.workload.reconnect_delay = Duration::from_secs(30);
    let out = emulation::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    out
}

/// A server that refuses every stream: the request goes out four times (the first try and three
/// retries), then the refusal is one `errors_rst_stream`.
#[test_support::arms(http2, flavor = "multi_thread", worker_threads = 2)]
async fn refused_streams(arm: Protocol) {
    let options = Options {
        reset_streams: Some(h2::Reason::REFUSED_STREAM),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, |_| Reply::events(Vec::new())).await;
    let out = run_one_stream(target).await;
    let m = &out.metrics;
    assert_eq!(seen.requests(), 1 + 3);
    assert_eq!(m.get(Counter::RequestsRetried), 3);
    assert_eq!(
        m.errors(ErrorClass::RstStream),
        1,
        "{:?}",
        emulation::errors(&out)
    );
    assert_eq!(m.total_errors(), 1);
    assert_eq!(m.get(Counter::StreamsOpened), 0);
}

/// A server that resets every stream with INTERNAL_ERROR: one request, one error, no retry.
#[test_support::arms(http2, flavor = "multi_thread", worker_threads = 2)]
async fn reset_streams(arm: Protocol) {
    let options = Options {
        reset_streams: Some(h2::Reason::INTERNAL_ERROR),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, |_| Reply::events(Vec::new())).await;
    let out = run_one_stream(target).await;
    let m = &out.metrics;
    assert_eq!(seen.requests(), 1);
    assert_eq!(m.get(Counter::RequestsRetried), 0);
    assert_eq!(
        m.errors(ErrorClass::RstStream),
        1,
        "{:?}",
        emulation::errors(&out)
    );
    assert_eq!(m.total_errors(), 1);
}
