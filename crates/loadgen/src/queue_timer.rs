//! `queue_wait` for one request: from the instant it is wanted to the instant it is granted its
//! slot (an HTTP/1.1 connection slot, an HTTP/2 stream slot), and the gauge of requests queued
//! meanwhile.
//!
//! A refused HTTP/2 stream goes back to the queue ([`SlotEvent::Requeued`]): its wait then runs
//! on to the grant that finally carried it. The sample is recorded once, when the queue phase is
//! over for good: when the request was sent (or failed), or when its task was dropped (the point
//! ended).

use std::time::Instant;

use crate::http2::SlotEvent;
use crate::metrics::{Gauge, Metrics};
use vocab::Latency;

/// Times one request's wait for a slot; see the module documentation.
#[derive(Debug)]
pub(crate) struct QueueTimer<'a> {
    metrics: &'a Metrics,
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
    pub fn start(metrics: &'a Metrics, gauge: Gauge, latency: Latency) -> Self {
        metrics.gauge_up(gauge);
        QueueTimer {
            metrics,
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
                    self.metrics.gauge_down(self.gauge);
                }
            }
            SlotEvent::Requeued => {
                self.granted = None;
                if !std::mem::replace(&mut self.queued, true) {
                    self.metrics.gauge_up(self.gauge);
                }
            }
        }
    }

    /// When the request was granted its slot, if it was.
    pub fn granted(&self) -> Option<Instant> {
        self.granted
    }
}

impl Drop for QueueTimer<'_> {
    fn drop(&mut self) {
        if self.queued {
            self.metrics.gauge_down(self.gauge);
        }
        if let Some(granted) = self.granted {
            self.metrics
                .record(self.latency, granted.duration_since(self.wanted));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_requeued_request_waits_until_its_last_grant() {
        let metrics = Metrics::new();
        {
            let mut timer = QueueTimer::start(&metrics, Gauge::StreamsQueued, Latency::QueueWait);
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
    }

    #[test]
    fn a_request_dropped_while_queued_leaves_the_gauge() {
        let metrics = Metrics::new();
        drop(QueueTimer::start(
            &metrics,
            Gauge::PostsQueued,
            Latency::PostQueueWait,
        ));
        assert_eq!(metrics.gauge(Gauge::PostsQueued), 0);
        assert_eq!(metrics.latency(Latency::PostQueueWait).count, 0);
    }
}
