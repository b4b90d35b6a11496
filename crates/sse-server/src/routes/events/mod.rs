//! `GET /events`: one event stream, produced as hyper asks for body data (HTTP/1.1: room in the
//! write buffer; HTTP/2: flow-control window), so a tick is stamped (`sent_ns`) when it is
//! written, not when a timer fired, and a client that stops reading holds a few bounded frames
//! (`frames`) whatever the tick size. The format: docs/event-stream.md, "The event-stream format";
//! the stamp: docs/event-stream.md, "Send stamps".
//!
//! On the wire: `retry: <ms>`; after a reconnect with `Last-Event-ID`, a `replay-gap` event for
//! the missed messages that are not replayed (the ring lost them, or they are older than
//! `max_replay_bytes` allows), then the others; then, as they come, messages, ticks (the first at
//! once) and `: hb` heartbeats. The replay is read from the ring a batch at a time as hyper takes
//! the frames (so an unread replay holds one batch, not the ring), once one of the
//! `max_concurrent_replays` slots is free (heartbeats only meanwhile). A message's id is its channel sequence number
//! (`17`), any other event's `<position>.<tick seq>` (`17.5`), the position being the last
//! message this stream delivered (at first, the channel's last when it subscribed): the client's
//! `Last-Event-ID` names the last message it has, so a resumed stream replays every later one
//! still in the ring, whatever a fault did to the bytes in flight. An id that does not parse is
//! treated as absent.
//!
//! The stream ends after `count` ticks, at shutdown or its connection's GOAWAY, when its
//! subscriber queue overflows, and at the `close_streams` fault (cleanly, or with a body error:
//! RST_STREAM on HTTP/2, a dropped connection on HTTP/1.1). `stall` pauses its writing (ticks are
//! made when written, so a stall delays the next one), `delay_events` each frame.

mod frames;

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::time::sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::activity::StreamActivity;
use crate::app::Conn;
use crate::config::MAX_RESUME_SEQ;
use crate::faults::{CloseMode, FaultConfig};
use crate::hub::Refusal;
use crate::hub::{Hub, Message, Replay, ReplaySlots, Subscription};
use crate::routes::query::EventsQuery;
use crate::routes::response::{Body, BodyError};
use crate::routes::schedule::{deadline, Due, Schedule};
use crate::stats::{decr, incr, ListenerCounters};
use crate::woken::Woken;
use frames::{Frames, Kind};

/// About how many bytes of a replay are read from the ring at a time.
const REPLAY_BATCH: usize = 16 * 1024;

/// Where a reconnecting client left off, from its `Last-Event-ID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Resume {
    /// The last message id it had seen.
    pub(crate) message: u64,
    /// The last tick seq it had seen, if its last id was a tick's.
    pub(crate) tick: Option<u64>,
}

impl Resume {
    /// Parses `17` or `17.5`; `None` for anything else. A tick seq over
    /// [`MAX_RESUME_SEQ`] is dropped (the ticks start again at 1), so that counting on from
    /// it can never wrap; the message id is still resumed.
    pub(crate) fn parse(last_event_id: &str) -> Option<Resume> {
        let (message, tick) = match last_event_id.split_once('.') {
            Some((m, t)) => (m, Some(t.parse::<u64>().ok()?)),
            None => (last_event_id, None),
        };
        Some(Resume {
            message: message.parse().ok()?,
            tick: tick.filter(|&t| t <= MAX_RESUME_SEQ),
        })
    }
}

/// Everything a stream needs, moved into its body.
#[derive(Debug)]
struct EventStream {
    /// The `size` a tick's data is padded to (`EventsQuery::size`); the rest of the query is
    /// spent once the stream is open, and a stream's state is kept for its life.
    tick_size: usize,
    subscription: Subscription,
    /// Frames to send before anything else: the `retry:` line at first, then the rest of an event
    /// cut into frames, or of a replay's batch.
    pending: Frames,
    /// The replay under way, if any: boxed, as most streams never replay and the stream's
    /// state is kept for its life (crates/sse-server/FINDINGS.md, "Memory per subscriber").
    replay: Option<Box<Replaying>>,
    position: u64,
    schedule: Schedule,
    shutdown: CancellationToken,
    /// `shutdown` awaited by one future for the stream's life, so that every wait for the next
    /// message polls it instead of registering and dropping a waiter on the token
    /// (crates/sse-server/FINDINGS.md, "Fan-out profile"). The subscription's overflow needs no
    /// wait of its own: the hub cuts an overflowed subscriber's queue, so the wait for the next
    /// message ends the stream. Polled only when the token wakes it ([`Woken`], in the same box):
    /// a wait polls it each time, and a poll of the token's future takes its lock.
    shutdown_wait: Pin<Box<Woken<WaitForCancellationFutureOwned>>>,
    counters: Arc<ListenerCounters>,
    /// Reports frames handed to hyper and taken by it.
    activity: StreamActivity,
    scratch: String,
    /// Set once the stream has ended, so it is not polled into a second end.
    ended: bool,
}

/// A replay under way.
#[derive(Debug)]
struct Replaying {
    /// What remains to be replayed.
    replay: Replay,
    /// The tick seq a gap's id carries.
    gap_tick: u64,
    /// The slots replays take (`max_concurrent_replays`), and this replay's id there.
    slots: Arc<ReplaySlots>,
    id: u64,
    /// Whether the replay has waited for a slot (counted once).
    waited: bool,
}

const HEARTBEAT: &[u8] = b": hb\n";

/// Subscribes and builds the streaming body, unless the hub refuses the subscription.
pub(crate) fn open(
    hub: &Arc<Hub>,
    query: EventsQuery,
    resume: Option<Resume>,
    conn: &Conn,
    faults: &FaultConfig,
) -> Result<Body, Refusal> {
    let counters = Arc::clone(&conn.counters);
    let (subscription, replay) =
        hub.subscribe(&query.channel, resume.map(|r| r.message), conn.subscriber())?;
    let next_tick = resume
        .and_then(|r| r.tick)
        .map_or(1, |t| t.saturating_add(1));
    let mut pending = Frames::default();
    let mut retry = Vec::new();
    sse_wire::encode::encode_retry(query.retry_ms, &mut retry);
    pending.push(Bytes::from(retry), Kind::Control);
    if replay.truncated {
        incr(&counters.replays_truncated);
    }
    if let Some((from, to)) = replay.gap {
        push_gap(&mut pending, from, to, next_tick - 1);
    }
    let stream = EventStream {
        position: replay.end,
        replay: replay.is_pending().then(|| {
            let (slots, id) = hub.replay_slots();
            Box::new(Replaying {
                replay,
                gap_tick: next_tick - 1,
                slots,
                id,
                waited: false,
            })
        }),
        schedule: Schedule::new(&query, faults, next_tick),
        tick_size: query.size,
        pending,
        shutdown_wait: Box::pin(Woken::new(conn.streams.clone().cancelled_owned())),
        subscription,
        shutdown: conn.streams.clone(),
        counters,
        activity: conn.stream_activity(),
        scratch: String::new(),
        ended: false,
    };
    incr(&stream.counters.streams_open);
    // Polled only when one of its waits has woken it: hyper polls a body more often than that
    // (`crate::woken`).
    let frames = Woken::new(futures_util::stream::unfold(stream, |mut s| async move {
        let frame = s.next_frame().await?;
        Some((frame, s))
    }))
    .map(|frame| frame.map(Frame::data));
    Ok(StreamBody::new(frames).boxed_unsync())
}

impl EventStream {
    /// The next bytes to write, `None` to end the body cleanly, or an error to reset it.
    async fn next_frame(&mut self) -> Option<Result<Bytes, BodyError>> {
        // hyper asks for the next frame: it has taken the last one.
        self.activity.taken();
        if self.ended {
            return None;
        }
        let frame = self.produce().await;
        if !matches!(frame, Some(Ok(_))) {
            self.ended = true;
        } else {
            // The frame is made (a tick stamped) now, and written after the `delay_events` fault.
            self.schedule.delay(&self.counters, &self.shutdown).await;
            self.activity.handed();
        }
        frame
    }

    async fn produce(&mut self) -> Option<Result<Bytes, BodyError>> {
        loop {
            // Before a frame already made is handed out (the `retry:` line, a replay's batch, a
            // large event's further frames), the shutdown and the overflow are checked here; with
            // nothing made, the wait below ends on either (the shutdown's branch first, and the
            // overflow cuts the queue), so the common path, an event then the wait for the next,
            // takes neither token's lock (crates/sse-server/FINDINGS.md, "Fan-out profile").
            if (!self.pending.is_empty() || self.replay.is_some())
                && (self.shutdown.is_cancelled() || self.subscription.overflowed.is_cancelled())
            {
                return None;
            }
            let schedule = &self.schedule;
            if schedule
                .close
                .as_ref()
                .is_some_and(|(at, _)| at.is_elapsed())
            {
                return self.fault_close();
            }
            // The stall and the replay are boxed: each is taken rarely (a fault, a reconnect), and
            // inline their states (320 and 440 bytes) would be part of the stream's future for its
            // life (crates/sse-server/FINDINGS.md, "Memory per subscriber").
            if schedule
                .stall
                .as_ref()
                .is_some_and(|(at, _)| at.is_elapsed())
            {
                Box::pin(self.stall()).await;
                continue;
            }
            if let Some(frame) = self.pop_pending() {
                return Some(Ok(frame));
            }
            if self.replay.is_some() {
                if !Box::pin(self.replay_next()).await {
                    return None;
                }
                continue;
            }
            if self.schedule.ticks_done() {
                return None;
            }
            return tokio::select! {
                biased;
                () = &mut self.shutdown_wait => None,
                () = deadline(self.schedule.close.as_mut().map(|(at, _)| at)) => continue,
                () = deadline(self.schedule.stall.as_mut().map(|(at, _)| at)) => continue,
                // A message or a tick just queued is returned at once: the checks at the top of
                // the loop were made before this wait, and the branches above it were polled
                // after them, so a second pass would only take the two tokens' locks again.
                message = self.subscription.queue.recv() => match message {
                    Some(m) => {
                        self.message(m);
                        match self.pop_pending() {
                            Some(frame) => Some(Ok(frame)),
                            None => continue,
                        }
                    }
                    None => None,
                },
                due = self.schedule.timers.next(true) => match due {
                    Due::Tick => {
                        self.tick();
                        match self.pop_pending() {
                            Some(frame) => Some(Ok(frame)),
                            None => continue,
                        }
                    }
                    Due::Heartbeat => Some(Ok(Bytes::from_static(HEARTBEAT))),
                },
            };
        }
    }

    /// Queues the replay's next batch, once the replay holds a slot (heartbeats while it waits
    /// for one). `false` if the stream must end meanwhile.
    async fn replay_next(&mut self) -> bool {
        let Some(r) = self.replay.as_deref_mut() else {
            return true;
        };
        let waited = tokio::select! {
            biased;
            () = self.shutdown.cancelled() => return false,
            () = self.subscription.overflowed.cancelled() => return false,
            waited = r.slots.hold(r.id) => waited,
            _ = self.schedule.timers.next(false) => {
                self.pending.push(Bytes::from_static(HEARTBEAT), Kind::Control);
                return true;
            }
        };
        if waited && !std::mem::replace(&mut r.waited, true) {
            incr(&self.counters.replays_waited);
        }
        let batch = self.subscription.replay_batch(&mut r.replay, REPLAY_BATCH);
        if let Some((from, to)) = batch.gap {
            push_gap(&mut self.pending, from, to, r.gap_tick);
        }
        for m in batch.messages {
            self.pending.push(m.event.clone(), Kind::Message);
        }
        if !r.replay.is_pending() {
            r.slots.release(r.id);
            self.replay = None;
        }
        true
    }

    /// Ends the stream for the `close_streams` fault.
    fn fault_close(&mut self) -> Option<Result<Bytes, BodyError>> {
        let (_, mode) = self.schedule.close.take()?;
        incr(&self.counters.faults_streams_closed);
        match mode {
            CloseMode::Clean => None,
            CloseMode::Reset => Some(Err(BodyError::FaultReset)),
        }
    }

    /// Writes nothing for the stall's length (or until the stream must end), then schedules the
    /// next stall.
    async fn stall(&mut self) {
        let length = self.schedule.stall_begins(&self.counters);
        tokio::select! {
            () = sleep(length) => {}
            () = self.shutdown.cancelled() => {}
            () = self.subscription.overflowed.cancelled() => {}
            () = deadline(self.schedule.close.as_mut().map(|(at, _)| at)) => {}
        }
        self.schedule.stall_ended();
    }

    /// The next queued frame, counted.
    fn pop_pending(&mut self) -> Option<Bytes> {
        let (bytes, kind) = self.pending.pop()?;
        self.count(kind);
        Some(bytes)
    }

    /// Queues a live message.
    fn message(&mut self, m: Message) {
        self.position = m.id;
        self.pending.push(m.event.clone(), Kind::Message);
    }

    /// Queues the next tick, stamped now (unless the `drop_ticks_every_nth` fault drops it).
    fn tick(&mut self) {
        let Some(seq) = self.schedule.tick(&self.counters) else {
            return;
        };
        self.scratch.clear();
        sse_wire::stamp::write_tick_data(seq, sse_wire::stamp::now_unix_ns(), 0, &mut self.scratch);
        let id = format!("{}.{seq}", self.position);
        self.pending.push_tick(&id, &self.scratch, self.tick_size);
    }

    fn count(&self, kind: Kind) {
        match kind {
            Kind::Control => {}
            Kind::Event => incr(&self.counters.events_sent),
            Kind::Message => {
                incr(&self.counters.events_sent);
                incr(&self.counters.messages_sent);
            }
        }
    }
}

/// Queues a `replay-gap` event for the missed messages `from..=to`; its id resumes after `to`.
fn push_gap(pending: &mut Frames, from: u64, to: u64, tick: u64) {
    let id = format!("{to}.{tick}");
    let data = format!("{{\"missed_from\":{from},\"missed_to\":{to}}}");
    let event = sse_wire::Event {
        id: Some(&id),
        event: Some("replay-gap"),
        data: &data,
        retry: None,
    };
    pending.push(Bytes::from(event.to_vec()), Kind::Event);
}

impl Drop for EventStream {
    fn drop(&mut self) {
        if let Some(r) = &self.replay {
            r.slots.release(r.id);
        }
        decr(&self.counters.streams_open);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_event_id_forms() {
        let r = |message, tick| Some(Resume { message, tick });
        assert_eq!(Resume::parse("17"), r(17, None));
        assert_eq!(Resume::parse("17.5"), r(17, Some(5)));
        assert_eq!(Resume::parse("0.0"), r(0, Some(0)));
        assert_eq!(Resume::parse(""), None);
        assert_eq!(Resume::parse("x.1"), None);
        assert_eq!(Resume::parse("1.x"), None);
        // A huge tick seq is not resumed (ticks restart), the message id still is.
        assert_eq!(Resume::parse("3.18446744073709551615"), r(3, None));
        assert_eq!(
            Resume::parse("3.9007199254740991"),
            r(3, Some((1 << 53) - 1))
        );
        assert_eq!(Resume::parse("3.9007199254740992"), r(3, None));
        assert_eq!(Resume::parse("18446744073709551616"), None);
    }
}
