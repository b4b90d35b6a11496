//! Each listener serves its one protocol and refuses the others, counting what it accepted,
//! what carried requests and what it refused.

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::error::Error as _;

use http::StatusCode;
use sse_server::{Protocol, ServerConfig, ServerError, TlsSource};
use test_support::abuse::slow_reader;
use test_support::client::{h2_reason, listener_addr, Http};
use test_support::silent::{silent_connection, Handshake};
use test_support::{
    connect, eventually, spawn_default_server, spawn_server, test_config, within, ClientSpec,
    SseReader, TestClient, WAIT,
};
use tokio::io::AsyncReadExt;

/// The client each listener must refuse, and how its failure shows at the client.
#[test_support::arms(all)]
async fn refuses_a_client_of_the_other_protocol(p: Protocol) {
    let server = spawn_default_server().await;
    let addr = listener_addr(&server, p);
    let cert = server.cert_der();
    let mut wrong = ClientSpec::for_protocol(p);
    match p {
        Protocol::H1 | Protocol::Ws => wrong.http = Http::H2,
        Protocol::H2c => wrong.http = Http::H1,
        Protocol::H1Tls | Protocol::Wss | Protocol::H3 => wrong.alpn = vec![b"h2".to_vec()],
        Protocol::H2 => wrong.alpn = vec![b"http/1.1".to_vec()],
    }
    let connected = TestClient::connect(addr, &wrong, &cert).await;
    match p {
        Protocol::H1Tls | Protocol::H2 | Protocol::Wss | Protocol::H3 => {
            let err = connected.expect_err("the TLS handshake must fail");
            assert_eq!(
                err.tls_alert(),
                Some(rustls::AlertDescription::NoApplicationProtocol),
                "{err:?}"
            );
        }
        Protocol::H1 | Protocol::Ws => {
            let mut client = connected.expect("the h2 handshake is only sent, not answered");
            let err = client
                .request(http::Method::GET, "/health", &[], bytes::Bytes::new())
                .await
                .expect_err("an HTTP/2 request on the h1 listener must fail");
            const HTTP_1_1_REQUIRED: u32 = 0xd;
            assert_eq!(
                h2_reason(&err).map(u32::from),
                Some(HTTP_1_1_REQUIRED),
                "{err:?}"
            );
        }
        Protocol::H2c => {
            let mut client = connected.expect("an HTTP/1.1 handshake sends nothing");
            let (status, _, body) = client.get_text("/health").await;
            assert_eq!(status, StatusCode::HTTP_VERSION_NOT_SUPPORTED, "{body}");
        }
    }
    eventually("the refusal is counted", || {
        server.stats().listener(p).unwrap().connections_refused == 1
    })
    .await;
    let stats = server.stats();
    let listener = stats.listener(p).unwrap();
    assert_eq!((listener.connections_accepted, listener.requests), (1, 0));

    let mut right = connect(&server, p).await;
    assert_eq!(
        right.get_text("/health").await.0,
        StatusCode::OK,
        "the right client is served"
    );
}

#[test_support::arms(all)]
async fn counts_connections_that_carry_requests_apart_from_idle_ones(p: Protocol) {
    let server = spawn_default_server().await;
    let addr = listener_addr(&server, p);
    let _speculative = silent_connection(&server, p, Handshake::Tcp).await.unwrap();
    let mut client = connect(&server, p).await;
    for _ in 0..3 {
        assert_eq!(client.get_text("/health").await.0, StatusCode::OK);
    }
    let stats = client.stats().await;
    let l = stats.listener(p).unwrap();
    assert_eq!(l.address, addr);
    assert_eq!(
        (
            l.connections_accepted,
            l.connections_open,
            l.connections_carrying_requests
        ),
        (2, 2, 1)
    );
    assert_eq!((l.requests, l.connections_refused), (4, 0));
    for other in Protocol::ALL.into_iter().filter(|&o| o != p) {
        assert_eq!(stats.listener(other).unwrap().connections_accepted, 0);
    }
    drop(client);
    eventually("closed connections leave connections_open", || {
        server.stats().listener(p).unwrap().connections_open == 1
    })
    .await;
}

#[test_support::arms(all)]
async fn over_max_connections_is_accepted_closed_and_counted(p: Protocol) {
    let mut config = test_config();
    config.max_connections = 1;
    let server = spawn_server(config).await;
    // A connection serving an event stream is never reclaimed, however long it has been open.
    let mut first = connect(&server, p).await;
    let mut stream = SseReader::new(first.get("/events?interval_ms=50", &[]).await);
    stream.event_of("tick").await;
    let cert = server.cert_der();
    let over = TestClient::connect(
        listener_addr(&server, p),
        &ClientSpec::for_protocol(p),
        &cert,
    )
    .await;
    if let Ok(mut over) = over {
        let resp = over
            .request(http::Method::GET, "/health", &[], bytes::Bytes::new())
            .await;
        assert!(
            resp.is_err(),
            "a connection over the limit is closed: {resp:?}"
        );
    }
    let l = server.stats().listener(p).unwrap().clone();
    assert_eq!(
        (
            l.connections_accepted,
            l.connections_refused,
            l.connections_reclaimed
        ),
        (2, 1, 0)
    );
    stream.event_of("tick").await;
    assert!(!first.is_finished(), "the first one still works");
}

#[test_support::arms(all)]
async fn a_connection_without_progress_is_reclaimed_for_a_new_one(p: Protocol) {
    let mut config = test_config();
    config.max_connections = 2;
    let server = spawn_server(config).await;
    let mut streaming = connect(&server, p).await;
    let mut stream = SseReader::new(streaming.get("/events?interval_ms=50", &[]).await);
    stream.event_of("tick").await;
    // Connected (TLS or QUIC's handshake included) but silent: the server is waiting for its
    // request.
    let mut silent = silent_connection(&server, p, Handshake::Tls).await.unwrap();
    // Longer than a connection must be quiet before its slot can be reclaimed (100 ms).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut newcomer = connect(&server, p).await;
    assert_eq!(newcomer.get_text("/health").await.0, StatusCode::OK);
    // (An HTTP/2 server sends its SETTINGS first: they are read past.)
    let n = silent.closed_by_server().await;
    assert!(
        n == 0 || p.is_http2(),
        "{n} bytes for a silent HTTP/1.1 client"
    );
    let l = server.stats().listener(p).unwrap().clone();
    assert_eq!(
        (
            l.connections_reclaimed,
            l.connections_refused,
            l.connections_open
        ),
        (1, 0, 2)
    );
    stream.event_of("tick").await;
    assert!(!streaming.is_finished(), "the streaming connection is kept");
}

#[test_support::arms(all)]
async fn a_silent_connection_is_closed_at_the_header_timeout(p: Protocol) {
    let mut config = test_config();
    config.header_read_timeout = std::time::Duration::from_millis(100);
    let server = spawn_server(config).await;
    let mut silent = silent_connection(&server, p, Handshake::Tcp).await.unwrap();
    silent.closed_by_server().await;
    eventually("the timeout is counted and the connection gone", || {
        let l = server.stats().listener(p).unwrap().clone();
        (l.timeouts, l.connections_refused, l.connections_open) == (1, 0, 0)
    })
    .await;
}

// TCP only: a full socket and a TCP reset. HTTP/3's stopped reader: h3.rs.
#[test_support::arms(tcp)]
async fn a_client_that_stops_reading_is_reset_at_the_write_stall_timeout(p: Protocol) {
    let mut config = test_config();
    config.write_stall_timeout = std::time::Duration::from_millis(500);
    let server = spawn_server(config).await;
    // 64 KiB ticks every millisecond, never read: the socket's buffers fill and stay full.
    let mut reader = slow_reader(&server, p, "/events?interval_ms=1&size=65536").await;
    eventually("the stalled connection is reset and counted", || {
        let l = server.stats().listener(p).unwrap().clone();
        (l.write_timeouts, l.connections_open, l.streams_open) == (1, 0, 0)
    })
    .await;
    let mut buf = vec![0u8; 1 << 16];
    let end = within(WAIT, "the client sees the reset", async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    })
    .await;
    assert_eq!(
        end.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset),
        "a TCP reset, not a clean close"
    );
}

/// How many bytes of 16 KiB ticks the server writes to a client that never reads, once its
/// socket is full (the count no longer moves for half a second, 10 s at most).
async fn bytes_written_to_a_stopped_reader(p: Protocol, socket_send_buffer: Option<usize>) -> u64 {
    const TICK: u64 = 16 * 1024;
    let mut config = test_config();
    config.socket_send_buffer_bytes = socket_send_buffer;
    let server = spawn_server(config).await;
    let path = format!("/events?interval_ms=1&size={TICK}");
    let _reader = slow_reader(&server, p, &path).await;
    let mut last = u64::MAX;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let sent = server.stats().listener(p).unwrap().events_sent;
        if sent == last {
            break;
        }
        last = sent;
    }
    last * TICK
}

// TCP only: SO_SNDBUF. On HTTP/3 the same setting is the QUIC send window: h3.rs.
#[test_support::arms(tcp)]
async fn a_fixed_socket_send_buffer_bounds_what_a_stopped_reader_is_sent(p: Protocol) {
    let autotuned = bytes_written_to_a_stopped_reader(p, None).await;
    let fixed = bytes_written_to_a_stopped_reader(p, Some(16 * 1024)).await;
    eprintln!(
        "{p}: {} KiB written before the socket filled with the kernel's autotuning, {} KiB with \
         SO_SNDBUF 16 KiB",
        autotuned >> 10,
        fixed >> 10
    );
    assert!(
        fixed * 2 < autotuned,
        "a fixed send buffer takes less: {fixed} vs {autotuned} bytes"
    );
}

#[tokio::test]
async fn h1_tls_serves_a_client_without_alpn_and_counts_it() {
    let server = spawn_default_server().await;
    let spec = ClientSpec {
        alpn: vec![],
        ..ClientSpec::for_protocol(Protocol::H1Tls)
    };
    let addr = listener_addr(&server, Protocol::H1Tls);
    let mut client = TestClient::connect(addr, &spec, &server.cert_der())
        .await
        .unwrap();
    assert_eq!(client.get_text("/health").await.0, StatusCode::OK);
    let stats = server.stats();
    let l = stats.listener(Protocol::H1Tls).unwrap();
    assert_eq!(
        (
            l.alpn_none,
            l.connections_refused,
            l.connections_carrying_requests
        ),
        (1, 0, 1)
    );
}

#[tokio::test]
async fn h2_refuses_a_client_without_alpn() {
    let server = spawn_default_server().await;
    let spec = ClientSpec {
        alpn: vec![],
        ..ClientSpec::for_protocol(Protocol::H2)
    };
    let addr = listener_addr(&server, Protocol::H2);
    if let Ok(mut client) = TestClient::connect(addr, &spec, &server.cert_der()).await {
        let resp = client
            .request(http::Method::GET, "/health", &[], bytes::Bytes::new())
            .await;
        assert!(
            resp.is_err(),
            "h2 without ALPN must not be served: {resp:?}"
        );
    }
    eventually("the refusal is counted", || {
        let stats = server.stats();
        let l = stats.listener(Protocol::H2).unwrap();
        (l.alpn_none, l.connections_refused, l.requests) == (1, 1, 0)
    })
    .await;
}

#[tokio::test]
async fn an_address_in_use_is_named_in_the_error() {
    let server = spawn_default_server().await;
    let taken = listener_addr(&server, Protocol::H2);
    let config = ServerConfig {
        listeners: vec![(Protocol::H2, taken)],
        ..ServerConfig::default()
    };
    let err = sse_server::start(config)
        .await
        .expect_err("the port is taken");
    assert!(matches!(err, ServerError::Bind { .. }));
    assert_eq!(
        err.to_string(),
        format!("cannot listen on {taken} for h2: address in use")
    );
    assert!(err.source().is_some());
}

#[tokio::test]
async fn serves_a_certificate_and_key_from_files() {
    let dir = std::env::temp_dir().join(format!("sse-server-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();

    let mut config = test_config();
    config.tls = TlsSource::Files {
        cert: cert.clone(),
        key: dir.join("missing.pem"),
    };
    let err = sse_server::start(config.clone())
        .await
        .expect_err("no key file");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    config.tls = TlsSource::Files { cert, key };
    let server = spawn_server(config).await;
    assert_eq!(server.cert_der(), *certified.cert.der());
    assert_eq!(server.cert_pem(), certified.cert.pem());
    for p in [Protocol::H1Tls, Protocol::H2] {
        let mut client = connect(&server, p).await;
        assert_eq!(client.get_text("/health").await.0, StatusCode::OK);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
