//! A browser running a point makes no connection but to the embedded server.
//!
//! The browser is started under `strace -f`, which follows every process it forks (content and
//! socket processes, Chromium's zygote and network service) and logs each `connect`, `sendto`,
//! `sendmsg` and `sendmmsg` with its destination and the kind of socket. After one whole point
//! on a multiplexed arm (h2 over TLS, so that certificate checks run too, and h3 over QUIC, with
//! EventSources and POSTs) every TCP `connect` and every datagram must go to the server's
//! listener, its address and port: no DNS query, no other port on loopback, no other host,
//! whether the attempt succeeded or not. On h2 the connects must number the sockets the server
//! accepted and no datagram may be sent at all; on h3 (UDP) datagrams go to the server's port,
//! and the only TCP connect allowed is Firefox's one warm-up load, to the same address and port,
//! refused (`browser::firefox::bidi::warm_up`). Unix sockets (IPC) and netlink (route queries)
//! are not network traffic. A `connect` on a UDP socket sends no packet; Chromium makes one to
//! 2001:4860:4860::8888 port 443 to learn whether IPv6 is routable (its `HostResolverManager`
//! IPv6 probe), which is printed but allowed.
//!
//! Run on the host, this only proves there was no *attempt*; `scripts/browser-isolation.sh` runs
//! the same test inside a network namespace whose only way out is a TUN device nobody reads, so
//! that nothing can leave even when an attempt is made (used when measuring a new browser
//! version).
//!
//! The same holds with the browser started in the client namespace of an emulated network
//! (`netem`, [`browser::Launcher`]) and the server in its server namespace: every TCP `connect`
//! goes to the server's address there. That is where Firefox runs without
//! `MOZ_DISABLE_NONLOCAL_CONNECTIONS` (it would abort on the benchmarking range), so this is the
//! check that its preferences alone keep it to the server; the namespace's routes would stop
//! anything else from leaving in any case. These need root.
//!
//! Needs `strace` (`apt-get install strace`) and both browsers; fails, never skips, without them.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use browser::{Launcher, PointOutcome};
use netem::{Emulator, NetworkConfig, Side};
use sse_server::{DedicatedServer, Protocol, ServerConfig, ThreadStart};
use vocab::{BrowserProfile, Paths, PostPlan, Transport, Workload};

/// The system calls that open a connection or send a datagram, as strace names them.
const TRACED: &str = "connect,sendto,sendmsg,sendmmsg";

fn strace() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("strace"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("the isolation test needs strace and never skips: apt-get install strace")
        })
}

/// A shell script that runs `browser` under strace, logging to `log`. `-yy` annotates each
/// socket descriptor with its protocol and, once connected, its addresses
/// (`5<UDP:[127.0.0.1:999->127.0.0.1:9]>`; the source port of a sample line).
fn traced_browser(dir: &Path, browser: &Path, log: &Path) -> PathBuf {
    let script = dir.join("traced-browser");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec {} -f -qq -yy -s 0 -e signal=none -e trace={TRACED} -o {} {} \"$@\"\n",
            strace().display(),
            log.display(),
            browser.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// What one traced system call did on the network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Traffic {
    /// `connect` on a TCP socket (or one whose kind strace could not tell): a SYN to `to`.
    Connect { to: SocketAddr },
    /// A datagram sent to `to`, by address or on a socket connected to it.
    Datagram { to: SocketAddr },
    /// `connect` on a UDP socket: it only picks the default destination, no packet is sent.
    UdpConnect { to: SocketAddr },
}

/// The network traffic in an strace log. IPv4 addresses look like `sin_port=htons(P),
/// sin_addr=inet_addr("A")`, IPv6 ones like `sin6_port=htons(P), ... inet_pton(AF_INET6, "A",
/// ...)`; unix and netlink sockets carry no such address and are skipped.
fn traffic(log: &str) -> Vec<Traffic> {
    let mut out = Vec::new();
    for line in log.lines() {
        let Some(call_and_args) = line.split_whitespace().nth(1) else {
            continue;
        };
        let Some(call) = TRACED
            .split(',')
            .find(|c| call_and_args.starts_with(&format!("{c}(")))
        else {
            continue;
        };
        let between = |start: &str, end: char| {
            line.find(start).map(|i| {
                let rest = &line[i + start.len()..];
                rest[..rest.find(end).unwrap_or(rest.len())].to_owned()
            })
        };
        // The descriptor's annotation: `TCP:[inode]`, `UDPv6:[local->remote]`, `UNIX:[..]`, ...
        // (it may hold `->`, so it ends at `]>`).
        let socket = line
            .find('<')
            .and_then(|i| line[i + 1..].find("]>").map(|j| &line[i + 1..i + 1 + j]))
            .unwrap_or_default();
        let protocol = socket.split(':').next().unwrap_or_default();
        let port = between("sin_port=htons(", ')').or_else(|| between("sin6_port=htons(", ')'));
        let addr = between("inet_addr(\"", '"').or_else(|| between("inet_pton(AF_INET6, \"", '"'));
        let explicit = match (addr, port) {
            (Some(addr), Some(port)) => Some(SocketAddr::new(
                addr.parse().unwrap_or_else(|_| panic!("address in {line}")),
                port.parse().unwrap_or_else(|_| panic!("port in {line}")),
            )),
            _ => None,
        };
        let connected_to = socket
            .split_once("->")
            .and_then(|(_, remote)| remote.parse::<SocketAddr>().ok());
        let udp = protocol.starts_with("UDP");
        match (call, explicit) {
            ("connect", Some(to)) if udp => out.push(Traffic::UdpConnect { to }),
            ("connect", Some(to)) => out.push(Traffic::Connect { to }),
            (_, Some(to)) => out.push(Traffic::Datagram { to }),
            ("connect", None) => {}
            (_, None) => {
                if let Some(to) = connected_to.filter(|_| udp) {
                    out.push(Traffic::Datagram { to });
                }
            }
        }
    }
    out
}

fn workload() -> Workload {
    Workload {
        clients: 1,
        streams_per_client: 3,
        warmup: Duration::from_millis(1000),
        duration: Duration::from_millis(2000),
        posts: PostPlan {
            rate_per_client: 1.0,
            body_bytes: 64,
        },
        paths: Paths::for_channel("isolation"),
        stream_kind: vocab::StreamKind::EventSource,
        answers: loadgen::defaults::answer_plan(),
        reconnect_delay: loadgen::defaults::reconnect_delay(BrowserProfile::Chromium),
    }
}

fn server_config() -> ServerConfig {
    let mut server = ServerConfig::default();
    server.events.interval = Duration::from_millis(100);
    server
}

fn find(kind: BrowserProfile) -> PathBuf {
    browser::find_browser(kind, None)
        .unwrap_or_else(|e| panic!("the isolation test needs a real {kind} and never skips: {e}"))
}

async fn only_the_server(kind: BrowserProfile, protocol: Protocol) {
    let binary = find(kind);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("strace.log");
    let traced = traced_browser(dir.path(), &binary, &log);
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        browser::run_point(kind, &traced, protocol, &workload(), server_config()),
    )
    .await
    .expect("a traced point stops by itself")
    .unwrap_or_else(|e| panic!("{kind} under strace: {e}"));
    check_traffic(kind, protocol, &log, &out);
}

/// TCP connects on an arm over UDP: Firefox's warm-up load, refused (the server listens on UDP
/// only), which Firefox may try once more (2 connects seen on loopback, 1 across an emulated
/// network); Chromium, forced onto QUIC for the origin, makes none.
fn warm_up_connects(kind: BrowserProfile) -> RangeInclusive<u64> {
    match kind {
        BrowserProfile::Chromium => 0..=0,
        BrowserProfile::Firefox => 1..=2,
    }
}

/// Checks the strace log of a point on `protocol`: every TCP connect and every datagram went to
/// the server's listener (its address and port, from its counters); on TCP as many connects as
/// the server accepted and no datagram, on UDP at least one datagram and no TCP connect but the
/// warm-up's.
fn check_traffic(kind: BrowserProfile, protocol: Protocol, log: &Path, out: &PointOutcome) {
    assert_eq!(out.streams_opened, 3, "{out:#?}");
    assert_eq!(out.posts_completed, 2, "{out:#?}");
    let listener = out.server.as_ref().expect("the server's counters");
    let server = listener.address;

    let text = std::fs::read_to_string(log).unwrap();
    let seen = traffic(&text);
    let mut counts: BTreeMap<&Traffic, u64> = BTreeMap::new();
    for t in &seen {
        *counts.entry(t).or_default() += 1;
    }
    println!("{kind} {protocol} under strace: {counts:?}");
    let stray: Vec<&Traffic> = seen
        .iter()
        .filter(|t| match t {
            Traffic::Connect { to } | Traffic::Datagram { to } => *to != server,
            Traffic::UdpConnect { .. } => false,
        })
        .collect();
    assert!(
        stray.is_empty(),
        "{kind} {protocol} sent to something other than the server {server}: {stray:?}"
    );
    let connects = seen
        .iter()
        .filter(|t| matches!(t, Traffic::Connect { .. }))
        .count() as u64;
    let datagrams = seen
        .iter()
        .filter(|t| matches!(t, Traffic::Datagram { .. }))
        .count() as u64;
    match protocol.transport() {
        Transport::Tcp => {
            assert!(connects > 0, "{kind}: no connect traced: {counts:?}");
            assert_eq!(
                connects, listener.connections_accepted,
                "{kind}: connects to {server} vs sockets the server accepted"
            );
            assert_eq!(datagrams, 0, "{kind}: datagrams on a TCP arm: {counts:?}");
        }
        Transport::Udp => {
            assert!(datagrams > 0, "{kind}: no datagram traced: {counts:?}");
            assert!(
                warm_up_connects(kind).contains(&connects),
                "{kind}: {connects} TCP connects on {protocol}, expected {:?}: {counts:?}",
                warm_up_connects(kind)
            );
            assert!(listener.connections_accepted > 0, "{listener:?}");
        }
    }
}

/// [`only_the_server`] with the browser in an emulated network's client namespace and the server
/// in its server namespace. The point runs on a runtime whose workers are in the client namespace
/// (the browser's remote protocol port is on that namespace's loopback).
fn only_the_server_across_the_network(kind: BrowserProfile, arm: Protocol) {
    let binary = find(kind);
    let emulator = Arc::new(
        Emulator::start(NetworkConfig::default()).unwrap_or_else(|e| {
            panic!("this isolation test needs an emulated network and never skips: {e}")
        }),
    );
    let inside = Arc::clone(&emulator);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || inside.enter(Side::Client).unwrap())
        .build()
        .unwrap();
    let net = Arc::clone(&emulator);
    let point = runtime.spawn(async move {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("strace.log");
        let traced = traced_browser(dir.path(), &binary, &log);
        let mut config = server_config();
        config.listeners = vec![(arm, SocketAddr::new(net.addr(Side::Server), 0))];
        let server_side = Arc::clone(&net);
        let hook: ThreadStart = Arc::new(move || server_side.enter(Side::Server).unwrap());
        let server =
            tokio::task::spawn_blocking(move || DedicatedServer::start_with(config, 1, Some(hook)))
                .await
                .unwrap()
                .unwrap();
        let client_side = Arc::clone(&net);
        let launcher =
            Launcher::in_network_namespace(move |p| client_side.command(Side::Client, p));
        let out = tokio::time::timeout(
            Duration::from_secs(120),
            browser::run_point_with(kind, &traced, &launcher, arm, &workload(), &server),
        )
        .await
        .expect("a traced point stops by itself")
        .unwrap_or_else(|e| panic!("{kind} under strace in the client namespace: {e}"));
        server.shutdown().await;
        check_traffic(kind, arm, &log, &out);
    });
    runtime
        .block_on(point)
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
}

/// Across an emulated network, on HTTP/2 (TCP) and HTTP/3 (UDP).
#[test_support::browsers(multiplexed)]
fn connects_to_the_server_only_across_an_emulated_network(kind: BrowserProfile, arm: Protocol) {
    only_the_server_across_the_network(kind, arm);
}

/// On loopback, on HTTP/2 (TCP) and HTTP/3 (UDP).
#[test_support::browsers(multiplexed, flavor = "multi_thread", worker_threads = 2)]
async fn connects_to_the_server_only(kind: BrowserProfile, arm: Protocol) {
    only_the_server(kind, arm).await;
}

/// The same on the WebSocket arm: the sockets' connections go to the server as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_connects_to_the_server_only_on_wss() {
    only_the_server(BrowserProfile::Chromium, Protocol::Wss).await;
}

#[test]
fn reads_strace_lines() {
    let log = r#"101 connect(87<UDP:[9]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = -1 ENETUNREACH (Network is unreachable)
101 connect(88<TCP:[10]>, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("127.0.0.1")}, 16 <unfinished ...>
102 sendto(9<UDPv6:[11]>, ""..., 40, MSG_NOSIGNAL, {sa_family=AF_INET6, sin6_port=htons(53), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "fd00::1", &sin6_addr), sin6_scope_id=0}, 28) = 40
102 sendto(5<UDP:[127.0.0.1:999->10.255.255.53:53]>, ""..., 30, 0, NULL, 0) = 30
102 sendmmsg(6<UDPv6:[[fd00::2]:4000->[fd00::1]:53]>, [{msg_hdr={msg_name=NULL, msg_namelen=0}}], 2, MSG_NOSIGNAL) = 2
103 sendmsg(16<UNIX:[1->2]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="x", iov_len=1}], msg_iovlen=1}, 0) = 1
104 connect(5<UNIX:[7]>, {sa_family=AF_UNIX, sun_path="X0"}, 20) = -1 ENOENT
104 connect(20<UDPv6:[8]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6_addr), sin6_scope_id=0}, 28) = 0
105 sendmsg(27<NETLINK:[12]>, {msg_name={sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, msg_namelen=12, msg_iov=[{iov_base=[{nlmsg_len=36, nlmsg_type=RTM_GETROUTE}, {rtm_family=AF_INET}, [{nla_len=8, nla_type=RTA_DST}, inet_addr("23.219.91.27")]], iov_len=36}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 36"#;
    let shown: Vec<String> = traffic(log).iter().map(|t| format!("{t:?}")).collect();
    assert_eq!(
        shown,
        vec![
            "UdpConnect { to: 10.255.255.53:53 }",
            "Connect { to: 127.0.0.1:443 }",
            "Datagram { to: [fd00::1]:53 }",
            "Datagram { to: 10.255.255.53:53 }",
            "Datagram { to: [fd00::1]:53 }",
            "UdpConnect { to: [2001:4860:4860::8888]:443 }",
        ]
    );
}
