//! ssebench's report contract and the tools around it.
//!
//! A benchmark run produces one long-form CSV report (see [`schema`] for what a row means and
//! [`HEADER`] for the exact columns). This crate is the only place that knows the format: the
//! runner writes it ([`ReportWriter`], [`write_report`]), `bench compare` reads two sets of runs and
//! decides whether the new one regressed ([`compare()`], [`thresholds`]), and `bench plot` draws a
//! sweep as SVG ([`plot_report`]).

mod cells;
mod check;
pub mod compare;
mod csv_file;
mod error;
pub mod histogram;
pub mod merge;
pub mod plot;
mod read;
pub mod schema;
pub mod series;
mod table;
pub mod thresholds;
mod write;

pub use compare::{
    compare, compare_files, floor_for, samples_needed, CompareError, CompareOptions, Comparison,
    Criterion, Line, LineVerdict, Side, Unjudged, Verdict, DEFAULT_MIN_TAIL_SAMPLES,
};
pub use error::{FieldError, ReportError};
pub use merge::{merge, MergeError};
pub use plot::{plot_report, plot_report_with_series};
pub use read::{read_report, Report};
pub use schema::{
    ClientKind, LatencyField, LatencySummary, MetricKind, Protocol, Row, RowKey, RunMeta,
    UtcTimestamp, Value, HEADER, LOOPBACK,
};
pub use table::TableFormat;
pub use thresholds::{
    default_thresholds, Rule, ThresholdError, ThresholdSpec, Thresholds, DEFAULT_FLOOR_US,
    FLOOR_SHARE_OF_BASE, MIN_FLOOR_US,
};
pub use write::{write_report, ReportWriter};
