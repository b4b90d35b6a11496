//! The HTTP/3 listener: QUIC on one UDP socket (quinn), HTTP/3 over it (h3), the same routes as
//! every other listener.
//!
//! | listener | accepted | refused (counted in `connections_refused`) |
//! |---|---|---|
//! | `h3` | a QUIC handshake with ALPN `h3` | any other ALPN, or none (rustls ends the handshake with the `no_application_protocol` alert, QUIC's `CRYPTO_ERROR` 0x178); over `max_connections` with nothing to reclaim (QUIC `CONNECTION_REFUSED`) |
//!
//! A connection is accepted (`connections_accepted`) when its client's first packet arrives, and
//! `connect` on the server's side ends with the handshake; it carries requests once its first
//! request stream's head has arrived (docs/measurement.md, "Connections on QUIC"). The phases are
//! bounded as on TCP: the handshake and the first request within `header_read_timeout`, a
//! request stream's head within it too; admission under `max_connections` (`reclaim`) before the
//! handshake; the watchdogs of [`serve`] for the rest.
//!
//! Modules: `transport` (the quinn and rustls configuration: the stream limit, windows, idle
//! timeout), `serve` (one HTTP/3 connection: its requests, GOAWAY, its ends), `request` (one
//! request stream: the body adapter and the response).

mod request;
mod serve;
mod transport;

pub(crate) use transport::{bind, QuicSettings};

use std::sync::Arc;

use quinn::{ConnectionError, Endpoint, Incoming, TransportErrorCode};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::activity::{Accepted, Activity};
use crate::listen::{Limits, OpenGuard, Server, REFUSED_WARN};
use crate::logging::{RateLimit, WARN_EVERY};
use crate::peer::ClientAddr;
use crate::stats::{incr, ListenerCounters};

/// The TLS alert rustls ends a handshake with when the client's ALPN lacks `h3`
/// (`no_application_protocol`), as QUIC carries it: `CRYPTO_ERROR` 0x100 + the alert.
const NO_APPLICATION_PROTOCOL: u8 = 120;

static FULL_WARN: RateLimit = RateLimit::new(WARN_EVERY);

/// The bound HTTP/3 listener and what its connections need.
#[derive(Debug)]
pub(crate) struct QuicListener {
    pub(crate) endpoint: Endpoint,
    pub(crate) counters: Arc<ListenerCounters>,
    pub(crate) server: Arc<Server>,
    pub(crate) limits: Limits,
    pub(crate) settings: QuicSettings,
}

impl QuicListener {
    /// Accepts until shutdown, spawning each connection on `tracker`.
    pub(crate) async fn run(self, tracker: TaskTracker) {
        let this = Arc::new(self);
        let shutdown = this.server.app.shutdown.clone();
        loop {
            let incoming = tokio::select! {
                () = shutdown.cancelled() => break,
                incoming = this.endpoint.accept() => incoming,
            };
            // `None` only once the endpoint is closed.
            let Some(incoming) = incoming else { break };
            let accepted_at = Instant::now();
            let peer = ClientAddr::of(incoming.remote_address().ip());
            let counters = &this.counters;
            incr(&counters.connections_accepted);
            incr(&counters.connections_open);
            let guard = OpenGuard {
                counters: Arc::clone(counters),
            };
            let listener = Arc::clone(&this);
            let connection_tracker = tracker.clone();
            tracker.spawn(async move {
                let activity = Activity::new(&listener.server.force);
                let registry = &listener.limits.registry;
                let Some(registered) = registry
                    .admit_within(&activity, &listener.counters, peer)
                    .await
                else {
                    incoming.refuse();
                    listener.refused_over_limit();
                    drop(guard);
                    return;
                };
                let accepted = Accepted {
                    at: accepted_at,
                    peer,
                    activity,
                };
                listener
                    .connection(incoming, accepted, connection_tracker)
                    .await;
                drop(registered);
                drop(guard);
            });
        }
        // Stop the endpoint from taking new connections; those open end on their own tasks.
        this.endpoint.set_server_config(None);
    }

    /// A connection over `max_connections` that found no slot: refused, counted.
    fn refused_over_limit(&self) {
        incr(&self.counters.connections_refused);
        if let Some(suppressed) = FULL_WARN.check() {
            tracing::warn!(
                protocol = %self.counters.protocol,
                suppressed,
                "refused a connection: the server is full and no connection can be reclaimed"
            );
        }
    }

    /// The handshake within the header timeout, the ALPN check, then HTTP/3.
    async fn connection(&self, incoming: Incoming, accepted: Accepted, tracker: TaskTracker) {
        if let Some(delay) = self.server.app.faults.config.delay_tls_handshake {
            // The fault holds the client's Initial (its ClientHello) unread, as on TCP.
            incr(&self.counters.faults_delayed);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.server.app.shutdown.cancelled() => return,
            }
        }
        // The client's first packet is processed here: a ClientHello it carries whole may fail
        // the handshake at once.
        let connecting = match incoming.accept() {
            Ok(connecting) => connecting,
            Err(e) => return self.handshake_failed(&e),
        };
        let deadline = accepted.at + self.limits.header_read_timeout;
        let handshake = tokio::select! {
            handshake = tokio::time::timeout_at(deadline, connecting) => handshake,
            () = self.server.app.shutdown.cancelled() => return,
            () = accepted.activity.closed() => return,
        };
        let connection = match handshake {
            Err(_elapsed) => return incr(&self.counters.timeouts),
            Ok(Err(e)) => return self.handshake_failed(&e),
            Ok(Ok(connection)) => connection,
        };
        // rustls completes a QUIC handshake only with one of the listener's ALPN protocols.
        let alpn = connection
            .handshake_data()
            .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
            .and_then(|data| data.protocol);
        if alpn.as_deref() != self.counters.protocol.alpn() {
            if alpn.is_none() {
                incr(&self.counters.alpn_none);
            }
            self.refused("a QUIC client without ALPN h3");
            connection.close(serve::H3_GENERAL_PROTOCOL_ERROR, b"ALPN h3 required");
            return;
        }
        serve::serve(self, connection, &accepted, tracker).await;
    }

    fn handshake_failed(&self, e: &ConnectionError) {
        let protocol = self.counters.protocol;
        let no_alpn = TransportErrorCode::crypto(NO_APPLICATION_PROTOCOL);
        match e {
            ConnectionError::TransportError(t) if t.code == no_alpn => {
                self.refused("a QUIC client whose ALPN lacks h3");
            }
            ConnectionError::TransportError(_) | ConnectionError::ConnectionClosed(_) => {
                incr(&self.counters.tls_errors);
                tracing::debug!(%protocol, "quic handshake failed: {e}");
            }
            _ => tracing::debug!(%protocol, "quic connection ended in its handshake: {e}"),
        }
    }

    fn refused(&self, what: &str) {
        incr(&self.counters.connections_refused);
        if let Some(suppressed) = REFUSED_WARN.check() {
            let protocol = self.counters.protocol;
            tracing::warn!(%protocol, suppressed, "refused {what}");
        }
    }
}
