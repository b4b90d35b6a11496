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
use report::{ReportError, RunMeta};
use tokio_util::sync::CancellationToken;
use vocab::Latency;

use crate::scenario::{Point, Scenario};

/// The intervals of one point.
#[derive(Debug, Clone)]
pub struct PointSeries {
    /// The wall-clock start of the point (the interval log's base time).
    pub started: SystemTime,
    pub intervals: Vec<Recorded>,
}

/// One interval, its histograms compressed.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub start: Duration,
    pub length: Duration,
    pub events: u64,
    pub streams_open: u64,
    pub streams_queued: u64,
    pub errors: u64,
    /// `event_delivery` in the interval: count, p50, p99 (microseconds).
    pub delivery: (u64, Option<u64>, Option<u64>),
    /// Base64 of each latency's compressed histogram ([`report::histogram::encode`]).
    pub histograms: Vec<(Latency, String)>,
}

impl Recorded {
    fn of(interval: &Interval) -> Recorded {
        let delivery = interval.latency(Latency::EventDelivery).map_or(
            (0, None, None),
            |h: &Histogram<u64>| {
                (
                    h.len(),
                    Some(h.value_at_quantile(0.5)),
                    Some(h.value_at_quantile(0.99)),
                )
            },
        );
        Recorded {
            start: interval.start,
            length: interval.length,
            events: interval.events,
            streams_open: interval.streams_open,
            streams_queued: interval.streams_queued,
            errors: interval.errors,
            delivery,
            histograms: interval
                .latencies
                .iter()
                .map(|(l, h)| (*l, report::histogram::encode(h)))
                .collect(),
        }
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
                            state.1.push(Recorded::of(&interval));
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
        if !last.length.is_zero() || last.events > 0 || !last.latencies.is_empty() {
            state.1.push(Recorded::of(&last));
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
        .map(|r| SeriesRow {
            run_id: meta.run_id.clone(),
            shard: meta.shard.clone(),
            scenario: scenario.name.clone(),
            client,
            protocol: id.arm,
            network: scenario.network_label(id),
            clients: id.clients,
            streams_per_client: id.streams_per_client,
            start: r.start,
            length: r.length,
            phase: if r.start + r.length <= scenario.warmup {
                Phase::Warmup
            } else {
                Phase::Measured
            },
            events: r.events,
            streams_open: r.streams_open,
            streams_queued: r.streams_queued,
            errors: r.errors,
            delivery_count: r.delivery.0,
            delivery_p50_us: r.delivery.1,
            delivery_p99_us: r.delivery.2,
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
    let decoded: Vec<Vec<(&'static str, Histogram<u64>)>> = series
        .intervals
        .iter()
        .map(|r| {
            r.histograms
                .iter()
                .filter_map(|(l, cell)| report::histogram::decode(cell).ok().map(|h| (l.name(), h)))
                .collect()
        })
        .collect();
    let intervals: Vec<hlog::LogInterval<'_>> = series
        .intervals
        .iter()
        .zip(&decoded)
        .map(|(r, hs)| hlog::LogInterval {
            start: r.start,
            length: r.length,
            histograms: hs.iter().map(|(name, h)| (*name, h)).collect(),
        })
        .collect();
    hlog::write_interval_log(path, series.started, label, &intervals)
}
