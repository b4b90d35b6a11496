//! The emulation agrees with real Chromium and real Firefox.
//!
//! For each arm a browser can run and 5, 6 and 10 streams with one POST issued after them, the
//! same point ([`points::workload`]) runs against a fresh embedded server once emulated
//! (`loadgen::run_point`) and once in each headless browser (`browser::run_point`). They must
//! agree on streams opened, streams still queued at the end, whether the POST completed or
//! stalled, and the connections that carried the streams and the POST; each must also match what
//! the browser is known to do ([`truth`]). On the WebSocket arms the streams are WebSockets, each
//! on a connection of its own outside the six HTTP/1.1 slots (`scripts/chromium-ws-probe/`), and
//! the POST's echo comes back; no socket reuses the page's connection, so the page's is counted
//! too. Two more points per browser: an HTTP/2 server limit of 3, and two clients with six
//! streams each (every client has its own connection pool).
//!
//! The page's own load adds a request, not a connection (`browser::point`, "The page's own
//! connection"): the browser side also checks that no connection carried only the document and
//! that the server counted exactly the connections the browser reported.
//!
//! The same agreement holds across an emulated network of 50 ms round trip (`netem`), the server
//! in its server namespace, the emulated clients and the browser ([`browser::Launcher`]) in its
//! client namespace; there the time to first event must show the round trips it crossed
//! ([`check_round_trips`]). These need root (CAP_NET_ADMIN and CAP_SYS_ADMIN, `/dev/net/tun`,
//! iproute2) and fail without.
//!
//! Streamed answers agree too, at one tab with 5, 6 and 8 answers at once and a chat POST, on
//! h1-tls and h2 (`answers`).
//!
//! Both browsers must be installed (`apt-get install chromium firefox-esr`, or
//! `SSEBENCH_CHROMIUM=PATH` / `SSEBENCH_FIREFOX=PATH`): without them these tests fail, they never
//! skip. `cargo test -p browser --test agreement -- --nocapture --test-threads 1` prints the
//! agreement table.

#![allow(clippy::unwrap_used)]

mod answers;
mod points;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use netem::{Emulator, NetworkConfig, Side};
use points::{emulated, find, real, row, stats, truth, Agreement, Net, Timing};
use sse_server::Protocol;
use vocab::BrowserProfile;

/// One point at a time: the harness would otherwise run two tests' browsers and emulated
/// clients at once on a small machine, and what is compared must not depend on that contention.
/// (Seen with the tests in parallel on 2 cores: the emulated client at a server limit of 3
/// sometimes ended with 3 open and 4 queued out of 10, the other 3 in neither state.)
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The round trip of the emulated network points.
const RTT: Duration = Duration::from_millis(50);

async fn agree(kind: BrowserProfile, protocol: Protocol) {
    let path = find(kind);
    let _one = ONE_AT_A_TIME.lock().await;
    agree_over(&Net::Loopback, kind, &path, protocol, &[5, 6, 10]).await;
}

/// Over an emulated round trip, a stream's first event comes at least one round trip after its
/// EventSource (the request and its answer), and on a connection of its own two more (the TCP and
/// TLS 1.3 handshakes first). Over HTTP/1.1 all but the first stream open a connection (the first
/// reuses the page's), so the median is at least 3 RTT; over HTTP/2 at least 1 RTT. 5% off for
/// Firefox's coarse page timers. Less means the traffic did not cross the emulated network.
fn check_round_trips(client: &str, protocol: Protocol, streams: u32, t: &Timing) {
    let trips = if protocol.is_http2() { 1.0 } else { 3.0 };
    let floor = RTT.as_secs_f64() * 1e3 * trips * 0.95;
    let p50 = t.first_event_p50_ms.expect("a time to first event");
    assert!(
        p50 >= floor,
        "{client} {protocol} {streams}: first event p50 {p50:.1} ms, under {trips} round trips of {RTT:?}"
    );
}

/// Runs each point emulated, then in the browser, over `net`, and compares them with each other
/// and with what the browser is known to do.
async fn agree_over(
    net: &Net,
    kind: BrowserProfile,
    path: &Path,
    protocol: Protocol,
    sweep: &[u32],
) {
    let mut table = Vec::new();
    for &streams in sweep {
        let e = emulated(net, protocol, 1, streams, None).await;
        let before = stats(net);
        let b = real(net, kind, path, protocol, 1, streams, None).await;
        if let (Net::Emulated(emulator), Some(before)) = (net, before) {
            let carried = emulator.stats().since(&before);
            assert!(
                carried.up.packets > 0 && carried.down.packets > 0,
                "{kind} {protocol} {streams}: the emulated network carried no packet: {carried:?}"
            );
            check_round_trips("emulated", protocol, streams, &e.1);
            check_round_trips(kind.as_str(), protocol, streams, &b.1);
        }
        table.push(row(protocol, streams, "emulated", &e));
        table.push(row(protocol, streams, kind.as_str(), &b));
        println!("{}\n{}", table[table.len() - 2], table[table.len() - 1]);
        assert_eq!(
            b.0,
            truth(protocol, u64::from(streams)),
            "{protocol} with {streams} streams: {kind} disagrees with its known behaviour"
        );
        assert_eq!(
            e.0, b.0,
            "{protocol} with {streams} streams: emulated vs {kind}"
        );
    }
    let over = match net {
        Net::Loopback => "loopback".to_owned(),
        Net::Emulated(_) => format!("an emulated network, RTT {RTT:?}"),
    };
    println!(
        "\n{kind}, {protocol}, over {over}:\n| arm | streams | client | opened | queued at end | POST \
         | conns (ES+POST) | server conns | first event p50 ms | POST rtt ms |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n{}",
        table.join("\n")
    );
}

/// [`agree_over`] across an emulated network of [`RTT`] at 6 and 10 streams. The emulated
/// clients' runtime has its workers in the client namespace, and the points run on them (a
/// spawned task, not `block_on`'s own thread, which stays where it is).
fn agree_across_the_network(kind: BrowserProfile, protocol: Protocol) {
    let path = find(kind);
    let _one = ONE_AT_A_TIME.blocking_lock();
    let config = NetworkConfig {
        rtt: RTT,
        ..NetworkConfig::default()
    };
    let emulator = Arc::new(Emulator::start(config).unwrap_or_else(|e| {
        panic!("these agreement tests need an emulated network and never skip: {e}")
    }));
    let inside = Arc::clone(&emulator);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || inside.enter(Side::Client).unwrap())
        .build()
        .unwrap();
    let net = Net::Emulated(Arc::clone(&emulator));
    let points = runtime.spawn(async move {
        agree_over(&net, kind, &path, protocol, &[6, 10]).await;
    });
    runtime
        .block_on(points)
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    drop(runtime);
    Arc::into_inner(emulator)
        .expect("the emulator's last handle")
        .shutdown()
        .unwrap();
}

#[test]
fn h1_tls_agrees_with_chromium_at_50ms_rtt() {
    agree_across_the_network(BrowserProfile::Chromium, Protocol::H1Tls);
}

#[test]
fn h2_agrees_with_chromium_at_50ms_rtt() {
    agree_across_the_network(BrowserProfile::Chromium, Protocol::H2);
}

#[test]
fn h1_tls_agrees_with_firefox_at_50ms_rtt() {
    agree_across_the_network(BrowserProfile::Firefox, Protocol::H1Tls);
}

#[test]
fn h2_agrees_with_firefox_at_50ms_rtt() {
    agree_across_the_network(BrowserProfile::Firefox, Protocol::H2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_agrees_with_chromium() {
    agree(BrowserProfile::Chromium, Protocol::H1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_tls_agrees_with_chromium() {
    agree(BrowserProfile::Chromium, Protocol::H1Tls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_agrees_with_chromium() {
    agree(BrowserProfile::Chromium, Protocol::H2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_agrees_with_firefox() {
    agree(BrowserProfile::Firefox, Protocol::H1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_tls_agrees_with_firefox() {
    agree(BrowserProfile::Firefox, Protocol::H1Tls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_agrees_with_firefox() {
    agree(BrowserProfile::Firefox, Protocol::H2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_agrees_with_chromium() {
    agree(BrowserProfile::Chromium, Protocol::Ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_agrees_with_chromium() {
    agree(BrowserProfile::Chromium, Protocol::Wss).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_agrees_with_firefox() {
    agree(BrowserProfile::Firefox, Protocol::Ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_agrees_with_firefox() {
    agree(BrowserProfile::Firefox, Protocol::Wss).await;
}

/// A server that allows 3 concurrent streams: the browser opens 3 on its one connection and
/// queues the other 7 EventSources there, and the POST, made after them, waits behind them
/// (docs/browsers.md, "The wait queue"; Chromium: `scripts/chromium-h2-capture/FINDINGS.md`, Q2;
/// Firefox: `crates/browser/FINDINGS.md`, "tests/agreement"). No stream ends, so nothing leaves
/// the queue: 3 open, 7 queued, the POST stalled, one connection.
async fn h2_server_limit_of_3(kind: BrowserProfile) {
    let path = find(kind);
    let _one = ONE_AT_A_TIME.lock().await;
    let limit = Some(3);
    let e = emulated(&Net::Loopback, Protocol::H2, 1, 10, limit).await;
    let b = real(&Net::Loopback, kind, &path, Protocol::H2, 1, 10, limit).await;
    println!("{}", row(Protocol::H2, 10, "emulated, limit 3", &e));
    println!("{}", row(Protocol::H2, 10, &format!("{kind}, limit 3"), &b));
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
        b.0, known,
        "h2 limit 3: {kind} disagrees with its known behaviour"
    );
    assert_eq!(e.0, b.0, "h2 limit 3, 10 streams: emulated vs {kind}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_server_limit_of_3_agrees_with_chromium() {
    h2_server_limit_of_3(BrowserProfile::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_server_limit_of_3_agrees_with_firefox() {
    h2_server_limit_of_3(BrowserProfile::Firefox).await;
}

/// Two virtual clients with six EventSources each over HTTP/1.1: each client is one isolated
/// browser context (Chromium) or user context (Firefox) with its own connection pool, as each
/// emulated client has its own six slots. So all twelve open on twelve connections, and each
/// client's POST stalls behind its own six streams. Were the contexts sharing one pool, six
/// streams would stay queued.
async fn two_clients(kind: BrowserProfile) {
    let path = find(kind);
    let _one = ONE_AT_A_TIME.lock().await;
    let e = emulated(&Net::Loopback, Protocol::H1, 2, 6, None).await;
    let b = real(&Net::Loopback, kind, &path, Protocol::H1, 2, 6, None).await;
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
    two_clients(BrowserProfile::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_have_their_own_pools_in_firefox() {
    two_clients(BrowserProfile::Firefox).await;
}

/// h2c is refused with a reason, before anything is started.
#[tokio::test]
async fn h2c_is_refused_with_a_reason() {
    let err = browser::browser_supports(Protocol::H2c).unwrap_err();
    assert!(err.to_string().contains("h2c"), "{err}");
}
