//! One sweep point in a real browser: the same measurement for every browser, through its
//! [`Driver`].
//!
//! Per point: start the server for the arm only (or take the caller's, [`run_point_with`]);
//! launch the browser trusting the server's certificate alone; per virtual client one isolated
//! context (its own connection pools, as one emulated client has) with one page; load the
//! same-origin page; run the harness ([`crate::harness`]) with the client's part of the
//! [`Workload`]; at `warmup + duration` freeze the pages' state, read their network events and the
//! server's counters; then close the browser and stop the server. Independent points, each with
//! its own server, can share one browser launched for all their servers ([`run_points_with`]):
//! their clients' contexts are still their own.
//!
//! # The page's own connection
//!
//! Each page loads [`PAGE_PATH`] (not the demo page, whose own EventSource would hold a slot) and
//! the harness starts [`SETTLE`] after the load event, once that connection is idle: over
//! HTTP/1.1 the first EventSource reuses it, over HTTP/2 and HTTP/3 it is the one connection, so
//! the page adds requests but no connection (docs/browsers.md, "The page loaded first"; the page's own
//! requests: `crates/browser/FINDINGS.md`, "point.rs").
//! [`Connections`](crate::Connections) keeps both views: the connections that carried the
//! EventSources and POSTs (what the emulation is compared with) and those that carried anything.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use sse_server::{Protocol, RunningServer, ServerConfig};
use vocab::{BrowserProfile, Transport, Workload};

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

/// Which arms a browser can run ([`BrowserProfile::speaks`]); `Err` says why not.
pub fn browser_supports(browser: BrowserProfile, protocol: Protocol) -> Result<(), BrowserError> {
    match browser.cannot_speak(protocol) {
        None => Ok(()),
        Some(reason) => Err(BrowserError::UnsupportedArm { protocol, reason }),
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
    browser_supports(browser, arm)?;
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
    let point = PointSpec {
        arm,
        workload,
        server,
    };
    let mut outcomes = run_points_with(browser, path, launcher, &[point]).await?;
    outcomes.pop().expect("one outcome per point")
}

/// One point of [`run_points_with`]: its arm, its workload and the server the caller started for
/// it (fresh, so that its counters are the point's).
#[derive(Debug, Clone, Copy)]
pub struct PointSpec<'a> {
    pub arm: Protocol,
    pub workload: &'a Workload,
    pub server: &'a RunningServer,
}

/// Runs several independent points at once in one fresh `browser` at `path`, started through
/// `launcher` for all their servers (each trusted for its own address alone): each point's
/// clients get contexts of their own, as in a browser of their own, and each point is measured
/// as [`run_point_with`] measures it. What a browser's start costs is paid once (seconds of CPU
/// for Firefox). `Err` when the browser could not be started; else one outcome per point, in
/// order.
pub async fn run_points_with(
    browser: BrowserProfile,
    path: &Path,
    launcher: &Launcher,
    points: &[PointSpec<'_>],
) -> Result<Vec<Result<PointOutcome, BrowserError>>, BrowserError> {
    // One Firefox profile sends one server to HTTP/3 (its testing mapping is by host, and every
    // server here is on 127.0.0.1): several points on QUIC get a browser each, one after another.
    let quic = points
        .iter()
        .filter(|p| p.arm.transport() == Transport::Udp)
        .count();
    if browser == BrowserProfile::Firefox && quic > 1 {
        let mut outcomes = Vec::with_capacity(points.len());
        for point in points {
            outcomes.extend(run::<Firefox>(path, launcher, std::slice::from_ref(point)).await?);
        }
        return Ok(outcomes);
    }
    match browser {
        BrowserProfile::Chromium => run::<Chromium>(path, launcher, points).await,
        BrowserProfile::Firefox => run::<Firefox>(path, launcher, points).await,
    }
}

async fn run<D: Driver>(
    path: &Path,
    launcher: &Launcher,
    points: &[PointSpec<'_>],
) -> Result<Vec<Result<PointOutcome, BrowserError>>, BrowserError> {
    let started = Instant::now();
    let mut servers = Vec::with_capacity(points.len());
    for point in points {
        browser_supports(D::PROFILE, point.arm)?;
        let addr = point
            .server
            .addr(point.arm)
            .ok_or(BrowserError::NoListener {
                protocol: point.arm,
            })?;
        servers.push(ServerUnderTest {
            addr,
            transport: point.arm.transport(),
            certificate: point.arm.is_tls().then(|| point.server.cert_der().to_vec()),
        });
    }
    let mut session = Session::launch::<D>(launcher, path, &servers).await?;
    let measured = futures_util::future::join_all(
        points
            .iter()
            .map(|p| measure::<D>(&session, p.arm, p.workload, p.server)),
    )
    .await;
    // A browser that died mid-point (e.g. Firefox refusing a non-local connection) explains the
    // failure better than the closed protocol connection does.
    let results: Vec<_> = measured
        .into_iter()
        .map(|result| match (result, session.exited()) {
            (Err(_), Some(exited)) => Err(exited),
            (result, _) => result,
        })
        .collect();
    session.close().await;
    let elapsed = started.elapsed();
    Ok(results
        .into_iter()
        .map(|result| {
            result.map(|mut outcome| {
                outcome.elapsed = elapsed;
                outcome
            })
        })
        .collect())
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
        ..PointOutcome::default()
    };
    for (page, result) in pages.iter().zip(results) {
        let snapshot: PageResult =
            serde_json::from_value(result?).map_err(|e| BrowserError::Script {
                what: "end-of-point snapshot",
                detail: e.to_string(),
            })?;
        let network = D::page_network(&remote.events(page, 0), &workload.paths);
        out.negotiated = check_protocol(D::PROFILE, arm, &network)?;
        out.add_page(&snapshot, arm.is_websocket());
        if workload.has_answers() {
            out.answers.get_or_insert_with(Default::default).add_page(
                &snapshot.answers,
                snapshot.ended_at,
                workload.answers.stall_threshold,
            );
        }
        out.add_network(&network);
    }
    Ok(out)
}

/// The server's counters for the arm's listener now.
fn listener(server: &RunningServer, arm: Protocol) -> Option<sse_server::ListenerStats> {
    server.stats().listener(arm).cloned()
}

/// The protocol the browser reported for a page's responses, which must be the arm's on every
/// response that names one (a fallback fails the point), and on at least one (a page whose
/// responses say nothing proves nothing).
fn check_protocol(
    browser: BrowserProfile,
    arm: Protocol,
    network: &PageNetwork,
) -> Result<String, BrowserError> {
    let expected = arm.alpn_id();
    let mut negotiated = None;
    for r in &network.responses {
        let Some(got) = &r.protocol else { continue };
        if got != expected {
            return Err(BrowserError::ProtocolMismatch {
                browser,
                arm,
                expected,
                got: got.clone(),
                url: r.url.clone(),
            });
        }
        negotiated = Some(got.clone());
    }
    negotiated.ok_or(BrowserError::NoProtocol { browser, arm })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{ConnectionEvidence, RequestKind, Response};

    fn response(protocol: Option<&str>) -> Response {
        Response {
            kind: RequestKind::Stream,
            url: "https://127.0.0.1:1/events".into(),
            status: 200,
            protocol: protocol.map(str::to_owned),
            connection: ConnectionEvidence::Handshake,
        }
    }

    fn page(protocols: &[Option<&str>]) -> PageNetwork {
        PageNetwork {
            responses: protocols.iter().map(|&p| response(p)).collect(),
            ..PageNetwork::default()
        }
    }

    #[test]
    fn the_negotiated_protocol_is_the_one_the_browser_reported() {
        let chromium = BrowserProfile::Chromium;
        let got = check_protocol(
            chromium,
            Protocol::H2,
            &page(&[Some("h2"), None, Some("h2")]),
        );
        assert_eq!(got.unwrap(), "h2");
        let got = check_protocol(chromium, Protocol::Ws, &page(&[Some("http/1.1"), None]));
        assert_eq!(
            got.unwrap(),
            "http/1.1",
            "a handshake without one is skipped"
        );
    }

    #[test]
    fn a_fallback_on_any_response_fails() {
        let got = check_protocol(
            BrowserProfile::Firefox,
            Protocol::H2,
            &page(&[Some("h2"), Some("http/1.1")]),
        );
        assert!(
            matches!(&got, Err(BrowserError::ProtocolMismatch { got, .. }) if got == "http/1.1"),
            "{got:?}"
        );
    }

    #[test]
    fn a_page_without_a_reported_protocol_fails() {
        for responses in [&[][..], &[None, None][..]] {
            let got = check_protocol(BrowserProfile::Chromium, Protocol::H1, &page(responses));
            assert!(
                matches!(got, Err(BrowserError::NoProtocol { .. })),
                "{responses:?}: {got:?}"
            );
        }
    }
}
