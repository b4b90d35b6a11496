//! The attacks of issue 13 (the list of all: `attack.rs`), each with bounded counts and a
//! bounded time. Each returns lines that say what it did and what the server did to it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use sse_server::Protocol;
use test_support::abuse::{filler, get_request};
use test_support::stall::{stalled_post, zero_window_reader, Framing, PostEnd};
use test_support::{Endpoints, Target};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;

use crate::watch::client;

/// Bound on any flood.
const FLOOD_LIMIT: Duration = Duration::from_secs(120);
const POSTERS: usize = 8;

pub(crate) async fn channel_flood(target: &Target, posts: usize, size: usize) -> Vec<String> {
    let started = Instant::now();
    let mut posters = JoinSet::new();
    for poster in 0..POSTERS {
        let target = target.clone();
        posters.spawn(async move {
            let p = Protocol::ALL[poster % Protocol::ALL.len()];
            let body = filler(size);
            let mut tally = Tally::default();
            let mut client = None;
            for i in (poster..posts).step_by(POSTERS) {
                if started.elapsed() > FLOOD_LIMIT {
                    break;
                }
                if client.is_none() {
                    client = client_or_count(&target, p, &mut tally).await;
                }
                let Some(c) = client.as_mut() else { continue };
                let path = format!("/messages?channel=flood-{i}");
                let sent = c.request(Method::POST, &path, &[], body.clone());
                match tokio::time::timeout(Duration::from_secs(10), sent).await {
                    Ok(Ok(resp)) => {
                        let status = resp.status();
                        let text = resp.into_body().collect().await.map(|b| b.to_bytes());
                        tally.count(status, text.unwrap_or_default());
                    }
                    _ => {
                        tally.errors += 1;
                        client = None;
                    }
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
        "{} POSTs in {:.1} s: {} accepted, {} refused 503 ({}), {} other, {} errors",
        tally.total(),
        started.elapsed().as_secs_f64(),
        tally.accepted,
        tally.refused,
        tally.reasons(),
        tally.other,
        tally.errors
    )]
}

async fn client_or_count(
    target: &Target,
    p: Protocol,
    tally: &mut Tally,
) -> Option<test_support::TestClient> {
    match client(target, p).await {
        Ok(c) => Some(c),
        Err(_) => {
            tally.errors += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

/// The answers to a flood.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) accepted: u64,
    pub(crate) refused: u64,
    pub(crate) channel_limit: u64,
    pub(crate) channel_share: u64,
    pub(crate) replay_budget: u64,
    pub(crate) other: u64,
    pub(crate) errors: u64,
}

impl Tally {
    pub(crate) fn count(&mut self, status: StatusCode, body: Bytes) {
        match status {
            StatusCode::ACCEPTED => self.accepted += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                self.refused += 1;
                if body.starts_with(b"channel limit") {
                    self.channel_limit += 1;
                } else if body.starts_with(b"channel share") {
                    self.channel_share += 1;
                } else if body.starts_with(b"replay budget") {
                    self.replay_budget += 1;
                }
            }
            _ => self.other += 1,
        }
    }

    pub(crate) fn add(&mut self, t: &Tally) {
        self.accepted += t.accepted;
        self.refused += t.refused;
        self.channel_limit += t.channel_limit;
        self.channel_share += t.channel_share;
        self.replay_budget += t.replay_budget;
        self.other += t.other;
        self.errors += t.errors;
    }

    pub(crate) fn total(&self) -> u64 {
        self.accepted + self.refused + self.other + self.errors
    }

    pub(crate) fn reasons(&self) -> String {
        format!(
            "{} channel limit, {} channel share, {} replay budget",
            self.channel_limit, self.channel_share, self.replay_budget
        )
    }
}

pub(crate) async fn stalled_posts(
    target: &Target,
    per_listener: usize,
    hold: Duration,
    reopen: bool,
) -> Vec<String> {
    const REOPEN_LIMIT: usize = 100;
    let opens = if reopen { REOPEN_LIMIT } else { 1 };
    let deadline = tokio::time::Instant::now() + hold;
    let mut attackers = JoinSet::new();
    for p in Protocol::ALL {
        let framing = match p {
            Protocol::H1 => Framing::ContentLength(1000),
            _ => Framing::Chunked,
        };
        for _ in 0..per_listener {
            let target = target.clone();
            attackers.spawn(async move {
                let mut ends = StallEnds::default();
                for _ in 0..opens {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    let Ok(post) = stalled_post(&target, p, "/messages?channel=x", framing).await
                    else {
                        ends.connect_failed += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    ends.opened += 1;
                    let answer = post.answer(left).await;
                    match (answer.status, answer.end) {
                        (_, PostEnd::StillOpen) => ends.open_at_end += 1,
                        (Some(StatusCode::REQUEST_TIMEOUT), _) => ends.timed_out += 1,
                        (Some(_), _) => ends.other_status += 1,
                        (None, _) => ends.closed_without_answer += 1,
                    }
                }
                ends
            });
        }
    }
    let mut ends = StallEnds::default();
    while let Some(joined) = attackers.join_next().await {
        if let Ok(e) = joined {
            ends.add(&e);
        }
    }
    vec![format!(
        "{} stalled POSTs opened over {} s ({} failed to connect): {} answered 408, {} closed \
         without an answer (reclaimed), {} other answers, {} still open at the end",
        ends.opened,
        hold.as_secs(),
        ends.connect_failed,
        ends.timed_out,
        ends.closed_without_answer,
        ends.other_status,
        ends.open_at_end
    )]
}

#[derive(Debug, Default)]
struct StallEnds {
    opened: u64,
    connect_failed: u64,
    timed_out: u64,
    closed_without_answer: u64,
    other_status: u64,
    open_at_end: u64,
}

impl StallEnds {
    fn add(&mut self, e: &StallEnds) {
        self.opened += e.opened;
        self.connect_failed += e.connect_failed;
        self.timed_out += e.timed_out;
        self.closed_without_answer += e.closed_without_answer;
        self.other_status += e.other_status;
        self.open_at_end += e.open_at_end;
    }
}

pub(crate) async fn idle_h2c(target: &Target, connections: usize, wait: Duration) -> Vec<String> {
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let Ok(mut c) = client(target, Protocol::H2c).await else {
            continue;
        };
        let health = c.request(Method::GET, "/health", &[], Bytes::new());
        if let Ok(Ok(resp)) = tokio::time::timeout(Duration::from_secs(5), health).await {
            let _ = resp.into_body().collect().await;
            clients.push(c);
        }
    }
    let opened = clients.len();
    let started = Instant::now();
    let mut last_closed = None;
    while started.elapsed() < wait && clients.iter().any(|c| !c.is_finished()) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if clients.iter().all(|c| c.is_finished()) {
            last_closed = Some(started.elapsed());
        }
    }
    let closed = clients.iter().filter(|c| c.is_finished()).count();
    vec![format!(
        "{opened} idle h2c connections: {closed} closed by the server{}",
        match last_closed {
            Some(t) => format!(", the last {:.1} s after the requests", t.as_secs_f64()),
            None => format!(" within {} s", wait.as_secs()),
        }
    )]
}

pub(crate) async fn zero_window(
    target: &Target,
    connections: usize,
    streams: usize,
    wait: Duration,
) -> Vec<String> {
    let mut readers = Vec::new();
    for i in 0..connections {
        let p = [Protocol::H2, Protocol::H2c][i % 2];
        let path = "/events?channel=zero&interval_ms=100";
        match zero_window_reader(target, p, path, streams).await {
            Ok(r) => readers.push(r),
            Err(e) => return vec![format!("zero-window reader failed to open: {e}")],
        }
    }
    let started = Instant::now();
    let mut set = JoinSet::new();
    for mut reader in readers {
        set.spawn(async move { reader.closed(wait).await.map(|how| (how, Instant::now())) });
    }
    let mut closed = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(Some((how, at))) = joined {
            closed.push((how, at.duration_since(started)));
        }
    }
    let last = closed.iter().map(|(_, t)| *t).max();
    vec![format!(
        "{connections} zero-window connections of {streams} streams: {} closed by the server{}",
        closed.len(),
        last.map_or(String::new(), |t| format!(
            ", the last {:.1} s after the streams opened",
            t.as_secs_f64()
        ))
    )]
}

/// The receive buffer of each slow reader's socket: small, as an attacker saving its own memory
/// would set it. (The server's side is what the attack is about.)
const SLOW_READER_RCVBUF: u32 = 16 * 1024;

pub(crate) async fn slow_readers(target: &Target, readers: usize, hold: Duration) -> Vec<String> {
    let path = "/events?channel=slow&interval_ms=100&size=1048576";
    let addr = target.addr(Protocol::H1);
    let request = get_request(Protocol::H1, addr, path, 65_535);
    let started = Instant::now();
    let mut open = Vec::with_capacity(readers);
    let mut failed = 0;
    for _ in 0..readers {
        match small_buffer_connect(addr, &request).await {
            Ok(stream) => open.push(stream),
            Err(_) => failed += 1,
        }
    }
    let opened_in = started.elapsed();
    tokio::time::sleep(hold).await;
    let opened = open.len();
    drop(open);
    vec![format!(
        "{opened} slow h1 readers of 1 MiB ticks ({failed} failed to connect; {} KiB receive \
         buffers) opened in {:.1} s, held {} s, then closed by the client",
        SLOW_READER_RCVBUF >> 10,
        opened_in.as_secs_f64(),
        hold.as_secs()
    )]
}

/// TCP with a small receive buffer, then `request`; nothing is ever read.
async fn small_buffer_connect(
    addr: std::net::SocketAddr,
    request: &[u8],
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(SLOW_READER_RCVBUF)?;
    let mut stream = tokio::time::timeout(Duration::from_secs(5), socket.connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    stream.set_nodelay(true)?;
    stream.write_all(request).await?;
    Ok(stream)
}
