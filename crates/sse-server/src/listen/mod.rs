//! From an accepted socket to hyper, each listener held to its one protocol.
//!
//! | listener | accepted | refused (counted in `connections_refused`) |
//! |---|---|---|
//! | `h1` | cleartext HTTP/1.1 | the HTTP/2 preface (answered with GOAWAY `HTTP_1_1_REQUIRED`) |
//! | `h1-tls` | ALPN `http/1.1`, or no ALPN at all (counted in `alpn_none`) | ALPN without `http/1.1` (rustls alert `no_application_protocol`) |
//! | `h2` | ALPN `h2` | ALPN without `h2` (alert), and no ALPN (counted in `alpn_none` too) |
//! | `h2c` | the HTTP/2 preface (prior knowledge) | anything else (answered with 505) |
//! | `ws` | cleartext HTTP/1.1, whose `GET /ws` upgrades to a WebSocket | as `h1` |
//! | `wss` | ALPN `http/1.1`, or no ALPN at all, as `h1-tls`; `GET /ws` upgrades | as `h1-tls` |
//! | `h3` | QUIC on UDP with ALPN `h3` (`quic`) | any other ALPN, or none (the QUIC handshake fails) |
//!
//! TLS without ALPN means HTTP/1.1 (RFC 7301; HTTP/2 over TLS requires ALPN `h2`, RFC 9113
//! §3.2), so it is served on `h1-tls` and `wss` and refused on `h2`: a benchmark is never served
//! a protocol other than its listener's. The WebSocket listeners serve every route (a page loads
//! from its origin before its sockets open); only they upgrade `GET /ws`.
//!
//! Every phase is bounded: over `max_connections` a connection waits for a slot (`reclaim`); the
//! TLS handshake and the first bytes must arrive within `header_read_timeout`; a connection whose
//! writes wait `write_stall_timeout` for the client (`socket`), or whose HTTP/2 event streams wait
//! that long for its window ([`Activity::window_stall`]), is reset; so is any connection at the
//! `reset_connections_every` fault. One HTTP/2 stream that waits that long for its window while
//! its siblings move, or whose subscriber overflowed, is reset on its own (`streams`).

mod connection;
mod quic;
mod reclaim;
mod sniff;
mod socket;
mod streams;
mod tls;

pub(crate) use connection::Server;
pub(crate) use quic::{bind as bind_quic, QuicListener, QuicSettings};
pub(crate) use reclaim::Registry;
pub(crate) use tls::Certificate;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use crate::activity::{Accepted, Activity};
use crate::logging::{RateLimit, WARN_EVERY};
use crate::peer::ClientAddr;
use crate::stats::{decr, incr, ListenerCounters};
use sniff::Opening;
use socket::{Socket, SocketState};

/// Pause after an accept error (such as too many open files) before accepting again.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// The per-connection warnings, each at most once per [`WARN_EVERY`] with the count of the ones
/// suppressed in between ([`RateLimit`]): any client can trigger them at will.
static ACCEPT_FAILED_WARN: RateLimit = RateLimit::new(WARN_EVERY);
static FULL_WARN: RateLimit = RateLimit::new(WARN_EVERY);
pub(crate) static REFUSED_WARN: RateLimit = RateLimit::new(WARN_EVERY);

/// One bound listener and what its connections need.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) socket: TcpListener,
    pub(crate) counters: Arc<ListenerCounters>,
    /// The TLS configuration, for `h1-tls` and `h2`.
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) server: Arc<Server>,
    pub(crate) limits: Limits,
}

/// Limits shared by all listeners.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) write_stall_timeout: Duration,
    /// The connections being served, against `max_connections`.
    pub(crate) registry: Arc<Registry>,
}

/// Keeps the listener's open-connection count while a connection lives.
#[derive(Debug)]
pub(crate) struct OpenGuard {
    pub(crate) counters: Arc<ListenerCounters>,
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        decr(&self.counters.connections_open);
    }
}

impl Listener {
    /// Accepts until shutdown, spawning each connection on `tracker`.
    pub(crate) async fn run(self, tracker: TaskTracker) {
        let this = Arc::new(self);
        let shutdown = this.server.app.shutdown.clone();
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = this.socket.accept() => accepted,
            };
            let accepted_at = Instant::now();
            let (stream, peer) = match accepted {
                Ok((stream, peer)) => (stream, ClientAddr::of(peer.ip())),
                Err(e) => {
                    if let Some(suppressed) = ACCEPT_FAILED_WARN.check() {
                        let protocol = this.counters.protocol;
                        tracing::warn!(%protocol, suppressed, "accept failed: {e}");
                    }
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    continue;
                }
            };
            let counters = &this.counters;
            incr(&counters.connections_accepted);
            incr(&counters.connections_open);
            let guard = OpenGuard {
                counters: Arc::clone(counters),
            };
            let listener = Arc::clone(&this);
            tracker.spawn(async move {
                let activity = Activity::new(&listener.server.force);
                let registry = &listener.limits.registry;
                let admitted = registry.admit_within(&activity, &listener.counters, peer);
                let Some(registered) = admitted.await else {
                    listener.refused_over_limit();
                    drop(guard);
                    return;
                };
                let _ = stream.set_nodelay(true);
                let accepted = Accepted {
                    at: accepted_at,
                    peer,
                    activity,
                };
                listener.connection(stream, accepted).await;
                drop(registered);
                drop(guard);
            });
        }
    }

    /// A connection over `max_connections` that found no slot: closed at once, counted.
    fn refused_over_limit(&self) {
        let counters = &self.counters;
        incr(&counters.connections_refused);
        if let Some(suppressed) = FULL_WARN.check() {
            tracing::warn!(
                protocol = %counters.protocol,
                suppressed,
                "refused a connection: the server is full and no connection can be reclaimed"
            );
        }
    }

    /// Not an `async fn` (nor `cleartext` and `tls` below): an `async fn` keeps each argument
    /// twice in its future, as passed and as moved into its body, and this future is the
    /// connection's task for its whole life.
    fn connection(
        &self,
        stream: TcpStream,
        accepted: Accepted,
    ) -> impl Future<Output = ()> + Send + '_ {
        let protocol = self.counters.protocol;
        let state = SocketState::new();
        let stream = Socket::new(stream, state.clone());
        async move {
            let connection = async {
                if protocol.is_tls() {
                    self.tls(stream, &accepted).await;
                } else {
                    self.cleartext(stream, &accepted).await;
                }
            };
            let reset_every = self.server.app.faults.config.reset_connections_every;
            // The fault's timer and HTTP/2's window watch are boxed where they are taken: inline, their
            // states (a timer, 112 bytes; the watch, 200) would size every connection's task, fault
            // or not, HTTP/2 or not.
            let reset_due = async {
                match reset_every {
                    Some(every) => Box::pin(tokio::time::sleep_until(accepted.at + every)).await,
                    None => std::future::pending().await,
                }
                // Set before `select!` drops the connection future, and the socket inside it.
                state.reset_on_drop();
            };
            let write_stall = async {
                state.write_stall(self.limits.write_stall_timeout).await;
                state.reset_on_drop();
            };
            let window_stall = async {
                if !protocol.is_http2() {
                    return std::future::pending().await;
                }
                let activity = &accepted.activity;
                Box::pin(
                    activity
                        .window_stall(self.limits.write_stall_timeout, || state.is_write_blocked()),
                )
                .await;
                state.reset_on_drop();
            };
            tokio::select! {
                () = connection => {}
                // Reclaimed, or the server's forced end (the activity's token is its child).
                () = accepted.activity.closed() => {}
                () = reset_due => incr(&self.counters.faults_connections_reset),
                () = write_stall => {
                    incr(&self.counters.write_timeouts);
                    tracing::debug!(%protocol, "reset a connection whose client stopped reading");
                }
                () = window_stall => {
                    incr(&self.counters.window_timeouts);
                    tracing::debug!(%protocol, "reset a connection whose client keeps its window shut");
                }
            }
        }
    }

    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future"
    )]
    fn cleartext<'a>(
        &'a self,
        stream: Socket,
        accepted: &'a Accepted,
    ) -> impl Future<Output = ()> + Send + 'a {
        async move {
            let protocol = self.counters.protocol;
            // Boxed: brief, but inline it would size the connection's task for its whole life.
            let sniffing = Box::pin(sniff::opening(
                stream.tcp(),
                self.limits.header_read_timeout,
            ));
            let opening = match self.unless_shutdown(sniffing).await {
                None => return,
                Some(Ok(opening)) => opening,
                Some(Err(e)) => {
                    tracing::debug!(%protocol, "connection failed before its first byte: {e}");
                    return;
                }
            };
            match (protocol.is_http2(), opening) {
                (_, Opening::Closed) => {}
                (_, Opening::TimedOut) => incr(&self.counters.timeouts),
                (true, Opening::Http2) | (false, Opening::Other) => {
                    self.serve(stream, accepted).await
                }
                (true, Opening::Other) => {
                    self.refused(&format!(
                        "an HTTP/1.1 request ({protocol} takes prior knowledge only)"
                    ));
                    // Boxed, as the other refusal: rare, and inline it would size every task.
                    Box::pin(sniff::refuse(stream, &sniff::http2_required_response())).await;
                }
                (false, Opening::Http2) => {
                    self.refused("the HTTP/2 preface (this listener serves HTTP/1.1 only)");
                    Box::pin(sniff::refuse(stream, &sniff::http1_required_goaway())).await;
                }
            }
        }
    }

    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future"
    )]
    fn tls<'a>(
        &'a self,
        stream: Socket,
        accepted: &'a Accepted,
    ) -> impl Future<Output = ()> + Send + 'a {
        async move {
            let Some(config) = &self.tls else {
                return;
            };
            if let Some(delay) = self.server.app.faults.config.delay_tls_handshake {
                incr(&self.counters.faults_delayed);
                if self
                    .unless_shutdown(tokio::time::sleep(delay))
                    .await
                    .is_none()
                {
                    return;
                }
            }
            let acceptor = TlsAcceptor::from(Arc::clone(config));
            let timeout = self.limits.header_read_timeout;
            // Boxed, as `serve` and the refusal below: the handshake's state (a TLS connection
            // mid-handshake) is freed once it is done instead of sizing the connection's task.
            let handshake = tokio::time::timeout(timeout, Box::pin(acceptor.accept(stream)));
            // The TLS stream (1.2 KB) is a local of this block only, which ends before the next
            // await: a local in scope across an await is kept in the task for as long.
            let next: Pin<Box<dyn Future<Output = ()> + Send + '_>> = {
                let mut tls = match self.unless_shutdown(handshake).await {
                    None => return,
                    Some(Err(_elapsed)) => return incr(&self.counters.timeouts),
                    Some(Ok(Err(e))) => return self.handshake_failed(&e),
                    Some(Ok(Ok(tls))) => tls,
                };
                let protocol = self.counters.protocol;
                let alpn = tls.get_ref().1.alpn_protocol();
                if alpn.is_none() {
                    incr(&self.counters.alpn_none);
                }
                // TLS without ALPN means HTTP/1.1 (RFC 7301); HTTP/2 over TLS requires ALPN h2.
                let served =
                    alpn.map_or(!protocol.is_http2(), |alpn| Some(alpn) == protocol.alpn());
                if served {
                    self.serve(tls, accepted)
                } else {
                    let wanted = protocol.alpn().unwrap_or_default().escape_ascii();
                    self.refused(&format!("a TLS client without ALPN {wanted}"));
                    Box::pin(async move {
                        let _ = tokio::time::timeout(timeout, tls.shutdown()).await;
                    })
                }
            };
            next.await;
        }
    }

    /// Runs `f` unless shutdown begins first: a connection that has not started HTTP yet is
    /// simply closed. Boxed: these waits (the preface sniffing, the TLS handshake and its fault
    /// delay) are brief, and inline their states (120 to 344 bytes) would size the connection's
    /// task for its whole life.
    fn unless_shutdown<'a, T: 'a>(
        &'a self,
        f: impl Future<Output = T> + Send + 'a,
    ) -> Pin<Box<impl Future<Output = Option<T>> + Send + 'a>> {
        Box::pin(async move {
            tokio::select! {
                out = f => Some(out),
                () = self.server.app.shutdown.cancelled() => None,
            }
        })
    }

    fn handshake_failed(&self, e: &io::Error) {
        let protocol = self.counters.protocol;
        let rustls_error = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
        if matches!(rustls_error, Some(rustls::Error::NoApplicationProtocol)) {
            let wanted = protocol.alpn().unwrap_or_default().escape_ascii();
            self.refused(&format!("a TLS client whose ALPN lacks {wanted}"));
        } else {
            incr(&self.counters.tls_errors);
            tracing::debug!(%protocol, "tls handshake failed: {e}");
        }
    }

    fn refused(&self, what: &str) {
        incr(&self.counters.connections_refused);
        if let Some(suppressed) = REFUSED_WARN.check() {
            let protocol = self.counters.protocol;
            tracing::warn!(%protocol, suppressed, "refused {what}");
        }
    }

    /// Serves HTTP on `io` until the connection ends. Boxed, with `io` inside: a connection's
    /// task is allocated as large as its largest state and keeps that size for its whole life,
    /// so the states it spends that life in hold a pointer here, not the HTTP connection (or a
    /// TLS stream on its way to it, 1.2 KB).
    fn serve<'a, IO>(
        &'a self,
        io: IO,
        accepted: &'a Accepted,
    ) -> Pin<Box<impl Future<Output = ()> + Send + 'a>>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        Box::pin(self.server.serve(io, Arc::clone(&self.counters), accepted))
    }
}
