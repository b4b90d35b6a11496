//! Replays told apart from live events, on every arm with event streams (a WebSocket never
//! resumes): a stream that reconnects with `Last-Event-ID` gets the messages published while it
//! was away from the server's replay ring.
//! The catalog (`vocab`, `replayed_events`, `fanout`, `replay_fanout`) says how they are counted:
//! an event carrying a POST token, received on a resumed connection, whose POST had completed
//! before that connection's request was sent, can only have come from the replay. It is counted in
//! `replayed_events` and timed in `replay_fanout`, never in `fanout`.

use std::time::Duration;

use loadgen::{Counter, Latency, Protocol};
use sse_server::{CloseMode, CloseStreams, FaultConfig};
use test_support::emulation;

/// Two clients of two streams, POSTing 20 times a second; the server ends every stream 300 ms
/// after it opened and tells it to come back 300 ms later (`retry:`): about six POSTs complete
/// during each absence, and each is replayed when the stream is back.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn away(arm: Protocol) {
    let (server, target) = emulation::embedded(arm, |c| {
        c.events.retry_ms = 300;
        c.replay_ring = 4096;
        c.faults = FaultConfig {
            close_streams: Some(CloseStreams {
                every: Duration::from_millis(300),
                mode: CloseMode::Clean,
            }),
            ..FaultConfig::default()
        };
    })
    .await;
    let mut config = emulation::point(target);
    config.workload.clients = 2;
    config.workload.streams_per_client = 2;
    config.workload.posts.rate_per_client = 20.0;
    config.workload.duration = Duration::from_secs(2);
    let out = emulation::run(&config).await;
    server.shutdown().await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    let reconnects = m.get(Counter::Reconnects);
    assert!(reconnects >= 4, "{reconnects} reconnects");
    let replayed = m.get(Counter::ReplayedEvents);
    assert!(replayed >= 10, "{replayed} replayed events");
    assert_eq!(m.latency(Latency::ReplayFanout).count, replayed);
    // Every event of a POST reaches every stream once: live (fanout) or replayed.
    let tally = out.delivery.expect("small enough to track");
    assert_eq!((tally.lost, tally.duplicated), (0, 0), "{tally:?}");
    // A replayed event waited at least for its stream to come back: longer than a live one.
    let (live, replay) = (m.latency(Latency::Fanout), m.latency(Latency::ReplayFanout));
    assert!(replay.p50 > live.p50, "live {live:?}, replayed {replay:?}");
}
