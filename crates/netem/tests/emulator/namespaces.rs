//! The namespaces: what lives in them (the TUN device, IPv6 off, extra client addresses,
//! commands, tokio runtimes with their workers inside), and that they go away, with a killed
//! run's leftovers.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use netem::{NetworkConfig, Side};

use super::{accept_within, exclusive, listener, start};

fn ip_netns_names() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("run ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn namespaces_gone_after_drop() {
    let _guard = exclusive();
    let host_ipv6 = std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6").ok();
    let emu = start(NetworkConfig::default());
    let names = [
        emu.namespace(Side::Client).to_owned(),
        emu.namespace(Side::Server).to_owned(),
    ];
    let pid = std::process::id().to_string();
    let listed = ip_netns_names();
    for name in &names {
        assert!(name.contains(&pid), "{name} does not carry the pid {pid}");
        assert!(
            listed.contains(name),
            "{name} not in `ip netns list`: {listed:?}"
        );
        let device = Command::new("ip")
            .args(["-n", name, "link", "show", "ssebench0"])
            .output()
            .expect("ip link show");
        assert!(device.status.success(), "no TUN device in {name}");
        // IPv6 is off inside (so only the benchmark's packets cross), and only inside.
        let inside = Command::new("ip")
            .args([
                "netns",
                "exec",
                name,
                "cat",
                "/proc/sys/net/ipv6/conf/all/disable_ipv6",
            ])
            .output()
            .expect("ip netns exec cat");
        if host_ipv6.is_some() {
            assert_eq!(
                String::from_utf8_lossy(&inside.stdout).trim(),
                "1",
                "{name}"
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/disable_ipv6").ok(),
        host_ipv6,
        "the host's IPv6 setting changed"
    );
    drop(emu);
    let listed = ip_netns_names();
    for name in &names {
        assert!(!listed.contains(name), "{name} still there: {listed:?}");
        assert!(!netem::namespace_exists(name));
    }
}

#[test]
fn clean_leftovers_removes_dead_pids_only() {
    let _guard = exclusive();
    // A live emulator's namespaces must survive the cleaning. (Started first: the helper cleans.)
    let emu = start(NetworkConfig::default());
    // A pid that is certainly dead: a child that has exited and been reaped.
    let mut child = Command::new("true").spawn().expect("spawn true");
    let dead = child.id();
    child.wait().expect("wait");
    let leftovers = [
        format!("ssebench-{dead}-0-c"),
        format!("ssebench-{dead}-0-s"),
    ];
    for name in &leftovers {
        let status = Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .expect("ip netns add");
        assert!(
            status.success(),
            "ip netns add {name} failed (these tests need root)"
        );
    }
    let removed = netem::clean_leftovers().expect("clean_leftovers");
    for name in &leftovers {
        assert!(removed.contains(name), "{name} not removed: {removed:?}");
        assert!(!netem::namespace_exists(name), "{name} still there");
    }
    for side in [Side::Client, Side::Server] {
        let name = emu.namespace(side);
        assert!(!removed.iter().any(|r| r == name), "removed live {name}");
        assert!(netem::namespace_exists(name), "live {name} gone");
    }
}

/// The client side may use any source address of 198.18.0.0/24 (more ephemeral ports), and a
/// program started with `command` runs in the namespace.
#[test]
fn client_sources_and_commands_live_in_the_namespace() {
    let _guard = exclusive();
    let emu = start(NetworkConfig::default());
    let (listener, target) = listener(&emu);
    let source = emu.extra_client_addrs().nth(40).expect("an extra address");
    // std cannot bind a TCP socket before connecting; tokio's TcpSocket can.
    let stream = emu
        .run_in(Side::Client, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.bind(SocketAddr::new(source, 0))?;
                socket.connect(target).await?.into_std()
            })
        })
        .expect("enter client namespace")
        .expect("connect from an extra source address");
    let peer = accept_within(&listener, Duration::from_secs(5))
        .peer_addr()
        .expect("peer_addr");
    assert_eq!(peer.ip(), source);
    drop(stream);

    let out = emu
        .command(Side::Client, std::path::Path::new("ip"))
        .args(["-4", "-o", "addr", "show", "dev", "ssebench0"])
        .output()
        .expect("ip netns exec");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("198.18.0.2"), "{text}");
}

/// The intended use: the server's tokio runtime with its workers in the server namespace, the
/// load generator's in the client namespace (`on_thread_start`). Sockets must be created in
/// spawned tasks: `block_on` runs its future on the calling thread, which did not enter.
#[test]
fn tokio_runtimes_with_workers_in_each_namespace() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let _guard = exclusive();
    let emu = Arc::new(start(NetworkConfig {
        rtt: Duration::from_millis(20),
        ..NetworkConfig::default()
    }));
    let runtime = |side: Side| {
        let emu = Arc::clone(&emu);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .on_thread_start(move || emu.enter(side).expect("enter namespace"))
            .build()
            .expect("runtime")
    };
    let server_rt = runtime(Side::Server);
    let client_rt = runtime(Side::Client);
    let server_addr = SocketAddr::new(emu.addr(Side::Server), 0);
    let listener = server_rt
        .block_on(server_rt.spawn(tokio::net::TcpListener::bind(server_addr)))
        .expect("task")
        .expect("bind in server namespace");
    let target = listener.local_addr().expect("local_addr");
    server_rt.spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        stream.write_all(b"pong").await.expect("write");
    });
    let (reply, elapsed) = client_rt
        .block_on(client_rt.spawn(async move {
            let started = Instant::now();
            let mut stream = tokio::net::TcpStream::connect(target).await?;
            let mut reply = Vec::new();
            stream.read_to_end(&mut reply).await?;
            std::io::Result::Ok((reply, started.elapsed()))
        }))
        .expect("task")
        .expect("connect and read");
    assert_eq!(reply, b"pong");
    // SYN, SYN-ACK, then the reply: at least two round trips.
    assert!(elapsed >= Duration::from_millis(40), "{elapsed:?}");
    drop(client_rt);
    drop(server_rt);
    let emu = Arc::into_inner(emu).expect("runtimes dropped their handles");
    emu.shutdown().expect("shutdown");
}
