//! Delay: the configured round trip measured as TCP connect time, jitter's spread, and a new
//! round trip set in place.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use netem::{NetworkConfig, Side};

use super::{exclusive, listener, start, within};

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
    // The SYN (up) and the SYN-ACK (down) of each of the 18 connects (11 here, 7 measured by the
    // library) crossed the forwarder before that connect returned; the last ACKs and the closes
    // may still be in its delay queue when the counts are read, so more is not exact.
    let (up, down) = (stats.up.delivered_packets, stats.down.delivered_packets);
    assert!(up >= 18 && down >= 18, "{up} packets up, {down} down");
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
