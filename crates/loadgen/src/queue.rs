//! The wait for a slot, and `queue_wait` timed over it.
//!
//! [`WaitQueue`]: a browser's request queue. Requests waiting for a slot (an HTTP/1.1 connection,
//! an HTTP/2 stream) leave by priority, then in the order they were made (`docs/browsers.md`,
//! "The wait queue"); the HTTP/1.1 pool and the HTTP/2 origin both keep their waiters here. A
//! waiter whose task ended (its receiver dropped) is skipped when its turn comes, and the grant
//! goes to the next one, so no slot is ever handed to nobody.
//!
//! [`QueueTimer`]: one request's `queue_wait`, from the instant it is wanted to the instant it is
//! granted its slot, and the gauge of requests queued. A refused HTTP/2 stream, or one h2 holds
//! behind the server's limit, goes back to the queue ([`SlotEvent::Requeued`]): its wait then runs
//! on to the grant that finally carried it. The sample is recorded once, when the queue phase is
//! over for good: when the response head came (or the request failed), or when its task was
//! dropped. A request still queued when the point ended has waited at least until the end: it is
//! recorded at that lower bound and counted as censored (`docs/measurement.md`, "Censored
//! samples"), so the ceiling shows in the latency.
//!
//! The gauge counts the request from the instant it is wanted to its response head, grant or no
//! grant: a stream between its grant and its answer (its connection opening, its request on the
//! way, h2 holding it) is still waiting, as a browser's EventSource is still `CONNECTING`. So at
//! every instant each stream requested is queued, open ([`QueueTimer::opened`] moves it from one
//! gauge to the other in one step), or neither because its request ended or failed.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use std::time::Instant;

use tokio::sync::oneshot;

use crate::context::Ctx;
use crate::metrics::{Gauge, GaugeUp};
use vocab::Latency;

/// Request priority in the queues. An EventSource and a `fetch` share the default priority in
/// Chromium, so they wait in request order behind each other (`docs/browsers.md`, "The wait
/// queue").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Priority {
    Low,
    #[default]
    Default,
    High,
}

/// Waiters for a `T` (a lease, a permit), highest priority first, then oldest first.
#[derive(Debug)]
pub(crate) struct WaitQueue<T> {
    heap: BinaryHeap<Waiter<T>>,
    next_seq: u64,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        WaitQueue {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

#[derive(Debug)]
struct Waiter<T> {
    priority: Priority,
    seq: u64,
    tx: oneshot::Sender<T>,
}

impl<T> PartialEq for Waiter<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T> Eq for Waiter<T> {}
impl<T> PartialOrd for Waiter<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Waiter<T> {
    /// Highest priority first, then the oldest (smallest seq) first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl<T> WaitQueue<T> {
    /// Queues a waiter; its turn comes through the returned receiver.
    pub fn push(&mut self, priority: Priority) -> oneshot::Receiver<T> {
        let (tx, rx) = oneshot::channel();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Waiter { priority, seq, tx });
        rx
    }

    /// Hands `item` to the first waiter still waiting. `Err(item)` when nobody waits.
    pub fn grant(&mut self, mut item: T) -> Result<(), T> {
        while let Some(waiter) = self.heap.pop() {
            match waiter.tx.send(item) {
                Ok(()) => return Ok(()),
                // That waiter gave up: try the next one.
                Err(back) => item = back,
            }
        }
        Err(item)
    }

    /// True when no waiter is queued (gone waiters included until their turn comes).
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// What happens to a request on its way to a slot, for the caller's `queue_wait` and queued
/// gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotEvent {
    /// The request was granted a slot.
    Granted,
    /// Its request is handed to the connection (written): where `fanout` starts.
    Sent,
    /// The server refused it unprocessed, or h2 holds it behind the server's limit: it waits for
    /// a slot again.
    Requeued,
}

/// Times one request's wait for a slot and counts it queued; see the module documentation.
#[derive(Debug)]
pub(crate) struct QueueTimer<'a> {
    ctx: &'a Ctx,
    gauge: Gauge,
    latency: Latency,
    wanted: Instant,
    granted: Option<Instant>,
    /// The request is counted in `gauge` (until it is answered or dropped).
    counted: bool,
}

impl<'a> QueueTimer<'a> {
    /// The request is wanted now and waits for a slot, counted in `gauge`; its wait is a sample
    /// of `latency`.
    pub fn start(ctx: &'a Ctx, gauge: Gauge, latency: Latency) -> Self {
        ctx.metrics.gauge_up(gauge);
        QueueTimer {
            ctx,
            gauge,
            latency,
            wanted: Instant::now(),
            granted: None,
            counted: true,
        }
    }

    /// The request was wanted at `at` rather than when the timer started (a POST's scheduled
    /// instant, a stream's creation: coordinated omission, the harness's own delay counted).
    pub fn wanted_at(&mut self, at: Instant) {
        self.wanted = at;
    }

    /// What the origin reports on the request's way to a slot: the end of its wait, or a new
    /// wait. The request stays counted queued either way, until its answer.
    pub fn on_slot(&mut self, event: SlotEvent) {
        match event {
            SlotEvent::Granted => self.granted = Some(Instant::now()),
            SlotEvent::Sent => {}
            SlotEvent::Requeued => self.granted = None,
        }
    }

    /// The request was answered and is open now: it leaves the queued gauge for `open` in one
    /// step, and stays counted there while the returned guard lives. The flag is `false` when the
    /// point had ended before (the request stays counted queued, as it was at the end).
    pub fn opened(mut self, open: Gauge) -> (GaugeUp<'a>, bool) {
        self.counted = false;
        GaugeUp::moved(&self.ctx.metrics, self.gauge, open)
    }
}

impl Drop for QueueTimer<'_> {
    fn drop(&mut self) {
        if self.counted {
            self.ctx.metrics.gauge_down(self.gauge);
        }
        match self.granted {
            Some(granted) => self
                .ctx
                .metrics
                .record(self.latency, granted.duration_since(self.wanted)),
            None => self.ctx.censor(self.latency, self.wanted),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::metrics::Metrics;

    #[test]
    fn by_priority_then_in_request_order() {
        let mut queue = WaitQueue::default();
        let mut receivers: Vec<(u32, oneshot::Receiver<u32>)> = Vec::new();
        for (n, priority) in [
            (0, Priority::Default),
            (1, Priority::Low),
            (2, Priority::Default),
            (3, Priority::High),
            (4, Priority::Default),
        ] {
            receivers.push((n, queue.push(priority)));
        }
        for grant in 0..5 {
            queue.grant(grant).unwrap();
        }
        let mut got: Vec<(u32, u32)> = receivers
            .into_iter()
            .map(|(n, mut rx)| (rx.try_recv().unwrap(), n))
            .collect();
        got.sort();
        let order: Vec<u32> = got.into_iter().map(|(_, n)| n).collect();
        assert_eq!(order, [3, 0, 2, 4, 1]);
        assert!(queue.is_empty());
        assert_eq!(queue.grant(9), Err(9), "nobody left to grant to");
    }

    /// `Eq` must agree with `Ord` (the contract of `Ord`): two waiters are equal only when they
    /// have the same priority and the same place in the queue.
    #[test]
    fn waiters_are_equal_only_in_the_same_place() {
        let waiter = |priority, seq| Waiter::<u32> {
            priority,
            seq,
            tx: oneshot::channel().0,
        };
        let a = waiter(Priority::Default, 1);
        assert!(a == waiter(Priority::Default, 1));
        assert!(a != waiter(Priority::Default, 2), "a later request");
        assert!(a != waiter(Priority::High, 1), "another priority");
        assert_eq!(
            a.partial_cmp(&waiter(Priority::Default, 2)),
            Some(Ordering::Greater),
            "the older request leaves first"
        );
    }

    #[test]
    fn a_waiter_that_gave_up_is_skipped() {
        let mut queue = WaitQueue::default();
        let gone = queue.push(Priority::Default);
        let mut next = queue.push(Priority::Default);
        drop(gone);
        queue.grant(7).unwrap();
        assert_eq!(next.try_recv().unwrap(), 7);
    }

    #[test]
    fn many_waiters_leave_in_request_order() {
        let mut queue = WaitQueue::default();
        let mut receivers: Vec<_> = (0..100).map(|_| queue.push(Priority::Default)).collect();
        for grant in 0..100u32 {
            queue.grant(grant).unwrap();
        }
        let got: Vec<u32> = receivers
            .iter_mut()
            .map(|rx| rx.try_recv().unwrap())
            .collect();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }

    fn ctx() -> Ctx {
        Ctx::new(
            Arc::new(Metrics::new()),
            CancellationToken::new(),
            Duration::from_secs(1),
        )
    }

    /// The wait ends at the last grant; the request is counted queued until its answer, grants
    /// or not, then open, never both and never neither.
    #[test]
    fn a_requeued_request_waits_until_its_last_grant() {
        let ctx = ctx();
        let metrics = &ctx.metrics;
        let (queued, open) = (Gauge::StreamsQueued, Gauge::StreamsOpen);
        let counts = || (metrics.gauge(queued), metrics.gauge(open));
        {
            let mut timer = QueueTimer::start(&ctx, queued, Latency::QueueWait);
            assert_eq!(counts(), (1, 0));
            timer.on_slot(SlotEvent::Granted);
            assert_eq!(counts(), (1, 0), "granted, not answered");
            timer.on_slot(SlotEvent::Requeued);
            assert_eq!(counts(), (1, 0));
            std::thread::sleep(Duration::from_millis(20));
            timer.on_slot(SlotEvent::Granted);
            timer.on_slot(SlotEvent::Sent);
            assert_eq!(counts(), (1, 0), "sent, not answered");
            let _open = timer.opened(open);
            assert_eq!(counts(), (0, 1), "answered");
        }
        assert_eq!(counts(), (0, 0), "ended");
        let wait = metrics.latency(Latency::QueueWait);
        assert_eq!(wait.count, 1, "one sample per request, not per grant");
        assert!(wait.p50 >= 20_000, "{wait:?}");
        assert_eq!(metrics.censored(Latency::QueueWait), 0);
    }

    #[test]
    fn a_request_that_fails_after_its_grant_leaves_the_queue() {
        let ctx = ctx();
        let mut timer = QueueTimer::start(&ctx, Gauge::StreamsQueued, Latency::QueueWait);
        timer.on_slot(SlotEvent::Granted);
        assert_eq!(ctx.metrics.gauge(Gauge::StreamsQueued), 1);
        drop(timer);
        assert_eq!(ctx.metrics.gauge(Gauge::StreamsQueued), 0);
        assert_eq!(ctx.metrics.latency(Latency::QueueWait).count, 1);
        assert_eq!(ctx.metrics.censored(Latency::QueueWait), 0);
    }

    #[test]
    fn a_request_dropped_while_the_point_runs_leaves_no_sample() {
        let ctx = ctx();
        drop(QueueTimer::start(
            &ctx,
            Gauge::PostsQueued,
            Latency::PostQueueWait,
        ));
        assert_eq!(ctx.metrics.gauge(Gauge::PostsQueued), 0);
        assert_eq!(ctx.metrics.latency(Latency::PostQueueWait).count, 0);
    }

    /// Instants set, not slept through: the request was wanted 60 ms ago and the point ended 30 ms
    /// ago (a test that slept them saw a 30 ms sleep last 143 ms on a busy machine).
    #[test]
    fn a_request_still_queued_at_the_end_is_a_censored_sample_up_to_the_end() {
        let ctx = ctx();
        let now = Instant::now();
        let mut timer = QueueTimer::start(&ctx, Gauge::StreamsQueued, Latency::QueueWait);
        timer.wanted_at(now - Duration::from_millis(60));
        ctx.end(now - Duration::from_millis(30));
        drop(timer);
        let wait = ctx.metrics.latency(Latency::QueueWait);
        assert_eq!(wait.count, 1);
        assert_eq!(ctx.metrics.censored(Latency::QueueWait), 1);
        // The histogram keeps 3 significant digits.
        assert!(
            (29_900..30_100).contains(&wait.p50),
            "waited until the end (30 ms), not until the drop (60 ms): {wait:?}"
        );
    }
}
