//! What can go wrong while a virtual client works, and which [`ErrorClass`] each failure is
//! counted under (h2's `Error::reason()` is the model): a refused TCP connect is not a stream
//! reset, a GOAWAY is not a timeout. A run never hides errors inside an average.
//!
//! A few failures make the rest of a point meaningless ([`Fatal`], by [`FatalKind`]): the point
//! stops and says why; what was measured before it stays in the report.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use vocab::{ErrorClass, Protocol};

/// An error of the load generator.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("invalid target {url:?}: {reason}")]
    InvalidTarget { url: String, reason: String },
    #[error(
        "target {host} is not on loopback: ssebench only sends traffic to 127.0.0.0/8 or ::1 \
         unless --allow-remote is given"
    )]
    NotLoopback { host: String },
    #[error("invalid TLS trust setting: {0}")]
    Trust(String),
    #[error("cannot connect to {addr}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("{what} to {addr} timed out after {after:?}")]
    Timeout {
        what: &'static str,
        addr: SocketAddr,
        after: Duration,
    },
    #[error("TLS handshake with {addr} failed{}", tls_hint(source))]
    Tls {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error(
        "protocol mismatch on {arm}: expected ALPN {expected:?}, the server negotiated {negotiated}"
    )]
    AlpnMismatch {
        arm: Protocol,
        expected: &'static str,
        negotiated: String,
    },
    #[error("HTTP/1.1 error")]
    Http1(#[source] hyper::Error),
    #[error("HTTP/2 error")]
    Http2(#[source] h2::Error),
    #[error("QUIC connection with {addr} failed{}", quic_hint(source))]
    Quic {
        addr: SocketAddr,
        #[source]
        source: quinn::ConnectionError,
    },
    #[error("HTTP/3 error")]
    Http3(#[source] h3::error::StreamError),
    #[error("HTTP/3 connection error")]
    Http3Connection(#[source] h3::error::ConnectionError),
    #[error("unexpected status {status} for {what}")]
    Status { what: &'static str, status: u16 },
    #[error("event stream has content type {got:?}, expected text/event-stream")]
    ContentType { got: String },
    #[error("malformed event stream")]
    Parse(#[source] sse_wire::ParseError),
    #[error("WebSocket error")]
    WebSocket(#[source] Box<tokio_tungstenite::tungstenite::Error>),
    #[error("WebSocket refused by the browser: a client has at most {max} at once")]
    WebSocketLimit { max: usize },
    #[error("the answer ended without its end marker")]
    AnswerTruncated,
    #[error("malformed answer")]
    AnswerChunk(#[source] sse_wire::answer::ChunkError),
    #[error("the server reported an error mid-answer: {message}")]
    AnswerError { message: String },
}

impl LoadError {
    /// The class this error is counted under.
    pub fn class(&self) -> ErrorClass {
        match self {
            LoadError::Connect { .. } => ErrorClass::Refused,
            LoadError::Timeout { .. } => ErrorClass::Timeout,
            LoadError::Tls { .. } => ErrorClass::Tls,
            LoadError::AlpnMismatch { .. } => ErrorClass::Protocol,
            LoadError::Http1(e) => classify_hyper(e),
            LoadError::Http2(e) => classify_h2(e),
            LoadError::Quic { source, .. } => classify_quic(source),
            LoadError::Http3(e) => classify_h3_stream(e),
            LoadError::Http3Connection(e) => classify_h3_connection(e),
            LoadError::Status { .. }
            | LoadError::ContentType { .. }
            | LoadError::AnswerError { .. } => ErrorClass::Status,
            LoadError::Parse(_) | LoadError::AnswerChunk(_) => ErrorClass::Parse,
            // The answer's body ended under it: to its reader, as a closed connection.
            LoadError::AnswerTruncated => ErrorClass::Reset,
            LoadError::WebSocket(e) => classify_websocket(e),
            LoadError::WebSocketLimit { .. } => ErrorClass::Refused,
            LoadError::InvalidTarget { .. }
            | LoadError::NotLoopback { .. }
            | LoadError::Trust(_) => ErrorClass::Protocol,
        }
    }

    /// Errors that make the whole run meaningless: it stops and says why.
    pub fn fatal_kind(&self) -> Option<FatalKind> {
        match self {
            LoadError::AlpnMismatch { .. } => Some(FatalKind::ProtocolMismatch),
            LoadError::InvalidTarget { .. }
            | LoadError::NotLoopback { .. }
            | LoadError::Trust(_) => Some(FatalKind::BadTarget),
            LoadError::Tls { source, .. } => tls_fatal_kind(source),
            LoadError::Quic { source, .. } => quic_fatal_kind(source),
            _ => None,
        }
    }
}

/// What stopped a point early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatalKind {
    /// The server negotiated another protocol than the arm pins.
    ProtocolMismatch,
    /// The target or its TLS trust cannot work (bad URL, certificate that does not verify).
    BadTarget,
    /// Every connect failed for `down_after`: the server is gone or was never there.
    TargetDown,
}

impl FatalKind {
    /// The failure class, as reports and messages name it.
    pub fn name(self) -> &'static str {
        match self {
            FatalKind::ProtocolMismatch => "protocol mismatch",
            FatalKind::BadTarget => "bad target",
            FatalKind::TargetDown => "target down",
        }
    }
}

impl std::fmt::Display for FatalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A reason that makes the rest of a point meaningless. The point stops and says why; what was
/// measured before it stays in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub kind: FatalKind,
    pub message: String,
}

/// `class: message`, e.g. `target down: every connect failed for 5.0 s (last: ...)`.
impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

fn classify_hyper(e: &hyper::Error) -> ErrorClass {
    if e.is_timeout() {
        return ErrorClass::Timeout;
    }
    // hyper wraps the h2 error when it drives HTTP/2; we drive h2 ourselves, but be safe.
    if let Some(h2e) = find_source::<h2::Error>(e) {
        return classify_h2(h2e);
    }
    ErrorClass::Reset
}

fn classify_h2(e: &h2::Error) -> ErrorClass {
    if e.is_go_away() {
        ErrorClass::GoAway
    } else if e.is_reset() {
        ErrorClass::RstStream
    } else {
        ErrorClass::Reset
    }
}

/// QUIC: a handshake that failed in TLS (an alert in the CRYPTO_ERROR range) is `tls`, a version
/// QUIC could not agree on is `protocol`, the idle timeout is `timeout`, and every other end of
/// the connection under a request (the peer's CONNECTION_CLOSE, a stateless reset) is `reset`.
/// QUIC needs no class of its own (`docs/measurement.md`, "Errors by class").
fn classify_quic(e: &quinn::ConnectionError) -> ErrorClass {
    use quinn::ConnectionError as E;
    if tls_alert(e).is_some() {
        return ErrorClass::Tls;
    }
    match e {
        E::TimedOut => ErrorClass::Timeout,
        E::VersionMismatch => ErrorClass::Protocol,
        _ => ErrorClass::Reset,
    }
}

/// A stream reset by the server (RESET_STREAM) is `rst_stream`, as on HTTP/2; a request refused
/// by a GOAWAY is `goaway`; the connection's end under it is classed as the connection's.
fn classify_h3_stream(e: &h3::error::StreamError) -> ErrorClass {
    use h3::error::StreamError as E;
    match e {
        E::RemoteTerminate { .. } => ErrorClass::RstStream,
        E::RemoteClosing { .. } => ErrorClass::GoAway,
        E::ConnectionError { 0: c, .. } => classify_h3_connection(c),
        _ => ErrorClass::Reset,
    }
}

fn classify_h3_connection(e: &h3::error::ConnectionError) -> ErrorClass {
    use h3::error::ConnectionError as E;
    use h3::quic::ConnectionErrorIncoming as In;
    match e {
        E::Timeout { .. } | E::Remote { 0: In::Timeout, .. } => ErrorClass::Timeout,
        E::Remote {
            0: In::Undefined(inner),
            ..
        } => inner
            .downcast_ref::<quinn::ConnectionError>()
            .map_or(ErrorClass::Reset, classify_quic),
        _ => ErrorClass::Reset,
    }
}

/// The TLS alert a QUIC handshake failed with: a CONNECTION_CLOSE in the CRYPTO_ERROR range
/// (0x100 + alert, RFC 9001 4.8), sent by either side.
fn tls_alert(e: &quinn::ConnectionError) -> Option<u8> {
    let code = match e {
        quinn::ConnectionError::TransportError(t) => t.code,
        quinn::ConnectionError::ConnectionClosed(c) => c.error_code,
        _ => return None,
    };
    u8::try_from(u64::from(code).checked_sub(0x100)?).ok()
}

/// QUIC failures the next attempt would meet again: the server refused ALPN `h3`
/// (`no_application_protocol`), a certificate did not verify, or no QUIC version was shared.
fn quic_fatal_kind(e: &quinn::ConnectionError) -> Option<FatalKind> {
    use rustls::AlertDescription as A;
    match e {
        quinn::ConnectionError::VersionMismatch => return Some(FatalKind::ProtocolMismatch),
        // Our own certificate check failed: rustls's error, as quinn keeps its text (the alert
        // it maps to varies: `BadSignature` is decrypt_error).
        quinn::ConnectionError::TransportError(t)
            if t.reason.starts_with("invalid peer certificate")
                || t.reason.starts_with("peer sent no certificates") =>
        {
            return Some(FatalKind::BadTarget)
        }
        _ => {}
    }
    match A::from(tls_alert(e)?) {
        A::NoApplicationProtocol => Some(FatalKind::ProtocolMismatch),
        A::BadCertificate
        | A::UnsupportedCertificate
        | A::CertificateRevoked
        | A::CertificateExpired
        | A::CertificateUnknown
        | A::UnknownCA
        | A::CertificateRequired => Some(FatalKind::BadTarget),
        _ => None,
    }
}

fn quic_hint(e: &quinn::ConnectionError) -> &'static str {
    match quic_fatal_kind(e) {
        Some(FatalKind::ProtocolMismatch) => {
            " (the server does not speak HTTP/3 over QUIC v1: it refused ALPN \"h3\" or the version)"
        }
        Some(FatalKind::BadTarget) => {
            " (the server's certificate does not verify: --cacert must name that certificate or the CA that \
             signed it, for the URL's host; --insecure skips the check)"
        }
        _ => "",
    }
}

fn classify_websocket(e: &tokio_tungstenite::tungstenite::Error) -> ErrorClass {
    use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
    match e {
        Error::ConnectionClosed
        | Error::AlreadyClosed
        | Error::Io(_)
        | Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => ErrorClass::Reset,
        Error::Capacity(_) | Error::Utf8(_) => ErrorClass::Parse,
        Error::Http(_) => ErrorClass::Status,
        Error::Tls(_) => ErrorClass::Tls,
        _ => ErrorClass::Protocol,
    }
}

fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// TLS failures that the next attempt would meet again: a certificate that does not verify, and a
/// server that refuses the arm's only ALPN protocol (`no_application_protocol`).
fn tls_fatal_kind(e: &io::Error) -> Option<FatalKind> {
    use rustls::{AlertDescription, Error};
    match e.get_ref()?.downcast_ref::<Error>()? {
        Error::InvalidCertificate(_) | Error::NoCertificatesPresented => Some(FatalKind::BadTarget),
        Error::AlertReceived(AlertDescription::NoApplicationProtocol) => {
            Some(FatalKind::ProtocolMismatch)
        }
        _ => None,
    }
}

fn tls_hint(e: &io::Error) -> &'static str {
    match tls_fatal_kind(e) {
        Some(FatalKind::ProtocolMismatch) => {
            " (the server does not speak the arm's protocol: it refused the only ALPN offered)"
        }
        Some(FatalKind::BadTarget) => {
            " (the server's certificate does not verify: --cacert must name that certificate or the CA that \
             signed it, for the URL's host; --insecure skips the check)"
        }
        _ => "",
    }
}
