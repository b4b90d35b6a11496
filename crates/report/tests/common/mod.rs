//! Helpers shared by the integration tests: a scratch directory and a synthetic sweep that looks
//! like a real run (h1 hits the six-connection ceiling, h2 does not).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use report::{ClientKind, LatencySummary, Protocol, Row, RowKey, RunMeta, Value};

/// A directory removed again when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "report-tests-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn meta(run_id: &str) -> RunMeta {
    RunMeta {
        run_id: run_id.to_owned(),
        started_utc: "2026-11-23T20:13:00Z".parse().unwrap(),
        git_rev: "unknown".to_owned(),
        bench_version: "0.1.0".to_owned(),
        host: "ci-box".to_owned(),
        shard: String::new(),
    }
}

pub fn key(scenario: &str, protocol: Protocol, streams: u32, metric: &str) -> RowKey {
    RowKey {
        scenario: scenario.to_owned(),
        client: ClientKind::Emulated,
        protocol,
        network: report::LOOPBACK.to_owned(),
        clients: 1,
        streams_per_client: streams,
        metric: metric.to_owned(),
    }
}

/// A latency summary around `p50_us` with the tail at `p99_us`.
pub fn latency(p50_us: u64, p99_us: u64) -> Value {
    Value::Latency(LatencySummary {
        count: 1000,
        mean: Some(p50_us as f64 * 1.1),
        p50: Some(p50_us),
        p90: Some((p50_us + p99_us) / 2),
        p99: Some(p99_us),
        p999: Some(p99_us + p99_us / 10),
        max: Some(p99_us * 2),
    })
}

/// One run of a sweep over streams per client (1, 4, 6, 8, 12) for h1 and h2: the h1 arm opens at
/// most six streams and queues the rest for seconds, the h2 arm opens them all.
pub fn sweep(run_id: &str, scenario: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for protocol in [Protocol::H1, Protocol::H2] {
        for streams in [1u32, 4, 6, 8, 12] {
            let opened = match protocol {
                Protocol::H1 | Protocol::H1Tls => streams.min(6),
                Protocol::H2 | Protocol::H2c | Protocol::Ws | Protocol::Wss | Protocol::H3 => {
                    streams
                }
            };
            let queued = streams - opened;
            let posts = if queued > 0 { 0 } else { 20 };
            let counters = [
                ("streams_requested", streams),
                ("streams_opened", opened),
                ("posts_completed", posts),
                ("errors", 0),
            ];
            for (metric, value) in counters {
                rows.push(Row {
                    meta: meta(run_id),
                    key: key(scenario, protocol, streams, metric),
                    value: Value::Counter(u64::from(value)),
                    histogram: None,
                });
            }
            let base = 400 + 30 * u64::from(streams);
            let stuck = u64::from(queued) * 3_000_000;
            let latencies = [
                ("queue_wait", latency(5 + stuck / 2, 20 + stuck)),
                (
                    "time_to_first_event",
                    latency(base + stuck / 2, 3 * base + stuck),
                ),
                (
                    "post_rtt",
                    if posts == 0 {
                        Value::Latency(LatencySummary::EMPTY)
                    } else {
                        latency(base, 4 * base)
                    },
                ),
            ];
            for (metric, value) in latencies {
                rows.push(Row {
                    meta: meta(run_id),
                    key: key(scenario, protocol, streams, metric),
                    value,
                    histogram: None,
                });
            }
        }
    }
    rows
}

pub fn write_rows(path: &Path, rows: &[Row]) {
    report::write_report(path, rows).unwrap();
}

/// The error and its causes, joined like anyhow's `{:#}`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
