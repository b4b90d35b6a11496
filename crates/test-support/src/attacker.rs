//! The attackers of the server's second round (WebSockets, stalled HTTP/2 streams, channel
//! exhaustion, replay storms), for its tests and the abuse driver: connections from a chosen
//! client address ([`source`]: 127.0.0.2 and up are other clients to the server), WebSockets
//! that never send a frame ([`silent_websocket`]) or that answer pings and nothing else
//! ([`ponging_websocket`]), HTTP/2 streams that stop reading beside one that moves
//! ([`stalled_streams`]), and reconnects that ask for a replay ([`replay_request`]).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use sse_server::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::abuse::RawStream;
use crate::client::{tcp_connect, tls_connect_from};
use crate::target::Endpoints;
use crate::{within, WAIT};

/// The `n`th client address other than 127.0.0.1: 127.0.0.(2 + n).
pub fn source(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + n))
}

/// TCP from `from`, plus the TLS handshake with the listener's ALPN on the TLS listeners.
pub async fn raw_connect_from(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    from: Option<IpAddr>,
) -> io::Result<RawStream> {
    let addr = server.addr(protocol);
    if protocol.is_tls() {
        let alpn: Vec<Vec<u8>> = protocol
            .alpn()
            .map(|a| vec![a.to_vec()])
            .unwrap_or_default();
        Ok(Box::new(
            tls_connect_from(from, addr, &server.cert(), &alpn).await?,
        ))
    } else {
        Ok(Box::new(tcp_connect(from, addr).await?))
    }
}

/// The HTTP/1.1 upgrade request of `GET path` to a WebSocket.
fn upgrade_request(addr: SocketAddr, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

/// Reads an HTTP/1.1 response head; returns its status code.
async fn read_head(io: &mut RawStream) -> io::Result<u16> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if io.read(&mut byte).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let status = head
        .split(|&b| b == b' ')
        .nth(1)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok());
    status.ok_or_else(|| io::Error::other("no status line"))
}

/// A WebSocket whose client completed the handshake and never sends a frame (no message, no
/// pong): it reads and drops whatever the server sends, so only the server's own rules can end
/// it.
#[derive(Debug)]
pub struct SilentSocket {
    /// How long after the handshake the server closed it.
    reader: JoinHandle<Duration>,
}

/// Opens `path` on the `protocol` listener (`ws` or `wss`) from `from` as a [`SilentSocket`];
/// `Err` if the upgrade is not answered with 101.
pub async fn silent_websocket(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    path: &str,
    from: Option<IpAddr>,
) -> io::Result<SilentSocket> {
    let mut io = raw_connect_from(server, protocol, from).await?;
    io.write_all(upgrade_request(server.addr(protocol), path).as_bytes())
        .await?;
    let status = within(WAIT, "the upgrade's answer", read_head(&mut io)).await?;
    if status != 101 {
        return Err(io::Error::other(format!("upgrade answered {status}")));
    }
    let opened = Instant::now();
    let reader = tokio::spawn(async move {
        let mut sink = vec![0u8; 16 * 1024];
        loop {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => return opened.elapsed(),
                Ok(_) => {}
            }
        }
    });
    Ok(SilentSocket { reader })
}

impl SilentSocket {
    /// Whether the server has closed it.
    pub fn is_closed(&self) -> bool {
        self.reader.is_finished()
    }

    /// Waits up to `limit` for the server to close it; how long after the handshake it did.
    pub async fn closed(&mut self, limit: Duration) -> Option<Duration> {
        tokio::time::timeout(limit, &mut self.reader)
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for SilentSocket {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A WebSocket client that answers pings (tungstenite does, while it reads) and sends nothing
/// else: a live client as far as the protocol can tell.
#[derive(Debug)]
pub struct PongingSocket {
    reader: JoinHandle<()>,
}

/// Opens `path` on the `ws` listener from `from` as a [`PongingSocket`].
pub async fn ponging_websocket(
    server: &(impl Endpoints + ?Sized),
    path: &str,
    from: Option<IpAddr>,
) -> io::Result<PongingSocket> {
    let addr = server.addr(Protocol::Ws);
    let tcp = tcp_connect(from, addr).await?;
    let request = format!("ws://{addr}{path}")
        .into_client_request()
        .map_err(io::Error::other)?;
    let (mut ws, _) = within(
        WAIT,
        "websocket handshake",
        tokio_tungstenite::client_async(request, tcp),
    )
    .await
    .map_err(io::Error::other)?;
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    Ok(PongingSocket { reader })
}

impl PongingSocket {
    /// Whether the server has closed it.
    pub fn is_closed(&self) -> bool {
        self.reader.is_finished()
    }
}

impl Drop for PongingSocket {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// One HTTP/2 connection with one stream that is read (its window given back as it arrives) and
/// `stalled` streams that are never read: their windows close after the first 64 KiB and stay
/// closed. The client reads its socket, so the connection itself never stalls.
#[derive(Debug)]
pub struct StalledStreams {
    stalled: Vec<JoinHandle<StreamEnd>>,
    moving: JoinHandle<()>,
    moved: std::sync::Arc<std::sync::atomic::AtomicU64>,
    connection: JoinHandle<Result<(), h2::Error>>,
    _client: h2::client::SendRequest<Bytes>,
}

/// How a stalled stream ended, as its client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The server reset it with this code.
    Reset(h2::Reason),
    /// It ended cleanly, or the connection ended.
    Ended(String),
}

/// Opens `moving_path` and `stalled` stalled streams, the `i`th on `stalled_path(i)`, on one
/// connection to the `protocol` listener (an HTTP/2 one).
pub async fn stalled_streams(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    moving_path: &str,
    stalled_path: impl Fn(usize) -> String,
    stalled: usize,
) -> io::Result<StalledStreams> {
    stalled_streams_from(server, protocol, None, moving_path, stalled_path, stalled).await
}

/// [`stalled_streams`] from the client address `from`.
pub async fn stalled_streams_from(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    from: Option<IpAddr>,
    moving_path: &str,
    stalled_path: impl Fn(usize) -> String,
    stalled: usize,
) -> io::Result<StalledStreams> {
    assert!(protocol.is_http2(), "flow-control windows are HTTP/2's");
    let addr = server.addr(protocol);
    let io = raw_connect_from(server, protocol, from).await?;
    let (client, connection) = h2::client::Builder::new()
        // Room for every stalled stream's first window, so the moving one is never held back by
        // the connection's.
        .initial_connection_window_size(64 << 20)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(io::Error::other)?;
    let connection = tokio::spawn(connection);
    let mut client = client.ready().await.map_err(io::Error::other)?;
    let uri = |path: &str| format!("{}://{addr}{path}", protocol.scheme());
    let get = |path: &str| {
        http::Request::get(uri(path))
            .body(())
            .map_err(io::Error::other)
    };
    let (moving, _) = client
        .send_request(get(moving_path)?, true)
        .map_err(io::Error::other)?;
    let mut pending = Vec::with_capacity(stalled);
    for i in 0..stalled {
        client = client.ready().await.map_err(io::Error::other)?;
        let (response, _) = client
            .send_request(get(&stalled_path(i))?, true)
            .map_err(io::Error::other)?;
        pending.push(response);
    }
    let moving = within(WAIT, "the moving stream's headers", moving)
        .await
        .map_err(io::Error::other)?;
    let moved = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = std::sync::Arc::clone(&moved);
    let moving = tokio::spawn(async move {
        let mut body = moving.into_body();
        while let Some(Ok(data)) = body.data().await {
            let _ = body.flow_control().release_capacity(data.len());
            counted.fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let mut streams = Vec::with_capacity(stalled);
    for response in pending {
        let response = within(WAIT, "a stalled stream's headers", response)
            .await
            .map_err(io::Error::other)?;
        streams.push(tokio::spawn(async move {
            // Data is taken off the connection but its window is never given back.
            let mut body = response.into_body();
            loop {
                match body.data().await {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => match e.reason() {
                        Some(reason) if e.is_reset() => return StreamEnd::Reset(reason),
                        _ => return StreamEnd::Ended(e.to_string()),
                    },
                    None => return StreamEnd::Ended("end of stream".to_owned()),
                }
            }
        }));
    }
    Ok(StalledStreams {
        stalled: streams,
        moving,
        moved,
        connection,
        _client: client,
    })
}

impl StalledStreams {
    /// Bytes the moving stream has received so far.
    pub fn moved(&self) -> u64 {
        self.moved.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the moving stream and the connection are still up.
    pub fn moving(&self) -> bool {
        !self.moving.is_finished() && !self.connection.is_finished()
    }

    /// Stalled streams that have ended so far.
    pub fn ended(&self) -> usize {
        self.stalled.iter().filter(|s| s.is_finished()).count()
    }

    /// Waits up to `limit` for every stalled stream to end; how each ended (`None`: still open).
    pub async fn ends(&mut self, limit: Duration) -> Vec<Option<StreamEnd>> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut out = Vec::with_capacity(self.stalled.len());
        for stream in &mut self.stalled {
            let end = tokio::time::timeout_at(deadline, &mut *stream).await;
            out.push(end.ok().and_then(Result::ok));
        }
        out
    }
}

impl Drop for StalledStreams {
    fn drop(&mut self) {
        for s in &self.stalled {
            s.abort();
        }
        self.moving.abort();
        self.connection.abort();
    }
}

/// TCP to `addr` with a receive buffer of `receive_buffer` bytes (as an attacker saving its own
/// memory would set it), then `request`; nothing is ever read.
pub async fn unread_request(
    addr: SocketAddr,
    receive_buffer: u32,
    request: &[u8],
) -> io::Result<tokio::net::TcpStream> {
    unread_request_from(None, addr, receive_buffer, request).await
}

/// [`unread_request`] from the client address `from` (IPv4).
pub async fn unread_request_from(
    from: Option<IpAddr>,
    addr: SocketAddr,
    receive_buffer: u32,
    request: &[u8],
) -> io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    if let Some(from) = from {
        socket.bind(SocketAddr::new(from, 0))?;
    }
    socket.set_recv_buffer_size(receive_buffer)?;
    let mut stream = within(WAIT, "tcp connect", socket.connect(addr)).await?;
    stream.set_nodelay(true)?;
    stream.write_all(request).await?;
    Ok(stream)
}

/// The HTTP/1.1 request of `GET path` with `Last-Event-ID: last_event_id`: a reconnect asking
/// for every message after that id.
pub fn replay_request(addr: SocketAddr, path: &str, last_event_id: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nlast-event-id: {last_event_id}\r\n\r\n")
        .into_bytes()
}
