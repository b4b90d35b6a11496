//! `queue_wait` for one request: from the instant it is wanted to the instant it is granted its
//! slot (an HTTP/1.1 connection slot, an HTTP/2 stream slot), and the gauge of requests queued
//! meanwhile.
//!
//! A refused HTTP/2 stream goes back to the queue ([`SlotEvent::Requeued`]): its wait then runs
//! on to the grant that finally carried it. The sample is recorded once, when the queue phase is
//! over for good: when the request was sent (or failed), or when its task was dropped. A request
//! still queued when the point ended has waited at least until the end: it is recorded at that
//! lower bound and counted as censored, so the ceiling shows in the latency.

use std::time::Instant;

use crate::context::Ctx;
use crate::http2::SlotEvent;
use crate::metrics::Gauge;
use vocab::Latency;

/// Times one request's wait for a slot; see the module documentation.
#[derive(Debug)]
pub(crate) struct QueueTimer<'a> {
    ctx: &'a Ctx,
    gauge: Gauge,
    latency: Latency,
    wanted: Instant,
    granted: Option<Instant>,
    /// The request is counted in `gauge`.
    queued: bool,
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
            queued: true,
        }
    }

    /// The request was wanted at `at` rather than when the timer started (a POST's scheduled
    /// instant: coordinated omission).
    pub fn wanted_at(&mut self, at: Instant) {
        self.wanted = at;
    }

    /// What the origin reports on the request's way to a slot.
    pub fn on_slot(&mut self, event: SlotEvent) {
        match event {
            SlotEvent::Granted => {
                self.granted = Some(Instant::now());
                if std::mem::take(&mut self.queued) {
                    self.ctx.metrics.gauge_down(self.gauge);
                }
            }
            SlotEvent::Sent => {}
            SlotEvent::Requeued => {
                self.granted = None;
                if !std::mem::replace(&mut self.queued, true) {
                    self.ctx.metrics.gauge_up(self.gauge);
                }
            }
        }
    }
}

impl Drop for QueueTimer<'_> {
    fn drop(&mut self) {
        if self.queued {
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

    fn ctx() -> Ctx {
        Ctx::new(
            Arc::new(Metrics::new()),
            CancellationToken::new(),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn a_requeued_request_waits_until_its_last_grant() {
        let ctx = ctx();
        let metrics = &ctx.metrics;
        {
            let mut timer = QueueTimer::start(&ctx, Gauge::StreamsQueued, Latency::QueueWait);
            assert_eq!(metrics.gauge(Gauge::StreamsQueued), 1);
            timer.on_slot(SlotEvent::Granted);
            assert_eq!(metrics.gauge(Gauge::StreamsQueued), 0);
            timer.on_slot(SlotEvent::Requeued);
            assert_eq!(metrics.gauge(Gauge::StreamsQueued), 1);
            std::thread::sleep(Duration::from_millis(20));
            timer.on_slot(SlotEvent::Granted);
            assert_eq!(metrics.gauge(Gauge::StreamsQueued), 0);
        }
        let wait = metrics.latency(Latency::QueueWait);
        assert_eq!(wait.count, 1, "one sample per request, not per grant");
        assert!(wait.p50 >= 20_000, "{wait:?}");
        assert_eq!(metrics.censored(Latency::QueueWait), 0);
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

    #[test]
    fn a_request_still_queued_at_the_end_is_a_censored_sample_up_to_the_end() {
        let ctx = ctx();
        let timer = QueueTimer::start(&ctx, Gauge::StreamsQueued, Latency::QueueWait);
        std::thread::sleep(Duration::from_millis(30));
        ctx.end(std::time::Instant::now());
        std::thread::sleep(Duration::from_millis(30));
        drop(timer);
        let wait = ctx.metrics.latency(Latency::QueueWait);
        assert_eq!(wait.count, 1);
        assert_eq!(ctx.metrics.censored(Latency::QueueWait), 1);
        assert!(
            (29_000..59_000).contains(&wait.p50),
            "waited until the end (30 ms), not until the drop (60 ms): {wait:?}"
        );
    }
}
