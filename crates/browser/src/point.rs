//! One sweep point in a real browser, against a fresh embedded server that listens for the arm
//! only. The same loop for every browser; only the remote protocol calls differ
//! ([`crate::cdp`] for Chromium, [`crate::bidi`] for Firefox).
//!
//! Per point: start the server (or take the caller's, [`run_point_with`]); launch the browser trusting the server's certificate alone
//! (Chromium: by its key, Firefox: by a per-profile override of its fingerprint); per virtual
//! client one isolated browser context (Chromium) or user context (Firefox), i.e. its own
//! connection pools like one browser profile of the emulation, with one page; load the
//! same-origin page; run the harness; at `warmup + duration` freeze the page's state, read the
//! network events and the server's counters; then close the browser and stop the server.
//!
//! # The page's own connection
//!
//! The page loads `GET /health` (a tiny same-origin text document) rather than the server's demo
//! page at `/`: the demo opens its own EventSource, which would hold one of the six HTTP/1.1 slots
//! for the whole point. Loading the page makes two requests the emulation never makes, the
//! document and the browser's `/favicon.ico` (a 404), both on one connection. The harness starts
//! only after the load event plus [`SETTLE`], so that connection is idle by then: over HTTP/1.1 it
//! stays in the pool and the first EventSource reuses it, over HTTP/2 it is the one connection.
//! So the page load adds requests but no connection, and the EventSource/POST behaviour is that
//! of a fresh emulated client. [`Connections`] keeps both views: connections that carried the
//! EventSources and POSTs (what the emulation is compared with) and those that carried anything;
//! [`Connections::page_only`] is 0 when the document's connection was reused. How each browser's
//! events give the connections is in [`crate::network`].

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use sse_server::{Protocol, RunningServer, ServerConfig};

use crate::chromium::Chromium;
use crate::error::BrowserError;
use crate::firefox::Firefox;
use crate::harness::{post_schedule, HarnessConfig, PageResult, CONNECTING, OPEN};
use crate::kind::BrowserKind;
use crate::launcher::Launcher;
use crate::network::{Connections, PageNetwork, RequestKind, RequestPaths};
use crate::remote::{Dialect, Remote};

/// The same-origin document each page loads before the harness runs.
pub const PAGE_PATH: &str = "/health";
/// Idle time between the page's load event and the harness, so the document's connection is
/// back in the pool (and a favicon request, if any, is done).
pub const SETTLE: Duration = Duration::from_millis(300);
/// Bound on a page load.
const LOAD_TIMEOUT: Duration = Duration::from_secs(15);
/// Slack on top of `warmup + duration` for the page's end-of-point snapshot.
const RESULT_SLACK: Duration = Duration::from_secs(15);

/// What one browser point runs.
#[derive(Debug, Clone)]
pub struct PointSpec {
    pub protocol: Protocol,
    /// Virtual clients: one isolated browser context or user context (own connection pools)
    /// each.
    pub clients: u32,
    pub streams_per_client: u32,
    pub warmup: Duration,
    pub duration: Duration,
    /// POSTs per second per client, on the emulation's open-loop schedule; 0 sends none.
    pub post_rate_per_client: f64,
    pub post_body_bytes: usize,
    /// Path and query of the event stream, e.g. `/events?channel=bench`.
    pub events_path: String,
    /// Path and query the POSTs go to, e.g. `/messages?channel=bench`.
    pub messages_path: String,
    /// Path and query of the WebSockets on the `ws` and `wss` arms, e.g. `/ws?channel=bench`.
    pub websocket_path: String,
    /// How long a page waits before it opens a closed WebSocket again.
    pub reconnect_delay: Duration,
}

/// Which arms a browser can run; `Err` says why not.
pub fn browser_supports(protocol: Protocol) -> Result<(), BrowserError> {
    match protocol {
        Protocol::H1 | Protocol::H1Tls | Protocol::H2 | Protocol::Ws | Protocol::Wss => Ok(()),
        Protocol::H2c => Err(BrowserError::UnsupportedArm {
            protocol,
            reason: "browsers speak HTTP/2 only over TLS with ALPN h2, never cleartext h2c",
        }),
    }
}

/// The `response.protocol` the browser must report on the arm (both browsers use these names).
pub fn expected_protocol(protocol: Protocol) -> &'static str {
    if protocol.is_http2() {
        "h2"
    } else {
        "http/1.1"
    }
}

/// The embedded server's counts for the point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerCounts {
    pub connections_accepted: u64,
    pub connections_carrying_requests: u64,
    /// `connections_carrying_requests` after the page load, before the harness started.
    pub connections_carrying_after_page_load: u64,
    pub requests: u64,
    pub connections_refused: u64,
    pub overflows: u64,
}

/// What a browser point measured, the same for every browser. Counters are summed over clients.
#[derive(Debug, Clone, Default)]
pub struct PointOutcome {
    pub streams_requested: u64,
    /// EventSources that fired `open` at least once.
    pub streams_opened: u64,
    /// EventSources whose `readyState` was OPEN at the end.
    pub streams_open_at_end: u64,
    /// EventSources whose `readyState` was CONNECTING at the end: over HTTP/1.1, waiting for a
    /// connection slot (or, after an error, reconnecting).
    pub streams_queued_at_end: u64,
    /// `tick` and `message` events dispatched.
    pub events_received: u64,
    /// EventSource `error` events.
    pub stream_errors: u64,
    /// POSTs whose instant came during the point.
    pub posts_scheduled: u64,
    /// POSTs answered with a 2xx, read to the end.
    pub posts_completed: u64,
    /// POSTs that failed (fetch rejected, or a non-2xx status).
    pub posts_failed: u64,
    /// Of those, POSTs answered with a non-2xx status.
    pub posts_bad_status: u64,
    /// POSTs scheduled that had neither completed nor failed at the end.
    pub posts_stalled_at_end: u64,
    /// EventSource (WebSocket) created -> its first `open`, one per stream that opened.
    pub time_to_open: Vec<Duration>,
    /// EventSource created -> first `tick`/`message` event (WebSocket: first message), one per
    /// stream that got one.
    pub time_to_first_event: Vec<Duration>,
    /// POST's scheduled instant -> its response read to the end.
    pub post_rtt: Vec<Duration>,
    /// From the browser's network events: Chromium's connection ids, Firefox's per-request
    /// "opened a connection" (see [`crate::network`]).
    pub connections: Connections,
    /// Requests the browser reported, by kind: (streams, posts, page).
    pub requests_sent: (u64, u64, u64),
    /// Requests that failed at the network level (CDP `Network.loadingFailed`, BiDi
    /// `network.fetchError`).
    pub requests_failed: u64,
    /// The protocol the browser negotiated (checked on every response).
    pub negotiated: String,
    pub server: ServerCounts,
    /// `document.visibilityState` of the pages at the end (timers are not throttled if
    /// `visible`): the first page's that is not `visible`, if any.
    pub visibility: String,
    /// From the harness start to the end of the point, as the pages measured it (longest).
    pub measured: Duration,
    /// The whole point, browser launch and teardown included.
    pub elapsed: Duration,
}

/// Runs one point in a fresh browser of `kind` at `path`, against a server started from `server`
/// (its listeners are replaced by the arm's one, on 127.0.0.1 port 0).
pub async fn run_point(
    kind: BrowserKind,
    path: &Path,
    spec: &PointSpec,
    mut server: ServerConfig,
) -> Result<PointOutcome, BrowserError> {
    let started = Instant::now();
    browser_supports(spec.protocol)?;
    server.listeners = vec![(spec.protocol, SocketAddr::from(([127, 0, 0, 1], 0)))];
    let server = sse_server::start(server)
        .await
        .map_err(BrowserError::Server)?;
    let result = run_point_with(kind, path, &Launcher::direct(), spec, &server).await;
    server.shutdown().await;
    let mut outcome = result?;
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Runs one point in a fresh browser of `kind` at `path`, started through `launcher`, against
/// `server`, which the caller started for the point's arm (e.g. inside the server side of an
/// emulated network) and stops afterwards. The counters read from it are those of the point only
/// if it is fresh.
pub async fn run_point_with(
    kind: BrowserKind,
    path: &Path,
    launcher: &Launcher,
    spec: &PointSpec,
    server: &RunningServer,
) -> Result<PointOutcome, BrowserError> {
    let started = Instant::now();
    browser_supports(spec.protocol)?;
    if server.addr(spec.protocol).is_none() {
        return Err(BrowserError::NoListener {
            protocol: spec.protocol,
        });
    }
    let mut session = Session::launch(kind, path, launcher, spec.protocol, server).await?;
    let result = measure(&session, spec, server).await;
    // A browser that died mid-point (e.g. Firefox refusing a non-local connection) explains the
    // failure better than the closed protocol connection does.
    let result = match (result, session.exited()) {
        (Err(_), Some(exited)) => Err(exited),
        (result, _) => result,
    };
    session.close().await;
    let mut outcome = result?;
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// A launched browser and its remote protocol connection.
enum Session {
    Chromium { browser: Chromium, cdp: Remote },
    Firefox { browser: Firefox, bidi: Remote },
}

impl Session {
    async fn launch(
        kind: BrowserKind,
        path: &Path,
        launcher: &Launcher,
        protocol: Protocol,
        server: &RunningServer,
    ) -> Result<Session, BrowserError> {
        let cert = server.cert_der();
        let addr = server
            .addr(protocol)
            .expect("the server listens for the arm");
        match kind {
            BrowserKind::Chromium => {
                let spki = match protocol.is_tls() {
                    true => Some(
                        crate::spki::spki_sha256_base64(&cert)
                            .map_err(BrowserError::Certificate)?,
                    ),
                    false => None,
                };
                let browser =
                    Chromium::launch_with(launcher, path, spki.as_deref(), addr.ip()).await?;
                let cdp =
                    Remote::connect(browser.ws_url(), Dialect::Cdp, crate::network::CDP_EVENTS)
                        .await?;
                Ok(Session::Chromium { browser, cdp })
            }
            BrowserKind::Firefox => {
                let trusted = protocol.is_tls().then_some((addr, cert.as_ref()));
                let browser = Firefox::launch_with(launcher, path, trusted).await?;
                let bidi =
                    Remote::connect(browser.ws_url(), Dialect::Bidi, crate::network::BIDI_EVENTS)
                        .await?;
                crate::bidi::start_session(&bidi).await?;
                Ok(Session::Firefox { browser, bidi })
            }
        }
    }

    fn kind(&self) -> BrowserKind {
        match self {
            Session::Chromium { .. } => BrowserKind::Chromium,
            Session::Firefox { .. } => BrowserKind::Firefox,
        }
    }

    /// One client's page: a fresh isolated context with `page_url` loaded; its scope (CDP
    /// session id, BiDi browsing context id).
    async fn open_page(&self, page_url: &str) -> Result<String, BrowserError> {
        match self {
            Session::Chromium { cdp, .. } => {
                crate::cdp::open_tab(cdp, page_url, LOAD_TIMEOUT).await
            }
            Session::Firefox { bidi, .. } => {
                crate::bidi::open_tab(bidi, page_url, LOAD_TIMEOUT).await
            }
        }
    }

    /// Evaluates `expression` in a page; awaited, and bounded by `timeout`, if `timeout` is
    /// given.
    async fn evaluate(
        &self,
        page: &str,
        expression: &str,
        what: &'static str,
        timeout: Option<Duration>,
    ) -> Result<Value, BrowserError> {
        match self {
            Session::Chromium { cdp, .. } => {
                crate::cdp::evaluate(cdp, page, expression, what, timeout).await
            }
            Session::Firefox { bidi, .. } => {
                crate::bidi::evaluate(bidi, page, expression, what, timeout).await
            }
        }
    }

    /// A page's requests and responses as the browser reported them.
    fn network(&self, page: &str, spec: &PointSpec) -> PageNetwork {
        match self {
            Session::Chromium { cdp, .. } => PageNetwork::from_cdp_events(&cdp.events(page, 0)),
            Session::Firefox { bidi, .. } => PageNetwork::from_bidi_events(
                &bidi.events(page, 0),
                RequestPaths {
                    events: &spec.events_path,
                    messages: &spec.messages_path,
                },
            ),
        }
    }

    fn exited(&mut self) -> Option<BrowserError> {
        match self {
            Session::Chromium { browser, .. } => browser.exited(),
            Session::Firefox { browser, .. } => browser.exited(),
        }
    }

    async fn close(self) {
        match self {
            Session::Chromium { browser, cdp } => browser.close(&cdp).await,
            Session::Firefox { browser, bidi } => browser.close(&bidi).await,
        }
    }
}

async fn measure(
    session: &Session,
    spec: &PointSpec,
    server: &RunningServer,
) -> Result<PointOutcome, BrowserError> {
    let origin = server
        .url(spec.protocol)
        .expect("the server listens for the arm");
    let page_url = format!("{origin}{PAGE_PATH}");
    let mut pages = Vec::with_capacity(spec.clients as usize);
    for _ in 0..spec.clients {
        pages.push(session.open_page(&page_url).await?);
    }
    tokio::time::sleep(SETTLE).await;
    let after_load = listener_counts(server, spec.protocol);

    let websocket_url = spec.protocol.websocket_scheme().map(|scheme| {
        let authority = origin.split_once("://").map_or(origin.as_str(), |(_, a)| a);
        format!("{scheme}://{authority}{}", spec.websocket_path)
    });
    for (index, page) in pages.iter().enumerate() {
        let config = HarnessConfig {
            streams: spec.streams_per_client,
            events_path: spec.events_path.clone(),
            messages_path: spec.messages_path.clone(),
            websocket_url: websocket_url.clone(),
            reconnect_ms: spec.reconnect_delay.as_secs_f64() * 1000.0,
            warmup_ms: spec.warmup.as_secs_f64() * 1000.0,
            duration_ms: spec.duration.as_secs_f64() * 1000.0,
            posts: post_schedule(
                spec.post_rate_per_client,
                spec.warmup,
                spec.duration,
                index as u32,
                spec.clients,
                spec.post_body_bytes,
            ),
        };
        session
            .evaluate(page, &config.expression(), "start", None)
            .await?;
    }
    let wait = spec.warmup + spec.duration + RESULT_SLACK;
    let results = futures_util::future::join_all(pages.iter().map(|page| {
        session.evaluate(
            page,
            "window.__ssebench.done",
            "end-of-point snapshot",
            Some(wait),
        )
    }))
    .await;
    let end = listener_counts(server, spec.protocol);

    let mut out = PointOutcome {
        server: ServerCounts {
            connections_carrying_after_page_load: after_load.connections_carrying_requests,
            ..end
        },
        negotiated: expected_protocol(spec.protocol).to_owned(),
        ..PointOutcome::default()
    };
    for (page, result) in pages.iter().zip(results) {
        let snapshot: PageResult =
            serde_json::from_value(result?).map_err(|e| BrowserError::Script {
                what: "end-of-point snapshot",
                detail: e.to_string(),
            })?;
        let network = session.network(page, spec);
        // Firefox reports each WebSocket handshake as a response (status 101) of a connection
        // of its own; Chromium's network events do not show them, so there the page's own
        // count of opens stands for them.
        let handshakes = websocket_handshakes(&network);
        let websockets = spec.protocol.is_websocket();
        add_page(
            &mut out,
            &snapshot,
            websockets,
            websockets && handshakes == 0,
        );
        check_protocol(session.kind(), spec.protocol, &network)?;
        add_network(&mut out, &network);
        if websockets {
            // The handshakes' connections carried sockets, not the page.
            out.connections.page_only = out.connections.page_only.saturating_sub(handshakes);
            out.connections.streams_and_posts += handshakes;
        }
    }
    Ok(out)
}

fn listener_counts(server: &RunningServer, protocol: Protocol) -> ServerCounts {
    let stats = server.stats();
    let Some(l) = stats.listener(protocol) else {
        return ServerCounts::default();
    };
    ServerCounts {
        connections_accepted: l.connections_accepted,
        connections_carrying_requests: l.connections_carrying_requests,
        connections_carrying_after_page_load: 0,
        requests: l.requests,
        connections_refused: l.connections_refused,
        overflows: l.overflows,
    }
}

/// Every response must have come over the arm's protocol: a fallback fails the point.
fn check_protocol(
    browser: BrowserKind,
    protocol: Protocol,
    network: &PageNetwork,
) -> Result<(), BrowserError> {
    let expected = expected_protocol(protocol);
    match network.responses.iter().find(|r| r.protocol != expected) {
        Some(r) => Err(BrowserError::ProtocolMismatch {
            browser,
            arm: protocol,
            expected,
            got: r.protocol.clone(),
            url: r.url.clone(),
        }),
        None => Ok(()),
    }
}

fn ms(t: f64) -> Duration {
    Duration::from_secs_f64(t.max(0.0) / 1000.0)
}

/// Adds one page's end state. With `socket_connections` (the WebSocket arms in Chromium, whose
/// network events do not show them) each `open` of a socket is counted as a connection of its
/// own (WebSockets never share one). On the WebSocket arms a POST is done, without a status,
/// when its echo came back.
fn add_page(out: &mut PointOutcome, page: &PageResult, websockets: bool, socket_connections: bool) {
    if out.visibility.is_empty() || out.visibility == "visible" {
        out.visibility.clone_from(&page.visibility);
    }
    out.measured = out.measured.max(ms(page.ended_at));
    for s in &page.streams {
        out.streams_requested += 1;
        out.streams_opened += u64::from(s.opened.is_some());
        out.streams_open_at_end += u64::from(s.ready_state == OPEN);
        out.streams_queued_at_end += u64::from(s.ready_state == CONNECTING);
        out.events_received += s.events;
        out.stream_errors += s.errors;
        if socket_connections {
            out.connections.streams_and_posts += s.opens;
            out.connections.any += s.opens;
        }
        if let Some(opened) = s.opened {
            out.time_to_open.push(ms(opened - s.created));
        }
        if let Some(first) = s.first_event {
            out.time_to_first_event.push(ms(first - s.created));
        }
    }
    for p in page.posts.iter().filter(|p| p.fired.is_some()) {
        out.posts_scheduled += 1;
        match (p.done, p.status, &p.failed) {
            (Some(done), Some(status), _) if (200..300).contains(&status) => {
                out.posts_completed += 1;
                out.post_rtt.push(ms(done - p.at));
            }
            (Some(done), None, None) if websockets => {
                out.posts_completed += 1;
                out.post_rtt.push(ms(done - p.at));
            }
            (Some(_), Some(_), _) => {
                out.posts_failed += 1;
                out.posts_bad_status += 1;
            }
            (_, _, Some(_)) => out.posts_failed += 1,
            _ => out.posts_stalled_at_end += 1,
        }
    }
}

/// WebSocket handshakes among a page's responses (`101 Switching Protocols`).
fn websocket_handshakes(network: &PageNetwork) -> u64 {
    network.responses.iter().filter(|r| r.status == 101).count() as u64
}

fn add_network(out: &mut PointOutcome, network: &PageNetwork) {
    out.connections += network.connections();
    let count = |k| network.requested.get(&k).copied().unwrap_or(0);
    out.requests_sent.0 += count(RequestKind::Stream);
    out.requests_sent.1 += count(RequestKind::Post);
    out.requests_sent.2 += count(RequestKind::Page);
    out.requests_failed += network.failed.len() as u64;
}
