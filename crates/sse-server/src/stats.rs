//! Counters, and the snapshot served as `GET /stats`.
//!
//! Each listener owns a `ListenerCounters` of relaxed atomics, updated on the hot path without a
//! lock. A [`Stats`] snapshot reads them one by one, so it is not an atomic picture of the whole
//! server, only of each counter.
//!
//! `connections_accepted - connections_carrying_requests` are the sockets that never carried a
//! request: browsers' speculative connections (`docs/browsers.md`, "Connections counted"),
//! refused clients and idle timeouts.

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
}

/// One listener's counters. Totals count since start; `_open` values are current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerStats {
    pub protocol: Protocol,
    pub address: SocketAddr,
    /// Sockets accepted, including the ones refused or closed later.
    pub connections_accepted: u64,
    /// Sockets open now.
    pub connections_open: u64,
    /// Connections that carried at least one request.
    pub connections_carrying_requests: u64,
    /// Connections refused: wrong ALPN, wrong preface, no ALPN on `h2`, over `max_connections`
    /// with no connection to reclaim.
    pub connections_refused: u64,
    /// Connections closed to make room for a new one at `max_connections`, because they had made
    /// no progress for a while (counted on the closed connection's listener).
    pub connections_reclaimed: u64,
    /// TLS connections whose client offered no ALPN (served on `h1-tls`, refused on `h2`).
    pub alpn_none: u64,
    /// Connections closed because the TLS handshake, the first bytes, an HTTP/1.1 request head or
    /// an HTTP/2 connection's first request did not arrive within the header timeout.
    pub timeouts: u64,
    /// Connections reset because a write waited longer than the write stall timeout (the client
    /// stopped reading).
    pub write_timeouts: u64,
    /// HTTP/2 connections reset because their event streams waited longer than the write stall
    /// timeout for the client's flow-control window, with nothing else moving (a zero window).
    pub window_timeouts: u64,
    /// HTTP/2 connections closed (GOAWAY) after `http2_idle_timeout` without a request in flight.
    pub idle_timeouts: u64,
    /// HTTP/2 connections closed because a keep-alive PING was not answered in time.
    pub keepalive_timeouts: u64,
    /// TLS handshakes that failed for a reason other than ALPN (bad record, unknown CA, ...).
    pub tls_errors: u64,
    /// Requests received.
    pub requests: u64,
    /// `GET /events` streams open now.
    pub streams_open: u64,
    /// Events written into event streams: ticks, messages (live and replayed) and replay gaps.
    /// Heartbeat comments and `retry:` lines are not events. On a WebSocket, each tick and
    /// message sent is one event (pings are not).
    pub events_sent: u64,
    /// `message` events written into event streams, and channel messages sent on WebSockets (a
    /// subset of `events_sent`).
    pub messages_sent: u64,
    /// Streams closed because their subscriber queue was full (event streams and WebSockets).
    pub overflows: u64,
    /// WebSockets open now (`GET /ws` upgraded, on the `ws` and `wss` listeners).
    pub websockets_open: u64,
    /// Text messages received on WebSockets and published to their channel.
    pub websocket_messages_received: u64,
    /// Injected faults (see [`crate::FaultConfig`]): event streams ended by
    /// the `close_streams` fault.
    pub faults_streams_closed: u64,
    /// Connections aborted by `reset_connections_every`.
    pub faults_connections_reset: u64,
    /// HTTP/2 connections sent a GOAWAY by `goaway_every`.
    pub faults_goaways: u64,
    /// Stalls of an event stream by the `stall` fault.
    pub faults_stalls: u64,
    /// Requests answered 503 by `post_error_every_nth` or `stream_error_every_nth`.
    pub faults_errors: u64,
    /// Frames and POSTs held back by the `delay_events` and `delay_posts` faults.
    pub faults_delayed: u64,
    /// Requests answered 408 because their body sent nothing for `body_read_timeout`.
    pub body_read_timeouts: u64,
    /// Requests answered 408 because their body was not complete within `body_total_timeout`.
    pub body_total_timeouts: u64,
    /// Requests answered 503 because they would have created a channel beyond `max_channels`.
    pub channel_limit_refusals: u64,
    /// `POST /messages` answered 503 because the message did not fit in the replay budget.
    pub replay_budget_refusals: u64,
}

/// The live counters of one listener.
#[derive(Debug)]
pub(crate) struct ListenerCounters {
    pub(crate) protocol: Protocol,
    pub(crate) address: SocketAddr,
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_carrying_requests: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) connections_reclaimed: AtomicU64,
    pub(crate) alpn_none: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) write_timeouts: AtomicU64,
    pub(crate) window_timeouts: AtomicU64,
    pub(crate) idle_timeouts: AtomicU64,
    pub(crate) keepalive_timeouts: AtomicU64,
    pub(crate) tls_errors: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) streams_open: AtomicU64,
    pub(crate) events_sent: AtomicU64,
    pub(crate) messages_sent: AtomicU64,
    pub(crate) overflows: AtomicU64,
    pub(crate) websockets_open: AtomicU64,
    pub(crate) websocket_messages_received: AtomicU64,
    pub(crate) faults_streams_closed: AtomicU64,
    pub(crate) faults_connections_reset: AtomicU64,
    pub(crate) faults_goaways: AtomicU64,
    pub(crate) faults_stalls: AtomicU64,
    pub(crate) faults_errors: AtomicU64,
    pub(crate) faults_delayed: AtomicU64,
    pub(crate) body_read_timeouts: AtomicU64,
    pub(crate) body_total_timeouts: AtomicU64,
    pub(crate) channel_limit_refusals: AtomicU64,
    pub(crate) replay_budget_refusals: AtomicU64,
}

/// Adds one.
pub(crate) fn incr(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Subtracts one.
pub(crate) fn decr(counter: &AtomicU64) {
    counter.fetch_sub(1, Ordering::Relaxed);
}

impl ListenerCounters {
    pub(crate) fn new(protocol: Protocol, address: SocketAddr) -> Self {
        let zero = || AtomicU64::new(0);
        ListenerCounters {
            protocol,
            address,
            connections_accepted: zero(),
            connections_open: zero(),
            connections_carrying_requests: zero(),
            connections_refused: zero(),
            connections_reclaimed: zero(),
            alpn_none: zero(),
            timeouts: zero(),
            write_timeouts: zero(),
            window_timeouts: zero(),
            idle_timeouts: zero(),
            keepalive_timeouts: zero(),
            tls_errors: zero(),
            requests: zero(),
            streams_open: zero(),
            events_sent: zero(),
            messages_sent: zero(),
            overflows: zero(),
            websockets_open: zero(),
            websocket_messages_received: zero(),
            faults_streams_closed: zero(),
            faults_connections_reset: zero(),
            faults_goaways: zero(),
            faults_stalls: zero(),
            faults_errors: zero(),
            faults_delayed: zero(),
            body_read_timeouts: zero(),
            body_total_timeouts: zero(),
            channel_limit_refusals: zero(),
            replay_budget_refusals: zero(),
        }
    }

    pub(crate) fn snapshot(&self) -> ListenerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ListenerStats {
            protocol: self.protocol,
            address: self.address,
            connections_accepted: get(&self.connections_accepted),
            connections_open: get(&self.connections_open),
            connections_carrying_requests: get(&self.connections_carrying_requests),
            connections_refused: get(&self.connections_refused),
            connections_reclaimed: get(&self.connections_reclaimed),
            alpn_none: get(&self.alpn_none),
            timeouts: get(&self.timeouts),
            write_timeouts: get(&self.write_timeouts),
            window_timeouts: get(&self.window_timeouts),
            idle_timeouts: get(&self.idle_timeouts),
            keepalive_timeouts: get(&self.keepalive_timeouts),
            tls_errors: get(&self.tls_errors),
            requests: get(&self.requests),
            streams_open: get(&self.streams_open),
            events_sent: get(&self.events_sent),
            messages_sent: get(&self.messages_sent),
            overflows: get(&self.overflows),
            websockets_open: get(&self.websockets_open),
            websocket_messages_received: get(&self.websocket_messages_received),
            faults_streams_closed: get(&self.faults_streams_closed),
            faults_connections_reset: get(&self.faults_connections_reset),
            faults_goaways: get(&self.faults_goaways),
            faults_stalls: get(&self.faults_stalls),
            faults_errors: get(&self.faults_errors),
            faults_delayed: get(&self.faults_delayed),
            body_read_timeouts: get(&self.body_read_timeouts),
            body_total_timeouts: get(&self.body_total_timeouts),
            channel_limit_refusals: get(&self.channel_limit_refusals),
            replay_budget_refusals: get(&self.replay_budget_refusals),
        }
    }
}

impl Stats {
    /// The entry for one protocol's listener.
    pub fn listener(&self, protocol: Protocol) -> Option<&ListenerStats> {
        self.listeners.iter().find(|l| l.protocol == protocol)
    }
}
