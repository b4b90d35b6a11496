//! The wait queue end to end: requests that find every slot taken are served in the order they
//! were made, on every arm with the HTTP pools (WebSockets queue for their handshake instead:
//! `websocket.rs`).
//!
//! Chromium keeps one FIFO queue per priority (`ClientSocketPool` for HTTP/1.1; for HTTP/2
//! `SpdySession::pending_create_stream_queues_`, `scripts/chromium-h2-capture/FINDINGS.md` Q2), and
//! an EventSource and a `fetch` POST share one priority, so equal requests leave in request order.
//! The order is made visible with POSTs: each body carries its token, whose index is the POST's
//! place in the client's open-loop schedule (`sse_wire::stamp`), and the scripted server records
//! the bodies in order of arrival.

use std::time::{Duration, Instant};

use loadgen::{Counter, Latency, Protocol};
use test_support::emulation;
use test_support::scripted::{self, Options, Reply, Step, Then};

/// The streams holding every slot: the pool's six connections on HTTP/1.1; on HTTP/2, a server
/// that allows this many concurrent streams.
const SLOTS: usize = loadgen::defaults::CONNECTIONS_PER_ORIGIN;

/// Six streams take every slot; POSTs scheduled every 100 ms from 500 ms on queue behind them.
/// After 2 s the server ends one stream: its one slot then carries the queued POSTs one after
/// the other (each gives the slot back when its response is read), so the server sees them in the
/// order the queue hands them out. That must be their request order: 0, 1, 2, ...
///
/// With `stall`, the runtime is blocked over that span first, so the POSTs scheduled meanwhile are
/// issued back to back when it resumes.
async fn queued_posts_reach_the_server_in_request_order(
    arm: Protocol,
    stall: Option<(Duration, Duration)>,
) {
    let options = Options {
        max_concurrent_streams: Some(SLOTS as u32),
        ..Options::default()
    };
    let (target, seen) = scripted::serve_with(arm, options, |n| {
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
    let mut config = emulation::point(target);
    config.workload.streams_per_client = SLOTS as u32;
    config.workload.posts.rate_per_client = 10.0;
    config.workload.warmup = Duration::from_millis(500);
    config.workload.duration = Duration::from_secs(3);
    config.workload.reconnect_delay = Duration::from_secs(30);
    let stall = stall.map(|(from, length)| {
        let start = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep_until((start + from).into()).await;
            // Blocks the runtime's one worker on purpose.
            std::thread::sleep(length);
        })
    });
    let out = emulation::run(&config).await;
    if let Some(stall) = stall {
        stall.await.expect("the stall ends");
    }
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(m.get(Counter::StreamsOpened), SLOTS as u64);

    let order = seen.post_indices();
    let served: Vec<Option<u64>> = (0..order.len() as u64).map(Some).collect();
    assert_eq!(
        order, served,
        "POSTs reached the server out of request order"
    );
    // The POSTs scheduled after the queue emptied find the slot free (an idle connection on
    // HTTP/1.1), and are served before the point ends but for the last few, whose round trip a
    // loaded machine can push past the end: the floor leaves those scheduled in the last 0.5 s.
    // It is a timing bound, not a count let through: the server saw exactly the first N in
    // request order (above), so a POST stuck in the queue would have stopped every one after it.
    assert!(
        order.len() >= 25,
        "only {} of 30 POSTs were served",
        order.len()
    );
    // And none went missing: with no error, each of the 30 completed or was on its way at the
    // end.
    assert_eq!(m.get(Counter::PostsScheduled), 30);
    assert_eq!(
        m.get(Counter::PostsCompleted) + out.posts_stalled_at_end,
        30
    );
    // A POST read to the end gives its HTTP/1.1 connection back for the next request: the
    // queued POSTs share one connection, the seventh; HTTP/2 has its one connection.
    let connections = if arm.is_multiplexed() {
        1
    } else {
        SLOTS as u64 + 1
    };
    assert_eq!(m.get(Counter::ConnectionsOpened), connections);
    // The order means something only if many POSTs waited together: the fifteen scheduled from
    // 0.5 s to 1.9 s waited for the slot freed after 2 s, the first twelve of them 0.4 s or more.
    let waits = m.histogram(Latency::PostQueueWait);
    let long = waits.count_between(400_000, u64::MAX);
    assert!(long >= 10, "{long} POSTs waited 400 ms or more");
}

#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn fifo(arm: Protocol) {
    queued_posts_reach_the_server_in_request_order(arm, None).await;
}

/// The client's only worker is blocked from 0.65 s to 1.65 s: the POSTs scheduled from 0.7 s to
/// 1.6 s are issued together when it resumes, and still queue (and are served) in request order.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 1)]
async fn issued_together(arm: Protocol) {
    let stall = (Duration::from_millis(650), Duration::from_secs(1));
    queued_posts_reach_the_server_in_request_order(arm, Some(stall)).await;
}

/// Two streams, both granted a slot at once (two of six on HTTP/1.1, two of 100 on HTTP/2): the
/// first response ends after 500 ms, the second one's head comes only after 1.5 s. Neither waited
/// for a slot, so `queue_wait`, which ends at the grant (before the connection and the response),
/// is short for both: the second stream's does not run on to the end of the first, which freed a
/// slot it never needed, nor to its own response head.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn granted_at_once(arm: Protocol) {
    let (target, seen) = scripted::serve(arm, |n| {
        if n == 0 {
            Reply {
                then: Then::End,
                ..Reply::events(vec![
                    Step::Write(b"data: ends soon\n\n".to_vec()),
                    Step::Sleep(Duration::from_millis(500)),
                ])
            }
        } else {
            Reply {
                head_delay: Duration::from_millis(1500),
                ..Reply::events(vec![Step::Write(b"data: late\n\n".to_vec())])
            }
        }
    })
    .await;
    let mut config = emulation::point(target);
    config.workload.streams_per_client = 2;
    config.workload.warmup = Duration::from_millis(200);
    config.workload.duration = Duration::from_millis(2300);
    config.workload.reconnect_delay = Duration::from_secs(30);
    let out = emulation::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(seen.requests(), 2);
    assert_eq!(m.get(Counter::StreamsOpened), 2, "the late head came");
    let wait = m.latency(Latency::QueueWait);
    assert_eq!(wait.count, 2, "{wait:?}");
    assert_eq!(m.censored(Latency::QueueWait), 0);
    // A grant takes no time; 250 ms is half the first stream's life, a margin for a busy machine.
    assert!(
        wait.max < 250_000,
        "queue_wait {wait:?}: a stream granted at once waited"
    );
}
