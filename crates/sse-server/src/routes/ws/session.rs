//! One WebSocket of `GET /ws`, subscriber and publisher (docs/browsers.md, "WebSockets").
//!
//! Sent, each as one text message, as they come (the hub and timers of an event stream):
//! - every message published to the channel after the subscription (by a POST or any WebSocket
//!   of the channel, this one included), its body verbatim;
//! - a tick every `interval_ms` (the first at once): exactly a tick event's data, padded to
//!   `size` and stamped when written;
//! - a ping at once (a live client answers it with a pong, which is how the connection limit
//!   tells a live socket from a silent one: `listen::reclaim`) and every `heartbeat_ms`; and one
//!   whenever the client has been silent for half of `websocket_idle_timeout`.
//!
//! No ids and no replay: a WebSocket has no `Last-Event-ID`. Received: each text message is
//! published as a `POST /messages` body is (`websocket_messages_received`; refused by the memory
//! budget or the `post_error_every_nth` fault, which counts it with the POSTs: dropped and
//! counted); binary closes with 1003, over `max_body_bytes` with 1009; a ping gets a pong.
//!
//! Closed with 1001 at shutdown, 1013 when the subscriber queue overflowed, 1000 after `count`
//! ticks, 1008 when nothing has arrived from the client (no message, no pong) for
//! `websocket_idle_timeout` (`websocket_idle_timeouts`; crates/sse-server/FINDINGS.md,
//! "WebSockets against the connection limit"). Faults: `close_streams` closes with 1000 (`Clean`) or drops the connection (`Reset`);
//! `stall` stops writing (reading goes on); `delay_events` delays each message written;
//! `delay_posts` each message published, in order; `drop_ticks_every_nth` skips ticks.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::time::{sleep, sleep_until, Instant, Sleep};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::activity::StreamActivity;
use crate::app::App;
use crate::app::Conn;
use crate::faults::{CloseMode, FaultConfig};
use crate::hub::Refusal;
use crate::hub::Subscription;
use crate::peer::ClientAddr;
use crate::routes::query::EventsQuery;
use crate::routes::response::count_refusal;
use crate::routes::schedule::{deadline, Due, Schedule};
use crate::stats::{decr, incr, ListenerCounters};

/// Received messages waiting out the `delay_posts` fault before they are published; past this,
/// the socket is not read until they are.
const MAX_DELAYED: usize = 1024;
/// A socket's read buffer: what one read may take while no frame is under way (once a frame's
/// header is in, tungstenite reserves the frame's length and reads the rest whole). Small,
/// because tungstenite zero-fills the buffer to this size before every read
/// (`FrameCodec::read_in` in tungstenite 0.30), so all of it is resident for every idle socket:
/// 8 KiB cost each socket 8 KiB (crates/sse-server/FINDINGS.md, "Memory per subscriber").
const READ_BUFFER: usize = 1024;
/// Bytes a socket gathers before it writes them, within a burst (one TLS record's worth).
const WRITE_BUFFER: usize = 16 * 1024;
/// Most messages written in a row without a flush while more are queued.
const MAX_UNFLUSHED: usize = 64;
/// How long a closing socket waits for the client's Close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// A subscribed socket, before and after its connection is handed over.
#[derive(Debug)]
pub(crate) struct Session {
    app: Arc<App>,
    query: EventsQuery,
    subscription: Subscription,
    counters: Arc<ListenerCounters>,
    /// Cancelled at server shutdown.
    shutdown: CancellationToken,
    activity: StreamActivity,
    faults: FaultConfig,
    max_message: usize,
    idle_timeout: Duration,
    peer: ClientAddr,
}

/// What the loop decided to write next.
enum Outgoing {
    Message(bytes::Bytes),
    Tick,
    Ping,
}

/// Why the loop stopped: the Close frame to send, if any.
enum End {
    Close(CloseCode, &'static str),
    /// The client closed, the connection failed, or the `Reset` fault: no Close frame.
    Drop,
}

impl Session {
    /// Registers the subscriber (before the `101` is sent).
    pub(crate) fn subscribe(
        app: &Arc<App>,
        conn: &Conn,
        query: EventsQuery,
    ) -> Result<Session, Refusal> {
        let counters = Arc::clone(&conn.counters);
        let (subscription, _replay) = app.hub.subscribe(&query.channel, None, conn.subscriber())?;
        Ok(Session {
            app: Arc::clone(app),
            query,
            subscription,
            counters,
            shutdown: conn.streams.clone(),
            activity: conn.stream_activity(),
            peer: conn.peer,
            faults: app.faults.config.clone(),
            max_message: app.body.max_bytes,
            idle_timeout: app.websocket_idle_timeout,
        })
    }

    /// Runs the socket once hyper has handed over the connection.
    ///
    /// `run` and `serve` return `async move` blocks rather than being `async fn`s: an `async fn`
    /// keeps each argument twice in its future for the future's life, as passed and as moved into
    /// its body, and a block uses what it captured in place. The socket's task held three copies
    /// of the session and two of the socket, 3,776 bytes; now one of each
    /// (crates/sse-server/FINDINGS.md, "Memory per subscriber").
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future"
    )]
    pub(crate) fn run(
        mut self,
        on_upgrade: OnUpgrade,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        async move {
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            // Small buffers, not tungstenite's 128 KiB each way per socket
            // (crates/sse-server/FINDINGS.md, "WebSocket buffers").
            let config = WebSocketConfig::default()
                .read_buffer_size(READ_BUFFER)
                .write_buffer_size(WRITE_BUFFER)
                .max_message_size(Some(self.max_message))
                .max_frame_size(Some(self.max_message));
            let ws = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(config),
            )
            .await;
            incr(&self.counters.websockets_open);
            let counters = Arc::clone(&self.counters);
            self.activity.awaiting_client();
            self.serve(ws).await;
            // The subscription goes before the socket is counted closed, as it always has.
            drop(self);
            decr(&counters.websockets_open);
        }
    }

    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps its arguments twice in its future"
    )]
    fn serve(&mut self, mut ws: Socket) -> impl std::future::Future<Output = ()> + Send + '_ {
        async move {
            let mut schedule = Schedule::new(&self.query, &self.faults, 1);
            // The first ping at once: a live client's pong proves it.
            schedule.timers.heartbeat_now();
            // Nothing from the client for `idle_timeout` ends the socket; half of it brings a ping.
            let mut idle_at = Box::pin(sleep(self.idle_timeout));
            let mut keepalive_at = Box::pin(sleep(self.idle_timeout / 2));
            let mut pinged = false;
            // Messages written since the last flush.
            let mut unflushed: usize = 0;
            let mut stalled_until: Option<Pin<Box<Sleep>>> = None;
            let delay_posts = self.faults.delay_posts;
            let mut delayed: VecDeque<(Instant, Utf8Bytes)> = VecDeque::new();
            let mut scratch = String::new();
            let end = loop {
                let stalled = stalled_until.is_some();
                let ticking = !schedule.ticks_done();
                let out = tokio::select! {
                    biased;
                    () = self.shutdown.cancelled() => break End::Close(CloseCode::Away, "server shutting down"),
                    () = self.subscription.overflowed.cancelled() => {
                        break End::Close(CloseCode::Again, "too slow: subscriber queue full")
                    }
                    () = deadline(schedule.close.as_mut().map(|(at, _)| at)) => {
                        incr(&self.counters.faults_streams_closed);
                        match schedule.close.take().map(|(_, mode)| mode) {
                            Some(CloseMode::Reset) => break End::Drop,
                            _ => break End::Close(CloseCode::Normal, "fault injected: close"),
                        }
                    }
                    () = idle_at.as_mut() => {
                        incr(&self.counters.websocket_idle_timeouts);
                        break End::Close(CloseCode::Policy, "idle: nothing received within websocket_idle_timeout")
                    }
                    () = keepalive_at.as_mut(), if !pinged => {
                        pinged = true;
                        Outgoing::Ping
                    }
                    () = deadline(stalled_until.as_mut()) => {
                        stalled_until = None;
                        schedule.stall_ended();
                        continue;
                    }
                    () = deadline(schedule.stall.as_mut().map(|(at, _)| at)), if !stalled => {
                        stalled_until = Some(Box::pin(sleep(schedule.stall_begins(&self.counters))));
                        continue;
                    }
                    () = due(delayed.front().map(|(at, _)| *at)) => {
                        if let Some((_, text)) = delayed.pop_front() {
                            self.publish(&text);
                        }
                        continue;
                    }
                    incoming = ws.next(), if delayed.len() < MAX_DELAYED => {
                        self.activity.heard();
                        let now = Instant::now();
                        idle_at.as_mut().reset(now + self.idle_timeout);
                        keepalive_at.as_mut().reset(now + self.idle_timeout / 2);
                        pinged = false;
                        match incoming {
                            Some(Ok(Message::Text(text))) => {
                                match delay_posts {
                                    Some(d) => {
                                        incr(&self.counters.faults_delayed);
                                        delayed.push_back((Instant::now() + d, text));
                                    }
                                    None => self.publish(&text),
                                }
                                continue;
                            }
                            Some(Ok(Message::Binary(_))) => {
                                break End::Close(CloseCode::Unsupported, "text messages only")
                            }
                            Some(Ok(_)) => continue,
                            Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                                break End::Close(CloseCode::Size, "message over max_body_bytes")
                            }
                            Some(Err(_)) | None => break End::Drop,
                        }
                    }
                    message = self.subscription.queue.recv(), if !stalled => match message {
                        Some(m) => Outgoing::Message(m.data.clone()),
                        None => break End::Drop,
                    },
                    due = schedule.timers.next(ticking), if !stalled => match due {
                        Due::Tick => Outgoing::Tick,
                        Due::Heartbeat => Outgoing::Ping,
                    },
                };
                let (message, counts) = match out {
                    Outgoing::Message(data) => match Utf8Bytes::try_from(data) {
                        Ok(text) => (Message::Text(text), (true, true)),
                        Err(_) => continue,
                    },
                    Outgoing::Tick => {
                        let Some(seq) = schedule.tick(&self.counters) else {
                            if schedule.ticks_done() {
                                break End::Close(CloseCode::Normal, "count reached");
                            }
                            continue;
                        };
                        scratch.clear();
                        sse_wire::stamp::write_tick_data(
                            seq,
                            sse_wire::stamp::now_unix_ns(),
                            self.query.size,
                            &mut scratch,
                        );
                        (Message::text(scratch.as_str()), (true, false))
                    }
                    Outgoing::Ping => (Message::Ping(bytes::Bytes::new()), (false, false)),
                };
                schedule.delay(&self.counters, &self.shutdown).await;
                self.activity.handed();
                // Written without a flush while more of the channel's messages are already queued
                // (at most MAX_UNFLUSHED of them), then flushed once: one write (and one TLS record)
                // for a burst rather than one per message, as an event stream writes its frames.
                let more = !self.subscription.queue.is_empty() && unflushed < MAX_UNFLUSHED;
                let sent = tokio::select! {
                    sent = async {
                        ws.feed(message).await?;
                        if more {
                            Ok(())
                        } else {
                            ws.flush().await
                        }
                    } => sent,
                    () = self.shutdown.cancelled() => break End::Drop,
                    () = self.subscription.overflowed.cancelled() => break End::Drop,
                };
                self.activity.taken();
                if sent.is_err() {
                    break End::Drop;
                }
                unflushed = if more { unflushed + 1 } else { 0 };
                match counts {
                    (true, true) => {
                        incr(&self.counters.events_sent);
                        incr(&self.counters.messages_sent);
                    }
                    (true, false) => incr(&self.counters.events_sent),
                    _ => {}
                }
                if schedule.ticks_done() {
                    break End::Close(CloseCode::Normal, "count reached");
                }
            };
            if let End::Close(code, reason) = end {
                let frame = CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                };
                let closing = async {
                    if ws.close(Some(frame)).await.is_ok() {
                        // Until the client's Close frame (or the end of the connection).
                        while let Some(Ok(_)) = ws.next().await {}
                    }
                };
                let _ = tokio::time::timeout(CLOSE_WAIT, closing).await;
            }
        }
    }

    /// Publishes a received message to the socket's channel, as `POST /messages` would.
    fn publish(&self, text: &str) {
        if self.app.faults.post_fails() {
            // The `post_error_every_nth` fault: the message is dropped, so its sender never
            // sees its echo.
            incr(&self.counters.faults_errors);
            return;
        }
        match self.app.hub.publish(&self.query.channel, text, self.peer) {
            Ok(_) => incr(&self.counters.websocket_messages_received),
            Err(refusal) => count_refusal(&self.counters, refusal),
        }
    }
}

/// Waits until an optional instant; never resolves without one.
async fn due(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}
