//! The server under abuse: slowloris, oversized bodies, thousands of idle connections and an
//! HTTP/2 rapid-reset flood (slow readers and memory: `abuse_memory.rs`). Each test shows that the
//! server stays up, that the abuse is bounded and counted, and that a well-behaved client keeps its
//! latency meanwhile (a `DeliveryProbe`: POST on one connection, the event on another).
//!
//! The server runs on its own two-worker runtime (`ServerThread`), as another process would; the
//! tests run one at a time (they measure latency) and print what they measured
//! (`cargo test -p sse-server --test suite abuse:: -- --nocapture`).

// Test helpers are plain async fns, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use sse_server::Protocol;
use test_support::abuse::{dribble, filler, get_request, rapid_reset, raw_connect};
use test_support::client::listener_addr;
use test_support::stall::{stalled_post, Framing};
use test_support::{connect, eventually, test_config, within, DeliveryProbe, ServerThread};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::common;

use common::{
    check_latency, health, probe_latency, start, tcp_arms, total, PROBE_P99, PROBE_SAMPLES, TEST,
};

/// One abuse test at a time: each measures latency.
static SERIAL: Mutex<()> = Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_at_the_header_timeout() {
    let _serial = SERIAL.lock().await;
    const PER_LISTENER: usize = 50;
    const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
    const BYTE_EVERY: Duration = Duration::from_millis(100);
    let mut config = test_config();
    config.header_read_timeout = HEADER_TIMEOUT;
    let server = start(config);
    within(TEST, "the slowloris scenario", async {
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        let mut dribblers = Vec::new();
        for p in tcp_arms() {
            let request = get_request(p, listener_addr(&server, p), "/events?channel=x", 65_535);
            assert!(
                BYTE_EVERY * request.len() as u32 > HEADER_TIMEOUT * 2,
                "the request takes longer to dribble than the timeout"
            );
            for _ in 0..PER_LISTENER {
                // TLS handshakes complete at full speed; then HTTP arrives a byte at a time.
                let stream = raw_connect(&server, p).await.unwrap();
                let request = request.clone();
                dribblers.push(tokio::spawn(async move {
                    (p, dribble(stream, &request, BYTE_EVERY).await)
                }));
            }
        }
        let latencies = probe_latency(&mut probe).await;
        let mut slowest = Duration::ZERO;
        for dribbler in dribblers {
            let (p, closed_after) = dribbler.await.unwrap();
            let closed_after = closed_after
                .unwrap_or_else(|| panic!("{p}: a slowloris connection was served to the end"));
            assert!(
                closed_after >= HEADER_TIMEOUT * 3 / 4 && closed_after < HEADER_TIMEOUT * 3,
                "{p}: closed after {closed_after:?}, the header timeout is {HEADER_TIMEOUT:?}"
            );
            slowest = slowest.max(closed_after);
        }
        eprintln!(
            "{} slowloris connections closed, the last {slowest:.1?} after its first byte",
            PER_LISTENER * tcp_arms().len()
        );
        check_latency(
            &latencies,
            &format!("{} slowloris connections", PER_LISTENER * tcp_arms().len()),
        );
        let stats = server.stats();
        for p in tcp_arms() {
            let l = stats.listener(p).unwrap();
            let probe_connections = if p == Protocol::H2 { 2 } else { 0 };
            assert_eq!(
                (l.timeouts, l.connections_carrying_requests),
                (PER_LISTENER as u64, probe_connections),
                "{p}: every slowloris connection timed out, none carried a request"
            );
        }
        health(&server, Protocol::H1).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_without_being_read() {
    let _serial = SERIAL.lock().await;
    const LIMIT: usize = 64 * 1024;
    const HUGE: usize = 64 << 20;
    let mut config = test_config();
    config.max_body_bytes = LIMIT;
    let server = start(config);
    within(TEST, "the oversized-body scenario", async {
        for p in tcp_arms() {
            let started = Instant::now();
            if p.is_http2() {
                // A declared length over the limit is answered from the headers; only the stream
                // is refused, and the connection serves the next request.
                let mut client = connect(&server, p).await;
                let resp = client
                    .request(Method::POST, "/messages?channel=big", &[], filler(HUGE))
                    .await
                    .unwrap_or_else(|e| panic!("{p}: the 413 arrives: {e:?}"));
                assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{p}");
                eprintln!(
                    "{p}: 413 for a declared {} MiB body in {:.1?}",
                    HUGE >> 20,
                    started.elapsed()
                );
                drop(resp);
                assert_eq!(client.get_text("/health").await.0, StatusCode::OK, "{p}");
            } else {
                // HTTP/1.1, a declared length over the limit: 413 from the headers alone, then
                // the connection is closed (the body is never read).
                let (answer, _) = raw_post(&server, p, Framing::ContentLength(HUGE), 0).await;
                assert!(
                    answer.starts_with("HTTP/1.1 413 "),
                    "{p}: a declared length over the limit gets 413: {answer:?}"
                );
                // Chunked: read up to the limit, then 413 and close while the client is still
                // sending. Closing with unread data resets the connection, which may destroy the
                // 413 before the client reads it; either way the rest is never read.
                let (answer, sent) = raw_post(&server, p, Framing::Chunked, HUGE).await;
                assert!(
                    answer.is_empty() || answer.starts_with("HTTP/1.1 413 "),
                    "{p}: a chunked body over the limit gets 413: {answer:?}"
                );
                eprintln!(
                    "{p}: 413 from the headers; chunked: {} after {} KiB sent (limit {} KiB)",
                    if answer.is_empty() {
                        "reset"
                    } else {
                        "413 and close"
                    },
                    sent >> 10,
                    LIMIT >> 10
                );
                assert!(sent < HUGE / 4, "{p}: the server read {} KiB", sent >> 10);
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{p}: the bodies were not read ({:?})",
                started.elapsed()
            );
            health(&server, p).await;
        }
        assert_eq!(server.stats().messages, 0);
    })
    .await;
}

/// Sends an HTTP/1.1 `POST /messages` head with `framing`, then up to `len` body bytes while
/// reading, until the server closes the connection. Returns what the server answered and how many
/// body bytes were sent.
async fn raw_post(
    server: &ServerThread,
    p: Protocol,
    framing: Framing,
    len: usize,
) -> (String, usize) {
    const PIECE: usize = 16 * 1024;
    let raw = raw_connect(server, p).await.unwrap();
    let (mut reader, mut writer) = tokio::io::split(raw);
    let addr = listener_addr(server, p);
    let framing_header = match framing {
        Framing::ContentLength(n) => format!("content-length: {n}"),
        Framing::Chunked => "transfer-encoding: chunked".to_owned(),
    };
    let head =
        format!("POST /messages?channel=big HTTP/1.1\r\nhost: {addr}\r\n{framing_header}\r\n\r\n");
    writer.write_all(head.as_bytes()).await.unwrap();
    let piece = match framing {
        Framing::ContentLength(_) => "x".repeat(PIECE),
        Framing::Chunked => format!("{PIECE:x}\r\n{}\r\n", "x".repeat(PIECE)),
    };
    let mut sent = 0;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            read = reader.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            written = writer.write_all(piece.as_bytes()), if sent < len => {
                if written.is_err() {
                    break;
                }
                sent += PIECE;
            }
        }
    }
    (String::from_utf8_lossy(&answer).into_owned(), sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_connections_do_not_stop_the_others() {
    let _serial = SERIAL.lock().await;
    const IDLE: usize = 2000;
    const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
    let mut config = test_config();
    // The probe's two connections, then the idle ones fill the server up to its limit.
    config.max_connections = IDLE + 2;
    config.header_read_timeout = HEADER_TIMEOUT;
    let server = start(config);
    within(TEST, "the idle-connection scenario", async {
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        // Served once: kept before the idle connections that have sent nothing.
        probe.sample().await;
        let started = Instant::now();
        let mut idle = Vec::with_capacity(IDLE);
        for i in 0..IDLE {
            let p = tcp_arms()[i % tcp_arms().len()];
            idle.push(TcpStream::connect(listener_addr(&server, p)).await.unwrap());
        }
        eventually("every idle connection accepted", || {
            total(&server.stats(), |l| l.connections_open) == (IDLE + 2) as u64
        })
        .await;
        eprintln!(
            "{IDLE} idle connections open after {:.1?}",
            started.elapsed()
        );

        // Over the limit: the slot of an idle connection that has sent nothing for a while is
        // reclaimed for the newcomer, which is served.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        health(&server, Protocol::H1).await;
        let stats = server.stats();
        assert_eq!(
            (
                total(&stats, |l| l.connections_reclaimed),
                total(&stats, |l| l.connections_refused)
            ),
            (1, 0)
        );

        let latencies = probe_latency(&mut probe).await;
        check_latency(&latencies, "2000 idle connections");
        assert!(
            started.elapsed() < HEADER_TIMEOUT,
            "the idle connections were all there while the probe ran"
        );

        eventually_within(HEADER_TIMEOUT * 2, "the idle connections time out", || {
            let stats = server.stats();
            total(&stats, |l| l.timeouts) == IDLE as u64 - 1
                && total(&stats, |l| l.connections_open) == 2
        })
        .await;
        eprintln!(
            "{IDLE} idle connections closed {:.1?} after the first",
            started.elapsed()
        );
        assert!(probe.sample().await < PROBE_P99, "the probe still works");
    })
    .await;
}

/// Polls `condition` every 20 ms until it holds, panicking after `limit`.
async fn eventually_within(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    within(limit, what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rapid_reset_flood_does_not_starve_other_clients() {
    let _serial = SERIAL.lock().await;
    const FLOOD: Duration = Duration::from_secs(4);
    for p in [Protocol::H2, Protocol::H2c] {
        let server = start(test_config());
        within(TEST, "the rapid-reset scenario", async {
            let mut probe = DeliveryProbe::open(&server, p, "probe").await;
            let flood = {
                let server = &server;
                async move { rapid_reset(server, p, "/events?channel=flood", FLOOD).await }
            };
            let (report, latencies) = tokio::join!(flood, async {
                // Let the flood get going, then probe while it runs.
                tokio::time::sleep(Duration::from_millis(200)).await;
                probe_latency(&mut probe).await
            });
            let stats = server.stats();
            let l = stats.listener(p).unwrap();
            eprintln!(
                "{p}: flood of {FLOOD:?}: {} streams opened and reset by the client, {} requests \
                 reached the server, on {} connections ({} closed with ENHANCE_YOUR_CALM); \
                 connection ends {:?}",
                report.streams_reset,
                l.requests,
                report.connections,
                report.enhance_your_calm,
                dedup(&report.connection_ends),
            );
            check_latency(&latencies, &format!("a rapid-reset flood on {p}"));
            // Hundreds to thousands reach the server in 4 s depending on the machine's load; the
            // GOAWAY count below is what shows the defence at work.
            assert!(
                l.requests >= 200,
                "{p}: the flood was a flood ({} requests reached the server)",
                l.requests
            );
            assert!(
                report.enhance_your_calm > 0,
                "{p}: h2 closed flooding connections with GOAWAY(ENHANCE_YOUR_CALM)"
            );
            eventually("no stream of the flood is left behind", || {
                let stats = server.stats();
                stats.subscribers == 1 && stats.listener(p).unwrap().streams_open == 1
            })
            .await;
            health(&server, p).await;
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_post_bodies_at_the_connection_limit_do_not_lock_out_other_clients() {
    let _serial = SERIAL.lock().await;
    const PER_LISTENER: usize = 25;
    let mut config = test_config();
    // The probe's two connections, then the stalled POSTs fill the server up to its limit.
    config.max_connections = PER_LISTENER * tcp_arms().len() + 2;
    // Longer than the test: here only reclaiming can free a slot.
    config.body_read_timeout = Duration::from_secs(60);
    config.body_total_timeout = Duration::from_secs(60);
    let server = start(config);
    within(TEST, "the stalled-POST scenario", async {
        let mut probe = DeliveryProbe::open(&server, Protocol::H2, "probe").await;
        // A client that has been served is kept before the ones that have sent nothing useful.
        probe.sample().await;
        let mut stalled = Vec::new();
        for p in tcp_arms() {
            let framing = match p {
                Protocol::H1 => Framing::ContentLength(1000),
                _ => Framing::Chunked,
            };
            for _ in 0..PER_LISTENER {
                let post = stalled_post(&server, p, "/messages?channel=x", framing);
                stalled.push(post.await.unwrap());
            }
        }
        eventually("the server is full", || {
            total(&server.stats(), |l| l.connections_open)
                == (PER_LISTENER * tcp_arms().len() + 2) as u64
        })
        .await;
        // Longer than a connection must make no progress before its slot can be reclaimed.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // New clients, kept open: each needs a slot of its own.
        let (latencies, newcomers) = tokio::join!(probe_latency(&mut probe), async {
            let mut newcomers = Vec::new();
            for p in tcp_arms() {
                for _ in 0..2 {
                    let mut client = connect(&server, p).await;
                    assert_eq!(client.get_text("/health").await.0, StatusCode::OK, "{p}");
                    newcomers.push(client);
                }
            }
            newcomers
        });
        let stats = server.stats();
        eprintln!(
            "{} stalled POST bodies at the connection limit: {} new clients served, {} \
             connections reclaimed, {} refused",
            stalled.len(),
            newcomers.len(),
            total(&stats, |l| l.connections_reclaimed),
            total(&stats, |l| l.connections_refused),
        );
        check_latency(&latencies, "stalled POST bodies at the connection limit");
        assert_eq!(
            total(&stats, |l| l.connections_refused),
            0,
            "nobody was refused"
        );
        assert_eq!(
            total(&stats, |l| l.connections_reclaimed),
            newcomers.len() as u64,
            "one stalled POST's slot for each new client"
        );
        assert_eq!(total(&stats, |l| l.body_read_timeouts), 0);
        assert_eq!(
            stats.messages,
            PROBE_SAMPLES as u64 + 1,
            "only the probe's messages were broadcast"
        );
    })
    .await;
}

/// Each distinct string with its count.
fn dedup(items: &[String]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for item in items {
        match out.iter_mut().find(|(s, _)| s == item) {
            Some((_, n)) => *n += 1,
            None => out.push((item.clone(), 1)),
        }
    }
    out
}
