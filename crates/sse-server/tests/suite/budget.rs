//! The hub's memory budget on every listener: the channel limit and the replay budget answer 503
//! with a body that says which, counted apart, once no channel without a subscriber can make room
//! (channels nobody watches give way: `abuse_channels.rs`); idle channels are evicted with their
//! rings.

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use http::StatusCode;
use sse_server::Protocol;
use sse_server::RunningServer;
use test_support::{connect, eventually, spawn_server, test_config, SseReader, TestClient};

/// A subscriber on each of `channels`, so that none can be displaced.
async fn watch(
    server: &RunningServer,
    p: Protocol,
    channels: &[&str],
) -> Vec<(TestClient, SseReader)> {
    let mut watchers = Vec::new();
    for name in channels {
        let mut watcher = connect(server, p).await;
        let stream = SseReader::new(watcher.get(&format!("/events?channel={name}"), &[]).await);
        watchers.push((watcher, stream));
    }
    watchers
}

#[test_support::arms(all)]
async fn a_request_over_the_channel_limit_gets_503_and_is_counted(p: Protocol) {
    let mut config = test_config();
    config.max_channels = 3;
    let server = spawn_server(config).await;
    let _watchers = watch(&server, p, &["a", "b", "c"]).await;
    let mut client = connect(&server, p).await;
    for name in ["a", "b", "c"] {
        let (status, body) = client.post(&format!("/messages?channel={name}"), "m").await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let (status, body) = client.post("/messages?channel=d", "m").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.starts_with("channel limit reached: 3 channels"),
        "{body}"
    );
    let (status, _, body) = client.get_text("/events?channel=e").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.starts_with("channel limit reached"), "{body}");
    // Existing channels are served as before.
    assert_eq!(
        client.post("/messages?channel=a", "m").await.0,
        StatusCode::ACCEPTED
    );
    let mut stream = SseReader::new(client.get("/events?channel=b", &[]).await);
    stream.event_of("tick").await;
    let stats = server.stats();
    let l = stats.listener(p).unwrap();
    assert_eq!((l.channel_limit_refusals, l.replay_budget_refusals), (2, 0));
    assert_eq!((stats.channels, stats.messages), (3, 4));
}

#[test_support::arms(all)]
async fn a_message_over_the_replay_budget_gets_503_and_is_counted(p: Protocol) {
    const BODY: usize = 10_000;
    let mut config = test_config();
    // Room for three such messages (each costs its encoded event plus a little).
    config.replay_budget_bytes = 3 * BODY + 3 * 200;
    let server = spawn_server(config).await;
    let _watchers = watch(&server, p, &["a", "b", "c"]).await;
    let mut client = connect(&server, p).await;
    let body = "x".repeat(BODY);
    for name in ["a", "b", "c"] {
        let (status, reply) = client
            .post(&format!("/messages?channel={name}"), body.clone())
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
    }
    let (status, reply) = client.post("/messages?channel=d", body.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.starts_with("replay budget full"), "{reply}");
    // A channel with history makes room by dropping its own oldest message.
    assert_eq!(
        client.post("/messages?channel=a", body.clone()).await.0,
        StatusCode::ACCEPTED
    );
    let stats = server.stats();
    let l = stats.listener(p).unwrap();
    assert_eq!((l.replay_budget_refusals, l.channel_limit_refusals), (1, 0));
    assert_eq!((stats.channels, stats.messages), (3, 4));
    assert!(stats.replay_bytes <= stats.replay_budget_bytes, "{stats:?}");
    assert!(stats.replay_bytes >= 3 * BODY as u64, "{stats:?}");
}

#[test_support::arms(all)]
async fn idle_channels_are_evicted_with_their_rings(p: Protocol) {
    let mut config = test_config();
    config.channel_idle_timeout = Duration::from_secs(1);
    let server = spawn_server(config).await;
    let mut client = connect(&server, p).await;
    let mut watcher = connect(&server, p).await;
    let mut watched = SseReader::new(watcher.get("/events?channel=watched", &[]).await);
    watched.event_of("tick").await;
    for name in ["gone-1", "gone-2", "watched"] {
        client
            .post(&format!("/messages?channel={name}"), "x".repeat(1000))
            .await;
    }
    assert_eq!(server.stats().channels, 3);
    eventually("the unwatched channels are evicted", || {
        let stats = server.stats();
        (stats.channels, stats.channels_evicted) == (1, 2)
    })
    .await;
    let stats = server.stats();
    assert!(
        stats.replay_bytes > 1000 && stats.replay_bytes < 2000,
        "only the watched channel's message is kept: {stats:?}"
    );
    // The watched channel lives on; an evicted one comes back fresh, ids from 1.
    assert_eq!(watched.event_of("message").await.id, "1");
    let (status, reply) = client.post("/messages?channel=gone-1", "again").await;
    assert_eq!(
        (status, reply.as_str()),
        (StatusCode::ACCEPTED, r#"{"id":1,"subscribers":0}"#)
    );
    drop(watched);
    drop(watcher);
    eventually(
        "the watched channel is evicted once nobody watches it",
        || server.stats().channels_evicted == 4,
    )
    .await;
    assert_eq!(server.stats().replay_bytes, 0);
}
