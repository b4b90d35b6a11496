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
