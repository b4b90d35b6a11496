//! Why two sets of reports cannot be compared: unusable input (exit 2), never a regression.

use std::path::PathBuf;

use thiserror::Error;

use super::line::Side;
use crate::error::ReportError;
use crate::schema::{MetricKind, RowKey};

/// Why two sets of reports cannot be compared.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CompareError {
    /// A report could not be read.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A side has no reports.
    #[error("no {side} report given")]
    NoRuns {
        /// The empty side.
        side: Side,
    },
    /// A report has a header but no rows.
    #[error("{}: the report has no rows", path.display())]
    EmptyReport {
        /// The report.
        path: PathBuf,
    },
    /// The runs of one side do not cover the same rows, so their median is not defined.
    #[error(
        "{side} runs do not cover the same rows: {key} is in {} but not in {}",
        present.display(),
        absent.display()
    )]
    RunsDiffer {
        /// The side.
        side: Side,
        /// A key missing from one run.
        key: Box<RowKey>,
        /// A report that has it.
        present: PathBuf,
        /// A report that does not.
        absent: PathBuf,
    },
    /// A key is a counter in one report and a latency in another.
    #[error(
        "{key} is a {first} in {} but a {second} in {}",
        first_path.display(),
        second_path.display()
    )]
    KindDiffers {
        /// The key.
        key: Box<RowKey>,
        /// Its kind in the first report.
        first: MetricKind,
        /// The first report.
        first_path: PathBuf,
        /// Its kind in the second report.
        second: MetricKind,
        /// The second report.
        second_path: PathBuf,
    },
    /// The two sides have no scenario in common: most likely the wrong files.
    #[error("base and new share no scenario: base has {base:?}, new has {new:?}")]
    NoCommonScenario {
        /// BASE's scenarios.
        base: Vec<String>,
        /// NEW's scenarios.
        new: Vec<String>,
    },
    /// Some rows are on one side only.
    #[error(
        "reports do not cover the same rows: {}",
        describe_missing(base_only, new_only)
    )]
    MissingRows {
        /// Keys in BASE only.
        base_only: Vec<RowKey>,
        /// Keys in NEW only.
        new_only: Vec<RowKey>,
    },
}

fn describe_missing(base_only: &[RowKey], new_only: &[RowKey]) -> String {
    const SHOWN: usize = 3;
    let mut parts = Vec::new();
    for (keys, side) in [(base_only, "base"), (new_only, "new")] {
        if keys.is_empty() {
            continue;
        }
        let shown: Vec<String> = keys.iter().take(SHOWN).map(|k| format!("`{k}`")).collect();
        let more = match keys.len().saturating_sub(SHOWN) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        let rows = if keys.len() == 1 { "row" } else { "rows" };
        parts.push(format!(
            "{} {rows} only in {side}: {}{more}",
            keys.len(),
            shown.join(", ")
        ));
    }
    parts.join("; ")
}
