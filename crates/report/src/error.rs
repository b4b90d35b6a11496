//! Errors of reading, writing and plotting reports.
//!
//! Every error that concerns a report file names the file, and where it concerns one cell also the
//! line (the header is line 1), the column and the bad value. The reason is left to `source()`, so
//! a caller printing the chain (`{:#}` in anyhow) gets `file:line: column: value: reason`.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

pub use crate::schema::FieldError;
use crate::schema::RowKey;

/// An error reading, writing or plotting a report.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The report file could not be opened, created or written.
    #[error("{path}: cannot {action}")]
    Io {
        /// The report file.
        path: PathBuf,
        /// `open`, `create`, `write` or `flush`.
        action: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file is not well-formed CSV (a row with the wrong number of cells, invalid UTF-8).
    #[error("{path}:{line}: malformed CSV")]
    Csv {
        /// The report file.
        path: PathBuf,
        /// The line (1-based) the CSV reader stopped at; 0 if unknown.
        line: u64,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// The header is not the contract's [`HEADER`](crate::HEADER).
    #[error(
        "{path}:1: header does not match the report contract: expected `{expected}`, found `{found}`"
    )]
    Header {
        /// The report file.
        path: PathBuf,
        /// The contract's header, comma-separated.
        expected: String,
        /// The file's first line as read, comma-separated.
        found: String,
    },
    /// A row has more or fewer cells than the header.
    #[error("{path}:{line}: row has {found} cells, the header has {expected}")]
    CellCount {
        /// The report file.
        path: PathBuf,
        /// The line (1-based; the header is line 1).
        line: u64,
        /// Cells in the row.
        found: usize,
        /// Cells in the header.
        expected: usize,
    },
    /// One cell is not acceptable.
    #[error("{path}:{line}: column `{column}`: bad value {value:?}")]
    Cell {
        /// The report file.
        path: PathBuf,
        /// The line (1-based; the header is line 1).
        line: u64,
        /// The column name from [`HEADER`](crate::HEADER).
        column: &'static str,
        /// The cell as written in (or about to be written to) the file.
        value: String,
        /// Why it is not acceptable.
        #[source]
        source: FieldError,
    },
    /// Two rows of one report have the same [`RowKey`].
    #[error("{path}:{line}: duplicate row {key} (first on line {first_line})")]
    DuplicateKey {
        /// The report file.
        path: PathBuf,
        /// The line of the second occurrence.
        line: u64,
        /// The line of the first occurrence.
        first_line: u64,
        /// The repeated key.
        key: Box<RowKey>,
    },
    /// [`plot_report`](crate::plot_report) was given rows of several scenarios.
    #[error("cannot plot several scenarios in one figure: {scenarios:?}")]
    SeveralScenarios {
        /// The scenarios found.
        scenarios: Vec<String>,
    },
    /// [`plot_report`](crate::plot_report) found nothing it can draw.
    #[error("nothing to plot: {reason}")]
    NothingToPlot {
        /// What is missing.
        reason: &'static str,
    },
    /// A sweep varies both `clients` and `streams_per_client` so that two sweep points of one arm
    /// fall on the same total number of streams.
    #[error(
        "arm {arm} has two sweep points with {total} streams in total (clients x streams per client)"
    )]
    AmbiguousSweep {
        /// The scenario.
        scenario: String,
        /// The arm (client and protocol).
        arm: String,
        /// The colliding total.
        total: u64,
    },
    /// plotters failed to draw or to write the SVG file.
    #[error("{path}: cannot draw the plot")]
    Draw {
        /// The SVG file.
        path: PathBuf,
        /// plotters' error (its type is generic over the backend, hence boxed).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
