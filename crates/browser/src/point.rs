//! One sweep point in a real browser: the same measurement for every browser, through its
//! [`Driver`].
//!
//! Per point: start the server for the arm only (or take the caller's, [`run_point_with`]);
//! launch the browser trusting the server's certificate alone; per virtual client one isolated
//! context (its own connection pools, as one emulated client has) with one page; load the
//! same-origin page; run the harness ([`crate::harness`]) with the client's part of the
//! [`Workload`]; at `warmup + duration` freeze the pages' state, read their network events and the
//! server's counters; then close the browser and stop the server.
//!
//! # The page's own connection
//!
//! Each page loads [`PAGE_PATH`] (not the demo page, whose own EventSource would hold a slot) and
//! the harness starts [`SETTLE`] after the load event, once that connection is idle: over
//! HTTP/1.1 the first EventSource reuses it, over HTTP/2 it is the one connection, so the page
//! adds requests but no connection (docs/browsers.md, "The page loaded first"; the page's own
//! requests: `crates/browser/FINDINGS.md`, "point.rs").
//! [`Connections`](crate::Connections) keeps both views: the connections that carried the
//! EventSources and POSTs (what the emulation is compared with) and those that carried anything.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use sse_server::{Protocol, RunningServer, ServerConfig};
use vocab::{BrowserProfile, Workload};

use crate::answers::AnswerConfig;
use crate::chromium::Chromium;
use crate::driver::{Driver, ServerUnderTest, Session};
use crate::error::BrowserError;
use crate::firefox::Firefox;
use crate::harness::{HarnessConfig, PageResult};
use crate::launcher::Launcher;
use crate::network::PageNetwork;
use crate::outcome::PointOutcome;

/// The same-origin document each page loads before the harness runs.
pub const PAGE_PATH: &str = "/health";
/// Idle time between the page's load event and the harness, so the document's connection is
/// back in the pool (and a favicon request, if any, is done).
pub const SETTLE: Duration = Duration::from_millis(300);
/// Virtual clients a browser point runs at most: each is an isolated context with a window of
/// its own in one browser.
pub const MAX_CLIENTS: u32 = 20;
/// Bound on a page load.
const LOAD_TIMEOUT: Duration = Duration::from_secs(15);
/// Slack on top of `warmup + duration` for the page's end-of-point snapshot.
const RESULT_SLACK: Duration = Duration::from_secs(15);

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

/// Runs `workload` on `arm` in a fresh `browser` at `path`, against a server started from
/// `server` (its listeners are replaced by the arm's one, on 127.0.0.1 port 0).
pub async fn run_point(
    browser: BrowserProfile,
    path: &Path,
    arm: Protocol,
    workload: &Workload,
    mut server: ServerConfig,
) -> Result<PointOutcome, BrowserError> {
    let started = Instant::now();
    browser_supports(arm)?;
    server.listeners = vec![(arm, SocketAddr::from(([127, 0, 0, 1], 0)))];
    let server = sse_server::start(server)
        .await
        .map_err(BrowserError::Server)?;
    let result = run_point_with(browser, path, &Launcher::direct(), arm, workload, &server).await;
    server.shutdown().await;
    let mut outcome = result?;
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Runs `workload` on `arm` in a fresh `browser` at `path`, started through `launcher`, against
/// `server`, which the caller started for the arm (e.g. inside the server side of an emulated
/// network) and stops afterwards. The counters read from it are those of the point only if it is
/// fresh.
pub async fn run_point_with(
    browser: BrowserProfile,
    path: &Path,
    launcher: &Launcher,
    arm: Protocol,
    workload: &Workload,
    server: &RunningServer,
) -> Result<PointOutcome, BrowserError> {
    match browser {
        BrowserProfile::Chromium => run::<Chromium>(path, launcher, arm, workload, server).await,
        BrowserProfile::Firefox => run::<Firefox>(path, launcher, arm, workload, server).await,
    }
}

async fn run<D: Driver>(
    path: &Path,
    launcher: &Launcher,
    arm: Protocol,
    workload: &Workload,
    server: &RunningServer,
) -> Result<PointOutcome, BrowserError> {
    let started = Instant::now();
    browser_supports(arm)?;
    let addr = server
        .addr(arm)
        .ok_or(BrowserError::NoListener { protocol: arm })?;
    let under_test = ServerUnderTest {
        addr,
        certificate: arm.is_tls().then(|| server.cert_der().to_vec()),
    };
    let mut session = Session::launch::<D>(launcher, path, &under_test).await?;
    let result = measure::<D>(&session, arm, workload, server).await;
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

async fn measure<D: Driver>(
    session: &Session,
    arm: Protocol,
    workload: &Workload,
    server: &RunningServer,
) -> Result<PointOutcome, BrowserError> {
    let remote = session.remote();
    let origin = server.url(arm).expect("the server listens for the arm");
    let page_url = format!("{origin}{PAGE_PATH}");
    let mut pages = Vec::with_capacity(workload.clients as usize);
    for _ in 0..workload.clients {
        pages.push(D::open_page(remote, &page_url, LOAD_TIMEOUT).await?);
    }
    tokio::time::sleep(SETTLE).await;
    let after_load = listener(server, arm);

    let websocket_url = arm.websocket_scheme().map(|scheme| {
        let authority = origin.split_once("://").map_or(origin.as_str(), |(_, a)| a);
        format!("{scheme}://{authority}{}", workload.paths.websocket)
    });
    for (index, page) in pages.iter().enumerate() {
        let config = HarnessConfig::for_client(workload, index as u32, websocket_url.clone());
        // The answers first, on their own clock, then the harness (the expression's value).
        let expression = match AnswerConfig::for_client(workload, index as u32) {
            Some(answers) => format!("{}, {}", answers.expression(), config.expression()),
            None => config.expression(),
        };
        D::evaluate(remote, page, &expression, "start", None).await?;
    }
    let wait = workload.warmup + workload.duration + RESULT_SLACK;
    let results = futures_util::future::join_all(pages.iter().map(|page| {
        D::evaluate(
            remote,
            page,
            crate::answers::SNAPSHOT,
            "end-of-point snapshot",
            Some(wait),
        )
    }))
    .await;

    let mut out = PointOutcome {
        server: listener(server, arm),
        server_connections_after_page_load: after_load
            .map_or(0, |l| l.connections_carrying_requests),
        negotiated: arm.alpn_id().to_owned(),
        ..PointOutcome::default()
    };
    for (page, result) in pages.iter().zip(results) {
        let snapshot: PageResult =
            serde_json::from_value(result?).map_err(|e| BrowserError::Script {
                what: "end-of-point snapshot",
                detail: e.to_string(),
            })?;
        let network = D::page_network(&remote.events(page, 0), &workload.paths);
        // Firefox reports each WebSocket handshake as a response (status 101) of a connection
        // of its own; Chromium's network events do not show them, so there the page's own
        // count of opens stands for them.
        let handshakes = network.websocket_handshakes();
        let websockets = arm.is_websocket();
        out.add_page(&snapshot, websockets, websockets && handshakes == 0);
        if workload.has_answers() {
            out.answers.get_or_insert_with(Default::default).add_page(
                &snapshot.answers,
                snapshot.ended_at,
                workload.answers.stall_threshold,
            );
        }
        check_protocol(D::PROFILE, arm, &network)?;
        out.add_network(&network);
        if websockets {
            // The handshakes' connections carried sockets, not the page.
            out.connections.page_only = out.connections.page_only.saturating_sub(handshakes);
            out.connections.streams_and_posts += handshakes;
        }
    }
    Ok(out)
}

/// The server's counters for the arm's listener now.
fn listener(server: &RunningServer, arm: Protocol) -> Option<sse_server::ListenerStats> {
    server.stats().listener(arm).cloned()
}

/// Every response must have come over the arm's protocol: a fallback fails the point.
fn check_protocol(
    browser: BrowserProfile,
    arm: Protocol,
    network: &PageNetwork,
) -> Result<(), BrowserError> {
    let expected = arm.alpn_id();
    match network.responses.iter().find(|r| r.protocol != expected) {
        Some(r) => Err(BrowserError::ProtocolMismatch {
            browser,
            arm,
            expected,
            got: r.protocol.clone(),
            url: r.url.clone(),
        }),
        None => Ok(()),
    }
}
