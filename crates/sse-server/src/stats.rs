//! Counters, and the snapshot served as `GET /stats`.
//!
//! Each listener owns a `ListenerCounters` of relaxed atomics, updated on the hot path without a
//! lock. A [`Stats`] snapshot reads them one by one, so it is not an atomic picture of the whole
//! server, only of each counter.
//!
//! `connections_accepted - connections_carrying_requests` are the sockets that never carried a
//! request: browsers' speculative connections, refused clients and idle timeouts (see
//! docs/browsers.md, "Connections counted").

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use vocab::Protocol;

/// A snapshot of the whole server, as returned by `GET /stats` and [`crate::RunningServer::stats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// One entry per listener, in the order they were configured.
    pub listeners: Vec<ListenerStats>,
    /// Channels that currently exist (have a subscriber or a message in their ring).
    pub channels: u64,
    /// Messages accepted by `POST /messages` since start, all channels.
    pub messages: u64,
    /// Event streams subscribed right now, all channels.
    pub subscribers: u64,
    /// Channels evicted with their replay ring after the channel idle timeout, since start.
    pub channels_evicted: u64,
    /// Bytes the replay rings of all channels hold now (each message counted as its encoded
    /// event plus a fixed overhead).
    pub replay_bytes: u64,
    /// The most `replay_bytes` may reach (`replay_budget_bytes`).
    pub replay_budget_bytes: u64,
    /// Channels displaced (evicted with their ring before their idle timeout) to make room for a
    /// new channel or message when `max_channels` or the replay budget was reached, since start.
    /// (This and the next two read as 0 from a server that has none.)
    #[serde(default)]
    pub channels_displaced: u64,
    /// Bytes of messages waiting in subscribers' queues now, each message counted once per
    /// connection (what `connection_queue_bytes` bounds per connection).
    #[serde(default)]
    pub queued_bytes: u64,
    /// Replays (`Last-Event-ID`) running now (at most `max_concurrent_replays`).
    #[serde(default)]
    pub replays_active: u64,
}

/// Defines [`ListenerStats`] and `ListenerCounters` from one list of counter names, so that a
/// counter is named once: a `u64` in the snapshot, an atomic in the live counters.
macro_rules! listener_counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// One listener's counters. Totals count since start; `_open` values are current.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct ListenerStats {
            pub protocol: Protocol,
            pub address: SocketAddr,
            // A counter an older server does not have reads as 0.
            $($(#[$doc])* #[serde(default)] pub $name: u64,)*
        }

        /// The live counters of one listener.
        #[derive(Debug)]
        pub(crate) struct ListenerCounters {
            pub(crate) protocol: Protocol,
            pub(crate) address: SocketAddr,
            $(pub(crate) $name: AtomicU64,)*
        }

        impl ListenerCounters {
            pub(crate) fn new(protocol: Protocol, address: SocketAddr) -> Self {
                ListenerCounters {
                    protocol,
                    address,
                    $($name: AtomicU64::new(0),)*
                }
            }

            pub(crate) fn snapshot(&self) -> ListenerStats {
                ListenerStats {
                    protocol: self.protocol,
                    address: self.address,
                    $($name: self.$name.load(Ordering::Relaxed),)*
                }
            }
        }
    };
}

listener_counters! {
    /// Sockets accepted, including the ones refused or closed later (on `h3`: QUIC connections,
    /// counted at their first packet; docs/measurement.md, "Connections on QUIC").
    connections_accepted,
    /// Sockets open now.
    connections_open,
    /// Connections that carried at least one request.
    connections_carrying_requests,
    /// Connections refused: wrong ALPN, wrong preface, no ALPN on `h2` and `h3`, over
    /// `max_connections` with no connection to reclaim.
    connections_refused,
    /// Connections closed to make room for a new one at `max_connections`, because they had made
    /// no progress for a while (counted on the closed connection's listener).
    connections_reclaimed,
    /// Connections closed to make room for a newcomer from another client address at
    /// `max_connections`, because their address held more than `connection_share_per_address`
    /// (counted on the closed connection's listener).
    connections_reclaimed_over_share,
    /// TLS connections whose client offered no ALPN (served on `h1-tls`, refused on `h2`; on `h3`
    /// the QUIC handshake itself fails, counted as refused only).
    alpn_none,
    /// Connections closed because the TLS handshake, the first bytes, an HTTP/1.1 request head or
    /// an HTTP/2 or HTTP/3 connection's first request (on HTTP/3, its QUIC handshake too) did not
    /// arrive within the header timeout.
    timeouts,
    /// Connections reset because a write waited longer than the write stall timeout (the client
    /// stopped reading).
    write_timeouts,
    /// HTTP/2 connections reset because their event streams waited longer than the write stall
    /// timeout for the client's flow-control window, with nothing else moving (a zero window);
    /// HTTP/3 connections closed because QUIC took none of their data for as long.
    window_timeouts,
    /// HTTP/2 and HTTP/3 connections closed (GOAWAY) after `http2_idle_timeout` without a request
    /// in flight.
    idle_timeouts,
    /// HTTP/2 connections closed because a keep-alive PING was not answered in time; HTTP/3
    /// connections QUIC dropped because nothing arrived from the peer for its idle timeout.
    keepalive_timeouts,
    /// HTTP/2 event streams reset (RST_STREAM) because they waited longer than the write stall
    /// timeout for their window while other streams of their connection moved.
    stream_window_timeouts,
    /// HTTP/2 event streams reset (RST_STREAM) because their subscriber queue had overflowed and
    /// they had not ended by themselves within the overflow grace (they wait for a window).
    stream_overflow_resets,
    /// WebSockets closed because nothing (no message, no pong) arrived from the client for
    /// `websocket_idle_timeout`.
    websocket_idle_timeouts,
    /// TLS handshakes that failed for a reason other than ALPN (bad record, unknown CA, ...; on
    /// `h3` any QUIC handshake that failed with an error).
    tls_errors,
    /// Requests received.
    requests,
    /// `GET /events` streams open now.
    streams_open,
    /// Events written into event streams: ticks, messages (live and replayed) and replay gaps.
    /// Heartbeat comments and `retry:` lines are not events. On a WebSocket, each tick and
    /// message sent is one event (pings are not).
    events_sent,
    /// `message` events written into event streams, and channel messages sent on WebSockets (a
    /// subset of `events_sent`).
    messages_sent,
    /// Streams closed because their subscriber queue was full (event streams and WebSockets), or
    /// their connection's queues held `connection_queue_bytes`.
    overflows,
    /// Of `overflows`, those because the connection's queues held `connection_queue_bytes`.
    connection_queue_overflows,
    /// WebSockets open now (`GET /ws` upgraded, on the `ws` and `wss` listeners).
    websockets_open,
    /// Text messages received on WebSockets and published to their channel.
    websocket_messages_received,
    /// Streamed answers (`POST /v1/chat/completions`, `POST /v1/messages`) writing now.
    answers_open,
    /// Streamed answers written to their end (`data: [DONE]`, `message_stop`).
    answers_done,
    /// Injected faults (see [`crate::FaultConfig`]): event streams ended by
    /// the `close_streams` fault, and answers failed by `answer_reset_after`.
    faults_streams_closed,
    /// Connections aborted by `reset_connections_every`.
    faults_connections_reset,
    /// HTTP/2 and HTTP/3 connections sent a GOAWAY by `goaway_every`.
    faults_goaways,
    /// Stalls of an event stream by the `stall` fault, and of an answer by `answer_stall`.
    faults_stalls,
    /// Requests answered 503 by `post_error_every_nth` or `stream_error_every_nth`.
    faults_errors,
    /// Frames, POSTs, first tokens and TLS handshakes held back by the `delay_events`,
    /// `delay_posts`, `slow_first_token` and `delay_tls_handshake` faults.
    faults_delayed,
    /// Ticks made and not written by the `drop_ticks_every_nth` fault.
    faults_ticks_dropped,
    /// Requests answered 408 because their body sent nothing for `body_read_timeout`.
    body_read_timeouts,
    /// Requests answered 408 because their body was not complete within `body_total_timeout`.
    body_total_timeouts,
    /// Requests answered 503 because they would have created a channel beyond `max_channels`.
    channel_limit_refusals,
    /// Requests answered 503 because their client address had created
    /// `max_channels_per_address` channels that still exist.
    channel_share_refusals,
    /// Reconnects whose replay was cut to `max_replay_bytes` (the rest reported as a gap).
    replays_truncated,
    /// Reconnects whose replay waited for one of the `max_concurrent_replays` to finish.
    replays_waited,
    /// `POST /messages` answered 503 because the message did not fit in the replay budget.
    replay_budget_refusals,
}

/// Adds one.
pub(crate) fn incr(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Subtracts one.
pub(crate) fn decr(counter: &AtomicU64) {
    counter.fetch_sub(1, Ordering::Relaxed);
}

impl Stats {
    /// The entry for one protocol's listener.
    pub fn listener(&self, protocol: Protocol) -> Option<&ListenerStats> {
        self.listeners.iter().find(|l| l.protocol == protocol)
    }
}
