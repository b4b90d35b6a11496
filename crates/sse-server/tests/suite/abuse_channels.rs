//! Channel exhaustion (issue 26): one-byte POSTs to distinct channels, or event streams held on
//! HTTP/2 to distinct channels, fill `max_channels` in a moment. A new client on every listener
//! can still create a channel: one client address cannot take more than its share
//! (`max_channels_per_address`, the refusal names it), and when many addresses fill the table the
//! least recently active channels nobody watches make room.

// Test helpers are plain async fns, where clippy does not see a test.
#![allow(clippy::unwrap_used)]

use http::StatusCode;
use sse_server::{Protocol, RunningServer};
use test_support::attacker::source;
use test_support::client::listener_addr;
use test_support::{connect, spawn_server, test_config, ClientSpec, Endpoints, SseReader};
use test_support::{eventually, TestClient};

const MAX: usize = 200;
const SHARE: usize = 50;

async fn client_from(server: &RunningServer, p: Protocol, n: u8) -> TestClient {
    let spec = ClientSpec::for_protocol(p);
    TestClient::connect_from(
        Some(source(n)),
        listener_addr(server, p),
        &spec,
        &server.cert(),
    )
    .await
    .unwrap()
}

fn config() -> sse_server::ServerConfig {
    let mut config = test_config();
    config.max_channels = MAX;
    config.max_channels_per_address = SHARE;
    config
}

/// A new client on every listener posts to a channel of its own and subscribes to another.
async fn newcomers_create_channels(server: &RunningServer) {
    for p in Protocol::ALL {
        let mut client = connect(server, p).await;
        let (status, body) = client
            .post(&format!("/messages?channel=new-{p}"), "hi")
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{p}: {body}");
        let resp = client
            .get(&format!("/events?channel=watched-{p}"), &[])
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "{p}");
        SseReader::new(resp).event_of("tick").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_tiny_posts_from_one_address_locks_nobody_out() {
    let server = spawn_server(config()).await;
    let mut attacker = client_from(&server, Protocol::H1, 0).await;
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..2 * MAX {
        let (status, body) = attacker
            .post(&format!("/messages?channel=flood-{i}"), "x")
            .await;
        match status {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(body.contains("max_channels_per_address"), "{body}");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    eprintln!(
        "{} one-byte POSTs to new channels: {accepted} accepted, {refused} refused",
        2 * MAX
    );
    newcomers_create_channels(&server).await;
    assert_eq!((accepted, refused), (SHARE, 2 * MAX - SHARE));
    let stats = server.stats();
    let refusals: u64 = stats
        .listeners
        .iter()
        .map(|l| l.channel_share_refusals)
        .sum();
    assert_eq!(refusals, refused as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_nobody_watches_give_way_when_many_addresses_fill_the_table() {
    const ADDRESSES: u8 = 8;
    let server = spawn_server(config()).await;
    for n in 0..ADDRESSES {
        let mut attacker = client_from(&server, Protocol::H1, n).await;
        for i in 0..SHARE {
            let (status, body) = attacker
                .post(&format!("/messages?channel=flood-{n}-{i}"), "x")
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
    }
    // 400 channels were created in a table of 200: the oldest gave way to the newest.
    let stats = server.stats();
    assert_eq!(stats.channels, MAX as u64);
    assert_eq!(
        stats.channels_displaced,
        (ADDRESSES as usize * SHARE - MAX) as u64
    );
    newcomers_create_channels(&server).await;
    // A channel that is watched is never displaced: the newcomers' streams are still served.
    assert_eq!(server.stats().channels, MAX as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_held_on_http2_do_not_lock_out_new_channels() {
    let server = spawn_server(config()).await;
    // Two h2c connections of 100 streams each (the server's stream limit), each stream on a
    // channel of its own, held open and never read.
    let mut held = Vec::new();
    let mut attackers = Vec::new();
    let (mut subscribed, mut refused) = (0, 0);
    for c in 0..2 {
        let mut attacker = client_from(&server, Protocol::H2c, 0).await;
        for i in 0..MAX / 2 {
            let resp = attacker
                .get(&format!("/events?channel=held-{c}-{i}"), &[])
                .await;
            match resp.status() {
                StatusCode::OK => {
                    subscribed += 1;
                    held.push(resp);
                }
                StatusCode::SERVICE_UNAVAILABLE => refused += 1,
                other => panic!("{other}"),
            }
        }
        attackers.push(attacker);
    }
    eprintln!("{MAX} held subscriptions to new channels: {subscribed} served, {refused} refused");
    newcomers_create_channels(&server).await;
    assert_eq!((subscribed, refused), (SHARE, MAX - SHARE));
    eventually("the attacker's streams are still open", || {
        server.stats().listener(Protocol::H2c).unwrap().streams_open >= SHARE as u64
    })
    .await;
}
