//! What a run measures: one HDR histogram per latency and a set of counters, shared by every task
//! of a sweep point.
//!
//! The counters and latencies are the catalog's ([`vocab::Counter`], [`vocab::Latency`]), each
//! named there by what it counts or by its two instants (`docs/measurement.md`, "What a number
//! means").
//!
//! Samples are recorded as they happen, so a run that is cut short (Ctrl-C, a dead server) loses
//! nothing already measured. Nothing process-wide is locked per sample: each thread records into
//! its own shard of histograms (a lock only that thread takes, but for the rare reader), and a
//! summary merges the shards when it is read, at the end of a point.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;

use vocab::{Counter, ErrorClass, Latency};

/// Values that go up and down; read together at one instant ([`Metrics::gauges`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gauge {
    /// Streams requested and not open yet: waiting for a connection or stream slot, or granted
    /// one and waiting for their response head (WebSockets: for their handshake).
    StreamsQueued,
    /// Streams whose response is open now.
    StreamsOpen,
    /// POSTs whose scheduled instant has passed and that have not completed.
    PostsPending,
    /// POSTs not sent yet: waiting for a connection or stream slot, or granted one and waiting
    /// for their response head.
    PostsQueued,
    /// Answers waiting for a connection or stream slot.
    AnswersQueued,
    /// Answers granted their slot that have neither completed nor failed.
    AnswersStreaming,
}

/// What the client's QUIC connections of a point sent and lost, all together, from quinn's path
/// statistics: what QUIC shows that TCP hides in the kernel (`quic_packets_sent`,
/// `quic_packets_lost` in the catalog). A packet declared lost is not sent again as such: QUIC
/// sends its frames again in new packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuicPackets {
    pub sent: u64,
    pub lost: u64,
}

/// The point's [`QuicPackets`], added to as each connection ends.
#[derive(Debug, Default)]
pub(crate) struct QuicTally {
    sent: AtomicU64,
    lost: AtomicU64,
}

impl QuicTally {
    /// Adds one connection's counts.
    pub fn add(&self, stats: &quinn::ConnectionStats) {
        self.sent
            .fetch_add(stats.path.sent_packets, Ordering::Relaxed);
        self.lost
            .fetch_add(stats.path.lost_packets, Ordering::Relaxed);
    }

    pub fn read(&self) -> QuicPackets {
        QuicPackets {
            sent: self.sent.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }
}

impl Gauge {
    const COUNT: usize = 6;
}

/// Every gauge at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gauges([u64; Gauge::COUNT]);

/// The gauges, and whether the point has ended (then they no longer move).
#[derive(Debug, Default)]
struct GaugeState {
    values: Gauges,
    frozen: bool,
}

impl Gauges {
    pub fn get(&self, gauge: Gauge) -> u64 {
        self.0[gauge as usize]
    }
}

/// One unit of a gauge, held while alive (an open stream).
#[derive(Debug)]
pub(crate) struct GaugeUp<'a> {
    metrics: &'a Metrics,
    gauge: Gauge,
}

impl<'a> GaugeUp<'a> {
    /// One unit leaves `from` for `gauge` in one step ([`Metrics::gauge_move`]), held from now;
    /// with whether the move happened before the point's end ([`Metrics::freeze_gauges`]).
    pub(crate) fn moved(metrics: &'a Metrics, from: Gauge, gauge: Gauge) -> (Self, bool) {
        let live = metrics.gauge_move(from, gauge);
        (GaugeUp { metrics, gauge }, live)
    }
}

impl Drop for GaugeUp<'_> {
    fn drop(&mut self) {
        self.metrics.gauge_down(self.gauge);
    }
}

/// The shared measurements of one sweep point.
#[derive(Debug)]
pub struct Metrics {
    /// One set of histograms per shard; a thread always records into the same shard.
    shards: Box<[Mutex<Shard>]>,
    counters: [AtomicU64; Counter::ALL.len()],
    /// Per latency: the samples recorded at a lower bound (still waiting when the point ended).
    censored: [AtomicU64; Latency::ALL.len()],
    /// Under one lock, so that a move from one gauge to another is one step and a reading of
    /// them all is one instant: a stream is never seen in both or neither.
    gauges: Mutex<GaugeState>,
    errors: [AtomicU64; ErrorClass::ALL.len()],
    /// Per class: the answers that failed in it (their errors are in `errors` too).
    answer_failures: [AtomicU64; ErrorClass::ALL.len()],
}

/// Largest latency recorded: one hour, in microseconds. Larger values are clamped to it.
const MAX_US: u64 = 3_600_000_000;

/// Shards of histograms: more than the threads a run uses on the machines it targets, so that
/// threads rarely share one (a shared shard is still correct, only contended).
const SHARDS: usize = 16;

/// One thread's histograms, allocated on its first sample (each is about 190 KB): the point's, and
/// the current interval's (the samples since the last [`Metrics::take_interval`]).
#[derive(Debug, Default)]
struct Shard {
    histograms: [Option<Histogram<u64>>; Latency::ALL.len()],
    interval: [Option<Histogram<u64>>; Latency::ALL.len()],
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("static histogram bounds")
}

/// This thread's shard index: threads are numbered as they first record.
fn shard_index() -> usize {
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|i| *i)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            counters: std::array::from_fn(|_| AtomicU64::new(0)),
            censored: std::array::from_fn(|_| AtomicU64::new(0)),
            gauges: Mutex::new(GaugeState::default()),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            answer_failures: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    pub fn record(&self, latency: Latency, value: Duration) {
        self.record_in(latency, value, true);
    }

    fn record_in(&self, latency: Latency, value: Duration, in_interval: bool) {
        let us = u64::try_from(value.as_micros())
            .unwrap_or(MAX_US)
            .clamp(1, MAX_US);
        let mut shard = self.shards[shard_index()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let i = latency.index();
        shard.histograms[i]
            .get_or_insert_with(new_histogram)
            .saturating_record(us);
        if in_interval {
            shard.interval[i]
                .get_or_insert_with(new_histogram)
                .saturating_record(us);
        }
    }

    /// Records a wait that had not ended when the point did, at its lower bound `value`, and
    /// counts it as censored. It goes into the point's histogram only: an interval holds what was
    /// measured during it, and the point is over.
    pub fn record_censored(&self, latency: Latency, value: Duration) {
        self.record_in(latency, value, false);
        self.censored[latency.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// How many samples of `latency` are censored.
    pub fn censored(&self, latency: Latency) -> u64 {
        self.censored[latency.index()].load(Ordering::Relaxed)
    }

    pub fn add(&self, counter: Counter, n: u64) {
        self.counters[counter.index()].fetch_add(n, Ordering::Relaxed);
    }

    pub fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }

    pub fn get(&self, counter: Counter) -> u64 {
        self.counters[counter.index()].load(Ordering::Relaxed)
    }

    fn gauges_mut(&self) -> std::sync::MutexGuard<'_, GaugeState> {
        self.gauges.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn gauge_up(&self, gauge: Gauge) {
        let mut g = self.gauges_mut();
        if !g.frozen {
            g.values.0[gauge as usize] += 1;
        }
    }

    /// One item leaves `gauge`; `false` (and nothing moves) once the gauges are frozen at the
    /// end of the point, where the item stays counted as it was then.
    pub fn gauge_down(&self, gauge: Gauge) -> bool {
        let mut g = self.gauges_mut();
        if g.frozen {
            return false;
        }
        let value = &mut g.values.0[gauge as usize];
        *value = value.saturating_sub(1);
        true
    }

    /// One item leaves `from` for `to` (a queued stream opens) in one step; `false` (and nothing
    /// moves) once the gauges are frozen at the end of the point.
    pub fn gauge_move(&self, from: Gauge, to: Gauge) -> bool {
        let mut g = self.gauges_mut();
        if g.frozen {
            return false;
        }
        let value = &mut g.values.0[from as usize];
        *value = value.saturating_sub(1);
        g.values.0[to as usize] += 1;
        true
    }

    /// Whether [`Metrics::freeze_gauges`] was called (the point has ended).
    pub fn gauges_frozen(&self) -> bool {
        self.gauges_mut().frozen
    }

    /// The end of the point: the gauges as they are now, and from now on they no longer move.
    /// What finishes after this instant (a POST answered, a stream opened during the teardown)
    /// was counted pending or queued at the end; its callers see `false` from
    /// [`Metrics::gauge_down`] or [`Metrics::gauge_move`] and do not count it finished too, so
    /// every item is in exactly one state at the end.
    pub fn freeze_gauges(&self) -> Gauges {
        let mut g = self.gauges_mut();
        g.frozen = true;
        g.values
    }

    pub fn gauge(&self, gauge: Gauge) -> u64 {
        self.gauges().get(gauge)
    }

    /// Every gauge at this instant.
    pub fn gauges(&self) -> Gauges {
        self.gauges_mut().values
    }

    pub fn error(&self, class: ErrorClass) {
        self.errors[class.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn errors(&self, class: ErrorClass) -> u64 {
        self.errors[class.index()].load(Ordering::Relaxed)
    }

    /// An answer failed in `class`: counted there and among the errors.
    pub fn answer_failed(&self, class: ErrorClass) {
        self.error(class);
        self.answer_failures[class.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The answers that failed in `class`.
    pub fn answer_failures(&self, class: ErrorClass) -> u64 {
        self.answer_failures[class.index()].load(Ordering::Relaxed)
    }

    pub fn total_errors(&self) -> u64 {
        ErrorClass::ALL.iter().map(|&c| self.errors(c)).sum()
    }

    /// Summary of one latency histogram (its shards merged).
    pub fn latency(&self, latency: Latency) -> LatencySummary {
        LatencySummary::of(&self.histogram(latency))
    }

    /// The samples of `latency` recorded since the last call (or the start), its shards merged;
    /// the interval starts anew; `None` without samples. For time series and interval logs
    /// ([`crate::series`]).
    pub fn take_interval(&self, latency: Latency) -> Option<Histogram<u64>> {
        let mut merged: Option<Histogram<u64>> = None;
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(h) = &mut shard.interval[latency.index()] {
                if !h.is_empty() {
                    merged
                        .get_or_insert_with(new_histogram)
                        .add(&*h)
                        .expect("histograms of the same bounds merge");
                    h.reset();
                }
            }
        }
        merged
    }

    /// One latency's histogram, its shards merged (for summaries, interval logs or merging).
    pub fn histogram(&self, latency: Latency) -> Histogram<u64> {
        let mut merged = new_histogram();
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(h) = &shard.histograms[latency.index()] {
                merged.add(h).expect("histograms of the same bounds merge");
            }
        }
        merged
    }
}

/// p50 .. max of a histogram, in microseconds. `count == 0` means no sample.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl LatencySummary {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_gauges_keep_the_end_state() {
        let m = Metrics::new();
        m.gauge_up(Gauge::PostsPending);
        m.gauge_up(Gauge::StreamsQueued);
        assert!(m.gauge_move(Gauge::StreamsQueued, Gauge::StreamsOpen));
        m.gauge_up(Gauge::StreamsQueued);
        let end = m.freeze_gauges();
        assert!(m.gauges_frozen());
        // What finishes after the end is told so, and moves nothing.
        assert!(!m.gauge_down(Gauge::PostsPending));
        assert!(!m.gauge_move(Gauge::StreamsQueued, Gauge::StreamsOpen));
        m.gauge_up(Gauge::StreamsQueued);
        assert_eq!(m.gauges(), end);
        assert_eq!(
            (
                end.get(Gauge::PostsPending),
                end.get(Gauge::StreamsQueued),
                end.get(Gauge::StreamsOpen)
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn records_microseconds_and_counts() {
        let m = Metrics::new();
        for ms in 1..=100 {
            m.record(Latency::PostRtt, Duration::from_millis(ms));
        }
        let s = m.latency(Latency::PostRtt);
        assert_eq!(s.count, 100);
        assert!((49_000..=51_000).contains(&s.p50), "{s:?}");
        assert!(s.max >= 99_900, "{s:?}");
        assert_eq!(m.latency(Latency::Fanout).count, 0);
        m.gauge_down(Gauge::StreamsQueued);
        assert_eq!(m.gauge(Gauge::StreamsQueued), 0);
        m.error(ErrorClass::GoAway);
        assert_eq!(m.total_errors(), 1);
    }

    #[test]
    fn samples_of_many_threads_merge_exactly() {
        let m = Metrics::new();
        std::thread::scope(|scope| {
            for t in 0..20u64 {
                let m = &m;
                scope.spawn(move || {
                    for us in 1..=1000u64 {
                        m.record(Latency::Fanout, Duration::from_micros(t * 1000 + us));
                    }
                });
            }
        });
        let s = m.latency(Latency::Fanout);
        assert_eq!(s.count, 20_000);
        assert_eq!(s.max, m.histogram(Latency::Fanout).max());
        assert!((19_980..=20_020).contains(&s.max), "{s:?}");
        assert!((9_990..=10_010).contains(&s.p50), "{s:?}");
    }
}
