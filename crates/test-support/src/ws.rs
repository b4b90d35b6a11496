//! A WebSocket client for tests: TCP (+ TLS trusting the server's certificate, ALPN `http/1.1`)
//! and the RFC 6455 handshake to a server's `ws` or `wss` listener, with bounded reads.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::client::{listener_addr, tls_connect};
use crate::target::Endpoints;
use crate::{within, Protocol, WAIT};

/// Any byte stream a socket can run on.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open WebSocket.
pub struct TestSocket {
    ws: WebSocketStream<Box<dyn Io>>,
}

impl std::fmt::Debug for TestSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestSocket")
    }
}

/// What a socket received next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Text(String),
    /// A Close frame: its code (`None` without a payload) and reason.
    Close(Option<u16>, String),
    /// The connection ended without a Close frame (or failed).
    Ended,
}

/// Opens `path` on `server`'s `protocol` listener. `Err` carries the handshake's HTTP status when
/// the server answered something else than `101` (0 for any other failure).
pub async fn ws_connect(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    path: &str,
) -> Result<TestSocket, u16> {
    let addr = listener_addr(server, protocol);
    let io: Box<dyn Io> = if protocol.is_tls() {
        Box::new(
            tls_connect(addr, &server.cert(), &[b"http/1.1".to_vec()])
                .await
                .map_err(|_| 0u16)?,
        )
    } else {
        let tcp = within(WAIT, "tcp connect", tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| 0u16)?;
        let _ = tcp.set_nodelay(true);
        Box::new(tcp)
    };
    let scheme = protocol.websocket_scheme().unwrap_or("ws");
    let request = format!("{scheme}://{addr}{path}")
        .into_client_request()
        .map_err(|_| 0u16)?;
    match within(
        WAIT,
        "websocket handshake",
        tokio_tungstenite::client_async(request, io),
    )
    .await
    {
        Ok((ws, _)) => Ok(TestSocket { ws }),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(_) => Err(0),
    }
}

impl TestSocket {
    /// Sends a text message.
    pub async fn send(&mut self, text: &str) {
        within(WAIT, "websocket send", self.ws.send(Message::text(text)))
            .await
            .expect("the message is written");
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: &[u8]) {
        within(
            WAIT,
            "websocket send",
            self.ws.send(Message::binary(data.to_vec())),
        )
        .await
        .expect("the message is written");
    }

    /// The next text message or the end, skipping pings and pongs; panics after [`WAIT`].
    pub async fn next(&mut self) -> Received {
        self.next_within(WAIT)
            .await
            .unwrap_or_else(|| panic!("nothing received within {WAIT:?}"))
    }

    /// As [`TestSocket::next`], `None` if nothing came within `limit`.
    pub async fn next_within(&mut self, limit: Duration) -> Option<Received> {
        let read = async {
            loop {
                return match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => Received::Text(t.to_string()),
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame
                            .map_or((None, String::new()), |f: CloseFrame| {
                                (Some(u16::from(f.code)), f.reason.to_string())
                            });
                        Received::Close(code, reason)
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => Received::Ended,
                };
            }
        };
        tokio::time::timeout(limit, read).await.ok()
    }

    /// Texts until one contains `needle` (panics after [`WAIT`] or at the end).
    pub async fn text_containing(&mut self, needle: &str) -> String {
        loop {
            match self.next().await {
                Received::Text(t) if t.contains(needle) => return t,
                Received::Text(_) => {}
                other => panic!("the socket ended before {needle:?}: {other:?}"),
            }
        }
    }
}
