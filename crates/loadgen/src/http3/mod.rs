//! HTTP/3: one QUIC connection per origin with every request on a stream of it, as Chromium keeps
//! it (`docs/browsers.md`, "HTTP/3 streams"; every rule from `scripts/h3-capture/FINDINGS.md`).
//!
//! - Streams: as many requests in flight as the server's MAX_STREAMS allows (a count of streams
//!   ever opened, the page's included), which quinn enforces. The rest wait in the origin's queue
//!   ([`WaitQueue`]) in the order they were made, POSTs among them, whatever their priority (Q3):
//!   one request at a time, the head of the queue, opens its stream, so a MAX_STREAMS raised late
//!   lets them go in order (Q4). A request counts as queued while it, or a request ahead of it,
//!   waits for the server's MAX_STREAMS; waiting for the connection's handshake is `connect`,
//!   not `queue_wait`, as on HTTP/2.
//! - One connection: never a second one because of the stream limit; a new one, lazily at the
//!   next request, after a GOAWAY or when the connection ended (Q5, Q6, Q8). Streams below a
//!   GOAWAY's id run on on the old connection.
//! - A stream reset before its response head is sent again on the same connection, up to
//!   [`MAX_UNPROCESSED_RETRIES`] times, counted in `requests_retried` (Chromium; Q7), or fails
//!   (Firefox). A reset after the response started, and the connection's end, are errors: the
//!   EventSource reconnects after its delay.
//! - A request the server stops (STOP_SENDING) with `H3_NO_ERROR` before it is all sent has been
//!   answered early (RFC 9114, 4.1): its response is read as any other ([`stopped_early`]).
//! - The browser's transport parameters, SETTINGS and `priority` header ([`rules::H3Rules`], by
//!   the point's [`BrowserProfile`](vocab::BrowserProfile)).

mod body;
mod quic;
mod rules;
mod session;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use tokio::sync::{oneshot, watch};

use crate::context::Ctx;
use crate::error::LoadError;
use crate::http2::MAX_UNPROCESSED_RETRIES;
use crate::queue::{Priority, SlotEvent, WaitQueue};
use crate::target::Target;
pub(crate) use body::H3Body;
use rules::{H3Rules, DOCUMENT_PRIORITY};
use session::Session;

/// The RFC 9218 request header both browsers send on HTTP/3.
const PRIORITY: HeaderName = HeaderName::from_static("priority");
use vocab::Counter;

#[derive(Debug)]
pub(crate) struct H3Origin {
    shared: Arc<Shared>,
}

#[derive(Debug)]
pub(super) struct Shared {
    target: Arc<Target>,
    ctx: Arc<Ctx>,
    state: Mutex<State>,
    /// True while the request whose turn it is waits for the server's MAX_STREAMS: then it and
    /// every request behind it count as queued.
    blocked: watch::Sender<bool>,
}

#[derive(Debug)]
struct State {
    /// The session new streams are opened on.
    current: Arc<Session>,
    /// Requests waiting for their turn to open a stream.
    waiters: WaitQueue<Turn>,
    /// A request holds the turn.
    turn_taken: bool,
    /// Sessions retired while streams still ran on them, closed at the end of the point.
    retired: Vec<std::sync::Weak<Session>>,
}

/// The right to open the next stream; passed to the next waiter when dropped.
#[derive(Debug)]
struct Turn(Option<Arc<Shared>>);

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            let mut st = shared.lock();
            st.turn_taken = false;
            shared.pass_turn(&mut st);
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands the free turn to the first waiter still waiting.
    fn pass_turn(self: &Arc<Self>, st: &mut State) {
        if st.turn_taken {
            return;
        }
        if st.waiters.is_empty() {
            self.blocked
                .send_if_modified(|b| std::mem::replace(b, false));
            return;
        }
        st.turn_taken = true;
        if let Err(mut unwanted) = st.waiters.grant(Turn(Some(self.clone()))) {
            // Only waiters that gave up were left: take the turn back without Drop.
            unwanted.0 = None;
            st.turn_taken = false;
            self.blocked
                .send_if_modified(|b| std::mem::replace(b, false));
        }
    }

    /// `session` takes no new streams: new requests get a new session, and a new connection.
    pub(super) fn retire(self: &Arc<Self>, session: &Arc<Session>) {
        let mut st = self.lock();
        session.retired.cancel();
        if Arc::ptr_eq(&st.current, session) {
            st.retired.push(Arc::downgrade(session));
            st.current = Arc::new(Session::new());
        }
    }

    fn current(&self) -> Arc<Session> {
        self.lock().current.clone()
    }

    /// The turn at once when nobody holds it or waits, else a place at the back of the queue.
    fn take_turn(self: &Arc<Self>) -> Result<Turn, oneshot::Receiver<Turn>> {
        let mut st = self.lock();
        if !st.turn_taken && st.waiters.is_empty() {
            st.turn_taken = true;
            return Ok(Turn(Some(self.clone())));
        }
        // Chromium serves its queue in creation order whatever the request's priority (Q3).
        Err(st.waiters.push(Priority::Default))
    }
}

/// Whether a request counts as queued, told to its caller once per change.
struct Queued<'a, F: FnMut(SlotEvent)> {
    on_slot: &'a mut F,
    queued: bool,
}

impl<F: FnMut(SlotEvent)> Queued<'_, F> {
    fn set(&mut self, queued: bool) {
        if queued != self.queued {
            self.queued = queued;
            (self.on_slot)(if queued {
                SlotEvent::Requeued
            } else {
                SlotEvent::Granted
            });
        }
    }
}

/// Why one attempt to send a request did not give its response.
enum Attempt {
    /// The session takes no new streams (a GOAWAY met, the connection ended): the request tries
    /// the next session, keeping its turn.
    Moved(Turn),
    /// Reset before its response head: sent again, as Chromium does.
    Unprocessed(h3::error::StreamError),
    Failed(LoadError),
}

impl Attempt {
    /// An error of the request's stream before its response head.
    fn before_response(e: h3::error::StreamError) -> Attempt {
        match e {
            e @ h3::error::StreamError::RemoteTerminate { .. } => Attempt::Unprocessed(e),
            e => Attempt::Failed(LoadError::Http3(e)),
        }
    }
}

impl H3Origin {
    pub fn new(target: Arc<Target>, ctx: Arc<Ctx>) -> Self {
        H3Origin {
            shared: Arc::new(Shared {
                target,
                ctx,
                state: Mutex::new(State {
                    current: Arc::new(Session::new()),
                    waiters: WaitQueue::default(),
                    turn_taken: false,
                    retired: Vec::new(),
                }),
                blocked: watch::Sender::new(false),
            }),
        }
    }

    /// Sends a request once its turn comes and the server's MAX_STREAMS allows its stream, then
    /// returns the response head with the body. `on_slot` hears when the request is granted (and
    /// when it waits again) and when it is sent.
    pub async fn send(
        &self,
        mut request: http::Request<()>,
        body: Bytes,
        priority: Priority,
        mut on_slot: impl FnMut(SlotEvent),
    ) -> Result<(http::Response<()>, H3Body), LoadError> {
        let rules = H3Rules::of(self.shared.ctx.profile);
        let urgency = if priority == Priority::High {
            DOCUMENT_PRIORITY
        } else {
            rules.request_priority
        };
        request
            .headers_mut()
            .insert(PRIORITY, HeaderValue::from_static(urgency));
        let mut queued = Queued {
            on_slot: &mut on_slot,
            queued: true,
        };
        let mut retries = 0;
        let mut turn = None;
        loop {
            match self
                .attempt(&request, &body, &mut queued, turn.take())
                .await
            {
                Ok(done) => return Ok(done),
                Err(Attempt::Moved(kept)) => turn = Some(kept),
                Err(Attempt::Unprocessed(e))
                    if rules.retry_reset_before_response && retries < MAX_UNPROCESSED_RETRIES =>
                {
                    retries += 1;
                    self.shared.ctx.metrics.incr(Counter::RequestsRetried);
                    tracing::debug!("http/3 request reset before its response, sent again: {e}");
                    queued.set(true);
                }
                Err(Attempt::Unprocessed(e)) => return Err(LoadError::Http3(e)),
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
    }

    /// Waits for the turn to open a stream. A request that finds the head of the queue waiting
    /// for the server's MAX_STREAMS, or sees it start to, counts as queued until its own stream
    /// opens; one that only waits for requests ahead to open theirs does not.
    async fn turn<F: FnMut(SlotEvent)>(&self, queued: &mut Queued<'_, F>) -> Turn {
        let shared = &self.shared;
        let mut blocked = shared.blocked.subscribe();
        let taken = shared.take_turn();
        queued.set(*blocked.borrow_and_update());
        let mut rx = match taken {
            Ok(turn) => return turn,
            Err(rx) => rx,
        };
        loop {
            tokio::select! {
                turn = &mut rx => return turn.expect("an h3 origin dropped a waiting request"),
                _ = blocked.changed() => {
                    if *blocked.borrow_and_update() {
                        queued.set(true);
                    }
                }
            }
        }
    }

    /// One try: the turn, the connection, the stream, the response head.
    async fn attempt<F: FnMut(SlotEvent)>(
        &self,
        request: &http::Request<()>,
        body: &Bytes,
        queued: &mut Queued<'_, F>,
        turn: Option<Turn>,
    ) -> Result<(http::Response<()>, H3Body), Attempt> {
        let shared = &self.shared;
        let turn = match turn {
            Some(turn) => turn,
            None => self.turn(queued).await,
        };
        let session = shared.current();
        let mut send = session.connection(shared).await.map_err(Attempt::Failed)?;
        let mut open = std::pin::pin!(send.send_request(clone_request(request)));
        let first = open.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let opened = match first {
            Poll::Ready(r) => {
                shared
                    .blocked
                    .send_if_modified(|b| std::mem::replace(b, false));
                r
            }
            Poll::Pending => {
                // Over the server's MAX_STREAMS: this request and those behind it wait.
                shared
                    .blocked
                    .send_if_modified(|b| !std::mem::replace(b, true));
                queued.set(true);
                tokio::select! {
                    r = open => r,
                    () = session.retired.cancelled() => return Err(Attempt::Moved(turn)),
                }
            }
        };
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(h3::error::StreamError::RemoteClosing { .. }) => {
                shared.retire(&session);
                return Err(Attempt::Moved(turn));
            }
            Err(e) => return Err(Attempt::Failed(LoadError::Http3(e))),
        };
        // The stream is open and its HEADERS handed to QUIC: the next request may open its own.
        drop(turn);
        queued.set(false);
        (queued.on_slot)(SlotEvent::Sent);
        session.carried(&shared.ctx);
        let sent = async {
            if !body.is_empty() {
                stream.send_data(body.clone()).await?;
            }
            stream.finish().await
        };
        match sent.await {
            Ok(()) => {}
            // The server answers without the rest of the request: its response is still read.
            Err(e) if stopped_early(&e) => {}
            Err(e) => return Err(Attempt::before_response(e)),
        }
        match stream.recv_response().await {
            Ok(response) => Ok((response, H3Body::new(stream, session))),
            Err(e) => Err(Attempt::before_response(e)),
        }
    }

    /// Ends every connection of the origin (at the end of a point).
    pub fn close(&self) {
        let mut st = self.shared.lock();
        st.current.close(&self.shared.ctx);
        for session in st.retired.drain(..).filter_map(|s| s.upgrade()) {
            session.close(&self.shared.ctx);
        }
        st.current = Arc::new(Session::new());
    }
}

/// Whether sending a request failed because the server stopped reading it with `H3_NO_ERROR`
/// (STOP_SENDING): a server that needs no more of the request may answer it early and say so, and
/// "clients MUST NOT discard complete responses as a result of having their request terminated
/// abruptly" (RFC 9114, 4.1). Such a request goes on to read its response. ssebench's own server
/// does this whenever it answers before a request's end has arrived.
pub fn stopped_early(error: &h3::error::StreamError) -> bool {
    matches!(
        error,
        h3::error::StreamError::RemoteTerminate { code, .. } if *code == h3::error::Code::H3_NO_ERROR
    )
}

/// Completes a QUIC handshake with ALPN `h3` and closes the connection: what the probe before a
/// run checks on the h3 arm.
pub(crate) async fn handshake(
    target: &Target,
    profile: vocab::BrowserProfile,
    timeout: std::time::Duration,
) -> Result<(), LoadError> {
    let (connection, _) = quic::connect(target, &H3Rules::of(profile), timeout).await?;
    connection.close(quinn::VarInt::from_u32(quic::H3_NO_ERROR), b"");
    Ok(())
}

fn clone_request(request: &http::Request<()>) -> http::Request<()> {
    let mut copy = http::Request::new(());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}
