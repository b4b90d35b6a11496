//! One SSE stream, opened and kept as a browser's EventSource does.
//!
//! - `GET` with `Accept: text/event-stream`, `Cache-Control: no-cache`, and `Last-Event-ID` once
//!   an id has been seen; each event is parsed with `sse-wire` and timed on arrival.
//! - After a clean end of the body or a network error: wait the reconnection time (`retry:` from
//!   the server, else the configured default, 3 s as in Blink: `docs/browsers.md`, "EventSource
//!   reconnection") and reconnect.
//! - A status other than 200, or a content type other than `text/event-stream`, fails the stream
//!   for good: no reconnect, as the specification says.
//! - A line or an event over the parser's [`Limits`](sse_wire::Limits) is an error
//!   (`errors_parse`): the connection is dropped and the stream reconnects, so memory stays bounded
//!   whatever the server sends.
//! - Every event carrying a POST token is recorded in the stream's
//!   [`StreamLedger`](crate::delivery::StreamLedger) for the loss proof.
//!
//! Ending the stream (the task is dropped) drops the response body, which on HTTP/1.1 closes the
//! connection and hands the slot to the next queued request.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{HeaderValue, ACCEPT, CACHE_CONTROL};
use http::{HeaderName, Method};
use sse_wire::{Item, Parser};

use crate::client::Client;
use crate::context::{Ctx, PointShared};
use crate::delivery::StreamLedger;
use crate::error::LoadError;
use crate::metrics::Gauge;
use crate::origin::RequestSpec;
use crate::queue::{Priority, QueueTimer, SlotEvent};
use vocab::{Counter, Latency};

const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Runs one EventSource, created by the page at `created`, until the point stops (the caller
/// drops this future).
pub(crate) async fn run_stream(client: Arc<Client>, created: Instant) {
    let first_event_seen = std::sync::atomic::AtomicBool::new(false);
    let open_seen = std::sync::atomic::AtomicBool::new(false);
    let shared = &client.shared;
    let metrics = &shared.ctx.metrics;
    metrics.incr(Counter::StreamsRequested);
    // A stream still without its first event when the point ends has waited at least until then.
    let _first_event = FirstEventGuard {
        ctx: &shared.ctx,
        created,
        seen: &first_event_seen,
        opened: &open_seen,
    };
    let mut state = StreamState {
        parser: Parser::with_limits(shared.parser_limits),
        delay: shared.reconnect_delay,
        first_event: &first_event_seen,
        opened: &open_seen,
        last_message_id: None,
        ledger: shared.delivery.register(),
        wanted: created,
    };
    let mut opened_before = false;
    loop {
        match connect_once(&client, &mut state, created, &mut opened_before).await {
            Ended::Reconnect(err) => {
                if let Some(err) = err {
                    metrics.error(err.class());
                    tracing::debug!("stream error: {}", vocab::error_chain(&err));
                }
            }
            Ended::Failed(err) => {
                if let Some(ledger) = &state.ledger {
                    ledger.failed();
                }
                metrics.error(err.class());
                tracing::debug!("stream failed: {}", vocab::error_chain(&err));
                return;
            }
        }
        tokio::time::sleep(state.delay).await;
        metrics.incr(Counter::Reconnects);
        state.wanted = Instant::now();
    }
}

struct StreamState<'a> {
    parser: Parser,
    delay: Duration,
    first_event: &'a AtomicBool,
    /// Set at its first `200 text/event-stream` (`time_to_open`).
    opened: &'a AtomicBool,
    last_message_id: Option<u64>,
    ledger: Option<Arc<StreamLedger>>,
    /// When the next request is wanted, where its `queue_wait` starts: the stream's creation,
    /// then the end of each reconnection delay.
    wanted: Instant,
}

/// What the event handler needs to know about the connection the event came on.
struct Connection {
    /// The request carried `Last-Event-ID`.
    resumed: bool,
    /// The request was granted its slot (and sent).
    sent: Instant,
}

/// When a chunk arrived, read once on the monotonic clock (for waits measured here) and on the
/// wall clock (for the server's send stamps).
#[derive(Debug, Clone, Copy)]
struct Arrival {
    at: Instant,
    unix_ns: u64,
}

enum Ended {
    /// Clean end (`None`) or a network error: reconnect after the delay.
    Reconnect(Option<LoadError>),
    /// Bad status or content type: the EventSource fails without reconnecting.
    Failed(LoadError),
}

/// Records a censored `time_to_first_event` (`time_to_open`) if the stream is dropped at the end
/// of the point without having parsed an event (without having opened).
struct FirstEventGuard<'a> {
    ctx: &'a Ctx,
    created: Instant,
    seen: &'a AtomicBool,
    opened: &'a AtomicBool,
}

impl Drop for FirstEventGuard<'_> {
    fn drop(&mut self) {
        if !self.seen.load(Ordering::Relaxed) {
            self.ctx.censor(Latency::TimeToFirstEvent, self.created);
        }
        if !self.opened.load(Ordering::Relaxed) {
            self.ctx.censor(Latency::TimeToOpen, self.created);
        }
    }
}

/// Tells the ledger when the open connection ends, however it ends (cancellation included).
struct LedgerGuard(Option<Arc<StreamLedger>>);

impl Drop for LedgerGuard {
    fn drop(&mut self) {
        if let Some(ledger) = &self.0 {
            ledger.closed(Instant::now());
        }
    }
}

/// One connection of the EventSource: the request, then its body read to the end. Not an `async
/// fn`: an `async fn` keeps each argument twice in its future (as passed, and as moved into its
/// body), and this future is inside every stream's for the stream's whole life.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice in its future"
)]
fn connect_once<'a, 's>(
    client: &'a Client,
    state: &'a mut StreamState<'s>,
    created: Instant,
    opened_before: &'a mut bool,
) -> impl Future<Output = Ended> + use<'a, 's> {
    async move {
        let shared = &client.shared;
        let metrics = &*shared.ctx.metrics;
        let mut resumed = false;
        // The request, and below the response's head, are kept in a boxed block and a function of
        // their own: a future is as large as its largest state for its whole life, and these are
        // needed until the response head only, while the stream's body is read for as long as it
        // lasts.
        let (sent, written, queue) = Box::pin(async {
            let mut headers = vec![
                (ACCEPT, HeaderValue::from_static("text/event-stream")),
                (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ];
            if !state.parser.last_event_id().is_empty() {
                if let Ok(v) = HeaderValue::from_str(state.parser.last_event_id()) {
                    headers.push((LAST_EVENT_ID, v));
                    resumed = true;
                }
            }
            let spec = RequestSpec {
                method: Method::GET,
                path: shared.events_path.clone(),
                headers,
                body: bytes::Bytes::new(),
                priority: Priority::Default,
            };
            let mut queue =
                QueueTimer::start(&shared.ctx, Gauge::StreamsQueued, Latency::QueueWait);
            queue.wanted_at(state.wanted);
            let mut written = None;
            // Not boxed here: `Origin::send` boxes each protocol's request, so its own future is
            // small (56 bytes) and the request's state is freed at the response head.
            let sent = client
                .origin
                .send(&shared.target, &spec, |event| {
                    queue.on_slot(event);
                    if event == SlotEvent::Sent {
                        written = Some(Instant::now());
                    }
                })
                .await;
            (sent, written, queue)
        })
        .await;
        let written = written.unwrap_or_else(Instant::now);
        // Queued until here, the response head (or the failure): dropping `queue` ends that.
        let mut body = match sent.map(|response| response.into_event_stream("event stream")) {
            Ok(Ok(body)) => body,
            Err(e) => return Ended::Reconnect(Some(e)),
            // A bad status or content type: the EventSource fails without reconnecting.
            Ok(Err(e)) => return Ended::Failed(e),
        };
        // Opened after the end of the point: counted queued then, and not opened too.
        let (_open, live) = queue.opened(Gauge::StreamsOpen);
        if !*opened_before && live {
            *opened_before = true;
            metrics.incr(Counter::StreamsOpened);
            metrics.record(Latency::TimeToOpen, created.elapsed());
            state.opened.store(true, Ordering::Relaxed);
        }
        if let Some(ledger) = &state.ledger {
            ledger.opened(Instant::now(), resumed);
        }
        let _ledger = LedgerGuard(state.ledger.clone());
        let connection = Connection {
            resumed,
            sent: written,
        };
        state.parser.reset_stream();
        while let Some(chunk) = body.next_chunk().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => return Ended::Reconnect(Some(e)),
            };
            // One arrival instant per chunk, on both clocks, for every per-event metric.
            let now = Arrival {
                at: Instant::now(),
                unix_ns: sse_wire::stamp::now_unix_ns(),
            };
            let StreamState {
                parser,
                delay,
                first_event,
                last_message_id,
                ledger,
                ..
            } = state;
            let fed = parser.feed(&chunk, |item| match item {
                Item::Event(ev) => {
                    metrics.incr(Counter::EventsReceived);
                    if !first_event.swap(true, Ordering::Relaxed) {
                        metrics.record(Latency::TimeToFirstEvent, now.at.duration_since(created));
                    }
                    on_event(
                        shared,
                        now,
                        ev,
                        &connection,
                        last_message_id,
                        ledger.as_deref(),
                    );
                }
                Item::Retry(ms) => *delay = Duration::from_millis(ms),
                Item::Comment(_) => {}
            });
            if let Err(e) = fed {
                return Ended::Reconnect(Some(LoadError::Parse(e)));
            }
        }
        state.parser.finish();
        Ended::Reconnect(None)
    }
}

fn on_event(
    shared: &PointShared,
    now: Arrival,
    ev: sse_wire::EventRef<'_>,
    connection: &Connection,
    last_message_id: &mut Option<u64>,
    ledger: Option<&StreamLedger>,
) {
    let metrics = &*shared.ctx.metrics;
    let tokens = &shared.tokens;
    if let Some(token) = sse_wire::stamp::find_token(ev.data) {
        // Replayed: on a resumed connection, from a POST that completed before the request was
        // written, so the server published it before it could subscribe this connection.
        let replayed = connection.resumed
            && tokens
                .completed_at(token)
                .is_some_and(|done| done < connection.sent);
        if replayed {
            metrics.incr(Counter::ReplayedEvents);
        }
        if let Some(sent) = tokens.sent_at(token) {
            let latency = if replayed {
                Latency::ReplayFanout
            } else {
                Latency::Fanout
            };
            metrics.record(latency, now.at.saturating_duration_since(sent));
        }
        if let (Some(ledger), Some(index)) = (ledger, tokens.index(token)) {
            ledger.saw(index);
        }
    }
    if now.at >= shared.measure_from {
        if let Some(sent_ns) = shared.send_stamp.find_ns(ev.data) {
            metrics.record(
                Latency::EventDelivery,
                Duration::from_nanos(now.unix_ns.saturating_sub(sent_ns)),
            );
        }
    }
    // Gaps and duplicates: message events whose ids are integers (ssebench's server numbers each
    // channel's messages 1, 2, 3...). Other servers' ids are not interpreted.
    if ev.event_type == "message" {
        if let Ok(id) = ev.last_event_id.parse::<u64>() {
            match *last_message_id {
                Some(last) if id <= last => metrics.incr(Counter::Duplicates),
                Some(last) if id > last + 1 => metrics.add(Counter::Gaps, id - last - 1),
                _ => {}
            }
            *last_message_id = Some(last_message_id.map_or(id, |l| l.max(id)));
        }
    }
}
