//! One HTTP/3 connection of a virtual client (Chromium's `QuicChromiumClientSession`): the QUIC
//! connection, opened by the first request whose turn comes on it, with h3 over it and a driver
//! task that reads the server's control stream (SETTINGS, GOAWAY) until the connection ends.
//!
//! A session is retired when it takes no new streams: a request met the server's GOAWAY on it,
//! or the connection ended. Then the next request opens a new session, lazily, as Chromium does
//! (`scripts/h3-capture/FINDINGS.md`, Q6 and Q8). When the connection ends, its packet counts go
//! to the point's QUIC tally.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use super::quic;
use super::rules::H3Rules;
use super::Shared;
use crate::context::Ctx;
use crate::error::LoadError;
use vocab::{Counter, Latency};

/// The h3 handle requests are sent with.
pub(crate) type H3Send = h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>;

/// One connection's session, and the connection once opened.
#[derive(Debug)]
pub(crate) struct Session {
    conn: OnceCell<Conn>,
    /// Cancelled when the session takes no new streams (GOAWAY met, connection ended, end of the
    /// point).
    pub(super) retired: CancellationToken,
}

struct Conn {
    send: H3Send,
    quic: quinn::Connection,
    carried: AtomicBool,
    /// The connection's packet counts went to the point's tally.
    tallied: AtomicBool,
    _driver: AbortOnDrop,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("remote", &self.quic.remote_address())
            .finish_non_exhaustive()
    }
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
            conn: OnceCell::new(),
            retired: CancellationToken::new(),
        }
    }

    /// A handle to send requests on the connection, which the first caller opens. A failed
    /// connect leaves the session without one: the next caller tries again.
    pub(super) async fn connection(
        self: &Arc<Self>,
        shared: &Arc<Shared>,
    ) -> Result<H3Send, LoadError> {
        let conn = self
            .conn
            .get_or_try_init(|| open(shared, Arc::downgrade(self)))
            .await?;
        Ok(conn.send.clone())
    }

    /// Notes that a request went out on the connection (the first one counts it).
    pub(super) fn carried(&self, ctx: &Ctx) {
        if let Some(conn) = self.conn.get() {
            if !conn.carried.swap(true, Ordering::Relaxed) {
                ctx.metrics.incr(Counter::ConnectionsCarryingRequests);
            }
        }
    }

    /// Closes the connection, if there is one (at the end of a point), and tallies its packets.
    pub(super) fn close(&self, ctx: &Ctx) {
        self.retired.cancel();
        if let Some(conn) = self.conn.get() {
            conn.quic
                .close(quinn::VarInt::from_u32(quic::H3_NO_ERROR), b"");
            tally(conn, ctx);
        }
    }
}

/// Adds a connection's packet counts to the point's QUIC tally, once.
fn tally(conn: &Conn, ctx: &Ctx) {
    if !conn.tallied.swap(true, Ordering::Relaxed) {
        ctx.quic.add(&conn.quic.stats());
    }
}

/// Opens the session's connection with the browser's transport parameters and SETTINGS, and
/// starts its driver.
async fn open(shared: &Arc<Shared>, session: Weak<Session>) -> Result<Conn, LoadError> {
    let ctx = &shared.ctx;
    let rules = H3Rules::of(ctx.profile);
    let started = Instant::now();
    let (quic, _) = quic::connect(&shared.target, &rules, ctx.connect_timeout)
        .await
        .inspect_err(|e| ctx.connect_failed(e))?;
    let mut builder = h3::client::builder();
    builder.send_grease(true);
    if let Some(size) = rules.max_field_section_size {
        builder.max_field_section_size(size);
    }
    // Sends the control stream and SETTINGS; nothing waits for the server's.
    let (mut driver, send) = builder
        .build(h3_quinn::Connection::new(quic.clone()))
        .await
        .map_err(LoadError::Http3Connection)?;
    ctx.connect_succeeded();
    ctx.metrics.record(Latency::Connect, started.elapsed());
    ctx.metrics.incr(Counter::ConnectionsOpened);
    let (origin, ctx_weak, quic_ref) = (Arc::downgrade(shared), Arc::downgrade(ctx), quic.clone());
    let driver = tokio::spawn(async move {
        let ended = poll_fn(|cx| driver.poll_close(cx)).await;
        if !ended.is_h3_no_error() {
            tracing::debug!("http/3 connection ended: {ended}");
        }
        if let (Some(origin), Some(session)) = (origin.upgrade(), session.upgrade()) {
            origin.retire(&session);
            if let (Some(ctx), Some(conn)) = (ctx_weak.upgrade(), session.conn.get()) {
                tally(conn, &ctx);
            }
        }
        drop(quic_ref);
    });
    Ok(Conn {
        send,
        quic,
        carried: AtomicBool::new(false),
        tallied: AtomicBool::new(false),
        _driver: AbortOnDrop(driver),
    })
}
