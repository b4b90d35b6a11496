//! A point over time: what happened in each interval (by default each second) while it ran, so
//! that a fault and the recovery from it show, which a point's totals average away.
//!
//! A [`Sampler`] reads the point's [`Metrics`] at the end of each interval: the counters' growth
//! since the last sample and the gauges at that instant (the [`IntervalCounts`] a series row
//! carries as they are), and the samples every latency histogram got in the interval
//! ([`Metrics::take_interval`]). The caller decides when (a timer beside
//! [`run_point`](crate::run_point)); samples a point records at its end for waits still going
//! (censored) are in no interval.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use vocab::{Counter, IntervalCounts, Latency};

use crate::metrics::{Gauge, Metrics};

/// The length of an interval of a point's time series.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// One interval of a point: what it counted, and its latencies' samples.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Its start and length, events, streams open and queued at its end, errors.
    pub counts: IntervalCounts,
    /// The samples each latency got during the interval; latencies without any are absent.
    pub latencies: Vec<(Latency, Histogram<u64>)>,
}

impl Interval {
    /// The interval's histogram of `latency`, if it got samples.
    pub fn latency(&self, latency: Latency) -> Option<&Histogram<u64>> {
        self.latencies
            .iter()
            .find(|(l, _)| *l == latency)
            .map(|(_, h)| h)
    }
}

/// Cuts a point's metrics into intervals.
#[derive(Debug)]
pub struct Sampler {
    start: Instant,
    last: Instant,
    events: u64,
    errors: u64,
}

impl Sampler {
    /// A sampler whose first interval starts at `start` (the start of the point).
    pub fn new(start: Instant) -> Self {
        Sampler {
            start,
            last: start,
            events: 0,
            errors: 0,
        }
    }

    /// Ends the current interval at `now` and returns it; the next starts at `now`.
    pub fn sample(&mut self, metrics: &Metrics, now: Instant) -> Interval {
        let now = now.max(self.last);
        let events = metrics.get(Counter::EventsReceived);
        let errors = metrics.total_errors();
        let gauges = metrics.gauges();
        let interval = Interval {
            counts: IntervalCounts {
                start: self.last.duration_since(self.start),
                length: now.duration_since(self.last),
                events: events.saturating_sub(self.events),
                streams_open: gauges.get(Gauge::StreamsOpen),
                streams_queued: gauges.get(Gauge::StreamsQueued),
                errors: errors.saturating_sub(self.errors),
            },
            latencies: Latency::ALL
                .iter()
                .filter_map(|&l| metrics.take_interval(l).map(|h| (l, h)))
                .collect(),
        };
        (self.last, self.events, self.errors) = (now, events, errors);
        interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_hold_what_happened_during_them() {
        let m = Metrics::new();
        let t0 = Instant::now();
        let mut sampler = Sampler::new(t0);
        m.add(Counter::EventsReceived, 5);
        m.record(Latency::EventDelivery, Duration::from_millis(3));
        m.gauge_up(Gauge::StreamsOpen);
        let first = sampler.sample(&m, t0 + Duration::from_secs(1));
        assert_eq!(
            first.counts,
            IntervalCounts {
                start: Duration::ZERO,
                length: Duration::from_secs(1),
                events: 5,
                streams_open: 1,
                streams_queued: 0,
                errors: 0,
            }
        );
        assert_eq!(
            first.latency(Latency::EventDelivery).map(|h| h.len()),
            Some(1)
        );

        m.add(Counter::EventsReceived, 2);
        m.error(vocab::ErrorClass::GoAway);
        m.record(Latency::EventDelivery, Duration::from_millis(7));
        m.record(Latency::EventDelivery, Duration::from_millis(9));
        // A censored sample belongs to the point, not to an interval.
        m.record_censored(Latency::QueueWait, Duration::from_secs(2));
        let second = sampler.sample(&m, t0 + Duration::from_millis(1500));
        assert_eq!(second.counts.start, Duration::from_secs(1));
        assert_eq!(second.counts.length, Duration::from_millis(500));
        assert_eq!((second.counts.events, second.counts.errors), (2, 1));
        let delivery = second.latency(Latency::EventDelivery).expect("samples");
        assert_eq!(delivery.len(), 2);
        assert!(delivery.min() >= 6_990, "{}", delivery.min());
        assert!(second.latency(Latency::QueueWait).is_none());
        // The point's histograms still hold everything.
        assert_eq!(m.histogram(Latency::EventDelivery).len(), 3);
        assert_eq!(m.histogram(Latency::QueueWait).len(), 1);

        let empty = sampler.sample(&m, t0 + Duration::from_secs(2));
        assert_eq!((empty.counts.events, empty.counts.errors), (0, 0));
        assert!(empty.latencies.is_empty());
    }
}
