//! What only the HTTP/3 listener has: its stream limit (QUIC's MAX_STREAMS), its refusal of a
//! QUIC client without ALPN `h3`, and how it ends a connection whose client stops taking data or
//! goes silent. (Every other test of the routes, faults, limits and counters runs on `h3` too, as
//! on every arm.)

// The tests are plain async fns, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use http::StatusCode;
use sse_server::Protocol;
use test_support::client::{h3_code, listener_addr, quic_connect, ConnectError};
use test_support::relay::UdpRelay;
use test_support::{
    connect, eventually, spawn_server, test_config, within, ClientSpec, SseReader, TestClient, WAIT,
};

const H3: Protocol = Protocol::H3;
/// HTTP/3 `H3_INTERNAL_ERROR`: what the server closes a connection with at once.
const H3_INTERNAL_ERROR: u64 = 0x102;

#[tokio::test]
async fn a_request_past_the_stream_limit_waits_for_a_stream_to_end() {
    let mut config = test_config();
    config.http3_max_streams = 2;
    let server = spawn_server(config).await;
    let mut client = connect(&server, H3).await;
    let mut first = SseReader::new(client.get("/events?channel=a", &[]).await);
    let mut second = SseReader::new(client.get("/events?channel=b", &[]).await);
    first.event_of("tick").await;
    second.event_of("tick").await;
    // A third stream is not granted: the request waits in the client (QUIC STREAMS_BLOCKED).
    let third = tokio::time::timeout(Duration::from_millis(500), client.get_text("/health")).await;
    assert!(third.is_err(), "a third request went out: {third:?}");
    assert_eq!(server.stats().listener(H3).unwrap().requests, 2);
    // One stream ends: the server grants another, and the request goes out.
    drop(first);
    let (status, _, body) = within(WAIT, "the waiting request", client.get_text("/health")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    second.event_of("tick").await;
    let l = server.stats().listener(H3).unwrap().clone();
    assert_eq!((l.requests, l.connections_accepted), (3, 1), "{l:?}");
}

#[tokio::test]
async fn a_quic_client_without_alpn_is_refused_and_counted() {
    let server = spawn_server(test_config()).await;
    let addr = listener_addr(&server, H3);
    let refused = quic_connect(addr, &server.cert_der(), &[]).await;
    match refused {
        Err(e @ ConnectError::Quic(_)) => assert_eq!(
            e.tls_alert(),
            Some(rustls::AlertDescription::NoApplicationProtocol),
            "{e:?}"
        ),
        other => panic!("a QUIC handshake without ALPN completed: {other:?}"),
    }
    eventually("the refusal is counted", || {
        let l = server.stats().listener(H3).unwrap().clone();
        (l.connections_accepted, l.connections_refused, l.requests) == (1, 1, 0)
    })
    .await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_at_the_write_stall_timeout() {
    let mut config = test_config();
    config.write_stall_timeout = Duration::from_millis(500);
    let server = spawn_server(config).await;
    let mut client = connect(&server, H3).await;
    // 64 KiB ticks every millisecond, never read: the client's flow-control window fills, and
    // QUIC takes no more of the stream's data.
    let _unread = client.get("/events?interval_ms=1&size=65536", &[]).await;
    eventually("the stalled connection is closed and counted", || {
        let l = server.stats().listener(H3).unwrap().clone();
        (l.window_timeouts, l.connections_open, l.streams_open) == (1, 0, 0)
    })
    .await;
    let end = client
        .closed()
        .await
        .expect_err("closed with an error code");
    assert_eq!(h3_code(&end), Some(H3_INTERNAL_ERROR), "{end:?}");
}

#[tokio::test]
async fn a_peer_gone_silent_is_dropped_at_the_quic_idle_timeout() {
    let mut config = test_config();
    // QUIC's idle timeout is the keep-alive interval plus its timeout: 300 ms here.
    config.http2_keepalive_interval = Some(Duration::from_millis(150));
    config.http2_keepalive_timeout = Duration::from_millis(150);
    let server = spawn_server(config).await;
    let relay = UdpRelay::start(listener_addr(&server, H3)).await.unwrap();
    let spec = ClientSpec::for_protocol(H3);
    let mut client = TestClient::connect(relay.addr(), &spec, &server.cert_der())
        .await
        .unwrap();
    let mut stream = SseReader::new(client.get("/events?interval_ms=50", &[]).await);
    stream.event_of("tick").await;
    // The network between them goes away: nothing arrives from the client any more (no ACK, no
    // PING), though it never closed.
    relay.cut();
    let counts = || {
        let l = server.stats().listener(H3).unwrap().clone();
        (l.keepalive_timeouts, l.connections_open, l.streams_open)
    };
    let dropped = tokio::time::timeout(WAIT, async {
        while counts() != (1, 0, 0) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert!(
        dropped.await.is_ok(),
        "the silent peer is dropped and counted: (keepalive_timeouts, open, streams) {:?}",
        counts()
    );
}

#[tokio::test]
async fn the_send_window_bounds_what_is_kept_for_a_peer_gone_silent() {
    const TICK: u64 = 4096;
    const WINDOW: usize = 16 * 1024;
    let mut config = test_config();
    // On HTTP/3 this is each connection's QUIC send window.
    config.socket_send_buffer_bytes = Some(WINDOW);
    let server = spawn_server(config).await;
    let relay = UdpRelay::start(listener_addr(&server, H3)).await.unwrap();
    let spec = ClientSpec::for_protocol(H3);
    let mut client = TestClient::connect(relay.addr(), &spec, &server.cert_der())
        .await
        .unwrap();
    let path = format!("/events?interval_ms=1&size={TICK}");
    let mut stream = SseReader::new(client.get(&path, &[]).await);
    stream.event_of("tick").await;
    let sent = || server.stats().listener(H3).unwrap().events_sent;
    relay.cut();
    let at_cut = sent();
    // Nothing is acknowledged any more: QUIC takes data until the window is full of it.
    let mut last = at_cut;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if sent() == last {
            break;
        }
        last = sent();
    }
    let taken = (last - at_cut) * TICK;
    eprintln!("{taken} bytes taken for a silent peer with a {WINDOW}-byte send window");
    assert!(
        taken <= 2 * WINDOW as u64,
        "{taken} bytes taken after the peer fell silent, the send window is {WINDOW}"
    );
}

#[tokio::test]
async fn an_idle_connection_gets_goaway_and_is_closed_cleanly() {
    let mut config = test_config();
    config.http2_idle_timeout = Duration::from_millis(300);
    let server = spawn_server(config).await;
    let mut client = connect(&server, H3).await;
    assert_eq!(client.get_text("/health").await.0, StatusCode::OK);
    within(WAIT, "the idle connection's end", client.closed())
        .await
        .expect("closed with H3_NO_ERROR after its GOAWAY");
    eventually("the idle timeout is counted", || {
        let l = server.stats().listener(H3).unwrap().clone();
        (l.idle_timeouts, l.connections_open) == (1, 0)
    })
    .await;
}
