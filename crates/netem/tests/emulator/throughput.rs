//! Rate and loss: bandwidth by bulk transfers, loss by the forwarder's drop counters, TCP
//! recovering through loss, and a burst tail-dropped at the bottleneck queue.

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use netem::{Bandwidth, Emulator, NetworkConfig, Side};

use super::{accept_within, exclusive, listener, start, within};

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
