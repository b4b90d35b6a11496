//! The two measurements the agreement tests compare: one point emulated ([`emulated`]) and the
//! same point in a real browser ([`real`]), over loopback or across an emulated network
//! ([`Net`]), each reduced to the numbers compared ([`Agreement`]) and the latencies shown beside
//! them ([`Timing`]); and what each browser is known to do ([`truth`]).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use browser::{Launcher, PointSpec};
use loadgen::{Counter, Latency, Metrics, PointConfig, Reach, Target, Trust};
use netem::{Emulator, Side};
use sse_server::{DedicatedServer, Protocol, ServerConfig, ThreadStart};
use tokio_util::sync::CancellationToken;
use vocab::{BrowserProfile, Paths, PostPlan, Workload};

/// The point both clients run over `net`: `clients` with `streams` each, [`Net::warmup`] of
/// warm-up, 1.5 s measured and one POST per client per 1.5 s: floor(1.0 * 1.5) = 1, at the end
/// of warm-up.
pub fn workload(net: &Net, clients: u32, streams: u32) -> Workload {
    Workload {
        clients,
        streams_per_client: streams,
        warmup: net.warmup(),
        duration: Duration::from_millis(1500),
        posts: PostPlan {
            rate_per_client: 1.0,
            body_bytes: loadgen::defaults::POST_BODY_BYTES,
        },
        paths: Paths::for_channel("agree"),
        stream_kind: vocab::StreamKind::EventSource,
        answers: loadgen::defaults::answer_plan(),
        reconnect_delay: loadgen::defaults::reconnect_delay(BrowserProfile::Chromium),
    }
}

/// The emulated point of `workload` against `target`; the browsers load their page
/// (`browser::PAGE_PATH`) before the harness runs, so the emulated clients do too.
fn point_config(target: Target, workload: Workload) -> PointConfig {
    PointConfig {
        workload,
        page_path: Some(browser::PAGE_PATH.into()),
        ..PointConfig::new(target)
    }
}

/// Where a point's packets go: over loopback, or across an emulated network (the server in its
/// server namespace; the emulated clients, whose runtime runs in its client namespace, and the
/// browser, started there).
#[derive(Clone)]
pub enum Net {
    Loopback,
    Emulated(Arc<Emulator>),
}

impl Net {
    /// The warm-up before the measured part of a point: every stream that can open must have
    /// opened by its end, since the counts compared are read then. 1 s on loopback. Across the
    /// emulated network 3 s: Firefox makes one WebSocket handshake at a time per host
    /// (`scripts/firefox-probes/FINDINGS.md`, ws-serial), each 3 round trips here (TCP, TLS 1.3,
    /// the upgrade), so 10 WSS sockets need 1.5 s and more on a loaded machine: with the 1 s of
    /// loopback and three browser tests at once on 2 cores, Firefox had opened 7 of 10 at the end
    /// of a 2.5 s point (its first event p50 1.6 s), once in a cold test run.
    pub fn warmup(&self) -> Duration {
        match self {
            Net::Loopback => Duration::from_millis(1000),
            Net::Emulated(_) => Duration::from_millis(3000),
        }
    }
}

/// The numbers compared, from either client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    pub opened: u64,
    pub queued_at_end: u64,
    pub posts_scheduled: u64,
    pub posts_completed: u64,
    pub posts_stalled_at_end: u64,
    /// Connections that carried EventSource or POST requests (WebSocket arms: the sockets' and
    /// the page's).
    pub connections: u64,
    /// The server's count of connections that carried requests.
    pub server_connections: u64,
}

/// Latencies shown beside the table (not compared: they depend on the machine).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Median time to first event, milliseconds.
    pub first_event_p50_ms: Option<f64>,
    /// The POST's round trip from its scheduled instant, milliseconds.
    pub post_rtt_ms: Option<f64>,
}

pub fn median_ms(samples: &[Duration]) -> Option<f64> {
    let mut v: Vec<Duration> = samples.to_vec();
    v.sort();
    v.get(v.len().saturating_sub(1) / 2)
        .map(|d| d.as_secs_f64() * 1e3)
}

/// The embedded server of every point; `max_streams` sets its stream limit on the multiplexed
/// arms: HTTP/2's `SETTINGS_MAX_CONCURRENT_STREAMS`, the streams QUIC lets be open at once.
pub fn server_config(max_streams: Option<u32>) -> ServerConfig {
    let mut config = ServerConfig::default();
    config.events.interval = Duration::from_millis(100);
    if let Some(max) = max_streams {
        config.http2.max_concurrent_streams = max;
        config.http3_max_streams = max;
    }
    config
}

pub fn find(kind: BrowserProfile) -> PathBuf {
    match browser::find_browser(kind, None) {
        Ok(path) => path,
        Err(e) => panic!("the agreement tests need a real {kind} and never skip: {e}"),
    }
}

/// A fresh server for the arm on its own runtime: on 127.0.0.1, or in the server namespace.
pub async fn start_server(
    net: &Net,
    protocol: Protocol,
    max_streams: Option<u32>,
) -> DedicatedServer {
    let mut config = server_config(max_streams);
    let (ip, hook): (IpAddr, Option<ThreadStart>) = match net {
        Net::Loopback => ([127, 0, 0, 1].into(), None),
        Net::Emulated(e) => {
            let inside = Arc::clone(e);
            let enter = move || inside.enter(Side::Server).unwrap();
            (e.addr(Side::Server), Some(Arc::new(enter)))
        }
    };
    config.listeners = vec![(protocol, SocketAddr::new(ip, 0))];
    tokio::task::spawn_blocking(move || DedicatedServer::start_with(config, 1, hook))
        .await
        .unwrap()
        .unwrap()
}

/// Runs `workload` emulated on `protocol` over `net`, against a fresh server (with a stream limit
/// of `max_streams`, if any): the outcome, and the server's count of connections that carried
/// requests. The one emulated run of the agreement tests, for streams and answers alike.
pub async fn run_emulated(
    net: &Net,
    protocol: Protocol,
    workload: Workload,
    max_streams: Option<u32>,
) -> (loadgen::PointOutcome, u64) {
    let server = start_server(net, protocol, max_streams).await;
    let url = server.url(protocol).unwrap();
    let reach = match net {
        Net::Loopback => Reach::Loopback,
        Net::Emulated(_) => Reach::EmulatedNetwork,
    };
    let trust = Trust::Certificates(vec![server.cert_der()]);
    let target = Target::within(protocol, &url, &trust, reach).unwrap();
    let point = point_config(target, workload);
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
    (out, server_connections)
}

pub async fn emulated(
    net: &Net,
    protocol: Protocol,
    clients: u32,
    streams: u32,
    max_streams: Option<u32>,
) -> (Agreement, Timing) {
    let (out, server_connections) =
        run_emulated(net, protocol, workload(net, clients, streams), max_streams).await;
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

/// A point's shape: its clients, their streams, and the server's stream limit if any.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub clients: u32,
    pub streams: u32,
    pub max_streams: Option<u32>,
}

/// The points of `shapes` in one browser of `kind` (each with a fresh server of its own, each
/// client in contexts of its own), all at once: one browser start for them all.
pub async fn real(
    net: &Net,
    kind: BrowserProfile,
    path: &Path,
    protocol: Protocol,
    shapes: &[Shape],
) -> Vec<(Agreement, Timing)> {
    let points: Vec<(Workload, Option<u32>)> = shapes
        .iter()
        .map(|s| (workload(net, s.clients, s.streams), s.max_streams))
        .collect();
    let outcomes = real_points(net, kind, path, protocol, &points).await;
    shapes
        .iter()
        .zip(outcomes)
        .map(|(shape, out)| reduce(kind, protocol, *shape, out))
        .collect()
}

/// Each `(workload, server stream limit)` of `points` in one browser of `kind`, all at once, each
/// against a fresh server of its own (each client in contexts of its own): one browser start for
/// them all (Firefox: one per point on QUIC, `browser::run_points_with`). The outcomes in order;
/// panics when the browser or a point failed.
pub async fn real_points(
    net: &Net,
    kind: BrowserProfile,
    path: &Path,
    protocol: Protocol,
    points: &[(Workload, Option<u32>)],
) -> Vec<browser::PointOutcome> {
    let mut servers = Vec::with_capacity(points.len());
    for (_, max_streams) in points {
        servers.push(start_server(net, protocol, *max_streams).await);
    }
    let launcher = match net {
        Net::Loopback => Launcher::direct(),
        Net::Emulated(e) => {
            let inside = Arc::clone(e);
            Launcher::in_network_namespace(move |p| inside.command(Side::Client, p))
        }
    };
    let specs: Vec<PointSpec<'_>> = points
        .iter()
        .zip(&servers)
        .map(|((workload, _), server)| PointSpec {
            arm: protocol,
            workload,
            server,
        })
        .collect();
    let outcomes = tokio::time::timeout(
        Duration::from_secs(90),
        browser::run_points_with(kind, path, &launcher, &specs),
    )
    .await
    .expect("browser points stop by themselves")
    .unwrap_or_else(|e| panic!("{kind} {protocol}: {e}"));
    for server in servers {
        server.shutdown().await;
    }
    points
        .iter()
        .zip(outcomes)
        .map(|((workload, _), out)| {
            out.unwrap_or_else(|e| {
                panic!(
                    "{kind} {protocol}, {} x {}: {e}",
                    workload.clients, workload.streams_per_client
                )
            })
        })
        .collect()
}

/// What is compared of one browser point, after the checks every point must pass.
fn reduce(
    kind: BrowserProfile,
    protocol: Protocol,
    Shape {
        clients, streams, ..
    }: Shape,
    out: browser::PointOutcome,
) -> (Agreement, Timing) {
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
    let server_connections = out
        .server
        .as_ref()
        .expect("the server's counters")
        .connections_carrying_requests;
    assert_eq!(server_connections, out.connections.any, "{context}");
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
        server_connections,
    };
    let timing = Timing {
        first_event_p50_ms: median_ms(&out.time_to_first_event),
        post_rtt_ms: median_ms(&out.post_rtt),
    };
    (agreement, timing)
}

/// What the browser is known to do, independent of either measurement.
///
/// Both browsers alike, each rule with Chromium's and Firefox's evidence in docs/browsers.md
/// ("Six connections per origin", "The wait queue", "HTTP/2 streams", "HTTP/3 streams"): over
/// HTTP/1.1 a request waits for one of six connections and an EventSource never gives its
/// connection back; over HTTP/2 and HTTP/3 one connection per origin carries everything, up to
/// the server's stream limit (the embedded server allows 100 on each).
pub fn truth(protocol: Protocol, streams: u64) -> Agreement {
    if protocol.is_websocket() {
        // Every socket opens on its own connection, one handshake at a time, outside the six
        // HTTP/1.1 slots (scripts/chromium-ws-probe/); the page's connection stays its own.
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
    if protocol.is_multiplexed() {
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

pub fn row(protocol: Protocol, streams: u32, client: &str, (a, t): &(Agreement, Timing)) -> String {
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
pub fn stats(net: &Net) -> Option<netem::Stats> {
    match net {
        Net::Loopback => None,
        Net::Emulated(e) => Some(e.stats()),
    }
}
