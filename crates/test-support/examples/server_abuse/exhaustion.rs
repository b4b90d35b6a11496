//! The attacks of issue 26, each from one client address other than the watchers' (127.0.0.2),
//! each bounded in count and time: WebSockets that never send a frame, HTTP/2 streams that stop
//! reading beside a moving sibling, channel exhaustion (tiny POSTs, held subscriptions), replay
//! storms (reconnects that read, and reconnects that never do). Each returns lines that say what
//! it did and what the server did to it.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use sse_server::Protocol;
use test_support::abuse::filler;
use test_support::attacker::{
    replay_request, silent_websocket, source, stalled_streams_from, unread_request_from, StreamEnd,
};
use test_support::{ClientSpec, Endpoints, Target, TestClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

use crate::attacks::Tally;

/// Connections an attack opens at once.
const OPENERS: usize = 64;
/// How long the WebSocket attacks hold their sockets (as in the run).
const WEBSOCKET_HOLD: Duration = Duration::from_secs(40);
/// How long the other attacks that hold something hold it.
const HOLD: Duration = Duration::from_secs(30);
/// The channel the replay attacks reconnect to, and its ring: 1,024 messages of 64 KiB.
const HISTORY: &str = "history";
const HISTORY_MESSAGES: usize = 1024;
const HISTORY_MESSAGE: usize = 64 * 1024;

/// The attacker's client address.
fn attacker() -> IpAddr {
    source(0)
}

/// A client of `target`'s `p` listener from the attacker's address.
async fn client(target: &Target, p: Protocol) -> Option<TestClient> {
    let spec = ClientSpec::for_protocol(p);
    let cert = target.cert();
    let connecting = TestClient::connect_from(Some(attacker()), target.addr(p), &spec, &cert);
    tokio::time::timeout(Duration::from_secs(5), connecting)
        .await
        .ok()?
        .ok()
}

pub(crate) async fn silent_websockets(
    target: &Target,
    count: usize,
    interval_ms: u64,
) -> Vec<String> {
    let path = format!("/ws?channel=ws-attack&interval_ms={interval_ms}");
    let started = Instant::now();
    let opened: Vec<_> = futures_util::stream::iter(0..count)
        .map(|_| silent_websocket(target, Protocol::Ws, &path, Some(attacker())))
        .buffer_unordered(OPENERS)
        .collect()
        .await;
    let opened_in = started.elapsed();
    let failed = opened.iter().filter(|o| o.is_err()).count();
    let sockets: Vec<_> = opened.into_iter().filter_map(Result::ok).collect();
    tokio::time::sleep(WEBSOCKET_HOLD.saturating_sub(started.elapsed())).await;
    let closed = sockets.iter().filter(|s| s.is_closed()).count();
    vec![format!(
        "{} silent WebSockets (interval_ms={interval_ms}) opened in {:.1} s ({failed} failed); \
         {closed} closed by the server within {} s, {} still open when the attacker left",
        sockets.len(),
        opened_in.as_secs_f64(),
        WEBSOCKET_HOLD.as_secs(),
        sockets.len() - closed
    )]
}

pub(crate) async fn stalled_streams(
    target: &Target,
    connections: usize,
    stalled: usize,
    posts: usize,
) -> Vec<String> {
    let started = Instant::now();
    let moving = "/events?channel=moving&interval_ms=1000";
    let stalled_path = |_| "/events?channel=stall&interval_ms=86400000".to_owned();
    let opened: Vec<_> = futures_util::stream::iter(0..connections)
        .map(|_| {
            stalled_streams_from(
                target,
                Protocol::H2c,
                Some(attacker()),
                moving,
                stalled_path,
                stalled,
            )
        })
        .buffer_unordered(OPENERS)
        .collect()
        .await;
    let failed = opened.iter().filter(|o| o.is_err()).count();
    let mut streams: Vec<_> = opened.into_iter().filter_map(Result::ok).collect();
    let mut tally = Tally::default();
    if let Some(mut poster) = client(target, Protocol::H2c).await {
        let body = filler(64 * 1024);
        for _ in 0..posts {
            let sent = poster.request(Method::POST, "/messages?channel=stall", &[], body.clone());
            match tokio::time::timeout(Duration::from_secs(10), sent).await {
                Ok(Ok(resp)) => {
                    let status = resp.status();
                    let text = resp.into_body().collect().await.map(|b| b.to_bytes());
                    tally.count(status, text.unwrap_or_default());
                }
                _ => tally.errors += 1,
            }
        }
    }
    let posted_in = started.elapsed();
    let left = HOLD.saturating_sub(started.elapsed());
    let (mut reset, mut ended, mut open) = (0, 0, 0);
    let deadline = tokio::time::Instant::now() + left;
    for s in &mut streams {
        let limit = deadline.saturating_duration_since(tokio::time::Instant::now());
        for end in s.ends(limit).await {
            match end {
                Some(StreamEnd::Reset(_)) => reset += 1,
                Some(StreamEnd::Ended(_)) => ended += 1,
                None => open += 1,
            }
        }
    }
    let moving = streams.iter().filter(|s| s.moving()).count();
    vec![format!(
        "{} h2c connections ({failed} failed) x {stalled} stalled streams beside a moving one, \
         {} POSTs of 64 KiB in {:.1} s ({} accepted); after {} s: {reset} stalled streams reset, \
         {ended} ended otherwise, {open} still open; {moving} moving streams still moving",
        streams.len(),
        tally.total(),
        posted_in.as_secs_f64(),
        tally.accepted,
        HOLD.as_secs(),
    )]
}

pub(crate) async fn tiny_channel_flood(target: &Target, posts: usize) -> Vec<String> {
    const POSTERS: usize = 8;
    let started = Instant::now();
    let mut posters = JoinSet::new();
    for poster in 0..POSTERS {
        let target = target.clone();
        posters.spawn(async move {
            let p = [Protocol::H1, Protocol::H2c][poster % 2];
            let mut tally = Tally::default();
            let Some(mut c) = client(&target, p).await else {
                tally.errors += 1;
                return tally;
            };
            for i in (poster..posts).step_by(POSTERS) {
                let path = format!("/messages?channel=tiny-{i}");
                let sent = c.request(Method::POST, &path, &[], Bytes::from_static(b"x"));
                match tokio::time::timeout(Duration::from_secs(10), sent).await {
                    Ok(Ok(resp)) => {
                        let status = resp.status();
                        let text = resp.into_body().collect().await.map(|b| b.to_bytes());
                        tally.count(status, text.unwrap_or_default());
                    }
                    _ => tally.errors += 1,
                }
            }
            tally
        });
    }
    let mut tally = Tally::default();
    while let Some(joined) = posters.join_next().await {
        if let Ok(t) = joined {
            tally.add(&t);
        }
    }
    vec![format!(
        "{} one-byte POSTs to new channels in {:.1} s: {} accepted, {} refused 503 ({}), {} \
         other, {} errors",
        tally.total(),
        started.elapsed().as_secs_f64(),
        tally.accepted,
        tally.refused,
        tally.reasons(),
        tally.other,
        tally.errors
    )]
}

pub(crate) async fn held_subscriptions(
    target: &Target,
    connections: usize,
    streams: usize,
) -> Vec<String> {
    let started = Instant::now();
    let (mut held, mut clients) = (Vec::new(), Vec::new());
    let (mut served, mut refused, mut failed) = (0, 0, 0);
    for c in 0..connections {
        let Some(mut client) = client(target, Protocol::H2c).await else {
            failed += streams;
            continue;
        };
        for s in 0..streams {
            let path = format!("/events?channel=held-{c}-{s}&interval_ms=86400000");
            let sent = client.request(Method::GET, &path, &[], Bytes::new());
            match tokio::time::timeout(Duration::from_secs(10), sent).await {
                Ok(Ok(resp)) if resp.status() == StatusCode::OK => {
                    served += 1;
                    held.push(resp);
                }
                Ok(Ok(_)) => refused += 1,
                _ => failed += 1,
            }
        }
        clients.push(client);
    }
    let opened_in = started.elapsed();
    tokio::time::sleep(HOLD.saturating_sub(started.elapsed())).await;
    drop((held, clients));
    vec![format!(
        "{} subscriptions to new channels on h2c in {:.1} s: {served} served, {refused} \
         refused, {failed} failed; held {} s",
        connections * streams,
        opened_in.as_secs_f64(),
        HOLD.as_secs()
    )]
}

/// Fills the replay attacks' channel; returns the id of its last message.
async fn fill_history(target: &Target) -> Option<u64> {
    let mut poster = client(target, Protocol::H1).await?;
    let body = filler(HISTORY_MESSAGE);
    let mut last = None;
    for _ in 0..HISTORY_MESSAGES {
        let path = format!("/messages?channel={HISTORY}");
        let resp = poster
            .request(Method::POST, &path, &[], body.clone())
            .await
            .ok()?;
        let text = resp.into_body().collect().await.ok()?.to_bytes();
        let reply: serde_json::Value = serde_json::from_slice(&text).ok()?;
        last = reply["id"].as_u64().or(last);
    }
    last
}

pub(crate) async fn replay_storm(
    target: &Target,
    clients: usize,
    how_long: Duration,
) -> Vec<String> {
    let Some(last) = fill_history(target).await else {
        return vec!["could not fill the replay channel".to_owned()];
    };
    let addr = target.addr(Protocol::H1);
    let request = replay_request(
        addr,
        &format!("/events?channel={HISTORY}&interval_ms=86400000"),
        "0",
    );
    let marker = format!("id: {last}\nevent: message");
    let started = Instant::now();
    let mut stormers = JoinSet::new();
    for _ in 0..clients {
        let (request, marker) = (request.clone(), marker.clone());
        stormers.spawn(async move {
            let (mut replays, mut bytes, mut failed) = (0u64, 0u64, 0u64);
            while started.elapsed() < how_long {
                match replay_once(addr, &request, marker.as_bytes()).await {
                    Some(n) => {
                        replays += 1;
                        bytes += n;
                    }
                    None => failed += 1,
                }
            }
            (replays, bytes, failed)
        });
    }
    let (mut replays, mut bytes, mut failed) = (0, 0, 0);
    while let Some(joined) = stormers.join_next().await {
        if let Ok((r, b, f)) = joined {
            replays += r;
            bytes += b;
            failed += f;
        }
    }
    let took = started.elapsed().as_secs_f64();
    vec![format!(
        "{clients} clients replaying from id 0 for {took:.1} s: {replays} replays ({failed} \
         failed), {:.2} GB pulled ({:.0} MB/s, {:.2} MB a replay)",
        bytes as f64 / 1e9,
        bytes as f64 / 1e6 / took,
        bytes as f64 / 1e6 / replays.max(1) as f64
    )]
}

/// One reconnect that reads its replay up to the channel's last message; the bytes it read.
async fn replay_once(addr: std::net::SocketAddr, request: &[u8], marker: &[u8]) -> Option<u64> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    socket.bind(std::net::SocketAddr::new(attacker(), 0)).ok()?;
    let mut stream = tokio::time::timeout(Duration::from_secs(5), socket.connect(addr))
        .await
        .ok()?
        .ok()?;
    stream.write_all(request).await.ok()?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    let mut bytes = 0u64;
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        bytes += n as u64;
        tail.extend_from_slice(&buf[..n]);
        if tail.windows(marker.len()).any(|w| w == marker) {
            return Some(bytes);
        }
        let keep = tail.len().saturating_sub(marker.len());
        tail.drain(..keep);
    }
}

pub(crate) async fn replay_unread(target: &Target, count: usize) -> Vec<String> {
    if fill_history(target).await.is_none() {
        return vec!["could not fill the replay channel".to_owned()];
    }
    let addr = target.addr(Protocol::H1);
    let request = replay_request(
        addr,
        &format!("/events?channel={HISTORY}&interval_ms=86400000"),
        "0",
    );
    let started = Instant::now();
    let opened: Vec<_> = futures_util::stream::iter(0..count)
        .map(|_| unread_request_from(Some(attacker()), addr, 16 * 1024, &request))
        .buffer_unordered(OPENERS)
        .collect()
        .await;
    let opened_in = started.elapsed();
    let failed = opened.iter().filter(|o| o.is_err()).count();
    let mut readers: Vec<_> = opened.into_iter().filter_map(Result::ok).collect();
    tokio::time::sleep(HOLD.saturating_sub(started.elapsed())).await;
    // Closed by the server: a read that ends now (what is buffered is read and dropped).
    let mut closed = 0;
    let mut sink = vec![0u8; 64 * 1024];
    for r in &mut readers {
        loop {
            match r.try_read(&mut sink) {
                Ok(0) => {
                    closed += 1;
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed += 1;
                    break;
                }
            }
        }
    }
    vec![format!(
        "{} reconnects with Last-Event-ID: 0 that never read opened in {:.1} s ({failed} \
         failed; 16 KiB receive buffers); {closed} closed by the server within {} s",
        readers.len(),
        opened_in.as_secs_f64(),
        HOLD.as_secs()
    )]
}
