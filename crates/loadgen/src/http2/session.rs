//! One HTTP/2 connection of a virtual client (Chromium's `SpdySession`): its stream slots, and the
//! connection itself, opened by the first request granted a slot on it.
//!
//! A session exists before its connection: Chromium grants the first 100 streams of a new session
//! at once (its assumption until SETTINGS arrive), and those requests then wait for the
//! connection, which the `connect` metric times. The connection's driver task watches the server's
//! `SETTINGS_MAX_CONCURRENT_STREAMS` (initial SETTINGS and later changes) and reports it to the
//! origin, which grants queued requests when the limit rises. When the connection ends, the driver
//! retires the session; after a GOAWAY the origin retires it as soon as a request meets it.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::sync::OnceCell;

use super::rules::{self, H2Rules};
use super::Shared;
use crate::connect::connect;
use crate::error::LoadError;
use vocab::{Counter, Latency};

/// One connection's worth of stream slots, and the connection once opened.
#[derive(Debug)]
pub(crate) struct Session {
    /// Streams granted a slot on this session and not yet ended. Changed under the origin's lock.
    pub(super) active: AtomicUsize,
    /// `min(server's SETTINGS_MAX_CONCURRENT_STREAMS, 256)`; 100 until the server says otherwise.
    pub(super) limit: AtomicUsize,
    conn: OnceCell<Conn>,
    /// The stream ids of the requests handed to h2 on this connection and not yet ended; see
    /// [`Session::held`].
    sent: std::sync::Mutex<std::collections::BTreeSet<u32>>,
    /// Woken when a request is handed to h2 or ends, or the limit changes.
    pub(super) changed: tokio::sync::Notify,
}

/// A request handed to h2 on a session, until its stream ends (dropped with the permit).
#[derive(Debug)]
pub(crate) struct Sent {
    session: Arc<Session>,
    stream_id: u32,
}

impl Sent {
    /// Whether h2 still holds this request (see [`Session::held`]).
    pub(super) fn held(&self) -> bool {
        self.session.held(self.stream_id)
    }
}

impl Drop for Sent {
    fn drop(&mut self) {
        self.session
            .sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.stream_id);
        self.session.changed.notify_waiters();
    }
}

#[derive(Debug)]
struct Conn {
    send: SendRequest<Bytes>,
    carried: AtomicBool,
    _driver: AbortOnDrop,
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Session {
    pub(super) fn new() -> Session {
        Session {
            active: AtomicUsize::new(0),
            limit: AtomicUsize::new(rules::INITIAL_STREAMS),
            conn: OnceCell::new(),
            sent: std::sync::Mutex::new(std::collections::BTreeSet::new()),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Records the request h2 just took as stream `stream_id` (call right after `send_request`,
    /// which numbers streams in the order h2 will open them).
    pub(super) fn mark_sent(self: &Arc<Self>, stream_id: u32) -> Sent {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(stream_id);
        // A later stream that looked before this one was recorded looks again.
        self.changed.notify_waiters();
        Sent {
            session: self.clone(),
            stream_id,
        }
    }

    /// Whether h2 still holds stream `stream_id` unsent: h2 writes a new stream's HEADERS only
    /// while the server's limit allows, in stream id order, so a request with at least `limit`
    /// lower-numbered requests still running on the connection waits inside h2. That happens
    /// when the server's SETTINGS (a limit under the 100 assumed before them) are read between a
    /// request's grant and the write of its HEADERS; Chromium, which writes at once, would have
    /// sent it and seen it refused. Either way the request waits for a slot: its `queue_wait`
    /// runs on. (Ordered by h2's ids, not by the order the tasks got here: two tasks on two
    /// threads can take their ids in the other order.)
    pub(super) fn held(&self, stream_id: u32) -> bool {
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.range(..stream_id).count() >= self.limit.load(Ordering::Relaxed)
    }

    pub(super) fn has_free_slot(&self) -> bool {
        self.active.load(Ordering::Relaxed) < self.limit.load(Ordering::Relaxed)
    }

    /// The connection, opened by the first caller (later callers wait for it). A failed connect
    /// leaves the session without one: the next caller tries again.
    pub(super) async fn connection(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
    ) -> Result<SendRequest<Bytes>, LoadError> {
        // The opening boxed: only the first caller runs it, and inline it would size every
        // request's future (2.8 KB) while the request waits for its response head.
        let conn = self
            .conn
            .get_or_try_init(|| Box::pin(open(shared, Arc::downgrade(self))))
            .await?;
        Ok(conn.send.clone())
    }

    /// Ends the connection, if there is one (at the end of a point).
    pub(super) fn abort(&self) {
        if let Some(conn) = self.conn.get() {
            conn._driver.0.abort();
        }
    }

    /// Notes that a request went out on the connection (the first one counts it as carrying
    /// requests).
    pub(super) fn carried(&self, shared: &Shared) {
        if let Some(conn) = self.conn.get() {
            if !conn.carried.swap(true, Ordering::Relaxed) {
                shared
                    .ctx
                    .metrics
                    .incr(Counter::ConnectionsCarryingRequests);
            }
        }
    }
}

/// Opens the session's connection with the browser's SETTINGS and windows, and starts its driver.
async fn open(shared: &Arc<Shared>, session: Weak<Session>) -> Result<Conn, LoadError> {
    let ctx = &shared.ctx;
    let started = Instant::now();
    let (io, _) = connect(&shared.target, ctx.connect_timeout)
        .await
        .inspect_err(|e| ctx.connect_failed(e))?;
    let rules = H2Rules::of(ctx.profile);
    let handshake = rules.client().handshake::<_, Bytes>(io);
    let left = ctx.connect_timeout.saturating_sub(started.elapsed());
    let (send, mut connection) = tokio::time::timeout(left, handshake)
        .await
        .map_err(|_| LoadError::Timeout {
            what: "HTTP/2 handshake",
            addr: shared.target.addr,
            after: ctx.connect_timeout,
        })?
        .map_err(LoadError::Http2)?;
    ctx.connect_succeeded();
    ctx.metrics.record(Latency::Connect, started.elapsed());
    ctx.metrics.incr(Counter::ConnectionsOpened);
    let origin = Arc::downgrade(shared);
    let driver = tokio::spawn(async move {
        let mut reported = rules::INITIAL_STREAMS;
        let ended = poll_fn(|cx| {
            let polled = Pin::new(&mut connection).poll(cx);
            let limit = rules.stream_limit(connection.max_concurrent_send_streams());
            if limit != reported {
                reported = limit;
                if let (Some(origin), Some(session)) = (origin.upgrade(), session.upgrade()) {
                    origin.set_limit(&session, limit);
                }
            }
            polled
        })
        .await;
        if let Err(e) = ended {
            tracing::debug!("http/2 connection ended: {e}");
        }
        if let (Some(origin), Some(session)) = (origin.upgrade(), session.upgrade()) {
            origin.retire(&session);
        }
    });
    Ok(Conn {
        send,
        carried: AtomicBool::new(false),
        _driver: AbortOnDrop(driver),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under a limit of 3, h2 opens streams 1, 3 and 5 and holds 7. Two tasks that took ids 5
    /// and 7 may record them in the other order: `held` follows the ids, so the stream h2 holds
    /// is the one that waits.
    #[test]
    fn held_follows_h2s_stream_ids_not_the_order_they_were_recorded() {
        let session = Arc::new(Session::new());
        session.limit.store(3, Ordering::Relaxed);
        let first = session.mark_sent(1);
        let _second = session.mark_sent(3);
        let fourth = session.mark_sent(7);
        let third = session.mark_sent(5);
        assert!(!third.held(), "the third stream is open under a limit of 3");
        assert!(fourth.held(), "h2 holds the fourth");
        drop(first);
        assert!(!fourth.held(), "a stream ended: h2 opens the fourth");
    }
}
