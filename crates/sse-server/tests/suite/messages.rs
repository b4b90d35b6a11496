//! `POST /messages` and what subscribers get: fan-out across connections, replay after a
//! reconnect, replay gaps, body limits and the slow-subscriber policy, on every listener.

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use http::StatusCode;
use sse_server::Protocol;
use test_support::{
    connect, eventually, spawn_default_server, spawn_server, test_config, within, SseEvent,
    SseReader, WAIT,
};

#[test_support::arms(all)]
async fn a_post_reaches_a_subscriber_on_another_connection(p: Protocol) {
    let server = spawn_default_server().await;
    let mut subscriber = connect(&server, p).await;
    let mut stream = SseReader::new(subscriber.get("/events?channel=room", &[]).await);
    assert_eq!(stream.event().await.id, "0.1");

    let mut poster = connect(&server, p).await;
    let (status, body) = poster.post("/messages?channel=room", "hello\nworld").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::ACCEPTED, r#"{"id":1,"subscribers":1}"#)
    );
    let (_, body) = poster
        .post("/messages?channel=elsewhere", "not for room")
        .await;
    assert_eq!(body, r#"{"id":1,"subscribers":0}"#);

    let message = stream.event_of("message").await;
    assert_eq!(
        (message.id.as_str(), message.data.as_str()),
        ("1", "hello\nworld")
    );
    let tick = stream.event_of("tick").await;
    assert!(
        tick.id.starts_with("1."),
        "tick id {} carries the last message id",
        tick.id
    );
    let stats = server.stats();
    assert_eq!(
        (stats.messages, stats.subscribers, stats.channels),
        (2, 1, 2)
    );
    assert_eq!(stats.listener(p).unwrap().messages_sent, 1);
}

#[test_support::arms(all)]
async fn reconnecting_with_last_event_id_replays_exactly_the_missed_messages(p: Protocol) {
    let server = spawn_default_server().await;
    let mut poster = connect(&server, p).await;
    let mut subscriber = connect(&server, p).await;
    let mut stream = SseReader::new(subscriber.get("/events?channel=c", &[]).await);
    stream.event_of("tick").await;
    poster.post("/messages?channel=c", "one").await;
    assert_eq!(stream.event_of("message").await.data, "one");
    let last_tick = stream.event_of("tick").await;
    let last_seq: u64 = last_tick.id.strip_prefix("1.").unwrap().parse().unwrap();
    drop(stream);
    drop(subscriber);
    eventually("the server notices the disconnect", || {
        server.stats().subscribers == 0
    })
    .await;

    for text in ["two", "three\nlines", "four"] {
        assert_eq!(
            poster.post("/messages?channel=c", text).await.0,
            StatusCode::ACCEPTED
        );
    }
    let mut subscriber = connect(&server, p).await;
    let resp = subscriber
        .get("/events?channel=c", &[("last-event-id", &last_tick.id)])
        .await;
    let mut stream = SseReader::new(resp);
    let replayed: Vec<SseEvent> = vec![
        stream.event().await,
        stream.event().await,
        stream.event().await,
    ];
    let got: Vec<(&str, &str, &str)> = replayed
        .iter()
        .map(|e| (e.event_type.as_str(), e.id.as_str(), e.data.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("message", "2", "two"),
            ("message", "3", "three\nlines"),
            ("message", "4", "four")
        ]
    );
    let tick = stream.event().await;
    assert_eq!(
        tick.id,
        format!("4.{}", last_seq + 1),
        "ticks resume after the replay"
    );
}

#[test_support::arms(all)]
async fn a_ring_too_small_reports_a_replay_gap(p: Protocol) {
    let mut config = test_config();
    config.replay_ring = 2;
    let server = spawn_server(config).await;
    let mut client = connect(&server, p).await;
    for i in 1..=5 {
        client.post("/messages?channel=g", format!("m{i}")).await;
    }
    let resp = client
        .get("/events?channel=g", &[("last-event-id", "0.7")])
        .await;
    let mut stream = SseReader::new(resp);
    let gap = stream.event().await;
    assert_eq!(gap.event_type, "replay-gap");
    assert_eq!(gap.data, r#"{"missed_from":1,"missed_to":3}"#);
    assert_eq!(gap.id, "3.7");
    let kept: Vec<(String, String)> = vec![stream.event().await, stream.event().await]
        .into_iter()
        .map(|e| (e.id, e.data))
        .collect();
    assert_eq!(kept, [("4".into(), "m4".into()), ("5".into(), "m5".into())]);
    assert_eq!(stream.event().await.id, "5.8");
}

#[test_support::arms(all)]
async fn bodies_over_the_limit_get_413_and_non_utf8_gets_400(p: Protocol) {
    let mut config = test_config();
    config.max_body_bytes = 1000;
    let server = spawn_server(config).await;
    let mut client = connect(&server, p).await;
    let (status, _) = client.post("/messages", vec![b'a'; 1000]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = client.post("/messages", vec![b'a'; 1001]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body.contains("1000"), "{body}");
    let mut client = connect(&server, p).await;
    let (status, body) = client.post("/messages", vec![0xff, 0xfe]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, "message body is not UTF-8\n")
    );
    let (status, body) = client.post("/messages?chanel=x", "typo").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(server.stats().messages, 1);
}

#[test_support::arms(all)]
async fn a_slow_subscriber_is_closed_and_counted(p: Protocol) {
    const MESSAGE: usize = 512 * 1024;
    let mut config = test_config();
    config.subscriber_queue = 2;
    config.max_body_bytes = MESSAGE;
    let server = spawn_server(config).await;
    let mut subscriber = connect(&server, p).await;
    let mut stream = SseReader::new(subscriber.get("/events?channel=s", &[]).await);
    stream.event_of("tick").await;

    // The subscriber stops reading: socket buffers and flow-control windows fill, the server stops
    // polling its body, its queue fills, and the next message overflows it.
    let mut poster = connect(&server, p).await;
    let body = "x".repeat(MESSAGE);
    within(WAIT, "an overflow", async {
        while server.stats().listener(p).unwrap().overflows == 0 {
            assert_eq!(
                poster.post("/messages?channel=s", body.clone()).await.0,
                StatusCode::ACCEPTED
            );
        }
    })
    .await;
    assert_eq!(
        server.stats().subscribers,
        0,
        "the overflowed subscriber is unregistered"
    );

    within(WAIT, "the closed stream's end", stream.until_end())
        .await
        .expect("an overflowed stream ends cleanly, so the client reconnects");
    let stats = server.stats();
    let listener = stats.listener(p).unwrap();
    assert_eq!((listener.overflows, listener.streams_open), (1, 0));
}
