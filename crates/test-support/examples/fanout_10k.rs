//! One POST fanned out to 10,000 SSE subscribers over HTTP/2 with TLS: how long from the POST
//! being sent until every subscriber has parsed the message event?
//!
//! The server runs on its own one-thread runtime (`ServerThread`); the subscribers and the poster
//! on another. Subscribers are 100 HTTP/2 connections with 100 streams each (the server's
//! `max_concurrent_streams` is 100; Chromium would allow at most 256 per connection). Every stream
//! is parsed with `sse-wire`. Each POST is timed from just before it is sent to the instant the
//! last of the N subscribers parsed it ("all received"), and per subscriber (p50, p99). POSTs are
//! sent one at a time, a second apart, and the report gives each one and the median.
//!
//! ```text
//! cargo run --release -p test-support --example fanout_10k [-- SUBSCRIBERS POSTS]
//! ```

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use sse_server::Protocol;
use test_support::sse::SseItem;
use test_support::{ServerThread, TestClient};
use tokio::sync::mpsc;

const PER_CONNECTION: usize = 100;

fn main() {
    let mut args = std::env::args().skip(1);
    let subscribers: usize = args
        .next()
        .map_or(10_000, |a| a.parse().expect("SUBSCRIBERS"));
    let posts: usize = args.next().map_or(5, |a| a.parse().expect("POSTS"));
    let mut config = test_support::test_config();
    config.listeners = vec![(Protocol::H2, "127.0.0.1:0".parse().unwrap())];
    config.http2.max_concurrent_streams = PER_CONNECTION as u32;
    config.max_connections = 100_000;
    let server = ServerThread::start(config, 1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(&server, subscribers, posts));
}

async fn run(server: &ServerThread, subscribers: usize, posts: usize) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Instant)>();
    let path = "/events?channel=fan&interval_ms=3600000&heartbeat_ms=1000";
    let started = Instant::now();
    let mut clients = Vec::new();
    let mut opened = 0;
    while opened < subscribers {
        let mut client: TestClient = test_support::connect(server, Protocol::H2).await;
        for _ in 0..PER_CONNECTION.min(subscribers - opened) {
            let resp = client.get(path, &[]).await;
            let mut reader = test_support::sse::SseReader::new(resp);
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Ok(Some(item)) = reader.next().await {
                    if let SseItem::Event(e) = item {
                        if e.event_type == "message" {
                            let seq = sse_wire::stamp::find_token(&e.data).unwrap_or(u64::MAX);
                            let _ = tx.send((seq, Instant::now()));
                        }
                    }
                }
            });
            opened += 1;
        }
        clients.push(client);
    }
    println!(
        "{subscribers} subscribers on {} h2 connections, open in {:.2} s",
        clients.len(),
        started.elapsed().as_secs_f64()
    );
    let mut poster = test_support::connect(server, Protocol::H2).await;
    let mut all_received = Vec::new();
    for seq in 0..posts as u64 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut body = String::new();
        sse_wire::stamp::write_post_body(seq, 128, &mut body);
        let sent = Instant::now();
        let (status, reply) = poster.post("/messages?channel=fan", body).await;
        assert_eq!(status, 202, "{reply}");
        let mut arrivals = Vec::with_capacity(subscribers);
        while arrivals.len() < subscribers {
            let (got, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .expect("every subscriber receives the message within 30 s")
                .unwrap();
            assert_eq!(got, seq, "messages arrive in order");
            arrivals.push(at.duration_since(sent));
        }
        arrivals.sort();
        let last = *arrivals.last().unwrap();
        let q = |p: f64| arrivals[((arrivals.len() - 1) as f64 * p).round() as usize];
        println!(
            "POST {seq}: all {subscribers} received in {:.1} ms (per subscriber p50 {:.1} ms, p99 {:.1} ms)",
            ms(last),
            ms(q(0.5)),
            ms(q(0.99))
        );
        all_received.push(last);
    }
    all_received.sort();
    println!(
        "median time until all {subscribers} received one POST: {:.1} ms over {posts} POSTs",
        ms(all_received[all_received.len() / 2])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
