//! `GET /ws` on the `ws` and `wss` listeners: the chat both ways on WebSockets, on the same hub as
//! event streams and POSTs.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use http::StatusCode;
use sse_server::{CloseMode, CloseStreams, Protocol};
use test_support::ws::{ws_connect, Received};
use test_support::{
    connect, eventually, spawn_default_server, spawn_server, test_config, SseReader,
};

/// A message sent on one socket reaches every socket and event stream of its channel, verbatim,
/// the sender's own socket included; a POST reaches the sockets too.
#[test_support::arms(websocket)]
async fn messages_go_both_ways_on_one_hub(p: Protocol) {
    let server = spawn_default_server().await;
    let path = "/ws?channel=chat&interval_ms=600000";
    let mut alice = ws_connect(&server, p, path).await.unwrap();
    let mut bob = ws_connect(&server, p, path).await.unwrap();
    let mut other = ws_connect(&server, p, "/ws?channel=elsewhere&interval_ms=600000")
        .await
        .unwrap();
    let mut sse_client = connect(&server, Protocol::H2).await;
    let mut sse = SseReader::new(
        sse_client
            .get("/events?channel=chat&interval_ms=600000", &[])
            .await,
    );
    for socket in [&mut alice, &mut bob, &mut other] {
        socket.text_containing("\"seq\":1").await;
    }
    eventually("all subscribed", || server.stats().subscribers == 4).await;
    let body = r#"{"ssebench_token":42,"pad":"x"}"#;
    alice.send(body).await;
    assert_eq!(
        alice.next().await,
        Received::Text(body.to_owned()),
        "the echo"
    );
    assert_eq!(bob.next().await, Received::Text(body.to_owned()));
    let event = sse.event_of("message").await;
    assert_eq!(event.data, body);
    let mut poster = connect(&server, Protocol::H1).await;
    let (status, _) = poster
        .post(
            "/messages?channel=chat",
            bytes::Bytes::from_static(b"from a POST"),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(alice.next().await, Received::Text("from a POST".into()));
    assert_eq!(bob.next().await, Received::Text("from a POST".into()));
    // Multi-line bodies are sent as they were received (the event stream splits them).
    bob.send("two\nlines").await;
    assert_eq!(alice.next().await, Received::Text("two\nlines".into()));
    assert_eq!(
        other.next_within(Duration::from_millis(200)).await,
        None,
        "another channel hears nothing"
    );
    let stats = server.stats();
    let l = stats.listener(p).unwrap();
    assert_eq!(l.websockets_open, 3);
    assert_eq!(l.websocket_messages_received, 2);
    assert_eq!(
        l.messages_sent, 6,
        "2 + 2 + 2 channel messages on the sockets"
    );
    assert_eq!(stats.messages, 3);
    drop((alice, bob, other));
    eventually("closed sockets leave the hub", || {
        server.stats().listener(p).unwrap().websockets_open == 0 && server.stats().subscribers == 1
    })
    .await;
}

/// Ticks are the tick event's data, stamped when written, and padded to `size`.
#[test_support::arms(websocket)]
async fn ticks_carry_the_send_stamp(p: Protocol) {
    let server = spawn_default_server().await;
    let mut socket = ws_connect(&server, p, "/ws?channel=t&interval_ms=20&size=300&count=3")
        .await
        .unwrap();
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let Received::Text(tick) = socket.next().await else {
            panic!("a tick")
        };
        assert_eq!(tick.len(), 300, "{tick}");
        let sent = sse_wire::stamp::find_sent_ns(&tick).unwrap();
        let age = sse_wire::stamp::now_unix_ns().saturating_sub(sent);
        assert!(age < 5_000_000_000, "stamped when written: {age} ns ago");
        seqs.push(tick.split(',').next().unwrap().to_owned());
    }
    assert_eq!(seqs, ["{\"seq\":1", "{\"seq\":2", "{\"seq\":3"]);
    assert_eq!(
        socket.next().await,
        Received::Close(Some(1000), "count reached".into())
    );
}

#[test_support::arms(websocket)]
async fn bad_handshakes_are_refused_with_the_reason(p: Protocol) {
    let server = spawn_default_server().await;
    let http_arm = if p.is_tls() {
        Protocol::H1Tls
    } else {
        Protocol::H1
    };
    // Another arm's listener does not upgrade.
    assert_eq!(ws_connect(&server, http_arm, "/ws").await.err(), Some(404));
    assert_eq!(
        ws_connect(&server, p, "/ws?nope=1").await.err(),
        Some(400),
        "the query is checked as for /events"
    );
    let mut client = connect(&server, p).await;
    let (status, _, body) = client.get_text("/ws").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Upgrade: websocket"), "{body}");
    let resp = client
        .get(
            "/ws",
            &[
                ("upgrade", "websocket"),
                ("connection", "upgrade"),
                ("sec-websocket-version", "8"),
                ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(resp.headers().get("sec-websocket-version").unwrap(), "13");
    drop(resp);
    // The listener still serves plain HTTP/1.1 (the page of the arm).
    assert_eq!(client.get_text("/health").await.0, StatusCode::OK);
}

#[test_support::arms(websocket)]
async fn a_close_fault_sends_a_close_frame_and_shutdown_says_going_away(p: Protocol) {
    let mut config = test_config();
    config.faults.close_streams = Some(CloseStreams {
        every: Duration::from_millis(200),
        mode: CloseMode::Clean,
    });
    let server = spawn_server(config).await;
    let mut socket = ws_connect(&server, p, "/ws?interval_ms=600000")
        .await
        .unwrap();
    socket.text_containing("seq").await;
    assert_eq!(
        socket.next().await,
        Received::Close(Some(1000), "fault injected: close".into())
    );
    let l = server.stats().listener(p).unwrap().clone();
    assert_eq!(l.faults_streams_closed, 1);

    let server = spawn_default_server().await;
    let mut socket = ws_connect(&server, p, "/ws?interval_ms=600000")
        .await
        .unwrap();
    socket.text_containing("seq").await;
    let stopping = tokio::spawn(async move { server.shutdown().await });
    assert_eq!(
        socket.next().await,
        Received::Close(Some(1001), "server shutting down".into())
    );
    drop(socket);
    stopping.await.unwrap();
}

#[test_support::arms(websocket)]
async fn binary_and_oversized_messages_close_the_socket(p: Protocol) {
    let mut config = test_config();
    config.max_body_bytes = 1024;
    let server = spawn_server(config).await;
    let path = "/ws?interval_ms=600000";
    let mut socket = ws_connect(&server, p, path).await.unwrap();
    socket.text_containing("seq").await;
    socket.send_binary(b"\x00\x01").await;
    assert_eq!(
        socket.next().await,
        Received::Close(Some(1003), "text messages only".into())
    );
    let mut socket = ws_connect(&server, p, path).await.unwrap();
    socket.text_containing("seq").await;
    socket.send(&"x".repeat(2048)).await;
    assert_eq!(
        socket.next().await,
        Received::Close(Some(1009), "message over max_body_bytes".into())
    );
    assert_eq!(server.stats().messages, 0, "nothing was published");
}
