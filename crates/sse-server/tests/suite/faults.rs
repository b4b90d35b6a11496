//! Injected faults, on every listener: each one happens and is counted, and none of them loses or
//! repeats a message for a client that reconnects with `Last-Event-ID` (the invariant the replay
//! ring exists for).

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use rustls_pki_types::CertificateDer;
use sse_server::{
    CloseMode, CloseStreams, FaultConfig, ListenerStats, Protocol, RunningServer, Stall,
};
use test_support::client::{h2_reason, h3_code, listener_addr, ClientError};
use test_support::server::error_chain;
use test_support::{
    connect, spawn_server, test_config, within, ClientSpec, SseItem, SseReader, TestClient,
};
use vocab::Transport;

/// How often the periodic faults strike in these tests.
const EVERY: Duration = Duration::from_millis(300);
/// How long the poster posts while faults strike.
const POSTING: Duration = Duration::from_millis(1500);
const POST_INTERVAL: Duration = Duration::from_millis(10);
/// The pause before each reconnection, long enough that messages are always posted meanwhile.
const RECONNECT_DELAY: Duration = Duration::from_millis(30);
/// Bound on a whole scenario.
const SCENARIO: Duration = Duration::from_secs(20);
const CHANNEL_EVENTS: &str = "/events?channel=f&interval_ms=20";
const CHANNEL_MESSAGES: &str = "/messages?channel=f";
/// HTTP/2 `INTERNAL_ERROR`, what hyper resets a stream with when its body fails.
const INTERNAL_ERROR: u64 = 0x2;
/// HTTP/3 `H3_INTERNAL_ERROR`, what the h3 listener resets a stream with when its body fails, and
/// closes a connection with at the `reset_connections_every` fault.
const H3_INTERNAL_ERROR: u64 = 0x102;

async fn server_with(faults: FaultConfig) -> RunningServer {
    let mut config = test_config();
    config.faults = faults;
    spawn_server(config).await
}

fn listener(server: &RunningServer, p: Protocol) -> ListenerStats {
    server.stats().listener(p).unwrap().clone()
}

/// How one event stream ended.
#[derive(Debug)]
enum End {
    /// The body ended cleanly.
    Clean,
    /// The request or the body failed: the error chain and the HTTP/2 or HTTP/3 error code, if
    /// any.
    Failed(String, Option<u64>),
}

/// A client that reads event streams one after another, each on a new connection, resuming with
/// the last event id it parsed, as an `EventSource` does.
struct Resumer {
    addr: SocketAddr,
    spec: ClientSpec,
    cert: CertificateDer<'static>,
    last_id: Option<String>,
    /// Ids of the `message` events received, in order.
    messages: Vec<u64>,
    ends: Vec<End>,
}

impl Resumer {
    fn new(server: &RunningServer, p: Protocol) -> Resumer {
        Resumer {
            addr: listener_addr(server, p),
            spec: ClientSpec::for_protocol(p),
            cert: server.cert_der(),
            last_id: None,
            messages: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Opens a stream; `None` (the failure recorded in `ends`) if connecting or the request
    /// failed.
    async fn open(&mut self) -> Option<(TestClient, SseReader)> {
        let mut client = match TestClient::connect(self.addr, &self.spec, &self.cert).await {
            Ok(client) => client,
            Err(e) => {
                self.ends.push(End::Failed(format!("connect: {e:?}"), None));
                return None;
            }
        };
        let last_id = self.last_id.clone();
        let headers: Vec<(&str, &str)> = last_id
            .as_deref()
            .map(|id| ("last-event-id", id))
            .into_iter()
            .collect();
        match client
            .request(Method::GET, CHANNEL_EVENTS, &headers, Bytes::new())
            .await
        {
            Ok(resp) => Some((client, SseReader::new(resp))),
            Err(e) => {
                self.ends.push(failed(&e));
                None
            }
        }
    }

    /// Reads the next event, recording its id; `false` once the stream has ended (recorded).
    async fn next(&mut self, stream: &mut SseReader) -> bool {
        match stream.next().await {
            Ok(Some(SseItem::Event(e))) => {
                if e.event_type == "message" {
                    self.messages.push(e.id.parse().unwrap());
                }
                self.last_id = Some(e.id);
                true
            }
            Ok(Some(_)) => true,
            Ok(None) => {
                self.ends.push(End::Clean);
                false
            }
            Err(e) => {
                self.ends.push(failed(&e));
                false
            }
        }
    }

    /// One whole stream after the reconnection delay: open, read until it ends.
    async fn stream(&mut self) {
        tokio::time::sleep(RECONNECT_DELAY).await;
        if let Some((_client, mut stream)) = self.open().await {
            while self.next(&mut stream).await {}
        }
    }
}

fn failed(e: &ClientError) -> End {
    let code = h2_reason(e).map(|r| u64::from(u32::from(r)));
    End::Failed(error_chain(e), code.or_else(|| h3_code(e)))
}

/// Posts to the test channel every [`POST_INTERVAL`] for `how_long`, reconnecting whenever its
/// connection fails.
async fn post_for(
    addr: SocketAddr,
    p: Protocol,
    cert: CertificateDer<'static>,
    how_long: Duration,
) {
    let spec = ClientSpec::for_protocol(p);
    let started = Instant::now();
    let mut client = None;
    let mut n = 0u32;
    while started.elapsed() < how_long {
        tokio::time::sleep(POST_INTERVAL).await;
        if client.is_none() {
            client = TestClient::connect(addr, &spec, &cert).await.ok();
        }
        let Some(c) = &mut client else { continue };
        n += 1;
        let body = Bytes::from(format!("m{n}"));
        match c.request(Method::POST, CHANNEL_MESSAGES, &[], body).await {
            Ok(resp) => {
                // Read the response to its end, so an HTTP/1.1 connection can carry the next.
                use http_body_util::BodyExt;
                if resp.into_body().collect().await.is_err() {
                    client = None;
                }
            }
            Err(_) => client = None,
        }
    }
}

/// While a poster posts through the faults, reads stream after stream (at least `min_streams`),
/// then catches up with every message posted. Asserts that every message of the channel arrived
/// exactly once, in order, and returns how each stream ended.
async fn messages_survive(server: &RunningServer, p: Protocol, min_streams: usize) -> Vec<End> {
    let mut r = Resumer::new(server, p);
    within(SCENARIO, "streams through the faults", async {
        // The first stream positions the client before anything is posted.
        let (client, mut stream) = r.open().await.expect("the first stream opens");
        assert!(r.next(&mut stream).await, "a first event");
        let poster = tokio::spawn(post_for(r.addr, p, r.cert.clone(), POSTING));
        while r.next(&mut stream).await {}
        drop((client, stream));
        while !poster.is_finished() || r.ends.len() < min_streams {
            r.stream().await;
        }
        poster.await.unwrap();
        let total = server.stats().messages;
        while r.messages.last().copied().unwrap_or(0) < total {
            r.stream().await;
        }
    })
    .await;
    let total = server.stats().messages;
    assert!(total >= 20, "only {total} messages went through the faults");
    let expected: Vec<u64> = (1..=total).collect();
    assert_eq!(
        r.messages, expected,
        "every message exactly once, in order (ends: {:?})",
        r.ends
    );
    r.ends
}

#[test_support::arms(all)]
async fn clean_closes_lose_no_message(p: Protocol) {
    let server = server_with(FaultConfig {
        close_streams: Some(CloseStreams {
            every: EVERY,
            mode: CloseMode::Clean,
        }),
        ..FaultConfig::default()
    })
    .await;
    let ends = messages_survive(&server, p, 4).await;
    assert!(
        ends.iter().all(|e| matches!(e, End::Clean)),
        "clean closes end the body: {ends:?}"
    );
    let l = listener(&server, p);
    assert_eq!(
        l.faults_streams_closed,
        ends.len() as u64,
        "every stream ended by the fault, and counted"
    );
    assert_eq!((l.faults_connections_reset, l.faults_errors), (0, 0));
}

#[test_support::arms(all)]
async fn reset_closes_lose_no_message(p: Protocol) {
    let server = server_with(FaultConfig {
        close_streams: Some(CloseStreams {
            every: EVERY,
            mode: CloseMode::Reset,
        }),
        ..FaultConfig::default()
    })
    .await;
    let ends = messages_survive(&server, p, 4).await;
    for end in &ends {
        match end {
            End::Failed(_, reason) if p.is_http2() => {
                assert_eq!(*reason, Some(INTERNAL_ERROR), "RST_STREAM: {end:?}")
            }
            End::Failed(_, reason) if p.transport() == Transport::Udp => {
                assert_eq!(*reason, Some(H3_INTERNAL_ERROR), "RESET_STREAM: {end:?}")
            }
            End::Failed(..) => {}
            End::Clean => panic!("a reset close must not look clean: {ends:?}"),
        }
    }
    assert_eq!(
        listener(&server, p).faults_streams_closed,
        ends.len() as u64
    );
}

#[test_support::arms(all)]
async fn connection_resets_lose_no_message(p: Protocol) {
    let server = server_with(FaultConfig {
        reset_connections_every: Some(EVERY),
        ..FaultConfig::default()
    })
    .await;
    let ends = messages_survive(&server, p, 4).await;
    // QUIC has no reset of a whole connection: the server closes it at once, with an error code.
    let reset = |e: &End| match (e, p.transport()) {
        (End::Failed(chain, _), Transport::Tcp) => chain.to_lowercase().contains("reset"),
        (End::Failed(_, code), Transport::Udp) => *code == Some(H3_INTERNAL_ERROR),
        (End::Clean, _) => false,
    };
    assert!(
        ends.iter().all(reset),
        "a reset connection fails its stream with a TCP reset or an HTTP/3 CONNECTION_CLOSE \
         H3_INTERNAL_ERROR: {ends:?}"
    );
    let l = listener(&server, p);
    assert!(
        l.faults_connections_reset >= ends.len() as u64,
        "{} resets counted for {} streams ended",
        l.faults_connections_reset,
        ends.len()
    );
    assert_eq!(l.faults_streams_closed, 0);
}

#[test_support::arms(multiplexed)]
async fn goaways_lose_no_message(p: Protocol) {
    let server = server_with(FaultConfig {
        goaway_every: Some(EVERY),
        ..FaultConfig::default()
    })
    .await;
    let ends = messages_survive(&server, p, 4).await;
    assert!(
        ends.iter().all(|e| matches!(e, End::Clean)),
        "a GOAWAY ends the connection's event streams cleanly: {ends:?}"
    );
    let l = listener(&server, p);
    assert!(
        l.faults_goaways >= ends.len() as u64,
        "{} GOAWAYs counted for {} streams ended",
        l.faults_goaways,
        ends.len()
    );
    assert_eq!(l.faults_streams_closed, 0);
}

#[test_support::arms(all)]
async fn a_stall_delays_events_but_loses_none(p: Protocol) {
    const STALL: Duration = Duration::from_millis(400);
    const MESSAGES: u64 = 40;
    let server = server_with(FaultConfig {
        stall: Some(Stall {
            every: EVERY,
            length: STALL,
        }),
        ..FaultConfig::default()
    })
    .await;
    let mut subscriber = connect(&server, p).await;
    let mut stream = SseReader::new(subscriber.get(CHANNEL_EVENTS, &[]).await);
    stream.event_of("tick").await;
    let (addr, cert) = (listener_addr(&server, p), server.cert_der());
    let poster = tokio::spawn(async move {
        let mut client = TestClient::connect(addr, &ClientSpec::for_protocol(p), &cert)
            .await
            .unwrap();
        for n in 1..=MESSAGES {
            let (status, _) = client.post(CHANNEL_MESSAGES, format!("m{n}")).await;
            assert_eq!(status, StatusCode::ACCEPTED);
            tokio::time::sleep(POST_INTERVAL).await;
        }
    });
    let mut messages = Vec::new();
    let mut longest_gap = Duration::ZERO;
    let mut last = Instant::now();
    within(SCENARIO, "every message through the stalls", async {
        while messages.last() != Some(&MESSAGES) {
            let item = stream.item().await;
            longest_gap = longest_gap.max(last.elapsed());
            last = Instant::now();
            if let SseItem::Event(e) = item {
                if e.event_type == "message" {
                    messages.push(e.id.parse::<u64>().unwrap());
                }
            }
        }
    })
    .await;
    poster.await.unwrap();
    assert_eq!(messages, (1..=MESSAGES).collect::<Vec<_>>(), "none lost");
    assert!(
        longest_gap >= STALL * 3 / 4,
        "a stall shows as a pause in the stream (longest gap {longest_gap:?})"
    );
    let l = listener(&server, p);
    assert!(l.faults_stalls >= 1, "{l:?}");
    assert_eq!((l.overflows, l.faults_streams_closed), (0, 0));
}

#[test_support::arms(all)]
async fn every_nth_post_and_stream_fail_with_503(p: Protocol) {
    let server = server_with(FaultConfig {
        post_error_every_nth: NonZeroU32::new(3),
        stream_error_every_nth: NonZeroU32::new(2),
        ..FaultConfig::default()
    })
    .await;
    let mut subscriber = connect(&server, p).await;
    let mut stream = SseReader::new(subscriber.get("/events?channel=n", &[]).await);
    stream.event_of("tick").await;

    let mut poster = connect(&server, p).await;
    let mut statuses = Vec::new();
    for n in 1..=6 {
        let (status, _) = poster.post("/messages?channel=n", format!("m{n}")).await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [202, 202, 503, 202, 202, 503]);
    let mut got = Vec::new();
    for _ in 0..4 {
        let e = stream.event_of("message").await;
        got.push((e.id, e.data));
    }
    let expected: Vec<(String, String)> = [(1, 1), (2, 2), (3, 4), (4, 5)]
        .map(|(id, n)| (id.to_string(), format!("m{n}")))
        .into();
    assert_eq!(got, expected, "the failed POSTs were not broadcast");
    assert_eq!(server.stats().messages, 4);

    let mut second = connect(&server, p).await;
    let (status, _, body) = second.get_text("/events?channel=n").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let third = second.get("/events?channel=n&count=1", &[]).await;
    SseReader::new(third).until_end().await.unwrap();
    assert_eq!(listener(&server, p).faults_errors, 3);
}

#[test_support::arms(all)]
async fn delays_hold_events_and_posts_back(p: Protocol) {
    const EVENT_DELAY: Duration = Duration::from_millis(150);
    const POST_DELAY: Duration = Duration::from_millis(250);
    let server = server_with(FaultConfig {
        delay_events: Some(EVENT_DELAY),
        delay_posts: Some(POST_DELAY),
        ..FaultConfig::default()
    })
    .await;
    let mut subscriber = connect(&server, p).await;
    let mut stream = SseReader::new(
        subscriber
            .get("/events?channel=d&interval_ms=50", &[])
            .await,
    );
    within(SCENARIO, "delayed ticks", async {
        for _ in 0..3 {
            let tick = stream.event_of("tick").await;
            let sent_ns = sse_wire::stamp::find_sent_ns(&tick.data).expect("a tick is stamped");
            let late = sse_wire::stamp::now_unix_ns().saturating_sub(sent_ns);
            assert!(
                late >= EVENT_DELAY.as_nanos() as u64,
                "a tick arrived {late} ns after its stamp, under the {EVENT_DELAY:?} delay"
            );
        }
    })
    .await;
    let mut poster = connect(&server, p).await;
    let started = Instant::now();
    let (status, _) = poster.post("/messages?channel=d", "m".to_owned()).await;
    let rtt = started.elapsed();
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(
        rtt >= POST_DELAY,
        "the POST took {rtt:?}, under the {POST_DELAY:?} delay"
    );
    let l = listener(&server, p);
    assert!(l.faults_delayed >= 4, "3 ticks and a POST delayed: {l:?}");
}
