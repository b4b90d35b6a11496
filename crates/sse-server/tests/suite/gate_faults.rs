//! The faults the CI gate's power is measured with (`scripts/gate-reliability.sh`), each doing
//! what it says: a `delay_events` under the timer's resolution is as long as asked, not a timer
//! tick; `drop_ticks_every_nth` never writes the ticks it drops; `delay_tls_handshake` holds every
//! TLS handshake back.

// The tests are plain async fns under `test_support::arms`, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use sse_server::{FaultConfig, Protocol, RunningServer};
use test_support::ws::{ws_connect, Received};
use test_support::{connect, spawn_server, test_config, within, SseItem, SseReader};

/// Bound on each test.
const LIMIT: Duration = Duration::from_secs(20);

async fn server_with(faults: FaultConfig) -> RunningServer {
    let mut config = test_config();
    config.faults = faults;
    spawn_server(config).await
}

/// A tick's sequence number, from its data.
fn seq_of(data: &str) -> u64 {
    let rest = &data[data.find("\"seq\":").expect("a tick has its seq") + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a number")
}

/// How long after its stamp each of 40 ticks (10 ms apart) arrived, sorted, from a server with
/// `delay_events` at `delay`; and the server's `faults_delayed`.
async fn tick_lateness(p: Protocol, delay: Option<Duration>) -> (Vec<Duration>, u64) {
    let server = server_with(FaultConfig {
        delay_events: delay,
        ..FaultConfig::default()
    })
    .await;
    let mut client = connect(&server, p).await;
    let mut stream = SseReader::new(
        client
            .get("/events?channel=d&interval_ms=10&count=41", &[])
            .await,
    );
    let mut late = Vec::new();
    within(LIMIT, "41 ticks", async {
        // The first tick goes out with the response head; the others are each made on time.
        stream.event_of("tick").await;
        for _ in 0..40 {
            let tick = stream.event_of("tick").await;
            let sent_ns = sse_wire::stamp::find_sent_ns(&tick.data).expect("a tick is stamped");
            late.push(Duration::from_nanos(
                sse_wire::stamp::now_unix_ns().saturating_sub(sent_ns),
            ));
        }
    })
    .await;
    late.sort();
    let delayed = server.stats().listener(p).unwrap().faults_delayed;
    (late, delayed)
}

/// A delay of 300 us lasts 300 us: each tick arrives at least that long after its stamp, and the
/// median tick less than 700 us later than without the fault, where a timer-based sleep would
/// add a millisecond or more (tokio's timer ends a sleep on a millisecond tick, so a 300 us
/// `sleep` lasts 1 to 2 ms). The median without the fault is measured beside it, on the same arm:
/// QUIC's path in a debug build takes most of a millisecond on its own.
#[test_support::arms(sse)]
async fn a_delay_under_a_millisecond_is_as_long_as_asked(p: Protocol) {
    const DELAY: Duration = Duration::from_micros(300);
    let (plain, _) = tick_lateness(p, None).await;
    let (late, delayed) = tick_lateness(p, Some(DELAY)).await;
    assert!(
        late[0] >= DELAY,
        "a tick arrived {:?} after its stamp, under the {DELAY:?} delay",
        late[0]
    );
    let (median, plain_median) = (late[late.len() / 2], plain[plain.len() / 2]);
    assert!(
        median < plain_median + Duration::from_micros(700),
        "the median tick arrived {median:?} after its stamp, {plain_median:?} without the fault: \
         the delay was a timer tick, not {DELAY:?}"
    );
    // Every frame is delayed once, and counted once: the stream's first, its `retry:` line, then
    // its 41 ticks (it ends after the last).
    assert_eq!(delayed, 1 + 41, "frames delayed");
}

/// With every 2nd tick dropped, a stream of 10 ticks writes ticks 1, 3, 5, 7 and 9, and counts 5
/// dropped.
#[test_support::arms(sse)]
async fn dropped_ticks_are_never_written_on_a_stream(p: Protocol) {
    let server = server_with(FaultConfig {
        drop_ticks_every_nth: NonZeroU32::new(2),
        ..FaultConfig::default()
    })
    .await;
    let mut client = connect(&server, p).await;
    let mut stream = SseReader::new(
        client
            .get("/events?channel=t&interval_ms=10&count=10", &[])
            .await,
    );
    let mut seqs = Vec::new();
    within(LIMIT, "the stream's end", async {
        while let Some(item) = stream.next().await.unwrap() {
            if let SseItem::Event(e) = item {
                if e.event_type == "tick" {
                    seqs.push(seq_of(&e.data));
                }
            }
        }
    })
    .await;
    assert_eq!(seqs, [1, 3, 5, 7, 9]);
    assert_eq!(server.stats().listener(p).unwrap().faults_ticks_dropped, 5);
}

/// The same on a WebSocket: ticks 1, 3, 5, 7 and 9 of 10, then the close.
#[test_support::arms(websocket)]
async fn dropped_ticks_are_never_written_on_a_socket(p: Protocol) {
    let server = server_with(FaultConfig {
        drop_ticks_every_nth: NonZeroU32::new(2),
        ..FaultConfig::default()
    })
    .await;
    let mut socket = ws_connect(&server, p, "/ws?channel=t&interval_ms=10&count=10")
        .await
        .unwrap();
    let mut seqs = Vec::new();
    within(LIMIT, "the socket's close", async {
        loop {
            match socket.next().await {
                Received::Text(t) if t.contains("\"seq\":") => seqs.push(seq_of(&t)),
                Received::Text(_) => {}
                Received::Close(..) | Received::Ended => break,
            }
        }
    })
    .await;
    assert_eq!(seqs, [1, 3, 5, 7, 9]);
    assert_eq!(server.stats().listener(p).unwrap().faults_ticks_dropped, 5);
}

/// A TLS connection takes at least the delay to set up; the delay is counted once per handshake.
#[test_support::arms(tls)]
async fn tls_handshakes_start_late(p: Protocol) {
    const DELAY: Duration = Duration::from_millis(150);
    let server = server_with(FaultConfig {
        delay_tls_handshake: Some(DELAY),
        ..FaultConfig::default()
    })
    .await;
    for _ in 0..2 {
        let started = Instant::now();
        if p.is_websocket() {
            ws_connect(&server, p, "/ws?channel=h").await.unwrap();
        } else {
            connect(&server, p).await;
        }
        let took = started.elapsed();
        assert!(took >= DELAY, "a TLS connection was set up in {took:?}");
    }
    assert_eq!(server.stats().listener(p).unwrap().faults_delayed, 2);
}
