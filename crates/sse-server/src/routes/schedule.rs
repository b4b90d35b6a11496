//! What an event stream and a WebSocket share: a subscriber's timers (a tick at once and every
//! `interval`, a heartbeat every `heartbeat`), its tick count, and when the stream faults act on
//! it (`close_streams`, `stall`, `delay_events`, `drop_ticks_every_nth`, [`crate::faults`]).

use std::num::NonZeroU32;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::{interval_at, sleep, sleep_until, Instant, Interval, MissedTickBehavior, Sleep};
use tokio_util::sync::CancellationToken;

use crate::faults::{CloseMode, FaultConfig, Stall};
use crate::if_set::IfSet;
use crate::routes::query::EventsQuery;
use crate::stats::{incr, ListenerCounters};

/// One subscriber's schedule, from the instant its stream opened.
#[derive(Debug)]
pub(crate) struct Schedule {
    pub(crate) ticks: Interval,
    pub(crate) heartbeats: Interval,
    next_tick: u64,
    ticks_left: Option<u64>,
    /// `close_streams`: when the stream ends, and how.
    pub(crate) close: Option<(Pin<Box<Sleep>>, CloseMode)>,
    /// `stall`: when the next stall begins (the first `every` after the stream opened, each next
    /// one `every` after the previous one ended), and the stall.
    pub(crate) stall: Option<(Pin<Box<Sleep>>, Stall)>,
    /// `delay_events`: how long each frame waits between made and written.
    delay: Option<Duration>,
    /// `drop_ticks_every_nth`: ticks whose number is a multiple of this are not written.
    drop_ticks_every: Option<NonZeroU32>,
}

impl Schedule {
    /// The schedule of a stream opening now, whose first tick is numbered `first_tick`.
    pub(crate) fn new(query: &EventsQuery, faults: &FaultConfig, first_tick: u64) -> Schedule {
        let now = Instant::now();
        Schedule {
            ticks: timer(now, query.interval, Duration::ZERO),
            heartbeats: timer(now, query.heartbeat, query.heartbeat),
            next_tick: first_tick,
            ticks_left: query.count,
            close: faults
                .close_streams
                .map(|c| (Box::pin(sleep_until(now + c.every)), c.mode)),
            stall: faults
                .stall
                .map(|s| (Box::pin(sleep_until(now + s.every)), s)),
            delay: faults.delay_events,
            drop_ticks_every: faults.drop_ticks_every_nth,
        }
    }

    /// The next tick's sequence number, counted against `count`; `None` when the
    /// `drop_ticks_every_nth` fault drops it (counted): the tick is made but not written.
    pub(crate) fn tick(&mut self, counters: &ListenerCounters) -> Option<u64> {
        let seq = self.next_tick;
        self.next_tick = seq.saturating_add(1);
        if let Some(left) = &mut self.ticks_left {
            *left = left.saturating_sub(1);
        }
        let every = self.drop_ticks_every.map(|n| u64::from(n.get()));
        if every.is_some_and(|every| seq.is_multiple_of(every)) {
            incr(&counters.faults_ticks_dropped);
            return None;
        }
        Some(seq)
    }

    /// Whether the stream has made its `count` ticks.
    pub(crate) fn ticks_done(&self) -> bool {
        self.ticks_left == Some(0)
    }

    /// How long the stall that begins now lasts; counts it.
    pub(crate) fn stall_begins(&self, counters: &ListenerCounters) -> Duration {
        incr(&counters.faults_stalls);
        self.stall
            .as_ref()
            .map_or(Duration::ZERO, |(_, s)| s.length)
    }

    /// A stall has ended: the next one begins `every` from now.
    pub(crate) fn stall_ended(&mut self) {
        if let Some((next, stall)) = &mut self.stall {
            next.as_mut().reset(Instant::now() + stall.every);
        }
    }

    /// The `delay_events` fault: waits between a frame made and written (counted), unless
    /// `shutdown` comes first.
    pub(crate) async fn delay(&self, counters: &ListenerCounters, shutdown: &CancellationToken) {
        if let Some(delay) = self.delay {
            Box::pin(delay_by(delay, counters, shutdown)).await;
        }
    }
}

/// [`Schedule::delay`]'s wait, boxed there: it is taken only under the fault, and inline its
/// state (a timer and a cancellation waiter, 272 bytes) would be part of every stream's future
/// for its life (crates/sse-server/FINDINGS.md, "Memory per subscriber").
async fn delay_by(delay: Duration, counters: &ListenerCounters, shutdown: &CancellationToken) {
    incr(&counters.faults_delayed);
    tokio::select! {
        () = wait(delay) => {}
        () = shutdown.cancelled() => {}
    }
}

/// Waits `delay`: on the runtime's timer from 1 ms up, below that (the timer's resolution: a
/// `sleep` of 50 us lasts about 1 ms) by yielding to the other tasks until the instant has come,
/// so that a delay of a few tens of microseconds is that long.
pub(crate) async fn wait(delay: Duration) {
    if delay >= TIMER_RESOLUTION {
        return sleep(delay).await;
    }
    let until = std::time::Instant::now() + delay;
    while std::time::Instant::now() < until {
        tokio::task::yield_now().await;
    }
}

/// The resolution of tokio's timer: a sleep ends on a millisecond tick.
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

/// Waits for an optional deadline; never resolves without one.
pub(crate) fn deadline(at: Option<&mut Pin<Box<Sleep>>>) -> IfSet<&mut Pin<Box<Sleep>>> {
    IfSet(at)
}

fn timer(now: Instant, period: Duration, first_after: Duration) -> Interval {
    let mut t = interval_at(now + first_after, period);
    t.set_missed_tick_behavior(MissedTickBehavior::Skip);
    t
}
