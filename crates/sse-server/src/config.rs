//! What a server is started with. [`ServerConfig::default`] is a complete, working configuration:
//! all four listeners on `127.0.0.1:0` and the defaults documented on each field.
//! [`ServerConfig::validate`] rejects values the server cannot honour before anything is bound.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::ServerError;
use crate::faults::FaultConfig;
use crate::protocol::Protocol;

/// HTTP/2's smallest legal window (RFC 9113 §6.9.2) and the largest one (2^31 - 1).
const MIN_WINDOW: u32 = 65_535;
const MAX_WINDOW: u32 = (1 << 31) - 1;

/// The whole server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// One listener per protocol, each on its own address (port 0 picks a free port).
    pub listeners: Vec<(Protocol, SocketAddr)>,
    /// Where the TLS listeners' certificate comes from.
    pub tls: TlsSource,
    /// Settings the HTTP/2 listeners (`h2`, `h2c`) advertise.
    pub http2: Http2Settings,
    /// Defaults for `GET /events`; each can be overridden per request in the query string.
    pub events: EventDefaults,
    /// Largest `POST /messages` body accepted, in bytes (default 64 KiB); larger gets 413.
    pub max_body_bytes: usize,
    /// Messages kept per channel for `Last-Event-ID` replay (default 1024).
    pub replay_ring: usize,
    /// Events queued per subscriber before it counts as too slow and its stream is closed
    /// (default 1024).
    pub subscriber_queue: usize,
    /// Time allowed for a TLS handshake, for the first bytes on a cleartext connection, for an
    /// HTTP/1.1 request head and, on HTTP/2, from the accept to the first request (default 10 s).
    /// A connection over it is closed and counted in `timeouts`.
    pub header_read_timeout: Duration,
    /// How long a write to a connection may wait for the client to read (default 30 s). A
    /// connection over it is reset and counted in `write_timeouts`: a client that stopped reading
    /// would otherwise hold its buffers forever.
    pub write_stall_timeout: Duration,
    /// Connections open at once across all listeners (default 10 000). A connection over the
    /// limit is accepted, closed at once and counted as refused.
    pub max_connections: usize,
    /// Faults to inject (default: none). See [`FaultConfig`].
    pub faults: FaultConfig,
}

/// Where the certificate served by the TLS listeners comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsSource {
    /// A certificate generated at start for `localhost`, `127.0.0.1` and `::1`.
    #[default]
    SelfSigned,
    /// A PEM certificate chain (leaf first) and a PEM private key.
    Files { cert: PathBuf, key: PathBuf },
}

/// The HTTP/2 settings the server advertises.
///
/// The windows are the server's *receive* windows: they bound what a client may send before the
/// server reads it (POST bodies). They do not limit SSE data, which flows the other way under the
/// client's windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http2Settings {
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` (default 100, what Chrome assumes before SETTINGS arrive).
    pub max_concurrent_streams: u32,
    /// `SETTINGS_INITIAL_WINDOW_SIZE`, bytes (default 1 MiB, hyper's default).
    pub initial_stream_window: u32,
    /// Connection-level window, bytes (default 1 MiB, hyper's default).
    pub initial_connection_window: u32,
}

impl Default for Http2Settings {
    fn default() -> Self {
        Http2Settings {
            max_concurrent_streams: 100,
            initial_stream_window: 1024 * 1024,
            initial_connection_window: 1024 * 1024,
        }
    }
}

/// Defaults for each `GET /events` stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDefaults {
    /// Time between `tick` events (default 1 s; query `interval_ms`).
    pub interval: Duration,
    /// Bytes of data in each `tick` event (default 100; query `size`).
    pub size: usize,
    /// Time between `: hb` comments (default 15 s; query `heartbeat_ms`).
    pub heartbeat: Duration,
    /// The `retry:` value sent first, milliseconds (default 3000; query `retry_ms`).
    pub retry_ms: u64,
    /// Ticks after which the stream ends cleanly; `None` streams until the client leaves
    /// (query `count`).
    pub count: Option<u64>,
}

impl Default for EventDefaults {
    fn default() -> Self {
        EventDefaults {
            interval: Duration::from_secs(1),
            size: 100,
            heartbeat: Duration::from_secs(15),
            retry_ms: 3000,
            count: None,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        ServerConfig {
            listeners: Protocol::ALL.map(|p| (p, loopback)).to_vec(),
            tls: TlsSource::default(),
            http2: Http2Settings::default(),
            events: EventDefaults::default(),
            max_body_bytes: 64 * 1024,
            replay_ring: 1024,
            subscriber_queue: 1024,
            header_read_timeout: Duration::from_secs(10),
            write_stall_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            faults: FaultConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Checks every value the server cannot work with, naming the first bad one.
    pub fn validate(&self) -> Result<(), ServerError> {
        if self.listeners.is_empty() {
            return Err(invalid(
                "listeners",
                "[]",
                "at least one listener is needed",
            ));
        }
        for (i, (p, _)) in self.listeners.iter().enumerate() {
            if self.listeners[..i].iter().any(|(q, _)| q == p) {
                return Err(invalid(
                    "listeners",
                    p,
                    "each protocol may have one listener",
                ));
            }
        }
        let h2 = &self.http2;
        if h2.max_concurrent_streams == 0 {
            return Err(invalid("max_concurrent_streams", 0, "must be at least 1"));
        }
        for (key, value) in [
            ("initial_stream_window", h2.initial_stream_window),
            ("initial_connection_window", h2.initial_connection_window),
        ] {
            if !(MIN_WINDOW..=MAX_WINDOW).contains(&value) {
                return Err(invalid(key, value, "must be between 65535 and 2147483647"));
            }
        }
        let ev = &self.events;
        for (key, value) in [
            ("event interval", ev.interval),
            ("heartbeat", ev.heartbeat),
            ("header_read_timeout", self.header_read_timeout),
            ("write_stall_timeout", self.write_stall_timeout),
        ] {
            if value.is_zero() {
                return Err(invalid(key, "0s", "must be longer than zero"));
            }
        }
        if ev.count == Some(0) {
            return Err(invalid("event count", 0, "must be at least 1"));
        }
        for (key, value) in [
            ("replay_ring", self.replay_ring),
            ("subscriber_queue", self.subscriber_queue),
            ("max_connections", self.max_connections),
        ] {
            if value == 0 {
                return Err(invalid(key, 0, "must be at least 1"));
            }
        }
        self.faults.validate()
    }
}

fn invalid(key: &'static str, value: impl ToString, reason: &'static str) -> ServerError {
    ServerError::InvalidConfig {
        key,
        value: value.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_bad_values_are_named() {
        assert!(ServerConfig::default().validate().is_ok());
        let mut c = ServerConfig::default();
        c.http2.initial_stream_window = 10;
        let msg = c.validate().unwrap_err().to_string();
        assert!(
            msg.contains("initial_stream_window") && msg.contains("10"),
            "{msg}"
        );
        let mut c = ServerConfig::default();
        c.listeners.push(c.listeners[0]);
        assert!(c.validate().unwrap_err().to_string().contains("h1"));
    }
}
