//! One interval of a point's time series (by default a second): what the load generator counted
//! in it. The one record every stage carries: `loadgen::series` samples it, the run keeps it, and
//! the report's series file writes it, each beside its own parts (histograms, the point's key).

use std::time::Duration;

/// What one interval of a point counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntervalCounts {
    /// From the start of the point (warm-up included) to the start of the interval.
    pub start: Duration,
    /// How long the interval lasted (the last one of a point is usually shorter).
    pub length: Duration,
    /// Events received during the interval, every event type.
    pub events: u64,
    /// Streams whose response was open at the end of the interval.
    pub streams_open: u64,
    /// Streams requested and not open at the end of the interval: waiting for a slot, or granted
    /// one and waiting for their response head.
    pub streams_queued: u64,
    /// Errors counted during the interval, every class.
    pub errors: u64,
}

impl IntervalCounts {
    /// When the interval ended, from the start of the point.
    pub fn end(&self) -> Duration {
        self.start + self.length
    }

    /// Events per second of the interval (0 for an interval of no length).
    pub fn events_per_s(&self) -> f64 {
        let s = self.length.as_secs_f64();
        if s > 0.0 {
            self.events as f64 / s
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_end() {
        let counts = IntervalCounts {
            start: Duration::from_secs(2),
            length: Duration::from_millis(500),
            events: 40,
            ..IntervalCounts::default()
        };
        assert_eq!(counts.end(), Duration::from_millis(2500));
        assert_eq!(counts.events_per_s(), 80.0);
        assert_eq!(IntervalCounts::default().events_per_s(), 0.0);
    }
}
