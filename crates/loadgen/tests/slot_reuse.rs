//! A freed slot is free again, however it was freed: slots never leak, so a client keeps working
//! for as long as the point runs.
//!
//! - A stream whose response ends gives its slot back, with nobody waiting for it; its reconnect
//!   gets a slot again, every time (every arm).
//! - HTTP/1.1: a connection the server closed while it sat idle in the pool (its keep-alive
//!   timeout) is dropped when the next request finds it, and its slot goes to a new connection
//!   (browsers do the same: a closed idle socket is never reused).

mod common;

use std::time::Duration;

use common::raw::{self, Options, Reply, Step, Then};
use loadgen::{Counter, Protocol, Target};

/// Generates one `#[tokio::test]` per HTTP/1.1 arm calling `$body(arm)`.
macro_rules! for_http1_arms {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn h1() {
                $body(loadgen::Protocol::H1).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn h1_tls() {
                $body(loadgen::Protocol::H1Tls).await
            }
        }
    };
}

fn point(target: Target, streams: u32, post_rate: f64) -> loadgen::PointConfig {
    let mut config = common::point(target);
    config.streams_per_client = streams;
    config.post_rate_per_client = post_rate;
    config.warmup = Duration::from_millis(300);
    config.duration = Duration::from_secs(2);
    config.reconnect_delay = Duration::from_millis(50);
    config
}

/// One stream; the server ends every response after one event; the stream comes back 50 ms
/// later, some twenty times in the point. Six leaked slots would stop it after six.
async fn a_stream_that_keeps_ending_keeps_reconnecting(arm: Protocol) {
    let (target, seen) = raw::serve(arm, |_| Reply {
        then: Then::End,
        ..Reply::events(vec![Step::Write(b"data: one\n\n".to_vec())])
    })
    .await;
    let out = common::run(&point(target, 1, 0.0)).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", common::errors(&out));
    assert!(seen.requests() >= 10, "{} requests", seen.requests());
    let (reconnects, events) = (m.get(Counter::Reconnects), m.get(Counter::EventsReceived));
    assert!(reconnects >= 9, "{reconnects} reconnects");
    assert!(events >= 10, "{events} events");
}
for_all_arms!(
    ending_stream,
    super::a_stream_that_keeps_ending_keeps_reconnecting
);

/// Five streams hold five of the six connections; POSTs every 250 ms share the sixth slot. The
/// server closes a POST's connection 10 ms after answering it, so a POST finds the idle connection
/// closed (unless a late schedule issued two together): it is sent on a new connection instead,
/// and every POST completes.
async fn a_closed_idle_connection_gives_its_slot_back(arm: Protocol) {
    let options = Options {
        keep_alive: Some(Duration::from_millis(10)),
        ..Options::default()
    };
    let (target, seen) = raw::serve_with(arm, options, |_| Reply::events(Vec::new())).await;
    let mut config = point(target, 5, 4.0);
    config.duration = Duration::from_secs(3);
    let out = common::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", common::errors(&out));
    let posts = m.get(Counter::PostsCompleted);
    assert!(posts >= 11, "{posts} of 12 POSTs completed");
    assert!(seen.post_indices().len() as u64 >= posts);
    // Most POSTs needed a new connection: the closed ones were not reused.
    let opened = m.get(Counter::ConnectionsOpened);
    assert!(
        opened > 5 + posts / 2,
        "{opened} connections for {posts} POSTs"
    );
}
for_http1_arms!(
    closed_idle,
    super::a_closed_idle_connection_gives_its_slot_back
);
