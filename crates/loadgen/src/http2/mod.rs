//! HTTP/2: one connection per origin with every stream multiplexed on it, as Chromium keeps it
//! (`docs/browsers.md`, "HTTP/2 streams" and "GOAWAY and refused streams").
//!
//! - Stream slots: a connection carries at most the server's `SETTINGS_MAX_CONCURRENT_STREAMS`,
//!   capped as the profile's browser caps it, and 100 before the server's SETTINGS and when they
//!   carry no limit ([`rules`]). The first requests of a new connection are granted at once and
//!   sent without waiting for SETTINGS; a later SETTINGS change raises or lowers the limit.
//! - Past the limit, requests wait in the origin's queue ([`WaitQueue`]) on the same connection:
//!   no second connection is opened while the first one lives. `queue_wait` ends when a request
//!   is granted its slot, before any connection setup.
//! - GOAWAY: the connection takes no new streams; the next request opens a new connection (a new
//!   [`Session`]). Streams the server never processed (above the GOAWAY's last stream id, or
//!   refused with REFUSED_STREAM) are sent again, on the new connection, without counting as
//!   errors (counted in `requests_retried`), up to [`rules::MAX_UNPROCESSED_RETRIES`] times;
//!   streams below the last stream id run to their end on the old connection.
//! - The browser's SETTINGS and windows ([`rules::H2Rules`], by the point's
//!   [`BrowserProfile`](vocab::BrowserProfile)), so that a client with hundreds of ticking
//!   streams never exhausts h2's small-DATA-frame budget.

mod rules;
mod session;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use h2::{Reason, RecvStream};
use http::Response;

use crate::connect::Io;
use crate::context::Ctx;
use crate::error::LoadError;
use crate::queue::{Priority, SlotEvent, WaitQueue};
use crate::target::Target;
use session::Session;

pub(crate) use rules::MAX_UNPROCESSED_RETRIES;
pub use rules::{BROWSER_STREAM_CAP, INITIAL_STREAMS};
use vocab::Counter;

#[derive(Debug)]
pub(crate) struct H2Origin {
    shared: Arc<Shared>,
}

#[derive(Debug)]
pub(super) struct Shared {
    target: Arc<Target>,
    ctx: Arc<Ctx>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The session new requests are granted slots on.
    current: Arc<Session>,
    waiters: WaitQueue<Permit>,
    /// Sessions retired while streams still ran on them, closed at the end of the point.
    retired: Vec<std::sync::Weak<Session>>,
}

/// A granted stream slot; frees it when dropped (held by the response body).
#[derive(Debug)]
pub(crate) struct Permit {
    shared: Arc<Shared>,
    session: Option<Arc<Session>>,
    /// The request as handed to h2, once it is.
    sent: Option<session::Sent>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let mut st = self.shared.lock();
            session.active.fetch_sub(1, Ordering::Relaxed);
            self.shared.grant(&mut st);
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Grants free slots of the current session to waiters, in queue order.
    fn grant(self: &Arc<Self>, st: &mut State) {
        while st.current.has_free_slot() && !st.waiters.is_empty() {
            let session = st.current.clone();
            session.active.fetch_add(1, Ordering::Relaxed);
            let permit = Permit {
                shared: self.clone(),
                session: Some(session),
                sent: None,
            };
            if let Err(mut unwanted) = st.waiters.grant(permit) {
                // Only waiters that gave up were left: take the slot back without Drop.
                if let Some(session) = unwanted.session.take() {
                    session.active.fetch_sub(1, Ordering::Relaxed);
                }
                break;
            }
        }
    }

    /// The server's stream limit for `session` changed (SETTINGS).
    pub(super) fn set_limit(self: &Arc<Self>, session: &Arc<Session>, limit: usize) {
        let mut st = self.lock();
        session.limit.store(limit, Ordering::Relaxed);
        session.changed.notify_waiters();
        if Arc::ptr_eq(&st.current, session) {
            self.grant(&mut st);
        }
    }

    /// `session` takes no new streams (GOAWAY, or its connection ended): new requests get a new
    /// session, and a new connection.
    pub(super) fn retire(self: &Arc<Self>, session: &Arc<Session>) {
        let mut st = self.lock();
        if Arc::ptr_eq(&st.current, session) {
            st.retired.push(Arc::downgrade(session));
            st.current = Arc::new(Session::new());
            self.grant(&mut st);
        }
    }
}

impl H2Origin {
    pub fn new(target: Arc<Target>, ctx: Arc<Ctx>) -> Self {
        H2Origin {
            shared: Arc::new(Shared {
                target,
                ctx,
                state: Mutex::new(State {
                    current: Arc::new(Session::new()),
                    waiters: WaitQueue::default(),
                    retired: Vec::new(),
                }),
            }),
        }
    }

    /// Waits for a stream slot on the current session.
    async fn acquire(&self, priority: Priority) -> Permit {
        let rx = {
            let mut st = self.shared.lock();
            // Queued requests first (this also drops waiters that gave up).
            self.shared.grant(&mut st);
            if st.waiters.is_empty() && st.current.has_free_slot() {
                let session = st.current.clone();
                session.active.fetch_add(1, Ordering::Relaxed);
                return Permit {
                    shared: self.shared.clone(),
                    session: Some(session),
                    sent: None,
                };
            }
            st.waiters.push(priority)
        };
        // The origin outlives its waiters' grants: a sender is never dropped unsent.
        rx.await.expect("an h2 origin dropped a waiting request")
    }

    /// Sends a request once it has a stream slot and returns the response head, with the slot.
    /// `on_slot` hears when the request is granted a slot (and when a refusal requeues it).
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future"
    )]
    pub fn send<'a>(
        &'a self,
        request: http::Request<()>,
        body: Bytes,
        priority: Priority,
        mut on_slot: impl FnMut(SlotEvent) + 'a,
    ) -> impl std::future::Future<Output = Result<(Response<RecvStream>, Permit), LoadError>> + 'a
    {
        // An `async move` block, not an `async fn`: an `async fn` keeps each argument twice in its
        // future, as passed and as moved into its body (the request alone is 224 bytes), and a
        // stream waits in this future until its response head.
        async move {
            let mut retries = 0;
            loop {
                let mut permit = self.acquire(priority).await;
                on_slot(SlotEvent::Granted);
                let session = permit
                    .session
                    .clone()
                    .expect("a live permit has its session");
                let attempt = self.try_send(&session, &request, &body, &mut on_slot).await;
                match attempt {
                    Ok((response, sent)) => {
                        permit.sent = Some(sent);
                        return Ok((response, permit));
                    }
                    Err(Attempt::Unprocessed(e)) if retries < rules::MAX_UNPROCESSED_RETRIES => {
                        retries += 1;
                        if e.is_go_away() {
                            self.shared.retire(&session);
                        }
                        self.shared.ctx.metrics.incr(Counter::RequestsRetried);
                        tracing::debug!("http/2 request refused unprocessed, sent again: {e}");
                        drop(permit);
                        on_slot(SlotEvent::Requeued);
                    }
                    Err(Attempt::Unprocessed(e)) => return Err(LoadError::Http2(e)),
                    Err(Attempt::Failed(e)) => return Err(e),
                }
            }
        }
    }

    async fn try_send(
        &self,
        session: &Arc<Session>,
        request: &http::Request<()>,
        body: &Bytes,
        on_slot: &mut impl FnMut(SlotEvent),
    ) -> Result<(Response<RecvStream>, session::Sent), Attempt> {
        let send = session
            .connection(&self.shared)
            .await
            .map_err(Attempt::Failed)?;
        // A server limit learned while the connection opened (after this request was granted a
        // slot under the 100 assumed before SETTINGS) makes h2 hold the request until a stream
        // ends: it is queued, as in Chromium, until h2 lets it go.
        let mut send = send;
        let ready = send.poll_ready(&mut Context::from_waker(Waker::noop()));
        match ready {
            Poll::Ready(r) => r.map_err(Attempt::classify)?,
            Poll::Pending => {
                on_slot(SlotEvent::Requeued);
                std::future::poll_fn(|cx| send.poll_ready(cx))
                    .await
                    .map_err(Attempt::classify)?;
                on_slot(SlotEvent::Granted);
            }
        }
        let end_of_stream = body.is_empty();
        on_slot(SlotEvent::Sent);
        let (response, mut stream) = send
            .send_request(clone_request(request), end_of_stream)
            .map_err(Attempt::classify)?;
        let sent = session.mark_sent(stream.stream_id().as_u32());
        session.carried(&self.shared);
        // A server limit learned after this request was granted (its SETTINGS were read while the
        // connection opened) makes h2 hold the stream in its own queue until a stream ends: it is
        // queued, as in Chromium, until h2 opens it.
        let pending = send
            .poll_ready(&mut Context::from_waker(Waker::noop()))
            .is_pending();
        if pending {
            on_slot(SlotEvent::Requeued);
            std::future::poll_fn(|cx| send.poll_ready(cx))
                .await
                .map_err(Attempt::classify)?;
            on_slot(SlotEvent::Granted);
        }
        if !end_of_stream {
            stream
                .send_data(body.clone(), true)
                .map_err(Attempt::classify)?;
        }
        // Until its response: while h2 holds the request unsent behind the server's limit, it
        // waits for a slot (see `Session::held`) until earlier streams end. (A limit lowered
        // later, with the request already written, would restart its wait too; servers do not do
        // that.) It counts as queued until its response head in any case (`QueueTimer`).
        let mut response = std::pin::pin!(response);
        let mut requeued = false;
        loop {
            let changed = session.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let held = sent.held();
            if held != requeued {
                requeued = held;
                on_slot(if held {
                    SlotEvent::Requeued
                } else {
                    SlotEvent::Granted
                });
            }
            tokio::select! {
                r = &mut response => {
                    if requeued {
                        on_slot(SlotEvent::Granted);
                    }
                    return r.map(|r| (r, sent)).map_err(Attempt::classify);
                }
                // A limit learned after the request was handed over (the race above), or an
                // earlier stream that ended.
                () = &mut changed => {}
            }
        }
    }

    /// Ends every connection of the origin (at the end of a point).
    pub fn close(&self) {
        let mut st = self.shared.lock();
        st.current.abort();
        for session in st.retired.drain(..).filter_map(|s| s.upgrade()) {
            session.abort();
        }
        st.current = Arc::new(Session::new());
    }
}

/// The HTTP/2 handshake on `io` up to the server's SETTINGS (a PING round trip), with h2's own
/// settings; nothing is requested, and the connection is dropped after.
pub(crate) async fn settings_round_trip(io: Io) -> Result<(), LoadError> {
    let (_send, mut connection) = h2::client::handshake(io).await.map_err(LoadError::Http2)?;
    let mut ping_pong = connection.ping_pong().expect("taken once");
    let driver = async {
        // Drives the connection until the PING below is answered (or the peer fails).
        (&mut connection).await.map_err(LoadError::Http2)
    };
    tokio::select! {
        pong = ping_pong.ping(h2::Ping::opaque()) => pong.map(drop).map_err(LoadError::Http2),
        ended = driver => ended,
    }
}

/// Why one attempt to send a request failed.
enum Attempt {
    /// The server did not process it (GOAWAY above the last stream id, REFUSED_STREAM): safe to
    /// send again (RFC 9113, section 8.7).
    Unprocessed(h2::Error),
    Failed(LoadError),
}

impl Attempt {
    fn classify(e: h2::Error) -> Attempt {
        let refused = e.is_reset() && e.reason() == Some(Reason::REFUSED_STREAM);
        if (e.is_go_away() && e.is_remote()) || refused {
            Attempt::Unprocessed(e)
        } else {
            Attempt::Failed(LoadError::Http2(e))
        }
    }
}

fn clone_request(request: &http::Request<()>) -> http::Request<()> {
    let mut copy = http::Request::new(());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    copy
}
