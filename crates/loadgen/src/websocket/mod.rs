//! One WebSocket of the `ws` and `wss` arms, opened and kept as a chat page in a browser keeps it.
//!
//! - It is created, then waits for the browser's rules to let it connect ([`WsGate`]: the
//!   per-client throttle delay and one handshake at a time per endpoint; over 255 per client it
//!   fails at once): that wait is its `queue_wait`.
//! - Its own connection: TCP (+ TLS with ALPN `http/1.1` only, checked), then the RFC 6455
//!   handshake (`GET` with `Upgrade: websocket` and an `Origin`), on the point's WebSocket path
//!   (or the path of the arm's target URL). The connection is counted in
//!   `connections_opened` and `connections_carrying_requests`, its setup in `connect`; the `101`
//!   ends `time_to_open`.
//! - Every text message received is one event: counted, timed (`time_to_first_event`;
//!   `event_delivery` from a tick's `"sent_ns"`; `fanout` and the loss proof by its
//!   `"ssebench_token"`, as an SSE event's data).
//! - The client's first socket also writes the client's chat messages ([`Outbox`]) and takes
//!   the copy of its own messages coming back as their echo (`post_rtt`).
//! - After a Close frame, an error or the end of the connection, it opens a new connection after
//!   the reconnection delay, with no `Last-Event-ID` to resume from: what was published
//!   meanwhile is not owed to it (the loss proof, `crate::delivery`). A handshake answered with
//!   another status than `101` is counted (`errors_status`) and retried the same way (a page's
//!   own reconnect loop; a WebSocket never reconnects by itself).

mod gate;
mod outbox;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use http::HeaderValue;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::connect::{connect, Io};
use crate::context::{Ctx, PointShared};
use crate::delivery::StreamLedger;
use crate::error::LoadError;
use crate::metrics::Gauge;
use crate::queue::{QueueTimer, SlotEvent};
use vocab::{Counter, Latency};

pub(crate) use gate::WsGate;
pub(crate) use outbox::Outbox;

/// The largest message a socket accepts: a browser has no limit of its own worth emulating, and
/// the server's ticks are at most 1 MiB (`sse_server::bounds::MAX_TICK_SIZE`) plus their JSON.
const MAX_MESSAGE: usize = 2 << 20;

type Socket = WebSocketStream<Io>;

/// Runs one WebSocket of a client whose rules are `gate` until the point stops (the caller drops
/// this future). `outbox`: on the client's first socket, the chat messages it writes. `created`:
/// when the page created it.
pub(crate) async fn run_socket(
    shared: &PointShared,
    gate: &WsGate,
    outbox: Option<&Outbox>,
    created: Instant,
) {
    let metrics = &shared.ctx.metrics;
    metrics.incr(Counter::StreamsRequested);
    let opened = AtomicBool::new(false);
    let first_event = AtomicBool::new(false);
    let _censor = Censor {
        ctx: &shared.ctx,
        created,
        opened: &opened,
        first_event: &first_event,
    };
    let ledger = shared.delivery.register_unresumable();
    let mut state = SocketState {
        created,
        wanted: created,
        opened: &opened,
        first_event: &first_event,
        ledger,
        outbox,
    };
    loop {
        if let Some(err) = connect_once(shared, gate, &mut state).await {
            metrics.error(err.class());
            tracing::debug!("websocket error: {}", vocab::error_chain(&err));
        }
        tokio::time::sleep(shared.reconnect_delay).await;
        metrics.incr(Counter::Reconnects);
        state.wanted = Instant::now();
    }
}

struct SocketState<'a> {
    created: Instant,
    /// When the next socket is wanted, where its `queue_wait` starts: the socket's creation, then
    /// the end of each reconnection delay.
    wanted: Instant,
    opened: &'a AtomicBool,
    first_event: &'a AtomicBool,
    ledger: Option<Arc<StreamLedger>>,
    outbox: Option<&'a Outbox>,
}

/// At the end of the point, a socket that never opened (or never got a message) has waited at
/// least until then: censored `time_to_open` (`time_to_first_event`).
struct Censor<'a> {
    ctx: &'a Ctx,
    created: Instant,
    opened: &'a AtomicBool,
    first_event: &'a AtomicBool,
}

impl Drop for Censor<'_> {
    fn drop(&mut self) {
        if !self.opened.load(Ordering::Relaxed) {
            self.ctx.censor(Latency::TimeToOpen, self.created);
        }
        if !self.first_event.load(Ordering::Relaxed) {
            self.ctx.censor(Latency::TimeToFirstEvent, self.created);
        }
    }
}

/// Tells the ledger when the connection ends, however it ends.
struct Down(Option<Arc<StreamLedger>>);

impl Drop for Down {
    fn drop(&mut self) {
        if let Some(ledger) = &self.0 {
            ledger.closed(Instant::now());
        }
    }
}

/// One connection: admitted, connected, handshaken, then read (and written) until it ends.
/// Returns the error that ended it, if any.
async fn connect_once(
    shared: &PointShared,
    gate: &WsGate,
    state: &mut SocketState<'_>,
) -> Option<LoadError> {
    let ctx = &*shared.ctx;
    let Some(_live) = gate.create() else {
        return Some(LoadError::WebSocketLimit {
            max: gate::MAX_WEBSOCKETS_PER_CLIENT,
        });
    };
    // Queued until its handshake is done; its wait ends when the gate lets it connect.
    let mut queue = QueueTimer::start(ctx, Gauge::StreamsQueued, Latency::QueueWait);
    queue.wanted_at(state.wanted);
    let handshake = gate.admit().await;
    queue.on_slot(SlotEvent::Granted);
    // Boxed: the handshake's future (TCP, TLS, the upgrade) lives only until the socket is open,
    // and would otherwise stay in every socket's task for its whole life.
    let mut ws = match Box::pin(open(shared)).await {
        Ok(ws) => {
            handshake.done(true);
            ws
        }
        Err(e) => {
            handshake.done(false);
            return Some(e);
        }
    };
    let now = Instant::now();
    // Opened after the end of the point: counted queued then, and not opened too.
    let (_open, live) = queue.opened(Gauge::StreamsOpen);
    if live && !state.opened.swap(true, Ordering::Relaxed) {
        ctx.metrics
            .record(Latency::TimeToOpen, now.duration_since(state.created));
        ctx.metrics.incr(Counter::StreamsOpened);
    }
    if let Some(ledger) = &state.ledger {
        ledger.opened(now, false);
    }
    let _down = Down(state.ledger.clone());
    loop {
        let outbox = state.outbox;
        let step = tokio::select! {
            incoming = ws.next() => Step::Received(incoming),
            message = async move {
                match outbox {
                    Some(outbox) => outbox.next().await,
                    None => std::future::pending().await,
                }
            } => Step::Send(message),
        };
        match step {
            Step::Received(Some(Ok(Message::Text(text)))) => on_message(shared, state, &text),
            Step::Received(Some(Ok(Message::Binary(_)))) => on_binary(shared, state),
            Step::Received(Some(Ok(Message::Close(_))) | None) => return None,
            Step::Received(Some(Ok(_))) => {}
            Step::Received(Some(Err(e))) => return Some(LoadError::WebSocket(Box::new(e))),
            Step::Send(message) => {
                let token = message.token;
                if let Some(outbox) = outbox {
                    outbox.writing(ctx, &shared.tokens, token, Instant::now());
                }
                if let Err(e) = ws.send(Message::text(message.body)).await {
                    return Some(LoadError::WebSocket(Box::new(e)));
                }
                if let Some(outbox) = outbox {
                    outbox.written(token);
                }
            }
        }
    }
}

/// What the connection does next.
enum Step {
    Received(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Send(outbox::Outgoing),
}

/// TCP, TLS and the handshake, within the connect timeout.
async fn open(shared: &PointShared) -> Result<Socket, LoadError> {
    let ctx = &*shared.ctx;
    let target = &*shared.target;
    let started = Instant::now();
    let (io, _) = connect(target, ctx.connect_timeout)
        .await
        .inspect_err(|e| ctx.connect_failed(e))?;
    ctx.connect_succeeded();
    ctx.metrics.record(Latency::Connect, started.elapsed());
    ctx.metrics.incr(Counter::ConnectionsOpened);
    // Opened for the handshake, which it carries next.
    ctx.metrics.incr(Counter::ConnectionsCarryingRequests);
    let scheme = target.arm.websocket_scheme().unwrap_or("ws");
    let url = format!("{scheme}://{}{}", target.authority, shared.websocket_path);
    let invalid = |reason: String| LoadError::InvalidTarget {
        url: url.clone(),
        reason,
    };
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| invalid(format!("cannot build the WebSocket handshake: {e}")))?;
    let origin = HeaderValue::from_str(&target.origin())
        .map_err(|e| invalid(format!("cannot build the Origin header: {e}")))?;
    request.headers_mut().insert(http::header::ORIGIN, origin);
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let left = ctx.connect_timeout.saturating_sub(started.elapsed());
    let handshake = tokio_tungstenite::client_async_with_config(request, io, Some(config));
    match tokio::time::timeout(left.max(Duration::from_millis(1)), handshake).await {
        Err(_) => Err(LoadError::Timeout {
            what: "WebSocket handshake",
            addr: target.addr,
            after: ctx.connect_timeout,
        }),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => Err(LoadError::Status {
            what: "WebSocket handshake",
            status: response.status().as_u16(),
        }),
        Ok(Err(e)) => Err(LoadError::WebSocket(Box::new(e))),
        Ok(Ok((ws, _response))) => Ok(ws),
    }
}

/// A text message: one event, timed and checked like an SSE event's data.
fn on_message(shared: &PointShared, state: &SocketState<'_>, text: &str) {
    let ctx = &*shared.ctx;
    let now = Instant::now();
    let unix_ns = sse_wire::stamp::now_unix_ns();
    count_event(ctx, state, now);
    if let Some(token) = sse_wire::stamp::find_token(text) {
        let tokens = &shared.tokens;
        if let Some(sent) = tokens.sent_at(token) {
            ctx.metrics
                .record(Latency::Fanout, now.saturating_duration_since(sent));
        }
        if let (Some(ledger), Some(index)) = (&state.ledger, tokens.index(token)) {
            ledger.saw(index);
        }
        if let Some(outbox) = state.outbox {
            outbox.echoed(ctx, tokens, token, now);
        }
    }
    if now >= shared.measure_from {
        if let Some(sent_ns) = shared.send_stamp.find_ns(text) {
            ctx.metrics.record(
                Latency::EventDelivery,
                Duration::from_nanos(unix_ns.saturating_sub(sent_ns)),
            );
        }
    }
}

/// A binary message: an event with nothing to read in it.
fn on_binary(shared: &PointShared, state: &SocketState<'_>) {
    count_event(&shared.ctx, state, Instant::now());
}

fn count_event(ctx: &Ctx, state: &SocketState<'_>, now: Instant) {
    ctx.metrics.incr(Counter::EventsReceived);
    if !state.first_event.swap(true, Ordering::Relaxed) {
        ctx.metrics
            .record(Latency::TimeToFirstEvent, now.duration_since(state.created));
    }
}
