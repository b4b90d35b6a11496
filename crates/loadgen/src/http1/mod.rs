//! HTTP/1.1: the pool of one virtual client for one origin, as Chromium keeps it
//! (`docs/browsers.md`, "Six connections per origin"), and a request sent on a slot of it.
//!
//! - At most `max` connections per origin (6 in every browser); idle keep-alive connections count.
//! - A request waiting for a slot sits in a priority queue, FIFO within a priority
//!   ([`WaitQueue`]).
//! - A request holds its connection until its response body is done. An SSE stream therefore holds
//!   one slot for as long as it is open; closing it closes the connection and the next waiter gets
//!   a new one. A POST whose response was read to the end gives its connection back for reuse.
//!
//! A [`Lease`] is one slot. Dropping it closes its connection (if any) and frees the slot; a waiter
//! that gave up (its task ended) is skipped, so slots never leak.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use crate::connect::connect;
use crate::context::Ctx;
use crate::error::LoadError;
use crate::queue::{Priority, SlotEvent, WaitQueue};
use crate::target::Target;
use vocab::{Counter, Latency};

pub(crate) type H1Send = http1::SendRequest<Full<Bytes>>;

#[derive(Debug)]
pub(crate) struct H1Pool {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    target: Arc<Target>,
    ctx: Arc<Ctx>,
    max: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Slots in use: connections open or being opened, idle ones included.
    open: usize,
    idle: Vec<Conn>,
    waiters: WaitQueue<Lease>,
}

/// One open HTTP/1.1 connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub send: H1Send,
    _task: AbortOnDrop,
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One slot of the pool, with its connection once there is one.
#[derive(Debug)]
pub(crate) struct Lease {
    shared: Option<Arc<Shared>>,
    conn: Option<Conn>,
}

impl Lease {
    /// The connection, opening one in this slot if the lease has none.
    pub async fn connection(&mut self) -> Result<&mut H1Send, LoadError> {
        let reusable = match &mut self.conn {
            Some(conn) => conn.send.ready().await.is_ok(),
            None => false,
        };
        if !reusable {
            // No connection yet, or the idle one was closed by the server meanwhile: open a new
            // one in this slot.
            self.conn = None;
            let shared = self.shared.as_ref().expect("a live lease has its pool");
            // Boxed: inline, the opening (TCP, TLS, hyper's handshake) would size every
            // request's future, reused connection or not, until its response head.
            self.conn = Some(Box::pin(open(&shared.target, &shared.ctx)).await?);
        }
        Ok(&mut self.conn.as_mut().expect("set above").send)
    }

    /// Gives the connection back to the pool for reuse (its response was read to the end).
    pub fn release_reusable(mut self) {
        if let Some(shared) = self.shared.take() {
            release(&shared, self.conn.take());
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            // Close the connection first (abort its task), then hand the slot on.
            drop(self.conn.take());
            release(&shared, None);
        }
    }
}

impl H1Pool {
    pub fn new(target: Arc<Target>, ctx: Arc<Ctx>, max: usize) -> Self {
        H1Pool {
            shared: Arc::new(Shared {
                target,
                ctx,
                max: max.max(1),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Waits for a slot: an idle connection, a new connection under the cap, or the turn in the
    /// queue. The caller's `queue_wait` ends when this returns.
    pub async fn acquire(&self, priority: Priority) -> Lease {
        let rx = {
            let mut st = lock(&self.shared.state);
            if let Some(conn) = take_idle(&mut st) {
                return self.lease(Some(conn));
            }
            if st.open < self.shared.max {
                st.open += 1;
                return self.lease(None);
            }
            st.waiters.push(priority)
        };
        // The pool outlives its waiters, so the sender is never dropped without sending.
        rx.await.expect("pool dropped while a request waited")
    }

    /// Sends `request` once a slot is granted and returns the response head, with the lease that
    /// holds the slot (and its connection) until the body is done. `on_slot` hears the grant (the
    /// end of `queue_wait`) and the instant the request is written.
    pub async fn send(
        &self,
        request: Request<Full<Bytes>>,
        priority: Priority,
        mut on_slot: impl FnMut(SlotEvent),
    ) -> Result<(Response<Incoming>, Lease), LoadError> {
        let mut lease = self.acquire(priority).await;
        on_slot(SlotEvent::Granted);
        let send = lease.connection().await?;
        on_slot(SlotEvent::Sent);
        let response = send.send_request(request).await.map_err(LoadError::Http1)?;
        Ok((response, lease))
    }

    fn lease(&self, conn: Option<Conn>) -> Lease {
        Lease {
            shared: Some(self.shared.clone()),
            conn,
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn take_idle(st: &mut State) -> Option<Conn> {
    while let Some(conn) = st.idle.pop() {
        if !conn.send.is_closed() {
            return Some(conn);
        }
        st.open -= 1;
    }
    None
}

/// Hands a freed slot (with its connection when `conn` is reusable) to the first live waiter, or
/// keeps the connection idle, or frees the slot.
fn release(shared: &Arc<Shared>, mut conn: Option<Conn>) {
    if conn.as_ref().is_some_and(|c| c.send.is_closed()) {
        conn = None;
    }
    let mut st = lock(&shared.state);
    let lease = Lease {
        shared: Some(shared.clone()),
        conn,
    };
    if let Err(mut unwanted) = st.waiters.grant(lease) {
        // Nobody waits: take the lease back without running its Drop.
        unwanted.shared = None;
        match unwanted.conn.take() {
            Some(c) => st.idle.push(c),
            None => st.open -= 1,
        }
    }
}

async fn open(target: &Target, ctx: &Ctx) -> Result<Conn, LoadError> {
    let started = Instant::now();
    let (io, _) = connect(target, ctx.connect_timeout)
        .await
        .inspect_err(|e| ctx.connect_failed(e))?;
    let (send, conn) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(LoadError::Http1)?;
    ctx.connect_succeeded();
    ctx.metrics.record(Latency::Connect, started.elapsed());
    ctx.metrics.incr(Counter::ConnectionsOpened);
    // Every connection this pool opens is opened for a waiting request, so it carries one.
    ctx.metrics.incr(Counter::ConnectionsCarryingRequests);
    let task = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("http/1.1 connection ended: {e}");
        }
    });
    Ok(Conn {
        send,
        _task: AbortOnDrop(task),
    })
}
