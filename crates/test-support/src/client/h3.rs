//! The HTTP/3 side of the test client: QUIC (quinn, rustls with `ring`, trusting only the
//! server's certificate) and h3 over it, one endpoint per connection on loopback.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use h3::client::{RequestStream, SendRequest};
use http::{Request, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use quinn::crypto::rustls::QuicClientConfig;
use rustls_pki_types::CertificateDer;
use tokio::task::JoinHandle;

use super::{tls_client_config, ClientError, ConnectError, ResponseBody};
use crate::{within, WAIT};

/// An HTTP/3 request stream, for a test to drive by hand.
pub type H3Stream = RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;
type Stream = H3Stream;

/// A QUIC connection to `addr` whose handshake offered `alpn` and completed. The endpoint is
/// returned with it: dropping both closes the connection.
pub async fn quic_connect(
    addr: SocketAddr,
    cert: &CertificateDer<'static>,
    alpn: &[Vec<u8>],
) -> Result<(quinn::Endpoint, quinn::Connection), ConnectError> {
    let local = match addr {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
    };
    let mut endpoint = quinn::Endpoint::client(local).map_err(ConnectError::Io)?;
    let tls = tls_client_config(cert, alpn);
    let crypto = QuicClientConfig::try_from(tls)
        .map_err(|e| ConnectError::Io(std::io::Error::other(e.to_string())))?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let name = addr.ip().to_string();
    let connecting = endpoint
        .connect(addr, &name)
        .map_err(|e| ConnectError::Io(std::io::Error::other(e)))?;
    let connection = within(WAIT, "quic handshake", connecting)
        .await
        .map_err(ConnectError::Quic)?;
    Ok((endpoint, connection))
}

/// An HTTP/3 connection: its request sender, the endpoint it runs on and the task that drives it
/// (ending `Ok` when the server closed it with `H3_NO_ERROR`).
pub(super) struct H3Connection {
    pub(super) sender: SendRequest<h3_quinn::OpenStreams, Bytes>,
    /// The connection's own endpoint (its socket and driver), kept with it.
    pub(super) _endpoint: quinn::Endpoint,
    pub(super) connection: quinn::Connection,
}

impl std::fmt::Debug for H3Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H3Connection")
            .field("remote", &self.connection.remote_address())
            .finish_non_exhaustive()
    }
}

/// Connects, and starts HTTP/3 on the connection.
pub(super) async fn connect(
    addr: SocketAddr,
    cert: &CertificateDer<'static>,
    alpn: &[Vec<u8>],
) -> Result<(H3Connection, JoinHandle<Result<(), ClientError>>), ConnectError> {
    let (endpoint, connection) = quic_connect(addr, cert, alpn).await?;
    let quic = h3_quinn::Connection::new(connection.clone());
    let (mut driver, sender) = within(WAIT, "h3 settings", h3::client::new(quic))
        .await
        .map_err(|e| ConnectError::Http3(Box::new(e)))?;
    let closing = connection.clone();
    let task = tokio::spawn(async move {
        let closed = driver.wait_idle().await;
        if closed.is_h3_no_error() {
            Ok(())
        } else {
            Err(ClientError::H3Connection {
                error: closed,
                code: close_code(&closing),
            })
        }
    });
    let h3 = H3Connection {
        sender,
        _endpoint: endpoint,
        connection,
    };
    Ok((h3, task))
}

impl H3Connection {
    /// Sends `request` with `body` (the stream finished after it) and waits for the response's
    /// head; its body is read as it is polled. A server that stops the request with `H3_NO_ERROR`
    /// before it is all sent has answered early: the response is read all the same.
    pub(super) async fn request(
        &mut self,
        request: Request<()>,
        body: Bytes,
    ) -> Result<Response<ResponseBody>, ClientError> {
        let mut stream = self.open(request).await?;
        let failed = |error| stream_error(&self.connection, error);
        let sent = async {
            if !body.is_empty() {
                stream.send_data(body).await?;
            }
            stream.finish().await
        };
        match sent.await {
            // The server answers without the rest of the request (RFC 9114, 4.1).
            Err(e) if !loadgen::h3_stopped_early(&e) => return Err(failed(e)),
            Ok(()) | Err(_) => {}
        }
        let head = stream.recv_response().await.map_err(failed)?;
        Ok(head.map(|()| body_of(stream, self.connection.clone())))
    }

    /// Opens a request stream and sends `request`'s head on it (waiting, as a browser does, while
    /// the server's stream limit allows no more).
    pub(super) async fn open(&mut self, request: Request<()>) -> Result<H3Stream, ClientError> {
        let failed = |error| stream_error(&self.connection, error);
        self.sender.send_request(request).await.map_err(failed)
    }
}

/// The code an HTTP/3 connection was closed with, by either side.
fn close_code(connection: &quinn::Connection) -> Option<u64> {
    match connection.close_reason()? {
        quinn::ConnectionError::ApplicationClosed(close) => Some(close.error_code.into_inner()),
        quinn::ConnectionError::LocallyClosed => None,
        _ => None,
    }
}

/// A stream's error, with the code of the stream's reset or of the connection's close.
fn stream_error(connection: &quinn::Connection, error: h3::error::StreamError) -> ClientError {
    let code = match &error {
        h3::error::StreamError::RemoteTerminate { code, .. } => Some(code.value()),
        _ => close_code(connection),
    };
    ClientError::H3 { error, code }
}

/// The DATA frames of `stream` as a body; it ends with the stream, or at its first error.
fn body_of(stream: Stream, connection: quinn::Connection) -> ResponseBody {
    let frames = futures_util::stream::unfold(Some(stream), move |stream| {
        let connection = connection.clone();
        async move {
            let mut stream = stream?;
            match stream.recv_data().await {
                Ok(Some(mut data)) => {
                    let frame = Frame::data(data.copy_to_bytes(data.remaining()));
                    Some((Ok(frame), Some(stream)))
                }
                Ok(None) => None,
                Err(e) => Some((Err(stream_error(&connection, e)), None)),
            }
        }
    });
    StreamBody::new(frames).boxed_unsync()
}
