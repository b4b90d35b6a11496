//! The wait queue end to end: requests that find every slot taken are served in the order they
//! were made, on every arm.
//!
//! Chromium keeps one FIFO queue per priority (`ClientSocketPool` for HTTP/1.1; for HTTP/2
//! `SpdySession::pending_create_stream_queues_`, `scripts/chromium-h2-capture/FINDINGS.md` Q2), and
//! an EventSource and a `fetch` POST share one priority, so equal requests leave in request order.
//! The order is made visible with POSTs: each body carries its token, whose index is the POST's
//! place in the client's open-loop schedule (`sse_wire::stamp`), and the scripted server records
//! the bodies in order of arrival.

mod common;

use std::time::Duration;

use common::raw::{self, H2Options, Reply, Step, Then};
use loadgen::{Counter, Latency, Protocol};

/// The streams holding every slot: the pool's six connections on HTTP/1.1; on HTTP/2, a server
/// that allows this many concurrent streams.
const SLOTS: usize = loadgen::defaults::CONNECTIONS_PER_ORIGIN;

/// Six streams take every slot; POSTs scheduled every 100 ms from 500 ms on queue behind them.
/// After 2 s the server ends one stream: its one slot then carries the queued POSTs one after
/// the other (each gives the slot back when its response is read), so the server sees them in the
/// order the queue hands them out. That must be their request order: 0, 1, 2, ...
async fn queued_requests_are_served_in_request_order(arm: Protocol) {
    let options = H2Options {
        max_concurrent_streams: Some(SLOTS as u32),
        ..H2Options::default()
    };
    let (target, seen) = raw::serve_with(arm, options, |n| {
        let hold = Reply::events(vec![Step::Write(b"data: holding a slot\n\n".to_vec())]);
        if n == 0 {
            Reply {
                then: Then::End,
                ..Reply::events(vec![
                    Step::Write(b"data: ends soon\n\n".to_vec()),
                    Step::Sleep(Duration::from_secs(2)),
                ])
            }
        } else {
            hold
        }
    })
    .await;
    let mut config = common::point(target);
    config.streams_per_client = SLOTS as u32;
    config.post_rate_per_client = 10.0;
    config.warmup = Duration::from_millis(500);
    config.duration = Duration::from_secs(3);
    config.reconnect_delay = Duration::from_secs(30);
    let out = common::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", common::errors(&out));
    assert_eq!(m.get(Counter::StreamsOpened), SLOTS as u64);

    let order = seen.post_indices();
    let served: Vec<Option<u64>> = (0..order.len() as u64).map(Some).collect();
    assert_eq!(
        order, served,
        "POSTs reached the server out of request order"
    );
    assert!(
        order.len() >= 15,
        "only {} of 30 POSTs were served",
        order.len()
    );
    // The order means something only if many POSTs waited together: the fifteen scheduled from
    // 0.5 s to 1.9 s waited for the slot freed after 2 s, the first twelve of them 0.4 s or more.
    let waits = m.histogram(Latency::PostQueueWait);
    let long = waits.count_between(400_000, u64::MAX);
    assert!(long >= 10, "{long} POSTs waited 400 ms or more");
}
for_all_arms!(fifo, super::queued_requests_are_served_in_request_order);
