//! HTTP/2 connections that stay open doing nothing useful: idle after their requests, a peer
//! that stopped answering PINGs, a peer that keeps its flow-control windows shut. Each is closed
//! and counted under its own name, and a busy connection beside it is left alone.

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use http::StatusCode;
use sse_server::Protocol;
use test_support::abuse::{get_request, raw_connect};
use test_support::client::listener_addr;
use test_support::stall::zero_window_reader;
use test_support::{connect, eventually, spawn_server, test_config, within, SseReader, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test_support::arms(http2)]
async fn an_idle_connection_gets_goaway_at_the_idle_timeout(p: Protocol) {
    let mut config = test_config();
    config.http2_idle_timeout = Duration::from_millis(300);
    let server = spawn_server(config).await;
    let mut busy = connect(&server, p).await;
    let mut stream = SseReader::new(busy.get("/events?interval_ms=100", &[]).await);
    let mut idle = connect(&server, p).await;
    assert_eq!(idle.get_text("/health").await.0, StatusCode::OK);
    // GOAWAY(NO_ERROR) with no stream open: the client's connection ends cleanly.
    within(WAIT, "the idle connection is closed", idle.closed())
        .await
        .expect("a graceful GOAWAY");
    // The connection with an open event stream is not idle, however long it lasts.
    for _ in 0..5 {
        stream.event_of("tick").await;
    }
    assert!(!busy.is_finished());
    let l = server.stats().listener(p).unwrap().clone();
    assert_eq!((l.idle_timeouts, l.connections_open), (1, 1));
}

#[test_support::arms(http2)]
async fn a_peer_that_does_not_answer_pings_is_closed(p: Protocol) {
    let mut config = test_config();
    config.http2_keepalive_interval = Some(Duration::from_millis(200));
    config.http2_keepalive_timeout = Duration::from_millis(300);
    let server = spawn_server(config).await;
    // A raw client: preface, SETTINGS, one event stream; then it neither reads nor answers.
    let mut dead = raw_connect(&server, p).await.unwrap();
    let request = get_request(
        p,
        listener_addr(&server, p),
        "/events?interval_ms=60000",
        65_535,
    );
    dead.write_all(&request).await.unwrap();
    eventually("the silent peer's connection is closed as dead", || {
        let l = server.stats().listener(p).unwrap().clone();
        (
            l.keepalive_timeouts,
            l.timeouts,
            l.connections_open,
            l.streams_open,
        ) == (1, 0, 0, 0)
    })
    .await;
    // A live client answers PINGs (the h2 crate does) and keeps its connection.
    let mut live = connect(&server, p).await;
    let mut stream = SseReader::new(live.get("/events?interval_ms=100", &[]).await);
    for _ in 0..8 {
        stream.event_of("tick").await;
    }
    assert_eq!(server.stats().listener(p).unwrap().keepalive_timeouts, 1);
    let mut buf = vec![0u8; 4096];
    let end = within(WAIT, "the dead peer sees its connection end", async {
        loop {
            match dead.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    });
    end.await;
}

#[test_support::arms(http2)]
async fn a_zero_window_reader_is_reset_at_the_write_stall_timeout(p: Protocol) {
    const STREAMS: usize = 10;
    let mut config = test_config();
    config.write_stall_timeout = Duration::from_millis(500);
    let server = spawn_server(config).await;
    let mut healthy = connect(&server, p).await;
    let mut stream = SseReader::new(healthy.get("/events?interval_ms=50", &[]).await);
    let mut reader = zero_window_reader(&server, p, "/events?interval_ms=50", STREAMS)
        .await
        .unwrap();
    assert_eq!(
        server.stats().listener(p).unwrap().streams_open,
        STREAMS as u64 + 1
    );
    let end = reader.closed(WAIT).await;
    assert!(end.is_some(), "the zero-window connection is closed");
    eventually("its streams end and the timeout is counted", || {
        let l = server.stats().listener(p).unwrap().clone();
        (l.window_timeouts, l.write_timeouts, l.streams_open) == (1, 0, 1)
    })
    .await;
    // The healthy stream on its own connection goes on.
    for _ in 0..4 {
        stream.event_of("tick").await;
    }
    assert!(!healthy.is_finished());
}
