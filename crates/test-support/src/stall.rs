//! Clients that start something and never finish it, for the server's timeout tests and the abuse
//! driver: a POST whose body stops arriving ([`stalled_post`], on every arm) and an HTTP/2 client
//! that opens event streams but never grants them a flow-control window
//! ([`zero_window_reader`]).

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use sse_server::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use vocab::Transport;

use crate::abuse::{raw_connect, RawStream};
use crate::client::H3Stream;
use crate::target::Endpoints;
use crate::{connect, TestClient};

/// The body bytes a stalled POST sends before it stops.
const FIRST_BYTES: &[u8] = b"hello";

/// How an HTTP/1.1 POST declares its body. (HTTP/2 declares nothing: the body ends with
/// END_STREAM, which a stalled POST never sends.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `content-length` with this value, larger than what is sent.
    ContentLength(usize),
    /// `transfer-encoding: chunked`, without the last chunk.
    Chunked,
}

/// A `POST` whose body has begun and not ended.
#[derive(Debug)]
pub struct StalledPost {
    inner: Inner,
}

enum Inner {
    Http1(RawStream, Framing),
    Http2 {
        body: h2::SendStream<Bytes>,
        response: Option<h2::client::ResponseFuture>,
        _client: h2::client::SendRequest<Bytes>,
        connection: JoinHandle<Result<(), h2::Error>>,
    },
    Http3 {
        stream: Box<H3Stream>,
        /// Keeps the connection open.
        _client: Box<TestClient>,
    },
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Inner::Http1(_, framing) => write!(f, "Http1({framing:?})"),
            Inner::Http2 { .. } => f.write_str("Http2"),
            Inner::Http3 { .. } => f.write_str("Http3"),
        }
    }
}

impl Drop for StalledPost {
    fn drop(&mut self) {
        if let Inner::Http2 { connection, .. } = &self.inner {
            connection.abort();
        }
    }
}

/// What the server did with a stalled POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostAnswer {
    /// The response status, if one arrived.
    pub status: Option<StatusCode>,
    /// How the request ended on the client's side.
    pub end: PostEnd,
}

/// How a stalled POST ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostEnd {
    /// The server closed the connection (HTTP/1.1, or an HTTP/2 connection error).
    ConnectionClosed,
    /// HTTP/2: the server reset the stream with this error code; the connection is still open.
    StreamReset(h2::Reason),
    /// HTTP/3: the server stopped reading the request stream (STOP_SENDING) with this error code;
    /// the connection is still open.
    StreamStopped(u64),
    /// Nothing ended within the wait.
    StillOpen,
}

/// Opens `POST path` on the `protocol` listener and sends the start of a body that never ends:
/// on HTTP/1.1 the head with `framing` and five body bytes; on HTTP/2 (the h2 crate, which answers
/// PINGs and SETTINGS as a live client does) HEADERS without END_STREAM and one five-byte DATA
/// frame; on HTTP/3 (h3) the HEADERS and one five-byte DATA frame on a stream left open.
pub async fn stalled_post(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    path: &str,
    framing: Framing,
) -> io::Result<StalledPost> {
    let addr = server.addr(protocol);
    if protocol.transport() == Transport::Udp {
        let mut client = connect(server, protocol).await;
        let mut stream = client
            .h3_stream(http::Method::POST, path)
            .await
            .map_err(io::Error::other)?;
        stream
            .send_data(Bytes::from_static(FIRST_BYTES))
            .await
            .map_err(io::Error::other)?;
        return Ok(StalledPost {
            inner: Inner::Http3 {
                stream: Box::new(stream),
                _client: Box::new(client),
            },
        });
    }
    let mut io = raw_connect(server, protocol).await?;
    if !protocol.is_http2() {
        let declared = match framing {
            Framing::ContentLength(n) => format!("content-length: {n}"),
            Framing::Chunked => "transfer-encoding: chunked".to_owned(),
        };
        let mut request =
            format!("POST {path} HTTP/1.1\r\nhost: {addr}\r\n{declared}\r\n\r\n").into_bytes();
        request.extend_from_slice(&piece(framing, FIRST_BYTES));
        io.write_all(&request).await?;
        return Ok(StalledPost {
            inner: Inner::Http1(io, framing),
        });
    }
    let (client, connection) = h2::client::handshake(io).await.map_err(io::Error::other)?;
    let connection = tokio::spawn(connection);
    let mut client = client.ready().await.map_err(io::Error::other)?;
    let uri = format!("{}://{addr}{path}", protocol.scheme());
    let request = http::Request::post(uri)
        .body(())
        .map_err(io::Error::other)?;
    let (response, mut body) = client
        .send_request(request, false)
        .map_err(io::Error::other)?;
    body.send_data(Bytes::from_static(FIRST_BYTES), false)
        .map_err(io::Error::other)?;
    Ok(StalledPost {
        inner: Inner::Http2 {
            body,
            response: Some(response),
            _client: client,
            connection,
        },
    })
}

/// One piece of body in the framing.
fn piece(framing: Framing, bytes: &[u8]) -> Vec<u8> {
    match framing {
        Framing::ContentLength(_) => bytes.to_vec(),
        Framing::Chunked => {
            let mut out = format!("{:x}\r\n", bytes.len()).into_bytes();
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
            out
        }
    }
}

impl StalledPost {
    /// Sends one more body byte; fails once the server has closed or reset the request.
    pub async fn drip(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Http1(io, framing) => io.write_all(&piece(*framing, b"x")).await,
            Inner::Http2 { body, .. } => body
                .send_data(Bytes::from_static(b"x"), false)
                .map_err(io::Error::other),
            Inner::Http3 { stream, .. } => stream
                .send_data(Bytes::from_static(b"x"))
                .await
                .map_err(io::Error::other),
        }
    }

    /// Waits up to `limit` for the server's answer and for the request to end.
    pub async fn answer(mut self, limit: Duration) -> PostAnswer {
        let deadline = tokio::time::Instant::now() + limit;
        match &mut self.inner {
            Inner::Http1(io, _) => {
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                let end = loop {
                    match tokio::time::timeout_at(deadline, io.read(&mut buf)).await {
                        Err(_) => break PostEnd::StillOpen,
                        Ok(Ok(0) | Err(_)) => break PostEnd::ConnectionClosed,
                        Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                    }
                };
                PostAnswer {
                    status: http1_status(&got),
                    end,
                }
            }
            Inner::Http2 { body, response, .. } => {
                let mut status = None;
                if let Some(response) = response.take() {
                    match tokio::time::timeout_at(deadline, response).await {
                        Ok(Ok(resp)) => status = Some(resp.status()),
                        Ok(Err(e)) if e.is_io() || e.is_go_away() => {
                            return PostAnswer {
                                status,
                                end: PostEnd::ConnectionClosed,
                            }
                        }
                        Ok(Err(_)) | Err(_) => {}
                    }
                }
                let reset = std::future::poll_fn(|cx| body.poll_reset(cx));
                let end = match tokio::time::timeout_at(deadline, reset).await {
                    Ok(Ok(reason)) => PostEnd::StreamReset(reason),
                    Ok(Err(_)) => PostEnd::ConnectionClosed,
                    Err(_) => PostEnd::StillOpen,
                };
                PostAnswer { status, end }
            }
            Inner::Http3 { stream, .. } => {
                let status = match tokio::time::timeout_at(deadline, stream.recv_response()).await {
                    Ok(Ok(resp)) => Some(resp.status()),
                    Ok(Err(_)) | Err(_) => None,
                };
                // STOP_SENDING shows when the next body byte is refused.
                let end = loop {
                    let sent = stream.send_data(Bytes::from_static(b"x"));
                    match tokio::time::timeout_at(deadline, sent).await {
                        Err(_) => break PostEnd::StillOpen,
                        Ok(Ok(())) => tokio::time::sleep(Duration::from_millis(10)).await,
                        Ok(Err(h3::error::StreamError::RemoteTerminate { code, .. })) => {
                            break PostEnd::StreamStopped(code.value())
                        }
                        Ok(Err(_)) => break PostEnd::ConnectionClosed,
                    }
                };
                PostAnswer { status, end }
            }
        }
    }
}

/// The status of an HTTP/1.1 response's first line.
fn http1_status(response: &[u8]) -> Option<StatusCode> {
    let line = response.split(|&b| b == b'\n').next()?;
    let code = std::str::from_utf8(line).ok()?.split_whitespace().nth(1)?;
    code.parse::<u16>()
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
}

/// An HTTP/2 client whose event streams have no flow-control window: it advertises
/// `SETTINGS_INITIAL_WINDOW_SIZE` 0 and never reads, so the server can send response headers but
/// not one byte of data. It answers PINGs (the h2 crate does), so only a flow-control timeout
/// finds it.
#[derive(Debug)]
pub struct ZeroWindowReader {
    _client: h2::client::SendRequest<Bytes>,
    _responses: Vec<http::Response<h2::RecvStream>>,
    connection: JoinHandle<Result<(), h2::Error>>,
}

impl Drop for ZeroWindowReader {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Opens `streams` event streams `GET path` on one connection with zero windows; returns once the
/// server has answered each with its headers.
pub async fn zero_window_reader(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    path: &str,
    streams: usize,
) -> io::Result<ZeroWindowReader> {
    assert!(protocol.is_http2(), "flow-control windows are HTTP/2's");
    let addr = server.addr(protocol);
    let io = raw_connect(server, protocol).await?;
    let (client, connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(io::Error::other)?;
    let connection = tokio::spawn(connection);
    let mut client = client.ready().await.map_err(io::Error::other)?;
    let uri = format!("{}://{addr}{path}", protocol.scheme());
    let mut pending = Vec::with_capacity(streams);
    for _ in 0..streams {
        client = client.ready().await.map_err(io::Error::other)?;
        let request = http::Request::get(&uri)
            .body(())
            .map_err(io::Error::other)?;
        let (response, _) = client
            .send_request(request, true)
            .map_err(io::Error::other)?;
        pending.push(response);
    }
    let mut responses = Vec::with_capacity(streams);
    for response in pending {
        responses.push(response.await.map_err(io::Error::other)?);
    }
    Ok(ZeroWindowReader {
        _client: client,
        _responses: responses,
        connection,
    })
}

impl ZeroWindowReader {
    /// Waits up to `limit` for the server to end the connection; `Some` with how it ended, `None`
    /// if it is still open.
    pub async fn closed(&mut self, limit: Duration) -> Option<String> {
        match tokio::time::timeout(limit, &mut self.connection).await {
            Err(_) => None,
            Ok(Ok(Ok(()))) => Some("closed".to_owned()),
            Ok(Ok(Err(e))) => Some(e.to_string()),
            Ok(Err(e)) => Some(e.to_string()),
        }
    }
}
