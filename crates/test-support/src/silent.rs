//! Connections that open and then send nothing, on every transport: a browser's speculative
//! connection, or an attacker holding a slot. On TCP the connect alone, or with the TLS handshake
//! of the listener's ALPN; on QUIC the handshake (ALPN `h3`), without HTTP/3's control stream or
//! any request.

use std::io;

use sse_server::Protocol;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use vocab::Transport;

use crate::abuse::{raw_connect, RawStream};
use crate::client::quic_connect;
use crate::target::Endpoints;
use crate::{within, ClientSpec, WAIT};

/// How far a TCP silent connection goes before it falls silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// The TCP connect only (TLS listeners wait for a ClientHello).
    Tcp,
    /// TCP and, on the TLS listeners, the TLS handshake with the listener's ALPN.
    Tls,
}

/// An open connection that sends nothing.
pub enum SilentConnection {
    Tcp(RawStream),
    Quic {
        endpoint: quinn::Endpoint,
        connection: quinn::Connection,
    },
}

impl std::fmt::Debug for SilentConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SilentConnection::Tcp(_) => f.write_str("SilentConnection::Tcp"),
            SilentConnection::Quic { connection, .. } => {
                write!(f, "SilentConnection::Quic({})", connection.remote_address())
            }
        }
    }
}

/// Opens a silent connection to `server`'s `protocol` listener (`handshake` says how far on TCP;
/// QUIC always completes its handshake).
pub async fn silent_connection(
    server: &(impl Endpoints + ?Sized),
    protocol: Protocol,
    handshake: Handshake,
) -> io::Result<SilentConnection> {
    let addr = server.addr(protocol);
    match (protocol.transport(), handshake) {
        (Transport::Udp, _) => {
            let alpn = ClientSpec::for_protocol(protocol).alpn;
            let (endpoint, connection) = quic_connect(addr, &server.cert(), &alpn)
                .await
                .map_err(|e| io::Error::other(format!("{e:?}")))?;
            Ok(SilentConnection::Quic {
                endpoint,
                connection,
            })
        }
        (Transport::Tcp, Handshake::Tcp) => {
            let tcp = within(WAIT, "tcp connect", TcpStream::connect(addr)).await?;
            Ok(SilentConnection::Tcp(Box::new(tcp)))
        }
        (Transport::Tcp, Handshake::Tls) => {
            Ok(SilentConnection::Tcp(raw_connect(server, protocol).await?))
        }
    }
}

impl SilentConnection {
    /// Waits (at most [`WAIT`], then panics) for the server to close the connection; returns the
    /// bytes read from a TCP connection before its end (its HTTP/2 SETTINGS, say), 0 on QUIC.
    pub async fn closed_by_server(&mut self) -> usize {
        match self {
            SilentConnection::Tcp(stream) => {
                let mut buf = [0u8; 256];
                let mut total = 0;
                within(WAIT, "the server closes a silent connection", async {
                    while let Ok(n @ 1..) = stream.read(&mut buf).await {
                        total += n;
                    }
                })
                .await;
                total
            }
            SilentConnection::Quic { connection, .. } => {
                within(
                    WAIT,
                    "the server closes a silent connection",
                    connection.closed(),
                )
                .await;
                0
            }
        }
    }
}
