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
    /// The requests handed to h2 on this connection and not yet ended, by send order; see
    /// [`Session::held`].
    sent: std::sync::Mutex<std::collections::BTreeSet<u64>>,
    next_sent: std::sync::atomic::AtomicU64,
    /// Woken when a sent request ends or the limit changes.
    pub(super) changed: tokio::sync::Notify,
}

/// A request handed to h2 on a session, until its stream ends (dropped with the permit).
#[derive(Debug)]
pub(crate) struct Sent {
    session: Arc<Session>,
    seq: u64,
}

impl Sent {
    /// Whether h2 still holds this request (see [`Session::held`]).
    pub(super) fn held(&self) -> bool {
        self.session.held(self.seq)
    }
}

impl Drop for Sent {
    fn drop(&mut self) {
        self.session
            .sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.seq);
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
            next_sent: std::sync::atomic::AtomicU64::new(0),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Records a request handed to h2 (call just before `send_request`).
    pub(super) fn mark_sent(self: &Arc<Self>) -> Sent {
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let seq = self.next_sent.fetch_add(1, Ordering::Relaxed);
        sent.insert(seq);
        Sent {
            session: self.clone(),
            seq,
        }
    }

    /// Whether h2 still holds request `seq` unsent: h2 writes a new stream's HEADERS only while
    /// the server's limit allows, in stream order, so a request with at least `limit` earlier
    /// requests still running on the connection waits inside h2. That happens when the server's
    /// SETTINGS (a limit under the 100 assumed before them) are read between a request's grant
    /// and the write of its HEADERS; Chromium, which writes at once, would have sent it and seen
    /// it refused. Either way the request waits for a slot: it counts as queued.
    pub(super) fn held(&self, seq: u64) -> bool {
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.range(..seq).count() >= self.limit.load(Ordering::Relaxed)
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
        let conn = self
            .conn
            .get_or_try_init(|| open(shared, Arc::downgrade(self)))
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
    let mut builder = h2::client::Builder::new();
    builder
        .initial_max_send_streams(rules::INITIAL_STREAMS)
        .header_table_size(rules.header_table_size)
        .enable_push(rules.enable_push)
        .initial_window_size(rules.stream_window)
        .initial_connection_window_size(rules.connection_window)
        .data_frame_budget(rules.data_frame_budget());
    if let Some(size) = rules.max_header_list_size {
        builder.max_header_list_size(size);
    }
    let handshake = builder.handshake::<_, Bytes>(io);
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
