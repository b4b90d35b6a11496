//! `GET /events`: the stream's shape, ids, stamps, heartbeats, count and shutdown, on every
//! listener.

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sse_server::Protocol;
use sse_wire::stamp::{find_sent_ns, now_unix_ns};
use test_support::silent::{silent_connection, Handshake};
use test_support::{
    connect, spawn_default_server, spawn_server, test_config, within, SseItem, SseReader, WAIT,
};

#[test_support::arms(all)]
async fn ticks_carry_ids_and_send_times_then_count_ends_cleanly(p: Protocol) {
    let server = spawn_default_server().await;
    let mut client = connect(&server, p).await;
    let resp = client
        .get("/events?count=3&interval_ms=20&size=64&retry_ms=1500", &[])
        .await;
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let mut stream = SseReader::new(resp);
    assert_eq!(stream.item().await, SseItem::Retry(1500));
    for seq in 1..=3u64 {
        let tick = stream.event().await;
        let parsed_at = now_unix_ns();
        assert_eq!(tick.event_type, "tick");
        assert_eq!(tick.id, format!("0.{seq}"));
        assert_eq!(tick.data.len(), 64, "{}", tick.data);
        assert!(
            tick.data.starts_with(&format!("{{\"seq\":{seq},")),
            "{}",
            tick.data
        );
        let sent_ns = find_sent_ns(&tick.data).expect("a sent_ns stamp");
        assert!(sent_ns <= parsed_at, "stamped in the future");
        assert!(
            parsed_at - sent_ns < WAIT.as_nanos() as u64,
            "stamp too old"
        );
    }
    within(WAIT, "clean end after count", stream.until_end())
        .await
        .expect("the stream ends cleanly");
    let stats = server.stats();
    let listener = stats.listener(p).unwrap();
    assert_eq!(listener.events_sent, 3);
    assert_eq!(listener.streams_open, 0);
}

#[test_support::arms(all)]
async fn heartbeats_are_comments(p: Protocol) {
    let server = spawn_default_server().await;
    let mut client = connect(&server, p).await;
    let resp = client
        .get("/events?interval_ms=60000&heartbeat_ms=30", &[])
        .await;
    let mut stream = SseReader::new(resp);
    assert_eq!(stream.item().await, SseItem::Retry(3000));
    assert_eq!(
        stream.event().await.id,
        "0.1",
        "the first tick comes at once"
    );
    assert_eq!(stream.item().await, SseItem::Comment("hb".into()));
    assert_eq!(stream.item().await, SseItem::Comment("hb".into()));
}

#[test_support::arms(all)]
async fn resumed_ticks_continue_after_the_last_seq(p: Protocol) {
    let server = spawn_default_server().await;
    let mut client = connect(&server, p).await;
    let resp = client
        .get("/events?count=2", &[("last-event-id", "0.41")])
        .await;
    let mut stream = SseReader::new(resp);
    assert_eq!(stream.event().await.id, "0.42");
    assert_eq!(stream.event().await.id, "0.43");
    stream.until_end().await.expect("clean end");
}

#[test_support::arms(all)]
async fn shutdown_ends_streams_cleanly(p: Protocol) {
    let mut config = test_config();
    config.events.interval = Duration::from_secs(60);
    let server = spawn_server(config).await;
    let mut client = connect(&server, p).await;
    let mut stream = SseReader::new(client.get("/events", &[]).await);
    assert_eq!(stream.event().await.event_type, "tick");
    let stopping = tokio::spawn(async move { server.shutdown().await });
    within(WAIT, "stream end at shutdown", stream.until_end())
        .await
        .expect("the stream ends cleanly at shutdown");
    within(WAIT, "shutdown", stopping).await.unwrap();
    client
        .closed()
        .await
        .expect("the connection closes cleanly");
}

#[test_support::arms(all)]
async fn shutdown_does_not_wait_for_idle_connections(p: Protocol) {
    let server = spawn_default_server().await;
    let mut idle = connect(&server, p).await;
    assert_eq!(idle.get_text("/health").await.0, http::StatusCode::OK);
    let _silent = silent_connection(&server, p, Handshake::Tcp).await.unwrap();
    let started = std::time::Instant::now();
    within(WAIT, "shutdown", server.shutdown()).await;
    let took = started.elapsed();
    assert!(
        took < sse_server::SHUTDOWN_GRACE / 2,
        "shutdown took {took:?}"
    );
    idle.closed()
        .await
        .expect("the idle connection is closed cleanly");
}
