//! A real client for each listener, written once and parameterized by [`Protocol`].
//!
//! [`ClientSpec`] says what the client speaks on the wire: TLS or not, the ALPN list it offers and
//! HTTP/1.1 or HTTP/2. [`ClientSpec::for_protocol`] is the right client for a listener; tests that
//! check refusals build a wrong one. TLS trusts only the server's certificate and uses the `ring`
//! provider; the server name is the listener's IP (the self-signed certificate has IP SANs).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::{CertificateDer, ServerName};
use sse_server::{Protocol, Stats};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::server::error_chain;
use crate::target::Endpoints;
use crate::{within, WAIT};

/// What a client speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    /// Run TLS over TCP.
    pub tls: bool,
    /// ALPN protocols offered in the TLS ClientHello (empty: no ALPN extension).
    pub alpn: Vec<Vec<u8>>,
    /// Speak HTTP/2 (prior knowledge on cleartext) rather than HTTP/1.1.
    pub http2: bool,
}

impl ClientSpec {
    /// The client a listener of `protocol` expects.
    pub fn for_protocol(protocol: Protocol) -> ClientSpec {
        ClientSpec {
            tls: protocol.is_tls(),
            alpn: protocol
                .alpn()
                .map(|p| vec![p.to_vec()])
                .unwrap_or_default(),
            http2: protocol.is_http2(),
        }
    }
}

/// Why a connection could not be set up.
#[derive(Debug)]
pub enum ConnectError {
    /// TCP connect or TLS handshake.
    Io(std::io::Error),
    /// hyper's handshake.
    Http(hyper::Error),
}

impl ConnectError {
    /// The rustls error behind a failed TLS handshake, such as
    /// `AlertReceived(NoApplicationProtocol)`.
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        match self {
            ConnectError::Io(e) => e.get_ref()?.downcast_ref::<rustls::Error>(),
            ConnectError::Http(_) => None,
        }
    }
}

#[derive(Debug)]
enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
}

/// One client connection.
#[derive(Debug)]
pub struct TestClient {
    addr: SocketAddr,
    spec: ClientSpec,
    sender: Sender,
    /// The task driving the connection; aborted (closing the socket) when the client is dropped.
    connection: Option<JoinHandle<Result<(), hyper::Error>>>,
}

impl Drop for TestClient {
    fn drop(&mut self) {
        if let Some(task) = &self.connection {
            task.abort();
        }
    }
}

/// Connects the right client to `server`'s `protocol` listener, panicking on failure.
pub async fn connect(server: &(impl Endpoints + ?Sized), protocol: Protocol) -> TestClient {
    let addr = listener_addr(server, protocol);
    let spec = ClientSpec::for_protocol(protocol);
    match TestClient::connect(addr, &spec, &server.cert()).await {
        Ok(client) => client,
        Err(e) => panic!("cannot connect to the {protocol} listener at {addr}: {e:?}"),
    }
}

/// The address of `server`'s `protocol` listener, panicking if it has none.
pub fn listener_addr(server: &(impl Endpoints + ?Sized), protocol: Protocol) -> SocketAddr {
    server.addr(protocol)
}

/// A rustls client configuration trusting only `cert`, offering `alpn`.
pub fn tls_client_config(cert: &CertificateDer<'static>, alpn: &[Vec<u8>]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(cert.clone())
        .expect("the server certificate is a valid trust anchor");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.to_vec();
    config
}

/// TCP (with `TCP_NODELAY`) and a TLS handshake offering `alpn`.
pub async fn tls_connect(
    addr: SocketAddr,
    cert: &CertificateDer<'static>,
    alpn: &[Vec<u8>],
) -> std::io::Result<TlsStream<TcpStream>> {
    tls_connect_from(None, addr, cert, alpn).await
}

/// [`tls_connect`] from the source address `source` (the kernel's choice when `None`).
pub async fn tls_connect_from(
    source: Option<IpAddr>,
    addr: SocketAddr,
    cert: &CertificateDer<'static>,
    alpn: &[Vec<u8>],
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = tcp_connect(source, addr).await?;
    let connector = TlsConnector::from(Arc::new(tls_client_config(cert, alpn)));
    let name = ServerName::IpAddress(addr.ip().into());
    within(WAIT, "tls handshake", connector.connect(name, tcp)).await
}

/// TCP (with `TCP_NODELAY`) to `addr`, from `source` if given (another loopback address, such as
/// 127.0.0.2, is another client address to the server).
pub async fn tcp_connect(source: Option<IpAddr>, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let connecting = async {
        let Some(source) = source else {
            return TcpStream::connect(addr).await;
        };
        let socket = match source {
            IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(SocketAddr::new(source, 0))?;
        socket.connect(addr).await
    };
    let tcp = within(WAIT, "tcp connect", connecting).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

impl TestClient {
    /// Connects a client that speaks `spec`.
    pub async fn connect(
        addr: SocketAddr,
        spec: &ClientSpec,
        cert: &CertificateDer<'static>,
    ) -> Result<TestClient, ConnectError> {
        Self::connect_from(None, addr, spec, cert).await
    }

    /// [`TestClient::connect`] from the source address `source`.
    pub async fn connect_from(
        source: Option<IpAddr>,
        addr: SocketAddr,
        spec: &ClientSpec,
        cert: &CertificateDer<'static>,
    ) -> Result<TestClient, ConnectError> {
        if spec.tls {
            let tls = tls_connect_from(source, addr, cert, &spec.alpn)
                .await
                .map_err(ConnectError::Io)?;
            Self::handshake(addr, spec, tls).await
        } else {
            let tcp = tcp_connect(source, addr).await.map_err(ConnectError::Io)?;
            Self::handshake(addr, spec, tcp).await
        }
    }

    async fn handshake<IO>(
        addr: SocketAddr,
        spec: &ClientSpec,
        io: IO,
    ) -> Result<TestClient, ConnectError>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(io);
        let (sender, connection) = if spec.http2 {
            let (sender, conn) = within(
                WAIT,
                "h2 handshake",
                http2::handshake(TokioExecutor::new(), io),
            )
            .await
            .map_err(ConnectError::Http)?;
            (Sender::H2(sender), tokio::spawn(conn))
        } else {
            let (sender, conn) = within(WAIT, "h1 handshake", http1::handshake(io))
                .await
                .map_err(ConnectError::Http)?;
            (Sender::H1(sender), tokio::spawn(conn))
        };
        Ok(TestClient {
            addr,
            spec: spec.clone(),
            sender,
            connection: Some(connection),
        })
    }

    /// Sends one request; the response's body is left to the caller.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response<Incoming>, hyper::Error> {
        let scheme = if self.spec.tls { "https" } else { "http" };
        let uri = match self.sender {
            Sender::H1(_) => path.to_owned(),
            Sender::H2(_) => format!("{scheme}://{}{path}", self.addr),
        };
        let mut builder = Request::builder().method(method).uri(uri);
        if let Sender::H1(_) = self.sender {
            builder = builder.header(http::header::HOST, self.addr.to_string());
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(Full::new(body)).expect("a valid test request");
        let send = async {
            match &mut self.sender {
                Sender::H1(s) => {
                    s.ready().await?;
                    s.send_request(request).await
                }
                Sender::H2(s) => {
                    s.ready().await?;
                    s.send_request(request).await
                }
            }
        };
        within(WAIT, "response headers", send).await
    }

    /// `GET path` with extra headers, panicking if no response arrives.
    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Response<Incoming> {
        self.request(Method::GET, path, headers, Bytes::new())
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {}", error_chain(&e)))
    }

    /// `GET path`, the whole body as text.
    pub async fn get_text(&mut self, path: &str) -> (StatusCode, HeaderMap, String) {
        let resp = self.get(path, &[]).await;
        read_text(resp).await
    }

    /// `POST path` with `body`: the status and the body as text.
    pub async fn post(&mut self, path: &str, body: impl Into<Bytes>) -> (StatusCode, String) {
        let resp = self
            .request(Method::POST, path, &[], body.into())
            .await
            .unwrap_or_else(|e| panic!("POST {path} failed: {}", error_chain(&e)));
        let (status, _, text) = read_text(resp).await;
        (status, text)
    }

    /// `GET /stats`, parsed.
    pub async fn stats(&mut self) -> Stats {
        let (status, _, body) = self.get_text("/stats").await;
        assert_eq!(status, StatusCode::OK, "GET /stats: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("bad /stats JSON ({e}): {body}"))
    }

    /// Whether the connection task has ended (the server closed the connection, or it failed).
    pub fn is_finished(&self) -> bool {
        self.connection.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the connection to end and returns how it ended.
    pub async fn closed(mut self) -> Result<(), hyper::Error> {
        let task = self
            .connection
            .take()
            .expect("the connection task is there until drop");
        let joined = within(WAIT, "connection end", task).await;
        joined.expect("the connection task does not panic")
    }
}

async fn read_text(resp: Response<Incoming>) -> (StatusCode, HeaderMap, String) {
    let (parts, body) = resp.into_parts();
    let bytes = within(WAIT, "response body", body.collect())
        .await
        .unwrap_or_else(|e| panic!("reading the body failed: {}", error_chain(&e)))
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).expect("a UTF-8 body");
    (parts.status, parts.headers, text)
}

/// The HTTP/2 error code behind a failed request (a stream reset or a GOAWAY), if any.
pub fn h2_reason(err: &hyper::Error) -> Option<h2::Reason> {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            return h2.reason();
        }
        source = s.source();
    }
    None
}
