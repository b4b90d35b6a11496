//! The emulation agrees with real Chromium and real Firefox.
//!
//! For each arm a browser can run and 5, 6 and 10 streams with one POST issued after them, the
//! same point ([`points::workload`]) runs against a fresh embedded server once emulated
//! (`loadgen::run_point`) and once in each headless browser (`browser::run_point`). Each test is
//! written once over browsers and arms (`#[test_support::browsers]`: `agrees::chromium::h3`,
//! `agrees::firefox::h1`, ...), the browsers from `vocab::BrowserProfile::ALL` and the arms each
//! speaks, so a new arm or browser joins them by being added to `vocab`. They must
//! agree on streams opened, streams still queued at the end, whether the POST completed or
//! stalled, and the connections that carried the streams and the POST; each must also match what
//! the browser is known to do ([`truth`]). On the WebSocket arms the streams are WebSockets, each
//! on a connection of its own outside the six HTTP/1.1 slots (`scripts/chromium-ws-probe/`), and
//! the POST's echo comes back; no socket reuses the page's connection, so the page's is counted
//! too. Two more kinds of point per browser: a server stream limit of 3 on the multiplexed arms
//! (HTTP/2 and HTTP/3), and two clients with six streams each on HTTP/1.1 (every client has its
//! own connection pool).
//!
//! The page's own load adds a request, not a connection (`browser::point`, "The page's own
//! connection"): the browser side also checks that no connection carried only the document and
//! that the server counted exactly the connections the browser reported.
//!
//! The same agreement holds across an emulated network of 50 ms round trip (`netem`), the server
//! in its server namespace, the emulated clients and the browser ([`browser::Launcher`]) in its
//! client namespace; there the time to first event must show the round trips it crossed
//! ([`check_round_trips`]); on every TLS arm (`cargo test -p browser --test agreement 50ms`).
//! These need root (CAP_NET_ADMIN and CAP_SYS_ADMIN, `/dev/net/tun`,
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
use points::{emulated, find, real, row, stats, truth, Agreement, Net, Shape, Timing};
use sse_server::Protocol;
use vocab::BrowserProfile;

/// The round trip of the emulated network points.
const RTT: Duration = Duration::from_millis(50);

/// Every arm a browser speaks, on loopback: 5, 6 and 10 streams and a POST, emulated and in the
/// browser (`agrees::chromium::h3`, ...).
#[test_support::browsers(all, flavor = "multi_thread", worker_threads = 2)]
async fn agrees(kind: BrowserProfile, protocol: Protocol) {
    let path = find(kind);
    agree_over(&Net::Loopback, kind, &path, protocol, &[5, 6, 10]).await;
}

/// Over an emulated round trip, a stream's first event comes at least one round trip after its
/// EventSource (the request and its answer), and on a connection of its own two more (the TCP and
/// TLS 1.3 handshakes first). Over HTTP/1.1 all but the first stream open a connection (the first
/// reuses the page's), and every WebSocket opens one (then its upgrade), so the median is at least
/// 3 RTT; over HTTP/2 and HTTP/3 (the page's one connection) at least 1 RTT. 5% off for Firefox's
/// coarse page timers. Less means the traffic did not cross the emulated network.
fn check_round_trips(client: &str, protocol: Protocol, streams: u32, t: &Timing) {
    let trips = if protocol.is_multiplexed() { 1.0 } else { 3.0 };
    let floor = RTT.as_secs_f64() * 1e3 * trips * 0.95;
    let p50 = t.first_event_p50_ms.expect("a time to first event");
    assert!(
        p50 >= floor,
        "{client} {protocol} {streams}: first event p50 {p50:.1} ms, under {trips} round trips of {RTT:?}"
    );
}

/// Runs each point emulated and in the browser, over `net`, and compares them with each other
/// and with what the browser is known to do. The points are independent (each has its own server;
/// in the browser, its own contexts) and what is compared are counts, exact in both clients
/// whatever else runs beside them: they all run at once, the browser's in one browser.
async fn agree_over(
    net: &Net,
    kind: BrowserProfile,
    path: &Path,
    protocol: Protocol,
    sweep: &[u32],
) {
    let before = stats(net);
    let shapes: Vec<Shape> = sweep
        .iter()
        .map(|&streams| Shape {
            clients: 1,
            streams,
            max_streams: None,
        })
        .collect();
    let emulated_points = sweep
        .iter()
        .map(|&streams| emulated(net, protocol, 1, streams, None));
    let (emulated_points, real_points) = tokio::join!(
        futures_util::future::join_all(emulated_points),
        real(net, kind, path, protocol, &shapes),
    );
    if let (Net::Emulated(emulator), Some(before)) = (net, before) {
        let carried = emulator.stats().since(&before);
        assert!(
            carried.up.packets > 0 && carried.down.packets > 0,
            "{kind} {protocol}: the emulated network carried no packet: {carried:?}"
        );
        for ((&streams, e), b) in sweep.iter().zip(&emulated_points).zip(&real_points) {
            check_round_trips("emulated", protocol, streams, &e.1);
            check_round_trips(kind.as_str(), protocol, streams, &b.1);
        }
    }
    let mut table = Vec::new();
    for ((&streams, e), b) in sweep.iter().zip(emulated_points).zip(real_points) {
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

/// [`agree_over`] across an emulated network of [`RTT`] at 6 and 10 streams, on every TLS arm a
/// browser speaks (`agrees_at_50ms_rtt::firefox::h3`, ...). The emulated clients' runtime has its
/// workers in the client namespace, and the points run on them (a spawned task, not `block_on`'s
/// own thread, which stays where it is).
#[test_support::browsers(tls)]
fn agrees_at_50ms_rtt(kind: BrowserProfile, protocol: Protocol) {
    let path = find(kind);
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

/// A server that allows 3 concurrent streams, on the multiplexed arms: the browser opens 3 on its
/// one connection and queues the other 7 EventSources there, and the POST, made after them, waits
/// behind them. HTTP/2: `SETTINGS_MAX_CONCURRENT_STREAMS` 3 (docs/browsers.md, "The wait queue";
/// Chromium: `scripts/chromium-h2-capture/FINDINGS.md`, Q2; Firefox: `crates/browser/FINDINGS.md`,
/// "tests/agreement"). HTTP/3: QUIC's MAX_STREAMS counts streams ever opened, but the server's
/// quinn grants one more for each stream that ends, so the page's request gives its stream back
/// and 3 EventSources run, the rest waiting in creation order, the POST last, on the one
/// connection (docs/browsers.md, "HTTP/3 streams"; both browsers: `scripts/h3-capture/FINDINGS.md`,
/// Q3, limit 3 with credit returned). No stream ends, so nothing leaves the queue: 3 open,
/// 7 queued, the POST stalled, one connection.
#[test_support::browsers(multiplexed, flavor = "multi_thread", worker_threads = 2)]
async fn server_limit_of_3(kind: BrowserProfile, arm: Protocol) {
    let path = find(kind);
    let limit = Some(3);
    let shape = [Shape {
        clients: 1,
        streams: 10,
        max_streams: limit,
    }];
    let (e, mut b) = tokio::join!(
        emulated(&Net::Loopback, arm, 1, 10, limit),
        real(&Net::Loopback, kind, &path, arm, &shape),
    );
    let b = b.pop().expect("one point");
    println!("{}", row(arm, 10, "emulated, limit 3", &e));
    println!("{}", row(arm, 10, &format!("{kind}, limit 3"), &b));
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
        "{arm} limit 3: {kind} disagrees with its known behaviour"
    );
    assert_eq!(e.0, b.0, "{arm} limit 3, 10 streams: emulated vs {kind}");
}

/// Two virtual clients with six EventSources each over HTTP/1.1: each client is one isolated
/// browser context (Chromium) or user context (Firefox) with its own connection pool, as each
/// emulated client has its own six slots. So all twelve open on twelve connections, and each
/// client's POST stalls behind its own six streams. Were the contexts sharing one pool, six
/// streams would stay queued.
#[test_support::browsers(h1, flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_have_their_own_pools(kind: BrowserProfile, arm: Protocol) {
    let path = find(kind);
    let shape = [Shape {
        clients: 2,
        streams: 6,
        max_streams: None,
    }];
    let (e, mut b) = tokio::join!(
        emulated(&Net::Loopback, arm, 2, 6, None),
        real(&Net::Loopback, kind, &path, arm, &shape),
    );
    let b = b.pop().expect("one point");
    println!("{}", row(arm, 12, "emulated, 2 clients x 6", &e));
    println!("{}", row(arm, 12, &format!("{kind}, 2 clients x 6"), &b));
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

/// h2c is refused with a reason, before anything is started.
#[tokio::test]
async fn h2c_is_refused_with_a_reason() {
    for kind in BrowserProfile::ALL {
        let err = browser::browser_supports(kind, Protocol::H2c).unwrap_err();
        assert!(err.to_string().contains("h2c"), "{err}");
    }
}
