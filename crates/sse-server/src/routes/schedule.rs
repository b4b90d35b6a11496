//! What an event stream and a WebSocket share: a subscriber's timers (a tick at once and every
//! `interval`, a heartbeat every `heartbeat`), its tick count, and when the stream faults act on
//! it (`close_streams`, `stall`, `delay_events`, `drop_ticks_every_nth`, [`crate::faults`]).

use std::num::NonZeroU32;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::{sleep, sleep_until, Instant, Sleep};
use tokio_util::sync::CancellationToken;

use crate::faults::{CloseMode, FaultConfig, Stall};
use crate::if_set::IfSet;
use crate::routes::query::EventsQuery;
use crate::stats::{incr, ListenerCounters};

/// One subscriber's schedule, from the instant its stream opened.
#[derive(Debug)]
pub(crate) struct Schedule {
    /// Ticks and heartbeats.
    pub(crate) timers: Timers,
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
            timers: Timers::new(now, query.interval, query.heartbeat),
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

/// Which of [`Timers`] came due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    Tick,
    Heartbeat,
}

/// A subscriber's two periodic timers, a tick at once and every `interval` and a heartbeat every
/// `heartbeat`, on one `Sleep` armed at the earlier of the two.
///
/// Two `tokio::time::Interval`s did the same with a timer each: every wait for the next message
/// polled both (about 330 instructions each per delivered event, `scripts/profile-fanout.sh
/// callgrind h1`), and each kept a timer on the heap (128 bytes) for the stream's life. The
/// schedule is theirs: each fires at its due instant, the next one a period later, and one more
/// than 5 ms late skips the instants it missed (`MissedTickBehavior::Skip`, tokio 1.x's
/// `time/interval.rs`); a tick comes before a heartbeat due at the same instant.
#[derive(Debug)]
pub(crate) struct Timers {
    sleep: Pin<Box<Sleep>>,
    next_tick: Instant,
    next_heartbeat: Instant,
    /// The periods, in nanoseconds (a `Duration` is twice the size).
    tick_ns: u64,
    heartbeat_ns: u64,
}

impl Timers {
    /// Ticks from `now` every `tick`, heartbeats every `heartbeat` from `now + heartbeat`.
    pub(crate) fn new(now: Instant, tick: Duration, heartbeat: Duration) -> Timers {
        let next_heartbeat = now + heartbeat;
        Timers {
            sleep: Box::pin(sleep_until(now.min(next_heartbeat))),
            next_tick: now,
            next_heartbeat,
            tick_ns: nanos(tick),
            heartbeat_ns: nanos(heartbeat),
        }
    }

    /// The next heartbeat is due now (a WebSocket's first ping).
    pub(crate) fn heartbeat_now(&mut self) {
        self.next_heartbeat = Instant::now();
    }

    /// Waits for the next timer due: a tick or a heartbeat, or only a heartbeat unless `ticks`
    /// (ticks missed meanwhile are then owed: the first comes as soon as `ticks` is set again).
    /// Cancel-safe: nothing changes until it returns.
    pub(crate) async fn next(&mut self, ticks: bool) -> Due {
        let at = if ticks {
            self.next_tick.min(self.next_heartbeat)
        } else {
            self.next_heartbeat
        };
        if self.sleep.deadline() != at {
            self.sleep.as_mut().reset(at);
        }
        self.sleep.as_mut().await;
        let now = Instant::now();
        if ticks && self.next_tick <= self.next_heartbeat {
            self.next_tick = after(self.next_tick, self.tick_ns, now);
            Due::Tick
        } else {
            self.next_heartbeat = after(self.next_heartbeat, self.heartbeat_ns, now);
            Due::Heartbeat
        }
    }
}

/// The instant after `due` (just fired, at `now`) for a timer of `period_ns`: a period later, or,
/// more than 5 ms late, the first instant of its schedule after `now` (tokio's
/// `MissedTickBehavior::Skip`).
fn after(due: Instant, period_ns: u64, now: Instant) -> Instant {
    const LATE: Duration = Duration::from_millis(5);
    let period = Duration::from_nanos(period_ns);
    if now > due + LATE {
        let behind = u64::try_from((now - due).as_nanos() % u128::from(period_ns)).unwrap_or(0);
        return now + period - Duration::from_nanos(behind);
    }
    due.checked_add(period).unwrap_or_else(|| now + FAR)
}

/// Far enough to be never (tokio's own "far future" is 30 years).
const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

/// A period in nanoseconds, at least 1 and at most [`FAR`].
fn nanos(period: Duration) -> u64 {
    u64::try_from(period.min(FAR).as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ticks every 100 ms from now, heartbeats every 250 ms; and now.
    fn timers() -> (Timers, Instant) {
        let start = Instant::now();
        let timers = Timers::new(
            start,
            Duration::from_millis(100),
            Duration::from_millis(250),
        );
        (timers, start)
    }

    /// The next `n` timers due, each with the milliseconds since `start` it came at.
    async fn dues(timers: &mut Timers, start: Instant, ticks: bool, n: usize) -> Vec<(Due, u128)> {
        let mut out = Vec::new();
        for _ in 0..n {
            let due = timers.next(ticks).await;
            out.push((due, start.elapsed().as_millis()));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_and_heartbeats_keep_their_periods_and_a_tick_goes_first() {
        let (mut timers, start) = timers();
        use Due::{Heartbeat as H, Tick as T};
        assert_eq!(
            dues(&mut timers, start, true, 9).await,
            [
                (T, 0),
                (T, 100),
                (T, 200),
                (H, 250),
                (T, 300),
                (T, 400),
                (T, 500),
                (H, 500),
                (T, 600)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_held_back_are_owed_once_and_then_skip_what_they_missed() {
        let (mut timers, start) = timers();
        use Due::{Heartbeat as H, Tick as T};
        assert_eq!(
            dues(&mut timers, start, false, 2).await,
            [(H, 250), (H, 500)]
        );
        // Five ticks were missed: one comes at once, the next on the schedule (600, not 510).
        assert_eq!(
            dues(&mut timers, start, true, 3).await,
            [(T, 500), (T, 600), (T, 700)]
        );
        timers.heartbeat_now();
        assert_eq!(
            dues(&mut timers, start, true, 2).await,
            [(H, 700), (T, 800)]
        );
    }
}
