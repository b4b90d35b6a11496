//! A real client for each listener, written once and parameterized by [`Protocol`].
//!
//! [`ClientSpec`] says what the client speaks on the wire: TLS or not, the ALPN list it offers and
//! HTTP/1.1, HTTP/2 or HTTP/3 (QUIC, `h3`). [`ClientSpec::for_protocol`] is the right client for a
//! listener; tests that check refusals build a wrong one. TLS trusts only the server's certificate
//! and uses the `ring` provider; the server name is the listener's IP (the self-signed certificate
//! has IP SANs). Responses of every version have one body type ([`ResponseBody`]) and one error
//! type ([`ClientError`]), so a test reads them the same way on every arm.

mod h3;

pub use self::h3::{quic_connect, H3Stream};

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::{CertificateDer, ServerName};
use sse_server::{Protocol, Stats};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use vocab::Transport;

use crate::server::error_chain;
use crate::target::Endpoints;
use crate::{within, WAIT};

/// What a client speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    /// Run TLS (over TCP; HTTP/3 always runs it, inside QUIC).
    pub tls: bool,
    /// ALPN protocols offered in the TLS ClientHello (empty: no ALPN extension).
    pub alpn: Vec<Vec<u8>>,
    /// The HTTP version spoken.
    pub http: Http,
}

/// The HTTP version a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Http {
    /// HTTP/1.1 over TCP.
    H1,
    /// HTTP/2 over TCP (prior knowledge on cleartext).
    H2,
    /// HTTP/3 over QUIC.
    H3,
}

impl ClientSpec {
    /// The client a listener of `protocol` expects.
    pub fn for_protocol(protocol: Protocol) -> ClientSpec {
        let http = match (protocol.transport(), protocol.is_http2()) {
            (Transport::Udp, _) => Http::H3,
            (Transport::Tcp, true) => Http::H2,
            (Transport::Tcp, false) => Http::H1,
        };
        ClientSpec {
            tls: protocol.is_tls(),
            alpn: protocol
                .alpn()
                .map(|p| vec![p.to_vec()])
                .unwrap_or_default(),
            http,
        }
    }
}

/// Why a connection could not be set up.
#[derive(Debug)]
pub enum ConnectError {
    /// TCP connect or TLS handshake (or a QUIC endpoint that could not be made).
    Io(std::io::Error),
    /// hyper's handshake.
    Http(hyper::Error),
    /// The QUIC connection (its handshake included) failed.
    Quic(quinn::ConnectionError),
    /// HTTP/3 could not start on the QUIC connection.
    Http3(Box<::h3::error::ConnectionError>),
}

impl ConnectError {
    /// The TLS alert that ended a failed handshake, received over TCP (rustls's
    /// `AlertReceived`) or carried by QUIC's `CONNECTION_CLOSE` (`CRYPTO_ERROR`, 0x100 plus the
    /// alert, RFC 9001 §4.8).
    pub fn tls_alert(&self) -> Option<rustls::AlertDescription> {
        match self {
            ConnectError::Io(e) => match e.get_ref()?.downcast_ref::<rustls::Error>()? {
                rustls::Error::AlertReceived(alert) => Some(*alert),
                _ => None,
            },
            ConnectError::Quic(quinn::ConnectionError::ConnectionClosed(close)) => {
                let code = u64::from(close.error_code);
                let alert = code.checked_sub(0x100).filter(|a| *a <= 0xff)?;
                Some(rustls::AlertDescription::from(alert as u8))
            }
            _ => None,
        }
    }
}

/// Every response body: hyper's, or an HTTP/3 stream's DATA frames.
pub type ResponseBody = UnsyncBoxBody<Bytes, ClientError>;

/// Why a request or a response body failed.
#[derive(Debug)]
pub enum ClientError {
    /// HTTP/1.1 and HTTP/2 (hyper).
    Http(hyper::Error),
    /// An HTTP/3 request stream, with the HTTP/3 error code behind it: the stream's reset, or the
    /// connection's close (RFC 9114 §8.1).
    H3 {
        error: ::h3::error::StreamError,
        code: Option<u64>,
    },
    /// An HTTP/3 connection, with the code it was closed with.
    H3Connection {
        error: ::h3::error::ConnectionError,
        code: Option<u64>,
    },
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Http(_) => f.write_str("http request failed"),
            ClientError::H3 { code, .. } => {
                write!(f, "http/3 request stream failed ({})", h3_code_name(*code))
            }
            ClientError::H3Connection { code, .. } => {
                write!(f, "http/3 connection failed ({})", h3_code_name(*code))
            }
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Http(e) => Some(e),
            ClientError::H3 { error, .. } => Some(error),
            ClientError::H3Connection { error, .. } => Some(error),
        }
    }
}

impl From<hyper::Error> for ClientError {
    fn from(e: hyper::Error) -> Self {
        ClientError::Http(e)
    }
}

/// An HTTP/3 error code's name (`H3_NO_ERROR`), or "no code".
fn h3_code_name(code: Option<u64>) -> String {
    code.map_or_else(
        || "no code".to_owned(),
        |c| ::h3::error::Code::from(c).to_string(),
    )
}

#[derive(Debug)]
enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    H2(http2::SendRequest<Full<Bytes>>),
    H3(self::h3::H3Connection),
}

/// One client connection.
#[derive(Debug)]
pub struct TestClient {
    addr: SocketAddr,
    spec: ClientSpec,
    sender: Sender,
    /// The task driving the connection; aborted (closing the socket) when the client is dropped.
    connection: Option<JoinHandle<Result<(), ClientError>>>,
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
        if spec.http == Http::H3 {
            // QUIC binds a UDP socket of its own: `source` is for the TCP arms.
            let (h3, connection) = self::h3::connect(addr, cert, &spec.alpn).await?;
            return Ok(TestClient {
                addr,
                spec: spec.clone(),
                sender: Sender::H3(h3),
                connection: Some(connection),
            });
        }
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
        let (sender, connection) = if spec.http == Http::H2 {
            let (sender, conn) = within(
                WAIT,
                "h2 handshake",
                http2::handshake(TokioExecutor::new(), io),
            )
            .await
            .map_err(ConnectError::Http)?;
            let driven = async move { conn.await.map_err(ClientError::Http) };
            (Sender::H2(sender), tokio::spawn(driven))
        } else {
            let (sender, conn) = within(WAIT, "h1 handshake", http1::handshake(io))
                .await
                .map_err(ConnectError::Http)?;
            let driven = async move { conn.await.map_err(ClientError::Http) };
            (Sender::H1(sender), tokio::spawn(driven))
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
    ) -> Result<Response<ResponseBody>, ClientError> {
        let scheme = if self.spec.tls { "https" } else { "http" };
        let uri = match self.sender {
            Sender::H1(_) => path.to_owned(),
            Sender::H2(_) | Sender::H3(_) => format!("{scheme}://{}{path}", self.addr),
        };
        let mut builder = Request::builder().method(method).uri(uri);
        if let Sender::H1(_) = self.sender {
            builder = builder.header(http::header::HOST, self.addr.to_string());
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let boxed = |resp: Response<hyper::body::Incoming>| {
            resp.map(|body| body.map_err(ClientError::Http).boxed_unsync())
        };
        let send = async {
            match &mut self.sender {
                Sender::H1(s) => {
                    let request = builder.body(Full::new(body)).expect("a valid test request");
                    s.ready().await?;
                    Ok(boxed(s.send_request(request).await?))
                }
                Sender::H2(s) => {
                    let request = builder.body(Full::new(body)).expect("a valid test request");
                    s.ready().await?;
                    Ok(boxed(s.send_request(request).await?))
                }
                Sender::H3(h3) => {
                    let request = builder.body(()).expect("a valid test request");
                    h3.request(request, body).await
                }
            }
        };
        within(WAIT, "response headers", send).await
    }

    /// On HTTP/3: opens a request stream and sends the head of `method path` on it, leaving the
    /// stream to the test (a body that never ends, a response never read). It waits, as a
    /// browser does, while the server's stream limit allows no more. Panics on other versions.
    pub async fn h3_stream(&mut self, method: Method, path: &str) -> Result<H3Stream, ClientError> {
        let uri = format!("https://{}{path}", self.addr);
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .expect("a valid test request");
        match &mut self.sender {
            Sender::H3(h3) => h3.open(request).await,
            Sender::H1(_) | Sender::H2(_) => panic!("h3_stream on a {:?} client", self.spec.http),
        }
    }

    /// `GET path` with extra headers, panicking if no response arrives.
    pub async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Response<ResponseBody> {
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

    /// Waits for the connection to end and returns how it ended (on HTTP/3, `Ok` if the server
    /// closed it with `H3_NO_ERROR`).
    pub async fn closed(mut self) -> Result<(), ClientError> {
        let task = self
            .connection
            .take()
            .expect("the connection task is there until drop");
        let joined = within(WAIT, "connection end", task).await;
        joined.expect("the connection task does not panic")
    }
}

async fn read_text(resp: Response<ResponseBody>) -> (StatusCode, HeaderMap, String) {
    let (parts, body) = resp.into_parts();
    let bytes = within(WAIT, "response body", body.collect())
        .await
        .unwrap_or_else(|e| panic!("reading the body failed: {}", error_chain(&e)))
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).expect("a UTF-8 body");
    (parts.status, parts.headers, text)
}

/// The HTTP/2 error code behind a failed request (a stream reset or a GOAWAY), if any.
pub fn h2_reason(err: &ClientError) -> Option<h2::Reason> {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            return h2.reason();
        }
        source = s.source();
    }
    None
}

/// The HTTP/3 error code behind a failed request: the stream's reset, or the connection's close
/// (RFC 9114 §8.1), if any.
pub fn h3_code(err: &ClientError) -> Option<u64> {
    match err {
        ClientError::Http(_) => None,
        ClientError::H3 { code, .. } | ClientError::H3Connection { code, .. } => *code,
    }
}
