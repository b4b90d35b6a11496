//! A freed slot is free again, however it was freed: slots never leak, so a client keeps working
//! for as long as the point runs.
//!
//! - A stream whose response ends gives its slot back, with nobody waiting for it; its reconnect
//!   gets a slot again, every time (every arm with the HTTP pools).
//! - HTTP/1.1: a connection the server closed while it sat idle in the pool (its keep-alive
//!   timeout) is dropped when the next request finds it, and its slot goes to a new connection
//!   (browsers do the same: a closed idle socket is never reused).

use std::time::Duration;

use loadgen::{Counter, Protocol, Target};
use test_support::emulation;
use test_support::scripted::{self, Options, Reply, Step, Then};

fn point(target: Target, streams: u32, post_rate: f64) -> loadgen::PointConfig {
    let mut config = emulation::point(target);
    config.workload.streams_per_client = streams;
    config.workload.posts.rate_per_client = post_rate;
    config.workload.warmup = Duration::from_millis(300);
    config.workload.duration = Duration::from_secs(2);
    config.workload.reconnect_delay = Duration::from_millis(50);
    config
}

/// One stream; the server ends every response after one event; the stream comes back 50 ms
/// later, some twenty times in the point. Six leaked slots would stop it after six.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn ending_stream(arm: Protocol) {
    let (target, seen) = scripted::serve(arm, |_| Reply {
        then: Then::End,
        ..Reply::events(vec![Step::Write(b"data: one\n\n".to_vec())])
    })
    .await;
    let out = emulation::run(&point(target, 1, 0.0)).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert!(seen.requests() >= 10, "{} requests", seen.requests());
    let (reconnects, events) = (m.get(Counter::Reconnects), m.get(Counter::EventsReceived));
    assert!(reconnects >= 9, "{reconnects} reconnects");
    assert!(events >= 10, "{events} events");
    // Counted once each: one event per answered request but perhaps the last (its event after
    // the end), one reconnect per request after the first, give or take the one under way at
    // the end.
    let requests = seen.requests() as u64;
    assert!(
        (requests - 1..=requests).contains(&events),
        "{events} events for {requests} requests"
    );
    assert!(
        (requests - 1..=requests).contains(&reconnects),
        "{reconnects} reconnects for {requests} requests"
    );
}

/// Five streams hold five of the six connections; POSTs every 250 ms share the sixth slot. The
/// server closes a POST's connection 10 ms after answering it, so a POST finds the idle connection
/// closed (unless a late schedule issued two together): it is sent on a new connection instead,
/// and every POST completes.
#[test_support::arms(http1, flavor = "multi_thread", worker_threads = 2)]
async fn closed_idle(arm: Protocol) {
    let options = Options {
        keep_alive: Some(Duration::from_millis(10)),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, |_| Reply::events(Vec::new())).await;
    let mut config = point(target, 5, 4.0);
    config.workload.duration = Duration::from_secs(3);
    let out = emulation::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    let posts = m.get(Counter::PostsCompleted);
    assert_eq!(m.get(Counter::PostsScheduled), 12, "4 a second for 3 s");
    // None failed (no error): each completed, or the last was on its way at the end.
    assert_eq!(posts + out.posts_stalled_at_end, 12);
    assert!(
        out.posts_stalled_at_end <= 1,
        "{posts} of 12 POSTs completed"
    );
    assert!(seen.post_indices().len() as u64 >= posts);
    // Most POSTs needed a new connection: the closed ones were not reused.
    let opened = m.get(Counter::ConnectionsOpened);
    assert!(
        opened > 5 + posts / 2,
        "{opened} connections for {posts} POSTs"
    );
}
