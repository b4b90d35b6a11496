//! Serving one HTTP/3 connection: its request streams, each on its own task, and how the
//! connection ends other than by its client, as [`crate::listen`] ends a TCP one:
//!
//! - at shutdown, and at the `goaway_every` fault or the idle timeout (`http2_idle_timeout`):
//!   GOAWAY (h3 then refuses later streams with `H3_REQUEST_REJECTED`), the connection's event
//!   streams end cleanly, and once no request is in flight the connection is closed with
//!   `H3_NO_ERROR` ([`close_gracefully`]); the fault and the idle timeout cut it
//!   [`SHUTDOWN_GRACE`] after its GOAWAY;
//! - without a first request within the header timeout (`timeouts`);
//! - closed at once (`CONNECTION_CLOSE` `H3_INTERNAL_ERROR`, QUIC's nearest to a TCP reset: there
//!   is no other abrupt end) at the `reset_connections_every` fault, when its event streams wait
//!   `write_stall_timeout` for QUIC to take their data with nothing else moving
//!   (`window_timeouts`), when its slot is reclaimed and when the shutdown's grace is over;
//! - dropped by QUIC when nothing arrives from the peer for the idle timeout QUIC was given
//!   (`keepalive_timeouts`; `transport`).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use quinn::VarInt;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use super::request::{self, Stream};
use super::transport::MAX_FIELD_SECTION_SIZE;
use super::QuicListener;
use crate::activity::Accepted;
use crate::app::Conn;
use crate::config::SHUTDOWN_GRACE;
use crate::hub::Held;
use crate::stats::{incr, ListenerCounters};

/// QUIC's default `max_ack_delay` (RFC 9000 §18.2), what a client acknowledges within.
const MAX_ACK_DELAY: Duration = Duration::from_millis(25);

/// HTTP/3 error codes (RFC 9114 §8.1) the server closes connections with.
pub(super) const H3_NO_ERROR: VarInt = VarInt::from_u32(0x100);
pub(super) const H3_GENERAL_PROTOCOL_ERROR: VarInt = VarInt::from_u32(0x101);
pub(super) const H3_INTERNAL_ERROR: VarInt = VarInt::from_u32(0x102);

/// Why the server closed a connection at once.
#[derive(Debug, Clone, Copy)]
enum Abort {
    Fault,
    WindowStall,
    /// Reclaimed, or forced closed at shutdown.
    Closed,
}

/// Serves HTTP/3 on `connection` until it ends.
pub(super) async fn serve(
    listener: &QuicListener,
    connection: quinn::Connection,
    accepted: &Accepted,
    tracker: TaskTracker,
) {
    let counters = &listener.counters;
    let protocol = counters.protocol;
    let state = &listener.server;
    let activity = &accepted.activity;
    let requests = async {
        // Each request task ends with the connection: this guard cancels `gone` however this
        // future ends.
        let gone = CancellationToken::new();
        let _gone_guard: DropGuard = gone.clone().drop_guard();
        requests(listener, connection.clone(), accepted, &tracker, &gone).await;
    };
    let reset_every = state.app.faults.config.reset_connections_every;
    let reset_due = async {
        match reset_every {
            Some(every) => tokio::time::sleep_until(accepted.at + every).await,
            None => std::future::pending().await,
        }
    };
    // QUIC has no socket of its own to block on: whatever holds the data back (flow control,
    // congestion control) shows as frames waiting.
    let window_stall = activity.window_stall(listener.limits.write_stall_timeout, || false);
    // Pinned here, dropped after the close below: dropping h3's connection closes it with
    // H3_NO_ERROR, and the first close is the one the client sees.
    tokio::pin!(requests);
    let abort = tokio::select! {
        () = &mut requests => None,
        () = reset_due => Some(Abort::Fault),
        () = window_stall => Some(Abort::WindowStall),
        // Reclaimed, or the server's forced end (the activity's token is its child).
        () = activity.closed() => Some(Abort::Closed),
    };
    let Some(abort) = abort else { return };
    match abort {
        Abort::Fault => incr(&counters.faults_connections_reset),
        Abort::WindowStall => {
            incr(&counters.window_timeouts);
            tracing::debug!(%protocol, "closed a connection whose client stopped taking data");
        }
        Abort::Closed => {}
    }
    connection.close(H3_INTERNAL_ERROR, b"");
}

/// How the request loop ends a connection, other than its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    /// Open: no GOAWAY sent.
    No,
    /// GOAWAY sent at shutdown: closed once no request is in flight.
    Graceful,
    /// GOAWAY sent by the fault or the idle timeout: closed once no request is in flight, cut at
    /// the instant.
    CutAt(Instant),
}

/// Accepts request streams until the connection ends, spawning each on `tracker`.
async fn requests(
    listener: &QuicListener,
    connection: quinn::Connection,
    accepted: &Accepted,
    tracker: &TaskTracker,
    gone: &CancellationToken,
) {
    let counters = &listener.counters;
    let protocol = counters.protocol;
    let settings = listener.settings;
    let app = &listener.server.app;
    let activity = &accepted.activity;
    let first_deadline = accepted.at + settings.header_read_timeout;
    let mut builder = h3::server::builder();
    builder.max_field_section_size(MAX_FIELD_SECTION_SIZE);
    let built = tokio::select! {
        built = builder.build::<_, Bytes>(h3_quinn::Connection::new(connection.clone())) => built,
        () = tokio::time::sleep_until(first_deadline) => return incr(&counters.timeouts),
    };
    let mut h3 = match built {
        Ok(h3) => h3,
        Err(e) => return tracing::debug!(%protocol, "http/3 connection failed to start: {e}"),
    };
    // Ends this connection's event streams: at shutdown, or at its GOAWAY.
    let streams = app.shutdown.child_token();
    let carried = Arc::new(AtomicBool::new(false));
    let first_request = CancellationToken::new();
    let held = Arc::new(Held::new(
        settings.connection_queue_bytes,
        app.hub.queue_gauge(),
    ));
    let goaway_at = settings.goaway_every.map(|every| accepted.at + every);
    let mut closing = Closing::No;
    loop {
        let open = closing == Closing::No;
        let cut_at = cut_at_of(closing);
        tokio::select! {
            next = h3.accept() => match next {
                Ok(Some(resolver)) => {
                    let conn = Conn {
                        counters: Arc::clone(counters),
                        streams: streams.clone(),
                        activity: Arc::clone(activity),
                        peer: accepted.peer,
                        held: Arc::clone(&held),
                        // Each HTTP/3 stream has QUIC's own flow control; the per-stream
                        // watchdog is HTTP/2's (`listen::streams`).
                        stream: None,
                        upgrade: None,
                    };
                    let stream = Stream {
                        app: Arc::clone(app),
                        conn,
                        carried: Arc::clone(&carried),
                        first_request: first_request.clone(),
                        header_read_timeout: settings.header_read_timeout,
                        gone: gone.clone(),
                    };
                    tracker.spawn(request::serve(stream, resolver));
                }
                Ok(None) => break,
                Err(e) => {
                    ended(counters, &connection, &e);
                    return;
                }
            },
            () = app.shutdown.cancelled(), if open => {
                closing = Closing::Graceful;
                goaway(&mut h3, &streams).await;
            }
            () = sleep_until_some(goaway_at), if open => {
                incr(&counters.faults_goaways);
                closing = Closing::CutAt(Instant::now() + SHUTDOWN_GRACE);
                goaway(&mut h3, &streams).await;
            }
            () = activity.idle_for(settings.idle_timeout), if open => {
                incr(&counters.idle_timeouts);
                closing = Closing::CutAt(Instant::now() + SHUTDOWN_GRACE);
                goaway(&mut h3, &streams).await;
            }
            () = no_request(first_deadline, &first_request) => {
                incr(&counters.timeouts);
                tracing::debug!(%protocol, "no request within the header timeout");
                break;
            }
            () = activity.idle_for(Duration::ZERO), if !open => break,
            () = sleep_until_some(cut_at) => {
                tracing::debug!(%protocol, "connection cut {SHUTDOWN_GRACE:?} after its GOAWAY");
                break;
            }
        }
    }
    close_gracefully(&connection, cut_at_of(closing)).await;
}

fn cut_at_of(closing: Closing) -> Option<Instant> {
    match closing {
        Closing::CutAt(at) => Some(at),
        Closing::No | Closing::Graceful => None,
    }
}

/// Closes a connection with no request left in flight, with `H3_NO_ERROR`, once the responses'
/// last bytes have had time to arrive: QUIC drops whatever it has not yet delivered when the
/// connection closes (TCP would deliver it before its FIN), and h3 does not say when a stream's
/// data has been acknowledged. So it waits for the client to close first, or for three probe
/// timeouts of the connection's round trip, at most until `cut_at` or [`SHUTDOWN_GRACE`].
async fn close_gracefully(connection: &quinn::Connection, cut_at: Option<Instant>) {
    let probe_timeout = connection.rtt() * 3 / 2 + MAX_ACK_DELAY;
    let mut until = Instant::now() + (probe_timeout * 3).min(SHUTDOWN_GRACE);
    if let Some(cut_at) = cut_at {
        until = until.min(cut_at);
    }
    tokio::select! {
        _ = connection.closed() => {}
        () = tokio::time::sleep_until(until) => {}
    }
    connection.close(H3_NO_ERROR, b"");
}

/// Sends GOAWAY (no request stream beyond those accepted) and ends the event streams.
async fn goaway(
    h3: &mut h3::server::Connection<h3_quinn::Connection, Bytes>,
    streams: &CancellationToken,
) {
    streams.cancel();
    if let Err(e) = h3.shutdown(0).await {
        tracing::debug!("cannot send GOAWAY: {e}");
    }
}

/// Resolves at `deadline` unless `arrived` is cancelled first.
async fn no_request(deadline: Instant, arrived: &CancellationToken) {
    tokio::select! {
        // The arrival first: past the deadline both are ready whenever the loop polls this again,
        // and an unbiased select would then end a connection that has carried requests.
        biased;
        () = arrived.cancelled() => std::future::pending().await,
        () = tokio::time::sleep_until(deadline) => {}
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Counts how the client or QUIC ended the connection.
fn ended(
    counters: &ListenerCounters,
    connection: &quinn::Connection,
    e: &h3::error::ConnectionError,
) {
    let protocol = counters.protocol;
    match connection.close_reason() {
        Some(quinn::ConnectionError::TimedOut) => {
            incr(&counters.keepalive_timeouts);
            tracing::debug!(%protocol, "nothing arrived from the peer within the idle timeout");
        }
        _ if e.is_h3_no_error() => {}
        Some(quinn::ConnectionError::ApplicationClosed(_)) => {}
        _ => tracing::debug!(%protocol, "connection ended with an error: {e}"),
    }
}
