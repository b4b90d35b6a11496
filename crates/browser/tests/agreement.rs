//! The emulation agrees with real Chromium and real Firefox.
//!
//! For each arm a browser can run (h1, h1-tls, h2) and 5, 6 and 10 EventSources with one POST
//! issued after the streams are created, the same point runs against a fresh embedded server
//! once emulated (`loadgen::run_point`, six connections per origin) and once in each headless
//! browser (`browser::run_point`). They must agree on streams opened, streams still queued at the
//! end, whether the POST completed or stalled, and the connections that carried the EventSources
//! and the POST. Each must also match what that browser is known to do ([`truth`]): over HTTP/1.1
//! at most six streams open and a POST behind six open streams stalls; over HTTP/2 everything
//! opens and completes on one connection.
//! Two more points per browser: an HTTP/2 server limit of 3, and two clients with six streams
//! each (every client has its own connection pool).
//!
//! The WebSocket arms (ws, wss) run the same points with WebSockets in place of EventSources and
//! the POST sent on the first socket: every socket opens, each on its own connection, outside
//! the six HTTP/1.1 slots (`scripts/chromium-ws-probe/`), and the POST's echo comes back. No
//! socket reuses the page's connection, so there the connections compared are the page's plus
//! one per socket (`connections.any` on the browser's side).
//!
//! Connection accounting: the browser's page first loads a same-origin document (`/health`),
//! whose request needs a connection the emulation never makes. The harness starts once that
//! connection is idle, so over HTTP/1.1 the first EventSource reuses it and over HTTP/2 it is the
//! one connection: the page load adds a request, not a connection. The comparison uses the
//! connections that carried EventSource or POST responses (Chromium: its `connectionId`s;
//! Firefox: the requests whose timings show they opened a connection, see `browser::network`),
//! and additionally checks that no connection carried only the document and that the server
//! counted exactly the connections the browser reported.
//!
//! Both browsers must be installed (`apt-get install chromium firefox-esr`, or
//! `SSEBENCH_CHROMIUM=PATH` / `SSEBENCH_FIREFOX=PATH`): without them these tests fail, they never
//! skip. `cargo test -p browser --test agreement -- --nocapture --test-threads 1` prints the
//! agreement table.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use browser::BrowserKind;
use loadgen::{Counter, Latency, Metrics, PointConfig, Target, Trust};
use sse_server::{Protocol, ServerConfig};
use tokio_util::sync::CancellationToken;

const WARMUP: Duration = Duration::from_millis(1000);
const DURATION: Duration = Duration::from_millis(1500);
/// One POST per 1.5 s of measured time: floor(1.0 * 1.5) = 1, at the end of warm-up.
const POST_RATE: f64 = 1.0;
const CHANNEL_EVENTS: &str = "/events?channel=agree";
const CHANNEL_MESSAGES: &str = "/messages?channel=agree";
const CHANNEL_WEBSOCKET: &str = "/ws?channel=agree";

/// One point at a time: the harness would otherwise run two tests' browsers and emulated
/// clients at once on a small machine, and what is compared must not depend on that contention.
/// (Seen with the tests in parallel on 2 cores: the emulated client at a server limit of 3
/// sometimes ended with 3 open and 4 queued out of 10, the other 3 in neither state.)
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The numbers compared, from either client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Agreement {
    opened: u64,
    queued_at_end: u64,
    posts_scheduled: u64,
    posts_completed: u64,
    posts_stalled_at_end: u64,
    /// Connections that carried EventSource or POST requests (WebSocket arms: the sockets' and
    /// the page's).
    connections: u64,
    /// The server's count of connections that carried requests.
    server_connections: u64,
}

/// Latencies shown beside the table (not compared: they depend on the machine).
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// Median time to first event, milliseconds.
    first_event_p50_ms: Option<f64>,
    /// The POST's round trip from its scheduled instant, milliseconds.
    post_rtt_ms: Option<f64>,
}

fn median_ms(samples: &[Duration]) -> Option<f64> {
    let mut v: Vec<Duration> = samples.to_vec();
    v.sort();
    v.get(v.len().saturating_sub(1) / 2)
        .map(|d| d.as_secs_f64() * 1e3)
}

/// The embedded server of every point; `max_streams` sets its `SETTINGS_MAX_CONCURRENT_STREAMS`.
fn server_config(max_streams: Option<u32>) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.events.interval = Duration::from_millis(100);
    if let Some(max) = max_streams {
        config.http2.max_concurrent_streams = max;
    }
    config
}

fn find(kind: BrowserKind) -> PathBuf {
    match browser::find_browser(kind, None) {
        Ok(path) => path,
        Err(e) => panic!("the agreement tests need a real {kind} and never skip: {e}"),
    }
}

async fn emulated(
    protocol: Protocol,
    clients: u32,
    streams: u32,
    max_streams: Option<u32>,
) -> (Agreement, Timing) {
    let mut config = server_config(max_streams);
    config.listeners = vec![(protocol, "127.0.0.1:0".parse().unwrap())];
    let server = sse_server::start(config).await.unwrap();
    let arm = protocol;
    let url = server.url(protocol).unwrap();
    let target = Target::new(arm, &url, &Trust::Certificates(vec![server.cert_der()])).unwrap();
    let point = PointConfig {
        clients,
        streams_per_client: streams,
        events_path: CHANNEL_EVENTS.into(),
        messages_path: CHANNEL_MESSAGES.into(),
        websocket_path: CHANNEL_WEBSOCKET.into(),
        // The browsers load their page (browser::PAGE_PATH) before the harness runs.
        page_path: Some(browser::PAGE_PATH.into()),
        post_rate_per_client: POST_RATE,
        warmup: WARMUP,
        duration: DURATION,
        ..PointConfig::new(target)
    };
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        loadgen::run_point(&point, Arc::new(Metrics::new()), &CancellationToken::new()),
    )
    .await
    .expect("an emulated point stops by itself");
    let server_connections = server
        .stats()
        .listener(protocol)
        .unwrap()
        .connections_carrying_requests;
    server.shutdown().await;
    assert!(out.fatal.is_none(), "emulated {protocol}: {:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "emulated {protocol} {streams}: errors");
    // Every stream requested has a time to first event: measured for those that opened, counted
    // at the end of the point (censored, a lower bound) for those still queued (or, on a slow
    // machine, open without their first event yet).
    assert_eq!(
        m.latency(Latency::TimeToFirstEvent).count,
        m.get(Counter::StreamsOpened) + m.censored(Latency::TimeToFirstEvent)
    );
    assert!(m.censored(Latency::TimeToFirstEvent) >= out.streams_queued_at_end);
    let ms = |l: Latency| {
        let s = m.latency(l);
        (s.count > 0).then_some(s.p50 as f64 / 1e3)
    };
    let agreement = Agreement {
        opened: m.get(Counter::StreamsOpened),
        queued_at_end: out.streams_queued_at_end,
        posts_scheduled: m.get(Counter::PostsScheduled),
        posts_completed: m.get(Counter::PostsCompleted),
        posts_stalled_at_end: out.posts_stalled_at_end,
        connections: m.get(Counter::ConnectionsCarryingRequests),
        server_connections,
    };
    let timing = Timing {
        first_event_p50_ms: ms(Latency::TimeToFirstEvent),
        post_rtt_ms: ms(Latency::PostRtt),
    };
    (agreement, timing)
}

async fn real(
    kind: BrowserKind,
    path: &Path,
    protocol: Protocol,
    clients: u32,
    streams: u32,
    max_streams: Option<u32>,
) -> (Agreement, Timing) {
    let spec = browser::PointSpec {
        protocol,
        clients,
        streams_per_client: streams,
        warmup: WARMUP,
        duration: DURATION,
        post_rate_per_client: POST_RATE,
        post_body_bytes: 128,
        events_path: CHANNEL_EVENTS.into(),
        messages_path: CHANNEL_MESSAGES.into(),
        websocket_path: CHANNEL_WEBSOCKET.into(),
        reconnect_delay: loadgen::defaults::RECONNECT_DELAY,
    };
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        browser::run_point(kind, path, &spec, server_config(max_streams)),
    )
    .await
    .expect("a browser point stops by itself")
    .unwrap_or_else(|e| panic!("{kind} {protocol} {streams}: {e}"));
    let context = format!("{kind} {protocol} {streams}: {out:#?}");
    assert_eq!(out.visibility, "visible", "{context}");
    assert_eq!(out.requests_failed, 0, "{context}");
    assert_eq!(out.stream_errors, 0, "{context}");
    assert_eq!(
        out.streams_requested,
        u64::from(clients * streams),
        "{context}"
    );
    assert_eq!(
        out.time_to_first_event.len() as u64,
        out.streams_opened,
        "{context}"
    );
    // The document's connection is reused (by the EventSources; no WebSocket reuses it): no
    // connection carried only the page load, and the server saw exactly the connections the
    // browser reported.
    let page_only = u64::from(protocol.is_websocket());
    assert_eq!(out.connections.page_only, page_only, "{context}");
    assert_eq!(
        out.server.connections_carrying_requests, out.connections.any,
        "{context}"
    );
    let agreement = Agreement {
        opened: out.streams_opened,
        queued_at_end: out.streams_queued_at_end,
        posts_scheduled: out.posts_scheduled,
        posts_completed: out.posts_completed,
        posts_stalled_at_end: out.posts_stalled_at_end,
        connections: match protocol.is_websocket() {
            true => out.connections.any,
            false => out.connections.streams_and_posts,
        },
        server_connections: out.server.connections_carrying_requests,
    };
    let timing = Timing {
        first_event_p50_ms: median_ms(&out.time_to_first_event),
        post_rtt_ms: median_ms(&out.post_rtt),
    };
    (agreement, timing)
}

/// What the browser is known to do, independent of either measurement.
///
/// Chromium: ARCHITECTURE.md ("What the emulation must match", measured in Chromium 156).
/// Firefox: `network.http.max-persistent-connections-per-server` = 6 (modules/libpref/init/
/// all.js; read back from Firefox 153 ESR here); an HTTP/1.1 request waits for one of the six
/// connections, and an EventSource never gives its connection back; over HTTP/2 one connection
/// per origin carries everything, up to the server's `SETTINGS_MAX_CONCURRENT_STREAMS` (the
/// embedded server announces 100). /work/notes/firefox-facts.md has the evidence. Both browsers
/// are thus expected to behave alike on these points.
fn truth(_kind: BrowserKind, protocol: Protocol, streams: u64) -> Agreement {
    if protocol.is_websocket() {
        // Every socket opens on its own connection, one handshake at a time, outside the six
        // HTTP/1.1 slots; the page's connection stays its own.
        return Agreement {
            opened: streams,
            queued_at_end: 0,
            posts_scheduled: 1,
            posts_completed: 1,
            posts_stalled_at_end: 0,
            connections: streams + 1,
            server_connections: streams + 1,
        };
    }
    if protocol.is_http2() {
        Agreement {
            opened: streams,
            queued_at_end: 0,
            posts_scheduled: 1,
            posts_completed: 1,
            posts_stalled_at_end: 0,
            connections: 1,
            server_connections: 1,
        }
    } else {
        let opened = streams.min(6);
        let post_gets_a_slot = streams < 6;
        Agreement {
            opened,
            queued_at_end: streams - opened,
            posts_scheduled: 1,
            posts_completed: u64::from(post_gets_a_slot),
            posts_stalled_at_end: u64::from(!post_gets_a_slot),
            connections: (streams + u64::from(post_gets_a_slot)).min(6),
            server_connections: (streams + u64::from(post_gets_a_slot)).min(6),
        }
    }
}

fn row(protocol: Protocol, streams: u32, client: &str, (a, t): &(Agreement, Timing)) -> String {
    let post = match (a.posts_completed, a.posts_stalled_at_end) {
        (1, 0) => "completed".to_owned(),
        (0, 1) => "stalled".to_owned(),
        (done, stalled) => format!("{done} completed, {stalled} stalled"),
    };
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
    format!(
        "| {protocol} | {streams} | {client} | {}/{streams} | {} | {post} | {} | {} | {} | {} |",
        a.opened,
        a.queued_at_end,
        a.connections,
        a.server_connections,
        ms(t.first_event_p50_ms),
        ms(t.post_rtt_ms)
    )
}

async fn agree(kind: BrowserKind, protocol: Protocol) {
    let path = find(kind);
    let _one = ONE_AT_A_TIME.lock().await;
    let mut table = Vec::new();
    for streams in [5, 6, 10] {
        let e = emulated(protocol, 1, streams, None).await;
        let b = real(kind, &path, protocol, 1, streams, None).await;
        table.push(row(protocol, streams, "emulated", &e));
        table.push(row(protocol, streams, kind.name(), &b));
        println!("{}\n{}", table[table.len() - 2], table[table.len() - 1]);
        assert_eq!(
            b.0,
            truth(kind, protocol, u64::from(streams)),
            "{protocol} with {streams} streams: {kind} disagrees with its known behaviour"
        );
        assert_eq!(
            e.0, b.0,
            "{protocol} with {streams} streams: emulated vs {kind}"
        );
    }
    println!(
        "\n| arm | streams | client | opened | queued at end | POST | conns (ES+POST) | server conns \
         | first event p50 ms | POST rtt ms |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n{}",
        table.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_agrees_with_chromium() {
    agree(BrowserKind::Chromium, Protocol::H1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_tls_agrees_with_chromium() {
    agree(BrowserKind::Chromium, Protocol::H1Tls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_agrees_with_chromium() {
    agree(BrowserKind::Chromium, Protocol::H2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_agrees_with_firefox() {
    agree(BrowserKind::Firefox, Protocol::H1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_tls_agrees_with_firefox() {
    agree(BrowserKind::Firefox, Protocol::H1Tls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_agrees_with_firefox() {
    agree(BrowserKind::Firefox, Protocol::H2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_agrees_with_chromium() {
    agree(BrowserKind::Chromium, Protocol::Ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_agrees_with_chromium() {
    agree(BrowserKind::Chromium, Protocol::Wss).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_agrees_with_firefox() {
    agree(BrowserKind::Firefox, Protocol::Ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_agrees_with_firefox() {
    agree(BrowserKind::Firefox, Protocol::Wss).await;
}

/// A server that allows 3 concurrent streams: Chromium opens 3 on its one connection and queues
/// the other 7 EventSources there; the POST, made after them with the same priority (`u=1, i`,
/// captured), waits behind them (scripts/chromium-h2-capture/FINDINGS.md, Q2). No stream ends, so
/// nothing leaves the queue: 3 open, 7 queued, the POST stalled, one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_server_limit_of_3_agrees_with_chromium() {
    let chromium = find(BrowserKind::Chromium);
    let _one = ONE_AT_A_TIME.lock().await;
    let limit = Some(3);
    let e = emulated(Protocol::H2, 1, 10, limit).await;
    let c = real(BrowserKind::Chromium, &chromium, Protocol::H2, 1, 10, limit).await;
    println!("{}", row(Protocol::H2, 10, "emulated, limit 3", &e));
    println!("{}", row(Protocol::H2, 10, "chromium, limit 3", &c));
    assert_eq!(c.0, e.0, "h2 limit 3, 10 streams: chromium vs emulated");
    let known = Agreement {
        opened: 3,
        queued_at_end: 7,
        posts_scheduled: 1,
        posts_completed: 0,
        posts_stalled_at_end: 1,
        connections: 1,
        server_connections: 1,
    };
    assert_eq!(e.0, known, "h2 limit 3: both disagree with the capture");
}

/// The same for Firefox. Its HTTP/2 session takes the server's `SETTINGS_MAX_CONCURRENT_STREAMS`
/// as is and keeps the streams over it in the session's own FIFO queue, on the same connection
/// (`Http2Session::RecvSettings`, `mQueuedStreams` in netwerk/protocol/http/Http2Session.cpp);
/// measured here, a POST made after queued EventSources waits behind all of them, even with
/// `fetch(.., {priority: "high"})` (/work/notes/firefox-facts.md, queue order). No stream ends:
/// 3 open, 7 queued, the POST stalled, one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_server_limit_of_3_agrees_with_firefox() {
    let firefox = find(BrowserKind::Firefox);
    let _one = ONE_AT_A_TIME.lock().await;
    let limit = Some(3);
    let e = emulated(Protocol::H2, 1, 10, limit).await;
    let f = real(BrowserKind::Firefox, &firefox, Protocol::H2, 1, 10, limit).await;
    println!("{}", row(Protocol::H2, 10, "emulated, limit 3", &e));
    println!("{}", row(Protocol::H2, 10, "firefox, limit 3", &f));
    let known = Agreement {
        opened: 3,
        queued_at_end: 7,
        posts_scheduled: 1,
        posts_completed: 0,
        posts_stalled_at_end: 1,
        connections: 1,
        server_connections: 1,
    };
    assert_eq!(
        f.0, known,
        "h2 limit 3: firefox disagrees with its known behaviour"
    );
    assert_eq!(e.0, f.0, "h2 limit 3, 10 streams: emulated vs firefox");
}

/// Two virtual clients with six EventSources each over HTTP/1.1: each client is one isolated
/// browser context (Chromium) or user context (Firefox) with its own connection pool, as each
/// emulated client has its own six slots. So all twelve open on twelve connections, and each
/// client's POST stalls behind its own six streams. Were the contexts sharing one pool, six
/// streams would stay queued.
async fn two_clients(kind: BrowserKind) {
    let path = find(kind);
    let _one = ONE_AT_A_TIME.lock().await;
    let e = emulated(Protocol::H1, 2, 6, None).await;
    let b = real(kind, &path, Protocol::H1, 2, 6, None).await;
    println!("{}", row(Protocol::H1, 12, "emulated, 2 clients x 6", &e));
    println!(
        "{}",
        row(Protocol::H1, 12, &format!("{kind}, 2 clients x 6"), &b)
    );
    let known = Agreement {
        opened: 12,
        queued_at_end: 0,
        posts_scheduled: 2,
        posts_completed: 0,
        posts_stalled_at_end: 2,
        connections: 12,
        server_connections: 12,
    };
    assert_eq!(
        b.0, known,
        "2 clients: {kind} disagrees with separate pools"
    );
    assert_eq!(e.0, b.0, "2 clients x 6 streams: emulated vs {kind}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_have_their_own_pools_in_chromium() {
    two_clients(BrowserKind::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_have_their_own_pools_in_firefox() {
    two_clients(BrowserKind::Firefox).await;
}

/// h2c is refused with a reason, before anything is started.
#[tokio::test]
async fn h2c_is_refused_with_a_reason() {
    let err = browser::browser_supports(Protocol::H2c).unwrap_err();
    assert!(err.to_string().contains("h2c"), "{err}");
}
