//! A point's time series, sampled beside the load: every [`INTERVAL`] (and at the end of the
//! point) a [`Sampler`] cuts the point's metrics into an interval (see [`loadgen::series`]); the
//! run loop writes the intervals to the run's series file and the point's interval log.
//!
//! Each interval's histograms are kept compressed (HdrHistogram's V2 encoding, a few hundred bytes
//! each) rather than as histograms (about 190 KB each), so an hour-long point costs megabytes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::Histogram;
use loadgen::series::{Interval, Sampler, INTERVAL};
use loadgen::Metrics;
use report::series::{hlog, Phase, SeriesRow};
use report::{LatencySummary, ReportError, RunMeta};
use tokio_util::sync::CancellationToken;
use vocab::{IntervalCounts, Latency};

use crate::scenario::{Point, Scenario};

/// The intervals of one point.
#[derive(Debug, Clone)]
pub struct PointSeries {
    /// The wall-clock start of the point (the interval log's base time).
    pub started: SystemTime,
    pub intervals: Vec<Recorded>,
}

/// One interval as the recorder keeps it: what it counted, and its histograms compressed.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub counts: IntervalCounts,
    /// Base64 of each latency's compressed histogram ([`report::histogram::encode`]).
    pub histograms: Vec<(Latency, String)>,
}

impl Recorded {
    fn of(interval: Interval) -> Recorded {
        Recorded {
            counts: interval.counts,
            histograms: interval
                .latencies
                .iter()
                .map(|(l, h)| (*l, report::histogram::encode(h)))
                .collect(),
        }
    }

    /// Each latency's histogram of the interval, decoded again.
    fn decoded(&self) -> impl Iterator<Item = (Latency, Histogram<u64>)> + '_ {
        self.histograms
            .iter()
            .filter_map(|(l, cell)| report::histogram::decode(cell).ok().map(|h| (*l, h)))
    }
}

/// Samples a point's metrics while it runs.
#[derive(Debug)]
pub struct Recorder {
    metrics: Arc<Metrics>,
    start: Instant,
    started: SystemTime,
    state: Arc<Mutex<(Sampler, Vec<Recorded>)>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Starts sampling `metrics` now, the start of the point.
    pub fn start(metrics: Arc<Metrics>) -> Recorder {
        let start = Instant::now();
        let state = Arc::new(Mutex::new((Sampler::new(start), Vec::new())));
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (metrics, state, stop) = (metrics.clone(), state.clone(), stop.clone());
            async move {
                let mut ticks = tokio::time::interval_at((start + INTERVAL).into(), INTERVAL);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = ticks.tick() => {
                            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                            let interval = state.0.sample(&metrics, Instant::now());
                            state.1.push(Recorded::of(interval));
                        }
                    }
                }
            }
        });
        Recorder {
            metrics,
            start,
            started: SystemTime::now(),
            state,
            stop,
            task,
        }
    }

    /// Stops sampling; the last interval ends `elapsed` after the start (the end of the point,
    /// before its teardown).
    pub async fn finish(self, elapsed: Duration) -> PointSeries {
        self.stop.cancel();
        let _ = self.task.await;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let end = (self.start + elapsed).min(Instant::now());
        let last = state.0.sample(&self.metrics, end);
        let counts = &last.counts;
        if !counts.length.is_zero() || counts.events > 0 || !last.latencies.is_empty() {
            state.1.push(Recorded::of(last));
        }
        PointSeries {
            started: self.started,
            intervals: std::mem::take(&mut state.1),
        }
    }
}

/// The series rows of one point.
pub fn series_rows(
    meta: &RunMeta,
    scenario: &Scenario,
    id: &Point,
    client: vocab::ClientKind,
    series: &PointSeries,
) -> Vec<SeriesRow> {
    series
        .intervals
        .iter()
        .map(|r| {
            let delivery = r
                .decoded()
                .find(|(l, _)| *l == Latency::EventDelivery)
                .map_or(LatencySummary::EMPTY, |(_, h)| {
                    report::histogram::summary(&h)
                });
            SeriesRow {
                run_id: meta.run_id.clone(),
                shard: meta.shard.clone(),
                scenario: scenario.name.clone(),
                client,
                protocol: id.arm,
                network: scenario.network_label(id),
                clients: id.clients,
                streams_per_client: id.streams_per_client,
                interval: r.counts,
                phase: if r.counts.end() <= scenario.warmup {
                    Phase::Warmup
                } else {
                    Phase::Measured
                },
                delivery_count: delivery.count,
                delivery_p50_us: delivery.p50,
                delivery_p99_us: delivery.p99,
            }
        })
        .collect()
}

/// The interval log of point `index` (0-based) of the run whose report is `csv`:
/// `<run>.series/point01.hlog`, ...
pub fn hlog_path(csv: &Path, index: usize) -> PathBuf {
    report::series::series_dir(csv).join(format!("point{:02}.hlog", index + 1))
}

/// Writes one point's interval log.
pub fn write_hlog(path: &Path, label: &str, series: &PointSeries) -> Result<(), ReportError> {
    let decoded: Vec<Vec<(Latency, Histogram<u64>)>> = series
        .intervals
        .iter()
        .map(|r| r.decoded().collect())
        .collect();
    let intervals: Vec<hlog::LogInterval<'_>> = series
        .intervals
        .iter()
        .zip(&decoded)
        .map(|(r, hs)| hlog::LogInterval {
            start: r.counts.start,
            length: r.counts.length,
            histograms: hs.iter().map(|(l, h)| (l.name(), h)).collect(),
        })
        .collect();
    hlog::write_interval_log(path, series.started, label, &intervals)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The series row's `event_delivery` cells come from the compressed histogram: compressing
    /// loses nothing, so they are those of the live one.
    #[test]
    fn compressed_histograms_summarise_as_the_live_ones() {
        let mut delivery = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("bounds");
        for micros in [900, 1_000, 1_200, 40_000] {
            delivery.record(micros).expect("in range");
        }
        let counts = IntervalCounts {
            events: 4,
            length: INTERVAL,
            ..IntervalCounts::default()
        };
        let recorded = Recorded::of(Interval {
            counts,
            latencies: vec![(Latency::EventDelivery, delivery.clone())],
        });
        assert_eq!(recorded.counts, counts);
        let decoded: Vec<_> = recorded.decoded().collect();
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0].0, Latency::EventDelivery);
        assert_eq!(
            report::histogram::summary(&decoded[0].1),
            report::histogram::summary(&delivery)
        );
    }
}
