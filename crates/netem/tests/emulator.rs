//! The emulator measured against its config, through real sockets in the namespaces it creates.
//!
//! Needs root (CI runs as root). Without it every test here FAILS, with the message of
//! [`netem::NetemError::MissingPrivileges`] naming the missing capabilities; it never skips.
//!
//! Every test that starts an emulator takes a process-wide lock: the measurements share two cores
//! (a bulk transfer beside an RTT measurement would disturb both), and `start` here first runs
//! `clean_leftovers`, which must not race the test that plants leftovers. Each prints a `netem-check:` line with the
//! configured and the measured figure (`cargo test -p netem --test emulator -- --nocapture`, or
//! `scripts/netem-check.sh`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use netem::{Bandwidth, Emulator, NetworkConfig, Side};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn exclusive() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts an emulator or fails the test with the reason (for a non-root run: the capabilities).
/// First removes what a killed earlier run left behind, as a binary would at start-up.
fn start(config: NetworkConfig) -> Emulator {
    if let Err(err) = netem::clean_leftovers() {
        panic!("clean_leftovers failed (these tests need root): {err}");
    }
    Emulator::start(config)
        .unwrap_or_else(|err| panic!("these tests need root (CI runs as root): {err}"))
}

fn within(measured: f64, configured: f64, tolerance: f64) -> bool {
    (measured - configured).abs() <= configured * tolerance
}

fn listener(emu: &Emulator) -> (TcpListener, SocketAddr) {
    let server = emu.addr(Side::Server);
    let listener = emu
        .run_in(Side::Server, || TcpListener::bind((server, 0)))
        .expect("enter server namespace")
        .expect("bind in server namespace");
    let addr = listener.local_addr().expect("local_addr");
    (listener, addr)
}

#[test]
fn rtt_50ms_measured_as_tcp_connect_time() {
    let _guard = exclusive();
    let configured = Duration::from_millis(50);
    let emu = start(NetworkConfig {
        rtt: configured,
        ..NetworkConfig::default()
    });
    let (_listener, target) = listener(&emu);
    let mut samples = emu
        .run_in(Side::Client, || {
            (0..11)
                .map(|_| {
                    let started = Instant::now();
                    let stream = TcpStream::connect_timeout(&target, Duration::from_secs(5))
                        .expect("connect through the emulator");
                    let elapsed = started.elapsed();
                    drop(stream);
                    elapsed
                })
                .collect::<Vec<_>>()
        })
        .expect("enter client namespace");
    samples.sort();
    let median = samples[samples.len() / 2];
    let library = emu.measure_connect_rtt(7).expect("measure_connect_rtt");
    let stats = emu.stats();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "netem-check: rtt configured {:.1} ms, measured median {:.2} ms (min {:.2}, max {:.2}, {} TCP connects); measure_connect_rtt median {:.2} ms; forwarder lateness mean {:.3} ms, max {:.2} ms",
        ms(configured),
        ms(median),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len(),
        ms(library.median()),
        ms(stats.up.lateness_mean().max(stats.down.lateness_mean())),
        ms(stats.up.lateness_max.max(stats.down.lateness_max)),
    );
    assert!(
        within(median.as_secs_f64(), configured.as_secs_f64(), 0.10),
        "median connect time {median:?} not within 10% of {configured:?}: {samples:?}"
    );
    assert!(
        within(
            library.median().as_secs_f64(),
            configured.as_secs_f64(),
            0.10
        ),
        "measure_connect_rtt {library:?} not within 10% of {configured:?}"
    );
    // Both packets of the handshake crossed the forwarder, one each way, per connect.
    assert!(stats.up.delivered_packets >= 16 && stats.down.delivered_packets >= 16);
}

/// Accepts one connection, or panics after `limit` (so a failed connect cannot hang the test).
fn accept_within(listener: &TcpListener, limit: Duration) -> TcpStream {
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let deadline = Instant::now() + limit;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("blocking stream");
                return stream;
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection within {limit:?}");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(err) => panic!("accept: {err}"),
        }
    }
}

/// Sends `bytes` from one side to the other over one TCP connection; returns the receiver's
/// goodput in bit/s, timed from the connection's establishment to the last byte.
fn bulk_transfer(emu: &Emulator, from: Side, bytes: usize) -> f64 {
    let (listener, target) = listener(emu);
    let payload: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
    let receive = |mut stream: TcpStream, started: Instant| -> f64 {
        let mut received = Vec::with_capacity(bytes);
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        stream.read_to_end(&mut received).expect("read to end");
        let elapsed = started.elapsed();
        assert!(received == payload, "the transfer was corrupted or cut");
        (bytes * 8) as f64 / elapsed.as_secs_f64()
    };
    std::thread::scope(|scope| {
        let accepted = scope.spawn(|| accept_within(&listener, Duration::from_secs(10)));
        let client = emu
            .run_in(Side::Client, || {
                TcpStream::connect_timeout(&target, Duration::from_secs(5))
            })
            .expect("enter client namespace")
            .expect("connect");
        let started = Instant::now();
        let server = accepted.join().expect("accept thread");
        let (mut sender, receiver) = match from {
            Side::Server => (server, client),
            Side::Client => (client, server),
        };
        let payload = &payload;
        let send = scope.spawn(move || {
            sender.write_all(payload).expect("send");
            // Dropping `sender` closes the connection: the receiver sees the end.
        });
        let goodput = receive(receiver, started);
        send.join().expect("sender thread");
        goodput
    })
}

#[test]
fn bandwidth_10mbit_down_and_2mbit_up_measured_by_bulk_transfer() {
    let _guard = exclusive();
    let down = Bandwidth::from_mbit_per_second(10);
    let up = Bandwidth::from_mbit_per_second(2);
    let emu = start(NetworkConfig {
        rtt: Duration::from_millis(20),
        bandwidth_down: Some(down),
        bandwidth_up: Some(up),
        ..NetworkConfig::default()
    });
    for (side, bandwidth, bytes) in [(Side::Server, down, 4_000_000), (Side::Client, up, 750_000)] {
        let before = emu.stats();
        let started = Instant::now();
        let goodput = bulk_transfer(&emu, side, bytes);
        let elapsed = started.elapsed();
        let during = emu.stats().since(&before);
        let wire = match side {
            Side::Server => during.down.delivered_bytes,
            Side::Client => during.up.delivered_bytes,
        } as f64
            * 8.0
            / elapsed.as_secs_f64();
        let configured = bandwidth.bits_per_second() as f64;
        println!(
            "netem-check: bandwidth {} configured {bandwidth}, measured goodput {:.3} Mbit/s ({:.1}%), IP rate {:.3} Mbit/s, {bytes} bytes in {:.2} s, queue drops {}",
            match side {
                Side::Server => "down",
                Side::Client => "up",
            },
            goodput / 1e6,
            goodput / configured * 100.0,
            wire / 1e6,
            elapsed.as_secs_f64(),
            during.down.dropped_queue + during.up.dropped_queue,
        );
        assert!(
            within(goodput, configured, 0.10),
            "goodput {:.3} Mbit/s not within 10% of {bandwidth}",
            goodput / 1e6
        );
    }
}

/// Loss: the forwarder's drop counter against the packets it saw, for 200,000 UDP datagrams
/// each way at 2%. The count makes a false failure negligible: the loss fraction of
/// Binomial(n = 200,000, p = 0.02) has a standard deviation of sqrt(p(1-p)/n) = 0.000313, so
/// the 10% band (0.018..0.022, ±0.002) is 6.4 standard deviations wide each side (normal
/// approximation: about 2e-10 per direction); the Chernoff bound
/// P(|X - np| >= δnp) <= 2·exp(-δ²np/3), with δ = 0.1 and np = 4000, gives at most 3.2e-6.
#[test]
fn loss_2_percent_from_drop_counters() {
    let _guard = exclusive();
    const DATAGRAMS: u64 = 200_000;
    // Small enough that a batch fits in the receiver's default socket buffer.
    const BATCH: u64 = 64;
    let loss = 0.02;
    let emu = start(NetworkConfig {
        loss_up: loss,
        loss_down: loss,
        ..NetworkConfig::default()
    });
    let started = Instant::now();
    for (from, to) in [(Side::Client, Side::Server), (Side::Server, Side::Client)] {
        let to_addr = emu.addr(to);
        let from_addr = emu.addr(from);
        let receiver = emu
            .run_in(to, || UdpSocket::bind((to_addr, 0)))
            .expect("enter namespace")
            .expect("bind receiver");
        receiver
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        let target = receiver.local_addr().expect("local_addr");
        let sender = emu
            .run_in(from, || UdpSocket::bind((from_addr, 0)))
            .expect("enter namespace")
            .expect("bind sender");
        let received = AtomicU64::new(0);
        let done = std::sync::atomic::AtomicBool::new(false);
        let before = emu.stats();
        let direction = |stats: netem::Stats| match from {
            Side::Client => stats.since(&before).up,
            Side::Server => stats.since(&before).down,
        };
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut buf = [0u8; 64];
                while !done.load(Ordering::Relaxed) {
                    if receiver.recv(&mut buf).is_ok() {
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            // Stops the receiver also when an assertion below panics (else the scope would wait
            // for it forever).
            let _stop_receiver = SetOnDrop(&done);
            let mut sent = 0u64;
            while sent < DATAGRAMS {
                for _ in 0..BATCH {
                    sender.send_to(&sent.to_be_bytes(), target).expect("send");
                    sent += 1;
                }
                // Pace by the far end: wait until the forwarder has seen every datagram sent and
                // dropped or delivered each, and the receiver has read every one delivered, so
                // no queue on the way can overflow and every datagram is accounted for.
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    let stats = direction(emu.stats());
                    if stats.packets == sent
                        && stats.delivered_packets + stats.dropped_loss == sent
                        && received.load(Ordering::Relaxed) == stats.delivered_packets
                    {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "datagrams unaccounted for after 5 s: sent {sent}, {stats:?}, received {}",
                        received.load(Ordering::Relaxed)
                    );
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        });
        let stats = direction(emu.stats());
        let fraction = stats.loss_fraction();
        println!(
            "netem-check: loss {} configured {:.1}%, measured {:.3}% ({} dropped of {} packets seen; {} received)",
            if from == Side::Client { "up" } else { "down" },
            loss * 100.0,
            fraction * 100.0,
            stats.dropped_loss,
            stats.packets,
            received.load(Ordering::Relaxed),
        );
        assert_eq!(stats.packets, DATAGRAMS, "{stats:?}");
        assert_eq!(
            stats.dropped_queue + stats.dropped_limit + stats.write_errors,
            0
        );
        assert_eq!(stats.delivered_packets, DATAGRAMS - stats.dropped_loss);
        assert_eq!(received.load(Ordering::Relaxed), stats.delivered_packets);
        assert!(
            within(fraction, loss, 0.10),
            "loss {:.4}% not within 10% of {:.1}%",
            fraction * 100.0,
            loss * 100.0
        );
    }
    println!(
        "netem-check: loss test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

struct SetOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// TCP sees the loss and recovers: data packets of a transfer through 2% loss each way are lost
/// in the forwarder, and the transfer still arrives intact, so TCP sent them again.
#[test]
fn tcp_retransmits_through_loss() {
    let _guard = exclusive();
    let emu = start(NetworkConfig {
        rtt: Duration::from_millis(10),
        loss_up: 0.02,
        loss_down: 0.02,
        ..NetworkConfig::default()
    });
    let bytes = 1_000_000;
    let started = Instant::now();
    let goodput = bulk_transfer(&emu, Side::Server, bytes);
    let stats = emu.stats();
    let lost_bytes = stats.down.bytes - stats.down.delivered_bytes;
    println!(
        "netem-check: tcp through 2% loss: {bytes} bytes intact in {:.2} s ({:.1} Mbit/s); data direction lost {} of {} packets ({lost_bytes} bytes), all resent",
        started.elapsed().as_secs_f64(),
        goodput / 1e6,
        stats.down.dropped_loss,
        stats.down.packets,
    );
    // `bulk_transfer` checked the bytes arrived intact; full-size data segments were among the
    // losses, so their payload reached the receiver only by retransmission.
    assert!(
        lost_bytes >= 1500,
        "no full data segment was lost: {stats:?}"
    );
}

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

#[test]
fn invalid_config_is_refused_naming_the_field() {
    let err = Emulator::start(NetworkConfig {
        loss_down: 1.5,
        ..NetworkConfig::default()
    })
    .expect_err("loss 1.5 accepted");
    assert!(
        matches!(&err, netem::NetemError::InvalidConfig(e) if e.field == "loss_down"),
        "{err}"
    );
}

/// Without root: the child re-runs this test binary as user `nobody` with no capabilities, where
/// `Emulator::start` must fail and name the capabilities.
#[test]
fn without_privileges_the_error_names_them() {
    if std::env::var_os("NETEM_UNPRIVILEGED_CHILD").is_some() {
        let err = Emulator::start(NetworkConfig::default()).expect_err("started without root");
        let message = err.to_string();
        println!("unprivileged: {message}");
        assert!(
            matches!(err, netem::NetemError::MissingPrivileges { .. }),
            "{message}"
        );
        assert!(
            message.contains("CAP_NET_ADMIN") && message.contains("CAP_SYS_ADMIN"),
            "{message}"
        );
        return;
    }
    // A copy in the temporary directory: the build directory may sit where `nobody` cannot
    // reach (a CI checkout under /root).
    let exe = std::env::temp_dir().join(format!("netem-unprivileged-{}", std::process::id()));
    std::fs::copy(std::env::current_exe().expect("current_exe"), &exe).expect("copy test binary");
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args([
            "--exact",
            "without_privileges_the_error_names_them",
            "--nocapture",
        ])
        .env("NETEM_UNPRIVILEGED_CHILD", "1")
        .output();
    let _ = std::fs::remove_file(&exe);
    let out = out.expect("run setpriv (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("unprivileged: network emulation needs"),
        "unprivileged child failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A runtime's worker threads and the server's share one emulator: it must be `Send + Sync`.
#[test]
fn emulator_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Emulator>();
}

/// Jitter spreads the round trip: with 40 ms ± 10 ms each way a connect takes 20..60 ms.
/// Never less (an early packet would be a bug whatever the load); the upper end is checked on the
/// 90th percentile, because a thread's wake-up on a busy machine can add milliseconds that are not
/// the emulator's doing.
#[test]
fn jitter_spreads_connect_times_within_range() {
    let _guard = exclusive();
    let emu = start(NetworkConfig {
        rtt: Duration::from_millis(40),
        jitter: Duration::from_millis(10),
        ..NetworkConfig::default()
    });
    let rtt = emu.measure_connect_rtt(21).expect("measure");
    let samples = rtt.samples();
    let (p10, p90) = (samples[2], samples[18]);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "netem-check: jitter configured 40 ms ± 10 ms each way, 21 connects: min {:.2}, p10 {:.2}, median {:.2}, p90 {:.2}, max {:.2} ms",
        ms(rtt.min()),
        ms(p10),
        ms(rtt.median()),
        ms(p90),
        ms(rtt.max()),
    );
    assert!(rtt.min() >= Duration::from_millis(20), "{rtt:?}");
    assert!(p90 <= Duration::from_millis(62), "{rtt:?}");
    // Centred on the RTT: the median of 21 such sums has a standard deviation near 2.2 ms.
    let centre = rtt.median().as_secs_f64() * 1e3;
    assert!(
        (30.0..=50.0).contains(&centre),
        "median {centre:.2} ms: {rtt:?}"
    );
    // The sum of two uniform draws of ±10 ms has p10..p90 = ±11 ms; 16 of 21 samples inside an
    // 8 ms window would mean the draws are not happening.
    assert!(p90 - p10 >= Duration::from_millis(8), "no spread: {rtt:?}");
}

/// `reconfigure` changes the conditions in place (a sweep's next point) without new namespaces.
#[test]
fn reconfigure_changes_rtt_in_place() {
    let _guard = exclusive();
    let emu = start(NetworkConfig::default());
    let before = emu.measure_connect_rtt(5).expect("measure").median();
    let configured = Duration::from_millis(50);
    emu.reconfigure(NetworkConfig {
        rtt: configured,
        ..NetworkConfig::default()
    })
    .expect("reconfigure");
    let after = emu.measure_connect_rtt(7).expect("measure").median();
    println!(
        "netem-check: reconfigure rtt 0 -> 50 ms: measured {:.2} ms -> {:.2} ms",
        before.as_secs_f64() * 1e3,
        after.as_secs_f64() * 1e3
    );
    assert!(before < Duration::from_millis(5), "{before:?}");
    assert!(
        within(after.as_secs_f64(), configured.as_secs_f64(), 0.10),
        "{after:?}"
    );
    let err = emu
        .reconfigure(NetworkConfig {
            queue_packets: 0,
            ..NetworkConfig::default()
        })
        .expect_err("queue 0 accepted");
    assert_eq!(err.field, "queue_packets");
    assert_eq!(emu.config().rtt, configured);
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

/// A burst into a slow link with a short queue: one packet on the wire, `queue_packets` waiting,
/// the rest tail-dropped and counted apart from loss.
#[test]
fn bottleneck_queue_tail_drops_a_burst() {
    let _guard = exclusive();
    let emu = start(NetworkConfig {
        bandwidth_up: Some(Bandwidth::from_mbit_per_second(1)),
        queue_packets: 10,
        ..NetworkConfig::default()
    });
    let server = emu.addr(Side::Server);
    let client = emu.addr(Side::Client);
    let receiver = emu
        .run_in(Side::Server, || UdpSocket::bind((server, 0)))
        .expect("enter namespace")
        .expect("bind");
    let target = receiver.local_addr().expect("local_addr");
    let sender = emu
        .run_in(Side::Client, || UdpSocket::bind((client, 0)))
        .expect("enter namespace")
        .expect("bind");
    // 100 datagrams of 1000 bytes (1028 on the wire, 8.2 ms each at 1 Mbit/s) in well under 8 ms.
    let payload = [0u8; 1000];
    for _ in 0..100 {
        sender.send_to(&payload, target).expect("send");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let stats = loop {
        let up = emu.stats().up;
        if up.packets == 100 && up.delivered_packets + up.dropped_queue == 100 {
            break up;
        }
        assert!(Instant::now() < deadline, "burst not accounted for: {up:?}");
        std::thread::sleep(Duration::from_millis(5));
    };
    println!(
        "netem-check: queue of 10 packets at 1 Mbit/s, burst of 100: {} delivered, {} tail-dropped",
        stats.delivered_packets, stats.dropped_queue
    );
    assert_eq!(stats.dropped_loss, 0);
    // 11 when the whole burst is read within the first packet's 8.2 ms; a slower read lets one
    // or two more through.
    assert!((11..=14).contains(&stats.delivered_packets), "{stats:?}");
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
