//! What a server is started with. [`ServerConfig::default`] is a complete, working configuration:
//! a listener for every [`Protocol`] on `127.0.0.1:0` and the defaults documented on each field.
//! [`ServerConfig::validate`] rejects values the server cannot honour before anything is bound.
//!
//! Every default is a `DEFAULT_*` constant of this module and every range a `*_RANGE` or `MAX_*`
//! one, read by the `Default` impls, the validation, the query strings and the `server` command
//! line alike, so each is changed in one place.

mod answers;

use std::fmt::Display;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::ServerError;
use crate::faults::FaultConfig;
use vocab::Protocol;

pub use answers::{
    AnswerDefaults, Pace, DEFAULT_ANSWER_SEED, DEFAULT_ANSWER_TOKENS, DEFAULT_TIME_TO_FIRST_TOKEN,
    DEFAULT_TOKEN_GAP, MAX_ANSWER_TOKENS,
};

/// HTTP/2's windows: from the smallest legal one (RFC 9113 §6.9.2) to the largest (2^31 - 1).
pub const WINDOW_RANGE: RangeInclusive<u32> = 65_535..=(1 << 31) - 1;
/// [`ServerConfig::send_buffer_bytes`]: from the smallest hyper accepts (its HTTP/1.1 buffers
/// panic below 8 KiB) to a ceiling above which the cap would no longer bound anything useful.
pub const SEND_BUFFER_RANGE: RangeInclusive<usize> = 8 * 1024..=16 << 20;
/// [`ServerConfig::socket_send_buffer_bytes`] (`SO_SNDBUF`).
pub const SOCKET_SEND_BUFFER_RANGE: RangeInclusive<usize> = 4 * 1024..=64 << 20;

/// How long [`RunningServer::shutdown`](crate::RunningServer::shutdown) waits for connections to
/// finish before dropping them (and how long a connection may run on after its GOAWAY fault).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Default [`Http2Settings::max_concurrent_streams`]: what Chromium assumes before SETTINGS
/// arrive (docs/browsers.md, "HTTP/2 streams").
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Default [`ServerConfig::http3_max_streams`]: RFC 9114 §6.1 asks a server to permit at least
/// 100 request streams at a time.
pub const DEFAULT_HTTP3_MAX_STREAMS: u32 = 100;
/// Default HTTP/2 receive windows, stream and connection (hyper's default), bytes.
pub const DEFAULT_WINDOW: u32 = 1024 * 1024;
/// Default [`EventDefaults::interval`].
pub const DEFAULT_EVENT_INTERVAL: Duration = Duration::from_secs(1);
/// Default [`EventDefaults::size`], bytes.
pub const DEFAULT_EVENT_SIZE: usize = 100;
/// Default [`EventDefaults::heartbeat`].
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);
/// Default [`EventDefaults::retry_ms`].
pub const DEFAULT_RETRY_MS: u64 = 3000;
/// Default [`ServerConfig::max_body_bytes`].
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Default [`ServerConfig::replay_ring`].
pub const DEFAULT_REPLAY_RING: usize = 1024;
/// Default [`ServerConfig::subscriber_queue`].
pub const DEFAULT_SUBSCRIBER_QUEUE: usize = 1024;
/// Default [`ServerConfig::max_channels`].
pub const DEFAULT_MAX_CHANNELS: usize = 10_000;
/// Default [`ServerConfig::replay_budget_bytes`]: 64 MiB.
pub const DEFAULT_REPLAY_BUDGET_BYTES: usize = 64 << 20;
/// Default [`ServerConfig::channel_idle_timeout`].
pub const DEFAULT_CHANNEL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ServerConfig::send_buffer_bytes`]: 64 KiB.
pub const DEFAULT_SEND_BUFFER_BYTES: usize = 64 * 1024;
/// The size of the default [`ServerConfig::socket_send_buffer_bytes`]: 256 KiB (512 KiB of
/// kernel memory, as Linux doubles it), plenty for loopback and LAN clients.
pub const DEFAULT_SOCKET_SEND_BUFFER_SIZE: usize = 256 * 1024;
/// Default [`ServerConfig::socket_send_buffer_bytes`].
pub const DEFAULT_SOCKET_SEND_BUFFER_BYTES: Option<usize> = Some(DEFAULT_SOCKET_SEND_BUFFER_SIZE);
/// Default [`ServerConfig::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ServerConfig::body_read_timeout`].
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ServerConfig::body_total_timeout`].
pub const DEFAULT_BODY_TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ServerConfig::write_stall_timeout`].
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ServerConfig::http2_idle_timeout`].
pub const DEFAULT_HTTP2_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ServerConfig::http2_keepalive_interval`].
pub const DEFAULT_HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// Default [`ServerConfig::http2_keepalive_timeout`].
pub const DEFAULT_HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// quinn's send window, what [`ServerConfig::socket_send_buffer_bytes`] `None` leaves an HTTP/3
/// connection: 8 times quinn's 1.25 MB stream window.
pub const QUIC_DEFAULT_SEND_WINDOW: u64 = 10_000_000;
/// The receive windows of the HTTP/3 listener, per request stream and per connection, bytes: what
/// a client may send before the server reads it (request bodies), as HTTP/2's default windows.
pub const QUIC_RECEIVE_WINDOW: u32 = DEFAULT_WINDOW;
/// Default [`ServerConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default [`ServerConfig::connection_share_per_address`]: a tenth of the default
/// `max_connections`.
pub const DEFAULT_CONNECTION_SHARE_PER_ADDRESS: usize = 1_000;
/// Default [`ServerConfig::websocket_idle_timeout`].
pub const DEFAULT_WEBSOCKET_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ServerConfig::connection_queue_bytes`]: 8 MiB, 128 messages of the largest body.
pub const DEFAULT_CONNECTION_QUEUE_BYTES: usize = 8 << 20;
/// Default [`ServerConfig::max_channels_per_address`]: a tenth of the default `max_channels`.
pub const DEFAULT_MAX_CHANNELS_PER_ADDRESS: usize = 1_000;
/// Default [`ServerConfig::max_replay_bytes`]: 1 MiB.
pub const DEFAULT_MAX_REPLAY_BYTES: usize = 1 << 20;
/// Default [`ServerConfig::max_concurrent_replays`].
pub const DEFAULT_MAX_CONCURRENT_REPLAYS: usize = 16;
/// How long an HTTP/2 event stream whose subscriber queue overflowed may take to end by itself
/// (it does as soon as hyper asks it for data) before it is reset: one that waits for a window
/// the client never opens would otherwise hold its queue for as long as its connection lives.
pub const OVERFLOW_GRACE: Duration = Duration::from_secs(1);

/// Largest `interval_ms`, `heartbeat_ms` and `retry_ms` a client may ask for, and largest event
/// default: one day.
pub const MAX_PERIOD_MS: u64 = 24 * 60 * 60 * 1000;
/// Largest tick `size` a client may ask for, in bytes.
pub const MAX_TICK_SIZE: usize = 1 << 20;
/// Largest tick `count`.
pub const MAX_COUNT: u64 = 1_000_000_000;
/// Longest channel name, in bytes.
pub const MAX_CHANNEL_LEN: usize = 256;
/// Largest tick sequence number a `Last-Event-ID` may resume from: 2^53 - 1, the largest integer
/// a JavaScript number holds exactly, so that tick ids never wrap.
pub const MAX_RESUME_SEQ: u64 = (1 << 53) - 1;

/// The whole server configuration.
///
/// # Memory the server keeps
///
/// The budget it can state, beyond a few MiB of its own:
/// - replayable messages: at most `replay_budget_bytes` over all channels (each message counted
///   as its encoded event plus a fixed overhead), in at most `max_channels` channels; a channel
///   with no subscriber and no message for `channel_idle_timeout` is evicted with its ring;
/// - per connection: at most `connection_queue_bytes` of messages waiting in its subscribers'
///   queues (each message counted once however many of its streams wait for it), and at most
///   `subscriber_queue` messages per subscriber; nearly always the same messages the ring holds
///   (they are shared, not copied);
/// - per reconnect: a replay is read from the ring as the client takes it, never copied out in
///   advance; at most `max_concurrent_replays` run at once, each of at most `max_replay_bytes`;
/// - per connection: what hyper buffers for writing, at most about `send_buffer_bytes` per
///   HTTP/1.1 connection or per HTTP/2 stream (event streams are cut into frames of at most
///   16 KiB, and tick padding is shared static memory, so the size of a tick does not matter);
///   rustls buffers at most 64 KiB of records per TLS connection; the kernel's socket buffers come
///   on top, outside the process: twice `socket_send_buffer_bytes` on the send side;
/// - per HTTP/3 connection: at most `socket_send_buffer_bytes` of response data in quinn (its send
///   window), and at most [`QUIC_RECEIVE_WINDOW`] of request data per stream and per connection.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// One listener per protocol, each on its own address (port 0 picks a free port).
    pub listeners: Vec<(Protocol, SocketAddr)>,
    /// Where the TLS listeners' certificate comes from.
    pub tls: TlsSource,
    /// Settings the HTTP/2 listeners (`h2`, `h2c`) advertise.
    pub http2: Http2Settings,
    /// The bidirectional streams the HTTP/3 listener lets a client have open at once: QUIC's
    /// `initial_max_streams_bidi`, with one more granted (`MAX_STREAMS`) for each stream that
    /// ends, so a limit on open request streams as `max_concurrent_streams` is on HTTP/2
    /// (default 100). A client that wants more waits for a stream to end.
    pub http3_max_streams: u32,
    /// Defaults for `GET /events`; each can be overridden per request in the query string.
    pub events: EventDefaults,
    /// How streamed answers (`POST /v1/chat/completions`, `POST /v1/messages`) are paced; a request may override them.
    pub answers: AnswerDefaults,
    /// Largest `POST /messages` body accepted, in bytes (default 64 KiB); larger gets 413.
    pub max_body_bytes: usize,
    /// Messages kept per channel for `Last-Event-ID` replay (default 1024).
    pub replay_ring: usize,
    /// Events queued per subscriber before it counts as too slow and its stream is closed
    /// (default 1024), counted in `overflows`. An HTTP/2 stream that has not ended by itself
    /// [`OVERFLOW_GRACE`] later (it waits for a window the client keeps shut) is reset
    /// (RST_STREAM CANCEL), counted in `stream_overflow_resets`.
    pub subscriber_queue: usize,
    /// Bytes of messages one connection's subscribers may have queued together, each message
    /// counted once (default 8 MiB): a message that would take the connection over it overflows
    /// that subscriber as a full queue does, counted in `overflows` and
    /// `connection_queue_overflows`. It bounds what a connection's stalled streams hold, however
    /// many it opens.
    pub connection_queue_bytes: usize,
    /// Channels that may exist at once (default 10 000). A request that would create one more
    /// first displaces the least recently active channel that has no subscriber (with its ring,
    /// counted in `channels_displaced`); if none of those it samples has none, it gets 503,
    /// counted in `channel_limit_refusals`.
    pub max_channels: usize,
    /// Channels one client address (an IPv6 client: its /64) may have created and still exist
    /// (default 1 000). A request from that address that would create one more gets 503 naming
    /// this limit, counted in `channel_share_refusals`.
    pub max_channels_per_address: usize,
    /// Bytes of replayable messages kept over all channels (default 64 MiB). A message that does
    /// not fit makes room by dropping its own channel's oldest messages, then by displacing the
    /// least recently active channels that have no subscriber (`channels_displaced`); if that is
    /// not enough it gets 503, counted in `replay_budget_refusals`.
    pub replay_budget_bytes: usize,
    /// Bytes of missed messages one reconnect (`Last-Event-ID`) is replayed (default 1 MiB): the
    /// newest that fit; the older ones are reported in a `replay-gap` event, counted in
    /// `replays_truncated`.
    pub max_replay_bytes: usize,
    /// Replays that run at once (default 16). A reconnect that finds them all running waits for
    /// one to finish before its own replay begins (its live messages queue meanwhile), counted in
    /// `replays_waited`.
    pub max_concurrent_replays: usize,
    /// A channel with no subscriber and no new message for this long is evicted with its replay
    /// ring (default 60 s), counted in `channels_evicted`. A client that comes back later starts
    /// on a fresh channel: its ids start at 1 again.
    pub channel_idle_timeout: Duration,
    /// Response bytes hyper may buffer per HTTP/1.1 connection and per HTTP/2 stream before the
    /// server stops producing more for it (default 64 KiB, at least 8 KiB). (HTTP/3's output is
    /// bounded per connection, by `socket_send_buffer_bytes`.)
    pub send_buffer_bytes: usize,
    /// `SO_SNDBUF` of every accepted socket (set on the listening sockets, which the accepted ones
    /// inherit): default 256 KiB; `None` leaves the size to the kernel's autotuning. A fixed size
    /// bounds the kernel memory a client that stops reading costs and the bytes written for it
    /// before its socket blocks (crates/sse-server/FINDINGS.md, "Slow readers"). Linux doubles
    /// the value for its bookkeeping. A client far away with a fast link may want more (a window
    /// is at most this much per round trip). The HTTP/3 listener's one UDP socket is left alone:
    /// there the size is each connection's QUIC send window, the response bytes quinn keeps for
    /// it (written and not yet sent, or sent and not yet acknowledged), and `None` is quinn's own
    /// default ([`QUIC_DEFAULT_SEND_WINDOW`]).
    pub socket_send_buffer_bytes: Option<usize>,
    /// Time allowed for a TLS handshake, for the first bytes on a cleartext connection, for an
    /// HTTP/1.1 request head (including the wait for the next request on a kept-alive
    /// connection) and, on HTTP/2, from the accept to the first request; on HTTP/3, from the
    /// client's first packet through the QUIC handshake to its first request, and for each
    /// request stream's head (default 10 s).
    /// A connection over it is closed and counted in `timeouts`.
    pub header_read_timeout: Duration,
    /// How long a request body may go without delivering a byte (default 10 s). The request gets
    /// 408 and is counted in `body_read_timeouts`; HTTP/1.1 then closes the connection, HTTP/2
    /// resets the stream, HTTP/3 stops reading it (STOP_SENDING).
    pub body_read_timeout: Duration,
    /// How long a whole request body may take (default 30 s); over it, as for
    /// `body_read_timeout`, counted in `body_total_timeouts`.
    pub body_total_timeout: Duration,
    /// How long output may wait for the client to take it (default 30 s): a write waiting for
    /// the socket (counted in `write_timeouts`), or, on HTTP/2, an event stream waiting for the
    /// client's flow-control window while nothing else on the connection moves (counted in
    /// `window_timeouts`), or, on HTTP/3, an event stream waiting for QUIC to take its data (the
    /// client's flow-control windows, or a congestion window a client that stopped acknowledging
    /// keeps shut) while nothing else on the connection moves (also `window_timeouts`). The
    /// connection is then reset (HTTP/3: closed at once): a client that stopped reading would
    /// otherwise hold its buffers forever.
    pub write_stall_timeout: Duration,
    /// An HTTP/2 or HTTP/3 connection with no request in flight for this long gets GOAWAY and is
    /// closed (default 60 s), counted in `idle_timeouts`.
    pub http2_idle_timeout: Duration,
    /// How often an HTTP/2 connection that has been silent is sent a PING (default 20 s); `None`
    /// sends none. HTTP/3 sends QUIC PINGs as often.
    pub http2_keepalive_interval: Option<Duration>,
    /// How long a PING may wait for its acknowledgement before the connection is closed as dead
    /// (default 20 s), counted in `keepalive_timeouts`. On HTTP/3 a peer from which nothing has
    /// arrived for the interval plus this timeout is dropped (QUIC's `max_idle_timeout`, also
    /// `keepalive_timeouts`); without PINGs, for `http2_idle_timeout`.
    pub http2_keepalive_timeout: Duration,
    /// Connections open at once across all listeners (default 10 000). A connection over the
    /// limit first reclaims the slot of a connection that has made no progress for a while
    /// (`connections_reclaimed`; a WebSocket that has not answered the server's first ping counts
    /// as having done nothing useful yet); then, from a client address holding more than
    /// `connection_share_per_address`, the one that has been silent longest, live or not
    /// (`connections_reclaimed_over_share`); if there is none, it is accepted, closed at once and
    /// counted as refused.
    pub max_connections: usize,
    /// The slots one client address (an IPv6 client: its /64) keeps once the server is full
    /// (default 1 000): a newcomer from another address may take the slot of one of its
    /// connections beyond that, and a newcomer from an address at its share may only reclaim its
    /// own address's slots. Below `max_connections` nobody is held to it.
    pub connection_share_per_address: usize,
    /// A WebSocket from whose client nothing has arrived (no message, no pong to the server's
    /// pings) for this long is closed with 1008 (default 60 s), counted in
    /// `websocket_idle_timeouts`. The server pings a socket once it has been silent for half of
    /// it, so a live client always has the chance to answer.
    pub websocket_idle_timeout: Duration,
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
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            initial_stream_window: DEFAULT_WINDOW,
            initial_connection_window: DEFAULT_WINDOW,
        }
    }
}

/// Defaults for each `GET /events` stream, within the ranges a query string may ask for
/// ([`MAX_PERIOD_MS`], [`MAX_TICK_SIZE`], [`MAX_COUNT`]).
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
            interval: DEFAULT_EVENT_INTERVAL,
            size: DEFAULT_EVENT_SIZE,
            heartbeat: DEFAULT_HEARTBEAT,
            retry_ms: DEFAULT_RETRY_MS,
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
            http3_max_streams: DEFAULT_HTTP3_MAX_STREAMS,
            events: EventDefaults::default(),
            answers: AnswerDefaults::default(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            replay_ring: DEFAULT_REPLAY_RING,
            subscriber_queue: DEFAULT_SUBSCRIBER_QUEUE,
            connection_queue_bytes: DEFAULT_CONNECTION_QUEUE_BYTES,
            max_channels: DEFAULT_MAX_CHANNELS,
            max_channels_per_address: DEFAULT_MAX_CHANNELS_PER_ADDRESS,
            replay_budget_bytes: DEFAULT_REPLAY_BUDGET_BYTES,
            max_replay_bytes: DEFAULT_MAX_REPLAY_BYTES,
            max_concurrent_replays: DEFAULT_MAX_CONCURRENT_REPLAYS,
            channel_idle_timeout: DEFAULT_CHANNEL_IDLE_TIMEOUT,
            send_buffer_bytes: DEFAULT_SEND_BUFFER_BYTES,
            socket_send_buffer_bytes: DEFAULT_SOCKET_SEND_BUFFER_BYTES,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            body_total_timeout: DEFAULT_BODY_TOTAL_TIMEOUT,
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
            http2_idle_timeout: DEFAULT_HTTP2_IDLE_TIMEOUT,
            http2_keepalive_interval: Some(DEFAULT_HTTP2_KEEPALIVE_INTERVAL),
            http2_keepalive_timeout: DEFAULT_HTTP2_KEEPALIVE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            connection_share_per_address: DEFAULT_CONNECTION_SHARE_PER_ADDRESS,
            websocket_idle_timeout: DEFAULT_WEBSOCKET_IDLE_TIMEOUT,
            faults: FaultConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Checks every value the server cannot work with, naming the first bad one.
    pub fn validate(&self) -> Result<(), ServerError> {
        if self.listeners.is_empty() {
            return Err(ServerError::invalid(
                "listeners",
                "[]",
                "at least one listener is needed",
            ));
        }
        for (i, (p, _)) in self.listeners.iter().enumerate() {
            if self.listeners[..i].iter().any(|(q, _)| q == p) {
                return Err(ServerError::invalid(
                    "listeners",
                    p,
                    "each protocol may have one listener",
                ));
            }
        }
        let h2 = &self.http2;
        for (key, value) in [
            ("max_concurrent_streams", h2.max_concurrent_streams),
            ("http3_max_streams", self.http3_max_streams),
        ] {
            if value == 0 {
                return Err(ServerError::invalid(key, 0, "must be at least 1"));
            }
        }
        for (key, value) in [
            ("initial_stream_window", h2.initial_stream_window),
            ("initial_connection_window", h2.initial_connection_window),
        ] {
            within(key, value, WINDOW_RANGE)?;
        }
        for (key, value) in [
            ("header_read_timeout", self.header_read_timeout),
            ("body_read_timeout", self.body_read_timeout),
            ("body_total_timeout", self.body_total_timeout),
            ("write_stall_timeout", self.write_stall_timeout),
            ("http2_idle_timeout", self.http2_idle_timeout),
            ("http2_keepalive_timeout", self.http2_keepalive_timeout),
            ("channel_idle_timeout", self.channel_idle_timeout),
            ("websocket_idle_timeout", self.websocket_idle_timeout),
        ] {
            if value.is_zero() {
                return Err(ServerError::invalid(key, "0s", "must be longer than zero"));
            }
        }
        if self.http2_keepalive_interval.is_some_and(|d| d.is_zero()) {
            return Err(ServerError::invalid(
                "http2_keepalive_interval",
                "0s",
                "must be longer than zero (None sends no PING)",
            ));
        }
        self.validate_events()?;
        self.answers.validate()?;
        for (key, value) in [
            ("replay_ring", self.replay_ring),
            ("subscriber_queue", self.subscriber_queue),
            ("max_connections", self.max_connections),
            ("max_channels", self.max_channels),
            ("replay_budget_bytes", self.replay_budget_bytes),
            ("connection_queue_bytes", self.connection_queue_bytes),
            (
                "connection_share_per_address",
                self.connection_share_per_address,
            ),
            ("max_channels_per_address", self.max_channels_per_address),
            ("max_replay_bytes", self.max_replay_bytes),
            ("max_concurrent_replays", self.max_concurrent_replays),
        ] {
            if value == 0 {
                return Err(ServerError::invalid(key, 0, "must be at least 1"));
            }
        }
        within(
            "send_buffer_bytes",
            self.send_buffer_bytes,
            SEND_BUFFER_RANGE,
        )?;
        if let Some(size) = self.socket_send_buffer_bytes {
            within("socket_send_buffer_bytes", size, SOCKET_SEND_BUFFER_RANGE)?;
        }
        self.faults.validate()
    }

    /// The event defaults must keep to the ranges a query string may ask for.
    fn validate_events(&self) -> Result<(), ServerError> {
        let ev = &self.events;
        let max_period = Duration::from_millis(MAX_PERIOD_MS);
        for (key, value) in [("event interval", ev.interval), ("heartbeat", ev.heartbeat)] {
            if value.is_zero() || value > max_period {
                let longest = humantime::format_duration(max_period);
                let reason = format!("must be 1ms to {longest}");
                return Err(ServerError::invalid(key, format!("{value:?}"), reason));
            }
        }
        within("retry_ms", ev.retry_ms, 0..=MAX_PERIOD_MS)?;
        within("event size", ev.size, 0..=MAX_TICK_SIZE)?;
        if let Some(count) = ev.count {
            within("event count", count, 1..=MAX_COUNT)?;
        }
        Ok(())
    }
}

/// Whether `value` of `key` is within `range`; the error names the key, the value and the range.
fn within<T: PartialOrd + Display>(
    key: &'static str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), ServerError> {
    if range.contains(&value) {
        return Ok(());
    }
    let reason = format!("must be between {} and {}", range.start(), range.end());
    Err(ServerError::invalid(key, value, reason))
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
        assert!(msg.contains(&WINDOW_RANGE.end().to_string()), "{msg}");
        let mut c = ServerConfig::default();
        c.listeners.push(c.listeners[0]);
        assert!(c.validate().unwrap_err().to_string().contains("h1"));
        let c = ServerConfig {
            http3_max_streams: 0,
            ..ServerConfig::default()
        };
        let msg = c.validate().unwrap_err().to_string();
        assert!(msg.contains("http3_max_streams"), "{msg}");
        let mut c = ServerConfig::default();
        c.events.retry_ms = u64::MAX;
        assert!(c.validate().unwrap_err().to_string().contains("retry_ms"));
        let c = ServerConfig {
            send_buffer_bytes: 100,
            ..ServerConfig::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("send_buffer_bytes"));
        let mut c = ServerConfig {
            http2_keepalive_interval: Some(Duration::ZERO),
            ..ServerConfig::default()
        };
        assert!(c.validate().is_err());
        c.http2_keepalive_interval = None;
        assert!(c.validate().is_ok());
        c.socket_send_buffer_bytes = Some(100);
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("socket_send_buffer_bytes"));
    }
}
