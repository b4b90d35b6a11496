//! `bench compare`'s decisions: what is a regression, what is noise, what is unusable input, and
//! how a comparison prints; one module each, sharing the helpers here.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

mod input;
mod merged;
mod noise;
mod output;
mod verdicts;

use std::slice;

use common::{chain, key, latency, meta, sweep, write_rows, Scratch};
use report::{
    compare, compare_files, CompareError, CompareOptions, LatencyField, LatencySummary,
    LineVerdict, Protocol, Report, Row, TableFormat, ThresholdSpec, Unjudged, Value, Verdict,
};

fn report_of(name: &str, rows: Vec<Row>) -> Report {
    Report {
        path: name.into(),
        rows,
    }
}

/// `rows` with the value of one key replaced.
fn with(
    mut rows: Vec<Row>,
    protocol: Protocol,
    streams: u32,
    metric: &str,
    value: Value,
) -> Vec<Row> {
    let wanted = key("ceiling", protocol, streams, metric);
    let row = rows
        .iter_mut()
        .find(|row| row.key == wanted)
        .expect("key in sweep");
    row.value = value;
    rows
}

fn value_of(rows: &[Row], protocol: Protocol, streams: u32, metric: &str) -> Value {
    let wanted = key("ceiling", protocol, streams, metric);
    rows.iter()
        .find(|row| row.key == wanted)
        .expect("key in sweep")
        .value
}

fn run(base: Vec<Row>, new: Vec<Row>) -> report::Comparison {
    compare(
        &[report_of("base.csv", base)],
        &[report_of("new.csv", new)],
        &CompareOptions::default(),
    )
    .unwrap()
}

fn verdict_of(
    comparison: &report::Comparison,
    metric: &str,
    field: Option<LatencyField>,
) -> Vec<LineVerdict> {
    comparison
        .lines
        .iter()
        .filter(|line| line.key.metric == metric && line.field == field)
        .map(|line| line.verdict)
        .collect()
}

/// The verdicts of `post_rtt` at h2, 1 stream per client (the row the tests below change).
fn verdict_at(comparison: &report::Comparison, field: Option<LatencyField>) -> Vec<LineVerdict> {
    let wanted = key("ceiling", Protocol::H2, 1, "post_rtt");
    comparison
        .lines
        .iter()
        .filter(|line| line.key == wanted && line.field == field)
        .map(|line| line.verdict)
        .collect()
}

fn not_judged(why: Unjudged) -> LineVerdict {
    LineVerdict::NotJudged(why)
}

/// A latency row with `count` samples and its p50 at `p50_us` (every other field consistent).
fn latency_n(count: u64, p50_us: u64, p99_us: u64) -> Value {
    let Value::Latency(summary) = latency(p50_us, p99_us) else {
        unreachable!("latency() is a latency")
    };
    Value::Latency(LatencySummary { count, ..summary })
}
