//! HTTP/2 streams that never read while a sibling on the same connection moves (issue 26): the
//! connection makes progress, so no connection-level timeout fires; each stalled stream is reset
//! on its own (RST_STREAM) when its queue overflows or its window stays shut past the write-stall
//! timeout, and what a connection's queues hold is bounded in bytes.

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use http::StatusCode;
use sse_server::Protocol;
use test_support::attacker::{stalled_streams, StreamEnd};
use test_support::{connect, eventually, spawn_server, test_config};

const STALLED: usize = 20;
/// The sibling that keeps the connection moving.
const MOVING: &str = "/events?channel=moving&interval_ms=20";
/// How long the stalled streams may take to be reset once they should be.
const RESET_WITHIN: Duration = Duration::from_secs(5);

/// Every stalled stream was reset (RST_STREAM), and the moving one goes on.
async fn reset_while_the_sibling_moves(streams: &mut test_support::attacker::StalledStreams) {
    let ends = streams.ends(RESET_WITHIN).await;
    assert!(
        ends.iter().all(|e| matches!(e, Some(StreamEnd::Reset(_)))),
        "every stalled stream is reset: {ends:?}"
    );
    let before = streams.moved();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        streams.moving() && streams.moved() > before,
        "the sibling goes on"
    );
}

#[test_support::arms(http2)]
async fn stalled_streams_are_reset_when_their_queue_overflows(p: Protocol) {
    const MESSAGE: usize = 16 * 1024;
    let mut config = test_config();
    config.subscriber_queue = 8;
    let server = spawn_server(config).await;
    let stalled = |_| "/events?channel=stall&interval_ms=60000".to_owned();
    let mut streams = stalled_streams(&server, p, MOVING, stalled, STALLED)
        .await
        .unwrap();
    // Four messages fill a stalled stream's 64 KiB window, eight more its queue, and the next
    // overflows it.
    let mut poster = connect(&server, p).await;
    for _ in 0..24 {
        let (status, body) = poster
            .post("/messages?channel=stall", "x".repeat(MESSAGE))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    reset_while_the_sibling_moves(&mut streams).await;
    let l = server.stats().listener(p).unwrap().clone();
    assert_eq!(
        (l.overflows, l.stream_overflow_resets, l.window_timeouts),
        (STALLED as u64, STALLED as u64, 0)
    );
    eventually("only the moving stream is left", || {
        server.stats().listener(p).unwrap().streams_open == 1
    })
    .await;
}

#[test_support::arms(http2)]
async fn a_stream_whose_window_stays_shut_is_reset_while_its_siblings_move(p: Protocol) {
    const TIMEOUT: Duration = Duration::from_secs(1);
    let mut config = test_config();
    config.write_stall_timeout = TIMEOUT;
    let server = spawn_server(config).await;
    // Ticks of 16 KiB every 20 ms shut a stream's 64 KiB window at once.
    let stalled = |_| "/events?channel=stall&interval_ms=20&size=16384".to_owned();
    let opened = Instant::now();
    let mut streams = stalled_streams(&server, p, MOVING, stalled, STALLED)
        .await
        .unwrap();
    reset_while_the_sibling_moves(&mut streams).await;
    assert!(
        opened.elapsed() >= TIMEOUT,
        "reset at the timeout, not before"
    );
    let l = server.stats().listener(p).unwrap().clone();
    assert_eq!(
        (
            l.stream_window_timeouts,
            l.window_timeouts,
            l.write_timeouts
        ),
        (STALLED as u64, 0, 0)
    );
}

#[test_support::arms(http2)]
async fn what_a_connections_queues_hold_is_bounded_in_bytes(p: Protocol) {
    const MESSAGE: usize = 16 * 1024;
    const BOUND: usize = 256 * 1024;
    let mut config = test_config();
    config.connection_queue_bytes = BOUND;
    let server = spawn_server(config).await;
    // Each stalled stream on a channel of its own: no message is shared between two queues.
    let stalled = |i| format!("/events?channel=stall-{i}&interval_ms=60000");
    let mut streams = stalled_streams(&server, p, MOVING, stalled, STALLED)
        .await
        .unwrap();
    let mut poster = connect(&server, p).await;
    let mut most = 0;
    for round in 0..12 {
        for i in 0..STALLED {
            let path = format!("/messages?channel=stall-{i}");
            let (status, body) = poster.post(&path, "x".repeat(MESSAGE)).await;
            assert_eq!(status, StatusCode::ACCEPTED, "round {round}: {body}");
            most = most.max(server.stats().queued_bytes);
        }
    }
    // Without the bound the queues would hold 20 x 8 = 160 messages (2.5 MiB) and nothing would
    // overflow: the per-stream queue takes 1024.
    assert!(
        most <= (BOUND + MESSAGE + 512) as u64,
        "queued {most} bytes"
    );
    reset_while_the_sibling_moves(&mut streams).await;
    let l = server.stats().listener(p).unwrap().clone();
    assert_eq!(l.connection_queue_overflows, STALLED as u64);
    assert_eq!(server.stats().queued_bytes, 0);
}
